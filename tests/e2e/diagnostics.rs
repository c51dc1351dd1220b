//! What the vendor's support engineer gets from a failed install: the report says where, from
//! what and how it ran, what each step printed (the failed step's output, the `failure` step's
//! diagnostics) and the artifacts the scripts kept; the log starts with a header, carries no
//! terminal codes, and `--log` writes a copy. No planted secret reaches any of it.

use crate::fixture::*;
use crate::reports::browser_dom;
use crate::support::run;
use serde_json::{Value, json};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A step that prints 70 coloured lines (one with the secret) and keeps an artifact holding
/// the secret; a migration that fails after printing to both streams; a `failure` step that
/// collects diagnostics.
fn failing_plan() -> Value {
    let prepare = r#"for i in $(seq 1 70); do printf '\033[1;32mprepare line %s\033[0m\n' "$i"; done
echo "password is $(get_octopusvariable Database.Password)"
printf 'log with %s\n' "$(get_octopusvariable Database.Password)" > "$DIAG_DIR/prepare.log"
new_octopusartifact "$DIAG_DIR/prepare.log"
"#;
    let migrate = r#"for i in $(seq 1 49); do echo "migrating table $i"; done
echo "lock held by pid 42" > "$DIAG_DIR/locks.txt"
new_octopusartifact "$DIAG_DIR/locks.txt"
echo "table users is locked" >&2
exit 3
"#;
    let collect = r#"echo "diagnostics: disk is fine"
echo "collected" > "$DIAG_DIR/diag.txt"
new_octopusartifact "$DIAG_DIR/diag.txt"
"#;
    plan_with_steps(json!([
        { "name": "Prepare", "type": "run-script", "syntax": "bash", "inline": prepare },
        { "name": "Migrate database", "type": "run-script", "syntax": "bash", "inline": migrate },
        { "name": "Collect diagnostics", "type": "run-script", "syntax": "bash",
          "condition": "failure", "inline": collect },
    ]))
}

struct Failed {
    fx: Fixture,
    copy: PathBuf,
    report: Value,
}

/// Install the failing plan with `--log`; it fails and rolls back (exit 5).
fn failed_install() -> Failed {
    let fx = Fixture::new(&failing_plan());
    let copy = fx.ws.path("copies/install.log");
    std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
    let mut command = fx.command("install");
    command
        .args(fx.answers())
        .arg("--log")
        .arg(&copy)
        .env("DIAG_DIR", fx.ws.path("diag"));
    let out = run(&mut command).code(5);
    assert_run_has_no_secret(&out, &[SECRET]);
    let report = read_report(&fx.state());
    Failed { fx, copy, report }
}

fn step<'r>(report: &'r Value, name: &str) -> &'r Value {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no step {name} in {report:#}"))
}

fn lines(step: &Value) -> Vec<&str> {
    step["output_tail"]
        .as_array()
        .unwrap_or_else(|| panic!("{step:#}"))
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect()
}

fn sha256sum(path: &Path) -> String {
    let out = run(Command::new("sha256sum").arg(path)).success();
    out.stdout.split_whitespace().next().unwrap().to_string()
}

