//! `dropship plan check` (a plan and, with `--drop`, its references into the drop, every problem
//! listed) and `dropship plan schema` (the plan format's JSON Schema, for editors).

use crate::{inputs, pack};
use anyhow::Result;
use std::path::Path;

/// `dropship plan check`.
pub fn check(plan: &Path, drop: Option<&Path>) -> Result<()> {
    let drop = drop.map(pack::DropSource::open).transpose()?;
    let (plan_value, _) = inputs::load_plan(plan, drop.as_ref())?;
    println!(
        "OK: plan `{}` is valid: {} steps, {} parameters{}",
        plan.display(),
        plan_value.steps().len(),
        plan_value.parameters().len(),
        if drop.is_some() {
            ", every referenced drop file present"
        } else {
            ""
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
