//! The checks an install makes before anything starts, made by the dry run through this very
//! function, so that `plan` passes exactly what `install` passes. Every directory a selected step
//! writes into (a package's destination, a substitution's directory, each snapshot), as the
//! answers make it, must be absolute, and no directory on the way to it may be writable by a user
//! other than root and the installing user: a link planted there could send the package, and the
//! secrets rendered into it, somewhere else, or make a rollback remove someone else's files
//! (`path_safety::check_trusted_ancestors`). A path still naming a variable only a step can set
//! (an output variable) is decided when that step runs.
//!
//! [`check_plan`] runs before any change (exit 2); the engine checks each step again just before
//! it runs ([`check_step`]), when its variables may hold what earlier steps produced.

use super::{StepFailure, step_for};
use crate::path_safety;
use crate::plan::{Plan, StepSpec};
use crate::variables::{BaseVariables, StepVariables};
use std::path::{Path, PathBuf};

/// Every problem of the steps `roles` select, one line each naming the step and the field, or
/// `Ok` when there is none.
pub fn check_plan(
    plan: &Plan,
    base: &BaseVariables,
    drop_root: &Path,
    roles: &[String],
) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    let selected = plan
        .steps()
        .iter()
        .filter(|s| s.common().selected_by(roles));
    for step in selected {
        match base.for_step(step, drop_root, &[], &[]) {
            Ok(vars) => problems.extend(problems_of(step, &vars)),
            Err(e) => problems.push(format!("step `{}`: {e}", step.common().name)),
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// The check of one step about to run; the directories it may then change (its targets and
/// snapshots, which the transaction confines its changes to).
pub fn check_step(step: &StepSpec, vars: &StepVariables) -> Result<Vec<PathBuf>, StepFailure> {
    if let Some(problem) = problems_of(step, vars).into_iter().next() {
        return Err(StepFailure::new(problem));
    }
    let decided = targets(step, vars)
        .into_iter()
        .map(|(_, path)| PathBuf::from(path));
    Ok(decided.filter(|path| path.is_absolute()).collect())
}

fn problems_of(step: &StepSpec, vars: &StepVariables) -> Vec<String> {
    let name = step.common().name;
    let decided = targets(step, vars)
        .into_iter()
        .filter(|(_, path)| !path.contains("#{"));
    decided
        .filter_map(|(field, path)| {
            if !Path::new(&path).is_absolute() {
                return Some(format!(
                    "step `{name}`: `{field}` is `{path}`, not an absolute path; fix the answer \
                     it is made from (or the plan)"
                ));
            }
            let why = path_safety::check_trusted_ancestors(Path::new(&path)).err()?;
            Some(format!("step `{name}`: `{field}` `{path}`: {why}"))
        })
        .collect()
}

/// What a step writes into, with the plan field each comes from: its own targets and the paths
/// it snapshots.
fn targets(step: &StepSpec, vars: &StepVariables) -> Vec<(&'static str, String)> {
    let mut paths = step_for(step).writes_into(vars);
    let snapshots = step.common().snapshot.iter();
    paths.extend(snapshots.map(|path| ("snapshot", vars.expand(path))));
    paths
}
