//! Rollback, cancel and resume an operator can rely on: the rollback script of every step that
//! started runs, newest first (on a failure, a cancel, a later `rollback`); a cancel does not
//! cancel the undo; exit 6 whenever something is left; `rollback` of a finished install is
//! asked for; `resume` restores the interrupted step first and refuses a changed secret. Real
//! installers, real scripts, real signals sent to the installer's process group.

use crate::fixture::{
    Fixture, SECRET, assert_no_secret_in_dir, assert_run_has_no_secret, kill_install_at,
    plan_with_steps, read_report, sample_plan, spawn,
};
use crate::support::{Workspace, run, wait_for_file};
use serde_json::{Value, json};
use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::Duration;

/// A step that creates `$WORK/NAME` and whose rollback script removes it and logs `NAME` to
/// `$WORK/rollback.log`; `rollback_extra` runs first in the rollback script.
fn undoable_step(name: &str, run_extra: &str, rollback_extra: &str) -> Value {
    json!({ "name": name, "type": "run-script", "syntax": "bash",
        "inline": format!("mkdir \"$WORK/{name}\"\n{run_extra}"),
        "rollback": { "syntax": "bash",
            "inline": format!("{rollback_extra}\nrmdir \"$WORK/{name}\"\necho {name} >> \"$WORK/rollback.log\"") } })
}

fn failing_step() -> Value {
    json!({ "name": "C", "type": "run-script", "syntax": "bash", "inline": "exit 3" })
}

fn diagnostics_step() -> Value {
    json!({ "name": "Diagnostics", "type": "run-script", "syntax": "bash", "condition": "failure",
            "inline": "echo collected > \"$WORK/diagnostics\"" })
}

fn work(fx: &Fixture) -> PathBuf {
    let work = fx.ws.path("work");
    std::fs::create_dir_all(&work).unwrap();
    work
}

fn rollback_log(fx: &Fixture) -> String {
    std::fs::read_to_string(work(fx).join("rollback.log")).unwrap_or_default()
}

fn install_command(fx: &Fixture, extra: &[&str]) -> Command {
    let mut command = fx.command("install");
    command
        .args(fx.answers())
        .args(extra)
        .env("WORK", work(fx))
        .env("MARKER", fx.ws.path("marker"))
        .env("ROLLING", fx.ws.path("rolling"));
    command
}

/// Start an install in its own process group (as a terminal's foreground job is).
fn spawn_group(fx: &Fixture, command: &mut Command, name: &str) -> Child {
    command.process_group(0);
    spawn(command, &fx.ws, name)
}

/// Send `signal` to the process group `child` leads.
fn signal_group(child: &Child, signal: &str) {
    run(Command::new("kill").args([signal, "--", &format!("-{}", child.id())])).success();
}

fn stderr_of(fx: &Fixture, name: &str) -> String {
    std::fs::read_to_string(fx.ws.path(&format!("{name}.stderr"))).unwrap()
}

fn scripts_of(report: &Value) -> Vec<(String, bool)> {
    report["rollback"]["scripts"]
        .as_array()
        .expect("rollback scripts in the report")
        .iter()
        .map(|s| {
            (
                s["step"].as_str().unwrap().to_string(),
                s["succeeded"] == true,
            )
        })
        .collect()
}

#[test]
fn a_failure_runs_the_rollback_script_of_every_started_step_newest_first() {
    let fx = Fixture::new(&plan_with_steps(json!([
        undoable_step("A", "", ""),
        undoable_step("B", "", ""),
        failing_step(),
        diagnostics_step(),
    ])));
    let out = run(&mut install_command(&fx, &[])).code(5);
    assert_eq!(rollback_log(&fx), "B\nA\n", "{out:#?}");
    assert!(!work(&fx).join("A").exists() && !work(&fx).join("B").exists());
    assert!(
        work(&fx).join("diagnostics").is_file(),
        "the failure step ran"
    );
    let report = read_report(&fx.state());
    assert_eq!(report["outcome"], "failed-rolled-back", "{report:#}");
    assert_eq!(
        scripts_of(&report),
        [("B".to_string(), true), ("A".to_string(), true)]
    );
}

