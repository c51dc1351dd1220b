//! What one action does: its `ActionType` and properties read into a [`StepAction`], with its
//! package references (resolved against `--packages` when given). Types dropship has no
//! equivalent for come back as [`Mapped::Unsupported`] with the reason, not as errors.

use super::error::ImportError;
use super::model::{
    ConfigTransforms, ConfiguredScript, CustomDirectory, DeployPackage, Manual, PackageRef,
    Properties, PropertyValue, Script, ScriptSource, ScriptStage, ScriptSyntax, StepAction,
};
use super::packages;
use super::raw::{RawAction, RawPackage, non_empty};
use std::path::Path;

pub(super) struct ActionContext<'a> {
    pub file: &'a Path,
    /// The action's name, which the Octopus UI shows as the (child) step's name.
    pub step: &'a str,
    pub packages_dir: Option<&'a Path>,
}

pub(super) enum Mapped {
    /// Boxed: a mapped action is large and the unsupported case is common.
    Action(Box<MappedAction>),
    Unsupported(String),
}

pub(super) struct MappedAction {
    pub action: StepAction,
    pub named_packages: Vec<PackageRef>,
}

/// The action types dropship can import.
enum Kind {
    DeployPackage,
    RunScript,
    Manual,
}

/// Package references split into the primary one and the named ones.
struct Packages {
    primary: Option<PackageRef>,
    named: Vec<PackageRef>,
}

pub(super) fn map_action(action: &RawAction, ctx: &ActionContext) -> Result<Mapped, ImportError> {
    let Some(action_type) = action.action_type.as_deref() else {
        let template = action
            .properties
            .text("Octopus.Action.Template.Id")
            .unwrap_or("unknown");
        return Ok(Mapped::Unsupported(format!(
            "step template action without an action type (template `{template}`)"
        )));
    };
    let kind = match action_type {
        "Octopus.TentaclePackage" => Kind::DeployPackage,
        "Octopus.Script" => Kind::RunScript,
        "Octopus.Manual" => Kind::Manual,
        other => {
            return Ok(Mapped::Unsupported(format!(
                "action type `{other}` has no dropship equivalent"
            )));
        }
    };
    // Packages are read (and looked up on disk) only for actions that will be imported.
    let packages = read_packages(action, ctx)?;
    let props = &action.properties;
    let mapped = match kind {
        Kind::DeployPackage => deploy_package(action, packages.primary, ctx)?,
        Kind::RunScript => script(props, packages.primary),
        Kind::Manual => Ok(StepAction::Manual(manual(props))),
    };
    Ok(match mapped {
        Ok(action) => Mapped::Action(Box::new(MappedAction {
            action,
            named_packages: packages.named,
        })),
        Err(reason) => Mapped::Unsupported(reason),
    })
}

/// The outer `Result` is a hard error; the inner `Err` is a reason to report it unsupported.
type Mapping = Result<StepAction, String>;

fn deploy_package(
    action: &RawAction,
    primary: Option<PackageRef>,
    ctx: &ActionContext,
) -> Result<Mapping, ImportError> {
    let Some(package) = primary else {
        return Err(ImportError::process(
            ctx.file,
            &action.at,
            "deploy-package action has no primary package",
        ));
    };
    Ok(Ok(StepAction::DeployPackage(package_settings(
        &action.properties,
        package,
    ))))
}

/// The deploy-package settings an action's properties describe: features, substitution and
/// structured targets, custom directory, configured scripts. Shared by process and OPD import
/// (an OPD step's variables file carries the same `Octopus.Action.*` properties).
pub(crate) fn package_settings(props: &Properties, package: PackageRef) -> DeployPackage {
    let features = props.list("Octopus.Action.EnabledFeatures");
    let enabled = |name: &str| {
        let full = format!("Octopus.Features.{name}");
        features.iter().any(|f| f.eq_ignore_ascii_case(&full))
    };
    let targets = |key: &str| split_lines(props.text(key).unwrap_or(""));
    DeployPackage {
        substitute_in_files: enabled("SubstituteInFiles")
            .then(|| targets("Octopus.Action.SubstituteInFiles.TargetFiles")),
        structured_variables: enabled("JsonConfigurationVariables")
            .then(|| targets("Octopus.Action.Package.JsonConfigurationVariablesTargets")),
        custom_directory: custom_directory(props),
        custom_scripts: if enabled("CustomScripts") {
            configured_scripts(props)
        } else {
            Vec::new()
        },
        config_transforms: enabled("ConfigurationTransforms").then(|| ConfigTransforms {
            automatic: props
                .flag("Octopus.Action.Package.AutomaticallyRunConfigurationTransformationFiles"),
            // Calamari splits the list on commas and line breaks.
            additional: props
                .text("Octopus.Action.Package.AdditionalXmlConfigurationTransforms")
                .unwrap_or("")
                .split([',', '\r', '\n'])
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_string)
                .collect(),
        }),
        features,
        package,
    }
}

