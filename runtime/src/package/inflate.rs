//! Writing the contents of a package's files: the byte budget they share, one file's write,
//! and a zip's files inflated on one worker per core.
//!
//! A zip's entries are first all checked and told to the hook in archive order on the calling
//! thread (`extract_zip`: directories and links made, each file's path checked and told, none
//! written); only then are the files' contents written, in parallel when the package is large
//! enough to gain from it. Each worker opens the package itself and takes the next file; the
//! bytes written are told to the caller's progress from the calling thread; the first error
//! stops every worker and is the one returned. A package naming one file twice is written in
//! archive order on one thread, so the last entry wins as it does when unpacked one by one.

use std::collections::HashSet;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError, mpsc};

use super::{Limit, PackageError, ZipReader, open, open_zip};

/// Told the bytes of files written so far, as they are written.
pub(super) type Progress<'h> = dyn FnMut(u64) + 'h;

/// Below this many declared bytes a zip is inflated on the calling thread: starting workers
/// (each opening the package) costs more than it saves.
pub(super) const PARALLEL_FROM: u64 = 1 << 20;

/// The bytes all files of one package may take, shared by the threads writing them.
pub(super) struct Budget<'p> {
    package: &'p Path,
    limit: u64,
    kind: Limit,
    written: AtomicU64,
    /// Set when a writer failed: the others stop.
    stopped: AtomicBool,
}

impl<'p> Budget<'p> {
    pub(super) fn new(package: &'p Path, limit: u64, kind: Limit) -> Self {
        Self {
            package,
            limit,
            kind,
            written: AtomicU64::new(0),
            stopped: AtomicBool::new(false),
        }
    }

    /// The bytes of files written so far.
    pub(super) fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    /// Take `bytes` from the budget, or refuse them once it is spent.
    fn take(&self, bytes: u64) -> Result<(), PackageError> {
        let before = self.written.fetch_add(bytes, Ordering::Relaxed);
        match before.checked_add(bytes) {
            Some(total) if total <= self.limit => Ok(()),
            _ => Err(PackageError::TooLarge {
                package: self.package.to_path_buf(),
                limit: self.limit,
                kind: self.kind,
            }),
        }
    }

    fn stop(&self) {
        self.stopped.store(true, Ordering::Relaxed);
    }

    fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Relaxed)
    }

    fn write_error(&self, path: &Path, source: io::Error) -> PackageError {
        PackageError::Write {
            package: self.package.to_path_buf(),
            path: path.to_path_buf(),
            source,
        }
    }
}

/// The permissions a new file ends with.
pub(super) enum Permissions {
    /// Those of the file it replaces.
    Kept(fs::Permissions),
    /// The archive's mode, trimmed.
    Mode(u32),
    /// What the process creates files with.
    Default,
}

/// A file entry whose path was checked and told to the hook: its contents are still to write.
pub(super) struct NewFile {
    rel: PathBuf,
    path: PathBuf,
    permissions: Permissions,
}

impl NewFile {
    pub(super) fn new(rel: PathBuf, path: PathBuf, permissions: Permissions) -> Self {
        Self {
            rel,
            path,
            permissions,
        }
    }

    /// Write `contents` to the file (never through a link at its path), within `budget`,
    /// telling `report` each chunk's size; stops early, without error, once the budget is
    /// stopped by another writer's failure.
    pub(super) fn write(
        &self,
        contents: &mut dyn Read,
        budget: &Budget<'_>,
        report: &mut dyn FnMut(u64),
    ) -> Result<(), PackageError> {
        let mut options = fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        let mut out = crate::durable::no_follow(&mut options)
            .open(&self.path)
            .map_err(|source| budget.write_error(&self.path, source))?;
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            let read = match contents.read(&mut buffer) {
                Ok(0) => break,
                Ok(read) => read,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => return Err(self.read_error(budget.package, source)),
            };
            if budget.is_stopped() {
                return Ok(());
            }
            budget.take(read as u64)?;
            out.write_all(&buffer[..read])
                .map_err(|source| budget.write_error(&self.path, source))?;
            report(read as u64);
        }
        // Through the open file, not its name: nothing swapped in at the path since is touched.
        let set = match &self.permissions {
            Permissions::Kept(permissions) => out.set_permissions(permissions.clone()),
            Permissions::Mode(mode) => {
                mode_permissions(*mode).map_or(Ok(()), |p| out.set_permissions(p))
            }
            Permissions::Default => Ok(()),
        };
        set.map_err(|source| budget.write_error(&self.path, source))
    }

    fn read_error(&self, package: &Path, source: io::Error) -> PackageError {
        PackageError::Read {
            package: package.to_path_buf(),
            entry: self.rel.display().to_string(),
            source,
        }
    }
}

