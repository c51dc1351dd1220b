//! Extract a deployment package into a directory as Calamari does
//! (`docs/octopus-conventions.md` §4.2), safely.
//!
//! Formats, chosen by extension: `.nupkg` (a zip; NuGet metadata parts skipped), `.zip`,
//! `.tar.gz`/`.tgz`, `.tar`. For `.nupkg`, entry names are percent-decoded as NuGet stores them
//! and Calamari's `NupkgExtractor` skips `_rels/`, `package/services/metadata/`,
//! `[Content_Types].xml`, `*.nupkg.sha512` and every `*.nuspec` (case-insensitive).
//!
//! Safety (see `package/writer.rs`): absolute names, `..`, links escaping the destination,
//! writes beneath or over a link, device files and FIFOs are refused with
//! [`UnsafeEntry`](crate::package::PackageError::UnsafeEntry); group/other write and set-id
//! bits are dropped; [`ExtractLimits`](crate::package::ExtractLimits) caps the bytes unpacked,
//! absolutely and as a ratio of the package size. The caller's hook hears about every directory
//! and file before it is created or overwritten, so the install engine can journal it (and back
//! up an existing file) first: with [`extract_package_reporting`], all of them in one go before
//! anything is written ([`Before::All`]). The summary's `file_count` is Calamari's
//! `Package.ExtractedFileCount`.
//!
//! Package file names: [`PackageName`](crate::package::PackageName) (`package/name.rs`).
//!
//! Not done: `.tar.bz2`, `.jar`/`.war`, file times, choosing the `<App>/<Env>/<Id>/<Version>`
//! directory with `_1`, `_2` suffixes (the engine passes `destination`).

mod inflate;
mod name;
mod writer;

#[cfg(test)]
mod tests;

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use inflate::Progress;
pub use name::{PackageName, PackageNameError};
use writer::{EntryPath, Hook, Makes, Writer};

/// What the hook is told is about to be created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A directory that does not exist yet.
    Directory,
    /// A regular file (or hard link); the path may already hold a file, which will be replaced.
    File,
    /// A symbolic link.
    Symlink,
}

/// What the hook of [`extract_package_reporting`] is told before anything is written.
#[derive(Debug, Clone, Copy)]
pub enum Before<'a> {
    /// Every directory the package will create (outermost first), then every file and link it
    /// will create or overwrite: told once, after each of them was checked against the
    /// destination as it is now, as writing it will be (nothing beneath or over a link, nothing
    /// in the way), and before anything is written. A file listed that exists now is overwritten
    /// with its permissions kept even if the hook moves it aside.
    All(&'a [(PathBuf, EntryKind)]),
    /// One path about to be created that [`Before::All`] did not list: the destination and its
    /// missing parents (or an entry the listing did not see, should the package change between
    /// the listing and the unpacking).
    One(&'a Path, EntryKind),
}

/// The error a caller's hook returns; extraction stops and reports it as [`PackageError::Hook`].
pub type HookError = Box<dyn std::error::Error + Send + Sync>;

/// The archive formats Calamari extracts that dropship supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PackageFormat {
    /// A NuGet package: a zip with metadata parts that are not extracted.
    Nupkg,
    /// A zip archive.
    Zip,
    /// A gzip-compressed tar archive (`.tar.gz`, `.tgz`).
    TarGz,
    /// An uncompressed tar archive.
    Tar,
}

impl PackageFormat {
    /// The format for a file name, by its (case-insensitive) extension.
    pub fn from_file_name(file_name: &str) -> Option<Self> {
        let lower = file_name.to_ascii_lowercase();
        let formats = [
            (".nupkg", Self::Nupkg),
            (".zip", Self::Zip),
            (".tar.gz", Self::TarGz),
            (".tgz", Self::TarGz),
            (".tar", Self::Tar),
        ];
        formats
            .into_iter()
            .find(|(ext, _)| lower.ends_with(ext))
            .map(|(_, f)| f)
    }
}

