//! Tests for package extraction: every format, the NuGet skip rules, the hook, and every refusal.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use zip::write::SimpleFileOptions;

use super::*;

type Recorded = Vec<(PathBuf, EntryKind)>;

/// Extract, recording every hook call and checking the path did not exist yet (except files,
/// which may be overwritten).
fn extract(package: &Path, dest: &Path) -> (Result<ExtractSummary, PackageError>, Recorded) {
    let mut seen = Vec::new();
    let result = extract_package(package, dest, ExtractLimits::default(), |path, kind| {
        if kind != EntryKind::File {
            assert!(
                fs::symlink_metadata(path).is_err(),
                "{} exists before the hook",
                path.display()
            );
        }
        seen.push((path.to_path_buf(), kind));
        Ok(())
    });
    (result, seen)
}

fn write_zip(path: &Path, entries: &[(&str, &[u8], Option<u32>)]) {
    let mut zip = zip::ZipWriter::new(fs::File::create(path).unwrap());
    for (name, data, mode) in entries {
        let mut options = SimpleFileOptions::default();
        if let Some(mode) = mode {
            options = options.unix_permissions(*mode);
        }
        if name.ends_with('/') {
            zip.add_directory(*name, options).unwrap();
        } else {
            zip.start_file(*name, options).unwrap();
            zip.write_all(data).unwrap();
        }
    }
    zip.finish().unwrap();
}

/// A tar header with a raw (unchecked) name, so hostile archives can be built.
fn raw_header(name: &str, kind: tar::EntryType, size: u64, link: Option<&str>) -> tar::Header {
    let mut header = tar::Header::new_old();
    header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
    if let Some(link) = link {
        header.as_old_mut().linkname[..link.len()].copy_from_slice(link.as_bytes());
    }
    header.set_entry_type(kind);
    header.set_size(size);
    header.set_mode(0o644);
    header.set_cksum();
    header
}

fn write_tar(path: &Path, headers: Vec<(tar::Header, &[u8])>, gzip: bool) {
    let file = fs::File::create(path).unwrap();
    let out: Box<dyn Write> = if gzip {
        Box::new(flate2::write::GzEncoder::new(
            file,
            flate2::Compression::fast(),
        ))
    } else {
        Box::new(file)
    };
    let mut builder = tar::Builder::new(out);
    for (header, data) in headers {
        builder.append(&header, data).unwrap();
    }
    builder.into_inner().unwrap().flush().unwrap();
}

fn unsafe_reason(result: Result<ExtractSummary, PackageError>) -> UnsafeReason {
    match result {
        Err(PackageError::UnsafeEntry { reason, .. }) => reason,
        other => panic!("expected an unsafe entry, got {other:?}"),
    }
}

#[test]
fn nupkg_skips_nuget_metadata_and_decodes_names() {
    let dir = tempfile::tempdir().unwrap();
    let package = dir
        .path()
        .join("Fabrikam.Web.4.12.0_0123456789ABCDEF0123456789ABCDEF.nupkg");
    write_zip(
        &package,
        &[
            ("_rels/.rels", b"<Relationships/>", None),
            ("[Content_Types].xml", b"<Types/>", None),
            (
                "package/services/metadata/core-properties/ab12.psmdcp",
                b"<x/>",
                None,
            ),
            ("Fabrikam.Web.nuspec", b"<package/>", None),
            ("Fabrikam.Web.nupkg.sha512", b"abc", None),
            ("docs/Extra.NUSPEC", b"<package/>", None),
            ("appsettings.json", b"{}", None),
            ("config/app.conf", b"port=#{Service.Port}", None),
            ("wwwroot/css/site%20theme.css", b"body{}", None),
            ("Deploy.sh", b"#!/bin/sh\n", Some(0o755)),
            ("shared.txt", b"x", Some(0o666)),
        ],
    );
    let dest = dir.path().join("apps/Fabrikam.Web/4.12.0");
    let (result, seen) = extract(&package, &dest);
    let summary = result.unwrap();
    assert_eq!(
        summary,
        ExtractSummary {
            format: PackageFormat::Nupkg,
            file_count: 5
        }
    );
    assert_eq!(
        fs::read_to_string(dest.join("config/app.conf")).unwrap(),
        "port=#{Service.Port}"
    );
    assert!(dest.join("wwwroot/css/site theme.css").is_file());
    for skipped in [
        "_rels",
        "[Content_Types].xml",
        "package",
        "Fabrikam.Web.nuspec",
        "docs/Extra.NUSPEC",
    ] {
        assert!(!dest.join(skipped).exists(), "{skipped} was extracted");
    }
    assert!(
        dest.join("docs").is_dir(),
        "Calamari still creates a skipped nuspec's folder"
    );
    assert!(seen.contains(&(dir.path().join("apps"), EntryKind::Directory)));
    assert!(seen.contains(&(dest.join("config/app.conf"), EntryKind::File)));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode =
            |name: &str| fs::metadata(dest.join(name)).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode("Deploy.sh"), 0o755);
        assert_eq!(
            mode("shared.txt"),
            0o644,
            "no group/other write from an archive"
        );
    }
}

