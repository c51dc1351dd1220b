//! Packing the payload: the drop (a folder or an artifact zip), the plan and the customer
//! profile as one compressed tar stream, deterministic for the same inputs and build time.
//!
//! The stream is two compressed frames: first the customer's own entry (`customer.json`), then
//! the part shared by every customer (`plan.json`, `drop/...`, the end-of-archive marker). Both
//! codecs decode concatenated frames as one stream, so a batch build compresses the shared part
//! once and gives each installer its own small first frame.

use anyhow::{Context, Result, bail};
use blake2::{Blake2b256, Digest};
use dropship_runtime::container::Codec;
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

/// Bytes the drop holds (uncompressed), for the disk-space check.
pub fn drop_size(drop: &DropSource) -> Result<u64> {
    match drop {
        DropSource::Folder(root) => folder_size(root),
        DropSource::Zip(path) => {
            let file = File::open(path)
                .with_context(|| format!("reading drop zip `{}`", path.display()))?;
            let mut archive = zip::ZipArchive::new(file).with_context(|| {
                format!(
                    "drop `{}` is not a readable zip; re-download the artifact",
                    path.display()
                )
            })?;
            Ok((0..archive.len())
                .filter_map(|i| archive.by_index_raw(i).ok().map(|e| e.size()))
                .sum())
        }
    }
}

fn folder_size(dir: &Path) -> Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)
        .with_context(|| format!("reading drop folder `{}`", dir.display()))?
    {
        let entry = entry.with_context(|| format!("reading drop folder `{}`", dir.display()))?;
        let meta = std::fs::symlink_metadata(entry.path())?;
        total += if meta.is_dir() {
            folder_size(&entry.path())?
        } else {
            meta.len()
        };
    }
    Ok(total)
}

/// Sizes and digest of a written payload part.
#[derive(Debug, Clone, Copy, Default)]
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

/// Counts bytes passing through a writer.
pub struct Counting<W> {
    inner: W,
    pub count: u64,
}

impl<W: Write> Counting<W> {
    pub fn new(inner: W) -> Self {
        Counting { inner, count: 0 }
    }
    pub fn into_inner(self) -> W {
        self.inner
    }
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// `blake2b-256:HEX`, the digest notation used in manifests.
pub fn digest_text(hasher: Blake2b256) -> String {
    let hex: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("blake2b-256:{hex}")
}

/// `blake2b-256:HEX` of some bytes.
pub fn digest_of(bytes: &[u8]) -> String {
    digest_text(Blake2b256::new_with_prefix(bytes))
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

/// Write the first frame: the customer's profile as one tar entry, without an end marker.
pub fn write_customer_frame<W: Write>(
    out: W,
    customer: Option<&[u8]>,
    options: &PackOptions,
) -> Result<PartInfo> {
    let mut counted = Counting::new(out);
    let mut encoder = options.codec.encoder(&mut counted, 1)?;
    let mut info = PartInfo::default();
    if let Some(bytes) = customer {
        let header = file_header(
            CUSTOMER_ENTRY,
            bytes.len() as u64,
            0o644,
            options.generated_mtime(),
        )?;
        encoder.write_all(header.as_bytes())?;
        encoder.write_all(bytes)?;
        let padding = (512 - bytes.len() % 512) % 512;
        encoder.write_all(&vec![0u8; padding])?;
        info.unpacked_bytes = 512 + bytes.len() as u64 + padding as u64;
        info.files = 1;
    }
    encoder.finish()?;
    info.bytes = counted.count;
    Ok(info)
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

/// Write the shared frame: plan, then the drop under `drop/`, then the end-of-archive marker.
pub fn write_shared_frame<W: Write>(
    out: W,
    plan: &[u8],
    drop: &DropSource,
    options: &PackOptions,
) -> Result<PartInfo> {
    let mut counted = Counting::new(out);
    let encoder = options.codec.encoder(&mut counted, options.threads)?;
    let mut unpacked = Counting::new(encoder);
    let files = {
        let mut builder = tar::Builder::new(&mut unpacked);
        builder.mode(tar::HeaderMode::Deterministic);
        let mtime = options.generated_mtime();
        let mut header = file_header(PLAN_ENTRY, plan.len() as u64, 0o644, mtime)?;
        builder.append_data(&mut header, PLAN_ENTRY, plan)?;
        let files = match drop {
            DropSource::Folder(root) => append_folder(&mut builder, root, options)?,
            DropSource::Zip(path) => append_zip(&mut builder, path, options)?,
        };
        builder.finish()?;
        files + 1
    };
    let unpacked_bytes = unpacked.count;
    unpacked.into_inner().finish()?;
    Ok(PartInfo {
        bytes: counted.count,
        unpacked_bytes,
        files,
    })
}

/// Append a drop folder, in sorted order; links and special files are refused.
fn append_folder<W: Write>(
    builder: &mut tar::Builder<W>,
    root: &Path,
    options: &PackOptions,
) -> Result<u64> {
    let mut files = 0;
    let mut stack = vec![PathBuf::new()];
    while let Some(relative) = stack.pop() {
        let dir = root.join(&relative);
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .with_context(|| format!("reading drop folder `{}`", dir.display()))?
            .collect::<io::Result<_>>()
            .with_context(|| format!("reading drop folder `{}`", dir.display()))?;
        entries.sort_by_key(|e| e.file_name());
        let mut subdirs = Vec::new();
        for entry in entries {
            let path = entry.path();
            let name = relative.join(entry.file_name());
            let meta = std::fs::symlink_metadata(&path)
                .with_context(|| format!("reading `{}`", path.display()))?;
            let in_payload = Path::new(DROP_DIR).join(&name);
            if meta.is_dir() {
                append_dir(builder, &in_payload, options)?;
                subdirs.push(name);
            } else if meta.is_file() {
                let file = File::open(&path)
                    .with_context(|| format!("reading drop file `{}`", path.display()))?;
                let mode = if is_executable(&meta) { 0o755 } else { 0o644 };
                let mtime = options.mtime.unwrap_or_else(|| modified_secs(&meta));
                let mut header = file_header_for(meta.len(), mode, mtime);
                builder
                    .append_data(&mut header, &in_payload, file)
                    .with_context(|| format!("packing drop file `{}`", path.display()))?;
                files += 1;
            } else {
                bail!(
                    "drop entry `{}` is a link or special file; replace it with the file it stands for",
                    path.display()
                );
            }
        }
        // Depth-first in sorted order: push in reverse so the smallest name is packed first.
        stack.extend(subdirs.into_iter().rev());
    }
    Ok(files)
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

#[cfg(unix)]
fn is_executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_meta: &std::fs::Metadata) -> bool {
    false
}

fn modified_secs(meta: &std::fs::Metadata) -> u64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs())
}

/// Append an artifact zip's entries, in name order, refusing names that would leave the drop.
fn append_zip<W: Write>(
    builder: &mut tar::Builder<W>,
    path: &Path,
    options: &PackOptions,
) -> Result<u64> {
    let file =
        File::open(path).with_context(|| format!("reading drop zip `{}`", path.display()))?;
    let mut archive = zip::ZipArchive::new(file).with_context(|| {
        format!(
            "drop `{}` is not a readable zip; re-download the artifact",
            path.display()
        )
    })?;
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
