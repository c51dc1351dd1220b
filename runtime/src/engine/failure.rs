//! After a step fails: its rollback hook, undoing every journaled change newest first (unless
//! `--no-rollback`), then the steps that run after a failure.

use super::{Engine, UNRECORDED_UNDO, report};
use crate::journal::Journal;
use crate::plan::StepSpec;
use crate::report::{ReportOutcome, RollbackSummary, StepOutcome};
use crate::rollback::Transaction;
use crate::steps::StepFailure;
use std::sync::atomic::Ordering;

impl Engine<'_> {
    /// After a failure: the failed step's rollback hook, then undo every change.
    pub(super) fn undo(
        &mut self,
        mut tx: Transaction<'_>,
        index: usize,
        failure: StepFailure,
    ) -> (ReportOutcome, Option<RollbackSummary>) {
        let step = &self.plan.steps()[index];
        if self.reports[index].start.is_some() {
            self.rollback_hook(&mut tx, step);
        }
        if self.options.no_rollback {
            self.events.note(
                "--no-rollback: the changes are kept for diagnosis; run `rollback` to undo them",
            );
            return (ReportOutcome::FailedNotRolledBack, None);
        }
        self.events.note("undoing every change, newest first");
        let undone = tx.rollback(&failure.message);
        if let Some(e) = &undone.journal_error {
            let detail = format!("the rollback's progress ({e}): {UNRECORDED_UNDO}");
            self.journal_error(&detail);
        }
        for step_report in &mut self.reports[..index] {
            if step_report.status == StepOutcome::Succeeded {
                step_report.status = StepOutcome::RolledBack;
            }
        }
        let summary = report::rollback_summary(&undone, &self.scrubber);
        let outcome = match (failure.declined, summary.complete) {
            (_, false) => ReportOutcome::FailedRollbackIncomplete,
            (true, true) => ReportOutcome::Declined,
            (false, true) => ReportOutcome::FailedRolledBack,
        };
        (outcome, Some(summary))
    }

    /// The failed step's [`Step::rollback`](crate::steps::Step::rollback), its variables saying
    /// the install failed (`Octopus.Deployment.Error`).
    fn rollback_hook(&mut self, tx: &mut Transaction<'_>, step: &StepSpec) {
        // Variables that cannot be assembled failed the step already, and its report says why.
        let Ok(vars) = self.variables(step, true) else {
            return;
        };
        if let Err(e) = self.in_context(tx, step, vars, |code, ctx| code.rollback(ctx)) {
            self.note(&format!("the rollback script failed too: {}", e.message));
        }
    }

    /// Steps with `failure`, `always` or a true condition that come after the failed step.
    /// Their changes are not rolled back: they are the diagnostics of the failure.
    pub(super) fn run_failure_steps(&mut self, journal: &mut Journal, failed_index: usize) {
        let total = self.plan.steps().len();
        let mut tx = Transaction::new(journal);
        for (index, step) in self.plan.steps().iter().enumerate().skip(failed_index + 1) {
            // After Ctrl-C the operator wants the installer to stop, not to start more scripts.
            let interrupted = self
                .cancel
                .load(Ordering::SeqCst)
                .then(|| "the operator interrupted the install".to_string());
            match interrupted.or_else(|| self.skip_reason(step, true)) {
                Some(why) => self.reports[index].message = Some(why),
                None => {
                    // A failure step that fails is reported as such; the install failed anyway.
                    let _ = self.run_step(&mut tx, index, total, step);
                }
            }
        }
    }
}