/// Caps on what one package may unpack to, as Calamari's `Octopus.Calamari.ArchiveLimits.*`
/// (see [`ExtractLimits::from_variables`]). Unlike Calamari, dropship applies
/// [`ExtractLimits::DEFAULT`] unless the variables say otherwise: a customer's operator cannot
/// know a package is a decompression bomb before it fills their disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtractLimits {
    /// Most bytes all extracted files together may hold (`…MaximumUncompressedSize`).
    pub max_uncompressed_bytes: Option<u64>,
    /// Most the extracted bytes may be as a multiple of the package file's size, and each zip
    /// entry as a multiple of its compressed size (`…MaximumCompressionRatio`); never applied
    /// below [`RATIO_FLOOR`].
    pub max_compression_ratio: Option<u64>,
}

/// The variable that turns the archive limits off (`False`), as in Calamari.
pub const LIMITS_ENABLED_VARIABLE: &str = "Octopus.Calamari.ArchiveLimits.Enabled";
/// The variable giving [`ExtractLimits::max_uncompressed_bytes`], in bytes.
pub const MAX_SIZE_VARIABLE: &str = "Octopus.Calamari.ArchiveLimits.MaximumUncompressedSize";
/// The variable giving [`ExtractLimits::max_compression_ratio`].
pub const MAX_RATIO_VARIABLE: &str = "Octopus.Calamari.ArchiveLimits.MaximumCompressionRatio";

/// Unpacked sizes up to this (64 MiB) are never refused for their compression ratio: small,
/// text-heavy packages compress far better than large ones, and cannot fill a disk.
pub const RATIO_FLOOR: u64 = 64 << 20;

impl Default for ExtractLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl ExtractLimits {
    /// 16 GiB unpacked, and a compression ratio of 100: deflate and gzip reach about 1000:1 only
    /// on runs of one byte, while real packages (binaries, text, already-compressed media)
    /// stay far below 100:1 once larger than [`RATIO_FLOOR`].
    pub const DEFAULT: ExtractLimits = ExtractLimits {
        max_uncompressed_bytes: Some(16 << 30),
        max_compression_ratio: Some(100),
    };

    /// No limits at all.
    pub const NONE: ExtractLimits = ExtractLimits {
        max_uncompressed_bytes: None,
        max_compression_ratio: None,
    };

    /// The limits the archive-limit variables set over [`ExtractLimits::DEFAULT`]; `get` looks up
    /// an evaluated variable. An unreadable value is an error naming the variable, rather than
    /// (as in Calamari) silently no limit.
    pub fn from_variables(get: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        if get(LIMITS_ENABLED_VARIABLE).is_some_and(|v| v.trim().eq_ignore_ascii_case("false")) {
            return Ok(Self::NONE);
        }
        let number = |name: &str, default: Option<u64>| match get(name) {
            None => Ok(default),
            Some(v) if v.trim().is_empty() => Ok(default),
            Some(v) => match v.trim().parse::<u64>() {
                Ok(n) if n > 0 => Ok(Some(n)),
                _ => Err(format!(
                    "the variable `{name}` is `{v}`, not a whole number above 0; fix it, or set \
                     `{LIMITS_ENABLED_VARIABLE}` to False to turn the archive limits off"
                )),
            },
        };
        Ok(ExtractLimits {
            max_uncompressed_bytes: number(
                MAX_SIZE_VARIABLE,
                Self::DEFAULT.max_uncompressed_bytes,
            )?,
            max_compression_ratio: number(MAX_RATIO_VARIABLE, Self::DEFAULT.max_compression_ratio)?,
        })
    }

    /// The byte limit for a package file of `package_len` bytes, and which limit it is.
    fn byte_limit(self, package_len: u64) -> (u64, Limit) {
        let by_size = self
            .max_uncompressed_bytes
            .map(|bytes| (bytes, Limit::Size));
        let by_ratio = self.max_compression_ratio.map(|ratio| {
            let bytes = ratio.saturating_mul(package_len).max(RATIO_FLOOR);
            (bytes, Limit::Ratio(ratio))
        });
        [by_size, by_ratio]
            .into_iter()
            .flatten()
            .min_by_key(|(bytes, _)| *bytes)
            .unwrap_or((u64::MAX, Limit::Size))
    }

    /// Whether one entry of `size` bytes, stored in `compressed` bytes, is over the ratio.
    fn entry_over_ratio(self, size: u64, compressed: u64) -> bool {
        self.max_compression_ratio
            .is_some_and(|ratio| size > RATIO_FLOOR && size > ratio.saturating_mul(compressed))
    }
}

