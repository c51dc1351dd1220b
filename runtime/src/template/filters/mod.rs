//! The built-in filters (§6.12): name lookup (case-insensitive) and the null rules shared by
//! all of them. A filter returns `Ok(None)` for "not applicable", which makes the token be
//! echoed; `Err` only where Octostache throws (invalid base64, unparseable versions).
//! Custom filters ([`Extension`]) are typed here; the evaluator calls them.

mod base64;
mod date;
mod format;
mod hash;
mod markdown;
mod text;
mod uri;
mod version;

use std::collections::HashMap;
use std::sync::Arc;

use super::error::TemplateError;
use crate::escape;

/// A custom filter: given the input (`None` when null) and the evaluated options, returns the
/// output, or `None` for "not applicable" (the token is then echoed).
pub type Extension = Arc<dyn Fn(Option<&str>, &[String]) -> Option<String> + Send + Sync>;

/// Custom filters by lower-cased name (`AddExtension`, §12.3).
pub(crate) type Extensions = HashMap<String, Extension>;

type FResult = Result<Option<String>, TemplateError>;

/// The filters that escape text for a format: no options, one function of [`crate::escape`]
/// each. (`ToBase64` encodes too, but takes an encoding option: see `escaping_filters`.)
const ESCAPES: [(&str, escape::Escaping); 9] = [
    ("HtmlEscape", escape::html),
    ("XmlEscape", escape::xml),
    ("JsonEscape", escape::json),
    ("UriEscape", escape::uri_string),
    ("UriDataEscape", escape::uri_data),
    ("YamlSingleQuoteEscape", escape::yaml_single_quoted),
    ("YamlDoubleQuoteEscape", escape::yaml_double_quoted),
    ("PropertiesKeyEscape", escape::properties_key),
    ("PropertiesValueEscape", escape::properties_value),
];

/// Every filter call that escapes or encodes its input (`HtmlEscape`, `ToBase64 unicode`, ...):
/// the forms in which a template can write a secret.
#[cfg(test)]
pub(crate) fn escaping_filters() -> Vec<String> {
    let escapes = ESCAPES.iter().map(|(name, _)| name.to_string());
    let base64 = base64::ENCODINGS
        .iter()
        .map(|(option, _)| format!("ToBase64 {option}"));
    escapes
        .chain(std::iter::once("ToBase64".to_string()))
        .chain(base64)
        .collect()
}

/// Applies the filter called `name` to `input` with the evaluated `options`.
pub(crate) fn apply(name: &str, input: Option<&str>, options: &[String]) -> FResult {
    let lower = name.to_lowercase();
    // These accept a null input; every other filter is null on null input (§6.12.2).
    match lower.as_str() {
        "append" => return Ok(text::append(input, options)),
        "prepend" => return Ok(text::prepend(input, options)),
        "nowdate" => return Ok(date::now(input, options, false)),
        "nowdateutc" => return Ok(date::now(input, options, true)),
        "null" => return Ok(None),
        _ => {}
    }
    let Some(input) = input else { return Ok(None) };
    let name = lower.as_str();
    if let Some(part) = name.strip_prefix("version") {
        return version::part(part, input, options).map_err(|message| TemplateError::Filter {
            filter: format!("Version{part}"),
            message,
        });
    }
    if name == "frombase64" {
        return base64::from_base64(input, options);
    }
    Ok(apply_to_text(name, input, options))
}

fn apply_to_text(name: &str, input: &str, options: &[String]) -> Option<String> {
    if let Some((_, escaping)) = ESCAPES.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
        return no_options(options, || escaping(input));
    }
    match name {
        "toupper" => no_options(options, || to_upper(input)),
        "tolower" => no_options(options, || input.to_lowercase()),
        "tobase64" => base64::to_base64(input, options),
        "markdown" | "markdowntohtml" => no_options(options, || markdown::to_html(input)),
        "addhours" => date::add(input, options, 3600.0),
        "adddays" => date::add(input, options, 86400.0),
        "format" => format::format(input, options),
        "match" => text::matches(input, options),
        "replace" => text::replace(input, options),
        "startswith" => text::compare(input, options, |a, b| a.starts_with(b)),
        "endswith" => text::compare(input, options, |a, b| a.ends_with(b)),
        "contains" => text::compare(input, options, |a, b| a.contains(b)),
        "substring" => text::substring(input, options),
        "truncate" => text::truncate(input, options),
        "trim" => text::trim(input, options),
        "indent" => text::indent(input, options),
        "uripart" => Some(uri::part(input, options)),
        "md5" | "sha1" | "sha256" | "sha384" | "sha512" => hash::digest(name, input, options),
        _ => None,
    }
}

/// .NET upper-cases character by character: a letter whose upper case is longer (`ß`) stays.
fn to_upper(input: &str) -> String {
    input
        .chars()
        .map(|c| {
            let mut upper = c.to_uppercase();
            match (upper.next(), upper.next()) {
                (Some(u), None) => u,
                _ => c,
            }
        })
        .collect()
}

/// Filters without options are null when given any.
fn no_options(options: &[String], f: impl FnOnce() -> String) -> Option<String> {
    options.is_empty().then(f)
}

#[cfg(test)]
mod tests {
    use super::apply;

    fn run(name: &str, input: &str, options: &[&str]) -> Option<String> {
        let options: Vec<String> = options.iter().map(|s| s.to_string()).collect();
        apply(name, Some(input), &options).ok().flatten()
    }

    #[test]
    fn names_are_case_insensitive_and_unknown_is_null() {
        assert_eq!(run("TOUPPER", "abcß", &[]), Some("ABCß".into()));
        assert_eq!(run("ToBazooka", "abc", &[]), None);
        assert_eq!(run("ToUpper", "abc", &["x"]), None);
    }

    #[test]
    fn null_input_is_null_except_for_append_and_prepend() {
        assert_eq!(apply("ToUpper", None, &[]), Ok(None));
        assert_eq!(
            apply("Append", None, &["foo".into()]),
            Ok(Some("foo".into()))
        );
    }

    #[test]
    fn invalid_base64_throws() {
        assert!(apply("FromBase64", Some("!!"), &[]).is_err());
        assert_eq!(run("FromBase64", "SGk=", &[]), Some("Hi".into()));
    }
}
