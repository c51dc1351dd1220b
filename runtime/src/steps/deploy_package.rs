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
//! Its dry run names the package and where it goes, shows every file the configuration
//! conventions would rewrite as a diff (the package is extracted into a private scratch directory
//! and the conventions run there, secrets masked in what is shown), and the scripts that would
//! run.

use super::config_files;
use super::package_config::{self, ConfigPass};
use super::referenced::{self, extract, safe_segment};
use super::script_block::{ScriptContext, run_block, run_file};
use super::substitute::{diff_against, diff_texts, undefined_lines};
use super::{Preview, PreviewContext, Step, StepContext, StepFailure};
use crate::config::{self, HookError};
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
        let package_dir = match &self.destination {
            Some(destination) => ("destination", vars.expand(destination)),
            None => (
                "Octopus.Tentacle.Agent.ApplicationDirectoryPath",
                applications_dir(vars).display().to_string(),
            ),
        };
        let additional = package_config::additional_paths(vars)
            .into_iter()
            .map(|path| {
                let path = path.display().to_string();
                ("Octopus.Action.AdditionalPaths", path)
            });
        std::iter::once(package_dir).chain(additional).collect()
    }

    fn preview(&self, ctx: &PreviewContext<'_>) -> Preview {
        let destination = self.destination.as_deref().map(|d| ctx.vars.expand(d));
        let into = destination
            .as_deref()
            .map(|d| format!(" into `{d}`"))
            .unwrap_or_default();
        let mut lines = vec![format!("extracts `{}`{into}", self.package)];
        lines.extend(preview_package(self, ctx, destination));
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

/// The package as the install would leave it: extracted into a private scratch directory, its
/// configuration conventions run there, each file they rewrite shown as a diff against the file
/// in the destination now (without one, the package's own), secrets masked; then the convention
/// scripts that would run. Files in `Octopus.Action.AdditionalPaths` are not touched.
fn preview_package(
    step: &DeployPackageStep,
    ctx: &PreviewContext<'_>,
    destination: Option<String>,
) -> Vec<String> {
    let scratch = match crate::scratch::private_dir("preview") {
        Ok(scratch) => scratch,
        Err(e) => {
            return vec![format!(
                "cannot make a scratch directory to open the package: {e}"
            )];
        }
    };
    let dir = scratch.path();
    let opened = ExtractLimits::from_variables(|name| ctx.vars.vars.get(name)).and_then(|limits| {
        let package = ctx.drop_root.join(&step.package);
        package::extract_package(&package, dir, limits, |_, _| Ok(())).map_err(|e| e.to_string())
    });
    if let Err(e) = opened {
        return vec![format!("cannot open the package: {e}")];
    }
    let mut lines = preview_configuration(step, ctx, dir, destination.as_deref().map(Path::new));
    lines.extend(preview_scripts(step, dir));
    lines
}

/// Run the configuration conventions on the package copy in `dir`: their warnings, and the diff
/// of every file they rewrite against the same file under `destination` (or as it was in the
/// package).
fn preview_configuration(
    step: &DeployPackageStep,
    ctx: &PreviewContext<'_>,
    dir: &Path,
    destination: Option<&Path>,
) -> Vec<String> {
    // Each file rewritten, with its text before the first rewrite.
    let mut touched: Vec<(PathBuf, String)> = Vec::new();
    let mut lines: Vec<String> = Vec::new();
    let mut before_write = |path: &Path| -> Result<(), HookError> {
        if !touched.iter().any(|(p, _)| p == path) {
            let text = config::read_text_file(path)
                .map(|f| f.text)
                .unwrap_or_default();
            touched.push((path.to_path_buf(), text));
        }
        Ok(())
    };
    let mut output = |line: OutputLine| {
        if let OutputLine::Warning(text) = line {
            lines.push(format!("warning: {text}"));
        }
    };
    let mut pass = ConfigPass {
        vars: ctx.vars,
        additional: Vec::new(),
        before_write: &mut before_write,
        output: &mut output,
    };
    let result = package_config::run(&mut pass, step, dir);
    let substituted = config::find_target_files(&[dir], &step.substitute)
        .map(|found| found.files)
        .unwrap_or_default();
    for (file, before) in &touched {
        let relative = file.strip_prefix(dir).unwrap_or(file);
        let Ok(after) = config::read_text_file(file) else {
            continue;
        };
        lines.push(format!("configures `{}`:", relative.display()));
        let diff = match destination {
            Some(destination) => diff_against(&destination.join(relative), &after.text, ctx),
            None => diff_texts(relative, before, &after.text, ctx),
        };
        lines.extend(diff.lines().map(|line| format!("  {line}")));
        if substituted.contains(file) {
            lines.extend(undefined_lines(before, ctx));
        }
    }
    if let Err(failure) = result {
        lines.push(format!("would fail: {}", failure.message));
    }
    if !package_config::additional_paths(ctx.vars).is_empty() {
        lines.push(
            "also configures the files in `Octopus.Action.AdditionalPaths` (not shown)".into(),
        );
    }
    lines
}

/// The package's convention scripts that would run, in order.
fn preview_scripts(step: &DeployPackageStep, dir: &Path) -> Vec<String> {
    let mut lines = Vec::new();
    for (stage, configured_first) in [
        ("PreDeploy", true),
        ("Deploy", false),
        ("PostDeploy", false),
    ] {
        let configured = step
            .scripts
            .get(stage)
            .map(|_| format!("the plan's {stage} script"));
        let packaged = packaged_script(dir, stage).and_then(|p| {
            p.file_name()
                .map(|n| format!("`{}` from the package", n.to_string_lossy()))
        });
        let order = match configured_first {
            true => [configured, packaged],
            false => [packaged, configured],
        };
        lines.extend(
            order
                .into_iter()
                .flatten()
                .map(|what| format!("runs {what}")),
        );
    }
    lines
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
    configure(ctx, step, dir)?;
    for stage in ["Deploy", "PostDeploy"] {
        outputs.extend(run_stage(ctx, step, stage, dir, false)?);
    }
    Ok(())
}

/// The configuration conventions on the installed package, each file snapshot before it is
/// rewritten.
fn configure(
    ctx: &mut StepContext<'_, '_>,
    step: &DeployPackageStep,
    dir: &Path,
) -> Result<(), StepFailure> {
    let name = ctx.step.name;
    let additional = package_config::additional_paths(&ctx.vars);
    let StepContext {
        tx, events, vars, ..
    } = ctx;
    let mut before_write = |path: &Path| -> Result<(), HookError> { Ok(tx.snapshot(path)?) };
    let mut output = |line: OutputLine| events.output(name, &line);
    let mut pass = ConfigPass {
        vars,
        additional,
        before_write: &mut before_write,
        output: &mut output,
    };
    package_config::run(&mut pass, step, dir)
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
    if order.iter().all(Option::is_none) {
        return Ok(Vec::new());
    }
    let script = ScriptContext {
        default_dir: dir,
        ..ctx.script()?
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
                    // The name first: `is_file` asks the file system.
                    p.file_stem()
                        .is_some_and(|s| s.to_string_lossy().eq_ignore_ascii_case(stage))
                        && p.extension()
                            .is_some_and(|e| e.to_string_lossy().eq_ignore_ascii_case(ext))
                        && p.is_file()
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
