//! The running step on a terminal: one line under the output with the install's position
//! (`step 4/7`), what runs, its own timer and the install's, redrawn five times a second so it
//! ticks while a script is silent; below it, while a package is extracted, a byte bar with the
//! rate and the time left. Without a terminal, or with `--no-progress`, there is none: the
//! console prints one plain line per event, and the log never sees these lines. The payload's
//! verification and unpacking has a byte bar too ([`ByteProgress`]).

use dropship_runtime::units::human_bytes;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often the line is redrawn.
const TICK: Duration = Duration::from_millis(200);

/// The live line of a run on a terminal.
pub struct Live {
    lines: MultiProgress,
    bar: ProgressBar,
    /// The byte bar of the work under way in the step (a package extracted), and its name.
    work: Option<(String, ProgressBar)>,
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
        let lines = MultiProgress::with_draw_target(target);
        let bar = lines.add(ProgressBar::no_length().with_style(style));
        Some(Live {
            lines,
            bar,
            work: None,
            since,
        })
    }

    /// Step `index` of `total` starts.
    pub fn step(&self, index: usize, total: usize, name: &str) {
        self.running(name);
        self.bar.set_length(total as u64);
        self.bar.set_position(index as u64 + 1);
        self.bar.enable_steady_tick(TICK);
    }

    /// Something else runs now (a rollback script, the undo): its timer starts again.
    pub fn running(&self, what: &str) {
        if let Ok(mut since) = self.since.lock() {
            *since = Instant::now();
        }
        self.bar.set_message(what.to_string());
    }

    /// `done` bytes of `work` in the step, of `total` when known; the bar goes once `done`
    /// reaches `total`.
    pub fn work(&mut self, work: &str, done: u64, total: Option<u64>) {
        if self.work.as_ref().is_none_or(|(name, _)| name != work) {
            self.end_work();
            let bar = self
                .lines
                .add(ProgressBar::new(total.unwrap_or(0)).with_style(bytes_style(total)));
            bar.set_message(work.to_string());
            self.work = Some((work.to_string(), bar));
        }
        if let Some((_, bar)) = &self.work {
            bar.set_position(done);
        }
        if total == Some(done) {
            self.end_work();
        }
    }

    fn end_work(&mut self) {
        if let Some((_, bar)) = self.work.take() {
            bar.finish_and_clear();
            self.lines.remove(&bar);
        }
    }

    /// The lines, for another thread to print around ([`MultiProgress::suspend`]).
    pub fn lines(&self) -> MultiProgress {
        self.lines.clone()
    }

    /// Run `f` (print a line, ask a question) with the live lines out of the way.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.lines.suspend(f)
    }

    /// Remove the lines for good (the run ended).
    pub fn clear(&mut self) {
        self.end_work();
        self.bar.finish_and_clear();
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.clear();
    }
}

/// Byte progress for a long read: a bar with the rate and the time left on a terminal, one
/// line at the end; nothing without a terminal or with `--no-progress`.
pub struct ByteProgress {
    label: &'static str,
    bar: ProgressBar,
}

/// Start reporting progress over `total` bytes.
pub fn byte_progress(label: &'static str, total: u64, no_progress: bool) -> ByteProgress {
    // Hidden by indicatif too where stderr is not a terminal that can draw (`TERM` dumb).
    let target = match no_progress {
        true => ProgressDrawTarget::hidden(),
        false => ProgressDrawTarget::stderr(),
    };
    let bar =
        ProgressBar::with_draw_target(Some(total), target).with_style(bytes_style(Some(total)));
    bar.set_message(label);
    ByteProgress { label, bar }
}

impl ByteProgress {
    /// Record that `done` bytes are processed (called from any thread).
    pub fn set(&self, done: u64) {
        self.bar.set_position(done);
    }

    /// End the bar with one line: what was done, how much, how long it took.
    pub fn finish(&self) {
        if self.bar.is_hidden() {
            return;
        }
        self.bar.finish_and_clear();
        eprintln!(
            "{}: done, {} in {:.1?}",
            self.label,
            human_bytes(self.bar.length().unwrap_or_default()),
            self.bar.elapsed()
        );
    }
}

/// A byte bar with the rate and the time left; without a total, the bytes and the rate.
fn bytes_style(total: Option<u64>) -> ProgressStyle {
    let template = match total {
        Some(_) => "  {msg}: [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec}, {eta} left",
        None => "  {msg}: {bytes} {binary_bytes_per_sec}",
    };
    ProgressStyle::with_template(template)
        .map(|style| style.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar())
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
