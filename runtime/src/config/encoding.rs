//! Reading and writing text files without changing what the user did not ask to change.
//!
//! The encoding is detected as Calamari detects it (`docs/octopus-conventions.md` §4.4): a byte-order
//! mark (UTF-8, UTF-16 LE/BE), else UTF-8 when the bytes are valid UTF-8, else a legacy code page:
//! the one an XML declaration names (`<?xml ... encoding="iso-8859-2"?>`), otherwise Windows-1252,
//! the default ANSI code page Calamari falls back to. The file is written back in the same
//! encoding; when a new value cannot be written in a legacy code page the file is "upgraded" to
//! UTF-8 without a BOM (and an XML declaration's encoding becomes `utf-8`), as Calamari does.
//!
//! Line endings are never normalised: the decoded text keeps `\n`, `\r\n` or a mix exactly as
//! found, so an unchanged text re-encodes byte for byte. Files with NUL bytes are refused as "not
//! text" (binary). Writes are atomic and durable (`crate::durable`).
//!
//! Gaps: UTF-16 without a BOM and UTF-32 are refused; file ownership is not copied (the installer
//! runs as the owner in practice).

use std::borrow::Cow;
use std::path::Path;

use encoding_rs::{Encoding, WINDOWS_1252};

use super::error::ConfigError;
use crate::durable::{self, DirSyncs};

const UTF8_BOM: &[u8] = &[0xEF, 0xBB, 0xBF];
const UTF16LE_BOM: &[u8] = &[0xFF, 0xFE];
const UTF16BE_BOM: &[u8] = &[0xFE, 0xFF];

/// The encoding a text file was found in, and will be written back in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextEncoding {
    /// UTF-8 without a byte-order mark.
    Utf8,
    /// UTF-8 with a byte-order mark.
    Utf8Bom,
    /// UTF-16 little-endian with a byte-order mark.
    Utf16Le,
    /// UTF-16 big-endian with a byte-order mark.
    Utf16Be,
    /// A single- or multi-byte legacy code page (Windows-1252, ISO-8859-2, ...), no BOM.
    Legacy(&'static Encoding),
}

impl TextEncoding {
    /// The encoding .NET's `Encoding.GetEncoding(name)` gives for a Unicode encoding name, as
    /// `Octopus.Action.SubstituteInFiles.OutputEncoding` names it. .NET's `utf-8` writes a BOM.
    /// Other WHATWG labels (`windows-1252`, `iso-8859-2`, `us-ascii`, ...) name a code page. `None`
    /// for an unknown name: Calamari also keeps the file's own encoding then.
    pub fn from_dotnet_name(name: &str) -> Option<TextEncoding> {
        let name = name.trim().to_ascii_lowercase();
        match name.as_str() {
            "utf-8" | "utf8" => Some(TextEncoding::Utf8Bom),
            "utf-16" | "utf-16le" | "unicode" => Some(TextEncoding::Utf16Le),
            "utf-16be" | "unicodefffe" => Some(TextEncoding::Utf16Be),
            _ => Encoding::for_label_no_replacement(name.as_bytes()).map(TextEncoding::Legacy),
        }
    }
}

/// The line ending a rewritten file should use where a formatter writes new lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineEnding {
    /// `\n`
    Lf,
    /// `\r\n`
    CrLf,
}

impl LineEnding {
    /// The characters of this line ending.
    pub fn as_str(self) -> &'static str {
        match self {
            LineEnding::Lf => "\n",
            LineEnding::CrLf => "\r\n",
        }
    }

    /// The most common line ending of `text`; `\n` on a tie or when there is none, because the
    /// installer targets Linux first.
    pub fn dominant(text: &str) -> LineEnding {
        let crlf = text.matches("\r\n").count();
        let lf = text.matches('\n').count() - crlf;
        if crlf > lf {
            LineEnding::CrLf
        } else {
            LineEnding::Lf
        }
    }
}

/// A decoded text file: its text (BOM removed, line endings untouched) and its encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextFile {
    /// The decoded text.
    pub text: String,
    /// The encoding to write it back in.
    pub encoding: TextEncoding,
}

