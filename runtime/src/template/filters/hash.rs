//! Hash filters: Md5, Sha1, Sha256, Sha384, Sha512 with `[encoding] [size]` in either order.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};

use crate::escape::utf16le;

enum Encoding {
    Utf8,
    Unicode,
    Base64,
}

/// The hex digest (lowercase), optionally cut to the first `size` bytes.
pub(super) fn digest(algorithm: &str, input: &str, options: &[String]) -> Option<String> {
    if options.len() > 2 {
        return None;
    }
    let mut encoding = None;
    let mut size = None;
    for option in options {
        if let Ok(n) = option.trim().parse::<i64>() {
            if size.is_some() || n <= 0 {
                return None;
            }
            size = Some(usize::try_from(n).ok()?);
        } else if encoding.is_none() {
            encoding = Some(parse_encoding(option)?);
        } else {
            return None;
        }
    }
    let bytes = match encoding.unwrap_or(Encoding::Utf8) {
        Encoding::Utf8 => input.as_bytes().to_vec(),
        Encoding::Unicode => utf16le(input),
        // Like .NET's `Convert.FromBase64String`, whitespace anywhere is ignored.
        Encoding::Base64 => {
            let compact: String = input.chars().filter(|c| !c.is_whitespace()).collect();
            STANDARD.decode(compact).ok()?
        }
    };
    let hash = match algorithm {
        "md5" => Md5::digest(&bytes).to_vec(),
        "sha1" => Sha1::digest(&bytes).to_vec(),
        "sha256" => Sha256::digest(&bytes).to_vec(),
        "sha384" => Sha384::digest(&bytes).to_vec(),
        _ => Sha512::digest(&bytes).to_vec(),
    };
    let keep = size.unwrap_or(hash.len()).min(hash.len());
    Some(hash.iter().take(keep).map(|b| format!("{b:02x}")).collect())
}

fn parse_encoding(option: &str) -> Option<Encoding> {
    match option.to_lowercase().as_str() {
        "utf8" | "utf-8" => Some(Encoding::Utf8),
        "unicode" => Some(Encoding::Unicode),
        "base64" => Some(Encoding::Base64),
        _ => None,
    }
}
