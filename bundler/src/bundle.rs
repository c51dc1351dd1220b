//! What `dropship build` and `dropship seal` do once their inputs are read: pack, and write
//! signed installers (or a `.presign` file for signing on an offline machine with stock
//! `minisign`, and later the installer with that signature attached).

use crate::failure::{MachineFile, MachineIo, OnMachine};
use crate::keys::SigningKey;
use crate::pack::{self, DropSource, PackOptions, PartInfo};
use anyhow::{Context, Result, anyhow, bail};
use dropship_runtime::container::{
    self, FORMAT_VERSION, InstallerFile, Manifest, PayloadInfo, PrefixLayout, RuntimeInfo,
    SignerInfo,
    pe::{self, SkippingHasher},
};
use dropship_runtime::escape;
use dropship_runtime::extract;
use dropship_runtime::plan::Product;
use dropship_runtime::trust::{self, PublicKey, SignatureBlock, TrustBasis, TrustedSigner};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

/// Everything `build` needs, validated.
pub struct BuildInputs {
    pub drop: DropSource,
    pub plan_bytes: Vec<u8>,
    pub product: Product,
    pub customers: Vec<Customer>,
    pub runtime: PathBuf,
    /// What the platform's executables end with: `.exe` for Windows, nothing for Linux.
    pub exe_suffix: &'static str,
    pub options: PackOptions,
}

/// One customer profile, as packed.
pub struct Customer {
    pub name: Option<String>,
    pub bytes: Option<Vec<u8>>,
}

/// How the installer is signed.
pub enum Signing {
    /// Sign now with this key.
    Key(SigningKey),
    /// Write the signed prefix only, for `minisign -S` elsewhere; the manifest names this key.
    Presign(PublicKey),
}

impl Signing {
    fn public(&self) -> &PublicKey {
        match self {
            Signing::Key(key) => &key.public,
            Signing::Presign(public) => public,
        }
    }
}

/// Refuse a key the runtime stub (`binary`, read from `runtime`) would refuse: a pinned runtime
/// accepts only its pins.
fn check_runtime_trusts(runtime: &Path, binary: &[u8], key: &PublicKey) -> Result<()> {
    let pinned = match trust::pinned_keys_in_binary(binary) {
        Some(result) => result?,
        None => bail!(
            "`{}` is not a dropship runtime (no pinned-keys record); pass the `dropship-runtime` binary with `--runtime`",
            runtime.display()
        ),
    };
    if !pinned.is_empty() && !pinned.iter().any(|k| k.key_id == key.key_id) {
        let ids: Vec<&str> = pinned.iter().map(|k| k.key_id.as_str()).collect();
        bail!(
            "the runtime `{}` only trusts key(s) {}, so it would refuse an installer signed by key {}; \
             sign with a pinned key or build the runtime with DROPSHIP_TRUSTED_KEYS including this key",
            runtime.display(),
            ids.join(", "),
            key.key_id
        );
    }
    Ok(())
}

/// Build one installer per customer (one without a profile when none is given). With more than
/// one customer, `out` is a directory; the runtime and the shared frame are written and hashed
/// once, and every other installer starts as a copy of those bytes.
pub fn build(inputs: &BuildInputs, signing: &Signing, out: &Path) -> Result<Vec<Built>> {
    let runtime = std::fs::read(&inputs.runtime).machine_io(|| reading_runtime(&inputs.runtime))?;
    check_runtime_trusts(&inputs.runtime, &runtime, signing.public())?;
    refuse_signed_stub(&inputs.runtime, &runtime)?;
    let drop = pack::Listing::new(&inputs.drop)?;
    check_disk_space(inputs, drop.bytes, runtime.len() as u64, out)?;
    if inputs.customers.len() <= 1 {
        let customer = inputs.customers.first().unwrap_or(&Customer {
            name: None,
            bytes: None,
        });
        let mut temp = temp_beside(out)?;
        let base = write_base(inputs, &drop, &runtime, output(temp.as_file_mut(), out))?;
        let sha256 = finish_installer(inputs, customer, &base, signing, temp, out)?;
        return Ok(vec![Built {
            path: out.to_path_buf(),
            sha256,
        }]);
    }
    let paths: Vec<PathBuf> = inputs
        .customers
        .iter()
        .map(|c| {
            out.join(installer_file_name(
                &inputs.product,
                c.name.as_deref(),
                signing,
                inputs.exe_suffix,
            ))
        })
        .collect();
    refuse_shared_file_names(&inputs.customers, &paths)?;
    std::fs::create_dir_all(out)
        .machine_io(|| format!("creating output directory `{}`", out.display()))?;
    let mut first = temp_beside(&paths[0])?;
    let base = write_base(
        inputs,
        &drop,
        &runtime,
        output(first.as_file_mut(), &paths[0]),
    )?;
    let mut digests = copy_base_for_others(inputs, &base, first.path(), &paths, signing)?;
    digests[0] = finish_installer(
        inputs,
        &inputs.customers[0],
        &base,
        signing,
        first,
        &paths[0],
    )?;
    Ok(paths
        .into_iter()
        .zip(digests)
        .map(|(path, sha256)| Built { path, sha256 })
        .collect())
}

