//! The step plan's file format (`dropship/plan@1`), as serde types: the single source of the
//! format. The JSON Schema shipped in `schema/plan.schema.json` is generated from these types.
//! Unknown fields are errors everywhere. Semantic rules live in `validate`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[cfg(feature = "schema")]
use schemars::JsonSchema;

/// The plan's `schema` value this runtime reads.
pub const SCHEMA: &str = "dropship/plan@1";

/// A whole plan document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PlanDocument {
    /// Always `dropship/plan@1`.
    pub schema: String,
    pub product: Product,
    /// The roles (tiers) this installer serves; steps and parameters may be limited to some.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// What the installer asks the customer, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<Parameter>,
    /// Non-secret values; Octostache expressions allowed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub variables: BTreeMap<String, String>,
    pub steps: Vec<StepSpec>,
    /// Which installed versions this installer may upgrade; without it, any older version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upgrade: Option<UpgradePolicy>,
}

/// What an upgrade accepts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct UpgradePolicy {
    /// The installed versions this installer upgrades, as comparators that must all hold
    /// (e.g. `>=4.0, <5`); any other installed version is refused.
    pub from: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Product {
    pub name: String,
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
}

/// A value the installer asks for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Parameter {
    /// The variable name the answer is stored under (e.g. `Database.Password`).
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    #[serde(rename = "type")]
    pub kind: ParameterType,
    /// Not allowed for `secret` (the vendor must never know a secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// Default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
    /// A regular expression the whole answer must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// Ask twice (for secrets).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub confirm: bool,
    /// Only asked when one of these roles is chosen.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// The allowed answers of a `choice`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    /// Names this parameter had in earlier versions: on an upgrade, the answer saved under
    /// one of them is kept for this one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub previous_names: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum ParameterType {
    Text,
    Secret,
    Bool,
    Choice,
    Path,
    Port,
    Int,
    /// The contents of a file the operator names (e.g. a certificate).
    File,
}

impl ParameterType {
    pub fn name(self) -> &'static str {
        match self {
            ParameterType::Text => "text",
            ParameterType::Secret => "secret",
            ParameterType::Bool => "bool",
            ParameterType::Choice => "choice",
            ParameterType::Path => "path",
            ParameterType::Port => "port",
            ParameterType::Int => "int",
            ParameterType::File => "file",
        }
    }
}

/// A script given inline or as a file of the drop (used by `run-script` and `rollback`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ScriptBlock {
    /// `bash`, `sh`, `python`, `pwsh` or `cmd` (Octopus names `Bash`, `Python`, `PowerShell`
    /// too); default from the file's extension, else the installer's platform's: bash, or
    /// PowerShell on Windows. `pwsh` means PowerShell: on Windows, Windows PowerShell unless
    /// `Octopus.Action.PowerShell.Edition` is `Core`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub syntax: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inline: Option<String>,
    /// A path inside the drop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Working directory (default: a private scratch directory for the step).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    /// Parameters passed to the script, as Octopus passes `ScriptParameters`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<String>,
}

/// A package a step references besides its own (`Octopus.Action.Package[NAME]` in Octopus).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ReferencedPackage {
    /// The reference's name, as in `#{Octopus.Action.Package[NAME].ExtractedPath}`.
    pub name: String,
    /// The package file inside the drop (`Packages/...`).
    pub package: String,
    /// Extract it into the step's work directory (default); otherwise only its file is named.
    #[serde(default = "yes", skip_serializing_if = "Clone::clone")]
    pub extract: bool,
}

fn yes() -> bool {
    true
}

