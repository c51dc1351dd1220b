//! Free space on a file system: the `check` step's `disk-free`, `deploy-package` before it
//! extracts a package, and the installer before it unpacks its payload all ask here.
//!
//! Unix asks `statvfs`, Windows `GetDiskFreeSpaceExW`; elsewhere the check cannot run, and a
//! check that cannot run fails (it never passes without checking).

use std::io;
use std::path::Path;

use crate::units::human_bytes as human;

/// Whether the file system holding `path` (or its nearest existing folder) has `need` bytes
/// free. Either way, one line a person reads: "12.4 GiB free on /opt (need 2.0 GiB)", or what
/// is free, what is needed and what to do.
pub fn free_space(path: &str, need: u64) -> Result<String, String> {
    let existing = Path::new(path)
        .ancestors()
        .map(|p| {
            if p.as_os_str().is_empty() {
                Path::new(".")
            } else {
                p
            }
        })
        .find(|p| p.exists())
        .ok_or_else(|| {
            format!("disk-free: no part of {path} exists, so its filesystem is unknown")
        })?;
    let place = if existing == Path::new(path) {
        path.to_owned()
    } else {
        format!("{} (nearest existing folder of {path})", existing.display())
    };
    match free_bytes(existing) {
        Err(e) => Err(format!("cannot read the free space on {place}: {e}")),
        Ok(free) if free >= need => Ok(format!(
            "{} free on {place} (need {})",
            human(free),
            human(need)
        )),
        Ok(free) => Err(format!(
            "only {} free on {place} (need {}); free some space or choose another folder",
            human(free),
            human(need)
        )),
    }
}

/// Bytes this user may still write on the volume holding `dir`.
#[cfg(windows)]
fn free_bytes(dir: &Path) -> io::Result<u64> {
    use std::os::windows::ffi::OsStrExt;
    use windows_sys::Win32::Storage::FileSystem::GetDiskFreeSpaceExW;
    let wide: Vec<u16> = dir.as_os_str().encode_wide().chain([0]).collect();
    let mut available = 0u64;
    // SAFETY: `wide` is NUL-terminated; the two totals we do not want may be null.
    let ok = unsafe {
        GetDiskFreeSpaceExW(
            wide.as_ptr(),
            &mut available,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        )
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(available)
}

#[cfg(not(any(unix, windows)))]
fn free_bytes(_dir: &Path) -> io::Result<u64> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "this platform cannot be asked",
    ))
}

/// Bytes an unprivileged user may still write on the filesystem holding `dir`.
#[cfg(unix)]
fn free_bytes(dir: &Path) -> io::Result<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(dir.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "the path contains a NUL byte"))?;
    let mut stats = std::mem::MaybeUninit::<libc::statvfs>::zeroed();
    // SAFETY: `c_path` is a NUL-terminated string and `stats` is writable memory of the right type.
    if unsafe { libc::statvfs(c_path.as_ptr(), stats.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: statvfs succeeded, so it filled `stats` (which started zeroed anyway).
    let stats = unsafe { stats.assume_init() };
    // The field types differ between platforms (u32 on some, u64 on others).
    #[allow(clippy::unnecessary_cast)]
    let (blocks, block_size) = (stats.f_bavail as u64, stats.f_frsize as u64);
    Ok(blocks.saturating_mul(block_size))
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn free_space_says_what_is_needed_and_what_is_free() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_str().unwrap();
        assert!(free_space(path, 1).is_ok());
        let short = free_space(path, u64::MAX / 2).unwrap_err();
        assert!(
            short.starts_with("only ") && short.contains("(need 8.0 EiB)"),
            "{short}"
        );
    }
}
