//! The install engine end to end: real installers built with `dropship build`, run as processes
//! (unattended) against targets and state directories inside a temp dir. Settings written,
//! reports, secrets kept out of every output, rollback byte for byte, resume after a kill,
//! refusal of bad answers, checks, manual steps and the dry run.

use crate::fixture::*;
use crate::support::{
    Entry, Run, assert_same_tree, run, run_with_stdin, tree_with_modes, wait_for_file,
};
use serde_json::{Value, json};
use std::ffi::OsString;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

#[test]
fn unattended_install_writes_settings_and_report() {
    let fx = Fixture::sample();
    let answers = fx.ws.write(
        "answers.json",
        serde_json::to_string(&json!({
            "Install.Root": fx.target(),
            "Service.Port": 9443,
        }))
        .unwrap(),
    );
    let mut secret = OsString::from("Database.Password=@");
    secret.push(fx.ws.path("secrets/db"));
    let out = run(fx
        .command("install")
        .arg("--answers")
        .arg(&answers)
        .arg("--secret")
        .arg(secret))
    .success();
    assert!(out.stderr.contains("Install succeeded"), "{out:#?}");

    // Text substitution.
    let web = fx.target().join("web");
    assert_eq!(
        std::fs::read_to_string(web.join("config/app.conf")).unwrap(),
        expected_app_conf("9443")
    );
    // Structured replacement keeps JSON types and replaces the whole value.
    let settings: Value =
        serde_json::from_str(&std::fs::read_to_string(web.join("appsettings.json")).unwrap())
            .expect("appsettings.json stays JSON");
    assert_eq!(
        settings["Service"]["Port"],
        json!(9443),
        "a number stays a number"
    );
    assert_eq!(settings["Service"]["Host"], json!("localhost"));
    assert_eq!(
        settings["ConnectionStrings"]["Main"],
        json!(format!("Server=db;Password={SECRET}"))
    );
    assert_eq!(settings["Logging"]["Level"], json!("Warning"));
    // The package's Deploy.sh ran in the installation directory.
    assert!(web.join("INSTALLED").is_file());

    let report = read_report(&fx.state());
    assert_eq!(report["outcome"], "succeeded", "{report:#}");
    assert_eq!(report["resumed"], false);
    assert_eq!(report["product"], "Fabrikam Platform");
    assert_eq!(report["version"], "4.12.0");
    assert_eq!(report["vendor"], "Fabrikam Ltd");
    assert_eq!(report["customer"], "Contoso");
    assert_eq!(report["roles"], json!(["web"]));
    let digest = report["installer_digest"].as_str().expect("digest");
    let hex = digest.strip_prefix("sha256:").expect("sha256: prefix");
    assert!(
        hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit()),
        "{digest}"
    );
    let journal = std::fs::read_to_string(fx.state().join("journal.jsonl")).unwrap();
    let begin: Value = serde_json::from_str(journal.lines().next().unwrap()).unwrap();
    assert_eq!(
        begin["installer-id"], digest,
        "report and journal name one installer"
    );
    let info = run(Command::new(&fx.installer).arg("info")).success();
    let key_id = report["signer_key_id"].as_str().expect("key id");
    assert!(
        info.stdout.contains(&format!("signer key: {key_id}")),
        "{info:#?}"
    );
    let answers = report["answers"].as_object().expect("answers");
    assert_eq!(
        answers.keys().collect::<Vec<_>>(),
        ["Install.Root", "Service.Port"],
        "{answers:?}"
    );
    assert_eq!(answers["Install.Root"], json!(fx.target()));
    assert!(
        answers["Service.Port"] == json!("9443") || answers["Service.Port"] == json!(9443),
        "{answers:?}"
    );
    assert_eq!(
        statuses(&report),
        pairs(&[
            ("Preflight", "succeeded"),
            ("Deploy Fabrikam.Web", "succeeded"),
            ("Configure", "succeeded"),
            ("Collect diagnostics", "skipped"),
        ])
    );
    for step in report["steps"].as_array().unwrap().iter().take(3) {
        for field in ["start", "end"] {
            let at = step[field].as_str().unwrap_or_else(|| panic!("{step:#}"));
            assert!(at.starts_with("20") && at.ends_with('Z'), "{field}: {at}");
        }
        assert!(
            step["duration_s"].as_f64().is_some_and(|d| d >= 0.0),
            "{step:#}"
        );
        assert_eq!(step["attempts"], 1);
    }
    assert!(report["duration_s"].as_f64().is_some());

    // `report` prints the same report, in each format.
    let printed = run(fx.command("report").args(["--format", "json"])).success();
    let printed: Value = serde_json::from_str(&printed.stdout).expect("report --format json");
    assert_eq!(printed, report);
    let text = run(&mut fx.command("report")).success();
    assert!(
        text.stdout.contains("Fabrikam Platform 4.12.0"),
        "{text:#?}"
    );
    let html = run(fx.command("report").args(["--format", "html"])).success();
    assert!(
        html.stdout.contains("<html") && html.stdout.contains("Deploy Fabrikam.Web"),
        "{html:#?}"
    );
    for file in ["report.txt", "report.html", "install.log", "answers.json"] {
        assert!(fx.state().join(file).is_file(), "{file} in the state dir");
    }
}

