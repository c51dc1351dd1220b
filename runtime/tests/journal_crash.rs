//! Kill-safety with real processes: an installer killed with SIGKILL at any checkpoint, or
//! killed while rolling back, leaves a journal from which rollback restores the target tree
//! byte for byte (content and mode).
//!
//! The test binary re-executes itself as the child (`child` is a no-op unless the role
//! variable is set); the child parks at the checkpoint named in `DROPSHIP_TEST_CHECKPOINT` and
//! the parent kills it as soon as the marker appears. Needs `--features test-hooks`:
//! `cargo test -p dropship-runtime --features test-hooks --test journal_crash`.
#![cfg(all(unix, feature = "test-hooks"))]

use dropship_runtime::checkpoint::checkpoint;
use dropship_runtime::env::{TEST_CHECKPOINT, TEST_CHECKPOINT_MARKER};
use dropship_runtime::journal::{Begin, Journal, Record, StepStatus, Timestamp};
use dropship_runtime::rollback::{Transaction, restore_step, rollback};
use dropship_runtime::state_dir::StateDir;
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ROLE: &str = "JOURNAL_CRASH_ROLE";
const STATE: &str = "JOURNAL_CRASH_STATE";
const TARGET: &str = "JOURNAL_CRASH_TARGET";

/// Every checkpoint an install passes, in order.
const INSTALL_CHECKPOINTS: [&str; 5] = [
    "step-started",
    "after-record",
    "after-backup",
    "after-change",
    "step-finished",
];

/// The child's side: the role says what to do.
#[test]
fn child() {
    let (Ok(role), Some(state), Some(target)) = (
        std::env::var(ROLE),
        std::env::var_os(STATE),
        std::env::var_os(TARGET),
    ) else {
        return;
    };
    let (state, target) = (PathBuf::from(state), PathBuf::from(target));
    match role.as_str() {
        "install" => install(&state, &target),
        "resume" => resume(&state, &target),
        "rollback" => {
            let (mut journal, state) = Journal::open(&StateDir::new(&state)).unwrap();
            assert!(rollback(&mut journal, &state.changes, "test").is_complete());
        }
        other => panic!("unknown role {other}"),
    }
}

/// Begin an install and run its one step.
fn install(state: &Path, target: &Path) {
    let begin = Begin {
        installer_id: "crash-test".to_string(),
        product: "Fabrikam".to_string(),
        version: "4.12.0".to_string(),
        customer: None,
        started_at: Timestamp::now(),
        roles: Vec::new(),
        signer_key: None,
        installed_before: None,
        keep: None,
        sequence: 0,
    };
    let mut journal = Journal::create(&StateDir::new(state), begin).unwrap();
    journal.widen_scope(&[target.to_path_buf()]);
    step(Transaction::new(&mut journal), target);
}

/// Resume a killed install as the installer does: restore what the interrupted step changed,
/// then run it again from clean.
fn resume(state: &Path, target: &Path) {
    let (mut journal, mut state) = Journal::open(&StateDir::new(state)).unwrap();
    state.check_installer("crash-test").unwrap();
    let interrupted = state.changes_of_step(state.resume_from());
    let restored = restore_step(&mut journal, &interrupted);
    assert!(restored.is_complete(), "{:?}", restored.failed);
    state
        .changes
        .retain(|c| !restored.undone.iter().any(|u| u.id() == c.id()));
    journal
        .append(Record::Resumed {
            at: Timestamp::now(),
        })
        .unwrap();
    step(Transaction::resume(&mut journal, state.changes), target);
}

