//! Package id and version from an OPD `Packages/` file name, as Calamari's `PackageName.FromFile`
//! reads them (`docs/octopus-conventions.md` §1.3, §4.2).
//!
//! Forms, tried in this order:
//! 1. `<Id>@<S|M|O|L><Version>@<cache-buster>.<ext>`, id and version percent-encoded
//!    (`FileNameEscaper`), e.g. `Fabrikam.Web@S4.12.0%2Bbuild.7@0A1B…9F.nupkg`;
//! 2. the server-cache form `<Id>.<Version>_<32 hex>.<ext>`, e.g.
//!    `OctoFX.TradingWebsite.3.0.298_B47863CDE8E3F24E95873F4B59FE990E.nupkg`;
//! 3. plain `<Id>.<SemVer>.<ext>`, with `.tar.*` recognised as one extension.
//!
//! For `.nupkg`, Calamari lets the `.nuspec` inside override the file name:
//! [`PackageName::from_nuspec`] reads `<id>` and `<version>` from the root-level nuspec (a plain
//! text scan, enough for NuGet's fixed manifest shape; XML entities are not decoded).

use std::io::{BufReader, Read};
use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;

use super::{PackageError, percent_decode, read_error};

/// The most of a nuspec that is read: manifests are a few KiB.
const NUSPEC_LIMIT: u64 = 1 << 20;

/// A package's id and version, as its file name states them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageName {
    /// The package id, e.g. `Fabrikam.Web`.
    pub id: String,
    /// The version text, e.g. `4.12.0` or `1.0.0-beta.1+build.5`.
    pub version: String,
}

/// A file name that matches none of the package-name forms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "cannot read a package id and version from the file name `{file_name}`; expected \
     `<PackageId>@S<Version>@<CacheBuster>.<ext>`, `<PackageId>.<Version>_<32 hex>.<ext>` or \
     `<PackageId>.<SemVer>.<ext>`"
)]
pub struct PackageNameError {
    /// The file name that could not be read.
    pub file_name: String,
}

static HASH_SUFFIX: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?P<stem>.+)_[0-9A-Fa-f]{32}(?P<ext>\.[A-Za-z0-9.]+)$").expect("constant regex")
});

static TAR_EXTENSION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?P<stem>.*)(?P<ext>\.tar(\.[a-zA-Z0-9]+)?)$").expect("constant regex")
});

const ID: &str = r"(?P<id>\w+([_.-]\w+)*?)";
const SEMVER: &str = r"(?P<version>\d+(\.\d+){0,3}(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?)";

static ID_VERSION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!(r"(?i)^{ID}\.{SEMVER}$")).expect("constant regex"));

static ID_VERSION_EXT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(r"(?i)^{ID}\.{SEMVER}(\.[a-zA-Z0-9]+)+$")).expect("constant regex")
});

impl PackageName {
    /// Read id and version from the file name of a package's path.
    pub fn from_path(path: &std::path::Path) -> Result<Self, PackageNameError> {
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Self::from_file_name(&file_name)
    }

    /// Read id and version from a package file name (no directory part).
    pub fn from_file_name(file_name: &str) -> Result<Self, PackageNameError> {
        let parsed = parse_encoded(file_name).or_else(|| {
            let plain = match HASH_SUFFIX.captures(file_name) {
                Some(c) => format!("{}{}", &c["stem"], &c["ext"]),
                None => file_name.to_string(),
            };
            parse_plain(&plain)
        });
        parsed.ok_or_else(|| PackageNameError {
            file_name: file_name.to_string(),
        })
    }
}

static NUSPEC_ID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"<id>\s*([^<]*?)\s*</id>").expect("constant regex"));

static NUSPEC_VERSION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"<version>\s*([^<]*?)\s*</version>").expect("constant regex"));

impl PackageName {
    /// Id and version from the root-level `.nuspec` of a `.nupkg`; `Ok(None)` when the package
    /// has no nuspec or it lacks a non-empty `<id>` or `<version>`.
    pub fn from_nuspec(package: &Path) -> Result<Option<Self>, PackageError> {
        let file = std::fs::File::open(package).map_err(|source| PackageError::Open {
            package: package.to_path_buf(),
            source,
        })?;
        let mut archive =
            zip::ZipArchive::new(BufReader::new(file)).map_err(|e| read_error(package, "", e))?;
        let Some(index) = (0..archive.len()).find(|&i| {
            archive
                .name_for_index(i)
                .and_then(Result::ok)
                .is_some_and(|name| {
                    !name.contains('/') && name.to_ascii_lowercase().ends_with(".nuspec")
                })
        }) else {
            return Ok(None);
        };
        let entry = archive
            .by_index(index)
            .map_err(|e| read_error(package, "", e))?;
        let mut text = String::new();
        entry
            .take(NUSPEC_LIMIT)
            .read_to_string(&mut text)
            .map_err(|e| read_error(package, "nuspec", e))?;
        let field = |re: &Regex| {
            re.captures(&text)
                .map(|c| c[1].to_string())
                .filter(|v| !v.is_empty())
        };
        Ok(field(&NUSPEC_ID)
            .zip(field(&NUSPEC_VERSION))
            .map(|(id, version)| Self { id, version }))
    }
}

