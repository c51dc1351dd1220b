//! The three-way decision for files read as keyed values (`.properties` keys, YAML paths, XML
//! entries): for each key, which side's value the merged file holds. The formats turn the
//! decisions into edits of the customer's file, so its layout and comments stay.

use super::{Mask, unchanged};
use std::collections::{HashMap, HashSet};

/// A file's values by key, in the file's order; each key once.
pub(super) type Values = Vec<(String, String)>;

/// What to do to the customer's file for one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Change {
    /// The key's value becomes the new version's.
    Set(String),
    /// The new version added the key: it is added.
    Add(String),
    /// The new version removed the key and the customer had not changed it: it goes.
    Remove(String),
}

/// The changes to make to the customer's file and the keys both sides changed (which keep the
/// customer's value).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct Decisions {
    pub changes: Vec<Change>,
    pub conflicts: Vec<String>,
}

/// Decide each key of `base`, `theirs` and `new` (the new version's keys first, in its order).
pub(super) fn decide(base: &Values, theirs: &Values, new: &Values, mask: Mask<'_>) -> Decisions {
    let (base_of, theirs_of, new_of) = (by_key(base), by_key(theirs), by_key(new));
    let keys = new
        .iter()
        .chain(theirs.iter())
        .chain(base.iter())
        .map(|(k, _)| k.as_str());
    let mut seen = HashSet::new();
    let mut decisions = Decisions::default();
    for key in keys {
        if !seen.insert(key) {
            continue;
        }
        let (b, t, n) = (base_of.get(key), theirs_of.get(key), new_of.get(key));
        let same = |b: Option<&&str>, v: Option<&&str>| match (b, v) {
            (Some(b), Some(v)) => unchanged(b, v, mask),
            (None, None) => true,
            _ => false,
        };
        if same(b, t) {
            // Only the vendor may have changed it (or a secret in it changed): the new value.
            match (t, n) {
                (Some(t), Some(n)) if t != n => decisions.changes.push(Change::Set(key.into())),
                (Some(_), None) => decisions.changes.push(Change::Remove(key.into())),
                (None, Some(_)) => decisions.changes.push(Change::Add(key.into())),
                _ => {}
            }
        } else if !same(b, n) && t.map(|t| mask(t)) != n.map(|n| mask(n)) {
            decisions.conflicts.push(key.into());
        }
    }
    decisions
}

/// `theirs` with the decided changes made: the values the merged file must hold.
pub(super) fn expected(theirs: &Values, new: &Values, decisions: &Decisions) -> Values {
    let new_of = by_key(new);
    let new_value = |key: &str| new_of.get(key).map_or_else(String::new, |v| v.to_string());
    let (mut set, mut removed) = (HashSet::new(), HashSet::new());
    for change in &decisions.changes {
        match change {
            Change::Set(key) => set.insert(key.as_str()),
            Change::Remove(key) => removed.insert(key.as_str()),
            Change::Add(_) => false,
        };
    }
    let mut values: Values = theirs
        .iter()
        .filter(|(k, _)| !removed.contains(k.as_str()))
        .map(|(k, v)| match set.contains(k.as_str()) {
            true => (k.clone(), new_value(k)),
            false => (k.clone(), v.clone()),
        })
        .collect();
    for change in &decisions.changes {
        if let Change::Add(key) = change {
            values.push((key.clone(), new_value(key)));
        }
    }
    values
}

/// The values by key.
fn by_key(values: &Values) -> HashMap<&str, &str> {
    values
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

/// Whether two value lists hold the same keys with the same values, in any order.
pub(super) fn same_values(a: &Values, b: &Values) -> bool {
    a.len() == b.len() && by_key(a) == by_key(b)
}

/// Refuse a file that holds a key twice: which of its values counts is the format's business.
pub(super) fn unique(values: Values, which: &str) -> Result<Values, String> {
    let mut seen = HashSet::new();
    if let Some((key, _)) = values.iter().find(|(k, _)| !seen.insert(k.as_str())) {
        return Err(format!("{which} has `{key}` more than once"));
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, &str)]) -> Values {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn mask(text: &str) -> String {
        text.replace("new-secret", crate::secret::REDACTED)
    }

    #[test]
    fn each_key_takes_the_side_that_changed_it() {
        let base = values(&[
            ("both", "1"),
            ("vendor", "1"),
            ("customer", "1"),
            ("gone", "1"),
        ]);
        let theirs = values(&[
            ("both", "2"),
            ("vendor", "1"),
            ("customer", "2"),
            ("gone", "1"),
        ]);
        let new = values(&[
            ("both", "3"),
            ("vendor", "3"),
            ("customer", "1"),
            ("added", "1"),
        ]);
        let decisions = decide(&base, &theirs, &new, &mask);
        assert_eq!(
            decisions.changes,
            [
                Change::Set("vendor".into()),
                Change::Add("added".into()),
                Change::Remove("gone".into())
            ]
        );
        assert_eq!(decisions.conflicts, ["both"]);
        assert_eq!(
            expected(&theirs, &new, &decisions),
            values(&[
                ("both", "2"),
                ("vendor", "3"),
                ("customer", "2"),
                ("added", "1")
            ])
        );
    }

    #[test]
    fn a_rotated_secret_is_no_edit_and_takes_the_new_secret() {
        let base = values(&[("password", "********"), ("port", "1")]);
        let theirs = values(&[("password", "old-secret"), ("port", "1")]);
        let new = values(&[("password", "new-secret"), ("port", "1")]);
        let decisions = decide(&base, &theirs, &new, &mask);
        assert_eq!(decisions.changes, [Change::Set("password".into())]);
        assert!(decisions.conflicts.is_empty());
    }

    #[test]
    fn a_key_twice_is_refused() {
        let e = unique(values(&[("a", "1"), ("a", "2")]), "your file").unwrap_err();
        assert_eq!(e, "your file has `a` more than once");
    }
}
