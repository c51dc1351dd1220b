//! Mapping an [`ImportedProcess`] (from a deployment process or an OPD) to a dropship plan the
//! release engineer can review: one plan step per Octopus action, with its package, features,
//! scripts, roles and condition; customer-supplied values as parameters. What cannot be mapped
//! is listed with the reason, never silently dropped.

use super::model::*;
use crate::failure::OnMachine;
use dropship_runtime::plan::{
    DeployPackageStep, ManualStep, Parameter, ParameterType, PlanDocument, Product,
    ReferencedPackage, RunScriptStep, SCHEMA, ScriptBlock, StepSpec,
};
use std::collections::BTreeMap;
use std::path::Path;

/// What the mapping produced and what it could not map.
pub struct Mapped {
    pub plan: PlanDocument,
    /// One line per step mapped.
    pub mapped: Vec<String>,
    /// One line per thing not mapped, with the reason.
    pub not_mapped: Vec<String>,
}

fn syntax_name(syntax: ScriptSyntax) -> Option<&'static str> {
    match syntax {
        ScriptSyntax::Bash => Some("bash"),
        ScriptSyntax::Python => Some("python"),
        ScriptSyntax::PowerShell => Some("pwsh"),
        ScriptSyntax::CSharp => None,
    }
}

fn condition(step: &ImportedStep) -> Option<String> {
    match (&step.condition, &step.action_condition) {
        (StepCondition::Failure, _) => Some("failure".into()),
        (StepCondition::Always, _) => Some("always".into()),
        (StepCondition::Variable(expression), _) => Some(expression.clone()),
        (StepCondition::Success, Some(expression)) => Some(expression.clone()),
        (StepCondition::Success, None) => None,
    }
}

/// Map the process; `drop_root` is what package paths are made relative to.
pub fn to_plan(
    process: &ImportedProcess,
    files: &[StepFiles],
    product: Product,
    asked: &[Asked],
    drop_root: &Path,
) -> Mapped {
    let mut mapped = Vec::new();
    let mut not_mapped: Vec<String> = process
        .skipped
        .iter()
        .map(|s| {
            format!(
                "step `{}` action `{}`: skipped: {}",
                s.step, s.action, s.reason
            )
        })
        .chain(process.unsupported.iter().map(|u| {
            format!(
                "step `{}`{}: {}",
                u.step,
                u.action
                    .as_ref()
                    .map(|a| format!(" action `{a}`"))
                    .unwrap_or_default(),
                u.reason
            )
        }))
        .collect();
    let mut steps = Vec::new();
    let mut roles: Vec<String> = Vec::new();
    for (i, step) in process.steps.iter().enumerate() {
        let step_files = files.get(i).cloned().unwrap_or_default();
        match map_step(step, &step_files, drop_root) {
            Ok(spec) => {
                mapped.push(format!("`{}` → {}", step.name, spec.type_name()));
                for role in &step.roles {
                    if !roles.iter().any(|r| r.eq_ignore_ascii_case(role)) {
                        roles.push(role.clone());
                    }
                }
                steps.push(spec);
            }
            Err(why) => not_mapped.push(format!("step `{}`: {why}", step.name)),
        }
    }
    let parameters = asked
        .iter()
        .map(|a| Parameter {
            name: a.name.clone(),
            label: None,
            help: Some(a.reason.clone()),
            kind: if a.secret {
                ParameterType::Secret
            } else {
                ParameterType::Text
            },
            default: None,
            required: None,
            pattern: None,
            confirm: a.secret,
            roles: Vec::new(),
            options: Vec::new(),
            previous_names: Vec::new(),
        })
        .collect();
    let plan = PlanDocument {
        schema: SCHEMA.to_string(),
        product,
        roles,
        parameters,
        variables: BTreeMap::new(),
        steps,
        upgrade: None,
    };
    Mapped {
        plan,
        mapped,
        not_mapped,
    }
}

fn map_step(step: &ImportedStep, files: &StepFiles, drop_root: &Path) -> Result<StepSpec, String> {
    let c = Common::of(step, files);
    match &step.action {
        StepAction::DeployPackage(package) => {
            let packages = referenced(&step.packages, drop_root)?;
            deploy_package(c, package, drop_root)
                .map(|spec| StepSpec::DeployPackage(DeployPackageStep { packages, ..spec }))
        }
        StepAction::RunScript(script) => {
            let packages = referenced(&step.packages, drop_root)?;
            run_script(c, script, drop_root)
                .map(|spec| StepSpec::RunScript(RunScriptStep { packages, ..spec }))
        }
        StepAction::Manual(manual) => Ok(StepSpec::Manual(ManualStep {
            name: c.name,
            condition: c.condition,
            roles: c.roles,
            timeout_s: None,
            retries: None,
            rollback: None,
            snapshot: Vec::new(),
            variables_file: c.variables_file,
            sensitive_variables_file: c.sensitive_variables_file,
            instructions: manual.instructions.clone(),
        })),
    }
}

