//! Signing keys: `dropship keygen`, loading a secret key (password from the environment or a
//! prompt, never argv), and signing a reader. Keys are minisign's own format, so keys made by
//! stock `minisign -G` work here and keys made here work with stock `minisign`.

use crate::failure::OnMachine;
use anyhow::{Context, Result, anyhow, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use dropship_runtime::env;
use dropship_runtime::trust::{self, PublicKey};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// File names `keygen` writes.
pub const SECRET_KEY_FILE: &str = "dropship.key";
pub const PUBLIC_KEY_FILE: &str = "dropship.pub";

/// Write a new key pair into `dir`; refuses to overwrite existing keys.
pub fn keygen(dir: &Path, unencrypted: bool) -> Result<(PathBuf, PathBuf, PublicKey)> {
    let (sk_path, pk_path) = (dir.join(SECRET_KEY_FILE), dir.join(PUBLIC_KEY_FILE));
    for path in [&sk_path, &pk_path] {
        if path.exists() {
            bail!(
                "`{}` already exists; move it away or choose another directory with `-o DIR`",
                path.display()
            );
        }
    }
    std::fs::create_dir_all(dir)
        .machine_io(|| format!("creating key directory `{}`", dir.display()))?;
    let pair = if unencrypted {
        minisign::KeyPair::generate_unencrypted_keypair()
    } else {
        let password = new_key_password()?;
        minisign::KeyPair::generate_encrypted_keypair(Some(password.to_string()))
    }
    .map_err(|e| anyhow!("generating the key pair: {e}"))?;
    let pk_text = pair
        .pk
        .to_box()
        .map_err(|e| anyhow!("encoding the public key: {e}"))?
        .into_string();
    let sk_text = Zeroizing::new(
        pair.sk
            .to_box(Some("dropship secret key"))
            .map_err(|e| anyhow!("encoding the secret key: {e}"))?
            .into_string(),
    );
    write_private(&sk_path, sk_text.as_bytes())?;
    std::fs::write(&pk_path, &pk_text)
        .machine_io(|| format!("writing public key `{}`", pk_path.display()))?;
    let public = PublicKey::from_pub_file_text(&pk_text, "the new public key")?;
    Ok((sk_path, pk_path, public))
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .machine_io(|| format!("creating secret key `{}`", path.display()))?;
    file.write_all(bytes)
        .machine_io(|| format!("writing secret key `{}`", path.display()))?;
    Ok(())
}

fn new_key_password() -> Result<Zeroizing<String>> {
    if let Ok(password) = std::env::var(env::NEW_KEY_PASSWORD) {
        return non_empty(Zeroizing::new(password), env::NEW_KEY_PASSWORD);
    }
    require_terminal(env::NEW_KEY_PASSWORD)?;
    let first = Zeroizing::new(rpassword::prompt_password(
        "Password for the new secret key: ",
    )?);
    let second = Zeroizing::new(rpassword::prompt_password("Same password again: ")?);
    if first != second {
        bail!("the two passwords differ; run `dropship keygen` again");
    }
    non_empty(first, "the prompt")
}

fn non_empty(password: Zeroizing<String>, origin: &str) -> Result<Zeroizing<String>> {
    if password.is_empty() {
        bail!("the password from {origin} is empty; use `--unencrypted` for a key without one");
    }
    Ok(password)
}

fn require_terminal(variable: &str) -> Result<()> {
    if !std::io::stdin().is_terminal() {
        bail!(
            "no terminal to ask for the key password; set {variable} in the environment (never on the command line)"
        );
    }
    Ok(())
}

/// A secret key ready to sign, with its public half.
pub struct SigningKey {
    secret: minisign::SecretKey,
    pub public: PublicKey,
}

/// Load a minisign secret key; asks for its password when it is encrypted.
pub fn load_secret_key(path: &Path) -> Result<SigningKey> {
    let text = Zeroizing::new(
        std::fs::read_to_string(path)
            .with_context(|| format!("reading secret key `{}`", path.display()))?,
    );
    let raw = key_bytes(&text).ok_or_else(|| corrupt(path))?;
    // Layout: signature algorithm (2 bytes), KDF algorithm (2, zero when unencrypted), ...,
    // checksum (last 32 bytes).
    let encrypted = raw.get(2..4).ok_or_else(|| corrupt(path))? != [0, 0];
    let sk_box = minisign::SecretKeyBox::from_string(&text).map_err(|_| corrupt(path))?;
    let secret = if encrypted {
        let password = key_password(path)?;
        sk_box
            .into_secret_key(Some(password.to_string()))
            .map_err(|e| {
                if e.to_string().contains("Wrong password") {
                    anyhow!("wrong password for secret key `{}`", path.display())
                } else {
                    corrupt(path)
                }
            })?
    } else if raw.ends_with(&[0u8; 32]) {
        // Stock `minisign -G -W` leaves the checksum of an unencrypted key empty; a damaged key
        // is still caught, because signing checks its own signature with the derived public key.
        minisign::SecretKey::from_bytes(&raw).map_err(|_| corrupt(path))?
    } else {
        sk_box
            .into_unencrypted_secret_key()
            .map_err(|_| corrupt(path))?
    };
    let pk = minisign::PublicKey::from_secret_key(&secret).map_err(|_| corrupt(path))?;
    let public = PublicKey::from_base64(&pk.to_base64(), &format!("`{}`", path.display()))?;
    Ok(SigningKey { secret, public })
}

fn corrupt(path: &Path) -> anyhow::Error {
    anyhow!(
        "`{}` is not a minisign secret key (damaged or another format); use the `.key` file from `dropship keygen` or `minisign -G`",
        path.display()
    )
}

/// The decoded bytes of a minisign secret key file (`None`: not a key file).
fn key_bytes(text: &str) -> Option<Zeroizing<Vec<u8>>> {
    const SECRET_KEY_LEN: usize = 158;
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with("untrusted comment:"))?;
    let raw = Zeroizing::new(BASE64.decode(line).ok()?);
    (raw.len() == SECRET_KEY_LEN).then_some(raw)
}