/// One step making every kind of change, with a "script" changing what was snapshot. Safe to
/// run again after a kill anywhere in it, as a resumed step is.
fn step(mut tx: Transaction, target: &Path) {
    let (index, name, at) = (0, "Deploy".to_string(), Timestamp::now());
    let started = Record::StepStarted {
        index,
        name: name.clone(),
        at,
    };
    tx.journal().append(started).unwrap();
    checkpoint("step-started");

    tx.create_dir_all(&target.join("new/deep")).unwrap();
    tx.write_file(&target.join("new/deep/file.txt"), b"new file")
        .unwrap();
    tx.write_file(&target.join("app/appsettings.json"), b"{\"a\":2}")
        .unwrap();
    let old_log = target.join("app/old.log");
    if old_log.exists() {
        tx.delete_file(&old_log).unwrap();
    }
    tx.snapshot(&target.join("app/data")).unwrap();
    let one = target.join("app/data/one.txt");
    if one.exists() {
        fs::remove_file(one).unwrap();
    }
    fs::write(target.join("app/data/sub/two.txt"), "changed").unwrap();
    tx.snapshot(&target.join("app/run.sh")).unwrap();
    fs::write(target.join("app/run.sh"), "echo changed\n").unwrap();
    fs::set_permissions(target.join("app/run.sh"), fs::Permissions::from_mode(0o700)).unwrap();
    tx.snapshot(&target.join("app/cache")).unwrap();
    fs::create_dir_all(target.join("app/cache/x")).unwrap();

    let status = StepStatus::Succeeded;
    let finished = Record::StepFinished {
        index,
        name,
        status,
        at,
        message: None,
        outputs: Vec::new(),
    };
    tx.journal().append(finished).unwrap();
    checkpoint("step-finished");
}

/// A state directory, a target tree with distinct modes, and the marker path.
struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        let fixture = Fixture {
            dir: tempfile::tempdir().unwrap(),
        };
        let files = [
            ("app/appsettings.json", "{\"a\":1}", 0o600),
            ("app/run.sh", "#!/bin/sh\necho hi\n", 0o755),
            ("app/old.log", "old", 0o644),
            ("app/data/one.txt", "one", 0o644),
            ("app/data/sub/two.txt", "two", 0o640),
        ];
        for (relative, content, mode) in files {
            let path = fixture.target().join(relative);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, content).unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
        }
        fixture
    }

    fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    fn target(&self) -> PathBuf {
        self.dir.path().join("target")
    }

    fn marker(&self) -> PathBuf {
        self.dir.path().join("parked")
    }

    /// Run the child; `true` if it parked at `at` and was killed, `false` if it finished.
    fn run(&self, role: &str, at: Option<&str>) -> bool {
        let mut child = self.spawn(role, at);
        let parked = self.wait_parked(&mut child);
        if parked {
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            fs::remove_file(self.marker()).unwrap();
        }
        parked
    }

    fn spawn(&self, role: &str, at: Option<&str>) -> Child {
        let exe = std::env::current_exe().unwrap();
        let mut command = Command::new(exe);
        command.args(["--exact", "child", "--nocapture", "--test-threads=1"]);
        command
            .env(ROLE, role)
            .env(STATE, self.state())
            .env(TARGET, self.target());
        command
            .env(TEST_CHECKPOINT_MARKER, self.marker())
            .env_remove(TEST_CHECKPOINT);
        if let Some(at) = at {
            command.env(TEST_CHECKPOINT, at);
        }
        // The child's test harness chatter is noise; a panic still shows on stderr.
        command.stdout(Stdio::null()).spawn().unwrap()
    }

    /// Wait until the child parks (`true`) or finishes successfully (`false`).
    fn wait_parked(&self, child: &mut Child) -> bool {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if self.marker().exists() {
                return true;
            }
            if let Some(status) = child.try_wait().unwrap() {
                assert!(status.success(), "the child failed");
                return false;
            }
            assert!(Instant::now() < deadline, "the child hung");
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Roll back from the journal alone, as `rollback` after a crash does.
    fn roll_back(&self) {
        let (mut journal, state) = Journal::open(&StateDir::new(self.state())).unwrap();
        state.check_installer("crash-test").unwrap();
        let report = rollback(&mut journal, &state.changes, "killed");
        assert!(report.is_complete(), "{:?}", report.failed);
    }
}

/// Every entry under `root`: mode and content (nothing for a directory).
fn tree(root: &Path) -> BTreeMap<PathBuf, (u32, Vec<u8>)> {
    let mut entries = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = fs::symlink_metadata(&path).unwrap();
            let content = if meta.is_dir() {
                stack.push(path.clone());
                Vec::new()
            } else {
                fs::read(&path).unwrap()
            };
            let relative = path.strip_prefix(root).unwrap().to_path_buf();
            entries.insert(relative, (meta.permissions().mode(), content));
        }
    }
    entries
}

