//! Test support (feature `test-support`): write a realistic Octopus Offline Package Drop, as a
//! folder ([`write_drop`]) or as an artifact zip ([`write_drop_zip`]), laid out as
//! `docs/octopus-conventions.md` §1.2 describes. Secrets are encrypted by the `openssl` command
//! line, independently of this crate.
//!
//! The drop ("Fabrikam Platform" 4.12.0 to Production, target "Fabrikam Offline Drop",
//! deployment `Deployments-1042`):
//!
//! ```text
//! Fabrikam Offline Drop.Fabrikam Platform.Deployments-1042.cmd   launcher (CRLF), runs the .ps1
//! Fabrikam Offline Drop.Fabrikam Platform.Deployments-1042.ps1   `param([string]$Password)`, one
//!     `If ($Result -eq 0) { & "Calamari\Calamari.exe" <command> -… ; $Result = $LASTEXITCODE }`
//!     line per step (CRLF, `\` paths, `-name "value"` flags)
//! Calamari/Calamari.exe                                          placeholder bytes
//! Packages/Fabrikam.Web.4.12.0_<32 hex>.nupkg                    server-cache name form
//! Packages/Fabrikam.Worker@S4.12.0@<32 hex>.nupkg                encoded name form
//! Scripts/Stop Worker Service.sh, Migrate Database.sh, Warm Up Web.ps1
//! Variables/Fabrikam Offline Drop.Fabrikam Platform.<step>.variables.json (+ .secret)
//! ```
//!
//! Steps, in order ([`STEPS`]): `Stop Worker Service` (run-script, Bash, role `worker`),
//! `Deploy Fabrikam.Web` (deploy-package, `web`), `Deploy Fabrikam.Worker` (deploy-package,
//! `worker`), `Migrate Database` (run-script, Bash, `db`; sets output variable `SchemaVersion`),
//! `Warm Up Web` (run-script, PowerShell, `web`). Steps 1, 2 and 5 use the legacy flat
//! variables format, 3 and 4 the `{k,v,s}` array. Each file holds the whole project snapshot
//! plus the step's `Octopus.Action.*` properties (name, target roles, enabled features, package
//! id/version, custom installation directory `#{Fabrikam.InstallRoot}/web|worker`, substitution
//! targets `config/*.conf`, structured targets `appsettings.json`, script syntax and body).
//!
//! Sensitive variables ([`SENSITIVE`]) go to `<same stem>.secret` (legacy steps: flat object;
//! array steps: `{k,v,s}` with `s: true`), encrypted with [`DropOptions::password`] and
//! [`DropOptions::key_size`]; the `.variables.json` then holds only the other variables. With no
//! password, or when `openssl` is missing (a message is printed and
//! [`GeneratedDrop::secrets_written`] is false), no `.secret` is written and the sensitive
//! variables stay in the plain file, marked sensitive in the array form.
//!
//! Each nupkg holds a nuspec, `_rels/.rels`, `[Content_Types].xml`, a core-properties part, and
//! the content listed in [`StepKind::DeployPackage`]'s `files`: `appsettings.json`, `config/*.conf` with
//! `#{…}` tokens, `bin/*.dll`, `PreDeploy.sh`/`Deploy.sh`/`PostDeploy.sh`/`DeployFailed.sh`
//! appending `<PackageId> <Stage>` to the file named by `Fabrikam.DeployLog`; the web package
//! also has `web.config` (appSettings, connectionStrings), `Deploy.ps1`, and
//! `wwwroot/css/site%20theme.css`, stored percent-encoded as NuGet does.

mod content;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};
use zip::write::SimpleFileOptions;

use super::openssl_cli::{self, OpensslError};
use super::sensitive::KeySize;
use super::variables_file::VariablesFormat;

