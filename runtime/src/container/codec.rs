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
                let mut out = Vec::new();
                codec
                    .decoder(&packed[..])
                    .unwrap()
                    .read_to_end(&mut out)
                    .unwrap();
                assert_eq!(out, data, "{}", codec.name());
            }
        }
    }

    #[test]
    fn names_round_trip() {
        for codec in [Codec::Zstd, Codec::Gzip, Codec::None] {
            assert_eq!(Codec::from_name(codec.name()), Some(codec));
        }
        assert_eq!(Codec::from_name("lz4"), None);
    }
}