#[test]
fn a_rollback_script_that_fails_gives_exit_6_and_says_what_is_left() {
    let fx = Fixture::new(&plan_with_steps(json!([
        undoable_step("A", "", ""),
        undoable_step("B", "", "echo cannot undo B >&2; exit 4"),
        failing_step(),
    ])));
    let out = run(&mut install_command(&fx, &[])).code(6);
    assert_eq!(
        rollback_log(&fx),
        "A\n",
        "A's script still ran after B's failed"
    );
    assert!(
        out.stderr.contains("NOT undone") && out.stderr.contains("`B`"),
        "{out:#?}"
    );
    let report = read_report(&fx.state());
    assert_eq!(
        report["outcome"], "failed-rollback-incomplete",
        "{report:#}"
    );
    let left = report["rollback"]["left"].to_string();
    assert!(left.contains("rollback script of `B`"), "{report:#}");
}

/// Steps A and B, B waiting in its script until killed; B's rollback script announces itself
/// (`$ROLLING`) and takes a while, so signals can reach the installer while it runs.
fn cancel_fixture() -> Fixture {
    Fixture::new(&plan_with_steps(json!([
        undoable_step("A", "", ""),
        undoable_step(
            "B",
            "touch \"$MARKER\"; sleep 30",
            "touch \"$ROLLING\"; sleep 2"
        ),
        undoable_step("Never", "", ""),
        diagnostics_step(),
    ])))
}

#[test]
fn sigint_cancels_the_step_and_the_rollback_scripts_still_run_to_their_end() {
    let fx = cancel_fixture();
    let mut child = spawn_group(&fx, &mut install_command(&fx, &[]), "cancelled");
    wait_for_file(&fx.ws.path("marker"), &mut child, Duration::from_secs(30));
    signal_group(&child, "-INT");
    // A second signal while B's rollback script runs: told what runs, the undo goes on.
    wait_for_file(&fx.ws.path("rolling"), &mut child, Duration::from_secs(30));
    signal_group(&child, "-TERM");
    let status = child.wait().unwrap();
    let stderr = stderr_of(&fx, "cancelled");
    assert_eq!(status.code(), Some(5), "{stderr}");
    assert!(
        stderr.contains("Still running: the rollback script of `B`"),
        "{stderr}"
    );
    assert!(!stderr.contains("script was interrupted"), "{stderr}");
    assert_eq!(rollback_log(&fx), "B\nA\n", "{stderr}");
    assert!(
        work(&fx).join("diagnostics").is_file(),
        "failure steps run after a cancel"
    );
    let report = read_report(&fx.state());
    assert_eq!(report["outcome"], "failed-rolled-back", "{report:#}");
    assert_eq!(
        scripts_of(&report),
        [("B".to_string(), true), ("A".to_string(), true)]
    );
}

#[test]
fn a_third_signal_stops_the_undo_keeps_the_journal_and_rollback_finishes_it() {
    let fx = cancel_fixture();
    let mut child = spawn_group(&fx, &mut install_command(&fx, &[]), "stopped");
    wait_for_file(&fx.ws.path("marker"), &mut child, Duration::from_secs(30));
    signal_group(&child, "-INT");
    wait_for_file(&fx.ws.path("rolling"), &mut child, Duration::from_secs(30));
    signal_group(&child, "-INT");
    std::thread::sleep(Duration::from_millis(200));
    signal_group(&child, "-INT");
    let status = child.wait().unwrap();
    let stderr = stderr_of(&fx, "stopped");
    assert_eq!(status.code(), Some(6), "{stderr}");
    assert_eq!(
        rollback_log(&fx),
        "",
        "B's rollback script was stopped, A's not run"
    );
    assert!(
        !work(&fx).join("diagnostics").exists(),
        "stopped: no failure step"
    );
    let report = read_report(&fx.state());
    assert_eq!(
        report["outcome"], "failed-rollback-incomplete",
        "{report:#}"
    );
    assert!(
        report["rollback"]["left"].to_string().contains("`A`"),
        "{report:#}"
    );

    // The journal stayed open: `rollback` runs B's script again (it did not finish), then A's.
    std::fs::remove_file(fx.ws.path("rolling")).unwrap();
    let out = run(fx
        .command("rollback")
        .env("WORK", work(&fx))
        .env("ROLLING", fx.ws.path("rolling")))
    .success();
    assert_eq!(rollback_log(&fx), "B\nA\n", "{out:#?}");
    assert!(!work(&fx).join("A").exists());
}

