//! Configuration transforms, one of `deploy-package`'s configuration conventions
//! (`docs/octopus-conventions.md` §4.7): which transform applies to which `*.config` file, in
//! Calamari's order, with its error and warning flags. The XDT language is `config::xdt`'s.

use super::ConfigPass;
use crate::config::{self, find_dotnet_config_files};
use crate::plan::DeployPackageStep;
use crate::script::OutputLine;
use crate::steps::StepFailure;
use crate::variables::StepVariables;
use std::path::{Path, PathBuf};

/// Apply the step's transforms under `dir`; the transform files applied, which .NET
/// configuration variables then leave alone (Calamari's `OctopusAppliedXmlConfigTransforms`).
pub(super) fn run(
    pass: &mut ConfigPass<'_>,
    step: &DeployPackageStep,
    dir: &Path,
) -> Result<Vec<PathBuf>, StepFailure> {
    // The `*.config` files of the package and of the additional paths, as Calamari's
    // `MatchingFiles` finds them.
    let bases = pass.bases(dir);
    let bases: Vec<&Path> = bases.iter().map(PathBuf::as_path).collect();
    let configs = find_dotnet_config_files(&bases).map_err(|e| StepFailure::new(e.to_string()))?;
    let vars = pass.vars;
    let mut pairs = Vec::new();
    if step.config_transforms {
        pairs.extend(automatic(vars, &configs));
    }
    for definition in &step.additional_transforms {
        pairs.extend(additional(dir, &configs, &vars.expand(definition)));
    }
    let ignore_errors = vars.flag("Octopus.Action.Package.IgnoreConfigTransformationErrors");
    let warnings_fail = !vars
        .vars
        .get("Octopus.Action.Package.TreatConfigTransformationWarningsAsErrors")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("false"));
    let mut applied = Vec::new();
    for (transform, target) in pairs {
        let report = match config::apply_transform(&target, &transform, pass.before_write) {
            Ok(report) => report,
            Err(e) if ignore_errors => {
                (pass.output)(OutputLine::Warning(e.to_string()));
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
            (pass.output)(OutputLine::Warning(message));
        }
        applied.push(transform);
    }
    Ok(applied)
}

/// `X.Release.config`, `X.<environment>.config`, `X.<tenant>.config` for every `X.config`.
fn automatic(vars: &StepVariables, configs: &[PathBuf]) -> Vec<(PathBuf, PathBuf)> {
    let mut names = vec!["Release".to_string()];
    for variable in ["Octopus.Environment.Name", "Octopus.Deployment.Tenant.Name"] {
        if let Some(name) = vars.vars.get(variable).filter(|n| !n.is_empty()) {
            names.push(name);
        }
    }
    let mut pairs = Vec::new();
    for target in configs {
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
    pairs
}

/// One `Octopus.Action.Package.AdditionalXmlConfigurationTransforms` entry, paired with the
/// `configs` as Calamari's `TransformFileLocator` pairs them (`dir` is the package's directory):
/// - `NAME` (no `=>`): each `X.config` gets `X.NAME` (or `X.NAME.config`) beside it;
/// - `T => S`: each file named `S` (or, for `*.ext`, any name ending in `.ext`; a path with `/`
///   is matched from `dir`) gets `T`, found relative to that file's directory (or absolute);
///   `*.T => *.S` gives `X.S` its own `X.T`, `*.T => S` every `*.T` of the directory.
fn additional(dir: &Path, configs: &[PathBuf], definition: &str) -> Vec<(PathBuf, PathBuf)> {
    let mut pairs = Vec::new();
    for source in configs {
        for transform in transforms_for(dir, source, definition) {
            if transform != *source
                && transform.is_file()
                && !pairs.contains(&(transform.clone(), source.clone()))
            {
                pairs.push((transform, source.clone()));
            }
        }
    }
    pairs
}

/// The transform files `definition` names for `source` (existing or not).
fn transforms_for(dir: &Path, source: &Path, definition: &str) -> Vec<PathBuf> {
    let (Some(folder), Some(name)) = (source.parent(), file_name(source)) else {
        return Vec::new();
    };
    let stem = name
        .rsplit_once('.')
        .map_or(name.as_str(), |(stem, _)| stem);
    let Some((transform, target)) = definition.split_once("=>") else {
        let wanted = definition.trim();
        return vec![
            folder.join(format!("{stem}.{wanted}")),
            folder.join(format!("{stem}.{wanted}.config")),
        ];
    };
    let (transform, target) = (
        transform.trim().replace('\\', "/"),
        target.trim().replace('\\', "/"),
    );
    if !source_matches(dir, source, &target) {
        return Vec::new();
    }
    let transform_name = transform.rsplit('/').next().unwrap_or_default();
    let transform_dir = folder.join(&transform[..transform.len() - transform_name.len()]);
    match (
        transform_name.strip_prefix("*."),
        target
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .starts_with("*."),
    ) {
        (Some(rest), true) => vec![transform_dir.join(format!("{stem}.{rest}"))],
        (Some(rest), false) => std::fs::read_dir(&transform_dir)
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                file_name(p).is_some_and(|n| {
                    n.to_lowercase()
                        .ends_with(&format!(".{}", rest.to_lowercase()))
                })
            })
            .collect(),
        (None, _) => vec![transform_dir.join(transform_name)],
    }
}

