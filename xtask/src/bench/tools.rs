//! The processes and files the benchmark relies on: bash scripts, quoted paths, the standard
//! tools (installed with apt-get when missing), file sizes and cleanup between runs.

use crate::Result;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

/// Run `script` with bash, `set -eo pipefail`; a failure names the script.
pub fn sh(script: &str) -> Result<()> {
    let status = Command::new("bash")
        .args(["-c", &format!("set -eo pipefail\n{script}")])
        .status()
        .map_err(|e| e.to_string())?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{script}` failed ({status})"))
    }
}

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
    let missing: Vec<&str> = [
        ("zstd", "zstd"),
        ("makeself", "makeself"),
        ("/usr/bin/time", "time"),
    ]
    .into_iter()
    .filter(|(tool, _)| !is_installed(tool))
    .map(|(_, package)| package)
    .collect();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("installing {}", missing.join(" "));
    let sudo = if is_root() { "" } else { "sudo " };
    sh(&format!(
        "{sudo}apt-get update -qq && DEBIAN_FRONTEND=noninteractive {sudo}apt-get install -y -qq {}",
        missing.join(" ")
    ))
}

fn is_installed(tool: &str) -> bool {
    Command::new("bash")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Now, for the tables' heading.
pub fn date() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}
