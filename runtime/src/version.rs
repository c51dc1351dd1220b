//! Product versions as Octopus and NuGet write them, and the ranges a plan's `upgrade.from`
//! accepts: which of two versions is newer decides whether an installer upgrades, reinstalls or
//! downgrades what is installed.
//!
//! A version is one or more dot-separated numbers (`4.12.0`, `2024.1.5.1201`), optionally a
//! pre-release after `-`, `_` or a `.` that no number follows (`1.0.0-beta.2`, `19.0.0.Final`:
//! lower than the release itself, as Octopus.Versioning reads them) and build metadata after
//! `+` (ignored, as SemVer says). Missing numbers are zero: `4.12` is `4.12.0`. A leading `v`
//! is allowed. A range is comparators separated by commas or spaces, all of which must hold:
//! `>=4.0`, `>=4.0, <5`, `=4.12.0`; `*` is every version.

use std::cmp::Ordering;
use std::fmt;

/// A parsed version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    release: Vec<u64>,
    pre: Vec<String>,
    text: String,
}

/// Why a version or range could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not {what}: {why}")]
pub struct VersionError {
    text: String,
    what: &'static str,
    why: &'static str,
}

fn error(text: &str, what: &'static str, why: &'static str) -> VersionError {
    VersionError {
        text: text.to_string(),
        what,
        why,
    }
}

const A_VERSION: &str = "a version (numbers separated by dots, e.g. 4.12.0 or 1.0.0-beta.2)";

impl std::str::FromStr for Version {
    type Err = VersionError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let trimmed = text.trim();
        let bare = trimmed
            .strip_prefix(['v', 'V'])
            .unwrap_or(trimmed)
            .split('+')
            .next()
            .unwrap_or_default();
        let (release, pre) = split_release(bare).ok_or_else(|| {
            error(
                text,
                A_VERSION,
                "it must start with numbers separated by dots",
            )
        })?;
        let pre: Vec<String> = match pre {
            Some("") => return Err(error(text, A_VERSION, "nothing follows `-`")),
            Some(pre) => pre.split('.').map(str::to_string).collect(),
            None => Vec::new(),
        };
        if pre.iter().any(String::is_empty) {
            return Err(error(text, A_VERSION, "a pre-release part is empty"));
        }
        Ok(Version {
            release,
            pre,
            text: trimmed.to_string(),
        })
    }
}

/// The numbers of a version, and its pre-release text if it has one.
fn split_release(bare: &str) -> Option<(Vec<u64>, Option<&str>)> {
    let mut release = Vec::new();
    let mut rest = bare;
    loop {
        let end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        release.push(rest[..end].parse::<u64>().ok()?);
        rest = &rest[end..];
        let mut chars = rest.chars();
        match (chars.next(), chars.next()) {
            (None, _) => return Some((release, None)),
            (Some('.'), Some(next)) if next.is_ascii_digit() => rest = &rest[1..],
            (Some('.' | '-' | '_'), _) => return Some((release, Some(&rest[1..]))),
            _ => return None,
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        let width = self.release.len().max(other.release.len());
        let part = |v: &Version, i: usize| v.release.get(i).copied().unwrap_or(0);
        (0..width)
            .map(|i| part(self, i).cmp(&part(other, i)))
            .find(|o| o.is_ne())
            .unwrap_or_else(|| compare_pre(&self.pre, &other.pre))
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// SemVer's pre-release order: none is higher than any; parts compare as numbers when both
/// are numbers, numbers below words, and a longer list wins a tie.
fn compare_pre(a: &[String], b: &[String]) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        (false, false) => {}
    }
    for (x, y) in a.iter().zip(b) {
        let order = match (x.parse::<u64>(), y.parse::<u64>()) {
            (Ok(x), Ok(y)) => x.cmp(&y),
            (Ok(_), Err(_)) => Ordering::Less,
            (Err(_), Ok(_)) => Ordering::Greater,
            (Err(_), Err(_)) => x.to_ascii_lowercase().cmp(&y.to_ascii_lowercase()),
        };
        if order.is_ne() {
            return order;
        }
    }
    a.len().cmp(&b.len())
}

/// A set of versions: every comparator must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionRange {
    comparators: Vec<(Op, Version)>,
    text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Less,
    LessOrEqual,
    Equal,
    GreaterOrEqual,
    Greater,
}

