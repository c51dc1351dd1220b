//! Upgrades: successive installers built from one drop over the same state directory. The
//! installed version's answers are kept and new ones asked for, downgrades and unsupported
//! upgrades refused, the steps told what they follow, and `rollback` of an upgrade puts the
//! previous version and its answers back. No secret reaches the installed state.

use crate::fixture::{
    Fixture, SECRET, assert_no_secret, build, expected_app_conf, read_report, sample_plan,
    write_nupkg,
};
use crate::support::{Run, Workspace};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// The sample plan at `version`.
fn plan_at(version: &str) -> Value {
    let mut plan = sample_plan();
    plan["product"]["version"] = json!(version);
    plan
}

/// An installer of `plan` built into the fixture's workspace (same drop, key and customer).
fn installer(fx: &Fixture, plan: &Value, name: &str) -> PathBuf {
    build(&fx.ws, plan, name)
}

/// `install` of `installer` over the fixture's state directory with only the secret given:
/// every other answer must come from the installed version (or `extra`).
fn upgrade(fx: &Fixture, installer: &Path, extra: &[&str]) -> Run {
    upgrade_with_secret(fx, installer, "secrets/db", extra)
}

/// [`upgrade`] with the database password read from the workspace file `secret_file`.
fn upgrade_with_secret(fx: &Fixture, installer: &Path, secret_file: &str, extra: &[&str]) -> Run {
    let mut secret = std::ffi::OsString::from("Database.Password=@");
    secret.push(fx.ws.path(secret_file));
    crate::support::run(
        fx.command_of(installer, "install", &fx.state())
            .arg("--secret")
            .arg(secret)
            .args(extra),
    )
}

fn installed(fx: &Fixture) -> Value {
    let text = std::fs::read_to_string(fx.state().join("installed.json")).expect("installed.json");
    serde_json::from_str(&text).expect("installed.json is JSON")
}

fn app_conf(fx: &Fixture) -> String {
    std::fs::read_to_string(fx.target().join("web/config/app.conf")).expect("app.conf")
}

/// The files of the state directory that describe the install (not the transaction's backups,
/// which hold the replaced files' own bytes until the next install commits): no secret.
#[track_caller]
fn assert_state_has_no_secret(fx: &Fixture) {
    assert_state_has_none_of(fx, &[SECRET]);
}

#[track_caller]
fn assert_state_has_none_of(fx: &Fixture, secrets: &[&str]) {
    for name in [
        "installed.json",
        "answers.json",
        "report.json",
        "report.txt",
        "report.html",
        "install.log",
        "journal.jsonl",
    ] {
        if let Ok(bytes) = std::fs::read(fx.state().join(name)) {
            assert_no_secret(name, &bytes, secrets);
        }
    }
}

fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

#[test]
fn an_upgrade_keeps_the_answers_refuses_a_missing_new_one_and_says_what_changed() {
    let fx = Fixture::sample();
    fx.install(&["--set", "Service.Port=9443"]).success();
    let mut next = plan_at("4.13.0");
    next["parameters"]
        .as_array_mut()
        .expect("parameters")
        .push(json!({ "name": "Service.Region", "type": "text" }));
    let v413 = installer(&fx, &next, "installer-4.13.0");

    let refused = upgrade(&fx, &v413, &[]).code(2);
    assert!(
        refused
            .stderr
            .contains("`Service.Region` needs an answer, new since 4.12.0"),
        "{}",
        refused.stderr
    );
    assert!(
        !refused.stderr.contains("Install.Root"),
        "only the new parameter is missing: {}",
        refused.stderr
    );
    assert_eq!(installed(&fx)["version"], "4.12.0", "nothing changed");
    assert_eq!(app_conf(&fx), expected_app_conf("9443"));

    let done = upgrade(&fx, &v413, &["--set", "Service.Region=eu"]).success();
    assert!(
        done.stderr
            .contains("Upgrade Fabrikam Platform 4.12.0 → 4.13.0"),
        "{}",
        done.stderr
    );
    // The customer's directory and port, not the plan's defaults (/opt/fabrikam, 8443).
    assert_eq!(app_conf(&fx), expected_app_conf("9443"));
    let report = read_report(&fx.state());
    let upgrade = &report["upgrade"];
    assert_eq!(
        (&upgrade["mode"], &upgrade["from"], &upgrade["to"]),
        (&json!("upgrade"), &json!("4.12.0"), &json!("4.13.0"))
    );
    assert_eq!(
        strings(&upgrade["answers"]["kept"]),
        ["Install.Root", "Service.Port"]
    );
    assert_eq!(strings(&upgrade["answers"]["new"]), ["Service.Region"]);
    assert_eq!(
        strings(&upgrade["answers"]["asked_again"]),
        ["Database.Password"]
    );
    let now = installed(&fx);
    assert_eq!(now["version"], "4.13.0");
    assert_eq!(now["answers"]["Service.Region"], "eu");
    let package = &now["packages"][0];
    assert_eq!(package["id"], "Fabrikam.Web");
    assert_eq!(
        package["path"],
        json!(fx.target().join("web").display().to_string())
    );
    assert_eq!(package["custom-directory"], true);
    assert_state_has_no_secret(&fx);
}