impl TextFile {
    /// Decode `bytes` read from `path` (named in the error if the bytes are not text). UTF-8
    /// takes the buffer over without copying it.
    pub fn decode(path: &Path, mut bytes: Vec<u8>) -> Result<TextFile, ConfigError> {
        let not_text = |reason: String| ConfigError::NotText {
            path: path.to_path_buf(),
            reason,
        };
        let (encoding, text) = if bytes.starts_with(UTF8_BOM) {
            bytes.drain(..UTF8_BOM.len());
            (
                TextEncoding::Utf8Bom,
                decode_utf8(bytes, UTF8_BOM.len()).map_err(not_text)?,
            )
        } else if let Some(rest) = bytes.strip_prefix(UTF16LE_BOM) {
            (
                TextEncoding::Utf16Le,
                decode_utf16(rest, u16::from_le_bytes).map_err(not_text)?,
            )
        } else if let Some(rest) = bytes.strip_prefix(UTF16BE_BOM) {
            (
                TextEncoding::Utf16Be,
                decode_utf16(rest, u16::from_be_bytes).map_err(not_text)?,
            )
        } else {
            refuse_nul(&bytes, 0).map_err(not_text)?;
            match String::from_utf8(bytes) {
                Ok(text) => (TextEncoding::Utf8, text),
                Err(invalid) => decode_legacy(&invalid.into_bytes()),
            }
        };
        Ok(TextFile { text, encoding })
    }

    /// Encode `text` in this file's encoding (BOM included); UTF-8 without BOM is not copied.
    pub fn encode_text<'t>(&self, text: &'t str) -> Cow<'t, [u8]> {
        match self.encoding {
            TextEncoding::Utf8 => Cow::Borrowed(text.as_bytes()),
            other => Cow::Owned(encode(text, other)),
        }
    }
}

/// Encode `text` in `encoding`, writing the BOM the encoding calls for. Text a legacy code page
/// cannot hold is written as UTF-8 without a BOM instead ([`upgrade_to_utf8`]).
pub fn encode(text: &str, encoding: TextEncoding) -> Vec<u8> {
    match encoding {
        TextEncoding::Utf8 => text.as_bytes().to_vec(),
        TextEncoding::Utf8Bom => [UTF8_BOM, text.as_bytes()].concat(),
        TextEncoding::Utf16Le => encode_utf16(text, UTF16LE_BOM, u16::to_le_bytes),
        TextEncoding::Utf16Be => encode_utf16(text, UTF16BE_BOM, u16::to_be_bytes),
        TextEncoding::Legacy(code_page) => {
            let (bytes, _, unmappable) = code_page.encode(text);
            if unmappable {
                upgrade_to_utf8(text).into_owned().into_bytes()
            } else {
                bytes.into_owned()
            }
        }
    }
}

/// Calamari's "upgrade": a file whose new text does not fit its code page is written as UTF-8,
/// and an XML declaration that names the old encoding is made to name `utf-8`, so the file still
/// says truthfully how it is encoded.
fn upgrade_to_utf8(text: &str) -> Cow<'_, str> {
    match xml_declared_encoding(text) {
        Some((start, end)) => Cow::Owned(format!("{}utf-8{}", &text[..start], &text[end..])),
        None => Cow::Borrowed(text),
    }
}

/// The byte range of the encoding name in a leading `<?xml ... encoding="NAME" ...?>`.
fn xml_declared_encoding(text: &str) -> Option<(usize, usize)> {
    let declaration = &text[..text.find("?>")?];
    if !declaration.trim_start().starts_with("<?xml") {
        return None;
    }
    let after = declaration.find("encoding")? + "encoding".len();
    let rest = &declaration[after..];
    let quote_at = rest.find(['"', '\''])?;
    let quote = rest[quote_at..].chars().next()?;
    let start = after + quote_at + 1;
    let end = start + declaration[start..].find(quote)?;
    Some((start, end))
}