/// Declares a step type's struct with the fields every step has, so each type stays a plain
/// struct with unknown fields refused (serde's `flatten` cannot refuse them).
macro_rules! step_struct {
    ($(#[$doc:meta])* $name:ident { $($(#[$fdoc:meta])* pub $field:ident : $ty:ty,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[cfg_attr(feature = "schema", derive(JsonSchema))]
        #[serde(deny_unknown_fields, rename_all = "kebab-case")]
        pub struct $name {
            pub name: String,
            /// `success` (default), `failure`, `always`, or an Octostache expression.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub condition: Option<String>,
            /// Runs only when the install selected one of these roles.
            #[serde(default, skip_serializing_if = "Vec::is_empty")]
            pub roles: Vec<String>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub timeout_s: Option<u64>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub retries: Option<u32>,
            /// Run when this step fails, before changes are undone.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub rollback: Option<ScriptBlock>,
            /// Paths backed up before the step and restored on rollback.
            #[serde(default, skip_serializing_if = "Vec::is_empty")]
            pub snapshot: Vec<String>,
            /// The step's Octopus variables file in the drop (lowest precedence).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub variables_file: Option<String>,
            /// The step's encrypted Octopus sensitive variables file in the drop.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub sensitive_variables_file: Option<String>,
            $($(#[$fdoc])* pub $field: $ty,)*
        }

        impl $name {
            fn common(&self) -> StepCommon<'_> {
                StepCommon {
                    name: &self.name,
                    condition: self.condition.as_deref(),
                    roles: &self.roles,
                    timeout_s: self.timeout_s,
                    retries: self.retries,
                    rollback: self.rollback.as_ref(),
                    snapshot: &self.snapshot,
                    variables_file: self.variables_file.as_deref(),
                    sensitive_variables_file: self.sensitive_variables_file.as_deref(),
                }
            }
        }
    };
}

step_struct!(
    /// Preflight checks; a failing check stops the install before any change.
    CheckStep {
        pub checks: Vec<CheckSpec>,
    }
);

step_struct!(
    /// Extract a package and apply Calamari's conventions.
    DeployPackageStep {
        /// The package file inside the drop (`Packages/...`).
        pub package: String,
        /// Where to install (Octostache allowed); default: the applications directory.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub destination: Option<String>,
        /// Globs of files to substitute `#{...}` in, relative to the extracted package.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub substitute: Vec<String>,
        /// Globs of JSON/YAML/XML/.properties files for structured variable replacement.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub structured: Vec<String>,
        /// Apply .NET configuration variables to `*.config` files.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        pub config_variables: bool,
        /// Configuration transforms (XDT) as Octopus runs them automatically: on every `X.config`,
        /// `X.Release.config`, then `X.<environment>.config`, then `X.<tenant>.config`.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        pub config_transforms: bool,
        /// More transforms, as Octopus's `AdditionalXmlConfigurationTransforms`: a name `NAME`
        /// (each `X.config` gets `X.NAME.config`), or `Transform.config => Target.config`, the
        /// transform found beside each target (`*` allowed: `*.Staging.config => *.config`).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub additional_transforms: Vec<String>,
        /// Remove what is in `destination` before installing (except `purge-exclude` globs).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        pub purge: bool,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub purge_exclude: Vec<String>,
        /// Configured scripts by stage (`PreDeploy`, `Deploy`, `PostDeploy`, `DeployFailed`).
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        pub scripts: BTreeMap<String, ScriptBlock>,
        /// Other packages the step's scripts use (`Octopus.Action.Package[NAME].*`).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub packages: Vec<ReferencedPackage>,
        /// Settings files the customer may edit, and what an upgrade does with an edited one.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub config_files: Vec<ConfigFile>,
    }
);

/// Settings files of a package that the customer may edit after the install.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ConfigFile {
    /// A glob relative to the installed package (`config/*.conf`).
    pub path: String,
    /// What an upgrade does when the customer edited the file and the new version differs.
    pub on_upgrade: OnUpgrade,
}

impl ConfigFile {
    /// `path` must stay inside the installed package: relative, without `..`.
    pub fn check_path(path: &str) -> Result<(), String> {
        let absolute = path.starts_with(['/', '\\']) || path.contains(':');
        if absolute || path.split(['/', '\\']).any(|part| part == "..") {
            return Err(format!(
                "`{path}` must be a path relative to the installed package, without `..`"
            ));
        }
        Ok(())
    }
}

/// What an upgrade does with a settings file the customer edited. Unedited files are replaced;
/// a file the new version renders as the old one did keeps the customer's version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum OnUpgrade {
    /// The customer's file stays; the new one is written beside it as `NAME.dropship-new`.
    Keep,
    /// The new file is installed; the customer's is kept as `NAME.dropship-save`.
    Replace,
    /// JSON files: a three-way merge by key against the installed version's file; a key both
    /// changed keeps the customer's value and is reported as a conflict. Other files, or a
    /// file that does not parse, are treated as `keep`.
    Merge,
}