/// The default sensitive-variables password of the generated drop.
pub const DROP_PASSWORD: &str = "Fabrikam-Offline-Drop-2026!";
/// Deployment target (machine) name.
pub const MACHINE: &str = "Fabrikam Offline Drop";
/// Project name.
pub const PROJECT: &str = "Fabrikam Platform";
/// Environment name.
pub const ENVIRONMENT: &str = "Production";
/// Release number (also the package version).
pub const RELEASE: &str = "4.12.0";
/// Deployment id.
pub const DEPLOYMENT_ID: &str = "Deployments-1042";
/// The sensitive variables (name, value) every step's snapshot holds.
pub const SENSITIVE: [(&str, &str); 2] = [
    ("Database.Password", "Pr0d-Db-Pa55word!"),
    ("Fabrikam.ApiKey", "fk_live_8c1d2e3f4a5b6c7d"),
];

/// How to generate the drop.
#[derive(Clone)]
pub struct DropOptions {
    /// Password for the `.secret` files; `None` writes none.
    pub password: Option<String>,
    /// AES key size for the `.secret` files.
    pub key_size: KeySize,
}

impl Default for DropOptions {
    fn default() -> Self {
        Self {
            password: Some(DROP_PASSWORD.to_string()),
            key_size: KeySize::Aes256,
        }
    }
}

/// What one step of the drop is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepKind {
    /// `Calamari deploy-package` of a package.
    DeployPackage {
        /// Package id.
        package_id: &'static str,
        /// The file name under `Packages/`.
        package_file: &'static str,
        /// Files the package extracts to (NuGet metadata excluded, names decoded).
        files: &'static [&'static str],
    },
    /// `Calamari run-script` of a script under `Scripts/`.
    RunScript {
        /// The file name under `Scripts/`.
        script_file: &'static str,
        /// `Octopus.Action.Script.Syntax`.
        syntax: &'static str,
    },
}

/// A step of the generated drop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepSpec {
    /// `Octopus.Action.Name`.
    pub name: &'static str,
    /// `Octopus.Action.TargetRoles`.
    pub roles: &'static str,
    /// The step's kind.
    pub kind: StepKind,
    /// The variables-file form this step uses.
    pub format: VariablesFormat,
}

const WEB_FILES: &[&str] = &[
    "appsettings.json",
    "web.config",
    "config/app.conf",
    "wwwroot/css/site theme.css",
    "bin/Fabrikam.Web.dll",
    "PreDeploy.sh",
    "Deploy.sh",
    "Deploy.ps1",
    "PostDeploy.sh",
    "DeployFailed.sh",
];
const WORKER_FILES: &[&str] = &[
    "appsettings.json",
    "config/worker.conf",
    "bin/Fabrikam.Worker.dll",
    "PreDeploy.sh",
    "Deploy.sh",
    "PostDeploy.sh",
    "DeployFailed.sh",
];

/// The steps, in process order.
pub const STEPS: [StepSpec; 5] = [
    StepSpec {
        name: "Stop Worker Service",
        roles: "worker",
        kind: StepKind::RunScript {
            script_file: "Stop Worker Service.sh",
            syntax: "Bash",
        },
        format: VariablesFormat::Legacy,
    },
    StepSpec {
        name: "Deploy Fabrikam.Web",
        roles: "web",
        kind: StepKind::DeployPackage {
            package_id: "Fabrikam.Web",
            package_file: "Fabrikam.Web.4.12.0_B47863CDE8E3F24E95873F4B59FE990E.nupkg",
            files: WEB_FILES,
        },
        format: VariablesFormat::Legacy,
    },
    StepSpec {
        name: "Deploy Fabrikam.Worker",
        roles: "worker",
        kind: StepKind::DeployPackage {
            package_id: "Fabrikam.Worker",
            package_file: "Fabrikam.Worker@S4.12.0@0A1B2C3D4E5F60718293A4B5C6D7E8F9.nupkg",
            files: WORKER_FILES,
        },
        format: VariablesFormat::Array,
    },
    StepSpec {
        name: "Migrate Database",
        roles: "db",
        kind: StepKind::RunScript {
            script_file: "Migrate Database.sh",
            syntax: "Bash",
        },
        format: VariablesFormat::Array,
    },
    StepSpec {
        name: "Warm Up Web",
        roles: "web",
        kind: StepKind::RunScript {
            script_file: "Warm Up Web.ps1",
            syntax: "PowerShell",
        },
        format: VariablesFormat::Legacy,
    },
];

