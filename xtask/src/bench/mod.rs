//! `cargo run --release -p xtask -- bench [--size-mb N] [--runs N] [--keep]`
//!
//! Generates a realistic Offline Package Drop of about N MB (default 500: incompressible package
//! bytes, as in real `.nupkg`/`.zip` packages, plus a few MB of scripts and JSON, plus the sample
//! plan's own files), then, in the same run, times every operation N times (default 3) and prints
//! the medians as markdown tables with the ratios against the bars of the benchmark issue:
//!
//! * dropship: build (pack + sign), installer size, `info`, `verify`, `extract` (verify+extract in
//!   one pass), an unattended `install` of the sample plan;
//! * the same drop through `tar cf`/`tar xf`, `tar czf`/`tar xzf`, `tar cf | zstd -T0`/`zstd -d | tar x`
//!   and `makeself --sha256` (`--noexec --target` extraction);
//! * a batch build for 10 customers against one build, ten separate builds and ten `cp`s of one
//!   installer (the writing no batch avoids), and dropship's three codecs.
//!
//! Wall time is measured here around the process; peak RSS is `/usr/bin/time -f %M` (for a
//! pipeline: its largest process). The page cache is warm for everyone (the drop was just
//! written); every measurement starts with an untimed warm-up run, and before every run the
//! previous run's output is removed and `sync` flushes dirty pages, so no run pays for
//! another's write-back. Missing tools are installed with apt-get. This is a measurement, not a test: nothing
//! here fails on a slow machine; the PASS/FAIL column is for the reader.
//!
//! Modules, in the order a run uses them: `tools` (processes, files, installing tools), `drop`
//! (generating the drop), `fixture` (drop, key and profiles), `measure` (timing one operation),
//! `dropship_ops` and `standard_tools` (what is measured), `tables` (the report).

mod drop;
mod dropship_ops;
mod fixture;
mod measure;
mod standard_tools;
mod tables;
mod tools;

use crate::Result;
use fixture::Fixture;
use measure::Bench;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

pub struct Options {
    size_mb: u64,
    runs: usize,
    keep: bool,
}

impl Options {
    pub fn parse(args: &[String]) -> Result<Self> {
        let mut options = Options {
            size_mb: 500,
            runs: 3,
            keep: false,
        };
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            let mut value = |name: &str| -> Result<u64> {
                it.next()
                    .and_then(|v| v.parse().ok())
                    .filter(|v| *v > 0)
                    .ok_or_else(|| format!("{name} needs a positive number"))
            };
            match arg.as_str() {
                "--size-mb" => options.size_mb = value("--size-mb")?,
                "--runs" => options.runs = value("--runs")? as usize,
                "--keep" => options.keep = true,
                other => return Err(format!("unknown option `{other}`")),
            }
        }
        Ok(options)
    }
}

/// Build the release binaries, measure everything in a temporary directory (kept with
/// `--keep`), and print the tables.
pub fn run(options: &Options) -> Result<()> {
    let started = Instant::now();
    tools::ensure_tools()?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf();
    let dropship = build_release(&root)?;
    let work = std::env::temp_dir().join(format!("dropship-bench-{}", std::process::id()));
    tools::reset(&work);
    let b = Bench {
        work: work.clone(),
        runs: options.runs,
        log: work.join("last.log"),
    };
    let result = measure_all(options, &b, &dropship, &root.join("templates/sample"))
        .map(|tables| println!("{tables}"));
    if options.keep {
        eprintln!("kept {}", work.display());
    } else {
        let _ = fs::remove_dir_all(&work);
    }
    eprintln!("benchmark took {:.0} s", started.elapsed().as_secs_f64());
    result
}

/// `dropship` and `dropship-runtime`, built in release mode; the path of `dropship`.
fn build_release(root: &Path) -> Result<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("building the release binaries");
    tools::sh(&format!(
        "cd {} && {cargo} build --release -q -p dropship -p dropship-runtime",
        tools::q(root)
    ))?;
    let target =
        std::env::var("CARGO_TARGET_DIR").map_or_else(|_| root.join("target"), PathBuf::from);
    Ok(target.join("release/dropship"))
}

/// Every measurement, in a fixed order (the order matters on a shared machine), as tables.
fn measure_all(options: &Options, b: &Bench, dropship: &Path, sample: &Path) -> Result<String> {
    let f = Fixture::prepare(&b.work, dropship, sample, options.size_mb)?;
    let codecs = dropship_ops::codecs(b, &f)?;
    let install = dropship_ops::install(b, &f)?;
    let batch = dropship_ops::batch(b, &f, codecs[0].packaging.build)?;
    let tools = standard_tools::measure(b, &f)?;
    Ok(tables::render(&tables::Report {
        drop: &f.generated,
        size_mb: options.size_mb,
        runs: options.runs,
        codecs: &codecs,
        install,
        batch,
        tools,
    }))
}
