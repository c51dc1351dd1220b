//! What Authenticode (`signtool`, `osslsigncode`) does to a finished Windows installer, and how
//! the format tolerates it: the signer appends a certificate table at the (8-byte aligned) end
//! of the file and rewrites two fields of the PE headers, the `CheckSum` and the Certificate
//! Table entry of the data directory. The installer's trailer is found just before that table
//! (through the entry), and the runtime's digest leaves out exactly those two fields, as
//! Authenticode's own hash does.

use std::ops::Range;

/// How many bytes at the start of a file hold every header field read here.
pub const HEAD_LEN: usize = 4096;

/// PE32 and PE32+ optional-header magics.
const PE32: u16 = 0x10b;
const PE32_PLUS: u16 = 0x20b;
/// The Certificate Table is entry 4 of the data directory; each entry is 8 bytes.
const CERTIFICATE_ENTRY: usize = 4;

/// Where the two fields Authenticode rewrites lie in a PE image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedFields {
    /// Offset of the optional header's `CheckSum` (4 bytes).
    pub checksum: u64,
    /// Offset of the data directory's Certificate Table entry (8 bytes: file offset, size).
    pub certificate_entry: u64,
}

impl SignedFields {
    /// The byte ranges a digest of the image leaves out, in file order.
    pub fn excluded(&self) -> [Range<u64>; 2] {
        [
            self.checksum..self.checksum + 4,
            self.certificate_entry..self.certificate_entry + 8,
        ]
    }
}

/// The fields of the PE image that `head` (the first bytes of a file) starts, or `None` when it
/// is not a PE image with a Certificate Table entry within its first [`HEAD_LEN`] bytes (the
/// bundler passes the whole stub, the runtime those bytes: both must see the same fields).
pub fn signed_fields(head: &[u8]) -> Option<SignedFields> {
    let head = &head[..head.len().min(HEAD_LEN)];
    if !head.starts_with(b"MZ") {
        return None;
    }
    let pe = u32_at(head, 0x3c)? as usize;
    if head.get(pe..pe.checked_add(4)?)? != b"PE\0\0" {
        return None;
    }
    let optional = pe + 24;
    let (count_at, directory) = match u16_at(head, optional)? {
        PE32 => (optional + 92, optional + 96),
        PE32_PLUS => (optional + 108, optional + 112),
        _ => return None,
    };
    if (u32_at(head, count_at)? as usize) <= CERTIFICATE_ENTRY {
        return None;
    }
    let certificate_entry = directory + CERTIFICATE_ENTRY * 8;
    head.get(certificate_entry..certificate_entry + 8)?;
    Some(SignedFields {
        checksum: (optional + 64) as u64,
        certificate_entry: certificate_entry as u64,
    })
}

/// The certificate table the entry points at: (file offset, size); `None` when it is empty.
pub fn certificate_table(head: &[u8], fields: &SignedFields) -> Option<(u64, u64)> {
    let at = fields.certificate_entry as usize;
    let offset = u64::from(u32_at(head, at)?);
    let size = u64::from(u32_at(head, at + 4)?);
    (offset != 0 || size != 0).then_some((offset, size))
}

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

/// BLAKE3 over a stream of bytes that leaves out the given ranges (offsets from the stream's
/// start): the runtime digest, fed in chunks of any size.
pub struct SkippingHasher {
    hasher: blake3::Hasher,
    skip: Vec<Range<u64>>,
    at: u64,
}

impl SkippingHasher {
    pub fn new(skip: &[Range<u64>]) -> Self {
        SkippingHasher {
            hasher: blake3::Hasher::new(),
            skip: skip.to_vec(),
            at: 0,
        }
    }

    pub fn update(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let end = self.at + bytes.len() as u64;
            // The next excluded range that ends after where we are.
            let next = self.skip.iter().find(|r| r.end > self.at && r.start < end);
            let Some(range) = next else {
                self.hasher.update(bytes);
                self.at = end;
                return;
            };
            let keep = range.start.saturating_sub(self.at) as usize;
            self.hasher.update(&bytes[..keep]);
            let skipped = (range.end.min(end) - self.at) as usize;
            bytes = &bytes[skipped..];
            self.at += skipped as u64;
        }
    }

    pub fn finalize(&self) -> blake3::Hash {
        self.hasher.finalize()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A minimal PE32+ header: `MZ`, `e_lfanew` = 0x80, `PE\0\0`, an optional header with 16
    /// data-directory entries, padded to `len` bytes.
    pub(crate) fn pe_image(len: usize) -> Vec<u8> {
        let mut image = vec![0u8; len];
        image[..2].copy_from_slice(b"MZ");
        image[0x3c..0x40].copy_from_slice(&0x80u32.to_le_bytes());
        image[0x80..0x84].copy_from_slice(b"PE\0\0");
        image[0x84..0x86].copy_from_slice(&[0x64, 0x86]);
        let optional = 0x80 + 24;
        image[optional..optional + 2].copy_from_slice(&PE32_PLUS.to_le_bytes());
        image[optional + 108..optional + 112].copy_from_slice(&16u32.to_le_bytes());
        image
    }

    #[test]
    fn the_fields_of_a_pe32_plus_image_are_found() {
        let image = pe_image(1024);
        let fields = signed_fields(&image).unwrap();
        assert_eq!(fields.checksum, 0x80 + 24 + 64);
        assert_eq!(fields.certificate_entry, 0x80 + 24 + 112 + 32);
        assert_eq!(certificate_table(&image, &fields), None);
        let mut signed = image;
        let at = fields.certificate_entry as usize;
        signed[at..at + 4].copy_from_slice(&2048u32.to_le_bytes());
        signed[at + 4..at + 8].copy_from_slice(&100u32.to_le_bytes());
        assert_eq!(certificate_table(&signed, &fields), Some((2048, 100)));
    }

    #[test]
    fn other_files_have_no_fields() {
        assert_eq!(signed_fields(b"\x7fELF\x02\x01"), None);
        assert_eq!(signed_fields(b"MZ"), None);
        let mut few_entries = pe_image(1024);
        few_entries[0x80 + 24 + 108] = 4;
        assert_eq!(signed_fields(&few_entries), None);
        let mut far = pe_image(1024);
        far[0x3c..0x40].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(signed_fields(&far), None);
        // Headers beyond the first HEAD_LEN bytes are not looked for, however long the file.
        let mut late = pe_image(2 * HEAD_LEN);
        late.copy_within(0x80..0x200, HEAD_LEN - 0x40);
        late[0x3c..0x40].copy_from_slice(&((HEAD_LEN - 0x40) as u32).to_le_bytes());
        assert_eq!(signed_fields(&late), None);
    }

    #[test]
    fn the_skipping_hash_leaves_out_exactly_the_ranges_whatever_the_chunks() {
        let data: Vec<u8> = (0..200u8).collect();
        let skip = [10..14, 50..58];
        let kept: Vec<u8> = data
            .iter()
            .enumerate()
            .filter(|(i, _)| !skip.iter().any(|r| r.contains(&(*i as u64))))
            .map(|(_, &b)| b)
            .collect();
        let expected = blake3::hash(&kept);
        for chunk in [1, 3, 7, 12, 51, 200] {
            let mut hasher = SkippingHasher::new(&skip);
            for piece in data.chunks(chunk) {
                hasher.update(piece);
            }
            assert_eq!(hasher.finalize(), expected, "chunks of {chunk}");
        }
    }
}
