//! `dropship import`: what Octopus produces, turned into a dropship plan by a pipeline of three
//! stages, each using only the stages before it and the two modules all of them share: `model`
//! (the neutral in-memory model, [`ImportedProcess`], and the property bag the readers fill) and
//! `error` (typed errors that name file and position).
//!
//! 1. **read** a source into a source-neutral form:
//!    - a deployment process, as REST JSON (`process_json`) or Config-as-Code OCL (`ocl`, the
//!      grammar, then `ocl_process`), into the raw form (`raw`);
//!    - the `.ps1` an Offline Package Drop runs (`ps1_lex`, `ps1`), into its Calamari calls
//!      ([`parse_opd_script`]).
//! 2. **model**: build the [`ImportedProcess`], the same for the same process from either
//!    source. `process` builds it from the raw form (conditions, roles, scoping), with `actions`
//!    for what each action does and `packages` for finding package files
//!    ([`parse_process_json`], [`parse_process_ocl`]); `opd` builds it from a drop's calls and
//!    variables files, with the values the customer supplies.
//! 3. **plan**: `to_plan` maps the model to a plan for the release engineer to review, listing
//!    what it could not map, and writes it all or nothing.
//!
//! `commands::import` runs the stages and validates the plan before it is written. The readers
//! touch nothing but the files they are given.
//!
//! Known gaps: environment/channel names are matched against JSON ids only literally (mapping
//! names to ids needs the Octopus API); step-template actions in OCL and action types other
//! than package, script and manual are reported, not mapped.

// Shared by every stage.
mod cursor;
mod error;
mod model;

// 1. read
mod ocl;
mod ocl_process;
mod process_json;
pub mod ps1;
mod ps1_lex;
mod raw;

// 2. model
mod actions;
pub mod opd;
mod packages;
mod process;

// 3. plan
pub mod to_plan;

pub use error::ImportError;
pub use model::*;
pub use ps1::OpdScript;

use std::path::{Path, PathBuf};

/// Choices that shape an import of a deployment process.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Keep only actions that run in this environment: an id (JSON), a slug or a name (OCL).
    pub environment: Option<String>,
    /// Keep only actions that run in this channel, matched as `environment` is.
    pub channel: Option<String>,
    /// `--packages DIR`: resolve every literal package id to a file in this directory.
    pub packages_dir: Option<PathBuf>,
}

/// Reads a deployment process exported as JSON from the Octopus REST API or UI.
pub fn parse_process_json(
    path: &Path,
    opts: &ImportOptions,
) -> Result<ImportedProcess, ImportError> {
    let text = read_text(path)?;
    parse_process_json_str(&text, path, opts)
}

/// Like [`parse_process_json`], from text already read; `file` is used in errors.
pub fn parse_process_json_str(
    text: &str,
    file: &Path,
    opts: &ImportOptions,
) -> Result<ImportedProcess, ImportError> {
    let raw = process_json::read(text, file)?;
    process::build(raw, file, opts)
}

/// Reads a Config-as-Code `deployment_process.ocl` (or a runbook's `.ocl`).
pub fn parse_process_ocl(
    path: &Path,
    opts: &ImportOptions,
) -> Result<ImportedProcess, ImportError> {
    let text = read_text(path)?;
    parse_process_ocl_str(&text, path, opts)
}

/// Like [`parse_process_ocl`], from text already read; `file` is used in errors.
pub fn parse_process_ocl_str(
    text: &str,
    file: &Path,
    opts: &ImportOptions,
) -> Result<ImportedProcess, ImportError> {
    let items = ocl::parse(text, file)?;
    let raw = ocl_process::read(&items, file)?;
    process::build(raw, file, opts)
}

/// Reads an OPD's generated PowerShell script. Paths in the result are relative to
/// `drop_root` (the bundle's top folder) with forward slashes.
pub fn parse_opd_script(path: &Path, drop_root: &Path) -> Result<OpdScript, ImportError> {
    let text = read_text(path)?;
    ps1::parse(&text, path, drop_root)
}

/// Reads a text file, honouring a UTF-8 or UTF-16 byte-order mark: Windows tools write both.
fn read_text(path: &Path) -> Result<String, ImportError> {
    let bytes = std::fs::read(path).map_err(|source| ImportError::Io {
        file: path.to_path_buf(),
        source,
    })?;
    decode(&bytes).map_err(|message| ImportError::Encoding {
        file: path.to_path_buf(),
        message,
    })
}

fn decode(bytes: &[u8]) -> Result<String, String> {
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return String::from_utf8(rest.to_vec()).map_err(|e| e.to_string());
    }
    let utf16 = |rest: &[u8], big_endian: bool| {
        if !rest.len().is_multiple_of(2) {
            return Err("UTF-16 text with an odd number of bytes".to_owned());
        }
        let units: Vec<u16> = rest
            .chunks(2)
            .map(|c| match (c, big_endian) {
                ([a, b], false) => u16::from_le_bytes([*a, *b]),
                ([a, b], true) => u16::from_be_bytes([*a, *b]),
                _ => 0xFFFD,
            })
            .collect();
        String::from_utf16(&units).map_err(|e| e.to_string())
    };
    match bytes {
        [0xFF, 0xFE, rest @ ..] => utf16(rest, false),
        [0xFE, 0xFF, rest @ ..] => utf16(rest, true),
        _ => String::from_utf8(bytes.to_vec()).map_err(|e| e.to_string()),
    }
}

#[cfg(test)]
mod ocl_tests;
#[cfg(test)]
mod process_tests;
#[cfg(test)]
mod ps1_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_utf8_and_utf16_with_byte_order_marks() {
        assert_eq!(decode(b"\xEF\xBB\xBFa = 1").unwrap(), "a = 1");
        assert_eq!(decode(b"\xFF\xFEa\0=\0").unwrap(), "a=");
        assert_eq!(decode(b"\xFE\xFF\0a").unwrap(), "a");
        assert!(decode(b"\xFF\xFEa").is_err());
        assert!(decode(b"\xC3").is_err());
    }

    #[test]
    fn reads_samples_from_files() {
        let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/import/testdata");
        let opts = ImportOptions::default();
        let json = parse_process_json(&data.join("process.json"), &opts).unwrap();
        let ocl = parse_process_ocl(&data.join("deployment_process.ocl"), &opts).unwrap();
        assert_eq!(json.steps.len(), ocl.steps.len());
        let script = parse_opd_script(&data.join("opd.ps1"), &data).unwrap();
        assert_eq!(script.calls.len(), 2);
    }

    #[test]
    fn a_missing_file_is_named() {
        let err = parse_process_ocl(Path::new("/nonexistent/x.ocl"), &ImportOptions::default())
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("reading `/nonexistent/x.ocl`: "),
            "{err}"
        );
    }
}
