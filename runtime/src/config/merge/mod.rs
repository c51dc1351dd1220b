//! Three-way merges of settings files by key, for an upgrade over a file the customer edited:
//! the installed version's file (`base`, with secrets masked), the customer's (`theirs`) and the
//! new version's (`new`). Where only one side changed a value, that change wins; where both
//! changed it differently, the customer's value stays and the key is reported as a conflict.
//!
//! - JSON: objects merge key by key; any other value (arrays included) is one value; the merged
//!   file is written anew (indented by two).
//! - `.properties` ([`properties`]), YAML ([`yaml`]) and XML `.config` ([`xml`]): the decisions
//!   ([`keyed`]) become edits of the customer's file, so its layout and comments stay; each
//!   merged file is read back and must hold exactly the decided values, else it is not merged.
//!
//! `base` holds a marker where a secret was. A value is unchanged from the base when it is the
//! base's with each marker standing for any text on its line ([`matches_masked`]): the file on
//! disk may hold a secret the customer has since rotated, which this run's scrubber does not
//! know. `theirs` and `new` are compared with each other masked (`mask`); the merged file keeps
//! the real values.

mod keyed;
mod properties;
mod xml;
mod yaml;

use crate::secret::REDACTED;
use std::path::Path;

use serde_json::{Map, Value};

/// Masks every secret this run knows (the scrubber).
pub type Mask<'a> = &'a dyn Fn(&str) -> String;

/// The merged file and the keys both sides changed (JSON paths `$.a.b`, `.properties` keys,
/// YAML paths `a:b`, XML entries `appSettings[key]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merged {
    pub text: String,
    pub conflicts: Vec<String>,
}

/// Merge the three versions of the settings file `path` by its format (its extension); an error
/// says why it cannot be merged (a format that is not merged, a version that does not parse).
pub fn three_way(
    path: &Path,
    base: &str,
    theirs: &str,
    new: &str,
    mask: Mask<'_>,
) -> Result<Merged, String> {
    let extension = path
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    match extension.as_str() {
        "json" => json_three_way(base, theirs, new, mask),
        "properties" => properties::three_way(base, theirs, new, mask),
        "yml" | "yaml" => yaml::three_way(base, theirs, new, mask),
        "config" | "xml" => xml::three_way(base, theirs, new, mask),
        _ => Err(format!(
            "`.{extension}` files are not merged (JSON, YAML, XML `.config` and `.properties` are)"
        )),
    }
}

/// Whether `value` (masked with this run's secrets) is `base`'s value, each marker in `base`
/// standing for any text on its line (a secret, perhaps one this run does not know).
pub(super) fn unchanged(base: &str, value: &str, mask: Mask<'_>) -> bool {
    matches_masked(base, &mask(value))
}

/// Whether `text` is `base` with each marker in `base` standing for any text within a line. A
/// secret that spans lines is not matched (the file counts as changed).
pub fn matches_masked(base: &str, text: &str) -> bool {
    if !base.contains(REDACTED) {
        return base == text;
    }
    let (base_lines, text_lines) = (base.split_inclusive('\n'), text.split_inclusive('\n'));
    base_lines.clone().count() == text_lines.clone().count()
        && base_lines
            .zip(text_lines)
            .all(|(pattern, line)| line_matches(pattern, line))
}

/// Whether `text` (masked with this run's secrets) has a line that is one of `base`'s lines
/// holding a marker, with other text where the marker is: a secret other than this run's, one
/// rotated since `base` was recorded.
pub fn holds_an_older_secret(base: &str, text: &str) -> bool {
    base.split_inclusive('\n')
        .filter(|pattern| pattern.contains(REDACTED))
        .any(|pattern| {
            text.split_inclusive('\n')
                .any(|line| line != pattern && line_matches(pattern, line))
        })
}

/// The most a marker matches: a longer text makes the line differ (conservative), and it keeps
/// the match at most `LONGEST_SECRET` times the line's length on any text.
const LONGEST_SECRET: usize = 4096;

