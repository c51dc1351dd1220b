//! Talking to the operator: prompts on the terminal, progress on stderr, plain lines otherwise.
//! Data goes to stdout; progress, prompts and messages to stderr.

use crate::container::Manifest;
use crate::trust::PublicKey;
use std::io::{BufRead, IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Whether the operator can be asked questions (stdin and stderr are terminals).
pub fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Ask the operator to confirm the signer's key against what the vendor published.
pub fn confirm_signer(manifest: &Manifest, key: &PublicKey) -> bool {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(
        err,
        "\n{} {} is signed by key {}\n  public key: {}\nCompare it with the key your vendor published{}.",
        manifest.product.name,
        manifest.product.version,
        key.key_id,
        key.base64,
        manifest
            .product
            .vendor
            .as_deref()
            .map(|v| format!(" ({v})"))
            .unwrap_or_default()
    );
    let _ = write!(err, "Trust this key? [y/N] ");
    let _ = err.flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).is_ok()
        && matches!(answer.trim(), "y" | "Y" | "yes" | "Yes")
}

/// Byte progress for a long read: a percentage on a terminal, nothing otherwise.
pub struct ByteProgress {
    label: &'static str,
    total: u64,
    last_percent: AtomicU64,
    on_terminal: bool,
    started: Instant,
}

/// Start reporting progress over `total` bytes.
pub fn byte_progress(label: &'static str, total: u64) -> ByteProgress {
    ByteProgress {
        label,
        total: total.max(1),
        last_percent: AtomicU64::new(u64::MAX),
        on_terminal: std::io::stderr().is_terminal(),
        started: Instant::now(),
    }
}

impl ByteProgress {
    /// Record that `done` bytes are processed (called from any thread).
    pub fn set(&self, done: u64) {
        let percent = done.saturating_mul(100) / self.total;
        if self.on_terminal && self.last_percent.swap(percent, Ordering::Relaxed) != percent {
            eprint!(
                "\r{}: {percent:>3}% of {}",
                self.label,
                human_bytes(self.total)
            );
        }
    }

    /// End the progress line.
    pub fn finish(&self) {
        if self.on_terminal {
            eprintln!(
                "\r{}: done, {} in {:.1?}",
                self.label,
                human_bytes(self.total),
                self.started.elapsed()
            );
        }
    }
}

/// `1.5 MiB`-style sizes for people.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_bytes_picks_a_unit() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(500 * 1024 * 1024), "500.0 MiB");
    }
}
