//! Signatures and trust: which key an installer must be signed by, and checking that it is.
//!
//! A runtime built with `DROPSHIP_TRUSTED_KEYS` (pinned) accepts only those keys. An unpinned
//! runtime shows the signer's key id and public key and asks the operator, or is told which key
//! to trust (`--trusted-key`, `--trusted-key-file`, or explicitly `--trust-embedded-key`).
//!
//! The signature is a minisign prehashed (BLAKE2b-512) signature over the installer's header
//! (the manifest region), which holds the BLAKE3 digests of the runtime and the payload. The
//! block is stored in canonical form (fixed untrusted comment, strict base64) so that no byte of
//! it can change without the file being refused, and its trusted comment must be the one the
//! signed manifest implies.
//!
//! This module does not read the runtime or the payload; `extract` checks their digests.

use crate::container::{InstallerFile, Manifest};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use std::path::{Path, PathBuf};

include!(concat!(env!("OUT_DIR"), "/pinned_keys.rs"));

/// The untrusted comment every installer signature carries (it is not signed, so it is fixed).
pub const SIGNATURE_UNTRUSTED_COMMENT: &str = "untrusted comment: dropship installer signature";
/// Prefix of the record a runtime binary carries to tell the bundler its pinned keys.
pub const PINNED_RECORD_PREFIX: &[u8] = b"DROPSHIP-PINNED-KEYS/1:";

/// Why an installer's signature or signer is not accepted.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("`{path}` has a damaged signature block: {what}")]
    BadSignatureBlock { path: PathBuf, what: String },
    #[error(
        "`{path}` does not match its signature: the file was modified after signing, or signed by another key \
         (key {key_id})"
    )]
    SignatureMismatch { path: PathBuf, key_id: String },
    #[error("`{path}` is signed by key {found}, but the trusted key is {expected}")]
    WrongKey {
        path: PathBuf,
        found: String,
        expected: String,
    },
    #[error(
        "`{path}` is signed by key {found}, which this runtime does not trust (pinned keys: {pinned}); \
         ask the vendor for an installer signed with a pinned key"
    )]
    NotPinned {
        path: PathBuf,
        found: String,
        pinned: String,
    },
    #[error("`{path}`'s signed comment does not describe its manifest")]
    TrustedCommentMismatch { path: PathBuf },
    #[error(
        "the installer is signed by key {key_id} and no key is trusted for an unattended run; \
         hint: compare the key with the one the vendor published, then pass `--trusted-key {public_key}`, \
         `--trusted-key-file FILE`, or `--trust-embedded-key`"
    )]
    NoTrustedKey { key_id: String, public_key: String },
    #[error("the operator did not confirm signer key {key_id}")]
    Declined { key_id: String },
    #[error("{origin} is not a minisign public key: {what}")]
    BadPublicKey { origin: String, what: String },
    /// The signed manifest's key does not parse: the file is damaged, not the operator's input.
    #[error("`{path}` is damaged: its embedded signer key is not a minisign public key: {what}")]
    BadEmbeddedKey { path: PathBuf, what: String },
    #[error("this runtime was built with invalid pinned keys: {0}")]
    BadPinnedKeys(String),
}

impl TrustError {
    /// The exit status this error ends the process with.
    pub fn exit_status(&self) -> crate::exit::ExitStatus {
        use crate::exit::ExitStatus;
        match self {
            TrustError::Declined { .. } => ExitStatus::Declined,
            TrustError::BadPublicKey { .. } => ExitStatus::Usage,
            _ => ExitStatus::Integrity,
        }
    }
}

/// A minisign public key with its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    /// The base64 form (the second line of a `.pub` file).
    pub base64: String,
    /// minisign's key id: 16 upper-case hex digits.
    pub key_id: String,
    key: minisign_verify::PublicKey,
}

