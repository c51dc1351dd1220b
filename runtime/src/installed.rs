//! What is installed: the record a successful install leaves in the state directory
//! (`installed.json`: product, version, customer, installer, signer, roles, the non-secret
//! answers, each package's id, version and path; never a secret), and how the next installer
//! compares itself with it: [`Mode`] `fresh`, `upgrade`, `reinstall`, `downgrade` or
//! `unsupported` (outside the plan's `upgrade.from`).
//!
//! Octopus keeps the same facts in its deployment journal and gives them to the next deployment
//! as `Octopus.Tentacle.PreviousInstallation.*`; [`Upgrade::package_variables`] does the same.

use crate::answers::Kept;
use crate::config::{glob, merge};
use crate::durable;
use crate::escape;
use crate::package::PackageName;
use crate::plan::{DeployPackageStep, OnUpgrade, Plan, StepSpec};
use crate::secret::Scrubber;
use crate::version::{Version, VersionRange};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The record of the install that succeeded last.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Installed {
    pub product: String,
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
    /// The installer's signature digest, as the journal and the report name it.
    pub installer_id: String,
    pub signer_key_id: String,
    pub installed_at: String,
    pub roles: Vec<String>,
    /// The answers without secrets (secrets are never stored; an upgrade asks them again).
    pub answers: Map<String, Value>,
    pub packages: Vec<InstalledPackage>,
}

/// A package a `deploy-package` step installed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct InstalledPackage {
    pub step: String,
    pub id: String,
    pub version: String,
    /// Where it was extracted.
    pub path: String,
    /// Whether `path` was the step's `destination` (Octopus's custom installation directory).
    pub custom_directory: bool,
    /// The step's `config-files` as the install left them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<InstalledFile>,
}

/// A settings file (`config-files`) as an install left it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct InstalledFile {
    /// Relative to the package's path, `/` between parts.
    pub path: String,
    /// `sha256:HEX` of the file with every secret replaced by a marker: it tells whether the
    /// file changed since, and nothing about a secret.
    pub digest: String,
    /// The file as written with every secret replaced by a marker (text files up to
    /// [`LARGEST_BASE`]): the common ancestor of a three-way merge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
}

/// The largest settings file whose base copy is kept.
pub const LARGEST_BASE: usize = 256 * 1024;

impl InstalledFile {
    /// A file as written, secrets masked.
    pub fn of(path: String, bytes: &[u8], scrubber: &Scrubber) -> Self {
        let base = std::str::from_utf8(bytes)
            .ok()
            .filter(|_| bytes.len() <= LARGEST_BASE)
            .map(|text| scrubber.scrub(text));
        InstalledFile {
            path,
            digest: Self::digest_of(bytes, scrubber),
            base,
        }
    }

    /// Whether `bytes` are what this record says was written, secrets aside: the same digest
    /// (this run's secrets masked), or the base copy with each of its markers standing for any
    /// text on its line. The second covers a secret rotated since: the file holds the old one,
    /// which this run does not know.
    pub fn wrote(&self, bytes: &[u8], scrubber: &Scrubber) -> bool {
        self.digest == Self::digest_of(bytes, scrubber)
            || self
                .base
                .as_deref()
                .is_some_and(|base| merge::matches_masked(base, &scrubber.scrub_bytes(bytes)))
    }

    /// Whether `bytes` (a file the customer edited) still hold, on a line as written, a secret
    /// other than this run's: one rotated since, which the new version would change.
    pub fn holds_an_older_secret(&self, bytes: &[u8], scrubber: &Scrubber) -> bool {
        self.base
            .as_deref()
            .is_some_and(|base| merge::holds_an_older_secret(base, &scrubber.scrub_bytes(bytes)))
    }

    /// The digest of a file's bytes, secrets masked first.
    pub fn digest_of(bytes: &[u8], scrubber: &Scrubber) -> String {
        let masked = scrubber.scrub(&String::from_utf8_lossy(bytes));
        format!("sha256:{}", escape::hex(&Sha256::digest(masked.as_bytes())))
    }
}

/// A settings file of a `deploy-package` step found under its package's path.
#[derive(Debug, Clone)]
pub struct ConfigFileFound {
    pub full: PathBuf,
    /// Relative to the package's path, `/` between parts.
    pub relative: String,
    /// The policy of the first `config-files` entry that finds it.
    pub on_upgrade: OnUpgrade,
}