#[test]
fn a_downgrade_a_reinstall_and_an_unsupported_upgrade_need_the_operators_word() {
    let fx = Fixture::sample();
    fx.install(&[]).success();

    let again = fx.install(&[]).code(2);
    assert!(again.stderr.contains("--reinstall"), "{}", again.stderr);
    fx.install(&["--reinstall"]).success();
    assert_eq!(read_report(&fx.state())["upgrade"]["mode"], "reinstall");

    let older = installer(&fx, &plan_at("4.11.0"), "installer-4.11.0");
    let refused = upgrade(&fx, &older, &[]).code(2);
    assert!(
        refused.stderr.contains("a downgrade is refused")
            && refused.stderr.contains("--allow-downgrade"),
        "{}",
        refused.stderr
    );
    assert_eq!(installed(&fx)["version"], "4.12.0");
    upgrade(&fx, &older, &["--allow-downgrade"]).success();
    assert_eq!(read_report(&fx.state())["upgrade"]["mode"], "downgrade");
    assert_eq!(installed(&fx)["version"], "4.11.0");

    let dry = crate::support::run(fx.command("plan").args(fx.answers())).success();
    assert!(
        dry.stdout
            .contains("Dry run: Upgrade Fabrikam Platform 4.11.0 → 4.12.0"),
        "{}",
        dry.stdout
    );

    let mut five = plan_at("5.0.0");
    five["upgrade"] = json!({ "from": ">=4.12" });
    let five = installer(&fx, &five, "installer-5.0.0");
    let unsupported = upgrade(&fx, &five, &[]).code(2);
    assert!(
        unsupported
            .stderr
            .contains("upgrades only from versions `>=4.12`, and 4.11.0 is installed"),
        "{}",
        unsupported.stderr
    );
    assert_eq!(installed(&fx)["version"], "4.11.0");
}

/// A package whose `PreDeploy.sh` appends what Calamari's variables say about the previous
/// installation to `probe/vars`.
fn probing_package(ws: &Workspace, version: &str) {
    let probe = ws.path("probe/vars");
    let script = format!(
        "v() {{ get_octopusvariable \"$1\"; }}\n\
         echo \"$(v Dropship.Upgrade.Mode)|$(v Dropship.Upgrade.FromVersion)|\
         $(v Octopus.Tentacle.PreviousInstallation.PackageVersion)|\
         $(v Octopus.Tentacle.PreviousInstallation.OriginalInstalledPath)|\
         $(v Octopus.Tentacle.PreviousSuccessfulInstallation.CustomInstallationDirectory)\" >> '{}'\n",
        probe.display()
    );
    write_nupkg(
        ws,
        &format!("drop/Packages/Fabrikam.Tools.{version}.nupkg"),
        &[("PreDeploy.sh", &script), ("tool.txt", version)],
    );
}

fn tools_plan(version: &str) -> Value {
    let mut plan = plan_at(version);
    plan["steps"] = json!([{
        "name": "Deploy tools", "type": "deploy-package",
        "package": format!("Packages/Fabrikam.Tools.{version}.nupkg"),
        "destination": "#{Install.Root}/tools"
    }]);
    plan
}

#[test]
fn package_scripts_see_the_previous_installation_as_calamari_sets_it() {
    let fx = Fixture::with_drop(&tools_plan("1.0.0"), |ws| {
        probing_package(ws, "1.0.0");
        probing_package(ws, "1.1.0");
    });
    fx.install(&[]).success();
    let second = installer(&fx, &tools_plan("1.1.0"), "installer-1.1.0");
    upgrade(&fx, &second, &[]).success();
    let tools = fx.target().join("tools").display().to_string();
    let probe = std::fs::read_to_string(fx.ws.path("probe/vars")).expect("probe");
    assert_eq!(
        probe.lines().collect::<Vec<_>>(),
        ["fresh||||", &format!("upgrade|1.0.0|1.0.0|{tools}|{tools}")]
    );
    assert_eq!(
        std::fs::read_to_string(fx.target().join("tools/tool.txt")).expect("tool"),
        "1.1.0"
    );
}

