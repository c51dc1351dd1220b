//! Finding the files a step's target patterns name, the way Calamari's `EnumerateFilesWithGlob` does.
//!
//! A target list is newline-separated (`\r` or `\n`), each entry trimmed, blanks dropped (Octostache
//! `GetPaths`). Each pattern is relative to a base directory (the current directory, then each
//! `Octopus.Action.AdditionalPaths` entry); `\` is a directory separator like `/`; `*` and `?` stay
//! within one path segment, `**` spans any number of segments (zero included), `[abc]` and `{a,b}`
//! work as usual. Names compare case-sensitively, as Linux file systems do (case-insensitively on
//! Windows, as its file system does). Only files match (never directories); directory
//! links are not followed, so a link loop cannot hang the install. Results are sorted per pattern and
//! de-duplicated across patterns and bases.
//!
//! A match is returned as the real file it names (`path_safety::real_file_beneath`): a file link
//! inside the base is followed to its target, and a match whose way leads out of the base is an
//! error, so no replacer ever opens, backs up or rewrites a file through a link.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobMatcher};

use super::error::ConfigError;
use crate::path_safety;

/// The files matched by a list of patterns, and the patterns that matched nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetMatches {
    /// Matched files, full paths (base joined with the relative path), in pattern order.
    pub files: Vec<PathBuf>,
    /// Patterns that matched no file under any base (Calamari warns about each).
    pub unmatched: Vec<String>,
}

