//! The install engine: runs the plan's steps in order, honouring roles and conditions, with
//! retries; journals each step; on a failure runs the step's rollback hook, undoes every change
//! in reverse (unless `--no-rollback`), then runs the `failure`/`always` steps. It resumes from a
//! journal at [`JournalState::resume_from`]. Everything it reports is scrubbed.
//!
//! It only orchestrates; what each step type does is [`crate::steps`]'s. Its parts, one job
//! each: `conditions` (whether a step runs), `failure` (what follows a failed step),
//! `journaling` (the step and end records, and what a missing one means), `outputs` (the output
//! variables, saved for `resume`) and `report` (the step reports). It does not ask questions or
//! draw progress itself: the front end implements [`Events`].
//!
//! No journal record is lost silently: a step's start goes to disk with its first change or
//! before its first script (so nothing a step does escapes the journal, and a step that cannot
//! journal fails and rolls back); any other record that cannot be written is told through
//! [`Events::note`], with what it means, and listed in [`RunResult::journal_errors`].
//!
//! [`JournalState::resume_from`]: crate::journal::JournalState::resume_from
//! [`Events`]: crate::engine::Events
//! [`Events::note`]: crate::engine::Events::note
//! [`RunResult::journal_errors`]: crate::engine::RunResult::journal_errors

mod conditions;
mod exposure;
mod failure;
mod journaling;
mod outputs;
mod printed;
mod report;
mod rollback_scripts;
#[cfg(test)]
mod tests;

pub use journaling::UNRECORDED_UNDO;
use journaling::journal_start;
pub use report::{now_text, time_text};
pub use rollback_scripts::rollback_scripts_to_run;

use crate::checkpoint::checkpoint;
use crate::events::Events;
use crate::installed::InstalledFile;
use crate::journal::{Journal, JournalState, StepStatus};
use crate::plan::{Plan, StepSpec};
use crate::report::{ReportOutcome, RollbackSummary, StepOutcome, StepReport};
use crate::rollback::Transaction;
use crate::secret::Scrubber;
use crate::state_dir::StateDir;
use crate::steps::{Step, StepContext, StepFailure, preflight, step_for};
use crate::variables::{BaseVariables, Output, StepVariables};
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How the operator asked the install to run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub roles: Vec<String>,
    /// `--approve STEP`: manual steps confirmed in advance.
    pub approvals: Vec<String>,
    pub no_rollback: bool,
    pub interactive: bool,
}

/// How a run ended.
#[derive(Debug)]
pub struct RunResult {
    pub outcome: ReportOutcome,
    pub steps: Vec<StepReport>,
    pub rollback: Option<RollbackSummary>,
    /// Journal records that could not be written, each already told to the operator with what
    /// it means: the outcome stands, but the journal does not show all of it.
    pub journal_errors: Vec<String>,
    /// What the operator and the vendor should know (a file holding a secret that all users
    /// can read), scrubbed.
    pub warnings: Vec<String>,
    /// Knows every secret the run met: the answers, the sensitive variables of the steps that
    /// ran, sensitive output variables.
    pub scrubber: Scrubber,
    /// What the new version rendered for the settings files that stayed the customer's
    /// (`StepContext::rendered`).
    pub rendered: Vec<(PathBuf, InstalledFile)>,
    /// The output variables that may reach the disk (not sensitive, scrubbed), of every step
    /// done, those of an earlier run included.
    pub kept_outputs: Vec<Output>,
}

/// The `stop` of an engine whose front end cannot stop an undo.
static NEVER: AtomicBool = AtomicBool::new(false);

/// A hook of a step's code: [`Step::run`] or [`Step::rollback`].
type StepHook = fn(&dyn Step, &mut StepContext<'_, '_>) -> Result<(), StepFailure>;

