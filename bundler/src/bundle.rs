//! `dropship build` and `dropship seal`: validate the inputs, pack, and write signed installers
//! (or a `.presign` file for signing on an offline machine with stock `minisign`).

use crate::keys::{self, SigningKey};
use crate::pack::{self, Counting, DropSource, PackOptions, PartInfo};
use anyhow::{Context, Result, anyhow, bail};
use blake2::{Blake2b256, Blake2b512, Digest};
use dropship_runtime::container::{
    self, Codec, FORMAT_VERSION, Manifest, PayloadInfo, PrefixLayout, RuntimeInfo, SignerInfo,
};
use dropship_runtime::extract;
use dropship_runtime::plan::Product;
use dropship_runtime::trust::{self, PublicKey, SignatureBlock, TrustBasis, TrustedSigner};
use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{SyncSender, sync_channel};

/// Everything `build` needs, validated.
pub struct BuildInputs {
    pub drop: DropSource,
    pub plan_bytes: Vec<u8>,
    pub product: Product,
    pub customers: Vec<Customer>,
    pub runtime: PathBuf,
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

/// Refuse a key the runtime stub would refuse (a pinned runtime accepts only its pins).
pub fn check_runtime_trusts(runtime: &Path, key: &PublicKey) -> Result<()> {
    let binary = std::fs::read(runtime)
        .with_context(|| format!("reading runtime `{}`", runtime.display()))?;
    let pinned = match trust::pinned_keys_in_binary(&binary) {
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
/// one customer, `out` is a directory and the shared part of the payload is compressed once.
pub fn build(inputs: &BuildInputs, signing: &Signing, out: &Path) -> Result<Vec<PathBuf>> {
    check_runtime_trusts(&inputs.runtime, signing.public())?;
    check_disk_space(inputs, out)?;
    if inputs.customers.len() <= 1 {
        let customer = inputs.customers.first().unwrap_or(&Customer {
            name: None,
            bytes: None,
        });
        write_installer(inputs, customer, SharedPart::Pack, signing, out)?;
        return Ok(vec![out.to_path_buf()]);
    }
    std::fs::create_dir_all(out)
        .with_context(|| format!("creating output directory `{}`", out.display()))?;
    let mut shared = tempfile::NamedTempFile::new_in(out)
        .with_context(|| format!("creating a temporary file in `{}`", out.display()))?;
    let info = pack::write_shared_frame(
        BufWriter::new(shared.as_file_mut()),
        &inputs.plan_bytes,
        &inputs.drop,
        &inputs.options,
    )?;
    let paths: Vec<PathBuf> = inputs
        .customers
        .iter()
        .map(|c| {
            out.join(installer_file_name(
                &inputs.product,
                c.name.as_deref(),
                signing,
            ))
        })
        .collect();
    // Each installer costs two full hashes of what it copies (its payload digest and the
    // signature's prehash, both covering its own customer frame before the shared one). Those
    // are CPU-bound and independent per customer, so the installers are written by one worker
    // per core, each reading the shared frame through its own handle (see `ARCHITECTURE.md`,
    // Performance, for the format change that would make an extra installer a plain copy).
    let workers = (inputs.options.threads as usize).clamp(1, inputs.customers.len());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut results: Vec<Option<Result<()>>> = (0..paths.len()).map(|_| None).collect();
    let done = std::sync::Mutex::new(&mut results);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(path) = paths.get(i) else { break };
                    let result = File::open(shared.path())
                        .with_context(|| format!("reopening `{}`", shared.path().display()))
                        .and_then(|mut frame| {
                            write_installer(
                                inputs,
                                &inputs.customers[i],
                                SharedPart::Copy(&mut frame, info),
                                signing,
                                path,
                            )
                        });
                    done.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(result);
                }
            });
        }
    });
    for result in results {
        result.unwrap_or_else(|| Err(anyhow!("an installer was not written")))?;
    }
    Ok(paths)
}

/// Refuse to start when the output's filesystem cannot hold the installers (each at most the
/// runtime plus the uncompressed drop), rather than failing halfway through a large build.
fn check_disk_space(inputs: &BuildInputs, out: &Path) -> Result<()> {
    let runtime = std::fs::metadata(&inputs.runtime).map_or(0, |m| m.len());
    let drop = pack::drop_size(&inputs.drop)?;
    let installers = inputs.customers.len().max(1) as u64;
    let needed_mb =
        (installers * (runtime + drop + inputs.plan_bytes.len() as u64)).div_ceil(1 << 20);
    let spec = dropship_runtime::plan::CheckSpec::DiskFree {
        path: out.to_string_lossy().into_owned(),
        min_mb: needed_mb,
    };
    let result = dropship_runtime::steps::check::run_check(&spec, &|text| text.to_string());
    if !result.ok {
        bail!(
            "not enough disk space for the installer(s): {}; free some space or write elsewhere with `-o`",
            result.summary
        );
    }
    Ok(())
}