/// `<Id>@<kind><Version>@<cache-buster>.<ext>`.
fn parse_encoded(file_name: &str) -> Option<PackageName> {
    let mut sections = file_name.split('@');
    let (id, version, rest) = (sections.next()?, sections.next()?, sections.next()?);
    if sections.next().is_some() || id.is_empty() || !rest.contains('.') {
        return None;
    }
    let version = version.strip_prefix(['S', 'M', 'O', 'L'])?;
    if version.is_empty() {
        return None;
    }
    Some(PackageName {
        id: percent_decode(id),
        version: percent_decode(version),
    })
}

/// `<Id>.<SemVer>.<ext>`, with `.tar` and `.tar.<x>` taken as the extension first.
fn parse_plain(file_name: &str) -> Option<PackageName> {
    let captures = match TAR_EXTENSION.captures(file_name) {
        Some(tar) => ID_VERSION.captures(tar.name("stem")?.as_str())?,
        None => ID_VERSION_EXT.captures(file_name)?,
    };
    Some(PackageName {
        id: captures["id"].to_string(),
        version: captures["version"].to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(file: &str) -> (String, String) {
        let parsed = PackageName::from_file_name(file).unwrap();
        (parsed.id, parsed.version)
    }

    #[test]
    fn server_cache_form_with_hash() {
        assert_eq!(
            name("OctoFX.TradingWebsite.3.0.298_B47863CDE8E3F24E95873F4B59FE990E.nupkg"),
            ("OctoFX.TradingWebsite".into(), "3.0.298".into())
        );
        assert_eq!(
            name("Fabrikam.Web.4.12.0-rc.2_0123456789abcdef0123456789ABCDEF.tar.gz"),
            ("Fabrikam.Web".into(), "4.12.0-rc.2".into())
        );
    }

    #[test]
    fn encoded_cache_form() {
        assert_eq!(
            name("Fabrikam.Web@S4.12.0@0A1B2C3D4E5F60718293A4B5C6D7E8F9.nupkg"),
            ("Fabrikam.Web".into(), "4.12.0".into())
        );
        assert_eq!(
            name("Fabrikam.Worker@S4.12.0-beta.1%2Bbuild.5@0A1B2C3D4E5F60718293A4B5C6D7E8F9.zip"),
            ("Fabrikam.Worker".into(), "4.12.0-beta.1+build.5".into())
        );
        assert_eq!(
            name("com.fabrikam%3Aapi@M1.2@0A1B2C3D4E5F60718293A4B5C6D7E8F9.jar"),
            ("com.fabrikam:api".into(), "1.2".into())
        );
    }

    #[test]
    fn plain_semver_form() {
        assert_eq!(
            name("Acme.Web.3.2.6.nupkg"),
            ("Acme.Web".into(), "3.2.6".into())
        );
        assert_eq!(
            name("foo.1.0.0-release.tar.gz"),
            ("foo".into(), "1.0.0-release".into())
        );
        assert_eq!(name("Acme-Api.2.0.tar"), ("Acme-Api".into(), "2.0".into()));
        assert_eq!(
            name("Acme.Api.1.2.3.4+sha.5a2.zip"),
            ("Acme.Api".into(), "1.2.3.4+sha.5a2".into())
        );
    }

    #[test]
    fn nuspec_overrides_are_read_from_the_root_manifest() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, entries: &[(&str, &str)]| {
            let path = dir.path().join(name);
            let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
            for (entry, text) in entries {
                zip.start_file(*entry, zip::write::SimpleFileOptions::default())
                    .unwrap();
                zip.write_all(text.as_bytes()).unwrap();
            }
            zip.finish().unwrap();
            path
        };
        let nuspec = "<package><metadata><id> Fabrikam.Web </id><version>4.12.0-rc.1</version>\
                      <dependencies><dependency id=\"X\" version=\"1.0\" /></dependencies></metadata></package>";
        let good = write(
            "a.nupkg",
            &[
                ("docs/other.nuspec", "<id>Wrong</id>"),
                ("Fabrikam.Web.nuspec", nuspec),
            ],
        );
        let name = PackageName::from_nuspec(&good).unwrap().unwrap();
        assert_eq!(
            (name.id.as_str(), name.version.as_str()),
            ("Fabrikam.Web", "4.12.0-rc.1")
        );
        let none = write("b.nupkg", &[("content.txt", "x")]);
        assert_eq!(PackageName::from_nuspec(&none).unwrap(), None);
        let partial = write(
            "c.nupkg",
            &[(
                "C.nuspec",
                "<package><metadata><id>C</id></metadata></package>",
            )],
        );
        assert_eq!(PackageName::from_nuspec(&partial).unwrap(), None);
        let err = PackageName::from_nuspec(&dir.path().join("missing.nupkg")).unwrap_err();
        assert!(err.to_string().contains("missing.nupkg"), "{err}");
    }

    #[test]
    fn names_without_a_version_are_errors_naming_the_file() {
        for file in [
            "README.txt",
            "Fabrikam.Web.nupkg",
            "noext",
            "a@b.zip",
            "x@S@y.zip",
            "@S1@x.zip",
        ] {
            let err = PackageName::from_file_name(file).unwrap_err();
            assert!(err.to_string().contains(&format!("`{file}`")), "{err}");
        }
    }
}
