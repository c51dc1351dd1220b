//! `dropship plan check` (a plan and, with `--drop`, its references into the drop, every problem
//! listed, and warnings for the `#{...}` nothing defines) and `dropship plan schema` (the plan
//! format's JSON Schema, for editors).

use crate::{inputs, pack};
use anyhow::{Result, bail};
use std::path::Path;

/// `dropship plan check`.
pub fn check(plan: &Path, drop_path: Option<&Path>, strict: bool) -> Result<()> {
    let drop = drop_path.map(pack::DropSource::open).transpose()?;
    let (plan_value, _) = inputs::load_plan(plan, drop.as_ref())?;
    let warnings = match drop_path {
        Some(drop_path) => {
            let (root, _unpacked) = inputs::drop_folder(drop_path)?;
            plan_value.undefined_variables(&root)
        }
        None => Vec::new(),
    };
    for warning in &warnings {
        eprintln!("warning: {warning}");
    }
    if strict && !warnings.is_empty() {
        bail!(
            "plan `{}`: {} warning(s) and --strict: define each variable (a parameter or a plan \
             variable) or escape it as ##{{...}}",
            plan.display(),
            warnings.len()
        );
    }
    println!(
        "OK: plan `{}` is valid: {} steps, {} parameters{}{}",
        plan.display(),
        plan_value.steps().len(),
        plan_value.parameters().len(),
        if drop.is_some() {
            ", every referenced drop file present"
        } else {
            ""
        },
        match warnings.len() {
            0 => String::new(),
            n => format!(" ({n} warning(s) above)"),
        }
    );
    Ok(())
}

/// `dropship plan schema`: the schema as published in `schema/` (generated from the runtime's
/// plan types; a runtime test keeps it current). Embedded rather than generated here, so the
/// bundler does not turn on the runtime's `schema` feature, which a workspace build would then
/// also compile into the runtime stub shipped to customers.
pub fn schema() -> Result<()> {
    println!(
        "{}",
        include_str!("../../../schema/plan.schema.json").trim_end()
    );
    Ok(())
}
