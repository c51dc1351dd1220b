//! The processes and files the benchmark relies on: bash scripts, quoted paths, the standard
//! tools (installed with apt-get when missing, [`crate::system`]), file sizes and cleanup between
//! runs.

use crate::Result;
use crate::system::ensure_apt;
pub use crate::system::sh;
use std::fs;
use std::path::Path;
use std::process::Command;

/// `path` quoted for bash.
pub fn q(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}

/// Bytes in the file at `path` (0 when it is missing).
pub fn size_of(path: &Path) -> u64 {
    fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// An empty directory at `dir`, whatever was there.
pub fn reset(dir: &Path) {
    let _ = fs::remove_dir_all(dir);
    fs::create_dir_all(dir).expect("creating a benchmark directory");
}

/// Remove an earlier run's output, so no run pays for freeing the previous one's pages.
pub fn remove(path: &Path) {
    let _ = fs::remove_file(path);
}

/// Install the tools the benchmark compares against (and `/usr/bin/time`) when missing.
pub fn ensure_tools() -> Result<()> {
    ensure_apt(&[
        ("zstd", "zstd"),
        ("makeself", "makeself"),
        ("zip", "zip"),
        ("unzip", "unzip"),
        ("/usr/bin/time", "time"),
    ])
}

/// Now, for the tables' heading.
pub fn date() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// The load averages over 1, 5 and 15 minutes (`/proc/loadavg`), for the tables' heading: on
/// a shared machine they say how much to trust the times.
pub fn load() -> String {
    fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_else(|_| "unknown".into())
}