/// Bytes that are not UTF-8: the code page an XML declaration names, else Windows-1252 (which
/// maps every byte, so decoding never fails).
fn decode_legacy(bytes: &[u8]) -> (TextEncoding, String) {
    // The declaration is ASCII in every code page Calamari reads, so it can be read lossily.
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(200)]);
    let declared = xml_declared_encoding(&head)
        .and_then(|(start, end)| Encoding::for_label_no_replacement(head[start..end].as_bytes()))
        .filter(|e| e.is_ascii_compatible() && *e != encoding_rs::UTF_8);
    let code_page = declared.unwrap_or(WINDOWS_1252);
    let (text, _) = code_page.decode_without_bom_handling(bytes);
    (TextEncoding::Legacy(code_page), text.into_owned())
}

fn refuse_nul(bytes: &[u8], bom_len: usize) -> Result<(), String> {
    // `contains` on bytes is a vectorised search; the position is only needed for the message.
    match bytes.iter().position(|&b| b == 0) {
        Some(at) => Err(format!("NUL byte at offset {}", at + bom_len)),
        None => Ok(()),
    }
}

fn decode_utf8(bytes: Vec<u8>, bom_len: usize) -> Result<String, String> {
    refuse_nul(&bytes, bom_len)?;
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "invalid UTF-8 at offset {}",
            e.utf8_error().valid_up_to() + bom_len
        )
    })
}

fn decode_utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> Result<String, String> {
    if bytes.len() % 2 == 1 {
        return Err("odd number of bytes after a UTF-16 byte-order mark".to_string());
    }
    let units = bytes.chunks_exact(2).map(|pair| unit([pair[0], pair[1]]));
    let mut text = String::with_capacity(bytes.len() / 2);
    for (index, ch) in char::decode_utf16(units).enumerate() {
        match ch {
            Ok('\0') => return Err(format!("NUL character at offset {}", 2 + index * 2)),
            Ok(ch) => text.push(ch),
            Err(_) => return Err(format!("invalid UTF-16 at offset {}", 2 + index * 2)),
        }
    }
    Ok(text)
}

fn encode_utf16(text: &str, bom: &[u8], bytes: fn(u16) -> [u8; 2]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bom.len() + text.len() * 2);
    out.extend_from_slice(bom);
    for unit in text.encode_utf16() {
        out.extend_from_slice(&bytes(unit));
    }
    out
}

/// Read and decode a text file; the error names the file.
pub fn read_text_file(path: &Path) -> Result<TextFile, ConfigError> {
    let bytes = durable::read_no_follow(path).map_err(|e| ConfigError::io("reading", path, e))?;
    TextFile::decode(path, bytes)
}

/// Write `text` to `path` atomically in `encoding`.
pub fn write_text_file(path: &Path, text: &str, encoding: TextEncoding) -> Result<(), ConfigError> {
    write_atomic(path, &encode(text, encoding))
}

/// Replace the contents of `path` with `bytes` atomically and durably ([`durable`]). A link at
/// `path` is replaced, never written through (targets come from `find_target_files`, which
/// returns real files).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ConfigError> {
    let mut dirs = DirSyncs::default();
    replace_file(path, bytes, &mut dirs)?;
    dirs.sync().map_err(ConfigError::Write)
}

