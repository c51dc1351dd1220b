//! dropship's own operations: build, `info`, verify and verify+extract with each codec,
//! unattended installs (of the sample plan, of a plan of packages), and batch builds.

use super::fixture::Fixture;
use super::measure::{Bench, Packaging, PackagingCommands, Stat};
use super::tools::q;
use crate::Result;
use std::fs;
use std::path::{Path, PathBuf};

/// The codecs measured; the first is the default and the one compared with the other tools.
pub const CODECS: [&str; 3] = ["zstd", "gzip", "none"];

pub struct CodecResult {
    pub codec: &'static str,
    pub packaging: Packaging,
}

/// Build, `info`, verify and verify+extract with every codec, in [`CODECS`] order.
pub fn codecs(b: &Bench, f: &Fixture) -> Result<Vec<CodecResult>> {
    CODECS
        .into_iter()
        .map(|codec| with_codec(b, f, codec))
        .collect()
}

/// Build, `info`, verify and verify+extract with `codec`.
pub fn with_codec(b: &Bench, f: &Fixture, codec: &'static str) -> Result<CodecResult> {
    eprintln!("dropship --compression {codec}");
    Ok(CodecResult {
        codec,
        packaging: b.packaging(&commands(f, codec), &|| f.clean_dest())?,
    })
}

/// Build, `info`, verify and verify+extract with `codec`, as scripts.
pub fn commands(f: &Fixture, codec: &str) -> PackagingCommands {
    let archive = installer(f, codec);
    let (installer, trust) = (q(&archive), f.trust());
    PackagingCommands {
        build: (
            format!("dropship build ({codec})"),
            f.build_command(codec, &archive, &f.customers[..1]),
        ),
        info: Some((format!("info ({codec})"), format!("{installer} info"))),
        verify: (
            format!("verify ({codec})"),
            format!("{installer} verify {trust}"),
        ),
        extract: (
            format!("verify+extract ({codec})"),
            format!("{installer} extract --to {} {trust}", q(&f.extracted())),
        ),
        archive,
    }
}

/// The installer built with `codec`.
pub fn installer(f: &Fixture, codec: &str) -> PathBuf {
    f.out.join(format!("installer-{codec}"))
}

/// An unattended install of the sample plan (the whole payload is verified and unpacked), whose
/// answers and drop are in `sample`.
pub fn install(b: &Bench, f: &Fixture, sample: &Path) -> Result<Stat> {
    eprintln!("dropship install");
    let secret = r#"{"Database.Password":"correct-horse-battery"}"#;
    let options = format!(
        "--answers {} --set Install.Root={} --secrets-stdin --role web",
        q(&sample.join("answers.json")),
        q(&install_root(f))
    );
    b.measure(
        "install --unattended",
        &install_script(f, &options),
        Some(secret),
        &|| f.clean_dest(),
    )
}

/// The script of an unattended install of a plan whose only parameter is `Install.Root`.
pub fn install_into_root(f: &Fixture) -> String {
    install_script(f, &format!("--set Install.Root={}", q(&install_root(f))))
}

/// Where installs put the product (emptied before each run with the rest of `f.dest`).
pub fn install_root(f: &Fixture) -> PathBuf {
    f.dest.join("root")
}

/// An unattended install of the default codec's installer with `options`, into `f.dest`
/// (which [`Fixture::clean_dest`] empties).
fn install_script(f: &Fixture, options: &str) -> String {
    format!(
        "{} install --unattended --no-progress {options} --state-dir {} {}",
        q(&installer(f, CODECS[0])),
        q(&f.dest.join("state")),
        f.trust()
    )
}

/// Ten customers' installers: one batch build, ten separate builds, and the bare writing of ten
/// installer-sized files (what no batch can avoid); `one` is a single build, for the ratios.
pub struct Batch {
    pub one: Stat,
    pub ten: Stat,
    pub ten_separate: Stat,
    pub ten_copies: Stat,
}

pub fn batch(b: &Bench, f: &Fixture, one: Stat) -> Result<Batch> {
    eprintln!("dropship batch build");
    let dir = f.out.join("batch");
    let clean = || {
        let _ = fs::remove_dir_all(&dir);
    };
    let ten = b.measure(
        "dropship build (10 customers)",
        &f.build_command(CODECS[0], &dir, &f.customers),
        None,
        &clean,
    )?;
    let separate: Vec<String> = f
        .customers
        .iter()
        .enumerate()
        .map(|(i, c)| f.build_command(CODECS[0], &dir.join(i.to_string()), std::slice::from_ref(c)))
        .collect();
    let ten_separate = b.measure(
        "dropship build × 10 (separately)",
        &format!("mkdir -p {} && {}", q(&dir), separate.join(" && ")),
        None,
        &clean,
    )?;
    let ten_copies = b.measure(
        "cp installer × 10",
        &format!(
            "mkdir -p {dir} && for i in 0 1 2 3 4 5 6 7 8 9; do cp {} {dir}/$i; done",
            q(&installer(f, CODECS[0])),
            dir = q(&dir)
        ),
        None,
        &clean,
    )?;
    clean();
    Ok(Batch {
        one,
        ten,
        ten_separate,
        ten_copies,
    })
}