fn custom_directory(props: &Properties) -> Option<CustomDirectory> {
    let path = props.text("Octopus.Action.Package.CustomInstallationDirectory")?;
    Some(CustomDirectory {
        path: path.to_owned(),
        purge: props.flag(
            "Octopus.Action.Package.CustomInstallationDirectoryShouldBePurgedBeforeDeployment",
        ),
        purge_exclusions: split_lines(
            props
                .text("Octopus.Action.Package.CustomInstallationDirectoryPurgeExclusions")
                .unwrap_or(""),
        ),
    })
}

/// `Octopus.Action.CustomScripts.<Stage>.<ext>`, in Calamari's stage order.
fn configured_scripts(props: &Properties) -> Vec<ConfiguredScript> {
    let stages = [
        (ScriptStage::PreDeploy, "PreDeploy"),
        (ScriptStage::Deploy, "Deploy"),
        (ScriptStage::PostDeploy, "PostDeploy"),
    ];
    let mut out = Vec::new();
    for (stage, stage_name) in stages {
        for (ext, syntax) in SYNTAX_BY_EXTENSION {
            let key = format!("Octopus.Action.CustomScripts.{stage_name}.{ext}");
            if let Some(body) = props.text(&key) {
                out.push(ConfiguredScript {
                    stage,
                    syntax,
                    body: body.to_owned(),
                });
            }
        }
    }
    out
}

const SYNTAX_BY_EXTENSION: [(&str, ScriptSyntax); 4] = [
    ("ps1", ScriptSyntax::PowerShell),
    ("sh", ScriptSyntax::Bash),
    ("csx", ScriptSyntax::CSharp),
    ("py", ScriptSyntax::Python),
];

fn script(props: &Properties, primary: Option<PackageRef>) -> Mapping {
    let parameters = props
        .text("Octopus.Action.Script.ScriptParameters")
        .map(str::to_owned);
    let source = props.text("Octopus.Action.Script.ScriptSource");
    let (syntax, source) = match source.map(str::to_ascii_lowercase).as_deref() {
        None | Some("inline") => inline_script(props)?,
        Some("package") => package_script(props, primary)?,
        Some("gitrepository") => return Err("script from a Git repository".to_owned()),
        Some(_) => {
            return Err(format!(
                "script source `{}` is not supported",
                source.unwrap_or("")
            ));
        }
    };
    Ok(StepAction::RunScript(Script {
        syntax,
        source,
        parameters,
    }))
}

fn inline_script(props: &Properties) -> Result<(ScriptSyntax, ScriptSource), String> {
    let syntax = match props.text("Octopus.Action.Script.Syntax") {
        Some(name) => syntax_by_name(name)?,
        None => return Err("inline script without `Octopus.Action.Script.Syntax`".to_owned()),
    };
    match props.get("Octopus.Action.Script.ScriptBody") {
        Some(PropertyValue::Text(body)) => Ok((syntax, ScriptSource::Inline(body.clone()))),
        Some(PropertyValue::Sensitive { .. }) => {
            Err("the script body is a sensitive value".to_owned())
        }
        None => Err("inline script without `Octopus.Action.Script.ScriptBody`".to_owned()),
    }
}

fn syntax_by_name(name: &str) -> Result<ScriptSyntax, String> {
    match name.to_ascii_lowercase().as_str() {
        "powershell" => Ok(ScriptSyntax::PowerShell),
        "bash" => Ok(ScriptSyntax::Bash),
        "csharp" => Ok(ScriptSyntax::CSharp),
        "python" => Ok(ScriptSyntax::Python),
        "fsharp" => Err("F# scripts are no longer run by Calamari".to_owned()),
        _ => Err(format!("script syntax `{name}` is not supported")),
    }
}

