//! The only code that writes an extracted package to disk: it turns archive entry names into safe
//! relative paths, refuses anything that could land outside the destination, tells the caller's
//! hook about every path before creating it, and counts the files.
//!
//! Rules: entry names use `/` or `\`; absolute names, drive letters and `..` are refused; nothing
//! is written beneath a symbolic link, or over one; a symbolic link may only point inside the
//! destination, resolved against the links already on disk (`path_safety`), and every link is
//! checked again once the package is complete, since a later entry can change the way an
//! earlier link resolves; hard links must name an earlier entry; Unix permission bits are kept except
//! set-id, sticky, group-write and other-write (archives made on a laptop often carry 0666/0777),
//! and a file that replaces one keeps the mode of the file it replaced;
//! directories stay owner-writable so later entries can land in them.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

use super::inflate::{Budget, NewFile, Permissions, Progress, set_mode};
use super::{Before, EntryKind, HookError, Limit, PackageError, UnsafeReason};
use crate::path_safety;

/// Permission bits taken from an archive: rwx for the owner, r-x for group and others.
const KEPT_MODE_BITS: u32 = 0o755;

/// The caller's hook, told every path before it is created or overwritten.
pub(super) type Hook<'h> = dyn FnMut(Before<'_>) -> Result<(), HookError> + 'h;

/// What one archive entry makes, as the listing before extraction names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Makes {
    /// A directory.
    Dir,
    /// A regular file, which may replace one.
    File,
    /// A symbolic link, which replaces nothing.
    Symlink,
    /// A hard link to an earlier entry, which replaces nothing.
    HardLink,
}

/// Writes entries of one package below one destination directory.
pub(super) struct Writer<'a, 'h> {
    package: &'a Path,
    root: PathBuf,
    /// The destination and its ancestors that do not exist yet, outermost first.
    unmade_root: Vec<PathBuf>,
    hook: &'a mut Hook<'h>,
    progress: &'a mut Progress<'h>,
    files: u64,
    /// The paths the hook was told about in one go ([`Before::All`]), not told again.
    planned: HashSet<PathBuf>,
    /// The permissions of the files the plan will replace: the hook moves them aside before
    /// anything is written, and their replacements keep them.
    kept: HashMap<PathBuf, fs::Permissions>,
    /// The symbolic links written, relative to the root, to check once all entries are there.
    links: Vec<PathBuf>,
    /// The bytes all files may take.
    budget: Budget<'a>,
}

/// A checked entry name: normal components only, at least one.
pub(super) struct EntryPath(PathBuf);

impl EntryPath {
    /// Check an archive entry name; `Ok(None)` for names that denote the root itself (`./`).
    pub(super) fn parse(name: &str) -> Result<Option<Self>, UnsafeReason> {
        let name = name.replace('\\', "/");
        if name.starts_with('/') || has_drive_letter(&name) {
            return Err(UnsafeReason::Absolute);
        }
        let mut path = PathBuf::new();
        for part in name.split('/') {
            match part {
                "" | "." => {}
                ".." => return Err(UnsafeReason::ParentTraversal),
                part => {
                    refuse_windows_name(part)?;
                    path.push(part)
                }
            }
        }
        Ok((!path.as_os_str().is_empty()).then_some(Self(path)))
    }

    /// The entry's relative path.
    pub(super) fn as_path(&self) -> &Path {
        &self.0
    }

    /// The directory holding this entry (may be empty: the root).
    pub(super) fn parent(&self) -> &Path {
        self.0.parent().unwrap_or(Path::new(""))
    }
}

/// On Windows, refuse a name Windows would take for a device, a stream or another name.
fn refuse_windows_name(part: &str) -> Result<(), UnsafeReason> {
    match crate::path_safety::windows_name_problem(part) {
        Some(why) if cfg!(windows) => Err(UnsafeReason::WindowsName {
            name: part.to_string(),
            why,
        }),
        _ => Ok(()),
    }
}

