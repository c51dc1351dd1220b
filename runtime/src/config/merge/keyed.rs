//! The three-way decision for files read as keyed values (`.properties` keys, YAML paths, XML
//! entries): for each key, which side's value the merged file holds. The formats turn the
//! decisions into edits of the customer's file, so its layout and comments stay.

use super::{Mask, unchanged};

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
    let get = |values: &'_ Values, key: &str| -> Option<String> {
        values
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    let keys = new
        .iter()
        .chain(theirs.iter())
        .chain(base.iter())
        .map(|(k, _)| k);
    let mut seen: Vec<&String> = Vec::new();
    let mut decisions = Decisions::default();
    for key in keys {
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        let (b, t, n) = (get(base, key), get(theirs, key), get(new, key));
        let same = |b: &Option<String>, v: &Option<String>| match (b, v) {
            (Some(b), Some(v)) => unchanged(b, v, mask),
            (None, None) => true,
            _ => false,
        };
        if same(&b, &t) {
            // Only the vendor may have changed it (or a secret in it changed): the new value.
            match (&t, &n) {
                (Some(t), Some(n)) if t != n => decisions.changes.push(Change::Set(key.clone())),
                (Some(_), None) => decisions.changes.push(Change::Remove(key.clone())),
                (None, Some(_)) => decisions.changes.push(Change::Add(key.clone())),
                _ => {}
            }
        } else if !same(&b, &n) && t.as_deref().map(mask) != n.as_deref().map(mask) {
            decisions.conflicts.push(key.clone());
        }
    }
    decisions
}

/// `theirs` with the decided changes made: the values the merged file must hold.
pub(super) fn expected(theirs: &Values, new: &Values, decisions: &Decisions) -> Values {
    let new_value = |key: &str| new.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let mut values: Values = theirs
        .iter()
        .filter(|(k, _)| !decisions.changes.contains(&Change::Remove(k.clone())))
        .map(
            |(k, v)| match decisions.changes.contains(&Change::Set(k.clone())) {
                true => (k.clone(), new_value(k).unwrap_or_default()),
                false => (k.clone(), v.clone()),
            },
        )
        .collect();
    for change in &decisions.changes {
        if let Change::Add(key) = change {
            values.push((key.clone(), new_value(key).unwrap_or_default()));
        }
    }
    values
}

/// Whether two value lists hold the same keys with the same values, in any order.
pub(super) fn same_values(a: &Values, b: &Values) -> bool {
    a.len() == b.len() && a.iter().all(|entry| b.contains(entry))
}

/// Refuse a file that holds a key twice: which of its values counts is the format's business.
pub(super) fn unique(values: Values, which: &str) -> Result<Values, String> {
    for (i, (key, _)) in values.iter().enumerate() {
        if values[..i].iter().any(|(k, _)| k == key) {
            return Err(format!("{which} has `{key}` more than once"));
        }
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
