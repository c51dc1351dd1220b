//! Parser for Octopus service messages: `##octopus[name attr='base64' attr="base64" ...]`.
//!
//! Follows `docs/octopus-conventions.md` §5.10: the name is an XML-style name (letters, digits,
//! `-`, `_`, `.`), attribute values use single or double quotes and hold standard base64 (with
//! padding) of UTF-8 text, the message ends at the first `]`, and a duplicate attribute, an
//! unquoted value or a value that is not base64 makes the whole line plain output. Attribute names
//! are matched without regard to case, message names exactly (`setVariable`).
//!
//! Where it differs from Calamari on purpose: a message is recognised only at the start of a line
//! (leading blanks allowed), as Calamari's test harness does, so text that merely mentions
//! `##octopus[` mid-line is not acted on. Text after the closing `]` is returned so the caller can
//! show it as ordinary output.

use base64::Engine;

const PREFIX: &str = "##octopus[";

/// One parsed service message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceMessage {
    /// The message name, case as written (`setVariable`, `stdout-verbose`).
    pub name: String,
    /// Decoded attributes in the order written; names as written.
    pub attributes: Vec<(String, String)>,
}

impl ServiceMessage {
    /// The decoded value of an attribute, its name matched without regard to case.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// A line of script stdout, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed<'a> {
    /// A well-formed message, and any text that followed its `]` (`""` when none).
    Message(ServiceMessage, &'a str),
    /// Anything else, including malformed messages: shown as ordinary output.
    Plain,
}

/// Classify one line (without its line ending).
pub fn parse_line(line: &str) -> Parsed<'_> {
    let Some(rest) = line.trim_start().strip_prefix(PREFIX) else {
        return Parsed::Plain;
    };
    let Some(end) = rest.find(']') else {
        return Parsed::Plain;
    };
    match parse_body(&rest[..end]) {
        Some(message) => Parsed::Message(message, &rest[end + 1..]),
        None => Parsed::Plain,
    }
}

/// `name attr='v' ...` (the text between `[` and `]`), or `None` when malformed.
fn parse_body(body: &str) -> Option<ServiceMessage> {
    let body = body.trim();
    let (name, mut rest) = take_name(body)?;
    let mut attributes: Vec<(String, String)> = Vec::new();
    loop {
        let trimmed = rest.trim_start();
        if trimmed.is_empty() {
            break;
        }
        // Attributes must be separated from the name and from each other by whitespace.
        if trimmed.len() == rest.len() {
            return None;
        }
        let (key, value, after) = take_attribute(trimmed)?;
        if attributes.iter().any(|(k, _)| k.eq_ignore_ascii_case(key)) {
            return None;
        }
        attributes.push((key.to_string(), value));
        rest = after;
    }
    Some(ServiceMessage {
        name: name.to_string(),
        attributes,
    })
}

/// An XML-style name at the start of `text`, and the rest.
fn take_name(text: &str) -> Option<(&str, &str)> {
    let first = text.chars().next()?;
    if !(first.is_ascii_alphabetic() || first == '_') {
        return None;
    }
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(text.len());
    Some((&text[..end], &text[end..]))
}

/// `key = 'base64'` at the start of `text`: the key, the decoded value, and the rest.
fn take_attribute(text: &str) -> Option<(&str, String, &str)> {
    let (key, rest) = take_name(text)?;
    let rest = rest.trim_start().strip_prefix('=')?.trim_start();
    let quote = rest.chars().next().filter(|c| matches!(c, '\'' | '"'))?;
    let rest = &rest[1..];
    let close = rest.find(quote)?;
    let value = decode(&rest[..close])?;
    Some((key, value, &rest[close + 1..]))
}

