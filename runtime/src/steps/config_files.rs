//! Settings files the customer edited, on an upgrade (`config-files` of a `deploy-package`
//! step), as rpm and dpkg treat edited configuration files. Before the new version is extracted
//! over the installed one, each settings file is compared with what the install left (its
//! digest in the installed state, secrets masked); an unedited file is simply replaced. After
//! the new version is written, for each edited file:
//! - the new version renders it as the old one did: the customer's file stays, silently;
//! - `keep`: the customer's file stays, the new one is written beside it as `NAME.dropship-new`;
//! - `replace`: the new file stays, the customer's is kept as `NAME.dropship-save`.
//!
//! Every write goes through the transaction, so a rollback undoes it; the files beside keep the
//! settings file's mode (they may hold a secret).

use super::{StepContext, StepFailure};
use crate::durable;
use crate::installed::{self, InstalledFile, InstalledPackage};
use crate::plan::{DeployPackageStep, OnUpgrade};
use crate::secret::Scrubber;
use std::path::{Path, PathBuf};

/// A settings file the customer changed since the installed version wrote it.
pub(super) struct Edited {
    path: PathBuf,
    on_upgrade: OnUpgrade,
    /// The customer's bytes, put back when their file stays.
    theirs: Vec<u8>,
    /// The digest of what the installed version wrote; `None` when it did not record the file.
    installed: Option<String>,
}

/// Before the package is extracted into `target`: the settings files there the customer edited
/// since `previous` (the installed version's package) was installed into the same place.
pub(super) fn edited_before(
    step: &DeployPackageStep,
    previous: Option<&InstalledPackage>,
    target: &Path,
    scrubber: &Scrubber,
) -> Vec<Edited> {
    let Some(previous) = previous.filter(|p| Path::new(&p.path) == target) else {
        return Vec::new();
    };
    let mut edited = Vec::new();
    for file in installed::config_files(step, target) {
        let Ok(theirs) = durable::read_no_follow(&file.full) else {
            continue;
        };
        let recorded = previous.files.iter().find(|f| f.path == file.relative);
        let now = InstalledFile::digest_of(&theirs, scrubber);
        if recorded.is_some_and(|r| r.digest == now) {
            continue;
        }
        edited.push(Edited {
            path: file.full,
            on_upgrade: file.on_upgrade,
            theirs,
            installed: recorded.map(|r| r.digest.clone()),
        });
    }
    edited
}

/// After the new version was written: settle each edited file by its policy, journaled, and
/// say what became of it.
pub(super) fn settle(
    ctx: &mut StepContext<'_, '_>,
    edited: Vec<Edited>,
) -> Result<(), StepFailure> {
    for file in edited {
        let new = durable::read_no_follow(&file.path).ok();
        let digest = new
            .as_ref()
            .map(|b| InstalledFile::digest_of(b, ctx.scrubber));
        let shown = file.path.display();
        let unchanged_by_vendor =
            new.is_none() || digest.is_some_and(|d| file.installed == Some(d));
        let said = match (unchanged_by_vendor, file.on_upgrade, new) {
            (true, _, _) => {
                write(ctx, &file.path, &file.path, &file.theirs)?;
                ctx.events.note(&format!(
                    "kept your edited `{shown}`: the new version did not change it"
                ));
                continue;
            }
            (false, OnUpgrade::Keep, Some(new)) => {
                let beside = beside(&file.path, "dropship-new");
                write(ctx, &file.path, &beside, &new)?;
                write(ctx, &file.path, &file.path, &file.theirs)?;
                format!(
                    "`{shown}` was edited here and the new version changes it: yours is kept; \
                     the new version is `{}`: merge what you need by hand",
                    beside.display()
                )
            }
            (false, _, _) => {
                let beside = beside(&file.path, "dropship-save");
                write(ctx, &file.path, &beside, &file.theirs)?;
                format!(
                    "`{shown}` was edited here and the new version changes it: the new version \
                     is installed; yours is saved as `{}`",
                    beside.display()
                )
            }
        };
        ctx.events.note(&format!("warning: {said}"));
        ctx.warnings.push(said);
    }
    Ok(())
}

/// `NAME.SUFFIX` beside `path`.
fn beside(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{suffix}"));
    path.with_file_name(name)
}

/// Write `bytes` to `to` through the transaction with the mode of the settings file `like`.
fn write(
    ctx: &mut StepContext<'_, '_>,
    like: &Path,
    to: &Path,
    bytes: &[u8],
) -> Result<(), StepFailure> {
    let permissions = std::fs::symlink_metadata(like).map(|m| m.permissions());
    ctx.tx
        .replace_file_with(to, |temp| {
            std::fs::write(temp, bytes)?;
            match permissions {
                Ok(permissions) => std::fs::set_permissions(temp, permissions),
                Err(_) => Ok(()),
            }
        })
        .map_err(|e| StepFailure::new(e.to_string()))
}