#[test]
fn a_killed_installer_leaves_no_lock_behind() {
    let fixture = Fixture::new();
    let mut child = fixture.spawn("install", Some("step-started"));
    fixture.wait_parked(&mut child);
    let error = Journal::open(&StateDir::new(fixture.state())).unwrap_err();
    let pid = child.id();
    assert!(
        error.to_string().contains(&format!("(PID {pid})")),
        "{error}"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    // The lock file is still there, with the dead PID in it; the lock is not.
    assert!(fixture.state().join("lock").exists());
    Journal::open(&StateDir::new(fixture.state())).unwrap();
}

#[test]
fn killed_at_every_checkpoint_rolls_back_to_the_same_tree() {
    let mut kills = 0;
    for name in INSTALL_CHECKPOINTS {
        for nth in 1.. {
            let fixture = Fixture::new();
            let before = tree(&fixture.target());
            let at = format!("{name}:{nth}");
            if !fixture.run("install", Some(&at)) {
                break;
            }
            kills += 1;
            fixture.roll_back();
            assert_eq!(tree(&fixture.target()), before, "killed at {at}");
        }
    }
    // 1 step-started, 7 after-record (both new directories in one), 2 after-backup (the file
    // replaced, the file deleted), 8 after-change, 1 step-finished.
    assert_eq!(kills, 19);
}

/// The tree without dropship's own backups (their ids differ between runs).
fn installed(root: &Path) -> BTreeMap<PathBuf, (u32, Vec<u8>)> {
    let mut entries = tree(root);
    entries.retain(|path, _| !path.to_string_lossy().contains(".dropship-"));
    entries
}

#[test]
fn killed_at_every_checkpoint_then_resumed_installs_the_same_and_rolls_back_the_same() {
    let reference = Fixture::new();
    assert!(!reference.run("install", None));
    let complete = installed(&reference.target());
    let mut kills = 0;
    for name in INSTALL_CHECKPOINTS {
        for nth in 1.. {
            let fixture = Fixture::new();
            let before = tree(&fixture.target());
            let at = format!("{name}:{nth}");
            if !fixture.run("install", Some(&at)) {
                break;
            }
            kills += 1;
            assert!(!fixture.run("resume", None), "resume after a kill at {at}");
            assert_eq!(installed(&fixture.target()), complete, "resumed after {at}");
            fixture.roll_back();
            assert_eq!(
                tree(&fixture.target()),
                before,
                "resumed after {at}, rolled back"
            );
        }
    }
    assert_eq!(kills, 19);
}

#[test]
fn a_resume_killed_while_restoring_the_step_is_finished_by_resuming_again() {
    let reference = Fixture::new();
    assert!(!reference.run("install", None));
    let complete = installed(&reference.target());
    let mut kills = 0;
    for nth in 1.. {
        let fixture = Fixture::new();
        let before = tree(&fixture.target());
        // Killed after the step's last change, before it was journaled as finished: resume
        // restores every change first.
        assert!(fixture.run("install", Some("after-change:8")));
        let at = format!("after-undo:{nth}");
        if !fixture.run("resume", Some(&at)) {
            assert_eq!(installed(&fixture.target()), complete);
            break;
        }
        kills += 1;
        assert!(!fixture.run("resume", None), "resume after a kill at {at}");
        assert_eq!(
            installed(&fixture.target()),
            complete,
            "restore killed at {at}"
        );
        fixture.roll_back();
        assert_eq!(
            tree(&fixture.target()),
            before,
            "restore killed at {at}, rolled back"
        );
    }
    assert_eq!(kills, 8);
}

#[test]
fn a_rollback_killed_midway_is_finished_by_running_it_again() {
    let mut kills = 0;
    for nth in 1.. {
        let fixture = Fixture::new();
        let before = tree(&fixture.target());
        assert!(!fixture.run("install", None));
        let at = format!("after-undo:{nth}");
        if !fixture.run("rollback", Some(&at)) {
            assert_eq!(tree(&fixture.target()), before);
            break;
        }
        kills += 1;
        fixture.roll_back();
        assert_eq!(tree(&fixture.target()), before, "rollback killed at {at}");
    }
    assert_eq!(kills, 8);
}
