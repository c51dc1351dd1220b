//! The engine's rules that the end-to-end tests cannot reach cheaply: where a resumed install
//! continues, and what happens when the journal cannot be written. The plans use manual steps,
//! approved in advance or confirmed by the test, so no script runs.

use super::*;
use crate::answers::Answers;
use crate::journal::{Begin, Outcome, Record, Timestamp};
use crate::script::OutputLine;
use crate::state_dir::StateDir;
#[cfg(unix)]
use std::process::Command;

/// A plan of manual steps with these names.
fn manual_plan(names: &[&str]) -> Plan {
    let steps: Vec<String> = names
        .iter()
        .map(|name| {
            format!(r#"{{ "name": "{name}", "type": "manual", "instructions": "do {name}" }}"#)
        })
        .collect();
    let json = format!(
        r#"{{ "schema": "dropship/plan@1", "product": {{ "name": "Fabrikam", "version": "4.12.0" }},
             "steps": [{}] }}"#,
        steps.join(",")
    );
    Plan::parse(json.as_bytes(), "plan.json").unwrap()
}

/// A plan of one bash step running `inline`.
fn script_plan(inline: &str) -> Plan {
    let json = serde_json::json!({
        "schema": "dropship/plan@1",
        "product": { "name": "Fabrikam", "version": "4.12.0" },
        "steps": [{ "name": "Run", "type": "run-script", "syntax": "bash", "inline": inline }]
    });
    Plan::parse(json.to_string().as_bytes(), "plan.json").unwrap()
}

fn begin() -> Begin {
    Begin {
        installer_id: "engine-test".to_string(),
        product: "Fabrikam".to_string(),
        version: "4.12.0".to_string(),
        customer: None,
        started_at: Timestamp::now(),
        roles: Vec::new(),
        signer_key: None,
        installed_before: None,
        keep: None,
        sequence: 0,
    }
}

/// What the front end heard; confirms manual steps, first calling `on_confirm`.
#[derive(Default)]
struct Heard {
    started: Vec<usize>,
    notes: Vec<String>,
    on_confirm: Option<Box<dyn FnMut()>>,
}

impl Events for Heard {
    fn step_started(&mut self, index: usize, _total: usize, _name: &str, _kind: &str) {
        self.started.push(index);
    }

    fn output(&mut self, _step: &str, _line: &OutputLine) {}

    fn note(&mut self, text: &str) {
        self.notes.push(text.to_string());
    }

    fn step_finished(&mut self, _: usize, _: &str, _: StepOutcome, _: Option<&str>, _: Duration) {}

    fn confirm_manual(&mut self, _name: &str, _instructions: &str) -> bool {
        if let Some(hook) = &mut self.on_confirm {
            hook();
        }
        true
    }
}

/// Run `plan` with `options` on `journal` (resuming `previous`, if given).
fn run(
    plan: &Plan,
    options: &RunOptions,
    heard: &mut Heard,
    journal: &mut Journal,
    previous: Option<&JournalState>,
) -> RunResult {
    let base = BaseVariables::new(plan, None, &Answers::default());
    let cancel = AtomicBool::new(false);
    let drop_root = Path::new("/nonexistent-drop");
    let engine = Engine::new(
        plan,
        drop_root,
        base,
        options,
        Scrubber::new(),
        heard,
        &cancel,
    );
    engine.run(journal, previous)
}

fn approving(names: &[&str]) -> RunOptions {
    RunOptions {
        approvals: names.iter().map(|n| n.to_string()).collect(),
        ..RunOptions::default()
    }
}

fn finished(index: usize, status: StepStatus) -> Record {
    Record::StepFinished {
        index,
        name: format!("step {index}"),
        status,
        at: Timestamp::now(),
        message: None,
        outputs: Vec::new(),
    }
}

fn started(index: usize) -> Record {
    Record::StepStarted {
        index,
        name: format!("step {index}"),
        at: Timestamp::now(),
    }
}

#[test]
fn a_resumed_install_continues_at_the_first_step_that_did_not_finish() {
    let state_dir = tempfile::tempdir().unwrap();
    let names = ["A", "B", "C", "D"];
    let plan = manual_plan(&names);
    let mut journal = Journal::create(&StateDir::new(state_dir.path()), begin()).unwrap();
    // A succeeded, B failed (kept with --no-rollback), C ran after the failure and succeeded.
    for (index, status) in [
        (0, StepStatus::Succeeded),
        (1, StepStatus::Failed),
        (2, StepStatus::Succeeded),
    ] {
        journal.append(started(index)).unwrap();
        journal.append(finished(index, status)).unwrap();
    }
    drop(journal);

    let (mut journal, previous) = Journal::open(&StateDir::new(state_dir.path())).unwrap();
    assert_eq!(previous.resume_from(), 1);
    let options = approving(&names);
    let mut heard = Heard::default();
    let result = run(&plan, &options, &mut heard, &mut journal, Some(&previous));

    assert_eq!(result.outcome, ReportOutcome::Succeeded);
    assert_eq!(heard.started, [1, 2, 3], "every step from B on runs again");
    let done = &result.steps[0];
    assert_eq!(done.status, StepOutcome::Succeeded);
    assert_eq!(
        done.message.as_deref(),
        Some("done before the interruption")
    );
    assert_eq!(done.attempts, 0);
    let journaled = &previous.steps[&0];
    assert_eq!(
        done.start,
        journaled.started.map(|t| report::time_text(&t.0))
    );
    assert_eq!(
        done.end,
        journaled.finished.map(|t| report::time_text(&t.0))
    );
    for report in &result.steps[1..] {
        assert_eq!(
            (report.status, report.attempts),
            (StepOutcome::Succeeded, 1)
        );
    }
    assert!(
        result.journal_errors.is_empty(),
        "{:?}",
        result.journal_errors
    );
    drop(journal);
    let (_, state) = Journal::open(&StateDir::new(state_dir.path())).unwrap();
    assert_eq!(state.outcome, Some(Outcome::Succeeded));
}