/// The step's `config-files` under `dir` now (each file once, under its first pattern).
pub fn config_files(step: &DeployPackageStep, dir: &Path) -> Vec<ConfigFileFound> {
    let mut found: Vec<ConfigFileFound> = Vec::new();
    for entry in &step.config_files {
        let Ok(matches) = glob::find_target_files(&[dir], std::slice::from_ref(&entry.path)) else {
            continue;
        };
        for full in matches.files {
            let Ok(relative) = full.strip_prefix(dir) else {
                continue;
            };
            let relative = relative.to_string_lossy().replace('\\', "/");
            if !found.iter().any(|f| f.relative == relative) {
                found.push(ConfigFileFound {
                    full,
                    relative,
                    on_upgrade: entry.on_upgrade,
                });
            }
        }
    }
    found
}

impl InstalledPackage {
    /// The packages of the plan's `deploy-package` steps that `succeeded`, each where it was
    /// extracted (`extracted_to`, from the step's output variable).
    pub fn of_plan(
        plan: &Plan,
        succeeded: impl Fn(&str) -> bool,
        extracted_to: impl Fn(&str) -> Option<String>,
        scrubber: &Scrubber,
        rendered: &[(PathBuf, InstalledFile)],
    ) -> Vec<InstalledPackage> {
        plan.steps()
            .iter()
            .filter_map(|step| match step {
                StepSpec::DeployPackage(deploy) if succeeded(&deploy.name) => Some(deploy),
                _ => None,
            })
            .map(|deploy| {
                let name = PackageName::from_path(Path::new(&deploy.package)).ok();
                let path = extracted_to(&deploy.name).unwrap_or_default();
                let files = config_files(deploy, Path::new(&path))
                    .into_iter()
                    .filter_map(|file| {
                        // A file left the customer's is recorded as the vendor rendered it.
                        if let Some((_, vendor)) = rendered.iter().find(|(p, _)| *p == file.full) {
                            let path = file.relative;
                            return Some(InstalledFile {
                                path,
                                ..vendor.clone()
                            });
                        }
                        let bytes = durable::read_no_follow(&file.full).ok()?;
                        Some(InstalledFile::of(file.relative, &bytes, scrubber))
                    })
                    .collect();
                InstalledPackage {
                    step: deploy.name.clone(),
                    id: name
                        .as_ref()
                        .map_or_else(|| deploy.package.clone(), |n| n.id.clone()),
                    version: name.map(|n| n.version).unwrap_or_default(),
                    path,
                    custom_directory: deploy.destination.is_some(),
                    files,
                }
            })
            .collect()
    }
}

/// How this installer relates to what is installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Nothing of the product is installed.
    Fresh,
    /// An older version is installed.
    Upgrade,
    /// The same version is installed.
    Reinstall,
    /// A newer version is installed.
    Downgrade,
    /// The installed version is outside the plan's `upgrade.from`.
    Unsupported,
}

impl Mode {
    /// The mode as `Dropship.Upgrade.Mode` and `report.json` write it.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Fresh => "fresh",
            Mode::Upgrade => "upgrade",
            Mode::Reinstall => "reinstall",
            Mode::Downgrade => "downgrade",
            Mode::Unsupported => "unsupported",
        }
    }
}

/// Why the installed state cannot be compared with this installer.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    #[error(
        "the state directory records `{installed}`, not `{product}`\n\
         hint: each product keeps its own state directory; pass another `--state-dir`"
    )]
    OtherProduct { installed: String, product: String },
    #[error(
        "the installed version `{0}` cannot be compared with this installer's\n\
         hint: `installed.json` in the state directory was edited or is damaged; restore it"
    )]
    Unreadable(String),
}

/// This installer against what is installed.
#[derive(Debug, Clone)]
pub struct Upgrade {
    pub mode: Mode,
    /// The install this one follows, if any.
    pub installed: Option<Installed>,
    /// This installer's version.
    pub to: String,
    /// The plan's `upgrade.from`, when it has one.
    pub accepts: Option<String>,
}

impl Upgrade {
    /// No install recorded.
    pub fn fresh(plan: &Plan) -> Self {
        Upgrade {
            mode: Mode::Fresh,
            installed: None,
            to: plan.product().version.clone(),
            accepts: None,
        }
    }