/// Write each prepared file from its zip entry (by index): on one worker per core when the
/// package declares at least [`PARALLEL_FROM`] bytes, else on this thread with `archive`.
pub(super) fn write_zip_files(
    package: &Path,
    archive: &mut ZipReader,
    files: &[(usize, NewFile)],
    declared: u64,
    shares: (&Budget<'_>, &mut Progress<'_>),
) -> Result<(), PackageError> {
    let (budget, progress) = shares;
    let workers = worker_count(files, declared);
    if workers <= 1 {
        for (index, file) in files {
            write_entry(archive, *index, file, budget, &mut |_| {
                progress(budget.written())
            })?;
        }
        return Ok(());
    }
    let next = AtomicUsize::new(0);
    let first_error = Mutex::new(None);
    let (next, first_error) = (&next, &first_error);
    std::thread::scope(|scope| {
        let (sender, told) = mpsc::channel::<u64>();
        for _ in 0..workers {
            let sender = sender.clone();
            scope.spawn(move || {
                // The receiver outlives the workers: a send cannot fail.
                let mut report = |bytes| {
                    let _ = sender.send(bytes);
                };
                let written = open(package)
                    .and_then(|(_, file, _)| open_zip(file, package))
                    .and_then(|mut archive| {
                        loop {
                            let taken = next.fetch_add(1, Ordering::Relaxed);
                            let Some((index, file)) = files.get(taken) else {
                                return Ok(());
                            };
                            if budget.is_stopped() {
                                return Ok(());
                            }
                            write_entry(&mut archive, *index, file, budget, &mut report)?;
                        }
                    });
                if let Err(e) = written {
                    budget.stop();
                    let mut first = first_error.lock().unwrap_or_else(PoisonError::into_inner);
                    first.get_or_insert(e);
                }
            });
        }
        drop(sender);
        let mut total = 0;
        for bytes in told {
            total += bytes;
            progress(total);
        }
    });
    let mut first = first_error.lock().unwrap_or_else(PoisonError::into_inner);
    match first.take() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// How many threads should write `files`: one per core (at most one per file) for a package
/// large enough, one when it is small or names a file twice.
fn worker_count(files: &[(usize, NewFile)], declared: u64) -> usize {
    let mut paths = HashSet::new();
    let unique = files.iter().all(|(_, file)| paths.insert(&file.path));
    if declared < PARALLEL_FROM || !unique {
        return 1;
    }
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    cores.min(files.len())
}

fn write_entry(
    archive: &mut ZipReader,
    index: usize,
    file: &NewFile,
    budget: &Budget<'_>,
    report: &mut dyn FnMut(u64),
) -> Result<(), PackageError> {
    let mut entry = archive
        .by_index(index)
        .map_err(|e| file.read_error(budget.package, e.into()))?;
    file.write(&mut entry, budget, report)
}

/// Give `path` the Unix `mode` (nothing to do elsewhere).
pub(super) fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    mode_permissions(mode).map_or(Ok(()), |p| fs::set_permissions(path, p))
}

/// The permissions of a Unix `mode`; none where modes mean nothing.
#[cfg(unix)]
fn mode_permissions(mode: u32) -> Option<fs::Permissions> {
    use std::os::unix::fs::PermissionsExt;
    Some(fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn mode_permissions(_mode: u32) -> Option<fs::Permissions> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(names: &[&str]) -> Vec<(usize, NewFile)> {
        let file = |(i, name): (usize, &&str)| {
            let new = NewFile::new(
                PathBuf::from(name),
                PathBuf::from(name),
                Permissions::Default,
            );
            (i, new)
        };
        names.iter().enumerate().map(file).collect()
    }

    #[test]
    fn small_packages_and_packages_naming_a_file_twice_are_written_on_one_thread() {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        assert_eq!(worker_count(&files(&["a", "b", "c"]), PARALLEL_FROM - 1), 1);
        assert_eq!(worker_count(&files(&["a", "b", "a"]), PARALLEL_FROM), 1);
        assert_eq!(
            worker_count(&files(&["a", "b", "c"]), PARALLEL_FROM),
            cores.min(3)
        );
        assert_eq!(worker_count(&files(&["a"]), PARALLEL_FROM), 1);
    }
}