fn key_password(path: &Path) -> Result<Zeroizing<String>> {
    if let Ok(password) = std::env::var(env::KEY_PASSWORD) {
        return Ok(Zeroizing::new(password));
    }
    require_terminal(env::KEY_PASSWORD)?;
    Ok(Zeroizing::new(rpassword::prompt_password(format!(
        "Password for `{}`: ",
        path.display()
    ))?))
}

impl SigningKey {
    /// Sign `data` (an installer's header) as `minisign -S` does, in exactly the block it makes:
    /// algorithm `ED` (prehashed), key id, the Ed25519 signature of the data's BLAKE2b-512 hash,
    /// the trusted comment, and the global signature over signature and comment.
    pub fn sign(&self, data: &[u8], trusted_comment: &str) -> Result<String> {
        let prehash = blake2b_simd::Params::new().hash_length(64).hash(data);
        let prehash = prehash.as_bytes();
        // Secret key layout: algorithms and KDF parameters (54 bytes), key id (8), Ed25519 key (64).
        let raw = Zeroizing::new(self.secret.to_bytes());
        let (key_id, secret) = (raw.get(54..62), raw.get(62..126));
        let (Some(key_id), Some(secret)) = (key_id, secret) else {
            bail!("the secret key is too short to sign with");
        };
        let key = ed25519_compact::SecretKey::from_slice(secret)
            .map_err(|e| anyhow!("the secret key: {e}"))?;
        let signature = key.sign(prehash, None);
        let mut signed_comment = signature.to_vec();
        signed_comment.extend_from_slice(trusted_comment.as_bytes());
        let global = key.sign(&signed_comment, None);
        // Check before shipping: a damaged key must not produce an installer nobody can verify.
        key.public_key()
            .verify(prehash, &signature)
            .and_then(|()| key.public_key().verify(&signed_comment, &global))
            .map_err(|_| {
                anyhow!("the secret key does not verify its own signature; it is damaged")
            })?;
        let mut block = b"ED".to_vec();
        block.extend_from_slice(key_id);
        block.extend_from_slice(signature.as_ref());
        Ok(format!(
            "{}\n{}\ntrusted comment: {trusted_comment}\n{}\n",
            trust::SIGNATURE_UNTRUSTED_COMMENT,
            BASE64.encode(block),
            BASE64.encode(global.as_ref())
        ))
    }
}

/// Read a public key file (`.pub` from `dropship keygen` or `minisign -G`).
pub fn load_public_key(path: &Path) -> Result<PublicKey> {
    Ok(PublicKey::from_file(path)?)
}
