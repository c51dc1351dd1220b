//! The results as markdown tables: dropship against the standard tools, the bars of the
//! benchmark issue with PASS/FAIL, the batch build, and the codecs.

use super::drop::Generated;
use super::dropship_ops::{Batch, CodecResult};
use super::measure::{Packaging, Stat};
use super::standard_tools::StandardTools;
use super::tools::date;
use std::fmt::Write as _;

/// Everything one benchmark run measured.
pub struct Report<'a> {
    pub drop: &'a Generated,
    /// The drop size asked for.
    pub size_mb: u64,
    /// Timed runs per operation.
    pub runs: usize,
    /// Every codec; the first is the default, compared with the standard tools.
    pub codecs: &'a [CodecResult],
    pub install: Stat,
    pub batch: Batch,
    pub tools: StandardTools,
}

pub fn render(report: &Report) -> String {
    let mut t = format!("{}\n\n", heading(report));
    comparison(&mut t, report);
    bars(&mut t, report);
    batch(&mut t, &report.batch);
    codecs(&mut t, report.codecs);
    t
}

/// What was measured, how often, where and when.
fn heading(report: &Report) -> String {
    format!(
        "Drop: {} generated files plus the sample's, {} ({} MB requested); {} run(s) each, medians; {} cores; {}.",
        report.drop.files,
        mb(report.drop.bytes),
        report.size_mb,
        report.runs,
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        date()
    )
}

/// One column of the comparison: a way to package the drop and, for dropship, its install.
struct Column<'a> {
    packaging: &'a Packaging,
    install: Option<Stat>,
}

/// A cell of the comparison; `None` for what a tool does not have.
type Cell = fn(&Column) -> Option<String>;

const ROWS: [(&str, Cell); 11] = [
    ("build time", |c| Some(time(c.packaging.build))),
    ("build peak RSS", |c| Some(rss(c.packaging.build))),
    ("installer / archive size", |c| Some(mb(c.packaging.size))),
    ("`info` time", |c| c.packaging.info.map(time)),
    ("`info` peak RSS", |c| c.packaging.info.map(rss)),
    (
        "verify time (`tar tf`, `gzip -t`, `zstd -t`, `--check`)",
        |c| Some(time(c.packaging.verify)),
    ),
    ("verify peak RSS", |c| Some(rss(c.packaging.verify))),
    ("verify+extract time", |c| Some(time(c.packaging.extract))),
    ("verify+extract peak RSS", |c| {
        Some(rss(c.packaging.extract))
    }),
    ("unattended install (sample plan)", |c| c.install.map(time)),
    ("install peak RSS", |c| c.install.map(rss)),
];

fn comparison(t: &mut String, report: &Report) {
    let tools = &report.tools;
    let columns = [
        Column {
            packaging: &report.codecs[0].packaging,
            install: Some(report.install),
        },
        column(&tools.tar),
        column(&tools.gzip),
        column(&tools.zstd),
        column(&tools.makeself),
    ];
    let _ = writeln!(
        t,
        "| operation | dropship (zstd) | tar | tar+gzip | tar+zstd -T0 | makeself --sha256 |"
    );
    let _ = writeln!(t, "|---|---:|---:|---:|---:|---:|");
    for (name, cell) in ROWS {
        let cells: Vec<String> = columns
            .iter()
            .map(|c| cell(c).unwrap_or_else(|| "–".to_string()))
            .collect();
        let _ = writeln!(t, "| {name} | {} |", cells.join(" | "));
    }
}

fn column(packaging: &Packaging) -> Column<'_> {
    Column {
        packaging,
        install: None,
    }
}

/// A bar of the benchmark issue: its name, what was measured, the ratio or limit, and whether
/// it holds.
struct Bar {
    name: String,
    measured: String,
    limit: String,
    pass: bool,
}