/// A step that prints both secrets in every encoded form, on stdout, stderr and through the
/// service-message helpers, and sets a sensitive output variable.
const LEAK_SCRIPT: &str = r#"set -eu
for name in Database.Password Api.Token; do
  s="$(get_octopusvariable "$name")"
  echo "raw $name: $s"
  echo "raw on stderr: $s" >&2
  echo "base64: $(printf '%s' "$s" | base64 -w0)"
  echo "Authorization: Basic $(printf 'user:%s' "$s" | base64 -w0)"
  echo "Authorization: Basic $(printf 'admin1:%s' "$s" | base64 -w0)"
  echo "wrapped:"; printf 'a long preamble, then %s, then %s again' "$s" "$s" | base64
  echo "url: $(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$s")"
  echo "json: $(python3 -c 'import sys, json; print(json.dumps(sys.argv[1]))' "$s")"
  write_highlight "highlight: $s"
  write_warning "warning: $s"
  write_verbose "verbose: $s"
done
set_octopusvariable "Leaked" "$(get_octopusvariable Api.Token)" -sensitive
# What the engine cannot scrub: this script's and its parent's argv, and the files around it.
tr '\0' ' ' < /proc/$$/cmdline > "$PROBE_DIR/script-argv-$$"
tr '\0' ' ' < /proc/$PPID/cmdline > "$PROBE_DIR/parent-argv-$$"
ls -la . > "$PROBE_DIR/working-dir-$$"
"#;

fn secrets_plan(failing: bool) -> Value {
    let mut plan = sample_plan();
    plan["parameters"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "name": "Api.Token", "label": "API token", "type": "secret" }));
    let mut steps = vec![
        deploy_sample_step(),
        json!({ "name": "Leak", "type": "run-script", "syntax": "bash", "inline": LEAK_SCRIPT }),
        json!({ "name": "Use output", "type": "run-script", "syntax": "bash",
                "inline": "echo \"output: $(get_octopusvariable 'Octopus.Action[Leak].Output.Leaked')\"" }),
    ];
    if failing {
        steps.push(json!({ "name": "Fail", "type": "run-script", "syntax": "bash",
            "inline": "echo \"failing with $(get_octopusvariable Database.Password)\" >&2\necho \"token $(get_octopusvariable Api.Token)\"\nexit 3" }));
    }
    steps.push(json!({ "name": "Collect diagnostics", "type": "run-script", "condition": "failure",
        "inline": "echo \"install failed: $(get_octopusvariable Octopus.Deployment.ErrorDetail)\"" }));
    plan["steps"] = Value::Array(steps);
    plan
}