/// Split a newline-separated target list into trimmed, non-empty patterns.
pub fn split_target_list(list: &str) -> Vec<String> {
    list.split(['\r', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Find the files matching `patterns` under each of `bases`.
pub fn find_target_files(
    bases: &[&Path],
    patterns: &[String],
) -> Result<TargetMatches, ConfigError> {
    let mut matches = TargetMatches::default();
    let mut seen = HashSet::new();
    for pattern in patterns {
        let mut found_any = false;
        for base in bases {
            for file in match_pattern(base, pattern)? {
                found_any = true;
                let file = real_file(base, file)?;
                if seen.insert(file.clone()) {
                    matches.files.push(file);
                }
            }
        }
        if !found_any {
            matches.unmatched.push(pattern.clone());
        }
    }
    Ok(matches)
}

/// The real file a match names; a match outside `base` (an absolute pattern) is the vendor's
/// explicit choice and taken as written.
fn real_file(base: &Path, file: PathBuf) -> Result<PathBuf, ConfigError> {
    if !file.starts_with(base) {
        return Ok(file);
    }
    path_safety::real_file_beneath(base, &file)
        .map_err(|why| ConfigError::UnsafeTarget { path: file, why })
}

/// The files under `base` matching one pattern, sorted.
fn match_pattern(base: &Path, pattern: &str) -> Result<Vec<PathBuf>, ConfigError> {
    let normalized = normalize(pattern);
    let (prefix, rest) = split_literal_prefix(&normalized);
    let root = if Path::new(&prefix).is_absolute() {
        PathBuf::from(&prefix)
    } else {
        base.join(&prefix)
    };
    if rest.is_empty() {
        // No wildcard at all: the pattern names one file.
        return Ok(if root.is_file() {
            vec![root]
        } else {
            Vec::new()
        });
    }
    // Without `**` (or `{a/b,c}`) a match is exactly as deep as the pattern: walk no deeper.
    let bounded = !rest.contains("**") && !rest.contains('{');
    let max_depth = bounded.then(|| rest.split('/').count());
    let walk = Walk {
        matcher: compile(pattern, &rest)?,
        max_depth,
    };
    let mut found = Vec::new();
    walk.dir(&root, Path::new(""), 1, &mut found)?;
    found.sort();
    Ok(found)
}

fn normalize(pattern: &str) -> String {
    let slashed = pattern.replace('\\', "/");
    let mut rest = slashed.as_str();
    while let Some(stripped) = rest.strip_prefix("./") {
        rest = stripped;
    }
    rest.to_string()
}

/// Split `a/b/*.json` into the literal directory `a/b` and the wildcard part `*.json`, so the
/// walk starts as deep as it can.
fn split_literal_prefix(pattern: &str) -> (String, String) {
    let segments: Vec<&str> = pattern.split('/').collect();
    let first_wild = segments
        .iter()
        .position(|s| s.contains(['*', '?', '[', '{']));
    match first_wild {
        None => (pattern.to_string(), String::new()),
        Some(index) => {
            let mut prefix = segments[..index].join("/");
            if prefix.is_empty() && pattern.starts_with('/') {
                prefix = "/".to_string();
            }
            (prefix, segments[index..].join("/"))
        }
    }
}

fn compile(pattern: &str, rest: &str) -> Result<GlobMatcher, ConfigError> {
    GlobBuilder::new(rest)
        .literal_separator(true)
        .backslash_escape(false)
        .case_insensitive(cfg!(windows))
        .build()
        .map(|glob| glob.compile_matcher())
        .map_err(|e| ConfigError::Pattern {
            pattern: pattern.to_string(),
            message: e.kind().to_string(),
        })
}

/// A directory walk for one compiled pattern.
struct Walk {
    matcher: GlobMatcher,
    /// Depth of the deepest possible match (1 = directly in the root), if bounded.
    max_depth: Option<usize>,
}

impl Walk {
    fn dir(
        &self,
        dir: &Path,
        relative: &Path,
        depth: usize,
        found: &mut Vec<PathBuf>,
    ) -> Result<(), ConfigError> {
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            // A base or literal prefix that does not exist simply matches nothing.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(ConfigError::io("listing", dir, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| ConfigError::io("listing", dir, e))?;
            let path = entry.path();
            let rel = relative.join(entry.file_name());
            let kind = entry
                .file_type()
                .map_err(|e| ConfigError::io("inspecting", &path, e))?;
            if kind.is_dir() {
                if self.max_depth.is_none_or(|max| depth < max) {
                    self.dir(&path, &rel, depth + 1, found)?;
                }
            } else if (kind.is_file() || (kind.is_symlink() && path.is_file()))
                && self.matcher.is_match(&rel)
            {
                found.push(path);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        for file in [
            "appsettings.json",
            "web.config",
            "conf/app.yaml",
            "conf/deep/x.json",
            "conf/deep/README",
        ] {
            let path = dir.path().join(file);
            fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            fs::write(&path, "x").expect("write");
        }
        dir
    }

    fn relative(dir: &Path, found: &TargetMatches) -> Vec<String> {
        found
            .files
            .iter()
            .map(|f| {
                f.strip_prefix(dir)
                    .expect("under base")
                    .to_string_lossy()
                    .replace('\\', "/")
            })
            .collect()
    }

    fn find(dir: &Path, patterns: &[&str]) -> TargetMatches {
        let patterns: Vec<String> = patterns.iter().map(|p| p.to_string()).collect();
        find_target_files(&[dir], &patterns).expect("patterns compile")
    }

    #[test]
    fn star_stays_in_one_segment_and_double_star_spans_any() {
        let dir = tree();
        assert_eq!(
            relative(dir.path(), &find(dir.path(), &["*.json"])),
            ["appsettings.json"]
        );
        assert_eq!(
            relative(dir.path(), &find(dir.path(), &["**/*.json"])),
            ["appsettings.json", "conf/deep/x.json"]
        );
        assert_eq!(
            relative(dir.path(), &find(dir.path(), &["conf/**/*"])).len(),
            3
        );
    }

    #[test]
    fn backslashes_literal_names_and_dedup() {
        let dir = tree();
        let found = find(
            dir.path(),
            &["conf\\deep\\x.json", "./conf/deep/*.json", "web.config"],
        );
        assert_eq!(
            relative(dir.path(), &found),
            ["conf/deep/x.json", "web.config"]
        );
        assert!(found.unmatched.is_empty());
    }

    #[test]
    fn unmatched_patterns_are_reported_and_directories_never_match() {
        let dir = tree();
        let found = find(dir.path(), &["*.xml", "conf", "missing/dir/*.json"]);
        assert!(found.files.is_empty());
        assert_eq!(found.unmatched, ["*.xml", "conf", "missing/dir/*.json"]);
    }

    #[cfg(not(windows))]
    #[test]
    fn names_are_case_sensitive_on_linux() {
        let dir = tree();
        assert!(find(dir.path(), &["*.JSON"]).files.is_empty());
    }

    #[test]
    fn target_lists_split_on_any_newline() {
        assert_eq!(
            split_target_list(" a.json \r\n\r\n**/*.yml\rb "),
            ["a.json", "**/*.yml", "b"]
        );
    }

    #[test]
    fn invalid_glob_is_a_pattern_error() {
        let dir = tree();
        let err = find_target_files(&[dir.path()], &["a/[b.json".to_string()]).unwrap_err();
        assert!(err.to_string().contains("`a/[b.json`"), "{err}");
    }

    #[test]
    fn additional_bases_are_searched_and_a_pattern_matched_anywhere_is_not_unmatched() {
        let current = tree();
        let extra = tempfile::tempdir().expect("tempdir");
        fs::write(extra.path().join("extra.json"), "x").expect("write");
        let patterns = vec!["*.json".to_string()];
        let found = find_target_files(&[current.path(), extra.path()], &patterns).expect("finds");
        assert_eq!(
            found.files,
            [
                current.path().join("appsettings.json"),
                extra.path().join("extra.json")
            ]
        );
        assert!(found.unmatched.is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn links_are_followed_inside_the_base_and_refused_out_of_it() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().expect("tempdir");
        let outside = tempfile::tempdir().expect("tempdir");
        fs::create_dir_all(dir.path().join("config")).expect("mkdir");
        fs::write(dir.path().join("config/real.conf"), "x").expect("write");
        symlink("real.conf", dir.path().join("config/alias.conf")).expect("symlink");
        let found = find_target_files(&[dir.path()], &["config/*.conf".to_string()]).unwrap();
        assert_eq!(found.files, vec![dir.path().join("config/real.conf")]);
        fs::write(outside.path().join("victim.conf"), "x").expect("write");
        symlink(
            outside.path().join("victim.conf"),
            dir.path().join("config/evil.conf"),
        )
        .expect("symlink");
        let error = find_target_files(&[dir.path()], &["config/*.conf".to_string()]).unwrap_err();
        assert!(error.to_string().contains("evil.conf"), "{error}");
    }
}
