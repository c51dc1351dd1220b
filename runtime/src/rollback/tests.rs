//! Each change kind through commit and rollback, conflicts, and rollback run twice (as after a
//! kill midway), in the manner of rustup's component tests.

use super::*;
use crate::journal::{Begin, JournalError, Outcome, StepStatus};
use crate::state_dir::StateDir;
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use tempfile::TempDir;

/// A state directory and a target tree holding a few files with distinct modes.
struct Fixture {
    state: TempDir,
    target: TempDir,
}

impl Fixture {
    fn new() -> Self {
        let fixture = Fixture {
            state: tempfile::tempdir().unwrap(),
            target: tempfile::tempdir().unwrap(),
        };
        fixture.file("app/appsettings.json", "{\"a\":1}", 0o600);
        fixture.file("app/run.sh", "#!/bin/sh\necho hi\n", 0o755);
        fixture.file("app/data/one.txt", "one", 0o644);
        fixture.file("app/data/sub/two.txt", "two", 0o640);
        fixture
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.target.path().join(relative)
    }

    fn file(&self, relative: &str, content: &str, mode: u32) {
        let path = self.path(relative);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, content).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
    }

    fn state_dir(&self) -> StateDir {
        StateDir::new(self.state.path())
    }

    /// A new journal whose install may change the target tree.
    fn journal(&self) -> Journal {
        let mut journal = Journal::create(&self.state_dir(), begin()).unwrap();
        journal.widen_scope(&[self.target.path().into()]);
        journal
    }

    /// The backups kept in the state directory (one per change, in a folder per install).
    fn backups(&self) -> Vec<PathBuf> {
        let dir = self.state.path().join("backups");
        let Ok(installs) = fs::read_dir(dir) else {
            return Vec::new();
        };
        let install_dirs = installs.map(|e| e.unwrap().path());
        install_dirs
            .flat_map(|d| fs::read_dir(d).unwrap().map(|e| e.unwrap().path()))
            .collect()
    }

    fn tree(&self) -> BTreeMap<PathBuf, (u32, Vec<u8>)> {
        tree(self.target.path())
    }
}

fn begin() -> Begin {
    Begin {
        installer_id: "sig".to_string(),
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

/// Every entry under `root`: mode and content (a link's target, nothing for a directory).
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
            } else if meta.is_symlink() {
                fs::read_link(&path)
                    .unwrap()
                    .into_os_string()
                    .into_encoded_bytes()
            } else {
                fs::read(&path).unwrap()
            };
            let relative = path.strip_prefix(root).unwrap().to_path_buf();
            entries.insert(relative, (meta.permissions().mode(), content));
        }
    }
    entries
}

/// Names of dropship's own siblings left in the tree (backups, temporaries).
fn leftovers(root: &Path) -> Vec<PathBuf> {
    let names = tree(root).into_keys();
    names
        .filter(|p| p.to_string_lossy().contains(".dropship-"))
        .collect()
}

/// Check a rollback went through, in its report and in the journal (released for that).
fn rolled_back(fixture: &Fixture, report: RollbackReport, journal: Journal) {
    drop(journal);
    assert!(report.is_complete(), "{:?}", report.failed);
    assert!(report.journal_error.is_none());
    let (_journal, state) = Journal::open(&fixture.state_dir()).unwrap();
    assert!(state.changes.is_empty(), "{:?}", state.changes);
    assert!(!state.rollback_in_progress);
}

#[test]
fn created_file_and_dirs_commit() {
    let fixture = Fixture::new();
    let mut journal = fixture.journal();
    let mut tx = Transaction::new(&mut journal);
    tx.create_dir_all(&fixture.path("new/deep")).unwrap();
    tx.write_file(&fixture.path("new/deep/f.txt"), b"new")
        .unwrap();
    assert_eq!(tx.changes().len(), 3);
    assert!(tx.commit().unwrap().left.is_empty());
    assert_eq!(fs::read(fixture.path("new/deep/f.txt")).unwrap(), b"new");
    assert!(leftovers(fixture.target.path()).is_empty());
}

