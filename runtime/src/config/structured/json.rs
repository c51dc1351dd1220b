//! JSON structured variables (Calamari `JsonUpdateMap`): every existing node gets a `:`-joined
//! path (array elements by index), compared ignoring case; only existing paths are replaced.
//!
//! Type is kept: a number stays a number when the new value parses as an integer or a finite
//! float, a bool stays a bool when it parses as `true`/`false` (any case); anything else becomes a
//! string (so a `null` node becomes a string, as in Calamari). An object or array node is replaced
//! by the value parsed as JSON; a value that is not JSON is skipped with a warning. After a subtree
//! is replaced, variables addressing its old children no longer apply (Calamari's map points at the
//! detached nodes).
//!
//! Comments and trailing commas are accepted, as Newtonsoft accepts them (see [`super::jsonc`]).
//! A changed file is rewritten indented (two spaces, `"key": value`, as Newtonsoft writes) with the
//! file's dominant line ending, and a final newline if it had one. A file where nothing matched is
//! not rewritten at all, so its formatting survives untouched (Calamari would re-indent it).

use serde_json::Value;

use super::jsonc::blank_comments;
use super::{StructuredVariable, Transformed};
use crate::config::encoding::LineEnding;
use crate::config::error::FormatError;
use crate::config::variables::{effective, fold, is_reserved_for_paths};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
}

/// Apply `variables` to the JSON `text`.
pub(super) fn transform(
    text: &str,
    variables: &[StructuredVariable],
) -> Result<Transformed, FormatError> {
    if text.trim().is_empty() {
        // Calamari treats an empty file as `{}`: nothing can match, nothing is written.
        return Ok(Transformed::default());
    }
    let lenient = blank_comments(text);
    let mut root: Value = serde_json::from_str(&lenient)
        .map_err(|e| FormatError::new(offset_of(text, &e), e.to_string()))?;
    let mut paths = Vec::new();
    collect_paths(&root, &mut Vec::new(), &mut paths);
    let mut out = Transformed::default();
    let mut replaced_containers: Vec<Vec<Segment>> = Vec::new();
    for (name, value) in effective(variables) {
        if is_reserved_for_paths(name) {
            continue;
        }
        let wanted = fold(name);
        let Some(segments) = paths
            .iter()
            .rev()
            .find(|(key, _)| *key == wanted)
            .map(|(_, s)| s.clone())
        else {
            continue;
        };
        if replaced_containers.iter().any(|c| segments.starts_with(c)) {
            continue;
        }
        let Some(node) = node_mut(&mut root, &segments) else {
            continue;
        };
        let Some(value) = value else {
            *node = Value::Null;
            out.replaced.push(name.to_string());
            continue;
        };
        if node.is_object() || node.is_array() {
            match serde_json::from_str::<Value>(value) {
                Ok(parsed) => *node = parsed,
                Err(e) => {
                    out.warnings.push(format!("`{name}` addresses an object or array but its value is not JSON ({e}); skipped"));
                    continue;
                }
            }
            replaced_containers.push(segments);
        } else {
            *node = typed_like(node, value);
        }
        out.replaced.push(name.to_string());
    }
    if !out.replaced.is_empty() {
        out.text = Some(render(&root, text));
    }
    Ok(out)
}

/// serde_json reports 1-based line and column; turn them back into a byte offset.
fn offset_of(text: &str, error: &serde_json::Error) -> usize {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(error.line().saturating_sub(1))
        .map(str::len)
        .sum();
    let line = &text[line_start..];
    let column_bytes: usize = line
        .chars()
        .take(error.column().saturating_sub(1))
        .map(char::len_utf8)
        .sum();
    line_start + column_bytes
}

fn collect_paths(node: &Value, prefix: &mut Vec<Segment>, out: &mut Vec<(String, Vec<Segment>)>) {
    let children: Vec<(Segment, &Value)> = match node {
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| (Segment::Key(k.clone()), v))
            .collect(),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| (Segment::Index(i), v))
            .collect(),
        _ => return,
    };
    for (segment, child) in children {
        prefix.push(segment);
        out.push((fold(&join(prefix)), prefix.clone()));
        collect_paths(child, prefix, out);
        prefix.pop();
    }
}

fn join(segments: &[Segment]) -> String {
    let parts: Vec<String> = segments
        .iter()
        .map(|s| match s {
            Segment::Key(k) => k.clone(),
            Segment::Index(i) => i.to_string(),
        })
        .collect();
    parts.join(":")
}

fn node_mut<'a>(root: &'a mut Value, segments: &[Segment]) -> Option<&'a mut Value> {
    segments
        .iter()
        .try_fold(root, |node, segment| match segment {
            Segment::Key(k) => node.get_mut(k.as_str()),
            Segment::Index(i) => node.get_mut(*i),
        })
}

/// The new value, typed like the node it replaces.
fn typed_like(old: &Value, value: &str) -> Value {
    let trimmed = value.trim();
    match old {
        Value::Number(_) => {
            if let Ok(int) = trimmed.parse::<i64>() {
                return Value::from(int);
            }
            match trimmed
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
            {
                Some(number) => Value::Number(number),
                None => Value::String(value.to_string()),
            }
        }
        Value::Bool(_) if trimmed.eq_ignore_ascii_case("true") => Value::Bool(true),
        Value::Bool(_) if trimmed.eq_ignore_ascii_case("false") => Value::Bool(false),
        _ => Value::String(value.to_string()),
    }
}