    /// Compare `plan` with the recorded install (the plan's versions parse: its validation
    /// checked them).
    pub fn compare(plan: &Plan, installed: Option<Installed>) -> Result<Self, CompareError> {
        let Some(installed) = installed else {
            return Ok(Self::fresh(plan));
        };
        let product = &plan.product().name;
        if !installed.product.eq_ignore_ascii_case(product) {
            return Err(CompareError::OtherProduct {
                installed: installed.product,
                product: product.clone(),
            });
        }
        let unreadable = || CompareError::Unreadable(installed.version.clone());
        let from: Version = installed.version.parse().map_err(|_| unreadable())?;
        let to: Version = plan.product().version.parse().map_err(|_| unreadable())?;
        let accepts = plan.document().upgrade.as_ref().map(|u| u.from.clone());
        let range = accepts.as_deref().map(str::parse::<VersionRange>);
        let mode = match from.cmp(&to) {
            std::cmp::Ordering::Equal => Mode::Reinstall,
            std::cmp::Ordering::Greater => Mode::Downgrade,
            std::cmp::Ordering::Less => match range {
                Some(Ok(range)) if !range.contains(&from) => Mode::Unsupported,
                _ => Mode::Upgrade,
            },
        };
        Ok(Upgrade {
            mode,
            installed: Some(installed),
            to: plan.product().version.clone(),
            accepts,
        })
    }

    /// The installed version's answers, which this install keeps (none on a fresh install).
    pub fn kept_answers(&self) -> Option<Kept> {
        self.installed.as_ref().map(|installed| Kept {
            version: installed.version.clone(),
            values: installed.answers.clone(),
        })
    }

    /// The installed version, if any.
    pub fn from_version(&self) -> Option<&str> {
        self.installed.as_ref().map(|i| i.version.as_str())
    }

    /// One line for the banner, the dry run and the report: `Upgrade Fabrikam 4.12.0 → 4.13.0`.
    pub fn headline(&self, product: &str) -> String {
        let to = &self.to;
        match (self.mode, self.from_version()) {
            (Mode::Fresh, _) | (_, None) => format!("Install {product} {to}"),
            (Mode::Reinstall, Some(_)) => format!("Reinstall {product} {to}"),
            (Mode::Upgrade, Some(from)) => format!("Upgrade {product} {from} → {to}"),
            (Mode::Downgrade, Some(from)) => format!("Downgrade {product} {from} → {to}"),
            (Mode::Unsupported, Some(from)) => {
                format!("Upgrade {product} {from} → {to} (not supported)")
            }
        }
    }

    /// `Dropship.Upgrade.Mode` and `Dropship.Upgrade.FromVersion` (empty on a fresh install),
    /// for every step's conditions and scripts.
    pub fn variables(&self) -> Vec<(String, String)> {
        vec![
            ("Dropship.Upgrade.Mode".to_string(), self.mode.name().into()),
            (
                "Dropship.Upgrade.FromVersion".to_string(),
                self.from_version().unwrap_or_default().to_string(),
            ),
        ]
    }

    /// The installed version's package `package_id` (the one `step` installed, if several).
    pub fn previous_package(&self, step: &str, package_id: &str) -> Option<&InstalledPackage> {
        let packages = self.installed.iter().flat_map(|i| &i.packages);
        let same_id: Vec<&InstalledPackage> = packages
            .filter(|p| p.id.eq_ignore_ascii_case(package_id))
            .collect();
        same_id
            .iter()
            .find(|p| p.step == step)
            .or(same_id.first())
            .copied()
    }

    /// What Calamari sets from its deployment journal before a package is deployed:
    /// `Octopus.Tentacle.PreviousInstallation.*` and `.PreviousSuccessfulInstallation.*` of the
    /// same package (the same step's first), empty when it was not installed before.
    pub fn package_variables(&self, step: &str, package_id: &str) -> Vec<(String, String)> {
        let (path, custom, version) = match self.previous_package(step, package_id) {
            Some(p) => (
                p.path.as_str(),
                if p.custom_directory {
                    p.path.as_str()
                } else {
                    ""
                },
                p.version.as_str(),
            ),
            None => ("", "", ""),
        };
        let mut variables = Vec::new();
        for prefix in ["PreviousInstallation", "PreviousSuccessfulInstallation"] {
            for (name, value) in [
                ("OriginalInstalledPath", path),
                ("CustomInstallationDirectory", custom),
                ("PackageFilePath", ""),
                ("PackageVersion", version),
            ] {
                variables.push((format!("Octopus.Tentacle.{prefix}.{name}"), value.into()));
            }
        }
        variables
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(version: &str, upgrade: Option<&str>) -> Plan {
        let upgrade = upgrade.map_or(String::new(), |from| {
            format!(r#", "upgrade": {{"from": "{from}"}}"#)
        });
        let text = format!(
            r#"{{"schema": "dropship/plan@1", "product": {{"name": "Fabrikam", "version": "{version}"}},
                "steps": [{{"name": "S", "type": "manual", "instructions": "x"}}]{upgrade}}}"#
        );
        Plan::parse(text.as_bytes(), "plan.json").unwrap()
    }

