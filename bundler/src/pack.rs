//! Packing the payload: the drop (a folder or an artifact zip), the plan and the customer
//! profile as one compressed tar stream, deterministic for the same inputs and build time.
//!
//! The stream is two compressed frames: first the part shared by every customer (`plan.json`,
//! `drop/...`), then the customer's own entry (`customer.json`) and the end-of-archive marker.
//! Every codec decodes concatenated frames as one stream. Shared part first means everything up
//! to the customer's frame is the same in every installer of a batch: it is compressed and hashed
//! once, and each installer adds a copy of it plus a few kilobytes of its own.

use anyhow::{Context, Result, bail};
use dropship_runtime::container::codec::{Encoder, STORED_BLOCK, StoredFrame};
use dropship_runtime::container::{self, Codec};
use std::fs::File;
use std::io::{self, Read, Seek, Write};
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
        // Looked up in the directory just read (no walk of the whole path), links not followed.
        let meta = entry.metadata()?;
        total += if meta.is_dir() {
            folder_size(&entry.path())?
        } else {
            meta.len()
        };
    }
    Ok(total)
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

/// Where the payload's bytes go: compressed output is written as it comes; a stored run arrives
/// in whole chunks, read straight from the drop's files into buffers the sink hands out (and may
/// hand on, to hashing threads, without a copy).
pub trait PayloadSink: Write {
    /// An empty buffer to fill with the next chunk (a recycled one when there is one).
    fn buffer(&mut self) -> Vec<u8>;
    /// Write `chunk` after everything written before it.
    fn write_chunk(&mut self, chunk: Vec<u8>) -> io::Result<()>;
}

impl PayloadSink for Vec<u8> {
    fn buffer(&mut self) -> Vec<u8> {
        Vec::new()
    }
    fn write_chunk(&mut self, chunk: Vec<u8>) -> io::Result<()> {
        self.extend_from_slice(&chunk);
        Ok(())
    }
}

impl<S: PayloadSink> PayloadSink for &mut S {
    fn buffer(&mut self) -> Vec<u8> {
        (**self).buffer()
    }
    fn write_chunk(&mut self, chunk: Vec<u8>) -> io::Result<()> {
        (**self).write_chunk(chunk)
    }
}

/// Counts bytes passing through a sink.
struct Counting<W> {
    inner: W,
    count: u64,
}

impl<W> Counting<W> {
    fn new(inner: W) -> Self {
        Counting { inner, count: 0 }
    }
}

impl<W: PayloadSink> PayloadSink for Counting<W> {
    fn buffer(&mut self) -> Vec<u8> {
        self.inner.buffer()
    }
    fn write_chunk(&mut self, chunk: Vec<u8>) -> io::Result<()> {
        let len = chunk.len() as u64;
        self.inner.write_chunk(chunk)?;
        self.count += len;
        Ok(())
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
    drop: &DropSource,
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
        let files = match drop {
            DropSource::Folder(root) => append_folder(&mut builder, root, options)?,
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

/// Files from this size on are looked at for storing: below it, ending a frame and starting
/// another costs more than compressing does.
const STORE_FROM: u64 = 1 << 20;
/// How much of a file's start is compressed to tell whether it compresses.
const SAMPLE: u64 = 128 << 10;
/// A stored run goes out in chunks of this many blocks (~1 MiB).
const CHUNK_BLOCKS: usize = 8;

/// The shared part's stream: tar bytes in, codec frames out. A large file that does not
/// compress (a package is already a zip) is stored instead ([`StoredFrame`]): the frame being
/// compressed ends, the file's bytes are read straight into chunks for the sink, and the next
/// tar bytes start a new frame. Every codec's decoder reads the frames as one stream.
struct Frames<W: PayloadSink> {
    codec: Codec,
    threads: u32,
    state: FrameState<W>,
    unpacked: u64,
}

enum FrameState<W: PayloadSink> {
    /// Boxed: the encoder is large, and the sink between frames is small.
    Compressing(Box<Encoder<Counting<W>>>),
    Between(Counting<W>),
    /// Starting or ending a frame failed; the error was returned then.
    Broken,
}

impl<W: PayloadSink> Frames<W> {
    fn new(out: W, options: &PackOptions) -> Self {
        Frames {
            codec: options.codec,
            threads: options.threads,
            state: FrameState::Between(Counting::new(out)),
            unpacked: 0,
        }
    }

    fn encoder(&mut self) -> io::Result<&mut Encoder<Counting<W>>> {
        if matches!(self.state, FrameState::Between(_))
            && let FrameState::Between(out) = std::mem::replace(&mut self.state, FrameState::Broken)
        {
            self.state = FrameState::Compressing(Box::new(self.codec.encoder(out, self.threads)?));
        }
        match &mut self.state {
            FrameState::Compressing(encoder) => Ok(encoder),
            _ => Err(broken()),
        }
    }

    /// End the frame being compressed, if any: the sink, between frames.
    fn between_frames(&mut self) -> io::Result<&mut Counting<W>> {
        match std::mem::replace(&mut self.state, FrameState::Broken) {
            FrameState::Compressing(encoder) => self.state = FrameState::Between(encoder.finish()?),
            other => self.state = other,
        }
        match &mut self.state {
            FrameState::Between(out) => Ok(out),
            _ => Err(broken()),
        }
    }

    /// Whether `file`, `size` bytes, goes out stored rather than compressed. Leaves the file at
    /// its start.
    fn stores(&self, file: &mut File, size: u64) -> io::Result<bool> {
        if size < STORE_FROM {
            return Ok(false);
        }
        Ok(match self.codec {
            Codec::Gzip => false,
            Codec::None => true,
            Codec::Zstd => {
                let mut sample = Vec::with_capacity(SAMPLE as usize);
                (&mut *file).take(SAMPLE).read_to_end(&mut sample)?;
                file.rewind()?;
                let mut encoder = self.codec.encoder(Vec::new(), 1)?;
                encoder.write_all(&sample)?;
                // Stored when compressing saves less than 3 %.
                encoder.finish()?.len() * 100 >= sample.len() * 97
            }
        })
    }

    /// Write `size` bytes of `file` and the tar padding after them as a stored frame.
    fn store(&mut self, file: &mut File, size: u64) -> io::Result<()> {
        let padded = size.next_multiple_of(512);
        let codec = self.codec;
        let out = self.between_frames()?;
        let mut chunk = out.buffer();
        let mut frame = StoredFrame::start(codec, padded, &mut chunk)
            .ok_or_else(|| io::Error::other(format!("{} has no stored frames", codec.name())))?;
        let mut content = Exactly::new(file, size).chain(io::repeat(0).take(padded - size));
        while !frame.is_complete() {
            frame.append_block(&mut content, &mut chunk)?;
            if chunk.len() >= CHUNK_BLOCKS * STORED_BLOCK || frame.is_complete() {
                let full = std::mem::replace(&mut chunk, out.buffer());
                out.write_chunk(full)?;
            }
        }
        self.unpacked += padded;
        Ok(())
    }

    /// End the last frame: the compressed bytes written, and the tar bytes they hold.
    fn finish(mut self) -> io::Result<(u64, u64)> {
        let out = self.between_frames()?;
        out.flush()?;
        Ok((out.count, self.unpacked))
    }
}

fn broken() -> io::Error {
    io::Error::other("the payload stream broke on an earlier error")
}

impl<W: PayloadSink> Write for Frames<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.encoder()?.write(buf)?;
        self.unpacked += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        match &mut self.state {
            FrameState::Compressing(encoder) => encoder.flush(),
            FrameState::Between(out) => out.flush(),
            FrameState::Broken => Err(broken()),
        }
    }
}

/// Exactly the `remaining` bytes a file's tar header announced: a file that grew is cut there,
/// one that shrank is an error (rather than an archive whose entries no longer line up).
struct Exactly<'a> {
    file: &'a mut File,
    remaining: u64,
}

