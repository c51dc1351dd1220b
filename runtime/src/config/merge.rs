//! A three-way merge of JSON settings files by key, for an upgrade over a file the customer
//! edited: the installed version's file (`base`, with secrets masked), the customer's
//! (`theirs`) and the new version's (`new`). Where only one side changed a value, that change
//! wins; where both changed it differently, the customer's value stays and the key is reported
//! as a conflict. Objects merge key by key; any other value (arrays included) is one value.
//!
//! `base` holds a marker where a secret was, so `theirs` and `new` are compared with theirs
//! masked the same way (`mask`); the merged file keeps the real values.

use serde_json::{Map, Value};

/// The merged file and the keys both sides changed (JSON paths, `$.a.b`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merged {
    pub text: String,
    pub conflicts: Vec<String>,
}

/// Merge three JSON documents; an error names the one that does not parse.
pub fn json_three_way(
    base: &str,
    theirs: &str,
    new: &str,
    mask: &dyn Fn(&str) -> String,
) -> Result<Merged, String> {
    let parse = |text: &str, which: &str| {
        serde_json::from_str::<Value>(text).map_err(|e| format!("{which} is not JSON: {e}"))
    };
    let (base, theirs, new) = (
        parse(base, "the installed version's file")?,
        parse(theirs, "your file")?,
        parse(new, "the new version's file")?,
    );
    let mut conflicts = Vec::new();
    let merged = merge(
        Some(&base),
        Some(&theirs),
        Some(&new),
        mask,
        "$",
        &mut conflicts,
    )
    .unwrap_or(Value::Null);
    let text = serde_json::to_string_pretty(&merged).map_err(|e| e.to_string())? + "\n";
    Ok(Merged { text, conflicts })
}

fn merge(
    base: Option<&Value>,
    theirs: Option<&Value>,
    new: Option<&Value>,
    mask: &dyn Fn(&str) -> String,
    path: &str,
    conflicts: &mut Vec<String>,
) -> Option<Value> {
    let (theirs_masked, new_masked) = (
        theirs.map(|v| masked(v, mask)),
        new.map(|v| masked(v, mask)),
    );
    if theirs_masked.as_ref() == base {
        return new.cloned();
    }
    if new_masked.as_ref() == base || theirs_masked == new_masked {
        return theirs.cloned();
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
    conflicts.push(path.to_string());
    theirs.cloned()
}

/// `value` with every string masked (secrets replaced by the marker).
fn masked(value: &Value, mask: &dyn Fn(&str) -> String) -> Value {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn mask(text: &str) -> String {
        text.replace("s3cret", "********")
    }

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
    fn a_file_that_is_not_json_is_named() {
        let e = json_three_way("{}", "{", "{}", &mask).unwrap_err();
        assert!(e.starts_with("your file is not JSON"), "{e}");
    }
}