#[test]
fn a_failed_install_reports_where_it_ran_what_each_step_printed_and_its_artifacts() {
    let Failed { fx, report, .. } = failed_install();
    let host = &report["host"];
    assert_eq!(host["os"], std::env::consts::OS, "{report:#}");
    assert_eq!(host["arch"], std::env::consts::ARCH);
    for field in ["name", "os_version", "user", "utc_offset"] {
        let value = host[field].as_str().unwrap_or_default();
        assert!(
            !value.is_empty() && value != "unknown",
            "host.{field}: {host:#}"
        );
    }
    assert_eq!(report["runtime"]["version"], env!("CARGO_PKG_VERSION"));
    let installer = fx.installer.display().to_string();
    assert_eq!(report["installer"]["path"], installer.as_str());
    assert_eq!(
        report["installer"]["sha256"],
        sha256sum(&fx.installer).as_str()
    );
    let command = report["command_line"].as_str().unwrap();
    assert!(command.contains(" install --state-dir ") && command.contains("--unattended"));
    assert_eq!(
        report["state_dir"],
        fx.state().display().to_string().as_str()
    );
    assert_eq!(report["mode"], "unattended");
    assert_eq!(report["upgrade"]["mode"], "fresh");

    // Times: UTC, whole seconds.
    for time in [&report["started_at"], &step(&report, "Prepare")["start"]] {
        let time = time.as_str().unwrap();
        assert!(time.len() == 20 && time.ends_with('Z'), "{time}");
    }

    // The failed step: named by its step, its last lines (at least 40), stderr included.
    let migrate = step(&report, "Migrate database");
    assert_eq!(migrate["status"], "failed");
    let message = migrate["message"].as_str().unwrap();
    assert_eq!(
        message,
        "script `Migrate database (inline bash)` exited with code 3"
    );
    let tail = lines(migrate);
    assert_eq!(tail.len(), 51, "{tail:#?}");
    // stdout and stderr are two pipes: their lines interleave as they arrive.
    for line in [
        "migrating table 1",
        "migrating table 49",
        "! table users is locked",
    ] {
        assert!(tail.contains(&line), "{line} in {tail:#?}");
    }
    // A script that fails keeps the artifacts it named before.
    assert_eq!(
        migrate["artifacts"][0]["path"],
        "artifacts/step-2/1-locks.txt"
    );
    assert_eq!(migrate["artifacts"][0]["size"], 20);

    // A long output keeps its last 60 lines, without colour codes, the secret hidden.
    let prepare = step(&report, "Prepare");
    let tail = lines(prepare);
    // 70 lines, the password's and the artifact helper's: the first 12 are cut.
    assert_eq!(tail.len(), 60, "{tail:#?}");
    assert_eq!(tail[0], "prepare line 13");
    assert_eq!(tail[57], "prepare line 70");
    assert_eq!(tail[58], "password is ********");
    assert!(tail[59].starts_with("Collecting "), "{tail:#?}");

    // The `failure` step's diagnostics and artifacts.
    let collect = step(&report, "Collect diagnostics");
    assert_eq!(collect["status"], "succeeded", "{collect:#}");
    assert!(lines(collect).contains(&"diagnostics: disk is fine"));
    let artifact = &collect["artifacts"][0];
    assert_eq!(
        artifact["path"], "artifacts/step-3/1-diag.txt",
        "{collect:#}"
    );
    assert_eq!(artifact["size"], 10);

    // The artifact holding the secret is kept with the secret hidden, private.
    let kept = &prepare["artifacts"][0];
    assert_eq!(kept["problem"], "secrets hidden in the copy", "{prepare:#}");
    let copy = fx.state().join(kept["path"].as_str().unwrap());
    let contents = std::fs::read_to_string(&copy).unwrap();
    assert!(contents.starts_with("log with "), "{contents}");
    let mode = std::fs::metadata(&copy).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);

    // The text report shows the failed and the failure step's output, the HTML all of it.
    let text = std::fs::read_to_string(fx.state().join("report.txt")).unwrap();
    for expected in [
        "      | ! table users is locked\n",
        "      | diagnostics: disk is fine\n",
        "artifact: artifacts/step-3/1-diag.txt (10 B",
        "run mode:  unattended\n",
        &format!("SHA-256:   {}\n", sha256sum(&fx.installer)),
    ] {
        assert!(text.contains(expected), "{expected:?} in:\n{text}");
    }
    assert!(!text.contains("prepare line"), "{text}");
    let html = std::fs::read_to_string(fx.state().join("report.html")).unwrap();
    let open = html
        .find("<details open>")
        .expect("the failed step's output open");
    assert!(html[open..].starts_with("<details open><summary>output (last 51 lines)"));
    assert_eq!(html.matches("<details open>").count(), 1, "{html}");
    assert!(html.contains("<a href=\"install.log\">install.log</a>"));

    // Nothing of it holds the secret.
    let scanned = assert_no_secret_in_dir(&fx.state(), &[], &[SECRET]);
    assert!(scanned >= 7, "{scanned} files scanned");
}