#[test]
fn rolling_back_an_upgrade_puts_the_previous_version_and_its_answers_back() {
    let fx = Fixture::sample();
    fx.install(&["--set", "Service.Port=9443"]).success();
    let v413 = installer(&fx, &plan_at("4.13.0"), "installer-4.13.0");
    upgrade(&fx, &v413, &["--set", "Service.Port=9555"]).success();
    assert_eq!(app_conf(&fx), expected_app_conf("9555"));
    let report = read_report(&fx.state());
    assert_eq!(
        strings(&report["upgrade"]["answers"]["changed"]),
        ["Service.Port"]
    );
    let back = report["upgrade"]["back"].as_str().expect("the way back");
    assert!(
        back.contains(" rollback --to 4.12.0 --state-dir "),
        "{back}"
    );

    crate::support::run(&mut fx.command_of(&v413, "rollback", &fx.state())).success();
    assert_eq!(app_conf(&fx), expected_app_conf("9443"));
    assert_eq!(installed(&fx)["version"], "4.12.0");

    // 4.12.0's answers again: port 9443 without being told.
    upgrade(&fx, &v413, &[]).success();
    assert_eq!(app_conf(&fx), expected_app_conf("9443"));
    let report = read_report(&fx.state());
    assert_eq!(report["upgrade"]["from"], "4.12.0");
    assert_state_has_no_secret(&fx);
}

/// The sample plan at `version` with a last step whose rollback script appends
/// `undone VERSION` to the workspace's `undone.txt`: which plan's script ran, in which order.
fn marking_plan(fx: &Fixture, version: &str) -> Value {
    let mut plan = plan_at(version);
    let marks = fx.ws.path("undone.txt");
    let mark = format!("echo 'undone {version}' >> '{}'", marks.display());
    let step = json!({
        "name": "Mark", "type": "run-script", "inline": "true",
        "rollback": { "inline": mark }
    });
    plan["steps"].as_array_mut().expect("steps").push(step);
    plan
}

fn marks(fx: &Fixture) -> Vec<String> {
    let text = std::fs::read_to_string(fx.ws.path("undone.txt")).unwrap_or_default();
    text.lines().map(str::to_string).collect()
}

fn rollback_to(fx: &Fixture, installer: &Path, version: &str) -> Run {
    crate::support::run(
        fx.command_of(installer, "rollback", &fx.state())
            .args(["--to", version]),
    )
}

#[test]
fn rollback_to_goes_back_one_and_two_versions_each_install_undone_by_its_own_installer() {
    let fx = Fixture::sample();
    let v412 = installer(&fx, &marking_plan(&fx, "4.12.0"), "installer-4.12.0");
    let v413 = installer(&fx, &marking_plan(&fx, "4.13.0"), "installer-4.13.0");
    let v414 = installer(&fx, &marking_plan(&fx, "4.14.0"), "installer-4.14.0");
    crate::support::run(
        fx.command_of(&v412, "install", &fx.state())
            .args(fx.answers())
            .args(["--set", "Service.Port=9443"]),
    )
    .success();
    let original = app_conf(&fx);

    // One version back.
    upgrade(&fx, &v413, &["--set", "Service.Port=9555"]).success();
    rollback_to(&fx, &v413, "4.12.0").success();
    assert_eq!(marks(&fx), ["undone 4.13.0"]);
    assert_eq!(app_conf(&fx), original);
    assert_eq!(installed(&fx)["version"], "4.12.0");

    // Two versions back, from the newest installer: 4.13.0 is undone by its kept copy.
    upgrade(&fx, &v413, &["--set", "Service.Port=9555"]).success();
    upgrade(&fx, &v414, &["--set", "Service.Port=9666"]).success();
    assert_eq!(app_conf(&fx), expected_app_conf("9666"));
    let report = read_report(&fx.state());
    let back = report["upgrade"]["back"].as_str().expect("the way back");
    assert!(back.contains(" rollback --to 4.13.0 "), "{back}");
    let far = rollback_to(&fx, &v414, "4.11.0").code(2);
    assert!(far.stderr.contains("cannot be put back"), "{}", far.stderr);
    assert_eq!(
        app_conf(&fx),
        expected_app_conf("9666"),
        "a refusal changes nothing"
    );

    std::fs::remove_file(fx.ws.path("undone.txt")).expect("marks");
    let back = rollback_to(&fx, &v414, "4.12.0").success();
    assert_eq!(
        marks(&fx),
        ["undone 4.14.0", "undone 4.13.0"],
        "{}",
        back.stderr
    );
    assert_eq!(app_conf(&fx), original);
    assert_eq!(installed(&fx)["version"], "4.12.0");
    let answers: Value = serde_json::from_slice(
        &std::fs::read(fx.state().join("answers.json")).expect("answers.json"),
    )
    .expect("answers JSON");
    assert_eq!(
        answers["Service.Port"], "9443",
        "4.12.0's answers are current again"
    );
    rollback_to(&fx, &v414, "4.12.0").success();
    assert_eq!(marks(&fx).len(), 2, "once there, nothing more is undone");

    // 4.12.0 is the current install again: the next upgrade keeps its answers.
    upgrade(&fx, &v413, &[]).success();
    assert_eq!(app_conf(&fx), expected_app_conf("9443"));
    assert_state_has_no_secret(&fx);
}

