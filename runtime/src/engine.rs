//! The install engine: runs the plan's steps in order, honouring roles and conditions, with
//! timeouts and retries; journals each step; on a failure runs the step's rollback script, undoes
//! every change in reverse (unless `--no-rollback`), then runs the `failure`/`always` steps. It
//! resumes from a journal, skipping the steps that finished. Everything it reports is scrubbed.
//!
//! It does not ask questions or draw progress itself: the front end implements [`Events`].

use crate::journal::{Journal, JournalState, Record, StepStatus, Timestamp, checkpoint};
use crate::plan::{Plan, ScriptBlock, StepSpec};
use crate::report::{ReportOutcome, RollbackSummary, StepOutcome, StepReport};
use crate::rollback::Transaction;
use crate::script::OutputLine;
use crate::secret::Scrubber;
use crate::steps::deploy::{DeployContext, deploy};
use crate::steps::run_script::{ScriptContext, run_block};
use crate::steps::{check, http_wait};
use crate::variables::{BaseVariables, Output, StepVariables};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// What the front end sees and decides while steps run.
pub trait Events {
    fn step_started(&mut self, index: usize, total: usize, name: &str, kind: &str);
    /// A line a step printed, already scrubbed.
    fn output(&mut self, step: &str, line: &OutputLine);
    /// A line from the engine (scrubbed): check results, retries, rollback progress.
    fn note(&mut self, text: &str);
    fn step_finished(
        &mut self,
        index: usize,
        name: &str,
        status: StepOutcome,
        message: Option<&str>,
        elapsed: Duration,
    );
    /// Ask the operator to confirm a manual step (only called on interactive runs).
    fn confirm_manual(&mut self, name: &str, instructions: &str) -> bool;
}

/// Where packages without a `destination` are extracted when the variable
/// `Octopus.Tentacle.Agent.ApplicationDirectoryPath` is not set:
/// `/opt/dropship/applications/<environment>/<package id>/<version>`.
pub const DEFAULT_APPLICATIONS_DIR: &str = "/opt/dropship/applications";

/// How the operator asked the install to run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub roles: Vec<String>,
    /// `--approve STEP`: manual steps confirmed in advance.
    pub approvals: Vec<String>,
    pub no_rollback: bool,
    pub interactive: bool,
    /// Where scripts run when the plan names no directory.
    pub work_dir: PathBuf,
    /// Where the output variables that are not sensitive are saved as each step succeeds
    /// (before its end is journaled), so that `resume` after a kill still has those of the
    /// steps that finished.
    pub outputs_file: Option<PathBuf>,
}

/// How a run ended.
#[derive(Debug)]
pub struct RunResult {
    pub outcome: ReportOutcome,
    pub steps: Vec<StepReport>,
    pub rollback: Option<RollbackSummary>,
    /// Output variables that are not sensitive (kept for `resume`).
    pub outputs: Vec<(String, String, String)>,
}

/// Why a step failed.
struct StepFailure {
    message: String,
    declined: bool,
}

impl StepFailure {
    fn new(message: impl Into<String>) -> Self {
        StepFailure {
            message: message.into(),
            declined: false,
        }
    }
}

