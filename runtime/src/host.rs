//! The machine an install runs on, as the report and the log's header name it for support:
//! host name, operating system and its version, architecture, the user the installer runs as,
//! and the local offset from UTC. Whatever cannot be read is `unknown`: it never stops an install.

use crate::report::Host;

const UNKNOWN: &str = "unknown";

/// This machine, now.
pub fn current() -> Host {
    Host {
        name: host_name().unwrap_or_else(|| UNKNOWN.to_string()),
        os: std::env::consts::OS.to_string(),
        os_version: os_version().unwrap_or_else(|| UNKNOWN.to_string()),
        arch: std::env::consts::ARCH.to_string(),
        user: user().unwrap_or_else(|| UNKNOWN.to_string()),
        utc_offset: chrono::Local::now().format("%:z").to_string(),
    }
}

/// The `uname` fields (node name, system, release), as text.
#[cfg(unix)]
fn uname() -> Option<[String; 3]> {
    // SAFETY: `utsname` is plain data; `uname` fills it with NUL-terminated strings or fails.
    let mut names: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut names) } != 0 {
        return None;
    }
    let text = |field: &[libc::c_char]| {
        let bytes: Vec<u8> = field
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8)
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    Some([
        text(&names.nodename),
        text(&names.sysname),
        text(&names.release),
    ])
}

#[cfg(unix)]
fn host_name() -> Option<String> {
    uname().map(|[node, _, _]| node)
}

/// The distribution's name (`/etc/os-release`) and the kernel's release: `Ubuntu 24.04.1 LTS
/// (Linux 6.8.0-45-generic)`; the kernel alone where there is no `os-release` (macOS).
#[cfg(unix)]
fn os_version() -> Option<String> {
    let [_, system, release] = uname()?;
    let kernel = format!("{system} {release}");
    let pretty = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|text| pretty_name(&text));
    Some(match pretty {
        Some(pretty) => format!("{pretty} ({kernel})"),
        None => kernel,
    })
}

/// `PRETTY_NAME` of an `os-release` file, unquoted.
#[cfg(unix)]
fn pretty_name(os_release: &str) -> Option<String> {
    let value = os_release
        .lines()
        .find_map(|line| line.strip_prefix("PRETTY_NAME="))?;
    let value = value.trim().trim_matches(|c| c == '"' || c == '\'');
    (!value.is_empty()).then(|| value.to_string())
}

/// The effective user's name, and its uid: `deploy (uid 1001)`.
#[cfg(unix)]
fn user() -> Option<String> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let uid = unsafe { libc::geteuid() };
    let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buffer = vec![0 as libc::c_char; 16 * 1024];
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is to a live local of the right size; `found` is set to `&entry`
    // or null, and `pw_name` points into `buffer`, read before it is dropped.
    let status = unsafe {
        libc::getpwuid_r(
            uid,
            &mut entry,
            buffer.as_mut_ptr(),
            buffer.len(),
            &mut found,
        )
    };
    if status != 0 || found.is_null() || entry.pw_name.is_null() {
        return Some(format!("uid {uid}"));
    }
    // SAFETY: `pw_name` is a NUL-terminated string inside `buffer`.
    let name = unsafe { std::ffi::CStr::from_ptr(entry.pw_name) };
    Some(format!("{} (uid {uid})", name.to_string_lossy()))
}

#[cfg(windows)]
fn host_name() -> Option<String> {
    std::env::var("COMPUTERNAME").ok()
}

/// `DOMAIN\user`, as Windows names the account the installer runs as.
#[cfg(windows)]
fn user() -> Option<String> {
    let user = std::env::var("USERNAME").ok()?;
    Some(match std::env::var("USERDOMAIN") {
        Ok(domain) => format!("{domain}\\{user}"),
        Err(_) => user,
    })
}

/// The edition and build from the registry: `Windows Server 2022 Standard (build 20348)`.
#[cfg(windows)]
fn os_version() -> Option<String> {
    let key = r"SOFTWARE\Microsoft\Windows NT\CurrentVersion";
    let product = registry_text(key, "ProductName")?;
    Some(match registry_text(key, "CurrentBuild") {
        Some(build) => format!("{product} (build {build})"),
        None => product,
    })
}

/// A `REG_SZ` value under `HKEY_LOCAL_MACHINE`.
#[cfg(windows)]
fn registry_text(key: &str, value: &str) -> Option<String> {
    use windows_sys::Win32::System::Registry::{HKEY_LOCAL_MACHINE, RRF_RT_REG_SZ, RegGetValueW};
    let wide = |s: &str| s.encode_utf16().chain([0]).collect::<Vec<u16>>();
    let (key, value) = (wide(key), wide(value));
    let mut buffer = [0u16; 256];
    let mut bytes = (buffer.len() * 2) as u32;
    // SAFETY: the names are NUL-terminated; `bytes` is the buffer's size in bytes, and Windows
    // writes at most that many, NUL-terminated.
    let status = unsafe {
        RegGetValueW(
            HKEY_LOCAL_MACHINE,
            key.as_ptr(),
            value.as_ptr(),
            RRF_RT_REG_SZ,
            std::ptr::null_mut(),
            buffer.as_mut_ptr().cast(),
            &mut bytes,
        )
    };
    if status != 0 {
        return None;
    }
    let len = buffer.iter().position(|&c| c == 0).unwrap_or(buffer.len());
    Some(String::from_utf16_lossy(&buffer[..len]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_machine_is_described() {
        let host = current();
        assert_eq!(host.os, std::env::consts::OS);
        assert_eq!(host.arch, std::env::consts::ARCH);
        for field in [&host.name, &host.os_version, &host.user] {
            assert!(!field.is_empty() && field != UNKNOWN, "{host:?}");
        }
        assert!(
            host.utc_offset.starts_with(['+', '-']) && host.utc_offset.len() == 6,
            "{}",
            host.utc_offset
        );
    }

    #[cfg(unix)]
    #[test]
    fn the_distribution_is_read_from_os_release() {
        let text = "NAME=\"Ubuntu\"\nPRETTY_NAME=\"Ubuntu 24.04.1 LTS\"\nID=ubuntu\n";
        assert_eq!(pretty_name(text).as_deref(), Some("Ubuntu 24.04.1 LTS"));
        assert_eq!(pretty_name("ID=alpine\n"), None);
    }
}
