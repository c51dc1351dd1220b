//! The installer file: where each part lies and what the signed header says about it.
//!
//! ```text
//! [ runtime ][ payload ][ header: manifest JSON ][ header length: u64 LE ][ signature ][ zero padding ][ trailer: 64 bytes ]( certificate table )
//!                       |<------------------ signed by minisign ------------------>|
//! ```
//!
//! minisign signs only the header (a few hundred bytes), which holds the BLAKE3 digests of the
//! runtime and the payload: the signature is checked before anything else is read, and the bulk
//! is checked at BLAKE3 speed while it is unpacked. The trailer is found at the end of the
//! installer (never by scanning for magic bytes): the end of the file, or, when the runtime is a
//! PE image that Authenticode signed, the start of its certificate table (`pe`). Every trailer
//! field is cross-checked against that end and the signed manifest, so that any change to any
//! byte of the installer is refused. The header ends with its own length so that a `.presign`
//! file (everything before the signature) is self-describing.
//!
//! This module reads and writes the layout; it does not verify signatures (see `trust`) or unpack
//! the payload (see `extract`). The byte-by-byte format is documented in `ARCHITECTURE.md`.

use crate::plan::Product;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};

pub mod codec;
pub mod pe;
pub use codec::Codec;

/// Size of the fixed trailer at the end of every installer.
pub const TRAILER_LEN: u64 = 64;
/// Current container format version (trailer and manifest).
pub const FORMAT_VERSION: u16 = 2;
/// Largest manifest accepted; real ones are a few hundred bytes.
pub const MAX_MANIFEST_LEN: u64 = 1 << 20;
/// Largest signature block accepted; real ones are about 300 bytes.
pub const MAX_SIGNATURE_LEN: u64 = 4096;
/// An installer's length is a multiple of this, so that Authenticode appends its certificate
/// table right after the trailer (it pads the file to 8 bytes first).
pub const ALIGNMENT: u64 = 8;
/// Length of the manifest-length suffix that closes the manifest region.
const MANIFEST_LEN_SUFFIX: u64 = 8;

const TRAILER_MAGIC: &[u8; 8] = b"DSHIP\x00TR";
const TRAILER_END: &[u8; 8] = b"DSHIPEND";

/// What can be wrong with an installer file's layout. Every variant is an integrity failure.
#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    #[error("cannot read `{path}`: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error(
        "`{path}` is not a dropship installer (no installer trailer at its end){hint}",
        hint = if *.is_bare { "; this is the bare runtime: build an installer with `dropship build`" } else { "" }
    )]
    NotAnInstaller { path: PathBuf, is_bare: bool },
    #[error("`{path}` is damaged: {what}")]
    Damaged { path: PathBuf, what: String },
    #[error(
        "`{path}` is an installer of format {found}, but this program reads format {FORMAT_VERSION} only; \
         build the installer again with a `dropship` and runtime stub of one version, or check it with the \
         `dropship` that built it"
    )]
    UnsupportedVersion { path: PathBuf, found: u16 },
}

impl ContainerError {
    fn damaged(path: &Path, what: impl Into<String>) -> Self {
        ContainerError::Damaged {
            path: path.to_path_buf(),
            what: what.into(),
        }
    }
}

/// `blake3:HEX`, the digest notation of manifests (what `b3sum` prints).
pub fn digest_text(hash: &blake3::Hash) -> String {
    format!("blake3:{}", hash.to_hex())
}

/// The byte ranges of a runtime executable its digest leaves out: the two PE header fields
/// Authenticode rewrites, or nothing for any other executable. `head` is its first bytes.
pub fn runtime_excluded(head: &[u8]) -> Vec<Range<u64>> {
    pe::signed_fields(head).map_or_else(Vec::new, |f| f.excluded().to_vec())
}

/// The fixed-size record at the end of the installer: where the parts are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trailer {
    pub runtime_len: u64,
    pub payload_len: u64,
    /// Manifest JSON plus its 8-byte length suffix: the signed header.
    pub manifest_len: u64,
    pub signature_len: u64,
    /// Zero bytes between the signature and the trailer that align the installer's end.
    pub padding: u64,
    /// The installer's length, trailer included (a certificate table may follow).
    pub file_len: u64,
}

