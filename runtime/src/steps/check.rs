//! The `check` step's preflight checks: free disk, OS and CPU architecture, commands on `PATH`,
//! a free TCP port, TCP and HTTP reachability, a file that exists, running as root or not.
//!
//! Each check returns one line a person reads, saying what was expected and what was found. A
//! check never changes the machine and never panics on the plan's values, so the dry run runs
//! them too. The step fails when any of its checks fails, after running them all.
//!
//! `disk-free` and `root` are checked on Unix and Windows (`root` means Administrator there: an
//! elevated token); elsewhere, and whenever the system cannot tell, they fail rather than pass.
//!
//! Known gap: `http` speaks plain HTTP only (`https://` fails with a hint to use `tcp`).

use super::http::{self, host_port};
use super::{Preview, PreviewContext, Step, StepContext, StepFailure};
use crate::disk;
use crate::plan::CheckStep;
use crate::plan::model::CheckSpec;
use std::env;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::time::Duration;

// The tests use Unix commands (`sh`) and `geteuid`.
#[cfg(all(test, unix))]
mod tests;

/// How long a `tcp` or `http` check waits to connect, and then for each read or write.
const NET_TIMEOUT: Duration = Duration::from_secs(5);

impl Step for CheckStep {
    fn run(&self, ctx: &mut StepContext<'_, '_>) -> Result<(), StepFailure> {
        let mut failed = Vec::new();
        for spec in &self.checks {
            let result = run_check(spec, &|text| ctx.vars.expand(text));
            let result = CheckResult {
                summary: ctx.scrubber.scrub(&result.summary),
                ..result
            };
            ctx.note(&result.line());
            if !result.ok {
                failed.push(result.summary);
            }
        }
        if failed.is_empty() {
            return Ok(());
        }
        Err(StepFailure::new(format!(
            "check failed: {}",
            failed.join("; ")
        )))
    }

    fn preview(&self, ctx: &PreviewContext<'_>) -> Preview {
        let results: Vec<CheckResult> = self
            .checks
            .iter()
            .map(|spec| run_check(spec, &|text| ctx.vars.expand(text)))
            .collect();
        Preview {
            lines: results.iter().map(CheckResult::line).collect(),
            failed: results.iter().any(|r| !r.ok),
        }
    }
}

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    pub ok: bool,
    /// One line a person reads: "12.4 GiB free on /opt (need 2.0 GiB)", "psql not found on PATH".
    pub summary: String,
}

impl CheckResult {
    /// The result as the install and the dry run show it.
    fn line(&self) -> String {
        let mark = if self.ok { "ok:    " } else { "FAILED:" };
        format!("{mark} {}", self.summary)
    }
}

fn pass(summary: impl Into<String>) -> CheckResult {
    CheckResult {
        ok: true,
        summary: summary.into(),
    }
}

fn fail(summary: impl Into<String>) -> CheckResult {
    CheckResult {
        ok: false,
        summary: summary.into(),
    }
}

/// Runs one check; `expand` applies the template engine to each of its strings first.
pub fn run_check(check: &CheckSpec, expand: &dyn Fn(&str) -> String) -> CheckResult {
    let expand_all = |items: &[String]| items.iter().map(|s| expand(s)).collect::<Vec<_>>();
    match check {
        CheckSpec::DiskFree { path, min_mb } => disk_free(&expand(path), *min_mb),
        CheckSpec::Os(names) => os(&expand_all(names)),
        CheckSpec::Arch(names) => arch(&expand_all(names)),
        CheckSpec::Command(names) => commands(&expand_all(names)),
        CheckSpec::PortFree(port) => port_free(&expand(port)),
        CheckSpec::Tcp { host, port } => tcp(&expand(host), &expand(port)),
        CheckSpec::Http { url, status } => http_get(&expand(url), *status),
        CheckSpec::FileExists(path) => file_exists(&expand(path)),
        CheckSpec::Root(want) => root(*want),
    }
}

/// One MB as `min-mb` counts it (a mebibyte).
const MIB: u64 = 1024 * 1024;

fn disk_free(path: &str, min_mb: u64) -> CheckResult {
    if path.trim().is_empty() {
        return fail("disk-free: the path is empty; give the folder the product is installed into");
    }
    match disk::free_space(path, min_mb.saturating_mul(MIB)) {
        Ok(summary) => pass(summary),
        Err(summary) => fail(summary),
    }
}

