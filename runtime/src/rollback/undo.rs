//! Undoing changes (rollback) and dropping their backups (commit).
//!
//! Every undo is idempotent: it looks at what is on disk and does only what is still needed, so
//! a rollback killed midway, or a change journaled but never made, is handled by running the
//! same undo again.

use super::fsops::{self, Kind, Sibling};
use crate::journal::{Begin, Journal, JournalError, Outcome, Record, Timestamp, checkpoint};
use crate::journal::{Change, ChangeId};
use crate::state_dir::StateDir;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// What a rollback did and could not do.
#[derive(Debug, Default)]
pub struct RollbackReport {
    /// Changes undone (or found already undone), newest first.
    pub undone: Vec<Change>,
    /// Changes that could not be undone, with why, newest first: what is left for the operator.
    pub failed: Vec<(Change, String)>,
    /// The first failure to journal the rollback's progress. Undoing went on regardless: undo is
    /// idempotent, so a later rollback redoes the unjournaled part harmlessly.
    pub journal_error: Option<JournalError>,
}

impl RollbackReport {
    /// Whether everything was undone.
    pub fn is_complete(&self) -> bool {
        self.failed.is_empty()
    }

    /// The outcome to end the journal with.
    pub fn outcome(&self) -> Outcome {
        if self.is_complete() {
            Outcome::RolledBack
        } else {
            Outcome::RollbackIncomplete
        }
    }

    fn journal(&mut self, journal: &mut Journal, record: Record) {
        if let Err(e) = journal.append(record) {
            self.journal_error.get_or_insert(e);
        }
    }
}

/// Undo `changes` newest first, journaling each one undone or not, and go on past failures.
/// The caller ends the journal with [`RollbackReport::outcome`].
pub fn rollback(journal: &mut Journal, changes: &[Change], reason: &str) -> RollbackReport {
    let mut report = RollbackReport::default();
    let at = Timestamp::now();
    let reason = reason.to_string();
    report.journal(journal, Record::RollbackStarted { at, reason });
    for change in changes.iter().rev() {
        // Synced before `Undone` is journaled, so a power loss cannot undo the undo unnoticed.
        let result = undo(change).and_then(|()| synced(change.path()));
        checkpoint("after-undo");
        let change_id = change.id();
        match result {
            Ok(()) => {
                report.journal(journal, Record::Undone { change_id });
                report.undone.push(change.clone());
            }
            Err(error) => {
                let record = Record::UndoFailed {
                    change_id,
                    error: error.clone(),
                };
                report.journal(journal, record);
                report.failed.push((change.clone(), error));
            }
        }
    }
    let complete = report.is_complete();
    let at = Timestamp::now();
    report.journal(journal, Record::RollbackFinished { at, complete });
    report
}

/// Put the target back as it was before `change`.
fn undo(change: &Change) -> Result<(), String> {
    match change {
        Change::FileCreated { id, path } => {
            remove_leftover(path, Sibling::New, *id)?;
            remove_created_file(path)
        }
        Change::DirCreated { path, .. } => remove_created_dir(path),
        Change::FileReplaced { id, path, backup } => {
            remove_leftover(path, Sibling::New, *id)?;
            restore(backup, path)
        }
        Change::FileModifiedInPlace { id, path, backup } => {
            remove_leftover(path, Sibling::Temp, *id)?;
            restore(backup, path)
        }
        Change::FileDeleted { path, backup, .. } => restore(backup, path),
        Change::DirSnapshot { id, path, backup } => {
            remove_leftover(path, Sibling::Temp, *id)?;
            restore_tree(backup, path)
        }
        Change::Absent { path, .. } => {
            fsops::remove_any(path).map_err(|e| format!("removing `{}`: {e}", path.display()))
        }
    }
}

/// Sync the directory an undo changed; a directory that is gone has nothing to sync.
fn synced(path: &Path) -> Result<(), String> {
    match fsops::sync_parent(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(format!(
            "syncing the directory of `{}`: {e}",
            path.display()
        )),
        _ => Ok(()),
    }
}

/// Remove a half-written file or half-copied backup a kill left next to `path`.
fn remove_leftover(path: &Path, which: Sibling, id: ChangeId) -> Result<(), String> {
    let leftover = fsops::sibling(path, which, id);
    fsops::remove_any(&leftover).map_err(|e| format!("removing `{}`: {e}", leftover.display()))
}