/// Build and RSS bars are on dropship's default codec; 64 MiB is the RSS limit.
fn bars(t: &mut String, report: &Report) {
    let z = &report.codecs[0].packaging;
    let tools = &report.tools;
    let limit = 64 * 1024;
    let bars = [
        ratio_bar("build ≤ 0.1 × `tar czf`", z.build, tools.gzip.build, 0.1),
        ratio_bar("build ≤ 2 × `tar cf`", z.build, tools.tar.build, 2.0),
        ratio_bar(
            "verify+extract ≤ 1.5 × `tar xf`",
            z.extract,
            tools.tar.extract,
            1.5,
        ),
        ratio_bar(
            "verify+extract ≤ 0.2 × makeself extraction",
            z.extract,
            tools.makeself.extract,
            0.2,
        ),
        rss_bar("build peak RSS ≤ 64 MiB", z.build, limit),
        rss_bar("verify peak RSS ≤ 64 MiB", z.verify, limit),
        rss_bar("verify+extract peak RSS ≤ 64 MiB", z.extract, limit),
        info_bar(z.info.unwrap_or_default()),
        ratio_bar(
            "10 customer installers ≤ 3 × one",
            report.batch.ten,
            report.batch.one,
            3.0,
        ),
    ];
    let _ = writeln!(t, "\n| bar | measured | ratio / limit | result |");
    let _ = writeln!(t, "|---|---:|---:|---|");
    for bar in &bars {
        let result = if bar.pass { "PASS" } else { "FAIL" };
        let _ = writeln!(
            t,
            "| {} | {} | {} | {result} |",
            bar.name, bar.measured, bar.limit
        );
    }
}

fn ratio_bar(name: &str, ours: Stat, theirs: Stat, max: f64) -> Bar {
    let ratio = ours.secs / theirs.secs;
    Bar {
        name: name.into(),
        measured: format!("{} vs {}", secs(ours.secs), secs(theirs.secs)),
        limit: format!("{ratio:.2} × (≤ {max})"),
        pass: ratio <= max,
    }
}

fn rss_bar(name: &str, stat: Stat, limit_kib: u64) -> Bar {
    Bar {
        name: name.into(),
        measured: mib(stat.rss_kib),
        limit: mib(limit_kib),
        pass: stat.rss_kib <= limit_kib,
    }
}

fn info_bar(info: Stat) -> Bar {
    Bar {
        name: "`info` < 20 ms".into(),
        measured: secs(info.secs),
        limit: "20 ms".into(),
        pass: info.secs < 0.020,
    }
}

fn batch(t: &mut String, batch: &Batch) {
    let _ = writeln!(
        t,
        "\nBatch (`--customer` × 10: the drop compressed and hashed once):\n"
    );
    let _ = writeln!(t, "| installers | time | per installer | vs one build |");
    let _ = writeln!(t, "|---|---:|---:|---:|");
    let one = batch.one.secs;
    for (name, stat, count) in [
        ("1, one build", batch.one, 1.0),
        ("10, one batch build", batch.ten, 10.0),
        ("10, ten separate builds", batch.ten_separate, 10.0),
        (
            "10 × `cp` of one installer (the writes alone)",
            batch.ten_copies,
            10.0,
        ),
    ] {
        let _ = writeln!(
            t,
            "| {name} | {} | {} | {:.2} × |",
            secs(stat.secs),
            secs(stat.secs / count),
            stat.secs / one
        );
    }
}

fn codecs(t: &mut String, codecs: &[CodecResult]) {
    let _ = writeln!(t, "\nCodecs (`dropship build --compression C`):\n");
    let _ = writeln!(
        t,
        "| codec | build time | build RSS | size | verify time | verify+extract time | extract RSS |"
    );
    let _ = writeln!(t, "|---|---:|---:|---:|---:|---:|---:|");
    for c in codecs {
        let p = &c.packaging;
        let _ = writeln!(
            t,
            "| {} | {} | {} | {} | {} | {} | {} |",
            c.codec,
            time(p.build),
            rss(p.build),
            mb(p.size),
            time(p.verify),
            time(p.extract),
            rss(p.extract)
        );
    }
}

fn time(stat: Stat) -> String {
    secs(stat.secs)
}

fn rss(stat: Stat) -> String {
    mib(stat.rss_kib)
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