fn os(allowed: &[String]) -> CheckResult {
    let here = env::consts::OS;
    one_of("the operating system", here, allowed, |name| {
        name.eq_ignore_ascii_case(here)
    })
}

fn arch(allowed: &[String]) -> CheckResult {
    let here = env::consts::ARCH;
    one_of("the CPU architecture", here, allowed, |name| {
        canonical_arch(name) == here
    })
}

/// The Rust name of an architecture written under another common name.
fn canonical_arch(name: &str) -> String {
    let name = name.to_ascii_lowercase();
    match name.as_str() {
        "amd64" => "x86_64".to_owned(),
        "arm64" => "aarch64".to_owned(),
        _ => name,
    }
}

fn one_of(
    what: &str,
    here: &str,
    allowed: &[String],
    matches: impl Fn(&str) -> bool,
) -> CheckResult {
    let list = if allowed.is_empty() {
        "(none listed)".to_owned()
    } else {
        allowed.join(", ")
    };
    if allowed.iter().any(|name| matches(name.trim())) {
        pass(format!("{what} is {here} (allowed: {list})"))
    } else {
        fail(format!(
            "{what} is {here}, but this installer supports only: {list}"
        ))
    }
}

fn commands(names: &[String]) -> CheckResult {
    let path_var = env::var_os("PATH").unwrap_or_default();
    let missing: Vec<&str> = names
        .iter()
        .map(|name| name.trim())
        .filter(|name| !on_path(name, &path_var))
        .collect();
    match missing.as_slice() {
        [] => pass(format!("found on PATH: {}", names.join(", "))),
        [one] => fail(format!(
            "{one} not found on PATH; install it or add its folder to PATH"
        )),
        many => fail(format!(
            "{} not found on PATH; install them or add their folders to PATH",
            many.join(", ")
        )),
    }
}

/// Whether `name` is an executable file in one of `path_var`'s folders (or, when it holds a
/// folder separator, at that path).
fn on_path(name: &str, path_var: &std::ffi::OsStr) -> bool {
    if name.is_empty() {
        return false;
    }
    if Path::new(name).components().count() > 1 {
        return executable_in(Path::new(""), name);
    }
    env::split_paths(path_var).any(|dir| executable_in(&dir, name))
}

