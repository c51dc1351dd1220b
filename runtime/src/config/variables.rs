//! Variable-name rules shared by the replacers: case-insensitive names where later entries win,
//! and the `Octopus*` names that must never address a file's keys.

use std::collections::HashMap;

/// Case-fold a name or path for comparison (Octostache and Calamari compare ignoring case).
pub(crate) fn fold(name: &str) -> String {
    name.to_lowercase()
}

/// The variables with case-insensitive duplicates removed: the last value wins, at the position
/// of the name's first appearance.
pub(crate) fn effective<V>(variables: &[(String, V)]) -> Vec<(&str, &V)> {
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut out: Vec<(&str, &V)> = Vec::new();
    for (name, value) in variables {
        match index.get(&fold(name)) {
            Some(&at) => out[at].1 = value,
            None => {
                index.insert(fold(name), out.len());
                out.push((name, value));
            }
        }
    }
    out
}

/// True for names starting with `Octopus` (any case).
pub(crate) fn starts_with_octopus(name: &str) -> bool {
    name.get(..7)
        .is_some_and(|head| head.eq_ignore_ascii_case("octopus"))
}

/// JSON and YAML skip `Octopus*` names unless they continue with `:` (`^Octopus([^:]|$)`), so a
/// file whose top-level key is literally `Octopus` can still be addressed as `Octopus:Key`.
pub(crate) fn is_reserved_for_paths(name: &str) -> bool {
    starts_with_octopus(name) && !name[7..].starts_with(':')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_entries_win_ignoring_case() {
        let vars = vec![
            ("A:b".to_string(), "1".to_string()),
            ("c".to_string(), "2".to_string()),
            ("a:B".to_string(), "3".to_string()),
        ];
        let three = "3".to_string();
        let two = "2".to_string();
        assert_eq!(effective(&vars), vec![("A:b", &three), ("c", &two)]);
    }

    #[test]
    fn octopus_names() {
        assert!(is_reserved_for_paths("Octopus.Action.Name"));
        assert!(is_reserved_for_paths("octopus"));
        assert!(!is_reserved_for_paths("Octopus:Server"));
        assert!(starts_with_octopus("OCTOPUS:Server"));
        assert!(!starts_with_octopus("Octo"));
    }
}
