//! Payload compression behind one small interface: the codec is recorded in the manifest, the
//! bundler encodes with it and the runtime decodes with it. Which codec is the default is decided
//! by benchmark (see `ARCHITECTURE.md`).

use serde::{Deserialize, Serialize};
use std::io::{self, BufRead, Read, Write};

/// The zstd level the bundler compresses with. A drop is mostly packages that are already
/// compressed (`.nupkg`, `.zip`): on the 500 MB benchmark drop level 3 (zstd's default) made the
/// installer only 0.2 MB (0.04 %) smaller than level 1, but cost ~1.7x the compression CPU and,
/// multi-threaded, ~44 MiB more peak RSS (larger window and job buffers: 66.6 MiB against the
/// 64 MiB build bar; level 1: ~23 MiB). See `ARCHITECTURE.md`, Performance.
const ZSTD_LEVEL: i32 = 1;

/// How the payload's tar stream is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Codec {
    /// zstd (level 1, multi-threaded when building): near copy speed on already-compressed packages.
    #[default]
    Zstd,
    /// gzip through flate2: slower, for environments that insist on it.
    Gzip,
    /// Stored as is.
    None,
}

impl Codec {
    /// The name used on the command line and in the manifest.
    pub fn name(self) -> &'static str {
        match self {
            Codec::Zstd => "zstd",
            Codec::Gzip => "gzip",
            Codec::None => "none",
        }
    }

    /// Parse a command-line name.
    pub fn from_name(name: &str) -> Option<Self> {
        [Codec::Zstd, Codec::Gzip, Codec::None]
            .into_iter()
            .find(|c| c.name() == name)
    }

    /// A reader of the uncompressed stream.
    pub fn decoder<'a, R: BufRead + 'a>(self, compressed: R) -> io::Result<Box<dyn Read + 'a>> {
        Ok(match self {
            Codec::Zstd => Box::new(zstd::Decoder::with_buffer(compressed)?),
            Codec::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(compressed)),
            Codec::None => Box::new(compressed),
        })
    }

    /// A writer that compresses into `out`; call [`Encoder::finish`] to flush the last block.
    /// `threads` above 1 lets zstd compress on several cores (output is identical either way).
    pub fn encoder<W: Write>(self, out: W, threads: u32) -> io::Result<Encoder<W>> {
        Ok(match self {
            Codec::Zstd => {
                let mut encoder = zstd::Encoder::new(out, ZSTD_LEVEL)?;
                if threads > 1 {
                    encoder.multithread(threads)?;
                }
                Encoder::Zstd(encoder)
            }
            Codec::Gzip => Encoder::Gzip(flate2::write::GzEncoder::new(
                out,
                flate2::Compression::default(),
            )),
            Codec::None => Encoder::None(out),
        })
    }
}

/// The most a zstd block holds, and so a stored frame's block size (RFC 8878, 3.1.1.2.3:
/// `Block_Maximum_Size` is the smaller of the window and 128 KiB).
pub const STORED_BLOCK: usize = 128 << 10;

/// The window a stored frame declares: 2^17 = [`STORED_BLOCK`], so a decoder needs no more
/// memory for it than for one block.
const STORED_WINDOW_LOG: u8 = 17;

/// Bytes kept as they are inside the payload stream, for content that does not compress (a
/// package is already a zip): for zstd one frame of raw blocks (RFC 8878, 3.1.1.2.2,
/// `Raw_Block`), which every zstd decoder reads as plain copies, for `none` the bytes themselves.
/// No compressor looks at them, so building costs a copy, not a compression attempt.
#[derive(Debug)]
pub struct StoredFrame {
    codec: Codec,
    remaining: u64,
}

impl StoredFrame {
    /// Start a stored frame of `len` bytes (more than zero), appending its header to `out`.
    /// `None` for gzip, which has no stored frames here: compress instead.
    pub fn start(codec: Codec, len: u64, out: &mut Vec<u8>) -> Option<Self> {
        match codec {
            Codec::Gzip => return None,
            Codec::None => {}
            Codec::Zstd => {
                out.extend_from_slice(&0xFD2F_B528u32.to_le_bytes());
                // Frame_Header_Descriptor: an 8-byte Frame_Content_Size, not single-segment (so
                // the window below applies), no checksum, no dictionary.
                out.push(0b1100_0000);
                // Window_Descriptor: exponent (window log - 10), mantissa 0.
                out.push((STORED_WINDOW_LOG - 10) << 3);
                out.extend_from_slice(&len.to_le_bytes());
            }
        }
        Some(StoredFrame {
            codec,
            remaining: len,
        })
    }

