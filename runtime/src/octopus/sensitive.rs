//! Decrypt an Octopus encrypted variables file (`Variables/*.secret`) exactly as Calamari's
//! `AesEncryption` does (`docs/octopus-conventions.md` §2.2), then parse it as a variables file.
//!
//! Layout: `"IV__"` (4 ASCII bytes) ‖ IV (16 bytes) ‖ AES-CBC ciphertext with PKCS#7 padding, raw
//! bytes, no base64. Key: PBKDF2-HMAC-SHA1(UTF-8 password, salt `Octopuss`, 1000 iterations),
//! 32 bytes (Octopus ≥ 2025.1) or 16 bytes (older servers). The file does not say which, so both
//! are tried, 256-bit first; a key is accepted only when the padding is valid *and* the plaintext
//! parses as a variables file, so a wrong password is reported as such, never as garbage.
//!
//! Secrets: the password is borrowed through [`DropPassword`], which cannot be printed; derived
//! keys and the plaintext buffer are zeroized on drop. Known gap: the parsed values are ordinary
//! `String`s (and serde_json's intermediate copies are not wiped); the caller owns them.

use std::path::{Path, PathBuf};

use aes::cipher::{BlockModeDecrypt, KeyIvInit, block_padding::Pkcs7};
use zeroize::Zeroizing;

use super::variables_file::{VariablesFile, VariablesFileError, VariablesFormat, parse_variables};

/// The 4-byte marker that starts every encrypted file.
pub const IV_PREFIX: &[u8; 4] = b"IV__";
/// PBKDF2 salt: the UTF-8 bytes of `Octopuss` (Calamari's `SaltRaw`).
pub const SALT: &[u8; 8] = b"Octopuss";
/// PBKDF2 iteration count (Calamari's `PasswordSaltIterations`).
pub const ITERATIONS: u32 = 1000;
const IV_LEN: usize = 16;
const HEADER_LEN: usize = IV_PREFIX.len() + IV_LEN;

/// The drop's sensitive-variables password, borrowed from a caller-owned secret.
///
/// Deliberately neither `Debug` nor `Display`: it cannot end up in a log line by accident.
pub struct DropPassword<'a>(&'a str);

impl<'a> DropPassword<'a> {
    /// Borrow the password text (from the caller's secret type).
    pub fn new(password: &'a str) -> Self {
        Self(password)
    }
}

/// AES key size, from the PBKDF2 output length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySize {
    /// 128-bit key: servers before Octopus 2025.1.
    Aes128,
    /// 256-bit key: Octopus 2025.1.8689 and later.
    Aes256,
}

impl KeySize {
    /// Key length in bytes.
    pub fn bytes(self) -> usize {
        match self {
            Self::Aes128 => 16,
            Self::Aes256 => 32,
        }
    }
}

/// A decrypted sensitive file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecryptedVariables {
    /// Which key size opened the file.
    pub key_size: KeySize,
    /// The variables. Every variable of a legacy (flat object) secret file is marked sensitive;
    /// the array form keeps its own `s` flags.
    pub file: VariablesFile,
}

/// Why a sensitive file could not be decrypted.
#[derive(Debug, thiserror::Error)]
pub enum SensitiveFileError {
    /// The file could not be read.
    #[error("reading Octopus sensitive-variables file `{}`: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file does not start with `IV__`.
    #[error(
        "`{}` is not an Octopus encrypted variables file: it does not start with `IV__`{}",
        path.display(),
        if *looks_like_json { " (it looks like plain JSON: read it as a variables file instead)" } else { "" }
    )]
    NotEncrypted {
        /// The file.
        path: PathBuf,
        /// Whether the content looks like an unencrypted JSON variables file.
        looks_like_json: bool,
    },
    /// The file ends inside the 20-byte `IV__` + IV header.
    #[error("`{}` is truncated: {len} bytes, but the `IV__` marker and IV alone take 20", path.display())]
    TruncatedIv {
        /// The file.
        path: PathBuf,
        /// Its length.
        len: usize,
    },
    /// The ciphertext is empty or not a whole number of 16-byte AES blocks.
    #[error(
        "`{}` is truncated: its ciphertext is {len} bytes, not a non-zero multiple of the 16-byte AES block",
        path.display()
    )]
    TruncatedCiphertext {
        /// The file.
        path: PathBuf,
        /// Ciphertext length (after the 20-byte header).
        len: usize,
    },
    /// Neither key size yields a valid plaintext.
    #[error(
        "wrong password for `{}`: it decrypts with neither a 256-bit nor a 128-bit key derived from \
         it\nhint: ask the vendor for the drop's sensitive-variables password",
        path.display()
    )]
    WrongPassword {
        /// The file.
        path: PathBuf,
    },
    /// The file decrypted to JSON-like text that is not a valid variables file.
    #[error("decrypted `{}`, but its content is not a valid variables file: {source}", path.display())]
    Content {
        /// The file.
        path: PathBuf,
        /// The variables-file problem.
        source: VariablesFileError,
    },
}

