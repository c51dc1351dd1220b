//! The rollback transaction: every change an install makes to the target is journaled before
//! it is made, so that a failed or killed install can be undone byte for byte.
//!
//! Modelled on rustup's `Transaction`, with what dropship needs on top: each [`Change`] reaches
//! the on-disk [`Journal`] (fsync'd) *before* the change is made, so a kill at any instant leaves
//! a journal that covers everything done; created directories are recorded; [`rollback`] is an
//! explicit call that returns a [`RollbackReport`] of what it could not undo (never something
//! only logged from `Drop`); and it is idempotent, so a rollback killed midway is finished by
//! running it again.
//!
//! # Where backups live
//!
//! In the state directory's `backups/` folder (`0700`, like the state directory), in a folder
//! of the install's own (`backups/<install key>/`, so they outlive it while it is kept for
//! `rollback --to`), named by change id, never in the installed tree: a backup of a settings file holds the previous
//! secret, and a directory a web server serves must not hold it. Moving an original aside and
//! restoring it are `rename`s when the target is on the state directory's file system
//! (atomic, keeping content, mode, owner and times); across file systems they are copies made
//! under a temporary name (`backups/ID.partial`, or `.NAME.dropship-tmp-ID` next to the path on
//! the way back), renamed when whole, then the source removed. Backups are removed when the
//! install is made final (module `retention`). Files being written are siblings (`.NAME.dropship-new-ID`), named from
//! the change, so rollback and resume remove them after a kill.
//!
//! A directory the install created is journaled with its identity (device and inode) right
//! after it is created; rollback removes it, with what the install's scripts left in it, only
//! while the path still names that very directory (never a directory swapped in since), and
//! removes one whose identity was never journaled only when it is empty.
//!
//! Every change must lie in the journal's [`Scope`]: the directories the steps said they write
//! into, journaled before their first change. A change outside it is refused before it is made,
//! and one found in a journal is left alone by rollback (the plan never asked for it).
//!
//! Undoing a change never needs to know whether the change was made: with the record written
//! first, "the backup is not there" means either the original was never moved or it has already
//! been moved back, and in both cases the original is in place. The directories are synced
//! after a backup is moved aside and after each undo, before anything relies on it, so this
//! also holds across a power loss.
//!
//! # Use
//!
//! ```text
//! let mut tx = Transaction::new(&mut journal);        // or ::resume(&mut journal, state.changes)
//! tx.create_dir_all(dest)?;                           // each new directory journaled
//! tx.create_dirs_and_files(&dirs, &files)?;           // a package: two flushes in all
//! tx.write_file(config, &rendered)?;                  // backup + atomic write
//! tx.snapshot(data_dir)?; run_script()?;              // the script changes what was saved
//! // on failure:
//! let report = tx.rollback("step `Migrate` failed");  // report.failed: what is left
//! // on success, or later when retention makes the install final:
//! tx.commit()?;                                      // or remove_backups(&changes)
//! ```
//!
//! The state directory must not lie inside a path that is snapshot (restoring the tree would
//! put back an old journal).
//!
//! Known gaps: ownership and times are kept by renames but not by copies (content and Unix mode
//! are); a snapshot of a symbolic link saves the link, not its target; directories a rollback
//! has to empty must be writable.

//!
//! [`Change`]: crate::journal::Change
//! [`Journal`]: crate::journal::Journal
//! [`Scope`]: crate::journal::Scope
//! [`RollbackReport`]: crate::rollback::RollbackReport
//! [`rollback`]: crate::rollback::rollback
use crate::checkpoint::checkpoint;
use crate::durable;
use crate::journal::{Change, ChangeId, Journal, JournalError, Record, Timestamp};
use crate::state_dir::StateError;
use std::collections::{BTreeSet, HashSet};
use std::io;
use std::path::{Path, PathBuf};

mod fsops;
// The tests compare Unix file modes throughout.
#[cfg(all(test, unix))]
mod tests;
mod undo;