#[test]
fn no_rollback_runs_no_rollback_script() {
    let fx = cancel_fixture();
    let mut command = install_command(&fx, &["--no-rollback"]);
    let mut child = spawn_group(&fx, &mut command, "kept");
    wait_for_file(&fx.ws.path("marker"), &mut child, Duration::from_secs(30));
    signal_group(&child, "-TERM");
    assert_eq!(
        child.wait().unwrap().code(),
        Some(5),
        "{}",
        stderr_of(&fx, "kept")
    );
    assert_eq!(rollback_log(&fx), "");
    assert!(work(&fx).join("A").is_dir() && work(&fx).join("B").is_dir());
}

#[test]
fn rollback_without_a_terminal_needs_yes_then_runs_the_scripts_and_keeps_the_history() {
    let fx = Fixture::new(&plan_with_steps(json!([
        undoable_step("A", "", ""),
        undoable_step("B", "", ""),
    ])));
    run(&mut install_command(&fx, &[])).success();
    let mut asked = Command::new(&fx.installer);
    asked.arg("rollback").arg("--state-dir").arg(fx.state());
    let out = run(asked.env("WORK", work(&fx))).code(2);
    assert!(out.stderr.contains("--yes"), "{out:#?}");
    assert!(
        work(&fx).join("A").is_dir(),
        "nothing changed without --yes"
    );
    assert_eq!(rollback_log(&fx), "");

    let out = run(fx.command("rollback").env("WORK", work(&fx))).success();
    assert_eq!(rollback_log(&fx), "B\nA\n", "{out:#?}");
    let report = read_report(&fx.state());
    assert_eq!(report["outcome"], "rolled-back", "{report:#}");
    assert_eq!(
        report["steps"][0]["status"], "succeeded",
        "the install's history is kept"
    );
    assert_eq!(
        report["later_rollback"]["outcome"], "rolled-back",
        "{report:#}"
    );
    let log = std::fs::read_to_string(fx.state().join("install.log")).unwrap();
    assert!(log.contains("rollback script of `A`"), "{log}");
    let text = run(fx.command("report").args(["--format", "text"])).success();
    assert!(text.stdout.contains("later rollback"), "{text:#?}");
}

fn secret_arg(fx: &Fixture, file: &str) -> OsString {
    let mut secret = OsString::from("Database.Password=@");
    secret.push(fx.ws.path(file));
    secret
}

#[test]
fn resume_restores_the_interrupted_step_before_running_it_again() {
    let fx = Fixture::new(&plan_with_steps(json!([
        { "name": "Append", "type": "run-script", "syntax": "bash",
          "snapshot": ["#{Install.Root}/lines.txt"],
          "inline": "mkdir -p \"$(dirname \"$FILE\")\"; echo appended >> \"$FILE\"; touch \"$MARKER\"; \
                     [ -e \"$MARKER.done\" ] || sleep 5; touch \"$MARKER.done\"" },
    ])));
    let file = fx.target().join("lines.txt");
    std::fs::create_dir_all(fx.target()).unwrap();
    std::fs::write(&file, "original\n").unwrap();
    let mut command = install_command(&fx, &[]);
    let mut child = spawn_group(&fx, command.env("FILE", &file), "killed-append");
    wait_for_file(&fx.ws.path("marker"), &mut child, Duration::from_secs(30));
    signal_group(&child, "-KILL");
    child.wait().unwrap();
    std::fs::write(fx.ws.path("marker.done"), "").unwrap();

    let out = run(fx
        .command("resume")
        .arg("--secret")
        .arg(secret_arg(&fx, "secrets/db"))
        .env("FILE", &file)
        .env("MARKER", fx.ws.path("marker")))
    .success();
    assert!(out.stderr.contains("restoring"), "{out:#?}");
    let log = std::fs::read_to_string(fx.state().join("install.log")).unwrap();
    assert!(
        log.contains("step `Append` was interrupted: restoring"),
        "{log}"
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "original\nappended\n"
    );
    let report = read_report(&fx.state());
    let attempts = report["attempts"].as_array().expect("attempts");
    assert_eq!(attempts.len(), 2, "{report:#}");
    assert!(
        attempts[0]["outcome"]
            .as_str()
            .unwrap()
            .contains("`Append`"),
        "{report:#}"
    );
    assert_eq!(attempts[1]["kind"], "resume");
}

