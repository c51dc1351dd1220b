//! Finds a package's file in a directory by its package id. The name forms are those Calamari
//! understands: the server cache form `<Id>.<Version>_<32 hex>.<ext>` (what OPD `Packages/`
//! holds in the docs), `<Id>@<S|M|O|L><Version>@<32 hex>.<ext>`, and plain
//! `<Id>.<Version>.<ext>`. Versions are not compared: a directory holding two versions of one
//! package is an error rather than a silent pick.

use super::error::ImportError;
use std::path::{Path, PathBuf};

/// Archive extensions Calamari extracts or transfers, longest first so `.tar.gz` wins over `.gz`.
const EXTENSIONS: [&str; 10] = [
    ".tar.bz2", ".tar.gz", ".nupkg", ".zip", ".tgz", ".tbz", ".tar", ".jar", ".war", ".ear",
];

/// The one file in `dir` that holds `package_id`.
pub(super) fn find_package(
    dir: &Path,
    package_id: &str,
    step: &str,
) -> Result<PathBuf, ImportError> {
    let entries = std::fs::read_dir(dir).map_err(|source| ImportError::Io {
        file: dir.to_path_buf(),
        source,
    })?;
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| ImportError::Io {
            file: dir.to_path_buf(),
            source,
        })?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_package_file(&name, package_id) {
            found.push(name);
        }
    }
    found.sort();
    match found.len() {
        0 => Err(ImportError::MissingPackage {
            step: step.to_owned(),
            package_id: package_id.to_owned(),
            dir: dir.to_path_buf(),
        }),
        1 => Ok(dir.join(&found[0])),
        _ => Err(ImportError::AmbiguousPackage {
            step: step.to_owned(),
            package_id: package_id.to_owned(),
            dir: dir.to_path_buf(),
            candidates: found,
        }),
    }
}

/// Whether `file_name` is a package file for `package_id` (ids compare case-insensitively).
fn is_package_file(file_name: &str, package_id: &str) -> bool {
    let Some(stem) = strip_extension(file_name) else {
        return false;
    };
    if let Some(id) = at_form_id(stem) {
        return id.eq_ignore_ascii_case(package_id);
    }
    let stem = strip_cache_suffix(stem);
    let Some(prefix) = stem.get(..package_id.len()) else {
        return false;
    };
    let rest = &stem[package_id.len()..];
    prefix.eq_ignore_ascii_case(package_id) && rest.strip_prefix('.').is_some_and(is_version)
}

fn strip_extension(file_name: &str) -> Option<&str> {
    let lower = file_name.to_ascii_lowercase();
    let ext = EXTENSIONS.iter().find(|e| lower.ends_with(*e))?;
    file_name.get(..file_name.len() - ext.len())
}

/// `<Id>@<S|M|O|L><Version>@<hex>` gives `<Id>`.
fn at_form_id(stem: &str) -> Option<&str> {
    let mut parts = stem.split('@');
    let (id, version, hash) = (parts.next()?, parts.next()?, parts.next()?);
    let kind_ok = version.starts_with(['S', 'M', 'O', 'L']);
    (parts.next().is_none() && kind_ok && is_hex32(hash)).then_some(id)
}

/// Drops the server cache-buster `_<32 hex>`.
fn strip_cache_suffix(stem: &str) -> &str {
    match stem.rsplit_once('_') {
        Some((head, hash)) if is_hex32(hash) => head,
        _ => stem,
    }
}

fn is_hex32(text: &str) -> bool {
    text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `1`, `1.2.3`, `1.2.3-beta.1`, `1.0+build`: numeric dot-separated core, then anything.
fn is_version(text: &str) -> bool {
    let core = text.split(['-', '+']).next().unwrap_or("");
    !core.is_empty()
        && core
            .split('.')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_every_name_form() {
        let id = "OctoFX.TradingWebsite";
        assert!(is_package_file(
            "OctoFX.TradingWebsite.3.0.298_B47863CDE8E3F24E95873F4B59FE990E.nupkg",
            id
        ));
        assert!(is_package_file(
            "OctoFX.TradingWebsite@S3.0.298@B47863CDE8E3F24E95873F4B59FE990E.zip",
            id
        ));
        assert!(is_package_file(
            "octofx.tradingwebsite.3.0.298-beta.1.tar.gz",
            id
        ));
    }

    #[test]
    fn does_not_confuse_ids_sharing_a_prefix() {
        assert!(!is_package_file("Acme.Web.Api.1.0.0.nupkg", "Acme.Web"));
        assert!(!is_package_file("Acme.2fa.1.0.0.nupkg", "Acme"));
        assert!(!is_package_file("Acme.Web.1.0.0.txt", "Acme.Web"));
    }

    #[test]
    fn missing_package_names_the_package_and_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Other.1.0.0.zip"), b"").unwrap();
        let err = find_package(dir.path(), "Acme.Web", "Deploy web").unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("Acme.Web") && text.contains(&dir.path().display().to_string()),
            "{text}"
        );
    }

    #[test]
    fn two_versions_are_ambiguous() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Acme.Web.1.0.0.zip"), b"").unwrap();
        std::fs::write(dir.path().join("Acme.Web.1.1.0.zip"), b"").unwrap();
        let err = find_package(dir.path(), "Acme.Web", "Deploy web").unwrap_err();
        assert!(
            matches!(err, ImportError::AmbiguousPackage { ref candidates, .. } if candidates.len() == 2)
        );
    }
}
