//! `dropship plan check` as the release engineer runs it: every problem of a plan in one run
//! (the file's shape, its rules and its references into the drop), in the plan's words; the
//! `#{...}` its scripts and package files use that nothing defines, as warnings (`--strict`:
//! errors).

use crate::fixture::{Fixture, SECRET, assert_no_secret, sample_plan};
use crate::support::{Workspace, copy_dir, dropship, run, write_package};
use std::path::Path;

/// Wrong in every way at once: a field of the wrong type, an unknown step type, a secret with a
/// default, a step name used twice, a script missing from the drop.
const BROKEN: &str = r#"{
  "schema": "dropship/plan@1",
  "product": { "name": "Fabrikam Platform", "version": "4.12.0" },
  "parameters": [ { "name": "Database.Password", "type": "secret", "default": "Vendor-knows-1" } ],
  "steps": [
    { "name": "Configure", "type": "run-script", "file": "Scripts/Missing.sh" },
    { "name": "Teleport", "type": "teleport" },
    { "name": "Migrate", "type": "run-script", "inline": "true", "timeout-s": "ten" },
    { "name": "Configure", "type": "run-script", "file": "Scripts/Configure.sh",
      "rollback": "echo undo" }
  ]
}"#;

#[test]
fn plan_check_lists_parse_rule_and_drop_problems_together() {
    let ws = Workspace::new();
    ws.sample_inputs();
    ws.write("plan.json", BROKEN);
    let result = run(dropship()
        .args(["plan", "check"])
        .arg(ws.path("plan.json"))
        .arg("--drop")
        .arg(ws.path("drop")))
    .code(2);
    for needle in [
        "steps[1].type: unknown step type `teleport`",
        "steps[2].timeout-s: invalid type: string \"ten\", expected a whole number",
        "steps[3].rollback: invalid type: string \"echo undo\", expected an object",
        "parameters[0].default: a `secret` parameter cannot have a default",
        "steps[0].file: `Scripts/Missing.sh` is not in the drop",
    ] {
        assert!(result.stderr.contains(needle), "`{needle}`: {result:#?}");
    }
    // Step 3 did not parse, so the duplicate name is not known; fix it and the next run says so.
    let fixed = BROKEN.replace(",\n      \"rollback\": \"echo undo\"", "");
    ws.write("plan.json", fixed);
    let again = run(dropship()
        .args(["plan", "check"])
        .arg(ws.path("plan.json"))
        .arg("--drop")
        .arg(ws.path("drop")))
    .code(2);
    assert!(
        again
            .stderr
            .contains("steps[3]: duplicate step name `Configure`"),
        "{again:#?}"
    );
    for leak in ["struct ", "enum ", "variant", "::", "u64"] {
        assert!(
            !result.stderr.contains(leak) && !again.stderr.contains(leak),
            "`{leak}`: {result:#?} {again:#?}"
        );
    }
}

/// The sample plan and drop, with a `#{...}` nothing defines in a script of the drop, in a
/// substitution target and a packaged script of the package, and in an inline script.
fn sample_with_undefined_variables(ws: &Workspace) {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../templates/sample");
    copy_dir(&sample.join("drop"), &ws.path("drop"));
    let plan = std::fs::read_to_string(sample.join("plan.json")).unwrap();
    ws.write(
        "plan.json",
        plan.replace(
            "echo \\\"install failed:",
            "echo #{Support.Email} \\\"install failed:",
        ),
    );
    ws.write(
        "drop/Scripts/Configure.sh",
        "#!/usr/bin/env bash\necho #{Service.Host}\necho #{Smtp.Host}\n",
    );
    write_package(
        ws,
        "drop/Packages/Fabrikam.Web.4.12.0.nupkg",
        "Fabrikam.Web",
        &[
            (
                "config/app.conf",
                b"host = #{Service.Host}\nmail = #{Mail.Server}\nenv = #{Octopus.Environment.Name}\n"
                    .to_vec(),
            ),
            ("appsettings.json", b"{}".to_vec()),
            ("Deploy.sh", b"echo #{Octopus.Action.Name} #{Deploy.Flag}\n".to_vec()),
        ],
    );
}

#[test]
fn plan_check_warns_of_variables_nothing_defines_and_strict_refuses_them() {
    let ws = Workspace::new();
    sample_with_undefined_variables(&ws);
    let check = |strict: bool| {
        let mut command = dropship();
        command
            .args(["plan", "check"])
            .arg(ws.path("plan.json"))
            .arg("--drop")
            .arg(ws.path("drop"));
        if strict {
            command.arg("--strict");
        }
        run(&mut command)
    };
    let warned = check(false).success();
    for needle in [
        "warning: steps[1].substitute: `config/app.conf` in `Packages/Fabrikam.Web.4.12.0.nupkg` line 2 uses #{Mail.Server}",
        "warning: steps[1].package: `Deploy.sh` in `Packages/Fabrikam.Web.4.12.0.nupkg` line 1 uses #{Deploy.Flag}",
        "warning: steps[2].file: `Scripts/Configure.sh` line 3 uses #{Smtp.Host}",
        "warning: steps[3].inline: the inline script line 1 uses #{Support.Email}",
    ] {
        assert!(warned.stderr.contains(needle), "`{needle}`: {warned:#?}");
    }
    for defined in ["Service.Host", "Octopus.", "Install.Root"] {
        assert!(
            !warned.stderr.contains(&format!("#{{{defined}")),
            "`{defined}` is defined: {warned:#?}"
        );
    }
    assert_eq!(warned.stderr.matches("warning:").count(), 4, "{warned:#?}");
    assert!(warned.stdout.contains("4 warning(s)"), "{warned:#?}");

    let strict = check(true).code(2);
    assert!(strict.stderr.contains("#{Mail.Server}"), "{strict:#?}");
    assert!(strict.stderr.contains("--strict"), "{strict:#?}");
}

#[test]
fn the_installer_dry_run_flags_them_in_its_substitutions_too() {
    let fx = Fixture::with_drop(&sample_plan(), |ws| {
        write_package(
            ws,
            "drop/Packages/Fabrikam.Web.4.12.0.nupkg",
            "Fabrikam.Web",
            &[(
                "config/app.conf",
                b"password = #{Database.Password}\nmail = #{Mail.Server}\n".to_vec(),
            )],
        );
    });
    let dry = run(fx.command("plan").args(fx.answers())).success();
    assert!(
        dry.stdout
            .contains("warning: line 2 uses #{Mail.Server}, which nothing defines"),
        "{dry:#?}"
    );
    assert_eq!(dry.stdout.matches("nothing defines").count(), 1, "{dry:#?}");
    assert_no_secret("dry run stdout", dry.stdout.as_bytes(), &[SECRET]);
    assert_no_secret("dry run stderr", dry.stderr.as_bytes(), &[SECRET]);
}