fn has_drive_letter(name: &str) -> bool {
    let bytes = name.as_bytes();
    bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':'
}

impl<'a, 'h> Writer<'a, 'h> {
    /// Prepare to write at most `limit` bytes of files into `destination` (`kind` says which
    /// limit that is); it and its missing ancestors are made by [`Writer::start`].
    pub(super) fn new(
        package: &'a Path,
        destination: &Path,
        limit: u64,
        kind: Limit,
        hook: &'a mut Hook<'h>,
        progress: &'a mut Progress<'h>,
    ) -> Result<Self, PackageError> {
        let mut unmade_root = Vec::new();
        let mut cursor = Some(destination);
        while let Some(dir) = cursor.filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
            unmade_root.push(dir.to_path_buf());
            cursor = dir.parent();
        }
        unmade_root.reverse();
        let writer = Self {
            package,
            root: destination.to_path_buf(),
            unmade_root,
            hook,
            progress,
            files: 0,
            planned: HashSet::new(),
            kept: HashMap::new(),
            links: Vec::new(),
            budget: Budget::new(package, limit, kind),
        };
        if writer.unmade_root.is_empty() && !destination.is_dir() {
            let problem = "a file stands where a directory is needed";
            return Err(writer.conflict(destination, problem));
        }
        Ok(writer)
    }

    /// Plan the `listed` entries, if given ([`Writer::plan`]), then create the destination and
    /// its missing ancestors.
    pub(super) fn start(
        &mut self,
        listed: Option<&[(PathBuf, Makes)]>,
    ) -> Result<(), PackageError> {
        if let Some(listed) = listed {
            self.plan(listed)?;
        }
        for dir in std::mem::take(&mut self.unmade_root) {
            self.create_dir(&dir)?;
        }
        Ok(())
    }

    /// Check that every link written still resolves inside the root; returns how many files
    /// (regular files and links) were written.
    pub(super) fn finish(self) -> Result<u64, PackageError> {
        match path_safety::check_links_beneath(&self.root, &self.links) {
            Ok(()) => Ok(self.files),
            Err((link, _)) => {
                let target = fs::read_link(self.root.join(&link)).unwrap_or_default();
                Err(PackageError::UnsafeEntry {
                    package: self.package.to_path_buf(),
                    entry: link.display().to_string(),
                    reason: UnsafeReason::LinkEscapes {
                        target: target.display().to_string(),
                    },
                })
            }
        }
    }

    /// Check every entry listed (relative paths, in archive order) against the destination as
    /// it is now, as writing it would (nothing beneath or over a link, nothing in the way, nothing
    /// beneath a link the package itself makes), remember the permissions of each file it will
    /// replace, and tell the hook in one go every directory (the destination's first) and file
    /// it will make.
    pub(super) fn plan(&mut self, entries: &[(PathBuf, Makes)]) -> Result<(), PackageError> {
        let links: HashSet<&Path> = entries
            .iter()
            .filter(|(_, makes)| *makes == Makes::Symlink)
            .map(|(rel, _)| rel.as_path())
            .collect();
        let (mut dirs, mut leaves) = (self.unmade_root.clone(), Vec::new());
        for (rel, makes) in entries {
            if rel.ancestors().skip(1).any(|a| links.contains(a)) {
                return Err(self.through_link(rel));
            }
            let kind = match makes {
                Makes::Dir => {
                    dirs.extend(self.missing_dirs(rel)?);
                    continue;
                }
                Makes::File | Makes::HardLink => EntryKind::File,
                Makes::Symlink => EntryKind::Symlink,
            };
            dirs.extend(self.missing_dirs(rel.parent().unwrap_or(Path::new("")))?);
            let path = self.root.join(rel);
            if let Existing::File(meta) = self.leaf(&path, *makes == Makes::File)? {
                self.kept.insert(path.clone(), meta.permissions());
            }
            leaves.push((path, kind));
        }
        let mut seen = HashSet::new();
        dirs.retain(|dir| seen.insert(dir.clone()));
        let all: Vec<(PathBuf, EntryKind)> = dirs
            .into_iter()
            .map(|dir| (dir, EntryKind::Directory))
            .chain(leaves)
            .collect();
        (self.hook)(Before::All(&all)).map_err(|source| self.hook_error(&self.root, source))?;
        self.planned = all.into_iter().map(|(path, _)| path).collect();
        Ok(())
    }

    /// Make sure the directory `rel` (relative to the root) exists.
    pub(super) fn dir(&mut self, rel: &Path, mode: Option<u32>) -> Result<(), PackageError> {
        for missing in self.missing_dirs(rel)? {
            self.create_dir(&missing)?;
        }
        if let Some(mode) = mode {
            let path = self.root.join(rel);
            set_mode(&path, (mode & KEPT_MODE_BITS) | 0o700)
                .map_err(|e| self.write_error(&path, e))?;
        }
        Ok(())
    }

    /// The directories on the way to `rel` (itself included) that are missing, outermost first;
    /// a link or a file on the way is refused.
    fn missing_dirs(&self, rel: &Path) -> Result<Vec<PathBuf>, PackageError> {
        let mut path = self.root.clone();
        let mut missing = Vec::new();
        for component in rel.components() {
            let Component::Normal(part) = component else {
                continue;
            };
            path.push(part);
            if !missing.is_empty() {
                // Beneath a missing directory nothing can be in the way.
                missing.push(path.clone());
                continue;
            }
            match fs::symlink_metadata(&path) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => missing.push(path.clone()),
                Err(source) => return Err(self.write_error(&path, source)),
                Ok(meta) if meta.file_type().is_symlink() => return Err(self.through_link(rel)),
                Ok(meta) if meta.is_dir() => {}
                Ok(_) => {
                    return Err(self.conflict(&path, "a file stands where a directory is needed"));
                }
            }
        }
        Ok(missing)
    }

    /// Write a regular file from `contents`.
    pub(super) fn file(
        &mut self,
        rel: &EntryPath,
        contents: &mut dyn Read,
        mode: Option<u32>,
    ) -> Result<(), PackageError> {
        let file = self.prepare_file(rel, mode)?;
        let (budget, progress) = (&self.budget, &mut self.progress);
        file.write(contents, budget, &mut |_| progress(budget.written()))
    }

    /// Check a regular file's path and tell the hook, so that its contents can be written
    /// (perhaps on another thread: [`NewFile::write`]) once the other entries are in place.
    pub(super) fn prepare_file(
        &mut self,
        rel: &EntryPath,
        mode: Option<u32>,
    ) -> Result<NewFile, PackageError> {
        let (path, existing) = self.prepare_leaf(rel, true)?;
        // A file replaced keeps its own mode: an operator who made a settings file holding a
        // password `0600` keeps it so when the next version is installed over it.
        let replaced = match &existing {
            Existing::File(meta) => Some(meta.permissions()),
            _ => self.kept.get(&path).cloned(),
        };
        self.before(&path, EntryKind::File)?;
        self.remove_link(&path, &existing)?;
        self.files += 1;
        let permissions = match (replaced, mode) {
            (Some(permissions), _) => Permissions::Kept(permissions),
            (None, Some(mode)) => Permissions::Mode(mode & KEPT_MODE_BITS),
            (None, None) => Permissions::Default,
        };
        Ok(NewFile::new(rel.0.clone(), path, permissions))
    }

    /// The byte budget the files share, and the caller's progress, for writing prepared files.
    pub(super) fn shares(&mut self) -> (&Budget<'a>, &mut Progress<'h>) {
        (&self.budget, self.progress)
    }

    /// Create a symbolic link `rel` → `target`, if the target stays inside the root.
    pub(super) fn symlink(&mut self, rel: &EntryPath, target: &str) -> Result<(), PackageError> {
        if !self.link_stays_inside(rel.parent(), target) {
            let reason = UnsafeReason::LinkEscapes {
                target: target.to_string(),
            };
            return Err(self.unsafe_entry(rel, reason));
        }
        let (path, existing) = self.prepare_leaf(rel, false)?;
        self.before(&path, EntryKind::Symlink)?;
        self.remove_link(&path, &existing)?;
        make_symlink(target, &path).map_err(|e| self.write_error(&path, e))?;
        self.links.push(rel.0.clone());
        self.files += 1;
        Ok(())
    }

    /// Create a hard link `rel` to the earlier entry `target` (an archive-relative name).
    pub(super) fn hard_link(&mut self, rel: &EntryPath, target: &str) -> Result<(), PackageError> {
        let escapes = || UnsafeReason::LinkEscapes {
            target: target.to_string(),
        };
        let target_rel = match EntryPath::parse(target) {
            Ok(Some(target_rel)) => target_rel,
            _ => return Err(self.unsafe_entry(rel, escapes())),
        };
        let source = self.root.join(&target_rel.0);
        let is_file = fs::symlink_metadata(&source).is_ok_and(|m| m.is_file());
        if !is_file || self.has_link_ancestor(target_rel.parent()) {
            return Err(self.unsafe_entry(rel, escapes()));
        }
        let (path, existing) = self.prepare_leaf(rel, false)?;
        self.before(&path, EntryKind::File)?;
        self.remove_link(&path, &existing)?;
        fs::hard_link(&source, &path).map_err(|source| self.write_error(&path, source))?;
        self.files += 1;
        Ok(())
    }

    /// Create the parent, then check what is at the entry's own path (see [`Writer::leaf`]).
    fn prepare_leaf(
        &mut self,
        rel: &EntryPath,
        may_overwrite: bool,
    ) -> Result<(PathBuf, Existing), PackageError> {
        self.dir(rel.parent(), None)?;
        let path = self.root.join(&rel.0);
        let existing = self.leaf(&path, may_overwrite)?;
        Ok((path, existing))
    }

    /// What is at an entry's own `path`: nothing, a symbolic link (which the entry replaces as
    /// itself: the package's own links when it is installed again, or a link put in a file's
    /// place, never followed), or (when `may_overwrite`) a regular file; anything else is in
    /// the way.
    fn leaf(&self, path: &Path, may_overwrite: bool) -> Result<Existing, PackageError> {
        match fs::symlink_metadata(path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Existing::Nothing),
            Err(source) => Err(self.write_error(path, source)),
            Ok(meta) if meta.file_type().is_symlink() => Ok(Existing::Link),
            Ok(meta) if meta.is_file() && may_overwrite => Ok(Existing::File(meta)),
            Ok(_) => Err(self.conflict(path, "something already exists at this path")),
        }
    }

    /// After the hook (a transaction moves what an entry replaces aside, links as links), remove
    /// the link that stood at the entry's path if it still does: the entry replaces the link
    /// itself, and writing or linking there would otherwise fail (files are opened without
    /// following links).
    fn remove_link(&self, path: &Path, existing: &Existing) -> Result<(), PackageError> {
        let still_there = || fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
        if !matches!(existing, Existing::Link) || !still_there() {
            return Ok(());
        }
        let removed = fs::remove_file(path);
        // Windows removes a link to a directory as a directory.
        #[cfg(windows)]
        let removed = removed.or_else(|_| fs::remove_dir(path));
        removed.map_err(|source| self.write_error(path, source))
    }

    /// Whether `target` (`/` or `\\` separated), resolved on disk from the directory `parent`
    /// (relative to the root), stays inside the root.
    fn link_stays_inside(&self, parent: &Path, target: &str) -> bool {
        let target = target.replace('\\', "/");
        !target.is_empty()
            && !has_drive_letter(&target)
            && path_safety::resolve_beneath(&self.root, parent, Path::new(&target)).is_ok()
    }

    fn has_link_ancestor(&self, rel: &Path) -> bool {
        let mut path = self.root.clone();
        rel.components().any(|c| {
            path.push(c);
            fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink())
        })
    }

    /// Tell the hook about `path`, unless the plan already did.
    fn before(&mut self, path: &Path, kind: EntryKind) -> Result<(), PackageError> {
        if self.planned.contains(path) {
            return Ok(());
        }
        (self.hook)(Before::One(path, kind)).map_err(|source| self.hook_error(path, source))
    }

    fn create_dir(&mut self, path: &Path) -> Result<(), PackageError> {
        self.before(path, EntryKind::Directory)?;
        // The hook may have made the directory itself (a rollback transaction records and creates
        // it in one call); what matters is that a real directory stands there now.
        match fs::create_dir(path) {
            Err(e)
                if e.kind() == io::ErrorKind::AlreadyExists
                    && fs::symlink_metadata(path).is_ok_and(|m| m.is_dir()) =>
            {
                Ok(())
            }
            result => result.map_err(|source| self.write_error(path, source)),
        }
    }

    pub(super) fn unsafe_entry(&self, rel: &EntryPath, reason: UnsafeReason) -> PackageError {
        PackageError::UnsafeEntry {
            package: self.package.to_path_buf(),
            entry: rel.0.display().to_string(),
            reason,
        }
    }

    fn through_link(&self, rel: &Path) -> PackageError {
        PackageError::UnsafeEntry {
            package: self.package.to_path_buf(),
            entry: rel.display().to_string(),
            reason: UnsafeReason::ThroughSymlink,
        }
    }

    fn conflict(&self, path: &Path, problem: &'static str) -> PackageError {
        PackageError::Conflict {
            package: self.package.to_path_buf(),
            path: path.to_path_buf(),
            problem,
        }
    }

    fn write_error(&self, path: &Path, source: io::Error) -> PackageError {
        PackageError::Write {
            package: self.package.to_path_buf(),
            path: path.to_path_buf(),
            source,
        }
    }

    fn hook_error(&self, path: &Path, source: HookError) -> PackageError {
        PackageError::Hook {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// What stands at an entry's own path before the entry is written ([`Writer::leaf`]).
enum Existing {
    Nothing,
    Link,
    /// A regular file, replaced: its metadata (its mode is kept).
    File(fs::Metadata),
}

#[cfg(unix)]
fn make_symlink(target: &str, path: &Path) -> io::Result<()> {
    std::os::unix::fs::symlink(target, path)
}

#[cfg(not(unix))]
fn make_symlink(_target: &str, _path: &Path) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "symbolic links in packages need Unix",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names_are_normalised_or_refused() {
        let ok = |name: &str| EntryPath::parse(name).unwrap().map(|p| p.0);
        assert_eq!(ok("a/b/c.txt"), Some(PathBuf::from("a/b/c.txt")));
        assert_eq!(ok("a\\b\\c.txt"), Some(PathBuf::from("a/b/c.txt")));
        assert_eq!(ok("./a//b/"), Some(PathBuf::from("a/b")));
        assert_eq!(ok("./"), None);
        for (name, reason) in [
            ("/etc/passwd", UnsafeReason::Absolute),
            ("\\\\server\\share\\x", UnsafeReason::Absolute),
            ("C:/Windows/x", UnsafeReason::Absolute),
            ("../x", UnsafeReason::ParentTraversal),
            ("a/../../x", UnsafeReason::ParentTraversal),
            ("a\\..\\x", UnsafeReason::ParentTraversal),
        ] {
            assert_eq!(EntryPath::parse(name).err(), Some(reason), "{name}");
        }
    }

    #[test]
    fn names_windows_would_reinterpret_are_refused_there_only() {
        for name in ["bin/CON", "nul.txt", "web.config:secret", "logs./a"] {
            let parsed = EntryPath::parse(name);
            match cfg!(windows) {
                true => assert!(
                    matches!(parsed, Err(UnsafeReason::WindowsName { .. })),
                    "{name}"
                ),
                false => assert!(parsed.is_ok(), "{name}: a valid name on this platform"),
            }
        }
    }
}