#[test]
fn created_file_and_dirs_rollback() {
    let fixture = Fixture::new();
    let before = fixture.tree();
    let mut journal = fixture.journal();
    let mut tx = Transaction::new(&mut journal);
    tx.create_dir_all(&fixture.path("app/new/deep")).unwrap();
    tx.write_file(&fixture.path("app/new/deep/f.txt"), b"new")
        .unwrap();
    tx.before_create_file(&fixture.path("app/streamed.bin"))
        .unwrap();
    fs::write(fixture.path("app/streamed.bin"), b"by the caller").unwrap();
    rolled_back(&fixture, tx.rollback("test"), journal);
    assert_eq!(fixture.tree(), before);
}

#[test]
fn replaced_file_rollback_restores_content_and_mode() {
    let fixture = Fixture::new();
    let before = fixture.tree();
    let path = fixture.path("app/appsettings.json");
    let mut journal = fixture.journal();
    let mut tx = Transaction::new(&mut journal);
    tx.write_file(&path, b"{\"a\":2}").unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"{\"a\":2}");
    // The new content keeps the mode of the file it replaced.
    assert_eq!(
        fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    rolled_back(&fixture, tx.rollback("test"), journal);
    assert_eq!(fixture.tree(), before);
}

#[test]
fn replaced_file_commit_drops_the_backup() {
    let fixture = Fixture::new();
    let path = fixture.path("app/run.sh");
    let mut journal = fixture.journal();
    let mut tx = Transaction::new(&mut journal);
    tx.replace_file_with(&path, |temp| fs::write(temp, "echo new\n"))
        .unwrap();
    assert!(
        leftovers(fixture.target.path()).is_empty(),
        "no backup in the tree"
    );
    assert_eq!(fixture.backups().len(), 1);
    assert!(tx.commit().unwrap().left.is_empty());
    assert_eq!(fs::read_to_string(&path).unwrap(), "echo new\n");
    assert!(fixture.backups().is_empty());
}

#[test]
fn deleted_file_rollback_and_commit() {
    let fixture = Fixture::new();
    let before = fixture.tree();
    let path = fixture.path("app/run.sh");
    let mut journal = fixture.journal();
    let mut tx = Transaction::new(&mut journal);
    tx.delete_file(&path).unwrap();
    assert!(!path.exists());
    rolled_back(&fixture, tx.rollback("test"), journal);
    assert_eq!(fixture.tree(), before);

    let mut journal = Journal::open(&fixture.state_dir()).unwrap().0;
    let mut tx = Transaction::new(&mut journal);
    tx.delete_file(&path).unwrap();
    assert!(tx.commit().unwrap().left.is_empty());
    assert!(!path.exists());
    assert!(leftovers(fixture.target.path()).is_empty());
}

#[test]
fn snapshot_of_a_file_modified_in_place() {
    let fixture = Fixture::new();
    let before = fixture.tree();
    let path = fixture.path("app/appsettings.json");
    let mut journal = fixture.journal();
    let mut tx = Transaction::new(&mut journal);
    tx.snapshot(&path).unwrap();
    // The script rewrites the file where it is and changes its mode.
    fs::write(&path, "changed by the script").unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o666)).unwrap();
    rolled_back(&fixture, tx.rollback("test"), journal);
    assert_eq!(fixture.tree(), before);
}

#[test]
fn snapshot_of_a_directory_tree() {
    let fixture = Fixture::new();
    std::os::unix::fs::symlink("one.txt", fixture.path("app/data/link")).unwrap();
    fs::set_permissions(
        fixture.path("app/data/sub"),
        fs::Permissions::from_mode(0o700),
    )
    .unwrap();
    let before = fixture.tree();
    let data = fixture.path("app/data");
    let mut journal = fixture.journal();
    let mut tx = Transaction::new(&mut journal);
    tx.snapshot(&data).unwrap();
    fs::remove_file(data.join("one.txt")).unwrap();
    fs::write(data.join("sub/two.txt"), "changed").unwrap();
    fs::create_dir(data.join("made")).unwrap();
    fs::write(data.join("made/by-script"), "x").unwrap();
    rolled_back(&fixture, tx.rollback("test"), journal);
    assert_eq!(fixture.tree(), before);
}

#[test]
fn snapshot_of_a_directory_commit_drops_the_copy() {
    let fixture = Fixture::new();
    let mut journal = fixture.journal();
    let mut tx = Transaction::new(&mut journal);
    tx.snapshot(&fixture.path("app/data")).unwrap();
    tx.snapshot(&fixture.path("app/run.sh")).unwrap();
    assert!(
        leftovers(fixture.target.path()).is_empty(),
        "no backup in the tree"
    );
    assert_eq!(fixture.backups().len(), 2);
    assert!(tx.commit().unwrap().left.is_empty());
    assert!(fixture.backups().is_empty());
}

