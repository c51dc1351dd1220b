//! `dropship init [DIR]`: scaffold a plan, a customer profile and an answers example (the
//! embedded sample, which `dropship demo` builds and installs) to start from.

use crate::templates::write_embedded;
use anyhow::{Result, bail};
use std::path::Path;

pub fn run(dir: &Path) -> Result<()> {
    for name in ["plan.json", "customer.json", "answers.json", "drop"] {
        if dir.join(name).exists() {
            bail!(
                "`{}` already exists; choose an empty directory",
                dir.join(name).display()
            );
        }
    }
    write_embedded("sample", dir)?;
    println!(
        "wrote a sample plan, customer profile, answers file and drop into {dir}\n\
         next: edit {dir}/plan.json (or start from your drop: `dropship import opd DROP -o {dir}/plan.json`),\n\
         then `dropship plan check {dir}/plan.json --drop {dir}/drop`",
        dir = dir.display()
    );
    Ok(())
}
