//! The `manual` step: instructions the operator confirms having carried out, at the terminal or
//! in advance with `--approve STEP` (the only way on an unattended run).

use super::{Preview, PreviewContext, Step, StepContext, StepFailure};
use crate::plan::ManualStep;

impl Step for ManualStep {
    fn run(&self, ctx: &mut StepContext<'_, '_>) -> Result<(), StepFailure> {
        let name = ctx.step.name;
        if ctx.approvals.iter().any(|a| a.eq_ignore_ascii_case(name)) {
            ctx.note(&format!(
                "manual step `{name}` approved in advance (--approve)"
            ));
            return Ok(());
        }
        if !ctx.interactive {
            return Err(StepFailure::new(format!(
                "manual step `{name}` needs the operator's confirmation; on an unattended run pass `--approve \"{name}\"` once it is done"
            )));
        }
        let instructions = ctx.vars.expand(&self.instructions);
        if ctx.events.confirm_manual(name, &instructions) {
            return Ok(());
        }
        Err(StepFailure {
            message: format!("the operator did not confirm manual step `{name}`"),
            declined: true,
        })
    }

    fn preview(&self, ctx: &PreviewContext<'_>) -> Preview {
        let instructions = ctx.vars.expand(&self.instructions);
        Preview::line(format!("asks the operator to confirm: {instructions}"))
    }
}
