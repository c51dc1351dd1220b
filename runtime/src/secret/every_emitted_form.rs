//! Proof that the scrubber hides a planted secret in every form the installer can emit it: each
//! escaping filter of the template engine (enumerated from its filter table, so a new filter is
//! covered or this fails), base64 inside an HTTP Basic header and at each of the three
//! alignments inside a longer encoded string, and base64 wrapped at 76 columns and scrubbed a
//! line at a time, as script output is.

use super::{MIN_FRAGMENT, REDACTED, Scrubber, Secret};
use crate::escape;
use crate::template::{self, Mode, Variables};

/// Secrets with the characters escapings change: `/ & < > " '`, space, `+ =`, non-ASCII (one
/// outside the BMP, two UTF-16 units), and a line break.
const SECRETS: [&str; 5] = [
    "pa/ss&w<rd>\"q\"",
    "it's a s3cret+key==",
    "pässwörd-日本-🔑",
    "a/b+c=d&e<f\"g'h i",
    "first line\r\nsecond+line/é",
];

fn scrubber() -> Scrubber {
    let mut scrubber = Scrubber::new();
    for secret in SECRETS {
        scrubber.add(&Secret::new(secret));
    }
    scrubber
}

fn render(template_text: &str, secret: &str) -> String {
    let mut vars = Variables::new();
    vars.set("Secret", Some(secret.to_string()));
    let evaluation = template::evaluate(template_text, &vars, Mode::Strict).unwrap();
    assert_eq!(evaluation.error, None, "{template_text}");
    evaluation.output.unwrap()
}

#[test]
fn every_escaping_filter_of_the_template_engine() {
    let scrubber = scrubber();
    let filters = template::escaping_filters();
    assert!(
        filters.len() >= 10,
        "the filter table was not enumerated: {filters:?}"
    );
    for filter in filters {
        for secret in SECRETS {
            let rendered = render(&format!("[#{{Secret | {filter}}}]"), secret);
            assert_eq!(
                scrubber.scrub(&rendered),
                format!("[{REDACTED}]"),
                "{filter} of {secret:?} renders {rendered:?}"
            );
        }
    }
}

/// The base64 characters that carry bits of the secret alone when it starts `offset` bytes
/// into `encoded`'s data: what must never be seen.
fn secret_only(encoded: &str, offset: usize, secret_len: usize) -> &str {
    let first = (offset * 8).div_ceil(6);
    let end = (offset + secret_len) * 8 / 6;
    &encoded[first..end]
}

/// Asserts that `text` holds no [`MIN_FRAGMENT`] characters of `secret_only` in a row.
fn assert_no_trace(text: &str, secret_only: &str, context: &str) {
    for window in secret_only.as_bytes().windows(MIN_FRAGMENT) {
        let window = std::str::from_utf8(window).unwrap();
        assert!(
            !text.contains(window),
            "{window:?} of the secret in {text:?} ({context})"
        );
    }
}

/// The bytes a secret is written as: UTF-8, and UTF-16LE as `ToBase64 unicode` writes it.
fn encodings(secret: &str) -> [Vec<u8>; 2] {
    [secret.as_bytes().to_vec(), escape::utf16le(secret)]
}

#[test]
fn http_basic_credentials() {
    let scrubber = scrubber();
    // `user:` of 3, 4 and 5 bytes puts the password at each of the three alignments.
    for user in ["ab", "abc", "abcd"] {
        for secret in SECRETS {
            let credentials = format!("{user}:{secret}");
            let header = format!(
                "Authorization: Basic {}",
                escape::base64(credentials.as_bytes())
            );
            let scrubbed = scrubber.scrub(&header);
            assert!(scrubbed.starts_with("Authorization: Basic "), "{scrubbed}");
            let encoded = escape::base64(credentials.as_bytes());
            let only = secret_only(&encoded, user.len() + 1, secret.len());
            assert_no_trace(&scrubbed, only, &credentials);
        }
    }
}

#[test]
fn base64_at_each_alignment_in_both_alphabets() {
    let scrubber = scrubber();
    let alphabets: [fn(&[u8]) -> String; 2] = [escape::base64, escape::base64_url];
    for secret in SECRETS {
        for bytes in encodings(secret) {
            for (before, after) in [("", ""), ("x", "yz"), ("xy", "z"), ("xyz", "")] {
                let data = [before.as_bytes(), &bytes, after.as_bytes()].concat();
                for encode in alphabets {
                    let encoded = encode(&data);
                    let scrubbed = scrubber.scrub(&format!("data: {encoded};"));
                    let only = secret_only(&encoded, before.len(), bytes.len());
                    assert_no_trace(&scrubbed, only, &format!("{before:?} + {secret:?}"));
                }
            }
        }
    }
}

/// Filler text around a secret in a longer encoded file.
const FILLER: &str = "The quick brown fox jumps over the lazy dog; pack my box with five dozen \
                      liquor jugs. Sphinx of black quartz, judge my vow!";

#[test]
fn base64_wrapped_at_76_columns_and_scrubbed_line_by_line() {
    let scrubber = scrubber();
    for secret in SECRETS {
        for bytes in encodings(secret) {
            // Every start offset within a 76-column line (57 bytes) and every alignment.
            for before in 0..=60 {
                let data = [&FILLER.as_bytes()[..before], &bytes, FILLER.as_bytes()].concat();
                for line_end in ["\n", "\r\n"] {
                    check_wrapped(&scrubber, &data, before, bytes.len(), line_end);
                }
            }
        }
    }
}

/// Wraps `data`'s base64 (the secret at `offset`, `len` bytes), scrubs it one line at a time,
/// and checks that no piece of the secret of [`MIN_FRAGMENT`] characters is left on a line or
/// across a line break, and that lines without any of the secret are left alone.
fn check_wrapped(scrubber: &Scrubber, data: &[u8], offset: usize, len: usize, line_end: &str) {
    let encoded = escape::base64(data);
    let only = secret_only(&encoded, offset, len);
    let secret_chars = (offset * 8 / 6)..((offset + len) * 8).div_ceil(6);
    let lines: Vec<String> = encoded
        .as_bytes()
        .chunks(76)
        .map(|chunk| format!("{}{}", std::str::from_utf8(chunk).unwrap(), line_end))
        .collect();
    let mut joined = String::new();
    for (i, line) in lines.iter().enumerate() {
        // A line reader hands over each line without its `\n`; a `\r` may remain.
        let line = line.strip_suffix('\n').unwrap();
        let scrubbed = scrubber.scrub(line);
        let context = format!("line {i} of the secret at {offset}");
        assert_no_trace(&scrubbed, only, &context);
        let columns = i * 76..(i + 1) * 76;
        if columns.end <= secret_chars.start || columns.start >= secret_chars.end {
            assert_eq!(
                scrubbed, line,
                "{context}: a line without the secret changed"
            );
        }
        joined.push_str(scrubbed.trim_end());
    }
    assert_no_trace(
        &joined,
        only,
        &format!("the lines joined, secret at {offset}"),
    );
}
