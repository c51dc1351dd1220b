//! Secret values and scrubbing them out of everything the installer shows or writes.
//!
//! [`Secret`] has no `Display` and no `Serialize`, prints `****` in `Debug`, is wiped on drop,
//! and is read only through [`Secret::expose_secret`], so a leak is a compile error in most places
//! and a visible, greppable call in the rest. [`Scrubber`] replaces every known secret with
//! `********` before any byte reaches the screen, the log, the journal or the report: as it is,
//! in every escaping the template engine and the config writers use (the functions of
//! [`crate::escape`] themselves), as form-encoded text, and as base64 (of UTF-8 and UTF-16LE,
//! both alphabets), also inside a longer encoded string such as an HTTP Basic header and wrapped
//! over lines (see `MIN_FRAGMENT` for what that costs).
//!
//! Known gaps: transformations that are not escapings (`ToUpper`, hashes, Markdown, a JSON
//! serializer's `\u0001` for a control character) are not looked for, nor is a secret of under
//! 5 bytes inside a longer base64 string (its base64 would be too short to tell apart).

use std::ops::Range;

use aho_corasick::{AhoCorasick, MatchKind};
use zeroize::Zeroizing;

use crate::escape;

/// What a scrubbed secret is replaced with.
pub const REDACTED: &str = "********";

/// A secret value: a password, a key, a certificate.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(Zeroizing::new(value.into()))
    }

    /// The value itself. Every call is a place where a secret leaves its box: keep them few.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(****)")
    }
}

/// Replaces every registered secret, in each form a template or a script can write it, with
/// [`REDACTED`].
#[derive(Clone, Default)]
pub struct Scrubber {
    /// Every form of every secret, once each.
    forms: Vec<Zeroizing<String>>,
    /// The base64 forms, whose pieces are also looked for where a wrapped line breaks them.
    wrappable: Vec<Zeroizing<String>>,
    /// Every [`MIN_FRAGMENT`]-byte window of `wrappable`, sorted: a line edge that is none of
    /// these holds no piece of a wrapped secret, which is all most lines need to learn.
    windows: Zeroizing<Vec<[u8; MIN_FRAGMENT]>>,
    /// Finds all `forms` in one pass, the longest where several start at the same place. Its
    /// tables are not wiped on drop (the crate offers no way), unlike the fields above.
    finder: Option<AhoCorasick>,
}

impl std::fmt::Debug for Scrubber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Scrubber({} patterns)", self.forms.len())
    }
}

/// The shortest piece of a secret's form looked for on its own: a line of a multi-line secret,
/// the base64 of a secret inside a longer encoded string, a piece of wrapped base64 at a line's
/// start or end. Six base64 characters (36 bits, one of 64^6 ≈ 7·10^10 values) make a chance
/// match with ordinary text negligible, so no short word is ever blanked. The price: where
/// wrapping cuts a secret's base64, a piece of up to five characters on one side of the cut
/// stays visible, and a secret of under 9 bytes (at most 10 base64 characters of its own) can
/// be cut into two such pieces and show whole, on two lines.
const MIN_FRAGMENT: usize = 6;

impl Scrubber {
    pub fn new() -> Self {
        Self::default()
    }

    /// Register a secret; empty secrets are ignored (there is nothing to hide).
    pub fn add(&mut self, secret: &Secret) {
        let value = secret.expose_secret();
        if value.is_empty() {
            return;
        }
        let base64 = base64_forms(value);
        for form in &base64 {
            push_new(&mut self.wrappable, form.clone());
        }
        for form in text_forms(value).into_iter().chain(base64) {
            push_new(&mut self.forms, form);
        }
        self.windows = windows(&self.wrappable);
        self.finder = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(self.forms.iter().map(|form| form.as_bytes()))
            .ok();
    }

    /// Whether any secret is registered.
    pub fn is_empty(&self) -> bool {
        self.forms.is_empty()
    }