/// Two profiles whose names differ only in case or punctuation would be written to one file, the
/// second silently replacing the first.
fn refuse_shared_file_names(customers: &[Customer], paths: &[PathBuf]) -> Result<()> {
    let mut seen = std::collections::HashMap::new();
    for (customer, path) in customers.iter().zip(paths) {
        let name = customer.name.as_deref().unwrap_or("(unnamed)");
        if let Some(earlier) = seen.insert(path, name) {
            bail!(
                "customers `{earlier}` and `{name}` would both be written to `{}`; give their profiles distinct `name`s",
                path.display()
            );
        }
    }
    Ok(())
}

/// A stub that carries its own Authenticode signature would end the installer's runtime part with
/// a certificate table the installer cannot tell from one appended to the finished file.
fn refuse_signed_stub(runtime: &Path, binary: &[u8]) -> Result<()> {
    let table = pe::signed_fields(binary).and_then(|f| pe::certificate_table(binary, &f));
    if table.is_some() {
        bail!(
            "the runtime stub `{}` is Authenticode-signed; build with the unsigned stub and sign the finished installer instead",
            runtime.display()
        );
    }
    Ok(())
}

/// Installers 2..N of a batch: each a copy of the first one's runtime and shared frame (an
/// in-kernel copy where the system has one), then its own frame, manifest and signature. One
/// worker per core: the copies are bound by memory and disk, the rest is a few kilobytes.
/// Returns every installer's SHA-256 by index, the first one's left empty.
fn copy_base_for_others(
    inputs: &BuildInputs,
    base: &Base,
    source: &Path,
    paths: &[PathBuf],
    signing: &Signing,
) -> Result<Vec<String>> {
    let others = paths.len() - 1;
    let workers = (inputs.options.threads as usize).clamp(1, others.max(1));
    let next = std::sync::atomic::AtomicUsize::new(1);
    let digests = std::sync::Mutex::new(vec![String::new(); paths.len()]);
    let failure = std::sync::Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(path) = paths.get(i) else { break };
                    let result = copy_base(source, base.len, path).and_then(|temp| {
                        finish_installer(inputs, &inputs.customers[i], base, signing, temp, path)
                    });
                    match result {
                        Ok(sha256) => lock(&digests)[i] = sha256,
                        Err(error) => {
                            lock(&failure).get_or_insert(error);
                            break;
                        }
                    }
                }
            });
        }
    });
    match failure.into_inner().unwrap_or_else(|e| e.into_inner()) {
        Some(error) => Err(error),
        None => Ok(digests.into_inner().unwrap_or_else(|e| e.into_inner())),
    }
}

/// A lock another worker's panic left poisoned still holds what was put in it.
fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// A temporary file beside `out` holding the first `len` bytes of `source`.
fn copy_base(source: &Path, len: u64, out: &Path) -> Result<tempfile::NamedTempFile> {
    let mut temp = temp_beside(out)?;
    let reading = || format!("reading `{}`", source.display());
    let mut from = File::open(source).machine_io(reading)?.take(len);
    // File to file: the standard library copies inside the kernel (`copy_file_range`), which a
    // `MachineFile` around either end would prevent.
    let copied = io::copy(&mut from, temp.as_file_mut())
        .machine_io(|| format!("writing beside `{}`", out.display()))?;
    if copied != len {
        let what = format!(
            "{}: it was cut while being copied (is another build writing to `-o`?); build again",
            reading()
        );
        return Err(MachineIo::new(what).into());
    }
    Ok(temp)
}