/// Read and decrypt the sensitive-variables file at `path`.
pub fn decrypt_file(
    path: &Path,
    password: &DropPassword<'_>,
) -> Result<DecryptedVariables, SensitiveFileError> {
    let bytes = std::fs::read(path).map_err(|source| SensitiveFileError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    decrypt_bytes(&bytes, password, path)
}

/// Decrypt the bytes of a sensitive-variables file; `origin` names the file in errors.
pub fn decrypt_bytes(
    bytes: &[u8],
    password: &DropPassword<'_>,
    origin: &Path,
) -> Result<DecryptedVariables, SensitiveFileError> {
    let (iv, ciphertext) = split_header(bytes, origin)?;
    let mut malformed = None;
    for key_size in [KeySize::Aes256, KeySize::Aes128] {
        let Some(plaintext) = decrypt_with(key_size, password, iv, ciphertext) else {
            continue;
        };
        match parse_variables(&plaintext, origin) {
            Ok(file) => {
                return Ok(DecryptedVariables {
                    key_size,
                    file: mark_legacy_sensitive(file),
                });
            }
            Err(source) if looks_like_json(&plaintext) => malformed = Some(source),
            Err(_) => {}
        }
    }
    Err(match malformed {
        Some(source) => SensitiveFileError::Content {
            path: origin.to_path_buf(),
            source,
        },
        None => SensitiveFileError::WrongPassword {
            path: origin.to_path_buf(),
        },
    })
}

/// Check the `IV__` marker and lengths; return the IV and the ciphertext.
fn split_header<'b>(
    bytes: &'b [u8],
    origin: &Path,
) -> Result<(&'b [u8], &'b [u8]), SensitiveFileError> {
    let path = origin.to_path_buf();
    let prefix_len = bytes.len().min(IV_PREFIX.len());
    if bytes[..prefix_len] != IV_PREFIX[..prefix_len] || bytes.is_empty() {
        let looks_like_json = looks_like_json(bytes);
        return Err(SensitiveFileError::NotEncrypted {
            path,
            looks_like_json,
        });
    }
    if bytes.len() < HEADER_LEN {
        return Err(SensitiveFileError::TruncatedIv {
            path,
            len: bytes.len(),
        });
    }
    let ciphertext = &bytes[HEADER_LEN..];
    if ciphertext.is_empty() || !ciphertext.len().is_multiple_of(IV_LEN) {
        let len = ciphertext.len();
        return Err(SensitiveFileError::TruncatedCiphertext { path, len });
    }
    Ok((&bytes[IV_PREFIX.len()..HEADER_LEN], ciphertext))
}

/// PBKDF2-HMAC-SHA1 key of `key_size` bytes from the password (zeroized on drop).
fn derive_key(key_size: KeySize, password: &DropPassword<'_>) -> Zeroizing<Vec<u8>> {
    let mut key = Zeroizing::new(vec![0u8; key_size.bytes()]);
    pbkdf2::pbkdf2_hmac::<sha1::Sha1>(password.0.as_bytes(), SALT, ITERATIONS, &mut key);
    key
}

