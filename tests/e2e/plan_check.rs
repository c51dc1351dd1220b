//! `dropship plan check` as the release engineer runs it: every problem of a plan in one run
//! (the file's shape, its rules and its references into the drop), in the plan's words.

use crate::support::{Workspace, dropship, run};

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
