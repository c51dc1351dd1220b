//! `dropship inspect`: an installer's manifest, plan summary and sizes, read without verifying
//! it (`dropship verify` does that).

use crate::pack;
use anyhow::Result;
use dropship_runtime::container::InstallerFile;
use dropship_runtime::plan::Plan;
use dropship_runtime::{extract, units};
use std::path::Path;

pub fn run(installer: &Path) -> Result<()> {
    let file = InstallerFile::open(installer)?;
    let manifest = serde_json::to_string_pretty(&file.manifest)?;
    println!("manifest (not verified; run `dropship verify`):\n{manifest}");
    let prefix = file.trailer.prefix();
    println!(
        "sizes: runtime {}, payload {} ({} unpacked), manifest {} B, signature {} B, file {}",
        units::human_bytes(prefix.runtime_len),
        units::human_bytes(prefix.payload_len),
        units::human_bytes(file.manifest.payload.unpacked_bytes),
        prefix.manifest_len,
        file.trailer.signature_len,
        units::human_bytes(file.trailer.file_len)
    );
    if let Some(plan) = extract::read_member_unverified(&file, pack::PLAN_ENTRY, 16 << 20)? {
        print_plan(&plan);
    }
    Ok(())
}

/// The plan's steps, read with the parser the installer uses: a plan it would refuse is shown
/// as refused.
fn print_plan(plan: &[u8]) {
    match Plan::parse(plan, "plan.json (in the installer)") {
        Ok(plan) => {
            println!(
                "plan: {} steps, {} parameters",
                plan.steps().len(),
                plan.parameters().len()
            );
            for (i, step) in plan.steps().iter().enumerate() {
                println!(
                    "  {:>2}. {} ({})",
                    i + 1,
                    step.common().name,
                    step.type_name()
                );
            }
        }
        Err(errors) => println!("plan: {errors}"),
    }
}