#[test]
fn keep_limits_how_far_back_rollback_to_goes_and_retention_is_reported() {
    let fx = Fixture::sample();
    let v413 = installer(&fx, &plan_at("4.13.0"), "installer-4.13.0");
    let v414 = installer(&fx, &plan_at("4.14.0"), "installer-4.14.0");
    fx.install(&[]).success();
    upgrade(&fx, &v413, &[]).success();
    assert_eq!(count(&fx.state().join("kept")), 1, "4.12.0 is kept");
    assert_eq!(count(&fx.state().join("installers")), 2);

    let run = upgrade(&fx, &v414, &["--keep", "1"]).success();
    assert!(
        run.stderr
            .contains("made final (no longer undoable): 4.12.0"),
        "{}",
        run.stderr
    );
    let report = read_report(&fx.state());
    let retired = report["upgrade"]["retention"]
        .as_array()
        .expect("retention");
    let versions: Vec<&str> = retired
        .iter()
        .filter_map(|r| r["version"].as_str())
        .collect();
    assert_eq!(versions, ["4.12.0", "4.13.0"]);
    assert!(
        retired
            .iter()
            .all(|r| r["backups_removed"].as_u64() > Some(0)),
        "{retired:?}"
    );
    let text = std::fs::read_to_string(fx.state().join("report.txt")).expect("report.txt");
    assert!(
        text.contains("made final (no longer undoable): 4.13.0"),
        "{text}"
    );
    assert_eq!(count(&fx.state().join("kept")), 0);
    assert_eq!(
        count(&fx.state().join("installers")),
        0,
        "--keep 1 keeps no copy"
    );
    let backups = std::fs::read_dir(fx.state().join("backups")).expect("backups");
    assert_eq!(
        backups.count(),
        1,
        "only the latest install's backups are left"
    );

    let refused = rollback_to(&fx, &v414, "4.12.0").code(2);
    assert!(
        refused.stderr.contains("lead back to 4.13.0 at most"),
        "{}",
        refused.stderr
    );
    rollback_to(&fx, &v414, "4.13.0").success();
    assert_eq!(installed(&fx)["version"], "4.13.0");
    assert_state_has_no_secret(&fx);
}

/// Where `rollback --to` is killed: in the newest install's own undo (its rollback script
/// journaled, then a change undone), and between two installs (the older one made current).
const WAY_BACK_KILL_POINTS: [&str; 3] = [
    "rollback-script-started:1",
    "after-undo:1",
    "install-made-current:1",
];

#[test]
fn rollback_to_killed_anywhere_is_finished_by_running_it_again() {
    for point in WAY_BACK_KILL_POINTS {
        let fx = Fixture::sample();
        let v413 = installer(&fx, &marking_plan(&fx, "4.13.0"), "installer-4.13.0");
        let v414 = installer(&fx, &marking_plan(&fx, "4.14.0"), "installer-4.14.0");
        fx.install(&["--set", "Service.Port=9443"]).success();
        let original = app_conf(&fx);
        upgrade(&fx, &v413, &["--set", "Service.Port=9555"]).success();
        upgrade(&fx, &v414, &["--set", "Service.Port=9666"]).success();

        let marker = fx.ws.path("marker");
        let mut parent = crate::fixture::spawn(
            fx.command_of(&v414, "rollback", &fx.state())
                .args(["--to", "4.12.0"])
                .env("DROPSHIP_TEST_CHECKPOINT", point)
                .env("DROPSHIP_TEST_CHECKPOINT_MARKER", &marker),
            &fx.ws,
            "killed-way-back",
        );
        crate::support::wait_for_file(&marker, &mut parent, std::time::Duration::from_secs(30));
        // Whichever process parked (the walk back or the undo it runs) dies.
        for pid in children(parent.id()) {
            let _ = std::process::Command::new("kill")
                .args(["-9", &pid])
                .status();
        }
        let _ = parent.kill();
        let status = parent.wait().expect("wait");
        assert_ne!(status.code(), Some(0), "{point}: stopped before the end");
        assert_ne!(app_conf(&fx), original, "{point}: not back yet");

        let again = rollback_to(&fx, &v414, "4.12.0");
        assert_eq!(again.code, Some(0), "{point}: {again:#?}");
        assert_eq!(app_conf(&fx), original, "{point}");
        assert_eq!(installed(&fx)["version"], "4.12.0", "{point}");
        let undone = marks(&fx);
        assert!(
            undone.iter().filter(|m| *m == "undone 4.13.0").count() == 1
                && undone.contains(&"undone 4.14.0".to_string()),
            "{point}: each install's rollback script ran (4.13.0's once): {undone:?}"
        );
        assert_state_has_no_secret(&fx);
    }
}