use fsops::{Kind, Sibling};
pub use undo::{
    CommitReport, RollbackReport, begin_install, remove_backups, restore_step, rollback,
    sweep_temporaries,
};

/// Why a change could not be recorded or made.
#[derive(Debug, thiserror::Error)]
pub enum RollbackError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error("{doing} `{path}`: {source}")]
    Io {
        doing: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("cannot {doing} `{path}`: {why}")]
    Conflict {
        doing: &'static str,
        path: PathBuf,
        why: String,
    },
}

impl RollbackError {
    fn io<'a>(doing: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> Self + 'a {
        move |source| RollbackError::Io {
            doing,
            path: path.to_path_buf(),
            source,
        }
    }

    fn conflict(doing: &'static str, path: &Path, why: impl Into<String>) -> Self {
        RollbackError::Conflict {
            doing,
            path: path.to_path_buf(),
            why: why.into(),
        }
    }
}

/// Changes to the target, each journaled before it is made. Paths must be absolute (the
/// journal may be replayed from another working directory).
#[derive(Debug)]
pub struct Transaction<'j> {
    journal: &'j mut Journal,
    changes: Vec<Change>,
    /// Directories found writable only by root and the installing user, so no other local
    /// user can swap what lies in them between a check and a change.
    trusted_dirs: HashSet<PathBuf>,
}

impl<'j> Transaction<'j> {
    pub fn new(journal: &'j mut Journal) -> Self {
        Self::resume(journal, Vec::new())
    }

    /// Continue the transaction of a resumed install (`JournalState::changes`), so that a later
    /// failure rolls back what was done before the crash as well.
    pub fn resume(journal: &'j mut Journal, changes: Vec<Change>) -> Self {
        Transaction {
            journal,
            changes,
            trusted_dirs: HashSet::new(),
        }
    }

    /// The changes not yet undone, in the order made.
    pub fn changes(&self) -> &[Change] {
        &self.changes
    }

    /// The journal, for the engine's own records (steps started and finished).
    pub fn journal(&mut self) -> &mut Journal {
        self.journal
    }

    /// Create `path` and its missing parents, journaling each directory before creating it.
    pub fn create_dir_all(&mut self, path: &Path) -> Result<(), RollbackError> {
        self.create_dirs(&[path])
    }

    /// Create every directory in `paths` and their missing parents, journaled in one go (one
    /// disk flush for a package's whole tree) before any is created.
    pub fn create_dirs<P: AsRef<Path>>(&mut self, paths: &[P]) -> Result<(), RollbackError> {
        self.create_dirs_and_files(paths, &[] as &[&Path])
    }

    /// [`create_dirs`](Self::create_dirs) for `dirs` and
    /// [`before_create_files`](Self::before_create_files) for `files` (which may lie in those
    /// directories), journaled with one disk flush before anything is made, and one more for
    /// the identities of the directories created: a whole package for two flushes.
    pub fn create_dirs_and_files<D: AsRef<Path>, F: AsRef<Path>>(
        &mut self,
        dirs: &[D],
        files: &[F],
    ) -> Result<(), RollbackError> {
        let missing = missing_dirs_of(dirs)?;
        let first = self.journal.next_change_id().0;
        let ids: Vec<ChangeId> = (first..).take(missing.len()).map(ChangeId).collect();
        let mut changes: Vec<Change> = ids
            .iter()
            .zip(&missing)
            .map(|(id, dir)| Change::DirCreated {
                id: *id,
                path: dir.clone(),
                identity: None,
            })
            .collect();
        let replacing = self.file_changes(files, first + ids.len() as u64)?;
        changes.extend(replacing.iter().cloned());
        self.record_all(changes)?;
        for dir in &missing {
            std::fs::create_dir(dir).map_err(RollbackError::io("creating directory", dir))?;
            checkpoint("after-change");
        }
        self.record_identities(&ids, &missing)?;
        check_made_dirs(&missing, &replacing)?;
        move_aside(&replacing)
    }

