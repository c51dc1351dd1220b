//! The large drop the benchmark packs: the sample's own drop plus generated packages
//! (incompressible, as real `.nupkg`/`.zip` packages are) and a few MB of scripts and variable
//! JSON; and the bytes and text every generated drop is made of.

use super::tools::{q, sh, size_of};
use crate::Result;
use std::fmt::Write as _;
use std::fs;
use std::io::{self, Write};
use std::path::Path;

const MB: u64 = 1_000_000;

/// What [`generate`] wrote.
pub struct Generated {
    /// Generated files (the sample's own are not counted).
    pub files: u64,
    pub bytes: u64,
}

/// The sample's drop plus generated packages and text, about `size_mb` MB in all.
pub fn generate(root: &Path, sample: &Path, size_mb: u64) -> Result<Generated> {
    copy_sample(root, sample)?;
    for dir in ["Packages", "Scripts", "Variables"] {
        fs::create_dir_all(root.join(dir)).map_err(|e| e.to_string())?;
    }
    let total = size_mb * MB;
    // A few MB of text: scripts and variable sets (about 2 %, at least 1 MB, at most 10 MB).
    let text = write_texts(root, (total / 50).clamp(MB, 10 * MB))?;
    let packages = write_packages(&root.join("Packages"), total.saturating_sub(text.bytes))?;
    Ok(Generated {
        files: text.files + packages.files,
        bytes: text.bytes + packages.bytes,
    })
}

/// The sample's own drop (what its plan refers to) into `root`.
pub fn copy_sample(root: &Path, sample: &Path) -> Result<()> {
    sh(&format!("cp -r {}/. {}", q(&sample.join("drop")), q(root)))
}

/// Scripts and variable files, alternating, of 200 to 800 kB each, until `total` bytes.
fn write_texts(root: &Path, total: u64) -> Result<Generated> {
    let mut written = Generated { files: 0, bytes: 0 };
    let mut seed = 1;
    while written.bytes < total {
        let size = (total - written.bytes).min(200_000 + (seed % 7) * 100_000);
        let (path, json) = if seed % 2 == 0 {
            (root.join(format!("Scripts/Step{seed:03}.ps1")), false)
        } else {
            (
                root.join(format!("Variables/Deploy Step{seed:03}.variables.json")),
                true,
            )
        };
        write_text(&path, size, seed, json).map_err(|e| e.to_string())?;
        written.bytes += size_of(&path);
        written.files += 1;
        seed += 1;
    }
    Ok(written)
}

/// Packages until `total` bytes: a realistic mix of large and small, already compressed.
fn write_packages(dir: &Path, total: u64) -> Result<Generated> {
    const SIZES_MB: &[u64] = &[96, 3, 48, 1, 24, 12, 2, 64, 6, 32, 1, 8, 16, 4];
    let mut written = Generated { files: 0, bytes: 0 };
    let mut i = 0;
    while written.bytes < total {
        let size = (SIZES_MB[i % SIZES_MB.len()] * MB).min(total - written.bytes);
        let path = dir.join(format!("Fabrikam.Component{i:03}.4.12.{i}.nupkg"));
        write_random(&path, size, 1000 + i as u64).map_err(|e| e.to_string())?;
        written.bytes += size;
        written.files += 1;
        i += 1;
    }
    Ok(written)
}

/// xorshift64*: fast, deterministic bytes that no compressor can shrink (like packed packages).
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

pub fn write_random(path: &Path, bytes: u64, seed: u64) -> io::Result<()> {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut out = io::BufWriter::with_capacity(1 << 20, fs::File::create(path)?);
    let mut buf = vec![0u8; 1 << 20];
    let mut left = bytes;
    while left > 0 {
        for chunk in buf.chunks_exact_mut(8) {
            chunk.copy_from_slice(&rng.next().to_le_bytes());
        }
        let n = left.min(buf.len() as u64) as usize;
        out.write_all(&buf[..n])?;
        left -= n as u64;
    }
    out.flush()
}

const WORDS: &[&str] = &[
    "Octopus",
    "Deploy",
    "Fabrikam",
    "Service",
    "Database",
    "Install",
    "Root",
    "Port",
    "Web",
    "Package",
    "Variable",
    "Step",
    "Role",
    "Tenant",
    "Environment",
    "Production",
    "config",
    "appsettings",
    "ConnectionStrings",
    "Logging",
    "Level",
    "Information",
    "true",
    "false",
];

/// About `bytes` of PowerShell lines or JSON variables made of [`WORDS`].
pub fn write_text(path: &Path, bytes: u64, seed: u64, json: bool) -> io::Result<()> {
    let mut rng = Rng(seed | 1);
    let mut text = String::new();
    if json {
        text.push_str("{\n");
    }
    let mut i = 0u64;
    while (text.len() as u64) < bytes {
        let a = WORDS[(rng.next() % WORDS.len() as u64) as usize];
        let b = WORDS[(rng.next() % WORDS.len() as u64) as usize];
        let n = rng.next() % 10_000;
        if json {
            let _ = writeln!(text, "  \"{a}.{b}.{i}\": \"#{{{a}.{b}}}-{n}\",");
        } else {
            let _ = writeln!(
                text,
                "Write-Host \"{a} {b} {n}\"; ${a}{i} = Get-{b} -Id {n}"
            );
        }
        i += 1;
    }
    if json {
        text.push_str("  \"end\": true\n}\n");
    }
    fs::write(path, text)
}
