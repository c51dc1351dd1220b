//! `dropship`'s exit status when a command fails, as `--help` states it: 1 when I/O fails on
//! this machine (an output that cannot be written), 2 when the user's input is wrong (a plan
//! or installer file that does not exist).

use crate::support::{Workspace, build_command, dropship, incompressible, run, runtime_stub};
use std::path::Path;
use std::process::Command;

/// `command` run with the files it writes unable to grow past `limit` bytes (`ulimit -f`): a
/// full disk, for that process alone. `SIGXFSZ` is ignored, so an oversized write fails with
/// "File too large" instead of killing the process.
fn with_file_size_limit(command: &Command, limit: u64) -> Command {
    let mut limited = Command::new("bash");
    limited
        .arg("-c")
        .arg(format!(
            "trap '' XFSZ; ulimit -f {}; exec \"$@\"",
            limit.div_ceil(1024)
        ))
        .arg("bash")
        .arg(command.get_program())
        .args(command.get_args());
    for (name, value) in command.get_envs() {
        match value {
            Some(value) => limited.env(name, value),
            None => limited.env_remove(name),
        };
    }
    limited
}

#[test]
fn build_that_cannot_write_its_installer_exits_1_naming_it() {
    let ws = Workspace::new();
    ws.sample_inputs();
    // The stub fits under the limit; the payload, packed after it, does not.
    ws.write("drop/Packages/large.nupkg", incompressible(4 << 20));
    let stub = std::fs::metadata(runtime_stub())
        .expect("runtime stub")
        .len();
    let out = ws.path("fabrikam-contoso");
    let mut build = with_file_size_limit(&ws.build_command(&out), stub + (1 << 20));
    let result = run(&mut build).code(1);
    let writing = format!("writing `{}`: File too large", out.display());
    assert!(result.stderr.contains(&writing), "{result:#?}");
    assert!(!out.exists(), "no partial installer is left");
}

#[test]
fn build_onto_a_filesystem_without_room_exits_1_naming_the_path() {
    let ws = Workspace::new();
    ws.sample_inputs();
    // `/proc` has no room for files, not even for root.
    let out = Path::new("/proc/dropship-e2e/installer");
    let result = run(&mut ws.build_command(out)).code(1);
    assert!(
        result.stderr.contains("not enough disk space")
            && result.stderr.contains(&*out.to_string_lossy()),
        "{result:#?}"
    );
}

#[test]
fn build_with_a_plan_file_that_does_not_exist_exits_2_naming_it() {
    let ws = Workspace::new();
    ws.sample_inputs();
    let plan = ws.path("no-such-plan.json");
    let out = ws.path("installer");
    let result = run(&mut build_command(
        &ws.path("drop"),
        &plan,
        &ws.secret_key(),
        &out,
    ))
    .code(2);
    let reading = format!("reading plan `{}`", plan.display());
    assert!(result.stderr.contains(&reading), "{result:#?}");
}

#[test]
fn verify_of_an_installer_that_does_not_exist_exits_2_naming_it() {
    let ws = Workspace::new();
    let installer = ws.path("no-such-installer");
    let result = run(dropship()
        .arg("verify")
        .arg(&installer)
        .arg("--key")
        .arg(ws.public_key()))
    .code(2);
    assert!(
        result.stderr.contains(&*installer.to_string_lossy()),
        "{result:#?}"
    );
}