#[test]
fn snapshot_of_an_absent_path_removes_what_the_script_made() {
    let fixture = Fixture::new();
    let before = fixture.tree();
    let made = fixture.path("app/cache");
    let mut journal = fixture.journal();
    let mut tx = Transaction::new(&mut journal);
    tx.snapshot(&made).unwrap();
    fs::create_dir_all(made.join("a/b")).unwrap();
    fs::write(made.join("a/b/c"), "x").unwrap();
    rolled_back(&fixture, tx.rollback("test"), journal);
    assert_eq!(fixture.tree(), before);
}

#[test]
fn a_created_directory_is_removed_with_the_files_its_scripts_made() {
    let fixture = Fixture::new();
    let before = fixture.tree();
    let mut journal = fixture.journal();
    let mut tx = Transaction::new(&mut journal);
    tx.create_dir_all(&fixture.path("new/logs")).unwrap();
    tx.write_file(&fixture.path("new/logs/known"), b"k")
        .unwrap();
    tx.write_file(&fixture.path("app/run.sh"), b"echo new")
        .unwrap();
    // A script the journal knows nothing about writes inside a directory the install created.
    fs::write(fixture.path("new/logs/unknown.log"), "by a script").unwrap();
    let report = tx.rollback("step failed");
    assert!(report.is_complete(), "{:?}", report.failed);
    assert_eq!(fixture.tree(), before);
    assert!(!fixture.path("new").exists());
}

#[test]
fn rollback_again_finishes_the_job() {
    let fixture = Fixture::new();
    let before = fixture.tree();
    let mut journal = fixture.journal();
    let mut tx = Transaction::new(&mut journal);
    tx.create_dir_all(&fixture.path("new")).unwrap();
    tx.write_file(&fixture.path("new/f"), b"x").unwrap();
    tx.write_file(&fixture.path("app/run.sh"), b"x").unwrap();
    tx.delete_file(&fixture.path("app/appsettings.json"))
        .unwrap();
    tx.snapshot(&fixture.path("app/data")).unwrap();
    fs::remove_dir_all(fixture.path("app/data/sub")).unwrap();
    let changes = tx.changes().to_vec();
    drop(journal);

    // A first rollback, killed midway (emulated: the last three undone, not journaled).
    let (mut journal, _state) = Journal::open(&fixture.state_dir()).unwrap();
    for change in changes.iter().rev().take(3) {
        assert!(undo::rollback(&mut journal, std::slice::from_ref(change), "kill").is_complete());
    }
    drop(journal);
    let (mut journal, state) = Journal::open(&fixture.state_dir()).unwrap();
    assert_eq!(state.changes.len(), changes.len() - 3);
    let report = rollback(&mut journal, &changes, "again");
    assert!(report.is_complete(), "{:?}", report.failed);
    assert_eq!(fixture.tree(), before);
    // And once more: nothing left to do, nothing fails.
    assert!(rollback(&mut journal, &changes, "again").is_complete());
    assert_eq!(fixture.tree(), before);
}

#[test]
fn a_change_journaled_but_never_made_is_undone_as_nothing() {
    let fixture = Fixture::new();
    let before = fixture.tree();
    let path = fixture.path("app/run.sh");
    let mut journal = fixture.journal();
    let id = journal.next_change_id();
    let backup = journal.backups().unwrap().join(id.to_string());
    let never_made = [
        Change::FileReplaced {
            id,
            path: path.clone(),
            backup: backup.clone(),
        },
        Change::FileDeleted {
            id,
            path: path.clone(),
            backup: backup.clone(),
        },
        Change::FileModifiedInPlace {
            id,
            path: path.clone(),
            backup: backup.clone(),
        },
        Change::DirSnapshot {
            id,
            path: fixture.path("app/data"),
            backup,
        },
    ];
    for change in never_made {
        journal.append(Record::Change(change.clone())).unwrap();
        assert!(rollback(&mut journal, &[change], "kill").is_complete());
        assert_eq!(fixture.tree(), before);
    }
}