    /// `text` with every registered secret form replaced. Pieces of wrapped base64 are looked
    /// for at the edges of each line of `text`, so text scrubbed a line at a time is covered.
    pub fn scrub(&self, text: &str) -> String {
        let Some(finder) = &self.finder else {
            // No automaton although secrets are registered means it could not be built (far
            // beyond any real number of secrets): hide everything rather than leak.
            return if self.is_empty() { text } else { REDACTED }.to_string();
        };
        let mut hidden: Vec<Range<usize>> = finder.find_iter(text).map(|m| m.range()).collect();
        hidden.extend(self.wrapped_pieces(text));
        redact(text, hidden)
    }

    /// Whether `bytes` (a file's) hold a registered secret: any of its forms, or in text a piece
    /// of its wrapped base64 at a line's edge. Read as bytes, without copying: most files an
    /// install writes hold no secret, and many are not text.
    pub fn finds_in(&self, bytes: &[u8]) -> bool {
        if self.is_empty() {
            return false;
        }
        let Some(finder) = &self.finder else {
            return true;
        };
        finder.is_match(bytes)
            || std::str::from_utf8(bytes).is_ok_and(|text| !self.wrapped_pieces(text).is_empty())
    }

    /// Scrub bytes that may not be UTF-8 (script output); invalid sequences are kept lossily.
    pub fn scrub_bytes(&self, bytes: &[u8]) -> String {
        self.scrub(&String::from_utf8_lossy(bytes))
    }

    /// Where each line of `text`, leading and trailing whitespace aside, starts or ends with a
    /// piece of a base64 form cut by a line break.
    fn wrapped_pieces(&self, text: &str) -> Vec<Range<usize>> {
        let mut pieces = Vec::new();
        let mut line_start = 0;
        for line in text.split('\n') {
            let start = line_start + line.len() - line.trim_start().len();
            let body = line.trim().as_bytes();
            line_start += line.len() + 1;
            if body.len() < MIN_FRAGMENT {
                continue;
            }
            if let Some(len) = self.piece_at(body, Edge::Start) {
                pieces.push(start..start + len);
            }
            if let Some(len) = self.piece_at(body, Edge::End) {
                let end = start + body.len();
                pieces.push(end - len..end);
            }
        }
        pieces
    }

    /// The length of the longest piece of a base64 form at `edge` of `line`.
    fn piece_at(&self, line: &[u8], edge: Edge) -> Option<usize> {
        let window = match edge {
            Edge::Start => &line[..MIN_FRAGMENT],
            Edge::End => &line[line.len() - MIN_FRAGMENT..],
        };
        let window: [u8; MIN_FRAGMENT] = window.try_into().ok()?;
        self.windows.binary_search(&window).ok()?;
        self.wrappable
            .iter()
            .filter_map(|form| piece_len(form.as_bytes(), line, edge))
            .max()
    }
}

/// A line's two edges, where wrapping cuts an encoded string.
#[derive(Clone, Copy)]
enum Edge {
    Start,
    End,
}

/// The length of the longest piece of `form`, at least [`MIN_FRAGMENT`] long, that `line` holds
/// at `edge` as a cut would leave it: all of `line` when `form` holds it (the form goes on past
/// both edges), else a tail of `form` at the start or a head of it at the end.
fn piece_len(form: &[u8], line: &[u8], edge: Edge) -> Option<usize> {
    if form.windows(line.len()).any(|w| w == line) {
        return Some(line.len());
    }
    (MIN_FRAGMENT..=form.len().min(line.len()))
        .rev()
        .find(|&len| match edge {
            Edge::Start => form.ends_with(&line[..len]),
            Edge::End => form.starts_with(&line[line.len() - len..]),
        })
}

fn push_new(forms: &mut Vec<Zeroizing<String>>, form: Zeroizing<String>) {
    if !form.is_empty() && !forms.contains(&form) {
        forms.push(form);
    }
}

/// Every [`MIN_FRAGMENT`]-byte window of `forms`, sorted and deduplicated.
fn windows(forms: &[Zeroizing<String>]) -> Zeroizing<Vec<[u8; MIN_FRAGMENT]>> {
    let mut windows: Vec<[u8; MIN_FRAGMENT]> = forms
        .iter()
        .flat_map(|form| form.as_bytes().windows(MIN_FRAGMENT))
        .filter_map(|window| window.try_into().ok())
        .collect();
    windows.sort_unstable();
    windows.dedup();
    Zeroizing::new(windows)
}

