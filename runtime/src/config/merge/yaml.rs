//! The three-way merge of a YAML file by path: mapping keys are followed (`a:b`, as the
//! structured variables name them); scalars, sequences and empty mappings are values. A value
//! the vendor changed is replaced in the customer's file by the layout-keeping replacer, a key
//! the vendor added at the top is appended; when keys go or appear deeper, the merged document
//! is written anew (block style, comments lost). A document that is not one mapping is not
//! merged.

use super::keyed::{self, Change, Values};
use super::{Mask, Merged};
use crate::config::encoding::LineEnding;
use crate::config::structured::{YamlLayout, yaml_load, yaml_node, yaml_replace};
use std::collections::HashMap;
use yaml_rust2::Yaml;
use yaml_rust2::yaml::Hash;

/// One value of a document: the keys that lead to it and the value.
type Leaf = (Vec<Yaml>, Yaml);

/// Merge three YAML texts; an error says which does not parse or cannot be merged.
pub(super) fn three_way(
    base: &str,
    theirs: &str,
    new: &str,
    mask: Mask<'_>,
) -> Result<Merged, String> {
    let base_leaves = leaves(base, "the installed version's file")?;
    let (theirs_root, theirs_leaves) = (root(theirs, "your file")?, leaves(theirs, "your file")?);
    let new_leaves = leaves(new, "the new version's file")?;
    let (base_values, theirs_values, new_values) = (
        values(&base_leaves, "the installed version's file")?,
        values(&theirs_leaves, "your file")?,
        values(&new_leaves, "the new version's file")?,
    );
    let decisions = keyed::decide(&base_values, &theirs_values, &new_values, mask);
    let sides = (theirs_leaves.as_slice(), new_leaves.as_slice());
    let text = edit(theirs, theirs_root, sides, &decisions.changes)?;
    let expected = keyed::expected(&theirs_values, &new_values, &decisions);
    let merged = values(&leaves(&text, "the merged file")?, "the merged file")?;
    if !keyed::same_values(&merged, &expected) {
        return Err("the merged file would not hold the merged values".to_string());
    }
    Ok(Merged {
        text,
        conflicts: decisions.conflicts,
    })
}

/// The document's top mapping (an empty file is an empty one).
fn root(text: &str, which: &str) -> Result<Hash, String> {
    let docs = yaml_load(text).map_err(|e| format!("{which} is not YAML ({})", e.message))?;
    match docs.as_slice() {
        [] | [Yaml::Null] => Ok(Hash::new()),
        [Yaml::Hash(map)] => Ok(map.clone()),
        _ => Err(format!("{which} is not one YAML mapping")),
    }
}

fn leaves(text: &str, which: &str) -> Result<Vec<Leaf>, String> {
    let mut found = Vec::new();
    collect(&Yaml::Hash(root(text, which)?), &mut Vec::new(), &mut found);
    Ok(found)
}

fn collect(node: &Yaml, at: &mut Vec<Yaml>, found: &mut Vec<Leaf>) {
    match node {
        Yaml::Hash(map) if !map.is_empty() || at.is_empty() => {
            for (key, value) in map {
                at.push(key.clone());
                collect(value, at, found);
                at.pop();
            }
        }
        leaf => found.push((at.clone(), leaf.clone())),
    }
}

/// Each leaf by its path (`a:b`) with its value as comparable text (type included).
fn values(leaves: &[Leaf], which: &str) -> Result<Values, String> {
    let mut values = Vec::new();
    for (keys, value) in leaves {
        values.push((path(keys, which)?, format!("{value:?}")));
    }
    keyed::unique(values, which)
}

/// `a:b` for the keys `a`, `b`; keys that are not scalars or hold `:` cannot be addressed.
fn path(keys: &[Yaml], which: &str) -> Result<String, String> {
    let mut parts = Vec::new();
    for key in keys {
        let text = match key {
            Yaml::String(s) | Yaml::Real(s) => s.clone(),
            Yaml::Integer(i) => i.to_string(),
            Yaml::Boolean(b) => b.to_string(),
            _ => return Err(format!("{which} has a key that is not text")),
        };
        if text.contains(':') {
            return Err(format!("{which} has a key with `:` (`{text}`)"));
        }
        parts.push(text);
    }
    Ok(parts.join(":"))
}

