//! The state directory: everything an install keeps on the machine (journal, lock, history,
//! answers without secrets, log, reports, the scripts' working directory).
//! [`StateDir`] is the one owner of every name, permission, lock and write in it; no other
//! module joins a file name onto the directory.
//!
//! Every write is atomic and durable ([`crate::durable`]), files are `0600` and the directory
//! `0700`: it holds what support needs, never a secret, but it steers `resume` and `rollback`.

use crate::durable;
use crate::installed::Installed;
use crate::path_safety::{self, Unsafe};
use crate::report::Report;
use crate::secret_verifier::Verifiers;
use serde_json::{Map, Value};
use std::io;
use std::path::{Path, PathBuf};

mod lock;

pub use lock::StateLock;

/// Where installs are recorded when the operator does not say (`--state-dir`).
#[cfg(not(windows))]
pub fn default_root() -> PathBuf {
    PathBuf::from("/var/lib/dropship")
}

/// `%ProgramData%\dropship` (`C:\ProgramData` when the variable is missing, as on every
/// Windows since Vista), the machine-wide place for an application's data.
#[cfg(windows)]
pub fn default_root() -> PathBuf {
    let data = std::env::var_os("ProgramData").unwrap_or_else(|| r"C:\ProgramData".into());
    PathBuf::from(data).join("dropship")
}

/// Mode of every file written into the state directory.
const FILE_MODE: u32 = 0o600;

/// Why the state directory could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("{doing} `{path}`: {source}{}", permission_hint(source))]
    Io {
        doing: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("`{path}` is damaged: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error(
        "another installer ({holder}) is using the state directory `{dir}`\n\
         hint: wait for it to finish"
    )]
    Locked { dir: PathBuf, holder: String },
    #[error(
        "the state directory `{dir}` cannot be trusted: {why}\n\
         hint: its journal decides what `resume` and `rollback` change; pass a `--state-dir` \
         that only root (or you) can write"
    )]
    Untrusted { dir: PathBuf, why: Unsafe },
}

/// What to do when the state directory may not be written: it is the system's by default.
fn permission_hint(source: &io::Error) -> &'static str {
    match source.kind() {
        io::ErrorKind::PermissionDenied => {
            "\nhint: run as root (the default state directory is the system's), or pass \
             `--state-dir DIR` with a directory only you can write"
        }
        _ => "",
    }
}

impl StateError {
    /// An untrusted directory is the operator's to fix (exit 2); the rest is the machine's.
    pub fn exit_status(&self) -> crate::exit::ExitStatus {
        match self {
            StateError::Untrusted { .. } => crate::exit::ExitStatus::Usage,
            _ => crate::exit::ExitStatus::Failure,
        }
    }

    pub(crate) fn io<'a>(
        doing: &'static str,
        path: &'a Path,
    ) -> impl FnOnce(io::Error) -> Self + 'a {
        move |source| StateError::Io {
            doing,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// One install's state directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateDir {
    root: PathBuf,
}

