//! Verify an installer and unpack its payload in one pass over the file.
//!
//! The signature over the header (a few hundred bytes) is checked first. Then one thread reads
//! the runtime and the payload in order and checks each against its signed BLAKE3 digest; the
//! payload's chunks are handed to a second thread that decompresses and unpacks the tar stream
//! into a private staging directory. Nothing is moved out of staging unless every digest holds
//! (the caller commits); the bytes unpacked are the bytes hashed, read once from the open file.
//!
//! The tar stream is treated as hostile until verified, and unsafe entries are refused even when
//! signed: absolute paths, `..`, links leaving the target, hard links, device files, entries
//! passing through links, duplicates, and more bytes than the signed manifest declares.

use crate::container::pe::SkippingHasher;
use crate::container::{ContainerError, InstallerFile, digest_text};
use crate::path_safety::{self, Unsafe};
use crate::trust::{self, SignatureBlock, TrustError, TrustedSigner};
use std::cell::Cell;
use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Component, Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

const CHUNK: usize = 1 << 20;
const CHANNEL_DEPTH: usize = 4;

/// Why verifying or unpacking failed.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error(transparent)]
    Container(#[from] ContainerError),
    #[error(transparent)]
    Trust(#[from] TrustError),
    #[error(
        "`{path}` does not match its signature: its {part} was modified after signing (its BLAKE3 \
         digest is not the one the signed header holds)"
    )]
    DigestMismatch { path: PathBuf, part: &'static str },
    #[error("the payload holds an unsafe entry `{entry}`: {what}")]
    UnsafeEntry { entry: String, what: String },
    #[error("the payload decodes to more bytes than its signed manifest declares ({declared})")]
    TooLarge { declared: u64 },
    #[error("the payload decodes to {found} bytes, but its signed manifest declares {declared}")]
    SizeMismatch { found: u64, declared: u64 },
    /// The file system cannot hold what the signed manifest says the payload unpacks to.
    #[error("unpacking the installer: {0}")]
    NoRoom(String),
    #[error("the payload is corrupt: {0}")]
    Corrupt(String),
    #[error("{role} `{path}`: {source}")]
    Io {
        role: &'static str,
        path: PathBuf,
        source: io::Error,
    },
}

impl ExtractError {
    /// The exit status this error ends the process with: damage and unsafe content are
    /// integrity failures; failing to write is not.
    pub fn exit_status(&self) -> crate::exit::ExitStatus {
        use crate::exit::ExitStatus;
        match self {
            ExtractError::Trust(e) => e.exit_status(),
            ExtractError::Io { .. } | ExtractError::NoRoom(_) => ExitStatus::Failure,
            _ => ExitStatus::Integrity,
        }
    }

