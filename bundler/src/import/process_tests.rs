//! Tests of the process readers on the samples in `testdata/`, shaped as
//! `docs/octopus-conventions.md` §7 describes: JSON and OCL agreement, every action kind, scoping,
//! disabled and unsupported actions, package lookup, and errors that name file and position.

use super::*;
use std::path::Path;

const JSON: &str = include_str!("testdata/process.json");
const OCL: &str = include_str!("testdata/deployment_process.ocl");
const OCL_OLD_LAYOUT: &str = include_str!("testdata/deployment_process_old_layout.ocl");

/// JSON names things by id, OCL by slug; everything else in the samples is the same process.
const IDS_TO_SLUGS: [(&str, &str); 5] = [
    ("\"feeds-builtin\"", "\"octopus-server-built-in\""),
    ("\"Environments-2\"", "\"production\""),
    ("\"Environments-3\"", "\"development\""),
    ("\"Channels-1\"", "\"default\""),
    ("\"Teams-1\"", "\"global/octopus-managers\""),
];

fn json(opts: &ImportOptions) -> ImportedProcess {
    parse_process_json_str(JSON, Path::new("process.json"), opts).unwrap()
}

fn ocl(text: &str, opts: &ImportOptions) -> Result<ImportedProcess, ImportError> {
    parse_process_ocl_str(text, Path::new("deployment_process.ocl"), opts)
}

fn step<'a>(process: &'a ImportedProcess, name: &str) -> &'a ImportedStep {
    process.steps.iter().find(|s| s.name == name).unwrap()
}

#[test]
fn json_and_ocl_of_one_process_give_equal_models() {
    let json_with_slugs = IDS_TO_SLUGS
        .iter()
        .fold(JSON.to_owned(), |text, (id, slug)| text.replace(id, slug));
    let opts = ImportOptions::default();
    let from_json = parse_process_json_str(&json_with_slugs, Path::new("p.json"), &opts).unwrap();
    assert_eq!(ocl(OCL, &opts).unwrap(), from_json);
    assert_eq!(ocl(OCL_OLD_LAYOUT, &opts).unwrap(), from_json);
}

#[test]
fn reads_steps_in_order_with_disabled_and_unsupported_reported() {
    let process = json(&ImportOptions::default());
    let names: Vec<&str> = process.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Deploy web",
            "Drain node",
            "Migrate database",
            "Run smoke tests",
            "Approve release",
            "Roll back on failure"
        ]
    );
    assert_eq!(
        process.skipped,
        [Skipped {
            step: "Rolling update".into(),
            action: "Warm cache".into(),
            reason: "disabled".into()
        }]
    );
    assert_eq!(process.unsupported.len(), 1);
    assert_eq!(
        process.unsupported[0].action.as_deref(),
        Some("Email the team")
    );
    assert!(process.unsupported[0].reason.contains("Octopus.Email"));
}

#[test]
fn package_step_carries_features_targets_and_custom_directory() {
    let process = json(&ImportOptions::default());
    let web = step(&process, "Deploy web");
    assert_eq!(web.roles, ["web", "api"]);
    let StepAction::DeployPackage(deploy) = &web.action else {
        panic!("{:?}", web.action)
    };
    assert_eq!(deploy.package.package_id, "Acme.Web");
    assert_eq!(deploy.package.feed.as_deref(), Some("feeds-builtin"));
    assert_eq!(deploy.features.len(), 5, "leading comma dropped");
    assert_eq!(
        deploy.substitute_in_files.as_deref(),
        Some(&["config/*.conf".to_owned(), "wwwroot/index.html".to_owned()][..])
    );
    assert_eq!(
        deploy.structured_variables.as_deref(),
        Some(&["appsettings.json".to_owned()][..])
    );
    let dir = deploy.custom_directory.as_ref().unwrap();
    assert_eq!((dir.path.as_str(), dir.purge), ("/opt/acme/web", true));
    assert_eq!(dir.purge_exclusions, ["logs/**", "uploads/**"]);
    assert_eq!(deploy.custom_scripts.len(), 1);
    assert_eq!(deploy.custom_scripts[0].stage, ScriptStage::PostDeploy);
    assert_eq!(deploy.custom_scripts[0].syntax, ScriptSyntax::Bash);
    assert!(deploy.custom_scripts[0].body.contains("${HOSTNAME:-web}"));
    let transforms = deploy.config_transforms.as_ref().expect("feature on");
    assert!(!transforms.automatic);
    assert_eq!(
        transforms.additional,
        [
            "Web.Staging.config => Web.config",
            "*.Extra.config => *.config"
        ]
    );
}