#[test]
fn plain_zip_keeps_names_as_stored() {
    let dir = tempfile::tempdir().unwrap();
    let package = dir.path().join("Acme.Web.1.0.0.zip");
    write_zip(
        &package,
        &[
            ("bin/", b"", None),
            ("_rels/keep.txt", b"x", None),
            ("a%20b.txt", b"y", None),
        ],
    );
    let (result, _) = extract(&package, &dir.path().join("out"));
    assert_eq!(result.unwrap().file_count, 2);
    assert!(dir.path().join("out/bin").is_dir());
    assert!(dir.path().join("out/_rels/keep.txt").is_file());
    assert!(dir.path().join("out/a%20b.txt").is_file());
}

#[test]
fn zip_traversal_and_absolute_names_are_refused() {
    let cases: [(&str, &str, UnsafeReason); 4] = [
        ("evil.zip", "../evil.txt", UnsafeReason::ParentTraversal),
        ("evil.zip", "/tmp/evil.txt", UnsafeReason::Absolute),
        (
            "evil.nupkg",
            "%2e%2e/evil.txt",
            UnsafeReason::ParentTraversal,
        ),
        ("evil.nupkg", "..%5Cevil.txt", UnsafeReason::ParentTraversal),
    ];
    for (file, name, reason) in cases {
        let dir = tempfile::tempdir().unwrap();
        let package = dir.path().join(file);
        write_zip(
            &package,
            &[("ok.txt", b"fine", None), (name, b"evil", None)],
        );
        let (result, _) = extract(&package, &dir.path().join("out"));
        let err = result.unwrap_err();
        assert!(err.to_string().contains(file), "{err}");
        assert_eq!(unsafe_reason(Err(err)), reason, "{name}");
        assert!(!dir.path().join("evil.txt").exists());
    }
}

#[test]
#[cfg(unix)] // symlinks
fn zip_symlink_escaping_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let package = dir.path().join("links.zip");
    let mut zip = zip::ZipWriter::new(fs::File::create(&package).unwrap());
    zip.add_symlink("inside", "sub/file", SimpleFileOptions::default())
        .unwrap();
    zip.add_symlink("outside", "../../etc/passwd", SimpleFileOptions::default())
        .unwrap();
    zip.finish().unwrap();
    let (result, _) = extract(&package, &dir.path().join("out"));
    assert!(
        matches!(unsafe_reason(result), UnsafeReason::LinkEscapes { target } if target == "../../etc/passwd")
    );
}

#[test]
#[cfg(unix)] // symlinks
fn tar_gz_extracts_files_dirs_links_and_modes() {
    let dir = tempfile::tempdir().unwrap();
    let package = dir.path().join("Fabrikam.Worker.4.12.0.tar.gz");
    let mut script = raw_header("bin/run.sh", tar::EntryType::Regular, 5, None);
    script.set_mode(0o4755);
    script.set_cksum();
    let headers = vec![
        (
            raw_header("./", tar::EntryType::Directory, 0, None),
            &b""[..],
        ),
        (
            raw_header("bin/", tar::EntryType::Directory, 0, None),
            &b""[..],
        ),
        (script, &b"echo\n"[..]),
        (
            raw_header("current", tar::EntryType::Symlink, 0, Some("bin/run.sh")),
            &b""[..],
        ),
        (
            raw_header("bin/again.sh", tar::EntryType::Link, 0, Some("bin/run.sh")),
            &b""[..],
        ),
    ];
    write_tar(&package, headers, true);
    let dest = dir.path().join("out");
    let (result, seen) = extract(&package, &dest);
    assert_eq!(
        result.unwrap(),
        ExtractSummary {
            format: PackageFormat::TarGz,
            file_count: 3
        }
    );
    assert_eq!(fs::read_to_string(dest.join("current")).unwrap(), "echo\n");
    assert_eq!(
        fs::read_to_string(dest.join("bin/again.sh")).unwrap(),
        "echo\n"
    );
    assert!(seen.contains(&(dest.join("current"), EntryKind::Symlink)));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(dest.join("bin/run.sh"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o7777, 0o755, "set-uid dropped, exec bits kept");
    }
}