/// `fabrikam-platform-4.12.0-contoso` (plus `.presign` when presigning).
pub fn installer_file_name(product: &Product, customer: Option<&str>, signing: &Signing) -> String {
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
    if matches!(signing, Signing::Presign(_)) {
        name.push_str(".presign");
    }
    name
}

enum SharedPart<'a> {
    /// Compress the plan and drop now.
    Pack,
    /// Copy an already compressed shared frame.
    Copy(&'a mut File, PartInfo),
}

/// Write one installer through a temporary file beside `out`, renamed into place when complete.
fn write_installer(
    inputs: &BuildInputs,
    customer: &Customer,
    shared: SharedPart<'_>,
    signing: &Signing,
    out: &Path,
) -> Result<()> {
    let dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut temp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("creating a temporary file in `{}`", dir.display()))?;
    let prehash = matches!(signing, Signing::Key(_));
    let written = write_prefix_prehashed(
        inputs,
        customer,
        shared,
        signing.public(),
        temp.as_file_mut(),
        prehash,
    )?;
    if let (Signing::Key(key), Some(prehash)) = (signing, &written.prehash) {
        let signature = key.sign_prehashed(prehash, &written.manifest.trusted_comment())?;
        container::append_signature(temp.as_file_mut(), &written.layout, &signature)?;
    }
    temp.as_file().sync_all()?;
    set_executable(temp.path(), matches!(signing, Signing::Key(_)))?;
    temp.persist(out)
        .map_err(|e| anyhow!("writing `{}`: {}", out.display(), e.error))?;
    Ok(())
}

/// Runtime, payload and manifest: the signed prefix.
/// What writing the signed prefix produced.
struct WrittenPrefix {
    layout: PrefixLayout,
    manifest: Manifest,
    /// minisign's prehash (BLAKE2b-512) of every byte written, when asked for.
    prehash: Option<Vec<u8>>,
}

/// Write the signed prefix; with `prehash`, a thread hashes every byte as it reaches the file
/// (on the second core), so signing needs no second read of a multi-GB file.
fn write_prefix_prehashed(
    inputs: &BuildInputs,
    customer: &Customer,
    shared: SharedPart<'_>,
    signer: &PublicKey,
    file: &mut File,
    prehash: bool,
) -> Result<WrittenPrefix> {
    let (tx, rx) = sync_channel::<Vec<u8>>(HASH_QUEUE);
    std::thread::scope(|scope| {
        let hashing = prehash.then(|| {
            scope.spawn(move || {
                let mut hasher = Blake2b512::new();
                for chunk in rx {
                    hasher.update(&chunk);
                }
                hasher.finalize().to_vec()
            })
        });
        let mut copied = Prehashing {
            file,
            tx: prehash.then_some(tx),
        };
        let (layout, manifest) = write_prefix(inputs, customer, shared, signer, &mut copied)?;
        drop(copied);
        let prehash = hashing
            .map(|thread| {
                thread
                    .join()
                    .map_err(|_| anyhow!("the signing hash thread stopped"))
            })
            .transpose()?;
        Ok(WrittenPrefix {
            layout,
            manifest,
            prehash,
        })
    })
}

/// Writes through to the file and hands a copy of each write to the prehash thread.
struct Prehashing<'a> {
    file: &'a mut File,
    tx: Option<SyncSender<Vec<u8>>>,
}

impl Write for Prehashing<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        if let Some(tx) = &self.tx {
            tx.send(buf[..n].to_vec())
                .map_err(|_| io::Error::other("the signing hash thread stopped"))?;
        }
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