impl<'a> Exactly<'a> {
    fn new(file: &'a mut File, size: u64) -> Self {
        Exactly {
            file,
            remaining: size,
        }
    }
}

impl Read for Exactly<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 {
            return Ok(0);
        }
        let max = buf
            .len()
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        let n = self.file.read(&mut buf[..max])?;
        if n == 0 && max > 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the file got shorter while it was being packed; build again once nothing writes to the drop",
            ));
        }
        self.remaining -= n as u64;
        Ok(n)
    }
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

/// Append a drop folder, in sorted order; links and special files are refused.
fn append_folder<W: PayloadSink>(
    builder: &mut SharedTar<'_, W>,
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
            let meta = entry
                .metadata()
                .with_context(|| format!("reading `{}`", path.display()))?;
            let in_payload = Path::new(DROP_DIR).join(&name);
            if meta.is_dir() {
                append_dir(builder, &in_payload, options)?;
                subdirs.push(name);
            } else if meta.is_file() {
                let mut file = File::open(&path)
                    .with_context(|| format!("reading drop file `{}`", path.display()))?;
                let mode = if is_executable(&meta) { 0o755 } else { 0o644 };
                let mtime = options.mtime.unwrap_or_else(|| modified_secs(&meta));
                let mut header = file_header_for(meta.len(), mode, mtime);
                append_file(builder, &mut header, &in_payload, &mut file)
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
            let shared = write_shared_frame(&mut payload, b"{}", &source, &options).unwrap();
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
        let package = incompressible(STORE_FROM as usize + 300_001);
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
            let shared = write_shared_frame(&mut payload, b"{}", &source, &options(codec)).unwrap();
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
    fn a_file_that_changes_while_packed_is_cut_or_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"0123456789").unwrap();
        let mut file = File::open(&path).unwrap();
        let mut grown = Vec::new();
        Exactly::new(&mut file, 4).read_to_end(&mut grown).unwrap();
        assert_eq!(grown, b"0123");
        let mut file = File::open(&path).unwrap();
        let error = Exactly::new(&mut file, 20)
            .read_to_end(&mut Vec::new())
            .unwrap_err();
        assert!(error.to_string().contains("got shorter"), "{error}");
    }

    #[test]
    fn without_a_profile_the_last_frame_only_ends_the_archive() {
        let (frame, info) = customer_frame(None, &options(Codec::None)).unwrap();
        assert_eq!(frame, vec![0u8; END_MARKER]);
        assert_eq!((info.files, info.unpacked_bytes), (0, END_MARKER as u64));
    }
}