/// The customer's text with `changes` made.
fn edit(
    theirs: &str,
    mut tree: Hash,
    (theirs_leaves, new): (&[Leaf], &[Leaf]),
    changes: &[Change],
) -> Result<String, String> {
    let (theirs_of, new_of) = (by_path(theirs_leaves), by_path(new));
    let leaf = |key: &str| new_of.get(key).copied();
    let newline = LineEnding::dominant(theirs).as_str();
    let layout = |in_flow| YamlLayout {
        column: 0,
        line_indent: 0,
        in_flow,
        newline,
    };
    let mut replace = Vec::new();
    let mut appended = String::new();
    let mut anew = false;
    for change in changes {
        match change {
            Change::Set(key) => {
                if let Some((keys, value)) = leaf(key) {
                    put(&mut tree, keys, Some(value.clone()));
                    replace.push((key.clone(), scalar_text(value, layout(true))));
                }
            }
            Change::Add(key) => {
                if let Some((keys, value)) = leaf(key) {
                    put(&mut tree, keys, Some(value.clone()));
                    let mut one = Hash::new();
                    one.insert(keys[0].clone(), value.clone());
                    appended.push_str(&yaml_node(&Yaml::Hash(one), layout(false)));
                    appended.push_str(newline);
                    anew |= keys.len() > 1;
                }
            }
            Change::Remove(key) => {
                if let Some((keys, _)) = theirs_of.get(key.as_str()) {
                    put(&mut tree, keys, None);
                }
                anew = true;
            }
        }
    }
    if anew {
        return Ok(yaml_node(&Yaml::Hash(tree), layout(false)) + newline);
    }
    let mut text = match replace.is_empty() {
        true => theirs.to_string(),
        false => yaml_replace(theirs, &replace)
            .map_err(|e| e.message)?
            .text
            .unwrap_or_else(|| theirs.to_string()),
    };
    if !appended.is_empty() && !text.is_empty() && !text.ends_with('\n') {
        text.push_str(newline);
    }
    Ok(text + &appended)
}

/// The leaves by path (each leaf's path was checked when its values were read).
fn by_path(leaves: &[Leaf]) -> HashMap<String, &Leaf> {
    leaves
        .iter()
        .filter_map(|leaf| Some((path(&leaf.0, "").ok()?, leaf)))
        .collect()
}

/// A value as the replacer takes it: a scalar's text, a collection in flow style, null as none.
fn scalar_text(value: &Yaml, flow: YamlLayout<'_>) -> Option<String> {
    match value {
        Yaml::Null => None,
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        other => Some(yaml_node(other, flow)),
    }
}

/// Set (or with `None`, remove) the value at `keys` in `tree`, making the mappings on the way;
/// a mapping a removal leaves empty goes too.
fn put(tree: &mut Hash, keys: &[Yaml], value: Option<Yaml>) {
    let Some((first, rest)) = keys.split_first() else {
        return;
    };
    if rest.is_empty() {
        match value {
            Some(value) => {
                tree.insert(first.clone(), value);
            }
            None => {
                tree.remove(first);
            }
        }
        return;
    }
    let removing = value.is_none();
    let child = tree
        .entry(first.clone())
        .or_insert_with(|| Yaml::Hash(Hash::new()));
    if !matches!(child, Yaml::Hash(_)) {
        *child = Yaml::Hash(Hash::new());
    }
    if let Yaml::Hash(map) = child {
        put(map, rest, value);
        if removing && map.is_empty() {
            tree.remove(first);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::super::test_mask as mask;

    fn merge(base: &str, theirs: &str, new: &str) -> Merged {
        three_way(base, theirs, new, &mask).unwrap()
    }

    #[test]
    fn vendor_changes_land_in_the_customers_layout() {
        let base =
            "# Fabrikam\nservice:\n  port: 8443   # the port\n  hosts: [a, b]\ndb: \"********\"\n";
        let theirs = "# Fabrikam\nservice:\n  # ours\n  port: 9443   # the port\n  hosts: [a, b]\ndb: \"s3cret\"\n";
        let new = "service:\n  port: 8443\n  hosts: [a, b, c]\ndb: \"s3cret\"\nregion: eu\n";
        let merged = merge(base, theirs, new);
        assert_eq!(
            merged.text,
            "# Fabrikam\nservice:\n  # ours\n  port: 9443   # the port\n  hosts: [a, b, c]\ndb: \"s3cret\"\nregion: eu\n"
        );
        assert!(merged.conflicts.is_empty());
    }

    #[test]
    fn both_changed_keeps_the_customers_value_as_a_conflict() {
        let merged = merge(
            "log:\n  level: info\n",
            "log:\n  level: debug\n",
            "log:\n  level: warn\n",
        );
        assert_eq!(merged.text, "log:\n  level: debug\n");
        assert_eq!(merged.conflicts, ["log:level"]);
    }

    #[test]
    fn removed_and_nested_keys_write_the_document_anew() {
        let merged = merge(
            "a: 1\nold: 2\nlog:\n  level: info\n",
            "a: 5\nold: 2\nlog:\n  level: info\n",
            "a: 1\nlog:\n  level: info\n  dir: /var/log\n",
        );
        assert_eq!(merged.text, "a: 5\nlog:\n  level: info\n  dir: /var/log\n");
        assert!(merged.conflicts.is_empty());
    }

    #[test]
    fn a_customer_removal_stays_unless_the_vendor_changed_it() {
        let merged = merge("a: 1\nb: 2\n", "b: 2\n", "a: 1\nb: 3\n");
        assert_eq!(merged.text, "b: 3\n");
        let conflict = merge("a: 1\nb: 2\n", "b: 2\n", "a: 7\nb: 2\n");
        assert_eq!(conflict.conflicts, ["a"]);
    }

    #[test]
    fn what_is_not_one_mapping_is_not_merged() {
        let e = three_way("a: 1\n", "- a\n", "a: 1\n", &mask).unwrap_err();
        assert_eq!(e, "your file is not one YAML mapping");
        let e = three_way("a: 1\n", "a: [\n", "a: 1\n", &mask).unwrap_err();
        assert!(e.starts_with("your file is not YAML"), "{e}");
    }
}
