//! The rollback scripts of the steps that started, newest first (as MSI runs the rollback action
//! of every executed action in reverse). Each is journaled before and after it runs, so that a
//! rollback after a kill runs again the ones that did not succeed and no other.

use super::Engine;
use crate::checkpoint::checkpoint;
use crate::journal::{JournalState, Record, Timestamp};
use crate::plan::Plan;
use crate::report::RollbackScriptReport;
use crate::rollback::Transaction;
use std::sync::atomic::Ordering;

impl Engine<'_> {
    /// Whether the operator stopped the undo (a third Ctrl-C): nothing more runs.
    pub(super) fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Run the rollback scripts of the steps `indices` (newest first), each to its end (or its
    /// step's timeout) however often the operator presses Ctrl-C, until the undo is stopped.
    pub(super) fn run_rollback_scripts(
        &mut self,
        tx: &mut Transaction<'_>,
        indices: &[usize],
    ) -> Vec<RollbackScriptReport> {
        let mut ran = Vec::new();
        for (position, &index) in indices.iter().enumerate() {
            if self.stopped() {
                break;
            }
            let name = self.plan.steps()[index].common().name;
            let left = self.left_if_stopped(&indices[position + 1..], tx.changes().len());
            self.events
                .undoing(&format!("the rollback script of `{name}`"), &left);
            ran.push(self.run_rollback_script(tx, index));
        }
        ran
    }

    /// One step's rollback script, journaled before and after.
    fn run_rollback_script(
        &mut self,
        tx: &mut Transaction<'_>,
        index: usize,
    ) -> RollbackScriptReport {
        let step = &self.plan.steps()[index];
        let name = step.common().name.to_string();
        let started = Record::RollbackScriptStarted {
            index,
            name: name.clone(),
            at: Timestamp::now(),
        };
        let what = format!("the start of the rollback script of `{name}`");
        self.record(tx.journal(), started, &what, RERUN);
        checkpoint("rollback-script-started");
        let result = self
            .variables(step, true)
            .and_then(|vars| self.in_context(tx, index, vars, |code, ctx| code.rollback(ctx)));
        let error = result.err().map(|f| self.scrubber.scrub(&f.message));
        if let Some(why) = &error {
            self.note(&format!("the rollback script of `{name}` failed: {why}"));
        }
        let finished = Record::RollbackScriptFinished {
            index,
            name: name.clone(),
            at: Timestamp::now(),
            error: error.clone(),
        };
        let what = format!("the end of the rollback script of `{name}`");
        self.record(tx.journal(), finished, &what, RERUN);
        checkpoint("rollback-script-finished");
        RollbackScriptReport {
            step: name,
            succeeded: error.is_none(),
            message: error,
        }
    }

    /// What stopping now would leave: the rollback scripts of `scripts_after` not run and
    /// `changes` journaled changes not undone.
    pub(super) fn left_if_stopped(&self, scripts_after: &[usize], changes: usize) -> String {
        let steps = self.plan.steps();
        let names: Vec<String> = scripts_after
            .iter()
            .map(|&i| format!("`{}`", steps[i].common().name))
            .collect();
        let scripts = match names.is_empty() {
            true => String::new(),
            false => format!("the rollback scripts of {} not run, ", names.join(", ")),
        };
        format!("{scripts}{changes} journaled change(s) not undone")
    }
}

/// The steps among `started` that have a rollback script, newest first.
pub(super) fn with_rollback_scripts(
    plan: &Plan,
    started: impl Iterator<Item = usize>,
) -> Vec<usize> {
    let steps = plan.steps();
    let mut indices: Vec<usize> = started
        .filter(|&index| {
            steps
                .get(index)
                .is_some_and(|s| s.common().rollback.is_some())
        })
        .collect();
    indices.sort_unstable_by(|a, b| b.cmp(a));
    indices
}

/// The steps whose rollback scripts undoing the install `state` records runs, in the order they
/// run: those the install started (not its `failure` steps) whose script has not succeeded yet,
/// newest first.
pub fn rollback_scripts_to_run(plan: &Plan, state: &JournalState) -> Vec<usize> {
    let pending = |&i: &usize| state.started_in_install(i) && state.rollback_script_pending(i);
    with_rollback_scripts(plan, (0..plan.steps().len()).filter(pending))
}

/// What a rollback script whose record is missing means.
const RERUN: &str = "a later `rollback` runs that script again";
