//! What the engine journals about the steps and the end of an install, and what it tells the
//! operator when a record cannot be written: a step's start goes with its first change or
//! script (neither happens unless it is written); any other missing record is a warning saying
//! what it means, kept for the exit status.

use super::Engine;
use crate::journal::{Journal, KeptOutput, Outcome, Record, StepStatus, Timestamp};
use crate::report::ReportOutcome;
use std::path::Path;

/// What `resume` does with a step whose end the journal lacks.
const RESUME_AGAIN: &str = "if the install is resumed, it starts again at this step";

/// What a rollback whose progress the journal lacks means: undo is idempotent.
pub const UNRECORDED_UNDO: &str = "a later `rollback` redoes the unrecorded part harmlessly";

/// Journal that a step starts, with the next record written: its first change, the record
/// written before its first script runs (`StepContext::script`), or its end. So a step that
/// changes nothing costs no flush of its own for its start, and nothing a step does escapes the
/// journal: a change or a script that cannot journal the start does not happen.
pub(super) fn journal_start(journal: &mut Journal, index: usize, name: &str) {
    journal.append_later([Record::StepStarted {
        index,
        name: name.to_string(),
        at: Timestamp::now(),
    }]);
}

impl Engine<'_> {
    /// Journal how a step ended; `message` is scrubbed.
    pub(super) fn journal_finish(
        &mut self,
        journal: &mut Journal,
        index: usize,
        name: &str,
        status: StepStatus,
        message: Option<&str>,
        outputs: Vec<KeptOutput>,
    ) {
        let record = Record::StepFinished {
            index,
            name: name.to_string(),
            status,
            at: Timestamp::now(),
            message: message.map(str::to_string),
            outputs,
        };
        let what = format!("the end of step `{name}`");
        self.record(journal, record, &what, RESUME_AGAIN);
    }

    /// Journal the install's `end` record.
    pub(super) fn record_end(&mut self, journal: &mut Journal, outcome: ReportOutcome) {
        let outcome = journal_outcome(outcome);
        let consequence = unrecorded_end(outcome, journal.path());
        let record = Record::End {
            outcome,
            at: Timestamp::now(),
        };
        self.record(journal, record, "the end of the install", &consequence);
    }

    /// Journal a record the install can do without; when it cannot be written, tell the
    /// operator `what` is missing and its `consequence`.
    pub(super) fn record(
        &mut self,
        journal: &mut Journal,
        record: Record,
        what: &str,
        consequence: &str,
    ) {
        if let Err(e) = journal.append(record) {
            self.journal_error(&format!("{what} ({e}): {consequence}"));
        }
    }

    /// Warn the operator that the journal lacks something (`detail` says what and what it
    /// means), and keep the warning for the exit status.
    pub(super) fn journal_error(&mut self, detail: &str) {
        let text = self
            .scrubber
            .scrub(&format!("warning: the journal could not record {detail}"));
        self.events.note(&text);
        self.journal_errors.push(text);
    }
}

/// The outcome the journal's `end` record holds.
fn journal_outcome(outcome: ReportOutcome) -> Outcome {
    match outcome {
        ReportOutcome::Succeeded => Outcome::Succeeded,
        ReportOutcome::FailedNotRolledBack => Outcome::Failed,
        ReportOutcome::FailedRollbackIncomplete | ReportOutcome::RollbackIncomplete => {
            Outcome::RollbackIncomplete
        }
        ReportOutcome::FailedRolledBack | ReportOutcome::Declined | ReportOutcome::RolledBack => {
            Outcome::RolledBack
        }
    }
}

/// What a journal without its `end` record means for the operator, and what to do.
fn unrecorded_end(outcome: Outcome, journal: &Path) -> String {
    let refused = "the next install will be refused as unfinished";
    match outcome {
        Outcome::Succeeded => format!("{refused} until you run `resume`, which records it"),
        Outcome::Failed | Outcome::RollbackIncomplete => {
            format!("{refused} until you run `rollback`, which undoes what is left and records it")
        }
        Outcome::RolledBack => format!(
            "everything was undone, but {refused} until you remove `{}`",
            journal.display()
        ),
    }
}
