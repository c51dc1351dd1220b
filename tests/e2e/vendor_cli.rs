//! The bundler's command line as the release engineer meets it: what `build` says it built and
//! the customer's next step (run here exactly as printed), and the help of every command.

use crate::support::{Workspace, dropship, run};
use std::process::Command;

#[test]
fn build_ends_with_a_summary_and_the_customer_s_exact_verify_command() {
    let ws = Workspace::new();
    ws.sample_inputs();
    let installer = ws.path("fabrikam-contoso");
    let built = run(&mut ws.build_command(&installer)).success();
    // The customer's commands, run as printed, in the installer's directory.
    let in_dir = |command: &str| {
        run(Command::new("sh")
            .arg("-c")
            .arg(command)
            .current_dir(installer.parent().unwrap()))
    };
    let digest = in_dir("sha256sum fabrikam-contoso").success().stdout[..64].to_string();
    let size = std::fs::metadata(&installer).unwrap().len();
    let key = ws.public_key_base64();
    let verify = format!("./fabrikam-contoso verify --trusted-key {key}");
    for needle in [
        "customer:  Contoso".to_string(),
        "platform:  linux-x86_64".to_string(),
        format!("({size} bytes)"),
        format!("sha256:    {digest}"),
        format!("sha256sum fabrikam-contoso      # must print {digest}"),
        verify.clone(),
    ] {
        assert!(built.stdout.contains(&needle), "`{needle}`: {built:#?}");
    }
    let key_id = run(dropship()
        .arg("verify")
        .arg(&installer)
        .arg("--key")
        .arg(ws.public_key()))
    .success()
    .stdout
    .split_whitespace()
    .skip_while(|word| *word != "key")
    .nth(1)
    .unwrap()
    .trim_end_matches(':')
    .to_string();
    assert!(
        built.stdout.contains(&format!("signed by: key {key_id}")),
        "{built:#?}"
    );
    in_dir(&verify).success();
}

#[test]
fn compression_lists_its_values_in_help_and_when_refused() {
    let help = run(dropship().args(["build", "--help"])).success();
    for value in ["- zstd:", "- gzip:", "- none:"] {
        assert!(help.stdout.contains(value), "`{value}`: {help:#?}");
    }
    let ws = Workspace::new();
    ws.sample_inputs();
    let refused = run(ws
        .build_command(&ws.path("installer"))
        .args(["--compression", "lz4"]))
    .code(2);
    assert!(refused.stderr.contains("zstd, gzip, none"), "{refused:#?}");
    run(ws
        .build_command(&ws.path("installer"))
        .args(["--compression", "gzip"]))
    .success();
}

#[test]
fn the_readme_shows_every_command() {
    let readme = include_str!("../../README.md");
    let help = run(dropship().arg("--help")).success();
    let commands = help
        .stdout
        .lines()
        .skip_while(|line| !line.starts_with("Commands:"))
        .skip(1)
        .take_while(|line| line.starts_with("  "))
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help");
    for command in commands {
        assert!(
            readme.contains(&format!("dropship {command} ")),
            "`dropship {command}` is not in the README"
        );
    }
}
