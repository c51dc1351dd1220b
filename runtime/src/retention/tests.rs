//! Installs kept, made final and walked back through, on real journals and backups.

use super::*;
use crate::installed::Installed;
use crate::journal::{Begin, Journal, Record, Timestamp};
use crate::rollback::{Transaction, begin_install};
use serde_json::Map;
use std::path::PathBuf;
use tempfile::TempDir;

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
        fs::write(fixture.file(), "0").unwrap();
        fixture
    }

    fn state_dir(&self) -> StateDir {
        StateDir::new(self.state.path())
    }

    fn file(&self) -> PathBuf {
        self.target.path().join("app.conf")
    }

    /// Install `version` over `before`: the settings file rewritten, the install succeeded.
    /// Returns the still open journal (holding the lock).
    fn install(&self, version: &str, before: Option<&str>) -> Journal {
        self.install_begun(begin(version, before))
    }

    /// Install what `begin` says.
    fn install_begun(&self, begin: Begin) -> Journal {
        let version = begin.version.clone();
        let mut journal = begin_install(&self.state_dir(), begin).unwrap();
        journal.widen_scope(&[self.target.path().into()]);
        let mut tx = Transaction::new(&mut journal);
        tx.write_file(&self.file(), version.as_bytes()).unwrap();
        let at = Timestamp::now();
        let outcome = crate::journal::Outcome::Succeeded;
        journal.append(Record::End { outcome, at }).unwrap();
        journal
    }

    /// Every backup file kept, as `install key/change id`.
    fn backups(&self) -> Vec<String> {
        let mut found = Vec::new();
        let Ok(installs) = fs::read_dir(self.state.path().join("backups")) else {
            return found;
        };
        for install in installs.flatten() {
            for backup in fs::read_dir(install.path()).unwrap().flatten() {
                let install = install.file_name().to_string_lossy().into_owned();
                found.push(format!(
                    "{install}/{}",
                    backup.file_name().to_string_lossy()
                ));
            }
        }
        found
    }

    fn names(&self, dir: &str) -> usize {
        fs::read_dir(self.state.path().join(dir)).map_or(0, |d| d.count())
    }
}

fn begin(version: &str, before: Option<&str>) -> Begin {
    // Install keys are milliseconds: keep two installs of a test apart.
    std::thread::sleep(std::time::Duration::from_millis(3));
    Begin {
        installer_id: format!("sha256:{}", &version.replace('.', "").repeat(64)[..64]),
        product: "Fabrikam".to_string(),
        version: version.to_string(),
        customer: None,
        started_at: Timestamp::now(),
        roles: Vec::new(),
        signer_key: None,
        installed_before: before.map(|v| Box::new(installed(v))),
        keep: None,
        sequence: 0,
    }
}

fn installed(version: &str) -> Installed {
    Installed {
        product: "Fabrikam".to_string(),
        version: version.to_string(),
        customer: None,
        installer_id: String::new(),
        signer_key_id: String::new(),
        installed_at: String::new(),
        roles: Vec::new(),
        answers: Map::new(),
        packages: Vec::new(),
    }
}

#[test]
fn a_succeeded_install_is_kept_with_its_backups_when_the_next_begins() {
    let fixture = Fixture::new();
    drop(fixture.install("4.12.0", None));
    drop(fixture.install("4.13.0", Some("4.12.0")));
    assert_eq!(fixture.names("kept"), 1, "4.12.0 waits in kept/");
    assert_eq!(fixture.backups().len(), 2, "{:?}", fixture.backups());
    assert_eq!(fs::read_to_string(fixture.file()).unwrap(), "4.13.0");
}

#[test]
fn retention_makes_final_only_the_installs_beyond_keep_and_only_their_backups() {
    let fixture = Fixture::new();
    drop(fixture.install("4.12.0", None));
    drop(fixture.install("4.13.0", Some("4.12.0")));
    let journal = fixture.install("4.14.0", Some("4.13.0"));
    let state = fixture.state_dir();
    let before = fixture.backups();
    assert_eq!(before.len(), 3);

    let retention = apply(&state, journal.lock(), 2, "sha256:x");
    assert!(retention.warnings.is_empty(), "{:?}", retention.warnings);
    assert_eq!(retention.retired.len(), 1);
    let retired = &retention.retired[0];
    assert_eq!(retired.version, "4.12.0");
    assert_eq!((retired.backups_removed, retired.bytes_freed), (1, 1));
    assert!(retired.line().contains("4.12.0"), "{}", retired.line());
    assert_eq!(fixture.backups().len(), 2);
    assert!(!before.iter().all(|b| fixture.backups().contains(b)));
    assert_eq!(fixture.names("kept"), 1);
    let archived = journal::read(
        &state.history().join(
            fs::read_dir(state.history())
                .unwrap()
                .next()
                .unwrap()
                .unwrap()
                .file_name(),
        ),
    )
    .unwrap();
    assert_eq!(archived.begin.version, "4.12.0");
    assert!(
        !archived.committed.is_empty(),
        "journaled final before removal"
    );

    let again = apply(&state, journal.lock(), 1, "sha256:x");
    assert_eq!(again.retired.len(), 1, "--keep 1 leaves only the latest");
    assert_eq!(fixture.names("kept"), 0);
    assert_eq!(fixture.backups().len(), 1, "the current install's own");
}