/// Package scripts carry no `Syntax` key; the language comes from the file extension.
fn package_script(
    props: &Properties,
    primary: Option<PackageRef>,
) -> Result<(ScriptSyntax, ScriptSource), String> {
    let package = primary.ok_or("package script without a package")?;
    let path = props
        .text("Octopus.Action.Script.ScriptFileName")
        .ok_or("package script without `Octopus.Action.Script.ScriptFileName`")?;
    let ext = path
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    let syntax = SYNTAX_BY_EXTENSION
        .iter()
        .find(|(e, _)| *e == ext)
        .map(|(_, s)| *s)
        .ok_or_else(|| format!("cannot tell the language of script `{path}` from its extension"))?;
    let source = ScriptSource::Package {
        package,
        path: path.to_owned(),
    };
    Ok((syntax, source))
}

fn manual(props: &Properties) -> Manual {
    Manual {
        instructions: props
            .text("Octopus.Action.Manual.Instructions")
            .unwrap_or("")
            .to_owned(),
        block_concurrent_deployments: props
            .flag("Octopus.Action.Manual.BlockConcurrentDeployments"),
        responsible_teams: props.list("Octopus.Action.Manual.ResponsibleTeamIds"),
    }
}

/// Newline-separated lists (`TargetFiles`, purge exclusions): Calamari splits on `\r` and `\n`.
fn split_lines(text: &str) -> Vec<String> {
    text.split(['\r', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn read_packages(action: &RawAction, ctx: &ActionContext) -> Result<Packages, ImportError> {
    let mut out = Packages {
        primary: None,
        named: Vec::new(),
    };
    for raw in &action.packages {
        let package = package_ref(raw, ctx)?;
        match (&package.name, &out.primary) {
            (None, Some(_)) => {
                let message = "a second primary package (a reference without a name)";
                return Err(ImportError::process(ctx.file, &raw.at, message));
            }
            (None, None) => out.primary = Some(package),
            (Some(_), _) => out.named.push(package),
        }
    }
    if out.primary.is_none() {
        out.primary = legacy_primary(action, ctx)?;
    }
    Ok(out)
}

fn package_ref(raw: &RawPackage, ctx: &ActionContext) -> Result<PackageRef, ImportError> {
    let Some(package_id) = non_empty(raw.package_id.clone()) else {
        return Err(ImportError::process(
            ctx.file,
            &raw.at,
            "package reference has no package id",
        ));
    };
    let mut package = PackageRef {
        name: non_empty(raw.name.clone()),
        package_id,
        feed: non_empty(raw.feed.clone()),
        acquisition_location: non_empty(raw.acquisition_location.clone()),
        properties: raw.properties.clone(),
        resolved_path: None,
    };
    package.resolved_path = resolve(&package, ctx)?;
    Ok(package)
}

/// Before 2018.8 the only package lived in `Octopus.Action.Package.PackageId`/`FeedId`
/// (2014-era exports: `NuGetPackageId`/`NuGetFeedId`).
fn legacy_primary(
    action: &RawAction,
    ctx: &ActionContext,
) -> Result<Option<PackageRef>, ImportError> {
    let props = &action.properties;
    let id = [
        "Octopus.Action.Package.PackageId",
        "Octopus.Action.Package.NuGetPackageId",
    ]
    .iter()
    .find_map(|k| props.text(k));
    let Some(id) = id else { return Ok(None) };
    let feed = [
        "Octopus.Action.Package.FeedId",
        "Octopus.Action.Package.NuGetFeedId",
    ]
    .iter()
    .find_map(|k| props.text(k));
    let mut package = PackageRef {
        name: None,
        package_id: id.to_owned(),
        feed: feed.map(str::to_owned),
        acquisition_location: None,
        properties: Default::default(),
        resolved_path: None,
    };
    package.resolved_path = resolve(&package, ctx)?;
    Ok(Some(package))
}

/// Looks the package file up under `--packages`. Variable ids, unacquired packages and
/// container images have no file to find.
fn resolve(
    package: &PackageRef,
    ctx: &ActionContext,
) -> Result<Option<std::path::PathBuf>, ImportError> {
    let Some(dir) = ctx.packages_dir else {
        return Ok(None);
    };
    let not_acquired = package
        .acquisition_location
        .as_deref()
        .is_some_and(|l| l.eq_ignore_ascii_case("NotAcquired"));
    let image = package
        .properties
        .get("Purpose")
        .is_some_and(|p| p == "DockerImageReference");
    if not_acquired || image || package.package_id.contains("#{") {
        return Ok(None);
    }
    packages::find_package(dir, &package.package_id, ctx.step).map(Some)
}