/// Runs one plan.
pub struct Engine<'a> {
    pub plan: &'a Plan,
    pub drop_root: &'a Path,
    pub base: BaseVariables,
    pub options: &'a RunOptions,
    pub scrubber: Scrubber,
    pub events: &'a mut dyn Events,
    pub cancel: &'a AtomicBool,
    /// Set when the operator stops the undo too (a third Ctrl-C): the scripts that run after a
    /// failure or a cancel (rollback scripts, `failure` steps) are stopped by it, not by
    /// `cancel`, and nothing more is undone.
    pub stop: &'a AtomicBool,
    pub outputs: Vec<Output>,
    reports: Vec<StepReport>,
    /// Set once a step has failed: conditions and `Octopus.Deployment.Error` see it.
    failed: bool,
    journal_errors: Vec<String>,
    warnings: Vec<String>,
    rendered: Vec<(PathBuf, InstalledFile)>,
}

impl<'a> Engine<'a> {
    pub fn new(
        plan: &'a Plan,
        drop_root: &'a Path,
        base: BaseVariables,
        options: &'a RunOptions,
        scrubber: Scrubber,
        events: &'a mut dyn Events,
        cancel: &'a AtomicBool,
    ) -> Self {
        Engine {
            plan,
            drop_root,
            base,
            options,
            scrubber,
            events,
            cancel,
            stop: &NEVER,
            outputs: Vec::new(),
            reports: plan.steps().iter().map(report::not_reached).collect(),
            failed: false,
            journal_errors: Vec::new(),
            warnings: Vec::new(),
            rendered: Vec::new(),
        }
    }

    /// Run (or, with `previous`, resume) the install, journaling into `journal`.
    pub fn run(mut self, journal: &mut Journal, previous: Option<&JournalState>) -> RunResult {
        let first = previous.map_or(0, |state| self.done_before(state));
        let mut tx = match previous {
            Some(state) => Transaction::resume(journal, state.changes.clone()),
            None => Transaction::new(journal),
        };
        let Some((index, failure)) = self.run_main_steps(&mut tx, first) else {
            self.record_end(tx.journal(), ReportOutcome::Succeeded);
            return self.finish(ReportOutcome::Succeeded, None);
        };
        let (outcome, rollback) = self.undo(tx, index, failure);
        let stopped = self.stopped();
        if !stopped {
            self.run_failure_steps(journal, index);
        }
        if outcome == ReportOutcome::FailedNotRolledBack || stopped {
            // Left unfinished on purpose: `resume` retries from the failed step once the cause
            // is fixed, or `rollback` undoes everything.
            self.events.note("the journal stays open: fix the cause and run `resume`, or undo everything with `rollback`");
        } else {
            self.record_end(journal, outcome);
        }
        self.finish(outcome, rollback)
    }

    /// Report the steps a resumed install finished before the interruption; returns the step
    /// it continues at.
    fn done_before(&mut self, state: &JournalState) -> usize {
        let first = state.resume_from();
        for (index, report) in self.reports.iter_mut().enumerate().take(first) {
            if let Some(journaled) = state.steps.get(&index) {
                report::done_before(report, journaled);
            }
        }
        first
    }

    fn finish(mut self, outcome: ReportOutcome, rollback: Option<RollbackSummary>) -> RunResult {
        // A line printed before a later step made its value sensitive (an output variable) is
        // hidden now too.
        for line in self
            .reports
            .iter_mut()
            .flat_map(|r| r.output_tail.iter_mut())
        {
            *line = self.scrubber.scrub(line);
        }
        let kept_outputs = self.kept_outputs();
        RunResult {
            outcome,
            steps: self.reports,
            rollback,
            journal_errors: self.journal_errors,
            warnings: self.warnings,
            scrubber: self.scrubber,
            rendered: self.rendered,
            kept_outputs,
        }
    }