fn remove_created_file(path: &Path) -> Result<(), String> {
    match fsops::kind_io(path) {
        Ok(None) => Ok(()),
        Ok(Some(Kind::Dir)) => Err(format!(
            "left in place: `{}` is now a directory the install did not record",
            path.display()
        )),
        Ok(Some(_)) => fs::remove_file(path).map_err(|e| removing(path, e)),
        Err(e) => Err(removing(path, e)),
    }
}

/// Remove a directory the install created, with everything in it. It did not exist before the
/// install, so whatever is inside was put there by the install (its own files, or files its
/// scripts made): leaving them would leave the target half-installed. Symbolic links inside are
/// removed, never followed.
fn remove_created_dir(path: &Path) -> Result<(), String> {
    match fsops::kind_io(path) {
        Ok(None) => Ok(()),
        Ok(Some(Kind::Dir)) => fs::remove_dir_all(path).map_err(|e| removing(path, e)),
        Ok(Some(_)) => Err(format!(
            "left in place: `{}` is no longer the directory the install created",
            path.display()
        )),
        Err(e) => Err(removing(path, e)),
    }
}

/// Move a backup back over `path`. No backup means the original was never moved (the kill came
/// before) or is back already: either way it is in place.
fn restore(backup: &Path, path: &Path) -> Result<(), String> {
    if fsops::kind_io(backup)
        .map_err(|e| restoring(path, backup, e))?
        .is_none()
    {
        return Ok(());
    }
    if fsops::kind_io(path).map_err(|e| restoring(path, backup, e))? == Some(Kind::Dir) {
        return Err(format!(
            "left in place: `{}` is now a directory; the original is kept in `{}`",
            path.display(),
            backup.display()
        ));
    }
    fs::rename(backup, path).map_err(|e| restoring(path, backup, e))
}

/// Replace the tree at `path` with its backup copy.
fn restore_tree(backup: &Path, path: &Path) -> Result<(), String> {
    if fsops::kind_io(backup)
        .map_err(|e| restoring(path, backup, e))?
        .is_none()
    {
        return Ok(());
    }
    fsops::remove_any(path).map_err(|e| removing(path, e))?;
    fs::rename(backup, path).map_err(|e| restoring(path, backup, e))
}

fn removing(path: &Path, e: io::Error) -> String {
    format!("removing `{}`: {e}", path.display())
}

fn restoring(path: &Path, backup: &Path, e: io::Error) -> String {
    format!(
        "restoring `{}` from `{}`: {e}",
        path.display(),
        backup.display()
    )
}

/// What a commit could not clean up.
#[derive(Debug, Default)]
pub struct CommitReport {
    /// Backups (or temporary copies) still on the target, with why.
    pub left: Vec<(PathBuf, String)>,
}

/// Remove the backups of committed changes. Idempotent: run it again for a commit that was
/// killed midway (`JournalState::committed`).
pub fn remove_backups(changes: &[Change]) -> CommitReport {
    let mut report = CommitReport::default();
    for change in changes {
        let temp = fsops::sibling(change.path(), Sibling::Temp, change.id());
        for path in change.backup().into_iter().chain([temp.as_path()]) {
            if let Err(e) = fsops::remove_any(path) {
                report.left.push((path.to_path_buf(), e.to_string()));
            }
        }
    }
    report
}

/// Begin a new install in `state`. An earlier install must have ended with nothing left in
/// place; a succeeded one is made final here (a `committed` record, then its backups removed)
/// and its journal moved to the history, all under the state directory's lock.
pub fn begin_install(state: &StateDir, begin: Begin) -> Result<Journal, JournalError> {
    let (mut journal, previous) = match Journal::open(state) {
        Ok(opened) => opened,
        Err(JournalError::Missing { .. } | JournalError::NoInstall { .. }) => {
            return Journal::create(state, begin);
        }
        Err(error) => return Err(error),
    };
    previous.check_may_begin_after()?;
    if !previous.changes.is_empty() {
        journal.append(Record::Committed {
            at: Timestamp::now(),
        })?;
    }
    let changes: Vec<Change> = previous
        .committed
        .iter()
        .chain(&previous.changes)
        .cloned()
        .collect();
    if let Some((backup, reason)) = remove_backups(&changes).left.into_iter().next() {
        return Err(JournalError::BackupLeft { backup, reason });
    }
    journal.replace(state, begin)
}
