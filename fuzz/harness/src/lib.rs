//! What each fuzz target does with its input, in one place: the cargo-fuzz targets
//! (`fuzz/fuzz_targets/*.rs`, nightly) are one line each calling a function here, and the
//! stable corpus-replay test (`tests/corpus_replay.rs`) feeds every file of
//! `fuzz/corpus/<target>/` through the same function, so a regression is caught without nightly.
//!
//! Each function calls the public function the product calls on bytes it did not make itself,
//! and ignores the result: an error is a correct answer to bad input, a panic, a hang or an
//! allocation that does not fit is the finding. Parsers that read files get the input written to
//! a fresh private directory (on tmpfs when there is one), as the product would find it.

mod fixtures;

use dropship::import::{self, ImportOptions};
use dropship_runtime::answers::{self, AnswerSources};
use dropship_runtime::config::{StructuredOptions, replace_dotnet_config, replace_structured};
use dropship_runtime::container::{self, InstallerFile};
use dropship_runtime::journal::Journal;
use dropship_runtime::package::{ExtractLimits, extract_package};
use dropship_runtime::plan::{self, Plan};
use dropship_runtime::state_dir::StateDir;
use dropship_runtime::template::{self, Mode};
use dropship_runtime::trust::{SignatureBlock, canonicalize_signature};
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// A fuzz target: its name (the folder of its corpus) and what it does with one input.
pub type Target = (&'static str, fn(&[u8]));

/// Every target, by name.
pub const TARGETS: &[Target] = &[
    ("container", container),
    ("signature", signature),
    ("plan", plan),
    ("answers", answers),
    ("template", template),
    ("ps1", ps1),
    ("ocl", ocl),
    ("process_json", process_json),
    ("package_zip", package_zip),
    ("package_tar", package_tar),
    ("structured_json", structured_json),
    ("structured_yaml", structured_yaml),
    ("structured_xml", structured_xml),
    ("structured_properties", structured_properties),
    ("dotnet_config", dotnet_config),
    ("journal", journal),
];

/// The longest template evaluated: 64 KiB, longer than the templates of real configuration
/// files and scripts. Nested `#{each}` loops and chains of growing filters
/// (`| Replace a aa | ...`) multiply the output with each level, but evaluation caps its own
/// output and steps (`template::Limits`), so the harness relies on those caps; this cap only
/// keeps libFuzzer from spending its time on megabyte inputs.
pub const MAX_TEMPLATE_LEN: usize = 64 << 10;

/// The most bytes one package may unpack to here: the product passes no limit (a package is
/// the vendor's, checked by the signature), but a fuzzer's zip bomb would fill the tmpfs.
const MAX_UNPACKED_BYTES: u64 = 8 << 20;

/// The installer file: trailer, manifest, then the signature block, as `InstallerFile::open`
/// and the verifier read them; also as a `.presign` file (`dropship seal`).
pub fn container(data: &[u8]) {
    let (_dir, path) = written("installer", data);
    if let Ok(file) = InstallerFile::open(&path) {
        let _ = SignatureBlock::parse(&file.signature, &path);
    }
    let _ = container::read_presign(&path);
}

/// A signature block, as the installer reads it and as `dropship seal` reads a `.minisig`.
pub fn signature(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("installer.minisig");
    let _ = SignatureBlock::parse(text, path);
    let _ = SignatureBlock::parse(&canonicalize_signature(text), path);
}

/// A step plan, and the same bytes as a customer profile.
pub fn plan(data: &[u8]) {
    let _ = Plan::parse(data, "plan.json");
    let _ = plan::parse_profile(data, "customer.json");
}

/// An unattended answers file for a plan with a parameter of each type.
pub fn answers(data: &[u8]) {
    let (_dir, path) = written("answers.json", data);
    let sources = AnswerSources {
        answers_file: Some(path),
        ..AnswerSources::default()
    };
    let _ = answers::unattended(fixtures::answers_plan(), &[], &sources, &fixtures::env);
}

/// An Octostache template, evaluated in both modes and as a condition, against a fixed set of
/// variables that has nesting, JSON values, lists and values that are templates themselves.
pub fn template(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if text.len() > MAX_TEMPLATE_LEN {
        return;
    }
    let vars = fixtures::template_variables();
    let _ = template::check_syntax(text);
    let _ = template::evaluate(text, vars, Mode::Strict);
    let _ = template::evaluate(text, vars, Mode::Continue);
    let _ = template::evaluate_truthy(text, vars);
}

/// An Offline Package Drop's generated `.ps1`.
pub fn ps1(data: &[u8]) {
    let (dir, path) = written("deploy.ps1", data);
    let _ = import::parse_opd_script(&path, dir.path());
}

/// A Config-as-Code `deployment_process.ocl`, with a packages folder to look packages up in.
pub fn ocl(data: &[u8]) {
    let (dir, path) = written("deployment_process.ocl", data);
    let _ = import::parse_process_ocl(&path, &import_options(&dir));
}

/// A deployment process as the Octopus REST API exports it.
pub fn process_json(data: &[u8]) {
    let (dir, path) = written("process.json", data);
    let _ = import::parse_process_json(&path, &import_options(&dir));
}

/// A zip, extracted both as a plain zip and as a NuGet package.
pub fn package_zip(data: &[u8]) {
    extract(data, "package.zip");
    extract(data, "package.nupkg");
}

/// A tar stream, extracted both as `.tar` and (the same bytes read as gzip) as `.tar.gz`.
pub fn package_tar(data: &[u8]) {
    extract(data, "package.tar");
    extract(data, "package.tar.gz");
}

/// Structured variables on a `.json` file (JSON only).
pub fn structured_json(data: &[u8]) {
    structured(data, "appsettings.json");
}

/// Structured variables on a `.yaml` file (tried as JSON, then YAML).
pub fn structured_yaml(data: &[u8]) {
    structured(data, "config.yaml");
}

/// Structured variables on a `.xml` file (tried as JSON, then XML).
pub fn structured_xml(data: &[u8]) {
    structured(data, "config.xml");
}

/// Structured variables on a `.properties` file (tried as JSON, then properties).
pub fn structured_properties(data: &[u8]) {
    structured(data, "application.properties");
}

/// .NET configuration variables on a `web.config`.
pub fn dotnet_config(data: &[u8]) {
    let (_dir, path) = written("web.config", data);
    let _ = replace_dotnet_config(&path, fixtures::config_variables(), &mut |_| Ok(()));
}

/// The journal of an earlier install, replayed as `resume` and `rollback` do before they act
/// (undoing its changes is left out: it would touch whatever paths the input names).
pub fn journal(data: &[u8]) {
    let dir = scratch();
    let state = StateDir::new(dir.path());
    write(&state.journal(), data);
    if let Ok((_journal, replayed)) = Journal::open(&state) {
        let _ = replayed.check_installer("installer");
        let _ = replayed.check_may_begin_after();
        let _ = (replayed.resume_from(), replayed.ended());
    }
}

fn structured(data: &[u8], name: &str) {
    let (_dir, path) = written(name, data);
    let variables = fixtures::structured_variables();
    let _ = replace_structured(&path, variables, StructuredOptions::default(), &mut |_| {
        Ok(())
    });
}

fn extract(data: &[u8], name: &str) {
    let (dir, path) = written(name, data);
    let limits = ExtractLimits {
        max_uncompressed_bytes: Some(MAX_UNPACKED_BYTES),
        max_compression_ratio: None,
    };
    let _ = extract_package(&path, &dir.path().join("out"), limits, |_, _| Ok(()));
}

fn import_options(dir: &TempDir) -> ImportOptions {
    ImportOptions {
        packages_dir: Some(dir.path().to_path_buf()),
        ..ImportOptions::default()
    }
}

/// A fresh private directory holding `data` as `name`.
fn written(name: &str, data: &[u8]) -> (TempDir, PathBuf) {
    let dir = scratch();
    let path = dir.path().join(name);
    write(&path, data);
    (dir, path)
}

/// A fresh private directory, on tmpfs when the machine has one (thousands are made a second).
fn scratch() -> TempDir {
    let shm = Path::new("/dev/shm");
    let base = if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    tempfile::Builder::new()
        .prefix("dropship-fuzz-")
        .tempdir_in(base)
        .expect("a scratch directory")
}

fn write(path: &Path, data: &[u8]) {
    std::fs::write(path, data).expect("writing the input");
}