impl StateDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        StateDir { root: root.into() }
    }

    /// `given` (`--state-dir`), else `/var/lib/dropship/<product>` or
    /// `%ProgramData%\dropship\<product>` (never the operator's home by surprise).
    pub fn resolve(product: &str, given: Option<&Path>) -> Self {
        match given {
            Some(dir) => StateDir::new(dir),
            None => StateDir::new(default_root().join(slug(product))),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Refuse a state directory (or a way to it) that others can write: a local user could
    /// forge the journal that root's `rollback` then follows.
    pub fn check_trusted(&self) -> Result<(), StateError> {
        path_safety::check_private_dir(&self.root).map_err(|why| StateError::Untrusted {
            dir: self.root.clone(),
            why,
        })
    }

    /// Create the directory (`0700`) and its missing parents, durably (a journal whose
    /// directory vanishes in a power loss protects nothing), and check it can be trusted.
    pub fn create(&self) -> Result<(), StateError> {
        path_safety::check_trusted_ancestors(&self.root).map_err(|why| StateError::Untrusted {
            dir: self.root.clone(),
            why,
        })?;
        let dir = &self.root;
        let missing: Vec<&Path> = dir.ancestors().take_while(|d| !d.exists()).collect();
        std::fs::create_dir_all(dir)
            .map_err(StateError::io("creating the state directory", dir))?;
        if missing.first() == Some(&dir.as_path()) {
            set_private_dir_mode(dir)?;
        }
        for created in missing.iter().rev() {
            let parent = match created.parent() {
                Some(parent) if !parent.as_os_str().is_empty() => parent,
                _ => Path::new("."),
            };
            durable::sync_dir(parent).map_err(StateError::io("syncing the directory", parent))?;
        }
        self.check_trusted()
    }

    /// Take the lock that keeps a second installer out (held until the lock is dropped).
    pub fn lock(&self) -> Result<StateLock, StateError> {
        StateLock::acquire(&self.root, &self.root.join("lock"))
    }

    /// The journal (`journal.jsonl`), one JSON record per line.
    pub fn journal(&self) -> PathBuf {
        self.root.join("journal.jsonl")
    }

    /// Where finished journals are kept.
    pub fn history(&self) -> PathBuf {
        self.root.join("history")
    }

    /// The path of [`backups`](Self::backups), whether it exists or not.
    pub fn backups_dir(&self) -> PathBuf {
        self.root.join("backups")
    }

    /// Where the transaction keeps the originals of what the install `install` (its
    /// `Begin::install_key`) replaced, deleted or snapshot, until the install is made final
    /// (created `0700` when first needed).
    pub fn backups_of(&self, install: &str) -> Result<PathBuf, StateError> {
        let backups = self.private_dir(self.backups_dir())?;
        self.private_dir(backups.join(install))
    }

    /// Where the journals of installs that can still be undone wait (`rollback --to`).
    pub fn kept(&self) -> PathBuf {
        self.root.join("kept")
    }

    /// Where copies of the installers of undoable installs are kept, so that `rollback --to`
    /// can run each install's own rollback.
    pub fn installers(&self) -> PathBuf {
        self.root.join("installers")
    }

    /// The kept copy of the installer whose journal id is `installer_id` (`sha256:HEX`), by
    /// its digest; `None` for an id of another form.
    pub fn kept_installer(&self, installer_id: &str) -> Option<PathBuf> {
        let hex = installer_id.strip_prefix("sha256:")?;
        let plain = hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit());
        plain.then(|| {
            self.installers()
                .join(format!("{hex}{}", std::env::consts::EXE_SUFFIX))
        })
    }

    /// Keep a copy of a file step `step` (counted from 1) asked to keep, as `name` (a plain
    /// file name), in `artifacts/step-N/`; returns its path relative to the state directory,
    /// with `/` (as the report links it).
    pub fn keep_artifact(
        &self,
        step: usize,
        name: &str,
        bytes: &[u8],
    ) -> Result<String, StateError> {
        let artifacts = self.private_dir(self.root.join("artifacts"))?;
        let dir = self.private_dir(artifacts.join(format!("step-{step}")))?;
        self.write(&dir.join(name), bytes)?;
        Ok(format!("artifacts/step-{step}/{name}"))
    }

    /// `dir` in the state directory, created `0700` when missing; refused when something else
    /// is there.
    fn private_dir(&self, dir: PathBuf) -> Result<PathBuf, StateError> {
        match std::fs::symlink_metadata(&dir) {
            Ok(meta) if meta.is_dir() => return Ok(dir),
            Ok(_) => {
                return Err(StateError::Corrupt {
                    path: dir,
                    reason: "it is not a directory".to_string(),
                });
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(StateError::io("inspecting", &dir)(e)),
        }
        std::fs::create_dir(&dir).map_err(StateError::io("creating", &dir))?;
        set_private_dir_mode(&dir)?;
        let parent = dir.parent().unwrap_or(&self.root);
        durable::sync_dir(parent).map_err(StateError::io("syncing the directory", parent))?;
        Ok(dir)
    }

    /// Keep a copy of the installer at `from` (journal id `installer_id`) for `rollback --to`:
    /// written under a temporary name, made executable by its owner only, then renamed; a copy
    /// of the same size already there is kept (its name is its digest). It is not flushed to
    /// disk (that would cost an install the time to write the whole installer): only a later
    /// `rollback --to` needs it, and that verifies it before use, so a copy a crash damaged is
    /// refused there, naming it, and replaced by the next install of the same installer.
    pub fn keep_installer(&self, from: &Path, installer_id: &str) -> Result<(), StateError> {
        let Some(to) = self.kept_installer(installer_id) else {
            return Ok(());
        };
        let len = |path: &Path| std::fs::metadata(path).map(|m| m.len()).ok();
        if len(&to).is_some() && len(&to) == len(from) {
            return Ok(());
        }
        self.private_dir(self.installers())?;
        let partial = to.with_extension("partial");
        std::fs::copy(from, &partial).map_err(StateError::io(
            "keeping a copy of the installer in",
            &partial,
        ))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&partial, std::fs::Permissions::from_mode(0o700))
                .map_err(StateError::io("making private", &partial))?;
        }
        std::fs::rename(&partial, &to).map_err(StateError::io("renaming", &partial))
    }

    /// Remove the kept installer copies (and half-made ones) no id of `keep` names; returns
    /// what could not be removed. Only names of the form this directory gives are touched.
    pub fn remove_kept_installers_except(&self, keep: &[&str]) -> Vec<(PathBuf, io::Error)> {
        let Ok(entries) = std::fs::read_dir(self.installers()) else {
            return Vec::new();
        };
        let kept: Vec<PathBuf> = keep
            .iter()
            .filter_map(|id| self.kept_installer(id))
            .collect();
        let ours = |path: &Path| {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            let hex = name.split('.').next().unwrap_or_default();
            hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())
        };
        entries
            .flatten()
            .map(|entry| entry.path())
            .filter(|path| ours(path) && !kept.contains(path))
            .filter_map(|path| std::fs::remove_file(&path).err().map(|e| (path, e)))
            .collect()
    }

    /// Where scripts run when the plan names no directory.
    pub fn work_dir(&self) -> PathBuf {
        self.root.join("work")
    }

    /// The install's text log.
    pub fn log(&self) -> PathBuf {
        self.root.join("install.log")
    }

    /// Open the log for appending (created `0600`; a link there is refused).
    pub fn open_log(&self) -> Result<std::fs::File, StateError> {
        open_log_file(&self.log())
    }

    /// The answers of the install, without secrets (read back by `resume` as an answers file).
    pub fn answers(&self) -> PathBuf {
        self.root.join("answers.json")
    }

    /// The report for machines; `report.txt` and `report.html` sit beside it.
    pub fn report_json(&self) -> PathBuf {
        self.root.join("report.json")
    }

    /// Verifiers of the install's secrets (Argon2id hashes, never the secrets).
    pub fn secret_verifiers(&self) -> PathBuf {
        self.root.join("secrets.verify")
    }

    /// Save the verifiers of the install's secrets.
    pub fn save_secret_verifiers(&self, verifiers: &Verifiers) -> Result<(), StateError> {
        self.write_json(&self.secret_verifiers(), verifiers)
    }

    /// The verifiers saved by [`save_secret_verifiers`](Self::save_secret_verifiers); none for
    /// an install that saved none.
    pub fn load_secret_verifiers(&self) -> Result<Verifiers, StateError> {
        Ok(self
            .read_json_if_any(&self.secret_verifiers())?
            .unwrap_or_else(Verifiers::new))
    }

    /// Save the answers without secrets.
    pub fn save_answers(&self, answers: &Map<String, Value>) -> Result<(), StateError> {
        self.write_json(&self.answers(), answers)
    }

    /// What the install that succeeded last installed ([`Installed`]).
    pub fn installed(&self) -> PathBuf {
        self.root.join("installed.json")
    }

    /// The installed state; `None` when nothing is installed.
    pub fn load_installed(&self) -> Result<Option<Installed>, StateError> {
        self.read_json_if_any(&self.installed())
    }

    /// Record what a successful install installed.
    pub fn save_installed(&self, installed: &Installed) -> Result<(), StateError> {
        self.write_json(&self.installed(), installed)
    }

    /// After an install was rolled back: what was installed before it began is installed
    /// again (`None`: nothing), with its answers (a `rollback` of that install reads them).
    pub fn restore_installed(&self, before: Option<&Installed>) -> Result<(), StateError> {
        match before {
            Some(installed) => {
                self.save_answers(&installed.answers)?;
                self.save_installed(installed)
            }
            None => self.remove(&self.installed()),
        }
    }

    fn remove(&self, path: &Path) -> Result<(), StateError> {
        match std::fs::remove_file(path) {
            Ok(()) => durable::sync_dir(&self.root)
                .map_err(StateError::io("syncing the directory", &self.root)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StateError::io("removing", path)(e)),
        }
    }

    fn read_json_if_any<T: serde::de::DeserializeOwned>(
        &self,
        path: &Path,
    ) -> Result<Option<T>, StateError> {
        match durable::read_no_follow(path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|e| StateError::Corrupt {
                        path: path.to_path_buf(),
                        reason: e.to_string(),
                    })
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StateError::io("reading", path)(e)),
        }
    }

    /// Write `report.json`, `report.txt` and `report.html`.
    pub fn write_reports(&self, report: &Report) -> Result<(), StateError> {
        self.write_json(&self.report_json(), report)?;
        self.write(&self.root.join("report.txt"), report.text().as_bytes())?;
        self.write(&self.root.join("report.html"), report.html().as_bytes())
    }

    /// The report written last.
    pub fn read_report(&self) -> Result<Report, StateError> {
        let path = self.report_json();
        let bytes = durable::read_no_follow(&path).map_err(StateError::io("reading", &path))?;
        serde_json::from_slice(&bytes).map_err(|e| StateError::Corrupt {
            path,
            reason: e.to_string(),
        })
    }

    fn write_json(&self, path: &Path, value: &impl serde::Serialize) -> Result<(), StateError> {
        let json = serde_json::to_string_pretty(value).map_err(|e| StateError::Corrupt {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        self.write(path, (json + "\n").as_bytes())
    }

    fn write(&self, path: &Path, bytes: &[u8]) -> Result<(), StateError> {
        durable::write_atomic(path, bytes, Some(FILE_MODE)).map_err(StateError::io("writing", path))
    }
}

/// Open a log file for appending, the state directory's or the copy `--log` asks for:
/// created `0600`, a link at `path` refused (a local user could point it at a file of root's).
pub fn open_log_file(path: &Path) -> Result<std::fs::File, StateError> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, FILE_MODE);
    durable::no_follow(&mut options)
        .open(path)
        .map_err(StateError::io("opening the log", path))
}