#[test]
fn tar_refuses_hostile_entries() {
    use tar::EntryType as T;
    let cases: Vec<(tar::Header, UnsafeReason)> = vec![
        (
            raw_header("/etc/evil", T::Regular, 0, None),
            UnsafeReason::Absolute,
        ),
        (
            raw_header("a/../../evil", T::Regular, 0, None),
            UnsafeReason::ParentTraversal,
        ),
        (
            raw_header("up", T::Symlink, 0, Some("../outside")),
            UnsafeReason::LinkEscapes {
                target: "../outside".into(),
            },
        ),
        (
            raw_header("abs", T::Symlink, 0, Some("/etc")),
            UnsafeReason::LinkEscapes {
                target: "/etc".into(),
            },
        ),
        (
            raw_header("hard", T::Link, 0, Some("../../etc/passwd")),
            UnsafeReason::LinkEscapes {
                target: "../../etc/passwd".into(),
            },
        ),
        (
            raw_header("dev/null", T::Char, 0, None),
            UnsafeReason::DeviceFile,
        ),
        (
            raw_header("dev/sda", T::Block, 0, None),
            UnsafeReason::DeviceFile,
        ),
        (
            raw_header("pipe", T::Fifo, 0, None),
            UnsafeReason::DeviceFile,
        ),
    ];
    for (header, reason) in cases {
        let dir = tempfile::tempdir().unwrap();
        let package = dir.path().join("hostile.tar");
        write_tar(&package, vec![(header, &b""[..])], false);
        let (result, _) = extract(&package, &dir.path().join("out"));
        assert_eq!(unsafe_reason(result), reason);
    }
}

#[test]
#[cfg(unix)] // symlinks
fn tar_refuses_writing_through_an_inside_symlink() {
    // `here -> .` stays inside, but `here/..` would then be the destination's parent.
    let dir = tempfile::tempdir().unwrap();
    let package = dir.path().join("sneaky.tar");
    let headers = vec![
        (
            raw_header("sub/", tar::EntryType::Directory, 0, None),
            &b""[..],
        ),
        (
            raw_header("sub/here", tar::EntryType::Symlink, 0, Some(".")),
            &b""[..],
        ),
        (
            raw_header("sub/here/up", tar::EntryType::Symlink, 0, Some("..")),
            &b""[..],
        ),
    ];
    write_tar(&package, headers, false);
    let (result, _) = extract(&package, &dir.path().join("out"));
    assert_eq!(unsafe_reason(result), UnsafeReason::ThroughSymlink);
}

#[test]
fn existing_files_are_overwritten_after_the_hook_and_dirs_reused() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("out");
    fs::create_dir_all(dest.join("config")).unwrap();
    fs::write(dest.join("config/app.conf"), "old").unwrap();
    let package = dir.path().join("p.zip");
    write_zip(&package, &[("config/app.conf", b"new", None)]);
    let mut seen = Vec::new();
    let summary = extract_package(&package, &dest, ExtractLimits::default(), |path, kind| {
        seen.push((fs::read_to_string(path).ok(), kind));
        Ok(())
    })
    .unwrap();
    assert_eq!(summary.file_count, 1);
    assert_eq!(seen, vec![(Some("old".to_string()), EntryKind::File)]);
    assert_eq!(
        fs::read_to_string(dest.join("config/app.conf")).unwrap(),
        "new"
    );
}

#[test]
fn a_failing_hook_stops_extraction_before_the_write() {
    let dir = tempfile::tempdir().unwrap();
    let package = dir.path().join("p.zip");
    write_zip(&package, &[("a.txt", b"a", None), ("b.txt", b"b", None)]);
    let dest = dir.path().join("out");
    let err = extract_package(&package, &dest, ExtractLimits::default(), |path, _| {
        if path.ends_with("b.txt") {
            Err("journal is full".into())
        } else {
            Ok(())
        }
    })
    .unwrap_err();
    assert!(matches!(err, PackageError::Hook { .. }));
    assert!(err.to_string().contains("b.txt") && err.to_string().contains("journal is full"));
    // A zip's files are all told to the hook before any is written.
    assert!(!dest.join("a.txt").exists() && !dest.join("b.txt").exists());
}

