//! `dropship import opd`: an Offline Package Drop (folder, or artifact zip unpacked by the
//! caller) into the same [`ImportedProcess`] a deployment process gives, so one mapper writes
//! the plan. Each Calamari call in the generated `.ps1` is a step; its variables file carries
//! the step's name, roles, features and targets (the same `Octopus.Action.*` properties a
//! process has); customer-supplied values become parameters.

use super::actions::package_settings;
use super::model::*;
use super::ps1::{CalamariCall, CalamariCommand, FlagValue};
use anyhow::{Context, Result, bail};
use dropship_runtime::octopus::sensitive::{DropPassword, decrypt_file};
use dropship_runtime::octopus::variables_file::{OctopusVariable, read_variables_file};
use dropship_runtime::package::PackageName;
use dropship_runtime::plan::Product;
use dropship_runtime::variables::DROP_PASSWORD_PARAMETER;
use std::path::{Path, PathBuf};

/// What an OPD holds, read into the import model.
pub struct OpdRead {
    pub process: ImportedProcess,
    pub files: Vec<StepFiles>,
    pub product: Product,
    pub asked: Vec<Asked>,
    /// The `.ps1` the steps came from.
    pub script: PathBuf,
}

/// Find the generated script: a `.ps1` at the top of the drop that calls Calamari.
fn find_script(drop: &Path) -> Result<PathBuf> {
    let mut candidates: Vec<PathBuf> = std::fs::read_dir(drop)
        .with_context(|| format!("reading drop `{}`", drop.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("ps1")))
        .filter(|p| {
            std::fs::read(p).is_ok_and(|b| String::from_utf8_lossy(&b).contains("Calamari"))
        })
        .collect();
    candidates.sort();
    match candidates.len() {
        0 => bail!(
            "`{}` has no generated `.ps1` calling Calamari; point at the folder Octopus wrote for the drop (it holds the .ps1, Packages/ and Variables/)",
            drop.display()
        ),
        1 => Ok(candidates.remove(0)),
        _ => bail!(
            "`{}` has several `.ps1` scripts calling Calamari ({}); remove the ones that are not the drop's",
            drop.display(),
            candidates
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn path_flag(call: &CalamariCall, name: &str) -> Option<String> {
    match call.value(name)? {
        FlagValue::Path(p) | FlagValue::Text(p) => Some(p.clone()),
        FlagValue::Switch | FlagValue::Dynamic(_) => None,
    }
}

fn properties(variables: &[OctopusVariable]) -> Properties {
    Properties(
        variables
            .iter()
            .map(|v| {
                let value = match (&v.value, v.sensitive) {
                    (_, true) => PropertyValue::Sensitive {
                        has_value: v.value.as_deref().is_some_and(|x| !x.is_empty()),
                    },
                    (Some(text), false) => PropertyValue::Text(text.clone()),
                    (None, false) => PropertyValue::Text(String::new()),
                };
                (v.name.clone(), value)
            })
            .collect(),
    )
}

/// Read a drop folder; `ask` names extra customer-supplied variables; `password` proves the
/// sensitive files decrypt (it is never stored).
pub fn read_opd(drop: &Path, ask: &[String], password: Option<&str>) -> Result<OpdRead> {
    let script = find_script(drop)?;
    let opd = super::parse_opd_script(&script, drop)?;
    let mut process = ImportedProcess::default();
    let mut files = Vec::new();
    let mut all_variables: Vec<OctopusVariable> = Vec::new();
    let mut sensitive_files = Vec::new();
    for unsupported in &opd.unsupported {
        process.unsupported.push(Unsupported {
            step: format!("line {}", unsupported.line),
            action: Some(unsupported.command.clone()),
            reason: unsupported.reason.clone(),
        });
    }
    for (i, call) in opd.calls.iter().enumerate() {
        let variables_file = path_flag(call, "variables");
        let variables = match &variables_file {
            Some(file) => read_variables_file(&drop.join(file))?.variables,
            None => Vec::new(),
        };
        let sensitive = path_flag(call, "sensitiveVariables");
        if let Some(file) = &sensitive {
            sensitive_files.push(file.clone());
        }
        let props = properties(&variables);
        let step = step_of(call, i, &props, drop, &script)?;
        all_variables.extend(variables);
        process.steps.push(step);
        files.push(StepFiles {
            variables_file,
            sensitive_variables_file: sensitive,
        });
    }
    if let Some(password) = password {
        prove_password(drop, &sensitive_files, password)?;
    }
    let product = product(&all_variables, drop);
    let asked = asked(&all_variables, ask, !sensitive_files.is_empty());
    Ok(OpdRead {
        process,
        files,
        product,
        asked,
        script,
    })
}

fn step_of(
    call: &CalamariCall,
    index: usize,
    props: &Properties,
    drop: &Path,
    script: &Path,
) -> Result<ImportedStep> {
    let name = props
        .text("Octopus.Action.Name")
        .map_or_else(|| format!("Step {}", index + 1), str::to_string);
    let roles = props
        .text("Octopus.Action.TargetRoles")
        .map(|r| {
            r.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let action = match call.command {
        CalamariCommand::DeployPackage => {
            let path = path_flag(call, "package").with_context(|| {
                format!(
                    "`{}`, line {}: deploy-package without `--package`",
                    script.display(),
                    call.line
                )
            })?;
            if !drop.join(&path).is_file() {
                bail!(
                    "`{}`, line {}: package `{path}` is not in the drop's Packages/; copy it there or export the drop again",
                    script.display(),
                    call.line
                );
            }
            StepAction::DeployPackage(package_settings(props, drop_package(drop, &path)))
        }
        CalamariCommand::RunScript => StepAction::RunScript(script_of(call, props, drop)?),
    };
    Ok(ImportedStep {
        step: name.clone(),
        name,
        action,
        roles,
        condition: StepCondition::Success,
        action_condition: None,
        start_trigger: StartTrigger::StartAfterPrevious,
        max_parallelism: None,
        run_on_server: false,
        required: false,
        notes: None,
        environments: Vec::new(),
        excluded_environments: Vec::new(),
        channels: Vec::new(),
        tenant_tags: Vec::new(),
        properties: props.clone(),
        packages: referenced_packages(props, drop),
    })
}

/// The step's named packages, from its variables (`Octopus.Action.Package[NAME].PackageId` and
/// `.PackageVersion`), each looked up in the drop's `Packages/`. One that is not there keeps no
/// path, so the plan mapping reports it instead of dropping it.
fn referenced_packages(props: &Properties, drop: &Path) -> Vec<PackageRef> {
    let in_drop: Vec<PathBuf> = std::fs::read_dir(drop.join("Packages"))
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    let mut found = Vec::new();
    for key in props.0.keys() {
        let Some(name) = key
            .strip_prefix("Octopus.Action.Package[")
            .and_then(|rest| rest.strip_suffix("].PackageId"))
            .filter(|name| !name.is_empty())
        else {
            continue;
        };
        let Some(id) = props.text(key) else {
            continue;
        };
        let version = props.text(&format!("Octopus.Action.Package[{name}].PackageVersion"));
        let resolved = in_drop.iter().find(|path| {
            let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            file_name
                .and_then(|n| PackageName::from_file_name(&n).ok())
                .is_some_and(|p| {
                    p.id.eq_ignore_ascii_case(id) && version.is_none_or(|v| p.version == v)
                })
        });
        found.push(PackageRef {
            name: Some(name.to_string()),
            package_id: id.to_string(),
            feed: None,
            acquisition_location: None,
            properties: Default::default(),
            resolved_path: resolved.cloned(),
        });
    }
    found
}

/// A package of the drop, named by its path in the drop.
fn drop_package(drop: &Path, path: &str) -> PackageRef {
    let file_name = Path::new(path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let package_id = PackageName::from_file_name(&file_name).map_or(file_name.clone(), |n| n.id);
    PackageRef {
        name: None,
        package_id,
        feed: None,
        acquisition_location: None,
        properties: Default::default(),
        resolved_path: Some(drop.join(path)),
    }
}

/// The script of a `run-script` call; with `--package`, Calamari's script from a package:
/// `--script` is then the script's path inside that package.
fn script_of(call: &CalamariCall, props: &Properties, drop: &Path) -> Result<Script> {
    let file = path_flag(call, "script");
    let syntax_name = props
        .text("Octopus.Action.Script.Syntax")
        .map(str::to_ascii_lowercase);
    let extension = file
        .as_deref()
        .and_then(|f| Path::new(f).extension())
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    let syntax = match (syntax_name.as_deref(), extension.as_deref()) {
        (Some("bash"), _) | (None, Some("sh")) => ScriptSyntax::Bash,
        (Some("python"), _) | (None, Some("py")) => ScriptSyntax::Python,
        (Some("csharp"), _) | (None, Some("csx")) => ScriptSyntax::CSharp,
        _ => ScriptSyntax::PowerShell,
    };
    let package = path_flag(call, "package");
    let body = props.text("Octopus.Action.Script.ScriptBody");
    let source = match (file, package, body) {
        (Some(file), Some(package), _) => ScriptSource::Package {
            package: drop_package(drop, &package),
            path: file,
        },
        (Some(file), None, _) => ScriptSource::File(file),
        (None, _, Some(body)) => ScriptSource::Inline(body.to_string()),
        (None, _, None) => bail!(
            "line {}: run-script without `--script` or a script body",
            call.line
        ),
    };
    Ok(Script {
        syntax,
        source,
        parameters: props
            .text("Octopus.Action.Script.ScriptParameters")
            .map(str::to_string),
    })
}

fn product(variables: &[OctopusVariable], drop: &Path) -> Product {
    let find = |name: &str| {
        variables
            .iter()
            .find(|v| v.name.eq_ignore_ascii_case(name))
            .and_then(|v| v.value.clone())
            .filter(|v| !v.is_empty())
    };
    let folder = drop
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "product".into());
    Product {
        name: find("Octopus.Project.Name").unwrap_or(folder),
        version: find("Octopus.Release.Number").unwrap_or_else(|| "0.0.0".into()),
        vendor: None,
    }
}

/// `--ask` names, then variables blank in the drop, then the drop password when it needs one.
fn asked(variables: &[OctopusVariable], ask: &[String], has_sensitive_files: bool) -> Vec<Asked> {
    let mut out: Vec<Asked> = Vec::new();
    let mut add = |name: &str, secret: bool, reason: &str| {
        if !out.iter().any(|a| a.name.eq_ignore_ascii_case(name)) {
            out.push(Asked {
                name: name.to_string(),
                secret,
                reason: reason.to_string(),
            });
        }
    };
    let sensitive = |name: &str| {
        variables
            .iter()
            .any(|v| v.sensitive && v.name.eq_ignore_ascii_case(name))
    };
    for name in ask {
        add(
            name,
            sensitive(name) || looks_secret(name),
            "asked of the customer (--ask)",
        );
    }
    for variable in variables {
        let blank = variable.value.as_deref().is_none_or(str::is_empty);
        if blank && !variable.name.starts_with("Octopus.") {
            add(
                &variable.name,
                variable.sensitive || looks_secret(&variable.name),
                "blank in the drop: the customer supplies it",
            );
        }
    }
    if has_sensitive_files {
        add(
            DROP_PASSWORD_PARAMETER,
            true,
            "the password of the drop's sensitive variables, handed over by the vendor out of band",
        );
    }
    out
}

fn prove_password(drop: &Path, files: &[String], password: &str) -> Result<()> {
    for file in files {
        decrypt_file(&drop.join(file), &DropPassword::new(password))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::ps1::parse;
    use super::*;

    #[test]
    fn run_script_with_a_package_runs_the_script_inside_it() {
        let text = "& Calamari\\Calamari.exe run-script --package \"Packages\\Acme.Smoke.1.0.0.zip\" --script \"scripts/smoke.sh\"\n";
        let opd = parse(text, Path::new("drop.ps1"), Path::new("D:\\Drops\\1.0")).unwrap();
        let props = Properties(Default::default());
        let drop = Path::new("/drop");
        let script = script_of(&opd.calls[0], &props, drop).unwrap();
        let ScriptSource::Package { package, path } = script.source else {
            panic!("{:?}", script.source)
        };
        assert_eq!(path, "scripts/smoke.sh");
        assert_eq!(package.package_id, "Acme.Smoke");
        assert!(
            package
                .resolved_path
                .unwrap()
                .ends_with("Acme.Smoke.1.0.0.zip")
        );
        assert_eq!(script.syntax, ScriptSyntax::Bash);
    }

    #[test]
    fn referenced_packages_come_from_the_variables_and_the_drop() {
        let drop = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(drop.path().join("Packages")).unwrap();
        std::fs::write(drop.path().join("Packages/Acme.Tools.2.0.0.zip"), b"").unwrap();
        let text = |v: &str| PropertyValue::Text(v.to_string());
        let props = Properties(
            [
                (
                    "Octopus.Action.Package[tools].PackageId",
                    text("Acme.Tools"),
                ),
                (
                    "Octopus.Action.Package[tools].PackageVersion",
                    text("2.0.0"),
                ),
                ("Octopus.Action.Package[gone].PackageId", text("Acme.Gone")),
                ("Octopus.Action.Package.PackageId", text("Acme.Primary")),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        );
        let found = referenced_packages(&props, drop.path());
        assert_eq!(found.len(), 2, "{found:?}");
        let gone = found
            .iter()
            .find(|p| p.name.as_deref() == Some("gone"))
            .unwrap();
        assert_eq!(
            gone.resolved_path, None,
            "reported by the mapping, not dropped"
        );
        let tools = found
            .iter()
            .find(|p| p.name.as_deref() == Some("tools"))
            .unwrap();
        assert!(
            tools
                .resolved_path
                .as_ref()
                .unwrap()
                .ends_with("Acme.Tools.2.0.0.zip")
        );
    }
}