/// A temporary file in `out`'s directory, renamed into place when the installer is complete.
fn temp_beside(out: &Path) -> Result<tempfile::NamedTempFile> {
    let dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let temp = tempfile::NamedTempFile::new_in(dir)
        .machine_io(|| format!("creating a temporary file in `{}`", dir.display()))?;
    Ok(temp)
}

/// The installer being written to `file` for `out`: its write failures are this machine's.
fn output<'a>(file: &'a mut File, out: &Path) -> MachineFile<&'a mut File> {
    MachineFile::new(file, writing(out))
}

fn writing(out: &Path) -> String {
    format!("writing `{}`", out.display())
}

fn reading_runtime(runtime: &Path) -> String {
    format!("reading runtime `{}`", runtime.display())
}

/// Refuse to start when the output's filesystem cannot hold the installers (each at most the
/// runtime plus the uncompressed drop), rather than failing halfway through a large build.
fn check_disk_space(inputs: &BuildInputs, drop: u64, runtime: u64, out: &Path) -> Result<()> {
    let installers = inputs.customers.len().max(1) as u64;
    let needed_mb =
        (installers * (runtime + drop + inputs.plan_bytes.len() as u64)).div_ceil(1 << 20);
    let spec = dropship_runtime::plan::CheckSpec::DiskFree {
        path: out.to_string_lossy().into_owned(),
        min_mb: needed_mb,
    };
    let result = dropship_runtime::steps::check::run_check(&spec, &|text| text.to_string());
    if !result.ok {
        let what = format!(
            "not enough disk space for the installer(s): {}; free some space or write elsewhere with `-o`",
            result.summary
        );
        return Err(MachineIo::new(what).into());
    }
    Ok(())
}

/// `fabrikam-platform-4.12.0-contoso`, then the platform's `exe_suffix` (`.exe` for Windows,
/// which runs nothing else), plus `.presign` when presigning.
pub fn installer_file_name(
    product: &Product,
    customer: Option<&str>,
    signing: &Signing,
    exe_suffix: &str,
) -> String {
    let slug = |s: &str| {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect::<String>()
    };
    let mut name = format!("{}-{}", slug(&product.name), slug(&product.version));
    if let Some(customer) = customer {
        name = format!("{name}-{}", slug(customer));
    }
    name.push_str(exe_suffix);
    if matches!(signing, Signing::Presign(_)) {
        name.push_str(".presign");
    }
    name
}

/// What every installer of a build shares: the runtime and the shared frame, and the digests'
/// hash states after them.
struct Base {
    /// Bytes written: runtime and shared frame.
    len: u64,
    runtime_len: u64,
    /// `blake3:HEX` of the runtime, as the header holds it.
    runtime_digest: String,
    shared: PartInfo,
    digests: Digests,
}

/// The digests an installer's bytes feed as they are written.
#[derive(Clone)]
struct Digests {
    /// The payload digest (BLAKE3), for the header.
    payload: blake3::Hasher,
    /// The whole file's SHA-256, which the build's summary tells the customer to check with
    /// `sha256sum` (no second read of a multi-GB file for it).
    file: Sha256,
}

/// An installer `build` wrote.
pub struct Built {
    pub path: PathBuf,
    /// The file's SHA-256, lower-case hex.
    pub sha256: String,
}