    /// The steps from `first` on that run while nothing has failed; returns the first failure.
    fn run_main_steps(
        &mut self,
        tx: &mut Transaction<'_>,
        first: usize,
    ) -> Option<(usize, StepFailure)> {
        let total = self.plan.steps().len();
        for (index, step) in self.plan.steps().iter().enumerate().skip(first) {
            let result = if self.cancel.load(Ordering::SeqCst) {
                Err(StepFailure::new("interrupted by the operator (Ctrl-C)"))
            } else if let Some(why) = self.skip_reason(step, false) {
                self.skip(tx.journal(), index, step, &why);
                Ok(())
            } else {
                self.run_step(tx, index, total, step)
            };
            if let Err(failure) = result {
                self.failed = true;
                return Some((index, failure));
            }
        }
        None
    }

    fn skip(&mut self, journal: &mut Journal, index: usize, step: &StepSpec, why: &str) {
        let name = step.common().name;
        self.journal_finish(
            journal,
            index,
            name,
            StepStatus::Skipped,
            Some(why),
            Vec::new(),
        );
        self.reports[index].status = StepOutcome::Skipped;
        self.reports[index].message = Some(why.to_string());
        self.events
            .step_finished(index, name, StepOutcome::Skipped, Some(why), Duration::ZERO);
    }

    /// Run one step with its retries, journaling its start and end. A step whose start cannot
    /// be journaled does not run: its changes could not be found again after a crash.
    fn run_step(
        &mut self,
        tx: &mut Transaction<'_>,
        index: usize,
        total: usize,
        step: &StepSpec,
    ) -> Result<(), StepFailure> {
        let name = step.common().name;
        let clock = Instant::now();
        self.events
            .step_started(index, total, name, step.type_name());
        journal_start(tx.journal(), index, name);
        let result = self.run_started_step(tx, index, step);
        self.report_step(index, name, &result, clock.elapsed());
        result
    }

    /// A step whose start is journaled: its attempts, then its end journaled.
    fn run_started_step(
        &mut self,
        tx: &mut Transaction<'_>,
        index: usize,
        step: &StepSpec,
    ) -> Result<(), StepFailure> {
        checkpoint("step-started");
        self.reports[index].start = Some(now_text());
        let changes_before = tx.changes().len();
        let result = self.attempts(tx, index, step).map_err(|f| self.scrubbed(f));
        let name = step.common().name;
        let (status, outputs) = match &result {
            Ok(()) => {
                let written = tx
                    .changes()
                    .get(changes_before..)
                    .unwrap_or_default()
                    .to_vec();
                self.warn_about_exposed_secrets(&written);
                (StepStatus::Succeeded, self.kept_outputs_of(name))
            }
            Err(_) => (StepStatus::Failed, Vec::new()),
        };
        let message = result.as_ref().err().map(|f| f.message.as_str());
        self.journal_finish(tx.journal(), index, name, status, message, outputs);
        checkpoint("step-finished");
        result
    }

    /// The step's attempts: one, and as many more as `retries` allows while it fails.
    fn attempts(
        &mut self,
        tx: &mut Transaction<'_>,
        index: usize,
        step: &StepSpec,
    ) -> Result<(), StepFailure> {
        let attempts = step.common().retries.unwrap_or(0) + 1;
        let mut attempt = 1;
        loop {
            self.reports[index].attempts = attempt;
            match self.execute(tx, index, step) {
                Err(f)
                    if attempt < attempts && !f.declined && !self.cancel.load(Ordering::SeqCst) =>
                {
                    let message = &f.message;
                    self.note(&format!(
                        "attempt {attempt} of {attempts} failed ({message}); retrying"
                    ));
                    attempt += 1;
                }
                result => return result,
            }
        }
    }

    /// One attempt: the step's variables and snapshots, then the step itself.
    fn execute(
        &mut self,
        tx: &mut Transaction<'_>,
        index: usize,
        step: &StepSpec,
    ) -> Result<(), StepFailure> {
        let vars = self.variables(step, self.failed)?;
        let writes_into = preflight::check_step(step, &vars)?;
        tx.journal().widen_scope(&writes_into);
        for path in step.common().snapshot {
            let path = PathBuf::from(vars.expand(path));
            tx.snapshot(&path)
                .map_err(|e| StepFailure::new(e.to_string()))?;
        }
        self.in_context(tx, index, vars, |code, ctx| code.run(ctx))
    }