fn write_prefix(
    inputs: &BuildInputs,
    customer: &Customer,
    shared: SharedPart<'_>,
    signer: &PublicKey,
    file: &mut impl Write,
) -> Result<(PrefixLayout, Manifest)> {
    let mut out = BufWriter::with_capacity(1 << 20, &mut *file);
    let runtime_len = io::copy(
        &mut File::open(&inputs.runtime)
            .with_context(|| format!("reading runtime `{}`", inputs.runtime.display()))?,
        &mut out,
    )?;
    // Building from the drop, the payload digest is computed on a helper thread beside the
    // packing and compressing (on a second core that hides one of the build's full hashing
    // passes: 0.98 s -> 0.77 s for a 200 MB drop). A batch copy hashes inline: its workers
    // already use every core, and the hand-over copy only cost time there.
    let threaded = matches!(shared, SharedPart::Pack);
    let (tx, rx) = sync_channel::<Vec<u8>>(HASH_QUEUE);
    let (first, second, hasher) = std::thread::scope(|scope| -> Result<_> {
        let hashing = threaded.then(|| {
            scope.spawn(move || {
                let mut hasher = Blake2b256::new();
                for chunk in rx {
                    hasher.update(&chunk);
                }
                hasher
            })
        });
        let mut hashed = Hashing::new(&mut out, threaded.then_some(tx));
        let first =
            pack::write_customer_frame(&mut hashed, customer.bytes.as_deref(), &inputs.options)?;
        let second = match shared {
            SharedPart::Pack => pack::write_shared_frame(
                &mut hashed,
                &inputs.plan_bytes,
                &inputs.drop,
                &inputs.options,
            )?,
            SharedPart::Copy(file, info) => {
                // A large read buffer: `io::copy` then moves (and hashes) 1 MiB at a time
                // instead of 8 KiB, with 128x fewer read calls.
                io::copy(
                    &mut io::BufReader::with_capacity(1 << 20, file),
                    &mut hashed,
                )?;
                info
            }
        };
        let hasher = match (hashed.finish()?, hashing) {
            (Some(hasher), _) => hasher,
            (None, Some(thread)) => thread
                .join()
                .map_err(|_| anyhow!("the payload hashing thread stopped"))?,
            (None, None) => {
                return Err(anyhow!(
                    "the payload was hashed neither inline nor on a thread"
                ));
            }
        };
        Ok((first, second, hasher))
    })?;
    let part = first.plus(second);
    let digest = pack::digest_text(hasher);
    let manifest = manifest(inputs, customer, signer, runtime_len, part, digest);
    let region = manifest.to_region();
    out.write_all(&region)?;
    out.flush()?;
    let layout = PrefixLayout {
        runtime_len,
        payload_len: part.bytes,
        manifest_len: region.len() as u64,
    };
    Ok((layout, manifest))
}

fn manifest(
    inputs: &BuildInputs,
    customer: &Customer,
    signer: &PublicKey,
    runtime_len: u64,
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
        runtime: RuntimeInfo { bytes: runtime_len },
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
            .with_context(|| format!("setting permissions of `{}`", path.display()))?;
    }
    let _ = (path, executable);
    Ok(())
}

/// Chunks of payload queued for the hashing thread (at most this many MiB in flight).
const HASH_QUEUE: usize = 4;
/// Bytes gathered before a chunk is handed to the hashing thread.
const HASH_CHUNK: usize = 1 << 20;

/// Counts what passes through and hashes it (BLAKE2b-256) for the payload digest: inline, or by
/// handing a copy in 1 MiB chunks to a hashing thread. Dropping it without [`Hashing::finish`]
/// (on an error) closes the queue, so the thread ends either way.
struct Hashing<W> {
    inner: Counting<W>,
    target: HashTarget,
}

enum HashTarget {
    Inline(Blake2b256),
    Thread {
        pending: Vec<u8>,
        tx: SyncSender<Vec<u8>>,
    },
}

impl<W: Write> Hashing<W> {
    /// Hash on the thread reading from `tx`'s queue, or inline without one.
    fn new(inner: W, tx: Option<SyncSender<Vec<u8>>>) -> Self {
        Hashing {
            inner: Counting::new(inner),
            target: match tx {
                Some(tx) => HashTarget::Thread {
                    pending: Vec::with_capacity(HASH_CHUNK),
                    tx,
                },
                None => HashTarget::Inline(Blake2b256::new()),
            },
        }
    }

    /// The hasher when inline; otherwise hand over the last bytes (the thread's hasher is
    /// complete once it is joined) and `None`.
    fn finish(mut self) -> io::Result<Option<Blake2b256>> {
        self.send()?;
        Ok(match self.target {
            HashTarget::Inline(hasher) => Some(hasher),
            HashTarget::Thread { .. } => None,
        })
    }