#[test]
fn a_resumed_transaction_rolls_back_what_came_before() {
    let fixture = Fixture::new();
    let before = fixture.tree();
    let mut journal = fixture.journal();
    Transaction::new(&mut journal)
        .write_file(&fixture.path("app/run.sh"), b"1")
        .unwrap();
    drop(journal);
    let (mut journal, state) = Journal::open(&fixture.state_dir()).unwrap();
    let mut tx = Transaction::resume(&mut journal, state.changes);
    tx.write_file(&fixture.path("app/run.sh"), b"2").unwrap();
    assert_eq!(tx.changes().len(), 2);
    rolled_back(&fixture, tx.rollback("test"), journal);
    assert_eq!(fixture.tree(), before);
}

#[test]
fn conflicts_are_refused_before_anything_is_recorded() {
    let fixture = Fixture::new();
    let before = fixture.tree();
    let mut journal = fixture.journal();
    let mut tx = Transaction::new(&mut journal);
    let missing = fixture.path("app/missing");
    let dir = fixture.path("app/data");
    let file = fixture.path("app/run.sh");
    let conflicts = [
        tx.delete_file(&missing).unwrap_err(),
        tx.delete_file(&dir).unwrap_err(),
        tx.write_file(&dir, b"x").unwrap_err(),
        tx.create_dir_all(&file.join("below")).unwrap_err(),
        tx.write_file(Path::new("relative/path"), b"x").unwrap_err(),
    ];
    for error in &conflicts {
        assert!(matches!(error, RollbackError::Conflict { .. }), "{error}");
    }
    assert!(
        conflicts[0]
            .to_string()
            .contains("app/missing`: it does not exist")
    );
    assert!(conflicts[2].to_string().contains("it is a directory"));
    assert!(conflicts[3].to_string().contains("is not a directory"));
    assert!(conflicts[4].to_string().contains("not absolute"));
    assert!(tx.changes().is_empty());
    assert_eq!(fixture.tree(), before);
}

#[test]
fn a_backup_in_the_way_is_a_conflict() {
    let fixture = Fixture::new();
    let path = fixture.path("app/run.sh");
    let mut journal = fixture.journal();
    let backups = journal.backups().unwrap();
    let in_the_way = backups.join(journal.next_change_id().to_string());
    fs::write(&in_the_way, "an earlier install's backup").unwrap();
    let mut tx = Transaction::new(&mut journal);
    let error = tx.write_file(&path, b"x").unwrap_err();
    assert!(error.to_string().contains("already exists"), "{error}");
    assert!(tx.changes().is_empty());
    assert_eq!(
        fs::read_to_string(&in_the_way).unwrap(),
        "an earlier install's backup"
    );
}

#[test]
fn a_failed_write_is_undone_with_its_leftover() {
    let fixture = Fixture::new();
    let before = fixture.tree();
    let mut journal = fixture.journal();
    let mut tx = Transaction::new(&mut journal);
    let error = tx
        .replace_file_with(&fixture.path("app/run.sh"), |temp| {
            fs::write(temp, "half")?;
            Err(io::Error::other("disk full"))
        })
        .unwrap_err();
    assert!(
        error.to_string().contains("writing the new content of"),
        "{error}"
    );
    assert!(error.to_string().contains("run.sh`: disk full"), "{error}");
    rolled_back(&fixture, tx.rollback("test"), journal);
    assert_eq!(fixture.tree(), before);
}

#[test]
fn steps_and_changes_share_the_journal() {
    let fixture = Fixture::new();
    let mut journal = fixture.journal();
    let mut tx = Transaction::new(&mut journal);
    let at = Timestamp::now();
    let name = "Deploy Web".to_string();
    tx.journal()
        .append(Record::StepStarted {
            index: 0,
            name: name.clone(),
            at,
        })
        .unwrap();
    tx.write_file(&fixture.path("app/new"), b"x").unwrap();
    let status = StepStatus::Succeeded;
    let finished = Record::StepFinished {
        index: 0,
        name,
        status,
        at,
        message: None,
        outputs: Vec::new(),
    };
    tx.journal().append(finished).unwrap();
    drop(journal);
    let (_journal, state) = Journal::open(&fixture.state_dir()).unwrap();
    assert_eq!(state.steps[&0].status, Some(status));
    assert_eq!(state.changes.len(), 1);
}

