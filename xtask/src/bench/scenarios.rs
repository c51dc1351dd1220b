//! The three scenarios a run measures, each on its own drop in its own directory, each reported
//! as its own section: a large drop of packages, 200 small packages each deployed by its own
//! step, and 50,000 small files (last: removing them slows the next creation of files, see
//! [`Fixture::keep_outputs`]).

use super::dropship_ops::{self, CODECS, installer};
use super::fixture::Fixture;
use super::measure::{Bench, Op};
use super::small_drops;
use super::standard_tools;
use super::tables;
use super::tools;
use super::{Options, drop};
use crate::Result;
use std::path::Path;

/// What a scenario needs besides its options: the bundler under test and `templates/sample`.
pub struct Inputs<'a> {
    pub dropship: &'a Path,
    pub sample: &'a Path,
}

/// The large drop: every codec, the sample plan's install, a batch and the standard tools, and
/// verify+extract and `tar xf` once more in alternation for their bar.
pub fn large(options: &Options, b: &Bench, inputs: &Inputs) -> Result<String> {
    let size_mb = options.size_mb();
    let f = Fixture::prepare(
        &b.work,
        inputs.dropship,
        inputs.sample.join("plan.json"),
        |root| drop::generate(root, inputs.sample, size_mb),
    )?;
    let codecs = dropship_ops::codecs(b, &f)?;
    let install = dropship_ops::install(b, &f, inputs.sample)?;
    let batch = dropship_ops::batch(b, &f, codecs[0].packaging.build)?;
    let tools = standard_tools::measure(b, &f)?;
    eprintln!("verify+extract against tar xf");
    let clean = || f.clean_dest();
    let extract = b.paired(
        &extraction(&dropship_ops::commands(&f, CODECS[0]).extract, &clean),
        &extraction(&standard_tools::tar(&f).extract, &clean),
    )?;
    Ok(tables::large(&tables::Large {
        drop: &f.generated,
        size_mb,
        runs: b.runs,
        codecs: &codecs,
        install,
        batch,
        tools,
        extract,
    }))
}

/// The sample's drop plus many small text files: build, verify and verify+extract against
/// `tar cf`, `b2sum` and `tar xf` (the extractions in alternation: see [`Bench::paired`]).
pub fn small_files(options: &Options, b: &Bench, inputs: &Inputs) -> Result<String> {
    let count = options.files();
    let mut f = Fixture::prepare(
        &b.work,
        inputs.dropship,
        inputs.sample.join("plan.json"),
        |root| small_drops::small_files(root, inputs.sample, count),
    )?;
    f.keep_outputs();
    let (ours, theirs) = (
        dropship_ops::commands(&f, CODECS[0]),
        standard_tools::tar(&f),
    );
    let mut dropship = b.build_and_check(&ours)?;
    let mut tar = b.build_and_check(&theirs)?;
    let clean = || f.clean_dest();
    let extract = b.paired(
        &extraction(&ours.extract, &clean),
        &extraction(&theirs.extract, &clean),
    )?;
    (dropship.extract, tar.extract) = (extract.a, extract.b);
    let b2sum = standard_tools::b2sum(b, &f)?;
    Ok(tables::small_files(&tables::SmallFiles {
        drop: &f.generated,
        runs: b.runs,
        dropship,
        tar,
        extract_ratio: extract.ratio,
        b2sum,
    }))
}

/// An extraction `(label, script)` into the directory `clean` empties.
fn extraction<'a>((label, script): &'a (String, String), clean: &'a dyn Fn()) -> Op<'a> {
    Op {
        label,
        script,
        stdin: None,
        before: clean,
    }
}

/// Many small zip packages, one `deploy-package` step each: build, and the unattended install
/// against `tar xf` of the drop plus one `unzip` per package, in alternation.
pub fn packages(options: &Options, b: &Bench, inputs: &Inputs) -> Result<String> {
    let count = options.packages();
    let plan = b.work.join("plan.json");
    let staging = b.work.join("staging");
    let mut entries = 0;
    let mut f = Fixture::prepare(&b.work, inputs.dropship, plan.clone(), |root| {
        let generated = small_drops::packages(root, &staging, &plan, count)?;
        entries = generated.entries;
        Ok(generated.drop)
    })?;
    f.keep_outputs();
    let archive = installer(&f, CODECS[0]);
    let build = b.measure(
        "dropship build",
        &f.build_command(CODECS[0], &archive, &f.customers[..1]),
        None,
        &|| tools::remove(&archive),
    )?;
    eprintln!("install against tar xf + unzip");
    let (install, shell) = (
        dropship_ops::install_into_root(&f),
        standard_tools::tar_and_unzip(&f)?,
    );
    let clean = || f.clean_dest();
    let labels = ("install --unattended", "tar xf + unzip -q × packages");
    let install = b.paired(
        &extraction(&(labels.0.into(), install), &clean),
        &extraction(&(labels.1.into(), shell), &clean),
    )?;
    Ok(tables::packages(&tables::Packages {
        drop: &f.generated,
        entries,
        runs: b.runs,
        build,
        install,
    }))
}
