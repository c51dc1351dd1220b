//! What the tasks need from the machine: bash scripts, and tools installed with apt-get when
//! missing.

use crate::Result;
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

/// Install the apt `package` of each `(tool, package)` whose tool (a command or a path) is
/// missing.
pub fn ensure_apt(tools: &[(&str, &str)]) -> Result<()> {
    let missing: Vec<&str> = tools
        .iter()
        .filter(|(tool, _)| !is_installed(tool))
        .map(|(_, package)| *package)
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
