//! Private scratch directories in the system's temporary directory: the unpacked payload, and
//! each script's directory (its bootstrap, its rendered script, briefly its variables).
//!
//! They are removed when dropped, but a killed installer cannot drop anything, and a rendered
//! script may hold a secret. So each is named after the process that made it
//! (`dropship-KIND-PID-RANDOM`, mode `0700`), and [`sweep_stale`] removes those whose process
//! is gone; `install`, `resume` and `rollback` call it first.
//!
//! A script's directory also records the script's process group ([`record_process_group`]).
//! The script's interpreter dies with the installer, but what it started in the background
//! would go on changing the target behind a rollback's back: the sweep kills that group before
//! removing the directory. (A process group number is not reused while the group has members.)

use std::io;
use std::path::{Path, PathBuf};

/// The kinds of scratch directory, as they appear in the name.
const KINDS: [&str; 3] = ["payload", "script", "preview"];

/// A new private directory `dropship-KIND-PID-*` in the temporary directory.
pub fn private_dir(kind: &'static str) -> io::Result<tempfile::TempDir> {
    debug_assert!(KINDS.contains(&kind), "unknown scratch kind {kind}");
    let prefix = format!("dropship-{kind}-{}-", std::process::id());
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix);
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700));
    let dir = builder.tempdir()?;
    #[cfg(windows)]
    crate::windows_acl::make_private(dir.path())?;
    Ok(dir)
}

/// The file in a script's directory that names its process group.
const PROCESS_GROUP_FILE: &str = "process-group";

/// Note in a script's directory the process group its script runs in.
pub fn record_process_group(dir: &Path, group: u32) -> io::Result<()> {
    std::fs::write(dir.join(PROCESS_GROUP_FILE), group.to_string())
}

/// Remove the scratch directories of installers that are no longer running, after killing what
/// their scripts left running; returns what could not be removed, with why.
pub fn sweep_stale() -> Vec<(PathBuf, io::Error)> {
    sweep_in(&std::env::temp_dir())
}

fn sweep_in(temp: &Path) -> Vec<(PathBuf, io::Error)> {
    let Ok(entries) = std::fs::read_dir(temp) else {
        return Vec::new();
    };
    let mut failed = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let stale = owner_pid(&entry.file_name().to_string_lossy())
            .is_some_and(|pid| !process_alive(pid) && owned_by_me(&path));
        if !stale {
            continue;
        }
        stop_process_group(&path);
        if let Err(e) = std::fs::remove_dir_all(&path) {
            failed.push((path, e));
        }
    }
    failed
}

/// The PID in a scratch directory's name, `None` for any other name.
fn owner_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix("dropship-")?;
    let (kind, rest) = rest.split_once('-')?;
    let (pid, _random) = rest.split_once('-')?;
    KINDS.contains(&kind).then(|| pid.parse().ok()).flatten()
}

/// Kill the process group a stale script directory names, and wait (briefly) until it is gone.
#[cfg(unix)]
fn stop_process_group(dir: &Path) {
    let recorded = std::fs::read_to_string(dir.join(PROCESS_GROUP_FILE));
    let Some(group) = recorded
        .ok()
        .and_then(|text| text.trim().parse::<libc::pid_t>().ok())
    else {
        return;
    };
    if group <= 1 {
        return;
    }
    // SAFETY: kill only sends a signal; a negative pid names the whole process group.
    unsafe { libc::kill(-group, libc::SIGKILL) };
    for _ in 0..100 {
        // SAFETY: signal 0 only asks whether the group still has members.
        if unsafe { libc::kill(-group, 0) } != 0 {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

#[cfg(not(unix))]
fn stop_process_group(_dir: &Path) {}

#[cfg(unix)]
fn process_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only asks whether the process exists; nothing is sent.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// Whether process `pid` still runs: it cannot be opened because there is no such process, or
/// it has exited. Anything else (access denied, a reused pid) counts as alive: its directory is
/// left alone.
#[cfg(windows)]
fn process_alive(pid: u32) -> bool {
    use windows_sys::Win32::Foundation::{
        CloseHandle, ERROR_INVALID_PARAMETER, GetLastError, STILL_ACTIVE,
    };
    use windows_sys::Win32::System::Threading::{
        GetExitCodeProcess, OpenProcess, PROCESS_QUERY_LIMITED_INFORMATION,
    };
    // SAFETY: OpenProcess only reads its arguments; the handle is closed below.
    let handle = unsafe { OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid) };
    if handle.is_null() {
        // SAFETY: reads this thread's last error code.
        return unsafe { GetLastError() } != ERROR_INVALID_PARAMETER;
    }
    let mut code = 0u32;
    // SAFETY: `handle` is an open process handle and `code` a valid place to write.
    let asked = unsafe { GetExitCodeProcess(handle, &mut code) };
    // SAFETY: `handle` was opened above and is closed once.
    unsafe { CloseHandle(handle) };
    asked == 0 || code == STILL_ACTIVE as u32
}

#[cfg(unix)]
fn owned_by_me(path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir() && m.uid() == me)
}

#[cfg(not(unix))]
fn owned_by_me(path: &Path) -> bool {
    path.is_dir()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_pid_of_their_maker() {
        assert_eq!(owner_pid("dropship-script-123-abc"), Some(123));
        assert_eq!(owner_pid("dropship-payload-9-x"), Some(9));
        assert_eq!(owner_pid("dropship-other-9-x"), None);
        assert_eq!(owner_pid("dropship-script-x-y"), None);
        let dir = private_dir("script").unwrap();
        let name = dir
            .path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert_eq!(owner_pid(&name), Some(std::process::id()));
    }

    #[test]
    fn a_process_is_alive_until_it_has_exited() {
        assert!(process_alive(std::process::id()));
        let mut child = match cfg!(windows) {
            true => std::process::Command::new("cmd")
                .args(["/c", "exit"])
                .spawn(),
            false => std::process::Command::new("true").spawn(),
        }
        .unwrap();
        let pid = child.id();
        child.wait().unwrap();
        drop(child);
        assert!(!process_alive(pid), "pid {pid} exited");
    }

    #[test]
    #[cfg(unix)] // runs `sh`
    fn only_directories_of_dead_installers_are_swept() {
        let temp = tempfile::tempdir().unwrap();
        let dead = temp
            .path()
            .join(format!("dropship-script-{}-x", dead_pid()));
        let alive = temp
            .path()
            .join(format!("dropship-payload-{}-x", std::process::id()));
        let other = temp.path().join("something-else-1-x");
        for dir in [&dead, &alive, &other] {
            std::fs::create_dir(dir).unwrap();
        }
        std::fs::write(dead.join("Script.sh"), "secret").unwrap();
        assert!(sweep_in(temp.path()).is_empty());
        assert!(!dead.exists() && alive.exists() && other.exists());
    }

    /// A PID no process has: one of a child that was reaped.
    #[cfg(unix)]
    fn dead_pid() -> u32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    }
}
