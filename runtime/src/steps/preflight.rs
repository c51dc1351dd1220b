//! Before an install changes anything: every directory a step writes into (its own targets and
//! the paths it snapshots) must be absolute, and no directory on the way to it may be writable
//! by a user other than root and the installing user. Otherwise a link planted on the way could
//! send the package, and the secrets rendered into it, somewhere else, or make a rollback
//! remove someone else's files (`path_safety::check_trusted_ancestors`).
//!
//! The install and the dry run check every step first ([`check_plan`], exit 2 before any
//! change); the engine checks each step again just before it runs ([`check_step`]), since its
//! variables may then hold what earlier steps produced.

use super::{StepFailure, step_for};
use crate::path_safety;
use crate::plan::{Plan, StepSpec};
use crate::variables::{BaseVariables, StepVariables};
use std::path::{Path, PathBuf};

/// The problems with the write targets of the steps `roles` select; empty when all hold.
/// Steps whose variables cannot be read are left to fail when they run, with that reason.
pub fn check_plan(
    plan: &Plan,
    base: &BaseVariables,
    drop_root: &Path,
    roles: &[String],
) -> Vec<String> {
    let selected = plan
        .steps()
        .iter()
        .filter(|step| step.common().selected_by(roles));
    let mut problems = Vec::new();
    for step in selected {
        if let Ok(vars) = base.for_step(step, drop_root, &[], &[]) {
            problems.extend(problems_of(step, &vars));
        }
    }
    problems
}

/// The check of one step about to run.
pub fn check_step(step: &StepSpec, vars: &StepVariables) -> Result<(), StepFailure> {
    match problems_of(step, vars).into_iter().next() {
        Some(problem) => Err(StepFailure::new(problem)),
        None => Ok(()),
    }
}

fn problems_of(step: &StepSpec, vars: &StepVariables) -> Vec<String> {
    let name = step.common().name;
    targets(step, vars)
        .into_iter()
        .filter_map(|path| {
            let why = if path.is_absolute() {
                path_safety::check_trusted_ancestors(&path)
                    .err()?
                    .to_string()
            } else {
                "it is not an absolute path".to_string()
            };
            Some(format!(
                "step `{name}` writes into `{}`: {why}",
                path.display()
            ))
        })
        .collect()
}

/// What a step writes into: its own targets and the paths it snapshots.
fn targets(step: &StepSpec, vars: &StepVariables) -> Vec<PathBuf> {
    let mut paths = step_for(step).writes_into(vars);
    let snapshots = step.common().snapshot.iter();
    paths.extend(snapshots.map(|path| PathBuf::from(vars.expand(path))));
    paths
}
