//! Ctrl-C during a step: the running script is stopped, everything is rolled back, exit 5.

use crate::support::{Run, Workspace, dropship, runtime_stub, tree};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn ctrl_c_during_a_step_stops_it_and_rolls_back() {
    let ws = Workspace::new();
    let target = ws.path("target");
    std::fs::create_dir_all(&target).unwrap();
    ws.write("target/settings.conf", "mode = original\n");
    let before = tree(&target);
    let marker = ws.path("script-started");
    let plan = serde_json::json!({
        "schema": "dropship/plan@1",
        "product": { "name": "Interrupted", "version": "1.0" },
        "steps": [
            { "name": "Change settings", "type": "run-script", "syntax": "bash",
              "snapshot": [ target.join("settings.conf").to_str().unwrap() ],
              "inline": format!("echo 'mode = changed' > '{}'", target.join("settings.conf").display()) },
            { "name": "Long migration", "type": "run-script", "syntax": "bash",
              "inline": format!("touch '{}'; sleep 60", marker.display()) }
        ]
    });
    ws.write("plan.json", plan.to_string());
    ws.write("drop/readme.txt", "empty drop\n");
    let installer = ws.path("installer");
    let built = dropship()
        .arg("build")
        .arg("--drop")
        .arg(ws.path("drop"))
        .arg("--plan")
        .arg(ws.path("plan.json"))
        .arg("--key")
        .arg(ws.secret_key())
        .arg("--runtime")
        .arg(runtime_stub())
        .arg("-o")
        .arg(&installer)
        .output()
        .unwrap();
    assert!(built.status.success(), "{built:?}");
    let child = Command::new(&installer)
        .args(["install", "--unattended", "--no-progress", "--state-dir"])
        .arg(ws.path("state"))
        .arg("--trusted-key-file")
        .arg(ws.public_key())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !marker.exists() {
        assert!(Instant::now() < deadline, "the long step never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_ne!(
        std::fs::read_to_string(target.join("settings.conf")).unwrap(),
        "mode = original\n"
    );
    let sent = Command::new("kill")
        .arg("-INT")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(sent.success());
    let started = Instant::now();
    let result = Run::from(child.wait_with_output().unwrap());
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "stopping took {:?}",
        started.elapsed()
    );
    assert_eq!(result.code, Some(5), "{result:#?}");
    assert!(result.stderr.contains("interrupted"), "{result:#?}");
    std::fs::remove_file(&marker).unwrap();
    assert_eq!(tree(&target), before, "the target is back as it was");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ws.path("state/report.json")).unwrap())
            .unwrap();
    assert_eq!(report["outcome"], "failed-rolled-back");
    assert_eq!(report["steps"][0]["status"], "rolled-back");
}
