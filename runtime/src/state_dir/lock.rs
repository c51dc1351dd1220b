//! The state directory's lock: one installer at a time.
//!
//! `flock(2)` rather than a PID file: the kernel drops the lock when its holder exits or is
//! killed, so there is no stale lock to detect and no PID-reuse race in taking one over. The PID
//! written into the file is only there to name the holder in the error.

use super::StateError;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Read, Seek, Write};
use std::path::Path;

/// Held for as long as the journal is open; dropping it releases the lock.
#[derive(Debug)]
pub struct StateLock {
    _file: File,
}

impl StateLock {
    /// Lock the state directory `dir` through its lock file `path`.
    pub(super) fn acquire(dir: &Path, path: &Path) -> Result<StateLock, StateError> {
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        let mut file = crate::durable::no_follow(&mut options)
            .open(path)
            .map_err(StateError::io("opening the lock file", path))?;
        if !lock_soon(&file).map_err(StateError::io("locking", path))? {
            return Err(StateError::Locked {
                dir: dir.to_path_buf(),
                holder: holder(&mut file),
            });
        }
        let pid = std::process::id();
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| writeln!(file, "{pid}"))
            .map_err(StateError::io("writing the lock file", path))?;
        Ok(StateLock { _file: file })
    }
}

/// Who holds the lock, as well as the file tells.
fn holder(file: &mut File) -> String {
    let mut text = String::new();
    match file.read_to_string(&mut text) {
        Ok(_) if !text.trim().is_empty() => format!("PID {}", text.trim()),
        _ => "unknown PID".to_string(),
    }
}

/// How long a lock held by someone else is waited for before giving up.
const WAIT: std::time::Duration = std::time::Duration::from_millis(500);

/// Take the lock, waiting a moment for it: a process forked by this one (a script about to
/// start) holds a copy of the lock's descriptor until it executes its program, and a
/// previous installer may be just exiting. `false` when it is still held after [`WAIT`].
fn lock_soon(file: &File) -> io::Result<bool> {
    let start = std::time::Instant::now();
    loop {
        if try_lock(file)? {
            return Ok(true);
        }
        if start.elapsed() >= WAIT {
            return Ok(false);
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// Take the lock without waiting; `false` when another process holds it. (`flock(2)` on Unix,
/// `LockFileEx` on Windows.)
fn try_lock(file: &File) -> io::Result<bool> {
    match file.try_lock() {
        Ok(()) => Ok(true),
        Err(TryLockError::WouldBlock) => Ok(false),
        Err(TryLockError::Error(e)) => Err(e),
    }
}
