//! `deploy-package` in Calamari's convention order (`docs/octopus-conventions.md` §4.1):
//! extract; configured then packaged `PreDeploy`; substitute variables in files; .NET
//! configuration variables; structured configuration variables; packaged then configured
//! `Deploy` and `PostDeploy`. When a convention fails, `DeployFailed` (packaged and configured)
//! runs and the failure is returned. Every file written is recorded by the rollback transaction
//! before it is written.
//!
//! One deliberate difference from Calamari: with a custom installation directory (`destination`)
//! the package is extracted straight into it (after the purge) and the conventions run there,
//! instead of in an applications directory that is then copied. The result is the same, and no
//! rendered secret is ever written outside the files the plan installs.

use super::run_script::{ScriptContext, ScriptFailure, run_block, run_file};
use crate::config::{self, StructuredOptions, SubstituteOptions, SubstitutionError};
use crate::package::{self, EntryKind, ExtractLimits, PackageName};
use crate::plan::DeployPackageStep;
use crate::rollback::Transaction;
use crate::script::{OutputLine, OutputVariable};
use crate::variables::{Output, StepVariables};
use std::path::{Path, PathBuf};

/// Everything a deploy needs besides the step itself.
pub struct DeployContext<'a, 'j> {
    pub script: ScriptContext<'a>,
    /// `Octopus.Tentacle.Agent.ApplicationDirectoryPath` or the engine's default.
    pub applications_dir: &'a Path,
    pub tx: &'a mut Transaction<'j>,
    pub sink: &'a mut dyn FnMut(OutputLine),
}

/// Why a deploy failed (scrubbed by the engine before anyone sees it).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DeployFailure(pub String);

impl From<ScriptFailure> for DeployFailure {
    fn from(e: ScriptFailure) -> Self {
        DeployFailure(e.0)
    }
}

fn fail(what: impl std::fmt::Display) -> DeployFailure {
    DeployFailure(what.to_string())
}

/// Deploy one package; returns the step's output variables.
pub fn deploy(
    ctx: &mut DeployContext<'_, '_>,
    step: &DeployPackageStep,
    vars: &mut StepVariables,
) -> Result<Vec<Output>, DeployFailure> {
    let package = ctx.script.drop_root.join(&step.package);
    let target = match &step.destination {
        Some(destination) => {
            custom_directory(ctx, step, &vars.evaluate(destination).map_err(fail)?)?
        }
        None => extraction_dir(ctx.applications_dir, &package, vars)?,
    };
    let count = extract(ctx, &package, &target)?;
    for name in [
        "Octopus.Action.Package.InstallationDirectoryPath",
        "OctopusOriginalPackageDirectoryPath",
    ] {
        vars.set(name, &target.to_string_lossy());
    }
    let mut script_outputs = Vec::new();
    if let Err(failure) = run_conventions(ctx, step, vars, &target, &mut script_outputs) {
        run_deploy_failed(ctx, step, vars, &target);
        return Err(failure);
    }
    let known = [
        (
            "Octopus.Action.Package.InstallationDirectoryPath",
            target.to_string_lossy().into_owned(),
        ),
        ("Package.ExtractedFileCount", count.to_string()),
    ]
    .map(|(name, value)| OutputVariable {
        name: name.to_string(),
        value,
        sensitive: false,
    });
    let step_name = ctx.script.step;
    Ok(known
        .into_iter()
        .chain(script_outputs)
        .map(|o| Output {
            step: step_name.to_string(),
            name: o.name,
            value: o.value,
            sensitive: o.sensitive,
        })
        .collect())
}

fn run_conventions(
    ctx: &mut DeployContext<'_, '_>,
    step: &DeployPackageStep,
    vars: &StepVariables,
    dir: &Path,
    outputs: &mut Vec<OutputVariable>,
) -> Result<(), DeployFailure> {
    outputs.extend(run_stage(ctx, step, vars, "PreDeploy", dir, true)?);
    substitute(ctx, step, vars, dir)?;
    if step.config_variables {
        dotnet_config(ctx, vars, dir)?;
    }
    structured(ctx, step, vars, dir)?;
    for stage in ["Deploy", "PostDeploy"] {
        outputs.extend(run_stage(ctx, step, vars, stage, dir, false)?);
    }
    Ok(())
}