/// A step as written: its spec and its files, relative to the drop root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedStep {
    /// The step.
    pub spec: StepSpec,
    /// `Variables/<machine>.<project>.<step>.variables.json`.
    pub variables_file: PathBuf,
    /// `Variables/<machine>.<project>.<step>.secret`, when written.
    pub secret_file: Option<PathBuf>,
    /// `Packages/…` or `Scripts/…`.
    pub payload: PathBuf,
}

/// A written drop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedDrop {
    /// The drop folder, or the artifact zip.
    pub root: PathBuf,
    /// The `.ps1`, relative to the root.
    pub ps1: PathBuf,
    /// The `.cmd`, relative to the root.
    pub cmd: PathBuf,
    /// The steps in order.
    pub steps: Vec<GeneratedStep>,
    /// Whether `.secret` files were written (false without a password or without `openssl`).
    pub secrets_written: bool,
}

/// Why the drop could not be written.
#[derive(Debug, thiserror::Error)]
pub enum TestDropError {
    /// Writing a file failed.
    #[error("writing test drop file `{}`: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Building a zip (package or artifact) failed.
    #[error("building zip `{}`: {source}", path.display())]
    Zip {
        /// The zip file.
        path: PathBuf,
        /// The zip error.
        source: zip::result::ZipError,
    },
    /// `openssl` is installed but failed.
    #[error("encrypting test drop secrets: {0}")]
    Openssl(OpensslError),
}

/// Write the drop into the folder `root` (created if missing).
pub fn write_drop(root: &Path, options: &DropOptions) -> Result<GeneratedDrop, TestDropError> {
    let stem = format!("{MACHINE}.{PROJECT}.{DEPLOYMENT_ID}");
    let password = options.password.as_deref();
    let secrets = match password {
        Some(password) => encryptor(password, options.key_size)?,
        None => None,
    };
    let mut steps = Vec::new();
    for (index, spec) in STEPS.iter().enumerate() {
        steps.push(write_step(root, index, spec, secrets.as_ref())?);
    }
    write_file(
        &root.join("Calamari/Calamari.exe"),
        b"MZ\x90\x00 Calamari placeholder for tests\n",
    )?;
    let ps1 = PathBuf::from(format!("{stem}.ps1"));
    let cmd = PathBuf::from(format!("{stem}.cmd"));
    write_file(&root.join(&ps1), orchestration_script(&steps).as_bytes())?;
    write_file(
        &root.join(&cmd),
        content::launcher_cmd(&format!("{stem}.ps1")).as_bytes(),
    )?;
    let secrets_written = secrets.is_some();
    Ok(GeneratedDrop {
        root: root.to_path_buf(),
        ps1,
        cmd,
        steps,
        secrets_written,
    })
}

/// Write the drop as an Octopus artifact zip in `dir`, named
/// `{Project}.{Environment}.{Target}.{Release}.zip`; the returned root is the zip.
pub fn write_drop_zip(dir: &Path, options: &DropOptions) -> Result<GeneratedDrop, TestDropError> {
    let staging = dir.join(".testdrop-staging");
    let mut drop = write_drop(&staging, options)?;
    let zip_path = dir.join(format!("{PROJECT}.{ENVIRONMENT}.{MACHINE}.{RELEASE}.zip"));
    let mut entries = Vec::new();
    collect_files(&staging, &staging, &mut entries)?;
    entries.sort();
    let mut files = Vec::new();
    for rel in entries {
        let bytes =
            fs::read(staging.join(&rel)).map_err(|source| io_error(&staging.join(&rel), source))?;
        files.push((rel.replace('\\', "/"), bytes));
    }
    write_zip(&zip_path, &files)?;
    fs::remove_dir_all(&staging).map_err(|source| io_error(&staging, source))?;
    drop.root = zip_path;
    Ok(drop)
}

