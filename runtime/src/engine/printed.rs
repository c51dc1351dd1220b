//! What a step printed and kept, for its report: the last lines of its output (every attempt,
//! its rollback script's too), and the files its scripts asked to keep, copied into the state
//! directory.

use crate::durable;
use crate::escape;
use crate::events::Events;
use crate::report::{Artifact, OUTPUT_TAIL_LINES, StepOutcome};
use crate::script::OutputLine;
use crate::secret::Scrubber;
use crate::state_dir::StateDir;
use crate::units::human_bytes;
use std::collections::VecDeque;
use std::path::Path;
use std::time::Duration;

/// A line longer than this is cut in the report (the log keeps it whole).
const MAX_LINE_CHARS: usize = 2000;

/// An artifact larger than this is not copied: the state directory is not a file store.
const MAX_ARTIFACT_BYTES: u64 = 16 * 1024 * 1024;

/// The front end, with the step's last output lines kept on the way.
pub(super) struct Recorder<'e> {
    pub events: &'e mut dyn Events,
    pub tail: VecDeque<String>,
}

impl Recorder<'_> {
    /// Keep `line` (already scrubbed), as a file shows it.
    fn keep(&mut self, line: &str) {
        let mut line = escape::terminal_free(line);
        if let Some((cut, _)) = line.char_indices().nth(MAX_LINE_CHARS) {
            line.truncate(cut);
            line.push('…');
        }
        if self.tail.len() == OUTPUT_TAIL_LINES {
            self.tail.pop_front();
        }
        self.tail.push_back(line);
    }
}

impl Events for Recorder<'_> {
    fn step_started(&mut self, index: usize, total: usize, name: &str, kind: &str) {
        self.events.step_started(index, total, name, kind);
    }

    fn output(&mut self, step: &str, line: &OutputLine) {
        // Verbose lines are the log's only; the report keeps what the operator saw.
        if !matches!(line, OutputLine::Verbose(_)) {
            self.keep(&line.tagged());
        }
        self.events.output(step, line);
    }

    fn note(&mut self, text: &str) {
        self.keep(text);
        self.events.note(text);
    }

    fn step_finished(
        &mut self,
        index: usize,
        name: &str,
        status: StepOutcome,
        message: Option<&str>,
        elapsed: Duration,
    ) {
        self.events
            .step_finished(index, name, status, message, elapsed);
    }

    fn confirm_manual(&mut self, name: &str, instructions: &str) -> bool {
        self.events.confirm_manual(name, instructions)
    }

    fn undoing(&mut self, running: &str, left_if_stopped: &str) {
        self.events.undoing(running, left_if_stopped);
    }

    fn progress(&mut self, work: &str, done: u64, total: Option<u64>) {
        self.events.progress(work, done, total);
    }
}

/// Copy the file a script of step `index` asked to keep into the state directory (`0600`).
/// The copy is the vendor's file with every secret the run knows hidden; a file that is not
/// text and shows a secret is not copied (hiding it would break the file), nor is a link, a
/// directory or a file over 16 MiB. `number` tells copies of the same name apart.
pub(super) fn keep_artifact(
    state: &StateDir,
    index: usize,
    number: usize,
    source: &Path,
    scrubber: &Scrubber,
) -> Artifact {
    let mut artifact = Artifact {
        source: scrubber.scrub(&source.display().to_string()),
        path: None,
        size: 0,
        problem: None,
    };
    let copy = read_artifact(source, scrubber).and_then(|(bytes, hidden)| {
        let name = source
            .file_name()
            .map_or("artifact".into(), |n| n.to_string_lossy().into_owned());
        let name = scrubber.scrub(&format!("{number}-{name}"));
        let path = state
            .keep_artifact(index + 1, &name, &bytes)
            .map_err(|e| format!("not kept: {e}"))?;
        Ok((path, bytes.len() as u64, hidden))
    });
    match copy {
        Ok((path, size, hidden)) => {
            artifact.path = Some(path);
            artifact.size = size;
            artifact.problem = hidden.then(|| "secrets hidden in the copy".to_string());
        }
        Err(problem) => artifact.problem = Some(scrubber.scrub(&problem)),
    }
    artifact
}