fn render(root: &Value, original: &str) -> String {
    // serde_json's pretty printer writes the same layout as Newtonsoft's indented writer; it
    // cannot fail on a `Value` (string keys only).
    let pretty = serde_json::to_string_pretty(root).unwrap_or_default();
    let ending = LineEnding::dominant(original);
    let mut text = if ending == LineEnding::CrLf {
        pretty.replace('\n', "\r\n")
    } else {
        pretty
    };
    if original.ends_with('\n') {
        text.push_str(ending.as_str());
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<StructuredVariable> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Some(v.to_string())))
            .collect()
    }

    fn apply(text: &str, pairs: &[(&str, &str)]) -> Transformed {
        transform(text, &vars(pairs)).expect("parses")
    }

    #[test]
    fn replaces_nested_and_indexed_paths_ignoring_case_and_keeps_types() {
        let text = r#"{"Logging":{"LogLevel":{"Default":"Info"}},"Port":80,"Ratio":1.5,"On":true,"Servers":["a","b"],"N":null}"#;
        let out = apply(
            text,
            &[
                ("logging:loglevel:default", "Debug"),
                ("Port", "8080"),
                ("Ratio", "2.25"),
                ("On", "False"),
                ("Servers:1", "c"),
                ("N", "null"),
                ("Missing:Key", "x"),
            ],
        );
        let value: Value =
            serde_json::from_str(out.text.as_deref().expect("changed")).expect("json");
        assert_eq!(value["Logging"]["LogLevel"]["Default"], "Debug");
        assert_eq!(value["Port"], 8080);
        assert_eq!(value["Ratio"], 2.25);
        assert_eq!(value["On"], false);
        assert_eq!(value["Servers"][1], "c");
        assert_eq!(value["N"], "null");
        assert!(value.get("Missing").is_none());
        assert_eq!(out.replaced.len(), 6);
    }

    #[test]
    fn number_and_bool_become_strings_when_value_does_not_parse() {
        let out = apply(
            r#"{"Port":80,"On":true}"#,
            &[("Port", "eighty"), ("On", "yes")],
        );
        let value: Value =
            serde_json::from_str(out.text.as_deref().expect("changed")).expect("json");
        assert_eq!(value["Port"], "eighty");
        assert_eq!(value["On"], "yes");
    }

    #[test]
    fn subtree_replacement_and_detached_children() {
        let out = apply(
            r#"{"Db":{"Host":"a","Port":1},"List":[1,2],"Bad":{"x":1}}"#,
            &[
                ("Db", r#"{"Host":"b"}"#),
                ("Db:Port", "9"),
                ("List", "[3]"),
                ("Bad", "not json"),
            ],
        );
        let value: Value =
            serde_json::from_str(out.text.as_deref().expect("changed")).expect("json");
        assert_eq!(value["Db"], serde_json::json!({"Host":"b"}));
        assert_eq!(value["List"], serde_json::json!([3]));
        assert_eq!(value["Bad"], serde_json::json!({"x":1}));
        assert_eq!(out.warnings.len(), 1);
    }

    #[test]
    fn octopus_names_are_skipped_unless_followed_by_colon() {
        let out = apply(
            r#"{"Octopus":{"Url":"a"},"OctopusUrl":"b"}"#,
            &[("OctopusUrl", "x"), ("Octopus:Url", "y")],
        );
        assert_eq!(out.replaced, ["Octopus:Url"]);
        let value: Value =
            serde_json::from_str(out.text.as_deref().expect("changed")).expect("json");
        assert_eq!(value["OctopusUrl"], "b");
    }

    #[test]
    fn rewritten_indented_with_original_line_endings() {
        let out = apply("{\r\n \"a\": 1, \"b\": [1]\r\n}\r\n", &[("a", "2")]);
        assert_eq!(
            out.text.as_deref(),
            Some("{\r\n  \"a\": 2,\r\n  \"b\": [\r\n    1\r\n  ]\r\n}\r\n")
        );
        let out = apply("[{\"a\":1}]", &[("0:a", "x")]);
        assert_eq!(
            out.text.as_deref(),
            Some("[\n  {\n    \"a\": \"x\"\n  }\n]")
        );
    }

    #[test]
    fn nothing_matched_means_nothing_written_and_empty_is_empty_object() {
        assert_eq!(apply("{\"a\":1}", &[("b", "2")]).text, None);
        assert_eq!(apply("  \n", &[("b", "2")]).text, None);
    }

    #[test]
    fn parse_error_has_position() {
        let err = transform("{\n  \"a\": 1,\n  oops\n}", &[]).unwrap_err();
        assert_eq!(
            crate::config::Position::at_offset("{\n  \"a\": 1,\n  oops\n}", err.offset).line,
            3
        );
    }

    #[test]
    fn appsettings_with_comments_parses_and_is_rewritten_without_them() {
        let out = apply(
            "{\n  // Logging\n  \"Level\": \"Info\", // trailing\n}\n",
            &[("Level", "Debug")],
        );
        assert_eq!(out.text.as_deref(), Some("{\n  \"Level\": \"Debug\"\n}\n"));
    }
}