/// The processes `pid` started (Linux's `/proc`).
fn children(pid: u32) -> Vec<String> {
    let path = format!("/proc/{pid}/task/{pid}/children");
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.split_whitespace().map(str::to_string).collect()
}

fn count(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, Iterator::count)
}

/// A package of settings files: `(name, content)`; `#{Database.Password}` is substituted.
fn settings_package(ws: &Workspace, version: &str, files: &[(&str, &str)]) {
    write_nupkg(
        ws,
        &format!("drop/Packages/Fabrikam.Settings.{version}.nupkg"),
        files,
    );
}

fn settings_plan(version: &str) -> Value {
    let mut plan = plan_at(version);
    plan["steps"] = json!([{
        "name": "Deploy settings", "type": "deploy-package",
        "package": format!("Packages/Fabrikam.Settings.{version}.nupkg"),
        "destination": "#{Install.Root}/settings",
        "substitute": ["**/*.conf", "**/*.json"],
        "config-files": [
            { "path": "keep/*.conf", "on-upgrade": "keep" },
            { "path": "replace/*.conf", "on-upgrade": "replace" },
            { "path": "merge/*.json", "on-upgrade": "merge" }
        ]
    }]);
    plan
}

#[test]
fn edited_settings_files_are_kept_or_replaced_as_the_plan_says_and_rolled_back() {
    let fx = Fixture::with_drop(&settings_plan("1.0.0"), |ws| {
        settings_package(
            ws,
            "1.0.0",
            &[
                ("keep/unedited.conf", "one\n"),
                ("keep/same.conf", "same #{Database.Password}\n"),
                ("keep/changed.conf", "old #{Database.Password}\n"),
                ("replace/changed.conf", "old\n"),
                ("keep/dropped.conf", "gone in 1.1.0\n"),
                (
                    "merge/settings.json",
                    r##"{"port": "#{Service.Port}", "log": "info", "db": "#{Database.Password | JsonEscape}"}"##,
                ),
            ],
        );
        settings_package(
            ws,
            "1.1.0",
            &[
                ("keep/unedited.conf", "two\n"),
                ("keep/same.conf", "same #{Database.Password}\n"),
                ("keep/changed.conf", "new #{Database.Password}\n"),
                ("replace/changed.conf", "new\n"),
                (
                    "merge/settings.json",
                    r##"{"port": "#{Service.Port}", "log": "warn", "timeout": 30, "db": "#{Database.Password | JsonEscape}"}"##,
                ),
            ],
        );
    });
    fx.install(&[]).success();
    let dir = fx.target().join("settings");
    let edits = [
        ("keep/same.conf", "same, tuned by the customer\n"),
        ("keep/changed.conf", "old, tuned by the customer\n"),
        ("replace/changed.conf", "old, tuned by the customer\n"),
        ("keep/dropped.conf", "kept by the customer\n"),
        (
            "merge/settings.json",
            &json!({"port": "8443", "log": "debug", "db": SECRET, "mine": true}).to_string(),
        ),
    ];
    for (name, text) in edits {
        std::fs::write(dir.join(name), text).expect("the customer's edit");
    }
    let before = crate::support::tree_with_modes(&fx.target());

    let next = installer(&fx, &settings_plan("1.1.0"), "installer-1.1.0");
    let done = upgrade(&fx, &next, &[]).success();
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap_or_default();
    assert_eq!(read("keep/unedited.conf"), "two\n", "unedited: replaced");
    assert_eq!(read("keep/same.conf"), "same, tuned by the customer\n");
    assert!(!dir.join("keep/same.conf.dropship-new").exists());
    assert_eq!(read("keep/changed.conf"), "old, tuned by the customer\n");
    assert_eq!(
        read("keep/changed.conf.dropship-new"),
        format!("new {SECRET}\n")
    );
    assert_eq!(
        read("keep/dropped.conf"),
        "kept by the customer\n",
        "a file the new version does not ship stays as it is"
    );
    assert!(!dir.join("keep/dropped.conf.dropship-new").exists());
    assert_eq!(read("replace/changed.conf"), "new\n");
    assert_eq!(
        read("replace/changed.conf.dropship-save"),
        "old, tuned by the customer\n"
    );
    let merged: Value =
        serde_json::from_str(&read("merge/settings.json")).expect("the merged file is JSON");
    assert_eq!(
        merged,
        json!({"port": "8443", "log": "debug", "timeout": 30, "db": SECRET, "mine": true}),
        "the vendor's new key, the customer's own key, the customer's value where both changed"
    );
    let warnings = read_report(&fx.state())["warnings"].to_string();
    assert!(
        warnings.contains("keep/changed.conf.dropship-new")
            && warnings.contains("replace/changed.conf.dropship-save")
            && warnings.contains("merge/settings.json` was merged")
            && warnings.contains("$.log")
            && !warnings.contains("same.conf")
            && !warnings.contains("dropped.conf"),
        "{warnings}"
    );
    assert!(done.stderr.contains("kept your edited"), "{}", done.stderr);
    let recorded = installed(&fx)["packages"][0]["files"].clone();
    assert_eq!(
        recorded.as_array().map(Vec::len),
        Some(6),
        "every settings file's digest: {recorded}"
    );
    let base = |name: &str| {
        recorded
            .as_array()
            .and_then(|files| files.iter().find(|f| f["path"] == name))
            .map(|f| f["base"].clone())
    };
    // A file that stayed the customer's is recorded as the vendor rendered it, so that it still
    // counts as edited at the next upgrade.
    assert_eq!(base("keep/changed.conf"), Some(json!("new ********\n")));
    assert_state_has_no_secret(&fx);

    crate::support::run(&mut fx.command_of(&next, "rollback", &fx.state())).success();
    crate::support::assert_same_tree(
        &before,
        &crate::support::tree_with_modes(&fx.target()),
        "after rolling the upgrade back",
    );
}

