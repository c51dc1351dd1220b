//! The install report: built as Rust data, written as JSON (for machines and the vendor's
//! metrics), as a text summary for the change ticket, and as a self-contained HTML page from the
//! embedded `templates/report.html`. Holds no secret: answers are saved without them and every
//! message was scrubbed before it got here.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt::Write as _;

use crate::answers::AnswerChanges;
use crate::escape;
use crate::units::human_bytes;

/// The HTML template, embedded at build time.
pub const HTML_TEMPLATE: &str = include_str!("../../templates/report.html");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReportOutcome {
    Succeeded,
    FailedRolledBack,
    FailedRollbackIncomplete,
    /// A step failed and `--no-rollback` kept the changes for diagnosis.
    FailedNotRolledBack,
    Declined,
    /// A finished (or interrupted) install undone later with `rollback`.
    RolledBack,
    /// `rollback` could not undo everything; the report lists what is left.
    RollbackIncomplete,
}

impl ReportOutcome {
    pub fn describe(self) -> &'static str {
        match self {
            ReportOutcome::Succeeded => "succeeded",
            ReportOutcome::FailedRolledBack => "failed; everything was rolled back",
            ReportOutcome::FailedRollbackIncomplete => "failed; rollback is incomplete",
            ReportOutcome::FailedNotRolledBack => {
                "failed; changes kept for diagnosis (--no-rollback)"
            }
            ReportOutcome::Declined => "declined by the operator",
            ReportOutcome::RolledBack => "rolled back",
            ReportOutcome::RollbackIncomplete => "rolled back in part; rollback is incomplete",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepOutcome {
    Succeeded,
    Failed,
    Skipped,
    RolledBack,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepReport {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub status: StepOutcome,
    pub start: Option<String>,
    pub end: Option<String>,
    pub duration_s: Option<f64>,
    pub attempts: u32,
    /// Why it was skipped or failed; scrubbed.
    pub message: Option<String>,
    /// The last lines the step printed (stdout, stderr marked `! `, its notes and warnings),
    /// at most [`OUTPUT_TAIL_LINES`], scrubbed and without terminal control codes.
    #[serde(default)]
    pub output_tail: Vec<String>,
    /// The files its scripts asked to keep (`new_octopusartifact`), copied into the state
    /// directory.
    #[serde(default)]
    pub artifacts: Vec<Artifact>,
}

/// How many of a step's last output lines the report keeps.
pub const OUTPUT_TAIL_LINES: usize = 60;

/// A file a step's script asked to keep (`new_octopusartifact`, `New-OctopusArtifact`,
/// `createartifact`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Artifact {
    /// The path the script gave.
    pub source: String,
    /// The copy, relative to the state directory (`artifacts/step-3/app.log`); `None` when it
    /// could not be kept (see `problem`).
    pub path: Option<String>,
    /// Bytes of the copy.
    pub size: u64,
    /// Why it was not kept, or what was changed in the copy (secrets hidden).
    pub problem: Option<String>,
}

/// The machine an install ran on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Host {
    pub name: String,
    /// `linux`, `windows`, `macos`.
    pub os: String,
    /// `Ubuntu 24.04.1 LTS (Linux 6.8.0-45-generic)`, `Windows Server 2022 Standard (build 20348)`.
    pub os_version: String,
    pub arch: String,
    /// The user the installer ran as: `root (uid 0)`, `CONTOSO\deploy`.
    pub user: String,
    /// The machine's offset from UTC when the install ran (`+01:00`): every time is UTC, and
    /// shown to people with the local time beside it.
    pub utc_offset: String,
}

/// The runtime an installer was built on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeInfo {
    pub version: String,
}

/// The installer file that ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallerInfo {
    pub path: String,
    /// SHA-256 of the whole file, as `sha256sum` prints it; `None` when it could not be read.
    pub sha256: Option<String>,
}