#[test]
fn resume_refuses_a_different_secret() {
    let fx = Fixture::sample();
    kill_install_at(&fx, &fx.installer, &fx.state(), "step-started:3");
    fx.ws.write("secrets/other", "a-different-password");
    let out = run(fx
        .command("resume")
        .arg("--secret")
        .arg(secret_arg(&fx, "secrets/other")))
    .code(2);
    assert!(
        out.stderr.contains("Database.Password") && out.stderr.contains("rollback"),
        "{out:#?}"
    );
    assert_run_has_no_secret(&out, &[SECRET, "a-different-password"]);
    assert_no_secret_in_dir(&fx.state(), &[], &[SECRET, "a-different-password"]);
    let out = run(fx
        .command("resume")
        .arg("--secret")
        .arg(secret_arg(&fx, "secrets/db")))
    .success();
    assert!(out.stderr.contains("Install succeeded"), "{out:#?}");
}

#[test]
fn killed_at_each_rollback_script_record_then_rollback_neither_skips_nor_repeats() {
    let fx = Fixture::new(&plan_with_steps(json!([
        undoable_step("A", "", ""),
        undoable_step("B", "", ""),
        failing_step(),
    ])));
    // Killed before B's script ran, after it finished, and before A's ran.
    for (checkpoint, before_rollback) in [
        ("rollback-script-started:1", ""),
        ("rollback-script-finished:1", "B\n"),
        ("rollback-script-started:2", "B\n"),
    ] {
        let _ = std::fs::remove_dir_all(work(&fx));
        let state = fx
            .ws
            .path(&format!("state-{}", checkpoint.replace(':', "-")));
        let mut command = fx.command_of(&fx.installer, "install", &state);
        command.env("WORK", work(&fx));
        kill_with(&fx, command.args(fx.answers()), checkpoint);
        assert_eq!(rollback_log(&fx), before_rollback, "killed at {checkpoint}");
        let out = run(fx
            .command_of(&fx.installer, "rollback", &state)
            .env("WORK", work(&fx)))
        .success();
        assert_eq!(
            rollback_log(&fx),
            "B\nA\n",
            "rollback after {checkpoint}: {out:#?}"
        );
    }
}

/// Start `command` parked at `checkpoint`, and SIGKILL its process group there.
fn kill_with(fx: &Fixture, command: &mut Command, checkpoint: &str) {
    let marker = fx
        .ws
        .path(&format!("marker-{}", checkpoint.replace(':', "-")));
    command
        .env("DROPSHIP_TEST_CHECKPOINT", checkpoint)
        .env("DROPSHIP_TEST_CHECKPOINT_MARKER", &marker);
    let mut child = spawn_group(fx, command, "killed");
    wait_for_file(&marker, &mut child, Duration::from_secs(30));
    signal_group(&child, "-KILL");
    assert_eq!(child.wait().unwrap().code(), None);
}

#[test]
fn the_dry_run_refuses_what_install_refuses_before_anything_starts() {
    let mut deploy = crate::fixture::deploy_sample_step();
    deploy["destination"] = json!("   /web");
    let fx = Fixture::new(&plan_with_steps(json!([
        undoable_step("A", "", ""),
        deploy
    ])));
    let dry = run(fx.command("plan").args(fx.answers()).env("WORK", work(&fx))).code(2);
    assert!(
        dry.stderr.contains("`destination` is `   /web`"),
        "{dry:#?}"
    );
    let install = run(&mut install_command(&fx, &[])).code(2);
    assert_eq!(
        dry.stderr, install.stderr,
        "the same checks, the same words"
    );
    assert!(!work(&fx).join("A").exists(), "nothing started");
    assert!(
        !fx.state().join("journal.jsonl").exists(),
        "nothing journaled"
    );
}

