//! Leniency Calamari's JSON parser has and serde_json lacks: Newtonsoft accepts `//` and `/* */`
//! comments and trailing commas, which ASP.NET Core `appsettings.json` files use. This pass blanks
//! them out with spaces before parsing — byte for byte, line breaks kept — so parse errors still
//! point at the right line and column. As in Calamari, comments do not survive a rewrite.

use std::borrow::Cow;

/// `text` with comments and trailing commas replaced by spaces (borrowed when there are none).
pub(super) fn blank_comments(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut out: Option<Vec<u8>> = None;
    let mut blank = |range: std::ops::Range<usize>| {
        let out = out.get_or_insert_with(|| bytes.to_vec());
        for byte in &mut out[range] {
            if *byte != b'\n' && *byte != b'\r' {
                *byte = b' ';
            }
        }
    };
    let mut i = 0;
    let mut in_string = false;
    let mut pending_comma = None;
    while i < bytes.len() {
        let next = bytes.get(i + 1).copied();
        match (in_string, bytes[i], next) {
            (true, b'\\', _) => i += 1,
            (true, b'"', _) => in_string = false,
            (true, ..) => {}
            (false, b'"', _) => {
                in_string = true;
                pending_comma = None;
            }
            (false, b'/', Some(b'/')) => {
                let end = text[i..].find(['\n', '\r']).map_or(bytes.len(), |n| i + n);
                blank(i..end);
                i = end;
                continue;
            }
            (false, b'/', Some(b'*')) => {
                let end = text[i + 2..]
                    .find("*/")
                    .map_or(bytes.len(), |n| i + 2 + n + 2);
                blank(i..end);
                i = end;
                continue;
            }
            (false, b',', _) => pending_comma = Some(i),
            (false, b'}' | b']', _) => {
                if let Some(comma) = pending_comma.take() {
                    blank(comma..comma + 1);
                }
            }
            (false, b' ' | b'\t' | b'\n' | b'\r', _) => {}
            (false, ..) => pending_comma = None,
        }
        i += 1;
    }
    match out {
        // Only ASCII bytes were replaced by spaces, so the text is still UTF-8.
        Some(out) => String::from_utf8(out).map_or(Cow::Borrowed(text), Cow::Owned),
        None => Cow::Borrowed(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_and_trailing_commas_become_spaces() {
        let text =
            "{\n  // line é\n  \"a\": \"x // not a comment\", /* block\n */ \"b\": [1, 2,],\n}";
        let blanked = blank_comments(text);
        assert_eq!(blanked.len(), text.len());
        assert_eq!(blanked.lines().count(), text.lines().count());
        let value: serde_json::Value = serde_json::from_str(&blanked).expect("parses");
        assert_eq!(value["a"], "x // not a comment");
        assert_eq!(value["b"], serde_json::json!([1, 2]));
    }

    #[test]
    fn plain_json_is_borrowed() {
        assert!(matches!(
            blank_comments("{\"a\": \"/* x */\"}"),
            Cow::Borrowed(_)
        ));
    }
}