/// `text` with each of the `ranges` replaced by [`REDACTED`]; ranges that overlap or touch are
/// replaced as one.
fn redact(text: &str, mut ranges: Vec<Range<usize>>) -> String {
    ranges.sort_by_key(|range| range.start);
    let mut merged: Vec<Range<usize>> = Vec::new();
    for range in ranges {
        match merged.last_mut() {
            Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
            _ => merged.push(range),
        }
    }
    let mut out = String::with_capacity(text.len());
    let mut done = 0;
    for range in merged {
        out.push_str(&text[done..range.start]);
        out.push_str(REDACTED);
        done = range.end;
    }
    out.push_str(&text[done..]);
    out
}

/// The value and each escaping of it ([`escape::TEXT_ESCAPES`]), and, for a multi-line secret
/// (a certificate), each of its lines, which a script may print one by one.
fn text_forms(value: &str) -> Vec<Zeroizing<String>> {
    let mut forms = vec![value.to_string()];
    forms.extend(escape::TEXT_ESCAPES.iter().map(|escaping| escaping(value)));
    if value.contains('\n') {
        forms.extend(
            value
                .lines()
                .map(str::trim)
                .filter(|line| line.len() >= MIN_FRAGMENT)
                .map(str::to_string),
        );
    }
    forms.into_iter().map(Zeroizing::new).collect()
}

/// The base64 of the value's UTF-8 and of its UTF-16LE (`ToBase64 unicode`), in the standard
/// and the URL-safe alphabet: whole (with and without padding), and as it shows inside a longer
/// encoded string (an HTTP Basic `user:password`, a whole file) at each of the three alignments.
fn base64_forms(value: &str) -> Vec<Zeroizing<String>> {
    let encodings = [
        Zeroizing::new(value.as_bytes().to_vec()),
        Zeroizing::new(escape::utf16le(value)),
    ];
    let alphabets: [fn(&[u8]) -> String; 2] = [escape::base64, escape::base64_url];
    let mut forms = Vec::new();
    for bytes in &encodings {
        for encode in alphabets {
            let whole = encode(bytes);
            forms.push(whole.trim_end_matches('=').to_string());
            forms.push(whole);
            forms.extend(
                (0..3)
                    .map(|offset| embedded_base64(bytes, offset, encode))
                    .filter(|form| form.len() >= MIN_FRAGMENT),
            );
        }
    }
    forms.into_iter().map(Zeroizing::new).collect()
}

/// The base64 characters that depend on `bytes` alone when they start `offset` (0, 1 or 2)
/// bytes into a group of three of a longer encoded string: the characters that also carry bits
/// of the neighbouring bytes differ from one string to the next and are left out.
fn embedded_base64(bytes: &[u8], offset: usize, encode: fn(&[u8]) -> String) -> String {
    let mut shifted = Zeroizing::new(vec![0; offset]);
    shifted.extend_from_slice(bytes);
    let first = (offset * 8).div_ceil(6);
    let end = shifted.len() * 8 / 6;
    encode(&shifted)
        .get(first..end)
        .unwrap_or_default()
        .to_string()
}

#[cfg(test)]
mod every_emitted_form;

#[cfg(test)]
mod tests {
    use super::*;

    fn scrubber(secrets: &[&str]) -> Scrubber {
        let mut scrubber = Scrubber::new();
        for secret in secrets {
            scrubber.add(&Secret::new(*secret));
        }
        scrubber
    }

    #[test]
    fn a_secret_is_found_in_bytes_text_or_not() {
        let mut scrubber = Scrubber::new();
        assert!(!scrubber.finds_in(b"anything"), "no secret, nothing found");
        scrubber.add(&Secret::new("hunter2-correct-horse"));
        assert!(scrubber.finds_in(b"\xff\x00password=hunter2-correct-horse\xfe"));
        assert!(!scrubber.finds_in(b"\xff\x00password=hunter3\xfe"));
        let wrapped = base64_forms("hunter2-correct-horse")[0].clone();
        let (head, tail) = wrapped.split_at(8);
        let text = format!("key: {head}\n{tail}\n");
        assert!(
            scrubber.finds_in(text.as_bytes()),
            "a wrapped piece in text: {text}"
        );
    }

