//! Proof that a Linux stub is static: an x86-64 ELF with no program interpreter (`PT_INTERP`, the
//! `ld-linux` that loads glibc) and no `DT_NEEDED` entry, so it needs no shared library — no glibc
//! symbol of any version — and starts on any Linux kernel.

use crate::Result;
use std::path::Path;

const PT_DYNAMIC: u32 = 2;
const PT_INTERP: u32 = 3;
const DT_NEEDED: u64 = 1;

/// Fail unless the ELF file at `path` is static.
pub fn check_static(path: &Path) -> Result<()> {
    let bytes = std::fs::read(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    match dynamic_dependency(&bytes) {
        Ok(None) => Ok(()),
        Ok(Some(why)) => Err(format!("{} is not static: {why}", path.display())),
        Err(why) => Err(format!("{}: {why}", path.display())),
    }
}

/// Why the ELF image `bytes` needs something at load time, or `None` when it is static.
fn dynamic_dependency(bytes: &[u8]) -> Result<Option<String>> {
    if !bytes.starts_with(b"\x7fELF\x02\x01") {
        return Err("not a 64-bit little-endian ELF file".into());
    }
    let phoff = u64_at(bytes, 0x20)?;
    let (entry_size, count) = (u16_at(bytes, 0x36)?, u16_at(bytes, 0x38)?);
    for index in 0..u64::from(count) {
        let header = phoff + index * u64::from(entry_size);
        match u32_at(bytes, header)? {
            PT_INTERP => return Ok(Some("it names a program interpreter (PT_INTERP)".into())),
            PT_DYNAMIC => {
                let (offset, size) = (u64_at(bytes, header + 8)?, u64_at(bytes, header + 32)?);
                if needs_library(bytes, offset, size)? {
                    return Ok(Some("it needs a shared library (DT_NEEDED)".into()));
                }
            }
            _ => {}
        }
    }
    Ok(None)
}

/// Whether the dynamic section at `offset` (a static-pie binary has one, for its own
/// relocations) lists a needed library.
fn needs_library(bytes: &[u8], offset: u64, size: u64) -> Result<bool> {
    for entry in (offset..offset + size).step_by(16) {
        match u64_at(bytes, entry)? {
            0 => return Ok(false),
            DT_NEEDED => return Ok(true),
            _ => {}
        }
    }
    Ok(false)
}

fn field<const N: usize>(bytes: &[u8], at: u64) -> Result<[u8; N]> {
    usize::try_from(at)
        .ok()
        .and_then(|at| bytes.get(at..at.checked_add(N)?))
        .and_then(|slice| slice.try_into().ok())
        .ok_or_else(|| format!("truncated ELF file (offset {at})"))
}

fn u16_at(bytes: &[u8], at: u64) -> Result<u16> {
    field(bytes, at).map(u16::from_le_bytes)
}

fn u32_at(bytes: &[u8], at: u64) -> Result<u32> {
    field(bytes, at).map(u32::from_le_bytes)
}

fn u64_at(bytes: &[u8], at: u64) -> Result<u64> {
    field(bytes, at).map(u64::from_le_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This test program is linked against glibc (the workspace's host target): the check must
    /// see it.
    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn a_glibc_executable_is_dynamic() {
        let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        assert!(dynamic_dependency(&me).unwrap().is_some());
    }

    #[test]
    fn garbage_is_an_error_not_static() {
        assert!(dynamic_dependency(b"MZ").is_err());
        assert!(dynamic_dependency(b"\x7fELF\x02\x01").is_err());
    }
}