#[test]
fn unsupported_missing_and_corrupt_packages_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let noop = |_: &Path, _: EntryKind| Ok(());
    let err = extract_package(
        &dir.path().join("x.tar.bz2"),
        dir.path(),
        ExtractLimits::default(),
        noop,
    )
    .unwrap_err();
    assert!(
        matches!(err, PackageError::UnsupportedFormat { .. }),
        "{err}"
    );
    let err = extract_package(
        &dir.path().join("missing.zip"),
        dir.path(),
        ExtractLimits::default(),
        noop,
    )
    .unwrap_err();
    assert!(matches!(err, PackageError::Open { .. }) && err.to_string().contains("missing.zip"));
    let corrupt = dir.path().join("corrupt.nupkg");
    fs::write(&corrupt, b"PK\x03\x04 not really a zip").unwrap();
    let err = extract_package(
        &corrupt,
        &dir.path().join("out"),
        ExtractLimits::default(),
        noop,
    )
    .unwrap_err();
    assert!(
        matches!(err, PackageError::Read { .. }) && err.to_string().contains("corrupt.nupkg"),
        "{err}"
    );
    let corrupt = dir.path().join("corrupt.tgz");
    fs::write(&corrupt, b"\x1f\x8b\x08\x00garbage").unwrap();
    let err = extract_package(
        &corrupt,
        &dir.path().join("out2"),
        ExtractLimits::default(),
        noop,
    )
    .unwrap_err();
    assert!(matches!(err, PackageError::Read { .. }), "{err}");
}

#[test]
fn limits_stop_decompression_bombs() {
    let dir = tempfile::tempdir().unwrap();
    let package = dir.path().join("bomb.tar.gz");
    let zeros = vec![0u8; 4 << 20];
    let header = raw_header(
        "zeros.bin",
        tar::EntryType::Regular,
        zeros.len() as u64,
        None,
    );
    write_tar(&package, vec![(header, &zeros[..])], true);
    let noop = |_: &Path, _: EntryKind| Ok(());
    let by_size = ExtractLimits {
        max_uncompressed_bytes: Some(1 << 20),
        ..ExtractLimits::NONE
    };
    let err = extract_package(&package, &dir.path().join("a"), by_size, noop).unwrap_err();
    assert!(
        matches!(err, PackageError::TooLarge { limit, kind: Limit::Size, .. } if limit == 1 << 20),
        "{err}"
    );
    assert!(err.to_string().contains("bomb.tar.gz"), "{err}");
    assert!(err.to_string().contains(MAX_SIZE_VARIABLE), "{err}");
    let roomy = ExtractLimits {
        max_uncompressed_bytes: Some(4 << 20),
        max_compression_ratio: Some(100_000),
    };
    let summary = extract_package(&package, &dir.path().join("c"), roomy, noop).unwrap();
    assert_eq!(summary.file_count, 1);
}

#[test]
fn formats_by_extension() {
    use PackageFormat as F;
    for (name, format) in [
        ("A.1.0.0.nupkg", Some(F::Nupkg)),
        ("A.1.0.0.ZIP", Some(F::Zip)),
        ("A.1.0.0.tar.gz", Some(F::TarGz)),
        ("A.1.0.0.tgz", Some(F::TarGz)),
        ("A.1.0.0.tar", Some(F::Tar)),
        ("A.1.0.0.tar.bz2", None),
        ("A", None),
    ] {
        assert_eq!(PackageFormat::from_file_name(name), format, "{name}");
    }
}

#[test]
fn percent_decoding_matches_nuget() {
    assert_eq!(percent_decode("site%20theme.css"), "site theme.css");
    assert_eq!(percent_decode("4.0.0%2Bbuild"), "4.0.0+build");
    assert_eq!(percent_decode("caf%C3%A9"), "café");
    assert_eq!(percent_decode("100%"), "100%");
    assert_eq!(percent_decode("%zz%4"), "%zz%4");
    assert_eq!(
        percent_decode("bad%FF"),
        "bad%FF",
        "invalid UTF-8 keeps the original"
    );
}