impl Trailer {
    /// The layout of an installer made of the parts `prefix` describes plus a signature.
    pub fn new(prefix: &PrefixLayout, signature_len: u64) -> Self {
        let unpadded = prefix.end() + signature_len + TRAILER_LEN;
        let padding = unpadded.next_multiple_of(ALIGNMENT) - unpadded;
        Trailer {
            runtime_len: prefix.runtime_len,
            payload_len: prefix.payload_len,
            manifest_len: prefix.manifest_len,
            signature_len,
            padding,
            file_len: unpadded + padding,
        }
    }

    /// Encode as the 64 bytes written at the end of the installer.
    pub fn to_bytes(&self) -> [u8; TRAILER_LEN as usize] {
        let mut out = [0u8; TRAILER_LEN as usize];
        out[0..8].copy_from_slice(TRAILER_MAGIC);
        out[8..10].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        // Below ALIGNMENT, so it fits a byte; 11..16 reserved, zero.
        out[10] = self.padding as u8;
        out[16..24].copy_from_slice(&self.runtime_len.to_le_bytes());
        out[24..32].copy_from_slice(&self.payload_len.to_le_bytes());
        out[32..40].copy_from_slice(&self.manifest_len.to_le_bytes());
        out[40..48].copy_from_slice(&self.signature_len.to_le_bytes());
        out[48..56].copy_from_slice(&self.file_len.to_le_bytes());
        out[56..64].copy_from_slice(TRAILER_END);
        out
    }

    /// Decode and check the trailer read from the last 64 bytes of an installer of `end` bytes.
    pub fn parse(bytes: &[u8; 64], end: u64, path: &Path) -> Result<Self, ContainerError> {
        if &bytes[0..8] != TRAILER_MAGIC || &bytes[56..64] != TRAILER_END {
            return Err(ContainerError::NotAnInstaller {
                path: path.to_path_buf(),
                is_bare: false,
            });
        }
        let version = u16::from_le_bytes([bytes[8], bytes[9]]);
        if version != FORMAT_VERSION {
            return Err(ContainerError::UnsupportedVersion {
                path: path.to_path_buf(),
                found: version,
            });
        }
        if bytes[11..16].iter().any(|&b| b != 0) {
            return Err(ContainerError::damaged(
                path,
                "reserved trailer bytes are not zero",
            ));
        }
        let field = |at: usize| {
            let mut raw = [0u8; 8];
            raw.copy_from_slice(&bytes[at..at + 8]);
            u64::from_le_bytes(raw)
        };
        let trailer = Trailer {
            runtime_len: field(16),
            payload_len: field(24),
            manifest_len: field(32),
            signature_len: field(40),
            padding: u64::from(bytes[10]),
            file_len: field(48),
        };
        trailer.check(end, path)?;
        Ok(trailer)
    }

    fn check(&self, end: u64, path: &Path) -> Result<(), ContainerError> {
        if self.file_len != end {
            return Err(ContainerError::damaged(
                path,
                format!(
                    "the installer is {end} bytes but its trailer says {} (bytes were cut or appended)",
                    self.file_len
                ),
            ));
        }
        let sum = [
            self.runtime_len,
            self.payload_len,
            self.manifest_len,
            self.signature_len,
            self.padding,
            TRAILER_LEN,
        ]
        .iter()
        .try_fold(0u64, |acc, &n| acc.checked_add(n));
        if sum != Some(end) || !end.is_multiple_of(ALIGNMENT) || self.padding >= ALIGNMENT {
            return Err(ContainerError::damaged(
                path,
                "the trailer's part lengths do not add up to the installer's length",
            ));
        }
        if !(MANIFEST_LEN_SUFFIX + 2..=MAX_MANIFEST_LEN).contains(&self.manifest_len) {
            return Err(ContainerError::damaged(
                path,
                "the trailer's manifest length is out of range",
            ));
        }
        if !(1..=MAX_SIGNATURE_LEN).contains(&self.signature_len) {
            return Err(ContainerError::damaged(
                path,
                "the trailer's signature length is out of range",
            ));
        }
        Ok(())
    }