/// AES-CBC-decrypt and unpad; `None` when the padding is invalid (a wrong key).
fn decrypt_with(
    key_size: KeySize,
    password: &DropPassword<'_>,
    iv: &[u8],
    ciphertext: &[u8],
) -> Option<Zeroizing<Vec<u8>>> {
    let key = derive_key(key_size, password);
    let mut buffer = Zeroizing::new(ciphertext.to_vec());
    let len = match key_size {
        KeySize::Aes128 => cbc::Decryptor::<aes::Aes128>::new_from_slices(&key, iv)
            .ok()?
            .decrypt_padded::<Pkcs7>(&mut buffer)
            .ok()?
            .len(),
        KeySize::Aes256 => cbc::Decryptor::<aes::Aes256>::new_from_slices(&key, iv)
            .ok()?
            .decrypt_padded::<Pkcs7>(&mut buffer)
            .ok()?
            .len(),
    };
    buffer.truncate(len);
    Some(buffer)
}

/// Whether bytes look like a JSON object or array (after an optional BOM and whitespace).
fn looks_like_json(bytes: &[u8]) -> bool {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    matches!(first, Some(b'{' | b'['))
}

/// A legacy secret file only ever held sensitive values: mark them so.
fn mark_legacy_sensitive(mut file: VariablesFile) -> VariablesFile {
    if file.format == VariablesFormat::Legacy {
        for variable in &mut file.variables {
            variable.sensitive = true;
        }
    }
    file
}

