//! Timing one operation: runs of a bash script under `/usr/bin/time`, after an untimed warm-up
//! and with `sync` before each, reduced to the medians of wall time and peak RSS.

use super::tools::{remove, size_of};
use crate::Result;
use std::fs;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

/// One measured operation: medians over the runs.
#[derive(Clone, Copy, Default)]
pub struct Stat {
    pub secs: f64,
    pub rss_kib: u64,
}

/// What the benchmark measures of one way to package the drop: a dropship codec or a standard
/// tool. `info` is `None` for tools without such a command.
pub struct Packaging {
    pub build: Stat,
    pub size: u64,
    pub info: Option<Stat>,
    pub verify: Stat,
    pub extract: Stat,
}

/// The commands of one way to package the drop, each a label and a bash script.
pub struct PackagingCommands {
    /// What `build` writes: removed before each build run, its size measured after.
    pub archive: PathBuf,
    pub build: (String, String),
    pub info: Option<(String, String)>,
    pub verify: (String, String),
    /// Extracts into a directory that `clean` (given to [`Bench::packaging`]) empties.
    pub extract: (String, String),
}

/// Where and how often operations run.
pub struct Bench {
    /// The working directory of every run.
    pub work: PathBuf,
    pub runs: usize,
    /// The last run's output, shown when it fails.
    pub log: PathBuf,
}

impl Bench {
    /// Run `script` (bash, `set -eo pipefail`) `runs` times under `/usr/bin/time`, calling
    /// `before` ahead of each run (untimed, e.g. to empty the target directory); medians.
    pub fn measure(
        &self,
        label: &str,
        script: &str,
        stdin: Option<&str>,
        before: &dyn Fn(),
    ) -> Result<Stat> {
        let mut secs = Vec::new();
        let mut rss = Vec::new();
        // One untimed warm-up run first: on this VM the first write of fresh page-cache memory
        // in a while costs up to 1 s per GiB more (the host backs the pages on first touch),
        // which otherwise lands in whichever tool happens to run first.
        for run in 0..=self.runs {
            before();
            // Every run starts with no dirty pages left by the one before (or by generating the
            // drop): the write-back of earlier output otherwise lands in whichever run follows.
            let _ = Command::new("sync").status();
            if run == 0 {
                self.once(script, stdin)?;
                continue;
            }
            let (s, r) = self.once(script, stdin)?;
            eprintln!("  {label:<40} run {run}: {s:>8.3} s {r:>8} KiB");
            secs.push(s);
            rss.push(r as f64);
        }
        Ok(Stat {
            secs: median(&mut secs),
            rss_kib: median(&mut rss) as u64,
        })
    }

    /// Build, `info`, verify and extract, in that order; `clean` runs before each extraction.
    pub fn packaging(&self, commands: &PackagingCommands, clean: &dyn Fn()) -> Result<Packaging> {
        let archive = &commands.archive;
        let (label, script) = &commands.build;
        let build = self.measure(label, script, None, &|| remove(archive))?;
        let info = commands
            .info
            .as_ref()
            .map(|(label, script)| self.measure(label, script, None, &|| {}))
            .transpose()?;
        let (label, script) = &commands.verify;
        let verify = self.measure(label, script, None, &|| {})?;
        let (label, script) = &commands.extract;
        let extract = self.measure(label, script, None, clean)?;
        Ok(Packaging {
            build,
            size: size_of(archive),
            info,
            verify,
            extract,
        })
    }

    /// One run: wall time measured here around the process, peak RSS from `/usr/bin/time`.
    fn once(&self, script: &str, stdin: Option<&str>) -> Result<(f64, u64)> {
        let rss_file = self.work.join("rss.txt");
        let log = fs::File::create(&self.log).map_err(|e| e.to_string())?;
        let mut child = Command::new("/usr/bin/time")
            .args(["-f", "%M", "-o"])
            .arg(&rss_file)
            .args(["bash", "-c"])
            .arg(format!("set -eo pipefail\n{script}"))
            .current_dir(&self.work)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("running /usr/bin/time: {e}"))?;
        let start = Instant::now();
        if let Some(text) = stdin {
            let mut pipe = child.stdin.take().expect("piped");
            pipe.write_all(text.as_bytes()).map_err(|e| e.to_string())?;
        }
        let status = child.wait().map_err(|e| e.to_string())?;
        let secs = start.elapsed().as_secs_f64();
        if !status.success() {
            let out = fs::read_to_string(&self.log).unwrap_or_default();
            return Err(format!("`{script}` failed ({status}):\n{out}"));
        }
        Ok((
            secs,
            peak_rss(&fs::read_to_string(&rss_file).map_err(|e| e.to_string())?)?,
        ))
    }
}

/// The KiB `/usr/bin/time -f %M` wrote: its last number (a status line may come first).
fn peak_rss(text: &str) -> Result<u64> {
    text.lines()
        .filter_map(|l| l.trim().parse::<u64>().ok())
        .next_back()
        .ok_or_else(|| format!("no RSS from /usr/bin/time: {text}"))
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}
