//! Parse an Octopus `*.variables.json` file into an ordered list of variables.
//!
//! Two forms exist (`docs/octopus-conventions.md` §2.1):
//! - **legacy** (2015 – Aug 2025): a flat JSON object `{ "name": "value", ... }`;
//! - **array** (Calamari ≥ 2025.3.239): `[ { "k": name, "v": value, "s": isSensitive }, ... ]`.
//!
//! The same parser reads the plaintext of a decrypted `*.secret` file (see [`super::sensitive`]).
//! A UTF-8 byte-order mark is accepted. Values are kept as the text Octopus wrote: templates such
//! as `#{Var}` are not evaluated here. Names keep their case and file order; duplicates are kept
//! in order in the array form; in the legacy object a repeated name keeps its last value, as
//! Newtonsoft's `Populate` does. Names differing only in case are kept apart: Octopus dictionaries
//! are case-insensitive and the later entry wins downstream.
//!
//! Not done here: merging several files, evaluating templates, deciding precedence.

use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// One variable as written in an Octopus variables file.
///
/// `Debug` redacts the value of a sensitive variable.
#[derive(Clone, PartialEq, Eq)]
pub struct OctopusVariable {
    /// The variable name, e.g. `Octopus.Action.Name` or `ConnectionStrings:Main`.
    pub name: String,
    /// The value; `None` when the file holds `null` (or, in the array form, omits `v`).
    pub value: Option<String>,
    /// Whether Octopus marked the value sensitive (always true for a decrypted legacy secret file).
    pub sensitive: bool,
}

impl fmt::Debug for OctopusVariable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value: &dyn fmt::Debug = match (&self.value, self.sensitive) {
            (Some(_), true) => &"<redacted>",
            (value, _) => value,
        };
        f.debug_struct("OctopusVariable")
            .field("name", &self.name)
            .field("value", value)
            .field("sensitive", &self.sensitive)
            .finish()
    }
}

/// Which of the two file forms a variables file used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VariablesFormat {
    /// The flat `{ "name": "value" }` object.
    Legacy,
    /// The `[ { "k", "v", "s" } ]` array.
    Array,
}

/// A parsed variables file: its form and its variables in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariablesFile {
    /// The form the file used.
    pub format: VariablesFormat,
    /// The variables, in file order.
    pub variables: Vec<OctopusVariable>,
}

/// Why a variables file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum VariablesFileError {
    /// The file could not be read.
    #[error("reading Octopus variables file `{}`: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid JSON.
    #[error("Octopus variables file `{}` is not valid JSON: {message} (line {line}, column {column})", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
    },
    /// The JSON is valid but is neither an object nor an array.
    #[error(
        "Octopus variables file `{}` holds {found} at the top level; expected an object \
         {{\"name\": \"value\"}} or an array of {{\"k\", \"v\", \"s\"}} entries",
        path.display()
    )]
    TopLevel {
        /// The file.
        path: PathBuf,
        /// What was found, e.g. `a string`.
        found: &'static str,
    },
    /// One entry has the wrong shape.
    #[error("Octopus variables file `{}`, at `{json_path}`: expected {expected}, found {found}", path.display())]
    Entry {
        /// The file.
        path: PathBuf,
        /// Where in the file, e.g. `[3].k` or `["Database.Port"]`.
        json_path: String,
        /// What was expected.
        expected: &'static str,
        /// What was found.
        found: &'static str,
    },
}

/// Read and parse the variables file at `path`.
pub fn read_variables_file(path: &Path) -> Result<VariablesFile, VariablesFileError> {
    let bytes = std::fs::read(path).map_err(|source| VariablesFileError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_variables(&bytes, path)
}

/// Parse variables-file bytes; `origin` names the file in errors.
pub fn parse_variables(bytes: &[u8], origin: &Path) -> Result<VariablesFile, VariablesFileError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let value: Value = serde_json::from_slice(bytes).map_err(|e| VariablesFileError::Json {
        path: origin.to_path_buf(),
        message: json_message(&e),
        line: e.line(),
        column: e.column(),
    })?;
    match value {
        Value::Object(map) => parse_legacy(map, origin),
        Value::Array(items) => parse_array(items, origin),
        other => Err(VariablesFileError::TopLevel {
            path: origin.to_path_buf(),
            found: kind(&other),
        }),
    }
}

