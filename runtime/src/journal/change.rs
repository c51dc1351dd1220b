//! One change to the target, as the journal records it: what was done to which path, and where
//! the original was kept. The transaction (`rollback`) makes and undoes changes; the journal only
//! stores them.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::Path;
use std::path::PathBuf;

/// Identifies one change within a journal; also names its backup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ChangeId(pub u64);

impl fmt::Display for ChangeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A directory's identity on its file system: the same path naming another directory later (a
/// swap by someone who can write its parent) has another identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct DirIdentity {
    pub device: u64,
    pub inode: u64,
}

/// One change to the target, as journaled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "kebab-case",
    rename_all_fields = "kebab-case"
)]
pub enum Change {
    /// A file that did not exist; undone by removing it.
    FileCreated { id: ChangeId, path: PathBuf },
    /// A directory that did not exist; undone by removing it (and what the install's scripts
    /// left in it) only if it is still the very directory the install created.
    DirCreated {
        id: ChangeId,
        path: PathBuf,
        /// Which directory was created, journaled right after creating it (`None` until then,
        /// or off Unix).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        identity: Option<DirIdentity>,
    },
    /// A file moved to `backup` and written anew; undone by moving the backup back.
    FileReplaced {
        id: ChangeId,
        path: PathBuf,
        backup: PathBuf,
    },
    /// A file copied to `backup` before a script changes it where it is.
    FileModifiedInPlace {
        id: ChangeId,
        path: PathBuf,
        backup: PathBuf,
    },
    /// A file moved to `backup` instead of being deleted.
    FileDeleted {
        id: ChangeId,
        path: PathBuf,
        backup: PathBuf,
    },
    /// A directory tree copied to `backup` before a script changes it; undone by removing what
    /// is there and moving the copy back.
    DirSnapshot {
        id: ChangeId,
        path: PathBuf,
        backup: PathBuf,
    },
    /// A path that did not exist when a snapshot was asked for; undone by removing whatever is
    /// there then.
    Absent { id: ChangeId, path: PathBuf },
}

impl Change {
    pub fn id(&self) -> ChangeId {
        match self {
            Change::FileCreated { id, .. }
            | Change::DirCreated { id, .. }
            | Change::FileReplaced { id, .. }
            | Change::FileModifiedInPlace { id, .. }
            | Change::FileDeleted { id, .. }
            | Change::DirSnapshot { id, .. }
            | Change::Absent { id, .. } => *id,
        }
    }

    /// The path on the target this change is about.
    pub fn path(&self) -> &Path {
        match self {
            Change::FileCreated { path, .. }
            | Change::DirCreated { path, .. }
            | Change::FileReplaced { path, .. }
            | Change::FileModifiedInPlace { path, .. }
            | Change::FileDeleted { path, .. }
            | Change::DirSnapshot { path, .. }
            | Change::Absent { path, .. } => path,
        }
    }

    /// Where the original is kept, for the kinds that keep one.
    pub fn backup(&self) -> Option<&Path> {
        match self {
            Change::FileReplaced { backup, .. }
            | Change::FileModifiedInPlace { backup, .. }
            | Change::FileDeleted { backup, .. }
            | Change::DirSnapshot { backup, .. } => Some(backup),
            _ => None,
        }
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self {
            Change::FileCreated { .. } => "created file",
            Change::DirCreated { .. } => "created directory",
            Change::FileReplaced { .. } => "replaced file",
            Change::FileModifiedInPlace { .. } => "snapshot of file",
            Change::FileDeleted { .. } => "deleted file",
            Change::DirSnapshot { .. } => "snapshot of directory",
            Change::Absent { .. } => "snapshot of absent path",
        };
        write!(f, "{what} `{}`", self.path().display())
    }
}
