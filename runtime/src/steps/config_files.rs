//! Settings files the customer edited, on an upgrade (`config-files` of a `deploy-package`
//! step), as rpm and dpkg treat edited configuration files. Before the new version is extracted
//! over the installed one, each settings file is compared with what the install left (its
//! digest in the installed state, secrets masked, or its base copy with each masked secret
//! matching any text on its line, as the file holds the secret of the install that wrote it,
//! which this run may not know); an unedited file is simply replaced. After
//! the new version is written, for each edited file:
//! - the new version renders it as the old one did: the customer's file stays, silently (unless
//!   it still holds a secret rotated since: then the new version does change it, and its
//!   policy settles it);
//! - `keep`: the customer's file stays, the new one is written beside it as `NAME.dropship-new`;
//! - `replace`: the new file stays, the customer's is kept as `NAME.dropship-save`;
//! - `merge` (JSON, YAML, XML `.config`, `.properties`: [`merge`]): a three-way merge by key
//!   against the installed version's file (its base copy, secrets masked); keys both changed
//!   keep the customer's value and are reported. A file that cannot be merged (another format,
//!   one that does not parse, no base copy) is treated as `keep`, with a warning saying why.
//!
//! Every write goes through the transaction, so a rollback undoes it; the files beside keep the
//! settings file's mode (they may hold a secret).

use super::{StepContext, StepFailure};
use crate::config::merge;
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
    /// What the installed version wrote (digest and base copy); `None` when it did not
    /// record the file.
    installed: Option<InstalledFile>,
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
        if recorded.is_some_and(|r| r.wrote(&theirs, scrubber)) {
            continue;
        }
        edited.push(Edited {
            path: file.full,
            on_upgrade: file.on_upgrade,
            theirs,
            installed: recorded.cloned(),
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
        if new.as_deref() == Some(file.theirs.as_slice()) {
            // The new version did not write it (or wrote exactly the customer's file).
            continue;
        }
        let digest = new
            .as_ref()
            .map(|b| InstalledFile::digest_of(b, ctx.scrubber));
        let shown = file.path.display();
        if let Some(new) = &new
            && file.on_upgrade != OnUpgrade::Replace
        {
            // Unless replaced, the file stays the customer's: the vendor's version is the base.
            let rendered = InstalledFile::of(String::new(), new, ctx.scrubber);
            ctx.rendered.push((file.path.clone(), rendered));
        }
        let unchanged_by_vendor = new.is_none()
            || !holds_a_rotated_secret(&file, new.as_deref(), ctx.scrubber)
                && digest.is_some_and(|d| file.installed.as_ref().is_some_and(|i| i.digest == d));
        let said = match (unchanged_by_vendor, file.on_upgrade, new) {
            (true, _, _) => {
                write(ctx, &file.path, &file.path, &file.theirs)?;
                ctx.events.note(&format!(
                    "kept your edited `{shown}`: the new version did not change it"
                ));
                continue;
            }
            (false, OnUpgrade::Merge, Some(new)) => match merged(&file, &new, ctx.scrubber) {
                Ok(merged) => {
                    write(ctx, &file.path, &file.path, merged.text.as_bytes())?;
                    match merged.conflicts.is_empty() {
                        true => {
                            ctx.events.note(&format!(
                                "merged your edits of `{shown}` with the new version"
                            ));
                            continue;
                        }
                        false => format!(
                            "`{shown}` was merged with the new version; where both changed a \
                             value yours is kept: {}",
                            merged.conflicts.join(", ")
                        ),
                    }
                }
                Err(why) => {
                    keep_beside(ctx, &file, &new, &format!("it could not be merged ({why})"))?
                }
            },
            (false, OnUpgrade::Keep, Some(new)) => {
                keep_beside(ctx, &file, &new, "the new version changes it")?
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

/// Whether the customer's file still holds a secret rotated since the installed version wrote
/// it, which the new version changes even where its template did not: a line of the file as
/// written holds other text where a secret was, or (`merge`) merging would change a value the
/// customer left as it was.
fn holds_a_rotated_secret(file: &Edited, new: Option<&[u8]>, scrubber: &Scrubber) -> bool {
    let Some(installed) = &file.installed else {
        return false;
    };
    installed.holds_an_older_secret(&file.theirs, scrubber)
        || file.on_upgrade == OnUpgrade::Merge
            && new.is_some_and(|new| {
                merged(file, new, scrubber).is_ok_and(|m| m.text.as_bytes() != file.theirs)
            })
}

/// Keep the customer's file and write the new one beside it; what to say, and `why`.
fn keep_beside(
    ctx: &mut StepContext<'_, '_>,
    file: &Edited,
    new: &[u8],
    why: &str,
) -> Result<String, StepFailure> {
    let beside = beside(&file.path, "dropship-new");
    write(ctx, &file.path, &beside, new)?;
    write(ctx, &file.path, &file.path, &file.theirs)?;
    Ok(format!(
        "`{}` was edited here and {why}: yours is kept; the new version is `{}`: merge what \
         you need by hand",
        file.path.display(),
        beside.display()
    ))
}

/// The three-way merge of a settings file, against the base copy of the installed one.
fn merged(file: &Edited, new: &[u8], scrubber: &Scrubber) -> Result<merge::Merged, String> {
    let base = file
        .installed
        .as_ref()
        .and_then(|i| i.base.as_deref())
        .ok_or("the installed version kept no copy of it")?;
    let text = |bytes: &[u8], which: &str| {
        std::str::from_utf8(bytes)
            .map(str::to_string)
            .map_err(|_| format!("{which} is not UTF-8"))
    };
    let theirs = text(&file.theirs, "your file")?;
    let new = text(new, "the new version's file")?;
    merge::three_way(&file.path, base, &theirs, &new, &|s| scrubber.scrub(s))
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
