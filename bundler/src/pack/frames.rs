//! The payload's byte stream below the tar builder: tar bytes in, codec frames out, with large
//! files that do not compress stored around the compressor, and the sink those frames go to.

use super::PackOptions;
use dropship_runtime::container::Codec;
use dropship_runtime::container::codec::{Encoder, STORED_BLOCK, StoredFrame};
use std::fs::File;
use std::io::{self, Read, Seek, Write};

/// Where the payload's bytes go: compressed output is written as it comes; a stored run arrives
/// in whole chunks, read straight from the drop's files into buffers the sink hands out (and may
/// hand on, to hashing threads, without a copy).
pub trait PayloadSink: Write {
    /// An empty buffer to fill with the next chunk (a recycled one when there is one).
    fn buffer(&mut self) -> Vec<u8>;
    /// Write `chunk` after everything written before it.
    fn write_chunk(&mut self, chunk: Vec<u8>) -> io::Result<()>;
}

impl PayloadSink for Vec<u8> {
    fn buffer(&mut self) -> Vec<u8> {
        Vec::new()
    }
    fn write_chunk(&mut self, chunk: Vec<u8>) -> io::Result<()> {
        self.extend_from_slice(&chunk);
        Ok(())
    }
}

impl<S: PayloadSink> PayloadSink for &mut S {
    fn buffer(&mut self) -> Vec<u8> {
        (**self).buffer()
    }
    fn write_chunk(&mut self, chunk: Vec<u8>) -> io::Result<()> {
        (**self).write_chunk(chunk)
    }
}

/// Counts bytes passing through a sink.
struct Counting<W> {
    inner: W,
    count: u64,
}

impl<W> Counting<W> {
    fn new(inner: W) -> Self {
        Counting { inner, count: 0 }
    }
}

impl<W: PayloadSink> PayloadSink for Counting<W> {
    fn buffer(&mut self) -> Vec<u8> {
        self.inner.buffer()
    }
    fn write_chunk(&mut self, chunk: Vec<u8>) -> io::Result<()> {
        let len = chunk.len() as u64;
        self.inner.write_chunk(chunk)?;
        self.count += len;
        Ok(())
    }
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Files from this size on are looked at for storing: below it, ending a frame and starting
/// another costs more than compressing does.
pub(super) const STORE_FROM: u64 = 1 << 20;
/// How much of a file's start is compressed to tell whether it compresses.
const SAMPLE: u64 = 128 << 10;
/// A stored run goes out in chunks of this many blocks (~1 MiB).
const CHUNK_BLOCKS: usize = 8;

/// The shared part's stream: tar bytes in, codec frames out. A large file that does not
/// compress (a package is already a zip) is stored instead ([`StoredFrame`]): the frame being
/// compressed ends, the file's bytes are read straight into chunks for the sink, and the next
/// tar bytes start a new frame. Every codec's decoder reads the frames as one stream.
pub(super) struct Frames<W: PayloadSink> {
    codec: Codec,
    threads: u32,
    state: FrameState<W>,
    unpacked: u64,
}

enum FrameState<W: PayloadSink> {
    /// Boxed: the encoder is large, and the sink between frames is small.
    Compressing(Box<Encoder<Counting<W>>>),
    Between(Counting<W>),
    /// Starting or ending a frame failed; the error was returned then.
    Broken,
}

impl<W: PayloadSink> Frames<W> {
    pub(super) fn new(out: W, options: &PackOptions) -> Self {
        Frames {
            codec: options.codec,
            threads: options.threads,
            state: FrameState::Between(Counting::new(out)),
            unpacked: 0,
        }
    }

    fn encoder(&mut self) -> io::Result<&mut Encoder<Counting<W>>> {
        if matches!(self.state, FrameState::Between(_))
            && let FrameState::Between(out) = std::mem::replace(&mut self.state, FrameState::Broken)
        {
            self.state = FrameState::Compressing(Box::new(self.codec.encoder(out, self.threads)?));
        }
        match &mut self.state {
            FrameState::Compressing(encoder) => Ok(encoder),
            _ => Err(broken()),
        }
    }