/// Write the runtime and the shared frame. While the drop is packed and compressed, two helper
/// threads hash the same bytes as they reach the file (the payload's BLAKE3, the file's
/// SHA-256): no second read of a multi-GB file, and the hashing runs beside the packing.
fn write_base(
    inputs: &BuildInputs,
    drop: &pack::Listing,
    runtime: &[u8],
    file: impl Write,
) -> Result<Base> {
    let mut runtime_digest = SkippingHasher::new(&container::runtime_excluded(runtime));
    runtime_digest.update(runtime);
    let mut file_digest = Sha256::new();
    file_digest.update(runtime);
    let (payload_tx, payload_rx) = sync_channel::<Chunk>(HASH_QUEUE);
    let (file_tx, file_rx) = sync_channel::<Chunk>(HASH_QUEUE);
    std::thread::scope(|scope| {
        let payload_hashing = scope.spawn(move || {
            hash_chunks(payload_rx, blake3::Hasher::new(), |h, c| {
                h.update(c);
            })
        });
        let file_hashing = scope.spawn(move || {
            hash_chunks(file_rx, file_digest, |h, c| {
                h.update(c);
            })
        });
        let mut out = BufWriter::with_capacity(1 << 20, file);
        out.write_all(runtime)?;
        let mut payload = Hashing::new(&mut out, [payload_tx, file_tx]);
        let shared =
            pack::write_shared_frame(&mut payload, &inputs.plan_bytes, drop, &inputs.options)?;
        payload.finish()?;
        out.into_inner().map_err(|e| e.into_error())?;
        let stopped = |_| anyhow!("a hashing thread stopped");
        let digests = Digests {
            payload: payload_hashing.join().map_err(stopped)?,
            file: file_hashing.join().map_err(stopped)?,
        };
        Ok(Base {
            len: runtime.len() as u64 + shared.bytes,
            runtime_len: runtime.len() as u64,
            runtime_digest: container::digest_text(&runtime_digest.finalize()),
            shared,
            digests,
        })
    })
}

/// Feed every chunk from the queue to `hasher`, until the queue is closed.
fn hash_chunks<H>(chunks: Receiver<Chunk>, mut hasher: H, update: impl Fn(&mut H, &[u8])) -> H {
    for chunk in chunks {
        update(&mut hasher, &chunk);
    }
    hasher
}

/// Complete an installer whose file holds the base: append the customer's frame, the header
/// and the signature (the digests continue the base's hash states over those few kilobytes),
/// and rename the file into place. Returns the installer's SHA-256.
fn finish_installer(
    inputs: &BuildInputs,
    customer: &Customer,
    base: &Base,
    signing: &Signing,
    mut temp: tempfile::NamedTempFile,
    out: &Path,
) -> Result<String> {
    let (frame, last) = pack::customer_frame(customer.bytes.as_deref(), &inputs.options)?;
    let part = base.shared.plus(last);
    let mut digests = base.digests.clone();
    digests.payload.update(&frame);
    let manifest = manifest(
        inputs,
        customer,
        signing.public(),
        base,
        part,
        container::digest_text(&digests.payload.finalize()),
    );
    let region = manifest.to_region();
    let mut tail = frame;
    tail.extend_from_slice(&region);
    if let Signing::Key(key) = signing {
        let layout = PrefixLayout {
            runtime_len: base.runtime_len,
            payload_len: part.bytes,
            manifest_len: region.len() as u64,
        };
        let signature = key.sign(&region, &manifest.trusted_comment())?;
        container::append_signature(&mut tail, &layout, &signature)?;
    }
    digests.file.update(&tail);
    temp.as_file_mut()
        .seek(SeekFrom::Start(base.len))
        .machine_io(|| writing(out))?;
    output(temp.as_file_mut(), out).write_all(&tail)?;
    set_executable(temp.path(), matches!(signing, Signing::Key(_)))?;
    temp.persist(out)
        .map_err(|e| e.error)
        .machine_io(|| writing(out))?;
    Ok(escape::hex(&digests.file.finalize()))
}

fn manifest(
    inputs: &BuildInputs,
    customer: &Customer,
    signer: &PublicKey,
    base: &Base,
    part: PartInfo,
    digest: String,
) -> Manifest {
    let mut contents = Vec::new();
    if customer.bytes.is_some() {
        contents.push(pack::CUSTOMER_ENTRY.to_string());
    }
    contents.extend([pack::PLAN_ENTRY.to_string(), format!("{}/", pack::DROP_DIR)]);
    Manifest {
        format: FORMAT_VERSION,
        product: inputs.product.clone(),
        customer: customer.name.clone(),
        built_at: build_time(inputs.options.mtime),
        bundler_version: env!("CARGO_PKG_VERSION").to_string(),
        runtime: RuntimeInfo {
            bytes: base.runtime_len,
            digest: base.runtime_digest.clone(),
        },
        payload: PayloadInfo {
            codec: inputs.options.codec,
            bytes: part.bytes,
            unpacked_bytes: part.unpacked_bytes,
            files: part.files,
            digest,
        },
        plan_digest: pack::digest_of(&inputs.plan_bytes),
        contents,
        signer: SignerInfo {
            key_id: signer.key_id.clone(),
            public_key: signer.base64.clone(),
        },
    }
}