/// The environment variables that make [`journal_child`] run, and what it is to do.
#[cfg(unix)]
const CHILD: &str = "DROPSHIP_ENGINE_TEST_CHILD";
#[cfg(unix)]
const CHILD_STATE: &str = "DROPSHIP_ENGINE_TEST_STATE";

// The journal-write failures below are provoked with a file-size rlimit, which Windows lacks.

/// From now on, no file of this process may grow past `bytes`: the journal's next append fails
/// (with `EFBIG`, the signal that would kill the process ignored).
#[cfg(unix)]
fn limit_file_size(bytes: u64) {
    // SAFETY: setrlimit and signal are given valid arguments; this process is the test's child
    // and runs only this test.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
        let limit = libc::rlimit {
            rlim_cur: bytes as libc::rlim_t,
            rlim_max: libc::RLIM_INFINITY,
        };
        assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &limit), 0);
    }
}

/// The child's side of the journal tests: a no-op unless [`CHILD`] says what to break.
#[test]
#[cfg(unix)]
fn journal_child() {
    let (Ok(what), Some(state_dir)) = (std::env::var(CHILD), std::env::var_os(CHILD_STATE)) else {
        return;
    };
    let state_dir = PathBuf::from(state_dir);
    let marker = state_dir.join("ran");
    let plan = match what.as_str() {
        "start" => script_plan(&format!("touch '{}'", marker.display())),
        _ => manual_plan(&["Confirm"]),
    };
    let mut journal = Journal::create(&StateDir::new(&state_dir), begin()).unwrap();
    let journal_path = journal.path().to_path_buf();
    let full = move || limit_file_size(std::fs::metadata(&journal_path).unwrap().len());
    let mut heard = Heard::default();
    let options = RunOptions {
        interactive: true,
        ..RunOptions::default()
    };
    match what.as_str() {
        "start" => full(),
        "end" => heard.on_confirm = Some(Box::new(full)),
        other => panic!("unknown child role {other}"),
    }
    let result = run(&plan, &options, &mut heard, &mut journal, None);
    let step = &result.steps[0];
    let errors = result.journal_errors.join("\n");
    if what == "start" {
        assert_eq!(result.outcome, ReportOutcome::FailedRolledBack, "{errors}");
        assert_eq!(step.status, StepOutcome::Failed);
        let message = step.message.as_deref().unwrap_or_default();
        assert!(
            message.contains("could not record the step's start"),
            "{message}"
        );
        assert!(message.contains("did not run"), "{message}");
        assert!(!marker.exists(), "the script did not run");
        assert!(errors.contains("the end of the install"), "{errors}");
        assert!(errors.contains("until you remove"), "{errors}");
    } else {
        assert_eq!(result.outcome, ReportOutcome::Succeeded, "{errors}");
        assert_eq!(step.status, StepOutcome::Succeeded);
        assert_eq!(result.journal_errors.len(), 2, "{errors}");
        assert!(errors.contains("the end of step `Confirm`"), "{errors}");
        assert!(errors.contains("starts again at this step"), "{errors}");
        assert!(errors.contains("until you run `resume`"), "{errors}");
    }
    for error in &result.journal_errors {
        assert!(heard.notes.contains(error), "told the operator: {error}");
    }
}

/// Run [`journal_child`] in a process of its own (it limits the process's file size).
#[cfg(unix)]
fn run_child(what: &str) {
    let state_dir = tempfile::tempdir().unwrap();
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "engine::tests::journal_child", "--nocapture"])
        .env(CHILD, what)
        .env(CHILD_STATE, state_dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout) + String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{text}");
    assert!(text.contains("1 passed"), "the child ran the test: {text}");
}

#[test]
#[cfg(unix)]
fn a_step_whose_start_cannot_be_journaled_does_not_run_and_the_install_fails() {
    run_child("start");
}

#[test]
#[cfg(unix)]
fn records_that_cannot_be_journaled_later_are_told_and_kept_for_the_exit_status() {
    run_child("end");
}
