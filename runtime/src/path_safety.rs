//! Path safety against what is on disk, not against spelling: the one place that decides whether
//! a link stays inside its root, which real file a path inside a root names, and whether the
//! directories on the way to a path can be trusted.
//!
//! Why on disk: a lexical check ("`../a/up/../../x` stays inside") is fooled by links already in
//! the tree (`a/up -> ../..`), and a directory another user can write lets them plant a link on
//! the way to a destination between the vendor's plan and the install. The rules:
//!
//! * [`resolve_beneath`] follows the links it meets inside the root, as the kernel would, and
//!   refuses any resolution that leaves the root (absolute targets, too many `..`, loops).
//! * [`real_file_beneath`] turns a path inside a root into the path of the real file it names, a
//!   path with no link in it, so that reads, writes and backups touch the file itself.
//! * [`check_trusted_ancestors`] refuses a path when a directory on its way can be written by
//!   someone other than root and the installing user (the owner is named in the error).
//!
//! These checks look, then the caller acts by path: what keeps a process from racing the
//! installer between the two is that every directory involved is checked with
//! [`check_trusted_ancestors`] (the destinations by preflight, the directory of every change by
//! the transaction), so only root and the installing user could.

use std::io;
use std::path::{Component, Path, PathBuf};

/// Links followed in one resolution before it counts as a loop (Linux's `MAXSYMLINKS`).
const MAX_LINK_HOPS: usize = 40;

/// Why a path is not safe.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unsafe {
    #[error("it leads outside `{root}`")]
    Escapes { root: PathBuf },
    #[error("it points to an absolute path")]
    Absolute,
    #[error("its links form a loop")]
    Loop,
    #[error("`{path}` is not a directory")]
    NotADirectory { path: PathBuf },
    #[error(
        "`{path}` on the way to it can be changed by {who}: a link planted there would redirect \
         the install; make it writable only by root, or choose another location"
    )]
    UntrustedAncestor { path: PathBuf, who: String },
    #[error("inspecting `{path}`: {reason}")]
    Io { path: PathBuf, reason: String },
}

/// Resolve `target`, the target of a link whose directory is `link_dir` (relative to `root`),
/// against what is on disk beneath `root`. Returns the resolved path relative to `root`; links on
/// the way are followed (and must stay inside too); components that do not exist yet are taken
/// as written.
pub fn resolve_beneath(root: &Path, link_dir: &Path, target: &Path) -> Result<PathBuf, Unsafe> {
    let mut resolved = Vec::new();
    for component in link_dir.components() {
        match component {
            Component::Normal(part) => resolved.push(part.to_os_string()),
            _ => return Err(Unsafe::Escapes { root: root.into() }),
        }
    }
    let mut hops = 0;
    walk(root, &mut resolved, target, &mut hops)?;
    Ok(resolved.iter().collect())
}

/// Check again, once a tree is complete, that every link in `links` (paths relative to `root`)
/// resolves inside `root`: an entry written after a link can change what the link means (a
/// directory the link passes through replaced by another link). Returns the first that leaves.
pub fn check_links_beneath(root: &Path, links: &[PathBuf]) -> Result<(), (PathBuf, Unsafe)> {
    for link in links {
        let dir = link.parent().unwrap_or(Path::new(""));
        let fail = |why| (link.clone(), why);
        let target = std::fs::read_link(root.join(link)).map_err(|e| fail(io_error(link, &e)))?;
        resolve_beneath(root, dir, &target).map_err(fail)?;
    }
    Ok(())
}

/// The real file `path` names, `path` being inside `root`: every link on the way (the last
/// component included) is followed beneath `root`, and the result is a path without links.
pub fn real_file_beneath(root: &Path, path: &Path) -> Result<PathBuf, Unsafe> {
    let relative = path
        .strip_prefix(root)
        .map_err(|_| Unsafe::Escapes { root: root.into() })?;
    Ok(root.join(resolve_beneath(root, Path::new(""), relative)?))
}

/// Follow `target` from `resolved` (components relative to `root`), link by link.
fn walk(
    root: &Path,
    resolved: &mut Vec<std::ffi::OsString>,
    target: &Path,
    hops: &mut usize,
) -> Result<(), Unsafe> {
    for component in target.components() {
        match component {
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => return Err(Unsafe::Absolute),
            Component::ParentDir => {
                if resolved.pop().is_none() {
                    return Err(Unsafe::Escapes { root: root.into() });
                }
            }
            Component::Normal(part) => {
                resolved.push(part.to_os_string());
                let at: PathBuf = root.join(resolved.iter().collect::<PathBuf>());
                let Some(link) = read_link(&at)? else {
                    continue;
                };
                *hops += 1;
                if *hops > MAX_LINK_HOPS {
                    return Err(Unsafe::Loop);
                }
                resolved.pop();
                walk(root, resolved, &link, hops)?;
            }
        }
    }
    Ok(())
}