    fn installed(version: &str) -> Installed {
        Installed {
            product: "Fabrikam".into(),
            version: version.into(),
            customer: None,
            installer_id: "blake3:00".into(),
            signer_key_id: "KEY".into(),
            installed_at: "2026-12-01T00:00:00Z".into(),
            roles: Vec::new(),
            answers: Map::new(),
            packages: vec![InstalledPackage {
                step: "Deploy".into(),
                id: "Fabrikam.Web".into(),
                version: version.into(),
                path: "/srv/fabrikam/web".into(),
                custom_directory: true,
                files: Vec::new(),
            }],
        }
    }

    fn mode(to: &str, from: Option<&str>, range: Option<&str>) -> Mode {
        Upgrade::compare(&plan(to, range), from.map(installed))
            .unwrap()
            .mode
    }

    #[test]
    fn a_file_holding_a_secret_rotated_since_was_written_by_the_install() {
        let secret = |value: &str| {
            let mut scrubber = Scrubber::new();
            scrubber.add(&crate::secret::Secret::new(value));
            scrubber
        };
        let recorded = InstalledFile::of(
            "app.conf".into(),
            b"password=Old-Secret-1\nport=1\n",
            &secret("Old-Secret-1"),
        );
        let now = secret("New-Secret-2");
        assert!(recorded.wrote(b"password=Old-Secret-1\nport=1\n", &now));
        assert!(recorded.wrote(b"password=New-Secret-2\nport=1\n", &now));
        assert!(!recorded.wrote(b"password=Old-Secret-1\nport=2\n", &now));
        let no_base = InstalledFile {
            base: None,
            ..recorded.clone()
        };
        assert!(!no_base.wrote(b"password=Old-Secret-1\nport=1\n", &now));
    }

    #[test]
    fn the_mode_follows_the_versions_and_the_accepted_range() {
        assert_eq!(mode("4.13.0", None, None), Mode::Fresh);
        assert_eq!(mode("4.13.0", Some("4.12.0"), None), Mode::Upgrade);
        assert_eq!(mode("4.13.0", Some("4.13"), None), Mode::Reinstall);
        assert_eq!(mode("4.12.0", Some("4.13.0"), None), Mode::Downgrade);
        assert_eq!(
            mode("4.13.0", Some("3.9.0"), Some(">=4.0")),
            Mode::Unsupported
        );
        assert_eq!(mode("4.13.0", Some("4.1.0"), Some(">=4.0")), Mode::Upgrade);
    }

    #[test]
    fn another_product_or_a_damaged_version_is_refused() {
        let mut other = installed("1.0.0");
        other.product = "Contoso".into();
        let e = Upgrade::compare(&plan("1.0.0", None), Some(other)).unwrap_err();
        assert!(e.to_string().contains("`Contoso`, not `Fabrikam`"), "{e}");
        let e = Upgrade::compare(&plan("1.0.0", None), Some(installed("banana"))).unwrap_err();
        assert!(e.to_string().contains("`banana`"), "{e}");
    }

    #[test]
    fn the_headline_and_variables_say_what_happens() {
        let upgrade = Upgrade::compare(&plan("4.13.0", None), Some(installed("4.12.0"))).unwrap();
        assert_eq!(
            upgrade.headline("Fabrikam"),
            "Upgrade Fabrikam 4.12.0 → 4.13.0"
        );
        assert_eq!(
            upgrade.variables(),
            vec![
                ("Dropship.Upgrade.Mode".to_string(), "upgrade".to_string()),
                ("Dropship.Upgrade.FromVersion".into(), "4.12.0".into())
            ]
        );
        let fresh = Upgrade::fresh(&plan("4.13.0", None));
        assert_eq!(fresh.headline("Fabrikam"), "Install Fabrikam 4.13.0");
        assert_eq!(fresh.variables()[1].1, "");
    }

    #[test]
    fn previous_installation_variables_are_the_same_packages() {
        let upgrade = Upgrade::compare(&plan("4.13.0", None), Some(installed("4.12.0"))).unwrap();
        let vars = upgrade.package_variables("Renamed step", "fabrikam.web");
        let get = |name: &str| {
            vars.iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
                .unwrap()
        };
        assert_eq!(
            get("Octopus.Tentacle.PreviousInstallation.PackageVersion"),
            "4.12.0"
        );
        assert_eq!(
            get("Octopus.Tentacle.PreviousSuccessfulInstallation.OriginalInstalledPath"),
            "/srv/fabrikam/web"
        );
        assert_eq!(
            get("Octopus.Tentacle.PreviousInstallation.CustomInstallationDirectory"),
            "/srv/fabrikam/web"
        );
        let other = upgrade.package_variables("Deploy", "Other.Package");
        assert!(other.iter().all(|(_, v)| v.is_empty()), "{other:?}");
        assert_eq!(other.len(), 8);
    }
}
