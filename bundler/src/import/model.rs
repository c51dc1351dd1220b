//! The neutral in-memory model of an imported Octopus deployment process. Both the REST JSON and
//! the OCL readers produce it, and so does an OPD import (with the files each step carries and
//! the values the customer supplies), so mapping to a dropship plan is written once. It keeps
//! Octopus vocabulary (step and action names, property keys) and does not decide how a step runs
//! under dropship; that is the plan mapper's job.
//!
//! One [`ImportedStep`] is one Octopus *action*: a step with child steps yields one entry per
//! child, each carrying its parent's name, roles, condition and start trigger.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// A deployment process, read and scoped, in process order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImportedProcess {
    /// Actions to run, in order.
    pub steps: Vec<ImportedStep>,
    /// Actions left out on purpose: disabled, or scoped away from the chosen environment/channel.
    pub skipped: Vec<Skipped>,
    /// Actions (or whole blocks) the importer cannot map, with the reason.
    pub unsupported: Vec<Unsupported>,
}

/// One Octopus action, with what it inherits from its parent step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedStep {
    /// The parent step's name (equal to `name` for a step with a single action).
    pub step: String,
    /// The action's name.
    pub name: String,
    pub action: StepAction,
    /// `Octopus.Action.TargetRoles` of the parent step, split on commas.
    pub roles: Vec<String>,
    /// The parent step's run condition.
    pub condition: StepCondition,
    /// The action's own variable condition (actions only have `Success` or `Variable`).
    pub action_condition: Option<String>,
    pub start_trigger: StartTrigger,
    /// `Octopus.Action.MaxParallelism` of the parent step (the rolling window), verbatim.
    pub max_parallelism: Option<String>,
    /// `Octopus.Action.RunOnServer`: runs on the server or a worker, not on the targets.
    pub run_on_server: bool,
    /// `IsRequired`: cannot be skipped when deploying.
    pub required: bool,
    pub notes: Option<String>,
    /// Scoping as written in the source: ids in JSON, slugs (or old names) in OCL.
    pub environments: Vec<String>,
    pub excluded_environments: Vec<String>,
    pub channels: Vec<String>,
    pub tenant_tags: Vec<String>,
    /// Every action property, verbatim, so unknown keys survive to the report.
    pub properties: Properties,
    /// Named (non-primary) package references. The primary package lives in `action`.
    pub packages: Vec<PackageRef>,
}

/// What the action does, parsed from its `ActionType` and properties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepAction {
    /// `Octopus.TentaclePackage`.
    DeployPackage(DeployPackage),
    /// `Octopus.Script`.
    RunScript(Script),
    /// `Octopus.Manual`.
    Manual(Manual),
}

/// A "Deploy a package" action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployPackage {
    pub package: PackageRef,
    /// `Octopus.Action.EnabledFeatures`, split on commas, empties dropped.
    pub features: Vec<String>,
    /// Target globs when `Octopus.Features.SubstituteInFiles` is enabled.
    pub substitute_in_files: Option<Vec<String>>,
    /// Target globs when `Octopus.Features.JsonConfigurationVariables` is enabled.
    pub structured_variables: Option<Vec<String>>,
    /// Set whenever the variable is set: Calamari checks only the variable, not the feature.
    pub custom_directory: Option<CustomDirectory>,
    /// Configured `PreDeploy`/`Deploy`/`PostDeploy` scripts when `Octopus.Features.CustomScripts` is on.
    pub custom_scripts: Vec<ConfiguredScript>,
    /// When `Octopus.Features.ConfigurationTransforms` is on: whether the automatic transforms
    /// run, and the additional ones (`Octopus.Action.Package.AdditionalXmlConfigurationTransforms`).
    pub config_transforms: Option<ConfigTransforms>,
}

/// The configuration-transforms feature's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigTransforms {
    pub automatic: bool,
    pub additional: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomDirectory {
    pub path: String,
    pub purge: bool,
    pub purge_exclusions: Vec<String>,
}

/// `Octopus.Action.CustomScripts.<Stage>.<ext>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfiguredScript {
    pub stage: ScriptStage,
    pub syntax: ScriptSyntax,
    pub body: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScriptStage {
    PreDeploy,
    Deploy,
    PostDeploy,
}

