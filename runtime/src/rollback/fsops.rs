//! File-system helpers of the transaction: what is at a path, sibling names, copies that keep
//! the Unix mode, removals that tolerate absence (so undoing twice is harmless).

use super::RollbackError;
use crate::durable::{sync_dir, sync_file};
use crate::journal::ChangeId;
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

/// The siblings a change may leave next to its path.
#[derive(Debug, Clone, Copy)]
pub(super) enum Sibling {
    /// The original, moved or copied aside.
    Backup,
    /// New content being written, renamed over the path when whole.
    New,
    /// A backup being copied, renamed to the backup when whole.
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
        Sibling::Backup => "bak",
        Sibling::New => "new",
        Sibling::Temp => "tmp",
    };
    path.with_file_name(format!(".{}.dropship-{which}-{id}", &name[..end]))
}

/// The backup path for change `id`, refused if something (an earlier install's backup) is there.
pub(super) fn free_backup(
    path: &Path,
    id: ChangeId,
    doing: &'static str,
) -> Result<PathBuf, RollbackError> {
    let backup = sibling(path, Sibling::Backup, id);
    if kind(&backup)?.is_some() {
        let why = format!(
            "its backup `{}` already exists (left by an earlier install?)",
            backup.display()
        );
        return Err(RollbackError::conflict(doing, path, why));
    }
    Ok(backup)
}

/// Sync the directory holding `path`, so renames and removals in it survive a power loss.
pub(super) fn sync_parent(path: &Path) -> io::Result<()> {
    path.parent().map_or(Ok(()), sync_dir)
}

/// Give `to` the permissions (Unix mode) of `from`, if `from` is a regular file (a link's own
/// mode means nothing).
pub(super) fn copy_mode(from: &Path, to: &Path) -> io::Result<()> {
    let meta = fs::symlink_metadata(from)?;
    if meta.is_file() {
        fs::set_permissions(to, meta.permissions())?;
    }
    Ok(())
}

/// Copy a file, link or directory tree from `from` to `to` (which must not exist), keeping the
/// Unix mode of every file and directory. Errors name the path being copied.
pub(super) fn copy_entry(from: &Path, to: &Path) -> Result<(), RollbackError> {
    let copy = |result: io::Result<()>| result.map_err(RollbackError::io("backing up", from));
    match kind(from)? {
        Some(Kind::Dir) => copy_dir(from, to),
        Some(Kind::File) => copy(fs::copy(from, to).and_then(|_| sync_file(to))),
        Some(Kind::Symlink) => copy(fs::read_link(from).and_then(|link| symlink(&link, to))),
        Some(Kind::Special) => Err(RollbackError::conflict(
            "back up",
            from,
            "it is not a file, link or directory",
        )),
        None => copy(Err(io::ErrorKind::NotFound.into())),
    }
}

fn copy_dir(from: &Path, to: &Path) -> Result<(), RollbackError> {
    let fail = RollbackError::io;
    let permissions = fs::metadata(from)
        .map_err(fail("backing up", from))?
        .permissions();
    fs::create_dir(to).map_err(fail("creating the backup", to))?;
    for entry in fs::read_dir(from).map_err(fail("listing", from))? {
        let name = entry.map_err(fail("listing", from))?.file_name();
        copy_entry(&from.join(&name), &to.join(&name))?;
    }
    // The mode last: a read-only directory could not have been filled.
    fs::set_permissions(to, permissions).map_err(fail("setting the mode of the backup", to))
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
