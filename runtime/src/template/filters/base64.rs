//! `ToBase64` and `FromBase64`: text as base64 of its UTF-8 bytes, or of its UTF-16LE bytes
//! with the option `unicode`. The encoding itself is [`crate::escape::base64`].

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::escape;
use crate::template::error::TemplateError;

/// The options that name a text encoding (matched case-insensitively), each with whether it is
/// UTF-16LE; no option means UTF-8.
pub(super) const ENCODINGS: [(&str, bool); 3] =
    [("utf8", false), ("utf-8", false), ("unicode", true)];

/// Whether the options ask for UTF-16LE; `None` for anything but one known encoding or none.
fn utf16_option(options: &[String]) -> Option<bool> {
    match options {
        [] => Some(false),
        [option] => ENCODINGS
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(option))
            .map(|&(_, utf16)| utf16),
        _ => None,
    }
}

pub(super) fn to_base64(input: &str, options: &[String]) -> Option<String> {
    let bytes = if utf16_option(options)? {
        escape::utf16le(input)
    } else {
        input.as_bytes().to_vec()
    };
    Some(escape::base64(&bytes))
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

    fn options(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn encodings_are_named_by_one_option() {
        assert_eq!(to_base64("Hi", &[]), Some("SGk=".into()));
        assert_eq!(to_base64("Hi", &options(&["UTF-8"])), Some("SGk=".into()));
        assert_eq!(
            to_base64("Hi", &options(&["Unicode"])),
            Some("SABpAA==".into())
        );
        assert_eq!(to_base64("Hi", &options(&["ascii"])), None);
        assert_eq!(to_base64("Hi", &options(&["utf8", "utf8"])), None);
    }
}
