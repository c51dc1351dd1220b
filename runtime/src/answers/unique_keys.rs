//! A check that a JSON text names no key twice in any object. serde_json keeps the last of
//! duplicate keys without a word, so an answers file that gives a parameter twice would be
//! taken with one of its two values silently dropped.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::collections::HashSet;
use std::fmt;

/// Check `text`; parse it with serde_json afterwards. The error is serde_json's: a syntax
/// error, or a data error (`is_data`) that names the duplicate key and where it is. Parameter
/// names are not case-sensitive, so keys that differ only in ASCII case are duplicates too.
pub fn check(text: &str) -> Result<(), serde_json::Error> {
    serde_json::from_str::<UniqueKeys>(text).map(|_| ())
}

/// Any JSON value, walked only to check its objects' keys.
struct UniqueKeys;

impl<'de> Deserialize<'de> for UniqueKeys {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(UniqueKeys)
    }
}

impl<'de> Visitor<'de> for UniqueKeys {
    type Value = UniqueKeys;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_str<E>(self, _: &str) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_unit<E>(self) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self, A::Error> {
        while seq.next_element::<UniqueKeys>()?.is_some() {}
        Ok(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self, A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.to_ascii_lowercase()) {
                return Err(de::Error::custom(format!(
                    "`{key}` is given more than once"
                )));
            }
            map.next_value::<UniqueKeys>()?;
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_keys_at_any_depth_and_in_any_case_are_named() {
        for (text, key) in [
            (r#"{"A": 1, "B": 2, "A": 3}"#, "`A`"),
            (
                r#"{"Install.Root": "/a", "install.ROOT": "/b"}"#,
                "`install.ROOT`",
            ),
            (r#"{"P": {"env": "X", "env": "Y"}}"#, "`env`"),
            (r#"[{"k": null}, {"k": 1, "k": 2}]"#, "`k`"),
        ] {
            let err = check(text).unwrap_err();
            assert!(err.is_data(), "{text}: {err}");
            assert!(
                err.to_string()
                    .contains(&format!("{key} is given more than once")),
                "{text}: {err}"
            );
        }
    }

    #[test]
    fn every_kind_of_value_without_duplicates_passes_and_syntax_errors_are_syntax() {
        check(r#"{"a": [1, -2, 3.5, true, null, "s", {"a": {}}], "b": {"a": 1}}"#).unwrap();
        let err = check(r#"{"a": "#).unwrap_err();
        assert!(!err.is_data(), "{err}");
    }
}
