//! `cargo run --release -p xtask -- bench [--only large|packages|small-files] [--quick]
//! [--size-mb N] [--files N] [--packages N] [--runs N] [--keep]`
//!
//! Three scenarios, each on a drop generated for it, each timed in the same run against the
//! standard tools on the same drop and printed as markdown tables with the ratios against the
//! bars of the benchmark issues (`--only` runs one, and may be given more than once):
//!
//! * `large`: a realistic Offline Package Drop of about N MB (`--size-mb`, default 500:
//!   incompressible package bytes, as in real `.nupkg`/`.zip` packages, plus a few MB of scripts
//!   and JSON, plus the sample plan's own files). dropship: build (pack + sign), installer size,
//!   `info`, `verify`, `extract` (verify+extract in one pass), an unattended `install` of the
//!   sample plan; the same drop through `tar cf`/`tar xf`, `tar czf`/`tar xzf`,
//!   `tar cf | zstd -T0`/`zstd -d | tar x` and `makeself --sha256` (`--noexec --target`
//!   extraction), `b2sum` of the installer; a batch build for 10 customers against one build, ten
//!   separate builds and ten `cp`s of one installer (the writing no batch avoids), and dropship's
//!   three codecs.
//! * `packages`: N small zip packages (`--packages`, default 200; five files each) and a plan
//!   with one `deploy-package` step per package: the unattended install against `tar xf` of the
//!   drop plus one `unzip -q` per package into its destination.
//! * `small-files`: the sample's drop plus N small text files (`--files`, default 50,000; 200 B
//!   to 8 KB, 50 to a directory): build, verify and verify+extract against `tar cf`, `b2sum` of
//!   the installer and `tar xf`.
//!
//! `--quick` makes the default sizes ten times smaller (50 MB, 5,000 files, 20 packages), for a
//! check in a minute or two; explicit sizes still win.
//!
//! Wall time is measured here around the process; peak RSS is `/usr/bin/time -f %M` (for a
//! pipeline: its largest process). The page cache is warm for everyone (the drop was just
//! written); every measurement starts with an untimed warm-up run, and before every run the
//! previous run's output is removed (moved aside in the two scenarios of many files, see
//! `Fixture::keep_outputs`) and `sync` flushes dirty pages, so no run pays for another's
//! write-back. Where creating many files decides a bar (the small-file extraction, the package
//! install), dropship and the standard tool run in alternation and the bar is on the median of
//! the pairs' ratios: this machine's file creation speed changes from minute to minute. Missing tools are installed with apt-get. This is a measurement, not a test: nothing
//! here fails on a slow machine; the PASS/FAIL column is for the reader.
//!
//! Modules, in the order a run uses them: `tools` (processes, files, installing tools), `drop`
//! and `small_drops` (generating the drops), `fixture` (drop, key and profiles), `scenarios`
//! (what each scenario measures), `measure` (timing one operation), `dropship_ops` and
//! `standard_tools` (what is measured), `tables` (the report).

mod drop;
mod dropship_ops;
mod fixture;
mod measure;
mod scenarios;
mod small_drops;
mod standard_tools;
mod tables;
mod tools;

use crate::Result;
use measure::Bench;
use scenarios::Inputs;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// A scenario: its `--only` name and what measures it.
type Scenario = (
    &'static str,
    fn(&Options, &Bench, &Inputs) -> Result<String>,
);

/// Every scenario, in the order a full run measures them.
const SCENARIOS: [Scenario; 3] = [
    ("large", scenarios::large),
    ("packages", scenarios::packages),
    ("small-files", scenarios::small_files),
];

#[derive(Debug, Default, PartialEq)]
pub struct Options {
    size_mb: Option<u64>,
    files: Option<u64>,
    packages: Option<u64>,
    quick: bool,
    runs: usize,
    keep: bool,
    /// Names of the scenarios to run (all when empty), in [`SCENARIOS`] order.
    only: Vec<&'static str>,
}