    /// The parts before the signature this trailer describes.
    pub fn prefix(&self) -> PrefixLayout {
        PrefixLayout {
            runtime_len: self.runtime_len,
            payload_len: self.payload_len,
            manifest_len: self.manifest_len,
        }
    }
}

/// Where the parts before the signature lie: runtime, payload, and the signed header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrefixLayout {
    pub runtime_len: u64,
    pub payload_len: u64,
    /// Manifest JSON plus its 8-byte length suffix: the signed header.
    pub manifest_len: u64,
}

impl PrefixLayout {
    pub fn payload_offset(&self) -> u64 {
        self.runtime_len
    }
    /// Where the signed header starts.
    pub fn manifest_offset(&self) -> u64 {
        self.runtime_len + self.payload_len
    }
    /// Where the header ends and the signature starts.
    pub fn end(&self) -> u64 {
        self.manifest_offset() + self.manifest_len
    }
}

/// The signed header of an installer (JSON in the file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Container format version; equal to the trailer's.
    pub format: u16,
    pub product: Product,
    /// The customer this installer was built for, from the customer profile.
    pub customer: Option<String>,
    /// RFC 3339 UTC; `SOURCE_DATE_EPOCH` when set.
    pub built_at: String,
    pub bundler_version: String,
    pub runtime: RuntimeInfo,
    pub payload: PayloadInfo,
    /// `blake3:HEX` of `plan.json` as packed.
    pub plan_digest: String,
    /// Top-level entries of the payload (`plan.json`, `customer.json`, `drop/`).
    pub contents: Vec<String>,
    pub signer: SignerInfo,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeInfo {
    /// Length of the runtime executable at the start of the file.
    pub bytes: u64,
    /// `blake3:HEX` of the runtime executable, leaving out what [`runtime_excluded`] names.
    pub digest: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayloadInfo {
    pub codec: Codec,
    /// Compressed length, as stored in the file.
    pub bytes: u64,
    /// Length of the uncompressed tar stream; extraction refuses a payload that decodes to more.
    pub unpacked_bytes: u64,
    /// Number of regular files in the tar stream.
    pub files: u64,
    /// `blake3:HEX` of the compressed payload bytes (what `b3sum` prints for them).
    pub digest: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignerInfo {
    /// minisign key id, 16 upper-case hex digits as `minisign` prints it.
    pub key_id: String,
    /// minisign public key (base64), so an unpinned runtime can show and use it.
    pub public_key: String,
}

impl Manifest {
    /// The trusted comment the signature must carry: names product, version, customer and
    /// payload digest on one line that is easy to quote in a shell (`minisign -S -t`).
    pub fn trusted_comment(&self) -> String {
        let clean = |s: &str| s.replace(|c: char| c.is_control() || c == '\'', " ");
        format!(
            "dropship installer; product: {}; version: {}; customer: {}; payload: {}",
            clean(&self.product.name),
            clean(&self.product.version),
            clean(self.customer.as_deref().unwrap_or("-")),
            self.payload.digest
        )
    }

    /// The manifest region as stored: JSON followed by its length (u64 LE).
    pub fn to_region(&self) -> Vec<u8> {
        // Serialising a struct of strings and integers cannot fail.
        let mut bytes = serde_json::to_vec_pretty(self).unwrap_or_default();
        let len = bytes.len() as u64;
        bytes.extend_from_slice(&len.to_le_bytes());
        bytes
    }

    /// Parse a manifest region (JSON plus length suffix).
    pub fn from_region(region: &[u8], path: &Path) -> Result<Self, ContainerError> {
        let (json, suffix) = region
            .split_last_chunk::<8>()
            .ok_or_else(|| ContainerError::damaged(path, "the manifest is too short"))?;
        if u64::from_le_bytes(*suffix) != json.len() as u64 {
            return Err(ContainerError::damaged(
                path,
                "the manifest's length suffix does not match",
            ));
        }
        /// The version alone, read first: another format's manifest has other fields.
        #[derive(Deserialize)]
        struct Format {
            format: u16,
        }
        let damaged = |e: serde_json::Error| {
            ContainerError::damaged(path, format!("the manifest does not parse: {e}"))
        };
        let Format { format } = serde_json::from_slice(json).map_err(damaged)?;
        if format != FORMAT_VERSION {
            return Err(ContainerError::UnsupportedVersion {
                path: path.to_path_buf(),
                found: format,
            });
        }
        serde_json::from_slice(json).map_err(damaged)
    }

    /// Check that the signed manifest agrees with where the unsigned trailer says the parts are.
    fn check_layout(&self, prefix: &PrefixLayout, path: &Path) -> Result<(), ContainerError> {
        if self.runtime.bytes != prefix.runtime_len || self.payload.bytes != prefix.payload_len {
            return Err(ContainerError::damaged(
                path,
                "the trailer's offsets disagree with the signed manifest",
            ));
        }
        Ok(())
    }
}

/// An installer file opened for reading: trailer, header and signature are read and
/// cross-checked; the runtime and payload are not read. The file stays open so that what is
/// verified and extracted later is what was opened.
#[derive(Debug)]
pub struct InstallerFile {
    pub path: PathBuf,
    pub file: File,
    pub trailer: Trailer,
    pub manifest: Manifest,
    /// The manifest region exactly as read: the bytes the signature is checked against.
    pub manifest_region: Vec<u8>,
    /// The signature block exactly as read (minisign text).
    pub signature: String,
    /// What the runtime digest leaves out (see [`runtime_excluded`]).
    pub runtime_excluded: Vec<Range<u64>>,
    /// The Authenticode certificate table after the installer, when there is one: (offset, size).
    pub certificate_table: Option<(u64, u64)>,
}

impl InstallerFile {
    /// Open an installer and read everything but the runtime and the payload.
    pub fn open(path: &Path) -> Result<Self, ContainerError> {
        let io_err = |source| ContainerError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut file = File::open(path).map_err(io_err)?;
        let file_len = file.metadata().map_err(io_err)?.len();
        let head = read_at(&mut file, 0, file_len.min(pe::HEAD_LEN as u64)).map_err(io_err)?;
        let certificate_table = certificate_table(&head, file_len, path)?;
        let end = certificate_table.map_or(file_len, |(offset, _)| offset);
        let trailer = read_trailer(&mut file, end, path)?;
        let prefix = trailer.prefix();
        let manifest_region =
            read_at(&mut file, prefix.manifest_offset(), trailer.manifest_len).map_err(io_err)?;
        let manifest = Manifest::from_region(&manifest_region, path)?;
        manifest.check_layout(&prefix, path)?;
        let mut signature_bytes = read_at(
            &mut file,
            prefix.end(),
            trailer.signature_len + trailer.padding,
        )
        .map_err(io_err)?;
        let padding = signature_bytes.split_off(trailer.signature_len as usize);
        if padding.iter().any(|&b| b != 0) {
            return Err(ContainerError::damaged(
                path,
                "the padding before the trailer is not zero",
            ));
        }
        let signature = String::from_utf8(signature_bytes)
            .map_err(|_| ContainerError::damaged(path, "the signature block is not text"))?;
        Ok(InstallerFile {
            path: path.to_path_buf(),
            file,
            trailer,
            manifest,
            manifest_region,
            signature,
            runtime_excluded: runtime_excluded(&head),
            certificate_table,
        })
    }
}

/// The Authenticode certificate table at the end of the file, when the file is a PE image whose
/// data directory names one. It must be exactly the file's aligned tail: anything else is damage.
fn certificate_table(
    head: &[u8],
    file_len: u64,
    path: &Path,
) -> Result<Option<(u64, u64)>, ContainerError> {
    let table = pe::signed_fields(head).and_then(|f| pe::certificate_table(head, &f));
    let Some((offset, size)) = table else {
        return Ok(None);
    };
    if offset.checked_add(size) != Some(file_len)
        || !offset.is_multiple_of(ALIGNMENT)
        || offset < TRAILER_LEN
    {
        return Err(ContainerError::damaged(
            path,
            "its PE certificate table entry does not describe the end of the file",
        ));
    }
    Ok(Some((offset, size)))
}

fn read_trailer(file: &mut File, end: u64, path: &Path) -> Result<Trailer, ContainerError> {
    if end < TRAILER_LEN {
        return Err(ContainerError::NotAnInstaller {
            path: path.to_path_buf(),
            is_bare: false,
        });
    }
    let mut raw = [0u8; TRAILER_LEN as usize];
    file.seek(SeekFrom::Start(end - TRAILER_LEN))
        .and_then(|_| file.read_exact(&mut raw))
        .map_err(|source| ContainerError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    Trailer::parse(&raw, end, path).map_err(|e| match e {
        ContainerError::NotAnInstaller { path, .. } => ContainerError::NotAnInstaller {
            is_bare: is_bare_runtime(&path),
            path,
        },
        other => other,
    })
}

/// Whether `path` is this very runtime without a payload (to give a better hint).
fn is_bare_runtime(path: &Path) -> bool {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.canonicalize().ok())
        .zip(path.canonicalize().ok())
        .is_some_and(|(a, b)| a == b)
}

fn read_at(file: &mut File, offset: u64, len: u64) -> io::Result<Vec<u8>> {
    file.seek(SeekFrom::Start(offset))?;
    let mut buf = Vec::with_capacity(len as usize);
    file.take(len).read_to_end(&mut buf)?;
    if buf.len() as u64 != len {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "file ended early",
        ));
    }
    Ok(buf)
}

