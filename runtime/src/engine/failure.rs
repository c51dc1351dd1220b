//! After a step fails or the operator cancels: the rollback script of every step that started,
//! newest first, then undoing every journaled change newest first (neither with
//! `--no-rollback`), then the steps that run after a failure.

use super::rollback_scripts::{rollback_scripts_to_run, with_rollback_scripts};
use super::{Engine, RunResult, UNRECORDED_UNDO, report};
use crate::journal::{Journal, JournalState};
use crate::report::{ReportOutcome, RollbackScriptReport, RollbackSummary, StepOutcome};
use crate::rollback::Transaction;
use crate::steps::StepFailure;

impl Engine<'_> {
    /// After a failure of step `index`: the rollback scripts, then undo every change.
    pub(super) fn undo(
        &mut self,
        mut tx: Transaction<'_>,
        index: usize,
        failure: StepFailure,
    ) -> (ReportOutcome, Option<RollbackSummary>) {
        if self.options.no_rollback {
            self.events.note(
                "--no-rollback: the changes are kept for diagnosis and no rollback script ran; \
                 run `rollback` to undo them",
            );
            return (ReportOutcome::FailedNotRolledBack, None);
        }
        let started = (0..=index).filter(|&i| self.reports[i].start.is_some());
        let scripts = with_rollback_scripts(self.plan, started);
        let ran = self.run_rollback_scripts(&mut tx, &scripts);
        let summary = self.undo_changes(tx, &failure.message, ran, &scripts);
        for step_report in &mut self.reports[..index] {
            if step_report.status == StepOutcome::Succeeded {
                step_report.status = StepOutcome::RolledBack;
            }
        }
        let outcome = match (failure.declined, summary.complete) {
            (_, false) => ReportOutcome::FailedRollbackIncomplete,
            (true, true) => ReportOutcome::Declined,
            (false, true) => ReportOutcome::FailedRolledBack,
        };
        (outcome, Some(summary))
    }

    /// After the rollback scripts (`ran` of `scripts`): undo every journaled change, unless
    /// the operator stopped the undo; what is left is listed.
    pub(super) fn undo_changes(
        &mut self,
        tx: Transaction<'_>,
        reason: &str,
        ran: Vec<RollbackScriptReport>,
        scripts: &[usize],
    ) -> RollbackSummary {
        let mut summary = if self.stopped() {
            let not_run = &scripts[ran.len()..];
            let left = self.left_if_stopped(not_run, tx.changes().len());
            self.note(&format!(
                "stopped by the operator: {left}; run `rollback` to finish"
            ));
            RollbackSummary {
                complete: false,
                undone: 0,
                left: vec![format!("stopped by the operator: {left}")],
                scripts: Vec::new(),
            }
        } else {
            let changes = tx.changes().len();
            let running = format!("undoing {changes} journaled change(s)");
            self.events
                .undoing(&running, "some of those changes not undone");
            self.events.note("undoing every change, newest first");
            let undone = tx.rollback(reason);
            if let Some(e) = &undone.journal_error {
                let detail = format!("the rollback's progress ({e}): {UNRECORDED_UNDO}");
                self.journal_error(&detail);
            }
            report::rollback_summary(&undone, &self.scrubber)
        };
        for script in ran.iter().filter(|s| !s.succeeded) {
            let why = script.message.as_deref().unwrap_or("failed");
            let left = format!("the rollback script of `{}` failed: {why}", script.step);
            summary.left.push(left);
            summary.complete = false;
        }
        summary.scripts = ran;
        summary
    }

    /// Steps with `failure`, `always` or a true condition that come after the failed step, also
    /// after a cancel (the vendor's diagnostics are what support needs most then), until the
    /// operator stops them. Their changes are not rolled back: they are the diagnostics.
    pub(super) fn run_failure_steps(&mut self, journal: &mut Journal, failed_index: usize) {
        let total = self.plan.steps().len();
        let mut tx = Transaction::new(journal);
        for (index, step) in self.plan.steps().iter().enumerate().skip(failed_index + 1) {
            let stopped = self
                .stopped()
                .then(|| "the operator stopped the install".to_string());
            match stopped.or_else(|| self.skip_reason(step, true)) {
                Some(why) => self.reports[index].message = Some(why),
                None => {
                    let running = format!("the failure step `{}`", step.common().name);
                    self.events
                        .undoing(&running, "the failure steps' diagnostics not collected");
                    // A failure step that fails is reported as such; the install failed anyway.
                    let _ = self.run_step(&mut tx, index, total, step);
                }
            }
        }
    }

    /// Undo an install from its journal (`rollback`, or finishing an interrupted rollback):
    /// the rollback scripts of the steps it started that did not succeed yet, newest first,
    /// then every change not undone yet. The steps' reports are the journal's.
    pub fn roll_back(mut self, journal: &mut Journal, state: &JournalState) -> RunResult {
        self.failed = true;
        for (index, journaled) in &state.steps {
            if let Some(step_report) = self.reports.get_mut(*index) {
                report::done_before(step_report, journaled);
            }
        }
        let scripts = rollback_scripts_to_run(self.plan, state);
        let mut tx = Transaction::resume(journal, state.changes.clone());
        let ran = self.run_rollback_scripts(&mut tx, &scripts);
        let summary = self.undo_changes(tx, "the operator asked for a rollback", ran, &scripts);
        let outcome = match summary.complete {
            true => ReportOutcome::RolledBack,
            false => ReportOutcome::RollbackIncomplete,
        };
        if !self.stopped() {
            self.record_end(journal, outcome);
        }
        self.finish(outcome, Some(summary))
    }
}
