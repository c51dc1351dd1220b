//! Keeping the last installs undoable, and going back through them.
//!
//! A succeeded install is not made final when the next one begins: its journal waits in
//! `kept/` and its backups stay in `backups/<install key>/`, so that `rollback --to VERSION`
//! can undo the newer installs newest first (each with its own installer and plan, as Windows
//! Installer keeps a cached package to undo a patch). At the end of each successful install,
//! [`apply`] keeps the last `keep` installs (the one just done counts) and makes the older ones
//! final: their journals say so first, then exactly the backups they recorded are removed and
//! the journals go to `history/`. A copy of each kept install's installer is kept too (by
//! digest, in `installers/`), removed once no kept install names it.
//!
//! [`way_back`] works out, before anything changes, which installs `rollback --to` undoes and
//! whether the version asked for can be reached.

use crate::journal::{self, JournalError, JournalState, Outcome, Shelf};
use crate::report::RetiredInstall;
use crate::rollback;
use crate::state_dir::{StateDir, StateLock};
use crate::version::Version;
use std::fs;
use std::io;
use std::path::Path;

/// How many installs stay undoable when the operator does not say (`--keep`): the latest and
/// the one before it.
pub const DEFAULT_KEEP: u32 = 2;

/// What retention did at the end of a successful install.
#[derive(Debug, Default)]
pub struct Retention {
    /// The installs made final, oldest first.
    pub retired: Vec<RetiredInstall>,
    /// What could not be read or removed (the install stays done; the next one tries again).
    pub warnings: Vec<String>,
}

/// Make final every kept install beyond the last `keep - 1` (the current install, which
/// succeeded, is the first of the `keep`), then drop the installer copies no kept install
/// names. `current_installer` is the current install's installer id.
pub fn apply(state: &StateDir, _lock: &StateLock, keep: u32, current_installer: &str) -> Retention {
    let mut retention = Retention::default();
    let kept = match journal::kept_installs(state) {
        Ok(kept) => kept,
        Err(e) => {
            retention.warnings.push(format!(
                "the kept installs could not be read ({e}), so none was made final; the next \
                 successful install tries again (a damaged journal in `kept/` is safe to move \
                 away by hand: that install can then no longer be undone)"
            ));
            return retention;
        }
    };
    let stays = usize::try_from(keep.saturating_sub(1)).unwrap_or(usize::MAX);
    let (staying, going) = kept.split_at(stays.min(kept.len()));
    for install in going.iter().rev() {
        match retire(state, install) {
            Ok(retired) => retention.retired.push(retired),
            Err(e) => retention.warnings.push(format!(
                "{} {} was not made final ({e}); it stays kept, and the next successful install \
                 tries again",
                install.begin.product, install.begin.version
            )),
        }
    }
    let named: Vec<&str> = staying
        .iter()
        .map(|i| i.begin.installer_id.as_str())
        .chain([current_installer])
        .collect();
    for (path, e) in state.remove_kept_installers_except(&named) {
        retention
            .warnings
            .push(format!("removing `{}`: {e}", path.display()));
    }
    retention
}

/// Make the kept install `install` final: journal it, remove the backups it recorded (and its
/// backups' folder once empty), move its journal to the history.
fn retire(state: &StateDir, install: &JournalState) -> Result<RetiredInstall, JournalError> {
    if install.committed.is_empty() {
        journal::mark_committed(&install.path)?;
    }
    let changes: Vec<_> = install
        .committed
        .iter()
        .chain(&install.changes)
        .cloned()
        .collect();
    let backups: Vec<&Path> = changes.iter().filter_map(|c| c.backup()).collect();
    let bytes = backups.iter().map(|b| size_of(b)).sum();
    let mut left: Vec<String> = rollback::remove_backups(&changes)
        .left
        .into_iter()
        .map(|(path, why)| format!("{}: {why}", path.display()))
        .collect();
    let folder = state.backups_dir().join(install.begin.install_key());
    match fs::remove_dir(&folder) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            left.push(format!("{}: {e}", folder.display()))
        }
        _ => {}
    }
    journal::shelve(state, &install.path, &install.begin, Shelf::History)?;
    Ok(RetiredInstall {
        version: install.begin.version.clone(),
        started_at: crate::engine::time_text(&install.begin.started_at.0),
        backups_removed: backups.len(),
        bytes_freed: bytes,
        left,
    })
}

/// The bytes a backup holds (a file, or a snapshot's tree); what cannot be read counts nothing.
fn size_of(path: &Path) -> u64 {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => fs::read_dir(path)
            .map(|entries| entries.flatten().map(|e| size_of(&e.path())).sum())
            .unwrap_or(0),
        Ok(meta) => meta.len(),
        Err(_) => 0,
    }
}

