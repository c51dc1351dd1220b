//! The step types, one module each, behind one interface: [`Step`] says what a step does
//! ([`Step::run`]), what it would do ([`Step::preview`], for the dry run) and what undoing it
//! takes besides its journaled file changes ([`Step::rollback`]). [`StepContext`] carries what
//! every step shares, and [`step_for`] is the one place that maps a plan's step to its code: a
//! new step type is one module here, one line in [`step_for`] and its struct in the plan model.
//!
//! A step does its work once. Order, roles, conditions, retries, the journal's step records and
//! undoing the file changes are the engine's.
//!
//! The modules: `check`, `deploy_package` (Calamari's convention order), `run_script`, `manual`,
//! `substitute`, `http_wait`; `preflight`, the checks of every step's write targets before an
//! install changes anything; and two helpers, `script_block` (running a script for any step)
//! and `http` (plain-TCP connections and HTTP GETs for `check` and `http-wait`).
//!
//! [`Step`]: crate::steps::Step
//! [`Step::run`]: crate::steps::Step::run
//! [`Step::preview`]: crate::steps::Step::preview
//! [`Step::rollback`]: crate::steps::Step::rollback
//! [`StepContext`]: crate::steps::StepContext
//! [`step_for`]: crate::steps::step_for

pub mod check;
mod config_files;
mod deploy_package;
mod http;
mod http_wait;
mod manual;
mod package_config;
pub mod preflight;
mod referenced;
mod run_script;
mod script_block;
mod substitute;

use crate::events::Events;
use crate::installed::{InstalledFile, Upgrade};
use crate::plan::{StepCommon, StepSpec};
use crate::rollback::Transaction;
use crate::script::{OutputLine, OutputVariable};
use crate::secret::Scrubber;
use crate::variables::{Output, StepVariables};
use script_block::ScriptContext;
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// What every step type does.
pub trait Step {
    /// Do what the step says, once (the engine handles retries, timeouts, journal, rollback).
    fn run(&self, ctx: &mut StepContext<'_, '_>) -> Result<(), StepFailure>;

    /// What the step would do, for the dry run; changes nothing on the machine.
    fn preview(&self, ctx: &PreviewContext<'_>) -> Preview;

    /// The directories the step itself writes into, given its variables, each with the plan
    /// field it comes from, so that the install can check them before it changes anything (see
    /// `preflight`). By default none: scripts write where the vendor's code says.
    fn writes_into(&self, _vars: &StepVariables) -> Vec<(&'static str, String)> {
        Vec::new()
    }

    /// Run when the step failed, before the engine undoes the journaled file changes. By
    /// default: the step's `rollback` script, if the plan gives one.
    fn rollback(&self, ctx: &mut StepContext<'_, '_>) -> Result<(), StepFailure> {
        let Some(block) = ctx.step.rollback else {
            return Ok(());
        };
        let name = ctx.step.name;
        ctx.note(&format!("running the rollback script of `{name}`"));
        script_block::run_for_step(ctx, block)
    }
}

/// The code of a plan's step: the only dispatch over the step types outside the plan module.
pub fn step_for(spec: &StepSpec) -> &dyn Step {
    match spec {
        StepSpec::Check(step) => step,
        StepSpec::DeployPackage(step) => step,
        StepSpec::RunScript(step) => step,
        StepSpec::Manual(step) => step,
        StepSpec::Substitute(step) => step,
        StepSpec::HttpWait(step) => step,
    }
}

/// What a running step shares with the engine, for one attempt.
pub struct StepContext<'a, 'j> {
    /// The fields every step has: name, timeout, rollback script.
    pub step: StepCommon<'a>,
    pub drop_root: &'a Path,
    /// Where scripts run when the plan names no directory.
    pub work_dir: &'a Path,
    /// Knows every secret so far; what a step reports passes it.
    pub scrubber: &'a Scrubber,
    /// Set when the operator presses Ctrl-C: a running script is stopped.
    pub cancel: &'a AtomicBool,
    /// Every change to the target goes through it, journaled before it is made.
    pub tx: &'a mut Transaction<'j>,
    /// The step's variables.
    pub vars: StepVariables,
    /// Where the step's output lines and notes go, and who confirms a manual step.
    pub events: &'a mut dyn Events,
    /// `--approve STEP`: manual steps confirmed in advance.
    pub approvals: &'a [String],
    /// Whether someone is at the terminal to confirm a manual step.
    pub interactive: bool,
    /// The output variables the step produced, for the steps after it.
    pub outputs: Vec<Output>,
    /// What this install follows (the installed version's packages and settings files).
    pub upgrade: Option<&'a Upgrade>,
    /// What the operator and the vendor should know, for the report (already said through
    /// `events`).
    pub warnings: Vec<String>,
    /// Settings files whose content on disk is the customer's (kept or merged on an upgrade):
    /// what the new version rendered for each, so the installed state records the vendor's
    /// version as the base and the customer's file still counts as edited next time.
    pub rendered: Vec<(PathBuf, InstalledFile)>,
    /// The files the step's scripts asked to keep (`new_octopusartifact`), also those of a
    /// script that failed, for the engine to copy into the state directory.
    pub artifacts: &'a RefCell<Vec<PathBuf>>,
}

impl<'a> StepContext<'a, '_> {
    /// The step's `timeout-s`.
    pub fn timeout(&self) -> Option<Duration> {
        self.step.timeout_s.map(Duration::from_secs)
    }

