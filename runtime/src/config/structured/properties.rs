//! Java `.properties` structured variables (Calamari `PropertiesFormatVariableReplacer`): a key
//! whose unescaped name equals a variable name (ignoring case, as Octostache looks names up) gets
//! the variable's value; names starting with `Octopus` are skipped.
//!
//! The file is edited in place: only the value text of a matched entry changes, so comments (`#`,
//! `!`), blank lines, separators (`=`, `:` or whitespace), escapes in keys and line endings survive.
//! A value spanning continuation lines is replaced whole. New values are escaped for the format
//! (`\\`, `\n`, `\r`, `\t`, `\f`, a leading space; other characters outside printable ASCII as
//! `\uXXXX`, since Java reads the format as ISO-8859-1). A key written with no separator and no value
//! gets `:` before the new value, as Calamari does. A malformed `\u` escape is a parse error.

use std::collections::HashMap;

use super::{StructuredVariable, Transformed};
use crate::config::error::FormatError;
use crate::config::variables::{effective, fold, starts_with_octopus};
use crate::escape;

/// One `key = value` entry: the key's logical name and where its value sits in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub key: String,
    pub has_separator: bool,
    pub value_start: usize,
    pub value_end: usize,
    /// The whole logical line: its leading blanks to its line break (included).
    pub line: std::ops::Range<usize>,
}

impl Entry {
    /// The value, unescaped (the text parsed, so its escapes are known to be sound).
    pub fn value(&self, text: &str) -> String {
        unescape(&text[self.value_start..self.value_end]).unwrap_or_default()
    }
}

/// Apply `variables` to the properties `text`.
pub(super) fn transform(
    text: &str,
    variables: &[StructuredVariable],
) -> Result<Transformed, FormatError> {
    let entries = parse(text)?;
    let wanted: HashMap<String, (&str, &str)> = effective(variables)
        .into_iter()
        .filter(|(name, _)| !starts_with_octopus(name))
        .map(|(name, value)| (fold(name), (name, value.as_deref().unwrap_or_default())))
        .collect();
    let mut out = Transformed::default();
    let mut edited = String::with_capacity(text.len());
    let mut copied_to = 0;
    for entry in &entries {
        let Some((name, value)) = wanted.get(&fold(&entry.key)) else {
            continue;
        };
        edited.push_str(&text[copied_to..entry.value_start]);
        if !entry.has_separator {
            edited.push(':');
        }
        edited.push_str(&escape::properties_value_ascii(value));
        copied_to = entry.value_end;
        if !out.replaced.iter().any(|r| r == name) {
            out.replaced.push(name.to_string());
        }
    }
    edited.push_str(&text[copied_to..]);
    if edited != text {
        out.text = Some(edited);
    }
    Ok(out)
}

/// Split the text into entries, skipping comments and blank lines.
pub(crate) fn parse(text: &str) -> Result<Vec<Entry>, FormatError> {
    let mut entries = Vec::new();
    let mut pos = 0;
    while pos < text.len() {
        let line_end = logical_line_end(text, pos);
        let start = pos + leading_blank_len(&text[pos..line_end]);
        let first = text[start..line_end].chars().next();
        let next = skip_terminator(text, line_end);
        if !matches!(first, None | Some('#') | Some('!')) {
            let mut entry = parse_entry(text, start, line_end)?;
            entry.line = pos..next;
            entries.push(entry);
        }
        pos = next;
    }
    Ok(entries)
}

fn leading_blank_len(s: &str) -> usize {
    s.len() - s.trim_start_matches([' ', '\t', '\x0C']).len()
}

/// The end (before the line terminator) of the logical line starting at `pos`: a line ending in an
/// odd number of backslashes continues on the next one.
fn logical_line_end(text: &str, mut pos: usize) -> usize {
    loop {
        let end = text[pos..]
            .find(['\n', '\r'])
            .map_or(text.len(), |i| pos + i);
        let is_comment = text[pos..end]
            .trim_start_matches([' ', '\t', '\x0C'])
            .starts_with(['#', '!']);
        let backslashes = text[pos..end].len() - text[pos..end].trim_end_matches('\\').len();
        if is_comment || backslashes % 2 != 1 || end == text.len() {
            return end;
        }
        pos = skip_terminator(text, end);
    }
}

