//! What each line a script prints means: service messages acted on, levels switched, everything
//! else scrubbed and handed to the caller's sink.
//!
//! Levels per `docs/octopus-conventions.md` §5.11: `stdout-*` switches apply to later stdout lines,
//! `stderr-*` switches (written on stdout) to later stderr lines. Service messages are parsed on
//! stdout only, as Calamari does. Secrets are scrubbed with a run-local copy of the caller's
//! scrubber that also learns sensitive input variables, `mask` values and sensitive output
//! variables, so each is hidden from every later line of the run.

use std::path::PathBuf;

use super::service_message::{Parsed, ServiceMessage, parse_line};
use super::{OutputLine, OutputVariable, ScriptOutcome, ScriptVariable};
use crate::secret::{Scrubber, Secret};

/// Where a stdout or stderr line goes at the current level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Stdout,
    Stderr,
    Verbose,
    Highlight,
    Warning,
    /// `stdout-ignore` / `stderr-ignore`: not shown.
    Hidden,
}

impl Level {
    fn line(self, text: String) -> Option<OutputLine> {
        match self {
            Level::Stdout => Some(OutputLine::Stdout(text)),
            Level::Stderr => Some(OutputLine::Stderr(text)),
            Level::Verbose => Some(OutputLine::Verbose(text)),
            Level::Highlight => Some(OutputLine::Highlight(text)),
            Level::Warning => Some(OutputLine::Warning(text)),
            Level::Hidden => None,
        }
    }

    /// The level a `stdout-*` switch names (`wait` is shown as ordinary output).
    fn stdout_switch(suffix: &str) -> Option<Self> {
        Some(match suffix {
            "default" | "wait" => Level::Stdout,
            "verbose" => Level::Verbose,
            "warning" => Level::Warning,
            "highlight" => Level::Highlight,
            "error" => Level::Stderr,
            "ignore" => Level::Hidden,
            _ => return None,
        })
    }

    /// The level a `stderr-*` switch names (`progress` means verbose).
    fn stderr_switch(suffix: &str) -> Option<Self> {
        Some(match suffix {
            "default" | "error" => Level::Stderr,
            "progress" => Level::Verbose,
            "ignore" => Level::Hidden,
            _ => return None,
        })
    }
}

/// The state of one run's output.
pub(super) struct Output<'s> {
    scrubber: Scrubber,
    stdout_level: Level,
    stderr_level: Level,
    outcome: ScriptOutcome,
    sink: &'s mut dyn FnMut(OutputLine),
}

/// The caller's scrubber plus this run's sensitive variables (the caller may not have added them).
pub(super) fn run_scrubber(scrubber: &Scrubber, variables: &[ScriptVariable]) -> Scrubber {
    let mut scrubber = scrubber.clone();
    for variable in variables.iter().filter(|v| v.sensitive) {
        scrubber.add(&Secret::new(variable.value.clone()));
    }
    scrubber
}

impl<'s> Output<'s> {
    /// `scrubber` is the run's own ([`run_scrubber`]): it learns more secrets as the script runs.
    pub fn new(scrubber: Scrubber, sink: &'s mut dyn FnMut(OutputLine)) -> Self {
        Output {
            scrubber,
            stdout_level: Level::Stdout,
            stderr_level: Level::Stderr,
            outcome: ScriptOutcome::default(),
            sink,
        }
    }

    /// One stdout line, without its line ending.
    pub fn stdout(&mut self, line: &str) {
        match parse_line(line) {
            Parsed::Plain => self.emit(self.stdout_level, line),
            Parsed::Message(message, rest) => {
                self.message(&message, &line[..line.len() - rest.len()]);
                // Text after `]` may be output or another message, as Calamari's harness reads it.
                if !rest.trim().is_empty() {
                    self.stdout(rest);
                }
            }
        }
    }

    /// One stderr line, without its line ending. Counted as error output as Calamari counts it.
    pub fn stderr(&mut self, line: &str) {
        if !line.trim().is_empty() && !line.starts_with("##octopus") {
            self.outcome.stderr_lines += 1;
        }
        self.emit(self.stderr_level, line);
    }

    /// The outcome so far: output variables, artifacts, failure message, stderr count.
    pub fn finish(self) -> ScriptOutcome {
        self.outcome
    }

    /// A warning of our own (say, about a timeout), scrubbed like the rest.
    pub fn warn(&mut self, text: &str) {
        self.emit(Level::Warning, text);
    }

    fn emit(&mut self, level: Level, text: &str) {
        if let Some(line) = level.line(self.scrubber.scrub(text)) {
            (self.sink)(line);
        }
    }

    fn message(&mut self, message: &ServiceMessage, raw: &str) {
        let name = message.name.as_str();
        if let Some(level) = name.strip_prefix("stdout-").and_then(Level::stdout_switch) {
            self.stdout_level = level;
        } else if let Some(level) = name.strip_prefix("stderr-").and_then(Level::stderr_switch) {
            self.stderr_level = level;
        } else {
            match name {
                "setVariable" => self.set_variable(message),
                "createArtifact" => self.artifact(message),
                "resultMessage" => {
                    let text = message.attribute("message").unwrap_or_default();
                    self.outcome.failure_message = Some(self.scrubber.scrub(text));
                }
                "mask" => self.mask(message.attribute("value").unwrap_or_default()),
                "progress" => {
                    let percent = message.attribute("percentage").unwrap_or_default();
                    let text = message.attribute("message").unwrap_or_default();
                    self.emit(Level::Verbose, &format!("Progress {percent}%: {text}"));
                }
                // Infrastructure and environment messages mean nothing offline: log them.
                _ => self.emit(Level::Verbose, raw.trim()),
            }
        }
    }

