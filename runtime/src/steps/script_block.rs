//! Running one script for a step (a helper of the step modules): the plan's `run-script`, a
//! step's `rollback`, a package's configured or packaged `PreDeploy`/`Deploy`/`PostDeploy`/
//! `DeployFailed`. The script text is run through the template engine first (continue mode, as
//! Calamari does) and gets every variable through the script runner's private file, never argv.

use super::{StepContext, StepFailure};
use crate::plan::ScriptBlock;
use crate::script::{self, OutputLine, ScriptOutcome, ScriptRequest, ScriptVariable, Syntax};
use crate::secret::Scrubber;
use crate::variables::StepVariables;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// What every script of a step shares.
pub struct ScriptContext<'a> {
    pub step: &'a str,
    pub drop_root: &'a Path,
    /// Where a script runs when nothing else is said.
    pub default_dir: &'a Path,
    pub scrubber: &'a Scrubber,
    pub cancel: &'a AtomicBool,
    pub timeout: Option<Duration>,
}

/// The script's syntax: named, else from the file extension, else this platform's (bash, or
/// PowerShell on Windows, as Calamari defaults).
fn syntax_of(named: Option<&str>, file: Option<&str>) -> Result<Syntax, StepFailure> {
    if let Some(name) = named {
        return Syntax::from_name(name)
            .ok_or_else(|| StepFailure::new(format!("unknown script syntax `{name}`")));
    }
    Ok(file
        .and_then(|f| Syntax::from_extension(Path::new(f)))
        .unwrap_or_else(Syntax::platform_default))
}

/// Run a script given inline or as a drop file for the step, in its work directory unless the
/// script names one; its output variables become the step's.
pub fn run_for_step(ctx: &mut StepContext<'_, '_>, block: &ScriptBlock) -> Result<(), StepFailure> {
    std::fs::create_dir_all(ctx.work_dir)
        .map_err(|e| StepFailure::new(format!("creating `{}`: {e}", ctx.work_dir.display())))?;
    let script = ctx.script();
    let (name, events) = (ctx.step.name, &mut *ctx.events);
    let outcome = run_block(&script, &ctx.vars, block, &mut |line| {
        events.output(name, &line)
    })?;
    ctx.publish(outcome.output_variables);
    Ok(())
}

/// Run a script given inline or as a drop file.
pub fn run_block(
    ctx: &ScriptContext<'_>,
    vars: &StepVariables,
    block: &ScriptBlock,
    sink: &mut dyn FnMut(OutputLine),
) -> Result<ScriptOutcome, StepFailure> {
    let syntax = syntax_of(block.syntax.as_deref(), block.file.as_deref())?;
    let (body, name) = match (&block.inline, &block.file) {
        (Some(inline), _) => (inline.clone(), format!("Script.{}", syntax.extension())),
        (None, Some(file)) => (read_script(&ctx.drop_root.join(file))?, file_name(file)),
        (None, None) => {
            return Err(StepFailure::new(
                "the script has neither `inline` nor `file`",
            ));
        }
    };
    let dir = match &block.working_dir {
        Some(dir) => PathBuf::from(vars.expand(dir)),
        None => ctx.default_dir.to_path_buf(),
    };
    let parameters = block.parameters.as_deref().map(|p| vars.expand(p));
    run_text(
        ctx,
        vars,
        syntax,
        &body,
        &name,
        &dir,
        parameters.as_deref(),
        sink,
    )
}

/// Run a script file found on disk (a packaged script) in `dir`.
pub fn run_file(
    ctx: &ScriptContext<'_>,
    vars: &StepVariables,
    path: &Path,
    dir: &Path,
    sink: &mut dyn FnMut(OutputLine),
) -> Result<ScriptOutcome, StepFailure> {
    let syntax = Syntax::from_extension(path)
        .ok_or_else(|| StepFailure::new(format!("`{}` is not a script", path.display())))?;
    let body = read_script(path)?;
    run_text(
        ctx,
        vars,
        syntax,
        &body,
        &file_name(&path.to_string_lossy()),
        dir,
        None,
        sink,
    )
}

fn file_name(path: &str) -> String {
    Path::new(path)
        .file_name()
        .map_or_else(|| path.to_string(), |n| n.to_string_lossy().into_owned())
}

fn read_script(path: &Path) -> Result<String, StepFailure> {
    let bytes = std::fs::read(path)
        .map_err(|e| StepFailure::new(format!("reading script `{}`: {e}", path.display())))?;
    let text = String::from_utf8_lossy(&bytes);
    // Configured scripts are written with a BOM for everything but bash; interpreters choke on it.
    Ok(text.strip_prefix('\u{feff}').unwrap_or(&text).to_string())
}

#[allow(clippy::too_many_arguments)] // each is one plain fact about this run
fn run_text(
    ctx: &ScriptContext<'_>,
    vars: &StepVariables,
    syntax: Syntax,
    body: &str,
    name: &str,
    dir: &Path,
    parameters: Option<&str>,
    sink: &mut dyn FnMut(OutputLine),
) -> Result<ScriptOutcome, StepFailure> {
    let body = vars
        .evaluate(body)
        .map_err(|e| StepFailure::new(format!("script `{name}` does not evaluate: {e}")))?;
    let variables: Vec<ScriptVariable> = vars
        .evaluated()
        .into_iter()
        .map(|(name, value, sensitive)| ScriptVariable {
            name,
            value,
            sensitive,
        })
        .collect();
    let request = ScriptRequest {
        step: ctx.step,
        syntax,
        body: &body,
        file_name: name,
        working_dir: dir,
        variables: &variables,
        parameters,
        env: &[],
        timeout: ctx.timeout,
        scrubber: ctx.scrubber,
        cancel: ctx.cancel,
    };
    let outcome = script::run_script(&request, sink)
        .map_err(|e| StepFailure::new(ctx.scrubber.scrub(&e.to_string())))?;
    if outcome.succeeded() {
        return Ok(outcome);
    }
    Err(StepFailure::new(describe_failure(
        name,
        &outcome,
        ctx.timeout,
    )))
}

fn describe_failure(name: &str, outcome: &ScriptOutcome, timeout: Option<Duration>) -> String {
    if outcome.cancelled {
        return format!("script `{name}` was interrupted");
    }
    if outcome.timed_out {
        return format!(
            "script `{name}` ran past its timeout of {} s and was stopped",
            timeout.map_or(0, |t| t.as_secs())
        );
    }
    match (&outcome.failure_message, outcome.exit_code) {
        (Some(message), _) => format!("script `{name}` failed: {message}"),
        (None, Some(code)) => format!("script `{name}` exited with code {code}"),
        (None, None) => format!("script `{name}` was killed by a signal"),
    }
}