/// Which of the [`ExtractLimits`] a package ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// The most bytes unpacked.
    Size,
    /// The compression ratio.
    Ratio(u64),
}

impl std::fmt::Display for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Limit::Size => write!(
                f,
                "the most it may unpack to; the variable `{MAX_SIZE_VARIABLE}` raises it"
            ),
            Limit::Ratio(ratio) => write!(
                f,
                "a compression ratio of {ratio}:1; the variable `{MAX_RATIO_VARIABLE}` raises it"
            ),
        }
    }
}

/// What an extraction did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtractSummary {
    /// The package format.
    pub format: PackageFormat,
    /// Files written (regular files and links): Calamari's `Package.ExtractedFileCount`.
    pub file_count: u64,
}

/// Why an archive entry was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnsafeReason {
    /// An absolute path, drive letter or UNC name.
    #[error("it is an absolute path")]
    Absolute,
    /// A `..` component.
    #[error("it contains `..`")]
    ParentTraversal,
    /// On Windows, a name Windows would take for something else (`path_safety::windows_name_problem`).
    #[error("`{name}` cannot be a name on Windows: {why}")]
    WindowsName { name: String, why: &'static str },
    /// A link pointing outside the destination (or at no earlier entry, for hard links).
    #[error("it is a link to `{target}`, outside the destination")]
    LinkEscapes {
        /// The link target as stored.
        target: String,
    },
    /// The entry would be written beneath, or over, a symbolic link.
    #[error("it would be written through a symbolic link")]
    ThroughSymlink,
    /// A character or block device, or a FIFO.
    #[error("it is a device file or FIFO")]
    DeviceFile,
    /// A tar entry type that has no meaning in a package.
    #[error("it has the unsupported tar entry type {0}")]
    UnsupportedType(u8),
    /// The entry name is not UTF-8.
    #[error("its name is not valid UTF-8")]
    NotUtf8,
}

/// Why a package could not be extracted.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    /// The extension is not one of the supported formats.
    #[error(
        "package `{}` has an unsupported extension: expected .nupkg, .zip, .tar.gz, .tgz or .tar",
        package.display()
    )]
    UnsupportedFormat {
        /// The package file.
        package: PathBuf,
    },
    /// The package file could not be opened.
    #[error("opening package `{}`: {source}", package.display())]
    Open {
        /// The package file.
        package: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// The archive is corrupt or could not be read.
    #[error("reading package `{}`{}: {source}", package.display(), entry_suffix(entry))]
    Read {
        /// The package file.
        package: PathBuf,
        /// The entry being read, when known (empty otherwise).
        entry: String,
        /// The I/O or archive error.
        source: io::Error,
    },
    /// An entry was refused for safety.
    #[error("package `{}`: refusing entry `{entry}`: {reason}", package.display())]
    UnsafeEntry {
        /// The package file.
        package: PathBuf,
        /// The entry name.
        entry: String,
        /// Why it was refused.
        reason: UnsafeReason,
    },
    /// Something in the destination is in the way.
    #[error("package `{}`: cannot extract to `{}`: {problem}", package.display(), path.display())]
    Conflict {
        /// The package file.
        package: PathBuf,
        /// The destination path.
        path: PathBuf,
        /// What is in the way.
        problem: &'static str,
    },
    /// Creating a file or directory in the destination failed.
    #[error("extracting package `{}`: writing `{}`: {source}", package.display(), path.display())]
    Write {
        /// The package file.
        package: PathBuf,
        /// The destination path.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// The package unpacks (or says it unpacks) to more than the limits allow.
    #[error(
        "package `{}` unpacks to more than {limit} bytes, which is {kind} (a corrupt package or a \
         decompression bomb; if the package is genuine, raise the limit)",
        package.display()
    )]
    TooLarge {
        /// The package file.
        package: PathBuf,
        /// The byte limit that was reached.
        limit: u64,
        /// Which limit it is.
        kind: Limit,
    },
    /// One zip entry is compressed more than the ratio allows.
    #[error(
        "package `{}`: entry `{entry}` unpacks to {size} bytes from {compressed}, more than {kind} \
         (a corrupt package or a decompression bomb; if the package is genuine, raise the limit)",
        package.display()
    )]
    EntryTooCompressed {
        /// The package file.
        package: PathBuf,
        /// The entry name.
        entry: String,
        /// Its declared unpacked size.
        size: u64,
        /// Its compressed size.
        compressed: u64,
        /// The ratio limit.
        kind: Limit,
    },
    /// The caller's hook refused a path.
    #[error("before creating `{}`: {source}", path.display())]
    Hook {
        /// The path about to be created.
        path: PathBuf,
        /// The hook's error.
        source: HookError,
    },
}