/// serde_json's message without its trailing " at line L column C" (reported separately).
fn json_message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(cut) => text[..cut].to_string(),
        None => text,
    }
}

fn parse_legacy(
    map: serde_json::Map<String, Value>,
    origin: &Path,
) -> Result<VariablesFile, VariablesFileError> {
    let mut variables = Vec::with_capacity(map.len());
    for (name, value) in map {
        let json_path = format!("[{}]", Value::String(name.clone()));
        let value = scalar_text(value, origin, &json_path)?;
        variables.push(OctopusVariable {
            name,
            value,
            sensitive: false,
        });
    }
    Ok(VariablesFile {
        format: VariablesFormat::Legacy,
        variables,
    })
}

fn parse_array(items: Vec<Value>, origin: &Path) -> Result<VariablesFile, VariablesFileError> {
    let mut variables = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        variables.push(parse_entry(item, index, origin)?);
    }
    Ok(VariablesFile {
        format: VariablesFormat::Array,
        variables,
    })
}

fn parse_entry(
    item: Value,
    index: usize,
    origin: &Path,
) -> Result<OctopusVariable, VariablesFileError> {
    let Value::Object(mut entry) = item else {
        return Err(entry_error(
            origin,
            format!("[{index}]"),
            "an object {\"k\", \"v\", \"s\"}",
            &item,
        ));
    };
    let name = match entry.remove("k") {
        Some(Value::String(name)) => name,
        Some(other) => {
            return Err(entry_error(
                origin,
                format!("[{index}].k"),
                "a string",
                &other,
            ));
        }
        None => return Err(missing(origin, format!("[{index}].k"), "the variable name")),
    };
    let value = match entry.remove("v") {
        Some(v) => scalar_text(v, origin, &format!("[{index}].v"))?,
        None => None,
    };
    let sensitive = match entry.remove("s") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(flag)) => flag,
        Some(other) => {
            return Err(entry_error(
                origin,
                format!("[{index}].s"),
                "true or false",
                &other,
            ));
        }
    };
    Ok(OctopusVariable {
        name,
        value,
        sensitive,
    })
}

/// A value as Octopus would store it in a string dictionary: strings as-is, numbers and booleans
/// as their JSON text, `null` as `None`; objects and arrays are errors.
fn scalar_text(
    value: Value,
    origin: &Path,
    json_path: &str,
) -> Result<Option<String>, VariablesFileError> {
    match value {
        Value::Null => Ok(None),
        Value::String(text) => Ok(Some(text)),
        Value::Bool(_) | Value::Number(_) => Ok(Some(value.to_string())),
        other => Err(entry_error(
            origin,
            json_path.to_string(),
            "a string or null",
            &other,
        )),
    }
}

fn entry_error(
    origin: &Path,
    json_path: String,
    expected: &'static str,
    found: &Value,
) -> VariablesFileError {
    VariablesFileError::Entry {
        path: origin.to_path_buf(),
        json_path,
        expected,
        found: kind(found),
    }
}