impl PublicKey {
    /// Parse the base64 form; `origin` names where it came from, for messages.
    pub fn from_base64(text: &str, origin: &str) -> Result<Self, TrustError> {
        let text = text.trim();
        let bad = |what: &str| TrustError::BadPublicKey {
            origin: origin.to_string(),
            what: what.to_string(),
        };
        let raw = BASE64.decode(text).map_err(|_| bad("not base64"))?;
        let id_bytes: [u8; 8] = raw
            .get(2..10)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| bad("too short"))?;
        let key = minisign_verify::PublicKey::from_base64(text).map_err(|e| bad(&e.to_string()))?;
        Ok(PublicKey {
            base64: text.to_string(),
            key_id: key_id_hex(id_bytes),
            key,
        })
    }

    /// The signer key embedded in an installer's manifest. It is part of the signed file, so
    /// a key that does not parse is an integrity failure, unlike one the operator gave.
    pub fn embedded_in(manifest: &Manifest, path: &Path) -> Result<Self, TrustError> {
        Self::from_base64(&manifest.signer.public_key, "the embedded key").map_err(|e| match e {
            TrustError::BadPublicKey { what, .. } => TrustError::BadEmbeddedKey {
                path: path.to_path_buf(),
                what,
            },
            other => other,
        })
    }

    /// Parse a minisign `.pub` file's contents (untrusted comment line, then the key), or a bare key.
    pub fn from_pub_file_text(text: &str, origin: &str) -> Result<Self, TrustError> {
        let key_line = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with("untrusted comment:"))
            .unwrap_or("");
        Self::from_base64(key_line, origin)
    }

    /// Read a minisign `.pub` file.
    pub fn from_file(path: &Path) -> Result<Self, TrustError> {
        let origin = format!("`{}`", path.display());
        let text = std::fs::read_to_string(path).map_err(|e| TrustError::BadPublicKey {
            origin: origin.clone(),
            what: format!("cannot read it: {e}"),
        })?;
        Self::from_pub_file_text(&text, &origin)
    }
}

/// minisign prints a key id as the little-endian u64 of its 8 bytes, in upper-case hex.
pub fn key_id_hex(id: [u8; 8]) -> String {
    format!("{:016X}", u64::from_le_bytes(id))
}

/// The keys pinned into this runtime at compile time (empty when unpinned).
pub fn pinned_keys() -> Result<Vec<PublicKey>, TrustError> {
    parse_key_list(PINNED_KEYS)
}

/// Parse a comma-separated list of base64 minisign public keys.
pub fn parse_key_list(list: &str) -> Result<Vec<PublicKey>, TrustError> {
    list.split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(|k| {
            PublicKey::from_base64(k, "a pinned key")
                .map_err(|e| TrustError::BadPinnedKeys(e.to_string()))
        })
        .collect()
}

/// Find the pinned-keys record in a runtime binary's bytes (`None`: no record, an old runtime).
pub fn pinned_keys_in_binary(binary: &[u8]) -> Option<Result<Vec<PublicKey>, TrustError>> {
    let mut rest = binary;
    while let Some(at) = find(rest, PINNED_RECORD_PREFIX) {
        let after = &rest[at + PINNED_RECORD_PREFIX.len()..];
        if let Some(body) = after.strip_prefix(b"[")
            && let Some(end) = body.iter().position(|&b| b == b']')
            && let Ok(list) = std::str::from_utf8(&body[..end])
        {
            return Some(parse_key_list(list));
        }
        rest = after;
    }
    None
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// How the operator told us which key to trust.
#[derive(Debug, Clone, Default)]
pub struct TrustOptions {
    /// `--trusted-key KEY`
    pub trusted_key: Option<String>,
    /// `--trusted-key-file FILE`
    pub trusted_key_file: Option<PathBuf>,
    /// `--trust-embedded-key`
    pub trust_embedded_key: bool,
}

/// Where the accepted key came from (reported to the operator and in the report).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrustBasis {
    Pinned,
    GivenKey,
    EmbeddedKeyAccepted,
    ConfirmedByOperator,
}

impl TrustBasis {
    pub fn describe(self) -> &'static str {
        match self {
            TrustBasis::Pinned => "a key pinned into this installer's runtime",
            TrustBasis::GivenKey => "the key given on the command line",
            TrustBasis::EmbeddedKeyAccepted => "the embedded key (--trust-embedded-key)",
            TrustBasis::ConfirmedByOperator => "the embedded key, confirmed by the operator",
        }
    }
}

