//! The `run-script` step: one script, inline or a file of the drop, run by `script_block`.

use super::{Preview, PreviewContext, Step, StepContext, StepFailure, script_block};
use crate::plan::{RunScriptStep, ScriptBlock};

impl Step for RunScriptStep {
    fn run(&self, ctx: &mut StepContext<'_, '_>) -> Result<(), StepFailure> {
        let block = ScriptBlock {
            syntax: self.syntax.clone(),
            inline: self.inline.clone(),
            file: self.file.clone(),
            working_dir: self.working_dir.clone(),
            parameters: self.parameters.clone(),
        };
        script_block::run_for_step(ctx, &block)
    }

    fn preview(&self, _ctx: &PreviewContext<'_>) -> Preview {
        let file = self
            .file
            .as_deref()
            .map_or("(inline)".to_string(), |f| format!("`{f}`"));
        let syntax = self.syntax.as_deref().unwrap_or("a");
        Preview::line(format!("runs {syntax} script {file}"))
    }
}
