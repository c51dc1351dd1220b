//! Undoing changes (rollback) and dropping their backups (commit).
//!
//! Every undo is idempotent: it looks at what is on disk and does only what is still needed, so
//! a rollback killed midway, or a change journaled but never made, is handled by running the
//! same undo again.

use super::fsops::{self, Kind, Sibling};
use crate::checkpoint::checkpoint;
use crate::durable;
use crate::journal::{Begin, Journal, JournalError, Outcome, Record, Timestamp};
use crate::journal::{Change, ChangeId, DirIdentity, Scope};
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
    undo_each(journal, changes, &mut report);
    let complete = report.is_complete();
    let at = Timestamp::now();
    report.journal(journal, Record::RollbackFinished { at, complete });
    report
}

/// Undo the changes of one interrupted step (`JournalState::changes_of_step`) before `resume`
/// runs it again from clean. The install is not rolled back: no rollback record is journaled,
/// only each change undone, so a kill here is finished by the next `resume` or `rollback`.
pub fn restore_step(journal: &mut Journal, changes: &[Change]) -> RollbackReport {
    let mut report = RollbackReport::default();
    undo_each(journal, changes, &mut report);
    report
}

/// Undo `changes` newest first into `report`, journaling each.
fn undo_each(journal: &mut Journal, changes: &[Change], report: &mut RollbackReport) {
    let backups = journal.state_dir().backups_dir();
    let scope = journal.scope();
    for change in changes.iter().rev() {
        // Synced before `Undone` is journaled, so a power loss cannot undo the undo unnoticed.
        let left: Vec<&Path> = report.failed.iter().map(|(c, _)| c.path()).collect();
        let result = in_scope(change, &scope)
            .and_then(|()| backup_is_ours(change, &backups))
            .and_then(|()| undo(change, &left))
            .and_then(|()| synced(change.path()));
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
}

/// Refuse to undo a change outside the directories the install's steps write into.
fn in_scope(change: &Change, scope: &Scope) -> Result<(), String> {
    match scope.covers(change) {
        true => Ok(()),
        false => Err(format!(
            "left in place: {}; the journal was not written by this installer's steps",
            scope.refusal()
        )),
    }
}

/// Refuse to restore from anywhere but this state directory's backups: a journal naming another
/// place was not written by this installer.
fn backup_is_ours(change: &Change, backups: &Path) -> Result<(), String> {
    match change.backup() {
        Some(backup) if !backup.starts_with(backups) || backup.components().any(is_parent) => {
            Err(format!(
                "left in place: its backup `{}` is not in `{}`; the journal was not written by \
                 this installer",
                backup.display(),
                backups.display()
            ))
        }
        _ => Ok(()),
    }
}

fn is_parent(component: std::path::Component<'_>) -> bool {
    component == std::path::Component::ParentDir
}

/// Put the target back as it was before `change`; `left` are the paths whose undo failed so far
/// (a directory holding one is not removed).
fn undo(change: &Change, left: &[&Path]) -> Result<(), String> {
    remove_temporaries(change)?;
    match change {
        Change::FileCreated { path, .. } => remove_created_file(path),
        Change::DirCreated { path, identity, .. } => {
            if let Some(kept) = left.iter().find(|kept| kept.starts_with(path)) {
                return Err(format!(
                    "left in place: `{}` holds `{}`, which was left in place",
                    path.display(),
                    kept.display()
                ));
            }
            remove_created_dir(path, *identity)
        }
        Change::FileReplaced { id, path, backup }
        | Change::FileModifiedInPlace { id, path, backup }
        | Change::FileDeleted { id, path, backup } => restore(backup, path, *id),
        Change::DirSnapshot { id, path, backup } => restore_tree(backup, path, *id),
        Change::Absent { path, .. } => {
            fsops::remove_any(path).map_err(|e| format!("removing `{}`: {e}", path.display()))
        }
    }
}

/// Remove what a killed run left half-made for `changes` (before resuming them); returns what
/// could not be removed, with why.
pub fn sweep_temporaries(changes: &[Change]) -> Vec<String> {
    changes
        .iter()
        .filter_map(|change| remove_temporaries(change).err())
        .collect()
}

/// Remove what a kill may have left half-made for `change`: new content being written next to
/// its path (it may hold a rendered secret), a backup being assembled.
fn remove_temporaries(change: &Change) -> Result<(), String> {
    let path = change.path();
    let mut leftovers = vec![
        fsops::sibling(path, Sibling::New, change.id()),
        fsops::sibling(path, Sibling::Temp, change.id()),
        durable::temp_path(path),
    ];
    leftovers.extend(change.backup().map(fsops::partial));
    for leftover in leftovers {
        fsops::remove_any(&leftover).map_err(|e| removing(&leftover, e))?;
    }
    Ok(())
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

/// Remove a directory the install created, with what the install's scripts left in it (leaving
/// them would leave the target half-installed) — only while `path` still names that very
/// directory: a directory swapped in since (by whoever can write its parent) is left alone.
/// Without a journaled identity (a kill right after creating it), only an empty directory is
/// removed. Symbolic links inside are removed, never followed.
fn remove_created_dir(path: &Path, identity: Option<DirIdentity>) -> Result<(), String> {
    match fsops::kind_io(path) {
        Ok(None) => Ok(()),
        Ok(Some(Kind::Dir)) => {
            let now = fsops::identity(path).map_err(|e| removing(path, e))?;
            match (identity, now) {
                (Some(created), Some(now)) if created != now => Err(format!(
                    "left in place: `{}` is no longer the directory the install created (it was \
                     replaced since)",
                    path.display()
                )),
                (None, Some(_)) => fs::remove_dir(path).map_err(|e| {
                    format!(
                        "left in place: `{}`, created by the install, holds files it did not \
                         record ({e}); remove it by hand once you checked them",
                        path.display()
                    )
                }),
                _ => fs::remove_dir_all(path).map_err(|e| removing(path, e)),
            }
        }
        Ok(Some(_)) => Err(format!(
            "left in place: `{}` is no longer the directory the install created",
            path.display()
        )),
        Err(e) => Err(removing(path, e)),
    }
}

/// Move a backup back over `path`. No backup means the original was never moved (the kill came
/// before) or is back already: either way it is in place.
fn restore(backup: &Path, path: &Path, id: ChangeId) -> Result<(), String> {
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
    move_back(backup, path, id)
}

/// Replace the tree at `path` with its backup copy.
fn restore_tree(backup: &Path, path: &Path, id: ChangeId) -> Result<(), String> {
    if fsops::kind_io(backup)
        .map_err(|e| restoring(path, backup, e))?
        .is_none()
    {
        return Ok(());
    }
    fsops::remove_any(path).map_err(|e| removing(path, e))?;
    move_back(backup, path, id)
}

fn move_back(backup: &Path, path: &Path, id: ChangeId) -> Result<(), String> {
    let staging = fsops::sibling(path, Sibling::Temp, id);
    fsops::move_entry(backup, path, &staging).map_err(|e| restoring(path, backup, e))?;
    fsops::sync_parent(backup).map_err(|e| restoring(path, backup, e))
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
        if let Err(e) = remove_temporaries(change) {
            report.left.push((change.path().to_path_buf(), e));
        }
        if let Some(backup) = change.backup()
            && let Err(e) = fsops::remove_any(backup)
        {
            report.left.push((backup.to_path_buf(), e.to_string()));
        }
    }
    report
}

/// Begin a new install in `state`. An earlier install must have ended with nothing left in
/// place; a succeeded one is kept, its backups with it, until retention makes it final (module
/// `retention`); a commit of an older kind that was killed midway is finished first. All under
/// the state directory's lock.
pub fn begin_install(state: &StateDir, begin: Begin) -> Result<Journal, JournalError> {
    let (journal, previous) = match Journal::open(state) {
        Ok(opened) => opened,
        Err(JournalError::Missing { .. } | JournalError::NoInstall { .. }) => {
            return Journal::create(state, begin);
        }
        Err(error) => return Err(error),
    };
    previous.check_may_begin_after()?;
    if let Some((backup, reason)) = remove_backups(&previous.committed).left.into_iter().next() {
        return Err(JournalError::BackupLeft { backup, reason });
    }
    journal.replace(state, begin)
}