fn entry_suffix(entry: &str) -> String {
    if entry.is_empty() {
        String::new()
    } else {
        format!(", entry `{entry}`")
    }
}

/// Extract `package` into `destination` (created if missing), within `limits`. `before_create`
/// is called with each absolute path before it is created (or, for an existing file,
/// overwritten); an error from it stops the extraction. A zip whose central directory declares
/// more than the limits allow is refused before anything is written.
pub fn extract_package(
    package: &Path,
    destination: &Path,
    limits: ExtractLimits,
    mut before_create: impl FnMut(&Path, EntryKind) -> Result<(), HookError>,
) -> Result<ExtractSummary, PackageError> {
    let mut hook = |before: Before<'_>| match before {
        Before::One(path, kind) => before_create(path, kind),
        Before::All(_) => Ok(()),
    };
    extract(package, destination, limits, false, &mut hook, &mut |_| {})
}

/// [`extract_package`], but the package's entries are listed first (a zip's central directory,
/// a pass over a tar's headers; a `.tar.gz` is unpacked twice) and told to `before` in one go
/// ([`Before::All`]) before anything is written, so that a caller can journal a whole package
/// with one disk flush; `progress` is told the bytes of files written so far as they are
/// written (for a progress bar against [`declared_size`]).
pub fn extract_package_reporting(
    package: &Path,
    destination: &Path,
    limits: ExtractLimits,
    mut before: impl FnMut(Before<'_>) -> Result<(), HookError>,
    mut progress: impl FnMut(u64),
) -> Result<ExtractSummary, PackageError> {
    extract(
        package,
        destination,
        limits,
        true,
        &mut before,
        &mut progress,
    )
}

/// Extract, listing the entries first for the hook when `plan`.
fn extract(
    package: &Path,
    destination: &Path,
    limits: ExtractLimits,
    plan: bool,
    hook: &mut Hook<'_>,
    progress: &mut Progress<'_>,
) -> Result<ExtractSummary, PackageError> {
    let (format, file, package_len) = open(package)?;
    let (limit, kind) = limits.byte_limit(package_len);
    let file_count = match format {
        PackageFormat::Nupkg | PackageFormat::Zip => {
            let nuget = format == PackageFormat::Nupkg;
            let mut archive = open_zip(file, package)?;
            let declared = zip_declared_size(&mut archive, limits, package_len, package)?;
            let listed = plan
                .then(|| list_zip(&mut archive, nuget, package))
                .transpose()?;
            let mut writer = Writer::new(package, destination, limit, kind, hook, progress)?;
            writer.start(listed.as_deref())?;
            let files = extract_zip(&mut archive, &mut writer, nuget, package)?;
            inflate::write_zip_files(package, &mut archive, &files, declared, writer.shares())?;
            writer.finish()?
        }
        PackageFormat::TarGz | PackageFormat::Tar => {
            let listed = plan
                .then(|| list_tar(tar_reader(format, open(package)?.1), package))
                .transpose()?;
            let mut writer = Writer::new(package, destination, limit, kind, hook, progress)?;
            writer.start(listed.as_deref())?;
            extract_tar(tar_reader(format, file), &mut writer, package)?;
            writer.finish()?
        }
    };
    Ok(ExtractSummary { format, file_count })
}

/// A tar package's archive bytes: ungzipped for `.tar.gz`.
fn tar_reader(format: PackageFormat, file: File) -> Box<dyn Read> {
    match format {
        PackageFormat::TarGz => Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(file))),
        _ => Box::new(BufReader::new(file)),
    }
}