#[test]
fn planted_secret_never_leaks() {
    let secrets = [SECRET, SECOND_SECRET];
    let fx = Fixture::new(&secrets_plan(false));
    let failing = build(&fx.ws, &secrets_plan(true), "installer-failing");
    let stdin = serde_json::to_vec(&json!({ "Database.Password": SECRET })).unwrap();
    let mut token = OsString::from("Api.Token=@");
    token.push(fx.ws.path("secrets/token"));

    for (installer, target, state, expected) in [
        (&fx.installer, "target", "state", 0),
        (&failing, "target-failing", "state-failing", 5),
    ] {
        let target = fx.ws.path(target);
        let state = fx.ws.path(state);
        let saved = fx.ws.path(&format!("saved-answers-{expected}.json"));
        let mut root = OsString::from("Install.Root=");
        root.push(&target);
        let out = run_with_stdin(
            fx.command_of(installer, "install", &state)
                .env("PROBE_DIR", fx.ws.path("probe"))
                .args(["--secrets-stdin", "--set"])
                .arg(root)
                .arg("--secret")
                .arg(&token)
                .arg("--save-answers")
                .arg(&saved),
            &stdin,
        )
        .code(expected);
        assert_run_has_no_secret(&out, &secrets);
        // The script ran and its lines were scrubbed, not dropped.
        assert!(
            out.stderr.contains("raw Database.Password: ********"),
            "{out:#?}"
        );
        assert!(out.stderr.contains("output: ********"), "{out:#?}");

        let scanned = assert_no_secret_in_dir(&state, &[], &secrets);
        assert!(scanned >= 5, "journal, log, answers, outputs, reports");
        assert_no_secret("--save-answers", &std::fs::read(&saved).unwrap(), &secrets);
        let saved: Value = serde_json::from_slice(&std::fs::read(&saved).unwrap()).unwrap();
        assert!(saved.get("Database.Password").is_none(), "{saved:#}");
        assert!(saved.get("Api.Token").is_none(), "{saved:#}");
        assert_no_secret_in_dir(&fx.ws.path("tmp"), &[], &secrets);
        let probed = assert_no_secret_in_dir(&fx.ws.path("probe"), &[], &secrets);
        assert!(probed >= 3, "the script recorded its argv");

        let settings = [
            target.join("web/config/app.conf"),
            target.join("web/appsettings.json"),
        ];
        if expected == 0 {
            // Only the files the plan substitutes hold the secret.
            for file in &settings {
                let text = std::fs::read_to_string(file).unwrap();
                assert!(
                    text.contains(SECRET) || text.contains(&SECRET.replace('"', "\\\"")),
                    "{}: {text}",
                    file.display()
                );
            }
            assert_no_secret_in_dir(&target, &settings, &secrets);
        } else {
            let report = read_report(&state);
            assert_eq!(report["outcome"], "failed-rolled-back", "{report:#}");
            assert_eq!(
                statuses(&report).last().unwrap(),
                &("Collect diagnostics".to_string(), "succeeded".to_string())
            );
            assert_no_secret_in_dir(&target, &[], &secrets);
            assert!(!settings[0].exists(), "the failed install was rolled back");
        }
        // `report` in every format.
        for format in ["text", "json", "html"] {
            let printed = run(fx
                .command_of(installer, "report", &state)
                .args(["--format", format]))
            .success();
            assert_run_has_no_secret(&printed, &secrets);
        }
    }
}

/// Deploy a package over an older install (overwrites, a fresh directory), substitute files the
/// operator already has, then fail; a `failure` step records that it ran.
fn rollback_fixture() -> Fixture {
    let diag = "DIAG_MARKER";
    let plan = plan_with_steps(json!([
        { "name": "Deploy Web", "type": "deploy-package",
          "package": "Packages/Fabrikam.Site.2.0.0.nupkg",
          "variables-file": "Variables/Fabrikam Offline Drop.Fabrikam Platform.Deploy Fabrikam.Web.variables.json",
          "destination": "#{Install.Root}/web",
          "substitute": ["config/*.conf"], "structured": ["appsettings.json"] },
        { "name": "Settings", "type": "substitute", "directory": "#{Install.Root}/etc",
          "files": ["*.conf"] },
        { "name": "Migrate", "type": "run-script", "syntax": "bash",
          "inline": "echo migrating; exit 3" },
        { "name": "Collect diagnostics", "type": "run-script", "condition": "failure",
          "inline": format!("echo diagnostics > \"$DIAG_DIR/{diag}\"") },
    ]));
    Fixture::with_drop(&plan, |ws| {
        write_nupkg(
            ws,
            "drop/Packages/Fabrikam.Site.2.0.0.nupkg",
            &[
                (
                    "Fabrikam.Site.nuspec",
                    "<?xml version=\"1.0\"?><package><metadata><id>Fabrikam.Site</id><version>2.0.0</version><authors>Fabrikam</authors><description>site</description></metadata></package>",
                ),
                (
                    "appsettings.json",
                    "{ \"Service\": { \"Port\": 8080 }, \"ConnectionStrings\": { \"Main\": \"changeme\" } }\n",
                ),
                (
                    "config/app.conf",
                    "port = #{Service.Port}\npassword = #{Database.Password}\n",
                ),
                ("bin/site.dll", "MZ new binary\n"),
                ("bin/lib/helper.dll", "MZ helper\n"),
            ],
        );
    })
}