/// Standard base64 (padding required, as .NET's `Convert.FromBase64String`), then UTF-8, invalid
/// sequences replaced as .NET's decoder does.
fn decode(encoded: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// Base64 of UTF-8, as the bootstraps write attribute values (used by tests).
#[cfg(test)]
pub fn encode(value: &str) -> String {
    crate::escape::base64(value.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(line: &str) -> ServiceMessage {
        match parse_line(line) {
            Parsed::Message(message, _) => message,
            Parsed::Plain => panic!("not a message: {line}"),
        }
    }

    fn is_plain(line: &str) -> bool {
        parse_line(line) == Parsed::Plain
    }

    #[test]
    fn set_variable_with_single_quotes() {
        let line = format!(
            "##octopus[setVariable name='{}' value='{}']",
            encode("Out"),
            encode("välue ]")
        );
        let m = message(&line);
        assert_eq!(m.name, "setVariable");
        assert_eq!(m.attribute("name"), Some("Out"));
        assert_eq!(m.attribute("value"), Some("välue ]"));
        assert_eq!(m.attribute("sensitive"), None);
    }

    #[test]
    fn double_quotes_and_spaces_around_equals() {
        let line = format!(
            "##octopus[setVariable name = \"{}\"  value=\"{}\" sensitive='{}' ]",
            encode("A"),
            encode("b"),
            encode("True")
        );
        let m = message(&line);
        assert_eq!(m.attribute("value"), Some("b"));
        assert_eq!(m.attribute("SENSITIVE"), Some("True"));
    }

    #[test]
    fn attribute_names_ignore_case_message_names_do_not() {
        let m = message(&format!("##octopus[setvariable NAME='{}']", encode("x")));
        assert_eq!(m.name, "setvariable");
        assert_eq!(m.attribute("name"), Some("x"));
    }

    #[test]
    fn messages_without_attributes() {
        for name in [
            "stdout-verbose",
            "stdout-default",
            "stderr-progress",
            "stdout-highlight",
        ] {
            let m = message(&format!("##octopus[{name}]"));
            assert_eq!(m.name, name);
            assert!(m.attributes.is_empty());
        }
        assert_eq!(
            message("##octopus[ stdout-warning ]").name,
            "stdout-warning"
        );
    }

    #[test]
    fn empty_value_is_empty_text() {
        let m = message(&format!(
            "##octopus[setVariable name='{}' value='']",
            encode("E")
        ));
        assert_eq!(m.attribute("value"), Some(""));
    }

    #[test]
    fn text_after_the_bracket_is_returned() {
        match parse_line("##octopus[stdout-default]after text") {
            Parsed::Message(m, rest) => {
                assert_eq!(m.name, "stdout-default");
                assert_eq!(rest, "after text");
            }
            Parsed::Plain => panic!("expected a message"),
        }
    }

    #[test]
    fn leading_blanks_are_allowed_mid_line_is_not() {
        assert_eq!(
            message("  ##octopus[stdout-verbose]").name,
            "stdout-verbose"
        );
        assert!(is_plain("echo ##octopus[stdout-verbose]"));
    }

    #[test]
    fn malformed_lines_are_plain() {
        let n = encode("n");
        for line in [
            "##octopus[".to_string(),
            "##octopus[setVariable name='bg=='".to_string(), // no closing bracket
            "##octopus[]".to_string(),
            "##octopus[1bad]".to_string(),
            format!("##octopus[setVariable name={n}]"), // unquoted
            format!("##octopus[setVariable name='{n}\"]"), // mismatched quotes
            "##octopus[setVariable name='not base64!']".to_string(),
            "##octopus[setVariable name='abc']".to_string(), // missing padding
            format!("##octopus[setVariable name='{n}' name='{n}']"), // duplicate
            format!("##octopus[setVariable name='{n}' NAME='{n}']"), // duplicate, other case
            format!("##octopus[setVariable name='{n}'value='{n}']"), // no separator
            format!("##octopus[setVariable name='{n}' value]"),
            "#octopus[stdout-verbose]".to_string(),
            "plain text".to_string(),
            String::new(),
        ] {
            assert!(is_plain(&line), "should be plain: {line}");
        }
    }

    #[test]
    fn invalid_utf8_is_replaced_not_rejected() {
        let bad = base64::engine::general_purpose::STANDARD.encode([0x66, 0xff]);
        let m = message(&format!("##octopus[resultMessage message='{bad}']"));
        assert_eq!(m.attribute("message"), Some("f\u{fffd}"));
    }
}