/// Whether an operator answered at a terminal or every answer came from options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunMode {
    Guided,
    Unattended,
}

impl RunMode {
    pub fn name(self) -> &'static str {
        match self {
            RunMode::Guided => "guided",
            RunMode::Unattended => "unattended",
        }
    }
}

/// What is known about a run before it starts: the log's header and the report's fields.
/// Absent (`null`) in reports of older runtimes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunFacts {
    pub host: Host,
    pub runtime: RuntimeInfo,
    pub installer: InstallerInfo,
    /// The command line, each word shell-quoted, secrets redacted.
    pub command_line: String,
    pub state_dir: String,
    /// Guided or unattended (what the install did to an installed version is `upgrade.mode`).
    pub mode: RunMode,
}

impl RunFacts {
    /// One `label: value` pair a line, for the log's header and the text report.
    pub fn lines(&self) -> Vec<(&'static str, String)> {
        let host = &self.host;
        vec![
            ("installer", self.installer.path.clone()),
            (
                "SHA-256",
                self.installer
                    .sha256
                    .clone()
                    .unwrap_or_else(|| "(could not be read)".into()),
            ),
            (
                "runtime",
                format!("dropship runtime {}", self.runtime.version),
            ),
            (
                "host",
                format!(
                    "{} ({}, {}, {})",
                    host.name, host.os, host.os_version, host.arch
                ),
            ),
            ("user", host.user.clone()),
            ("state dir", self.state_dir.clone()),
            ("command", self.command_line.clone()),
            ("run mode", self.mode.name().to_string()),
        ]
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct RollbackSummary {
    pub complete: bool,
    pub undone: usize,
    /// What could not be undone, one line each (path and reason, a rollback script that
    /// failed or was not run).
    pub left: Vec<String>,
    /// The rollback scripts that ran, newest step first, and how each ended.
    #[serde(default)]
    pub scripts: Vec<RollbackScriptReport>,
}

/// How one step's rollback script ended.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RollbackScriptReport {
    pub step: String,
    pub succeeded: bool,
    /// Why it failed; scrubbed.
    pub message: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub outcome: ReportOutcome,
    pub resumed: bool,
    pub product: String,
    pub version: String,
    pub vendor: Option<String>,
    pub customer: Option<String>,
    pub installer_digest: String,
    pub payload_digest: String,
    pub signer_key_id: String,
    pub roles: Vec<String>,
    /// Answers without secrets.
    pub answers: Map<String, Value>,
    pub started_at: String,
    pub finished_at: String,
    pub duration_s: f64,
    pub steps: Vec<StepReport>,
    pub rollback: Option<RollbackSummary>,
    /// Every run on this install, oldest first: the install, each `resume` (an interrupted one
    /// says where it stopped).
    #[serde(default)]
    pub attempts: Vec<Attempt>,
    /// A `rollback` of the install after it ended: its own section, the install's history kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub later_rollback: Option<LaterRollback>,
    /// What the operator and the vendor should know (a file holding a secret that all users can
    /// read), scrubbed.
    #[serde(default)]
    pub warnings: Vec<String>,
    /// What this install followed: nothing (`fresh`), or the version it upgraded, reinstalled
    /// or downgraded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upgrade: Option<UpgradeReport>,
    /// Where, from what and how it ran: `host`, `runtime`, `installer`, `command_line`,
    /// `state_dir`, `mode` at the top level of the JSON.
    #[serde(flatten)]
    pub facts: Option<RunFacts>,
}

/// An install over an installed version.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UpgradeReport {
    /// `fresh`, `upgrade`, `reinstall` or `downgrade`.
    pub mode: String,
    pub from: Option<String>,
    pub to: String,
    /// `Upgrade Fabrikam Platform 4.12.0 → 4.13.0`.
    pub headline: String,
    /// The answers against the installed version's (not on a fresh install).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answers: Option<AnswerChanges>,
    /// The command that goes back to the installed version (`rollback --to`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub back: Option<String>,
    /// The earlier installs made final at the end of this one (`--keep`): no longer undoable.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retention: Vec<RetiredInstall>,
}

