//! The running step on a terminal: one line under the output with the install's position
//! (`step 4/7`), what runs, its own timer and the install's, redrawn five times a second so it
//! ticks while a script is silent. Without a terminal, or with `--no-progress`, there is none:
//! the console prints one plain line per event, and the log never sees this line.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often the line is redrawn.
const TICK: Duration = Duration::from_millis(200);

/// The live line of a run on a terminal.
pub struct Live {
    bar: ProgressBar,
    /// When what runs now started (the step, the rollback script, the undo).
    since: Arc<Mutex<Instant>>,
}

impl Live {
    /// A live line on stderr, not drawn until the first step starts; `None` where it cannot be
    /// drawn (not a terminal, or `TERM` unset or `dumb`: no cursor movement).
    pub fn new() -> Option<Self> {
        let target = ProgressDrawTarget::stderr();
        if target.is_hidden() {
            return None;
        }
        let since = Arc::new(Mutex::new(Instant::now()));
        let clock = Arc::clone(&since);
        let style = ProgressStyle::with_template(
            "{spinner} step {pos}/{len}: {msg}  {running}  (install {total})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
        .with_key(
            "running",
            move |_: &ProgressState, out: &mut dyn std::fmt::Write| {
                let running = clock
                    .lock()
                    .map(|since| since.elapsed())
                    .unwrap_or_default();
                let _ = out.write_str(&clock_text(running));
            },
        )
        .with_key(
            "total",
            |state: &ProgressState, out: &mut dyn std::fmt::Write| {
                let _ = out.write_str(&clock_text(state.elapsed()));
            },
        );
        let bar = ProgressBar::with_draw_target(None, target).with_style(style);
        Some(Live { bar, since })
    }

    /// Step `index` of `total` starts.
    pub fn step(&self, index: usize, total: usize, name: &str) {
        self.bar.set_length(total as u64);
        self.bar.set_position(index as u64 + 1);
        self.running(name);
        self.bar.enable_steady_tick(TICK);
    }

    /// Something else runs now (a rollback script, the undo): its timer starts again.
    pub fn running(&self, what: &str) {
        if let Ok(mut since) = self.since.lock() {
            *since = Instant::now();
        }
        self.bar.set_message(what.to_string());
    }

    /// Run `f` (print a line, ask a question) with the live line out of the way.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.bar.suspend(f)
    }

    /// Remove the line for good (the run ended).
    pub fn clear(&self) {
        self.bar.finish_and_clear();
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.clear();
    }
}

/// `7s`, `2m 05s`, `1h 02m 03s`.
fn clock_text(elapsed: Duration) -> String {
    let s = elapsed.as_secs();
    match (s / 3600, s / 60 % 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m {s:02}s"),
        (h, m, s) => format!("{h}h {m:02}m {s:02}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_a_clock() {
        assert_eq!(clock_text(Duration::from_millis(7_900)), "7s");
        assert_eq!(clock_text(Duration::from_secs(125)), "2m 05s");
        assert_eq!(clock_text(Duration::from_secs(3723)), "1h 02m 03s");
    }
}