/// A `.presign` file (everything before the signature, as `dropship build --presign` writes
/// it), read: its header is at its end and says where everything else is.
pub struct Presign {
    pub file: File,
    pub layout: PrefixLayout,
    pub manifest: Manifest,
    /// The header region exactly as read: what is signed.
    pub manifest_region: Vec<u8>,
}

/// Read the layout of a `.presign` file.
pub fn read_presign(path: &Path) -> Result<Presign, ContainerError> {
    let io_err = |source| ContainerError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(io_err)?;
    let file_len = file.metadata().map_err(io_err)?.len();
    let suffix = file_len
        .checked_sub(MANIFEST_LEN_SUFFIX)
        .map(|at| read_at(&mut file, at, MANIFEST_LEN_SUFFIX))
        .transpose()
        .map_err(io_err)?
        .ok_or_else(|| ContainerError::damaged(path, "too short to be a presigned installer"))?;
    let json_len = u64::from_le_bytes(suffix.try_into().unwrap_or_default());
    let manifest_len = json_len
        .checked_add(MANIFEST_LEN_SUFFIX)
        .filter(|&n| n <= MAX_MANIFEST_LEN && n <= file_len)
        .ok_or_else(|| {
            ContainerError::damaged(path, "not a presigned installer (no manifest at its end)")
        })?;
    let manifest_region =
        read_at(&mut file, file_len - manifest_len, manifest_len).map_err(io_err)?;
    let manifest = Manifest::from_region(&manifest_region, path)?;
    let layout = PrefixLayout {
        runtime_len: manifest.runtime.bytes,
        payload_len: manifest.payload.bytes,
        manifest_len,
    };
    if layout.end() != file_len {
        return Err(ContainerError::damaged(
            path,
            "its manifest's sizes do not add up to the file length",
        ));
    }
    Ok(Presign {
        file,
        layout,
        manifest,
        manifest_region,
    })
}

