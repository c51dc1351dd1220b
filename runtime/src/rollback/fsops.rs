//! File-system helpers of the transaction: what is at a path, sibling and backup names, moves
//! that fall back to a copy across file systems, copies that keep the Unix mode, removals that
//! tolerate absence (so undoing twice is harmless), directory identities.

use super::RollbackError;
use crate::durable::{self, sync_dir, sync_file};
use crate::journal::{ChangeId, DirIdentity};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// What a path holds (links are not followed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    File,
    Dir,
    Symlink,
    /// A FIFO, socket or device: never backed up.
    Special,
}

/// What is at `path`, or `None` when nothing is.
pub(super) fn kind(path: &Path) -> Result<Option<Kind>, RollbackError> {
    kind_io(path).map_err(RollbackError::io("inspecting", path))
}

pub(super) fn kind_io(path: &Path) -> io::Result<Option<Kind>> {
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let file_type = meta.file_type();
    Ok(Some(if file_type.is_dir() {
        Kind::Dir
    } else if file_type.is_symlink() {
        Kind::Symlink
    } else if file_type.is_file() {
        Kind::File
    } else {
        Kind::Special
    }))
}

/// The directories `create_dir_all(path)` would create, outermost first.
pub(super) fn missing_dirs(path: &Path) -> Result<Vec<PathBuf>, RollbackError> {
    let mut missing = Vec::new();
    let mut current = path;
    while !exists(current)? {
        missing.push(current.to_path_buf());
        match current.parent() {
            Some(parent) => current = parent,
            None => break,
        }
    }
    // `is_dir` follows links: a link to a directory is a fine parent.
    if current.exists() && !current.is_dir() {
        let why = format!("`{}` is not a directory", current.display());
        return Err(RollbackError::conflict("create directory", path, why));
    }
    missing.reverse();
    Ok(missing)
}

/// Whether anything is at `path`; a file where a parent directory should be counts as nothing
/// (the caller finds the file further up).
fn exists(path: &Path) -> Result<bool, RollbackError> {
    match kind_io(path) {
        Ok(kind) => Ok(kind.is_some()),
        Err(e) if e.kind() == io::ErrorKind::NotADirectory => Ok(false),
        Err(e) => Err(RollbackError::io("inspecting", path)(e)),
    }
}

/// The siblings a change may leave next to its path while it is being made or undone.
#[derive(Debug, Clone, Copy)]
pub(super) enum Sibling {
    /// New content being written, renamed over the path when whole.
    New,
    /// An original being copied back from another file system, renamed over the path when
    /// whole.
    Temp,
}

/// Longest part of the original name kept in a sibling's name (names are limited to 255 bytes;
/// the change id, not the name, makes a sibling unique).
const NAME_KEPT: usize = 160;

/// `.NAME.dropship-KIND-ID` next to `path`.
pub(super) fn sibling(path: &Path, which: Sibling, id: ChangeId) -> PathBuf {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let mut end = name.len().min(NAME_KEPT);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    let which = match which {
        Sibling::New => "new",
        Sibling::Temp => "tmp",
    };
    path.with_file_name(format!(".{}.dropship-{which}-{id}", &name[..end]))
}

/// The backup of change `id` in `backups` (the state directory's), refused if something (an
/// earlier install's backup) is there.
pub(super) fn free_backup(
    backups: &Path,
    path: &Path,
    id: ChangeId,
    doing: &'static str,
) -> Result<PathBuf, RollbackError> {
    let backup = backups.join(id.to_string());
    if kind(&backup)?.is_some() {
        let why = format!(
            "its backup `{}` already exists (left by an earlier install?)",
            backup.display()
        );
        return Err(RollbackError::conflict(doing, path, why));
    }
    Ok(backup)
}

/// Where a backup is assembled before it is renamed to `backup`: a backup is whole or absent.
pub(super) fn partial(backup: &Path) -> PathBuf {
    backup.with_extension("partial")
}

/// Move `from` to `to`: a rename on one file system; across file systems (the state directory
/// and the target may be on different ones) a copy to `staging`, renamed to `to` once whole and
/// flushed, then `from` removed. The caller syncs the directories.
pub(super) fn move_entry(from: &Path, to: &Path, staging: &Path) -> io::Result<()> {
    match fs::rename(from, to) {
        Err(e) if e.kind() == io::ErrorKind::CrossesDevices => {
            remove_any(staging)?;
            copy_entry(from, staging)?;
            durable::rename_durably(staging, to)?;
            remove_any(from)
        }
        result => result,
    }
}

/// Sync the directory holding `path`, so renames and removals in it survive a power loss.
pub(super) fn sync_parent(path: &Path) -> io::Result<()> {
    path.parent().map_or(Ok(()), sync_dir)
}

/// Give `to` the permissions (Unix mode, or the DACL on Windows) of `from`, if `from` is a regular file (a link's own
/// mode means nothing).
pub(super) fn copy_mode(from: &Path, to: &Path) -> io::Result<()> {
    let meta = fs::symlink_metadata(from)?;
    if meta.is_file() {
        fs::set_permissions(to, meta.permissions())?;
        // On Windows the access control list is what the mode is elsewhere.
        #[cfg(windows)]
        crate::windows_acl::copy_dacl(from, to)?;
    }
    Ok(())
}

/// Copy a file, link or directory tree from `from` to `to` (which must not exist), keeping the
/// Unix mode of every file and directory; links are copied as links, never followed.
pub(super) fn copy_entry(from: &Path, to: &Path) -> io::Result<()> {
    match kind_io(from)? {
        Some(Kind::Dir) => copy_dir(from, to),
        Some(Kind::File) => fs::copy(from, to).and_then(|_| sync_file(to)),
        Some(Kind::Symlink) => fs::read_link(from).and_then(|link| symlink(&link, to)),
        Some(Kind::Special) => Err(io::Error::other(format!(
            "`{}` is not a file, link or directory",
            from.display()
        ))),
        None => Err(io::ErrorKind::NotFound.into()),
    }
}

fn copy_dir(from: &Path, to: &Path) -> io::Result<()> {
    let permissions = fs::metadata(from)?.permissions();
    fs::create_dir(to)?;
    for entry in fs::read_dir(from)? {
        let name = entry?.file_name();
        copy_entry(&from.join(&name), &to.join(&name))?;
    }
    // The mode last: a read-only directory could not have been filled.
    fs::set_permissions(to, permissions)
}

/// The identity of the directory at `path` (`None` off Unix, where it is not checked).
#[cfg(unix)]
pub(super) fn identity(path: &Path) -> io::Result<Option<DirIdentity>> {
    use std::os::unix::fs::MetadataExt;
    let meta = fs::symlink_metadata(path)?;
    Ok(Some(DirIdentity {
        device: meta.dev(),
        inode: meta.ino(),
    }))
}

#[cfg(not(unix))]
pub(super) fn identity(_path: &Path) -> io::Result<Option<DirIdentity>> {
    Ok(None)
}

#[cfg(unix)]
fn symlink(link: &Path, at: &Path) -> io::Result<()> {
    std::os::unix::fs::symlink(link, at)
}

#[cfg(not(unix))]
fn symlink(_link: &Path, _at: &Path) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "symbolic links are backed up on Unix only",
    ))
}

/// Remove whatever is at `path`: a file, a link or a whole tree. Absent is fine.
pub(super) fn remove_any(path: &Path) -> io::Result<()> {
    match kind_io(path)? {
        None => Ok(()),
        Some(Kind::Dir) => fs::remove_dir_all(path),
        Some(_) => fs::remove_file(path),
    }
}