#[test]
fn many_new_files_are_journaled_at_once() {
    let fixture = Fixture::new();
    let before = fixture.tree();
    let mut journal = fixture.journal();
    let mut tx = Transaction::new(&mut journal);
    tx.create_dir_all(&fixture.path("pkg")).unwrap();
    let paths: Vec<PathBuf> = ["pkg/a", "pkg/b", "app/run.sh", "pkg/c"]
        .iter()
        .map(|p| fixture.path(p))
        .collect();
    tx.before_create_files(&paths).unwrap();
    for path in &paths {
        fs::write(path, "from the package").unwrap();
    }
    let kinds: Vec<String> = tx.changes().iter().map(ToString::to_string).collect();
    assert_eq!(kinds.len(), 5, "{kinds:?}");
    assert!(kinds[3].starts_with("replaced file"), "{kinds:?}");
    let ids: Vec<u64> = tx.changes().iter().map(|c| c.id().0).collect();
    assert_eq!(ids, [1, 2, 3, 4, 5]);
    rolled_back(&fixture, tx.rollback("test"), journal);
    assert_eq!(fixture.tree(), before);
}

#[test]
fn a_package_journaled_in_one_go_is_made_and_undone() {
    let fixture = Fixture::new();
    let before = fixture.tree();
    let mut journal = fixture.journal();
    let mut tx = Transaction::new(&mut journal);
    let dirs = [fixture.path("pkg/bin")];
    let files = ["pkg/bin/a", "pkg/b", "app/run.sh"].map(|p| fixture.path(p));
    tx.create_dirs_and_files(&dirs, &files).unwrap();
    assert!(fixture.path("pkg/bin").is_dir());
    assert!(!fixture.path("app/run.sh").exists(), "moved to its backup");
    for path in &files {
        fs::write(path, "from the package").unwrap();
    }
    let made: Vec<String> = tx.changes().iter().map(ToString::to_string).collect();
    assert_eq!(made.len(), 5, "{made:?}");
    assert!(made[4].starts_with("replaced file"), "{made:?}");
    let ids: Vec<u64> = tx.changes().iter().map(|c| c.id().0).collect();
    assert_eq!(ids, [1, 2, 3, 4, 5]);
    rolled_back(&fixture, tx.rollback("test"), journal);
    assert_eq!(fixture.tree(), before);
}

#[test]
fn the_identities_of_a_package_s_directories_go_with_the_next_record_or_before_a_script() {
    let fixture = Fixture::new();
    let mut journal = fixture.journal();
    let mut tx = Transaction::new(&mut journal);
    let files = [fixture.path("pkg/bin/a")];
    tx.create_dirs_and_files(&[fixture.path("pkg/bin")], &files)
        .unwrap();
    let journaled = || fs::read_to_string(fixture.state_dir().journal()).unwrap();
    assert!(journaled().contains("pkg/bin/a"), "the batch is on disk");
    assert!(
        !journaled().contains("dir-identified"),
        "no flush of their own"
    );
    tx.journal().flush_pending().unwrap();
    assert_eq!(
        journaled().matches("dir-identified").count(),
        2,
        "pkg and pkg/bin"
    );
    drop(tx);
    drop(journal);
    let (_journal, state) = Journal::open(&fixture.state_dir()).unwrap();
    let identified = state.changes.iter().filter(|c| {
        matches!(
            c,
            Change::DirCreated {
                identity: Some(_),
                ..
            }
        )
    });
    assert_eq!(identified.count(), 2);
}

#[test]
fn a_package_tree_is_created_and_removed() {
    let fixture = Fixture::new();
    let before = fixture.tree();
    let mut journal = fixture.journal();
    let mut tx = Transaction::new(&mut journal);
    let dirs = ["pkg/bin", "pkg/lib/x", "pkg/lib", "app/data/new"].map(|d| fixture.path(d));
    tx.create_dirs(&dirs).unwrap();
    let created: Vec<String> = tx.changes().iter().map(ToString::to_string).collect();
    let expected = ["pkg", "pkg/bin", "pkg/lib", "pkg/lib/x", "app/data/new"]
        .map(|d| format!("created directory `{}`", fixture.path(d).display()));
    assert_eq!(created, expected);
    rolled_back(&fixture, tx.rollback("test"), journal);
    assert_eq!(fixture.tree(), before);
}

