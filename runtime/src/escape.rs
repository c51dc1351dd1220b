//! Escaping text for the formats dropship writes or renders (HTML, XML, JSON, URIs, YAML, Java
//! .properties) and encoding it as base64, each written once. The template filters
//! (`HtmlEscape`, `UriDataEscape`, `ToBase64`, ...) emit exactly these forms, the XML writer and
//! the HTML report use them, and the secret scrubber hides a secret in every one of them
//! ([`TEXT_ESCAPES`]), so what can be written is what is scrubbed.
//!
//! Not here: decoding (`FromBase64`, XML entities), which belongs to the readers.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};

/// An escaping of text into text.
pub type Escaping = fn(&str) -> String;

/// Every escaping of text into text in this module (base64, an encoding of bytes, aside), for
/// callers that must consider them all: the scrubber looks for a secret in each of these forms.
pub const TEXT_ESCAPES: [Escaping; 15] = [
    html,
    xml,
    xml_text,
    |text| xml_attr(text, '"'),
    |text| xml_attr(text, '\''),
    json,
    uri_string,
    uri_data,
    form_urlencoded,
    yaml_single_quoted,
    yaml_double_quoted,
    yaml_double_quoted_utf8,
    properties_key,
    properties_value,
    properties_value_ascii,
];

/// HTML text or attribute value, as Octostache's `HtmlEscape`: `& < > " ' /` become
/// `&amp; &lt; &gt; &quot; &apos; &#x2F;`.
pub fn html(text: &str) -> String {
    map_chars(text, |c| match c {
        '/' => Some("&#x2F;"),
        c => xml_entity(c),
    })
}

/// XML, as Octostache's `XmlEscape`: `& < > " '` become `&amp; &lt; &gt; &quot; &apos;`.
pub fn xml(text: &str) -> String {
    map_chars(text, xml_entity)
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

/// XML character data as an XML writer puts it between tags: only `& < >` are escaped (quotes
/// need not be), and CR as `&#13;` because parsers turn a literal one into LF.
pub fn xml_text(text: &str) -> String {
    map_chars(text, xml_text_entity)
}

fn xml_text_entity(c: char) -> Option<&'static str> {
    match c {
        '&' => Some("&amp;"),
        '<' => Some("&lt;"),
        '>' => Some("&gt;"),
        '\r' => Some("&#13;"),
        _ => None,
    }
}

/// An XML attribute value written between `quote`s (`'` or `"`): as [`xml_text`], plus the quote
/// character, and TAB and LF as character references, as .NET's XmlWriter writes them (parsers
/// turn a literal tab or line break in an attribute into a space).
pub fn xml_attr(value: &str, quote: char) -> String {
    map_chars(value, |c| match c {
        '\t' => Some("&#9;"),
        '\n' => Some("&#10;"),
        '\'' if quote == '\'' => Some("&apos;"),
        '"' if quote != '\'' => Some("&quot;"),
        c => xml_text_entity(c),
    })
}

/// The inside of a JSON string, as Octostache's `JsonEscape`: only `" \` CR LF TAB are escaped;
/// other control characters and non-ASCII are left as they are.
pub fn json(text: &str) -> String {
    map_chars(text, |c| match c {
        '"' => Some("\\\""),
        '\\' => Some("\\\\"),
        '\r' => Some("\\r"),
        '\n' => Some("\\n"),
        '\t' => Some("\\t"),
        _ => None,
    })
}

fn map_chars(text: &str, entity: impl Fn(char) -> Option<&'static str>) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match entity(c) {
            Some(e) => out.push_str(e),
            None => out.push(c),
        }
    }
    out
}

/// .NET `Uri.EscapeUriString` (Octostache's `UriEscape`): percent-encodes the UTF-8 of every
/// character that is neither unreserved nor reserved, so `A b:c+d/e` gives `A%20b:c+d/e`.
pub fn uri_string(text: &str) -> String {
    percent_encode(text, |c| is_uri_unreserved(c) || is_uri_reserved(c))
}

/// .NET `Uri.EscapeDataString` (Octostache's `UriDataEscape`): percent-encodes everything but
/// `A-Z a-z 0-9 - _ . ~`, so `A b:c+d/e` gives `A%20b%3Ac%2Bd%2Fe`.
pub fn uri_data(text: &str) -> String {
    percent_encode(text, is_uri_unreserved)
}

/// `application/x-www-form-urlencoded`, as HTML forms, `curl --data-urlencode` and Python's
/// `quote_plus` write it: [`uri_data`] with `+` for a space.
pub fn form_urlencoded(text: &str) -> String {
    // A `%20` in `uri_data`'s output can only stand for a space: a `%` is itself encoded.
    uri_data(text).replace("%20", "+")
}

fn is_uri_unreserved(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~')
}

/// RFC 3986's gen-delims and sub-delims.
fn is_uri_reserved(c: char) -> bool {
    matches!(
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
    )
}