fn populate_rollback_target(fx: &Fixture) -> Vec<Entry> {
    let target = fx.target();
    populate_target(&target);
    write_mode(
        &target.join("etc/site.conf"),
        "listen = #{Service.Port}\n",
        0o640,
    );
    write_mode(&target.join("etc/other.txt"), "#{Service.Port}\n", 0o600);
    tree_with_modes(&target)
}

#[test]
fn failed_install_rolls_back_byte_for_byte() {
    let fx = rollback_fixture();
    let before = populate_rollback_target(&fx);
    let diag = fx.ws.path("diag/DIAG_MARKER");

    let out = run(fx
        .command("install")
        .args(fx.answers())
        .env("DIAG_DIR", fx.ws.path("diag")))
    .code(5);
    assert!(
        out.stderr.contains("Migrate") && out.stderr.contains("rolled back"),
        "{out:#?}"
    );
    let report = read_report(&fx.state());
    assert_eq!(report["outcome"], "failed-rolled-back", "{report:#}");
    assert_eq!(
        statuses(&report),
        pairs(&[
            ("Deploy Web", "rolled-back"),
            ("Settings", "rolled-back"),
            ("Migrate", "failed"),
            ("Collect diagnostics", "succeeded"),
        ])
    );
    assert_eq!(report["rollback"]["complete"], true, "{report:#}");
    assert!(diag.is_file(), "the `failure` step ran");
    assert_same_tree(&before, &tree_with_modes(&fx.target()), "after rollback");

    // --no-rollback keeps the changes; `rollback` undoes them later.
    std::fs::remove_file(&diag).unwrap();
    let state = fx.ws.path("state-kept");
    let out = run(fx
        .command_of(&fx.installer, "install", &state)
        .args(fx.answers())
        .arg("--no-rollback")
        .env("DIAG_DIR", fx.ws.path("diag")))
    .code(5);
    assert!(out.stderr.contains("rollback"), "{out:#?}");
    let kept = read_report(&state);
    assert_eq!(kept["outcome"], "failed-not-rolled-back", "{kept:#}");
    let conf = std::fs::read_to_string(fx.target().join("web/config/app.conf")).unwrap();
    assert_eq!(conf, format!("port = 8443\npassword = {SECRET}\n"));
    assert_eq!(
        std::fs::read_to_string(fx.target().join("etc/site.conf")).unwrap(),
        "listen = 8443\n"
    );
    assert!(fx.target().join("web/bin/lib/helper.dll").is_file());
    assert!(diag.is_file(), "the `failure` step ran");

    run(&mut fx.command_of(&fx.installer, "rollback", &state)).success();
    assert_same_tree(
        &before,
        &tree_with_modes(&fx.target()),
        "after `rollback` of a --no-rollback install",
    );
}

#[test]
fn killed_install_resumes_and_report_says_resumed() {
    let fx = Fixture::sample();
    // Parked as the third step (Configure) starts: Preflight and Deploy are done.
    kill_install_at(&fx, &fx.installer, &fx.state(), "step-started:3");
    assert!(fx.target().join("web/config/app.conf").is_file());

    let mut secret = OsString::from("Database.Password=@");
    secret.push(fx.ws.path("secrets/db"));
    let out = run(fx.command("resume").arg("--secret").arg(secret)).success();
    assert!(out.stderr.contains("Install succeeded"), "{out:#?}");
    assert_eq!(
        std::fs::read_to_string(fx.target().join("web/config/app.conf")).unwrap(),
        expected_app_conf("8443")
    );
    assert!(fx.target().join("web/INSTALLED").is_file());
    let report = read_report(&fx.state());
    assert_eq!(report["outcome"], "succeeded", "{report:#}");
    assert_eq!(report["resumed"], true);
    assert_eq!(
        statuses(&report),
        pairs(&[
            ("Preflight", "succeeded"),
            ("Deploy Fabrikam.Web", "succeeded"),
            ("Configure", "succeeded"),
            ("Collect diagnostics", "skipped"),
        ])
    );
    // Steps finished before the kill keep their times from the journal.
    for step in &report["steps"].as_array().unwrap()[..2] {
        assert!(
            step["start"].is_string() && step["end"].is_string(),
            "{step:#}"
        );
        assert!(
            step["duration_s"].as_f64().is_some_and(|d| d >= 0.0),
            "{step:#}"
        );
    }
    assert_no_secret_in_dir(&fx.state(), &[], &[SECRET]);
}

