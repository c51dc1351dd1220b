//! Builds the [`ImportedProcess`] from the source-neutral [`RawProcess`]: step conditions and
//! roles, disabled actions, environment and channel scoping. What each action *does* is read in
//! `actions.rs`. Both the JSON and the OCL reader end here, so they cannot disagree on meaning.

use super::ImportOptions;
use super::actions::{self, ActionContext, Mapped};
use super::error::ImportError;
use super::model::{
    ImportedProcess, ImportedStep, Properties, Skipped, StartTrigger, StepCondition, Unsupported,
};
use super::raw::{RawAction, RawProcess, RawStep};
use std::path::Path;

/// What every action inherits from its parent step.
struct Parent {
    name: String,
    roles: Vec<String>,
    condition: StepCondition,
    start_trigger: StartTrigger,
    max_parallelism: Option<String>,
}

/// Turns a raw process into the model, applying `opts` (scoping and package lookup).
pub(super) fn build(
    raw: RawProcess,
    file: &Path,
    opts: &ImportOptions,
) -> Result<ImportedProcess, ImportError> {
    let mut out = ImportedProcess {
        unsupported: raw.ignored,
        ..ImportedProcess::default()
    };
    for step in raw.steps {
        let parent = read_parent(&step, file)?;
        for action in step.actions {
            add_action(&mut out, &parent, action, file, opts)?;
        }
    }
    Ok(out)
}

fn add_action(
    out: &mut ImportedProcess,
    parent: &Parent,
    action: RawAction,
    file: &Path,
    opts: &ImportOptions,
) -> Result<(), ImportError> {
    if let Some(reason) = skip_reason(&action, opts) {
        out.skipped.push(Skipped {
            step: parent.name.clone(),
            action: action.name,
            reason,
        });
        return Ok(());
    }
    let ctx = ActionContext {
        file,
        step: &action.name,
        packages_dir: opts.packages_dir.as_deref(),
    };
    match actions::map_action(&action, &ctx)? {
        Mapped::Unsupported(reason) => out.unsupported.push(Unsupported {
            step: parent.name.clone(),
            action: Some(action.name),
            reason,
        }),
        Mapped::Action(mapped) => {
            let mapped = *mapped;
            let action_condition = action_condition(&action, file)?;
            out.steps.push(ImportedStep {
                step: parent.name.clone(),
                name: action.name,
                action: mapped.action,
                roles: parent.roles.clone(),
                condition: parent.condition.clone(),
                action_condition,
                start_trigger: parent.start_trigger,
                max_parallelism: parent.max_parallelism.clone(),
                run_on_server: action.properties.flag("Octopus.Action.RunOnServer"),
                required: action.is_required,
                notes: action.notes,
                environments: action.environments,
                excluded_environments: action.excluded_environments,
                channels: action.channels,
                tenant_tags: action.tenant_tags,
                properties: action.properties,
                packages: mapped.named_packages,
            });
        }
    }
    Ok(())
}

fn read_parent(step: &RawStep, file: &Path) -> Result<Parent, ImportError> {
    let props = &step.properties;
    Ok(Parent {
        name: step.name.clone(),
        roles: props.list("Octopus.Action.TargetRoles"),
        condition: step_condition(step, file)?,
        start_trigger: start_trigger(step, file)?,
        max_parallelism: props
            .text("Octopus.Action.MaxParallelism")
            .map(str::to_owned),
    })
}

fn step_condition(step: &RawStep, file: &Path) -> Result<StepCondition, ImportError> {
    let value = step.condition.as_deref().unwrap_or("Success");
    match value.to_ascii_lowercase().as_str() {
        "success" => Ok(StepCondition::Success),
        "failure" => Ok(StepCondition::Failure),
        "always" => Ok(StepCondition::Always),
        "variable" => {
            // Old Terraform code wrote the expression under the action-style key.
            let expr = expression(
                &step.properties,
                &[
                    "Octopus.Step.ConditionVariableExpression",
                    "Octopus.Action.ConditionVariableExpression",
                ],
            );
            expr.map(StepCondition::Variable).ok_or_else(|| {
                ImportError::process(
                    file,
                    &step.at,
                    "condition is `Variable` but `Octopus.Step.ConditionVariableExpression` is not set",
                )
            })
        }
        _ => Err(ImportError::process(
            file,
            &step.at,
            &format!(
                "unknown step condition `{value}` (expected Success, Failure, Always or Variable)"
            ),
        )),
    }
}

