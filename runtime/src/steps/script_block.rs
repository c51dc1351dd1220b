//! Running one script for a step (a helper of the step modules): the plan's `run-script`, a
//! step's `rollback`, a package's configured or packaged `PreDeploy`/`Deploy`/`PostDeploy`/
//! `DeployFailed`. The script text is run through the template engine first (continue mode, as
//! Calamari does) and gets every variable through the script runner's private file, never argv.

use super::{StepContext, StepFailure};
use crate::plan::ScriptBlock;
use crate::script::{
    self, ModuleLanguage, OutputLine, ScriptOutcome, ScriptRequest, ScriptVariable, Syntax,
    script_modules,
};
use crate::secret::Scrubber;
use crate::variables::StepVariables;
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// With this variable True, a script that exits 0 but wrote to stderr fails, as in Calamari.
const FAIL_ON_ERROR_OUTPUT: &str = "Octopus.Action.FailScriptOnErrorOutput";

/// What every script of a step shares.
pub struct ScriptContext<'a> {
    pub step: &'a str,
    pub drop_root: &'a Path,
    /// Where a script runs when nothing else is said.
    pub default_dir: &'a Path,
    pub scrubber: &'a Scrubber,
    pub cancel: &'a AtomicBool,
    pub timeout: Option<Duration>,
    /// Where each script's artifacts go, whether it succeeds or not.
    pub artifacts: &'a RefCell<Vec<PathBuf>>,
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
    let script = ctx.script()?;
    let (name, events) = (ctx.step.name, &mut *ctx.events);
    let outcome = run_block(&script, &ctx.vars, block, &mut |line| {
        events.output(name, &line)
    })?;
    ctx.publish(outcome.output_variables);
    Ok(())
}

/// Run a script given inline or as a drop file. Messages name a drop file by its path in the
/// drop, an inline script by its step (`Migrate database (inline bash)`).
pub fn run_block(
    ctx: &ScriptContext<'_>,
    vars: &StepVariables,
    block: &ScriptBlock,
    sink: &mut dyn FnMut(OutputLine),
) -> Result<ScriptOutcome, StepFailure> {
    let syntax = syntax_of(block.syntax.as_deref(), block.file.as_deref())?;
    // An inline script is written as `Script.EXT` and named by its step in messages.
    let (body, name, label) = match (&block.inline, &block.file) {
        (Some(inline), _) => (
            inline.clone(),
            format!("Script.{}", syntax.extension()),
            format!("{} (inline {})", ctx.step, syntax.name()),
        ),
        (None, Some(file)) => (
            read_script(&ctx.drop_root.join(file))?,
            file_name(file),
            file.clone(),
        ),
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
        (&name, &label),
        &dir,
        parameters.as_deref(),
        sink,
    )
}

/// Run a script file found on disk (a packaged script) in `dir`, with `parameters` (templated).
pub fn run_file(
    ctx: &ScriptContext<'_>,
    vars: &StepVariables,
    path: &Path,
    dir: &Path,
    parameters: Option<&str>,
    sink: &mut dyn FnMut(OutputLine),
) -> Result<ScriptOutcome, StepFailure> {
    let syntax = Syntax::from_extension(path)
        .ok_or_else(|| StepFailure::new(format!("`{}` is not a script", path.display())))?;
    let body = read_script(path)?;
    let name = file_name(&path.to_string_lossy());
    run_text(
        ctx,
        vars,
        syntax,
        &body,
        (&name, &name),
        dir,
        parameters.map(|p| vars.expand(p)).as_deref(),
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

/// Run `body`, written as the file `name`, named `label` in messages.
#[allow(clippy::too_many_arguments)] // each is one plain fact about this run
fn run_text(
    ctx: &ScriptContext<'_>,
    vars: &StepVariables,
    syntax: Syntax,
    body: &str,
    (name, label): (&str, &str),
    dir: &Path,
    parameters: Option<&str>,
    sink: &mut dyn FnMut(OutputLine),
) -> Result<ScriptOutcome, StepFailure> {
    let body = vars
        .evaluate(body)
        .map_err(|e| StepFailure::new(format!("script `{label}` does not evaluate: {e}")))?;
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
    let modules = write_script_modules(&variables, syntax, dir, sink)?;
    let outcome = script::run_script(&request, sink);
    remove_script_modules(&modules, sink);
    let outcome = outcome.map_err(|e| StepFailure::new(ctx.scrubber.scrub(&e.to_string())))?;
    ctx.artifacts
        .borrow_mut()
        .extend(outcome.artifacts.iter().cloned());
    if outcome.succeeded() && outcome.stderr_lines > 0 && vars.flag(FAIL_ON_ERROR_OUTPUT) {
        return Err(StepFailure::new(format!(
            "script `{label}` wrote {} line(s) to stderr and `{FAIL_ON_ERROR_OUTPUT}` is True; \
             fix what it reports, or set the variable to False to let it pass",
            outcome.stderr_lines
        )));
    }
    if outcome.succeeded() {
        return Ok(outcome);
    }
    Err(StepFailure::new(describe_failure(
        label,
        &outcome,
        ctx.timeout,
    )))
}

/// Calamari writes each Bash script module into the script's directory as `NAME.sh` for the
/// script to `source` (`script::script_modules`); they are removed after the run; a file already
/// there is left alone. The bootstrap writes the other languages' modules.
fn write_script_modules(
    variables: &[ScriptVariable],
    syntax: Syntax,
    dir: &Path,
    sink: &mut dyn FnMut(OutputLine),
) -> Result<Vec<PathBuf>, StepFailure> {
    if syntax != Syntax::Bash {
        return Ok(Vec::new());
    }
    let mut written = Vec::new();
    for module in script_modules(variables, ModuleLanguage::Bash) {
        let name = module.name;
        let path = dir.join(format!("{}.sh", module.stem()));
        if path.exists() {
            // Never overwrite (and then remove) a file the package or the operator put there.
            sink(OutputLine::Warning(format!(
                "script module `{name}` is not written: `{}` already exists",
                path.display()
            )));
            continue;
        }
        std::fs::write(&path, &module.body).map_err(|e| {
            StepFailure::new(format!(
                "writing script module `{name}` to `{}`: {e}",
                path.display()
            ))
        })?;
        written.push(path);
    }
    Ok(written)
}

fn remove_script_modules(modules: &[PathBuf], sink: &mut dyn FnMut(OutputLine)) {
    for path in modules {
        if let Err(e) = std::fs::remove_file(path) {
            sink(OutputLine::Warning(format!(
                "could not remove script module `{}`: {e}",
                path.display()
            )));
        }
    }
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
