//! Finding the runtime stub that becomes every installer, for the platform the customer runs:
//! `--runtime PATH`, else `dropship-runtime-<platform>[.exe]` beside `dropship` (the layout
//! `cargo run -p xtask -- dist` writes), else, for this machine's own platform, the
//! `dropship-runtime` cargo builds beside `dropship`. Under `cargo run` a missing host stub is built
//! first, so the README's single `cargo run ... -- demo` works on a fresh checkout. Whatever is
//! found must be an executable of the named platform: an installer built from the wrong one
//! would not start on the customer's machine.

use crate::failure::OnMachine;
use anyhow::{Context, Result, bail};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A platform an installer can be built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Platform {
    /// Linux on x86-64 (the static musl stub runs on any distribution)
    #[value(name = "linux-x86_64")]
    LinuxX86_64,
    /// Windows on x86-64
    #[value(name = "windows-x86_64")]
    WindowsX86_64,
}

impl Platform {
    /// The platform `dropship` itself runs on, when it is one of ours.
    fn host() -> Option<Self> {
        match (std::env::consts::OS, std::env::consts::ARCH) {
            ("linux", "x86_64") => Some(Platform::LinuxX86_64),
            ("windows", "x86_64") => Some(Platform::WindowsX86_64),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Platform::LinuxX86_64 => "linux-x86_64",
            Platform::WindowsX86_64 => "windows-x86_64",
        }
    }

    /// What the platform's executables end with.
    pub fn exe_suffix(self) -> &'static str {
        match self {
            Platform::LinuxX86_64 => "",
            Platform::WindowsX86_64 => ".exe",
        }
    }

    /// The stub's name in a distribution: `dropship-runtime-<platform>[.exe]`.
    fn stub_name(self) -> String {
        format!("dropship-runtime-{}{}", self.name(), self.exe_suffix())
    }

    /// Whether `head` (the first bytes of a file) starts an executable of this platform: an
    /// x86-64 ELF, or an x86-64 PE image.
    fn matches(self, head: &[u8]) -> bool {
        match self {
            Platform::LinuxX86_64 => is_elf_x86_64(head),
            Platform::WindowsX86_64 => is_pe_x86_64(head),
        }
    }
}

/// ELF, 64-bit, little-endian, `e_machine` x86-64 (62).
fn is_elf_x86_64(head: &[u8]) -> bool {
    head.starts_with(b"\x7fELF\x02\x01") && head.get(18..20) == Some(&[62, 0][..])
}

/// `MZ`, then at `e_lfanew` the `PE\0\0` signature and machine AMD64 (0x8664).
fn is_pe_x86_64(head: &[u8]) -> bool {
    let Some(offset) = head.get(0x3c..0x40) else {
        return false;
    };
    let offset = u32::from_le_bytes([offset[0], offset[1], offset[2], offset[3]]) as usize;
    head.starts_with(b"MZ")
        && head.get(offset..offset + 4) == Some(&b"PE\0\0"[..])
        && head.get(offset + 4..offset + 6) == Some(&[0x64, 0x86][..])
}

/// The name cargo gives the stub it builds for this machine.
const CARGO_STUB_NAME: &str = if cfg!(windows) {
    "dropship-runtime.exe"
} else {
    "dropship-runtime"
};

/// The runtime stub for `platform`, checked to be one of its executables.
pub fn locate(explicit: Option<&Path>, platform: Platform) -> Result<PathBuf> {
    let stub = match explicit {
        Some(path) => {
            if !path.is_file() {
                bail!(
                    "runtime `{}` does not exist; pass the path of a built `dropship-runtime`",
                    path.display()
                );
            }
            path.to_path_buf()
        }
        None => find_beside_dropship(platform)?,
    };
    check_platform(&stub, platform)?;
    Ok(stub)
}

/// The stub for this machine's platform (the demo runs its installer here).
pub fn locate_host(explicit: Option<&Path>) -> Result<PathBuf> {
    let Some(platform) = Platform::host() else {
        bail!(
            "this machine is {}-{}; installers run on linux-x86_64 and windows-x86_64",
            std::env::consts::OS,
            std::env::consts::ARCH
        );
    };
    locate(explicit, platform)
}

fn find_beside_dropship(platform: Platform) -> Result<PathBuf> {
    let exe = std::env::current_exe().machine_io(|| "finding the dropship executable".into())?;
    let dist = exe.with_file_name(platform.stub_name());
    if dist.is_file() {
        return Ok(dist);
    }
    if Platform::host() != Some(platform) {
        bail!(
            "no {} runtime stub (`{}`) beside `{}`; build them all with `cargo run --release -p xtask -- dist` or pass `--runtime PATH`",
            platform.name(),
            platform.stub_name(),
            exe.display()
        );
    }
    let beside = exe.with_file_name(CARGO_STUB_NAME);
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

/// Refuse a stub that is not an executable of `platform`.
fn check_platform(stub: &Path, platform: Platform) -> Result<()> {
    let mut head = Vec::with_capacity(4096);
    std::fs::File::open(stub)
        .and_then(|file| file.take(4096).read_to_end(&mut head))
        .machine_io(|| format!("reading the runtime stub `{}`", stub.display()))?;
    if !platform.matches(&head) {
        bail!(
            "runtime `{}` is not a {} executable; pass the stub built for that platform (`{}` from `cargo run --release -p xtask -- dist`) or choose its `--platform`",
            stub.display(),
            platform.name(),
            platform.stub_name()
        );
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executables_are_recognised_by_platform() {
        let elf = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        assert!(Platform::LinuxX86_64.matches(&elf) == cfg!(all(unix, target_arch = "x86_64")));
        let mut pe = vec![0u8; 0x100];
        pe[..2].copy_from_slice(b"MZ");
        pe[0x3c] = 0x80;
        pe[0x80..0x86].copy_from_slice(b"PE\0\0\x64\x86");
        assert!(Platform::WindowsX86_64.matches(&pe));
        assert!(!Platform::LinuxX86_64.matches(&pe));
        assert!(!Platform::WindowsX86_64.matches(&elf));
        pe[0x84] = 0x4c; // i386
        assert!(!Platform::WindowsX86_64.matches(&pe));
        assert!(!Platform::WindowsX86_64.matches(b"MZ"));
    }
}