fn build_time(epoch: Option<u64>) -> String {
    let time = match epoch {
        Some(secs) => chrono::DateTime::from_timestamp(secs as i64, 0).unwrap_or_default(),
        None => chrono::Utc::now(),
    };
    time.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn set_executable(path: &Path, executable: bool) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = if executable { 0o755 } else { 0o644 };
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .machine_io(|| format!("setting permissions of `{}`", path.display()))?;
    }
    let _ = (path, executable);
    Ok(())
}

/// Chunks queued for a hashing thread (at most this many MiB in flight per thread).
const HASH_QUEUE: usize = 4;
/// Bytes gathered before a chunk is handed to the hashing threads.
const HASH_CHUNK: usize = 1 << 20;

/// A part of the installer as written, shared with the hashing threads.
type Chunk = Arc<Vec<u8>>;

/// Writes through to `inner` and hands what passed, in ~1 MiB chunks, to the hashing threads:
/// compressed output gathered into a chunk, stored chunks as they are (no copy). Buffers come
/// back for reuse once every thread is done with them. Dropping it without
/// [`Hashing::finish`] (on an error) closes the queues, so the threads end either way.
struct Hashing<W> {
    inner: W,
    pending: Vec<u8>,
    queues: Option<[SyncSender<Chunk>; 2]>,
    /// Chunks handed over, to reuse once the threads let go of them.
    handed: Vec<Chunk>,
}

impl<W: Write> Hashing<W> {
    fn new(inner: W, queues: [SyncSender<Chunk>; 2]) -> Self {
        Hashing {
            inner,
            pending: Vec::with_capacity(HASH_CHUNK),
            queues: Some(queues),
            handed: Vec::new(),
        }
    }

    /// Hand over the last bytes and close the queues; the threads' hashers are complete once
    /// they are joined. Returns the inner writer.
    fn finish(mut self) -> io::Result<W> {
        self.hand_over_pending()?;
        self.queues = None;
        Ok(self.inner)
    }

    fn hand_over_pending(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let fresh = self.recycled();
        let chunk = std::mem::replace(&mut self.pending, fresh);
        self.hand_over(chunk)
    }

    fn hand_over(&mut self, chunk: Vec<u8>) -> io::Result<()> {
        let Some(queues) = &self.queues else {
            return Ok(());
        };
        let chunk = Arc::new(chunk);
        for queue in queues {
            queue
                .send(Arc::clone(&chunk))
                .map_err(|_| io::Error::other("a hashing thread stopped"))?;
        }
        self.handed.push(chunk);
        Ok(())
    }

    /// An empty buffer: one the hashing threads are done with, or a new one.
    fn recycled(&mut self) -> Vec<u8> {
        let done = self.handed.iter().position(|c| Arc::strong_count(c) == 1);
        match done.map(|i| Arc::try_unwrap(self.handed.swap_remove(i))) {
            Some(Ok(mut buffer)) => {
                buffer.clear();
                buffer
            }
            _ => Vec::with_capacity(HASH_CHUNK + STORED_CHUNK_SLACK),
        }
    }
}

/// Room above [`HASH_CHUNK`] in a new buffer: a stored chunk holds its blocks' headers too.
const STORED_CHUNK_SLACK: usize = 4 << 10;

impl<W: Write> pack::PayloadSink for Hashing<W> {
    fn buffer(&mut self) -> Vec<u8> {
        self.recycled()
    }

