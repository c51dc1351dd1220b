//! The install report: built as Rust data, written as JSON (for machines and the vendor's
//! metrics), as a text summary for the change ticket, and as a self-contained HTML page from the
//! embedded `templates/report.html`. Holds no secret: answers are saved without them and every
//! message was scrubbed before it got here.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt::Write as _;

use crate::answers::AnswerChanges;
use crate::escape;

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
    /// The command that goes back to the installed version (until the next install).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub back: Option<String>,
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
        let _ = writeln!(
            out,
            "customer:  {}",
            self.customer.as_deref().unwrap_or("-")
        );
        let _ = writeln!(out, "roles:     {}", join_or_dash(&self.roles));
        let _ = writeln!(out, "signer:    {}", self.signer_key_id);
        let _ = writeln!(out, "installer: {}", self.installer_digest);
        for line in self.upgrade.iter().flat_map(UpgradeReport::lines) {
            let _ = writeln!(out, "mode:      {line}");
        }
        let _ = writeln!(
            out,
            "started:   {}  finished: {}  ({:.1} s){}",
            self.started_at,
            self.finished_at,
            self.duration_s,
            if self.resumed { "  [resumed]" } else { "" }
        );
        for warning in &self.warnings {
            let _ = writeln!(out, "warning:   {warning}");
        }
        let _ = writeln!(out, "steps:");
        for (i, step) in self.steps.iter().enumerate() {
            let duration = step
                .duration_s
                .map(|d| format!("{d:.1} s"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {:>2}. {:<32} {:<12} {:>8}  {}",
                i + 1,
                step.name,
                status_text(step.status),
                duration,
                step.message.as_deref().unwrap_or("")
            );
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
        out
    }

    /// A self-contained HTML page.
    pub fn html(&self) -> String {
        let steps: String = self
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| {
                format!(
                    "  <tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                    i + 1,
                    escape::html(&s.name),
                    status_text(s.status),
                    s.duration_s
                        .map(|d| format!("{d:.1} s"))
                        .unwrap_or_default(),
                    escape::html(s.message.as_deref().unwrap_or(""))
                )
            })
            .collect();
        let answers: String = self
            .answers
            .iter()
            .map(|(k, v)| {
                format!(
                    "  <tr><th>{}</th><td>{}</td></tr>\n",
                    escape::html(k),
                    escape::html(v.as_str().unwrap_or(&v.to_string()))
                )
            })
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
        let title = format!("{} {} — install report", self.product, self.version);
        let fields = [
            ("title", escape::html(&title)),
            ("outcome", kebab(self.outcome)),
            ("outcome_text", escape::html(self.outcome.describe())),
            ("started", escape::html(&self.started_at)),
            ("finished", escape::html(&self.finished_at)),
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

/// The install's relation to the installed version, one line each; `fresh` for none.
fn upgrade_html(upgrade: Option<&UpgradeReport>) -> String {
    let Some(upgrade) = upgrade else {
        return "fresh".to_string();
    };
    let lines: Vec<String> = upgrade.lines().iter().map(|l| escape::html(l)).collect();
    lines.join("<br>")
}

fn kebab(outcome: ReportOutcome) -> String {
    serde_json::to_value(outcome)
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
            }),
        }
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