    /// Whether every byte of the frame has been appended.
    pub fn is_complete(&self) -> bool {
        self.remaining == 0
    }

    /// Append the next block (up to [`STORED_BLOCK`] bytes of content, read from `from`) to
    /// `out`. `from` must yield the bytes the frame was started for: running out is an error.
    pub fn append_block(&mut self, from: &mut impl Read, out: &mut Vec<u8>) -> io::Result<()> {
        let len = self.remaining.min(STORED_BLOCK as u64) as usize;
        self.remaining -= len as u64;
        if self.codec == Codec::Zstd {
            // Block_Header, 3 bytes little-endian: Last_Block, Block_Type 0 (raw), Block_Size.
            let header = (len as u32) << 3 | u32::from(self.remaining == 0);
            out.extend_from_slice(&header.to_le_bytes()[..3]);
        }
        let start = out.len();
        out.resize(start + len, 0);
        from.read_exact(&mut out[start..])
    }
}

/// A compressing writer for one codec.
pub enum Encoder<W: Write> {
    Zstd(zstd::Encoder<'static, W>),
    Gzip(flate2::write::GzEncoder<W>),
    None(W),
}

impl<W: Write> Encoder<W> {
    /// Write the final block and return the inner writer.
    pub fn finish(self) -> io::Result<W> {
        match self {
            Encoder::Zstd(e) => e.finish(),
            Encoder::Gzip(e) => e.finish(),
            Encoder::None(w) => Ok(w),
        }
    }
}

impl<W: Write> Write for Encoder<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Encoder::Zstd(e) => e.write(buf),
            Encoder::Gzip(e) => e.write(buf),
            Encoder::None(w) => w.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Encoder::Zstd(e) => e.flush(),
            Encoder::Gzip(e) => e.flush(),
            Encoder::None(w) => w.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(codec: Codec, packed: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        codec
            .decoder(packed)
            .unwrap()
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn every_codec_round_trips() {
        let data: Vec<u8> = (0..200_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        for codec in [Codec::Zstd, Codec::Gzip, Codec::None] {
            for threads in [1, 2] {
                let mut enc = codec.encoder(Vec::new(), threads).unwrap();
                enc.write_all(&data).unwrap();
                let packed = enc.finish().unwrap();
                assert_eq!(decode(codec, &packed), data, "{}", codec.name());
            }
        }
    }

    #[test]
    fn stored_frames_decode_between_compressed_ones_and_refuse_short_content() {
        let content: Vec<u8> = (0..(STORED_BLOCK * 2 + 300) as u32)
            .map(|i| (i * 7 % 256) as u8)
            .collect();
        for codec in [Codec::Zstd, Codec::None] {
            let mut enc = codec.encoder(Vec::new(), 1).unwrap();
            enc.write_all(b"before ").unwrap();
            let mut packed = enc.finish().unwrap();
            let mut stored = StoredFrame::start(codec, content.len() as u64, &mut packed).unwrap();
            let mut from = &content[..];
            let mut blocks = 0;
            while !stored.is_complete() {
                stored.append_block(&mut from, &mut packed).unwrap();
                blocks += 1;
            }
            assert_eq!(blocks, 3);
            let mut enc = codec.encoder(packed, 1).unwrap();
            enc.write_all(b" after").unwrap();
            let packed = enc.finish().unwrap();
            let expected = [&b"before "[..], &content, b" after"].concat();
            assert!(decode(codec, &packed) == expected, "{}", codec.name());

            let mut short = StoredFrame::start(codec, 10, &mut Vec::new()).unwrap();
            let error = short
                .append_block(&mut &b"abc"[..], &mut Vec::new())
                .unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);
        }
        assert!(StoredFrame::start(Codec::Gzip, 1, &mut Vec::new()).is_none());
    }

    #[test]
    fn names_round_trip() {
        for codec in [Codec::Zstd, Codec::Gzip, Codec::None] {
            assert_eq!(Codec::from_name(codec.name()), Some(codec));
        }
        assert_eq!(Codec::from_name("lz4"), None);
    }
}