/// The target of the link at `path`; `None` when `path` is not a link or does not exist.
fn read_link(path: &Path) -> Result<Option<PathBuf>, Unsafe> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => std::fs::read_link(path)
            .map(Some)
            .map_err(|e| io_error(path, &e)),
        Ok(_) => Ok(None),
        Err(e) if is_absent(&e) => Ok(None),
        Err(e) => Err(io_error(path, &e)),
    }
}

/// Refuse `path` when a directory on its way (existing ancestors, `path` itself if it exists)
/// can be written by a user other than root and the installing user, unless it is sticky
/// (`/tmp`) and the next directory on the way already exists and is trusted. Links on the way
/// must belong to root or the installing user, and are followed.
pub fn check_trusted_ancestors(path: &Path) -> Result<(), Unsafe> {
    trust::check(path)
}

/// Refuse a directory that anyone but root and the installing user could write or own (a state
/// directory: what is in it steers `resume` and `rollback`), after checking its ancestors.
pub fn check_private_dir(dir: &Path) -> Result<(), Unsafe> {
    check_trusted_ancestors(dir)?;
    trust::check_private(dir)
}

/// Why `name` (one path component) cannot name a file on Windows, where the installer refuses
/// it rather than let Windows reinterpret it: a device name (`CON`, `NUL`, `COM1`, … with or
/// without an extension) opens the device, `a:b` names a hidden stream of `a`, a trailing dot or
/// space is silently dropped (two entries become one), and `<>"|?*` and control characters are
/// refused by Windows itself, midway through an install.
pub fn windows_name_problem(name: &str) -> Option<&'static str> {
    const DEVICES: [&str; 6] = ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"];
    let stem = name.split('.').next().unwrap_or(name).trim_end_matches(' ');
    let upper = stem.to_ascii_uppercase();
    let numbered = |prefix: &str| {
        upper.strip_prefix(prefix).is_some_and(|n| {
            matches!(
                n,
                "1" | "2" | "3" | "4" | "5" | "6" | "7" | "8" | "9" | "¹" | "²" | "³"
            )
        })
    };
    if DEVICES.contains(&upper.as_str()) || numbered("COM") || numbered("LPT") {
        Some("it is a device name on Windows")
    } else if name.contains(':') {
        Some("`:` names an alternate data stream on Windows")
    } else if name.ends_with('.') || name.ends_with(' ') {
        Some("Windows drops a trailing dot or space")
    } else if name
        .chars()
        .any(|c| "<>\"|?*".contains(c) || c.is_control())
    {
        Some("it holds a character Windows does not allow in a name")
    } else {
        None
    }
}

fn is_absent(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    )
}

fn io_error(path: &Path, error: &io::Error) -> Unsafe {
    Unsafe::Io {
        path: path.to_path_buf(),
        reason: error.to_string(),
    }
}

#[cfg(unix)]
mod trust {
    use super::{MAX_LINK_HOPS, Unsafe, io_error, is_absent};
    use std::collections::VecDeque;
    use std::ffi::OsString;
    use std::os::unix::fs::MetadataExt;
    use std::path::{Component, Path, PathBuf};

    const GROUP_WRITE: u32 = 0o020;
    const OTHER_WRITE: u32 = 0o002;
    const STICKY: u32 = 0o1000;

    /// One step of a path still to walk.
    enum Part {
        Root,
        Parent,
        Name(OsString),
    }

    fn parts(path: &Path) -> Vec<Part> {
        path.components()
            .filter_map(|c| match c {
                Component::RootDir => Some(Part::Root),
                Component::ParentDir => Some(Part::Parent),
                Component::Normal(name) => Some(Part::Name(name.to_os_string())),
                Component::CurDir | Component::Prefix(_) => None,
            })
            .collect()
    }

