//! `deploy-package` in Calamari's convention order (`docs/octopus-conventions.md` §4.1):
//! extract; configured then packaged `PreDeploy`; substitute variables in files; configuration
//! transforms; .NET configuration variables (not on the transforms applied); structured
//! configuration variables; packaged then configured
//! `Deploy` and `PostDeploy`. When a convention fails, `DeployFailed` (packaged and configured)
//! runs and the failure is returned. Every file written is recorded by the rollback transaction
//! before it is written.
//!
//! One deliberate difference from Calamari: with a custom installation directory (`destination`)
//! the package is extracted straight into it (after the purge) and the conventions run there,
//! instead of in an applications directory that is then copied. The result is the same, and no
//! rendered secret is ever written outside the files the plan installs.
//!
//! Its dry run names the package and where it goes, and shows each substitution as a diff: the
//! package is extracted into a scratch directory and its files rendered with the secrets masked.

use super::config_files;
use super::config_transforms;
use super::referenced::{self, extract, safe_segment};
use super::script_block::{ScriptContext, run_block, run_file};
use super::substitute::{self as substitute_step, preview_substitution};
use super::{Preview, PreviewContext, Step, StepContext, StepFailure};
use crate::config::{self, StructuredOptions, SubstitutionError};
use crate::installed::InstalledPackage;
use crate::package::{self, ExtractLimits, PackageName};
use crate::plan::{DeployPackageStep, ScriptBlock};
use crate::rollback::Transaction;
use crate::script::{OutputLine, OutputVariable};
use crate::variables::StepVariables;
use std::path::{Path, PathBuf};

/// Where packages without a `destination` are extracted when the variable
/// `Octopus.Tentacle.Agent.ApplicationDirectoryPath` is not set:
/// `/opt/dropship/applications/<environment>/<package id>/<version>`, or on Windows under
/// Tentacle's own default, `C:\Octopus\Applications`.
const DEFAULT_APPLICATIONS_DIR: &str = if cfg!(windows) {
    r"C:\Octopus\Applications"
} else {
    "/opt/dropship/applications"
};

fn fail(what: impl std::fmt::Display) -> StepFailure {
    StepFailure::new(what.to_string())
}

impl Step for DeployPackageStep {
    /// Deploy the package; its output variables are the installation directory, the number of
    /// files extracted and what its scripts set.
    fn run(&self, ctx: &mut StepContext<'_, '_>) -> Result<(), StepFailure> {
        let package = ctx.drop_root.join(&self.package);
        let destination = match &self.destination {
            Some(destination) => Some(ctx.vars.evaluate(destination).map_err(fail)?),
            None => None,
        };
        // Before anything is written there: the settings files the customer edited.
        let edited = match &destination {
            Some(destination) => config_files::edited_before(
                self,
                previous_package(ctx, &self.name, &package),
                Path::new(destination),
                ctx.scrubber,
            ),
            None => Vec::new(),
        };
        let target = match &destination {
            Some(destination) => custom_directory(ctx.tx, self, destination)?,
            None => extraction_dir(&applications_dir(&ctx.vars), &package, &ctx.vars)?,
        };
        let count = extract(ctx, &package, &target)?;
        for name in [
            "Octopus.Action.Package.InstallationDirectoryPath",
            "OctopusOriginalPackageDirectoryPath",
        ] {
            ctx.vars.set(name, &target.to_string_lossy());
        }
        referenced::prepare(ctx, &self.packages)?;
        let mut script_outputs = Vec::new();
        let deployed = run_conventions(ctx, self, &target, &mut script_outputs)
            .and_then(|()| config_files::settle(ctx, edited));
        if let Err(failure) = deployed {
            run_deploy_failed(ctx, self, &target);
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
        ctx.publish(known.into_iter().chain(script_outputs));
        Ok(())
    }

    fn writes_into(&self, vars: &StepVariables) -> Vec<(&'static str, String)> {
        vec![match &self.destination {
            Some(destination) => ("destination", vars.expand(destination)),
            None => (
                "Octopus.Tentacle.Agent.ApplicationDirectoryPath",
                applications_dir(vars).display().to_string(),
            ),
        }]
    }

    fn preview(&self, ctx: &PreviewContext<'_>) -> Preview {
        let destination = self.destination.as_deref().map(|d| ctx.vars.expand(d));
        let into = destination
            .as_deref()
            .map(|d| format!(" into `{d}`"))
            .unwrap_or_default();
        let mut lines = vec![format!("extracts `{}`{into}", self.package)];
        if !self.substitute.is_empty() {
            lines.extend(preview_substitutions(self, ctx, destination));
        }
        Preview {
            lines,
            failed: false,
        }
    }
}

/// The installed version's install of this step's package, on an upgrade.
fn previous_package<'a>(
    ctx: &StepContext<'a, '_>,
    step: &str,
    package: &Path,
) -> Option<&'a InstalledPackage> {
    let id = PackageName::from_path(package).ok()?.id;
    ctx.upgrade?.previous_package(step, &id)
}