    /// The step's variables, their sensitive values taught to the scrubber.
    fn variables(&mut self, step: &StepSpec, failed: bool) -> Result<StepVariables, StepFailure> {
        let extra = self.failure_vars(failed);
        let vars = self
            .base
            .for_step(step, self.drop_root, &self.outputs, &extra)
            .map_err(|e| StepFailure::new(e.to_string()))?;
        vars.register_sensitive(&mut self.scrubber);
        Ok(vars)
    }

    /// Call `hook` of step `index`'s code in a context made for it; keep the outputs it
    /// produced, and for its report what it printed and the artifacts its scripts asked for.
    fn in_context(
        &mut self,
        tx: &mut Transaction<'_>,
        index: usize,
        vars: StepVariables,
        hook: StepHook,
    ) -> Result<(), StepFailure> {
        let step = &self.plan.steps()[index];
        let work_dir = tx.journal().state_dir().work_dir();
        let artifacts = RefCell::new(Vec::new());
        let mut recorder = printed::Recorder {
            events: &mut *self.events,
            tail: std::mem::take(&mut self.reports[index].output_tail).into(),
        };
        let mut ctx = StepContext {
            step: step.common(),
            drop_root: self.drop_root,
            work_dir: &work_dir,
            scrubber: &self.scrubber,
            // After a failure or a cancel, what runs (rollback scripts, `failure` steps) runs
            // to its end unless the operator stops the undo.
            cancel: if self.failed { self.stop } else { self.cancel },
            tx,
            vars,
            events: &mut recorder,
            approvals: &self.options.approvals,
            interactive: self.options.interactive,
            outputs: Vec::new(),
            upgrade: self.base.upgrade(),
            warnings: Vec::new(),
            rendered: Vec::new(),
            artifacts: &artifacts,
        };
        let result = hook(step_for(step), &mut ctx);
        let (outputs, warnings) = (ctx.outputs, ctx.warnings);
        self.rendered.extend(ctx.rendered);
        self.reports[index].output_tail = recorder.tail.into();
        self.keep_artifacts(tx.journal().state_dir(), index, artifacts.into_inner());
        self.add_outputs(outputs);
        for warning in warnings {
            if !self.warnings.contains(&warning) {
                self.warnings.push(warning);
            }
        }
        result
    }

    /// Copy the artifacts step `index`'s scripts asked for into the state directory, for its
    /// report; what could not be kept is said.
    fn keep_artifacts(&mut self, state: &StateDir, index: usize, sources: Vec<PathBuf>) {
        for source in sources {
            let number = self.reports[index].artifacts.len() + 1;
            let artifact = printed::keep_artifact(state, index, number, &source, &self.scrubber);
            if let Some(problem) = &artifact.problem {
                self.events
                    .note(&format!("artifact `{}`: {problem}", artifact.source));
            }
            self.reports[index].artifacts.push(artifact);
        }
    }

    /// The step's report and the front end's news of its end.
    fn report_step(
        &mut self,
        index: usize,
        name: &str,
        result: &Result<(), StepFailure>,
        elapsed: Duration,
    ) {
        let report = &mut self.reports[index];
        report.status = match result {
            Ok(()) => StepOutcome::Succeeded,
            Err(_) => StepOutcome::Failed,
        };
        report.message = result.as_ref().err().map(|f| f.message.clone());
        report.end = Some(now_text());
        report.duration_s = Some(elapsed.as_secs_f64());
        let (status, message) = (report.status, report.message.as_deref());
        self.events
            .step_finished(index, name, status, message, elapsed);
    }

    /// The failure with its message scrubbed, as it is journaled and reported.
    fn scrubbed(&self, failure: StepFailure) -> StepFailure {
        StepFailure {
            message: self.scrubber.scrub(&failure.message),
            ..failure
        }
    }

    /// A line from the engine, scrubbed.
    fn note(&mut self, text: &str) {
        self.events.note(&self.scrubber.scrub(text));
    }
}
