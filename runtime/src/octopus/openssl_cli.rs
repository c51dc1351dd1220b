//! Test support: write an Octopus encrypted variables file with the `openssl` command line, an
//! implementation independent of the RustCrypto code in [`super::sensitive`].
//!
//! `openssl kdf … PBKDF2` derives the key (PBKDF2-HMAC-SHA1, salt `Octopuss`, 1000 iterations),
//! `openssl rand` makes the IV unless one is given, `openssl enc -aes-{128,256}-cbc -K … -iv …`
//! encrypts with PKCS#7 padding; the result is framed as `IV__` ‖ IV ‖ ciphertext. Needs OpenSSL 3
//! (`openssl kdf`). The password and key pass through argv: test data only.

use crate::escape::hex;
use std::io::Write;
use std::process::{Command, Stdio};

use super::sensitive::{ITERATIONS, IV_PREFIX, KeySize, SALT};

/// Why `openssl` could not encrypt.
#[derive(Debug, thiserror::Error)]
pub enum OpensslError {
    /// No `openssl` on PATH.
    #[error("the `openssl` command is not installed")]
    Missing,
    /// `openssl` ran and failed, or printed something unexpected.
    #[error("`openssl {command}` failed: {detail}")]
    Failed {
        /// The subcommand, e.g. `kdf`.
        command: &'static str,
        /// Exit status and stderr, or what was wrong with the output.
        detail: String,
    },
}

/// Encrypt `plaintext` into the Octopus `.secret` layout using only the `openssl` CLI.
pub fn encrypt(
    plaintext: &[u8],
    password: &str,
    key_size: KeySize,
    iv: Option<[u8; 16]>,
) -> Result<Vec<u8>, OpensslError> {
    let key_hex = derive_key_hex(password, key_size)?;
    let iv_hex = match iv {
        Some(iv) => hex(&iv),
        None => clean_hex(&run("rand", &["rand", "-hex", "16"], &[])?),
    };
    let cipher = match key_size {
        KeySize::Aes128 => "-aes-128-cbc",
        KeySize::Aes256 => "-aes-256-cbc",
    };
    let args = ["enc", cipher, "-K", &key_hex, "-iv", &iv_hex];
    let ciphertext = run("enc", &args, plaintext)?;
    let mut out = IV_PREFIX.to_vec();
    out.extend(unhex(&iv_hex).ok_or_else(|| failed("rand", "IV is not hex"))?);
    out.extend(ciphertext);
    Ok(out)
}

fn derive_key_hex(password: &str, key_size: KeySize) -> Result<String, OpensslError> {
    let keylen = key_size.bytes().to_string();
    let hexpass = format!("hexpass:{}", hex(password.as_bytes()));
    let salt = format!("hexsalt:{}", hex(SALT));
    let iter = format!("iter:{ITERATIONS}");
    let args = [
        "kdf",
        "-keylen",
        &keylen,
        "-kdfopt",
        "digest:SHA1",
        "-kdfopt",
        &hexpass,
        "-kdfopt",
        &salt,
        "-kdfopt",
        &iter,
        "PBKDF2",
    ];
    let key = clean_hex(&run("kdf", &args, &[])?);
    if key.len() != key_size.bytes() * 2 {
        return Err(failed("kdf", &format!("unexpected key `{key}`")));
    }
    Ok(key)
}

/// Run `openssl ARGS` with `stdin`; return stdout.
fn run(command: &'static str, args: &[&str], stdin: &[u8]) -> Result<Vec<u8>, OpensslError> {
    let spawned = Command::new("openssl")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(OpensslError::Missing),
        Err(e) => return Err(failed(command, &e.to_string())),
    };
    if let Some(mut input) = child.stdin.take() {
        input
            .write_all(stdin)
            .map_err(|e| failed(command, &e.to_string()))?;
    }
    let output = child
        .wait_with_output()
        .map_err(|e| failed(command, &e.to_string()))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(failed(
            command,
            &format!("{}: {}", output.status, stderr.trim()),
        ));
    }
    Ok(output.stdout)
}

fn failed(command: &'static str, detail: &str) -> OpensslError {
    OpensslError::Failed {
        command,
        detail: detail.to_string(),
    }
}

/// `AB:CD:…\n` or `abcd…\n` → `abcd…`.
fn clean_hex(output: &[u8]) -> String {
    let text = String::from_utf8_lossy(output);
    text.chars()
        .filter(char::is_ascii_hexdigit)
        .collect::<String>()
        .to_ascii_lowercase()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    let digits = text.as_bytes();
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok())
        .collect()
}

/// The RustCrypto implementation (`sensitive`) against this independent one.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::octopus::sensitive::{
        DecryptedVariables, DropPassword, SensitiveFileError, decrypt_bytes, encrypt,
    };
    use std::path::Path;

    const PASSWORD: &str = "Correct-Horse-Battery-42!";
    const IV: [u8; 16] = *b"0123456789abcdef";
    const LEGACY: &str = r#"{"Database.Password":"s3cr3t p@ss","Api.Key":"k-123"}"#;
    const ARRAY: &str =
        r#"[{"k":"Database.Password","v":"s3cr3t","s":true},{"k":"Plain","v":"x","s":false}]"#;

    fn decrypt(bytes: &[u8], password: &str) -> Result<DecryptedVariables, SensitiveFileError> {
        let origin = Path::new("Variables/Target.Project.Deploy Web.secret");
        decrypt_bytes(bytes, &DropPassword::new(password), origin)
    }

    /// Encrypt with the `openssl` command line (an independent AES/PBKDF2), or skip the test.
    fn openssl(plaintext: &str, key_size: KeySize) -> Option<Vec<u8>> {
        match super::encrypt(plaintext.as_bytes(), PASSWORD, key_size, Some(IV)) {
            Ok(bytes) => Some(bytes),
            Err(OpensslError::Missing) => {
                eprintln!("skipping: the `openssl` command is not installed");
                None
            }
            Err(e) => panic!("openssl failed: {e}"),
        }
    }

    #[test]
    fn decrypts_openssl_output_with_256_and_128_bit_keys() {
        for key_size in [KeySize::Aes256, KeySize::Aes128] {
            let Some(bytes) = openssl(LEGACY, key_size) else {
                return;
            };
            let decrypted = decrypt(&bytes, PASSWORD).unwrap();
            assert_eq!(decrypted.key_size, key_size);
            let names: Vec<_> = decrypted
                .file
                .variables
                .iter()
                .map(|v| v.name.as_str())
                .collect();
            assert_eq!(names, ["Database.Password", "Api.Key"]);
            assert_eq!(
                decrypted.file.variables[0].value.as_deref(),
                Some("s3cr3t p@ss")
            );
            assert!(decrypted.file.variables.iter().all(|v| v.sensitive));
        }
    }

    #[test]
    fn test_encrypt_matches_openssl_byte_for_byte() {
        for key_size in [KeySize::Aes256, KeySize::Aes128] {
            let Some(independent) = openssl(ARRAY, key_size) else {
                return;
            };
            let ours = encrypt(ARRAY.as_bytes(), &DropPassword::new(PASSWORD), key_size, IV);
            assert_eq!(ours, independent, "{key_size:?}");
        }
    }
}
