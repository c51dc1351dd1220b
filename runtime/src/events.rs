//! What the front end hears and decides while an install runs: the one channel from the engine
//! and the steps to whoever shows the run (a console, a test). The library never prints.

use crate::report::StepOutcome;
use crate::script::OutputLine;
use std::time::Duration;

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
    /// After a failure or a cancel: what runs now (`running`) and what stopping it would leave
    /// behind (`left_if_stopped`), for the front end to tell an operator who presses Ctrl-C
    /// again. Nothing by default.
    fn undoing(&mut self, _running: &str, _left_if_stopped: &str) {}
    /// Bytes done of a long piece of a step's work (`extracting Fabrikam.Web.4.12.0.nupkg`),
    /// for a progress bar: `total` when known; it ends with `done` equal to `total`. Nothing by
    /// default.
    fn progress(&mut self, _work: &str, _done: u64, _total: Option<u64>) {}
}