/// What `package` says it unpacks to, in bytes, read without unpacking it: a zip's central
/// directory, or a pass over a plain tar's headers; `None` for `.tar.gz`, which only unpacking
/// tells (the limits still stop it while it unpacks). Declarations over `limits` are refused.
pub fn declared_size(package: &Path, limits: ExtractLimits) -> Result<Option<u64>, PackageError> {
    let (format, file, package_len) = open(package)?;
    match format {
        PackageFormat::Nupkg | PackageFormat::Zip => {
            let mut archive = open_zip(file, package)?;
            zip_declared_size(&mut archive, limits, package_len, package).map(Some)
        }
        PackageFormat::Tar => {
            let total = tar_declared_size(BufReader::new(file), package)?;
            let (limit, kind) = limits.byte_limit(package_len);
            if total > limit {
                return Err(too_large(package, limit, kind));
            }
            Ok(Some(total))
        }
        PackageFormat::TarGz => Ok(None),
    }
}

/// The package's format (by extension), the open file and its length.
fn open(package: &Path) -> Result<(PackageFormat, File, u64), PackageError> {
    let file_name = package
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let format = PackageFormat::from_file_name(&file_name).ok_or_else(|| {
        PackageError::UnsupportedFormat {
            package: package.to_path_buf(),
        }
    })?;
    let file = File::open(package).map_err(|source| PackageError::Open {
        package: package.to_path_buf(),
        source,
    })?;
    let package_len = file.metadata().map(|m| m.len()).unwrap_or(0);
    Ok((format, file, package_len))
}

fn too_large(package: &Path, limit: u64, kind: Limit) -> PackageError {
    PackageError::TooLarge {
        package: package.to_path_buf(),
        limit,
        kind,
    }
}

type ZipReader = zip::ZipArchive<BufReader<File>>;

fn open_zip(file: File, package: &Path) -> Result<ZipReader, PackageError> {
    zip::ZipArchive::new(BufReader::new(file)).map_err(|e| read_error(package, "", e))
}

/// The sizes the central directory declares, added up, after checking each entry's
/// compression ratio and the total against the limits.
fn zip_declared_size(
    archive: &mut ZipReader,
    limits: ExtractLimits,
    package_len: u64,
    package: &Path,
) -> Result<u64, PackageError> {
    let mut total: u64 = 0;
    for index in 0..archive.len() {
        let entry = archive
            .by_index_raw(index)
            .map_err(|e| read_error(package, "", e))?;
        let (size, compressed) = (entry.size(), entry.compressed_size());
        if limits.entry_over_ratio(size, compressed) {
            return Err(PackageError::EntryTooCompressed {
                package: package.to_path_buf(),
                entry: String::from_utf8_lossy(entry.name_raw()).into_owned(),
                size,
                compressed,
                kind: limits.byte_limit(package_len).1,
            });
        }
        total = total.saturating_add(size);
    }
    let (limit, kind) = limits.byte_limit(package_len);
    if total > limit {
        return Err(too_large(package, limit, kind));
    }
    Ok(total)
}

/// The sizes a tar's headers declare, added up; the contents are skipped with seeks, not read.
fn tar_declared_size(
    reader: impl Read + std::io::Seek,
    package: &Path,
) -> Result<u64, PackageError> {
    let mut archive = tar::Archive::new(reader);
    let mut entries = archive
        .entries_with_seek()
        .map_err(|e| read_error(package, "", e))?;
    entries.try_fold(0u64, |total, entry| {
        let entry = entry.map_err(|e| read_error(package, "", e))?;
        Ok(total.saturating_add(entry.size()))
    })
}

/// Decode `%XX` escapes (NuGet part names, Octopus file-name escaping); the text is returned
/// unchanged when the decoded bytes are not UTF-8.
pub(crate) fn percent_decode(text: &str) -> String {
    if !text.contains('%') {
        return text.to_string();
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| text.to_string())
}

fn read_error(package: &Path, entry: &str, source: impl Into<io::Error>) -> PackageError {
    PackageError::Read {
        package: package.to_path_buf(),
        entry: entry.to_string(),
        source: source.into(),
    }
}

fn unsafe_name(package: &Path, entry: &str, reason: UnsafeReason) -> PackageError {
    PackageError::UnsafeEntry {
        package: package.to_path_buf(),
        entry: entry.to_string(),
        reason,
    }
}

