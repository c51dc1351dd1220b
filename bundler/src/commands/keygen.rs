//! `dropship keygen`: a new key pair, and what to do with its public half.

use crate::keys;
use anyhow::Result;
use dropship_runtime::env;
use std::path::Path;

pub fn run(dir: &Path, unencrypted: bool) -> Result<()> {
    let (sk, pk, public) = keys::keygen(dir, unencrypted)?;
    println!(
        "wrote secret key {} and public key {}\nkey id: {}\npublic key: {}\nPublish the public key to your customers; pin it into the runtime with {}={} when building it.",
        sk.display(),
        pk.display(),
        public.key_id,
        public.base64,
        env::TRUSTED_KEYS,
        public.base64
    );
    Ok(())
}