/// An earlier install made final by retention: its journal archived, its backups removed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetiredInstall {
    pub version: String,
    /// When it began (UTC).
    pub started_at: String,
    /// The backups it recorded, removed.
    pub backups_removed: usize,
    pub bytes_freed: u64,
    /// What could not be removed, with why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub left: Vec<String>,
}

impl RetiredInstall {
    /// `made final: 4.11.0 (installed 2026-12-01 09:00:00 UTC): 12 backups removed (3.4 MB)`.
    pub fn line(&self) -> String {
        let mut line = format!(
            "made final (no longer undoable): {} (installed {}): {} backup(s) removed ({})",
            self.version,
            self.started_at,
            self.backups_removed,
            human_bytes(self.bytes_freed)
        );
        for left in &self.left {
            let _ = write!(line, "; NOT removed: {left}");
        }
        line
    }
}

impl UpgradeReport {
    /// The headline, what became of each answer, and the way back.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = vec![self.headline.clone()];
        if let Some(answers) = &self.answers {
            let groups = [
                ("kept", &answers.kept),
                ("changed", &answers.changed),
                ("new", &answers.new),
                ("removed", &answers.removed),
                ("given again (secrets)", &answers.asked_again),
            ];
            lines.extend(
                groups
                    .iter()
                    .filter(|(_, names)| !names.is_empty())
                    .map(|(what, names)| format!("answers {what}: {}", names.join(", "))),
            );
        }
        if let Some(back) = &self.back {
            lines.push(format!("to go back: {back}"));
        }
        lines.extend(self.retention.iter().map(RetiredInstall::line));
        lines
    }
}

/// One run of the installer on an install.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Attempt {
    /// `install` or `resume`.
    pub kind: String,
    pub started_at: String,
    /// How it ended: the report's outcome for the last run, where it stopped for one that was
    /// interrupted.
    pub outcome: String,
}

/// A `rollback` run after the install.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LaterRollback {
    pub started_at: String,
    pub finished_at: String,
    pub outcome: ReportOutcome,
    pub summary: RollbackSummary,
}

