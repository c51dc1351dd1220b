//! The state directory's lock: one installer at a time.
//!
//! `flock(2)` rather than a PID file: the kernel drops the lock when its holder exits or is
//! killed, so there is no stale lock to detect and no PID-reuse race in taking one over. The PID
//! written into the file is only there to name the holder in the error.

use super::JournalError;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::path::Path;

/// The lock file's name inside the state directory.
const LOCK_FILE: &str = "lock";

/// Held for as long as the journal is open; dropping it releases the lock.
#[derive(Debug)]
pub(super) struct StateLock {
    _file: File,
}

impl StateLock {
    pub(super) fn acquire(dir: &Path) -> Result<StateLock, JournalError> {
        let path = dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(JournalError::io("opening the lock file", &path))?;
        if !try_lock(&file).map_err(JournalError::io("locking", &path))? {
            return Err(JournalError::Locked {
                dir: dir.to_path_buf(),
                holder: holder(&mut file),
            });
        }
        let pid = std::process::id();
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| writeln!(file, "{pid}"))
            .map_err(JournalError::io("writing the lock file", &path))?;
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

/// Take the lock without waiting; `false` when another process holds it.
#[cfg(unix)]
fn try_lock(file: &File) -> io::Result<bool> {
    use std::os::unix::io::AsRawFd;
    // SAFETY: flock only reads the descriptor, which `file` keeps open for the whole call.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        return Ok(true);
    }
    let error = io::Error::last_os_error();
    match error.kind() {
        io::ErrorKind::WouldBlock => Ok(false),
        _ => Err(error),
    }
}

/// Known gap: no lock off Unix (the runtime ships for Linux).
#[cfg(not(unix))]
fn try_lock(_file: &File) -> io::Result<bool> {
    Ok(true)
}
