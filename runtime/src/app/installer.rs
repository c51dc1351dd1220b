//! What the installer binary does, as library calls: open itself, decide which signer to trust,
//! verify, and unpack the payload into a staging directory that is committed only once verified.

use crate::{live, ui};
use dropship_runtime::container::{ContainerError, InstallerFile};
use dropship_runtime::extract::{self, ExtractError, Unpacked};
use dropship_runtime::trust::{self, TrustError, TrustOptions, TrustedSigner};
use std::path::{Path, PathBuf};

/// Open the running executable as an installer.
pub fn open_self() -> Result<InstallerFile, ContainerError> {
    let exe = std::env::current_exe().map_err(|source| ContainerError::Io {
        path: PathBuf::from("(this program)"),
        source,
    })?;
    InstallerFile::open(&exe)
}

/// Decide the signer to verify against: pinned keys, the operator's options, or (on a terminal)
/// the operator's confirmation of the embedded key.
pub fn establish_trust(
    installer: &InstallerFile,
    options: &TrustOptions,
    may_ask: bool,
) -> Result<TrustedSigner, TrustError> {
    let block = trust::SignatureBlock::parse(&installer.signature, &installer.path)?;
    let pinned = trust::pinned_keys()?;
    let mut ask = |key: &trust::PublicKey| ui::confirm_signer(&installer.manifest, key);
    let confirm: Option<&mut dyn FnMut(&trust::PublicKey) -> bool> =
        if may_ask { Some(&mut ask) } else { None };
    trust::choose_signer(
        &installer.manifest,
        &block.key_id,
        &installer.path,
        options,
        &pinned,
        confirm,
    )
}

/// Verify the installer and unpack its payload into `target`, which must not exist or be empty.
/// Nothing appears in `target` unless the whole file verified.
pub fn extract_to(
    installer: &InstallerFile,
    signer: &TrustedSigner,
    target: &Path,
) -> Result<Unpacked, ExtractError> {
    let parent = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if target.exists() && !is_empty_dir(target) {
        return Err(ExtractError::Io {
            role: "extracting into",
            path: target.to_path_buf(),
            source: std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "the directory is not empty; choose a new one",
            ),
        });
    }
    std::fs::create_dir_all(parent).map_err(|source| ExtractError::Io {
        role: "creating directory",
        path: parent.to_path_buf(),
        source,
    })?;
    let staging = tempfile::Builder::new()
        .prefix(".dropship-staging-")
        .tempdir_in(parent)
        .map_err(|source| ExtractError::Io {
            role: "creating staging directory in",
            path: parent.to_path_buf(),
            source,
        })?;
    let total = installer.manifest.payload.bytes;
    let progress = live::byte_progress("verifying and unpacking", total, false);
    let unpacked =
        extract::verify_and_unpack(installer, signer, staging.path(), &|n| progress.set(n))?;
    progress.finish();
    commit_staging(staging, target)?;
    Ok(unpacked)
}

fn is_empty_dir(path: &Path) -> bool {
    std::fs::read_dir(path).is_ok_and(|mut entries| entries.next().is_none())
}

/// Move a verified staging directory into place (a rename: same filesystem).
fn commit_staging(staging: tempfile::TempDir, target: &Path) -> Result<(), ExtractError> {
    let io = |role, path: &Path| {
        let path = path.to_path_buf();
        move |source| ExtractError::Io { role, path, source }
    };
    if target.exists() {
        std::fs::remove_dir(target).map_err(io("replacing empty directory", target))?;
    }
    let kept = staging.keep();
    std::fs::rename(&kept, target).map_err(|e| {
        let _ = std::fs::remove_dir_all(&kept);
        io("moving the verified payload to", target)(e)
    })
}
