//! The three-way merge of a `.properties` file, key by key, as edits of the customer's file: a
//! value the vendor changed takes the new version's text (escapes as the new version wrote
//! them), a key the vendor removed loses its line, a key the vendor added gets the new version's
//! line after the key it follows there (at the end when none is in the customer's file).
//! Comments, blank lines, separators and the customer's other lines stay byte for byte.

use super::keyed::{self, Change, Values};
use super::{Mask, Merged};
use crate::config::edit::{Edit, apply_edits};
use crate::config::encoding::LineEnding;
use crate::config::structured::{PropertiesEntry, properties_entries};
use std::collections::HashMap;

/// Merge three `.properties` texts; an error says which does not parse or cannot be merged.
pub(super) fn three_way(
    base: &str,
    theirs: &str,
    new: &str,
    mask: Mask<'_>,
) -> Result<Merged, String> {
    let (base_values, theirs_values, new_values) = (
        values(base, "the installed version's file")?,
        values(theirs, "your file")?,
        values(new, "the new version's file")?,
    );
    let decisions = keyed::decide(&base_values, &theirs_values, &new_values, mask);
    let text = edit(theirs, new, &decisions.changes)?;
    let expected = keyed::expected(&theirs_values, &new_values, &decisions);
    if !keyed::same_values(&values(&text, "the merged file")?, &expected) {
        return Err("the merged file would not hold the merged values".to_string());
    }
    Ok(Merged {
        text,
        conflicts: decisions.conflicts,
    })
}

/// The keys and unescaped values of a properties text.
fn values(text: &str, which: &str) -> Result<Values, String> {
    let entries = properties_entries(text)
        .map_err(|e| format!("{which} is not a properties file ({})", e.message))?;
    let values = entries
        .iter()
        .map(|entry| (entry.key.clone(), entry.value(text)))
        .collect();
    keyed::unique(values, which)
}

/// The customer's text with `changes` made, lines taken from the new version's text.
fn edit(theirs: &str, new: &str, changes: &[Change]) -> Result<String, String> {
    let unparsed = |e: crate::config::error::FormatError| e.message;
    let (ours, vendor) = (
        properties_entries(theirs).map_err(unparsed)?,
        properties_entries(new).map_err(unparsed)?,
    );
    let index = |entries: &[PropertiesEntry]| -> HashMap<String, usize> {
        entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.key.clone(), i))
            .collect()
    };
    let (ours_at, vendor_at) = (index(&ours), index(&vendor));
    let find = |at: &HashMap<String, usize>, key: &str| at.get(key).copied();
    let newline = LineEnding::dominant(theirs).as_str();
    let mut edits = Vec::new();
    for change in changes {
        match change {
            Change::Set(key) => {
                let (Some(o), Some(v)) = (find(&ours_at, key), find(&vendor_at, key)) else {
                    continue;
                };
                let (o, v) = (&ours[o], &vendor[v]);
                // A bare `key` line gets a separator before its new value.
                let separator = if o.has_separator { "" } else { "=" };
                edits.push(Edit {
                    range: o.value_start..o.value_end,
                    text: format!("{separator}{}", &new[v.value_start..v.value_end]),
                });
            }
            Change::Remove(key) => {
                if let Some(o) = find(&ours_at, key) {
                    edits.push(Edit {
                        range: ours[o].line.clone(),
                        text: String::new(),
                    });
                }
            }
            Change::Add(key) => {
                let Some(v) = find(&vendor_at, key) else {
                    continue;
                };
                // After the line of the key it follows in the new version, if the customer has it.
                let after = vendor[..v]
                    .iter()
                    .rev()
                    .find_map(|e| find(&ours_at, &e.key));
                // Before that line's break, so that an edit of the next line cannot overlap.
                let at = after.map_or(theirs.len(), |o| ours[o].value_end);
                let line = new[vendor[v].line.clone()].trim_end_matches(['\r', '\n']);
                let before = after.is_some() || !(at == 0 || theirs.ends_with(['\n', '\r']));
                let text = match before {
                    true => format!("{newline}{line}"),
                    false => format!("{line}{newline}"),
                };
                edits.push(Edit {
                    range: at..at,
                    text,
                });
            }
        }
    }
    Ok(apply_edits(theirs, edits))
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::super::test_mask as mask;

    fn merge(base: &str, theirs: &str, new: &str) -> Merged {
        three_way(base, theirs, new, &mask).unwrap()
    }

    #[test]
    fn the_customers_lines_stay_and_the_vendors_changes_are_made() {
        let base = "# Fabrikam\nport=8443\nlevel=info\nold=1\npassword=********\n";
        let theirs = "# Fabrikam\n# ours: faster\nport = 9443\nlevel=info\nold=1\npassword=s3cret\nmine=yes\n";
        let new = "# Fabrikam\nport=8443\nlevel=warn\nregion=eu\\u00e9\npassword=s3cret\n";
        let merged = merge(base, theirs, new);
        assert_eq!(
            merged.text,
            "# Fabrikam\n# ours: faster\nport = 9443\nlevel=warn\nregion=eu\\u00e9\npassword=s3cret\nmine=yes\n"
        );
        assert!(merged.conflicts.is_empty());
    }

    #[test]
    fn both_changed_keeps_the_customers_value_as_a_conflict() {
        let merged = merge("a=1\r\nb=1\r\n", "a=2\r\nb=1\r\n", "a=3\r\nb=1\r\nc=1\r\n");
        assert_eq!(merged.text, "a=2\r\nb=1\r\nc=1\r\n");
        assert_eq!(merged.conflicts, ["a"]);
        let bare = merge("a\nb=1\n", "a\nb=2\n", "a=on\nb=1\n");
        assert_eq!(bare.text, "a=on\nb=2\n");
    }

    #[test]
    fn a_customer_removal_stays_and_an_addition_without_a_line_break_is_kept_apart() {
        let merged = merge("a=1\nb=1\n", "b=1\nz=9", "x=0\na=1\nb=1\n");
        assert_eq!(merged.text, "b=1\nz=9\nx=0");
        let conflict = merge("a=1\nb=1\n", "b=1\n", "a=2\nb=1\n");
        assert_eq!(conflict.text, "b=1\n");
        assert_eq!(conflict.conflicts, ["a"]);
    }

    #[test]
    fn a_key_twice_or_a_broken_escape_is_not_merged() {
        let e = three_way("a=1\n", "a=1\na=2\n", "a=1\n", &mask).unwrap_err();
        assert!(e.contains("your file has `a` more than once"), "{e}");
        let e = three_way("a=1\n", "a=1\n", "a=\\uZZ\n", &mask).unwrap_err();
        assert!(
            e.starts_with("the new version's file is not a properties file"),
            "{e}"
        );
    }
}