/// Whether `source` is a file `target` names: its file name (or, with `/`, its path from `dir`),
/// ignoring case; `*.ext` matches any name ending in `.ext`.
fn source_matches(dir: &Path, source: &Path, target: &str) -> bool {
    let relative = source
        .strip_prefix(dir)
        .map(|p| p.to_string_lossy().replace('\\', "/"))
        .unwrap_or_default();
    let (candidate, pattern) = match target.rsplit_once('/') {
        Some((folder, name)) => {
            let folder = folder.trim_start_matches("./");
            let Some(rest) = relative.strip_suffix(&file_name(source).unwrap_or_default()) else {
                return false;
            };
            if !rest.trim_end_matches('/').eq_ignore_ascii_case(folder) {
                return false;
            }
            (file_name(source).unwrap_or_default(), name.to_string())
        }
        None => (file_name(source).unwrap_or_default(), target.to_string()),
    };
    match pattern.strip_prefix('*') {
        Some(suffix) => {
            candidate.to_lowercase().ends_with(&suffix.to_lowercase())
                && candidate.len() > suffix.len()
        }
        None => candidate.eq_ignore_ascii_case(&pattern),
    }
}

fn file_name(path: &Path) -> Option<String> {
    path.file_name().map(|n| n.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn additional_transforms_pair_files_as_calamari_does() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("sub")).expect("mkdir");
        std::fs::create_dir_all(dir.path().join("transforms")).expect("mkdir");
        for name in [
            "web.config",
            "app.config",
            "web.Staging.config",
            "web.mytransform.config",
            "app.mytransform.config",
            "connstrings.extra.config",
            "sub/web.config",
            "transforms/web.other.config",
        ] {
            std::fs::write(dir.path().join(name), "<configuration/>").expect("write");
        }
        let path = |n: &str| dir.path().join(n);
        let configs = find_dotnet_config_files(&[dir.path()]).expect("configs");
        let pairs = |d: &str| additional(dir.path(), &configs, d);
        assert_eq!(
            pairs("Staging"),
            [(path("web.Staging.config"), path("web.config"))]
        );
        assert_eq!(
            pairs("web.mytransform.config => web.config"),
            [(path("web.mytransform.config"), path("web.config"))]
        );
        assert_eq!(
            pairs("*.mytransform.config => *.config"),
            [
                (path("app.mytransform.config"), path("app.config")),
                (path("web.mytransform.config"), path("web.config"))
            ]
        );
        let all = pairs("connstrings.extra.config => *.config");
        assert!(
            all.contains(&(path("connstrings.extra.config"), path("app.config"))),
            "{all:?}"
        );
        assert_eq!(
            pairs("transforms/web.other.config => web.config"),
            [(path("transforms/web.other.config"), path("web.config"))]
        );
    }
}