/// The package formats whose journal flushes are counted.
const COUNTED_PACKAGES: [&str; 2] = ["Many.1.0.0.nupkg", "Many.1.0.0.tar.gz"];

/// The disk flushes of an install whose one step unpacks `package` (one of
/// [`COUNTED_PACKAGES`]) holding `files` files in ten directories, as `strace` counts them:
/// `fdatasync` (the journal) and `fsync` (directories, after files are moved to their backups).
/// With `again`, the install is run twice and the second run, a reinstall over every file of the
/// first, is counted. `None` without `strace`.
fn flushes_installing(package: &str, files: usize, again: bool) -> Option<(usize, usize)> {
    if std::process::Command::new("strace")
        .arg("-V")
        .output()
        .is_err()
    {
        return None;
    }
    let plan = plan_with_steps(json!([
        { "name": "Unpack", "type": "deploy-package",
          "package": format!("Packages/{package}"), "destination": "#{Install.Root}/many" },
    ]));
    let fx = Fixture::with_drop(&plan, |ws| {
        let entries: Vec<(String, Vec<u8>)> = (0..files)
            .map(|i| (format!("dir{}/file{i}.txt", i % 10), b"x".to_vec()))
            .collect();
        write_counted_package(ws, &format!("drop/Packages/{package}"), &entries);
    });
    if again {
        fx.install(&[]).success();
    }
    let counts = fx.ws.path("strace.txt");
    let mut install = fx.command("install");
    install.args(fx.answers());
    if again {
        install.arg("--reinstall");
    }
    let mut traced = std::process::Command::new("strace");
    traced
        .args(["-f", "-c", "-e", "trace=fdatasync,fsync", "-o"])
        .arg(&counts)
        .arg(install.get_program())
        .args(install.get_args());
    for (key, value) in install.get_envs() {
        match value {
            Some(value) => traced.env(key, value),
            None => traced.env_remove(key),
        };
    }
    run(&mut traced).success();
    let summary = std::fs::read_to_string(&counts).unwrap();
    let calls = |name: &str| {
        let line = summary.lines().find(|l| l.trim_end().ends_with(name));
        // A call never made has no line.
        line.map_or(Some(0), |l| l.split_whitespace().nth(3)?.parse().ok())
            .unwrap_or_else(|| panic!("no {name} count in strace's summary:\n{summary}"))
    };
    Some((calls("fdatasync"), calls("fsync")))
}

/// A NuGet package (with its nuspec) or a `.tar.gz` at `relative` holding `entries`.
fn write_counted_package(ws: &Workspace, relative: &str, entries: &[(String, Vec<u8>)]) {
    if relative.ends_with(".nupkg") {
        let entries: Vec<(&str, Vec<u8>)> = entries
            .iter()
            .map(|(n, b)| (n.as_str(), b.clone()))
            .collect();
        return crate::support::write_package(ws, relative, "Many", &entries);
    }
    let path = ws.path(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let gz = flate2::write::GzEncoder::new(
        std::fs::File::create(path).unwrap(),
        flate2::Compression::fast(),
    );
    let mut tar = tar::Builder::new(gz);
    for (name, bytes) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        tar.append_data(&mut header, name, &bytes[..]).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap();
}

#[test]
fn a_package_costs_the_same_flushes_whatever_its_size() {
    for (package, again) in COUNTED_PACKAGES
        .iter()
        .flat_map(|p| [(*p, false), (*p, true)])
    {
        let (Some(few), Some(many)) = (
            flushes_installing(package, 10, again),
            flushes_installing(package, 300, again),
        ) else {
            eprintln!("skipped: no strace to count the disk flushes (apt-get install strace)");
            return;
        };
        assert!(
            few.0 > 0,
            "{package}: strace counted no journal flush at all"
        );
        let into = if again {
            "over the installed files"
        } else {
            "into a new directory"
        };
        assert_eq!(
            few, many,
            "{package} {into}: (fdatasync, fsync) for 10 files {few:?}, for 300 {many:?}"
        );
    }
}

/// A terminal that goes away mid-install (an SSH connection dropped: SIGHUP, then every write to
/// the screen fails) does not stop the install midway: it runs to its end, and the report says so.
#[test]
fn a_lost_terminal_does_not_stop_the_install_midway() {
    let mut plan = sample_plan();
    plan["steps"].as_array_mut().unwrap().insert(
        2,
        json!({ "name": "Wait", "type": "run-script", "syntax": "bash",
                "inline": "touch \"$MARKER\"\n\
                           for _ in $(seq 600); do [ -e \"$RELEASE\" ] && break; sleep 0.05; done\n\
                           echo released" }),
    );
    let fx = Fixture::new(&plan);
    let (marker, release) = (fx.ws.path("marker"), fx.ws.path("release"));
    let mut child = fx
        .command("install")
        .args(fx.answers())
        .env("MARKER", &marker)
        .env("RELEASE", &release)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    // Nobody reads the screen any more: every write to it fails.
    drop(child.stdout.take());
    drop(child.stderr.take());
    wait_for_file(&marker, &mut child, Duration::from_secs(30));
    let hangup = Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status();
    assert!(hangup.expect("kill").success());
    std::fs::write(&release, "").expect("release");
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(0), "the install went on to its end");
    let report = read_report(&fx.state());
    assert_eq!(report["outcome"], "succeeded", "{report:#}");
    let log = std::fs::read_to_string(fx.state().join("install.log")).expect("install.log");
    assert!(
        log.contains("released"),
        "the log has what the screen lost:\n{log}"
    );
}