/// The `.secret` encryptor for this drop, or `None` (with a message) when `openssl` is missing.
type Encryptor = Box<dyn Fn(&[u8]) -> Result<Vec<u8>, OpensslError>>;

fn encryptor(password: &str, key_size: KeySize) -> Result<Option<Encryptor>, TestDropError> {
    match openssl_cli::encrypt(b"{}", password, key_size, None) {
        Ok(_) => {
            let password = password.to_string();
            Ok(Some(Box::new(move |plain| {
                openssl_cli::encrypt(plain, &password, key_size, None)
            })))
        }
        Err(OpensslError::Missing) => {
            eprintln!("testdrop: the `openssl` command is not installed; writing no .secret files");
            Ok(None)
        }
        Err(e) => Err(TestDropError::Openssl(e)),
    }
}

fn write_step(
    root: &Path,
    index: usize,
    spec: &StepSpec,
    secrets: Option<&Encryptor>,
) -> Result<GeneratedStep, TestDropError> {
    let stem = format!("Variables/{MACHINE}.{PROJECT}.{}", spec.name);
    let variables_file = PathBuf::from(format!("{stem}.variables.json"));
    let (plain, sensitive) = step_variables(index, spec);
    let secret_file = match secrets {
        Some(encrypt) => {
            let secret = PathBuf::from(format!("{stem}.secret"));
            let text = render_variables(spec.format, &sensitive, true);
            let bytes = encrypt(text.as_bytes()).map_err(TestDropError::Openssl)?;
            write_file(&root.join(&secret), &bytes)?;
            write_file(
                &root.join(&variables_file),
                render_variables(spec.format, &plain, false).as_bytes(),
            )?;
            Some(secret)
        }
        None => {
            let all: Vec<_> = plain.into_iter().chain(sensitive).collect();
            write_file(
                &root.join(&variables_file),
                render_variables(spec.format, &all, false).as_bytes(),
            )?;
            None
        }
    };
    let payload = write_payload(root, spec)?;
    Ok(GeneratedStep {
        spec: *spec,
        variables_file,
        secret_file,
        payload,
    })
}

fn write_payload(root: &Path, spec: &StepSpec) -> Result<PathBuf, TestDropError> {
    match spec.kind {
        StepKind::DeployPackage {
            package_id,
            package_file,
            ..
        } => {
            let rel = PathBuf::from("Packages").join(package_file);
            write_zip(&root.join(&rel), &nupkg_entries(package_id))?;
            Ok(rel)
        }
        StepKind::RunScript { script_file, .. } => {
            let rel = PathBuf::from("Scripts").join(script_file);
            write_file(&root.join(&rel), script_body(script_file).as_bytes())?;
            Ok(rel)
        }
    }
}

fn script_body(script_file: &str) -> &'static str {
    match script_file {
        "Stop Worker Service.sh" => content::STOP_WORKER,
        "Migrate Database.sh" => content::MIGRATE_DATABASE,
        _ => content::WARM_UP_WEB,
    }
}

type Variable = (String, String, bool);

/// The step's variables: (plain, sensitive), each `(name, value, sensitive)`.
fn step_variables(index: usize, spec: &StepSpec) -> (Vec<Variable>, Vec<Variable>) {
    let mut plain: Vec<Variable> = project_variables()
        .map(|(n, v)| (n.into(), v.into(), false))
        .collect();
    plain.extend(
        action_variables(index, spec)
            .into_iter()
            .map(|(n, v)| (n, v, false)),
    );
    let sensitive = SENSITIVE
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string(), true))
        .collect();
    (plain, sensitive)
}