step_struct!(
    /// Run a script (inline or from the drop).
    RunScriptStep {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub syntax: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub inline: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub file: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub working_dir: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub parameters: Option<String>,
        /// The package in the drop holding the script (Octopus `ScriptSource = Package`): it is
        /// extracted into the step's work directory and `file` is the script's path inside it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub script_package: Option<String>,
        /// Other packages the script uses (`Octopus.Action.Package[NAME].*`).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub packages: Vec<ReferencedPackage>,
    }
);

step_struct!(
    /// Show instructions and wait for the operator's confirmation (`--approve STEP` unattended).
    ManualStep {
        pub instructions: String,
    }
);

step_struct!(
    /// Substitute `#{...}` in existing files on the target.
    SubstituteStep {
        /// Base directory (Octostache allowed).
        pub directory: String,
        /// Globs relative to `directory`.
        pub files: Vec<String>,
    }
);

step_struct!(
    /// Poll a URL until it answers with the expected status.
    HttpWaitStep {
        pub url: String,
        /// Default 200.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub status: Option<u16>,
        /// Seconds between attempts (default 2).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub interval_s: Option<u64>,
    }
);

/// One step, by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum StepSpec {
    Check(CheckStep),
    DeployPackage(DeployPackageStep),
    RunScript(RunScriptStep),
    Manual(ManualStep),
    Substitute(SubstituteStep),
    HttpWait(HttpWaitStep),
}

/// The step types, as written in `type`.
pub const STEP_TYPES: &[&str] = &[
    "check",
    "deploy-package",
    "run-script",
    "manual",
    "substitute",
    "http-wait",
];

/// The fields every step has, borrowed.
#[derive(Debug, Clone, Copy)]
pub struct StepCommon<'a> {
    pub name: &'a str,
    pub condition: Option<&'a str>,
    pub roles: &'a [String],
    pub timeout_s: Option<u64>,
    pub retries: Option<u32>,
    pub rollback: Option<&'a ScriptBlock>,
    pub snapshot: &'a [String],
    pub variables_file: Option<&'a str>,
    pub sensitive_variables_file: Option<&'a str>,
}

impl StepCommon<'_> {
    /// Whether the step runs for the chosen roles: it names none, or one of them.
    pub fn selected_by(&self, chosen: &[String]) -> bool {
        self.roles.is_empty()
            || self
                .roles
                .iter()
                .any(|role| chosen.iter().any(|c| c.eq_ignore_ascii_case(role)))
    }
}

impl StepSpec {
    pub fn common(&self) -> StepCommon<'_> {
        match self {
            StepSpec::Check(s) => s.common(),
            StepSpec::DeployPackage(s) => s.common(),
            StepSpec::RunScript(s) => s.common(),
            StepSpec::Manual(s) => s.common(),
            StepSpec::Substitute(s) => s.common(),
            StepSpec::HttpWait(s) => s.common(),
        }
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            StepSpec::Check(_) => "check",
            StepSpec::DeployPackage(_) => "deploy-package",
            StepSpec::RunScript(_) => "run-script",
            StepSpec::Manual(_) => "manual",
            StepSpec::Substitute(_) => "substitute",
            StepSpec::HttpWait(_) => "http-wait",
        }
    }
}

/// One preflight check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(
    deny_unknown_fields,
    rename_all = "kebab-case",
    rename_all_fields = "kebab-case"
)]
pub enum CheckSpec {
    /// At least `min-mb` free on the filesystem holding `path` (or its nearest existing parent).
    DiskFree { path: String, min_mb: u64 },
    /// The operating system is one of these (`linux`, `windows`, `macos`).
    Os(Vec<String>),
    /// The CPU architecture is one of these (`x86_64`, `aarch64`).
    Arch(Vec<String>),
    /// These commands are on `PATH`.
    Command(Vec<String>),
    /// Nothing listens on this TCP port (Octostache allowed).
    PortFree(String),
    /// A TCP connection to `host:port` succeeds.
    Tcp { host: String, port: String },
    /// An HTTP GET answers (status below 500, or exactly `status`).
    Http {
        url: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<u16>,
    },
    /// This file or directory exists.
    FileExists(String),
    /// Running as root (Administrator on Windows).
    Root(bool),
}

/// A customer profile (bundler input): who the installer is for, their non-secret values and
/// default roles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CustomerProfile {
    pub name: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub variables: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
}
