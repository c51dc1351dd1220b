//! The `run-script` step: one script, inline, a file of the drop or a file inside a package of
//! the drop, run by `script_block`, with the packages it references extracted first.

use super::{Preview, PreviewContext, Step, StepContext, StepFailure, referenced, script_block};
use crate::plan::{RunScriptStep, ScriptBlock};
use crate::script::OutputLine;
use std::path::Path;

impl Step for RunScriptStep {
    fn run(&self, ctx: &mut StepContext<'_, '_>) -> Result<(), StepFailure> {
        std::fs::create_dir_all(ctx.work_dir)
            .map_err(|e| StepFailure::new(format!("creating `{}`: {e}", ctx.work_dir.display())))?;
        referenced::prepare(ctx, &self.packages)?;
        if let Some(package) = &self.script_package {
            return self.run_from_package(ctx, package);
        }
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
        if let Some(package) = &self.script_package {
            let file = self.file.as_deref().unwrap_or("?");
            return Preview::line(format!("runs script `{file}` from package `{package}`"));
        }
        let file = self
            .file
            .as_deref()
            .map_or("(inline)".to_string(), |f| format!("`{f}`"));
        let syntax = self.syntax.as_deref().unwrap_or("a");
        Preview::line(format!("runs {syntax} script {file}"))
    }
}

impl RunScriptStep {
    /// Calamari's "script from a package": the package extracted into the work directory, the
    /// script run there with its parameters.
    fn run_from_package(
        &self,
        ctx: &mut StepContext<'_, '_>,
        package: &str,
    ) -> Result<(), StepFailure> {
        let Some(file) = &self.file else {
            return Err(StepFailure::new(format!(
                "`script-package` `{package}` needs `file`, the script's path inside the package"
            )));
        };
        let dir = referenced::extract_script_package(ctx, package)?;
        let path = dir.join(file);
        if !path.is_file() {
            return Err(StepFailure::new(format!(
                "package `{package}` has no script `{file}`; check `file` against the package's contents"
            )));
        }
        // Calamari runs it in its own directory (the package, or a folder of it).
        let dir = path.parent().map_or(dir.clone(), Path::to_path_buf);
        let script = script_block::ScriptContext {
            default_dir: &dir,
            ..ctx.script()?
        };
        let (vars, name, events) = (&ctx.vars, ctx.step.name, &mut *ctx.events);
        let outcome = script_block::run_file(
            &script,
            vars,
            &path,
            &dir,
            self.parameters.as_deref(),
            &mut |line: OutputLine| events.output(name, &line),
        )?;
        ctx.publish(outcome.output_variables);
        Ok(())
    }
}
