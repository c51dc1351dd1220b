//! The standard tools on the same drop: `tar cf`/`tar xf`, `tar czf`/`tar xzf`,
//! `tar cf | zstd -T0`/`zstd -d | tar x`, and makeself (`--noexec --target` extraction).

use super::fixture::Fixture;
use super::measure::{Bench, Packaging, PackagingCommands};
use super::tools::q;
use crate::Result;

pub struct StandardTools {
    pub tar: Packaging,
    pub gzip: Packaging,
    pub zstd: Packaging,
    pub makeself: Packaging,
}

pub fn measure(b: &Bench, f: &Fixture) -> Result<StandardTools> {
    eprintln!("standard tools");
    let clean = || f.clean_dest();
    Ok(StandardTools {
        tar: b.packaging(&tar(f), &clean)?,
        gzip: b.packaging(&gzip(f), &clean)?,
        zstd: b.packaging(&zstd(f), &clean)?,
        makeself: b.packaging(&makeself(f), &clean)?,
    })
}

/// A label and its script.
fn op(label: &str, script: String) -> (String, String) {
    (label.to_string(), script)
}

fn tar(f: &Fixture) -> PackagingCommands {
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
