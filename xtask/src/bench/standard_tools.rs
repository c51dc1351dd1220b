//! The standard tools on the same drop: `tar cf`/`tar xf`, `tar czf`/`tar xzf`,
//! `tar cf | zstd -T0`/`zstd -d | tar x`, makeself (`--noexec --target` extraction), `b2sum` of
//! dropship's installer, and `tar xf` plus one `unzip` per package.

use super::dropship_ops::{CODECS, install_root, installer};
use super::fixture::Fixture;
use super::measure::{Bench, Packaging, PackagingCommands, Stat};
use super::tools::{q, sh};
use crate::Result;

pub struct StandardTools {
    pub tar: Packaging,
    pub gzip: Packaging,
    pub zstd: Packaging,
    pub makeself: Packaging,
    /// `b2sum` of dropship's installer (default codec): what hashing every byte costs.
    pub b2sum: Stat,
}

pub fn measure(b: &Bench, f: &Fixture) -> Result<StandardTools> {
    eprintln!("standard tools");
    let clean = || f.clean_dest();
    Ok(StandardTools {
        tar: b.packaging(&tar(f), &clean)?,
        gzip: b.packaging(&gzip(f), &clean)?,
        zstd: b.packaging(&zstd(f), &clean)?,
        makeself: b.packaging(&makeself(f), &clean)?,
        b2sum: b2sum(b, f)?,
    })
}

/// `b2sum` of the installer dropship built with its default codec.
pub fn b2sum(b: &Bench, f: &Fixture) -> Result<Stat> {
    let script = format!("b2sum {} >/dev/null", q(&installer(f, CODECS[0])));
    b.measure("b2sum (installer)", &script, None, &|| {})
}

/// What a shell script does without dropship: `tar xf` of the drop (archived first, untimed),
/// then one `unzip -q` per package of `Packages/` into `<install root>/<package file stem>`.
pub fn tar_and_unzip(f: &Fixture) -> Result<String> {
    let archive = f.out.join("drop.tar");
    sh(&format!("tar cf {} -C {} drop", q(&archive), q(&f.src)))?;
    let (x, root) = (q(&f.extracted()), q(&install_root(f)));
    Ok(format!(
        "mkdir -p {x} {root} && tar xf {} -C {x}\n\
         for p in {x}/drop/Packages/*.zip; do n=${{p##*/}}; unzip -q \"$p\" -d {root}/\"${{n%.zip}}\"; done",
        q(&archive)
    ))
}

/// A label and its script.
fn op(label: &str, script: String) -> (String, String) {
    (label.to_string(), script)
}

/// `tar cf`, `tar tf` and `tar xf` of the drop.
pub fn tar(f: &Fixture) -> PackagingCommands {
    let archive = f.out.join("drop.tar");
    let (a, src, x) = (q(&archive), q(&f.src), q(&f.extracted()));
    PackagingCommands {
        build: op("tar cf", format!("tar cf {a} -C {src} drop")),
        info: None,
        verify: op("tar tf", format!("tar tf {a} >/dev/null")),
        extract: op("tar xf", format!("mkdir -p {x} && tar xf {a} -C {x}")),
        archive,
    }
}

fn gzip(f: &Fixture) -> PackagingCommands {
    let archive = f.out.join("drop.tar.gz");
    let (a, src, x) = (q(&archive), q(&f.src), q(&f.extracted()));
    PackagingCommands {
        build: op("tar czf", format!("tar czf {a} -C {src} drop")),
        info: None,
        verify: op("gzip -t", format!("gzip -t {a}")),
        extract: op("tar xzf", format!("mkdir -p {x} && tar xzf {a} -C {x}")),
        archive,
    }
}

fn zstd(f: &Fixture) -> PackagingCommands {
    let archive = f.out.join("drop.tar.zst");
    let (a, src, x) = (q(&archive), q(&f.src), q(&f.extracted()));
    PackagingCommands {
        build: op(
            "tar cf | zstd -T0",
            format!("tar cf - -C {src} drop | zstd -T0 -q -f -o {a}"),
        ),
        info: None,
        verify: op("zstd -t", format!("zstd -t -q {a}")),
        extract: op(
            "zstd -d | tar x",
            format!("mkdir -p {x} && zstd -d -c -q {a} | tar xf - -C {x}"),
        ),
        archive,
    }
}

fn makeself(f: &Fixture) -> PackagingCommands {
    let archive = f.out.join("drop.run");
    let (a, drop, x) = (q(&archive), q(&f.drop), q(&f.extracted()));
    PackagingCommands {
        build: op(
            "makeself --sha256",
            format!(
                "makeself --sha256 --nox11 --quiet {drop} {a} 'Fabrikam Platform' ./Scripts/Configure.sh >/dev/null"
            ),
        ),
        info: Some(op("makeself --info", format!("{a} --info >/dev/null"))),
        verify: op("makeself --check", format!("{a} --check >/dev/null")),
        extract: op(
            "makeself --noexec --target",
            format!("{a} --noexec --nox11 --quiet --target {x} >/dev/null"),
        ),
        archive,
    }
}