#[test]
fn paths_the_journal_cannot_hold_are_refused() {
    use std::os::unix::ffi::OsStrExt;
    let fixture = Fixture::new();
    let mut journal = fixture.journal();
    let mut tx = Transaction::new(&mut journal);
    let error = tx.before_create_file(Path::new("app/run.sh")).unwrap_err();
    assert!(error.to_string().contains("not absolute"), "{error}");
    let not_utf8 = fixture
        .target
        .path()
        .join(std::ffi::OsStr::from_bytes(b"bad\xff"));
    let error = tx
        .delete_file(&fixture.path("app/../app/run.sh"))
        .unwrap_err();
    assert!(error.to_string().contains("through `..`"), "{error}");
    let error = tx.snapshot(&not_utf8).unwrap_err();
    assert!(error.to_string().contains("not valid UTF-8"), "{error}");
    assert!(tx.changes().is_empty());
}

fn ended(journal: &mut Journal, outcome: Outcome) {
    let at = Timestamp::now();
    journal.append(Record::End { outcome, at }).unwrap();
}

#[test]
fn a_new_install_keeps_a_succeeded_one_undoable() {
    let fixture = Fixture::new();
    let mut journal = fixture.journal();
    let mut tx = Transaction::new(&mut journal);
    tx.write_file(&fixture.path("app/run.sh"), b"new").unwrap();
    ended(&mut journal, Outcome::Succeeded);
    drop(journal);
    assert_eq!(fixture.backups().len(), 1);

    drop(begin_install(&fixture.state_dir(), begin()).unwrap());
    assert_eq!(
        fixture.backups().len(),
        1,
        "kept until retention makes it final"
    );
    assert_eq!(fs::read(fixture.path("app/run.sh")).unwrap(), b"new");
    let kept = crate::journal::kept_installs(&fixture.state_dir()).unwrap();
    assert_eq!(kept.len(), 1);
    assert!(kept[0].undoable());
    assert!(!fixture.state_dir().history().exists());
}

#[test]
fn a_new_install_refuses_a_failed_one_still_in_place() {
    let fixture = Fixture::new();
    let mut journal = fixture.journal();
    let mut tx = Transaction::new(&mut journal);
    tx.write_file(&fixture.path("app/run.sh"), b"new").unwrap();
    ended(&mut journal, Outcome::Failed);
    drop(journal);
    let error = begin_install(&fixture.state_dir(), begin()).unwrap_err();
    assert!(matches!(error, JournalError::NotUndone { .. }), "{error}");
    assert!(
        error.to_string().contains("hint: run `rollback`"),
        "{error}"
    );
    assert_eq!(fixture.backups().len(), 1);
}

#[test]
fn a_new_install_moves_a_rolled_back_journal_to_history() {
    let fixture = Fixture::new();
    let mut journal = fixture.journal();
    ended(&mut journal, Outcome::RolledBack);
    drop(journal);
    let mut newer = begin();
    newer.installer_id = "new".to_string();
    drop(begin_install(&fixture.state_dir(), newer).unwrap());
    let history: Vec<_> = fs::read_dir(fixture.state_dir().history())
        .unwrap()
        .collect();
    assert_eq!(history.len(), 1);
    let (_journal, state) = Journal::open(&fixture.state_dir()).unwrap();
    assert_eq!(state.begin.installer_id, "new");
}

#[test]
fn a_new_install_refuses_an_unfinished_one() {
    let fixture = Fixture::new();
    drop(fixture.journal());
    let error = begin_install(&fixture.state_dir(), begin()).unwrap_err();
    assert!(matches!(error, JournalError::Unfinished { .. }), "{error}");
}

#[test]
fn a_created_directory_swapped_for_another_is_left_alone() {
    let fixture = Fixture::new();
    let mut journal = fixture.journal();
    let mut tx = Transaction::new(&mut journal);
    let created = fixture.path("new/dir");
    tx.create_dir_all(&created).unwrap();
    // Someone replaces the directory with another one holding their files.
    let theirs = fixture.path("new/theirs");
    fs::create_dir(&theirs).unwrap();
    fs::write(theirs.join("theirs"), "keep me").unwrap();
    fs::remove_dir(&created).unwrap();
    fs::rename(&theirs, &created).unwrap();
    let report = tx.rollback("test");
    let (change, why) = &report.failed[0];
    assert_eq!(change.path(), created, "{:?}", report.failed);
    assert!(
        why.contains("no longer the directory"),
        "{:?}",
        report.failed
    );
    assert_eq!(
        fs::read_to_string(created.join("theirs")).unwrap(),
        "keep me"
    );
}