    fn set_variable(&mut self, message: &ServiceMessage) {
        let Some(name) = message.attribute("name").filter(|n| !n.is_empty()) else {
            self.emit(
                Level::Warning,
                "Ignored a setVariable message without a name",
            );
            return;
        };
        let value = message.attribute("value").unwrap_or_default();
        let sensitive = message
            .attribute("sensitive")
            .is_some_and(|s| s.trim().eq_ignore_ascii_case("true"));
        if sensitive {
            self.mask(value);
        }
        self.emit(Level::Verbose, &format!("Set output variable {name}"));
        self.outcome.output_variables.push(OutputVariable {
            name: name.to_string(),
            value: value.to_string(),
            sensitive,
        });
    }

    fn artifact(&mut self, message: &ServiceMessage) {
        match message.attribute("path").filter(|p| !p.is_empty()) {
            Some(path) => self.outcome.artifacts.push(PathBuf::from(path)),
            None => self.emit(
                Level::Warning,
                "Ignored a createArtifact message without a path",
            ),
        }
    }

    fn mask(&mut self, value: &str) {
        self.scrubber.add(&Secret::new(value));
    }
}

#[cfg(test)]
mod tests {
    use super::super::service_message::encode;
    use super::*;
    use crate::secret::REDACTED;

    fn run(stdout: &[&str], stderr: &[&str]) -> (Vec<OutputLine>, ScriptOutcome) {
        let mut lines = Vec::new();
        let mut sink = |line| lines.push(line);
        let mut output = Output::new(Scrubber::new(), &mut sink);
        for line in stdout {
            output.stdout(line);
        }
        for line in stderr {
            output.stderr(line);
        }
        let outcome = output.finish();
        (lines, outcome)
    }

    #[test]
    fn levels_switch_later_lines() {
        let (lines, _) = run(
            &[
                "##octopus[stdout-verbose]",
                "v",
                "##octopus[stdout-highlight]",
                "h",
                "##octopus[stdout-ignore]",
                "hidden",
                "##octopus[stderr-progress]",
                "##octopus[stdout-default]",
                "d",
            ],
            &["e"],
        );
        assert_eq!(
            lines,
            [
                OutputLine::Verbose("v".into()),
                OutputLine::Highlight("h".into()),
                OutputLine::Stdout("d".into()),
                OutputLine::Verbose("e".into()),
            ]
        );
    }

    #[test]
    fn sensitive_output_variables_are_scrubbed_afterwards() {
        let set = format!(
            "##octopus[setVariable name='{}' value='{}' sensitive='{}']",
            encode("Token"),
            encode("tok-123456"),
            encode("true")
        );
        let (lines, outcome) = run(&[&set, "the token is tok-123456"], &["tok-123456"]);
        assert_eq!(outcome.output_variables.len(), 1);
        assert!(outcome.output_variables[0].sensitive);
        assert_eq!(outcome.output_variables[0].value, "tok-123456");
        assert!(lines.contains(&OutputLine::Stdout(format!("the token is {REDACTED}"))));
        assert!(lines.contains(&OutputLine::Stderr(REDACTED.into())));
    }

    #[test]
    fn text_after_a_message_is_output_or_another_message() {
        let (lines, _) = run(
            &["##octopus[stdout-verbose]##octopus[stdout-warning]careful"],
            &[],
        );
        assert_eq!(lines, [OutputLine::Warning("careful".into())]);
    }

    #[test]
    fn stderr_counting_skips_blank_and_service_lines() {
        let (_, outcome) = run(&[], &["", "  ", "##octopus[stdout-verbose]", "boom"]);
        assert_eq!(outcome.stderr_lines, 1);
    }

    #[test]
    fn malformed_messages_are_plain_output() {
        let (lines, outcome) = run(&["##octopus[setVariable name=bad]"], &[]);
        assert!(outcome.output_variables.is_empty());
        assert_eq!(
            lines,
            [OutputLine::Stdout("##octopus[setVariable name=bad]".into())]
        );
    }

    #[test]
    fn result_message_artifact_and_mask() {
        let lines = [
            format!("##octopus[mask value='{}']", encode("hidden-42")),
            format!(
                "##octopus[resultMessage message='{}']",
                encode("no hidden-42")
            ),
            format!("##octopus[createArtifact path='{}']", encode("/tmp/a.log")),
            "hidden-42".to_string(),
        ];
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        let (out, outcome) = run(&refs, &[]);
        assert_eq!(outcome.failure_message, Some(format!("no {REDACTED}")));
        assert_eq!(outcome.artifacts, [PathBuf::from("/tmp/a.log")]);
        assert_eq!(out, [OutputLine::Stdout(REDACTED.into())]);
    }
}
