use super::*;
use crate::state_dir::{StateDir, StateError};
use tempfile::TempDir;

fn dir(temp: &TempDir) -> StateDir {
    StateDir::new(temp.path())
}

fn begin(installer: &str) -> Begin {
    Begin {
        installer_id: installer.to_string(),
        product: "Fabrikam".to_string(),
        version: "4.12.0".to_string(),
        customer: Some("Contoso".to_string()),
        started_at: Timestamp::now(),
        roles: vec!["web".to_string()],
        signer_key: None,
        installed_before: None,
        keep: None,
        sequence: 0,
    }
}

fn step_started(index: usize) -> Record {
    let name = format!("step {index}");
    Record::StepStarted {
        index,
        name,
        at: Timestamp::now(),
    }
}

fn created(id: u64, path: &str) -> Record {
    Record::Change(Change::FileCreated {
        id: ChangeId(id),
        path: PathBuf::from(path),
    })
}

fn end(outcome: Outcome) -> Record {
    Record::End {
        outcome,
        at: Timestamp::now(),
    }
}

#[test]
fn the_outputs_journaled_with_each_step_end_replay_the_latest_value_of_each() {
    let state_dir = tempfile::tempdir().unwrap();
    let mut journal = Journal::create(&dir(&state_dir), begin("sig-1")).unwrap();
    let output = |name: &str, value: &str| KeptOutput {
        step: "Deploy".to_string(),
        name: name.to_string(),
        value: value.to_string(),
    };
    for (index, outputs) in [
        vec![output("Path", "/opt/a"), output("Rows", "1")],
        vec![output("path", "/opt/b")],
    ]
    .into_iter()
    .enumerate()
    {
        journal.append(step_started(index)).unwrap();
        let finished = Record::StepFinished {
            index,
            name: "Deploy".to_string(),
            status: StepStatus::Succeeded,
            at: Timestamp::now(),
            message: None,
            outputs,
        };
        journal.append(finished).unwrap();
    }
    drop(journal);
    let (_journal, state) = Journal::open(&dir(&state_dir)).unwrap();
    let replayed: Vec<(&str, &str)> = state
        .outputs
        .iter()
        .map(|o| (o.name.as_str(), o.value.as_str()))
        .collect();
    assert_eq!(replayed, [("Rows", "1"), ("path", "/opt/b")]);
}

#[test]
fn replay_gives_steps_changes_and_end() {
    let state_dir = tempfile::tempdir().unwrap();
    let mut journal = Journal::create(&dir(&state_dir), begin("sig-1")).unwrap();
    journal.append(step_started(0)).unwrap();
    journal.append(created(1, "/t/a")).unwrap();
    journal.append(created(2, "/t/b")).unwrap();
    let finished = Record::StepFinished {
        index: 0,
        name: "step 0".to_string(),
        status: StepStatus::Succeeded,
        at: Timestamp::now(),
        message: None,
        outputs: Vec::new(),
    };
    journal.append(finished).unwrap();
    journal.append(step_started(1)).unwrap();
    assert_eq!(journal.next_change_id(), ChangeId(3));
    drop(journal);

    let (journal, state) = Journal::open(&dir(&state_dir)).unwrap();
    assert_eq!(state.begin.installer_id, "sig-1");
    assert_eq!(state.steps[&0].status, Some(StepStatus::Succeeded));
    assert_eq!(state.steps[&1].status, None);
    assert_eq!(state.changes.len(), 2);
    assert!(!state.ended() && !state.rollback_in_progress && state.torn_tail.is_none());
    assert_eq!(state.resume_from(), 1);
    assert_eq!(journal.next_change_id(), ChangeId(3));
}

