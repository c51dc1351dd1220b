//! `dropship verify`: check an installer's signature with a public key, running none of its
//! code, and print the stock `minisign` command that checks it independently.

use crate::keys;
use anyhow::Result;
use dropship_runtime::container::InstallerFile;
use dropship_runtime::extract;
use dropship_runtime::trust::{self, TrustBasis, TrustedSigner};
use std::path::Path;

pub fn run(installer: &Path, key: &Path) -> Result<()> {
    let (file, signer) = verify(installer, key)?;
    let prefix = file.trailer.prefix();
    println!(
        "OK: {} is signed by key {} over all {} signed bytes\n  {}\n\nTo check it with the stock minisign tool:\n{}",
        installer.display(),
        signer.key.key_id,
        prefix.signed_len(),
        file.manifest.trusted_comment(),
        trust::minisign_command(
            installer,
            prefix.signed_len(),
            file.trailer.signature_len,
            &signer.key.base64
        )
    );
    Ok(())
}

/// The installer, opened and verified against the key.
fn verify(installer: &Path, key: &Path) -> Result<(InstallerFile, TrustedSigner)> {
    let file = InstallerFile::open(installer)?;
    let signer = TrustedSigner {
        key: keys::load_public_key(key)?,
        basis: TrustBasis::GivenKey,
    };
    extract::verify(&file, &signer, &|_| {})?;
    Ok((file, signer))
}