/// Where an upgrade of the sample can be killed: as it starts, a change journaled and not
/// made, the settings file rewritten, the deploy step finished, the script step started.
const UPGRADE_KILL_POINTS: &[&str] = &[
    "step-started:1",
    "after-record:1",
    "after-change:2",
    "step-finished:2",
    "step-started:3",
];

#[test]
fn an_upgrade_killed_at_any_journal_point_resumes_to_the_new_version_or_rolls_back_to_the_old() {
    let fx = Fixture::sample();
    let mut next = plan_at("4.13.0");
    // The package's Deploy.sh rewrites `INSTALLED` itself: a script's own writes are undone only
    // for the paths its step snapshots.
    next["steps"][1]["snapshot"] = json!(["#{Install.Root}/web/INSTALLED"]);
    let v413 = installer(&fx, &next, "installer-4.13.0");
    for checkpoint in UPGRADE_KILL_POINTS {
        for finish in ["resume", "rollback"] {
            let state = fx
                .ws
                .path(&format!("state-{finish}-{}", checkpoint.replace(':', "-")));
            let target = fx.target();
            if target.exists() {
                std::fs::remove_dir_all(&target).expect("clean target");
            }
            crate::support::run(
                fx.command_of(&fx.installer, "install", &state)
                    .args(fx.answers())
                    .args(["--set", "Service.Port=9443"]),
            )
            .success();
            let before = crate::support::tree_with_modes(&target);
            // The killed run must write none: the first install's is out of the way.
            std::fs::remove_file(state.join("report.json")).expect("the first report");
            // The marker of the same kill point in the other variant must not stop this one.
            let marker = format!("marker-{}", checkpoint.replace(':', "-"));
            let _ = std::fs::remove_file(fx.ws.path(&marker));
            crate::fixture::kill_install_at(&fx, &v413, &state, checkpoint);
            let mut secret = std::ffi::OsString::from("Database.Password=@");
            secret.push(fx.ws.path("secrets/db"));
            let mut command = fx.command_of(&v413, finish, &state);
            if finish == "resume" {
                command.arg("--secret").arg(secret);
            }
            let out = crate::support::run(&mut command);
            assert_eq!(out.code, Some(0), "{finish} after {checkpoint}: {out:#?}");
            let installed: Value = serde_json::from_slice(
                &std::fs::read(state.join("installed.json")).expect("installed.json"),
            )
            .expect("JSON");
            if finish == "resume" {
                assert_eq!(installed["version"], "4.13.0", "after {checkpoint}");
                assert_eq!(
                    std::fs::read_to_string(target.join("web/config/app.conf")).unwrap(),
                    expected_app_conf("9443"),
                    "resumed after {checkpoint}: the kept port"
                );
                assert_eq!(read_report(&state)["upgrade"]["from"], "4.12.0");
            } else {
                assert_eq!(installed["version"], "4.12.0", "after {checkpoint}");
                crate::support::assert_same_tree(
                    &before,
                    &crate::support::tree_with_modes(&target),
                    &format!("rollback after {checkpoint}"),
                );
            }
        }
    }
}