fn project_variables() -> impl Iterator<Item = (&'static str, &'static str)> {
    [
        ("Octopus.Environment.Name", ENVIRONMENT),
        ("Octopus.Environment.Id", "Environments-3"),
        ("Octopus.Project.Name", PROJECT),
        ("Octopus.Project.Id", "Projects-21"),
        ("Octopus.Release.Number", RELEASE),
        ("Octopus.Deployment.Id", DEPLOYMENT_ID),
        ("Octopus.Machine.Name", MACHINE),
        ("Octopus.Tentacle.Agent.ApplicationDirectoryPath", "C:\\Applications"),
        ("Fabrikam.InstallRoot", "/opt/fabrikam"),
        ("Fabrikam.DeployLog", "#{Fabrikam.InstallRoot}/deploy-steps.log"),
        ("Service.Host", "fabrikam-web01.internal"),
        ("Service.Port", "8443"),
        ("Database.Server", "db01.fabrikam.local"),
        ("Database.Name", "Fabrikam"),
        ("Database.User", "fabrikam_app"),
        (
            "ConnectionStrings:Main",
            "Server=#{Database.Server};Database=#{Database.Name};User Id=#{Database.User};Password=#{Database.Password}",
        ),
        ("MainDb", "Server=#{Database.Server};Database=#{Database.Name};User Id=#{Database.User}"),
        ("Logging:LogLevel:Default", "Warning"),
        ("Fabrikam:ServiceUrl", "https://#{Service.Host}:#{Service.Port}/"),
        ("Fabrikam.ServiceUrl", "https://#{Service.Host}:#{Service.Port}/"),
        ("Worker:QueueName", "fabrikam-#{Octopus.Environment.Name | ToLower}"),
    ]
    .into_iter()
}

fn action_variables(index: usize, spec: &StepSpec) -> Vec<(String, String)> {
    let mut vars = vec![
        ("Octopus.Action.Name".into(), spec.name.into()),
        ("Octopus.Step.Name".into(), spec.name.into()),
        (
            "Octopus.Action.Id".into(),
            format!("Actions-{}", 101 + index),
        ),
        ("Octopus.Action.Number".into(), (index + 1).to_string()),
        ("Octopus.Action.TargetRoles".into(), spec.roles.into()),
    ];
    let pairs: Vec<(&str, String)> = match spec.kind {
        StepKind::DeployPackage { package_id, .. } => package_properties(package_id),
        StepKind::RunScript {
            script_file,
            syntax,
        } => vec![
            ("Octopus.Action.Script.ScriptSource", "Inline".into()),
            ("Octopus.Action.Script.Syntax", syntax.into()),
            (
                "Octopus.Action.Script.ScriptBody",
                script_body(script_file).into(),
            ),
            ("Octopus.Action.RunOnServer", "false".into()),
        ],
    };
    vars.extend(pairs.into_iter().map(|(n, v)| (n.to_string(), v)));
    vars
}