fn percent_encode(text: &str, keep: impl Fn(char) -> bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if keep(c) {
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

/// The inside of a single-quoted YAML scalar, as Octostache's `YamlSingleQuoteEscape`: each run
/// of newlines gets one extra newline (YAML folds single ones), then `'` becomes `''`.
pub fn yaml_single_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut rest = text;
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

/// The inside of a double-quoted YAML scalar, as Octostache's `YamlDoubleQuoteEscape`:
/// `\r \n \t \\ "` are backslash-escaped, and anything outside printable ASCII becomes `\uXXXX`.
pub fn yaml_double_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            ' '..='~' => out.push(c),
            _ => push_utf16_escapes(&mut out, c, Hex::Lower),
        }
    }
    out
}

/// The inside of a double-quoted YAML scalar in a UTF-8 file, as the YAML replacer writes a new
/// value: `" \` CR LF TAB are backslash-escaped and other control characters become `\uXXXX`
/// (uppercase hex); everything else, non-ASCII included, is kept.
pub fn yaml_double_quoted_utf8(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => push_utf16_escapes(&mut out, c, Hex::Upper),
            c => out.push(c),
        }
    }
    out
}

/// The case of the hex digits in a `\uXXXX` escape.
#[derive(Clone, Copy)]
enum Hex {
    Lower,
    Upper,
}

/// `\uXXXX` for each UTF-16 unit of `c`.
fn push_utf16_escapes(out: &mut String, c: char, hex: Hex) {
    let mut units = [0u16; 2];
    for unit in c.encode_utf16(&mut units) {
        match hex {
            Hex::Lower => out.push_str(&format!("\\u{unit:04x}")),
            Hex::Upper => out.push_str(&format!("\\u{unit:04X}")),
        }
    }
}

/// A Java .properties key, as Octostache's `PropertiesKeyEscape`: space, `:` and `=` get a
/// backslash, `\` CR LF TAB become `\\ \r \n \t`, and characters from U+00FF up `\uXXXX`.
pub fn properties_key(text: &str) -> String {
    properties(text, true)
}

/// A Java .properties value, as Octostache's `PropertiesValueEscape`: as [`properties_key`], but
/// only a space at the very start is escaped, and `:` and `=` are left alone.
pub fn properties_value(text: &str) -> String {
    properties(text, false)
}

fn properties(text: &str, key: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, c) in text.chars().enumerate() {
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
            c if u32::from(c) >= 0xFF => push_utf16_escapes(&mut out, c, Hex::Lower),
            c => out.push(c),
        }
    }
    out
}

/// A Java .properties value in printable ASCII, as the .properties replacer writes a new value:
/// `\` LF CR TAB FF and a leading space are backslash-escaped, and every other character outside
/// printable ASCII becomes `\uXXXX` (uppercase hex): Java reads the format as ISO-8859-1, and
/// that is the one spelling every reader understands.
pub fn properties_value_ascii(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, c) in text.chars().enumerate() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0C' => out.push_str("\\f"),
            ' ' if i == 0 => out.push_str("\\ "),
            c if !c.is_ascii() || c.is_ascii_control() => {
                push_utf16_escapes(&mut out, c, Hex::Upper)
            }
            c => out.push(c),
        }
    }
    out
}

/// Standard base64 with padding, as `ToBase64` and .NET's `Convert.ToBase64String` write it.
/// A word for a POSIX shell with everything in it literal: single-quoted, `'` as `'\''`.
pub fn shell_single_quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// A word for a POSIX shell, for commands shown to people: as it is when it holds only
/// characters no shell treats specially, else [`shell_single_quoted`].
pub fn shell_word(text: &str) -> String {
    let plain = |b: u8| b.is_ascii_alphanumeric() || b"/._-+".contains(&b);
    if !text.is_empty() && text.bytes().all(plain) {
        text.to_string()
    } else {
        shell_single_quoted(text)
    }
}