    #[test]
    fn debug_never_shows_the_value() {
        let secret = Secret::new("hunter2-very-secret");
        assert_eq!(format!("{secret:?}"), "Secret(****)");
        assert_eq!(format!("{:?}", Some(&secret)), "Some(Secret(****))");
    }

    #[test]
    fn every_escaping_and_base64_is_scrubbed() {
        let value = "p@ss w0rd/\"quoted\"&<x>";
        let scrubber = scrubber(&[value]);
        let base64 = [
            escape::base64(value.as_bytes()),
            escape::base64_url(value.as_bytes()),
        ];
        let escaped = escape::TEXT_ESCAPES.iter().map(|escaping| escaping(value));
        for form in escaped.chain(base64).chain([value.to_string()]) {
            let line = format!("before {form} after");
            let scrubbed = scrubber.scrub(&line);
            assert_eq!(scrubbed, format!("before {REDACTED} after"), "form {form}");
        }
    }

    #[test]
    fn lines_of_a_multi_line_secret_are_scrubbed() {
        let scrubber =
            scrubber(&["-----BEGIN KEY-----\nMIIBOgIBAAJBAKj34GkxFhD9\n-----END KEY-----"]);
        assert_eq!(
            scrubber.scrub("line: MIIBOgIBAAJBAKj34GkxFhD9"),
            format!("line: {REDACTED}")
        );
    }

    #[test]
    fn empty_secrets_hide_nothing() {
        let scrubber = scrubber(&[""]);
        assert!(scrubber.is_empty());
        assert_eq!(scrubber.scrub("text"), "text");
    }

    #[test]
    fn a_secret_that_contains_another_is_replaced_whole() {
        let scrubber = scrubber(&["pass", "password1"]);
        assert_eq!(
            scrubber.scrub("a password1 b pass"),
            format!("a {REDACTED} b {REDACTED}")
        );
    }

    #[test]
    fn ordinary_text_is_left_alone() {
        let scrubber = scrubber(&["hunter2-very-secret", "Sup3r/S3cret+Key==", "pässwörd"]);
        let text = "Installing Fabrikam 4.12.0\nDone\n  ok\nStep 3/5: Deploy web (12.5 s)\r\n\
                    MIIBOgIBAAJBAKj34GkxFhD9aG9zdG5hbWUgaXMgZmluZQ==\nfinished";
        assert_eq!(scrubber.scrub(text), text);
    }

    #[test]
    fn embedded_base64_keeps_only_the_characters_of_the_secret_alone() {
        // "Man" is TWFu; after one byte it shares its first two characters with that byte.
        assert_eq!(embedded_base64(b"Man", 0, escape::base64), "TWFu");
        let inside = escape::base64(b"xMan");
        assert_eq!(embedded_base64(b"Man", 1, escape::base64), inside[2..5]);
        let inside = escape::base64(b"xyMan");
        assert_eq!(embedded_base64(b"Man", 2, escape::base64), inside[3..6]);
    }

    #[test]
    fn pieces_at_line_edges() {
        let form = b"QUJDREVGR0hJSktM";
        assert_eq!(piece_len(form, b"SktMxyz", Edge::Start), None, "too short");
        assert_eq!(piece_len(form, b"hJSktMxyz", Edge::Start), Some(6));
        assert_eq!(piece_len(form, b"xyzQUJDREV", Edge::End), Some(7));
        assert_eq!(piece_len(form, b"REVGR0hJ", Edge::End), Some(8), "inside");
        assert_eq!(piece_len(form, b"xyzQUJDREV", Edge::Start), None);
    }

    #[test]
    fn overlapping_and_touching_ranges_are_one_redaction() {
        assert_eq!(
            redact("abcdefg", vec![4..5, 1..3, 2..4]),
            format!("a{REDACTED}fg")
        );
        assert_eq!(redact("abc", vec![]), "abc");
    }
}