#[cfg(unix)]
fn executable_in(dir: &Path, name: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(dir.join(name))
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn executable_in(dir: &Path, name: &str) -> bool {
    let extensions = env::var("PATHEXT").unwrap_or_else(|_| ".COM;.EXE;.BAT;.CMD".to_owned());
    std::iter::once("")
        .chain(extensions.split(';'))
        .any(|ext| dir.join(format!("{name}{ext}")).is_file())
}

/// A TCP port from plan text, with the reason when it is not one.
fn parse_port(text: &str) -> Result<u16, String> {
    match text.trim().parse::<u16>() {
        Ok(port) if port > 0 => Ok(port),
        _ => Err(format!(
            "`{text}` is not a TCP port (expected a number from 1 to 65535)"
        )),
    }
}

fn port_free(text: &str) -> CheckResult {
    let port = match parse_port(text) {
        Ok(port) => port,
        Err(why) => return fail(format!("port-free: {why}")),
    };
    match port_in_use(port) {
        Ok(false) => pass(format!("port {port} is free")),
        Ok(true) => fail(format!(
            "port {port} is in use by another program; stop that program or choose another port"
        )),
        Err(e) => fail(format!("cannot tell whether port {port} is free: {e}")),
    }
}

/// Tries to listen on the port on all IPv4 and IPv6 addresses. Where listening is not allowed
/// (a low port without privileges), asks loopback whether something answers there instead.
fn port_in_use(port: u16) -> io::Result<bool> {
    let v4 = SocketAddr::from((Ipv4Addr::UNSPECIFIED, port));
    let v6 = SocketAddr::from((Ipv6Addr::UNSPECIFIED, port));
    for addr in [v4, v6] {
        match TcpListener::bind(addr) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => return Ok(true),
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                return Ok(answers_on_loopback(port));
            }
            // No IPv6 on this machine: IPv4 alone decides.
            Err(_) if addr.is_ipv6() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(false)
}

fn answers_on_loopback(port: u16) -> bool {
    [Ipv4Addr::LOCALHOST.into(), Ipv6Addr::LOCALHOST.into()]
        .into_iter()
        .any(|ip| {
            TcpStream::connect_timeout(&SocketAddr::new(ip, port), Duration::from_secs(1)).is_ok()
        })
}

fn tcp(host: &str, port_text: &str) -> CheckResult {
    let host = host.trim();
    if host.is_empty() {
        return fail("tcp: the host is empty; give the name or address to connect to");
    }
    let port = match parse_port(port_text) {
        Ok(port) => port,
        Err(why) => return fail(format!("tcp {host}: {why}")),
    };
    match http::connect(host, port, NET_TIMEOUT) {
        Ok((_, addr)) => pass(format!("connected to {} ({addr})", host_port(host, port))),
        Err(e) => fail(e.to_string()),
    }
}

fn http_get(url: &str, want: Option<u16>) -> CheckResult {
    let code = match http::get_status(url, NET_TIMEOUT) {
        Ok(code) => code,
        Err(e) => return fail(e.to_string()),
    };
    match want {
        Some(want) if code != want => fail(format!("{url} answered HTTP {code} (expected {want})")),
        None if code >= 500 => fail(format!(
            "{url} answered HTTP {code} (expected a status below 500); check the service's logs"
        )),
        _ => pass(format!("{url} answered HTTP {code}")),
    }
}

fn file_exists(path: &str) -> CheckResult {
    if path.is_empty() {
        return fail("file-exists: the path is empty; give the file or folder that must exist");
    }
    match Path::new(path).try_exists() {
        Ok(true) => pass(format!("{path} exists")),
        Ok(false) => fail(format!(
            "{path} does not exist (expected a file or folder there)"
        )),
        Err(e) => fail(format!("cannot tell whether {path} exists: {e}")),
    }
}

#[cfg(unix)]
fn root(want: bool) -> CheckResult {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    match (want, euid == 0) {
        (true, true) => pass("running as root"),
        (false, false) => pass(format!("running as user id {euid}, not root")),
        (true, false) => fail(format!(
            "running as user id {euid}, but this installer must run as root; run it again with sudo"
        )),
        (false, true) => fail(
            "running as root, but this installer must not run as root; run it again as a regular user",
        ),
    }
}

#[cfg(windows)]
fn root(want: bool) -> CheckResult {
    match (want, elevated()) {
        (_, Err(e)) => fail(format!(
            "cannot tell whether this runs as Administrator: {e}"
        )),
        (true, Ok(true)) => pass("running as Administrator"),
        (false, Ok(false)) => pass("running without Administrator rights"),
        (true, Ok(false)) => fail(
            "this installer must run as Administrator; run it again from an elevated prompt \
             (Run as administrator)",
        ),
        (false, Ok(true)) => fail(
            "running as Administrator, but this installer must not; run it again from a \
             prompt that is not elevated",
        ),
    }
}

/// Whether this process's token is elevated (an Administrator with UAC's consent, or UAC off).
#[cfg(windows)]
fn elevated() -> io::Result<bool> {
    use windows_sys::Win32::Foundation::{CloseHandle, HANDLE};
    use windows_sys::Win32::Security::{
        GetTokenInformation, TOKEN_ELEVATION, TOKEN_QUERY, TokenElevation,
    };
    use windows_sys::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};
    let mut token: HANDLE = std::ptr::null_mut();
    // SAFETY: the current-process pseudo handle is always valid; `token` receives a handle.
    if unsafe { OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) } == 0 {
        return Err(io::Error::last_os_error());
    }
    let mut elevation = TOKEN_ELEVATION { TokenIsElevated: 0 };
    let mut size = 0u32;
    // SAFETY: `elevation` is the structure this information class fills, with its size.
    let ok = unsafe {
        GetTokenInformation(
            token,
            TokenElevation,
            (&raw mut elevation).cast(),
            std::mem::size_of::<TOKEN_ELEVATION>() as u32,
            &mut size,
        )
    };
    let result = if ok == 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(elevation.TokenIsElevated != 0)
    };
    // SAFETY: the token handle is ours and closed once.
    unsafe { CloseHandle(token) };
    result
}

#[cfg(not(any(unix, windows)))]
fn root(_want: bool) -> CheckResult {
    fail("cannot tell who this runs as on this platform")
}