    /// Walk `path` from `/` as the kernel would, checking each directory and link on the way.
    pub(super) fn check(path: &Path) -> Result<(), Unsafe> {
        let absolute = std::path::absolute(path).map_err(|e| io_error(path, &e))?;
        let mut queue: VecDeque<Part> = parts(&absolute).into();
        let mut at = PathBuf::from("/");
        let mut shared = check_dir(&at)?;
        let mut hops = 0;
        while let Some(part) = queue.pop_front() {
            let name = match part {
                Part::Root => {
                    at = PathBuf::from("/");
                    shared = check_dir(&at)?;
                    continue;
                }
                Part::Parent => {
                    at.pop();
                    shared = check_dir(&at)?;
                    continue;
                }
                Part::Name(name) => name,
            };
            let candidate = at.join(&name);
            let meta = match std::fs::symlink_metadata(&candidate) {
                Ok(meta) => meta,
                // The installer creates the rest itself: fine unless others could have
                // planted it first.
                Err(e) if is_absent(&e) && shared => {
                    return Err(untrusted(
                        &at,
                        "every local user (a shared directory such as /tmp)",
                    ));
                }
                Err(e) if is_absent(&e) => return Ok(()),
                Err(e) => return Err(io_error(&candidate, &e)),
            };
            if meta.file_type().is_symlink() {
                check_owner(&candidate, meta.uid())?;
                hops += 1;
                if hops > MAX_LINK_HOPS {
                    return Err(Unsafe::Loop);
                }
                let target =
                    std::fs::read_link(&candidate).map_err(|e| io_error(&candidate, &e))?;
                for part in parts(&target).into_iter().rev() {
                    queue.push_front(part);
                }
                continue;
            }
            if !meta.is_dir() {
                // A file at the end; anywhere else the caller's own operation reports it.
                return Ok(());
            }
            shared = check_dir_meta(&candidate, &meta)?;
            at = candidate;
        }
        Ok(())
    }

    pub(super) fn check_private(dir: &Path) -> Result<(), Unsafe> {
        let meta = std::fs::metadata(dir).map_err(|e| io_error(dir, &e))?;
        check_owner(dir, meta.uid())?;
        if meta.mode() & (GROUP_WRITE | OTHER_WRITE) != 0 {
            return Err(untrusted(
                dir,
                "users other than its owner (it is group- or world-writable)",
            ));
        }
        Ok(())
    }

    fn check_dir(dir: &Path) -> Result<bool, Unsafe> {
        let meta = std::fs::metadata(dir).map_err(|e| io_error(dir, &e))?;
        check_dir_meta(dir, &meta)
    }

    /// Check one directory. A directory others can write is refused, unless it is sticky: then
    /// others cannot replace what they do not own in it, and `true` says the next step must
    /// already exist and be trusted.
    fn check_dir_meta(dir: &Path, meta: &std::fs::Metadata) -> Result<bool, Unsafe> {
        check_owner(dir, meta.uid())?;
        let mode = meta.mode();
        let group_writable = mode & GROUP_WRITE != 0 && meta.gid() != 0;
        let other_writable = mode & OTHER_WRITE != 0;
        if !(group_writable || other_writable) {
            return Ok(false);
        }
        if mode & STICKY != 0 {
            return Ok(true);
        }
        let who = if other_writable {
            "every local user".to_string()
        } else {
            format!("the members of group {}", meta.gid())
        };
        Err(untrusted(dir, &who))
    }

    fn check_owner(path: &Path, uid: u32) -> Result<(), Unsafe> {
        // The user this process runs as does not change during a run: asked once, not for
        // every directory of every step.
        static ME: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = *ME.get_or_init(|| unsafe { libc::geteuid() });
        if uid == 0 || uid == me {
            return Ok(());
        }
        Err(untrusted(path, &format!("its owner, user {uid}")))
    }

    fn untrusted(path: &Path, who: &str) -> Unsafe {
        Unsafe::UntrustedAncestor {
            path: path.to_path_buf(),
            who: who.to_string(),
        }
    }
}

#[cfg(windows)]
mod trust {
    use super::Unsafe;
    use std::path::Path;

    /// Known gap: the ACLs of the directories on the way to a destination are not inspected
    /// (Windows lets users add folders to `C:\`; what would make one unsafe is subtler than a
    /// mode bit).
    pub(super) fn check(_path: &Path) -> Result<(), Unsafe> {
        Ok(())
    }

    /// Refuse a directory whose DACL lets anyone but the installing user, SYSTEM,
    /// Administrators and TrustedInstaller write into it or change its permissions.
    pub(super) fn check_private(dir: &Path) -> Result<(), Unsafe> {
        match crate::windows_acl::other_writers(dir) {
            Ok(writers) if writers.is_empty() => Ok(()),
            Ok(writers) => Err(Unsafe::UntrustedAncestor {
                path: dir.to_path_buf(),
                who: writers.join(", "),
            }),
            Err(e) => Err(super::io_error(dir, &e)),
        }
    }
}

// On every platform: the names are refused on Windows, and the rule is the same text everywhere.
#[cfg(test)]
mod windows_name_tests {
    use super::windows_name_problem;

    #[test]
    fn names_windows_would_reinterpret_are_found() {
        for name in [
            "CON",
            "con",
            "nul.txt",
            "Aux.tar.gz",
            "COM1",
            "lpt9.log",
            "COM²",
            "CONOUT$",
            "NUL ",
            "file:stream",
            "web.config:$DATA",
            "trailing.",
            "trailing ",
            "a<b",
            "what?",
            "tab\t",
        ] {
            assert!(windows_name_problem(name).is_some(), "{name}");
        }
        for name in [
            "CONFIG",
            "console.log",
            "com10",
            "COM0",
            "nullable.dll",
            "aux_data",
            "a.b",
        ] {
            assert_eq!(windows_name_problem(name), None, "{name}");
        }
    }
}