/// The custom installation directory: absolute, purged first when the plan says so.
fn custom_directory(
    ctx: &mut DeployContext<'_, '_>,
    step: &DeployPackageStep,
    destination: &str,
) -> Result<PathBuf, DeployFailure> {
    let to = PathBuf::from(destination);
    if !to.is_absolute() {
        return Err(fail(format!(
            "the destination `{destination}` must be an absolute path"
        )));
    }
    if step.purge && to.exists() {
        purge(ctx.tx, &to, &step.purge_exclude)?;
    }
    Ok(to)
}

/// `APPS/<environment>/<package id>/<version>`, with `_1`, `_2` ... when it already exists.
fn extraction_dir(
    applications: &Path,
    package: &Path,
    vars: &StepVariables,
) -> Result<PathBuf, DeployFailure> {
    let file_name = package
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = PackageName::from_file_name(&file_name).map_err(fail)?;
    let environment = vars.expand("#{Octopus.Environment.Name}");
    let base = applications
        .join(safe_segment(&environment))
        .join(safe_segment(&name.id))
        .join(safe_segment(&name.version));
    let mut candidate = base.clone();
    let mut n = 0;
    while candidate.exists() {
        n += 1;
        candidate = PathBuf::from(format!("{}_{n}", base.display()));
    }
    Ok(candidate)
}

fn safe_segment(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect()
}

fn extract(
    ctx: &mut DeployContext<'_, '_>,
    package: &Path,
    into: &Path,
) -> Result<u64, DeployFailure> {
    ctx.tx.create_dir_all(into).map_err(fail)?;
    let tx = &mut *ctx.tx;
    let summary =
        package::extract_package(package, into, ExtractLimits::default(), |path, kind| {
            match kind {
                EntryKind::Directory => tx.create_dir_all(path)?,
                EntryKind::File | EntryKind::Symlink => tx.before_create_file(path)?,
            }
            Ok(())
        })
        .map_err(fail)?;
    Ok(summary.file_count)
}

/// Configured then packaged scripts before the copy; packaged then configured after it.
fn run_stage(
    ctx: &mut DeployContext<'_, '_>,
    step: &DeployPackageStep,
    vars: &StepVariables,
    stage: &str,
    dir: &Path,
    configured_first: bool,
) -> Result<Vec<OutputVariable>, DeployFailure> {
    let packaged = packaged_script(dir, stage);
    let configured = step.scripts.get(stage);
    let script = ScriptContext {
        default_dir: dir,
        ..ctx.script
    };
    let mut outputs = Vec::new();
    let run_configured = |sink: &mut dyn FnMut(OutputLine),
                          outputs: &mut Vec<OutputVariable>|
     -> Result<(), DeployFailure> {
        if let Some(block) = configured {
            outputs.extend(run_block(&script, vars, block, sink)?.output_variables);
        }
        Ok(())
    };
    if configured_first {
        run_configured(ctx.sink, &mut outputs)?;
    }
    if let Some(path) = &packaged {
        outputs.extend(run_file(&script, vars, path, dir, ctx.sink)?.output_variables);
    }
    if !configured_first {
        run_configured(ctx.sink, &mut outputs)?;
    }
    Ok(outputs)
}

/// `STAGE.sh`, else `.py`, else `.ps1` where `pwsh` exists, in `dir` only, ignoring case.
fn packaged_script(dir: &Path, stage: &str) -> Option<PathBuf> {
    let entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    let preference = ["sh", "py", "ps1"];
    preference.iter().find_map(|ext| {
        if *ext == "ps1" && !crate::script::Syntax::PowerShell.available() {
            return None;
        }
        entries
            .iter()
            .find(|p| {
                p.is_file()
                    && p.file_stem()
                        .is_some_and(|s| s.to_string_lossy().eq_ignore_ascii_case(stage))
                    && p.extension()
                        .is_some_and(|e| e.to_string_lossy().eq_ignore_ascii_case(ext))
            })
            .cloned()
    })
}

fn run_deploy_failed(
    ctx: &mut DeployContext<'_, '_>,
    step: &DeployPackageStep,
    vars: &StepVariables,
    dir: &Path,
) {
    // DeployFailed runs only to let the package clean up; its own failure must not hide the
    // original one, so it is reported as output and otherwise ignored.
    if let Err(e) = run_stage(ctx, step, vars, "DeployFailed", dir, false) {
        (ctx.sink)(OutputLine::Warning(format!(
            "DeployFailed script failed too: {e}"
        )));
    }
}

