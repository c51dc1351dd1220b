//! A verified installer, its payload unpacked into a private temporary directory, its plan and
//! customer profile parsed: what every installing command starts from.

use dropship_runtime::answers::Answers;
use dropship_runtime::container::InstallerFile;
use dropship_runtime::escape::hex;
use dropship_runtime::extract::{self, ExtractError};
use dropship_runtime::installed::Upgrade;
use dropship_runtime::plan::{self, CustomerProfile, Plan, PlanErrors};
use dropship_runtime::scratch;
use dropship_runtime::trust::TrustedSigner;
use dropship_runtime::variables::BaseVariables;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::thread::JoinHandle;

/// Why a session could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Extract(#[from] ExtractError),
    #[error(transparent)]
    Plan(#[from] PlanErrors),
    #[error("creating a private directory for the payload: {0}")]
    Temp(std::io::Error),
    #[error("the payload has no `{0}`; the installer was not built by `dropship build`")]
    Missing(&'static str),
}

impl SessionError {
    pub fn exit_status(&self) -> dropship_runtime::exit::ExitStatus {
        match self {
            SessionError::Extract(e) => e.exit_status(),
            SessionError::Temp(_) => dropship_runtime::exit::ExitStatus::Failure,
            _ => dropship_runtime::exit::ExitStatus::Integrity,
        }
    }
}

/// Everything an install runs from.
pub struct Session {
    pub file: InstallerFile,
    pub signer: TrustedSigner,
    payload: tempfile::TempDir,
    pub plan: Plan,
    pub profile: Option<CustomerProfile>,
    /// `sha256:HEX` of the signature block, which commits to every signed byte of the file:
    /// identifies this installer in the journal and the report.
    pub installer_digest: String,
    /// This installer against what the state directory says is installed (fresh until the
    /// caller compares them).
    pub upgrade: Upgrade,
    /// The installer file's SHA-256, for the log and the report (hashed while it verifies).
    pub file_sha256: FileHash,
}

impl Session {
    /// Verify and unpack the payload (one pass), then parse the plan and profile. `progress` is
    /// told how many payload bytes are done, from the unpacking thread.
    pub fn open(
        file: InstallerFile,
        signer: TrustedSigner,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<Session, SessionError> {
        let file_sha256 = FileHash::start(file.path.clone());
        let payload = scratch::private_dir("payload").map_err(SessionError::Temp)?;
        extract::verify_and_unpack(&file, &signer, payload.path(), progress)?;
        let plan_bytes = std::fs::read(payload.path().join("plan.json"))
            .map_err(|_| SessionError::Missing("plan.json"))?;
        let plan = Plan::parse(&plan_bytes, "plan.json (in the installer)")?;
        let profile = match std::fs::read(payload.path().join("customer.json")) {
            Ok(bytes) => Some(plan::parse_profile(
                &bytes,
                "customer.json (in the installer)",
            )?),
            Err(_) => None,
        };
        let installer_digest = installer_digest(&file);
        let upgrade = Upgrade::fresh(&plan);
        Ok(Session {
            file,
            signer,
            payload,
            plan,
            profile,
            installer_digest,
            upgrade,
            file_sha256,
        })
    }

    /// Every step's shared variables for these answers, upgrade variables included.
    pub fn base_variables(&self, answers: &Answers) -> BaseVariables {
        BaseVariables::new(&self.plan, self.profile.as_ref(), answers).with_upgrade(&self.upgrade)
    }

    /// The drop, as unpacked.
    pub fn drop_root(&self) -> PathBuf {
        self.payload.path().join("drop")
    }

    /// Roles chosen on the command line, else the profile's defaults.
    pub fn default_roles(&self, given: &[String]) -> Vec<String> {
        if !given.is_empty() {
            return given.to_vec();
        }
        self.profile
            .as_ref()
            .map(|p| p.roles.clone())
            .unwrap_or_default()
    }
}

/// `sha256:HEX` of the installer's signature block, which commits to every signed byte of the
/// file: how the journal and the report name an installer.
pub fn installer_digest(file: &InstallerFile) -> String {
    format!("sha256:{}", hex(&Sha256::digest(file.signature.as_bytes())))
}

/// The installer file's SHA-256 (as `sha256sum` prints it), computed on a thread of its own
/// from when the installer opens, so a large file costs no waiting.
pub struct FileHash {
    running: Mutex<Option<JoinHandle<Option<String>>>>,
    done: OnceLock<Option<String>>,
}

impl FileHash {
    pub fn start(path: PathBuf) -> Self {
        FileHash {
            running: Mutex::new(Some(std::thread::spawn(move || sha256_file(&path)))),
            done: OnceLock::new(),
        }
    }

    /// The hex digest; `None` when the file could not be read.
    pub fn get(&self) -> Option<String> {
        self.done
            .get_or_init(|| {
                let running = self.running.lock().ok()?.take()?;
                running.join().ok().flatten()
            })
            .clone()
    }
}

fn sha256_file(path: &Path) -> Option<String> {
    let mut file = std::fs::File::open(path).ok()?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        match file.read(&mut buffer) {
            Ok(0) => return Some(hex(&hasher.finalize())),
            Ok(n) => hasher.update(&buffer[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_the_files_sha256() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, "abc").unwrap();
        let hash = FileHash::start(path);
        let expected = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(hash.get().as_deref(), Some(expected));
        assert_eq!(hash.get().as_deref(), Some(expected), "asked twice");
        assert_eq!(FileHash::start(dir.path().join("missing")).get(), None);
    }
}