/// Actions only take `Success` or `Variable`; which key holds the expression is not settled
/// upstream, so both names seen in the wild are read.
fn action_condition(action: &RawAction, file: &Path) -> Result<Option<String>, ImportError> {
    let value = action.condition.as_deref().unwrap_or("Success");
    if value.eq_ignore_ascii_case("success") {
        return Ok(None);
    }
    if !value.eq_ignore_ascii_case("variable") {
        return Err(ImportError::process(
            file,
            &action.at,
            &format!("unknown action condition `{value}` (expected Success or Variable)"),
        ));
    }
    let keys = [
        "Octopus.Action.ConditionVariableExpression",
        "Octopus.Action.ConditionExpression",
    ];
    match expression(&action.properties, &keys) {
        Some(expr) => Ok(Some(expr)),
        None => Err(ImportError::process(
            file,
            &action.at,
            "condition is `Variable` but `Octopus.Action.ConditionVariableExpression` is not set",
        )),
    }
}

fn expression(props: &Properties, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| props.text(k)).map(str::to_owned)
}

fn start_trigger(step: &RawStep, file: &Path) -> Result<StartTrigger, ImportError> {
    let value = step
        .start_trigger
        .as_deref()
        .unwrap_or("StartAfterPrevious");
    match value.to_ascii_lowercase().as_str() {
        "startafterprevious" => Ok(StartTrigger::StartAfterPrevious),
        "startwithprevious" => Ok(StartTrigger::StartWithPrevious),
        _ => Err(ImportError::process(
            file,
            &step.at,
            &format!(
                "unknown start trigger `{value}` (expected StartAfterPrevious or StartWithPrevious)"
            ),
        )),
    }
}

/// Why an action is left out, if it is: disabled, or scoped away from the chosen
/// environment or channel. Empty scoping lists mean "no restriction".
fn skip_reason(action: &RawAction, opts: &ImportOptions) -> Option<String> {
    if action.is_disabled {
        return Some("disabled".to_owned());
    }
    if let Some(env) = opts.environment.as_deref() {
        if action
            .excluded_environments
            .iter()
            .any(|e| scope_matches(e, env))
        {
            return Some(format!("excluded from environment `{env}`"));
        }
        if outside(&action.environments, env) {
            let list = action.environments.join(", ");
            return Some(format!("scoped to environments {list}, not `{env}`"));
        }
    }
    if let Some(channel) = opts.channel.as_deref()
        && outside(&action.channels, channel)
    {
        let list = action.channels.join(", ");
        return Some(format!("scoped to channels {list}, not `{channel}`"));
    }
    None
}

/// A non-empty allow-list that does not name `wanted`.
fn outside(allowed: &[String], wanted: &str) -> bool {
    !allowed.is_empty() && !allowed.iter().any(|a| scope_matches(a, wanted))
}

/// JSON scopes by id (`Environments-3`), OCL by slug (`production`) or, in files older than
/// 2022.3, by name. The user may give any of these; a name also matches its slug.
fn scope_matches(entry: &str, wanted: &str) -> bool {
    entry.eq_ignore_ascii_case(wanted) || entry == slugify(wanted)
}

/// Octopus-style slug: lower case, runs of other characters turned into one `-`.
fn slugify(name: &str) -> String {
    let lowered = name.to_lowercase();
    let parts: Vec<&str> = lowered
        .split(|c: char| !c.is_alphanumeric())
        .filter(|p| !p.is_empty())
        .collect();
    parts.join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slug_of_a_name_matches_ocl_scoping() {
        assert_eq!(slugify("Production EU"), "production-eu");
        assert!(scope_matches("production-eu", "Production EU"));
        assert!(scope_matches("Environments-3", "environments-3"));
        assert!(!scope_matches("staging", "Production"));
    }
}
