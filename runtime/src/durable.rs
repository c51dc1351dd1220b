//! Atomic, durable file writes: a reader (or a machine that loses power) sees either the old
//! file or the new one, never a mix, and a write that returned `Ok` survives a power loss.
//!
//! The one recipe, used by the configuration replacers, the state directory and the rollback
//! transaction: write a temporary sibling, give it the original's permissions, flush it, rename
//! it over the original, flush the directory. Errors name the path (`fs-err`).

use fs_err as fs;
use std::collections::BTreeSet;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Replace the contents of `path` with `bytes` atomically and durably. A file replaced keeps its
/// permissions; a new file gets `new_mode` (Unix) when given, else the process's default.
pub fn write_atomic(path: &Path, bytes: &[u8], new_mode: Option<u32>) -> io::Result<()> {
    let mut dirs = DirSyncs::default();
    replace_file(path, bytes, new_mode, &mut dirs)?;
    dirs.sync()
}

/// Read a whole file, refusing a link at `path` (a settings file is read where it is, never
/// through a link).
pub fn read_no_follow(path: &Path) -> io::Result<Vec<u8>> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    let mut bytes = Vec::new();
    io::Read::read_to_end(&mut no_follow(&mut options).open(path)?, &mut bytes)?;
    Ok(bytes)
}

/// Make `options` refuse to open a link at the final component (`O_NOFOLLOW`; Windows opens
/// a link itself, not its target, only with reparse-point flags, and has no such flag).
pub fn no_follow(options: &mut std::fs::OpenOptions) -> &mut std::fs::OpenOptions {
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(options, libc::O_NOFOLLOW);
    options
}

/// Directories holding renamed files whose entries are not yet flushed to disk.
///
/// Flushing a directory costs as much as flushing a file; a batch of writes (substituting in
/// hundreds of files) flushes each directory once at the end instead of once per file. Until then
/// every file is still whole (old or new), only not yet durable.
#[derive(Debug, Default)]
pub struct DirSyncs(BTreeSet<PathBuf>);

impl DirSyncs {
    /// Flush every recorded directory.
    pub fn sync(self) -> io::Result<()> {
        self.0.iter().try_for_each(|dir| sync_dir(dir))
    }
}

/// [`write_atomic`] without the directory flush, which is recorded in `dirs` instead.
pub fn replace_file(
    path: &Path,
    bytes: &[u8],
    new_mode: Option<u32>,
    dirs: &mut DirSyncs,
) -> io::Result<()> {
    let dir = parent_dir(path);
    let permissions = match fs::metadata(path) {
        Ok(meta) => Some(meta.permissions()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let temp = temp_path(path);
    let mut file = create_temp(&temp)?;
    file.write_all(bytes)
        .map_err(|e| with_path(e, "writing", &temp))?;
    match (permissions, new_mode) {
        (Some(permissions), _) => fs::set_permissions(&temp, permissions)?,
        (None, Some(mode)) => set_mode(&temp, mode)?,
        (None, None) => {}
    }
    file.sync_all()
        .map_err(|e| with_path(e, "flushing", &temp))?;
    drop(file);
    crate::checkpoint::checkpoint("after-temp");
    fs::rename(&temp, path)?;
    dirs.0.insert(dir);
    Ok(())
}

/// The temporary sibling [`replace_file`] writes before renaming it over `path`:
/// `.NAME.dropship-new`. Named from the path alone, so whoever knows the path (a rollback or
/// resume after a kill mid-write) can remove it: it may hold rendered secrets.
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    path.with_file_name(format!(".{name}.dropship-new"))
}

/// Create `temp` afresh (`O_EXCL`, never through a link); one left by a killed run is removed
/// first.
fn create_temp(temp: &Path) -> io::Result<fs::File> {
    let create = || {
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        fs_err::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        options.open(temp)
    };
    match create() {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            fs::remove_file(temp)?;
            create()
        }
        result => result,
    }
}

/// Flush a directory, so a file created or renamed in it survives a power loss.
#[cfg(unix)]
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

/// Windows cannot open a directory as a file; a rename there is atomic by itself.
#[cfg(not(unix))]
pub fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

/// Flush a file's content and metadata, so a rename of it never exposes an empty file after a
/// crash.
pub fn sync_file(path: &Path) -> io::Result<()> {
    // Unix flushes through any handle (a read-only file stays openable by its non-root owner);
    // Windows refuses to flush a handle opened for reading only.
    let write = cfg!(windows);
    fs::OpenOptions::new()
        .read(!write)
        .write(write)
        .open(path)?
        .sync_all()
}

/// Rename `from` to `to` and flush the directories of both.
pub fn rename_durably(from: &Path, to: &Path) -> io::Result<()> {
    fs::rename(from, to)?;
    sync_dir(&parent_dir(to))?;
    if parent_dir(from) != parent_dir(to) {
        sync_dir(&parent_dir(from))?;
    }
    Ok(())
}

/// The directory holding `path` (`.` for a bare name).
fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> io::Result<()> {
    Ok(())
}

/// An I/O error whose message names what was done to which path.
fn with_path(error: io::Error, doing: &str, path: &Path) -> io::Error {
    io::Error::new(
        error.kind(),
        format!("{doing} `{}`: {error}", path.display()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(unix)]
    fn a_new_file_gets_the_mode_asked_for_and_a_replaced_one_keeps_its_own() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        write_atomic(&path, b"one", Some(0o600)).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_atomic(&path, b"two", Some(0o600)).unwrap();
        assert_eq!(mode(&path), 0o640);
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "no temporary file left");
    }

    #[test]
    fn errors_name_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no/such/dir/file");
        let error = write_atomic(&missing, b"x", None).unwrap_err();
        assert!(error.to_string().contains("no/such/dir"), "{error}");
    }
}
