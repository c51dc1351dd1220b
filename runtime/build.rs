//! Pins vendor keys into this runtime when `DROPSHIP_TRUSTED_KEYS` is set at compile time.
//!
//! Generates `pinned_keys.rs` with the comma-separated list of minisign public keys, and a record
//! the bundler finds in the built binary (`dropship build` refuses a key this runtime would refuse).

use std::{env, fs, path::Path};

fn main() {
    println!("cargo:rerun-if-env-changed=DROPSHIP_TRUSTED_KEYS");
    let raw = env::var("DROPSHIP_TRUSTED_KEYS").unwrap_or_default();
    let keys: Vec<&str> = raw
        .split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .collect();
    for key in &keys {
        // A minisign Ed25519 public key is 42 bytes: 56 base64 characters starting "RW".
        let plausible = key.len() == 56
            && key.starts_with("RW")
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=');
        if !plausible {
            panic!(
                "DROPSHIP_TRUSTED_KEYS holds `{key}`, which is not a minisign public key \
                 (the second line of a `.pub` file, 56 characters starting `RW`)"
            );
        }
    }
    let list = keys.join(",");
    let record = format!("DROPSHIP-PINNED-KEYS/1:[{list}]");
    let code = format!(
        "/// Minisign public keys pinned at compile time, comma-separated (empty: unpinned).\n\
         pub const PINNED_KEYS: &str = {list:?};\n\
         /// Marker the bundler scans a runtime binary for, to learn its pinned keys.\n\
         #[used]\n\
         pub static PINNED_RECORD: [u8; {len}] = *b{record:?};\n",
        len = record.len()
    );
    let out = Path::new(&env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("pinned_keys.rs");
    fs::write(out, code).expect("writing pinned_keys.rs into OUT_DIR");
}