impl Report {
    /// The summary an operator attaches to a change ticket.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} {} — install {}",
            self.product,
            self.version,
            self.outcome.describe()
        );
        let customer = self.customer.clone().unwrap_or_else(|| "-".into());
        let mut fields = vec![
            ("customer", customer),
            ("roles", join_or_dash(&self.roles)),
            ("signer", self.signer_key_id.clone()),
            ("id", self.installer_digest.clone()),
        ];
        fields.extend(self.facts.iter().flat_map(RunFacts::lines));
        for (label, value) in fields {
            let _ = writeln!(out, "{:<11}{value}", format!("{label}:"));
        }
        for line in self.upgrade.iter().flat_map(UpgradeReport::lines) {
            let _ = writeln!(out, "mode:      {line}");
        }
        let _ = writeln!(
            out,
            "started:   {}\nfinished:  {}  ({:.1} s){}",
            self.shown_time(&self.started_at),
            self.shown_time(&self.finished_at),
            self.duration_s,
            if self.resumed { "  [resumed]" } else { "" }
        );
        for warning in &self.warnings {
            let _ = writeln!(out, "warning:   {warning}");
        }
        let _ = writeln!(out, "steps:");
        for (i, step) in self.steps.iter().enumerate() {
            step_text(&mut out, i, step, self.shows_output(i));
        }
        for attempt in &self.attempts {
            let (kind, at, outcome) = (&attempt.kind, &attempt.started_at, &attempt.outcome);
            let _ = writeln!(out, "run:       {kind} at {at}: {outcome}");
        }
        if let Some(rollback) = &self.rollback {
            rollback_text(&mut out, rollback);
        }
        if let Some(later) = &self.later_rollback {
            let _ = writeln!(
                out,
                "later rollback: {} to {}: {}",
                later.started_at,
                later.finished_at,
                later.outcome.describe()
            );
            rollback_text(&mut out, &later.summary);
        }
        let _ = writeln!(out, "log:       install.log in the state directory");
        out
    }

    /// A UTC time of this report as people read it ([`shown_time`], with the install's offset).
    pub fn shown_time(&self, utc: &str) -> String {
        shown_time(utc, self.facts.as_ref().map(|f| f.host.utc_offset.as_str()))
    }

    /// Whether the text report prints step `index`'s output and artifacts: a step that failed,
    /// and a step that ran after a failure (the vendor's diagnostics). Every step's are in the
    /// JSON, and in the HTML (collapsed but the failed step's).
    fn shows_output(&self, index: usize) -> bool {
        let Some(first_failure) = self
            .steps
            .iter()
            .position(|s| s.status == StepOutcome::Failed)
        else {
            return false;
        };
        index >= first_failure && self.steps[index].status != StepOutcome::Skipped
    }

    /// A self-contained HTML page.
    pub fn html(&self) -> String {
        let steps: String = self
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| step_html(i, s))
            .collect();
        let answers: String = self
            .answers
            .iter()
            .map(|(k, v)| html_row(k, &escape::html(v.as_str().unwrap_or(&v.to_string()))))
            .collect();
        let runs: String = self
            .attempts
            .iter()
            .map(|a| {
                let line = format!("{} at {}: {}", a.kind, a.started_at, a.outcome);
                format!("<li>{}</li>", escape::html(&line))
            })
            .collect();
        let mut rollback = match runs.is_empty() {
            true => String::new(),
            false => format!("<h2>Runs</h2>\n<ul>{runs}</ul>\n"),
        };
        if let Some(r) = &self.rollback {
            rollback.push_str(&rollback_html("Rollback", r));
        }
        if let Some(later) = &self.later_rollback {
            let heading = format!(
                "Later rollback ({} – {}): {}",
                later.started_at,
                later.finished_at,
                later.outcome.describe()
            );
            rollback.push_str(&rollback_html(&heading, &later.summary));
        }
        let facts: String = self
            .facts
            .iter()
            .flat_map(RunFacts::lines)
            .map(|(label, value)| {
                let value = format!("<code>{}</code>", escape::html(&value));
                html_row(&capitalized(label), &value)
            })
            .collect();
        let title = format!("{} {} — install report", self.product, self.version);
        let fields = [
            ("title", escape::html(&title)),
            ("outcome", kebab(self.outcome)),
            ("outcome_text", escape::html(self.outcome.describe())),
            ("started", escape::html(&self.shown_time(&self.started_at))),
            (
                "finished",
                escape::html(&self.shown_time(&self.finished_at)),
            ),
            ("duration", format!("{:.1} s", self.duration_s)),
            (
                "product",
                escape::html(&format!("{} {}", self.product, self.version)),
            ),
            (
                "vendor",
                escape::html(self.vendor.as_deref().unwrap_or("-")),
            ),
            (
                "customer",
                escape::html(self.customer.as_deref().unwrap_or("-")),
            ),
            ("roles", escape::html(&join_or_dash(&self.roles))),
            ("signer", escape::html(&self.signer_key_id)),
            ("digest", escape::html(&self.installer_digest)),
            ("facts", facts),
            (
                "resumed",
                if self.resumed {
                    "yes".into()
                } else {
                    "no".into()
                },
            ),
            ("steps", steps),
            ("answers", answers),
            ("upgrade", upgrade_html(self.upgrade.as_ref())),
            ("rollback", rollback),
        ];
        fields
            .iter()
            .fold(HTML_TEMPLATE.to_string(), |page, (key, value)| {
                page.replace(&format!("{{{{{key}}}}}"), value)
            })
    }
}