/// What `rollback --to` undoes, worked out before anything changes.
#[derive(Debug)]
pub struct WayBack {
    /// The installs to undo, newest first: the current one (unless it was undone already),
    /// then kept ones.
    pub undo: Vec<JournalState>,
    /// The kept install of the version asked for, made current again once the newer ones are
    /// undone (none when it was made final: it stays installed, only no longer undoable).
    pub target: Option<JournalState>,
}

/// Why `rollback --to` cannot go back to a version.
#[derive(Debug, thiserror::Error)]
pub enum WayBackError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error("{version} is installed already: there is nothing to roll back")]
    Installed { version: String },
    #[error(
        "{version} cannot be put back: {reachable}\nhint: installs stay undoable for `--keep` \
         installs (2 by default); to install {version} over the installed version, run its \
         installer with --allow-downgrade"
    )]
    Unreachable { version: String, reachable: String },
}

impl WayBackError {
    pub fn exit_status(&self) -> crate::exit::ExitStatus {
        match self {
            WayBackError::Journal(e) => e.exit_status(),
            WayBackError::Installed { .. } => crate::exit::ExitStatus::Success,
            WayBackError::Unreachable { .. } => crate::exit::ExitStatus::Usage,
        }
    }
}

/// The installs `rollback --to version` undoes in `state`: the current install and the kept
/// ones, newest first, down to the one that was installed over `version`.
pub fn way_back(state: &StateDir, version: &str) -> Result<WayBack, WayBackError> {
    let current = match journal::read(&state.journal()) {
        Ok(current) => Some(current),
        Err(JournalError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e.into()),
    };
    let kept = journal::kept_installs(state)?;
    let undone = current
        .as_ref()
        .is_some_and(|c| c.outcome == Some(Outcome::RolledBack));
    if let Some(installed) = installed_now(current.as_ref(), &kept, undone)
        && same_version(&installed, version)
    {
        return Err(WayBackError::Installed { version: installed });
    }
    let mut candidates = current.into_iter().filter(|_| !undone).chain(kept);
    let mut undo = Vec::new();
    let reached = loop {
        let Some(install) = candidates.next() else {
            break false;
        };
        let before = install
            .begin
            .installed_before
            .as_ref()
            .map(|b| b.version.clone());
        let kept_final = install.path.starts_with(state.kept()) && !install.undoable();
        if kept_final {
            break false;
        }
        undo.push(install);
        match before {
            Some(before) if same_version(&before, version) => break true,
            Some(_) => {}
            None => break false,
        }
    };
    if !reached {
        return Err(WayBackError::Unreachable {
            version: version.to_string(),
            reachable: reachable(&undo),
        });
    }
    let target = candidates
        .next()
        .filter(|next| next.undoable() && same_version(&next.begin.version, version));
    Ok(WayBack { undo, target })
}

/// The version installed now, as the journals tell: the current install's, or what was
/// installed before it when it was undone, else the newest kept one's.
fn installed_now(
    current: Option<&JournalState>,
    kept: &[JournalState],
    undone: bool,
) -> Option<String> {
    match current {
        Some(c) if undone => c.begin.installed_before.as_ref().map(|b| b.version.clone()),
        Some(c) => Some(c.begin.version.clone()),
        None => kept.first().map(|k| k.begin.version.clone()),
    }
}

/// Where the installs that can be undone lead, for the refusal.
fn reachable(undo: &[JournalState]) -> String {
    let versions: Vec<&str> = undo.iter().map(|i| i.begin.version.as_str()).collect();
    let oldest = undo
        .last()
        .and_then(|i| i.begin.installed_before.as_ref())
        .map(|b| b.version.as_str());
    match (versions.is_empty(), oldest) {
        (true, _) => "no install here can be undone".to_string(),
        (false, Some(oldest)) => format!(
            "the installs that can be undone ({}) lead back to {oldest} at most",
            versions.join(", ")
        ),
        (false, None) => format!(
            "the installs that can be undone ({}) lead back to nothing installed",
            versions.join(", ")
        ),
    }
}

/// Whether two versions are the same (`4.12` = `4.12.0`); text that is not a version compares
/// as text.
fn same_version(a: &str, b: &str) -> bool {
    match (a.parse::<Version>(), b.parse::<Version>()) {
        (Ok(a), Ok(b)) => a == b || a.cmp(&b) == std::cmp::Ordering::Equal,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests;
