//! `cargo run --release -p xtask -- dist`: `dist/` with the `dropship` bundler for this machine
//! and one runtime stub per customer platform, named as `dropship build --platform` looks for
//! them beside `dropship`:
//!
//! - `dropship-runtime-linux-x86_64`: static (musl), so an installer starts on any Linux, however
//!   old its glibc; checked here to need no shared library at all ([`elf`]);
//! - `dropship-runtime-windows-x86_64.exe`: built with the MinGW-w64 toolchain.
//!
//! The rustup targets and the apt packages of their C toolchains (zstd is C) are installed when
//! missing. `DROPSHIP_TRUSTED_KEYS` pins keys into every stub, as for any runtime build.

mod elf;

use crate::Result;
use crate::system::{ensure_apt, sh};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A stub to build: the Rust target, the apt package of its C compiler and the compiler's name.
struct Stub {
    platform: &'static str,
    target: &'static str,
    apt: &'static str,
    compiler: &'static str,
    exe: &'static str,
}

const STUBS: [Stub; 2] = [
    Stub {
        platform: "linux-x86_64",
        target: "x86_64-unknown-linux-musl",
        apt: "musl-tools",
        compiler: "musl-gcc",
        exe: "",
    },
    Stub {
        platform: "windows-x86_64",
        target: "x86_64-pc-windows-gnu",
        apt: "gcc-mingw-w64-x86-64",
        compiler: "x86_64-w64-mingw32-gcc",
        exe: ".exe",
    },
];

pub fn run() -> Result<()> {
    let root = workspace_root();
    let dist = root.join("dist");
    std::fs::create_dir_all(&dist).map_err(|e| format!("creating {}: {e}", dist.display()))?;
    ensure_apt(&STUBS.map(|s| (s.compiler, s.apt)))?;
    ensure_targets()?;
    cargo(
        &root,
        &["build", "--release", "-p", "dropship", "--bin", "dropship"],
    )?;
    let bundler = format!("dropship{}", std::env::consts::EXE_SUFFIX);
    copy(
        &root.join("target/release").join(&bundler),
        &dist.join(&bundler),
    )?;
    for stub in &STUBS {
        cargo(
            &root,
            &[
                "build",
                "--release",
                "-p",
                "dropship-runtime",
                "--bin",
                "dropship-runtime",
            ]
            .into_iter()
            .chain(["--target", stub.target])
            .collect::<Vec<_>>(),
        )?;
        let built = root
            .join("target")
            .join(stub.target)
            .join("release")
            .join(format!("dropship-runtime{}", stub.exe));
        let out = dist.join(format!("dropship-runtime-{}{}", stub.platform, stub.exe));
        copy(&built, &out)?;
        if stub.exe.is_empty() {
            elf::check_static(&out)?;
        } else {
            check_manifest(&out)?;
        }
        println!("{}", out.display());
    }
    println!("{}", dist.join(&bundler).display());
    Ok(())
}

/// The Windows stub carries its manifest (`runtime/windows/runtime.manifest`, embedded by the
/// runtime's build script): long paths, no automatic elevation.
fn check_manifest(exe: &Path) -> Result<()> {
    let bytes = std::fs::read(exe).map_err(|e| format!("reading {}: {e}", exe.display()))?;
    let has = |needle: &str| bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
    match has("longPathAware") && has("asInvoker") {
        true => Ok(()),
        false => Err(format!("{} has no application manifest", exe.display())),
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits in the workspace")
        .to_path_buf()
}

/// `rustup target add` the stubs' targets this toolchain lacks.
fn ensure_targets() -> Result<()> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map_err(|e| format!("running rustup: {e}"))?;
    let installed = String::from_utf8_lossy(&installed.stdout);
    let missing: Vec<&str> = STUBS
        .iter()
        .map(|s| s.target)
        .filter(|t| !installed.lines().any(|line| line.trim() == *t))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    sh(&format!("rustup target add {}", missing.join(" ")))
}

fn cargo(root: &Path, args: &[&str]) -> Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args(args)
        .current_dir(root)
        .status()
        .map_err(|e| format!("running cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`cargo {}` failed ({status})", args.join(" ")))
    }
}

fn copy(from: &Path, to: &Path) -> Result<()> {
    std::fs::copy(from, to)
        .map(drop)
        .map_err(|e| format!("copying {} to {}: {e}", from.display(), to.display()))
}
