//! Timing one operation, or two in alternation: runs of a bash script under `/usr/bin/time`,
//! after an untimed warm-up and with `sync` before each, reduced to the medians of wall time and
//! peak RSS (and of the pairs' ratios).

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

/// One operation: a label, a bash script and its standard input, and what to do (untimed)
/// before each run.
pub struct Op<'a> {
    pub label: &'a str,
    pub script: &'a str,
    pub stdin: Option<&'a str>,
    pub before: &'a dyn Fn(),
}

/// Two operations measured in alternation ([`Bench::paired`]).
#[derive(Clone, Copy)]
pub struct Pair {
    pub a: Stat,
    pub b: Stat,
    /// The median of the runs' ratios a / b: steadier than the ratio of the medians when the
    /// machine's load changes between runs.
    pub ratio: f64,
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
        let op = Op {
            label,
            script,
            stdin,
            before,
        };
        // One untimed warm-up run first: on this VM the first write of fresh page-cache memory
        // in a while costs up to 1 s per GiB more (the host backs the pages on first touch),
        // which otherwise lands in whichever tool happens to run first.
        self.run(&op, 0)?;
        let runs = (1..=self.runs)
            .map(|run| self.run(&op, run))
            .collect::<Result<Vec<_>>>()?;
        Ok(medians(&runs))
    }

    /// `a` and `b` in alternation, `a b a b ...`, after a warm-up run of each, so that both meet
    /// the same moments of a shared machine; the medians of each and of the runs' ratios a / b.
    pub fn paired(&self, a: &Op, b: &Op) -> Result<Pair> {
        self.run(a, 0)?;
        self.run(b, 0)?;
        let mut pairs = Vec::new();
        for run in 1..=self.runs {
            pairs.push((self.run(a, run)?, self.run(b, run)?));
        }
        let (ours, theirs): (Vec<_>, Vec<_>) = pairs.iter().copied().unzip();
        let mut ratios: Vec<f64> = pairs.iter().map(|(a, b)| a.secs / b.secs).collect();
        Ok(Pair {
            a: medians(&ours),
            b: medians(&theirs),
            ratio: median(&mut ratios),
        })
    }

    /// Run `op` once after its `before` and a `sync` (every run starts with no dirty pages left
    /// by the one before, or by generating the drop: their write-back otherwise lands in
    /// whichever run follows); run 0 is the untimed warm-up.
    fn run(&self, op: &Op, run: usize) -> Result<Stat> {
        (op.before)();
        let _ = Command::new("sync").status();
        let (secs, rss_kib) = self.once(op.script, op.stdin)?;
        if run > 0 {
            eprintln!(
                "  {:<40} run {run}: {secs:>8.3} s {rss_kib:>8} KiB",
                op.label
            );
        }
        Ok(Stat { secs, rss_kib })
    }

    /// Build, `info`, verify and extract, in that order; `clean` runs before each extraction.
    pub fn packaging(&self, commands: &PackagingCommands, clean: &dyn Fn()) -> Result<Packaging> {
        let mut packaging = self.build_and_check(commands)?;
        let (label, script) = &commands.extract;
        packaging.extract = self.measure(label, script, None, clean)?;
        Ok(packaging)
    }

    /// Build, `info` and verify, in that order; the extraction is left for the caller to
    /// measure (at zero).
    pub fn build_and_check(&self, commands: &PackagingCommands) -> Result<Packaging> {
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
        Ok(Packaging {
            build,
            size: size_of(archive),
            info,
            verify,
            extract: Stat::default(),
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

/// The medians of the runs' times and peak RSS.
fn medians(runs: &[Stat]) -> Stat {
    let mut secs: Vec<f64> = runs.iter().map(|r| r.secs).collect();
    let mut rss: Vec<f64> = runs.iter().map(|r| r.rss_kib as f64).collect();
    Stat {
        secs: median(&mut secs),
        rss_kib: median(&mut rss) as u64,
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_take_the_middle_run_or_the_mean_of_the_two_middle_ones() {
        let runs = [3.0, 1.0, 2.0].map(|secs| Stat { secs, rss_kib: 0 });
        assert_eq!(medians(&runs).secs, 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), 2.5);
    }

    #[test]
    fn peak_rss_is_the_last_number_time_wrote() {
        assert_eq!(
            peak_rss("Command exited with non-zero status 1\n5120\n").unwrap(),
            5120
        );
        assert!(peak_rss("").is_err());
    }
}