/// A UTC time as people read it: with the local time beside it, for a machine whose offset
/// from UTC is known and not zero (`2026-12-06T08:11:38Z (2026-12-06 09:11:38 +01:00 local)`).
pub fn shown_time(utc: &str, offset: Option<&str>) -> String {
    let local = offset
        .filter(|o| !matches!(*o, "+00:00" | "-00:00"))
        .and_then(|o| o.parse::<chrono::FixedOffset>().ok())
        .zip(chrono::DateTime::parse_from_rfc3339(utc).ok())
        .map(|(offset, time)| time.with_timezone(&offset));
    match local {
        Some(local) => format!("{utc} ({} local)", local.format("%Y-%m-%d %H:%M:%S %:z")),
        None => utc.to_string(),
    }
}

/// One step of the text report; with its output and artifacts when `with_output`.
fn step_text(out: &mut String, index: usize, step: &StepReport, with_output: bool) {
    let duration = step
        .duration_s
        .map(|d| format!("{d:.1} s"))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "  {:>2}. {:<32} {:<12} {:>8}  {}",
        index + 1,
        step.name,
        status_text(step.status),
        duration,
        step.message.as_deref().unwrap_or("")
    );
    if !with_output {
        return;
    }
    if !step.output_tail.is_empty() {
        let _ = writeln!(out, "      output (last {} lines):", step.output_tail.len());
    }
    for line in &step.output_tail {
        let _ = writeln!(out, "      | {line}");
    }
    for artifact in &step.artifacts {
        let _ = writeln!(out, "      artifact: {}", artifact_text(artifact));
    }
}

/// An artifact for people: where its copy is, its size, and what became of it.
fn artifact_text(artifact: &Artifact) -> String {
    let problem = artifact
        .problem
        .as_deref()
        .map(|p| format!("; {p}"))
        .unwrap_or_default();
    match &artifact.path {
        Some(path) => format!(
            "{path} ({}, from {}){problem}",
            human_bytes(artifact.size),
            artifact.source
        ),
        None => format!("{} not kept{problem}", artifact.source),
    }
}

/// A step's row of the HTML report, and a row below it with its output and artifacts (open
/// for a failed step).
fn step_html(index: usize, step: &StepReport) -> String {
    let mut row = format!(
        "  <tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
        kebab(step.status),
        index + 1,
        escape::html(&step.name),
        status_text(step.status),
        step.duration_s
            .map(|d| format!("{d:.1} s"))
            .unwrap_or_default(),
        escape::html(step.message.as_deref().unwrap_or(""))
    );
    if step.output_tail.is_empty() && step.artifacts.is_empty() {
        return row;
    }
    let open = if step.status == StepOutcome::Failed {
        " open"
    } else {
        ""
    };
    let output = match step.output_tail.is_empty() {
        true => String::new(),
        false => format!(
            "<details{open}><summary>output (last {} lines)</summary><pre>{}</pre></details>",
            step.output_tail.len(),
            escape::html(&step.output_tail.join("\n"))
        ),
    };
    let artifacts: String = step
        .artifacts
        .iter()
        .map(|artifact| {
            let text = escape::html(&artifact_text(artifact));
            match &artifact.path {
                Some(path) => format!("<li><a href=\"{}\">{text}</a></li>", escape::html(path)),
                None => format!("<li>{text}</li>"),
            }
        })
        .collect();
    let artifacts = match artifacts.is_empty() {
        true => String::new(),
        false => format!("<p>Artifacts:</p><ul>{artifacts}</ul>"),
    };
    let _ = writeln!(
        row,
        "  <tr class=\"output\"><td></td><td colspan=\"4\">{output}{artifacts}</td></tr>"
    );
    row
}