fn substitute(
    ctx: &mut DeployContext<'_, '_>,
    step: &DeployPackageStep,
    vars: &StepVariables,
    dir: &Path,
) -> Result<(), DeployFailure> {
    if step.substitute.is_empty() {
        return Ok(());
    }
    let plan = config::plan_substitution(&[dir], &step.substitute).map_err(fail)?;
    for pattern in &plan.unmatched_patterns {
        (ctx.sink)(OutputLine::Warning(format!(
            "substitution target `{pattern}` matched no file"
        )));
    }
    let evaluator = |text: &str| {
        vars.evaluate(text).map_err(|e| SubstitutionError {
            message: e.to_string(),
            partial_output: None,
        })
    };
    let tx = &mut *ctx.tx;
    let report = config::apply_substitution(
        &plan,
        &evaluator,
        SubstituteOptions::default(),
        &mut |path| Ok(tx.snapshot(path)?),
    )
    .map_err(fail)?;
    for (path, error) in &report.template_errors {
        (ctx.sink)(OutputLine::Verbose(format!(
            "substitution in `{}`: {error}",
            path.display()
        )));
    }
    Ok(())
}

fn variable_pairs(vars: &StepVariables) -> Vec<(String, String)> {
    vars.evaluated()
        .into_iter()
        .map(|(name, value, _)| (name, value))
        .collect()
}

fn dotnet_config(
    ctx: &mut DeployContext<'_, '_>,
    vars: &StepVariables,
    dir: &Path,
) -> Result<(), DeployFailure> {
    let pairs = variable_pairs(vars);
    let tx = &mut *ctx.tx;
    for file in config::find_dotnet_config_files(&[dir]).map_err(fail)? {
        config::replace_dotnet_config(&file, &pairs, &mut |path| Ok(tx.snapshot(path)?))
            .map_err(fail)?;
    }
    Ok(())
}

fn structured(
    ctx: &mut DeployContext<'_, '_>,
    step: &DeployPackageStep,
    vars: &StepVariables,
    dir: &Path,
) -> Result<(), DeployFailure> {
    if step.structured.is_empty() {
        return Ok(());
    }
    let pairs = variable_pairs(vars);
    let matches = config::find_target_files(&[dir], &step.structured).map_err(fail)?;
    for pattern in &matches.unmatched {
        (ctx.sink)(OutputLine::Warning(format!(
            "structured variables target `{pattern}` matched no file"
        )));
    }
    let tx = &mut *ctx.tx;
    for file in &matches.files {
        config::replace_structured(file, &pairs, StructuredOptions::default(), &mut |path| {
            Ok(tx.snapshot(path)?)
        })
        .map_err(fail)?;
    }
    Ok(())
}

fn purge(tx: &mut Transaction<'_>, dir: &Path, exclusions: &[String]) -> Result<(), DeployFailure> {
    let mut builder = globset::GlobSetBuilder::new();
    for pattern in exclusions {
        builder.add(
            globset::Glob::new(pattern)
                .map_err(|e| fail(format!("purge exclusion `{pattern}`: {e}")))?,
        );
    }
    let excluded = builder.build().map_err(fail)?;
    for (relative, is_dir) in walk(dir)? {
        if !is_dir && !excluded.is_match(&relative) {
            tx.delete_file(&dir.join(&relative)).map_err(fail)?;
        }
    }
    Ok(())
}

/// Every entry under `root`, parents before children, in name order.
fn walk(root: &Path) -> Result<Vec<(PathBuf, bool)>, DeployFailure> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(relative) = stack.pop() {
        let dir = root.join(&relative);
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .map_err(|e| fail(format!("reading `{}`: {e}", dir.display())))?
            .filter_map(Result::ok)
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries.into_iter().rev() {
            let path = relative.join(entry.file_name());
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            if is_dir {
                stack.push(path.clone());
            }
            out.push((path, is_dir));
        }
    }
    out.sort_by(|a, b| {
        a.0.components()
            .count()
            .cmp(&b.0.components().count())
            .then(a.0.cmp(&b.0))
    });
    Ok(out)
}