/// The package's substitutions: extracted into a scratch directory, rendered, and diffed
/// against the files in its destination (without one, against the package's own files).
fn preview_substitutions(
    step: &DeployPackageStep,
    ctx: &PreviewContext<'_>,
    destination: Option<String>,
) -> Vec<String> {
    let scratch = match tempfile::tempdir() {
        Ok(scratch) => scratch,
        Err(e) => {
            return vec![format!(
                "cannot make a scratch directory to open the package: {e}"
            )];
        }
    };
    let opened = ExtractLimits::from_variables(|name| ctx.vars.vars.get(name)).and_then(|limits| {
        package::extract_package(
            &ctx.drop_root.join(&step.package),
            scratch.path(),
            limits,
            |_, _| Ok(()),
        )
        .map_err(|e| e.to_string())
    });
    if let Err(e) = opened {
        return vec![format!("cannot open the package: {e}")];
    }
    let target = destination.map_or_else(|| scratch.path().to_path_buf(), PathBuf::from);
    preview_substitution(scratch.path(), &target, &step.substitute, ctx)
}

/// `Octopus.Tentacle.Agent.ApplicationDirectoryPath`, else [`DEFAULT_APPLICATIONS_DIR`].
fn applications_dir(vars: &StepVariables) -> PathBuf {
    match vars.expand("#{Octopus.Tentacle.Agent.ApplicationDirectoryPath}") {
        path if !path.is_empty() && !path.contains("#{") => PathBuf::from(path),
        _ => PathBuf::from(DEFAULT_APPLICATIONS_DIR),
    }
}

fn run_conventions(
    ctx: &mut StepContext<'_, '_>,
    step: &DeployPackageStep,
    dir: &Path,
    outputs: &mut Vec<OutputVariable>,
) -> Result<(), StepFailure> {
    outputs.extend(run_stage(ctx, step, "PreDeploy", dir, true)?);
    substitute(ctx, step, dir)?;
    let transforms = config_transforms::run(ctx, step, dir)?;
    if step.config_variables {
        dotnet_config(ctx, dir, &transforms)?;
    }
    structured(ctx, step, dir)?;
    for stage in ["Deploy", "PostDeploy"] {
        outputs.extend(run_stage(ctx, step, stage, dir, false)?);
    }
    Ok(())
}

/// The custom installation directory: absolute, purged first when the plan says so.
fn custom_directory(
    tx: &mut Transaction<'_>,
    step: &DeployPackageStep,
    destination: &str,
) -> Result<PathBuf, StepFailure> {
    let to = PathBuf::from(destination);
    if !to.is_absolute() {
        return Err(fail(format!(
            "the destination `{destination}` must be an absolute path"
        )));
    }
    if step.purge && to.exists() {
        purge(tx, &to, &step.purge_exclude)?;
    }
    Ok(to)
}