#[test]
fn killed_after_a_package_script_then_rollback_restores_a_snapshotted_destination() {
    // The sample's Deploy.sh writes `INSTALLED` into the destination, which the engine cannot
    // see; the step's `snapshot` of the destination makes rollback restore it whole.
    let mut deploy = deploy_sample_step();
    deploy["snapshot"] = json!(["#{Install.Root}/web"]);
    let fx = Fixture::new(&plan_with_steps(json!([deploy, { "name": "Configure",
        "type": "run-script", "syntax": "bash", "inline": "echo configured" }])));
    let before = populate_target(&fx.target());
    kill_install_at(&fx, &fx.installer, &fx.state(), "step-finished:1");
    assert!(fx.target().join("web/INSTALLED").is_file(), "Deploy.sh ran");
    run(&mut fx.command("rollback")).success();
    assert_same_tree(
        &before,
        &tree_with_modes(&fx.target()),
        "after `rollback` of a snapshotted destination",
    );
}

/// Kill points inside the deploy step of the sample over an older install: a change journaled
/// but not made, a file moved aside with its new content not yet written, a file rewritten, and
/// the step finished.
const KILL_POINTS: &[&str] = &[
    "after-record:1",
    "after-backup:1",
    "after-backup:2",
    "after-change:1",
    "after-change:2",
];

#[test]
fn killed_install_then_rollback_restores_the_tree_at_every_kill_point() {
    let fx = Fixture::sample();
    for checkpoint in KILL_POINTS {
        let target = fx.target();
        if target.exists() {
            std::fs::remove_dir_all(&target).unwrap();
        }
        let before = populate_target(&target);
        let state = fx
            .ws
            .path(&format!("state-{}", checkpoint.replace(':', "-")));
        kill_install_at(&fx, &fx.installer, &state, checkpoint);
        let out = run(&mut fx.command_of(&fx.installer, "rollback", &state));
        assert_eq!(out.code, Some(0), "rollback after {checkpoint}: {out:#?}");
        assert_same_tree(
            &before,
            &tree_with_modes(&target),
            &format!("after `rollback` of an install killed at {checkpoint}"),
        );
    }
}

/// The target as an install leaves it, comparable across runs: backups (named by change id)
/// left out, and the time `Deploy.sh` writes into `INSTALLED` blanked.
fn installed_tree(target: &Path) -> Vec<Entry> {
    tree_with_modes(target)
        .into_iter()
        .filter(|e| !e.path.to_string_lossy().contains(".dropship-"))
        .map(|mut e| {
            if e.path.ends_with("INSTALLED") {
                e.contents = Some(b"installed (time)".to_vec());
            }
            e
        })
        .collect()
}

/// The sample plan with its deploy step's destination snapshotted (`Deploy.sh` writes into it).
fn snapshotted_sample_plan() -> Value {
    let mut plan = sample_plan();
    plan["steps"][1]["snapshot"] = json!(["#{Install.Root}/web"]);
    plan
}

#[test]
fn killed_install_resumes_to_the_same_result_at_every_kill_point() {
    let fx = Fixture::new(&snapshotted_sample_plan());
    let target = fx.target();
    let before = populate_target(&target);
    let mut secret = OsString::from("Database.Password=@");
    secret.push(fx.ws.path("secrets/db"));

    // The uninterrupted install is the reference; `rollback` of a finished install undoes it.
    let reference_state = fx.ws.path("state-reference");
    run(fx
        .command_of(&fx.installer, "install", &reference_state)
        .args(fx.answers()))
    .success();
    let reference = installed_tree(&target);
    run(&mut fx.command_of(&fx.installer, "rollback", &reference_state)).success();
    assert_same_tree(
        &before,
        &tree_with_modes(&target),
        "after `rollback` of a finished install",
    );

    // The destination's snapshot journaled but not taken; a file moved aside with its new
    // content not yet written; a settings file rewritten; a step done but not journaled as done.
    for checkpoint in [
        "after-record:1",
        "after-backup:1",
        "after-change:2",
        "step-finished:2",
        "step-finished:3",
    ] {
        let state = fx
            .ws
            .path(&format!("state-{}", checkpoint.replace(':', "-")));
        kill_install_at(&fx, &fx.installer, &state, checkpoint);
        let out = run(fx
            .command_of(&fx.installer, "resume", &state)
            .arg("--secret")
            .arg(&secret));
        assert_eq!(out.code, Some(0), "resume after {checkpoint}: {out:#?}");
        assert_eq!(read_report(&state)["resumed"], true);
        assert_same_tree(
            &reference,
            &installed_tree(&target),
            &format!("after `resume` of an install killed at {checkpoint}"),
        );
        let out = run(&mut fx.command_of(&fx.installer, "rollback", &state));
        assert_eq!(out.code, Some(0), "rollback after {checkpoint}: {out:#?}");
        assert_same_tree(
            &before,
            &tree_with_modes(&target),
            &format!("after `rollback` of a resumed install killed at {checkpoint}"),
        );
    }
}

