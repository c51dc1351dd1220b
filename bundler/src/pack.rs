//! Packing the payload: the drop (a folder or an artifact zip), the plan and the customer
//! profile as one compressed tar stream, deterministic for the same inputs and build time.
//!
//! The stream is two parts: first the one shared by every customer (`plan.json`, `drop/...`:
//! compressed frames, and a stored frame for each large drop file that does not compress, see
//! `frames`), then the customer's own frame: its entry (`customer.json`) and the end-of-archive
//! marker. Every codec decodes concatenated frames as one stream. Shared part first means
//! everything up to the customer's frame is the same in every installer of a batch: it is
//! compressed and hashed once, and each installer adds a copy of it plus a few kilobytes of its
//! own.

mod frames;
mod listing;

use anyhow::{Context, Result, bail};
use dropship_runtime::container::{self, Codec};
pub use frames::PayloadSink;
use frames::{Exactly, Frames};
pub use listing::Listing;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// Name of the plan inside the payload.
pub const PLAN_ENTRY: &str = "plan.json";
/// Name of the customer profile inside the payload.
pub const CUSTOMER_ENTRY: &str = "customer.json";
/// Folder holding the drop inside the payload.
pub const DROP_DIR: &str = "drop";

/// Where the drop comes from.
#[derive(Debug, Clone)]
pub enum DropSource {
    Folder(PathBuf),
    Zip(PathBuf),
}

impl DropSource {
    /// A folder or a `.zip` artifact; anything else is refused with what to do.
    pub fn open(path: &Path) -> Result<Self> {
        let meta = std::fs::metadata(path).with_context(|| {
            format!(
                "reading drop `{}` (give the drop folder or its artifact .zip)",
                path.display()
            )
        })?;
        if meta.is_dir() {
            Ok(DropSource::Folder(path.to_path_buf()))
        } else if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("zip"))
        {
            Ok(DropSource::Zip(path.to_path_buf()))
        } else {
            bail!(
                "drop `{}` is neither a folder nor a .zip artifact",
                path.display()
            )
        }
    }
}

/// Sizes of a written payload part.
#[derive(Debug, Clone, Copy)]
pub struct PartInfo {
    /// Compressed bytes written.
    pub bytes: u64,
    /// Uncompressed tar bytes.
    pub unpacked_bytes: u64,
    /// Regular files in this part.
    pub files: u64,
}

impl PartInfo {
    pub fn plus(self, other: PartInfo) -> PartInfo {
        PartInfo {
            bytes: self.bytes + other.bytes,
            unpacked_bytes: self.unpacked_bytes + other.unpacked_bytes,
            files: self.files + other.files,
        }
    }
}

/// `blake3:HEX` of some bytes.
pub fn digest_of(bytes: &[u8]) -> String {
    container::digest_text(&blake3::hash(bytes))
}

/// Settings shared by every entry.
#[derive(Debug, Clone, Copy)]
pub struct PackOptions {
    pub codec: Codec,
    pub threads: u32,
    /// `SOURCE_DATE_EPOCH` when set: every entry gets this time.
    pub mtime: Option<u64>,
}

impl PackOptions {
    /// The time recorded for entries that have none of their own (plan, profile, folders).
    fn generated_mtime(&self) -> u64 {
        self.mtime.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        })
    }
}

/// The size of tar's end-of-archive marker (two zero blocks).
const END_MARKER: usize = 1024;

/// Write the last frame: the customer's profile as one tar entry (when there is one), then the
/// end-of-archive marker. It is small, so the caller gets it whole, to write and hash.
pub fn customer_frame(
    customer: Option<&[u8]>,
    options: &PackOptions,
) -> Result<(Vec<u8>, PartInfo)> {
    let mut tar = Vec::new();
    let mut files = 0;
    if let Some(bytes) = customer {
        let header = file_header(
            CUSTOMER_ENTRY,
            bytes.len() as u64,
            0o644,
            options.generated_mtime(),
        )?;
        tar.extend_from_slice(header.as_bytes());
        tar.extend_from_slice(bytes);
        tar.resize(tar.len().next_multiple_of(512), 0);
        files = 1;
    }
    tar.resize(tar.len() + END_MARKER, 0);
    let mut frame = Vec::new();
    let mut encoder = options.codec.encoder(&mut frame, 1)?;
    encoder.write_all(&tar)?;
    encoder.finish()?;
    let info = PartInfo {
        bytes: frame.len() as u64,
        unpacked_bytes: tar.len() as u64,
        files,
    };
    Ok((frame, info))
}