/// Append the signature block, the padding and the trailer to a file that holds exactly the
/// parts `prefix` describes.
pub fn append_signature<W: Write>(
    out: &mut W,
    prefix: &PrefixLayout,
    signature: &str,
) -> io::Result<()> {
    let trailer = Trailer::new(prefix, signature.len() as u64);
    out.write_all(signature.as_bytes())?;
    out.write_all(&[0u8; ALIGNMENT as usize][..trailer.padding as usize])?;
    out.write_all(&trailer.to_bytes())?;
    out.flush()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn layout() -> PrefixLayout {
        PrefixLayout {
            runtime_len: 1000,
            payload_len: 500,
            manifest_len: 300,
        }
    }

    #[test]
    fn trailer_round_trips() {
        let trailer = Trailer::new(&layout(), 250);
        let parsed = Trailer::parse(&trailer.to_bytes(), trailer.file_len, Path::new("x")).unwrap();
        assert_eq!(parsed, trailer);
        // 2114 bytes, padded to a multiple of 8 for Authenticode.
        assert_eq!(trailer.padding, 6);
        assert_eq!(trailer.file_len, 1000 + 500 + 300 + 250 + 6 + 64);
    }

    #[test]
    fn another_format_is_refused_naming_its_version_and_what_to_do() {
        let mut bytes = Trailer::new(&layout(), 250).to_bytes();
        bytes[8] = 1;
        let err = Trailer::parse(&bytes, 2120, Path::new("x")).unwrap_err();
        assert!(matches!(
            err,
            ContainerError::UnsupportedVersion { found: 1, .. }
        ));
        let text = err.to_string();
        assert!(
            text.contains("format 1")
                && text.contains("reads format 2")
                && text.contains("build the installer again"),
            "{text}"
        );
        let mut manifest = serde_json::to_value(sample_manifest()).unwrap();
        manifest["format"] = 3.into();
        manifest["a field of format 3"] = true.into();
        let json = serde_json::to_vec(&manifest).unwrap();
        let region = [json.as_slice(), &(json.len() as u64).to_le_bytes()].concat();
        let err = Manifest::from_region(&region, Path::new("x")).unwrap_err();
        assert!(
            matches!(err, ContainerError::UnsupportedVersion { found: 3, .. }),
            "{err}"
        );
    }

    /// An installer whose runtime is a PE image, as `build` writes it: its parts and the file.
    fn pe_installer(dir: &Path) -> (PathBuf, Vec<u8>) {
        let runtime = pe::tests::pe_image(1024);
        let payload = vec![7u8; 333];
        let mut manifest = sample_manifest();
        manifest.runtime.bytes = runtime.len() as u64;
        manifest.payload.bytes = payload.len() as u64;
        let region = manifest.to_region();
        let prefix = PrefixLayout {
            runtime_len: runtime.len() as u64,
            payload_len: payload.len() as u64,
            manifest_len: region.len() as u64,
        };
        let mut bytes = [runtime, payload, region].concat();
        append_signature(&mut bytes, &prefix, "signature\n").unwrap();
        let path = dir.join("setup.exe");
        std::fs::write(&path, &bytes).unwrap();
        (path, bytes)
    }

    /// What Authenticode does: the certificate table appended, the two fields rewritten.
    fn authenticode_sign(bytes: &[u8], table_len: u32) -> Vec<u8> {
        let fields = pe::signed_fields(bytes).unwrap();
        let mut signed = bytes.to_vec();
        let (checksum, entry) = (fields.checksum as usize, fields.certificate_entry as usize);
        signed[checksum..checksum + 4].copy_from_slice(&0x1234_5678u32.to_le_bytes());
        signed[entry..entry + 4].copy_from_slice(&(bytes.len() as u32).to_le_bytes());
        signed[entry + 4..entry + 8].copy_from_slice(&table_len.to_le_bytes());
        signed.extend(vec![0xcc; table_len as usize]);
        signed
    }

    #[test]
    fn the_trailer_is_found_before_an_authenticode_certificate_table() {
        let dir = tempfile::tempdir().unwrap();
        let (path, bytes) = pe_installer(dir.path());
        assert_eq!(bytes.len() as u64 % ALIGNMENT, 0);
        let unsigned = InstallerFile::open(&path).unwrap();
        assert_eq!(unsigned.certificate_table, None);
        let fields = pe::signed_fields(&bytes).unwrap();
        assert_eq!(unsigned.runtime_excluded, fields.excluded().to_vec());
        std::fs::write(&path, authenticode_sign(&bytes, 1000)).unwrap();
        let signed = InstallerFile::open(&path).unwrap();
        assert_eq!(signed.certificate_table, Some((bytes.len() as u64, 1000)));
        assert_eq!(signed.trailer, unsigned.trailer);
        assert_eq!(signed.signature, "signature\n");
        // A table that does not end the file, or one byte more after it, is damage.
        let mut longer = authenticode_sign(&bytes, 1000);
        longer.push(0);
        std::fs::write(&path, &longer).unwrap();
        let err = InstallerFile::open(&path).unwrap_err();
        assert!(err.to_string().contains("certificate table entry"), "{err}");
    }

    #[test]
    fn non_zero_padding_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (path, mut bytes) = pe_installer(dir.path());
        let trailer = InstallerFile::open(&path).unwrap().trailer;
        assert!(trailer.padding > 0, "the sample needs padding");
        let at = (trailer.file_len - TRAILER_LEN - 1) as usize;
        bytes[at] = 1;
        std::fs::write(&path, &bytes).unwrap();
        let err = InstallerFile::open(&path).unwrap_err();
        assert!(err.to_string().contains("padding"), "{err}");
    }

    #[test]
    fn every_single_trailer_byte_change_is_refused() {
        let trailer = Trailer::new(&layout(), 250);
        let good = trailer.to_bytes();
        for at in 0..good.len() {
            let mut bad = good;
            bad[at] ^= 0x01;
            let parsed = Trailer::parse(&bad, trailer.file_len, Path::new("x"));
            // A changed length field may still parse only if the layout stays self-consistent,
            // which a single-bit change cannot achieve because the sum must equal the file length.
            assert!(
                parsed.is_err(),
                "byte {at} changed but the trailer was accepted"
            );
        }
    }

    #[test]
    fn wrong_file_length_is_refused() {
        let trailer = Trailer::new(&layout(), 250);
        let err =
            Trailer::parse(&trailer.to_bytes(), trailer.file_len + 1, Path::new("x")).unwrap_err();
        assert!(err.to_string().contains("cut or appended"), "{err}");
    }

    #[test]
    fn manifest_region_round_trips_and_checks_suffix() {
        let manifest = sample_manifest();
        let region = manifest.to_region();
        assert_eq!(
            Manifest::from_region(&region, Path::new("x")).unwrap(),
            manifest
        );
        let mut bad = region.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(Manifest::from_region(&bad, Path::new("x")).is_err());
    }

    #[test]
    fn trusted_comment_names_product_version_customer_and_digest() {
        let comment = sample_manifest().trusted_comment();
        assert_eq!(
            comment,
            "dropship installer; product: Fabrikam Platform; version: 4.12.0; customer: contoso; payload: blake3:00"
        );
    }

    pub(crate) fn sample_manifest() -> Manifest {
        Manifest {
            format: FORMAT_VERSION,
            product: Product {
                name: "Fabrikam Platform".into(),
                version: "4.12.0".into(),
                vendor: Some("Fabrikam Ltd".into()),
            },
            customer: Some("contoso".into()),
            built_at: "2026-01-01T00:00:00Z".into(),
            bundler_version: "0.1.0".into(),
            runtime: RuntimeInfo {
                bytes: 1000,
                digest: "blake3:22".into(),
            },
            payload: PayloadInfo {
                codec: Codec::Zstd,
                bytes: 500,
                unpacked_bytes: 2048,
                files: 3,
                digest: "blake3:00".into(),
            },
            plan_digest: "blake3:11".into(),
            contents: vec!["plan.json".into(), "drop/".into()],
            signer: SignerInfo {
                key_id: "0123456789ABCDEF".into(),
                public_key: "RW...".into(),
            },
        }
    }
}