/// The key an installer will be verified against, and why it is trusted.
#[derive(Debug, Clone)]
pub struct TrustedSigner {
    pub key: PublicKey,
    pub basis: TrustBasis,
}

/// Decide which key to verify with. `confirm` is asked (key id, public key) only for an unpinned
/// runtime without an explicit choice; `None` means there is nobody to ask (not a terminal).
pub fn choose_signer(
    manifest: &Manifest,
    signature_key_id: &str,
    path: &Path,
    options: &TrustOptions,
    pinned: &[PublicKey],
    confirm: Option<&mut dyn FnMut(&PublicKey) -> bool>,
) -> Result<TrustedSigner, TrustError> {
    let embedded = PublicKey::embedded_in(manifest, path)?;
    let given = given_key(options)?;
    if !pinned.is_empty() {
        let key = pinned
            .iter()
            .find(|k| k.key_id == signature_key_id)
            .ok_or_else(|| TrustError::NotPinned {
                path: path.to_path_buf(),
                found: signature_key_id.to_string(),
                pinned: pinned
                    .iter()
                    .map(|k| k.key_id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
        return Ok(TrustedSigner {
            key: key.clone(),
            basis: TrustBasis::Pinned,
        });
    }
    if let Some(key) = given {
        if key.key_id != signature_key_id {
            return Err(TrustError::WrongKey {
                path: path.to_path_buf(),
                found: signature_key_id.to_string(),
                expected: key.key_id,
            });
        }
        return Ok(TrustedSigner {
            key,
            basis: TrustBasis::GivenKey,
        });
    }
    if options.trust_embedded_key {
        return Ok(TrustedSigner {
            key: embedded,
            basis: TrustBasis::EmbeddedKeyAccepted,
        });
    }
    match confirm.map(|ask| ask(&embedded)) {
        Some(true) => Ok(TrustedSigner {
            key: embedded,
            basis: TrustBasis::ConfirmedByOperator,
        }),
        Some(false) => Err(TrustError::Declined {
            key_id: embedded.key_id,
        }),
        None => Err(TrustError::NoTrustedKey {
            key_id: embedded.key_id,
            public_key: embedded.base64,
        }),
    }
}

fn given_key(options: &TrustOptions) -> Result<Option<PublicKey>, TrustError> {
    if let Some(text) = &options.trusted_key {
        return PublicKey::from_pub_file_text(text, "--trusted-key").map(Some);
    }
    options
        .trusted_key_file
        .as_deref()
        .map(PublicKey::from_file)
        .transpose()
}

/// A parsed, canonical signature block.
pub struct SignatureBlock {
    signature: minisign_verify::Signature,
    /// The signer's key id as the block names it.
    pub key_id: String,
}

impl SignatureBlock {
    /// Parse an installer's signature block, refusing any non-canonical byte.
    pub fn parse(text: &str, path: &Path) -> Result<Self, TrustError> {
        let bad = |what: &str| TrustError::BadSignatureBlock {
            path: path.to_path_buf(),
            what: what.to_string(),
        };
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        let [comment, sig, trusted, global] = lines.as_slice() else {
            return Err(bad("it is not four lines"));
        };
        if !lines
            .iter()
            .all(|l| l.ends_with('\n') && !l.ends_with("\r\n"))
        {
            return Err(bad("its lines are not terminated canonically"));
        }
        if comment.trim_end_matches('\n') != SIGNATURE_UNTRUSTED_COMMENT {
            return Err(bad("its untrusted comment is not dropship's"));
        }
        if !trusted.starts_with("trusted comment: ") {
            return Err(bad("its third line is not a trusted comment"));
        }
        let sig_bytes = canonical_base64(sig)
            .ok_or_else(|| bad("its signature line is not canonical base64"))?;
        canonical_base64(global)
            .ok_or_else(|| bad("its global signature line is not canonical base64"))?;
        // Algorithm (2 bytes), key id (8), Ed25519 signature (64). `ED` is minisign's prehashed
        // algorithm, its default; legacy `Ed` signatures hash nothing first and are refused.
        if sig_bytes.len() != 74 {
            return Err(bad("its signature is not 74 bytes long"));
        }
        if &sig_bytes[..2] != b"ED" {
            return Err(bad(
                "it is not a prehashed signature (minisign's default); do not sign with `-l`",
            ));
        }
        let mut id_bytes = [0u8; 8];
        id_bytes.copy_from_slice(&sig_bytes[2..10]);
        let signature =
            minisign_verify::Signature::decode(text).map_err(|e| bad(&e.to_string()))?;
        Ok(SignatureBlock {
            signature,
            key_id: key_id_hex(id_bytes),
        })
    }

    /// The signed trusted comment.
    pub fn trusted_comment(&self) -> &str {
        self.signature.trusted_comment()
    }
}

fn canonical_base64(line: &str) -> Option<Vec<u8>> {
    let line = line.strip_suffix('\n')?;
    let bytes = BASE64.decode(line).ok()?;
    (BASE64.encode(&bytes) == line).then_some(bytes)
}

/// Put a signature made elsewhere (e.g. by stock `minisign -S`) into canonical form: the
/// untrusted comment is replaced (it is not signed) and line endings normalised.
pub fn canonicalize_signature(text: &str) -> String {
    let mut lines = text.lines().map(str::trim_end).filter(|l| !l.is_empty());
    let _untrusted = lines.next();
    let mut out = format!("{SIGNATURE_UNTRUSTED_COMMENT}\n");
    for line in lines {
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Check an installer's signature over its header (`manifest_region`, the bytes `manifest` was
/// parsed from), as `minisign -V` does, after checking the block names the signer's key and its
/// trusted comment describes `manifest`. minisign-verify hashes the header (BLAKE2b-512, a few
/// hundred bytes) and checks both Ed25519 signatures.
pub fn verify_header(
    signer: &TrustedSigner,
    block: &SignatureBlock,
    manifest: &Manifest,
    manifest_region: &[u8],
    path: &Path,
) -> Result<(), TrustError> {
    if block.key_id != signer.key.key_id {
        return Err(TrustError::WrongKey {
            path: path.to_path_buf(),
            found: block.key_id.clone(),
            expected: signer.key.key_id.clone(),
        });
    }
    if block.trusted_comment() != manifest.trusted_comment() {
        return Err(TrustError::TrustedCommentMismatch {
            path: path.to_path_buf(),
        });
    }
    verify_bytes(&signer.key, block, manifest_region, path)
}

fn verify_bytes(
    key: &PublicKey,
    block: &SignatureBlock,
    bytes: &[u8],
    path: &Path,
) -> Result<(), TrustError> {
    key.key
        .verify(bytes, &block.signature, false)
        .map_err(|_| TrustError::SignatureMismatch {
            path: path.to_path_buf(),
            key_id: key.key_id.clone(),
        })
}

/// Where one part of an installer lies, as (offset, length) pieces in file order.
type Pieces = Vec<(u64, u64)>;

/// The parts an independent check cuts out of an installer: header, signature, runtime (without
/// the fields Authenticode rewrites) and payload, with the digests the header signs.
struct StockParts<'a> {
    header: (u64, u64),
    signature: (u64, u64),
    runtime: Pieces,
    payload: (u64, u64),
    runtime_hex: &'a str,
    payload_hex: &'a str,
}

impl<'a> StockParts<'a> {
    fn of(installer: &'a InstallerFile) -> Self {
        let prefix = installer.trailer.prefix();
        let mut runtime = Vec::new();
        let mut at = 0;
        for skip in &installer.runtime_excluded {
            runtime.push((at, skip.start.saturating_sub(at)));
            at = skip.end;
        }
        runtime.push((at, prefix.runtime_len.saturating_sub(at)));
        let manifest = &installer.manifest;
        StockParts {
            header: (prefix.manifest_offset(), prefix.manifest_len),
            signature: (prefix.end(), installer.trailer.signature_len),
            runtime,
            payload: (prefix.payload_offset(), prefix.payload_len),
            runtime_hex: digest_hex(&manifest.runtime.digest),
            payload_hex: digest_hex(&manifest.payload.digest),
        }
    }
}

/// The hex of a `blake3:HEX` digest; anything else (an unverified manifest can say anything)
/// becomes a word that fails the check and cannot run in a shell.
fn digest_hex(digest: &str) -> &str {
    digest
        .strip_prefix("blake3:")
        .filter(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .unwrap_or("malformed-digest")
}

/// How to check an installer with stock tools alone (bash): `minisign -V` on the signed header,
/// then `b3sum` on the runtime and the payload against the digests that header holds.
pub fn stock_check_bash(installer: &InstallerFile, public_key: &str) -> String {
    let file = crate::escape::shell_word(&installer.path.display().to_string());
    let cut = |(offset, len): (u64, u64)| match offset {
        0 => format!("head -c {len} {file}"),
        _ => format!("tail -c +{} {file} | head -c {len}", offset + 1),
    };
    let parts = StockParts::of(installer);
    let runtime = match parts.runtime.as_slice() {
        [one] => cut(*one),
        several => format!(
            "{{ {}; }}",
            several
                .iter()
                .map(|p| cut(*p))
                .collect::<Vec<_>>()
                .join("; ")
        ),
    };
    format!(
        "{header} > installer.header\n\
         {signature} > installer.minisig\n\
         minisign -V -P {public_key} -x installer.minisig -m installer.header\n\
         {runtime} | b3sum -c <(echo '{runtime_hex}  -')  # the runtime\n\
         {payload} | b3sum -c <(echo '{payload_hex}  -')  # the payload",
        header = cut(parts.header),
        signature = cut(parts.signature),
        payload = cut(parts.payload),
        runtime_hex = parts.runtime_hex,
        payload_hex = parts.payload_hex,
    )
}

/// The same check for Windows PowerShell (5.1 or 7): the file read once, each part written out,
/// then `minisign -V` and `b3sum -c`.
pub fn stock_check_powershell(installer: &InstallerFile, public_key: &str) -> String {
    let file = installer.path.display().to_string().replace('\'', "''");
    let list = |pieces: &[(u64, u64)]| {
        let items: Vec<String> = pieces.iter().map(|(o, n)| format!("@({o},{n})")).collect();
        // `@(@(1,2))` would flatten to one array of numbers: a single piece needs the comma.
        match items.as_slice() {
            [one] => format!("@(,{one})"),
            several => format!("@({})", several.join(",")),
        }
    };
    let parts = StockParts::of(installer);
    format!(
        "$b = [IO.File]::ReadAllBytes('{file}')\n\
         function Part($name, $pieces) {{ $m = New-Object IO.MemoryStream; foreach ($p in $pieces) {{ $m.Write($b, $p[0], $p[1]) }}; [IO.File]::WriteAllBytes(\"$PWD\\$name\", $m.ToArray()) }}\n\
         Part installer.header {header}; Part installer.minisig {signature}; Part installer.runtime {runtime}; Part installer.payload {payload}\n\
         minisign -V -P {public_key} -x installer.minisig -m installer.header\n\
         \"{runtime_hex}  installer.runtime\", \"{payload_hex}  installer.payload\" | Set-Content installer.b3; b3sum -c installer.b3",
        header = list(&[parts.header]),
        signature = list(&[parts.signature]),
        runtime = list(&parts.runtime),
        payload = list(&[parts.payload]),
        runtime_hex = parts.runtime_hex,
        payload_hex = parts.payload_hex,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    // A public key from minisign's documentation.
    const PUBLIC: &str = "RWQf6LRCGA9i53mlYecO4IzT51TGPpvWucNSCh1CBM0QTaLn73Y7GFO3";

    #[test]
    fn key_id_is_printed_as_minisign_does() {
        let key = PublicKey::from_base64(PUBLIC, "test").unwrap();
        assert_eq!(key.key_id, "E7620F1842B4E81F");
    }

    #[test]
    fn pub_file_text_and_bare_key_both_parse() {
        let file = format!("untrusted comment: minisign public key E7620F1842B4E81F\n{PUBLIC}\n");
        assert_eq!(
            PublicKey::from_pub_file_text(&file, "t").unwrap().base64,
            PUBLIC
        );
        assert_eq!(
            PublicKey::from_pub_file_text(PUBLIC, "t").unwrap().base64,
            PUBLIC
        );
        assert!(PublicKey::from_pub_file_text("untrusted comment: x\nnot-a-key\n", "t").is_err());
    }

    #[test]
    fn pinned_record_is_found_in_a_binary() {
        let binary = [
            b"junk DROPSHIP-PINNED-KEYS/1: no bracket ".as_slice(),
            b"DROPSHIP-PINNED-KEYS/1:[",
            PUBLIC.as_bytes(),
            b"] tail",
        ]
        .concat();
        let keys = pinned_keys_in_binary(&binary).unwrap().unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].base64, PUBLIC);
        assert!(pinned_keys_in_binary(b"nothing here").is_none());
        let empty = pinned_keys_in_binary(b"DROPSHIP-PINNED-KEYS/1:[]")
            .unwrap()
            .unwrap();
        assert!(empty.is_empty());
    }

    #[test]
    fn canonicalize_replaces_the_untrusted_comment() {
        let stock = "untrusted comment: signature from minisign secret key\r\nAAAA\r\ntrusted comment: x\r\nBBBB\r\n";
        assert_eq!(
            canonicalize_signature(stock),
            format!("{SIGNATURE_UNTRUSTED_COMMENT}\nAAAA\ntrusted comment: x\nBBBB\n")
        );
    }

    #[test]
    fn non_canonical_base64_is_refused() {
        assert!(canonical_base64("QQ==\n").is_some());
        assert!(
            canonical_base64("QR==\n").is_none(),
            "non-zero trailing bits"
        );
        assert!(canonical_base64("QQ\n").is_none(), "missing padding");
    }

    /// An opened installer with the given path and runtime exclusions (its parts made up).
    fn installer_at(path: &str, runtime_excluded: Vec<std::ops::Range<u64>>) -> InstallerFile {
        let mut manifest = crate::container::tests::sample_manifest();
        manifest.runtime.digest = format!("blake3:{}", "ab".repeat(32));
        manifest.payload.digest = "blake3:$(reboot)".into();
        let prefix = crate::container::PrefixLayout {
            runtime_len: 1000,
            payload_len: 500,
            manifest_len: 300,
        };
        InstallerFile {
            path: path.into(),
            file: tempfile::tempfile().unwrap(),
            trailer: crate::container::Trailer::new(&prefix, 250),
            manifest,
            manifest_region: Vec::new(),
            signature: String::new(),
            runtime_excluded,
            certificate_table: None,
        }
    }

    #[test]
    fn the_bash_check_cuts_each_part_and_quotes_paths() {
        let cmd = stock_check_bash(&installer_at("/tmp/my installer", vec![]), PUBLIC);
        let lines: Vec<&str> = cmd.lines().collect();
        assert_eq!(
            lines[0],
            "tail -c +1501 '/tmp/my installer' | head -c 300 > installer.header"
        );
        assert_eq!(
            lines[1],
            "tail -c +1801 '/tmp/my installer' | head -c 250 > installer.minisig"
        );
        assert!(
            lines[2].ends_with("-x installer.minisig -m installer.header"),
            "{cmd}"
        );
        assert!(
            lines[3].starts_with("head -c 1000 '/tmp/my installer' | b3sum -c <(echo 'abab"),
            "{cmd}"
        );
        // A digest an unverified manifest made up never reaches the shell.
        assert!(
            lines[4].contains("b3sum -c <(echo 'malformed-digest  -')") && !cmd.contains("reboot"),
            "{cmd}"
        );
    }

    #[test]
    fn the_runtime_check_leaves_out_the_authenticode_fields() {
        let cmd = stock_check_bash(&installer_at("setup.exe", vec![216..220, 392..400]), PUBLIC);
        assert!(
            cmd.contains(
                "{ head -c 216 setup.exe; tail -c +221 setup.exe | head -c 172; tail -c +401 setup.exe | head -c 600; } | b3sum"
            ),
            "{cmd}"
        );
        let ps =
            stock_check_powershell(&installer_at("setup.exe", vec![216..220, 392..400]), PUBLIC);
        assert!(
            ps.contains("Part installer.runtime @(@(0,216),@(220,172),@(400,600))"),
            "{ps}"
        );
    }

    #[test]
    fn the_powershell_check_cuts_the_same_bytes() {
        let cmd = stock_check_powershell(&installer_at(r"C:\it's\setup.exe", vec![]), PUBLIC);
        assert!(
            cmd.starts_with(r"$b = [IO.File]::ReadAllBytes('C:\it''s\setup.exe')"),
            "{cmd}"
        );
        assert!(
            cmd.contains("Part installer.header @(,@(1500,300)); Part installer.minisig @(,@(1800,250)); Part installer.runtime @(,@(0,1000)); Part installer.payload @(,@(1000,500))"),
            "{cmd}"
        );
        assert!(
            cmd.contains("-x installer.minisig -m installer.header"),
            "{cmd}"
        );
        assert!(cmd.ends_with("b3sum -c installer.b3"), "{cmd}");
    }

    /// A well-formed public key with the given id bytes (verification is not exercised).
    fn key_with_id(id: u8) -> String {
        let mut raw = b"Ed".to_vec();
        raw.extend([id; 8]);
        raw.extend([7u8; 32]);
        BASE64.encode(raw)
    }

    fn manifest_signed_by(key: &str) -> Manifest {
        let mut manifest = crate::container::tests::sample_manifest();
        manifest.signer.public_key = key.to_string();
        manifest
    }

    #[test]
    fn a_pinned_runtime_accepts_only_its_keys_whatever_the_options_say() {
        let pinned = parse_key_list(PUBLIC).unwrap();
        let manifest = manifest_signed_by(PUBLIC);
        let embedded = TrustOptions {
            trust_embedded_key: true,
            ..Default::default()
        };
        let ok = choose_signer(
            &manifest,
            &pinned[0].key_id,
            Path::new("x"),
            &embedded,
            &pinned,
            None,
        )
        .unwrap();
        assert_eq!(ok.basis, TrustBasis::Pinned);
        let other = key_with_id(9);
        let other_manifest = manifest_signed_by(&other);
        let other_id = PublicKey::from_base64(&other, "t").unwrap().key_id;
        let err = choose_signer(
            &other_manifest,
            &other_id,
            Path::new("x"),
            &embedded,
            &pinned,
            None,
        )
        .unwrap_err();
        assert!(matches!(err, TrustError::NotPinned { .. }), "{err}");
        assert_eq!(err.exit_status(), crate::exit::ExitStatus::Integrity);
    }

    #[test]
    fn a_damaged_embedded_key_is_an_integrity_failure_whatever_key_is_trusted() {
        let raw = BASE64.decode(PUBLIC).unwrap();
        let mut other_algorithm = raw.clone();
        other_algorithm[1] = b'X';
        let id = PublicKey::from_base64(PUBLIC, "t").unwrap().key_id;
        let given = TrustOptions {
            trusted_key: Some(PUBLIC.to_string()),
            ..Default::default()
        };
        let embedded = TrustOptions {
            trust_embedded_key: true,
            ..Default::default()
        };
        for key in [PUBLIC.replace('Q', "~"), BASE64.encode(&other_algorithm)] {
            let manifest = manifest_signed_by(&key);
            for options in [&given, &embedded] {
                let err =
                    choose_signer(&manifest, &id, Path::new("x"), options, &[], None).unwrap_err();
                assert!(matches!(err, TrustError::BadEmbeddedKey { .. }), "{err}");
                assert_eq!(err.exit_status(), crate::exit::ExitStatus::Integrity);
            }
        }
    }

    #[test]
    fn an_unpinned_runtime_needs_a_key_an_explicit_choice_or_the_operator() {
        let manifest = manifest_signed_by(PUBLIC);
        let id = PublicKey::from_base64(PUBLIC, "t").unwrap().key_id;
        let none = TrustOptions::default();
        let err = choose_signer(&manifest, &id, Path::new("x"), &none, &[], None).unwrap_err();
        assert!(matches!(err, TrustError::NoTrustedKey { .. }), "{err}");
        let mut yes = |_: &PublicKey| true;
        let confirmed =
            choose_signer(&manifest, &id, Path::new("x"), &none, &[], Some(&mut yes)).unwrap();
        assert_eq!(confirmed.basis, TrustBasis::ConfirmedByOperator);
        let mut no = |_: &PublicKey| false;
        let declined =
            choose_signer(&manifest, &id, Path::new("x"), &none, &[], Some(&mut no)).unwrap_err();
        assert_eq!(declined.exit_status(), crate::exit::ExitStatus::Declined);
        let wrong = TrustOptions {
            trusted_key: Some(key_with_id(3)),
            ..Default::default()
        };
        let err = choose_signer(&manifest, &id, Path::new("x"), &wrong, &[], None).unwrap_err();
        assert!(matches!(err, TrustError::WrongKey { .. }), "{err}");
    }

    // Made with stock minisign 0.11: `minisign -G -W`, then `minisign -S -m msg -t '…'` (prehashed,
    // the default) and the same with `-l` (legacy).
    const STOCK_KEY: &str = "RWQS5Qax4cfynTrptNh3rlmrDdkaiUiSgZx+zz+el/1eAnvRYJhGfvu3";
    const STOCK_MESSAGE: &[u8] = b"dropship signed prefix\n";
    const STOCK_SIGNATURE: &str = "untrusted comment: signature from minisign secret key
RUQS5Qax4cfynbzcRFqS3PNVNT7rfz6faljCQ2jntqSLH1FRmnV5dmC+Aaaqf+eYbkyZBkh6xZHkw+hplvr0AgTbtP/Uu71vpwg=
trusted comment: dropship test comment
7AxT7KdQOXAq+o5larw5XKcA2w3EbfbHQ/3R3KsBDcL2fUuiQroL6j7boI9e1c6sowgaWqr9ydboOCZ50HnaCA==
";
    const STOCK_LEGACY_SIGNATURE: &str = "untrusted comment: signature from minisign secret key
RWQS5Qax4cfynWPgnXUCQAfurR6YwNyIThKNIq2r/3SznT7QVyCDMJU9Cmz71g1OrrdFP2eiKsgaJ/8AJSsD8pZbzgmYUjGJoQ4=
trusted comment: dropship test comment
4aD/Z4z45Esefugw/3pweEnJr5f0tjjXrzu0Sk+gfgLBDhGabTbC2D8gS6xVKlKtRL6QpPpwODSc0m8lMf6FCw==
";

    fn verify_stock(signature: &str, message: &[u8]) -> Result<(), TrustError> {
        let key = PublicKey::from_base64(STOCK_KEY, "t")?;
        let block = SignatureBlock::parse(&canonicalize_signature(signature), Path::new("x"))?;
        assert_eq!(block.key_id, key.key_id);
        verify_bytes(&key, &block, message, Path::new("x"))
    }

    #[test]
    fn a_stock_minisign_signature_verifies_and_any_change_fails() {
        verify_stock(STOCK_SIGNATURE, STOCK_MESSAGE).unwrap();
        let mut changed = STOCK_MESSAGE.to_vec();
        changed[3] ^= 1;
        assert!(matches!(
            verify_stock(STOCK_SIGNATURE, &changed),
            Err(TrustError::SignatureMismatch { .. })
        ));
        let other_comment =
            STOCK_SIGNATURE.replace("dropship test comment", "dropship test commenT");
        assert!(matches!(
            verify_stock(&other_comment, STOCK_MESSAGE),
            Err(TrustError::SignatureMismatch { .. })
        ));
    }

    #[test]
    fn a_legacy_signature_is_refused_with_what_to_do() {
        let err = verify_stock(STOCK_LEGACY_SIGNATURE, STOCK_MESSAGE).unwrap_err();
        assert!(
            err.to_string().contains("not a prehashed signature"),
            "{err}"
        );
    }

    #[test]
    fn keys_of_the_wrong_length_or_algorithm_are_refused() {
        let raw = BASE64.decode(STOCK_KEY).unwrap();
        let mut other = raw.clone();
        other[1] = b'X';
        for text in [BASE64.encode(&raw[..41]), BASE64.encode(&other)] {
            let err = PublicKey::from_base64(&text, "the test key").unwrap_err();
            assert!(
                err.to_string()
                    .starts_with("the test key is not a minisign public key"),
                "{err}"
            );
        }
    }
}