    /// End the frame being compressed, if any: the sink, between frames.
    fn between_frames(&mut self) -> io::Result<&mut Counting<W>> {
        match std::mem::replace(&mut self.state, FrameState::Broken) {
            FrameState::Compressing(encoder) => self.state = FrameState::Between(encoder.finish()?),
            other => self.state = other,
        }
        match &mut self.state {
            FrameState::Between(out) => Ok(out),
            _ => Err(broken()),
        }
    }

    /// Whether `file`, `size` bytes, goes out stored rather than compressed. Leaves the file at
    /// its start.
    pub(super) fn stores(&self, file: &mut File, size: u64) -> io::Result<bool> {
        if size < STORE_FROM {
            return Ok(false);
        }
        Ok(match self.codec {
            Codec::Gzip => false,
            Codec::None => true,
            Codec::Zstd => {
                let mut sample = Vec::with_capacity(SAMPLE as usize);
                (&mut *file).take(SAMPLE).read_to_end(&mut sample)?;
                file.rewind()?;
                let mut encoder = self.codec.encoder(Vec::new(), 1)?;
                encoder.write_all(&sample)?;
                // Stored when compressing saves less than 3 %.
                encoder.finish()?.len() * 100 >= sample.len() * 97
            }
        })
    }

    /// Write `size` bytes of `file` and the tar padding after them as a stored frame.
    pub(super) fn store(&mut self, file: &mut File, size: u64) -> io::Result<()> {
        let padded = size.next_multiple_of(512);
        let codec = self.codec;
        let out = self.between_frames()?;
        let mut chunk = out.buffer();
        let mut frame = StoredFrame::start(codec, padded, &mut chunk)
            .ok_or_else(|| io::Error::other(format!("{} has no stored frames", codec.name())))?;
        let mut content = Exactly::new(file, size).chain(io::repeat(0).take(padded - size));
        while !frame.is_complete() {
            frame.append_block(&mut content, &mut chunk)?;
            if chunk.len() >= CHUNK_BLOCKS * STORED_BLOCK || frame.is_complete() {
                let full = std::mem::replace(&mut chunk, out.buffer());
                out.write_chunk(full)?;
            }
        }
        self.unpacked += padded;
        Ok(())
    }

    /// End the last frame: the compressed bytes written, and the tar bytes they hold.
    pub(super) fn finish(mut self) -> io::Result<(u64, u64)> {
        let out = self.between_frames()?;
        out.flush()?;
        Ok((out.count, self.unpacked))
    }
}

fn broken() -> io::Error {
    io::Error::other("the payload stream broke on an earlier error")
}

impl<W: PayloadSink> Write for Frames<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.encoder()?.write(buf)?;
        self.unpacked += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        match &mut self.state {
            FrameState::Compressing(encoder) => encoder.flush(),
            FrameState::Between(out) => out.flush(),
            FrameState::Broken => Err(broken()),
        }
    }
}

/// Exactly the `remaining` bytes a file's tar header announced: a file that grew is cut there,
/// one that shrank is an error (rather than an archive whose entries no longer line up).
pub(super) struct Exactly<'a> {
    file: &'a mut File,
    remaining: u64,
}

impl<'a> Exactly<'a> {
    pub(super) fn new(file: &'a mut File, size: u64) -> Self {
        Exactly {
            file,
            remaining: size,
        }
    }
}

impl Read for Exactly<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 {
            return Ok(0);
        }
        let max = buf
            .len()
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        let n = self.file.read(&mut buf[..max])?;
        if n == 0 && max > 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the file got shorter while it was being packed; build again once nothing writes to the drop",
            ));
        }
        self.remaining -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_changes_while_packed_is_cut_or_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"0123456789").unwrap();
        let mut file = File::open(&path).unwrap();
        let mut grown = Vec::new();
        Exactly::new(&mut file, 4).read_to_end(&mut grown).unwrap();
        assert_eq!(grown, b"0123");
        let mut file = File::open(&path).unwrap();
        let error = Exactly::new(&mut file, 20)
            .read_to_end(&mut Vec::new())
            .unwrap_err();
        assert!(error.to_string().contains("got shorter"), "{error}");
    }
}