/// The step's other packages (`Octopus.Action.Package[NAME]`), each found in the drop; one that
/// is not found keeps the step from being mapped (its scripts would miss it), with the reason.
fn referenced(packages: &[PackageRef], drop_root: &Path) -> Result<Vec<ReferencedPackage>, String> {
    packages
        .iter()
        .map(|package| {
            let name = package
                .name
                .clone()
                .unwrap_or_else(|| package.package_id.clone());
            let file = package_file(package, drop_root)
                .map_err(|why| format!("its referenced package `{name}`: {why}"))?;
            let extract = package
                .properties
                .get("Extract")
                .is_none_or(|e| !e.trim().eq_ignore_ascii_case("false"));
            Ok(ReferencedPackage {
                name,
                package: file,
                extract,
            })
        })
        .collect()
}

/// A package a step needs, as a path inside the drop.
fn package_file(package: &PackageRef, drop_root: &Path) -> Result<String, String> {
    let file = package.resolved_path.as_deref().ok_or_else(|| {
        format!(
            "package `{}` was not found; pass the folder holding it with `--packages`",
            package.package_id
        )
    })?;
    Ok(drop_relative(file, drop_root))
}

/// The fields every plan step has.
struct Common {
    name: String,
    condition: Option<String>,
    roles: Vec<String>,
    variables_file: Option<String>,
    sensitive_variables_file: Option<String>,
}

impl Common {
    fn of(step: &ImportedStep, files: &StepFiles) -> Self {
        Common {
            name: step.name.clone(),
            condition: condition(step),
            roles: step.roles.clone(),
            variables_file: files.variables_file.clone(),
            sensitive_variables_file: files.sensitive_variables_file.clone(),
        }
    }
}

/// A path inside the drop, with `/` separators.
fn drop_relative(path: &Path, drop_root: &Path) -> String {
    path.strip_prefix(drop_root)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

fn deploy_package(
    c: Common,
    package: &DeployPackage,
    drop_root: &Path,
) -> Result<DeployPackageStep, String> {
    let file = package_file(&package.package, drop_root)?;
    let mut scripts = BTreeMap::new();
    for script in &package.custom_scripts {
        let syntax = syntax_name(script.syntax)
            .ok_or("a configured C# script cannot run outside Octopus")?;
        let stage = match script.stage {
            ScriptStage::PreDeploy => "PreDeploy",
            ScriptStage::Deploy => "Deploy",
            ScriptStage::PostDeploy => "PostDeploy",
        };
        if syntax == "pwsh" && scripts.contains_key(stage) {
            continue; // the bash/python body of the same stage is the one that runs on Linux
        }
        scripts.insert(
            stage.to_string(),
            ScriptBlock {
                syntax: Some(syntax.into()),
                inline: Some(script.body.clone()),
                file: None,
                working_dir: None,
                parameters: None,
            },
        );
    }
    let custom = package.custom_directory.as_ref();
    Ok(DeployPackageStep {
        name: c.name,
        condition: c.condition,
        roles: c.roles,
        timeout_s: None,
        retries: None,
        rollback: None,
        snapshot: Vec::new(),
        variables_file: c.variables_file,
        sensitive_variables_file: c.sensitive_variables_file,
        package: file,
        destination: custom.map(|d| d.path.clone()),
        substitute: package.substitute_in_files.clone().unwrap_or_default(),
        structured: package.structured_variables.clone().unwrap_or_default(),
        config_variables: package
            .features
            .iter()
            .any(|f| f.eq_ignore_ascii_case("Octopus.Features.ConfigurationVariables")),
        config_transforms: package
            .config_transforms
            .as_ref()
            .is_some_and(|t| t.automatic),
        additional_transforms: package
            .config_transforms
            .as_ref()
            .map(|t| t.additional.clone())
            .unwrap_or_default(),
        purge: custom.is_some_and(|d| d.purge),
        purge_exclude: custom
            .map(|d| d.purge_exclusions.clone())
            .unwrap_or_default(),
        scripts,
        packages: Vec::new(),
        config_files: Vec::new(),
    })
}

fn run_script(c: Common, script: &Script, drop_root: &Path) -> Result<RunScriptStep, String> {
    let syntax = syntax_name(script.syntax).ok_or("C# scripts cannot run outside Octopus")?;
    let (inline, file, script_package) = match &script.source {
        ScriptSource::Inline(body) => (Some(body.clone()), None, None),
        ScriptSource::File(path) => (None, Some(path.clone()), None),
        ScriptSource::Package { package, path } => (
            None,
            Some(path.clone()),
            Some(package_file(package, drop_root)?),
        ),
    };
    Ok(RunScriptStep {
        name: c.name,
        condition: c.condition,
        roles: c.roles,
        timeout_s: None,
        retries: None,
        rollback: None,
        snapshot: Vec::new(),
        variables_file: c.variables_file,
        sensitive_variables_file: c.sensitive_variables_file,
        syntax: Some(syntax.into()),
        inline,
        file,
        working_dir: None,
        parameters: script.parameters.clone(),
        script_package,
        packages: Vec::new(),
    })
}

/// Write the plan all or nothing (a temporary file renamed into place).
pub fn write_plan(plan: &PlanDocument, out: &Path) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(plan)? + "\n";
    dropship_runtime::durable::write_atomic(out, text.as_bytes(), Some(0o644))
        .machine_io(|| format!("writing `{}`", out.display()))?;
    Ok(())
}