fn skip_terminator(text: &str, end: usize) -> usize {
    let rest = &text[end..];
    if rest.starts_with("\r\n") {
        end + 2
    } else if rest.starts_with(['\r', '\n']) {
        end + 1
    } else {
        end
    }
}

fn parse_entry(text: &str, start: usize, line_end: usize) -> Result<Entry, FormatError> {
    let line = &text[start..line_end];
    let mut key_end = line.len();
    let mut chars = line.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            // A key continued on the next line (`ke\` then `  y3`): the line break and the
            // next line's leading blanks belong to the key, they do not end it. The guard takes
            // the escaped character either way, so `\=` does not end the key either.
            '\\' if chars.next().is_some_and(|(_, c)| matches!(c, '\r' | '\n')) => {
                while chars
                    .next_if(|(_, c)| matches!(c, '\r' | '\n' | ' ' | '\t' | '\x0C'))
                    .is_some()
                {}
            }
            '\\' => {}
            '=' | ':' | ' ' | '\t' | '\x0C' => {
                key_end = i;
                break;
            }
            _ => {}
        }
    }
    let key = unescape(&line[..key_end])
        .map_err(|(at, message)| FormatError::new(start + at, message))?;
    let after_key = &line[key_end..];
    let mut separator_len = leading_blank_len(after_key);
    let has_explicit = after_key[separator_len..].starts_with(['=', ':']);
    if has_explicit {
        separator_len += 1;
        separator_len += leading_blank_len(&after_key[separator_len..]);
    }
    let value_start = start + key_end + separator_len;
    unescape(&text[value_start..line_end])
        .map_err(|(at, message)| FormatError::new(value_start + at, message))?;
    Ok(Entry {
        key,
        has_separator: has_explicit || separator_len > 0,
        value_start,
        value_end: line_end,
        line: start..line_end,
    })
}

/// Decode the escapes of a key or value; `Err` carries the offset of a malformed `\u` escape.
fn unescape(raw: &str) -> Result<String, (usize, String)> {
    let mut out = Units::default();
    let mut chars = raw.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '\\' {
            out.push(c)?;
            continue;
        }
        match chars.next() {
            Some((_, 'u')) => {
                let hex: String = (0..4)
                    .filter_map(|_| chars.next().map(|(_, h)| h))
                    .collect();
                let unit = u16::from_str_radix(&hex, 16)
                    .ok()
                    .filter(|_| hex.len() == 4);
                out.unit(
                    unit.ok_or((i, format!("malformed \\u escape `\\u{hex}`")))?,
                    i,
                );
            }
            Some((_, 't')) => out.push('\t')?,
            Some((_, 'n')) => out.push('\n')?,
            Some((_, 'r')) => out.push('\r')?,
            Some((_, 'f')) => out.push('\x0C')?,
            Some((_, '\r' | '\n')) => {
                // A continuation: the line break and the next line's leading blanks vanish.
                while chars
                    .peek()
                    .is_some_and(|(_, c)| matches!(c, '\r' | '\n' | ' ' | '\t' | '\x0C'))
                {
                    chars.next();
                }
            }
            Some((_, other)) => out.push(other)?,
            None => {}
        }
    }
    out.finish()
}

/// Decoded text, with `\uXXXX` units held until a full character (surrogate pairs) is seen.
#[derive(Default)]
struct Units {
    text: String,
    pending: Vec<u16>,
    pending_at: usize,
}

impl Units {
    fn unit(&mut self, unit: u16, at: usize) {
        if self.pending.is_empty() {
            self.pending_at = at;
        }
        self.pending.push(unit);
    }

    fn flush(&mut self) -> Result<(), (usize, String)> {
        if !self.pending.is_empty() {
            let decoded = String::from_utf16(&self.pending).map_err(|_| {
                (
                    self.pending_at,
                    "unpaired surrogate in \\u escapes".to_string(),
                )
            })?;
            self.text.push_str(&decoded);
            self.pending.clear();
        }
        Ok(())
    }