#[test]
fn a_package_with_links_installs_again_over_itself_and_rollback_brings_back_what_was_there() {
    // Reproduction: installing a package that holds symbolic links over its earlier install
    // (`--reinstall`, an upgrade) failed at its own links: "it would be written through a
    // symbolic link".
    let plan = plan_with_steps(json!([
        { "name": "Unpack", "type": "deploy-package",
          "package": "Packages/Linked.1.0.0.tar.gz", "destination": "#{Install.Root}/linked" },
    ]));
    let fx = Fixture::with_drop(&plan, |ws| {
        let path = ws.path("drop/Packages/Linked.1.0.0.tar.gz");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let file = std::fs::File::create(path).unwrap();
        let gz = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
        let mut tar = tar::Builder::new(gz);
        for (name, bytes) in [("lib/libfab.so.1", "v1"), ("bin/run.sh", "#!/bin/sh\n")] {
            let mut header = tar::Header::new_gnu();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o755);
            tar.append_data(&mut header, name, bytes.as_bytes())
                .unwrap();
        }
        for (name, target) in [("lib/libfab.so", "libfab.so.1"), ("current", "lib")] {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(tar::EntryType::Symlink);
            header.set_size(0);
            tar.append_link(&mut header, name, target).unwrap();
        }
        tar.into_inner().unwrap().finish().unwrap();
    });
    fx.install(&[]).success();
    let linked = fx.target().join("linked");
    let link = |name: &str| std::fs::read_link(linked.join(name)).ok();
    let contents = |path: &std::path::Path| std::fs::read_to_string(path).unwrap();
    // One of the package's files was made a link to a file elsewhere: installing again replaces
    // the link, and never writes through it.
    let victim = fx.ws.write("victim.txt", "not the package's");
    let library = linked.join("lib/libfab.so.1");
    std::fs::remove_file(&library).unwrap();
    std::os::unix::fs::symlink(&victim, &library).unwrap();

    fx.install(&["--reinstall"]).success();
    assert_eq!(link("lib/libfab.so"), Some("libfab.so.1".into()));
    assert_eq!(link("current"), Some("lib".into()));
    assert_eq!(link("lib/libfab.so.1"), None, "a file again");
    assert_eq!(contents(&library), "v1");
    assert_eq!(contents(&victim), "not the package's");

    run(&mut fx.command("rollback")).success();
    assert_eq!(
        link("lib/libfab.so.1"),
        Some(victim.clone()),
        "what was there"
    );
    assert_eq!(link("lib/libfab.so"), Some("libfab.so.1".into()));
    assert_eq!(link("current"), Some("lib".into()));
    assert_eq!(contents(&victim), "not the package's");
}
