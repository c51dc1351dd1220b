//! Each check against the real machine: temp dirs, loopback listeners and a one-shot HTTP server.

use super::*;
use crate::steps::http::test_server;

fn run(check: CheckSpec) -> CheckResult {
    run_check(&check, &|s: &str| s.to_owned())
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// A loopback port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn disk_free_on_a_dir_and_below_it() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("not/yet/there");
    for path in [dir.path(), missing.as_path()] {
        let path = path.to_str().unwrap().to_owned();
        let ok = run(CheckSpec::DiskFree {
            path: path.clone(),
            min_mb: 1,
        });
        assert!(ok.ok, "{}", ok.summary);
        assert!(
            ok.summary.contains(" free on ") && ok.summary.contains("(need 1.0 MiB)"),
            "{}",
            ok.summary
        );
        let absurd = run(CheckSpec::DiskFree {
            path,
            min_mb: 1_000_000_000_000,
        });
        assert!(!absurd.ok, "{}", absurd.summary);
        assert!(absurd.summary.starts_with("only "), "{}", absurd.summary);
    }
    let below = run(CheckSpec::DiskFree {
        path: missing.to_str().unwrap().to_owned(),
        min_mb: 1,
    });
    assert!(
        below.summary.contains("nearest existing folder"),
        "{}",
        below.summary
    );
}

#[test]
fn disk_free_empty_path_fails() {
    assert!(
        !run(CheckSpec::DiskFree {
            path: " ".into(),
            min_mb: 1
        })
        .ok
    );
}

#[test]
fn disk_free_expands_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_str().unwrap().to_owned();
    let check = CheckSpec::DiskFree {
        path: "#{Install.Root}/app".into(),
        min_mb: 1,
    };
    let result = run_check(&check, &|s: &str| s.replace("#{Install.Root}", &root));
    assert!(result.ok, "{}", result.summary);
    assert!(result.summary.contains(&root), "{}", result.summary);
}

#[test]
fn os_matches_and_mismatches() {
    let here = std::env::consts::OS;
    assert!(run(CheckSpec::Os(strings(&["plan9", &here.to_uppercase()]))).ok);
    let other = run(CheckSpec::Os(strings(&["plan9"])));
    assert!(!other.ok);
    assert_eq!(
        other.summary,
        format!("the operating system is {here}, but this installer supports only: plan9")
    );
    assert!(!run(CheckSpec::Os(Vec::new())).ok);
}

#[test]
fn arch_matches_with_aliases_and_mismatches() {
    let here = std::env::consts::ARCH;
    assert!(run(CheckSpec::Arch(strings(&[here]))).ok);
    let alias = match here {
        "x86_64" => "amd64",
        "aarch64" => "ARM64",
        other => other,
    };
    assert!(run(CheckSpec::Arch(strings(&[alias]))).ok, "{alias}");
    let other = run(CheckSpec::Arch(strings(&["sparc", "mips"])));
    assert!(!other.ok);
    assert!(
        other.summary.contains(here) && other.summary.contains("sparc, mips"),
        "{}",
        other.summary
    );
}

#[test]
fn commands_found_and_missing() {
    let found = run(CheckSpec::Command(strings(&["sh"])));
    assert!(found.ok, "{}", found.summary);
    let one = run(CheckSpec::Command(strings(&[
        "sh",
        "definitely-not-a-command-xyz",
    ])));
    assert!(!one.ok);
    assert!(
        one.summary
            .starts_with("definitely-not-a-command-xyz not found on PATH"),
        "{}",
        one.summary
    );
    let two = run(CheckSpec::Command(strings(&["nope-xyz-1", "nope-xyz-2"])));
    assert!(
        two.summary
            .starts_with("nope-xyz-1, nope-xyz-2 not found on PATH"),
        "{}",
        two.summary
    );
    assert!(!run(CheckSpec::Command(strings(&[""]))).ok);
}

#[test]
fn command_with_a_path_and_non_executable_files() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain");
    std::fs::write(&plain, "data").unwrap();
    assert!(!run(CheckSpec::Command(vec![plain.to_str().unwrap().to_owned()])).ok);
    assert!(
        !run(CheckSpec::Command(vec![
            dir.path().to_str().unwrap().to_owned()
        ]))
        .ok
    );
}