// Symlinks and modes: Unix only.
#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a/b/c/d/e/f/g/h")).unwrap();
        std::fs::create_dir_all(dir.path().join("config")).unwrap();
        std::fs::create_dir_all(dir.path().join("bin")).unwrap();
        dir
    }

    #[test]
    fn plain_targets_resolve_from_the_link_directory() {
        let dir = tree();
        let root = dir.path();
        let to = |d: &str, t: &str| resolve_beneath(root, Path::new(d), Path::new(t));
        assert_eq!(to("bin", "../config/x"), Ok(PathBuf::from("config/x")));
        assert_eq!(to("", "a/./b"), Ok(PathBuf::from("a/b")));
        assert!(matches!(to("", "../x"), Err(Unsafe::Escapes { .. })));
        assert!(matches!(to("a", "/etc/passwd"), Err(Unsafe::Absolute)));
    }

    #[test]
    fn chained_links_that_pass_a_lexical_check_are_refused() {
        let dir = tree();
        let root = dir.path();
        symlink("../../../../../../../..", root.join("a/b/c/d/e/f/g/h/up")).unwrap();
        let target = "../a/b/c/d/e/f/g/h/up/../../../../../../../../../tmp/victim.conf";
        let result = resolve_beneath(root, Path::new("config"), Path::new(target));
        assert!(matches!(result, Err(Unsafe::Escapes { .. })), "{result:?}");
        // The first link alone stays inside: it names the root.
        let up = resolve_beneath(root, Path::new(""), Path::new("a/b/c/d/e/f/g/h/up"));
        assert_eq!(up, Ok(PathBuf::new()));
    }

    #[test]
    fn a_link_whose_way_changes_after_it_was_written_is_caught() {
        let dir = tree();
        let root = dir.path();
        // Written first, while `x` does not exist: resolves inside.
        symlink("x/../../../../etc", root.join("a/b/c/d/e/late")).unwrap();
        let early = resolve_beneath(root, Path::new("a/b/c/d/e"), Path::new("x/../../../../etc"));
        assert_eq!(early, Ok(PathBuf::from("a/b/etc")));
        // A later entry makes `x` a link to `a` (inside), and the first link now escapes.
        symlink("../../../..", root.join("a/b/c/d/e/x")).unwrap();
        let links = [
            PathBuf::from("a/b/c/d/e/late"),
            PathBuf::from("a/b/c/d/e/x"),
        ];
        let (link, why) = check_links_beneath(root, &links).unwrap_err();
        assert_eq!(link, PathBuf::from("a/b/c/d/e/late"));
        assert!(matches!(why, Unsafe::Escapes { .. }), "{why:?}");
    }

    #[test]
    fn real_files_are_found_through_links_inside_and_loops_refused() {
        let dir = tree();
        let root = dir.path();
        std::fs::write(root.join("config/app.conf"), "x").unwrap();
        symlink("../config/app.conf", root.join("bin/app.conf")).unwrap();
        let real = real_file_beneath(root, &root.join("bin/app.conf"));
        assert_eq!(real, Ok(root.join("config/app.conf")));
        symlink("loop2", root.join("loop1")).unwrap();
        symlink("loop1", root.join("loop2")).unwrap();
        let looped = real_file_beneath(root, &root.join("loop1"));
        assert_eq!(looped, Err(Unsafe::Loop));
        symlink("/etc/passwd", root.join("config/passwd")).unwrap();
        let absolute = real_file_beneath(root, &root.join("config/passwd"));
        assert_eq!(absolute, Err(Unsafe::Absolute));
    }

    #[test]
    fn directories_others_can_write_are_untrusted() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tree();
        let root = dir.path();
        check_trusted_ancestors(&root.join("a/b/new/deeper")).unwrap();
        std::fs::set_permissions(root.join("a"), std::fs::Permissions::from_mode(0o777)).unwrap();
        let error = check_trusted_ancestors(&root.join("a/b/new")).unwrap_err();
        assert!(error.to_string().contains("every local user"), "{error}");
        // Sticky like /tmp: fine when a trusted directory already stands below it.
        std::fs::set_permissions(root.join("a"), std::fs::Permissions::from_mode(0o1777)).unwrap();
        check_trusted_ancestors(&root.join("a/b/new")).unwrap();
        let error = check_trusted_ancestors(&root.join("a/missing/new")).unwrap_err();
        assert!(error.to_string().contains("shared directory"), "{error}");
    }
}
