//! Checks of a plan against the drop it is built with: every file a step names exists inside the
//! drop, and no variables file in the drop gives a secret parameter a value (vendor-blind rule).

use super::Problem;
use super::model::*;
use crate::octopus::variables_file::parse_variables;
use std::path::{Component, Path};

/// Read access to a drop, wherever it is (a folder, or an artifact zip on the vendor side).
pub trait DropFiles {
    /// Whether `relative` (a `/`-separated path inside the drop) is a file.
    fn is_file(&self, relative: &str) -> bool;
    /// The contents of a small file of the drop.
    fn read(&self, relative: &str) -> Option<Vec<u8>>;
    /// How to name the drop in messages.
    fn describe(&self) -> String;
}

/// A drop folder on disk.
pub struct DropFolder<'a>(pub &'a Path);

impl DropFiles for DropFolder<'_> {
    fn is_file(&self, relative: &str) -> bool {
        self.0.join(relative).is_file()
    }
    fn read(&self, relative: &str) -> Option<Vec<u8>> {
        std::fs::read(self.0.join(relative)).ok()
    }
    fn describe(&self) -> String {
        format!("`{}`", self.0.display())
    }
}

pub(super) fn check(doc: &PlanDocument, drop: &dyn DropFiles) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (i, step) in doc.steps.iter().enumerate() {
        for (field, relative) in referenced_files(step) {
            let path = format!("steps[{i}].{field}");
            check_file(drop, relative, &path, &mut problems);
        }
    }
    check_secrets_have_no_drop_values(doc, drop, &mut problems);
    problems
}

/// Every drop file a step names, with the field that names it.
fn referenced_files(step: &StepSpec) -> Vec<(String, &str)> {
    let common = step.common();
    let mut files: Vec<(String, Option<&str>)> = vec![
        ("variables-file".into(), common.variables_file),
        (
            "sensitive-variables-file".into(),
            common.sensitive_variables_file,
        ),
        (
            "rollback.file".into(),
            common.rollback.and_then(|r| r.file.as_deref()),
        ),
    ];
    match step {
        StepSpec::DeployPackage(s) => {
            files.push(("package".into(), Some(&s.package)));
            for (stage, script) in &s.scripts {
                files.push((format!("scripts.{stage}.file"), script.file.as_deref()));
            }
            push_packages(&mut files, &s.packages);
        }
        // With `script-package`, `file` is a path inside that package, not in the drop.
        StepSpec::RunScript(s) => {
            match &s.script_package {
                Some(package) => files.push(("script-package".into(), Some(package))),
                None => files.push(("file".into(), s.file.as_deref())),
            }
            push_packages(&mut files, &s.packages);
        }
        _ => {}
    }
    files
        .into_iter()
        .filter_map(|(field, value)| value.map(|v| (field, v)))
        .collect()
}

fn push_packages<'s>(
    files: &mut Vec<(String, Option<&'s str>)>,
    packages: &'s [crate::plan::ReferencedPackage],
) {
    for (index, reference) in packages.iter().enumerate() {
        files.push((
            format!("packages[{index}].package"),
            Some(&reference.package),
        ));
    }
}

fn check_file(drop: &dyn DropFiles, relative: &str, path: &str, problems: &mut Vec<Problem>) {
    let inside = Path::new(relative)
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if !inside {
        problems.push(Problem::new(
            path,
            format!("`{relative}` must be a path inside the drop (relative, no `..`)"),
        ));
    } else if !drop.is_file(relative) {
        problems.push(Problem::new(
            path,
            format!("`{relative}` is not in the drop {}", drop.describe()),
        ));
    }
}

/// A secret parameter must have no non-empty value in any of the drop's variables files.
fn check_secrets_have_no_drop_values(
    doc: &PlanDocument,
    drop: &dyn DropFiles,
    problems: &mut Vec<Problem>,
) {
    let secrets: Vec<&str> = doc
        .parameters
        .iter()
        .filter(|p| p.kind == ParameterType::Secret)
        .map(|p| p.name.as_str())
        .collect();
    if secrets.is_empty() {
        return;
    }
    for (i, step) in doc.steps.iter().enumerate() {
        let Some(relative) = step.common().variables_file else {
            continue;
        };
        let Some(bytes) = drop.read(relative) else {
            continue;
        };
        let Ok(file) = parse_variables(&bytes, Path::new(relative)) else {
            continue;
        };
        for variable in &file.variables {
            let has_value = variable.value.as_deref().is_some_and(|v| !v.is_empty());
            if has_value
                && secrets
                    .iter()
                    .any(|s| s.eq_ignore_ascii_case(&variable.name))
            {
                problems.push(Problem::new(
                    format!("steps[{i}].variables-file"),
                    format!(
                        "`{relative}` gives the secret parameter `{}` a value; remove it from the drop (vendor-blind rule)",
                        variable.name
                    ),
                ));
            }
        }
    }
}
