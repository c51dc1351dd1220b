//! Finding the runtime stub that becomes every installer: `--runtime PATH`, else the
//! `dropship-runtime` built beside `dropship`. Under `cargo run` a missing stub is built first,
//! so the README's single `cargo run ... -- demo` works on a fresh checkout.

use crate::failure::OnMachine;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

const STUB_NAME: &str = if cfg!(windows) {
    "dropship-runtime.exe"
} else {
    "dropship-runtime"
};

/// The runtime stub to use.
pub fn locate(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(path) = explicit {
        if !path.is_file() {
            bail!(
                "runtime `{}` does not exist; pass the path of a built `dropship-runtime`",
                path.display()
            );
        }
        return Ok(path.to_path_buf());
    }
    let exe = std::env::current_exe().machine_io(|| "finding the dropship executable".into())?;
    let beside = exe.with_file_name(STUB_NAME);
    if beside.is_file() {
        return Ok(beside);
    }
    if let Some(cargo) = std::env::var_os("CARGO") {
        build_with_cargo(&cargo, &exe)?;
        if beside.is_file() {
            return Ok(beside);
        }
    }
    bail!(
        "no runtime stub beside `{}`; build it with `cargo build --release -p dropship-runtime` or pass `--runtime PATH`",
        exe.display()
    )
}

/// Build the stub with the same cargo and profile that built this program.
fn build_with_cargo(cargo: &std::ffi::OsStr, exe: &Path) -> Result<()> {
    let release = exe
        .parent()
        .and_then(Path::file_name)
        .is_some_and(|p| p == "release");
    eprintln!("building the runtime stub (`cargo build -p dropship-runtime`)...");
    let mut command = Command::new(cargo);
    command.args([
        "build",
        "--quiet",
        "-p",
        "dropship-runtime",
        "--bin",
        "dropship-runtime",
    ]);
    // Under `cargo run` this binary was built from this checkout: name its manifest, so the
    // build works from any current directory.
    command
        .arg("--manifest-path")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"));
    if release {
        command.arg("--release");
    }
    let status = command
        .status()
        .context("running cargo to build the runtime stub")?;
    if !status.success() {
        bail!("building the runtime stub failed; run `cargo build -p dropship-runtime` to see why");
    }
    Ok(())
}