#[test]
fn killed_during_rollback_then_rollback_or_resume_finishes_it() {
    let fx = rollback_fixture();
    let before = populate_rollback_target(&fx);
    // `rollback` succeeds; `resume` finishes the rollback and reports the failed install (5).
    for (checkpoint, finish, code) in [
        ("after-undo:2", "rollback", 0),
        ("after-undo:5", "resume", 5),
    ] {
        let state = fx
            .ws
            .path(&format!("state-{}", checkpoint.replace(':', "-")));
        let marker = fx
            .ws
            .path(&format!("marker-{}", checkpoint.replace(':', "-")));
        let mut child = spawn(
            fx.command_of(&fx.installer, "install", &state)
                .args(fx.answers())
                .env("DIAG_DIR", fx.ws.path("diag"))
                .env("DROPSHIP_TEST_CHECKPOINT", checkpoint)
                .env("DROPSHIP_TEST_CHECKPOINT_MARKER", &marker),
            &fx.ws,
            "killed-in-rollback",
        );
        wait_for_file(&marker, &mut child, Duration::from_secs(30));
        child.kill().expect("SIGKILL");
        child.wait().expect("wait");
        let mut command = fx.command_of(&fx.installer, finish, &state);
        if finish == "resume" {
            command.args(fx.answers());
        }
        let out = run(&mut command);
        assert_eq!(
            out.code,
            Some(code),
            "`{finish}` after a kill at {checkpoint}: {out:#?}"
        );
        assert_same_tree(
            &before,
            &tree_with_modes(&fx.target()),
            &format!("after `{finish}` of a rollback killed at {checkpoint}"),
        );
    }
}

#[test]
fn interrupted_install_rolls_back() {
    // Ctrl-C (SIGINT) while a step runs: the script is stopped and every change undone.
    let mut plan = snapshotted_sample_plan();
    plan["steps"].as_array_mut().unwrap().insert(
        2,
        json!({ "name": "Wait", "type": "run-script", "syntax": "bash",
                "inline": "touch \"$MARKER\"; sleep 30" }),
    );
    let fx = Fixture::new(&plan);
    let before = populate_target(&fx.target());
    let marker = fx.ws.path("marker-wait");
    let mut child = spawn(
        fx.command("install")
            .args(fx.answers())
            .env("MARKER", &marker),
        &fx.ws,
        "interrupted",
    );
    wait_for_file(&marker, &mut child, Duration::from_secs(30));
    run(Command::new("kill").args(["-INT", &child.id().to_string()])).success();
    let status = child.wait().expect("wait");
    let stderr = std::fs::read_to_string(fx.ws.path("interrupted.stderr")).unwrap();
    assert_eq!(status.code(), Some(5), "{stderr}");
    let report = read_report(&fx.state());
    assert_eq!(report["outcome"], "failed-rolled-back", "{report:#}");
    assert_eq!(report["steps"][2]["status"], "failed", "{report:#}");
    assert_same_tree(&before, &tree_with_modes(&fx.target()), "after Ctrl-C");
}

#[test]
fn second_install_keeps_the_first_undoable_and_rollback_returns_to_it() {
    let fx = Fixture::sample();
    fx.install(&["--set", "Service.Port=9001"]).success();
    let first = installed_tree(&fx.target());
    fx.install(&["--set", "Service.Port=9002", "--reinstall"])
        .success();
    let conf = fx.target().join("web/config/app.conf");
    assert_eq!(
        std::fs::read_to_string(&conf).unwrap(),
        expected_app_conf("9002")
    );
    let kept = std::fs::read_dir(fx.state().join("kept"))
        .expect("the first journal waits in kept/ (`rollback --to`)")
        .count();
    assert_eq!(kept, 1);
    let copies = std::fs::read_dir(fx.state().join("installers"))
        .expect("a copy of the installer")
        .count();
    assert_eq!(copies, 1, "one copy for two installs of one installer");

    run(&mut fx.command("rollback")).success();
    assert_eq!(
        std::fs::read_to_string(&conf).unwrap(),
        expected_app_conf("9001")
    );
    assert_same_tree(
        &first,
        &installed_tree(&fx.target()),
        "after `rollback` of the second install",
    );
    let left: Vec<_> = tree_with_modes(&fx.target())
        .into_iter()
        .filter(|e| e.path.to_string_lossy().contains(".dropship-"))
        .collect();
    assert!(left.is_empty(), "backups left behind: {left:#?}");
}