/// The longest symbolic-link target read from a zip entry (Linux `PATH_MAX`).
const LINK_TARGET_LIMIT: u64 = 4096;

/// Whether Calamari's `NupkgExtractor` leaves this (decoded, `/`-separated) part out entirely.
fn is_nuget_metadata(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [
        "_rels/",
        "package/services/metadata/",
        "[content_types].xml",
    ]
    .iter()
    .any(|prefix| lower.starts_with(prefix))
        || lower.ends_with(".nupkg.sha512")
}

/// What a zip or NuGet package will write, read from its central directory without unpacking,
/// in archive order: each entry's path relative to the destination, as extraction names it.
fn list_zip(
    archive: &mut ZipReader,
    nuget: bool,
    package: &Path,
) -> Result<Vec<(PathBuf, Makes)>, PackageError> {
    let mut listed = Vec::new();
    for index in 0..archive.len() {
        let entry = archive
            .by_index_raw(index)
            .map_err(|e| read_error(package, "", e))?;
        if let Some((rel, _, makes)) = zip_entry(&entry, nuget, package)? {
            listed.push(match makes {
                ZipMakes::Dir => (rel.as_path().to_path_buf(), Makes::Dir),
                ZipMakes::ParentDir => (rel.parent().to_path_buf(), Makes::Dir),
                ZipMakes::Symlink => (rel.as_path().to_path_buf(), Makes::Symlink),
                ZipMakes::File => (rel.as_path().to_path_buf(), Makes::File),
            });
        }
    }
    Ok(listed)
}

/// What a tar package will write, in archive order (a pass over the headers: a `.tar.gz` is
/// unpacked to read them).
fn list_tar(reader: impl Read, package: &Path) -> Result<Vec<(PathBuf, Makes)>, PackageError> {
    let mut listed = Vec::new();
    each_tar_entry(reader, package, |entry, rel, raw| {
        if let Some(makes) = tar_makes(entry.header().entry_type(), package, raw)? {
            listed.push((rel.as_path().to_path_buf(), makes));
        }
        Ok(())
    })?;
    Ok(listed)
}

/// What one zip entry makes (a NuGet `.nuspec` stands for its directory).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ZipMakes {
    Dir,
    ParentDir,
    Symlink,
    File,
}

/// A zip entry's checked path, its raw name and what it makes; `None` for NuGet's own
/// metadata and names that denote the root.
fn zip_entry<R: Read>(
    entry: &zip::read::ZipFile<'_, R>,
    nuget: bool,
    package: &Path,
) -> Result<Option<(EntryPath, String, ZipMakes)>, PackageError> {
    let Some((rel, raw, name)) = zip_entry_path(entry, nuget, package)? else {
        return Ok(None);
    };
    let makes = if entry.is_dir() {
        ZipMakes::Dir
    } else if nuget && name.to_ascii_lowercase().ends_with(".nuspec") {
        ZipMakes::ParentDir
    } else if entry.is_symlink() {
        ZipMakes::Symlink
    } else {
        ZipMakes::File
    };
    Ok(Some((rel, raw, makes)))
}

/// A zip entry's checked path, its raw name and its name as extraction reads it (NuGet names
/// percent-decoded); `None` for NuGet's own metadata and names that denote the root.
fn zip_entry_path<R: Read>(
    entry: &zip::read::ZipFile<'_, R>,
    nuget: bool,
    package: &Path,
) -> Result<Option<(EntryPath, String, String)>, PackageError> {
    let raw = entry
        .name()
        .map_err(|e| read_error(package, "", e))?
        .into_owned();
    let name = if nuget {
        percent_decode(&raw).replace('\\', "/")
    } else {
        raw.clone()
    };
    if nuget && is_nuget_metadata(&name) {
        return Ok(None);
    }
    let rel = EntryPath::parse(&name).map_err(|reason| unsafe_name(package, &raw, reason))?;
    Ok(rel.map(|rel| (rel, raw, name)))
}