    fn write_chunk(&mut self, chunk: Vec<u8>) -> io::Result<()> {
        self.hand_over_pending()?;
        self.inner.write_all(&chunk)?;
        self.hand_over(chunk)
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.pending.extend_from_slice(&buf[..n]);
        if self.pending.len() >= HASH_CHUNK {
            self.hand_over_pending()?;
        }
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The exact commands that sign a `.presign` file's header with stock `minisign` and seal it.
pub fn presign_instructions(presign: &Path) -> Result<String> {
    let read = container::read_presign(presign)?;
    let file = dropship_runtime::escape::shell_word(&presign.display().to_string());
    let header = dropship_runtime::escape::shell_word(&format!("{}.header", presign.display()));
    Ok(format!(
        "Sign its header (its last {len} bytes, which hold the digests of all the others) on the signing machine with stock minisign:\n  \
         tail -c {len} {file} > {header}\n  \
         minisign -S -s dropship.key -m {header} -t '{comment}'\n\
         then attach the signature:\n  \
         dropship seal {file} --signature {header}.minisig -o INSTALLER",
        len = read.layout.manifest_len,
        comment = read.manifest.trusted_comment()
    ))
}

/// `dropship seal`: attach a signature made elsewhere to a `.presign` file, after checking it
/// and, once attached, every digest it covers.
pub fn seal(presign: &Path, signature_file: &Path, out: &Path) -> Result<()> {
    let mut read = container::read_presign(presign)?;
    let text = std::fs::read_to_string(signature_file)
        .with_context(|| format!("reading signature `{}`", signature_file.display()))?;
    let canonical = trust::canonicalize_signature(&text);
    let block = SignatureBlock::parse(&canonical, signature_file)?;
    let manifest = &read.manifest;
    let signer = TrustedSigner {
        key: PublicKey::from_base64(&manifest.signer.public_key, "the manifest's signer key")?,
        basis: TrustBasis::GivenKey,
    };
    if block.trusted_comment() != manifest.trusted_comment() {
        bail!(
            "the signature's trusted comment is `{}` but must be `{}`; sign again with `-t` as `dropship build --presign` printed",
            block.trusted_comment(),
            manifest.trusted_comment()
        );
    }
    trust::verify_header(
        &signer,
        &block,
        manifest,
        &read.manifest_region,
        signature_file,
    )?;
    let mut temp = temp_beside(out)?;
    read.file.seek(SeekFrom::Start(0))?;
    // File to file, copied inside the kernel.
    io::copy(&mut read.file, temp.as_file_mut()).machine_io(|| writing(out))?;
    container::append_signature(
        &mut output(temp.as_file_mut(), out),
        &read.layout,
        &canonical,
    )?;
    temp.as_file().sync_all().machine_io(|| writing(out))?;
    // The runtime and payload as copied must be the ones the header's digests name.
    extract::verify(&InstallerFile::open(temp.path())?, &signer, &|_| {})?;
    set_executable(temp.path(), true)?;
    temp.persist(out)
        .map_err(|e| e.error)
        .machine_io(|| writing(out))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PINNED: &str = "RWQf6LRCGA9i53mlYecO4IzT51TGPpvWucNSCh1CBM0QTaLn73Y7GFO3";

    #[test]
    fn windows_installers_are_named_exe_before_presign() {
        let product = Product {
            name: "Fabrikam Platform".into(),
            version: "4.12.0".into(),
            vendor: None,
        };
        let presign = Signing::Presign(PublicKey::from_base64(PINNED, "t").unwrap());
        let name = |suffix| installer_file_name(&product, Some("Contoso Ltd"), &presign, suffix);
        assert_eq!(name(""), "fabrikam-platform-4.12.0-contoso-ltd.presign");
        assert_eq!(
            name(".exe"),
            "fabrikam-platform-4.12.0-contoso-ltd.exe.presign"
        );
    }

    /// Check `key` against a stub binary carrying `record`.
    fn check_stub_with(record: &str, key: &PublicKey) -> Result<()> {
        let binary = format!("\x7fELF...code...{record}...more");
        check_runtime_trusts(Path::new("stub"), binary.as_bytes(), key)
    }

    #[test]
    fn build_refuses_a_key_the_pinned_runtime_would_refuse() {
        let pinned = PublicKey::from_base64(PINNED, "t").unwrap();
        let record = format!("DROPSHIP-PINNED-KEYS/1:[{PINNED}]");
        check_stub_with(&record, &pinned).unwrap();
        let other = keys_fixture_other();
        let err = check_stub_with(&record, &other).unwrap_err().to_string();
        assert!(err.contains("only trusts key(s) E7620F1842B4E81F"), "{err}");
    }

    #[test]
    fn an_unpinned_runtime_takes_any_key_and_a_foreign_binary_none() {
        let key = keys_fixture_other();
        check_stub_with("DROPSHIP-PINNED-KEYS/1:[]", &key).unwrap();
        let err = check_stub_with("nothing", &key).unwrap_err().to_string();
        assert!(err.contains("is not a dropship runtime"), "{err}");
    }

    fn keys_fixture_other() -> PublicKey {
        let pair = minisign::KeyPair::generate_unencrypted_keypair().unwrap();
        PublicKey::from_base64(&pair.pk.to_base64(), "generated").unwrap()
    }
}