#[test]
fn port_in_use_fails_and_free_port_passes() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let busy = run(CheckSpec::PortFree(port.to_string()));
    assert!(!busy.ok);
    assert_eq!(
        busy.summary,
        format!(
            "port {port} is in use by another program; stop that program or choose another port"
        )
    );
    drop(listener);
    let free = run(CheckSpec::PortFree(format!(" {port} ")));
    assert!(free.ok, "{}", free.summary);
}

#[test]
fn port_text_that_is_not_a_port_fails_with_the_reason() {
    for text in ["", "http", "0", "70000", "-1"] {
        let result = run(CheckSpec::PortFree(text.into()));
        assert!(!result.ok, "{text}");
        assert!(
            result.summary.contains("is not a TCP port"),
            "{}",
            result.summary
        );
    }
}

#[test]
fn tcp_to_a_listener_and_to_a_closed_port() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let open = run(CheckSpec::Tcp {
        host: "127.0.0.1".into(),
        port,
    });
    assert!(open.ok, "{}", open.summary);
    let closed = run(CheckSpec::Tcp {
        host: "127.0.0.1".into(),
        port: closed_port().to_string(),
    });
    assert!(!closed.ok);
    assert!(
        closed.summary.starts_with("cannot connect to 127.0.0.1:"),
        "{}",
        closed.summary
    );
    assert!(
        !run(CheckSpec::Tcp {
            host: "127.0.0.1".into(),
            port: "x".into()
        })
        .ok
    );
    assert!(
        !run(CheckSpec::Tcp {
            host: "".into(),
            port: "80".into()
        })
        .ok
    );
}

fn http(url: &str, status: Option<u16>) -> CheckResult {
    run(CheckSpec::Http {
        url: url.into(),
        status,
    })
}

#[test]
fn http_statuses() {
    let (url, _) = test_server::serve(&[200]);
    let ok = http(&url, None);
    assert!(ok.ok, "{}", ok.summary);
    assert_eq!(ok.summary, format!("{url} answered HTTP 200"));

    let (url, _) = test_server::serve(&[503]);
    let down = http(&url, None);
    assert!(!down.ok);
    assert!(
        down.summary
            .contains("HTTP 503 (expected a status below 500)"),
        "{}",
        down.summary
    );

    let (url, _) = test_server::serve(&[200]);
    let mismatch = http(&url, Some(204));
    assert!(!mismatch.ok);
    assert!(
        mismatch
            .summary
            .ends_with("answered HTTP 200 (expected 204)"),
        "{}",
        mismatch.summary
    );

    let (url, _) = test_server::serve(&[404]);
    assert!(http(&url, Some(404)).ok);
}

#[test]
fn http_unreachable_fails() {
    let result = http(&format!("http://127.0.0.1:{}/", closed_port()), None);
    assert!(!result.ok);
    assert!(
        result.summary.starts_with("cannot connect to 127.0.0.1:"),
        "{}",
        result.summary
    );
}

#[test]
fn https_is_refused_with_a_hint() {
    let result = http("https://127.0.0.1:1/health", None);
    assert!(!result.ok);
    assert!(
        result.summary.contains("not supported by this runtime"),
        "{}",
        result.summary
    );
    assert!(
        result.summary.contains("use a `tcp` check"),
        "{}",
        result.summary
    );
}

#[test]
fn file_exists_or_not() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap().to_owned();
    assert!(run(CheckSpec::FileExists(path.clone())).ok);
    let missing = run(CheckSpec::FileExists(format!("{path}/missing.txt")));
    assert!(!missing.ok);
    assert!(
        missing
            .summary
            .ends_with("missing.txt does not exist (expected a file or folder there)")
    );
    assert!(!run(CheckSpec::FileExists(String::new())).ok);
}

#[test]
fn root_or_not() {
    // SAFETY: geteuid has no preconditions.
    let is_root = unsafe { libc::geteuid() } == 0;
    assert!(run(CheckSpec::Root(is_root)).ok);
    let wrong = run(CheckSpec::Root(!is_root));
    assert!(!wrong.ok);
    assert!(wrong.summary.contains("run it again"), "{}", wrong.summary);
}