#[test]
fn undone_changes_leave_the_replay_but_keep_their_ids_used() {
    let state_dir = tempfile::tempdir().unwrap();
    let mut journal = Journal::create(&dir(&state_dir), begin("sig")).unwrap();
    journal.append(created(1, "/t/a")).unwrap();
    journal.append(created(2, "/t/b")).unwrap();
    let at = Timestamp::now();
    let reason = "step failed".to_string();
    journal
        .append(Record::RollbackStarted { at, reason })
        .unwrap();
    journal
        .append(Record::Undone {
            change_id: ChangeId(2),
        })
        .unwrap();
    drop(journal);
    let (journal, state) = Journal::open(&dir(&state_dir)).unwrap();
    assert_eq!(
        state.changes,
        vec![Change::FileCreated {
            id: ChangeId(1),
            path: "/t/a".into()
        }]
    );
    assert!(state.rollback_in_progress);
    assert_eq!(journal.next_change_id(), ChangeId(3));
}

#[test]
fn committed_changes_cannot_be_undone() {
    let state_dir = tempfile::tempdir().unwrap();
    let mut journal = Journal::create(&dir(&state_dir), begin("sig")).unwrap();
    journal.append(created(1, "/t/a")).unwrap();
    journal
        .append(Record::Committed {
            at: Timestamp::now(),
        })
        .unwrap();
    journal.append(end(Outcome::Succeeded)).unwrap();
    drop(journal);
    let (_journal, state) = Journal::open(&dir(&state_dir)).unwrap();
    assert!(state.changes.is_empty());
    assert_eq!(state.committed.len(), 1);
    assert_eq!(state.outcome, Some(Outcome::Succeeded));
}

#[test]
fn create_refuses_an_unfinished_install_with_a_hint() {
    let state_dir = tempfile::tempdir().unwrap();
    drop(Journal::create(&dir(&state_dir), begin("sig")).unwrap());
    let error = Journal::create(&dir(&state_dir), begin("sig")).unwrap_err();
    assert!(matches!(error, JournalError::Unfinished { .. }), "{error}");
    let message = error.to_string();
    assert!(message.contains("journal.jsonl") && message.contains("hint: run `resume`"));
}

#[test]
fn create_refuses_a_finished_install_not_made_final() {
    let state_dir = tempfile::tempdir().unwrap();
    let mut journal = Journal::create(&dir(&state_dir), begin("old")).unwrap();
    journal.append(end(Outcome::RolledBack)).unwrap();
    drop(journal);
    let error = Journal::create(&dir(&state_dir), begin("new")).unwrap_err();
    assert!(matches!(error, JournalError::NotRetired { .. }), "{error}");
}

#[test]
fn a_journal_without_begin_records_no_install() {
    let state_dir = tempfile::tempdir().unwrap();
    // Killed between creating the file and writing `begin`: a torn first line.
    fs::write(dir(&state_dir).journal(), b"{\"record\":\"beg").unwrap();
    let error = Journal::open(&dir(&state_dir)).unwrap_err();
    assert!(matches!(error, JournalError::NoInstall { .. }), "{error}");
    drop(Journal::create(&dir(&state_dir), begin("sig")).unwrap());
}