#[test]
fn a_renamed_parameter_keeps_its_answer_through_previous_names() {
    let fx = Fixture::sample();
    fx.install(&["--set", "Service.Port=9443"]).success();
    let mut next = plan_at("4.13.0");
    next["parameters"][2] = json!({
        "name": "Web.Port", "label": "HTTPS port", "type": "port", "default": "8443",
        "previous-names": ["Service.Port"]
    });
    next["variables"]["Service.Port"] = json!("#{Web.Port}");
    let v413 = installer(&fx, &next, "installer-4.13.0");
    upgrade(&fx, &v413, &[]).success();
    assert_eq!(app_conf(&fx), expected_app_conf("9443"));
    let answers = &read_report(&fx.state())["upgrade"]["answers"];
    assert_eq!(strings(&answers["kept"]), ["Install.Root", "Web.Port"]);
    assert!(strings(&answers["removed"]).is_empty(), "{answers}");
    assert_eq!(installed(&fx)["answers"]["Web.Port"], "9443");
}

#[test]
fn a_damaged_installed_state_stops_an_install_but_not_a_dry_run_or_a_rollback() {
    let fx = Fixture::sample();
    fx.install(&[]).success();
    std::fs::write(fx.state().join("installed.json"), "{ not json").expect("damage");
    let refused = fx.install(&["--reinstall"]);
    assert_eq!(refused.code, Some(1), "{refused:#?}");
    assert!(
        refused.stderr.contains("installed.json"),
        "{}",
        refused.stderr
    );
    let dry = crate::support::run(fx.command("plan").args(fx.answers())).success();
    assert!(
        dry.stderr.contains("the dry run shows a fresh install")
            && dry
                .stdout
                .contains("Dry run: Install Fabrikam Platform 4.12.0"),
        "{dry:#?}"
    );
    crate::support::run(&mut fx.command("rollback")).success();
    assert!(!fx.target().join("web/config/app.conf").exists());
}

/// A `.config` of the settings package, 1.0.0.
const WEB_CONFIG: &str = "<configuration>\n  <appSettings>\n    <add key=\"Level\" value=\"info\" />\n    \
                          <add key=\"Old\" value=\"1\" />\n  </appSettings>\n</configuration>\n";

fn merge_plan(version: &str) -> Value {
    let mut plan = settings_plan(version);
    plan["steps"][0]["substitute"] = json!(["**/*.properties", "**/*.yaml"]);
    plan["steps"][0]["config-files"] = json!([{ "path": "merge/*", "on-upgrade": "merge" }]);
    plan
}

#[test]
fn edited_properties_yaml_and_config_files_are_merged_in_the_customers_layout_and_rolled_back() {
    let fx = Fixture::with_drop(&merge_plan("1.0.0"), |ws| {
        settings_package(
            ws,
            "1.0.0",
            &[
                (
                    "merge/app.properties",
                    "# Fabrikam settings\nservice.port=#{Service.Port}\nlog.level=info\n\
                     old.key=1\ndb.password=#{Database.Password}\n",
                ),
                (
                    "merge/app.yaml",
                    "# Fabrikam\nservice:\n  port: #{Service.Port}\n  hosts: [a, b]\nlog:\n  level: info\n",
                ),
                ("merge/web.config", WEB_CONFIG),
            ],
        );
        settings_package(
            ws,
            "1.1.0",
            &[
                (
                    "merge/app.properties",
                    "# Fabrikam settings\nservice.port=#{Service.Port}\nlog.level=warn\n\
                     region=eu\ndb.password=#{Database.Password}\n",
                ),
                (
                    "merge/app.yaml",
                    "# Fabrikam\nservice:\n  port: #{Service.Port}\n  hosts: [a, b, c]\nlog:\n  level: warn\ntimeout: 30\n",
                ),
                (
                    "merge/web.config",
                    &WEB_CONFIG
                        .replace("\"info\"", "\"warn\"")
                        .replace("key=\"Old\" value=\"1\"", "key=\"Region\" value=\"eu\""),
                ),
            ],
        );
    });
    fx.install(&[]).success();
    let dir = fx.target().join("settings/merge");
    let edits = [
        (
            "app.properties",
            format!(
                "# Fabrikam settings\n# tuned by the customer\nservice.port = 9999\nlog.level=debug\n\
                 old.key=1\ndb.password={SECRET}\nmine=yes\n"
            ),
        ),
        (
            "app.yaml",
            "# Fabrikam\nservice:\n  port: 9999  # ours\n  hosts: [a, b]\nlog:\n  level: debug\n"
                .to_string(),
        ),
    ];
    for (name, text) in &edits {
        std::fs::write(dir.join(name), text).expect("the customer's edit");
    }
    let web_config = WEB_CONFIG.replace("<configuration>\n", "<configuration>\n  <!-- tuned -->\n");
    let web_config = web_config.replace(
        "  </appSettings>",
        "    <add key=\"Mine\" value=\"x\" />\n  </appSettings>",
    );
    std::fs::write(dir.join("web.config"), &web_config).expect("the customer's edit");
    let before = crate::support::tree_with_modes(&fx.target());

    let next = installer(&fx, &merge_plan("1.1.0"), "installer-1.1.0");
    upgrade(&fx, &next, &[]).success();
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).expect("merged file");
    assert_eq!(
        read("app.properties"),
        format!(
            "# Fabrikam settings\n# tuned by the customer\nservice.port = 9999\nlog.level=debug\n\
             region=eu\ndb.password={SECRET}\nmine=yes\n"
        ),
        "the vendor's removal and addition in the customer's lines; both changed: theirs"
    );
    assert_eq!(
        read("app.yaml"),
        "# Fabrikam\nservice:\n  port: 9999  # ours\n  hosts: [a, b, c]\nlog:\n  level: debug\ntimeout: 30\n"
    );
    assert!(!dir.join("app.yaml.dropship-new").exists());
    assert_eq!(
        read("web.config"),
        web_config
            .replace("\"info\"", "\"warn\"")
            .replace("\n    <add key=\"Old\" value=\"1\" />", "")
            .replace(
                "  </appSettings>",
                "    <add key=\"Region\" value=\"eu\" />\n  </appSettings>"
            ),
        "the vendor's entries changed, removed and added in the customer's file"
    );
    let warnings = read_report(&fx.state())["warnings"].to_string();
    assert!(
        warnings.contains("app.properties` was merged")
            && warnings.contains(": log.level")
            && warnings.contains("app.yaml` was merged")
            && warnings.contains(": log:level"),
        "{warnings}"
    );
    assert_state_has_no_secret(&fx);

    crate::support::run(&mut fx.command_of(&next, "rollback", &fx.state())).success();
    crate::support::assert_same_tree(
        &before,
        &crate::support::tree_with_modes(&fx.target()),
        "after rolling the merge back",
    );
}