/// Make a zip's directories and links and prepare its files (paths checked, told to the hook),
/// in archive order; the files, with their entry indexes, are returned to be written.
fn extract_zip(
    archive: &mut ZipReader,
    writer: &mut Writer<'_, '_>,
    nuget: bool,
    package: &Path,
) -> Result<Vec<(usize, inflate::NewFile)>, PackageError> {
    let mut files = Vec::new();
    for index in 0..archive.len() {
        let mut entry = archive
            .by_index(index)
            .map_err(|e| read_error(package, "", e))?;
        let Some((rel, raw, makes)) = zip_entry(&entry, nuget, package)? else {
            continue;
        };
        let mode = entry.unix_mode();
        match makes {
            ZipMakes::Dir => writer.dir(rel.as_path(), mode)?,
            ZipMakes::ParentDir => writer.dir(rel.parent(), None)?,
            ZipMakes::Symlink => {
                let mut target = String::new();
                (&mut entry)
                    .take(LINK_TARGET_LIMIT)
                    .read_to_string(&mut target)
                    .map_err(|e| read_error(package, &raw, e))?;
                writer.symlink(&rel, &target)?;
            }
            ZipMakes::File => files.push((index, writer.prepare_file(&rel, mode)?)),
        }
    }
    Ok(files)
}

/// Call `visit` with each tar entry, its checked path and its raw name (names denoting the root
/// are skipped; a name that is not UTF-8 or not safe is refused).
fn each_tar_entry<R: Read>(
    reader: R,
    package: &Path,
    mut visit: impl FnMut(&mut tar::Entry<'_, R>, &EntryPath, &str) -> Result<(), PackageError>,
) -> Result<(), PackageError> {
    let mut archive = tar::Archive::new(reader);
    let entries = archive.entries().map_err(|e| read_error(package, "", e))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| read_error(package, "", e))?;
        let raw = String::from_utf8(entry.path_bytes().into_owned()).map_err(|e| {
            unsafe_name(
                package,
                &String::from_utf8_lossy(e.as_bytes()),
                UnsafeReason::NotUtf8,
            )
        })?;
        let Some(rel) =
            EntryPath::parse(&raw).map_err(|reason| unsafe_name(package, &raw, reason))?
        else {
            continue;
        };
        visit(&mut entry, &rel, &raw)?;
    }
    Ok(())
}

fn extract_tar(
    reader: impl Read,
    writer: &mut Writer<'_, '_>,
    package: &Path,
) -> Result<(), PackageError> {
    each_tar_entry(reader, package, |entry, rel, raw| {
        tar_entry(entry, rel, raw, writer, package)
    })
}

/// What a tar entry type makes; `None` for the headers that only describe the next entry.
fn tar_makes(
    kind: tar::EntryType,
    package: &Path,
    raw: &str,
) -> Result<Option<Makes>, PackageError> {
    use tar::EntryType as T;
    Ok(Some(match kind {
        T::Regular | T::Continuous | T::GNUSparse => Makes::File,
        T::Directory => Makes::Dir,
        T::Symlink => Makes::Symlink,
        T::Link => Makes::HardLink,
        T::Char | T::Block | T::Fifo => {
            return Err(unsafe_name(package, raw, UnsafeReason::DeviceFile));
        }
        T::XGlobalHeader | T::XHeader | T::GNULongName | T::GNULongLink => return Ok(None),
        other => {
            let reason = UnsafeReason::UnsupportedType(other.as_byte());
            return Err(unsafe_name(package, raw, reason));
        }
    }))
}

fn tar_entry<R: Read>(
    entry: &mut tar::Entry<'_, R>,
    rel: &EntryPath,
    raw: &str,
    writer: &mut Writer<'_, '_>,
    package: &Path,
) -> Result<(), PackageError> {
    let mode = entry.header().mode().ok();
    let Some(makes) = tar_makes(entry.header().entry_type(), package, raw)? else {
        return Ok(());
    };
    let target = || {
        let target = entry.link_name_bytes();
        target.map_or_else(String::new, |t| String::from_utf8_lossy(&t).into_owned())
    };
    match makes {
        Makes::File => writer.file(rel, entry, mode),
        Makes::Dir => writer.dir(rel.as_path(), mode),
        Makes::Symlink => writer.symlink(rel, &target()),
        Makes::HardLink => writer.hard_link(rel, &target()),
    }
}