    fn io<'a>(role: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> Self + 'a {
        move |source| ExtractError::Io {
            role,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// What unpacking produced.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Unpacked {
    pub files: u64,
    pub bytes: u64,
}

/// Verify the installer without unpacking anything: the signature over the header, then the
/// digests of the runtime and the payload.
pub fn verify(
    installer: &InstallerFile,
    signer: &TrustedSigner,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<(), ExtractError> {
    verify_header(installer, signer)?;
    check_bulk(installer, None, progress)
}

/// Verify the installer and unpack its payload into `staging` (an empty private directory),
/// once its file system is known to hold the size the manifest declares. On any error the
/// caller must discard `staging`.
pub fn verify_and_unpack(
    installer: &InstallerFile,
    signer: &TrustedSigner,
    staging: &Path,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Unpacked, ExtractError> {
    verify_header(installer, signer)?;
    let declared = installer.manifest.payload.unpacked_bytes;
    crate::disk::free_space(&staging.to_string_lossy(), declared).map_err(ExtractError::NoRoom)?;
    let (tx, rx) = sync_channel::<Vec<u8>>(CHANNEL_DEPTH);
    std::thread::scope(|scope| {
        let checker = scope.spawn(move || check_bulk(installer, Some(tx), progress));
        let unpacked = unpack_stream(ChannelReader::new(rx), installer, staging);
        let checked = checker
            .join()
            .unwrap_or_else(|_| Err(ExtractError::Corrupt("the verifying thread stopped".into())));
        // A digest that does not hold explains any unpacking failure, so it is reported first.
        checked?;
        unpacked
    })
}

/// The signature over the header, checked from the copy that was parsed (so what is trusted is
/// what was read), before any other byte of the file is.
fn verify_header(installer: &InstallerFile, signer: &TrustedSigner) -> Result<(), ExtractError> {
    let block = SignatureBlock::parse(&installer.signature, &installer.path)?;
    trust::verify_header(
        signer,
        &block,
        &installer.manifest,
        &installer.manifest_region,
        &installer.path,
    )?;
    Ok(())
}

/// Check the runtime's and the payload's BLAKE3 digests, each on a thread of its own reading at
/// its own offsets; the payload's chunks also go to `payload` (the unpacker) as they are read.
fn check_bulk(
    installer: &InstallerFile,
    payload: Option<SyncSender<Vec<u8>>>,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<(), ExtractError> {
    std::thread::scope(|scope| {
        let runtime = scope.spawn(|| check_runtime(installer));
        let payload_checked = check_payload(installer, payload, progress);
        let runtime_checked = runtime
            .join()
            .unwrap_or_else(|_| Err(ExtractError::Corrupt("the verifying thread stopped".into())));
        runtime_checked?;
        payload_checked
    })
}

fn check_runtime(installer: &InstallerFile) -> Result<(), ExtractError> {
    let mut runtime = SkippingHasher::new(&installer.runtime_excluded);
    let part = 0..installer.trailer.prefix().runtime_len;
    feed(
        installer,
        part,
        &mut |chunk| runtime.update(chunk),
        None,
        &|_| {},
    )?;
    let signed = &installer.manifest.runtime.digest;
    check_digest(&runtime.finalize(), signed, "runtime", &installer.path)
}

fn check_payload(
    installer: &InstallerFile,
    sink: Option<SyncSender<Vec<u8>>>,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<(), ExtractError> {
    let prefix = installer.trailer.prefix();
    let part = prefix.runtime_len..prefix.runtime_len + prefix.payload_len;
    let mut hasher = blake3::Hasher::new();
    let hash = &mut |chunk: &[u8]| {
        hasher.update(chunk);
    };
    feed(installer, part, hash, sink, progress)?;
    let signed = &installer.manifest.payload.digest;
    check_digest(&hasher.finalize(), signed, "payload", &installer.path)
}

fn check_digest(
    hash: &blake3::Hash,
    signed: &str,
    part: &'static str,
    path: &Path,
) -> Result<(), ExtractError> {
    if digest_text(hash) != signed {
        return Err(ExtractError::DigestMismatch {
            path: path.to_path_buf(),
            part,
        });
    }
    Ok(())
}

/// Read the bytes of `part` in chunks, handing each to `hash` and then to `sink`; `progress`
/// hears how many were read. Positional reads: the runtime's and the payload's threads share
/// the file, not a cursor.
fn feed(
    installer: &InstallerFile,
    part: std::ops::Range<u64>,
    hash: &mut dyn FnMut(&[u8]),
    mut sink: Option<SyncSender<Vec<u8>>>,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<(), ExtractError> {
    let mut done = 0u64;
    let len = part.end - part.start;
    // A chunk nobody took is read into again (`verify`, the runtime part).
    let mut spare = Vec::new();
    while done < len {
        let want = CHUNK.min((len - done) as usize);
        let mut chunk = std::mem::take(&mut spare);
        chunk.resize(want, 0);
        read_exact_at(&installer.file, &mut chunk, part.start + done)
            .map_err(ExtractError::io("reading installer", &installer.path))?;
        hash(&chunk);
        done += want as u64;
        progress(done);
        // When the unpacker has stopped (it failed or finished) keep hashing: the digest
        // still decides which error the operator sees.
        spare = match &sink {
            Some(tx) => match tx.send(chunk) {
                Ok(()) => Vec::new(),
                Err(returned) => {
                    sink = None;
                    returned.0
                }
            },
            None => chunk,
        };
    }
    Ok(())
}

#[cfg(unix)]
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

/// Windows' positional read also moves the file's cursor, which nothing here relies on.
#[cfg(windows)]
fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
    while !buf.is_empty() {
        match std::os::windows::fs::FileExt::seek_read(file, buf, offset) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Presents the chunks received from the hashing thread as one stream.
struct ChannelReader {
    rx: Receiver<Vec<u8>>,
    chunk: Vec<u8>,
    at: usize,
}

impl ChannelReader {
    fn new(rx: Receiver<Vec<u8>>) -> Self {
        ChannelReader {
            rx,
            chunk: Vec::new(),
            at: 0,
        }
    }
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.chunk.len() {
            match self.rx.recv() {
                Ok(next) => {
                    self.chunk = next;
                    self.at = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len() - self.at);
        buf[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// Counts decoded bytes and refuses to produce more than the manifest declares.
struct Limited<'a, R> {
    inner: R,
    count: u64,
    limit: u64,
    exceeded: &'a Cell<bool>,
}

impl<R: Read> Read for Limited<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        if self.count > self.limit {
            self.exceeded.set(true);
            return Err(io::Error::other("payload larger than declared"));
        }
        Ok(n)
    }
}

fn unpack_stream(
    compressed: ChannelReader,
    installer: &InstallerFile,
    staging: &Path,
) -> Result<Unpacked, ExtractError> {
    let payload = &installer.manifest.payload;
    let declared = payload.unpacked_bytes;
    let decoder = payload
        .codec
        .decoder(io::BufReader::with_capacity(CHUNK, compressed))
        .map_err(|e| ExtractError::Corrupt(e.to_string()))?;
    let exceeded = Cell::new(false);
    let mut limited = Limited {
        inner: decoder,
        count: 0,
        limit: declared,
        exceeded: &exceeded,
    };
    // Whatever error a size bomb surfaces as (tar, decoder or copy), it is reported as one.
    let bomb_first = |e: ExtractError| {
        if exceeded.get() {
            ExtractError::TooLarge { declared }
        } else {
            e
        }
    };
    let unpacked =
        unpack_entries(&mut tar::Archive::new(&mut limited), staging).map_err(bomb_first)?;
    io::copy(&mut limited, &mut io::sink())
        .map_err(|e| bomb_first(ExtractError::Corrupt(e.to_string())))?;
    if limited.count != declared {
        return Err(ExtractError::SizeMismatch {
            found: limited.count,
            declared,
        });
    }
    Ok(unpacked)
}

fn unpack_entries<R: Read>(
    archive: &mut tar::Archive<R>,
    staging: &Path,
) -> Result<Unpacked, ExtractError> {
    let mut unpacked = Unpacked::default();
    let mut links = Vec::new();
    // What this unpacking made, so each entry costs no look at the disk for it: `staging` is a
    // new private directory, so nothing else is there.
    let mut made = Made::default();
    let entries = archive
        .entries()
        .map_err(|e| ExtractError::Corrupt(e.to_string()))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| ExtractError::Corrupt(e.to_string()))?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let relative = safe_relative_path(&name)?;
        let dest = staging.join(&relative);
        refuse_links_on_the_way(staging, &relative, &name, &made.dirs)?;
        let kind = entry.header().entry_type();
        if !kind.is_dir() && (made.dirs.contains(&relative) || !made.other.insert(relative.clone()))
        {
            return Err(unsafe_entry(&name, "it appears twice"));
        }
        match kind {
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                unpacked.files += 1;
                unpacked.bytes += entry.size();
            }
            tar::EntryType::Directory => {}
            tar::EntryType::Symlink => {
                check_link_target(&entry, staging, &relative, &name)?;
                links.push(relative.clone());
            }
            tar::EntryType::Link => return Err(unsafe_entry(&name, "hard links are not allowed")),
            tar::EntryType::Char | tar::EntryType::Block | tar::EntryType::Fifo => {
                return Err(unsafe_entry(
                    &name,
                    "device files and pipes are not allowed",
                ));
            }
            other => {
                return Err(unsafe_entry(
                    &name,
                    &format!("entry type {other:?} is not allowed"),
                ));
            }
        }
        if let Some(parent) = relative.parent().filter(|p| !made.dirs.contains(*p)) {
            let path = staging.join(parent);
            std::fs::create_dir_all(&path)
                .map_err(ExtractError::io("creating directory", &path))?;
            made.dirs.extend(parent.ancestors().map(Path::to_path_buf));
        }
        entry.set_preserve_mtime(true);
        entry
            .unpack(&dest)
            .map_err(ExtractError::io("unpacking", &dest))?;
        if kind.is_dir() && !made.other.contains(&relative) {
            made.dirs.insert(relative);
        }
    }
    // A later entry can change the way an earlier link resolves: check them all again.
    path_safety::check_links_beneath(staging, &links).map_err(|(link, _)| {
        unsafe_entry(
            &link.to_string_lossy(),
            "a link pointing outside the target",
        )
    })?;
    Ok(unpacked)
}

fn unsafe_entry(name: &str, what: &str) -> ExtractError {
    ExtractError::UnsafeEntry {
        entry: name.to_string(),
        what: what.to_string(),
    }
}

/// A relative path made only of normal components.
fn safe_relative_path(name: &str) -> Result<PathBuf, ExtractError> {
    let path = Path::new(name);
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => {
                let problem = crate::path_safety::windows_name_problem(&part.to_string_lossy());
                if let Some(why) = problem.filter(|_| cfg!(windows)) {
                    return Err(unsafe_entry(name, why));
                }
                out.push(part)
            }
            Component::CurDir => {}
            Component::ParentDir => return Err(unsafe_entry(name, "it contains `..`")),
            Component::RootDir | Component::Prefix(_) => {
                return Err(unsafe_entry(name, "it is an absolute path"));
            }
        }
    }
    if out.as_os_str().is_empty() {
        return Err(unsafe_entry(name, "it has an empty path"));
    }
    Ok(out)
}

/// The paths (relative to the staging directory) an unpacking made.
#[derive(Default)]
struct Made {
    /// Directories, each made by this unpacking (an entry's, or on the way to one).
    dirs: HashSet<PathBuf>,
    /// Everything else: files and links.
    other: HashSet<PathBuf>,
}

/// Refuse an entry whose parent directories include a symlink (writing through it could leave
/// the target); the directories this unpacking made itself (`made_dirs`) are known not to be.
fn refuse_links_on_the_way(
    root: &Path,
    relative: &Path,
    name: &str,
    made_dirs: &HashSet<PathBuf>,
) -> Result<(), ExtractError> {
    let Some(parent) = relative.parent() else {
        return Ok(());
    };
    for dir in parent.ancestors().filter(|d| !d.as_os_str().is_empty()) {
        if made_dirs.contains(dir) {
            return Ok(());
        }
        let linked = root.join(dir).symlink_metadata();
        if linked.is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(unsafe_entry(name, "it goes through a link"));
        }
    }
    Ok(())
}

/// A symlink must be relative and, resolved from where it sits against the links already
/// unpacked, stay inside the target.
fn check_link_target<R: Read>(
    entry: &tar::Entry<'_, R>,
    staging: &Path,
    relative: &Path,
    name: &str,
) -> Result<(), ExtractError> {
    let target = entry
        .link_name()
        .map_err(|e| ExtractError::Corrupt(e.to_string()))?
        .ok_or_else(|| unsafe_entry(name, "a link without a target"))?;
    let dir = relative.parent().unwrap_or(Path::new(""));
    match path_safety::resolve_beneath(staging, dir, &target) {
        Ok(_) => Ok(()),
        Err(Unsafe::Absolute) => Err(unsafe_entry(name, "a link to an absolute path")),
        Err(_) => Err(unsafe_entry(name, "a link pointing outside the target")),
    }
}

/// Read one small member of the payload (e.g. `plan.json`) WITHOUT verifying the signature:
/// for `inspect`, which shows what a file claims. Members near the start are found quickly.
pub fn read_member_unverified(
    installer: &InstallerFile,
    name: &str,
    max_len: u64,
) -> Result<Option<Vec<u8>>, ExtractError> {
    let prefix = installer.trailer.prefix();
    let mut file = &installer.file;
    file.seek(SeekFrom::Start(prefix.payload_offset()))
        .map_err(ExtractError::io("reading installer", &installer.path))?;
    let compressed = io::BufReader::new(file.take(prefix.payload_len));
    let decoder = installer
        .manifest
        .payload
        .codec
        .decoder(compressed)
        .map_err(|e| ExtractError::Corrupt(e.to_string()))?;
    let mut archive = tar::Archive::new(decoder);
    for entry in archive
        .entries()
        .map_err(|e| ExtractError::Corrupt(e.to_string()))?
    {
        let entry = entry.map_err(|e| ExtractError::Corrupt(e.to_string()))?;
        if entry.path_bytes().as_ref() == name.as_bytes() {
            let mut bytes = Vec::new();
            entry
                .take(max_len + 1)
                .read_to_end(&mut bytes)
                .map_err(|e| ExtractError::Corrupt(e.to_string()))?;
            if bytes.len() as u64 > max_len {
                return Err(ExtractError::TooLarge { declared: max_len });
            }
            return Ok(Some(bytes));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_paths_are_normal_components_only() {
        assert_eq!(
            safe_relative_path("drop/a/b.txt").unwrap(),
            PathBuf::from("drop/a/b.txt")
        );
        assert_eq!(
            safe_relative_path("./plan.json").unwrap(),
            PathBuf::from("plan.json")
        );
        assert!(safe_relative_path("/etc/passwd").is_err());
        assert!(safe_relative_path("drop/../../x").is_err());
        assert!(safe_relative_path(".").is_err());
    }

    fn tar_with(build: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        build(&mut builder);
        builder.into_inner().unwrap()
    }

    fn unpack(bytes: &[u8]) -> Result<Unpacked, ExtractError> {
        let dir = tempfile::tempdir().unwrap();
        unpack_entries(&mut tar::Archive::new(bytes), dir.path())
    }

    fn header(kind: tar::EntryType, size: u64) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_size(size);
        h.set_mode(0o644);
        h
    }

    #[test]
    fn links_leaving_the_target_are_refused() {
        let bytes = tar_with(|b| {
            let mut h = header(tar::EntryType::Symlink, 0);
            b.append_link(&mut h, "drop/evil", "../../etc").unwrap();
        });
        let err = unpack(&bytes).unwrap_err();
        assert!(err.to_string().contains("outside the target"), "{err}");
    }

    #[test]
    #[cfg(unix)] // symlinks
    fn links_inside_the_target_are_kept_and_writing_through_them_is_refused() {
        let ok = tar_with(|b| {
            let mut h = header(tar::EntryType::Symlink, 0);
            b.append_link(&mut h, "drop/a/link", "../b").unwrap();
        });
        unpack(&ok).unwrap();
        let through = tar_with(|b| {
            let mut h = header(tar::EntryType::Symlink, 0);
            b.append_link(&mut h, "drop/link", "sub").unwrap();
            let mut f = header(tar::EntryType::Regular, 2);
            b.append_data(&mut f, "drop/link/file", &b"hi"[..]).unwrap();
        });
        let err = unpack(&through).unwrap_err();
        assert!(err.to_string().contains("goes through a link"), "{err}");
    }

    #[test]
    fn device_files_and_hard_links_are_refused() {
        let dev = tar_with(|b| {
            let mut h = header(tar::EntryType::Char, 0);
            b.append_data(&mut h, "drop/null", io::empty()).unwrap();
        });
        assert!(unpack(&dev).unwrap_err().to_string().contains("device"));
        let hard = tar_with(|b| {
            let mut h = header(tar::EntryType::Link, 0);
            b.append_link(&mut h, "drop/hard", "drop/other").unwrap();
        });
        assert!(
            unpack(&hard)
                .unwrap_err()
                .to_string()
                .contains("hard links")
        );
    }

    #[test]
    fn regular_files_are_counted_and_modes_kept() {
        let bytes = tar_with(|b| {
            let mut h = header(tar::EntryType::Regular, 5);
            h.set_mode(0o755);
            b.append_data(&mut h, "drop/run.sh", &b"echo\n"[..])
                .unwrap();
        });
        let dir = tempfile::tempdir().unwrap();
        let got = unpack_entries(&mut tar::Archive::new(&bytes[..]), dir.path()).unwrap();
        assert_eq!(got, Unpacked { files: 1, bytes: 5 });
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("drop/run.sh"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o755);
        }
    }
}