/// A "Run a script" action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    pub syntax: ScriptSyntax,
    pub source: ScriptSource,
    /// `Octopus.Action.Script.ScriptParameters`, one string as Octopus keeps it.
    pub parameters: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptSource {
    /// A script file inside the drop (an OPD `run-script --script`), `/`-separated.
    File(String),
    Inline(String),
    /// A file inside the primary package.
    Package {
        package: PackageRef,
        path: String,
    },
}

/// Script languages dropship can run. FSharp (removed upstream in 2025) is reported unsupported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScriptSyntax {
    PowerShell,
    Bash,
    CSharp,
    Python,
}

/// A manual intervention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manual {
    pub instructions: String,
    pub block_concurrent_deployments: bool,
    /// Team ids (JSON) or slugs (OCL), verbatim.
    pub responsible_teams: Vec<String>,
}

/// A package reference. `name` is `None` for the primary package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageRef {
    pub name: Option<String>,
    /// A literal id or a variable expression (`#{Pkg}`).
    pub package_id: String,
    pub feed: Option<String>,
    /// `Server`, `ExecutionTarget`, `NotAcquired` or an expression.
    pub acquisition_location: Option<String>,
    /// `Extract`, `Purpose`, `SelectionMode`, … verbatim.
    pub properties: BTreeMap<String, String>,
    /// The file found for it under `--packages`, when a directory was given and the id is literal.
    pub resolved_path: Option<PathBuf>,
}

/// A step's run condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepCondition {
    Success,
    Failure,
    Always,
    /// Runs when the Octostache expression is truthy.
    Variable(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartTrigger {
    StartAfterPrevious,
    /// Parallel with the previous step in Octopus; dropship may run it sequentially.
    StartWithPrevious,
}

/// A property value: plain text, or a sensitive value whose text an export never contains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropertyValue {
    Text(String),
    Sensitive { has_value: bool },
}

/// An action's property bag. Keys are kept verbatim and sorted (JSON and OCL order them
/// differently); lookups ignore case as Octopus does.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Properties(pub BTreeMap<String, PropertyValue>);

impl Properties {
    /// The value of `key`, compared case-insensitively.
    pub fn get(&self, key: &str) -> Option<&PropertyValue> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    }

    /// The text of `key`, or `None` when absent, sensitive or blank.
    pub fn text(&self, key: &str) -> Option<&str> {
        match self.get(key) {
            Some(PropertyValue::Text(t)) if !t.trim().is_empty() => Some(t),
            _ => None,
        }
    }

    /// A boolean as .NET `bool.TryParse` reads it; absent or unparsable is `false`.
    pub fn flag(&self, key: &str) -> bool {
        self.text(key)
            .is_some_and(|t| t.trim().eq_ignore_ascii_case("true"))
    }

    /// A comma list (`Octopus.Action.TargetRoles`), items trimmed and empty ones dropped
    /// (`",A,B"` is common); absent is empty.
    pub fn list(&self, key: &str) -> Vec<String> {
        self.text(key)
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

/// An action that was not imported on purpose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub step: String,
    pub action: String,
    pub reason: String,
}

/// Something the importer could not map. `action` is `None` for whole blocks or steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    pub step: String,
    pub action: Option<String>,
    pub reason: String,
}

/// Files an OPD step carries besides its action (a process import has none).
#[derive(Debug, Clone, Default)]
pub struct StepFiles {
    pub variables_file: Option<String>,
    pub sensitive_variables_file: Option<String>,
}

/// A parameter to ask the customer, and why it was proposed.
#[derive(Debug, Clone)]
pub struct Asked {
    pub name: String,
    pub secret: bool,
    pub reason: String,
}

/// Whether a variable name says it holds a secret.
pub fn looks_secret(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    ["password", "secret", "key", "token", "credential"]
        .iter()
        .any(|w| lower.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comma_lists_drop_empty_items() {
        let text = PropertyValue::Text(",a, b,,c ".into());
        let props = Properties(BTreeMap::from([(
            "Octopus.Action.TargetRoles".into(),
            text,
        )]));
        assert_eq!(props.list("octopus.action.targetroles"), ["a", "b", "c"]);
        assert!(props.list("Octopus.Action.EnabledFeatures").is_empty());
    }
}