    /// Journal which directories were created (one flush), so that rollback removes only them.
    fn record_identities(
        &mut self,
        ids: &[ChangeId],
        dirs: &[PathBuf],
    ) -> Result<(), RollbackError> {
        let mut records = Vec::new();
        for (id, dir) in ids.iter().zip(dirs) {
            let identity = fsops::identity(dir).map_err(RollbackError::io("inspecting", dir))?;
            let Some(identity) = identity else { continue };
            for change in &mut self.changes {
                if let Change::DirCreated {
                    id: at,
                    identity: known,
                    ..
                } = change
                    && at == id
                {
                    *known = Some(identity);
                }
            }
            records.push(Record::DirIdentified {
                change_id: *id,
                identity,
            });
        }
        if !records.is_empty() {
            self.journal.append_all(records)?;
        }
        Ok(())
    }

    /// Make way for a new file at `path`: record it as created if nothing is there, or move the
    /// file that is there to its backup. The caller then creates `path` itself.
    pub fn before_create_file(&mut self, path: &Path) -> Result<(), RollbackError> {
        self.make_way(path).map(drop)
    }

    /// [`before_create_file`](Self::before_create_file) for many paths, all journaled in one go:
    /// one disk flush for a whole package, not one per file.
    pub fn before_create_files<P: AsRef<Path>>(
        &mut self,
        paths: &[P],
    ) -> Result<(), RollbackError> {
        self.create_dirs_and_files(&[] as &[&Path], paths)
    }

    /// The changes that make way for new files at `paths` (each once), numbered from `id`: a
    /// file created where nothing is, a file replaced (moved to its backup) where one is.
    fn file_changes<P: AsRef<Path>>(
        &self,
        paths: &[P],
        mut id: u64,
    ) -> Result<Vec<Change>, RollbackError> {
        const DOING: &str = "write";
        let mut seen = HashSet::new();
        let mut changes = Vec::new();
        for path in paths.iter().map(AsRef::as_ref) {
            if !seen.insert(path) {
                continue;
            }
            let (change_id, path_buf) = (ChangeId(id), path.to_path_buf());
            changes.push(match fsops::kind(journalable(path, DOING)?)? {
                None => Change::FileCreated {
                    id: change_id,
                    path: path_buf,
                },
                Some(Kind::Dir) => {
                    return Err(RollbackError::conflict(DOING, path, "it is a directory"));
                }
                Some(_) => {
                    let backup = self.free_backup(path, change_id, DOING)?;
                    Change::FileReplaced {
                        id: change_id,
                        path: path_buf,
                        backup,
                    }
                }
            });
            id += 1;
        }
        Ok(changes)
    }

    /// Write `bytes` to `path` atomically (a sibling temporary file renamed into place).
    pub fn write_file(&mut self, path: &Path, bytes: &[u8]) -> Result<(), RollbackError> {
        self.replace_file_with(path, |temp| std::fs::write(temp, bytes))
    }

    /// Write `path` atomically with `write`, which is given the temporary file to fill. A file
    /// replaced keeps its mode (a config holding a password stays `0600`).
    pub fn replace_file_with(
        &mut self,
        path: &Path,
        write: impl FnOnce(&Path) -> io::Result<()>,
    ) -> Result<(), RollbackError> {
        let id = self.make_way(path)?;
        let temp = fsops::sibling(path, Sibling::New, id);
        let original = self.original_of(path);
        write(&temp)
            .and_then(|()| original.map_or(Ok(()), |from| fsops::copy_mode(&from, &temp)))
            .and_then(|()| durable::sync_file(&temp))
            .map_err(RollbackError::io("writing the new content of", path))?;
        std::fs::rename(&temp, path).map_err(RollbackError::io("moving into place", path))?;
        checkpoint("after-change");
        Ok(())
    }