const A_RANGE: &str = "a version range (comparators such as `>=4.0, <5`)";

impl std::str::FromStr for VersionRange {
    type Err = VersionError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut comparators = Vec::new();
        for word in text
            .split([',', ' '])
            .map(str::trim)
            .filter(|w| !w.is_empty())
        {
            if word == "*" {
                continue;
            }
            let (op, rest) = [
                (">=", Op::GreaterOrEqual),
                ("<=", Op::LessOrEqual),
                (">", Op::Greater),
                ("<", Op::Less),
                ("=", Op::Equal),
            ]
            .into_iter()
            .find_map(|(prefix, op)| word.strip_prefix(prefix).map(|rest| (op, rest)))
            .unwrap_or((Op::Equal, word));
            let version = rest
                .parse::<Version>()
                .map_err(|_| error(text, A_RANGE, "each comparator needs a version"))?;
            comparators.push((op, version));
        }
        if comparators.is_empty() && text.trim() != "*" {
            return Err(error(text, A_RANGE, "it is empty"));
        }
        Ok(VersionRange {
            comparators,
            text: text.trim().to_string(),
        })
    }
}

impl VersionRange {
    pub fn contains(&self, version: &Version) -> bool {
        self.comparators.iter().all(|(op, bound)| {
            let order = version.cmp(bound);
            match op {
                Op::Less => order.is_lt(),
                Op::LessOrEqual => order.is_le(),
                Op::Equal => order.is_eq(),
                Op::GreaterOrEqual => order.is_ge(),
                Op::Greater => order.is_gt(),
            }
        })
    }
}

impl fmt::Display for VersionRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> Version {
        text.parse().unwrap()
    }

    #[test]
    fn releases_compare_by_number_with_missing_parts_zero() {
        assert!(v("4.13.0") > v("4.12.0"));
        assert!(v("4.12.10") > v("4.12.9"));
        assert_eq!(v("4.12").cmp(&v("4.12.0")), Ordering::Equal);
        assert!(v("2024.1.5.1201") > v("2024.1.5"));
        assert_eq!(v("v1.2.3").cmp(&v("1.2.3")), Ordering::Equal);
        assert_eq!(v("1.2.3+build.7").cmp(&v("1.2.3")), Ordering::Equal);
    }

    #[test]
    fn pre_releases_follow_semver() {
        let ordered = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
        ];
        assert!(v("19.0.0.Final") < v("19.0.0"));
        assert!(v("2024.1.15_hotfix") < v("2024.1.15"));
        for pair in ordered.windows(2) {
            assert!(v(pair[0]) < v(pair[1]), "{} < {}", pair[0], pair[1]);
        }
    }

    #[test]
    fn what_is_not_a_version_is_refused_saying_why() {
        for text in ["", "four", "4..1", "4x", "1.0-", "1.0.0-a..b", "-1"] {
            let e = text.parse::<Version>().unwrap_err();
            assert!(e.to_string().contains("is not a version"), "{text}: {e}");
        }
    }

    #[test]
    fn ranges_hold_when_every_comparator_does() {
        let range: VersionRange = ">=4.0, <5".parse().unwrap();
        assert!(range.contains(&v("4.0")));
        assert!(range.contains(&v("4.12.0")));
        assert!(!range.contains(&v("3.9.9")));
        assert!(!range.contains(&v("5.0.0")));
        let exact: VersionRange = "4.12.0".parse().unwrap();
        assert!(exact.contains(&v("4.12")) && !exact.contains(&v("4.12.1")));
        let any: VersionRange = "*".parse().unwrap();
        assert!(any.contains(&v("0.1")));
        for bad in ["", ">=", ">=four", "~4"] {
            let e = bad.parse::<VersionRange>().unwrap_err();
            assert!(e.to_string().contains("version range"), "{bad}: {e}");
        }
    }
}