fn package_properties(package_id: &str) -> Vec<(&'static str, String)> {
    let tier = if package_id.ends_with("Web") {
        "web"
    } else {
        "worker"
    };
    let features = "Octopus.Features.CustomDirectory,Octopus.Features.CustomScripts,\
                    Octopus.Features.SubstituteInFiles,Octopus.Features.JsonConfigurationVariables,\
                    Octopus.Features.ConfigurationVariables";
    vec![
        ("Octopus.Action.EnabledFeatures", features.into()),
        ("Octopus.Action.Package.PackageId", package_id.into()),
        ("Octopus.Action.Package.PackageVersion", RELEASE.into()),
        ("Octopus.Action.Package.FeedId", "feeds-builtin".into()),
        ("Octopus.Action.Package[].PackageId", package_id.into()),
        ("Octopus.Action.Package[].PackageVersion", RELEASE.into()),
        (
            "Octopus.Action.Package.CustomInstallationDirectory",
            format!("#{{Fabrikam.InstallRoot}}/{tier}"),
        ),
        (
            "Octopus.Action.Package.CustomInstallationDirectoryShouldBePurgedBeforeDeployment",
            "True".into(),
        ),
        (
            "Octopus.Action.Package.CustomInstallationDirectoryPurgeExclusions",
            "logs/**".into(),
        ),
        ("Octopus.Action.SubstituteInFiles.Enabled", "True".into()),
        (
            "Octopus.Action.SubstituteInFiles.TargetFiles",
            "config/*.conf".into(),
        ),
        (
            "Octopus.Action.Package.JsonConfigurationVariablesEnabled",
            "True".into(),
        ),
        (
            "Octopus.Action.Package.JsonConfigurationVariablesTargets",
            "appsettings.json".into(),
        ),
        (
            "Octopus.Action.Package.AutomaticallyUpdateAppSettingsAndConnectionStrings",
            "True".into(),
        ),
        ("Octopus.Action.Package.RunScripts", "true".into()),
        (
            "Octopus.Action.CustomScripts.PostDeploy.sh",
            format!("echo \"{package_id} configured PostDeploy\""),
        ),
    ]
}

/// Render variables in a file form; `all_sensitive` marks every entry (secret files).
fn render_variables(format: VariablesFormat, vars: &[Variable], all_sensitive: bool) -> String {
    let value = match format {
        VariablesFormat::Legacy => {
            let map: Map<String, Value> = vars
                .iter()
                .map(|(n, v, _)| (n.clone(), Value::String(v.clone())))
                .collect();
            Value::Object(map)
        }
        VariablesFormat::Array => {
            let items = vars
                .iter()
                .map(|(n, v, s)| json!({ "k": n, "v": v, "s": *s || all_sensitive }));
            Value::Array(items.collect())
        }
    };
    // Pretty-printing a `Value` cannot fail.
    serde_json::to_string_pretty(&value).unwrap_or_default()
}

/// The `.ps1`: one guarded Calamari call per step.
fn orchestration_script(steps: &[GeneratedStep]) -> String {
    let with_secrets = steps.iter().any(|s| s.secret_file.is_some());
    let mut lines = vec![
        format!(
            "# Offline package drop for {PROJECT} {RELEASE} to {ENVIRONMENT} ({DEPLOYMENT_ID})"
        ),
        "param([string]$Password)".to_string(),
        "$ErrorActionPreference = \"Stop\"".to_string(),
        "$env:TentacleJournal = \"C:\\Octopus\\DeploymentJournal.xml\"".to_string(),
    ];
    if with_secrets {
        lines.push("if ([string]::IsNullOrEmpty($Password)) {".to_string());
        lines.push(format!(
            "    $Password = Read-Host \"Enter the sensitive variables password for {MACHINE}\""
        ));
        lines.push("}".to_string());
    }
    lines.push("$Result = 0".to_string());
    for step in steps {
        lines.push(format!("Write-Host \"Running step '{}'\"", step.spec.name));
        lines.push(format!(
            "If ($Result -eq 0) {{ & \"Calamari\\Calamari.exe\" {}; $Result = $LASTEXITCODE }}",
            calamari_args(step)
        ));
    }
    lines.push("exit $Result".to_string());
    lines.iter().map(|l| format!("{l}\r\n")).collect()
}

fn calamari_args(step: &GeneratedStep) -> String {
    let win = |p: &Path| p.display().to_string().replace('/', "\\");
    let command = match step.spec.kind {
        StepKind::DeployPackage { .. } => {
            format!("deploy-package -package \"{}\"", win(&step.payload))
        }
        StepKind::RunScript { .. } => format!("run-script -script \"{}\"", win(&step.payload)),
    };
    let mut args = format!("{command} -variables \"{}\"", win(&step.variables_file));
    if let Some(secret) = &step.secret_file {
        args.push_str(&format!(
            " -sensitiveVariables \"{}\" -sensitiveVariablesPassword $Password",
            win(secret)
        ));
    }
    args
}