    /// Delete the file at `path`, keeping it as a backup.
    pub fn delete_file(&mut self, path: &Path) -> Result<(), RollbackError> {
        const DOING: &str = "delete";
        match fsops::kind(journalable(path, DOING)?)? {
            None => return Err(RollbackError::conflict(DOING, path, "it does not exist")),
            Some(Kind::Dir) => {
                return Err(RollbackError::conflict(DOING, path, "it is a directory"));
            }
            Some(_) => {}
        }
        let id = self.journal.next_change_id();
        let backup = self.free_backup(path, id, DOING)?;
        let change = Change::FileDeleted {
            id,
            path: path.to_path_buf(),
            backup,
        };
        self.record(change.clone())?;
        move_aside(&[change])?;
        checkpoint("after-change");
        Ok(())
    }

    /// Save the file or directory tree at `path` before a script changes it where it is (or
    /// note that nothing is there, so rollback removes what the script creates).
    pub fn snapshot(&mut self, path: &Path) -> Result<(), RollbackError> {
        const DOING: &str = "snapshot";
        let kind = fsops::kind(journalable(path, DOING)?)?;
        let id = self.journal.next_change_id();
        let path_buf = path.to_path_buf();
        let kind = match kind {
            None => {
                self.record(Change::Absent { id, path: path_buf })?;
                checkpoint("after-change");
                return Ok(());
            }
            Some(Kind::Special) => {
                let why = "it is not a file, link or directory";
                return Err(RollbackError::conflict(DOING, path, why));
            }
            Some(kind) => kind,
        };
        let backup = self.free_backup(path, id, DOING)?;
        self.record(match kind {
            Kind::Dir => Change::DirSnapshot {
                id,
                path: path_buf,
                backup: backup.clone(),
            },
            _ => Change::FileModifiedInPlace {
                id,
                path: path_buf,
                backup: backup.clone(),
            },
        })?;
        // Copy under a temporary name first: a backup is either whole or absent.
        let partial = fsops::partial(&backup);
        fsops::remove_any(&partial)
            .and_then(|()| fsops::copy_entry(path, &partial))
            .and_then(|()| durable::rename_durably(&partial, &backup))
            .map_err(RollbackError::io("backing up", path))?;
        checkpoint("after-change");
        Ok(())
    }

    /// Keep every change: journal the commit, then remove the backups. What could not be
    /// removed is reported; [`remove_backups`] retries it from `JournalState::committed`.
    pub fn commit(self) -> Result<CommitReport, RollbackError> {
        self.journal.append(Record::Committed {
            at: Timestamp::now(),
        })?;
        Ok(remove_backups(&self.changes))
    }

    /// Undo every change, newest first (see [`rollback`]).
    pub fn rollback(self, reason: &str) -> RollbackReport {
        rollback(self.journal, &self.changes, reason)
    }

    /// The backup path of change `id` in the state directory.
    fn free_backup(
        &self,
        path: &Path,
        id: ChangeId,
        doing: &'static str,
    ) -> Result<PathBuf, RollbackError> {
        let backups = self.journal.backups()?;
        fsops::free_backup(&backups, path, id, doing)
    }

    /// Record a new file at `path`, moving an existing one to its backup; returns the change id.
    fn make_way(&mut self, path: &Path) -> Result<ChangeId, RollbackError> {
        let id = self.journal.next_change_id();
        self.before_create_files(&[path])?;
        Ok(id)
    }

    /// Where the original of `path` is kept, if this install moved or copied it aside: the
    /// newest backup of it still there (after a resume, it may come from before the crash).
    fn original_of(&self, path: &Path) -> Option<PathBuf> {
        let backups = self.changes.iter().rev().filter(|c| c.path() == path);
        let mut backups = backups.filter_map(Change::backup);
        backups
            .find(|b| b.symlink_metadata().is_ok())
            .map(Path::to_path_buf)
    }

    /// Journal a change (on disk before this returns), then remember it.
    fn record(&mut self, change: Change) -> Result<(), RollbackError> {
        self.record_all(vec![change])
    }