#[test]
fn killed_while_a_script_runs_leaves_no_secret_on_disk_and_resumes() {
    // The script holds the secret when the installer is SIGKILLed: whatever the installer
    // prepared for it (private directory, variables) must not leave the secret on disk.
    let mut plan = snapshotted_sample_plan();
    plan["steps"].as_array_mut().unwrap().insert(
        2,
        json!({ "name": "Wait", "type": "run-script", "syntax": "bash",
                "inline": "pw=\"$(get_octopusvariable Database.Password)\"\ntouch \"$MARKER\"\n\
                           for _ in $(seq 600); do [ -e \"$RELEASE\" ] && break; sleep 0.05; done\n\
                           test -n \"$pw\"" }),
    );
    let fx = Fixture::new(&plan);
    let marker = fx.ws.path("marker-script");
    let release = fx.ws.path("release");
    let mut child = spawn(
        fx.command("install")
            .args(fx.answers())
            .env("MARKER", &marker)
            .env("RELEASE", &release),
        &fx.ws,
        "killed-in-script",
    );
    wait_for_file(&marker, &mut child, Duration::from_secs(30));
    child.kill().expect("SIGKILL");
    child.wait().expect("wait");
    let on_disk = assert_no_secret_in_dir(&fx.ws.path("tmp"), &[], &[SECRET])
        + assert_no_secret_in_dir(&fx.state(), &[], &[SECRET]);
    assert!(on_disk > 0, "the installer had written its state");
    // Let the orphaned script end.
    std::fs::write(&release, "").unwrap();

    let mut secret = OsString::from("Database.Password=@");
    secret.push(fx.ws.path("secrets/db"));
    let out = run(fx
        .command("resume")
        .arg("--secret")
        .arg(secret)
        .env("MARKER", fx.ws.path("marker-resumed"))
        .env("RELEASE", &release))
    .success();
    assert_run_has_no_secret(&out, &[SECRET]);
    assert_eq!(read_report(&fx.state())["resumed"], true);
    assert_eq!(
        std::fs::read_to_string(fx.target().join("web/config/app.conf")).unwrap(),
        expected_app_conf("8443")
    );
}

#[test]
fn resume_with_another_installer_is_refused() {
    let fx = Fixture::sample();
    fx.ws.write(
        "customer.json",
        r#"{ "name": "Northwind", "roles": ["web"] }"#,
    );
    let other = build(&fx.ws, &sample_plan(), "installer-other");
    kill_install_at(&fx, &fx.installer, &fx.state(), "step-started:2");

    let mut secret = OsString::from("Database.Password=@");
    secret.push(fx.ws.path("secrets/db"));
    let refused = run(fx
        .command_of(&other, "resume", &fx.state())
        .arg("--secret")
        .arg(&secret));
    assert_eq!(refused.code, Some(2), "{refused:#?}");
    assert!(
        refused.stderr.contains("started by another installer"),
        "the refusal says why: {refused:#?}"
    );
    assert!(!fx.target().join("web/INSTALLED").exists());

    // The journal is intact: the right installer still resumes.
    run(fx.command("resume").arg("--secret").arg(&secret)).success();
    assert_eq!(read_report(&fx.state())["resumed"], true);
}