#[test]
fn a_torn_last_line_is_dropped_and_cut_off() {
    let state_dir = tempfile::tempdir().unwrap();
    let mut journal = Journal::create(&dir(&state_dir), begin("sig")).unwrap();
    journal.append(created(1, "/t/a")).unwrap();
    drop(journal);
    let path = dir(&state_dir).journal();
    let mut file = OpenOptions::new().append(true).open(&path).unwrap();
    file.write_all(br#"{"record":"change","kind":"file-cre"#)
        .unwrap();
    drop(file);

    let (mut journal, state) = Journal::open(&dir(&state_dir)).unwrap();
    assert!(state.torn_tail.unwrap().contains("torn last line"));
    assert_eq!(state.changes.len(), 1);
    journal.append(created(2, "/t/b")).unwrap();
    drop(journal);
    let (_journal, state) = Journal::open(&dir(&state_dir)).unwrap();
    assert!(state.torn_tail.is_none());
    assert_eq!(state.changes.len(), 2);
}

#[test]
fn a_damaged_line_is_an_error_naming_file_and_line() {
    let state_dir = tempfile::tempdir().unwrap();
    let mut journal = Journal::create(&dir(&state_dir), begin("sig")).unwrap();
    journal.append(created(1, "/t/a")).unwrap();
    drop(journal);
    let path = dir(&state_dir).journal();
    let mut file = OpenOptions::new().append(true).open(&path).unwrap();
    file.write_all(b"not json\n").unwrap();
    drop(file);
    let error = Journal::open(&dir(&state_dir)).unwrap_err();
    assert!(
        matches!(error, JournalError::Corrupt { line: 3, .. }),
        "{error}"
    );
    assert!(
        error.to_string().contains("journal.jsonl` line 3"),
        "{error}"
    );
}

#[test]
fn a_second_begin_is_damage() {
    let state_dir = tempfile::tempdir().unwrap();
    let mut journal = Journal::create(&dir(&state_dir), begin("sig")).unwrap();
    journal.append(Record::Begin(begin("sig"))).unwrap();
    drop(journal);
    let error = Journal::open(&dir(&state_dir)).unwrap_err();
    assert!(
        matches!(error, JournalError::Corrupt { line: 2, .. }),
        "{error}"
    );
}

#[test]
fn resume_refuses_another_installer() {
    let state_dir = tempfile::tempdir().unwrap();
    drop(Journal::create(&dir(&state_dir), begin("sig-a")).unwrap());
    let (_journal, state) = Journal::open(&dir(&state_dir)).unwrap();
    state.check_installer("sig-a").unwrap();
    let error = state.check_installer("sig-b").unwrap_err();
    assert!(error.to_string().contains("`sig-a`"), "{error}");
    assert_eq!(error.exit_status(), crate::exit::ExitStatus::Usage);
}

#[test]
fn the_lock_keeps_a_second_installer_out_until_released() {
    let state_dir = tempfile::tempdir().unwrap();
    let journal = Journal::create(&dir(&state_dir), begin("sig")).unwrap();
    let error = Journal::open(&dir(&state_dir)).unwrap_err();
    let pid = std::process::id();
    assert!(
        matches!(error, JournalError::State(StateError::Locked { .. })),
        "{error}"
    );
    assert!(error.to_string().contains(&format!("PID {pid}")), "{error}");
    drop(journal);
    Journal::open(&dir(&state_dir)).unwrap();
}

#[test]
fn a_lock_file_left_by_a_dead_installer_is_taken_over() {
    let state_dir = tempfile::tempdir().unwrap();
    drop(Journal::create(&dir(&state_dir), begin("sig")).unwrap());
    // A killed installer leaves its lock file, but not its lock.
    fs::write(state_dir.path().join("lock"), "999999999\n").unwrap();
    Journal::open(&dir(&state_dir)).unwrap();
    let holder = fs::read_to_string(state_dir.path().join("lock")).unwrap();
    assert_eq!(holder.trim(), std::process::id().to_string());
}

#[test]
fn records_are_tagged_json_lines() {
    let state_dir = tempfile::tempdir().unwrap();
    let mut journal = Journal::create(&dir(&state_dir), begin("sig")).unwrap();
    journal.append(created(1, "/t/a")).unwrap();
    drop(journal);
    let text = fs::read_to_string(dir(&state_dir).journal()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with(r#"{"record":"begin","installer-id":"sig""#),
        "{}",
        lines[0]
    );
    assert_eq!(
        lines[1],
        r#"{"record":"change","kind":"file-created","id":1,"path":"/t/a"}"#
    );
}

#[test]
fn opening_where_no_install_ran_says_so() {
    let state_dir = tempfile::tempdir().unwrap();
    let error = Journal::open(&StateDir::new(state_dir.path().join("never"))).unwrap_err();
    assert!(matches!(error, JournalError::Missing { .. }), "{error}");
    assert!(
        error.to_string().contains("no install is recorded here"),
        "{error}"
    );
}

#[test]
fn a_batch_is_appended_whole() {
    let state_dir = tempfile::tempdir().unwrap();
    let mut journal = Journal::create(&dir(&state_dir), begin("sig")).unwrap();
    journal
        .append_all([created(1, "/t/a"), created(2, "/t/b"), created(7, "/t/c")])
        .unwrap();
    assert_eq!(journal.next_change_id(), ChangeId(8));
    drop(journal);
    let (_journal, state) = Journal::open(&dir(&state_dir)).unwrap();
    assert_eq!(state.changes.len(), 3);
    assert_eq!(state.resume_from(), 0);
}

#[test]
fn replay_knows_each_step_s_changes_its_rollback_script_and_every_run() {
    let state_dir = tempfile::tempdir().unwrap();
    let mut journal = Journal::create(&dir(&state_dir), begin("sig-1")).unwrap();
    journal.append(step_started(0)).unwrap();
    journal.append(created(1, "/t/a")).unwrap();
    let finished = Record::StepFinished {
        index: 0,
        name: "step 0".to_string(),
        status: StepStatus::Succeeded,
        at: Timestamp::now(),
        message: None,
        outputs: Vec::new(),
    };
    journal.append(finished).unwrap();
    journal.append(step_started(1)).unwrap();
    journal.append(created(2, "/t/b")).unwrap();
    journal.append(created(3, "/t/c")).unwrap();
    let at = Timestamp::now();
    journal.append(Record::Resumed { at }).unwrap();
    let script = |index: usize| Record::RollbackScriptStarted {
        index,
        name: format!("step {index}"),
        at,
    };
    journal.append(script(1)).unwrap();
    let ended = Record::RollbackScriptFinished {
        index: 1,
        name: "step 1".to_string(),
        at,
        error: None,
    };
    journal.append(ended).unwrap();
    journal.append(script(0)).unwrap();
    drop(journal);

    let (_, state) = Journal::open(&dir(&state_dir)).unwrap();
    let ids = |changes: Vec<Change>| changes.iter().map(|c| c.id().0).collect::<Vec<_>>();
    assert_eq!(ids(state.changes_of_step(0)), [1]);
    assert_eq!(ids(state.changes_of_step(1)), [2, 3]);
    assert!(state.started_in_install(0) && state.started_in_install(1));
    assert!(
        !state.rollback_script_pending(1),
        "step 1's script succeeded"
    );
    assert!(
        state.rollback_script_pending(0),
        "step 0's script was killed"
    );
    assert!(state.rollback_in_progress);
    assert_eq!(state.runs.len(), 2);
    let stopped = state.runs[0].stopped_at.as_deref().unwrap();
    assert!(stopped.contains("`step 1`"), "{stopped}");
}

#[test]
fn a_scope_is_written_with_the_next_record_and_allows_at_once() {
    let state_dir = tempfile::tempdir().unwrap();
    let mut journal = Journal::create(&dir(&state_dir), begin("sig-1")).unwrap();
    let lines = || std::fs::read_to_string(dir(&state_dir).journal()).unwrap();
    journal.widen_scope(&[PathBuf::from("/t")]);
    assert!(!lines().contains("scope"), "no flush of its own");
    assert!(journal.scope().covers(&Change::FileCreated {
        id: ChangeId(1),
        path: PathBuf::from("/t/a"),
    }));
    journal.widen_scope(&[PathBuf::from("/t/sub")]);
    journal.append(created(1, "/t/a")).unwrap();
    let text = lines();
    assert_eq!(
        text.matches("\"scope\"").count(),
        1,
        "covered roots not repeated:\n{text}"
    );
    assert!(
        text.find("\"scope\"") < text.find("/t/a\""),
        "before the change:\n{text}"
    );
    drop(journal);
    let (_journal, state) = Journal::open(&dir(&state_dir)).unwrap();
    assert_eq!(state.changes.len(), 1);
}