/// The database password the customer rotated to before the upgrade.
const ROTATED: &str = "R0tated-Pa55/+&x";

#[test]
fn a_secret_rotated_between_versions_makes_no_file_look_edited() {
    let templates: &[(&str, &str)] = &[
        (
            "keep/unedited.conf",
            "user=fabrikam\npassword=#{Database.Password}\n",
        ),
        (
            "keep/edited.conf",
            "password=#{Database.Password}\nport=1\n",
        ),
        (
            "merge/settings.json",
            r##"{"db": "#{Database.Password | JsonEscape}", "log": "info"}"##,
        ),
    ];
    let fx = Fixture::with_drop(&settings_plan("1.0.0"), |ws| {
        settings_package(ws, "1.0.0", templates);
        settings_package(ws, "1.1.0", templates);
        ws.write("secrets/rotated", ROTATED);
    });
    fx.install(&[]).success();
    let dir = fx.target().join("settings");
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap_or_default();
    assert_eq!(
        read("keep/edited.conf"),
        format!("password={SECRET}\nport=1\n")
    );
    // The customer's edits keep the password the install wrote.
    std::fs::write(
        dir.join("keep/edited.conf"),
        format!("password={SECRET}\nport=2\n"),
    )
    .expect("edit");
    let settings = json!({"db": SECRET, "log": "debug"}).to_string();
    std::fs::write(dir.join("merge/settings.json"), settings).expect("edit");

    let next = installer(&fx, &settings_plan("1.1.0"), "installer-1.1.0");
    let done = upgrade_with_secret(&fx, &next, "secrets/rotated", &[]).success();
    assert_eq!(
        read("keep/unedited.conf"),
        format!("user=fabrikam\npassword={ROTATED}\n"),
        "unedited although it held the old password: replaced"
    );
    for beside in ["dropship-new", "dropship-save"] {
        assert!(!dir.join(format!("keep/unedited.conf.{beside}")).exists());
    }
    assert_eq!(
        read("keep/edited.conf"),
        format!("password={SECRET}\nport=2\n"),
        "the customer's edit is still seen and kept"
    );
    assert_eq!(
        read("keep/edited.conf.dropship-new"),
        format!("password={ROTATED}\nport=1\n"),
        "the new password reaches the file beside"
    );
    let merged: Value = serde_json::from_str(&read("merge/settings.json")).expect("JSON");
    assert_eq!(merged, json!({"db": ROTATED, "log": "debug"}));
    let warnings = read_report(&fx.state())["warnings"].to_string();
    assert!(
        warnings.contains("keep/edited.conf.dropship-new")
            && !warnings.contains("unedited.conf` was edited"),
        "{warnings}"
    );
    assert!(
        done.stderr.contains("merged your edits of") && !done.stderr.contains("kept your edited"),
        "{}",
        done.stderr
    );
    assert_state_has_none_of(&fx, &[SECRET, ROTATED]);
}