#[test]
fn the_way_back_undoes_the_newer_installs_newest_first_down_to_the_version_asked() {
    let fixture = Fixture::new();
    drop(fixture.install("4.12.0", None));
    drop(fixture.install("4.13.0", Some("4.12.0")));
    drop(fixture.install("4.14.0", Some("4.13.0")));
    let state = fixture.state_dir();

    let way = way_back(&state, "4.12").unwrap();
    let versions: Vec<&str> = way.undo.iter().map(|i| i.begin.version.as_str()).collect();
    assert_eq!(versions, ["4.14.0", "4.13.0"]);
    assert_eq!(way.target.unwrap().begin.version, "4.12.0");

    let one = way_back(&state, "4.13.0").unwrap();
    assert_eq!(one.undo.len(), 1);

    let installed = way_back(&state, "4.14.0").unwrap_err();
    assert!(
        matches!(installed, WayBackError::Installed { .. }),
        "{installed}"
    );
    let far = way_back(&state, "4.11.0").unwrap_err().to_string();
    assert!(
        far.contains("(4.14.0, 4.13.0, 4.12.0) lead back to nothing installed")
            && far.contains("--allow-downgrade"),
        "{far}"
    );
}

#[test]
fn installs_keep_their_order_when_the_clock_is_set_back_between_them() {
    // No time server on an isolated network: the operator corrects the clock, an hour back,
    // then another, between three installs.
    let fixture = Fixture::new();
    let installs = [("4.12.0", None), ("4.13.0", Some("4.12.0"))];
    for (hours, (version, before)) in (0..).zip(installs) {
        let started_at = Timestamp(chrono::Utc::now() - chrono::Duration::hours(hours));
        drop(fixture.install_begun(Begin {
            started_at,
            ..begin(version, before)
        }));
    }
    let started_at = Timestamp(chrono::Utc::now() - chrono::Duration::hours(2));
    let journal = fixture.install_begun(Begin {
        started_at,
        ..begin("4.14.0", Some("4.13.0"))
    });
    let state = fixture.state_dir();
    let way = way_back(&state, "4.12.0").unwrap();
    let versions: Vec<&str> = way.undo.iter().map(|i| i.begin.version.as_str()).collect();
    assert_eq!(versions, ["4.14.0", "4.13.0"]);

    let retention = apply(&state, journal.lock(), 2, "sha256:x");
    let retired: Vec<&str> = retention
        .retired
        .iter()
        .map(|r| r.version.as_str())
        .collect();
    assert_eq!(
        retired,
        ["4.12.0"],
        "the oldest install is made final, not the earliest clock"
    );
}

#[test]
fn a_kept_journal_that_cannot_be_read_does_not_keep_the_next_install_from_beginning() {
    let fixture = Fixture::new();
    drop(fixture.install("4.12.0", None));
    drop(fixture.install("4.13.0", Some("4.12.0")));
    let kept = fs::read_dir(fixture.state.path().join("kept"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    fs::write(&kept, "not a journal\n").unwrap();
    drop(fixture.install("4.14.0", Some("4.13.0")));
    let current = journal::read(&fixture.state_dir().journal()).unwrap();
    assert_eq!(current.begin.version, "4.14.0");
    assert!(
        current.begin.sequence > 1,
        "after the readable kept install"
    );
}

#[test]
fn an_install_made_final_is_not_walked_back_through() {
    let fixture = Fixture::new();
    drop(fixture.install("4.12.0", None));
    drop(fixture.install("4.13.0", Some("4.12.0")));
    let journal = fixture.install("4.14.0", Some("4.13.0"));
    apply(&fixture.state_dir(), journal.lock(), 1, "sha256:x");
    drop(journal);
    let error = way_back(&fixture.state_dir(), "4.12.0").unwrap_err();
    assert!(matches!(error, WayBackError::Unreachable { .. }), "{error}");
    assert!(
        error.to_string().contains("lead back to 4.13.0 at most"),
        "{error}"
    );
}

#[test]
fn kept_installer_copies_are_named_by_digest_and_dropped_when_no_install_names_them() {
    let fixture = Fixture::new();
    let state = fixture.state_dir();
    state.create().unwrap();
    let source = fixture.target.path().join("installer");
    fs::write(&source, "binary").unwrap();
    let (a, b) = (
        format!("sha256:{}", "a".repeat(64)),
        format!("sha256:{}", "b".repeat(64)),
    );
    state.keep_installer(&source, &a).unwrap();
    state.keep_installer(&source, &b).unwrap();
    state.keep_installer(&source, "not-a-digest").unwrap();
    assert_eq!(fixture.names("installers"), 2);
    let copy = state.kept_installer(&a).unwrap();
    fs::write(&copy, "bin").unwrap();
    state.keep_installer(&source, &a).unwrap();
    assert_eq!(
        fs::read(&copy).unwrap(),
        b"binary",
        "a copy cut short is made again"
    );
    let stranger = state.installers().join("notes.txt");
    fs::write(&stranger, "x").unwrap();
    assert!(state.remove_kept_installers_except(&[&b]).is_empty());
    assert!(!state.kept_installer(&a).unwrap().exists());
    assert_eq!(
        fs::read(state.kept_installer(&b).unwrap()).unwrap(),
        b"binary"
    );
    assert!(
        stranger.exists(),
        "only names this directory gives are touched"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(state.kept_installer(&b).unwrap())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
    }
}