#[test]
#[cfg(unix)] // symlinks
fn a_file_in_the_way_of_a_directory_is_a_conflict_naming_both() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("out");
    fs::create_dir_all(&dest).unwrap();
    fs::write(dest.join("config"), "not a directory").unwrap();
    let package = dir.path().join("Acme.Web.1.0.0.zip");
    write_zip(&package, &[("config/app.conf", b"x", None)]);
    let (result, _) = extract(&package, &dest);
    let err = result.unwrap_err();
    assert!(matches!(err, PackageError::Conflict { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("Acme.Web.1.0.0.zip") && text.contains("out/config"),
        "{text}"
    );
}

#[test]
fn the_ratio_applies_above_its_floor_and_the_smaller_limit_wins() {
    let ratio_50 = ExtractLimits {
        max_compression_ratio: Some(50),
        ..ExtractLimits::NONE
    };
    assert_eq!(ratio_50.byte_limit(4096), (RATIO_FLOOR, Limit::Ratio(50)));
    assert_eq!(ratio_50.byte_limit(10 << 20), (500 << 20, Limit::Ratio(50)));
    assert_eq!(
        ExtractLimits::DEFAULT.byte_limit(1 << 30),
        (16 << 30, Limit::Size)
    );
    assert_eq!(ExtractLimits::NONE.byte_limit(1), (u64::MAX, Limit::Size));
    assert!(!ratio_50.entry_over_ratio(RATIO_FLOOR, 1), "at the floor");
    assert!(ratio_50.entry_over_ratio(RATIO_FLOOR + 1, 1));
    assert!(!ratio_50.entry_over_ratio(100 << 20, 4 << 20));
}

#[test]
fn limits_come_from_the_calamari_variables_over_the_defaults() {
    let from = |pairs: &[(&str, &str)]| {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ExtractLimits::from_variables(|name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
    };
    assert_eq!(from(&[]), Ok(ExtractLimits::DEFAULT));
    assert_eq!(
        from(&[(LIMITS_ENABLED_VARIABLE, "False")]),
        Ok(ExtractLimits::NONE)
    );
    assert_eq!(
        from(&[(LIMITS_ENABLED_VARIABLE, "True")]),
        Ok(ExtractLimits::DEFAULT)
    );
    let set = from(&[(MAX_SIZE_VARIABLE, " 1024 "), (MAX_RATIO_VARIABLE, "5")]);
    let expected = ExtractLimits {
        max_uncompressed_bytes: Some(1024),
        max_compression_ratio: Some(5),
    };
    assert_eq!(set, Ok(expected));
    for bad in ["abc", "0", "-1", "1.5"] {
        let err = from(&[(MAX_RATIO_VARIABLE, bad)]).unwrap_err();
        assert!(
            err.contains(MAX_RATIO_VARIABLE) && err.contains(LIMITS_ENABLED_VARIABLE),
            "{err}"
        );
    }
}

#[test]
fn a_zip_declaring_too_much_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let zeros = vec![0u8; 80 << 20];
    let one = dir.path().join("one.zip");
    write_zip(&one, &[("zeros.bin", &zeros, None)]);
    let dest = dir.path().join("out");
    let err = extract_package(&one, &dest, ExtractLimits::DEFAULT, |_, _| Ok(())).unwrap_err();
    assert!(
        matches!(&err, PackageError::EntryTooCompressed { entry, size, kind: Limit::Ratio(100), .. }
            if entry == "zeros.bin" && *size == 80 << 20),
        "{err}"
    );
    assert!(err.to_string().contains(MAX_RATIO_VARIABLE), "{err}");
    assert!(!dest.exists(), "nothing is created");

    // Two halves: each under the floor, together far over 100 times the package.
    let halves = dir.path().join("halves.zip");
    let half = &zeros[..40 << 20];
    write_zip(&halves, &[("a.bin", half, None), ("b.bin", half, None)]);
    let err = extract_package(&halves, &dest, ExtractLimits::DEFAULT, |_, _| Ok(())).unwrap_err();
    assert!(
        matches!(
            err,
            PackageError::TooLarge {
                kind: Limit::Ratio(100),
                ..
            }
        ),
        "{err}"
    );
    assert!(!dest.exists(), "nothing is created");
    let err = declared_size(&halves, ExtractLimits::DEFAULT).unwrap_err();
    assert!(matches!(err, PackageError::TooLarge { .. }), "{err}");
    assert_eq!(
        declared_size(&halves, ExtractLimits::NONE).unwrap(),
        Some(80 << 20)
    );
}

#[test]
fn declared_sizes_come_from_zip_and_tar_headers_not_gzip() {
    let dir = tempfile::tempdir().unwrap();
    let zip_file = dir.path().join("p.zip");
    write_zip(&zip_file, &[("a.txt", b"hello", None), ("d/", b"", None)]);
    assert_eq!(
        declared_size(&zip_file, ExtractLimits::DEFAULT).unwrap(),
        Some(5)
    );
    let data = vec![7u8; 3000];
    for (name, gzip, expected) in [("p.tar", false, Some(3000)), ("p.tar.gz", true, None)] {
        let path = dir.path().join(name);
        let header = raw_header("a.bin", tar::EntryType::Regular, 3000, None);
        write_tar(&path, vec![(header, &data[..])], gzip);
        assert_eq!(
            declared_size(&path, ExtractLimits::DEFAULT).unwrap(),
            expected,
            "{name}"
        );
    }
    let tiny = ExtractLimits {
        max_uncompressed_bytes: Some(100),
        ..ExtractLimits::NONE
    };
    let err = declared_size(&dir.path().join("p.tar"), tiny).unwrap_err();
    assert!(
        matches!(err, PackageError::TooLarge { limit: 100, .. }),
        "{err}"
    );
}

#[test]
fn progress_hears_the_bytes_written_up_to_the_declared_size() {
    let dir = tempfile::tempdir().unwrap();
    let package = dir.path().join("App.1.0.0.zip");
    let big = vec![7u8; 200 * 1024];
    write_zip(
        &package,
        &[("a.bin", &big[..], None), ("b.txt", b"hello", None)],
    );
    let declared = declared_size(&package, ExtractLimits::default()).unwrap();
    let mut heard = Vec::new();
    extract_package_reporting(
        &package,
        &dir.path().join("out"),
        ExtractLimits::default(),
        |_| Ok(()),
        |done| heard.push(done),
    )
    .unwrap();
    assert!(heard.windows(2).all(|w| w[0] < w[1]), "{heard:?}");
    assert!(heard.len() > 2, "a large file is told in chunks: {heard:?}");
    assert_eq!(heard.last().copied(), declared);
    assert_eq!(declared, Some(200 * 1024 + 5));
}

/// What `Before::All` told, with whether each path existed then.
type Listed = Vec<(PathBuf, EntryKind, bool)>;

/// Extract with the entries listed first: what `Before::All` told, and every path told one by
/// one.
fn extract_listed(
    package: &Path,
    dest: &Path,
    mut on_all: impl FnMut(&[(PathBuf, EntryKind)]),
) -> (Result<ExtractSummary, PackageError>, Listed, Recorded) {
    let (mut all, mut one) = (Vec::new(), Vec::new());
    let result = extract_package_reporting(
        package,
        dest,
        ExtractLimits::default(),
        |before| {
            match before {
                Before::All(entries) => {
                    let exists = |p: &Path| fs::symlink_metadata(p).is_ok();
                    all.extend(entries.iter().map(|(p, k)| (p.clone(), *k, exists(p))));
                    on_all(entries);
                }
                Before::One(path, kind) => one.push((path.to_path_buf(), kind)),
            }
            Ok(())
        },
        |_| {},
    );
    (result, all, one)
}

#[test]
fn tar_and_tar_gz_entries_are_all_told_in_one_go_before_anything_is_written() {
    for gzip in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let package = dir.path().join(if gzip { "p.tar.gz" } else { "p.tar" });
        let headers = vec![
            (
                raw_header("a/", tar::EntryType::Directory, 0, None),
                &b""[..],
            ),
            (
                raw_header("a/x.txt", tar::EntryType::Regular, 1, None),
                &b"x"[..],
            ),
            (
                raw_header("b/c/y.txt", tar::EntryType::Regular, 1, None),
                &b"y"[..],
            ),
            (
                raw_header("b/c/z", tar::EntryType::Link, 0, Some("a/x.txt")),
                &b""[..],
            ),
        ];
        write_tar(&package, headers, gzip);
        let dest = dir.path().join("out");
        let (result, all, one) = extract_listed(&package, &dest, |_| {});
        assert_eq!(result.unwrap().file_count, 3);
        let told: Vec<_> = all
            .iter()
            .map(|(p, k, _)| (p.strip_prefix(&dest).unwrap(), *k))
            .collect();
        let expected = [
            ("", EntryKind::Directory),
            ("a", EntryKind::Directory),
            ("b", EntryKind::Directory),
            ("b/c", EntryKind::Directory),
            ("a/x.txt", EntryKind::File),
            ("b/c/y.txt", EntryKind::File),
            ("b/c/z", EntryKind::File),
        ];
        let expected: Vec<_> = expected.iter().map(|(p, k)| (Path::new(p), *k)).collect();
        assert_eq!(told, expected, "gzip: {gzip}");
        assert!(all.iter().all(|(_, _, exists)| !exists), "{all:?}");
        assert!(
            one.is_empty(),
            "all told in one go, the destination too: {one:?}"
        );
    }
}