fn missing(origin: &Path, json_path: String, expected: &'static str) -> VariablesFileError {
    VariablesFileError::Entry {
        path: origin.to_path_buf(),
        json_path,
        expected,
        found: "nothing",
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<VariablesFile, VariablesFileError> {
        parse_variables(text.as_bytes(), Path::new("Variables/t.variables.json"))
    }

    fn var(name: &str, value: Option<&str>, sensitive: bool) -> OctopusVariable {
        OctopusVariable {
            name: name.into(),
            value: value.map(Into::into),
            sensitive,
        }
    }

    #[test]
    fn legacy_object_keeps_file_order_and_converts_scalars() {
        let file = parse(
            r#"{"Octopus.Action.Name":"Deploy web","Zeta":"z","Alpha":null,"Port":8443,"On":true}"#,
        )
        .unwrap();
        assert_eq!(file.format, VariablesFormat::Legacy);
        assert_eq!(
            file.variables,
            vec![
                var("Octopus.Action.Name", Some("Deploy web"), false),
                var("Zeta", Some("z"), false),
                var("Alpha", None, false),
                var("Port", Some("8443"), false),
                var("On", Some("true"), false),
            ]
        );
    }

    #[test]
    fn array_form_reads_k_v_s() {
        let file = parse(
            r##"[{"k":"Db.Password","v":"p@ss","s":true},{"k":"Empty"},{"k":"Url","v":"#{Host}","s":false}]"##,
        )
        .unwrap();
        assert_eq!(file.format, VariablesFormat::Array);
        assert_eq!(
            file.variables,
            vec![
                var("Db.Password", Some("p@ss"), true),
                var("Empty", None, false),
                var("Url", Some("#{Host}"), false),
            ]
        );
    }

    #[test]
    fn byte_order_mark_and_empty_forms_are_accepted() {
        let with_bom = parse_variables(b"\xEF\xBB\xBF{\"A\":\"1\"}", Path::new("x")).unwrap();
        assert_eq!(with_bom.variables, vec![var("A", Some("1"), false)]);
        assert!(parse("{}").unwrap().variables.is_empty());
        assert!(parse("[]").unwrap().variables.is_empty());
    }

    #[test]
    fn repeated_names_follow_newtonsoft_in_objects_and_stay_in_arrays() {
        let legacy = parse(r#"{"A":"1","a":"2","A":"3"}"#).unwrap().variables;
        assert_eq!(
            legacy,
            vec![var("A", Some("3"), false), var("a", Some("2"), false)]
        );
        let array = parse(r#"[{"k":"A","v":"1"},{"k":"A","v":"2"}]"#)
            .unwrap()
            .variables;
        assert_eq!(
            array,
            vec![var("A", Some("1"), false), var("A", Some("2"), false)]
        );
    }

    #[test]
    fn debug_redacts_sensitive_values() {
        let shown = format!("{:?}", var("Db.Password", Some("hunter2"), true));
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("redacted"), "{shown}");
        assert!(format!("{:?}", var("Url", Some("plain"), false)).contains("plain"));
    }

    #[test]
    fn malformed_json_names_file_and_position() {
        let err = parse("{\n  \"A\": \"1\",\n  \"B\": 'single'\n}").unwrap_err();
        let text = err.to_string();
        assert!(
            matches!(err, VariablesFileError::Json { line: 3, .. }),
            "{text}"
        );
        assert!(text.contains("Variables/t.variables.json"), "{text}");
        assert!(text.contains("line 3"), "{text}");
    }

    #[test]
    fn wrong_shapes_name_the_json_path() {
        let cases = [
            ("\"text\"", "holds a string at the top level"),
            (
                r#"{"A":{"nested":1}}"#,
                r#"at `["A"]`: expected a string or null, found an object"#,
            ),
            (
                r#"[{"v":"x"}]"#,
                "at `[0].k`: expected the variable name, found nothing",
            ),
            (
                r#"[{"k":1}]"#,
                "at `[0].k`: expected a string, found a number",
            ),
            (
                r#"[{"k":"a"},{"k":"b","s":"yes"}]"#,
                "at `[1].s`: expected true or false",
            ),
            (
                r#"[{"k":"a","v":[1]}]"#,
                "at `[0].v`: expected a string or null, found an array",
            ),
            (r#"["A"]"#, "at `[0]`: expected an object"),
        ];
        for (text, want) in cases {
            let message = parse(text).unwrap_err().to_string();
            assert!(message.contains(want), "{text}: {message}");
            assert!(message.contains("Variables/t.variables.json"), "{message}");
        }
    }

    #[test]
    fn missing_file_names_the_file() {
        let err = read_variables_file(Path::new("/nonexistent/Deploy.variables.json")).unwrap_err();
        assert!(matches!(err, VariablesFileError::Read { .. }));
        assert!(
            err.to_string()
                .contains("/nonexistent/Deploy.variables.json")
        );
    }
}