/// A line of program output as plain text, for files people read (the log, the report): what
/// a terminal would show, without its control codes. Escape sequences (colours, cursor moves,
/// window titles: CSI, OSC, DCS and two-byte escapes) and other control characters but the tab
/// are removed; of a line redrawn with carriage returns (a progress counter), the last drawing
/// is kept.
pub fn terminal_free(line: &str) -> String {
    let line = line.trim_end_matches('\r');
    let line = line.rsplit('\r').next().unwrap_or(line);
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => skip_escape(&mut chars),
            '\u{9b}' => skip_csi(&mut chars),
            '\t' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// After ESC: the rest of the sequence.
fn skip_escape(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    match chars.next() {
        Some('[') => skip_csi(chars),
        // OSC, DCS, SOS, PM, APC: a string up to BEL or ST (ESC and a backslash).
        Some(']' | 'P' | 'X' | '^' | '_') => {
            while let Some(c) = chars.next() {
                if c == '\u{7}' || (c == '\u{1b}' && chars.next_if_eq(&'\\').is_some()) {
                    break;
                }
            }
        }
        // A two-byte escape, or one with intermediates (`ESC ( B`).
        Some(c) if ('\u{20}'..='\u{2f}').contains(&c) => {
            chars.next();
        }
        _ => {}
    }
}

/// A control sequence after CSI: parameters and intermediates, then its final byte.
fn skip_csi(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    for c in chars.by_ref() {
        if ('\u{40}'..='\u{7e}').contains(&c) {
            break;
        }
    }
}

/// Lower-case hexadecimal, two digits a byte (digests).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn base64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// URL-safe base64 with padding (`-` and `_` for `+` and `/`), as JWTs and URLs carry it.
pub fn base64_url(bytes: &[u8]) -> String {
    URL_SAFE.encode(bytes)
}

/// The UTF-16LE bytes of `text`, which .NET calls `Encoding.Unicode` (`ToBase64 unicode`,
/// PowerShell's `-EncodedCommand`).
pub fn utf16le(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_and_xml_escape_as_octostache() {
        assert_eq!(
            html("a/b & <c> \"d\" 'e'"),
            "a&#x2F;b &amp; &lt;c&gt; &quot;d&quot; &apos;e&apos;"
        );
        assert_eq!(
            xml("a/b & <c> \"d\" 'e'"),
            "a/b &amp; &lt;c&gt; &quot;d&quot; &apos;e&apos;"
        );
    }

    #[test]
    fn xml_text_and_attributes_escape_what_the_context_needs() {
        assert_eq!(
            xml_text("a & <b> \"c\" 'd'\r\n"),
            "a &amp; &lt;b&gt; \"c\" 'd'&#13;\n"
        );
        assert_eq!(
            xml_attr("\"q\" 'a'\t\r\n", '"'),
            "&quot;q&quot; 'a'&#9;&#13;&#10;"
        );
        assert_eq!(xml_attr("\"q\" 'a'", '\''), "\"q\" &apos;a&apos;");
    }

    #[test]
    fn json_escapes_only_what_octostache_does() {
        assert_eq!(json("a\"b\\c\r\n\t\u{1}é"), "a\\\"b\\\\c\\r\\n\\t\u{1}é");
    }

    #[test]
    fn uri_escapes() {
        assert_eq!(uri_string("A b:c+d/e"), "A%20b:c+d/e");
        assert_eq!(uri_data("A b:c+d/e"), "A%20b%3Ac%2Bd%2Fe");
        assert_eq!(uri_data("é%20"), "%C3%A9%2520");
        assert_eq!(form_urlencoded("a b+c%20"), "a+b%2Bc%2520");
    }

    #[test]
    fn yaml_single_doubles_newline_runs() {
        assert_eq!(yaml_single_quoted("a\n\n\n\n\r\nb"), "a\n\n\n\n\n\r\nb");
        assert_eq!(yaml_single_quoted("it's"), "it''s");
    }

    #[test]
    fn yaml_double_escapes_non_ascii() {
        assert_eq!(yaml_double_quoted("我"), "\\u6211");
        assert_eq!(yaml_double_quoted("a\"\r\n"), "a\\\"\\r\\n");
    }

    #[test]
    fn yaml_double_utf8_escapes_only_controls() {
        assert_eq!(
            yaml_double_quoted_utf8("我\"\\\r\n\t\u{1}"),
            "我\\\"\\\\\\r\\n\\t\\u0001"
        );
        assert_eq!(yaml_double_quoted_utf8("\u{9f}"), "\\u009F");
    }

    #[test]
    fn properties_key_and_value() {
        assert_eq!(properties_key(" a:=b"), "\\ a\\:\\=b");
        assert_eq!(properties_value(" a \n b "), "\\ a \\n b ");
    }

    #[test]
    fn properties_value_ascii_escapes_all_but_printable_ascii() {
        assert_eq!(
            properties_value_ascii(" a:=é\u{c}\\"),
            "\\ a:=\\u00E9\\f\\\\"
        );
        assert_eq!(properties_value_ascii("🔑"), "\\uD83D\\uDD11");
    }

    #[test]
    fn base64_alphabets_and_utf16() {
        assert_eq!(base64(b"\xfb\xff?"), "+/8/");
        assert_eq!(base64_url(b"\xfb\xff?"), "-_8_");
        assert_eq!(base64(&utf16le("Hi")), "SABpAA==");
    }

    #[test]
    fn terminal_codes_are_removed_from_output_lines() {
        let cases = [
            ("\u{1b}[1;31mred\u{1b}[0m plain", "red plain"),
            ("\u{1b}]0;title\u{7}after", "after"),
            ("\u{1b}]8;;http://x\u{1b}\\link\u{1b}]8;;\u{1b}\\", "link"),
            ("\u{1b}(Bcharset", "charset"),
            ("10%\r50%\r100%", "100%"),
            ("crlf\r", "crlf"),
            ("tab\there\u{7}\u{8}", "tab\there"),
            ("\u{9b}2Kcsi", "csi"),
            ("caf\u{e9} \u{2714}", "caf\u{e9} \u{2714}"),
        ];
        for (raw, plain) in cases {
            assert_eq!(terminal_free(raw), plain, "{raw:?}");
        }
    }
}