#[test]
fn child_steps_inherit_parent_roles_and_window() {
    let process = json(&ImportOptions::default());
    let drain = step(&process, "Drain node");
    assert_eq!(
        (drain.step.as_str(), drain.roles.as_slice()),
        ("Rolling update", &["web".to_owned()][..])
    );
    assert_eq!(drain.max_parallelism.as_deref(), Some("2"));
    assert_eq!(
        drain.notes.as_deref(),
        Some("Takes the node out of the pool.")
    );
    let StepAction::RunScript(script) = &drain.action else {
        panic!()
    };
    assert_eq!(script.syntax, ScriptSyntax::PowerShell);
}

#[test]
fn scripts_inline_and_from_a_package() {
    let process = json(&ImportOptions::default());
    let StepAction::RunScript(migrate) = &step(&process, "Migrate database").action else {
        panic!()
    };
    let ScriptSource::Inline(body) = &migrate.source else {
        panic!()
    };
    assert!(
        body.starts_with("#!/bin/bash\nset -euo pipefail\n\nDB_HOST=")
            && body.ends_with("\"#{Db.Name}\"\n")
    );

    let smoke = step(&process, "Run smoke tests");
    let StepAction::RunScript(script) = &smoke.action else {
        panic!()
    };
    assert_eq!(
        script.syntax,
        ScriptSyntax::Bash,
        "language from the file extension"
    );
    assert!(
        script
            .parameters
            .as_deref()
            .unwrap()
            .starts_with("--base-url #{BaseUrl}")
    );
    let ScriptSource::Package { package, path } = &script.source else {
        panic!()
    };
    assert_eq!(
        (package.package_id.as_str(), path.as_str()),
        ("Acme.SmokeTests", "scripts/smoke.sh")
    );
    assert_eq!(smoke.packages.len(), 1);
    assert_eq!(smoke.packages[0].name.as_deref(), Some("fixtures"));
    assert_eq!(
        smoke.packages[0]
            .properties
            .get("Extract")
            .map(String::as_str),
        Some("True")
    );
}

#[test]
fn conditions_at_step_and_action_level() {
    let process = json(&ImportOptions::default());
    let smoke = step(&process, "Run smoke tests");
    assert!(
        matches!(&smoke.condition, StepCondition::Variable(e) if e.contains("#{RunSmokeTests}"))
    );
    let rollback = step(&process, "Roll back on failure");
    assert_eq!(rollback.condition, StepCondition::Failure);
    assert_eq!(
        rollback.action_condition.as_deref(),
        Some("#{RollbackEnabled}")
    );
    assert_eq!(
        step(&process, "Deploy web").condition,
        StepCondition::Success
    );
}

#[test]
fn manual_intervention_keeps_instructions_and_required() {
    let process = json(&ImportOptions::default());
    let approve = step(&process, "Approve release");
    assert!(approve.required);
    let StepAction::Manual(manual) = &approve.action else {
        panic!()
    };
    assert!(
        manual
            .instructions
            .contains("\n    - error rate under 1%\n")
    );
    assert!(manual.block_concurrent_deployments);
    assert_eq!(manual.responsible_teams, ["Teams-1"]);
}

#[test]
fn environment_scoping_by_id_in_json() {
    let in_env = |env: &str| ImportOptions {
        environment: Some(env.into()),
        ..ImportOptions::default()
    };
    let production = json(&in_env("Environments-2"));
    assert!(
        production
            .steps
            .iter()
            .any(|s| s.name == "Migrate database")
    );

    let development = json(&in_env("Environments-3"));
    let skipped: Vec<(&str, &str)> = development
        .skipped
        .iter()
        .map(|s| (s.action.as_str(), s.reason.as_str()))
        .collect();
    assert!(skipped.contains(&(
        "Migrate database",
        "scoped to environments Environments-2, not `Environments-3`"
    )));
    assert!(skipped.contains(&(
        "Run smoke tests",
        "excluded from environment `Environments-3`"
    )));
}

