//! What the engine reports about a run: each step's report (not reached, done before an
//! interruption) and the rollback summary.

use crate::journal::{StepState, StepStatus, Timestamp};
use crate::plan::StepSpec;
use crate::report::{RollbackSummary, StepOutcome, StepReport};
use crate::rollback::RollbackReport;
use crate::secret::Scrubber;
use chrono::{DateTime, Utc};

/// Now, as [`time_text`] writes it.
pub fn now_text() -> String {
    time_text(&Utc::now())
}

/// A time as every report and log line writes it: RFC 3339, UTC, whole seconds
/// (`2026-12-06T08:11:38Z`). Durations are measured apart, finer (`duration_s`); people see
/// the local time beside it where the report shows it (`Report::shown_time`).
pub fn time_text(time: &DateTime<Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The report of a step before the run gets to it.
pub(super) fn not_reached(step: &StepSpec) -> StepReport {
    StepReport {
        name: step.common().name.to_string(),
        kind: step.type_name().to_string(),
        status: StepOutcome::Skipped,
        start: None,
        end: None,
        duration_s: None,
        attempts: 0,
        message: Some("not reached".into()),
        output_tail: Vec::new(),
        artifacts: Vec::new(),
    }
}

/// A step a resumed install finished before the interruption, with its journaled times.
pub(super) fn done_before(report: &mut StepReport, journaled: &StepState) {
    report.status = journaled.status.map_or(StepOutcome::Skipped, step_outcome);
    report.message = Some("done before the interruption".into());
    let text = |t: &Option<Timestamp>| t.as_ref().map(|t| time_text(&t.0));
    report.start = text(&journaled.started);
    report.end = text(&journaled.finished);
    report.duration_s = journaled
        .started
        .as_ref()
        .zip(journaled.finished.as_ref())
        .map(|(a, b)| (b.0 - a.0).num_milliseconds() as f64 / 1000.0);
}

fn step_outcome(status: StepStatus) -> StepOutcome {
    match status {
        StepStatus::Succeeded => StepOutcome::Succeeded,
        StepStatus::Failed => StepOutcome::Failed,
        StepStatus::Skipped => StepOutcome::Skipped,
    }
}

/// What a rollback undid and left, the reasons scrubbed.
pub(super) fn rollback_summary(report: &RollbackReport, scrubber: &Scrubber) -> RollbackSummary {
    RollbackSummary {
        complete: report.is_complete(),
        undone: report.undone.len(),
        left: report
            .failed
            .iter()
            .map(|(change, why)| format!("{}: {}", change.path().display(), scrubber.scrub(why)))
            .collect(),
        scripts: Vec::new(),
    }
}
