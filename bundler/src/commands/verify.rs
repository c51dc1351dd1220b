//! `dropship verify`: check an installer's signature and the digests it covers with a public
//! key, running none of its code, and print the stock `minisign` and `b3sum` commands that check
//! it independently.

use crate::keys;
use anyhow::Result;
use dropship_runtime::container::InstallerFile;
use dropship_runtime::extract;
use dropship_runtime::trust::{self, TrustBasis, TrustedSigner};
use std::path::Path;

pub fn run(installer: &Path, key: &Path) -> Result<()> {
    let (file, signer) = verify(installer, key)?;
    let signed_by = match file.certificate_table {
        Some((_, size)) => {
            format!(" (an Authenticode certificate table of {size} bytes follows it, not covered)")
        }
        None => String::new(),
    };
    println!(
        "OK: {} is signed by key {}: the signature over its header holds, and so do the BLAKE3 digests of its runtime and payload{signed_by}\n  {}\n\nTo check it with the stock minisign and b3sum tools (bash):\n{}",
        installer.display(),
        signer.key.key_id,
        file.manifest.trusted_comment(),
        trust::stock_check_bash(&file, &signer.key.base64)
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