/// Runs one plan.
pub struct Engine<'a> {
    pub plan: &'a Plan,
    pub drop_root: &'a Path,
    pub base: BaseVariables,
    pub options: &'a RunOptions,
    pub scrubber: Scrubber,
    pub events: &'a mut dyn Events,
    pub cancel: &'a AtomicBool,
    pub outputs: Vec<Output>,
    reports: Vec<StepReport>,
    /// Set once a step has failed: conditions and `Octopus.Deployment.Error` see it.
    failed: bool,
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
        let reports = plan
            .steps()
            .iter()
            .map(|s| StepReport {
                name: s.common().name.to_string(),
                kind: s.type_name().to_string(),
                status: StepOutcome::Skipped,
                start: None,
                end: None,
                duration_s: None,
                attempts: 0,
                message: Some("not reached".into()),
            })
            .collect();
        Engine {
            plan,
            drop_root,
            base,
            options,
            scrubber,
            events,
            cancel,
            outputs: Vec::new(),
            reports,
            failed: false,
        }
    }

    /// Run (or, with `previous`, resume) the install, journaling into `journal`.
    pub fn run(mut self, journal: &mut Journal, previous: Option<&JournalState>) -> RunResult {
        let failure = {
            let mut tx = match previous {
                Some(state) => Transaction::resume(journal, state.changes.clone()),
                None => Transaction::new(journal),
            };
            let failure = self.run_main_steps(&mut tx, previous);
            match failure {
                None => {
                    let _ = tx.journal().append(Record::End {
                        outcome: crate::journal::Outcome::Succeeded,
                        at: Timestamp::now(),
                    });
                    return self.finish(ReportOutcome::Succeeded, None);
                }
                Some((index, failure)) => {
                    let (outcome, rollback) = self.undo(tx, index, failure);
                    (outcome, rollback, index)
                }
            }
        };
        let (outcome, rollback, failed_index) = failure;
        self.run_failure_steps(journal, failed_index);
        if outcome == ReportOutcome::FailedNotRolledBack {
            // Left unfinished on purpose: `resume` retries from the failed step once the cause
            // is fixed, or `rollback` undoes everything.
            self.events.note("the journal stays open: fix the cause and run `resume`, or undo everything with `rollback`");
        } else {
            let _ = journal.append(Record::End {
                outcome: journal_outcome(outcome),
                at: Timestamp::now(),
            });
        }
        self.finish(outcome, rollback)
    }

    /// The output variables that may be kept on disk: those that are not sensitive.
    fn kept_outputs(&self) -> Vec<(String, String, String)> {
        self.outputs
            .iter()
            .filter(|o| !o.sensitive)
            // A secret copied into a plain output variable is still a secret: it never reaches disk.
            .map(|o| {
                (
                    o.step.clone(),
                    o.name.clone(),
                    self.scrubber.scrub(&o.value),
                )
            })
            .collect()
    }

    /// Save [`Self::kept_outputs`] into `outputs_file`, atomically and durably.
    fn save_outputs(&mut self) {
        let Some(path) = &self.options.outputs_file else {
            return;
        };
        let json = serde_json::to_string(&self.kept_outputs()).unwrap_or_default();
        let temp = path.with_extension("json.new");
        let written = std::fs::File::create(&temp)
            .and_then(|mut file| {
                std::io::Write::write_all(&mut file, json.as_bytes())?;
                file.sync_all()
            })
            .and_then(|()| std::fs::rename(&temp, path));
        if let Err(e) = written {
            self.events.note(&format!(
                "warning: saving the output variables into `{}`: {e}",
                path.display()
            ));
        }
    }

    fn finish(self, outcome: ReportOutcome, rollback: Option<RollbackSummary>) -> RunResult {
        let outputs = self.kept_outputs();
        RunResult {
            outcome,
            steps: self.reports,
            rollback,
            outputs,
        }
    }

    /// The steps that run while nothing has failed; returns the first failure.
    fn run_main_steps(
        &mut self,
        tx: &mut Transaction<'_>,
        previous: Option<&JournalState>,
    ) -> Option<(usize, StepFailure)> {
        let total = self.plan.steps().len();
        for (index, step) in self.plan.steps().iter().enumerate() {
            if self.cancel.load(Ordering::SeqCst) {
                self.failed = true;
                return Some((
                    index,
                    StepFailure::new("interrupted by the operator (Ctrl-C)"),
                ));
            }
            if let Some(status) = previous
                .and_then(|p| p.steps.get(&index))
                .and_then(|s| s.status)
                && status != StepStatus::Failed
            {
                let state = &previous.and_then(|p| p.steps.get(&index));
                let report = &mut self.reports[index];
                report.status = report_status(status);
                report.message = Some("done before the interruption".into());
                if let Some(state) = state {
                    let text = |t: &Option<Timestamp>| {
                        t.as_ref()
                            .map(|t| t.0.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
                    };
                    report.start = text(&state.started);
                    report.end = text(&state.finished);
                    report.duration_s = state
                        .started
                        .as_ref()
                        .zip(state.finished.as_ref())
                        .map(|(a, b)| (b.0 - a.0).num_milliseconds() as f64 / 1000.0);
                }
                continue;
            }
            if let Some(why) = self.skip_reason(step, false) {
                self.skip(tx.journal(), index, step, &why);
                continue;
            }
            if let Err(failure) = self.run_step(tx, index, total, step) {
                self.failed = true;
                return Some((index, failure));
            }
        }
        None
    }

    /// Why a step does not run now, or `None` when it does.
    fn skip_reason(&self, step: &StepSpec, failed: bool) -> Option<String> {
        let common = step.common();
        let roles = &self.options.roles;
        if !common.roles.is_empty()
            && !common
                .roles
                .iter()
                .any(|r| roles.iter().any(|c| c.eq_ignore_ascii_case(r)))
        {
            return Some(format!("only for role(s) {}", common.roles.join(", ")));
        }
        match common.condition.unwrap_or("success") {
            "success" if failed => Some("an earlier step failed".into()),
            "success" | "always" => None,
            "failure" if failed => None,
            "failure" => Some("runs only after a failure".into()),
            expression => {
                let vars = self
                    .base
                    .for_step(
                        step,
                        self.drop_root,
                        &self.outputs,
                        &self.failure_vars(self.failed),
                    )
                    .ok()?;
                (!vars.truthy(expression)).then(|| "its condition is false".to_string())
            }
        }
    }

    fn failure_vars(&self, failed: bool) -> Vec<(String, String)> {
        if !failed {
            return Vec::new();
        }
        let detail = self
            .reports
            .iter()
            .find(|r| r.status == StepOutcome::Failed)
            .and_then(|r| r.message.clone());
        vec![
            ("Octopus.Deployment.Error".into(), "true".into()),
            (
                "Octopus.Deployment.ErrorDetail".into(),
                detail.unwrap_or_default(),
            ),
        ]
    }

    fn skip(&mut self, journal: &mut Journal, index: usize, step: &StepSpec, why: &str) {
        let name = step.common().name;
        let _ = journal.append(Record::StepFinished {
            index,
            name: name.to_string(),
            status: StepStatus::Skipped,
            at: Timestamp::now(),
            message: Some(why.to_string()),
        });
        self.reports[index].status = StepOutcome::Skipped;
        self.reports[index].message = Some(why.to_string());
        self.events
            .step_finished(index, name, StepOutcome::Skipped, Some(why), Duration::ZERO);
    }

    /// Run one step with its retries, journaling start and end.
    fn run_step(
        &mut self,
        tx: &mut Transaction<'_>,
        index: usize,
        total: usize,
        step: &StepSpec,
    ) -> Result<(), StepFailure> {
        let common = step.common();
        let started = Instant::now();
        self.events
            .step_started(index, total, common.name, step.type_name());
        let _ = tx.journal().append(Record::StepStarted {
            index,
            name: common.name.to_string(),
            at: Timestamp::now(),
        });
        checkpoint("step-started");
        self.reports[index].start = Some(now_text());
        let attempts = common.retries.unwrap_or(0) + 1;
        let mut result = Err(StepFailure::new("not run"));
        for attempt in 1..=attempts {
            self.reports[index].attempts = attempt;
            result = self.execute(tx, step);
            if result.is_ok()
                || self.cancel.load(Ordering::SeqCst)
                || result.as_ref().is_err_and(|f| f.declined)
            {
                break;
            }
            if attempt < attempts {
                let message = result
                    .as_ref()
                    .err()
                    .map(|f| f.message.clone())
                    .unwrap_or_default();
                self.events.note(&format!(
                    "attempt {attempt} of {attempts} failed ({message}); retrying"
                ));
            }
        }
        let result = result.map_err(|f| StepFailure {
            message: self.scrubber.scrub(&f.message),
            declined: f.declined,
        });
        if result.is_ok() {
            self.save_outputs();
        }
        let (status, message) = match &result {
            Ok(()) => (StepStatus::Succeeded, None),
            Err(f) => (StepStatus::Failed, Some(f.message.clone())),
        };
        let _ = tx.journal().append(Record::StepFinished {
            index,
            name: common.name.to_string(),
            status,
            at: Timestamp::now(),
            message: message.clone(),
        });
        checkpoint("step-finished");
        let report = &mut self.reports[index];
        report.status = report_status(status);
        report.message = message;
        report.end = Some(now_text());
        report.duration_s = Some(started.elapsed().as_secs_f64());
        self.events.step_finished(
            index,
            common.name,
            report.status,
            report.message.as_deref(),
            started.elapsed(),
        );
        result
    }

    /// Do what the step says, once.
    fn execute(&mut self, tx: &mut Transaction<'_>, step: &StepSpec) -> Result<(), StepFailure> {
        let common = step.common();
        let mut vars = self
            .base
            .for_step(
                step,
                self.drop_root,
                &self.outputs,
                &self.failure_vars(self.failed),
            )
            .map_err(|e| StepFailure::new(e.to_string()))?;
        vars.register_sensitive(&mut self.scrubber);
        for path in common.snapshot {
            let path = PathBuf::from(vars.expand(path));
            tx.snapshot(&path)
                .map_err(|e| StepFailure::new(e.to_string()))?;
        }
        match step {
            StepSpec::Check(s) => self.run_checks(&s.checks, &vars),
            StepSpec::Manual(s) => self.manual(common.name, &vars.expand(&s.instructions)),
            StepSpec::RunScript(s) => {
                let block = ScriptBlock {
                    syntax: s.syntax.clone(),
                    inline: s.inline.clone(),
                    file: s.file.clone(),
                    working_dir: s.working_dir.clone(),
                    parameters: s.parameters.clone(),
                };
                self.script(common.name, common.timeout_s, &vars, &block)
            }
            StepSpec::DeployPackage(s) => {
                self.deploy(tx, common.name, common.timeout_s, &mut vars, s)
            }
            StepSpec::Substitute(s) => self.substitute(tx, &vars, &s.directory, &s.files),
            StepSpec::HttpWait(s) => {
                self.http_wait(&vars, &s.url, s.status, s.interval_s, common.timeout_s)
            }
        }
    }

    fn run_checks(
        &mut self,
        checks: &[crate::plan::CheckSpec],
        vars: &StepVariables,
    ) -> Result<(), StepFailure> {
        let mut failed = Vec::new();
        for spec in checks {
            let result = check::run_check(spec, &|text| vars.expand(text));
            let summary = self.scrubber.scrub(&result.summary);
            self.events.note(&format!(
                "{} {summary}",
                if result.ok { "ok:    " } else { "FAILED:" }
            ));
            if !result.ok {
                failed.push(summary);
            }
        }
        if failed.is_empty() {
            Ok(())
        } else {
            Err(StepFailure::new(format!(
                "check failed: {}",
                failed.join("; ")
            )))
        }
    }

    fn manual(&mut self, name: &str, instructions: &str) -> Result<(), StepFailure> {
        let approved = self
            .options
            .approvals
            .iter()
            .any(|a| a.eq_ignore_ascii_case(name));
        if approved {
            self.events.note(&format!(
                "manual step `{name}` approved in advance (--approve)"
            ));
            return Ok(());
        }
        if !self.options.interactive {
            return Err(StepFailure::new(format!(
                "manual step `{name}` needs the operator's confirmation; on an unattended run pass `--approve \"{name}\"` once it is done"
            )));
        }
        if self.events.confirm_manual(name, instructions) {
            Ok(())
        } else {
            Err(StepFailure {
                message: format!("the operator did not confirm manual step `{name}`"),
                declined: true,
            })
        }
    }

    fn script(
        &mut self,
        name: &str,
        timeout_s: Option<u64>,
        vars: &StepVariables,
        block: &ScriptBlock,
    ) -> Result<(), StepFailure> {
        std::fs::create_dir_all(&self.options.work_dir).map_err(|e| {
            StepFailure::new(format!(
                "creating `{}`: {e}",
                self.options.work_dir.display()
            ))
        })?;
        let ctx = ScriptContext {
            step: name,
            drop_root: self.drop_root,
            default_dir: &self.options.work_dir,
            scrubber: &self.scrubber,
            cancel: self.cancel,
            timeout: timeout_s.map(Duration::from_secs),
        };
        let events = &mut *self.events;
        let outcome = run_block(&ctx, vars, block, &mut |line| events.output(name, &line))
            .map_err(|e| StepFailure::new(e.0))?;
        let outputs: Vec<Output> = outcome
            .output_variables
            .into_iter()
            .map(|o| Output {
                step: name.to_string(),
                name: o.name,
                value: o.value,
                sensitive: o.sensitive,
            })
            .collect();
        self.add_outputs(outputs);
        Ok(())
    }

    fn add_outputs(&mut self, outputs: Vec<Output>) {
        for output in outputs {
            if output.sensitive {
                self.scrubber
                    .add(&crate::secret::Secret::new(output.value.clone()));
            }
            self.outputs
                .retain(|o| !(o.step == output.step && o.name.eq_ignore_ascii_case(&output.name)));
            self.outputs.push(output);
        }
    }

    fn deploy(
        &mut self,
        tx: &mut Transaction<'_>,
        name: &str,
        timeout_s: Option<u64>,
        vars: &mut StepVariables,
        step: &crate::plan::DeployPackageStep,
    ) -> Result<(), StepFailure> {
        let applications = match vars.expand("#{Octopus.Tentacle.Agent.ApplicationDirectoryPath}") {
            path if !path.is_empty() && !path.contains("#{") => PathBuf::from(path),
            _ => PathBuf::from(DEFAULT_APPLICATIONS_DIR),
        };
        let script = ScriptContext {
            step: name,
            drop_root: self.drop_root,
            default_dir: &self.options.work_dir,
            scrubber: &self.scrubber,
            cancel: self.cancel,
            timeout: timeout_s.map(Duration::from_secs),
        };
        let events = &mut *self.events;
        let mut sink = |line: OutputLine| events.output(name, &line);
        let mut ctx = DeployContext {
            script,
            applications_dir: &applications,
            tx,
            sink: &mut sink,
        };
        let outputs = deploy(&mut ctx, step, vars).map_err(|e| StepFailure::new(e.0))?;
        self.add_outputs(outputs);
        Ok(())
    }

    fn substitute(
        &mut self,
        tx: &mut Transaction<'_>,
        vars: &StepVariables,
        directory: &str,
        files: &[String],
    ) -> Result<(), StepFailure> {
        let directory = PathBuf::from(vars.expand(directory));
        let fail = |e: &dyn std::fmt::Display| StepFailure::new(e.to_string());
        let plan = crate::config::plan_substitution(&[&directory], files).map_err(|e| fail(&e))?;
        for pattern in &plan.unmatched_patterns {
            self.events.note(&format!(
                "warning: `{pattern}` matched no file in `{}`",
                directory.display()
            ));
        }
        let evaluator = |text: &str| {
            vars.evaluate(text)
                .map_err(|e| crate::config::SubstitutionError {
                    message: e.to_string(),
                    partial_output: None,
                })
        };
        let report =
            crate::config::apply_substitution(&plan, &evaluator, Default::default(), &mut |path| {
                Ok(tx.snapshot(path)?)
            })
            .map_err(|e| fail(&e))?;
        self.events.note(&format!(
            "substituted {} file(s), {} unchanged",
            report.changed.len(),
            report.unchanged.len()
        ));
        Ok(())
    }

    fn http_wait(
        &mut self,
        vars: &StepVariables,
        url: &str,
        status: Option<u16>,
        interval_s: Option<u64>,
        timeout_s: Option<u64>,
    ) -> Result<(), StepFailure> {
        let url = vars.expand(url);
        let interval = Duration::from_secs(interval_s.unwrap_or(2));
        let timeout = Duration::from_secs(timeout_s.unwrap_or(300));
        let events = &mut *self.events;
        let outcome = http_wait::wait_until_healthy(
            &url,
            status,
            interval,
            timeout,
            self.cancel,
            &mut |attempt, last| {
                events.note(&format!("attempt {attempt}: {last}"));
            },
        );
        if outcome.ok {
            Ok(())
        } else {
            Err(StepFailure::new(format!(
                "`{url}` did not become healthy after {} attempts: {}",
                outcome.attempts, outcome.last
            )))
        }
    }

    /// After a failure: the failed step's rollback script, then undo every change.
    fn undo(
        &mut self,
        tx: Transaction<'_>,
        index: usize,
        failure: StepFailure,
    ) -> (ReportOutcome, Option<RollbackSummary>) {
        let step = &self.plan.steps()[index];
        let started = self.reports[index].start.is_some();
        if let Some(block) = step.common().rollback.filter(|_| started) {
            self.events.note(&format!(
                "running the rollback script of `{}`",
                step.common().name
            ));
            if let Ok(vars) = self.base.for_step(
                step,
                self.drop_root,
                &self.outputs,
                &self.failure_vars(true),
            ) && let Err(e) =
                self.script(step.common().name, step.common().timeout_s, &vars, block)
            {
                self.events
                    .note(&format!("the rollback script failed too: {}", e.message));
            }
        }
        if self.options.no_rollback {
            self.events.note(
                "--no-rollback: the changes are kept for diagnosis; run `rollback` to undo them",
            );
            return (ReportOutcome::FailedNotRolledBack, None);
        }
        self.events.note("undoing every change, newest first");
        let report = tx.rollback(&failure.message);
        for step_report in &mut self.reports[..index] {
            if step_report.status == StepOutcome::Succeeded {
                step_report.status = StepOutcome::RolledBack;
            }
        }
        let summary = RollbackSummary {
            complete: report.is_complete(),
            undone: report.undone.len(),
            left: report
                .failed
                .iter()
                .map(|(change, why)| {
                    format!("{}: {}", change.path().display(), self.scrubber.scrub(why))
                })
                .collect(),
        };
        let outcome = match (failure.declined, summary.complete) {
            (_, false) => ReportOutcome::FailedRollbackIncomplete,
            (true, true) => ReportOutcome::Declined,
            (false, true) => ReportOutcome::FailedRolledBack,
        };
        (outcome, Some(summary))
    }

    /// Steps with `failure`, `always` or a true condition that come after the failed step.
    /// Their changes are not rolled back: they are the diagnostics of the failure.
    fn run_failure_steps(&mut self, journal: &mut Journal, failed_index: usize) {
        let total = self.plan.steps().len();
        let mut tx = Transaction::new(journal);
        for (index, step) in self.plan.steps().iter().enumerate().skip(failed_index + 1) {
            // After Ctrl-C the operator wants the installer to stop, not to start more scripts.
            let interrupted = self
                .cancel
                .load(Ordering::SeqCst)
                .then(|| "the operator interrupted the install".to_string());
            match interrupted.or_else(|| self.skip_reason(step, true)) {
                Some(why) => {
                    self.reports[index].message = Some(why);
                }
                None => {
                    let _ = self.run_step(&mut tx, index, total, step);
                }
            }
        }
    }
}

fn report_status(status: StepStatus) -> StepOutcome {
    match status {
        StepStatus::Succeeded => StepOutcome::Succeeded,
        StepStatus::Failed => StepOutcome::Failed,
        StepStatus::Skipped => StepOutcome::Skipped,
    }
}

fn journal_outcome(outcome: ReportOutcome) -> crate::journal::Outcome {
    use crate::journal::Outcome;
    match outcome {
        ReportOutcome::Succeeded => Outcome::Succeeded,
        ReportOutcome::FailedNotRolledBack => Outcome::Failed,
        ReportOutcome::FailedRollbackIncomplete => Outcome::RollbackIncomplete,
        ReportOutcome::FailedRolledBack | ReportOutcome::Declined => Outcome::RolledBack,
    }
}

/// Now, RFC 3339 UTC, for reports.
pub fn now_text() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}
