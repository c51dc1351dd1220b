//! Secret values and scrubbing them out of everything the installer shows or writes.
//!
//! [`Secret`] has no `Display` and no `Serialize`, prints `****` in `Debug`, is wiped on drop,
//! and is read only through [`Secret::expose_secret`], so a leak is a compile error in most places
//! and a visible, greppable call in the rest. [`Scrubber`] replaces every known secret, in the
//! forms a script is likely to print it (raw, base64, URL-encoded, JSON- and XML-escaped), with
//! `********` before any byte reaches the screen, the log, the journal or the report.

use base64::Engine;
use zeroize::Zeroizing;

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

/// Replaces every registered secret, in each of its likely encodings, with [`REDACTED`].
#[derive(Clone, Default)]
pub struct Scrubber {
    /// Longest first, so a secret that contains another is replaced whole.
    patterns: Vec<Zeroizing<String>>,
}

impl std::fmt::Debug for Scrubber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Scrubber({} patterns)", self.patterns.len())
    }
}

/// Fragments shorter than this are not scrubbed on their own (they would blank ordinary words).
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
        let mut forms = encodings(value);
        // A multi-line secret (a certificate) may be printed line by line.
        if value.contains('\n') {
            forms.extend(
                value
                    .lines()
                    .map(|l| l.trim())
                    .filter(|l| l.len() >= MIN_FRAGMENT)
                    .map(str::to_string),
            );
        }
        for form in forms {
            if !form.is_empty() && !self.patterns.iter().any(|p| **p == form) {
                self.patterns.push(Zeroizing::new(form));
            }
        }
        self.patterns.sort_by_key(|p| std::cmp::Reverse(p.len()));
    }

    /// Whether any secret is registered.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// `text` with every registered secret form replaced.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_string();
        for pattern in &self.patterns {
            if out.contains(pattern.as_str()) {
                out = out.replace(pattern.as_str(), REDACTED);
            }
        }
        out
    }

    /// Scrub bytes that may not be UTF-8 (script output); invalid sequences are kept lossily.
    pub fn scrub_bytes(&self, bytes: &[u8]) -> String {
        self.scrub(&String::from_utf8_lossy(bytes))
    }
}

/// The forms of a secret worth looking for in output.
fn encodings(value: &str) -> Vec<String> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let json = serde_json::to_string(value).unwrap_or_default();
    let json_inner = json
        .get(1..json.len().saturating_sub(1))
        .unwrap_or_default()
        .to_string();
    vec![
        value.to_string(),
        STANDARD.encode(value),
        STANDARD_NO_PAD.encode(value),
        URL_SAFE.encode(value),
        URL_SAFE_NO_PAD.encode(value),
        url_encode(value, false),
        url_encode(value, true),
        json_inner,
        xml_escape(value),
    ]
}

/// Percent-encoding as URLs and forms use it (`plus_for_space`: form encoding).
fn url_encode(value: &str, plus_for_space: bool) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            b' ' if plus_for_space => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

fn xml_escape(value: &str) -> String {
    value
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;

    #[test]
    fn debug_never_shows_the_value() {
        let secret = Secret::new("hunter2-very-secret");
        assert_eq!(format!("{secret:?}"), "Secret(****)");
        assert_eq!(format!("{:?}", Some(&secret)), "Some(Secret(****))");
    }

    #[test]
    fn every_encoding_is_scrubbed() {
        let value = "p@ss w0rd/\"quoted\"&<x>";
        let mut scrubber = Scrubber::new();
        scrubber.add(&Secret::new(value));
        let json = serde_json::to_string(value).unwrap();
        for form in [
            value.to_string(),
            STANDARD.encode(value),
            url_encode(value, false),
            url_encode(value, true),
            json[1..json.len() - 1].to_string(),
            xml_escape(value),
        ] {
            let line = format!("before {form} after");
            let scrubbed = scrubber.scrub(&line);
            assert_eq!(scrubbed, format!("before {REDACTED} after"), "form {form}");
        }
    }

    #[test]
    fn lines_of_a_multi_line_secret_are_scrubbed() {
        let mut scrubber = Scrubber::new();
        scrubber.add(&Secret::new(
            "-----BEGIN KEY-----\nMIIBOgIBAAJBAKj34GkxFhD9\n-----END KEY-----",
        ));
        assert_eq!(
            scrubber.scrub("line: MIIBOgIBAAJBAKj34GkxFhD9"),
            format!("line: {REDACTED}")
        );
    }

    #[test]
    fn empty_secrets_hide_nothing() {
        let mut scrubber = Scrubber::new();
        scrubber.add(&Secret::new(""));
        assert!(scrubber.is_empty());
        assert_eq!(scrubber.scrub("text"), "text");
    }
}
