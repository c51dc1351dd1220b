//! Pins vendor keys into this runtime when `DROPSHIP_TRUSTED_KEYS` is set at compile time, and
//! gives the Windows stub its version resource and manifest.
//!
//! Generates `pinned_keys.rs` with the comma-separated list of minisign public keys, and a record
//! the bundler finds in the built binary (`dropship build` refuses a key this runtime would refuse).

use std::{env, fs, path::Path};

fn main() {
    pin_keys();
    if env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("windows") {
        windows_resources();
    }
}

/// The version resource (what Explorer's Details tab shows) and the manifest
/// (`windows/runtime.manifest`), compiled with the MinGW resource compiler.
fn windows_resources() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("windows");
    let manifest = dir.join("runtime.manifest");
    println!("cargo:rerun-if-changed={}", manifest.display());
    let number = |part: &str| env::var(format!("CARGO_PKG_VERSION_{part}")).unwrap_or_default();
    let (major, minor, patch) = (number("MAJOR"), number("MINOR"), number("PATCH"));
    let version = env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let rc = format!(
        "1 24 \"{manifest}\"\n\
         1 VERSIONINFO\n\
         FILEVERSION {major},{minor},{patch},0\n\
         PRODUCTVERSION {major},{minor},{patch},0\n\
         BEGIN\n  BLOCK \"StringFileInfo\"\n  BEGIN\n    BLOCK \"040904b0\"\n    BEGIN\n\
         \x20     VALUE \"CompanyName\", \"dropship\"\n\
         \x20     VALUE \"FileDescription\", \"dropship installer runtime\"\n\
         \x20     VALUE \"FileVersion\", \"{version}\"\n\
         \x20     VALUE \"OriginalFilename\", \"dropship-runtime.exe\"\n\
         \x20     VALUE \"ProductName\", \"dropship\"\n\
         \x20     VALUE \"ProductVersion\", \"{version}\"\n\
         \x20   END\n  END\n  BLOCK \"VarFileInfo\"\n  BEGIN\n\
         \x20   VALUE \"Translation\", 0x409, 1200\n  END\nEND\n",
        manifest = manifest.display().to_string().replace('\\', "/"),
    );
    let out = Path::new(&env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("runtime.rc");
    fs::write(&out, rc).expect("writing runtime.rc into OUT_DIR");
    if let Err(why) = embed_resource::compile(&out, embed_resource::NONE).manifest_required() {
        panic!(
            "the Windows stub's resources did not compile ({why}): building for Windows needs \
             the MinGW resource compiler, `x86_64-w64-mingw32-windres` (apt-get install \
             gcc-mingw-w64-x86-64)"
        );
    }
}

fn pin_keys() {
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
