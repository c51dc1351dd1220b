//! What the installer tells its operator before anything runs: which product it installs
//! (`--version`, `--help`), and what an unattended run needs (`params`, its JSON, an answers
//! template that a real unattended install then accepts).

use crate::fixture::*;
use crate::support::run;
use serde_json::Value;
use std::process::Command;

#[test]
fn version_and_help_name_the_product_vendor_and_customer() {
    let fx = Fixture::sample();
    let version = run(Command::new(&fx.installer).arg("--version")).success();
    let runtime = env!("CARGO_PKG_VERSION");
    assert_eq!(
        version.stdout.trim(),
        format!("Fabrikam Platform 4.12.0 for Contoso (dropship runtime {runtime})")
    );
    let help = run(Command::new(&fx.installer).arg("--help")).success();
    let first = help.stdout.lines().next().unwrap_or_default();
    assert_eq!(
        first,
        "Fabrikam Platform 4.12.0 from Fabrikam Ltd for Contoso"
    );
    assert!(help.stdout.contains("params"), "{help:#?}");
}

#[test]
fn params_list_what_an_unattended_run_needs() {
    let fx = Fixture::sample();
    let text = run(Command::new(&fx.installer).arg("params")).success();
    assert!(text.stdout.contains("Database.Password"), "{text:#?}");
    let json = run(Command::new(&fx.installer).args(["params", "--json"])).success();
    let list: Value = serde_json::from_str(&json.stdout).expect("JSON");
    let password = list
        .as_array()
        .and_then(|l| l.iter().find(|p| p["name"] == "Database.Password"))
        .expect("the secret parameter");
    assert_eq!(password["secret"], true);
    assert_eq!(password["required"], true);
    assert_eq!(password["type"], "secret");
    let root = list
        .as_array()
        .and_then(|l| l.iter().find(|p| p["name"] == "Install.Root"))
        .expect("the path parameter");
    assert_eq!(root["default"], "/opt/fabrikam");
    assert_eq!(root["required"], false);
    for key in [
        "name", "label", "type", "default", "required", "secret", "roles",
    ] {
        assert!(password.get(key).is_some(), "{key} in {password}");
    }
}

#[test]
fn an_answers_template_filled_in_installs_unattended() {
    let fx = Fixture::sample();
    let template = fx.ws.path("answers.json");
    run(Command::new(&fx.installer)
        .args(["params", "--answers-template"])
        .arg(&template))
    .success();
    let mut answers: Value =
        serde_json::from_str(&std::fs::read_to_string(&template).unwrap()).unwrap();
    assert_eq!(answers["Database.Password"]["env"], "DATABASE_PASSWORD");
    assert_eq!(answers["Service.Port"], "8443");
    answers["Install.Root"] = Value::String(fx.target().display().to_string());
    std::fs::write(&template, answers.to_string()).unwrap();
    let again = run(Command::new(&fx.installer)
        .args(["params", "--answers-template"])
        .arg(&template));
    assert_eq!(
        again.code,
        Some(1),
        "an existing file is never overwritten: {again:#?}"
    );
    let out = run(fx
        .command("install")
        .arg("--answers")
        .arg(&template)
        .env("DATABASE_PASSWORD", SECRET));
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_run_has_no_secret(&out, &[SECRET]);
}

#[test]
fn report_and_rollback_of_a_state_directory_that_does_not_exist_exit_2_alike() {
    let fx = Fixture::sample();
    let missing = fx.ws.path("no-such-state");
    for sub in ["report", "rollback", "resume"] {
        let out = run(&mut fx.command_of(&fx.installer, sub, &missing));
        assert_eq!(out.code, Some(2), "{sub}: {out:#?}");
        assert!(
            out.stderr.contains(&*missing.to_string_lossy()) && out.stderr.contains("--state-dir"),
            "{sub} names the directory and the option: {out:#?}"
        );
    }
}