/// Encrypt `plaintext` as Calamari would, with the given IV. For tests only: the runtime never
/// writes encrypted files.
#[cfg(any(test, feature = "test-support"))]
pub fn encrypt(
    plaintext: &[u8],
    password: &DropPassword<'_>,
    key_size: KeySize,
    iv: [u8; 16],
) -> Vec<u8> {
    use aes::cipher::BlockModeEncrypt;
    let key = derive_key(key_size, password);
    let padded_len = (plaintext.len() / IV_LEN + 1) * IV_LEN;
    let mut buffer = vec![0u8; padded_len];
    buffer[..plaintext.len()].copy_from_slice(plaintext);
    let ciphertext_len = match key_size {
        KeySize::Aes128 => cbc::Encryptor::<aes::Aes128>::new_from_slices(&key, &iv).map(|c| {
            c.encrypt_padded::<Pkcs7>(&mut buffer, plaintext.len())
                .map(<[u8]>::len)
        }),
        KeySize::Aes256 => cbc::Encryptor::<aes::Aes256>::new_from_slices(&key, &iv).map(|c| {
            c.encrypt_padded::<Pkcs7>(&mut buffer, plaintext.len())
                .map(<[u8]>::len)
        }),
    };
    // Key and IV lengths are fixed above and the buffer has room for a full padding block.
    let ciphertext_len = match ciphertext_len {
        Ok(Ok(len)) => len,
        _ => unreachable!("fixed key/IV sizes and a padded buffer cannot fail"),
    };
    let mut out = Vec::with_capacity(HEADER_LEN + ciphertext_len);
    out.extend_from_slice(IV_PREFIX);
    out.extend_from_slice(&iv);
    out.extend_from_slice(&buffer[..ciphertext_len]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWORD: &str = "Correct-Horse-Battery-42!";
    const IV: [u8; 16] = *b"0123456789abcdef";
    const LEGACY: &str = r#"{"Database.Password":"s3cr3t p@ss","Api.Key":"k-123"}"#;
    const ARRAY: &str =
        r#"[{"k":"Database.Password","v":"s3cr3t","s":true},{"k":"Plain","v":"x","s":false}]"#;

    fn origin() -> &'static Path {
        Path::new("Variables/Target.Project.Deploy Web.secret")
    }

    fn decrypt(bytes: &[u8], password: &str) -> Result<DecryptedVariables, SensitiveFileError> {
        decrypt_bytes(bytes, &DropPassword::new(password), origin())
    }

    #[test]
    fn array_form_keeps_its_own_sensitive_flags() {
        let bytes = encrypt(
            ARRAY.as_bytes(),
            &DropPassword::new(PASSWORD),
            KeySize::Aes128,
            IV,
        );
        let decrypted = decrypt(&bytes, PASSWORD).unwrap();
        assert_eq!(decrypted.file.format, VariablesFormat::Array);
        let flags: Vec<_> = decrypted
            .file
            .variables
            .iter()
            .map(|v| v.sensitive)
            .collect();
        assert_eq!(flags, [true, false]);
    }

    #[test]
    fn wrong_password_is_a_clear_error_for_both_key_sizes() {
        for key_size in [KeySize::Aes256, KeySize::Aes128] {
            let bytes = encrypt(
                LEGACY.as_bytes(),
                &DropPassword::new(PASSWORD),
                key_size,
                IV,
            );
            let err = decrypt(&bytes, "not-the-password").unwrap_err();
            assert!(
                matches!(err, SensitiveFileError::WrongPassword { .. }),
                "{err}"
            );
            let text = err.to_string();
            assert!(
                text.contains("wrong password for `Variables/Target.Project.Deploy Web.secret`")
            );
            assert!(text.contains("ask the vendor"), "{text}");
            assert!(!text.contains("not-the-password") && !text.contains(PASSWORD));
        }
    }

    #[test]
    fn truncated_header_and_ciphertext_are_reported() {
        let bytes = encrypt(
            LEGACY.as_bytes(),
            &DropPassword::new(PASSWORD),
            KeySize::Aes256,
            IV,
        );
        for cut in [2, 4, 12, 19] {
            let err = decrypt(&bytes[..cut], PASSWORD).unwrap_err();
            assert!(
                matches!(err, SensitiveFileError::TruncatedIv { len, .. } if len == cut),
                "{err}"
            );
        }
        for cut in [20, 21, 35, bytes.len() - 1] {
            let err = decrypt(&bytes[..cut], PASSWORD).unwrap_err();
            assert!(
                matches!(err, SensitiveFileError::TruncatedCiphertext { .. }),
                "{cut}: {err}"
            );
        }
        // Dropping a whole block leaves well-formed lengths: the padding check catches it.
        let err = decrypt(&bytes[..bytes.len() - 16], PASSWORD).unwrap_err();
        assert!(
            matches!(err, SensitiveFileError::WrongPassword { .. }),
            "{err}"
        );
    }

    #[test]
    fn plain_or_foreign_files_are_not_mistaken_for_encrypted_ones() {
        let err = decrypt(LEGACY.as_bytes(), PASSWORD).unwrap_err();
        assert!(matches!(
            err,
            SensitiveFileError::NotEncrypted {
                looks_like_json: true,
                ..
            }
        ));
        assert!(err.to_string().contains("plain JSON"));
        let err = decrypt(b"", PASSWORD).unwrap_err();
        assert!(matches!(
            err,
            SensitiveFileError::NotEncrypted {
                looks_like_json: false,
                ..
            }
        ));
        let err = decrypt(b"PK\x03\x04rest", PASSWORD).unwrap_err();
        assert!(matches!(
            err,
            SensitiveFileError::NotEncrypted {
                looks_like_json: false,
                ..
            }
        ));
    }

    #[test]
    fn decrypted_but_malformed_json_names_the_file() {
        let bytes = encrypt(
            b"{\"A\": oops}",
            &DropPassword::new(PASSWORD),
            KeySize::Aes256,
            IV,
        );
        let err = decrypt(&bytes, PASSWORD).unwrap_err();
        assert!(matches!(err, SensitiveFileError::Content { .. }), "{err}");
        assert!(err.to_string().contains("Deploy Web.secret"), "{err}");
    }

    #[test]
    fn decrypt_file_reads_from_disk_and_names_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.secret");
        std::fs::write(
            &path,
            encrypt(
                LEGACY.as_bytes(),
                &DropPassword::new(PASSWORD),
                KeySize::Aes128,
                IV,
            ),
        )
        .unwrap();
        let decrypted = decrypt_file(&path, &DropPassword::new(PASSWORD)).unwrap();
        assert_eq!(decrypted.key_size, KeySize::Aes128);
        let err = decrypt_file(
            &dir.path().join("missing.secret"),
            &DropPassword::new(PASSWORD),
        )
        .unwrap_err();
        assert!(err.to_string().contains("missing.secret"), "{err}");
    }
}