/// One line against a pattern whose markers match any text up to [`LONGEST_SECRET`] bytes (the
/// classic wildcard match: on a mismatch, the last marker takes one more byte).
fn line_matches(pattern: &str, line: &str) -> bool {
    let parts: Vec<&[u8]> = pattern.split(REDACTED).map(str::as_bytes).collect();
    let mut tokens: Vec<Option<u8>> = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            tokens.push(None);
        }
        tokens.extend(part.iter().map(|&b| Some(b)));
    }
    let line = line.as_bytes();
    let (mut p, mut t) = (0, 0);
    // The last marker seen: its token, where its text starts, and where it ends now.
    let mut wildcard: Option<(usize, usize, usize)> = None;
    while t < line.len() {
        match tokens.get(p) {
            Some(Some(b)) if *b == line[t] => (p, t) = (p + 1, t + 1),
            Some(None) => {
                wildcard = Some((p, t, t));
                p += 1;
            }
            _ => match wildcard {
                Some((at, start, end)) if end - start < LONGEST_SECRET => {
                    wildcard = Some((at, start, end + 1));
                    (p, t) = (at + 1, end + 1);
                }
                _ => return false,
            },
        }
    }
    tokens[p..].iter().all(Option::is_none)
}

/// Merge three JSON documents; an error names the one that does not parse.
fn json_three_way(base: &str, theirs: &str, new: &str, mask: Mask<'_>) -> Result<Merged, String> {
    let parse = |text: &str, which: &str| {
        serde_json::from_str::<Value>(text).map_err(|e| format!("{which} is not JSON: {e}"))
    };
    let (base, theirs_value, new) = (
        parse(base, "the installed version's file")?,
        parse(theirs, "your file")?,
        parse(new, "the new version's file")?,
    );
    let mut conflicts = Vec::new();
    let merged = merge(
        Some(&base),
        Some(&theirs_value),
        Some(&new),
        mask,
        "$",
        &mut conflicts,
    )
    .unwrap_or(Value::Null);
    // Nothing to take from the new version: the customer's file as it is, not reformatted.
    if merged == theirs_value {
        return Ok(Merged {
            text: theirs.to_string(),
            conflicts,
        });
    }
    let text = serde_json::to_string_pretty(&merged).map_err(|e| e.to_string())? + "\n";
    Ok(Merged { text, conflicts })
}

fn merge(
    base: Option<&Value>,
    theirs: Option<&Value>,
    new: Option<&Value>,
    mask: Mask<'_>,
    path: &str,
    conflicts: &mut Vec<String>,
) -> Option<Value> {
    let (theirs_masked, new_masked) = (
        theirs.map(|v| masked(v, mask)),
        new.map(|v| masked(v, mask)),
    );
    if same_as_base(base, theirs, mask) {
        return new.cloned();
    }
    if let (Some(Value::Object(t)), Some(Value::Object(n))) = (theirs, new) {
        let empty = Map::new();
        let b = match base {
            Some(Value::Object(b)) => b,
            _ => &empty,
        };
        let keys = n.keys().chain(t.keys().filter(|k| !n.contains_key(*k)));
        let mut merged = Map::new();
        for key in keys {
            let at = format!("{path}.{key}");
            if let Some(value) = merge(b.get(key), t.get(key), n.get(key), mask, &at, conflicts) {
                merged.insert(key.clone(), value);
            }
        }
        return Some(Value::Object(merged));
    }
    // Objects were merged key by key above: an object the vendor left as it was may still hold
    // a secret that changed since, which only its keys' merge carries over.
    if same_as_base(base, new, mask) || theirs_masked == new_masked {
        return theirs.cloned();
    }
    conflicts.push(path.to_string());
    theirs.cloned()
}

/// Whether `value` is `base`, strings compared as [`unchanged`] does.
fn same_as_base(base: Option<&Value>, value: Option<&Value>, mask: Mask<'_>) -> bool {
    match (base, value) {
        (None, None) => true,
        (Some(Value::String(b)), Some(Value::String(v))) => unchanged(b, v, mask),
        (Some(Value::Array(b)), Some(Value::Array(v))) => {
            b.len() == v.len()
                && b.iter()
                    .zip(v)
                    .all(|(b, v)| same_as_base(Some(b), Some(v), mask))
        }
        (Some(Value::Object(b)), Some(Value::Object(v))) => {
            b.len() == v.len() && b.iter().all(|(k, b)| same_as_base(Some(b), v.get(k), mask))
        }
        (b, v) => b == v,
    }
}