    /// What the step's scripts share (its references outlive this borrow of the context, so a
    /// script can run while the step's output goes to `events`). What the journal holds back
    /// is written first: the step's start (a rollback after a crash runs the rollback script
    /// of every step that started) and the identities of the directories it made (a script may
    /// leave files in them, which a rollback then removes only knowing they are those).
    fn script(&mut self) -> Result<ScriptContext<'a>, StepFailure> {
        self.tx.journal().flush_pending().map_err(|e| {
            StepFailure::new(format!(
                "the journal could not record the step's start and what it made ({e}), so \
                 its script did not run; make room on or repair the state directory's disk"
            ))
        })?;
        Ok(ScriptContext {
            step: self.step.name,
            drop_root: self.drop_root,
            default_dir: self.work_dir,
            scrubber: self.scrubber,
            cancel: self.cancel,
            timeout: self.timeout(),
            artifacts: self.artifacts,
        })
    }

    /// A line about the step's progress (check results, attempts), scrubbed.
    pub fn note(&mut self, text: &str) {
        self.events.note(&self.scrubber.scrub(text));
    }

    /// A line of the step's own output (a warning, a detail), shown as a script's would be.
    fn output(&mut self, line: OutputLine) {
        self.events.output(self.step.name, &line);
    }

    /// Keep output variables the step's scripts set, as `Octopus.Action[STEP].Output.NAME`.
    fn publish(&mut self, outputs: impl IntoIterator<Item = OutputVariable>) {
        let step = self.step.name;
        self.outputs.extend(outputs.into_iter().map(|o| Output {
            step: step.to_string(),
            name: o.name,
            value: o.value,
            sensitive: o.sensitive,
        }));
    }
}

/// Why a step failed. The engine scrubs the message before anyone sees it.
#[derive(Debug)]
pub struct StepFailure {
    pub message: String,
    /// The operator declined (a manual step not confirmed): retrying cannot help.
    pub declined: bool,
}

impl StepFailure {
    pub fn new(message: impl Into<String>) -> Self {
        StepFailure {
            message: message.into(),
            declined: false,
        }
    }
}

/// What the dry run knows about one step.
pub struct PreviewContext<'a> {
    pub vars: &'a StepVariables,
    pub drop_root: &'a Path,
    /// Rendered files are scrubbed before they are compared, so a secret shows as its mask.
    pub scrubber: &'a Scrubber,
}

/// What a step would do.
#[derive(Debug, Default)]
pub struct Preview {
    /// Lines for the operator, indented relative to the step's heading. They may quote
    /// variables: the caller scrubs each before showing it.
    pub lines: Vec<String>,
    /// True when one of the step's checks fails (the install would stop there).
    pub failed: bool,
}

impl Preview {
    /// A preview of one line.
    fn line(text: String) -> Self {
        Preview {
            lines: vec![text],
            failed: false,
        }
    }
}
