//! Project automation. One task so far:
//!
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

use std::fmt::Write as _;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

type Result<T, E = String> = std::result::Result<T, E>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("bench") => Options::parse(&args[1..]).and_then(|o| bench(&o)),
        _ => Err(
            "usage: cargo run --release -p xtask -- bench [--size-mb N] [--runs N] [--keep]".into(),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

struct Options {
    size_mb: u64,
    runs: usize,
    keep: bool,
}

impl Options {
    fn parse(args: &[String]) -> Result<Self> {
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

// ---------------------------------------------------------------------------------------------
// Measuring

/// One measured operation: medians over the runs.
#[derive(Clone, Copy, Default)]
struct Stat {
    secs: f64,
    rss_kib: u64,
}

struct Bench {
    work: PathBuf,
    runs: usize,
    log: PathBuf,
}

impl Bench {
    /// Run `script` (bash, `set -eo pipefail`) `runs` times under `/usr/bin/time`, calling
    /// `before` ahead of each run (untimed, e.g. to empty the target directory); medians.
    fn measure(
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
        let text = fs::read_to_string(&rss_file).map_err(|e| e.to_string())?;
        let kib = text
            .lines()
            .filter_map(|l| l.trim().parse::<u64>().ok())
            .next_back()
            .ok_or_else(|| format!("no RSS from /usr/bin/time: {text}"))?;
        Ok((secs, kib))
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

fn sh(script: &str) -> Result<()> {
    let status = Command::new("bash")
        .args(["-c", &format!("set -eo pipefail\n{script}")])
        .status()
        .map_err(|e| e.to_string())?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{script}` failed ({status})"))
    }
}

fn q(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}

fn size_of(path: &Path) -> u64 {
    fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

fn reset(dir: &Path) {
    let _ = fs::remove_dir_all(dir);
    fs::create_dir_all(dir).expect("creating a benchmark directory");
}

// ---------------------------------------------------------------------------------------------
// The drop

/// xorshift64*: fast, deterministic bytes that no compressor can shrink (like packed packages).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

fn write_random(path: &Path, bytes: u64, seed: u64) -> io::Result<()> {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut out = io::BufWriter::with_capacity(1 << 20, fs::File::create(path)?);
    let mut buf = vec![0u8; 1 << 20];
    let mut left = bytes;
    while left > 0 {
        for chunk in buf.chunks_exact_mut(8) {
            chunk.copy_from_slice(&rng.next().to_le_bytes());
        }
        let n = left.min(buf.len() as u64) as usize;
        out.write_all(&buf[..n])?;
        left -= n as u64;
    }
    out.flush()
}

const WORDS: &[&str] = &[
    "Octopus",
    "Deploy",
    "Fabrikam",
    "Service",
    "Database",
    "Install",
    "Root",
    "Port",
    "Web",
    "Package",
    "Variable",
    "Step",
    "Role",
    "Tenant",
    "Environment",
    "Production",
    "config",
    "appsettings",
    "ConnectionStrings",
    "Logging",
    "Level",
    "Information",
    "true",
    "false",
];

fn write_text(path: &Path, bytes: u64, seed: u64, json: bool) -> io::Result<()> {
    let mut rng = Rng(seed | 1);
    let mut text = String::new();
    if json {
        text.push_str("{\n");
    }
    let mut i = 0u64;
    while (text.len() as u64) < bytes {
        let a = WORDS[(rng.next() % WORDS.len() as u64) as usize];
        let b = WORDS[(rng.next() % WORDS.len() as u64) as usize];
        let n = rng.next() % 10_000;
        if json {
            let _ = writeln!(text, "  \"{a}.{b}.{i}\": \"#{{{a}.{b}}}-{n}\",");
        } else {
            let _ = writeln!(
                text,
                "Write-Host \"{a} {b} {n}\"; ${a}{i} = Get-{b} -Id {n}"
            );
        }
        i += 1;
    }
    if json {
        text.push_str("  \"end\": true\n}\n");
    }
    fs::write(path, text)
}

/// The sample's drop plus generated packages and text, about `size_mb` MB in all.
fn generate_drop(root: &Path, sample: &Path, size_mb: u64) -> Result<(u64, u64)> {
    sh(&format!("cp -r {}/. {}", q(&sample.join("drop")), q(root)))?;
    let packages = root.join("Packages");
    let scripts = root.join("Scripts");
    let variables = root.join("Variables");
    for dir in [&packages, &scripts, &variables] {
        fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    const MB: u64 = 1_000_000;
    let total = size_mb * MB;
    // A few MB of text: scripts and variable sets (about 2 %, at least 1 MB, at most 10 MB).
    let text_total = (total / 50).clamp(MB, 10 * MB);
    let mut files = 0;
    let mut written = 0;
    let mut seed = 1;
    while written < text_total {
        let size = (text_total - written).min(200_000 + (seed % 7) * 100_000);
        let (path, json) = if seed % 2 == 0 {
            (scripts.join(format!("Step{seed:03}.ps1")), false)
        } else {
            (
                variables.join(format!("Deploy Step{seed:03}.variables.json")),
                true,
            )
        };
        write_text(&path, size, seed, json).map_err(|e| e.to_string())?;
        written += size_of(&path);
        files += 1;
        seed += 1;
    }
    // Packages: a realistic mix of large and small, already compressed.
    const SIZES_MB: &[u64] = &[96, 3, 48, 1, 24, 12, 2, 64, 6, 32, 1, 8, 16, 4];
    let mut i = 0;
    while written < total {
        let size = (SIZES_MB[i % SIZES_MB.len()] * MB).min(total - written);
        let path = packages.join(format!("Fabrikam.Component{i:03}.4.12.{i}.nupkg"));
        write_random(&path, size, 1000 + i as u64).map_err(|e| e.to_string())?;
        written += size;
        files += 1;
        i += 1;
    }
    Ok((files, written))
}

// ---------------------------------------------------------------------------------------------
// The benchmark

struct Row {
    name: &'static str,
    cells: [Option<String>; 5],
}

fn secs(s: f64) -> String {
    if s < 1.0 {
        format!("{:.1} ms", s * 1000.0)
    } else {
        format!("{s:.2} s")
    }
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

fn ensure_tools() -> Result<()> {
    let missing: Vec<&str> = [
        ("zstd", "zstd"),
        ("makeself", "makeself"),
        ("/usr/bin/time", "time"),
    ]
    .into_iter()
    .filter(|(tool, _)| {
        !Command::new("bash")
            .args(["-c", &format!("command -v {tool}")])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
    .map(|(_, package)| package)
    .collect();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("installing {}", missing.join(" "));
    let sudo = if is_root() { "" } else { "sudo " };
    sh(&format!(
        "{sudo}apt-get update -qq && DEBIAN_FRONTEND=noninteractive {sudo}apt-get install -y -qq {}",
        missing.join(" ")
    ))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn bench(options: &Options) -> Result<()> {
    let started = Instant::now();
    ensure_tools()?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("building the release binaries");
    sh(&format!(
        "cd {} && {cargo} build --release -q -p dropship -p dropship-runtime",
        q(&root)
    ))?;
    let target =
        std::env::var("CARGO_TARGET_DIR").map_or_else(|_| root.join("target"), PathBuf::from);
    let dropship = target.join("release/dropship");
    let sample = root.join("templates/sample");

    let work = std::env::temp_dir().join(format!("dropship-bench-{}", std::process::id()));
    reset(&work);
    let b = Bench {
        work: work.clone(),
        runs: options.runs,
        log: work.join("last.log"),
    };
    let result = run(options, &b, &dropship, &sample);
    if options.keep {
        eprintln!("kept {}", work.display());
    } else {
        let _ = fs::remove_dir_all(&work);
    }
    eprintln!("benchmark took {:.0} s", started.elapsed().as_secs_f64());
    result
}

fn run(options: &Options, b: &Bench, dropship: &Path, sample: &Path) -> Result<()> {
    let w = &b.work;
    let drop = w.join("src/drop");
    fs::create_dir_all(&drop).map_err(|e| e.to_string())?;
    eprintln!(
        "generating a {} MB drop in {}",
        options.size_mb,
        drop.display()
    );
    let (files, drop_bytes) = generate_drop(&drop, sample, options.size_mb)?;
    let keys = w.join("keys");
    sh(&format!(
        "{} keygen --unencrypted -o {} >/dev/null",
        q(dropship),
        q(&keys)
    ))?;
    let key = keys.join("dropship.key");
    let public = keys.join("dropship.pub");
    let mut customers = Vec::new();
    for i in 1..=10 {
        let path = w.join(format!("customer{i:02}.json"));
        let text = format!(
            r#"{{ "name": "Customer {i:02}", "variables": {{ "Service.Host": "fabrikam.customer{i:02}.local" }}, "roles": ["web"] }}"#
        );
        fs::write(&path, text).map_err(|e| e.to_string())?;
        customers.push(path);
    }
    let plan = sample.join("plan.json");
    let out = w.join("out");
    let dest = w.join("dest");
    fs::create_dir_all(&out).map_err(|e| e.to_string())?;
    let clean_dest = || reset(&dest);
    let nothing = || {};

    let build_cmd = |codec: &str, installer: &Path, customers: &[PathBuf]| {
        let mut c = format!(
            "{} build --drop {} --plan {} --key {} --compression {codec} -o {}",
            q(dropship),
            q(&drop),
            q(&plan),
            q(&key),
            q(installer)
        );
        for customer in customers {
            let _ = write!(c, " --customer {}", q(customer));
        }
        c
    };
    let trust = format!("--trusted-key-file {}", q(&public));

    // --- dropship, per codec (zstd is the default and the one compared with the others) ---
    struct CodecResult {
        codec: &'static str,
        build: Stat,
        size: u64,
        info: Stat,
        verify: Stat,
        extract: Stat,
    }
    let mut codecs = Vec::new();
    for codec in ["zstd", "gzip", "none"] {
        eprintln!("dropship --compression {codec}");
        let installer = out.join(format!("installer-{codec}"));
        let build = b.measure(
            &format!("dropship build ({codec})"),
            &build_cmd(codec, &installer, &customers[..1]),
            None,
            &|| remove(&installer),
        )?;
        let info = b.measure(
            &format!("info ({codec})"),
            &format!("{} info", q(&installer)),
            None,
            &nothing,
        )?;
        let verify = b.measure(
            &format!("verify ({codec})"),
            &format!("{} verify {trust}", q(&installer)),
            None,
            &nothing,
        )?;
        let extract = b.measure(
            &format!("verify+extract ({codec})"),
            &format!(
                "{} extract --to {} {trust}",
                q(&installer),
                q(&dest.join("x"))
            ),
            None,
            &clean_dest,
        )?;
        codecs.push(CodecResult {
            codec,
            build,
            size: size_of(&installer),
            info,
            verify,
            extract,
        });
    }
    let installer = out.join("installer-zstd");

    // --- unattended install of the sample plan (the whole payload is verified and unpacked) ---
    eprintln!("dropship install");
    let secret = r#"{"Database.Password":"correct-horse-battery"}"#;
    let install = b.measure(
        "install --unattended",
        &format!(
            "{} install --unattended --no-progress --answers {} --set Install.Root={} --secrets-stdin --role web --state-dir {} {trust}",
            q(&installer),
            q(&sample.join("answers.json")),
            q(&dest.join("root")),
            q(&dest.join("state"))
        ),
        Some(secret),
        &clean_dest,
    )?;

    // --- batch: 10 customers against 1, against 10 separate builds, and against the bare
    // writing of 10 installer-sized files (what no batch can avoid) ---
    eprintln!("dropship batch build");
    let batch_dir = out.join("batch");
    let clean_batch = || {
        let _ = fs::remove_dir_all(&batch_dir);
    };
    let one = codecs[0].build;
    let ten = b.measure(
        "dropship build (10 customers)",
        &build_cmd("zstd", &batch_dir, &customers),
        None,
        &clean_batch,
    )?;
    let separate: Vec<String> = customers
        .iter()
        .enumerate()
        .map(|(i, c)| {
            build_cmd(
                "zstd",
                &batch_dir.join(i.to_string()),
                std::slice::from_ref(c),
            )
        })
        .collect();
    let ten_separate = b.measure(
        "dropship build × 10 (separately)",
        &format!("mkdir -p {} && {}", q(&batch_dir), separate.join(" && ")),
        None,
        &clean_batch,
    )?;
    let ten_copies = b.measure(
        "cp installer × 10",
        &format!(
            "mkdir -p {dir} && for i in 0 1 2 3 4 5 6 7 8 9; do cp {} {dir}/$i; done",
            q(&installer),
            dir = q(&batch_dir)
        ),
        None,
        &clean_batch,
    )?;
    clean_batch();

    // --- the standard tools on the same drop ---
    eprintln!("standard tools");
    let src = w.join("src");
    let x = dest.join("x");
    let tar = out.join("drop.tar");
    let tgz = out.join("drop.tar.gz");
    let tzst = out.join("drop.tar.zst");
    let run_file = out.join("drop.run");
    let mk = |s: String| s;
    let tar_build = b.measure(
        "tar cf",
        &mk(format!("tar cf {} -C {} drop", q(&tar), q(&src))),
        None,
        &|| remove(&tar),
    )?;
    let tar_verify = b.measure(
        "tar tf",
        &format!("tar tf {} >/dev/null", q(&tar)),
        None,
        &nothing,
    )?;
    let tar_extract = b.measure(
        "tar xf",
        &format!("mkdir -p {x} && tar xf {} -C {x}", q(&tar), x = q(&x)),
        None,
        &clean_dest,
    )?;
    let gz_build = b.measure(
        "tar czf",
        &format!("tar czf {} -C {} drop", q(&tgz), q(&src)),
        None,
        &|| remove(&tgz),
    )?;
    let gz_verify = b.measure("gzip -t", &format!("gzip -t {}", q(&tgz)), None, &nothing)?;
    let gz_extract = b.measure(
        "tar xzf",
        &format!("mkdir -p {x} && tar xzf {} -C {x}", q(&tgz), x = q(&x)),
        None,
        &clean_dest,
    )?;
    let zst_build = b.measure(
        "tar cf | zstd -T0",
        &format!(
            "tar cf - -C {} drop | zstd -T0 -q -f -o {}",
            q(&src),
            q(&tzst)
        ),
        None,
        &|| remove(&tzst),
    )?;
    let zst_verify = b.measure(
        "zstd -t",
        &format!("zstd -t -q {}", q(&tzst)),
        None,
        &nothing,
    )?;
    let zst_extract = b.measure(
        "zstd -d | tar x",
        &format!(
            "mkdir -p {x} && zstd -d -c -q {} | tar xf - -C {x}",
            q(&tzst),
            x = q(&x)
        ),
        None,
        &clean_dest,
    )?;
    let mk_build = b.measure(
        "makeself --sha256",
        &format!(
            "makeself --sha256 --nox11 --quiet {} {} 'Fabrikam Platform' ./Scripts/Configure.sh >/dev/null",
            q(&drop),
            q(&run_file)
        ),
        None,
        &|| remove(&run_file),
    )?;
    let mk_info = b.measure(
        "makeself --info",
        &format!("{} --info >/dev/null", q(&run_file)),
        None,
        &nothing,
    )?;
    let mk_verify = b.measure(
        "makeself --check",
        &format!("{} --check >/dev/null", q(&run_file)),
        None,
        &nothing,
    )?;
    let mk_extract = b.measure(
        "makeself --noexec --target",
        &format!(
            "{} --noexec --nox11 --quiet --target {} >/dev/null",
            q(&run_file),
            q(&x)
        ),
        None,
        &clean_dest,
    )?;

    // --- the tables ---
    let z = &codecs[0];
    let na = || Some("–".to_string());
    let cell_t = |s: Stat| Some(secs(s.secs));
    let cell_m = |s: Stat| Some(mib(s.rss_kib));
    let rows = vec![
        Row {
            name: "build time",
            cells: [
                cell_t(z.build),
                cell_t(tar_build),
                cell_t(gz_build),
                cell_t(zst_build),
                cell_t(mk_build),
            ],
        },
        Row {
            name: "build peak RSS",
            cells: [
                cell_m(z.build),
                cell_m(tar_build),
                cell_m(gz_build),
                cell_m(zst_build),
                cell_m(mk_build),
            ],
        },
        Row {
            name: "installer / archive size",
            cells: [
                Some(mb(z.size)),
                Some(mb(size_of(&tar))),
                Some(mb(size_of(&tgz))),
                Some(mb(size_of(&tzst))),
                Some(mb(size_of(&run_file))),
            ],
        },
        Row {
            name: "`info` time",
            cells: [cell_t(z.info), na(), na(), na(), cell_t(mk_info)],
        },
        Row {
            name: "`info` peak RSS",
            cells: [cell_m(z.info), na(), na(), na(), cell_m(mk_info)],
        },
        Row {
            name: "verify time (`tar tf`, `gzip -t`, `zstd -t`, `--check`)",
            cells: [
                cell_t(z.verify),
                cell_t(tar_verify),
                cell_t(gz_verify),
                cell_t(zst_verify),
                cell_t(mk_verify),
            ],
        },
        Row {
            name: "verify peak RSS",
            cells: [
                cell_m(z.verify),
                cell_m(tar_verify),
                cell_m(gz_verify),
                cell_m(zst_verify),
                cell_m(mk_verify),
            ],
        },
        Row {
            name: "verify+extract time",
            cells: [
                cell_t(z.extract),
                cell_t(tar_extract),
                cell_t(gz_extract),
                cell_t(zst_extract),
                cell_t(mk_extract),
            ],
        },
        Row {
            name: "verify+extract peak RSS",
            cells: [
                cell_m(z.extract),
                cell_m(tar_extract),
                cell_m(gz_extract),
                cell_m(zst_extract),
                cell_m(mk_extract),
            ],
        },
        Row {
            name: "unattended install (sample plan)",
            cells: [cell_t(install), na(), na(), na(), na()],
        },
        Row {
            name: "install peak RSS",
            cells: [cell_m(install), na(), na(), na(), na()],
        },
    ];
    let mut t = String::new();
    let _ = writeln!(
        t,
        "Drop: {} generated files plus the sample's, {} ({} MB requested); {} run(s) each, medians; {} cores; {}.\n",
        files,
        mb(drop_bytes),
        options.size_mb,
        options.runs,
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        date()
    );
    let _ = writeln!(
        t,
        "| operation | dropship (zstd) | tar | tar+gzip | tar+zstd -T0 | makeself --sha256 |"
    );
    let _ = writeln!(t, "|---|---:|---:|---:|---:|---:|");
    for row in &rows {
        let cells: Vec<String> = row
            .cells
            .iter()
            .map(|c| c.clone().unwrap_or_default())
            .collect();
        let _ = writeln!(t, "| {} | {} |", row.name, cells.join(" | "));
    }

    let limit = 64 * 1024;
    let bars: Vec<(String, String, String, bool)> = vec![
        ratio_bar("build ≤ 0.1 × `tar czf`", z.build.secs, gz_build.secs, 0.1),
        ratio_bar("build ≤ 2 × `tar cf`", z.build.secs, tar_build.secs, 2.0),
        ratio_bar(
            "verify+extract ≤ 1.5 × `tar xf`",
            z.extract.secs,
            tar_extract.secs,
            1.5,
        ),
        ratio_bar(
            "verify+extract ≤ 0.2 × makeself extraction",
            z.extract.secs,
            mk_extract.secs,
            0.2,
        ),
        rss_bar("build peak RSS ≤ 64 MiB", z.build.rss_kib, limit),
        rss_bar("verify peak RSS ≤ 64 MiB", z.verify.rss_kib, limit),
        rss_bar("verify+extract peak RSS ≤ 64 MiB", z.extract.rss_kib, limit),
        (
            "`info` < 20 ms".into(),
            secs(z.info.secs),
            "20 ms".into(),
            z.info.secs < 0.020,
        ),
        ratio_bar("10 customer installers ≤ 3 × one", ten.secs, one.secs, 3.0),
    ];
    let _ = writeln!(t, "\n| bar | measured | ratio / limit | result |");
    let _ = writeln!(t, "|---|---:|---:|---|");
    for (name, measured, limit, pass) in &bars {
        let _ = writeln!(
            t,
            "| {name} | {measured} | {limit} | {} |",
            if *pass { "PASS" } else { "FAIL" }
        );
    }

    let _ = writeln!(
        t,
        "\nBatch (`--customer` × 10: the drop compressed and hashed once):\n"
    );
    let _ = writeln!(t, "| installers | time | per installer | vs one build |");
    let _ = writeln!(t, "|---|---:|---:|---:|");
    for (name, stat, count) in [
        ("1, one build", one, 1.0),
        ("10, one batch build", ten, 10.0),
        ("10, ten separate builds", ten_separate, 10.0),
        (
            "10 × `cp` of one installer (the writes alone)",
            ten_copies,
            10.0,
        ),
    ] {
        let _ = writeln!(
            t,
            "| {name} | {} | {} | {:.2} × |",
            secs(stat.secs),
            secs(stat.secs / count),
            stat.secs / one.secs
        );
    }

    let _ = writeln!(t, "\nCodecs (`dropship build --compression C`):\n");
    let _ = writeln!(
        t,
        "| codec | build time | build RSS | size | verify time | verify+extract time | extract RSS |"
    );
    let _ = writeln!(t, "|---|---:|---:|---:|---:|---:|---:|");
    for c in &codecs {
        let _ = writeln!(
            t,
            "| {} | {} | {} | {} | {} | {} | {} |",
            c.codec,
            secs(c.build.secs),
            mib(c.build.rss_kib),
            mb(c.size),
            secs(c.verify.secs),
            secs(c.extract.secs),
            mib(c.extract.rss_kib)
        );
    }
    println!("{t}");
    Ok(())
}

/// Remove an earlier run's output, so no run pays for freeing the previous one's pages.
fn remove(path: &Path) {
    let _ = fs::remove_file(path);
}

fn ratio_bar(name: &str, ours: f64, theirs: f64, max: f64) -> (String, String, String, bool) {
    let ratio = ours / theirs;
    (
        name.into(),
        format!("{} vs {}", secs(ours), secs(theirs)),
        format!("{ratio:.2} × (≤ {max})"),
        ratio <= max,
    )
}

fn rss_bar(name: &str, kib: u64, limit: u64) -> (String, String, String, bool) {
    (name.into(), mib(kib), mib(limit), kib <= limit)
}

fn date() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}
