//! "Structured Configuration Variables" (`docs/octopus-conventions.md` §4.5): replace values at
//! existing paths of a JSON, YAML, XML or `.properties` file with the deployment's variables.
//!
//! The format is chosen as Calamari chooses it: `.json` is JSON only; `.yml`/`.yaml`, `.xml` and
//! `.properties` are tried as JSON first, then as their own format; any other file is tried as JSON,
//! XML, YAML, then properties, the first that parses winning. With the fallback flag
//! (`Octopus.Action.StructuredConfigurationFallbackFlag`) only JSON is tried. If the last candidate
//! fails to parse, the error names the file and position, and the file is untouched.
//!
//! Each format module turns text into new text; this module reads, picks, calls the caller's
//! `before_write` hook and writes atomically in the original encoding. Finding the files (globs,
//! additional paths) is [`crate::config::glob`]'s job.

mod json;
mod jsonc;
mod properties;
mod xml;
mod xpath;
mod yaml;
mod yaml_emit;

use std::path::Path;

// The parts the upgrade's three-way merge (`config::merge`) edits files with.
pub(crate) use properties::{Entry as PropertiesEntry, parse as properties_entries};
pub(crate) use yaml::{load as yaml_load, transform as yaml_replace};
pub(crate) use yaml_emit::{Layout as YamlLayout, node as yaml_node};

use super::encoding::{read_text_file, write_atomic};
use super::error::{ConfigError, ConfigFormat, FormatError, HookError};

/// Options of the structured-variables step.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StructuredOptions {
    /// `Octopus.Action.StructuredConfigurationFallbackFlag=true`: parse every file as JSON only.
    pub json_only: bool,
}

/// What happened to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StructuredReport {
    /// The format the file was parsed as.
    pub format: ConfigFormat,
    /// Whether the file was rewritten.
    pub changed: bool,
    /// Names of the variables that replaced something, in the order applied.
    pub replaced: Vec<String>,
    /// Replacements skipped, with the reason (e.g. a subtree value that is not JSON).
    pub warnings: Vec<String>,
}

/// The result of one format's pass over a text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Transformed {
    /// The new text, or `None` when nothing changed.
    pub text: Option<String>,
    pub replaced: Vec<String>,
    pub warnings: Vec<String>,
}

/// A variable as the replacers take it: its name and evaluated value; `None` is a variable whose
/// value is null, which JSON and YAML write as `null` (and XML and properties as empty text).
pub type StructuredVariable = (String, Option<String>);

type Transform = fn(&str, &[StructuredVariable]) -> Result<Transformed, FormatError>;

/// Apply `variables` (already evaluated; later entries win over earlier ones with the same name,
/// ignoring case) to the file at `path`, calling `before_write(path)` before it is overwritten.
/// A missing file is treated as an empty JSON object: nothing to replace, nothing written.
pub fn replace_structured(
    path: &Path,
    variables: &[StructuredVariable],
    options: StructuredOptions,
    before_write: &mut dyn FnMut(&Path) -> Result<(), HookError>,
) -> Result<StructuredReport, ConfigError> {
    if !path.exists() {
        return Ok(StructuredReport {
            format: ConfigFormat::Json,
            changed: false,
            replaced: vec![],
            warnings: vec![],
        });
    }
    let file = read_text_file(path)?;
    let candidates = candidates(path, options);
    let mut last_error = None;
    for &format in &candidates {
        match transformer(format)(&file.text, variables) {
            Ok(outcome) => {
                let changed = outcome.text.is_some();
                if let Some(text) = outcome.text {
                    before_write(path).map_err(|source| ConfigError::BeforeWrite {
                        path: path.to_path_buf(),
                        source,
                    })?;
                    write_atomic(path, &file.encode_text(&text))?;
                }
                return Ok(StructuredReport {
                    format,
                    changed,
                    replaced: outcome.replaced,
                    warnings: outcome.warnings,
                });
            }
            Err(error) => last_error = Some((format, error)),
        }
    }
    let (format, error) =
        last_error.unwrap_or((ConfigFormat::Json, FormatError::new(0, "no format to try")));
    Err(error.into_config_error(path, format, &file.text))
}

/// The element and other nodes (not attributes) an XPath of the supported subset selects in
/// `doc`; nothing when it does not compile. For the configuration transforms.
pub(crate) fn xpath_select(doc: &super::xml_tree::XmlDoc<'_>, path: &str) -> Vec<usize> {
    xpath::select(doc, path)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|selected| match selected {
            xpath::Selected::Node(id) => Some(id),
            _ => None,
        })
        .collect()
}