#[test]
fn the_log_starts_with_a_header_has_no_terminal_codes_and_is_copied() {
    let Failed { fx, copy, report } = failed_install();
    let log = std::fs::read_to_string(fx.state().join("install.log")).unwrap();
    let header: Vec<&str> = log.lines().take(13).collect();
    assert!(header[0].starts_with("======== install 20"), "{log}");
    let installer = fx.installer.display().to_string();
    let sha256 = sha256sum(&fx.installer);
    let command = report["command_line"].as_str().unwrap();
    for expected in [
        "product:   Fabrikam Platform 4.12.0 from Fabrikam Ltd",
        "customer:  Contoso",
        &format!("installer: {installer}"),
        &format!("SHA-256:   {sha256}"),
        &format!("runtime:   dropship runtime {}", env!("CARGO_PKG_VERSION")),
        &format!("state dir: {}", fx.state().display()),
        &format!("command:   {command}"),
        "run mode:  unattended",
    ] {
        assert!(header.contains(&expected), "{expected:?} in:\n{log}");
    }
    for label in ["host:      ", "user:      "] {
        assert!(
            header.iter().any(|l| l.starts_with(label)),
            "{label} in:\n{log}"
        );
    }
    assert!(
        !log.contains('\u{1b}'),
        "a terminal code in the log:\n{log}"
    );
    assert!(log.contains("    prepare line 70\n"), "{log}");
    assert!(log.contains("Migrate database (inline bash)"), "{log}");
    assert!(!log.contains("Script.sh"), "{log}");

    // `--log` wrote the same lines, privately.
    assert_eq!(std::fs::read_to_string(&copy).unwrap(), log);
    let mode = std::fs::metadata(&copy).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    assert_no_secret("the --log copy", log.as_bytes(), &[SECRET]);
}

#[test]
fn a_log_copy_at_a_link_is_refused_before_anything_starts() {
    let fx = Fixture::sample();
    let target = fx.ws.path("elsewhere.txt");
    std::fs::write(&target, "not the installer's\n").unwrap();
    let link = fx.ws.path("install.log");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let out = fx.install(&["--log", link.to_str().unwrap()]).code(2);
    assert!(
        out.stderr
            .contains("is a link; the log is not written through a link"),
        "{out:#?}"
    );
    assert_eq!(
        std::fs::read_to_string(&target).unwrap(),
        "not the installer's\n"
    );
    assert!(!fx.state().exists(), "nothing started");
}

#[test]
fn the_failed_steps_output_is_open_in_a_browser() {
    let Failed { fx, .. } = failed_install();
    let Some(dom) = browser_dom(&fx.state().join("report.html")) else {
        eprintln!("skipped: no chromium on PATH to render the page (apt-get install chromium)");
        return;
    };
    let open = dom.find("<details open=\"\">").expect("an open <details>");
    let shown = &dom[open..];
    assert!(shown.contains("! table users is locked"), "{dom}");
    assert_eq!(dom.matches("<details open=\"\">").count(), 1, "{dom}");
    assert!(
        dom.contains("<a href=\"install.log\">install.log</a>"),
        "{dom}"
    );
}

#[test]
fn a_resumed_install_keeps_what_the_earlier_run_printed_and_lists_every_run() {
    let fx = Fixture::new(&plan_with_steps(json!([
        { "name": "Prepare", "type": "run-script", "syntax": "bash", "inline": "echo prepared once" },
        { "name": "Migrate", "type": "run-script", "syntax": "bash",
          "inline": "test -f \"$DIAG_DIR/fixed\" || { echo 'not fixed yet' >&2; exit 2; }\necho migrated" },
    ])));
    let diag = fx.ws.path("diag");
    run(fx
        .command("install")
        .args(fx.answers())
        .arg("--no-rollback")
        .env("DIAG_DIR", &diag))
    .code(5);
    std::fs::write(diag.join("fixed"), "").unwrap();
    run(fx
        .command("resume")
        .args(fx.answers())
        .env("DIAG_DIR", &diag))
    .success();
    let report = read_report(&fx.state());
    let prepare = step(&report, "Prepare");
    assert_eq!(
        prepare["message"], "done before the interruption",
        "{report:#}"
    );
    assert_eq!(lines(prepare), ["prepared once"]);
    assert_eq!(lines(step(&report, "Migrate")), ["migrated"]);
    let runs: Vec<&str> = report["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    assert_eq!(runs, ["install", "resume"], "{report:#}");
    let log = std::fs::read_to_string(fx.state().join("install.log")).unwrap();
    assert!(log.starts_with("======== install 20"), "{log}");
    assert!(log.contains("\n======== resume 20"), "{log}");
}