/// `Run mode` for `run mode`, as the page's other headings are written.
fn capitalized(label: &str) -> String {
    let mut chars = label.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn html_row(label: &str, value_html: &str) -> String {
    format!(
        "  <tr><th>{}</th><td>{value_html}</td></tr>\n",
        escape::html(label)
    )
}

/// The install's relation to the installed version, one line each; `fresh` for none.
fn upgrade_html(upgrade: Option<&UpgradeReport>) -> String {
    let Some(upgrade) = upgrade else {
        return "fresh".to_string();
    };
    let lines: Vec<String> = upgrade.lines().iter().map(|l| escape::html(l)).collect();
    lines.join("<br>")
}

/// How serde names a value of a kebab-case enum (`failed-rolled-back`).
fn kebab(value: impl Serialize) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn status_text(status: StepOutcome) -> &'static str {
    match status {
        StepOutcome::Succeeded => "succeeded",
        StepOutcome::Failed => "failed",
        StepOutcome::Skipped => "skipped",
        StepOutcome::RolledBack => "rolled back",
    }
}

/// What a rollback did, for the HTML report, under `heading`.
fn rollback_html(heading: &str, rollback: &RollbackSummary) -> String {
    let scripts = rollback.scripts.iter().map(|script| {
        let ended = script.message.as_deref().unwrap_or("succeeded");
        format!("rollback script of `{}`: {ended}", script.step)
    });
    let left = rollback.left.iter().map(|left| format!("left: {left}"));
    let items: String = scripts
        .chain(left)
        .map(|line| format!("<li>{}</li>", escape::html(&line)))
        .collect();
    format!(
        "<h2>{}</h2>\n<p>{} change(s) undone; {}.</p>\n<ul>{items}</ul>\n",
        escape::html(heading),
        rollback.undone,
        if rollback.complete {
            "complete"
        } else {
            "<strong>incomplete</strong>"
        }
    )
}

/// What a rollback did, for the text report.
fn rollback_text(out: &mut String, rollback: &RollbackSummary) {
    let _ = writeln!(
        out,
        "rollback:  {} change(s) undone{}",
        rollback.undone,
        if rollback.complete {
            ""
        } else {
            "; NOT complete"
        }
    );
    for script in &rollback.scripts {
        let ended = script.message.as_deref().unwrap_or("succeeded");
        let _ = writeln!(out, "  rollback script of `{}`: {ended}", script.step);
    }
    for left in &rollback.left {
        let _ = writeln!(out, "  left: {left}");
    }
}