    fn push(&mut self, c: char) -> Result<(), (usize, String)> {
        self.flush()?;
        self.text.push(c);
        Ok(())
    }

    fn finish(mut self) -> Result<String, (usize, String)> {
        self.flush()?;
        Ok(self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(text: &str, pairs: &[(&str, &str)]) -> Transformed {
        let vars: Vec<StructuredVariable> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Some(v.to_string())))
            .collect();
        transform(text, &vars).expect("parses")
    }

    #[test]
    fn replaces_values_with_every_separator_keeping_comments() {
        let text = "# comment\r\n! other\r\na=1\r\nb : 2\r\nc 3\r\nd\r\n  e=5";
        let out = apply(
            text,
            &[
                ("A", "x"),
                ("b", "y"),
                ("c", "z z"),
                ("d", "w"),
                ("E", " lead"),
            ],
        );
        assert_eq!(
            out.text.as_deref(),
            Some("# comment\r\n! other\r\na=x\r\nb : y\r\nc z z\r\nd:w\r\n  e=\\ lead")
        );
        assert_eq!(out.replaced, ["A", "b", "c", "d", "E"]);
    }

    #[test]
    fn a_key_continued_over_two_lines_is_one_key() {
        let text = "ke\\\r\n  y3 old\r\nkey\\\n  \\\n  8: too\n";
        let out = apply(text, &[("key3", "new"), ("key8", "eight")]);
        assert_eq!(
            out.text.as_deref(),
            Some("ke\\\r\n  y3 new\r\nkey\\\n  \\\n  8: eight\n")
        );
    }

    #[test]
    fn escaped_keys_continuations_and_escaped_values() {
        let text = "my\\ key=old\nlong = one \\\n    two\nnext=1\n";
        let out = apply(text, &[("my key", "a\\b\nc"), ("long", "short")]);
        assert_eq!(
            out.text.as_deref(),
            Some("my\\ key=a\\\\b\\nc\nlong = short\nnext=1\n")
        );
    }

    #[test]
    fn octopus_names_and_unknown_keys_are_ignored() {
        let out = apply(
            "OctopusServer=a\nb=c\n",
            &[("OctopusServer", "x"), ("zzz", "y")],
        );
        assert_eq!(out.text, None);
    }

    #[test]
    fn comment_ending_in_backslash_does_not_continue() {
        let out = apply("# note \\\na=1\n", &[("a", "2")]);
        assert_eq!(out.text.as_deref(), Some("# note \\\na=2\n"));
    }

    #[test]
    fn malformed_unicode_escape_is_a_parse_error() {
        let err = transform("ok=1\nbad\\uZZ=2\n", &[]).unwrap_err();
        assert_eq!(err.offset, 8);
        assert!(err.message.contains("\\u"));
    }

    #[test]
    fn non_ascii_values_are_unicode_escaped() {
        let out = apply("k=v\n", &[("k", "é😀")]);
        assert_eq!(out.text.as_deref(), Some("k=\\u00E9\\uD83D\\uDE00\n"));
        let out = apply("\\u00e9=v\n", &[("é", "x")]);
        assert_eq!(
            out.text.as_deref(),
            Some("\\u00e9=x\n"),
            "keys compare unescaped"
        );
    }

    #[test]
    fn every_value_reads_back_after_replacement() {
        let text = "a=1\r\nb : 2\r\nc 3\r\nd\r\n  e = long \\\r\n    tail\r\n";
        for awkward in [
            "x = y : z",
            " lead",
            "back\\slash",
            "tab\tnew\nline",
            "é😀",
            "",
            "#not comment",
            "trail\\",
        ] {
            let pairs: Vec<(&str, &str)> = ["a", "b", "c", "d", "e"]
                .iter()
                .map(|k| (*k, awkward))
                .collect();
            let out = apply(text, &pairs);
            let changed = out.text.unwrap_or_else(|| text.to_string());
            let entries = parse(&changed).expect("still parses");
            assert_eq!(entries.len(), 5, "{changed}");
            for entry in entries {
                let value =
                    unescape(&changed[entry.value_start..entry.value_end]).expect("unescapes");
                assert_eq!(value, awkward, "{} in {changed:?}", entry.key);
            }
        }
    }
}