fn file_header(name: &str, size: u64, mode: u32, mtime: u64) -> Result<tar::Header> {
    let mut header = tar::Header::new_ustar();
    header.set_path(name)?;
    header.set_size(size);
    header.set_mode(mode);
    header.set_mtime(mtime);
    header.set_uid(0);
    header.set_gid(0);
    header.set_entry_type(tar::EntryType::Regular);
    header.set_cksum();
    Ok(header)
}

/// Write the shared frame: plan, then the drop under `drop/`, without the end-of-archive marker
/// (the customer's frame, which follows, ends the archive).
pub fn write_shared_frame<W: PayloadSink>(
    out: W,
    plan: &[u8],
    drop: &Listing,
    options: &PackOptions,
) -> Result<PartInfo> {
    let mut frames = Frames::new(out, options);
    let files = {
        let mut builder = tar::Builder::new(Unended {
            inner: &mut frames,
            ended: false,
        });
        builder.mode(tar::HeaderMode::Deterministic);
        let mtime = options.generated_mtime();
        let mut header = file_header(PLAN_ENTRY, plan.len() as u64, 0o644, mtime)?;
        builder.append_data(&mut header, PLAN_ENTRY, plan)?;
        let files = match drop.drop {
            DropSource::Folder(root) => append_folder(&mut builder, root, &drop.entries, options)?,
            DropSource::Zip(path) => append_zip(&mut builder, path, options)?,
        };
        builder.get_mut().ended = true;
        builder.into_inner()?;
        files + 1
    };
    let (bytes, unpacked_bytes) = frames.finish()?;
    Ok(PartInfo {
        bytes,
        unpacked_bytes,
        files,
    })
}

/// Passes writes through until `ended`, then swallows them: `tar::Builder` always writes the
/// end-of-archive marker when it is finished or dropped, and the shared frame must not have one.
struct Unended<W> {
    inner: W,
    ended: bool,
}

impl<W: Write> Write for Unended<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.ended {
            Ok(buf.len())
        } else {
            self.inner.write(buf)
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The tar builder of the shared frame.
type SharedTar<'a, W> = tar::Builder<Unended<&'a mut Frames<W>>>;

/// Append a drop folder's listed entries, in their order.
fn append_folder<W: PayloadSink>(
    builder: &mut SharedTar<'_, W>,
    root: &Path,
    entries: &[listing::Listed],
    options: &PackOptions,
) -> Result<u64> {
    let mut files = 0;
    for entry in entries {
        let in_payload = Path::new(DROP_DIR).join(&entry.relative);
        let listing::Kind::File {
            len,
            executable,
            modified,
        } = entry.kind
        else {
            append_dir(builder, &in_payload, options)?;
            continue;
        };
        let path = root.join(&entry.relative);
        // Listed as a file: a link put in its place since is refused, not followed.
        let mut file = dropship_runtime::durable::no_follow(std::fs::OpenOptions::new().read(true))
            .open(&path)
            .with_context(|| format!("reading drop file `{}`", path.display()))?;
        let mode = if executable { 0o755 } else { 0o644 };
        let mut header = file_header_for(len, mode, options.mtime.unwrap_or(modified));
        append_file(builder, &mut header, &in_payload, &mut file)
            .with_context(|| format!("packing drop file `{}`", path.display()))?;
        files += 1;
    }
    Ok(files)
}

/// One drop file: its header, then its bytes compressed with the rest or, when they do not
/// compress, stored.
fn append_file<W: PayloadSink>(
    builder: &mut SharedTar<'_, W>,
    header: &mut tar::Header,
    in_payload: &Path,
    file: &mut File,
) -> io::Result<()> {
    let size = header.size()?;
    if builder.get_mut().inner.stores(file, size)? {
        // `tar` writes the header and copies what the reader gives (nothing here) without
        // checking it against the header's size; the stored frame then carries the bytes.
        builder.append_data(header, in_payload, io::empty())?;
        builder.get_mut().inner.store(file, size)
    } else {
        builder.append_data(header, in_payload, Exactly::new(file, size))
    }
}

fn append_dir<W: Write>(
    builder: &mut tar::Builder<W>,
    path: &Path,
    options: &PackOptions,
) -> Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Directory);
    header.set_mode(0o755);
    header.set_size(0);
    header.set_mtime(options.generated_mtime());
    builder.append_data(&mut header, path, io::empty())?;
    Ok(())
}