#[test]
fn environment_and_channel_scoping_by_name_in_ocl() {
    let opts = ImportOptions {
        environment: Some("Production".into()),
        ..ImportOptions::default()
    };
    let process = ocl(OCL, &opts).unwrap();
    assert!(
        process.steps.iter().any(|s| s.name == "Migrate database"),
        "name matches slug"
    );

    let opts = ImportOptions {
        channel: Some("Hotfix".into()),
        ..ImportOptions::default()
    };
    let process = ocl(OCL, &opts).unwrap();
    let migrate = process
        .skipped
        .iter()
        .find(|s| s.action == "Migrate database")
        .unwrap();
    assert_eq!(migrate.reason, "scoped to channels default, not `Hotfix`");
}

#[test]
fn packages_resolve_against_a_directory_by_every_name_form() {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "Acme.Web.1.2.3_B47863CDE8E3F24E95873F4B59FE990E.nupkg",
        "Acme.SmokeTests@S1.0.0@B47863CDE8E3F24E95873F4B59FE990E.zip",
        "Acme.TestFixtures.2.0.0.tar.gz",
    ] {
        std::fs::write(dir.path().join(name), b"").unwrap();
    }
    let opts = ImportOptions {
        packages_dir: Some(dir.path().to_owned()),
        ..ImportOptions::default()
    };
    let process = json(&opts);
    let StepAction::DeployPackage(web) = &step(&process, "Deploy web").action else {
        panic!()
    };
    let resolved = web.package.resolved_path.as_deref().unwrap();
    assert!(resolved.ends_with("Acme.Web.1.2.3_B47863CDE8E3F24E95873F4B59FE990E.nupkg"));
    let fixtures = &step(&process, "Run smoke tests").packages[0];
    assert!(
        fixtures
            .resolved_path
            .as_deref()
            .unwrap()
            .ends_with("Acme.TestFixtures.2.0.0.tar.gz")
    );
}

#[test]
fn a_missing_package_names_the_package_and_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let opts = ImportOptions {
        packages_dir: Some(dir.path().to_owned()),
        ..ImportOptions::default()
    };
    let err = parse_process_json_str(JSON, Path::new("process.json"), &opts).unwrap_err();
    let ImportError::MissingPackage {
        step,
        package_id,
        dir: in_dir,
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!(
        (step.as_str(), package_id.as_str()),
        ("Deploy web", "Acme.Web")
    );
    assert_eq!(in_dir, dir.path());
}

#[test]
fn malformed_json_names_file_line_and_column() {
    let err = parse_process_json_str(
        "{\n  \"Steps\": [\n    {\"Name\": 3}\n  ]\n}",
        Path::new("p.json"),
        &ImportOptions::default(),
    )
    .unwrap_err();
    let ImportError::Json { line, column, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!((*line, *column), (3, 14));
    assert!(
        err.to_string()
            .starts_with("`p.json`, line 3, column 14: invalid type"),
        "{err}"
    );
}

#[test]
fn an_unknown_condition_names_the_step_path() {
    let text = r#"{"Steps":[{"Name":"A","Condition":"Sometimes","Actions":[]}]}"#;
    let err =
        parse_process_json_str(text, Path::new("p.json"), &ImportOptions::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "`p.json`, Steps[0]: unknown step condition `Sometimes` (expected Success, Failure, Always or Variable)"
    );
}

#[test]
fn sensitive_values_legacy_packages_and_removed_languages() {
    let text = r#"{"Steps":[
      {"Name":"Secret","Actions":[{"Name":"Secret","ActionType":"Octopus.Script","Properties":{
        "Octopus.Action.Script.Syntax":"Bash","Octopus.Action.Script.ScriptBody":{"HasValue":true}}}]},
      {"Name":"Old","Actions":[{"Name":"Old","ActionType":"Octopus.TentaclePackage","Properties":{
        "Octopus.Action.Package.NuGetPackageId":"Acme.Old","Octopus.Action.Package.NuGetFeedId":"feeds-1"}}]},
      {"Name":"Fs","Actions":[{"Name":"Fs","ActionType":"Octopus.Script","Properties":{
        "Octopus.Action.Script.Syntax":"FSharp","Octopus.Action.Script.ScriptBody":"printfn \"x\""}}]}]}"#;
    let process =
        parse_process_json_str(text, Path::new("p.json"), &ImportOptions::default()).unwrap();
    let reasons: Vec<&str> = process
        .unsupported
        .iter()
        .map(|u| u.reason.as_str())
        .collect();
    assert_eq!(
        reasons,
        [
            "the script body is a sensitive value",
            "F# scripts are no longer run by Calamari"
        ]
    );
    let StepAction::DeployPackage(old) = &process.steps[0].action else {
        panic!()
    };
    assert_eq!(
        (old.package.package_id.as_str(), old.package.feed.as_deref()),
        ("Acme.Old", Some("feeds-1"))
    );
}