    /// Journal changes with one flush (on disk before this returns), then remember them.
    fn record_all(&mut self, changes: Vec<Change>) -> Result<(), RollbackError> {
        if changes.is_empty() {
            return Ok(());
        }
        let scope = self.journal.scope();
        if let Some(outside) = changes.iter().find(|c| !scope.covers(c)) {
            return Err(RollbackError::conflict(
                "change",
                outside.path(),
                scope.refusal(),
            ));
        }
        for change in &changes {
            self.check_way(change.path())?;
        }
        self.journal
            .append_all(changes.iter().cloned().map(Record::Change))?;
        self.changes.extend(changes);
        checkpoint("after-record");
        Ok(())
    }

    /// Refuse a change under a directory another local user can write: they could replace
    /// what the change is about (or a directory on its way) with a link between the check and
    /// the change. Checked once per directory.
    fn check_way(&mut self, path: &Path) -> Result<(), RollbackError> {
        let Some(dir) = path.parent() else {
            return Ok(());
        };
        if self.trusted_dirs.contains(dir) {
            return Ok(());
        }
        crate::path_safety::check_trusted_ancestors(dir)
            .map_err(|why| RollbackError::conflict("change", path, why.to_string()))?;
        self.trusted_dirs.insert(dir.to_path_buf());
        Ok(())
    }
}

/// Check the directories just made that will hold `files`: they were not there to check when
/// the files were journaled (`check_way`), and a umask that lets others write them would let
/// them swap what the files are written through.
fn check_made_dirs(made: &[PathBuf], files: &[Change]) -> Result<(), RollbackError> {
    let made: HashSet<&Path> = made.iter().map(PathBuf::as_path).collect();
    let holding: BTreeSet<&Path> = files
        .iter()
        .filter_map(|change| change.path().parent())
        .filter(|dir| made.contains(dir))
        .collect();
    for dir in holding {
        crate::path_safety::check_trusted_ancestors(dir)
            .map_err(|why| RollbackError::conflict("change", dir, why.to_string()))?;
    }
    Ok(())
}

/// The directories to create for `paths` and their missing parents, each once, parents first.
fn missing_dirs_of<P: AsRef<Path>>(paths: &[P]) -> Result<Vec<PathBuf>, RollbackError> {
    let mut missing: Vec<PathBuf> = Vec::new();
    let mut seen = HashSet::new();
    for path in paths.iter().map(AsRef::as_ref) {
        for dir in fsops::missing_dirs(journalable(path, "create directory")?)? {
            // Parents come first in each list, so also first in the union.
            if seen.insert(dir.clone()) {
                missing.push(dir);
            }
        }
    }
    Ok(missing)
}

/// Move the files being replaced or deleted to their backups, then sync their directories once
/// each: the backups are durable before the caller writes anything new.
fn move_aside(changes: &[Change]) -> Result<(), RollbackError> {
    let mut dirs = BTreeSet::new();
    for change in changes {
        if let Change::FileReplaced { path, backup, .. }
        | Change::FileDeleted { path, backup, .. } = change
        {
            fsops::move_entry(path, backup, &fsops::partial(backup))
                .map_err(RollbackError::io("backing up", path))?;
            checkpoint("after-backup");
            dirs.extend(path.parent());
            dirs.extend(backup.parent());
        }
    }
    for dir in dirs {
        durable::sync_dir(dir).map_err(RollbackError::io("syncing the directory", dir))?;
    }
    Ok(())
}

/// Refuse a path the journal cannot hold faithfully: a relative one or one through `..` (it must
/// mean the same file wherever and whenever the journal is replayed) or one that is not UTF-8
/// (the journal is JSON).
fn journalable<'a>(path: &'a Path, doing: &'static str) -> Result<&'a Path, RollbackError> {
    let parent = |c: std::path::Component| c == std::path::Component::ParentDir;
    let why = if !path.is_absolute() {
        "the path is not absolute"
    } else if path.components().any(parent) {
        "the path goes through `..`"
    } else if path.to_str().is_none() {
        "the path is not valid UTF-8, which the journal cannot record"
    } else {
        return Ok(path);
    };
    Err(RollbackError::conflict(doing, path, why))
}
