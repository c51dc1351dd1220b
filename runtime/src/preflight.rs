//! The checks an install makes before anything starts, made by the dry run through this very
//! function, so that `plan` passes exactly what `install` passes: every path a selected step
//! will change (a package's `destination`, a substitution's `directory`, each `snapshot`), as the
//! answers make it, must be absolute. A path still naming a variable only a step can set (an
//! output variable) is decided when that step runs.

use crate::plan::{Plan, StepSpec};
use crate::variables::BaseVariables;
use std::path::Path;

/// Every problem, one line each naming the step and the field, or `Ok` when none.
pub fn check(
    plan: &Plan,
    roles: &[String],
    base: &BaseVariables,
    drop_root: &Path,
) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    for step in plan.steps() {
        let common = step.common();
        if !common.selected_by(roles) {
            continue;
        }
        let vars = match base.for_step(step, drop_root, &[], &[]) {
            Ok(vars) => vars,
            Err(e) => {
                problems.push(format!("step `{}`: {e}", common.name));
                continue;
            }
        };
        for (field, text) in changed_paths(step) {
            let path = vars.expand(text);
            if !path.contains("#{") && !Path::new(&path).is_absolute() {
                problems.push(format!(
                    "step `{}`: `{field}` is `{path}`, not an absolute path; fix the answer it \
                     is made from (or the plan)",
                    common.name
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// The paths a step changes, with the plan field each comes from, before expansion.
fn changed_paths(step: &StepSpec) -> Vec<(&'static str, &str)> {
    let mut paths: Vec<(&'static str, &str)> = step
        .common()
        .snapshot
        .iter()
        .map(|s| ("snapshot", s.as_str()))
        .collect();
    match step {
        StepSpec::DeployPackage(s) => {
            paths.extend(s.destination.as_deref().map(|d| ("destination", d)))
        }
        StepSpec::Substitute(s) => paths.push(("directory", &s.directory)),
        _ => {}
    }
    paths
}