/// `APPS/<environment>/<package id>/<version>`, with `_1`, `_2` ... when it already exists.
fn extraction_dir(
    applications: &Path,
    package: &Path,
    vars: &StepVariables,
) -> Result<PathBuf, StepFailure> {
    let name = PackageName::from_path(package).map_err(fail)?;
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

/// A stage's scripts: configured then packaged before the files are configured, packaged then
/// configured after.
fn run_stage(
    ctx: &mut StepContext<'_, '_>,
    step: &DeployPackageStep,
    stage: &str,
    dir: &Path,
    configured_first: bool,
) -> Result<Vec<OutputVariable>, StepFailure> {
    let configured = step.scripts.get(stage).map(StageScript::Configured);
    let packaged = packaged_script(dir, stage).map(StageScript::Packaged);
    let order = if configured_first {
        [configured, packaged]
    } else {
        [packaged, configured]
    };
    let script = ScriptContext {
        default_dir: dir,
        ..ctx.script()
    };
    let (vars, name, events) = (&ctx.vars, ctx.step.name, &mut *ctx.events);
    let sink = &mut |line: OutputLine| events.output(name, &line);
    let mut outputs = Vec::new();
    for stage_script in order.into_iter().flatten() {
        let outcome = match stage_script {
            StageScript::Configured(block) => run_block(&script, vars, block, sink)?,
            StageScript::Packaged(path) => run_file(&script, vars, &path, dir, None, sink)?,
        };
        outputs.extend(outcome.output_variables);
    }
    Ok(outputs)
}

/// One script of a stage.
enum StageScript<'s> {
    /// Given in the plan's `scripts`.
    Configured(&'s ScriptBlock),
    /// Shipped in the package.
    Packaged(PathBuf),
}

/// `STAGE.<ext>` in `dir` only, ignoring case, by this platform's preference (`.sh` first, or
/// `.ps1` on Windows). Chosen whether or not its interpreter is installed: a missing one fails
/// the step with what to install rather than skipping a script the vendor meant to run.
fn packaged_script(dir: &Path, stage: &str) -> Option<PathBuf> {
    let entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    crate::script::Syntax::convention_extensions()
        .iter()
        .find_map(|ext| {
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

fn run_deploy_failed(ctx: &mut StepContext<'_, '_>, step: &DeployPackageStep, dir: &Path) {
    // DeployFailed runs only to let the package clean up; its own failure must not hide the
    // original one, so it is reported as output and otherwise ignored.
    if let Err(e) = run_stage(ctx, step, "DeployFailed", dir, false) {
        let warning = format!("DeployFailed script failed too: {}", e.message);
        ctx.output(OutputLine::Warning(warning));
    }
}

fn substitute(
    ctx: &mut StepContext<'_, '_>,
    step: &DeployPackageStep,
    dir: &Path,
) -> Result<(), StepFailure> {
    if step.substitute.is_empty() {
        return Ok(());
    }
    let bases = search_bases(&ctx.vars, dir);
    let bases: Vec<&Path> = bases.iter().map(PathBuf::as_path).collect();
    let plan = config::plan_substitution(&bases, &step.substitute).map_err(fail)?;
    for pattern in &plan.unmatched_patterns {
        ctx.output(OutputLine::Warning(format!(
            "substitution target `{pattern}` matched no file"
        )));
    }
    let evaluator = |text: &str| {
        ctx.vars.evaluate(text).map_err(|e| SubstitutionError {
            message: e.to_string(),
            partial_output: None,
        })
    };
    let options = substitute_step::options(&ctx.vars);
    let tx = &mut *ctx.tx;
    let report = config::apply_substitution(&plan, &evaluator, options, &mut |path| {
        Ok(tx.snapshot(path)?)
    })
    .map_err(fail)?;
    for (path, error) in &report.template_errors {
        ctx.output(OutputLine::Verbose(format!(
            "substitution in `{}`: {error}",
            path.display()
        )));
    }
    Ok(())
}

/// Where the configuration conventions look for files: the package's directory, then each
/// absolute path of `Octopus.Action.AdditionalPaths` (comma-separated, as Calamari's
/// `GetStrings` splits it).
fn search_bases(vars: &StepVariables, dir: &Path) -> Vec<PathBuf> {
    let additional = vars
        .vars
        .get("Octopus.Action.AdditionalPaths")
        .unwrap_or_default();
    std::iter::once(dir.to_path_buf())
        .chain(
            additional
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(PathBuf::from)
                .filter(|p| p.is_absolute()),
        )
        .collect()
}

fn variable_pairs(vars: &StepVariables) -> Vec<(String, String)> {
    vars.evaluated()
        .into_iter()
        .map(|(name, value, _)| (name, value))
        .collect()
}

/// .NET configuration variables on every `*.config` file but the transforms applied. A file
/// that cannot be parsed fails the step, as in Calamari, unless
/// `Octopus.Action.Package.IgnoreVariableReplacementErrors` is true: then it is reported as a
/// warning and left as it is.
fn dotnet_config(
    ctx: &mut StepContext<'_, '_>,
    dir: &Path,
    transforms: &[PathBuf],
) -> Result<(), StepFailure> {
    let pairs = variable_pairs(&ctx.vars);
    let ignore_errors = ctx
        .vars
        .flag("Octopus.Action.Package.IgnoreVariableReplacementErrors");
    let bases = search_bases(&ctx.vars, dir);
    let bases: Vec<&Path> = bases.iter().map(PathBuf::as_path).collect();
    let files = config::find_dotnet_config_files(&bases).map_err(fail)?;
    for file in files.iter().filter(|f| !transforms.contains(f)) {
        let tx = &mut *ctx.tx;
        match config::replace_dotnet_config(file, &pairs, &mut |path| Ok(tx.snapshot(path)?)) {
            Ok(_) => {}
            Err(e) if ignore_errors => ctx.output(OutputLine::Warning(e.to_string())),
            Err(e) => return Err(fail(e)),
        }
    }
    Ok(())
}

fn structured(
    ctx: &mut StepContext<'_, '_>,
    step: &DeployPackageStep,
    dir: &Path,
) -> Result<(), StepFailure> {
    if step.structured.is_empty() {
        return Ok(());
    }
    // A variable whose value is null stays null: JSON and YAML write `null` for it.
    let pairs: Vec<config::StructuredVariable> = ctx
        .vars
        .vars
        .iter()
        .map(|(name, raw)| {
            let value = raw.map(|_| ctx.vars.vars.get(name).unwrap_or_default());
            (name.to_string(), value)
        })
        .collect();
    let bases = search_bases(&ctx.vars, dir);
    let bases: Vec<&Path> = bases.iter().map(PathBuf::as_path).collect();
    let matches = config::find_target_files(&bases, &step.structured).map_err(fail)?;
    for pattern in &matches.unmatched {
        ctx.output(OutputLine::Warning(format!(
            "structured variables target `{pattern}` matched no file"
        )));
    }
    for file in &matches.files {
        config::replace_structured(file, &pairs, StructuredOptions::default(), &mut |path| {
            Ok(ctx.tx.snapshot(path)?)
        })
        .map_err(fail)?;
    }
    Ok(())
}

fn purge(tx: &mut Transaction<'_>, dir: &Path, exclusions: &[String]) -> Result<(), StepFailure> {
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
fn walk(root: &Path) -> Result<Vec<(PathBuf, bool)>, StepFailure> {
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