impl Options {
    pub fn parse(args: &[String]) -> Result<Self> {
        let mut options = Options {
            runs: 3,
            ..Options::default()
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
                "--size-mb" => options.size_mb = Some(value("--size-mb")?),
                "--files" => options.files = Some(value("--files")?),
                "--packages" => options.packages = Some(value("--packages")?),
                "--runs" => options.runs = value("--runs")? as usize,
                "--quick" => options.quick = true,
                "--keep" => options.keep = true,
                "--only" => options.only.push(scenario_name(it.next())?),
                other => return Err(format!("unknown option `{other}`")),
            }
        }
        Ok(options)
    }

    /// The large drop's size in MB: 500, or 50 with `--quick`.
    fn size_mb(&self) -> u64 {
        self.size_mb.unwrap_or(self.scaled(500))
    }

    /// Small files in the small-file drop: 50,000, or 5,000 with `--quick`.
    fn files(&self) -> u64 {
        self.files.unwrap_or(self.scaled(50_000))
    }

    /// Packages in the package drop: 200, or 20 with `--quick`.
    fn packages(&self) -> u64 {
        self.packages.unwrap_or(self.scaled(200))
    }

    fn scaled(&self, full: u64) -> u64 {
        if self.quick { full / 10 } else { full }
    }

    /// The scenarios to run, in [`SCENARIOS`] order.
    fn scenarios(&self) -> impl Iterator<Item = &Scenario> {
        SCENARIOS
            .iter()
            .filter(|(name, _)| self.only.is_empty() || self.only.contains(name))
    }
}

/// The [`SCENARIOS`] name `arg` gives.
fn scenario_name(arg: Option<&String>) -> Result<&'static str> {
    let names: Vec<&'static str> = SCENARIOS.iter().map(|(name, _)| *name).collect();
    arg.and_then(|a| names.iter().find(|n| **n == a.as_str()).copied())
        .ok_or_else(|| format!("--only needs one of: {}", names.join(", ")))
}

/// Build the release binaries, measure every scenario asked for in a temporary directory of
/// its own (removed when the scenario is done, unless `--keep`), and print its tables.
pub fn run(options: &Options) -> Result<()> {
    let started = Instant::now();
    tools::ensure_tools()?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf();
    let dropship = build_release(&root)?;
    let sample = root.join("templates/sample");
    let inputs = Inputs {
        dropship: &dropship,
        sample: &sample,
    };
    let work = std::env::temp_dir().join(format!("dropship-bench-{}", std::process::id()));
    let mut result = Ok(());
    for (name, measure) in options.scenarios() {
        let dir = work.join(name);
        tools::reset(&dir);
        let b = Bench {
            work: dir.clone(),
            runs: options.runs,
            log: dir.join("last.log"),
        };
        eprintln!("scenario {name}");
        result = measure(options, &b, &inputs).map(|tables| println!("{tables}"));
        if !options.keep {
            let _ = fs::remove_dir_all(&dir);
        }
        if result.is_err() {
            break;
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options> {
        Options::parse(&args.iter().map(|a| a.to_string()).collect::<Vec<_>>())
    }

    fn names(options: &Options) -> Vec<&'static str> {
        options.scenarios().map(|(name, _)| *name).collect()
    }

    #[test]
    fn every_scenario_at_full_size_by_default() {
        let options = parse(&[]).unwrap();
        assert_eq!(names(&options), ["large", "packages", "small-files"]);
        assert_eq!(
            (options.size_mb(), options.files(), options.packages()),
            (500, 50_000, 200)
        );
        assert_eq!(options.runs, 3);
    }

    #[test]
    fn only_picks_scenarios_and_quick_shrinks_what_is_not_given() {
        let options = parse(&[
            "--only", "packages", "--quick", "--only", "large", "--files", "7",
        ])
        .unwrap();
        assert_eq!(names(&options), ["large", "packages"]);
        assert_eq!(
            (options.size_mb(), options.files(), options.packages()),
            (50, 7, 20)
        );
    }

    #[test]
    fn a_wrong_option_names_what_it_needs() {
        let only = parse(&["--only", "huge"]).unwrap_err();
        assert!(only.contains("large, packages, small-files"), "{only}");
        assert!(parse(&["--only"]).is_err());
        assert!(parse(&["--files", "0"]).unwrap_err().contains("--files"));
        assert!(parse(&["--fast"]).unwrap_err().contains("--fast"));
    }
}