    fn send(&mut self) -> io::Result<()> {
        if let HashTarget::Thread { pending, tx } = &mut self.target {
            let chunk = std::mem::replace(pending, Vec::with_capacity(HASH_CHUNK));
            tx.send(chunk)
                .map_err(|_| io::Error::other("the payload hashing thread stopped"))?;
        }
        Ok(())
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        match &mut self.target {
            HashTarget::Inline(hasher) => hasher.update(&buf[..n]),
            HashTarget::Thread { pending, .. } => {
                pending.extend_from_slice(&buf[..n]);
                if pending.len() >= HASH_CHUNK {
                    self.send()?;
                }
            }
        }
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The exact `minisign` command that signs a `.presign` file for `dropship seal`.
pub fn presign_instructions(presign: &Path) -> Result<String> {
    let (_, _, manifest, _) = container::read_presign(presign)?;
    let file = presign.display();
    Ok(format!(
        "Sign it on the signing machine with stock minisign:\n  minisign -S -s dropship.key -m {file} -t '{}'\nthen attach the signature:\n  dropship seal {file} --signature {file}.minisig -o INSTALLER",
        manifest.trusted_comment()
    ))
}

/// `dropship seal`: attach a signature made elsewhere to a `.presign` file, after checking it.
pub fn seal(presign: &Path, signature_file: &Path, out: &Path) -> Result<()> {
    let (mut file, layout, manifest, _) = container::read_presign(presign)?;
    let text = std::fs::read_to_string(signature_file)
        .with_context(|| format!("reading signature `{}`", signature_file.display()))?;
    let canonical = trust::canonicalize_signature(&text);
    let block = SignatureBlock::parse(&canonical, signature_file)?;
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
    let mut verifier = trust::Verifier::new(&signer, &block, &manifest, signature_file)?;
    file.seek(SeekFrom::Start(0))?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        verifier.update(&buf[..n]);
    }
    verifier.finish()?;
    let dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut temp = tempfile::NamedTempFile::new_in(dir)?;
    file.seek(SeekFrom::Start(0))?;
    io::copy(&mut file, temp.as_file_mut())?;
    container::append_signature(temp.as_file_mut(), &layout, &canonical)?;
    temp.as_file().sync_all()?;
    set_executable(temp.path(), true)?;
    temp.persist(out)
        .map_err(|e| anyhow!("writing `{}`: {}", out.display(), e.error))?;
    Ok(())
}

/// `dropship verify`: check an installer against a public key, running none of its code.
pub fn verify(installer: &Path, key: &Path) -> Result<(container::InstallerFile, TrustedSigner)> {
    let file = container::InstallerFile::open(installer)?;
    let signer = TrustedSigner {
        key: keys::load_public_key(key)?,
        basis: TrustBasis::GivenKey,
    };
    extract::verify(&file, &signer, &|_| {})?;
    Ok((file, signer))
}

/// Default codec and its parse from the command line.
pub fn parse_codec(name: &str) -> Result<Codec, String> {
    Codec::from_name(name)
        .ok_or_else(|| format!("unknown compression `{name}`; use zstd, gzip or none"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PINNED: &str = "RWQf6LRCGA9i53mlYecO4IzT51TGPpvWucNSCh1CBM0QTaLn73Y7GFO3";

    fn stub_with(record: &str) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(
            &mut file,
            format!("\x7fELF...code...{record}...more").as_bytes(),
        )
        .unwrap();
        file
    }

    #[test]
    fn build_refuses_a_key_the_pinned_runtime_would_refuse() {
        let pinned = PublicKey::from_base64(PINNED, "t").unwrap();
        let stub = stub_with(&format!("DROPSHIP-PINNED-KEYS/1:[{PINNED}]"));
        check_runtime_trusts(stub.path(), &pinned).unwrap();
        let other = keys_fixture_other();
        let err = check_runtime_trusts(stub.path(), &other)
            .unwrap_err()
            .to_string();
        assert!(err.contains("only trusts key(s) E7620F1842B4E81F"), "{err}");
    }

    #[test]
    fn an_unpinned_runtime_takes_any_key_and_a_foreign_binary_none() {
        let key = keys_fixture_other();
        check_runtime_trusts(stub_with("DROPSHIP-PINNED-KEYS/1:[]").path(), &key).unwrap();
        let err = check_runtime_trusts(stub_with("nothing").path(), &key)
            .unwrap_err()
            .to_string();
        assert!(err.contains("is not a dropship runtime"), "{err}");
    }

    fn keys_fixture_other() -> PublicKey {
        let pair = minisign::KeyPair::generate_unencrypted_keypair().unwrap();
        PublicKey::from_base64(&pair.pk.to_base64(), "generated").unwrap()
    }
}