#[test]
#[cfg(unix)] // permissions and links
fn a_listed_file_moved_aside_before_it_is_overwritten_keeps_its_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("out");
    fs::create_dir_all(dest.join("config")).unwrap();
    let conf = dest.join("config/app.conf");
    fs::write(&conf, "old").unwrap();
    fs::set_permissions(&conf, fs::Permissions::from_mode(0o600)).unwrap();
    let package = dir.path().join("p.zip");
    write_zip(
        &package,
        &[
            ("config/app.conf", b"new", Some(0o644)),
            ("new.txt", b"n", None),
        ],
    );
    let aside = dir.path().join("aside");
    let (result, all, one) =
        extract_listed(&package, &dest, |_| fs::rename(&conf, &aside).unwrap());
    result.unwrap();
    assert_eq!(
        all,
        vec![
            (conf.clone(), EntryKind::File, true),
            (dest.join("new.txt"), EntryKind::File, false)
        ]
    );
    assert!(one.is_empty(), "{one:?}");
    assert_eq!(fs::read_to_string(&conf).unwrap(), "new");
    assert_eq!(
        fs::metadata(&conf).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[test]
#[cfg(unix)] // links
fn a_package_path_through_a_link_is_refused_before_anything_is_listed_or_written() {
    let dir = tempfile::tempdir().unwrap();
    let outside = dir.path().join("outside");
    fs::create_dir_all(&outside).unwrap();
    fs::write(outside.join("x.txt"), "theirs").unwrap();
    let dest = dir.path().join("out");
    fs::create_dir_all(&dest).unwrap();
    std::os::unix::fs::symlink(&outside, dest.join("logs")).unwrap();
    let package = dir.path().join("p.tar");
    let headers = vec![
        (
            raw_header("first.txt", tar::EntryType::Regular, 1, None),
            &b"1"[..],
        ),
        (
            raw_header("logs/x.txt", tar::EntryType::Regular, 1, None),
            &b"x"[..],
        ),
    ];
    write_tar(&package, headers, false);
    let (result, all, _) = extract_listed(&package, &dest, |_| {});
    assert_eq!(unsafe_reason(result), UnsafeReason::ThroughSymlink);
    assert!(all.is_empty(), "nothing told: {all:?}");
    assert!(!dest.join("first.txt").exists(), "nothing written");
    assert_eq!(fs::read_to_string(outside.join("x.txt")).unwrap(), "theirs");
}

#[test]
fn a_package_path_beneath_a_link_of_the_package_is_refused_before_anything_is_listed() {
    let dir = tempfile::tempdir().unwrap();
    let package = dir.path().join("p.tar");
    let headers = vec![
        (
            raw_header("here", tar::EntryType::Symlink, 0, Some(".")),
            &b""[..],
        ),
        (
            raw_header("here/x.txt", tar::EntryType::Regular, 1, None),
            &b"x"[..],
        ),
    ];
    write_tar(&package, headers, false);
    let dest = dir.path().join("out");
    let (result, all, _) = extract_listed(&package, &dest, |_| {});
    assert_eq!(unsafe_reason(result), UnsafeReason::ThroughSymlink);
    assert!(all.is_empty(), "{all:?}");
}

/// A zip of `count` compressible files of `size` bytes each (`f{i}.txt`, each its own text).
fn write_large_zip(path: &Path, count: usize, size: usize) -> Vec<(String, Vec<u8>)> {
    let files: Vec<(String, Vec<u8>)> = (0..count)
        .map(|i| {
            let line = format!("line of file {i} ");
            (
                format!("d{}/f{i}.txt", i % 3),
                line.repeat(size / line.len()).into_bytes(),
            )
        })
        .collect();
    let entries: Vec<(&str, &[u8], Option<u32>)> = files
        .iter()
        .map(|(name, bytes)| (name.as_str(), &bytes[..], None))
        .collect();
    write_zip(path, &entries);
    files
}

#[test]
fn a_large_zip_is_inflated_whole_on_several_threads_with_progress_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let package = dir.path().join("Big.1.0.0.zip");
    let files = write_large_zip(&package, 40, 64 * 1024);
    let declared = declared_size(&package, ExtractLimits::default()).unwrap();
    assert!(declared > Some(inflate::PARALLEL_FROM), "{declared:?}");
    let dest = dir.path().join("out");
    let mut heard = Vec::new();
    let summary = extract_package_reporting(
        &package,
        &dest,
        ExtractLimits::default(),
        |_| Ok(()),
        |done| heard.push(done),
    )
    .unwrap();
    assert_eq!(summary.file_count, 40);
    for (name, bytes) in &files {
        assert_eq!(&fs::read(dest.join(name)).unwrap(), bytes, "{name}");
    }
    assert!(heard.windows(2).all(|w| w[0] < w[1]), "{heard:?}");
    assert_eq!(heard.last().copied(), declared);
}

