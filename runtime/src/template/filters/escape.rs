//! Escaping filters: HTML, XML, JSON, URI, YAML, Java .properties, and base64.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::template::error::TemplateError;

fn map_chars(input: &str, entity: impl Fn(char) -> Option<&'static str>) -> String {
    let mut out = String::with_capacity(input.len());
    for c in input.chars() {
        match entity(c) {
            Some(e) => out.push_str(e),
            None => out.push(c),
        }
    }
    out
}

pub(super) fn html(input: &str) -> String {
    map_chars(input, |c| match c {
        '/' => Some("&#x2F;"),
        c => xml_entity(c),
    })
}

pub(super) fn xml(input: &str) -> String {
    map_chars(input, xml_entity)
}

fn xml_entity(c: char) -> Option<&'static str> {
    match c {
        '&' => Some("&amp;"),
        '<' => Some("&lt;"),
        '>' => Some("&gt;"),
        '"' => Some("&quot;"),
        '\'' => Some("&apos;"),
        _ => None,
    }
}

pub(super) fn json(input: &str) -> String {
    map_chars(input, |c| match c {
        '"' => Some("\\\""),
        '\\' => Some("\\\\"),
        '\r' => Some("\\r"),
        '\n' => Some("\\n"),
        '\t' => Some("\\t"),
        _ => None,
    })
}

/// `Uri.EscapeUriString` (keep reserved characters) or `Uri.EscapeDataString`.
pub(super) fn uri(input: &str, keep_reserved: bool) -> String {
    let mut out = String::with_capacity(input.len());
    for c in input.chars() {
        let unreserved = c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~');
        let reserved = matches!(
            c,
            ':' | '/'
                | '?'
                | '#'
                | '['
                | ']'
                | '@'
                | '!'
                | '$'
                | '&'
                | '\''
                | '('
                | ')'
                | '*'
                | '+'
                | ','
                | ';'
                | '='
        );
        if unreserved || (keep_reserved && reserved) {
            out.push(c);
            continue;
        }
        let mut buf = [0u8; 4];
        for b in c.encode_utf8(&mut buf).bytes() {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Each run of newlines gets one extra newline (YAML folds single ones), then `'` → `''`.
pub(super) fn yaml_single(input: &str) -> String {
    let mut out = String::with_capacity(input.len() + 8);
    let mut rest = input;
    while !rest.is_empty() {
        let run = newline_run(rest);
        if run > 0 {
            out.push_str(if rest.starts_with('\r') { "\r\n" } else { "\n" });
            out.push_str(&rest[..run]);
            rest = &rest[run..];
            continue;
        }
        let c = rest.chars().next().unwrap_or_default();
        if c == '\'' {
            out.push_str("''");
        } else {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// Length of the run of `\n` / `\r\n` at the start of `text`.
fn newline_run(text: &str) -> usize {
    let mut len = 0;
    loop {
        let rest = &text[len..];
        if rest.starts_with('\n') {
            len += 1;
        } else if rest.starts_with("\r\n") {
            len += 2;
        } else {
            return len;
        }
    }
}

pub(super) fn yaml_double(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    for c in input.chars() {
        match c {
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            ' '..='~' => out.push(c),
            _ => push_utf16_escapes(&mut out, c),
        }
    }
    out
}

fn push_utf16_escapes(out: &mut String, c: char) {
    let mut units = [0u16; 2];
    for unit in c.encode_utf16(&mut units) {
        out.push_str(&format!("\\u{unit:04x}"));
    }
}

/// Java .properties escaping; in a value only a leading space and no `:`/`=` are escaped.
pub(super) fn properties(input: &str, key: bool) -> String {
    let mut out = String::with_capacity(input.len());
    for (i, c) in input.chars().enumerate() {
        match c {
            ' ' if key || i == 0 => out.push_str("\\ "),
            ':' | '=' if key => {
                out.push('\\');
                out.push(c);
            }
            '\\' => out.push_str("\\\\"),
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) >= 0xFF => push_utf16_escapes(&mut out, c),
            c => out.push(c),
        }
    }
    out
}

/// The text encoding named by the option: `Some(true)` for UTF-16LE (`unicode`).
fn utf16_option(options: &[String]) -> Option<bool> {
    match options {
        [] => Some(false),
        [enc] if enc.eq_ignore_ascii_case("utf8") || enc.eq_ignore_ascii_case("utf-8") => {
            Some(false)
        }
        [enc] if enc.eq_ignore_ascii_case("unicode") => Some(true),
        _ => None,
    }
}

pub(super) fn utf16le(input: &str) -> Vec<u8> {
    input.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

pub(super) fn to_base64(input: &str, options: &[String]) -> Option<String> {
    let bytes = if utf16_option(options)? {
        utf16le(input)
    } else {
        input.as_bytes().to_vec()
    };
    Some(STANDARD.encode(bytes))
}

pub(super) fn from_base64(
    input: &str,
    options: &[String],
) -> Result<Option<String>, TemplateError> {
    let Some(unicode) = utf16_option(options) else {
        return Ok(None);
    };
    let compact: String = input.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = STANDARD
        .decode(compact)
        .map_err(|e| TemplateError::Filter {
            filter: "FromBase64".into(),
            message: format!("the input is not valid base64: {e}"),
        })?;
    if !unicode {
        return Ok(Some(String::from_utf8_lossy(&bytes).into_owned()));
    }
    let units: Vec<u16> = bytes
        .chunks(2)
        .map(|p| {
            u16::from_le_bytes([
                p.first().copied().unwrap_or(0),
                p.get(1).copied().unwrap_or(0),
            ])
        })
        .collect();
    Ok(Some(String::from_utf16_lossy(&units)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_escapes() {
        assert_eq!(uri("A b:c+d/e", true), "A%20b:c+d/e");
        assert_eq!(uri("A b:c+d/e", false), "A%20b%3Ac%2Bd%2Fe");
    }

    #[test]
    fn yaml_single_doubles_newline_runs() {
        assert_eq!(yaml_single("a\n\n\n\n\r\nb"), "a\n\n\n\n\n\r\nb");
        assert_eq!(yaml_single("it's"), "it''s");
    }

    #[test]
    fn yaml_double_escapes_non_ascii() {
        assert_eq!(yaml_double("我"), "\\u6211");
        assert_eq!(yaml_double("a\"\r\n"), "a\\\"\\r\\n");
    }

    #[test]
    fn properties_key_and_value() {
        assert_eq!(properties(" a:=b", true), "\\ a\\:\\=b");
        assert_eq!(properties(" a \n b ", false), "\\ a \\n b ");
    }
}
