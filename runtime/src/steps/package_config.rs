//! The configuration conventions of `deploy-package`, in Calamari's order
//! (`docs/octopus-conventions.md` §4.1): substitute variables in files, configuration transforms,
//! .NET configuration variables (not on the transforms applied), structured configuration
//! variables. They change files through a [`ConfigPass`]: each file is handed to its
//! `before_write` first. The install's pass snapshots it in the rollback transaction; the dry
//! run's runs the very same conventions on a scratch copy of the package and notes which files
//! they rewrote, to show each as a diff.

use super::StepFailure;
use super::substitute as substitute_step;
use crate::config::{self, HookError, StructuredOptions, SubstitutionError};
use crate::plan::DeployPackageStep;
use crate::script::OutputLine;
use crate::variables::StepVariables;
use std::path::{Path, PathBuf};

mod transforms;

/// What the conventions work with.
pub(super) struct ConfigPass<'p> {
    pub vars: &'p StepVariables,
    /// Where they look besides the package's directory: `Octopus.Action.AdditionalPaths` for
    /// the install ([`additional_paths`]), nothing for the dry run (which must not touch the
    /// target).
    pub additional: Vec<PathBuf>,
    /// Called with each file before it is rewritten; an error stops the convention.
    pub before_write: &'p mut dyn FnMut(&Path) -> Result<(), HookError>,
    /// Where their warnings and notes go.
    pub output: &'p mut dyn FnMut(OutputLine),
}

impl ConfigPass<'_> {
    /// Where the conventions look for files: the package's directory, then the additional
    /// paths.
    pub fn bases(&self, dir: &Path) -> Vec<PathBuf> {
        std::iter::once(dir.to_path_buf())
            .chain(self.additional.iter().cloned())
            .collect()
    }
}

/// Run every configuration convention the step turns on, on the package in `dir`.
pub(super) fn run(
    pass: &mut ConfigPass<'_>,
    step: &DeployPackageStep,
    dir: &Path,
) -> Result<(), StepFailure> {
    substitute(pass, step, dir)?;
    let transforms = transforms::run(pass, step, dir)?;
    if step.config_variables {
        dotnet_config(pass, dir, &transforms)?;
    }
    structured(pass, step, dir)
}

/// The absolute paths of `Octopus.Action.AdditionalPaths` (comma-separated, as Calamari's
/// `GetStrings` splits it): the conventions change files there too.
pub(super) fn additional_paths(vars: &StepVariables) -> Vec<PathBuf> {
    let additional = vars
        .vars
        .get("Octopus.Action.AdditionalPaths")
        .unwrap_or_default();
    additional
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .collect()
}

fn fail(what: impl std::fmt::Display) -> StepFailure {
    StepFailure::new(what.to_string())
}

fn as_paths(bases: &[PathBuf]) -> Vec<&Path> {
    bases.iter().map(PathBuf::as_path).collect()
}

fn substitute(
    pass: &mut ConfigPass<'_>,
    step: &DeployPackageStep,
    dir: &Path,
) -> Result<(), StepFailure> {
    if step.substitute.is_empty() {
        return Ok(());
    }
    let bases = pass.bases(dir);
    let plan = config::plan_substitution(&as_paths(&bases), &step.substitute).map_err(fail)?;
    for pattern in &plan.unmatched_patterns {
        (pass.output)(OutputLine::Warning(format!(
            "substitution target `{pattern}` matched no file"
        )));
    }
    let vars = pass.vars;
    let evaluator = |text: &str| {
        vars.evaluate(text).map_err(|e| SubstitutionError {
            message: e.to_string(),
            partial_output: None,
        })
    };
    let options = substitute_step::options(vars);
    let report =
        config::apply_substitution(&plan, &evaluator, options, pass.before_write).map_err(fail)?;
    for (path, error) in &report.template_errors {
        (pass.output)(OutputLine::Verbose(format!(
            "substitution in `{}`: {error}",
            path.display()
        )));
    }
    Ok(())
}

/// .NET configuration variables on every `*.config` file but the transforms applied. A file
/// that cannot be parsed fails the step, as in Calamari, unless
/// `Octopus.Action.Package.IgnoreVariableReplacementErrors` is true: then it is reported as a
/// warning and left as it is.
fn dotnet_config(
    pass: &mut ConfigPass<'_>,
    dir: &Path,
    transforms: &[PathBuf],
) -> Result<(), StepFailure> {
    let pairs: Vec<(String, String)> = pass
        .vars
        .evaluated()
        .into_iter()
        .map(|(name, value, _)| (name, value))
        .collect();
    let ignore_errors = pass
        .vars
        .flag("Octopus.Action.Package.IgnoreVariableReplacementErrors");
    let bases = pass.bases(dir);
    let files = config::find_dotnet_config_files(&as_paths(&bases)).map_err(fail)?;
    for file in files.iter().filter(|f| !transforms.contains(f)) {
        match config::replace_dotnet_config(file, &pairs, pass.before_write) {
            Ok(_) => {}
            Err(e) if ignore_errors => (pass.output)(OutputLine::Warning(e.to_string())),
            Err(e) => return Err(fail(e)),
        }
    }
    Ok(())
}

fn structured(
    pass: &mut ConfigPass<'_>,
    step: &DeployPackageStep,
    dir: &Path,
) -> Result<(), StepFailure> {
    if step.structured.is_empty() {
        return Ok(());
    }
    // A variable whose value is null stays null: JSON and YAML write `null` for it.
    let vars = pass.vars;
    let pairs: Vec<config::StructuredVariable> = vars
        .vars
        .iter()
        .map(|(name, raw)| {
            let value = raw.map(|_| vars.vars.get(name).unwrap_or_default());
            (name.to_string(), value)
        })
        .collect();
    let bases = pass.bases(dir);
    let matches = config::find_target_files(&as_paths(&bases), &step.structured).map_err(fail)?;
    for pattern in &matches.unmatched {
        (pass.output)(OutputLine::Warning(format!(
            "structured variables target `{pattern}` matched no file"
        )));
    }
    for file in &matches.files {
        config::replace_structured(
            file,
            &pairs,
            StructuredOptions::default(),
            pass.before_write,
        )
        .map_err(fail)?;
    }
    Ok(())
}
