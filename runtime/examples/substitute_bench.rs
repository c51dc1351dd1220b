//! Substitution throughput compared with copying the same bytes.
//!
//! Generates 2,000 configuration-like files (~50 MB, `#{...}` tokens every few lines) in a temp
//! directory, then times, median of 5 runs each:
//!
//! - `copy`: read every file and write it to another directory (no fsync);
//! - `copy+fsync`: the same with an fsync per file, the durability the atomic write gives;
//! - `read+eval`: glob, read, decode and evaluate every file, writing nothing (the CPU share);
//! - `substitute`: `plan_substitution` + `apply_substitution` over the files in place (glob walk,
//!   decode, evaluate, atomic write with fsync and rename).
//!
//! Run: `cargo run --release -p dropship-runtime --example substitute_bench`

use dropship_runtime::template::{self, Mode, Variables};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use dropship_runtime::config::{
    HookError, SubstituteOptions, SubstitutionError, apply_substitution, plan_substitution,
    read_text_file,
};

const FILES: usize = 2_000;
const FILE_BYTES: usize = 25_000;
const RUNS: usize = 5;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> Result<()> {
    let root = tempfile::tempdir()?;
    let pristine = root.path().join("pristine");
    let total = generate(&pristine)?;
    let variables = variables();
    // The same engine the installer uses: Octostache in Calamari's continue mode.
    let evaluator = |text: &str| -> std::result::Result<String, SubstitutionError> {
        template::evaluate(text, &variables, Mode::Continue)
            .map(|e| e.output.unwrap_or_default())
            .map_err(|e| SubstitutionError {
                message: e.to_string(),
                partial_output: None,
            })
    };

    let mut copy = Vec::new();
    let mut copy_fsync = Vec::new();
    let mut evaluate_only = Vec::new();
    let mut substitute = Vec::new();
    for run in 0..RUNS {
        // Each run writes a fresh tree, removed afterwards so the disk holds at most two copies.
        let target = root.path().join(format!("copy-{run}"));
        copy.push(time(|| copy_tree(&pristine, &target, false))?);
        fs::remove_dir_all(&target)?;
        copy_fsync.push(time(|| copy_tree(&pristine, &target, true))?);
        fs::remove_dir_all(&target)?;
        let work = root.path().join(format!("work-{run}"));
        // Flushed before timing, so the substitution does not pay for this copy's writeback.
        copy_tree(&pristine, &work, true)?;
        evaluate_only.push(time(|| {
            let plan = plan_substitution(&[work.as_path()], &["**/*.config".to_string()])?;
            for file in &plan.files {
                let text = read_text_file(file)?;
                evaluator(&text.text)?;
            }
            Ok(())
        })?);
        substitute.push(time(|| {
            let plan = plan_substitution(&[work.as_path()], &["**/*.config".to_string()])?;
            let mut no_backup = |_: &Path| -> std::result::Result<(), HookError> { Ok(()) };
            let report = apply_substitution(
                &plan,
                &evaluator,
                SubstituteOptions::default(),
                &mut no_backup,
            )?;
            if report.changed.len() != FILES {
                return Err(format!(
                    "expected {FILES} changed files, got {}",
                    report.changed.len()
                )
                .into());
            }
            Ok(())
        })?);
        fs::remove_dir_all(&work)?;
    }
    print_table(
        total,
        &[
            ("copy", copy),
            ("copy+fsync", copy_fsync),
            ("read+eval", evaluate_only),
            ("substitute", substitute),
        ],
    );
    Ok(())
}

fn variables() -> Variables {
    let mut variables = Variables::new();
    for i in 0..50 {
        variables.set(
            format!("Var{i}"),
            Some(format!("value-{i}-{}", "x".repeat(i % 7))),
        );
    }
    variables.set("Environment", Some("Production".to_string()));
    variables
}

/// Write the test files; returns their total size in bytes.
fn generate(dir: &Path) -> Result<usize> {
    let mut total = 0;
    for i in 0..FILES {
        let path = dir.join(format!("app{}/conf{}/settings-{i}.config", i % 10, i % 7));
        fs::create_dir_all(path.parent().ok_or("no parent")?)?;
        let text = config_text(i);
        total += text.len();
        fs::write(&path, text)?;
    }
    Ok(total)
}

fn config_text(seed: usize) -> String {
    let mut text = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<configuration>\r\n  <appSettings>\r\n",
    );
    let mut line = 0;
    while text.len() < FILE_BYTES {
        let n = (seed + line) % 50;
        let entry = match line % 4 {
            0 => format!("    <add key=\"Setting{line}\" value=\"#{{Var{n}}}\" />\r\n"),
            1 => {
                format!("    <!-- {line}: plain comment text that carries no tokens at all -->\r\n")
            }
            2 => format!(
                "    <add key=\"Url{line}\" value=\"https://#{{Environment}}.example.com/api/v{n}\" />\r\n"
            ),
            _ => {
                format!("    <add key=\"Unknown{line}\" value=\"#{{NotDefined{n}}} stays\" />\r\n")
            }
        };
        text.push_str(&entry);
        line += 1;
    }
    text.push_str("  </appSettings>\r\n</configuration>\r\n");
    text
}

fn copy_tree(from: &Path, to: &Path, fsync: bool) -> Result<()> {
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let target: PathBuf = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            fs::create_dir_all(&target)?;
            copy_tree(&entry.path(), &target, fsync)?;
        } else {
            let bytes = fs::read(entry.path())?;
            let mut file = fs::File::create(&target)?;
            file.write_all(&bytes)?;
            if fsync {
                file.sync_all()?;
            }
        }
    }
    Ok(())
}

fn time(mut run: impl FnMut() -> Result<()>) -> Result<Duration> {
    let start = Instant::now();
    run()?;
    Ok(start.elapsed())
}

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

fn print_table(total: usize, rows: &[(&str, Vec<Duration>)]) {
    let megabytes = total as f64 / 1_000_000.0;
    println!("{FILES} files, {megabytes:.1} MB, median of {RUNS} runs");
    println!(
        "{:<12} {:>10} {:>10} {:>16}",
        "operation", "time (s)", "MB/s", "vs copy"
    );
    let copy = median(rows[0].1.clone()).as_secs_f64();
    for (name, runs) in rows {
        let seconds = median(runs.clone()).as_secs_f64();
        println!(
            "{name:<12} {seconds:>10.3} {:>10.1} {:>15.2}x",
            megabytes / seconds,
            seconds / copy
        );
    }
}