/// The artifact's bytes as they may be kept, and whether a secret was hidden in them.
fn read_artifact(source: &Path, scrubber: &Scrubber) -> Result<(Vec<u8>, bool), String> {
    let meta = std::fs::symlink_metadata(source).map_err(|e| format!("not kept: {e}"))?;
    if !meta.is_file() {
        return Err("not kept: not a regular file (a link or a directory)".into());
    }
    if meta.len() > MAX_ARTIFACT_BYTES {
        return Err(format!(
            "not kept: {} is more than the {} an artifact may have",
            human_bytes(meta.len()),
            human_bytes(MAX_ARTIFACT_BYTES)
        ));
    }
    let bytes = durable::read_no_follow(source).map_err(|e| format!("not kept: {e}"))?;
    match String::from_utf8(bytes) {
        Ok(text) => {
            let scrubbed = scrubber.scrub(&text);
            let hidden = scrubbed != text;
            Ok((scrubbed.into_bytes(), hidden))
        }
        Err(not_text) => {
            let bytes = not_text.into_bytes();
            let lossy = String::from_utf8_lossy(&bytes);
            if scrubber.scrub(&lossy) != lossy {
                return Err(
                    "not kept: it holds a secret and is not text, so the secret \
                            cannot be hidden without breaking it"
                        .into(),
                );
            }
            Ok((bytes, false))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    fn scrubber() -> Scrubber {
        let mut scrubber = Scrubber::new();
        scrubber.add(&Secret::new("hunter2-planted"));
        scrubber
    }

    #[test]
    fn the_tail_keeps_the_last_lines_without_terminal_codes() {
        struct Nothing;
        impl Events for Nothing {
            fn step_started(&mut self, _: usize, _: usize, _: &str, _: &str) {}
            fn output(&mut self, _: &str, _: &OutputLine) {}
            fn note(&mut self, _: &str) {}
            fn step_finished(
                &mut self,
                _: usize,
                _: &str,
                _: StepOutcome,
                _: Option<&str>,
                _: Duration,
            ) {
            }
            fn confirm_manual(&mut self, _: &str, _: &str) -> bool {
                false
            }
        }
        let mut nothing = Nothing;
        let mut recorder = Recorder {
            events: &mut nothing,
            tail: VecDeque::new(),
        };
        for i in 0..OUTPUT_TAIL_LINES + 5 {
            recorder.output(
                "s",
                &OutputLine::Stdout(format!("\u{1b}[32mline {i}\u{1b}[0m")),
            );
        }
        recorder.output("s", &OutputLine::Verbose("verbose".into()));
        recorder.output("s", &OutputLine::Stderr("boom".into()));
        recorder.note("a note");
        let tail: Vec<String> = recorder.tail.into_iter().collect();
        assert_eq!(tail.len(), OUTPUT_TAIL_LINES);
        assert_eq!(tail[0], "line 7");
        assert_eq!(tail[OUTPUT_TAIL_LINES - 2..], ["! boom", "a note"]);
    }

    #[test]
    fn an_artifact_is_copied_with_its_secrets_hidden() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path().join("state"));
        state.create().unwrap();
        let source = dir.path().join("app.log");
        std::fs::write(&source, "connecting with hunter2-planted\n").unwrap();
        let artifact = keep_artifact(&state, 2, 1, &source, &scrubber());
        assert_eq!(artifact.path.as_deref(), Some("artifacts/step-3/1-app.log"));
        assert_eq!(
            artifact.problem.as_deref(),
            Some("secrets hidden in the copy")
        );
        let copy =
            std::fs::read_to_string(state.root().join("artifacts/step-3/1-app.log")).unwrap();
        assert!(
            !copy.contains("hunter2") && copy.starts_with("connecting with "),
            "{copy}"
        );
        assert_eq!(artifact.size, copy.len() as u64);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let copied = state.root().join("artifacts/step-3/1-app.log");
            let mode = std::fs::metadata(copied).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_binary_artifact_showing_a_secret_a_link_and_a_missing_file_are_not_kept() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path().join("state"));
        state.create().unwrap();
        let binary = dir.path().join("dump.bin");
        std::fs::write(&binary, b"\xff\xfe hunter2-planted \x00").unwrap();
        let clean = dir.path().join("clean.bin");
        std::fs::write(&clean, b"\xff\xfe\x00 nothing").unwrap();
        let missing = dir.path().join("missing.log");
        for (source, problem) in [(&binary, "not text"), (&missing, "not kept")] {
            let artifact = keep_artifact(&state, 0, 1, source, &scrubber());
            assert_eq!(artifact.path, None);
            assert!(
                artifact.problem.as_deref().unwrap().contains(problem),
                "{artifact:?}"
            );
        }
        #[cfg(unix)]
        {
            let link = dir.path().join("link.log");
            std::os::unix::fs::symlink(&clean, &link).unwrap();
            let artifact = keep_artifact(&state, 0, 1, &link, &scrubber());
            assert!(artifact.problem.unwrap().contains("not a regular file"));
        }
        let kept = keep_artifact(&state, 0, 2, &clean, &scrubber());
        assert_eq!(kept.problem, None);
        assert_eq!(kept.size, 11);
    }
}