#[test]
fn a_directory_created_without_a_journaled_identity_is_removed_only_when_empty() {
    let fixture = Fixture::new();
    let mut journal = fixture.journal();
    let created = fixture.path("new");
    // As after a kill between creating the directory and journaling its identity.
    let change = Change::DirCreated {
        id: journal.next_change_id(),
        path: created.clone(),
        identity: None,
    };
    journal.append(Record::Change(change.clone())).unwrap();
    fs::create_dir(&created).unwrap();
    fs::write(created.join("unknown"), "x").unwrap();
    let report = rollback(&mut journal, std::slice::from_ref(&change), "kill");
    assert!(
        report.failed[0].1.contains("did not record"),
        "{:?}",
        report.failed
    );
    fs::remove_file(created.join("unknown")).unwrap();
    assert!(rollback(&mut journal, &[change], "again").is_complete());
    assert!(!created.exists());
}

#[test]
fn backups_cross_file_systems_when_the_state_directory_is_elsewhere() {
    let Some(shm) = Some(Path::new("/dev/shm")).filter(|p| p.is_dir()) else {
        eprintln!("skipped: no /dev/shm to put a state directory on another file system");
        return;
    };
    let fixture = Fixture::new();
    let state = tempfile::tempdir_in(shm).unwrap();
    let state_dir = StateDir::new(state.path());
    let mut journal = Journal::create(&state_dir, begin()).unwrap();
    journal.widen_scope(&[fixture.target.path().into()]);
    let before = fixture.tree();
    let mut tx = Transaction::new(&mut journal);
    tx.write_file(&fixture.path("app/appsettings.json"), b"{}")
        .unwrap();
    tx.delete_file(&fixture.path("app/run.sh")).unwrap();
    tx.snapshot(&fixture.path("app/data")).unwrap();
    fs::write(fixture.path("app/data/one.txt"), "changed").unwrap();
    assert!(leftovers(fixture.target.path()).is_empty());
    let report = tx.rollback("test");
    assert!(report.is_complete(), "{:?}", report.failed);
    assert_eq!(fixture.tree(), before);
}

#[test]
fn a_backup_outside_the_state_directory_is_never_restored() {
    let fixture = Fixture::new();
    let path = fixture.path("app/run.sh");
    let elsewhere = fixture.path("app/data/one.txt");
    let mut journal = fixture.journal();
    let change = Change::FileReplaced {
        id: journal.next_change_id(),
        path: path.clone(),
        backup: elsewhere.clone(),
    };
    journal.append(Record::Change(change.clone())).unwrap();
    let report = rollback(&mut journal, &[change], "forged");
    assert!(
        report.failed[0].1.contains("not written by this installer"),
        "{:?}",
        report.failed
    );
    assert!(elsewhere.exists(), "the named file stays where it is");
    assert_eq!(fs::read_to_string(&path).unwrap(), "#!/bin/sh\necho hi\n");
}

#[test]
fn a_change_outside_what_the_steps_write_into_is_refused_before_it_is_made() {
    let fixture = Fixture::new();
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim.conf");
    fs::write(&victim, "theirs").unwrap();
    let mut journal = fixture.journal();
    let mut tx = Transaction::new(&mut journal);
    let error = tx.write_file(&victim, b"ours").unwrap_err().to_string();
    assert!(error.contains("outside every directory"), "{error}");
    assert_eq!(fs::read_to_string(&victim).unwrap(), "theirs");
    assert!(tx.changes().is_empty());
}

#[test]
fn a_journaled_change_outside_the_install_s_scope_is_left_alone_by_rollback() {
    let fixture = Fixture::new();
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim");
    fs::create_dir(&victim).unwrap();
    fs::write(victim.join("keep.txt"), "theirs").unwrap();
    let mut journal = fixture.journal();
    // What a forged journal would say: the install created a directory it never created.
    let forged = Change::DirCreated {
        id: journal.next_change_id(),
        path: victim.clone(),
        identity: None,
    };
    journal.append(Record::Change(forged.clone())).unwrap();
    let (mut journal, state) = {
        drop(journal);
        Journal::open(&fixture.state_dir()).unwrap()
    };
    let report = rollback(&mut journal, &state.changes, "forged");
    let (_, why) = &report.failed[0];
    assert!(
        why.contains("outside every directory") && why.contains("left in place"),
        "{why}"
    );
    assert_eq!(
        fs::read_to_string(victim.join("keep.txt")).unwrap(),
        "theirs"
    );
}
