//! Unit tests of the engine through its public API: parsing pieces, echo, scopes, cycles.

use super::*;

fn vars(pairs: &[(&str, &str)]) -> Variables {
    let mut v = Variables::new();
    for (name, value) in pairs {
        v.set(*name, Some(value.to_string()));
    }
    v
}

fn strict(template: &str, pairs: &[(&str, &str)]) -> Option<String> {
    evaluate(template, &vars(pairs), Mode::Strict)
        .ok()
        .and_then(|e| e.output)
}

#[test]
fn escapes_and_hashes() {
    assert_eq!(
        strict("##{foo}", &[("foo", "x")]).as_deref(),
        Some("#{foo}")
    );
    assert_eq!(strict("###{foo}", &[("foo", "x")]).as_deref(), Some("#x"));
    assert_eq!(
        strict("####{foo}", &[("foo", "x")]).as_deref(),
        Some("###{foo}")
    );
}
