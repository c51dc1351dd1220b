//! Configuration transforms for `deploy-package` (a helper of that step,
//! `docs/octopus-conventions.md` §4.7): which transform applies to which `*.config` file, in
//! Calamari's order, with its error and warning flags. The XDT language is `config::xdt`'s.

use super::{StepContext, StepFailure};
use crate::config::{self, find_dotnet_config_files, find_target_files};
use crate::plan::DeployPackageStep;
use crate::script::OutputLine;
use std::path::{Path, PathBuf};

/// Apply the step's transforms under `dir`; the transform files applied, which .NET
/// configuration variables then leave alone (Calamari's `OctopusAppliedXmlConfigTransforms`).
pub(super) fn run(
    ctx: &mut StepContext<'_, '_>,
    step: &DeployPackageStep,
    dir: &Path,
) -> Result<Vec<PathBuf>, StepFailure> {
    let mut pairs = Vec::new();
    if step.config_transforms {
        pairs.extend(automatic(ctx, dir)?);
    }
    for definition in &step.additional_transforms {
        pairs.extend(additional(dir, &ctx.vars.expand(definition))?);
    }
    let ignore_errors = ctx
        .vars
        .flag("Octopus.Action.Package.IgnoreConfigTransformationErrors");
    let warnings_fail = !ctx
        .vars
        .vars
        .get("Octopus.Action.Package.TreatConfigTransformationWarningsAsErrors")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("false"));
    let mut applied = Vec::new();
    for (transform, target) in pairs {
        let tx = &mut *ctx.tx;
        let outcome = config::apply_transform(&target, &transform, &mut |p| Ok(tx.snapshot(p)?));
        let report = match outcome {
            Ok(report) => report,
            Err(e) if ignore_errors => {
                ctx.output(OutputLine::Warning(e.to_string()));
                continue;
            }
            Err(e) => return Err(StepFailure::new(e.to_string())),
        };
        for warning in &report.warnings {
            let message = format!(
                "transforming `{}` with `{}`: {warning}",
                target.display(),
                transform.display()
            );
            if warnings_fail && !ignore_errors {
                return Err(StepFailure::new(format!(
                    "{message}; set `Octopus.Action.Package.TreatConfigTransformationWarningsAsErrors` to False to let it pass"
                )));
            }
            ctx.output(OutputLine::Warning(message));
        }
        applied.push(transform);
    }
    Ok(applied)
}

/// `X.Release.config`, `X.<environment>.config`, `X.<tenant>.config` for every `X.config`.
fn automatic(
    ctx: &StepContext<'_, '_>,
    dir: &Path,
) -> Result<Vec<(PathBuf, PathBuf)>, StepFailure> {
    let mut names = vec!["Release".to_string()];
    for variable in ["Octopus.Environment.Name", "Octopus.Deployment.Tenant.Name"] {
        if let Some(name) = ctx.vars.vars.get(variable).filter(|n| !n.is_empty()) {
            names.push(name);
        }
    }
    let configs = find_dotnet_config_files(&[dir]).map_err(|e| StepFailure::new(e.to_string()))?;
    let mut pairs = Vec::new();
    for target in &configs {
        let Some(stem) = target.file_stem().map(|s| s.to_string_lossy().into_owned()) else {
            continue;
        };
        for name in &names {
            let transform = target.with_file_name(format!("{stem}.{name}.config"));
            if configs.contains(&transform) {
                pairs.push((transform, target.clone()));
            }
        }
    }
    Ok(pairs)
}

/// One `Octopus.Action.Package.AdditionalXmlConfigurationTransforms` entry.
fn additional(dir: &Path, definition: &str) -> Result<Vec<(PathBuf, PathBuf)>, StepFailure> {
    let fail = |e: config::ConfigError| StepFailure::new(e.to_string());
    let (transform, target) = match definition.split_once("=>") {
        Some((transform, target)) => (transform.trim(), target.trim().to_string()),
        None => (definition.trim(), implied_target(definition.trim())),
    };
    if !transform.contains('*') {
        let targets = find_target_files(&[dir], &[target]).map_err(fail)?.files;
        return Ok(targets
            .into_iter()
            .map(|t| (dir.join(transform), t))
            .collect());
    }
    // `*.Staging.config => *.config`: each target's own transform, where it exists.
    let suffix = transform.rsplit('*').next().unwrap_or_default().to_string();
    let target_suffix = target.rsplit('*').next().unwrap_or_default().to_string();
    let targets = find_target_files(&[dir], &[target]).map_err(fail)?.files;
    Ok(targets
        .into_iter()
        .filter_map(|t| {
            let name = t.file_name()?.to_string_lossy().into_owned();
            let stem = name.strip_suffix(&target_suffix)?;
            let candidate = t.with_file_name(format!("{stem}{suffix}"));
            (candidate.is_file() && candidate != t).then_some((candidate, t))
        })
        .collect())
}

/// `Web.Staging.config` applies to `Web.config`: the name without its second-to-last part.
fn implied_target(transform: &str) -> String {
    let parts: Vec<&str> = transform.rsplitn(3, '.').collect();
    match parts.as_slice() {
        [ext, _, stem] => format!("{stem}.{ext}"),
        _ => transform.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn additional_transforms_pair_files_as_calamari_does() {
        let dir = tempfile::tempdir().expect("tempdir");
        for name in [
            "Web.config",
            "Web.Staging.config",
            "App.config",
            "Extra.config",
        ] {
            std::fs::write(dir.path().join(name), "<configuration/>").expect("write");
        }
        let path = |n: &str| dir.path().join(n);
        assert_eq!(
            additional(dir.path(), "Web.Staging.config").expect("pairs"),
            [(path("Web.Staging.config"), path("Web.config"))]
        );
        assert_eq!(
            additional(dir.path(), "Extra.config => App.config").expect("pairs"),
            [(path("Extra.config"), path("App.config"))]
        );
        assert_eq!(
            additional(dir.path(), "*.Staging.config => *.config").expect("pairs"),
            [(path("Web.Staging.config"), path("Web.config"))]
        );
        assert_eq!(implied_target("a.b.c.config"), "a.b.config");
    }
}