fn file_header_for(size: u64, mode: u32, mtime: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_size(size);
    header.set_mode(mode);
    header.set_mtime(mtime);
    header
}

/// An artifact zip given as the drop, opened.
fn open_drop_zip(path: &Path) -> Result<zip::ZipArchive<File>> {
    let file =
        File::open(path).with_context(|| format!("reading drop zip `{}`", path.display()))?;
    zip::ZipArchive::new(file).with_context(|| {
        format!(
            "drop `{}` is not a readable zip; re-download the artifact",
            path.display()
        )
    })
}

/// Append an artifact zip's entries, in name order, refusing names that would leave the drop.
fn append_zip<W: Write>(
    builder: &mut tar::Builder<W>,
    path: &Path,
    options: &PackOptions,
) -> Result<u64> {
    let mut archive = open_drop_zip(path)?;
    let mut names: Vec<(String, usize)> = (0..archive.len())
        .map(|i| {
            archive
                .by_index_raw(i)
                .and_then(|e| e.name().map(|n| (n.to_string(), i)))
        })
        .collect::<Result<_, _>>()
        .with_context(|| format!("reading the entries of `{}`", path.display()))?;
    names.sort();
    let mut files = 0;
    for (name, index) in names {
        let mut entry = archive
            .by_index(index)
            .with_context(|| format!("reading `{name}` in `{}`", path.display()))?;
        let relative = entry.enclosed_name().with_context(|| {
            format!(
                "`{name}` in `{}` would leave the drop folder",
                path.display()
            )
        })?;
        let in_payload = Path::new(DROP_DIR).join(relative);
        if entry.is_dir() {
            append_dir(builder, &in_payload, options)?;
            continue;
        }
        let mode = if entry.unix_mode().is_some_and(|m| m & 0o111 != 0) {
            0o755
        } else {
            0o644
        };
        let mut header = file_header_for(entry.size(), mode, options.generated_mtime());
        let reader: &mut dyn Read = &mut entry;
        builder
            .append_data(&mut header, &in_payload, reader)
            .with_context(|| format!("packing `{name}` from `{}`", path.display()))?;
        files += 1;
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(codec: Codec) -> PackOptions {
        PackOptions {
            codec,
            threads: 2,
            mtime: Some(1_700_000_000),
        }
    }

    fn names(tar_bytes: &[u8]) -> Vec<String> {
        tar::Archive::new(tar_bytes)
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect()
    }

    fn decode(codec: Codec, bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        codec.decoder(bytes).unwrap().read_to_end(&mut out).unwrap();
        out
    }

    #[test]
    fn shared_then_customer_frame_decode_as_one_archive_with_one_end_marker() {
        let drop = tempfile::tempdir().unwrap();
        std::fs::create_dir(drop.path().join("Packages")).unwrap();
        std::fs::write(drop.path().join("Packages/app.nupkg"), vec![3u8; 700]).unwrap();
        for codec in [Codec::Zstd, Codec::Gzip, Codec::None] {
            let options = options(codec);
            let mut payload = Vec::new();
            let source = DropSource::Folder(drop.path().to_path_buf());
            let listing = Listing::new(&source).unwrap();
            let shared = write_shared_frame(&mut payload, b"{}", &listing, &options).unwrap();
            let shared_tar = decode(codec, &payload);
            assert_eq!(shared_tar.len() as u64, shared.unpacked_bytes);
            assert!(
                shared_tar[shared_tar.len() - 512..].iter().any(|b| *b != 0),
                "{codec:?}: the shared frame must not end the archive"
            );
            let (frame, last) = customer_frame(Some(br#"{"name":"A"}"#), &options).unwrap();
            payload.extend_from_slice(&frame);
            let whole = decode(codec, &payload);
            assert_eq!(whole.len() as u64, shared.plus(last).unpacked_bytes);
            assert!(whole.ends_with(&[0u8; END_MARKER]));
            assert_eq!(
                names(&whole),
                [
                    "plan.json",
                    "drop/Packages",
                    "drop/Packages/app.nupkg",
                    "customer.json"
                ],
                "{codec:?}"
            );
            assert_eq!((shared.files, last.files), (2, 1));
        }
    }

    /// Bytes no compressor shrinks (xorshift64), as a packed package's are.
    fn incompressible(len: usize) -> Vec<u8> {
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        (0..len.div_ceil(8))
            .flat_map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state.to_le_bytes()
            })
            .take(len)
            .collect()
    }

    /// Each entry's name and the digest of its bytes.
    fn contents(tar_bytes: &[u8]) -> Vec<(String, String)> {
        let mut archive = tar::Archive::new(tar_bytes);
        let entries = archive.entries().unwrap();
        entries
            .map(|e| {
                let mut entry = e.unwrap();
                let mut bytes = Vec::new();
                entry.read_to_end(&mut bytes).unwrap();
                let name = entry.path().unwrap().display().to_string();
                (name, digest_of(&bytes))
            })
            .collect()
    }

    #[test]
    fn a_large_file_that_does_not_compress_is_stored_between_compressed_frames() {
        let drop = tempfile::tempdir().unwrap();
        let long = "a-folder-name-long-enough-for-tar-to-need-its-long-name-extension-entry";
        let package = incompressible(frames::STORE_FROM as usize + 300_001);
        let text = "SELECT 1;\n".repeat(200_000).into_bytes();
        std::fs::create_dir_all(drop.path().join(long)).unwrap();
        std::fs::write(drop.path().join(long).join("app.nupkg"), &package).unwrap();
        std::fs::write(drop.path().join("schema.sql"), &text).unwrap();
        let in_payload = format!("drop/{long}/app.nupkg");
        // Depth-first in name order: the folder's own entry, then the root's files.
        let expected = [
            ("plan.json".to_string(), digest_of(b"{}")),
            (format!("drop/{long}"), digest_of(b"")),
            ("drop/schema.sql".to_string(), digest_of(&text)),
            (in_payload, digest_of(&package)),
        ];
        let source = DropSource::Folder(drop.path().to_path_buf());
        for codec in [Codec::Zstd, Codec::None, Codec::Gzip] {
            let mut payload = Vec::new();
            let listing = Listing::new(&source).unwrap();
            let shared =
                write_shared_frame(&mut payload, b"{}", &listing, &options(codec)).unwrap();
            assert_eq!(shared.bytes, payload.len() as u64, "{codec:?}");
            let (end, _) = customer_frame(None, &options(codec)).unwrap();
            payload.extend_from_slice(&end);
            let whole = decode(codec, &payload);
            assert_eq!(
                shared.unpacked_bytes + END_MARKER as u64,
                whole.len() as u64
            );
            assert_eq!(contents(&whole), expected, "{codec:?}");
            if codec == Codec::Zstd {
                // The stored frame's header: magic, descriptor, window, the padded file size.
                let padded = (package.len() as u64).next_multiple_of(512);
                let header = [
                    &[0x28, 0xB5, 0x2F, 0xFD, 0xC0, 0x38][..],
                    &padded.to_le_bytes(),
                ];
                let header = header.concat();
                assert!(payload.windows(header.len()).any(|w| w == header), "stored");
                assert!(
                    payload.len() < package.len() + text.len() / 10,
                    "text compressed"
                );
            }
        }
    }

    #[test]
    fn without_a_profile_the_last_frame_only_ends_the_archive() {
        let (frame, info) = customer_frame(None, &options(Codec::None)).unwrap();
        assert_eq!(frame, vec![0u8; END_MARKER]);
        assert_eq!((info.files, info.unpacked_bytes), (0, END_MARKER as u64));
    }
}