#[test]
fn invalid_answers_are_refused_before_any_step() {
    let fx = Fixture::sample();
    let target = fx.target();
    let mut secret = OsString::from("Database.Password=@");
    secret.push(fx.ws.path("secrets/db"));

    let check = |out: Run, expect: &[&str]| {
        let out = out.code(2);
        for text in expect {
            assert!(out.stderr.contains(text), "expected {text:?}: {out:#?}");
        }
        assert!(!target.exists(), "nothing created in the target");
        assert!(!fx.state().join("journal.jsonl").exists(), "no journal");
    };

    // An unknown name: the message lists the valid ones.
    let answers = fx.ws.write(
        "unknown.json",
        serde_json::to_string(&json!({ "Install.Root": target, "Instal.Root": "/x" })).unwrap(),
    );
    check(
        run(fx
            .command("install")
            .arg("--answers")
            .arg(&answers)
            .arg("--secret")
            .arg(&secret)),
        &[
            "Instal.Root",
            "Install.Root",
            "Database.Password",
            "Service.Port",
        ],
    );

    // A secret on the command line: refused, told how, and never echoed.
    let mut root = OsString::from("Install.Root=");
    root.push(&target);
    let out = run(fx
        .command("install")
        .arg("--set")
        .arg(&root)
        .arg("--set")
        .arg(format!("Database.Password={SECRET}")));
    assert_run_has_no_secret(&out, &[SECRET]);
    check(
        out,
        &["--secret Database.Password=@FILE", "--secrets-stdin"],
    );

    // A wrong type.
    check(
        run(fx
            .command("install")
            .args(fx.answers())
            .args(["--set", "Service.Port=eighty"])),
        &["Service.Port", "eighty"],
    );
    let answers = fx.ws.write(
        "wrong-type.json",
        serde_json::to_string(&json!({ "Install.Root": target, "Service.Port": [443] })).unwrap(),
    );
    check(
        run(fx
            .command("install")
            .arg("--answers")
            .arg(&answers)
            .arg("--secret")
            .arg(&secret)),
        &["Service.Port"],
    );

    // A required answer missing.
    check(
        run(fx.command("install").arg("--set").arg(&root)),
        &["Database.Password"],
    );
}

#[test]
fn failing_check_stops_before_any_change() {
    let mut steps = vec![json!({ "name": "Preflight", "type": "check",
        "checks": [ { "disk-free": { "path": "#{Install.Root}", "min-mb": 999_999_999_999u64 } } ] })];
    steps.push(deploy_sample_step());
    let fx = Fixture::new(&plan_with_steps(Value::Array(steps)));
    let before = populate_target(&fx.target());
    let out = fx.install(&[]).code(5);
    assert!(out.stderr.contains("check failed"), "{out:#?}");
    assert_same_tree(
        &before,
        &tree_with_modes(&fx.target()),
        "after a failed check",
    );
    let report = read_report(&fx.state());
    assert_eq!(
        statuses(&report),
        pairs(&[("Preflight", "failed"), ("Deploy Fabrikam.Web", "skipped")])
    );
}

#[test]
fn manual_step_needs_approval_unattended() {
    let fx = Fixture::new(&plan_with_steps(json!([
        { "name": "Open firewall", "type": "manual",
          "instructions": "Open port #{Service.Port} to the web tier." },
        deploy_sample_step(),
    ])));
    let out = fx.install(&[]).code(5);
    assert!(
        out.stderr.contains("--approve \"Open firewall\""),
        "{out:#?}"
    );
    assert!(!fx.target().exists(), "nothing installed");

    let state = fx.ws.path("state-approved");
    let out = run(fx
        .command_of(&fx.installer, "install", &state)
        .args(fx.answers())
        .args(["--approve", "Open firewall"]))
    .success();
    assert!(out.stderr.contains("approved"), "{out:#?}");
    assert_eq!(
        std::fs::read_to_string(fx.target().join("web/config/app.conf")).unwrap(),
        expected_app_conf("8443")
    );
}

#[test]
fn dry_run_changes_nothing_and_redacts_secrets() {
    let fx = Fixture::sample();
    let before = populate_target(&fx.target());
    let out = run(fx.command("plan").args(fx.answers())).success();
    assert_run_has_no_secret(&out, &[SECRET]);
    assert!(out.stdout.contains("nothing will be changed"), "{out:#?}");
    // A diff of the settings file against the one on the target, the secret redacted.
    assert!(out.stdout.contains("-port = 1"), "{out:#?}");
    assert!(out.stdout.contains("+port = 8443"), "{out:#?}");
    assert!(out.stdout.contains("+db.password = ********"), "{out:#?}");
    // Structured variables too, and the package's scripts.
    assert!(
        out.stdout.contains("configures `appsettings.json`:")
            && out
                .stdout
                .contains(r#"+    "Main": "Server=db;Password=********""#),
        "{out:#?}"
    );
    assert!(
        out.stdout.contains("runs `Deploy.sh` from the package"),
        "{out:#?}"
    );
    assert_same_tree(&before, &tree_with_modes(&fx.target()), "after a dry run");
    assert!(
        !fx.state().join("journal.jsonl").exists(),
        "a dry run journals nothing"
    );
    assert_no_secret_in_dir(&fx.ws.path("tmp"), &[], &[SECRET]);
}