/// The formats to try for `path`, in Calamari's order.
fn candidates(path: &Path, options: StructuredOptions) -> Vec<ConfigFormat> {
    use ConfigFormat::{Json, Properties, Xml, Yaml};
    if options.json_only {
        return vec![Json];
    }
    let extension = path
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    match extension.as_str() {
        "json" => vec![Json],
        "yml" | "yaml" => vec![Json, Yaml],
        "xml" => vec![Json, Xml],
        "properties" => vec![Json, Properties],
        _ => vec![Json, Xml, Yaml, Properties],
    }
}

fn transformer(format: ConfigFormat) -> Transform {
    match format {
        ConfigFormat::Json => json::transform,
        ConfigFormat::Yaml => yaml::transform,
        ConfigFormat::Xml | ConfigFormat::DotnetConfig => xml::transform,
        ConfigFormat::Properties => properties::transform,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::encoding::{TextEncoding, encode};
    use std::fs;

    fn vars(pairs: &[(&str, &str)]) -> Vec<StructuredVariable> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Some(v.to_string())))
            .collect()
    }

    fn run(path: &Path, pairs: &[(&str, &str)]) -> (Result<StructuredReport, ConfigError>, usize) {
        let mut hooks = 0;
        let result = replace_structured(
            path,
            &vars(pairs),
            StructuredOptions::default(),
            &mut |_: &Path| {
                hooks += 1;
                Ok(())
            },
        );
        (result, hooks)
    }

    #[test]
    fn format_is_chosen_by_extension_then_sniffed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cases = [
            ("a.yaml", "{\"k\": 1}", ConfigFormat::Json),
            ("b.yml", "k: 1\n", ConfigFormat::Yaml),
            ("c.conf", "<k>1</k>", ConfigFormat::Xml),
            ("d.conf", "k: 1\n", ConfigFormat::Yaml),
            ("e.properties", "k=1\n", ConfigFormat::Properties),
        ];
        for (name, text, format) in cases {
            let path = dir.path().join(name);
            fs::write(&path, text).expect("write");
            let (report, _) = run(&path, &[("k", "2")]);
            assert_eq!(report.expect("replaces").format, format, "{name}");
        }
    }

    #[test]
    fn utf16_crlf_file_keeps_encoding_and_unchanged_file_is_byte_exact() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("app.properties");
        let original = encode("# c\r\nk=1\r\nother=x\r\n", TextEncoding::Utf16Le);
        fs::write(&path, &original).expect("write");
        let (report, hooks) = run(&path, &[("nothing", "x")]);
        assert!(!report.expect("ok").changed);
        assert_eq!(hooks, 0);
        assert_eq!(fs::read(&path).expect("read"), original);
        let (report, hooks) = run(&path, &[("K", "2")]);
        assert!(report.expect("ok").changed);
        assert_eq!(hooks, 1);
        assert_eq!(
            fs::read(&path).expect("read"),
            encode("# c\r\nk=2\r\nother=x\r\n", TextEncoding::Utf16Le)
        );
    }

    #[test]
    fn unparseable_file_is_an_error_with_position_and_untouched() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("appsettings.json");
        fs::write(&path, "{\n  \"a\": 1,\n  oops }").expect("write");
        let (result, hooks) = run(&path, &[("a", "2")]);
        let err = result.unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("appsettings.json")
                && message.contains("JSON")
                && message.contains("line 3"),
            "{message}"
        );
        assert_eq!(hooks, 0);
        assert_eq!(
            fs::read_to_string(&path).expect("read"),
            "{\n  \"a\": 1,\n  oops }"
        );
    }

    #[test]
    fn binary_file_is_refused_and_missing_file_is_empty() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("data.json");
        fs::write(&path, b"{\0}").expect("write");
        assert!(matches!(
            run(&path, &[]).0,
            Err(ConfigError::NotText { .. })
        ));
        let (report, hooks) = run(&dir.path().join("absent.json"), &[("a", "1")]);
        assert!(!report.expect("ok").changed);
        assert_eq!(hooks, 0);
    }

    #[test]
    fn json_only_flag_forces_json() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a.yml");
        fs::write(&path, "k: 1\n").expect("write");
        let result = replace_structured(
            &path,
            &vars(&[("k", "2")]),
            StructuredOptions { json_only: true },
            &mut |_: &Path| Ok(()),
        );
        assert!(matches!(
            result,
            Err(ConfigError::Parse {
                format: ConfigFormat::Json,
                ..
            })
        ));
    }
}