fn join_or_dash(items: &[String]) -> String {
    if items.is_empty() {
        "-".into()
    } else {
        items.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Report {
        Report {
            outcome: ReportOutcome::FailedRolledBack,
            resumed: true,
            product: "Fabrikam <Platform>".into(),
            version: "4.12.0".into(),
            vendor: Some("Fabrikam Ltd".into()),
            customer: Some("Contoso".into()),
            installer_digest: "sha256:00".into(),
            payload_digest: "blake3:11".into(),
            signer_key_id: "0123456789ABCDEF".into(),
            roles: vec!["web".into()],
            answers: [("Port".to_string(), Value::String("8443".into()))]
                .into_iter()
                .collect(),
            started_at: "2026-11-27T00:00:00Z".into(),
            finished_at: "2026-11-27T00:01:00Z".into(),
            duration_s: 60.0,
            steps: vec![StepReport {
                name: "Deploy".into(),
                kind: "deploy-package".into(),
                status: StepOutcome::RolledBack,
                start: None,
                end: None,
                duration_s: Some(1.5),
                attempts: 1,
                message: Some("exit code 1".into()),
                output_tail: vec!["migrating <db>".into(), "! failed & stopped".into()],
                artifacts: vec![Artifact {
                    source: "/tmp/app.log".into(),
                    path: Some("artifacts/step-1/1-app.log".into()),
                    size: 2048,
                    problem: None,
                }],
            }],
            rollback: Some(RollbackSummary {
                complete: true,
                undone: 3,
                left: vec![],
                scripts: vec![],
            }),
            attempts: vec![],
            later_rollback: None,
            warnings: Vec::new(),
            upgrade: Some(UpgradeReport {
                mode: "upgrade".into(),
                from: Some("4.11.0".into()),
                to: "4.12.0".into(),
                headline: "Upgrade Fabrikam <Platform> 4.11.0 → 4.12.0".into(),
                answers: Some(AnswerChanges {
                    kept: vec!["Install.Root".into()],
                    new: vec!["Region".into()],
                    ..AnswerChanges::default()
                }),
                back: Some("'/tmp/installer' rollback --state-dir '/var/lib/f'".into()),
                retention: Vec::new(),
            }),
            facts: Some(RunFacts {
                host: Host {
                    name: "web01".into(),
                    os: "linux".into(),
                    os_version: "Ubuntu 24.04.1 LTS (Linux 6.8.0)".into(),
                    arch: "x86_64".into(),
                    user: "root (uid 0)".into(),
                    utc_offset: "+01:00".into(),
                },
                runtime: RuntimeInfo {
                    version: "0.1.0".into(),
                },
                installer: InstallerInfo {
                    path: "/tmp/installer".into(),
                    sha256: Some("ab".repeat(32)),
                },
                command_line: "/tmp/installer install --unattended".into(),
                state_dir: "/var/lib/f".into(),
                mode: RunMode::Unattended,
            }),
        }
    }

    #[test]
    fn json_has_where_and_how_the_install_ran_and_what_each_step_printed() {
        let report = sample();
        let value = serde_json::to_value(&report).unwrap();
        assert_eq!(value["host"]["name"], "web01");
        assert_eq!(
            value["host"]["os_version"],
            "Ubuntu 24.04.1 LTS (Linux 6.8.0)"
        );
        assert_eq!(value["runtime"]["version"], "0.1.0");
        assert_eq!(value["installer"]["sha256"], "ab".repeat(32));
        assert_eq!(value["command_line"], "/tmp/installer install --unattended");
        assert_eq!(value["state_dir"], "/var/lib/f");
        assert_eq!(value["mode"], "unattended");
        assert_eq!(value["upgrade"]["mode"], "upgrade");
        assert_eq!(value["steps"][0]["output_tail"][1], "! failed & stopped");
        assert_eq!(value["steps"][0]["artifacts"][0]["size"], 2048);
        let back: Report = serde_json::from_value(value).unwrap();
        assert_eq!(back.facts, report.facts);
    }

    #[test]
    fn a_report_of_an_older_runtime_still_reads() {
        let mut value = serde_json::to_value(sample()).unwrap();
        let object = value.as_object_mut().unwrap();
        for key in [
            "host",
            "runtime",
            "installer",
            "command_line",
            "state_dir",
            "mode",
        ] {
            object.remove(key);
        }
        for step in object["steps"].as_array_mut().unwrap() {
            let step = step.as_object_mut().unwrap();
            step.remove("output_tail");
            step.remove("artifacts");
        }
        let old: Report = serde_json::from_value(value).unwrap();
        assert_eq!(old.facts, None);
        assert!(old.steps[0].output_tail.is_empty());
        assert!(old.text().contains("started:   2026-11-27T00:00:00Z\n"));
    }

    #[test]
    fn times_are_utc_with_the_local_time_beside_them() {
        let report = sample();
        let text = report.text();
        assert!(
            text.contains("started:   2026-11-27T00:00:00Z (2026-11-27 01:00:00 +01:00 local)"),
            "{text}"
        );
        assert_eq!(
            shown_time("2026-11-27T00:00:00Z", Some("+00:00")),
            "2026-11-27T00:00:00Z"
        );
        assert_eq!(shown_time("not a time", Some("+01:00")), "not a time");
    }

    #[test]
    fn the_failed_steps_output_is_shown_and_open_and_the_log_linked() {
        let mut report = sample();
        report.steps[0].status = StepOutcome::Failed;
        let text = report.text();
        assert!(
            text.contains("      | migrating <db>\n      | ! failed & stopped\n"),
            "{text}"
        );
        assert!(
            text.contains("artifact: artifacts/step-1/1-app.log (2.0 KiB, from /tmp/app.log)"),
            "{text}"
        );
        assert!(
            text.contains("host:      web01 (linux, Ubuntu 24.04.1 LTS (Linux 6.8.0), x86_64)"),
            "{text}"
        );
        assert!(text.contains("run mode:  unattended"), "{text}");
        let html = report.html();
        assert!(html.contains("<details open><summary>output (last 2 lines)</summary><pre>migrating &lt;db&gt;\n! failed &amp; stopped</pre></details>"), "{html}");
        assert!(
            html.contains("<a href=\"artifacts&#x2F;step-1&#x2F;1-app.log\">"),
            "{html}"
        );
        assert!(html.contains("<a href=\"install.log\">install.log</a>"));
        assert!(html.contains("<tr><th>Run mode</th><td><code>unattended</code></td></tr>"));
        assert!(html.contains("<tr><th>SHA-256</th>"));
        // Another step's output is there, collapsed; the text report leaves it to the JSON.
        report.steps[0].status = StepOutcome::Succeeded;
        assert!(
            report
                .html()
                .contains("<details><summary>output (last 2 lines)")
        );
        assert!(!report.text().contains("| migrating"));
    }

    #[test]
    fn an_upgrade_says_from_what_what_became_of_the_answers_and_the_way_back() {
        let report = sample();
        let text = report.text();
        for line in [
            "mode:      Upgrade Fabrikam <Platform> 4.11.0 → 4.12.0",
            "mode:      answers kept: Install.Root",
            "mode:      answers new: Region",
            "mode:      to go back: '/tmp/installer' rollback --state-dir '/var/lib/f'",
        ] {
            assert!(text.contains(line), "{line} in:\n{text}");
        }
        let html = report.html();
        assert!(html.contains("Upgrade Fabrikam &lt;Platform&gt; 4.11.0 → 4.12.0<br>"));
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["upgrade"]["mode"], "upgrade");
        assert_eq!(json["upgrade"]["from"], "4.11.0");
        assert_eq!(json["upgrade"]["to"], "4.12.0");
        assert_eq!(json["upgrade"]["answers"]["new"][0], "Region");
    }

    #[test]
    fn the_embedded_html_template_renders_every_placeholder() {
        let html = sample().html();
        assert!(!html.contains("{{"), "unfilled placeholder in:\n{html}");
        assert!(html.contains("Fabrikam &lt;Platform&gt;"), "escaped");
        assert!(html.contains("failed-rolled-back"));
        assert!(html.contains("<td>Deploy</td>"));
    }

    #[test]
    fn json_has_the_documented_fields() {
        let value = serde_json::to_value(sample()).unwrap();
        for field in [
            "outcome",
            "resumed",
            "product",
            "version",
            "customer",
            "installer_digest",
            "signer_key_id",
            "roles",
            "answers",
            "steps",
        ] {
            assert!(value.get(field).is_some(), "missing {field}");
        }
        assert_eq!(value["outcome"], "failed-rolled-back");
        assert_eq!(value["steps"][0]["status"], "rolled-back");
        for field in ["name", "status", "start", "end", "duration_s"] {
            assert!(
                value["steps"][0].get(field).is_some(),
                "missing steps[].{field}"
            );
        }
    }

    #[test]
    fn text_summary_lists_steps_and_rollback() {
        let text = sample().text();
        assert!(
            text.contains("install failed; everything was rolled back"),
            "{text}"
        );
        assert!(text.contains("[resumed]"));
        assert!(text.contains("rolled back"));
    }
}
