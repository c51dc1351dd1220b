//! `dropship render` end to end: the real binary, stdin to stdout, exit codes and messages.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Runs `dropship render` with `vars_json` written to a fresh temp dir and `template` on stdin.
fn render(vars_json: &str, template: &str, strict: bool) -> Output {
    let dir = tempfile::tempdir().expect("temp dir");
    let vars = dir.path().join("vars.json");
    std::fs::write(&vars, vars_json).expect("write vars");
    run(&vars, template, strict)
}

fn run(vars: &Path, template: &str, strict: bool) -> Output {
    run_into(vars, template, strict, Stdio::piped())
}

/// Like [`run`], with the result written to `stdout`.
fn run_into(vars: &Path, template: &str, strict: bool, stdout: Stdio) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dropship"));
    cmd.arg("render").arg("--vars").arg(vars);
    if strict {
        cmd.arg("--strict");
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn dropship");
    // The binary may exit before reading stdin (a bad vars file): a broken pipe is fine.
    if let Some(mut stdin) = child.stdin.take() {
        let _ignored = stdin.write_all(template.as_bytes());
    }
    child.wait_with_output().expect("wait for dropship")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn render_output_is_byte_exact_without_trailing_newline() {
    let out = render(
        r#"{"Name": "World", "Empty": null}"#,
        "Hello, #{Name}!#{Empty}\r\n\tend",
        false,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(out.stdout, b"Hello, World!\r\n\tend");
}

#[test]
fn render_continue_mode_echoes_unresolved_and_exits_zero() {
    let out = render("{}", "a #{Missing} #{foo$}", false);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(out.stdout, b"a #{Missing} #{foo$}");
    assert!(stderr(&out).contains("'#{Missing}'"), "{}", stderr(&out));
}

#[test]
fn render_strict_unresolved_token_exits_2_with_result_and_error() {
    let out = render(r#"{"A": "a"}"#, "#{A} #{Missing | ToUpper}", true);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(out.stdout, b"a #{Missing | ToUpper}");
    assert!(
        stderr(&out)
            .contains("The following tokens were unable to be evaluated: '#{Missing | ToUpper}'"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn render_strict_parse_error_prints_input_and_names_position() {
    let out = render("{}", "ok\n#{Foo", true);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(out.stdout, b"ok\n#{Foo");
    assert!(stderr(&out).contains("line 2"), "{}", stderr(&out));
}

#[test]
fn render_cycle_exits_3_in_both_modes() {
    for strict in [false, true] {
        let out = render(r##"{"Foo": "#{Fox}", "Fox": "#{Foo}"}"##, "#{Foo}", strict);
        assert_eq!(out.status.code(), Some(3));
        assert!(out.stdout.is_empty());
        assert!(
            stderr(&out).contains("self referencing loop (Foo -> Fox -> Foo)"),
            "{}",
            stderr(&out)
        );
    }
}

#[test]
fn render_null_result_prints_nothing() {
    let out = render("{}", "text #{ | null}", true);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
}

#[test]
fn render_bad_vars_file_exits_2_naming_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("nope.json");
    let out = run(&missing, "x", false);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("nope.json"), "{}", stderr(&out));

    for (body, why) in [
        ("{not json", "not valid JSON"),
        ("[1]", "JSON object"),
        (r#"{"A": 1}"#, "`A` must be a string"),
    ] {
        let out = render(body, "x", false);
        assert_eq!(out.status.code(), Some(2), "{body}");
        assert!(
            stderr(&out).contains("vars.json") && stderr(&out).contains(why),
            "{}",
            stderr(&out)
        );
    }
}

#[test]
fn render_that_cannot_write_its_result_exits_1() {
    let dir = tempfile::tempdir().expect("temp dir");
    let vars = dir.path().join("vars.json");
    std::fs::write(&vars, r#"{"Name": "World"}"#).expect("write vars");
    // Opened for writing only (never replaced): every write to it fails as on a full disk.
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    let out = run_into(&vars, "Hello, #{Name}", false, Stdio::from(full));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("writing the result to stdout"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn render_keeps_variable_order_for_iteration() {
    let vars = r#"{"A[z].N": "1", "A[a].N": "2", "A[m].N": "3"}"#;
    let out = render(vars, "#{each x in A}#{x}#{x.N} #{/each}", true);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(out.stdout, b"z1 a2 m3 ");
}