/// [`write_atomic`] without the directory flush, which is recorded in `dirs` instead.
pub(crate) fn replace_file(
    path: &Path,
    bytes: &[u8],
    dirs: &mut DirSyncs,
) -> Result<(), ConfigError> {
    durable::replace_file(path, bytes, None, dirs).map_err(ConfigError::Write)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn round_trip(bytes: &[u8]) -> TextFile {
        let file = TextFile::decode(Path::new("x.txt"), bytes.to_vec()).expect("decodes");
        assert_eq!(
            file.encode_text(&file.text).as_ref(),
            bytes,
            "byte-exact round trip"
        );
        file
    }

    #[test]
    fn utf8_with_and_without_bom_round_trip() {
        assert_eq!(round_trip(b"a\r\nb\nc").encoding, TextEncoding::Utf8);
        let file = round_trip(b"\xEF\xBB\xBFk=\xC3\xA9\r\n");
        assert_eq!(file.encoding, TextEncoding::Utf8Bom);
        assert_eq!(file.text, "k=é\r\n");
    }

    #[test]
    fn utf16_both_orders_round_trip() {
        let le = encode("x=ü\r\n😀", TextEncoding::Utf16Le);
        assert_eq!(&le[..2], UTF16LE_BOM);
        assert_eq!(round_trip(&le).text, "x=ü\r\n😀");
        let be = encode("x=ü\n", TextEncoding::Utf16Be);
        assert_eq!(round_trip(&be).encoding, TextEncoding::Utf16Be);
    }

    #[test]
    fn binary_and_invalid_text_are_refused_with_offsets() {
        let err = TextFile::decode(Path::new("logo.png"), b"\x89PNG\0\0".to_vec()).unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("logo.png") && message.contains("offset 4"),
            "{message}"
        );
        let err = TextFile::decode(Path::new("b.txt"), b"\xFF\xFEa".to_vec()).unwrap_err();
        assert!(err.to_string().contains("odd number"), "{err}");
    }

    #[test]
    fn legacy_code_pages_are_detected_as_calamari_detects_them() {
        let ansi = round_trip(b"dagger: \x86\r\neuro: \x80\r\n");
        assert_eq!(ansi.encoding, TextEncoding::Legacy(WINDOWS_1252));
        assert_eq!(ansi.text, "dagger: \u{2020}\r\neuro: \u{20AC}\r\n");
        let latin2 =
            round_trip(b"<?xml version=\"1.0\" encoding=\"iso-8859-2\" ?>\n<n>Micha\xB3</n>");
        assert_eq!(
            latin2.encoding,
            TextEncoding::Legacy(encoding_rs::ISO_8859_2)
        );
        assert!(
            latin2.text.ends_with("<n>Micha\u{142}</n>"),
            "{}",
            latin2.text
        );
    }

    #[test]
    fn text_a_code_page_cannot_hold_is_upgraded_to_utf8() {
        let ansi = TextEncoding::Legacy(WINDOWS_1252);
        assert_eq!(encode("a\u{20AC}", ansi), b"a\x80");
        assert_eq!(
            encode("\u{FFE6}\u{20AC}", ansi),
            "\u{FFE6}\u{20AC}".as_bytes()
        );
        let latin2 = TextEncoding::from_dotnet_name("iso-8859-2").expect("known label");
        let xml = "<?xml version=\"1.0\" encoding=\"iso-8859-2\"?>\n<n>\u{5F20}</n>";
        assert_eq!(
            encode(xml, latin2),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<n>\u{5F20}</n>".as_bytes()
        );
    }

    #[test]
    fn dominant_line_ending() {
        assert_eq!(LineEnding::dominant("a\r\nb\r\nc\n"), LineEnding::CrLf);
        assert_eq!(LineEnding::dominant("a\nb\r\nc\n"), LineEnding::Lf);
        assert_eq!(LineEnding::dominant("none"), LineEnding::Lf);
    }

    #[test]
    fn atomic_write_keeps_permissions_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("app.conf");
        fs::write(&path, "old").expect("write");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).expect("chmod");
        }
        write_text_file(&path, "new", TextEncoding::Utf8Bom).expect("atomic write");
        assert_eq!(fs::read(&path).expect("read"), b"\xEF\xBB\xBFnew");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o640);
        }
        let names: Vec<_> = fs::read_dir(dir.path()).expect("ls").collect();
        assert_eq!(names.len(), 1, "no temporary file left behind");
    }

    #[test]
    fn io_errors_name_the_file() {
        let err = read_text_file(Path::new("/nonexistent/dropship/x.json")).unwrap_err();
        assert!(
            err.to_string()
                .contains("reading `/nonexistent/dropship/x.json`"),
            "{err}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_link_is_never_written_or_read_through() {
        let dir = tempfile::tempdir().expect("tempdir");
        let outside = tempfile::tempdir().expect("tempdir");
        let victim = outside.path().join("victim.conf");
        let link = dir.path().join("link.conf");
        fs::write(&victim, "old").expect("write");
        std::os::unix::fs::symlink(&victim, &link).expect("symlink");
        assert!(read_text_file(&link).is_err(), "reading through a link");
        write_atomic(&link, b"new").expect("writes");
        assert!(fs::symlink_metadata(&link).expect("meta").is_file());
        assert_eq!(fs::read(&victim).expect("read"), b"old");
    }
}