#[test]
fn a_damaged_entry_of_a_large_zip_is_named_and_stops_the_inflate() {
    let dir = tempfile::tempdir().unwrap();
    let package = dir.path().join("Big.1.0.0.zip");
    write_large_zip(&package, 40, 64 * 1024);
    let start = {
        let mut archive = zip::ZipArchive::new(fs::File::open(&package).unwrap()).unwrap();
        let entry = archive.by_name("d1/f7.txt").unwrap();
        entry.data_start().unwrap() + entry.compressed_size() / 2
    };
    let mut bytes = fs::read(&package).unwrap();
    for byte in &mut bytes[start as usize..start as usize + 16] {
        *byte ^= 0x5a;
    }
    fs::write(&package, bytes).unwrap();
    let err = extract_package_reporting(
        &package,
        &dir.path().join("out"),
        ExtractLimits::default(),
        |_| Ok(()),
        |_| {},
    )
    .unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(&err, PackageError::Read { entry, .. } if Path::new(entry) == Path::new("d1/f7.txt")),
        "{message}"
    );
    assert!(message.contains("Big.1.0.0.zip"), "{message}");
}

#[test]
#[cfg(unix)] // symlinks
fn a_package_extracted_again_replaces_links_at_its_own_paths_and_never_follows_them() {
    let dir = tempfile::tempdir().unwrap();
    let package = dir.path().join("Linked.1.0.0.tar");
    let headers = vec![
        (
            raw_header("lib/libfab.so.1", tar::EntryType::Regular, 2, None),
            &b"v1"[..],
        ),
        (
            raw_header(
                "lib/libfab.so",
                tar::EntryType::Symlink,
                0,
                Some("libfab.so.1"),
            ),
            &b""[..],
        ),
        (
            raw_header(
                "lib/again.so",
                tar::EntryType::Link,
                0,
                Some("lib/libfab.so.1"),
            ),
            &b""[..],
        ),
    ];
    write_tar(&package, headers, false);
    let dest = dir.path().join("out");
    extract(&package, &dest).0.unwrap();
    // A link put where the package has a file, pointing elsewhere.
    let outside = dir.path().join("outside.txt");
    fs::write(&outside, "theirs").unwrap();
    fs::remove_file(dest.join("lib/libfab.so.1")).unwrap();
    std::os::unix::fs::symlink(&outside, dest.join("lib/libfab.so.1")).unwrap();
    fs::remove_file(dest.join("lib/again.so")).unwrap();
    std::os::unix::fs::symlink(&outside, dest.join("lib/again.so")).unwrap();

    // A hook that moves nothing aside: the writer itself replaces the links.
    let summary = extract_package(&package, &dest, ExtractLimits::default(), |_, _| Ok(()));
    assert_eq!(summary.unwrap().file_count, 3);
    assert_eq!(
        fs::read_to_string(dest.join("lib/libfab.so.1")).unwrap(),
        "v1"
    );
    assert!(
        !fs::symlink_metadata(dest.join("lib/libfab.so.1"))
            .unwrap()
            .is_symlink()
    );
    assert_eq!(
        fs::read_link(dest.join("lib/libfab.so")).unwrap(),
        Path::new("libfab.so.1")
    );
    assert_eq!(fs::read_to_string(dest.join("lib/again.so")).unwrap(), "v1");
    assert_eq!(fs::read_to_string(&outside).unwrap(), "theirs");
}