/// A product name as a directory name: lowercase ASCII letters and digits, `-` for the rest.
fn slug(product: &str) -> String {
    product
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

#[cfg(unix)]
fn set_private_dir_mode(dir: &Path) -> Result<(), StateError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .map_err(StateError::io("making the state directory private", dir))
}

/// On Windows: a DACL of its own, the installing user and SYSTEM only.
#[cfg(windows)]
fn set_private_dir_mode(dir: &Path) -> Result<(), StateError> {
    crate::windows_acl::make_private(dir)
        .map_err(StateError::io("making the state directory private", dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_directory_that_may_not_be_written_says_to_run_as_root_or_choose_one() {
        let error = |kind| StateError::Io {
            doing: "creating",
            path: PathBuf::from("/var/lib/dropship/x"),
            source: io::Error::from(kind),
        };
        let denied = error(io::ErrorKind::PermissionDenied).to_string();
        assert!(
            denied.contains("hint: run as root") && denied.contains("--state-dir DIR"),
            "{denied}"
        );
        assert!(!error(io::ErrorKind::NotFound).to_string().contains("hint"));
    }

    #[test]
    fn the_default_is_named_after_the_product() {
        let dir = StateDir::resolve("Fabrikam Platform", None);
        assert_eq!(dir.root(), default_root().join("fabrikam-platform"));
        let given = StateDir::resolve("Fabrikam Platform", Some(Path::new("/tmp/x")));
        assert_eq!(given.root(), Path::new("/tmp/x"));
    }

    #[test]
    #[cfg(unix)]
    fn a_new_directory_is_private_and_its_files_too() {
        use std::os::unix::fs::PermissionsExt;
        let parent = tempfile::tempdir().unwrap();
        let state = StateDir::new(parent.path().join("a/state"));
        state.create().unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(state.root()), 0o700);
        state.save_answers(&Map::new()).unwrap();
        assert_eq!(mode(&state.answers()), 0o600);
    }

    #[test]
    #[cfg(unix)]
    fn a_directory_others_can_write_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let parent = tempfile::tempdir().unwrap();
        let state = StateDir::new(parent.path().join("state"));
        state.create().unwrap();
        std::fs::set_permissions(state.root(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let error = state.create().unwrap_err();
        assert!(matches!(error, StateError::Untrusted { .. }), "{error}");
        assert_eq!(error.exit_status(), crate::exit::ExitStatus::Usage);
        assert!(error.to_string().contains("every local user"), "{error}");
    }
}