#[test]
fn ocl_templates_and_unknown_blocks_are_reported_not_fatal() {
    let text = "step \"from-template\" {\n    name = \"From template\"\n\n    action {\n        properties = {\n            Octopus.Action.Template.Id = \"ActionTemplates-1\"\n        }\n    }\n}\n\nprocess_template \"x\" {\n}\n";
    let process = ocl(text, &ImportOptions::default()).unwrap();
    let reasons: Vec<&str> = process
        .unsupported
        .iter()
        .map(|u| u.reason.as_str())
        .collect();
    assert_eq!(
        reasons,
        [
            "unknown top-level block `process_template` skipped",
            "step template action without an action type (template `ActionTemplates-1`)"
        ]
    );
}

#[test]
fn ocl_runbook_process_block_and_pre_slug_names() {
    let text = "name = \"Restart\"\n\nprocess {\n    step \"Restart service\" {\n        action {\n            action_type = \"Octopus.Script\"\n            properties = {\n                Octopus.Action.Script.ScriptBody = \"systemctl restart acme\"\n                Octopus.Action.Script.Syntax = \"Bash\"\n            }\n        }\n    }\n}\n";
    let process = ocl(text, &ImportOptions::default()).unwrap();
    assert_eq!(process.steps[0].name, "Restart service");
}

#[test]
fn ocl_type_errors_name_the_attribute_position() {
    let text = "step \"a\" {\n    action {\n        is_disabled = \"yes\"\n    }\n}\n";
    let err = ocl(text, &ImportOptions::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "`deployment_process.ocl`, line 3, column 9: `is_disabled` must be true or false"
    );
}

#[test]
fn two_primary_packages_are_an_error_naming_the_reference() {
    let text = r#"{"Steps":[{"Name":"A","Actions":[{"Name":"A","ActionType":"Octopus.TentaclePackage",
      "Packages":[{"Name":"","PackageId":"X"},{"Name":null,"PackageId":"Y"}]}]}]}"#;
    let err =
        parse_process_json_str(text, Path::new("p.json"), &ImportOptions::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "`p.json`, Steps[0].Actions[0].Packages[1]: a second primary package (a reference without a name)"
    );
}

#[test]
fn ocl_with_crlf_line_endings_keeps_them_in_heredocs() {
    let crlf = OCL.replace('\n', "\r\n");
    let process = ocl(&crlf, &ImportOptions::default()).unwrap();
    assert_eq!(process.steps.len(), 6);
    let StepAction::Manual(manual) = &step(&process, "Approve release").action else {
        panic!()
    };
    assert!(
        manual
            .instructions
            .starts_with("## Before you approve\r\n\r\n- Check")
    );
}

#[test]
fn a_property_of_the_wrong_shape_names_its_json_path() {
    let text = r#"{"Steps":[{"Name":"A","Actions":[{"Name":"A","ActionType":"Octopus.Manual","Properties":{"K":["x"]}}]}]}"#;
    let err =
        parse_process_json_str(text, Path::new("p.json"), &ImportOptions::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "`p.json`, Steps[0].Actions[0].Properties[\"K\"]: expected a string or a sensitive value"
    );
}