/// `value` with every string masked (secrets replaced by the marker).
fn masked(value: &Value, mask: Mask<'_>) -> Value {
    match value {
        Value::String(s) => Value::String(mask(s)),
        Value::Array(items) => Value::Array(items.iter().map(|v| masked(v, mask)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), masked(v, mask)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The merge tests' scrubber: it knows one secret, `s3cret`.
#[cfg(test)]
fn test_mask(text: &str) -> String {
    text.replace("s3cret", crate::secret::REDACTED)
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::test_mask as mask;

    fn merged(base: &str, theirs: &str, new: &str) -> (Value, Vec<String>) {
        let m = json_three_way(base, theirs, new, &mask).unwrap();
        (serde_json::from_str(&m.text).unwrap(), m.conflicts)
    }

    #[test]
    fn each_side_keeps_its_own_changes_and_both_changed_keeps_theirs_as_a_conflict() {
        let base = r#"{"port": 8443, "log": {"level": "info", "dir": "/var/log"}, "old": 1, "db": "pw=********"}"#;
        let theirs = r#"{"port": 9443, "log": {"level": "debug", "dir": "/var/log"}, "old": 1, "mine": true, "db": "pw=s3cret"}"#;
        let new = r#"{"port": 8443, "log": {"level": "warn", "dir": "/srv/log"}, "added": [1], "db": "pw=s3cret"}"#;
        let (value, conflicts) = merged(base, theirs, new);
        assert_eq!(
            value,
            serde_json::json!({
                "port": 9443,
                "log": {"level": "debug", "dir": "/srv/log"},
                "added": [1],
                "db": "pw=s3cret",
                "mine": true
            })
        );
        assert_eq!(conflicts, ["$.log.level"]);
    }

    #[test]
    fn a_key_the_vendor_removed_goes_unless_the_customer_changed_it() {
        let (value, conflicts) = merged(r#"{"a": 1, "b": 2}"#, r#"{"a": 1, "b": 3}"#, r#"{}"#);
        assert_eq!(value, serde_json::json!({"b": 3}));
        assert_eq!(conflicts, ["$.b"]);
    }

    #[test]
    fn a_marker_stands_for_any_text_within_its_line() {
        assert!(matches_masked("pw=********;port=1\n", "pw=old;port=1\n"));
        assert!(matches_masked("a=********\nb=********", "a=x*y\nb="));
        assert!(!matches_masked("pw=********;port=1\n", "pw=old;port=2\n"));
        assert!(!matches_masked(
            "pw=********\nport=1\n",
            "pw=a\nport=2\nport=1\n"
        ));
        assert!(!matches_masked("k=********\n", "k=two\nlines\n"));
        let long = "x".repeat(LONGEST_SECRET + 1);
        assert!(!matches_masked("k=********;", &format!("k={long};")));
        assert!(matches_masked("k=********;", &format!("k={};", &long[1..])));
        assert!(matches_masked("plain", "plain") && !matches_masked("plain", "other"));
    }

    #[test]
    fn an_older_secret_is_found_on_a_line_of_the_base() {
        let base = "user=u\npassword=********\n";
        assert!(holds_an_older_secret(base, "port=2\npassword=old\n"));
        assert!(!holds_an_older_secret(base, "port=2\npassword=********\n"));
        assert!(!holds_an_older_secret(base, "user=u\n"));
        assert!(!holds_an_older_secret("user=u\n", "user=x\n"));
    }

    #[test]
    fn a_secret_rotated_since_is_no_customer_edit() {
        let (value, conflicts) = merged(
            r#"{"db": "pw=********", "port": 1}"#,
            r#"{"db": "pw=old", "port": 1}"#,
            r#"{"db": "pw=s3cret", "port": 2}"#,
        );
        assert_eq!(value, serde_json::json!({"db": "pw=s3cret", "port": 2}));
        assert!(conflicts.is_empty());
    }

    #[test]
    fn a_rotated_secret_reaches_a_file_the_vendor_left_as_it_was() {
        let (value, conflicts) = merged(
            r#"{"db": "pw=********", "log": "info"}"#,
            r#"{"db": "pw=old", "log": "debug"}"#,
            r#"{"db": "pw=s3cret", "log": "info"}"#,
        );
        assert_eq!(
            value,
            serde_json::json!({"db": "pw=s3cret", "log": "debug"})
        );
        assert!(conflicts.is_empty());
    }

    #[test]
    fn nothing_to_take_from_the_new_version_keeps_the_customers_bytes() {
        let theirs = "{\"log\":\"debug\",  \"db\": \"pw=s3cret\"}";
        let m = json_three_way(
            r#"{"log": "info", "db": "pw=********"}"#,
            theirs,
            r#"{"log": "info", "db": "pw=s3cret"}"#,
            &mask,
        )
        .unwrap();
        assert_eq!(m.text, theirs);
    }

    #[test]
    fn a_file_that_is_not_json_is_named() {
        let e = json_three_way("{}", "{", "{}", &mask).unwrap_err();
        assert!(e.starts_with("your file is not JSON"), "{e}");
    }
}