/// The parts of a package nupkg, metadata first (as `nuget pack` writes them).
fn nupkg_entries(package_id: &str) -> Vec<(String, Vec<u8>)> {
    let web = package_id.ends_with("Web");
    let description = if web {
        "Fabrikam Platform web tier"
    } else {
        "Fabrikam Platform background worker"
    };
    let mut entries: Vec<(String, String)> = vec![
        ("_rels/.rels".into(), content::rels(package_id)),
        (
            format!("{package_id}.nuspec"),
            content::nuspec(package_id, RELEASE, description),
        ),
    ];
    if web {
        entries.push(("appsettings.json".into(), content::WEB_APPSETTINGS.into()));
        entries.push(("web.config".into(), content::WEB_CONFIG.into()));
        entries.push(("config/app.conf".into(), content::WEB_APP_CONF.into()));
        entries.push((
            "wwwroot/css/site%20theme.css".into(),
            "body { margin: 0; }\n".into(),
        ));
        entries.push((
            "Deploy.ps1".into(),
            content::packaged_powershell(package_id, "Deploy"),
        ));
    } else {
        entries.push((
            "appsettings.json".into(),
            content::WORKER_APPSETTINGS.into(),
        ));
        entries.push(("config/worker.conf".into(), content::WORKER_CONF.into()));
    }
    entries.push((
        format!("bin/{package_id}.dll"),
        format!("MZ placeholder assembly {package_id}\n"),
    ));
    for stage in ["PreDeploy", "Deploy", "PostDeploy", "DeployFailed"] {
        entries.push((
            format!("{stage}.sh"),
            content::packaged_bash(package_id, stage),
        ));
    }
    entries.push(("[Content_Types].xml".into(), content::CONTENT_TYPES.into()));
    let properties = "package/services/metadata/core-properties/9f1c2e.psmdcp".to_string();
    entries.push((properties, content::core_properties(package_id, RELEASE)));
    entries
        .into_iter()
        .map(|(n, c)| (n, c.into_bytes()))
        .collect()
}

/// Write a deflated zip; `.sh` entries get mode 0755, others 0644.
fn write_zip(path: &Path, entries: &[(String, Vec<u8>)]) -> Result<(), TestDropError> {
    let zip_error = |source| TestDropError::Zip {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|source| io_error(parent, source))?;
    }
    let file = fs::File::create(path).map_err(|source| io_error(path, source))?;
    let mut zip = zip::ZipWriter::new(file);
    for (name, bytes) in entries {
        let mode = if name.ends_with(".sh") { 0o755 } else { 0o644 };
        let options = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .unix_permissions(mode);
        zip.start_file(name.as_str(), options).map_err(zip_error)?;
        zip.write_all(bytes)
            .map_err(|source| io_error(path, source))?;
    }
    zip.finish().map_err(zip_error)?;
    Ok(())
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), TestDropError> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|source| io_error(parent, source))?;
    }
    fs::write(path, bytes).map_err(|source| io_error(path, source))
}

fn collect_files(base: &Path, dir: &Path, out: &mut Vec<String>) -> Result<(), TestDropError> {
    for entry in fs::read_dir(dir).map_err(|source| io_error(dir, source))? {
        let path = entry.map_err(|source| io_error(dir, source))?.path();
        if path.is_dir() {
            collect_files(base, &path, out)?;
        } else if let Ok(rel) = path.strip_prefix(base) {
            out.push(rel.display().to_string());
        }
    }
    Ok(())
}

fn io_error(path: &Path, source: std::io::Error) -> TestDropError {
    TestDropError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests;
