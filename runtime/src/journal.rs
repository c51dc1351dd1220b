//! The install journal: an append-only record of what an install did, so that a crash, a kill or
//! a power loss loses nothing and `resume` or `rollback` can pick up from the disk alone.
//!
//! The journal is the state directory's `journal.jsonl` (see `StateDir`), one JSON [`Record`]
//! per line. Every append is followed by `fdatasync`, and the directory is synced when the file
//! is created, so a record is on disk before the change it describes is made (the rollback
//! transaction relies on this). Replaying the file ([`JournalState`]) tells which steps started
//! and finished, which changes are not yet undone, and whether the install ended. A torn last
//! line (the power went out mid-write) is dropped with a note; any other damage is an error
//! naming the line.
//!
//! The state directory's lock keeps two installers off one journal for as long as it is open.
//!
//! The journal holds paths, step names, statuses and times, and the output variables that are
//! not sensitive, never a secret: those outputs, the `message` of a step and the `reason` of a
//! rollback must already be scrubbed by the caller. It stores
//! [`Change`]s; making and undoing them is the transaction's job (module `rollback`, which uses
//! this one, never the other way round).
//!
//! # Life of a journal
//!
//! [`Journal::create`] writes `begin`; the engine journals `step-started`, the transaction its
//! changes, the engine `step-finished`, and finally `end`. After a crash, [`Journal::open`]
//! replays it: `resume` checks [`JournalState::check_installer`], journals `resumed` and goes on
//! with the transaction; `rollback` undoes [`JournalState::changes`]. A succeeded install keeps
//! its backups, so `rollback` can still undo it later; when the next install begins,
//! [`Journal::replace`] moves its journal to `kept/` (module `shelves`), where `rollback --to`
//! finds it, until retention journals it `committed` and archives it in `history/` (module
//! `retention`); any other ended journal goes straight to `history/`. A new install is refused after an
//! unfinished one, and after a failed one whose changes are still in place
//! ([`JournalState::check_may_begin_after`]).
//!
//! The kill points the crash tests use around the journal are in `crate::checkpoint`.
//!
//! Known gap: paths that are not valid UTF-8 cannot be journaled (the transaction refuses them).

use crate::durable;
use crate::state_dir::{StateDir, StateError, StateLock};
use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

mod change;
mod record;
mod scope;
mod shelves;
#[cfg(test)]
mod tests;

pub use change::{Change, ChangeId, DirIdentity};
pub use record::{Begin, KeptOutput, Outcome, Record, StepStatus, Timestamp};
pub use scope::Scope;
pub use shelves::{Shelf, kept_installs, mark_committed, promote, shelve};

/// Why the journal could not be written, read or used.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("{doing} `{path}`: {source}")]
    Io {
        doing: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("journal `{path}` line {line} is damaged: {reason}")]
    Corrupt {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    #[error(
        "no install is recorded here: `{path}` does not exist\n\
         hint: pass the install's `--state-dir`"
    )]
    Missing { path: PathBuf },
    #[error("journal `{path}` records no install (it has no `begin` record)")]
    NoInstall { path: PathBuf },
    #[error(
        "journal `{path}` records an unfinished install of {product} {version}\n\
         hint: run `resume` to continue it or `rollback` to undo it"
    )]
    Unfinished {
        path: PathBuf,
        product: String,
        version: String,
    },
    #[error(
        "journal `{path}` records a failed install of {product} {version} whose changes are \
         still in place\nhint: run `rollback` to undo them"
    )]
    NotUndone {
        path: PathBuf,
        product: String,
        version: String,
    },
    #[error("removing `{backup}`, a backup of the previous install: {reason}")]
    BackupLeft { backup: PathBuf, reason: String },
    #[error(
        "journal `{path}` records a finished install that was not made final first \
         (`rollback::begin_install` does that)"
    )]
    NotRetired { path: PathBuf },
    #[error(
        "journal `{path}` was started by another installer (`{recorded}`), not this one \
         (`{this}`)\nhint: run `resume` or `rollback` with the installer that started it"
    )]
    OtherInstaller {
        path: PathBuf,
        recorded: String,
        this: String,
    },
    #[error(transparent)]
    State(#[from] StateError),
    #[error("recording to journal `{path}`: {source}")]
    Encode {
        path: PathBuf,
        source: serde_json::Error,
    },
}

impl JournalError {
    /// The exit status this error ends the process with: using the wrong installer or ignoring
    /// an unfinished install is the operator's to fix; the rest is the machine's.
    pub fn exit_status(&self) -> crate::exit::ExitStatus {
        use crate::exit::ExitStatus;
        match self {
            JournalError::Missing { .. }
            | JournalError::Unfinished { .. }
            | JournalError::NotUndone { .. }
            | JournalError::OtherInstaller { .. } => ExitStatus::Usage,
            JournalError::State(state) => state.exit_status(),
            _ => ExitStatus::Failure,
        }
    }

    fn io<'a>(doing: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> Self + 'a {
        move |source| JournalError::Io {
            doing,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Where a step got to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepState {
    pub name: String,
    /// `None` while the step has started and not finished.
    pub status: Option<StepStatus>,
    /// When it last started and finished (a resumed report shows the earlier run's times).
    pub started: Option<Timestamp>,
    pub finished: Option<Timestamp>,
}

/// What replaying a journal tells.
#[derive(Debug, Clone, PartialEq)]
pub struct JournalState {
    /// The journal file replayed.
    pub path: PathBuf,
    pub begin: Begin,
    /// Each step's last known state, by step index.
    pub steps: BTreeMap<usize, StepState>,
    /// Changes not yet undone (nor committed), in the order they were made.
    pub changes: Vec<Change>,
    /// Committed changes, whose backups the transaction's `remove_backups` removes (again, if a
    /// commit was killed midway).
    pub committed: Vec<Change>,
    /// A rollback started and has not finished.
    pub rollback_in_progress: bool,
    /// How the install ended; `None` while it is unfinished.
    pub outcome: Option<Outcome>,
    /// Why a torn last line was dropped, if one was.
    pub torn_tail: Option<String>,
    /// The runs of the installer on this install, in order: the install, then each `resume`.
    pub runs: Vec<JournaledRun>,
    /// The output variables the finished steps set that may reach the disk (a later value of
    /// a step's variable replaces the earlier), for `resume`.
    pub outputs: Vec<KeptOutput>,
    /// How each step's rollback script last got on, by step index.
    pub rollback_scripts: BTreeMap<usize, RollbackScript>,
    /// The step each change was made by: changes journaled between a step's `step-started`
    /// and the next step or rollback record are that step's.
    owners: BTreeMap<ChangeId, usize>,
    /// The step whose changes the records being replayed belong to.
    current_step: Option<usize>,
    /// One past the largest change id seen, undone ones included.
    next_id: u64,
    /// The directories the install's steps write into, as journaled.
    scope: Scope,
}

/// One run of the installer on an install (the install itself or a `resume`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournaledRun {
    pub resumed: bool,
    pub started: Timestamp,
    /// For a run that was interrupted (a later run resumed it): where it stopped.
    pub stopped_at: Option<String>,
}

/// Where a step's rollback script got to, as journaled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RollbackScript {
    /// Started and not finished: killed while it ran, so it runs again.
    Started,
    Succeeded,
    /// It failed, with why (scrubbed): a later rollback runs it again.
    Failed(String),
}

impl JournalState {
    /// Refuse to resume or roll back with an installer other than the one that began.
    pub fn check_installer(&self, installer_id: &str) -> Result<(), JournalError> {
        if self.begin.installer_id == installer_id {
            return Ok(());
        }
        Err(JournalError::OtherInstaller {
            path: self.path.clone(),
            recorded: self.begin.installer_id.clone(),
            this: installer_id.to_string(),
        })
    }

    /// The index of the step `resume` continues at: the first that neither succeeded nor was
    /// skipped (a step that started, or failed, runs again).
    pub fn resume_from(&self) -> usize {
        let done = |index: &usize| {
            let status = self.steps.get(index).and_then(|step| step.status);
            matches!(status, Some(StepStatus::Succeeded | StepStatus::Skipped))
        };
        (0..).take_while(done).count()
    }

    /// Refuse to begin a new install after this one unless it ended with nothing left in
    /// place: an unfinished install must be resumed or rolled back, a failed one whose changes
    /// are still there rolled back.
    pub fn check_may_begin_after(&self) -> Result<(), JournalError> {
        let (path, product, version) = (
            self.path.clone(),
            self.begin.product.clone(),
            self.begin.version.clone(),
        );
        match self.outcome {
            None => Err(JournalError::Unfinished {
                path,
                product,
                version,
            }),
            Some(Outcome::Failed | Outcome::RollbackIncomplete) if !self.changes.is_empty() => {
                Err(JournalError::NotUndone {
                    path,
                    product,
                    version,
                })
            }
            Some(_) => Ok(()),
        }
    }

    /// Whether the install ended (successfully, failed or rolled back).
    pub fn ended(&self) -> bool {
        self.outcome.is_some()
    }

    /// Whether the install succeeded and is not made final: its backups are all there, so it
    /// can still be undone.
    pub fn undoable(&self) -> bool {
        self.outcome == Some(Outcome::Succeeded) && self.committed.is_empty()
    }

    /// The changes not yet undone that step `index` made, in the order made.
    pub fn changes_of_step(&self, index: usize) -> Vec<Change> {
        let owned = |change: &&Change| self.owners.get(&change.id()) == Some(&index);
        self.changes.iter().filter(owned).cloned().collect()
    }

    /// Whether step `index` started in the install proper (not as a `failure` step after the
    /// failed one), so its rollback script belongs to the undo.
    pub fn started_in_install(&self, index: usize) -> bool {
        let started = self.steps.get(&index).is_some_and(|s| s.started.is_some());
        started && index <= self.resume_from()
    }

    /// Where the journal ends, for a run that was interrupted there.
    pub fn where_stopped(&self) -> String {
        match self.current_step.and_then(|i| self.steps.get(&i)) {
            Some(step) => format!("interrupted during step `{}`", step.name),
            None => "interrupted between steps".to_string(),
        }
    }

    /// Whether step `index`'s rollback script is still to run: it never ran, was killed, or
    /// failed (a later rollback tries it again).
    pub fn rollback_script_pending(&self, index: usize) -> bool {
        self.rollback_scripts.get(&index) != Some(&RollbackScript::Succeeded)
    }

    fn new(path: &Path, begin: Begin) -> Self {
        let first = JournaledRun {
            resumed: false,
            started: begin.started_at,
            stopped_at: None,
        };
        JournalState {
            runs: vec![first],
            path: path.to_path_buf(),
            begin,
            steps: BTreeMap::new(),
            changes: Vec::new(),
            committed: Vec::new(),
            rollback_in_progress: false,
            outcome: None,
            outputs: Vec::new(),
            torn_tail: None,
            rollback_scripts: BTreeMap::new(),
            owners: BTreeMap::new(),
            current_step: None,
            next_id: 1,
            scope: Scope::default(),
        }
    }

    /// Fold one record after the first into the state.
    fn apply(&mut self, record: Record) -> Result<(), String> {
        match record {
            Record::Begin(_) => return Err("a second `begin` record".to_string()),
            Record::StepStarted { index, name, at } => {
                let state = StepState {
                    name,
                    status: None,
                    started: Some(at),
                    finished: None,
                };
                self.steps.insert(index, state);
                self.current_step = Some(index);
            }
            Record::StepFinished {
                index,
                name,
                status,
                at,
                outputs,
                ..
            } => {
                self.keep_outputs(outputs);
                let started = self.steps.get(&index).and_then(|s| s.started);
                let state = StepState {
                    name,
                    status: Some(status),
                    started,
                    finished: Some(at),
                };
                self.steps.insert(index, state);
                self.current_step = None;
            }
            Record::Change(change) => {
                self.next_id = self.next_id.max(change.id().0 + 1);
                if let Some(step) = self.current_step {
                    self.owners.insert(change.id(), step);
                }
                self.changes.push(change);
            }
            Record::DirIdentified {
                change_id,
                identity,
            } => {
                for change in &mut self.changes {
                    if let Change::DirCreated {
                        id, identity: at, ..
                    } = change
                        && *id == change_id
                    {
                        *at = Some(identity);
                    }
                }
            }
            Record::Scope { roots } => self.scope.extend(roots),
            Record::Undone { change_id } => self.changes.retain(|c| c.id() != change_id),
            Record::UndoFailed { .. } => {}
            Record::Resumed { at } => self.resumed(at),
            Record::RollbackStarted { .. } => self.begin_rollback(),
            Record::RollbackScriptStarted { index, .. } => {
                self.begin_rollback();
                self.rollback_scripts.insert(index, RollbackScript::Started);
            }
            Record::RollbackScriptFinished { index, error, .. } => {
                let ended = error.map_or(RollbackScript::Succeeded, RollbackScript::Failed);
                self.rollback_scripts.insert(index, ended);
            }
            Record::RollbackFinished { .. } => self.rollback_in_progress = false,
            Record::Committed { .. } => self.committed.append(&mut self.changes),
            Record::End { outcome, .. } => self.outcome = Some(outcome),
        }
        Ok(())
    }

    /// Keep a finished step's output variables, each replacing an earlier value of its name.
    fn keep_outputs(&mut self, outputs: Vec<KeptOutput>) {
        for output in outputs {
            self.outputs
                .retain(|o| !(o.step == output.step && o.name.eq_ignore_ascii_case(&output.name)));
            self.outputs.push(output);
        }
    }

    /// A `resume` begins: the run before it stopped where the journal ends.
    fn resumed(&mut self, at: Timestamp) {
        let stopped_at = self.where_stopped();
        if let Some(run) = self.runs.last_mut() {
            run.stopped_at = Some(stopped_at);
        }
        self.runs.push(JournaledRun {
            resumed: true,
            started: at,
            stopped_at: None,
        });
        self.current_step = None;
    }

    /// A rollback begins (with the rollback scripts or the undo of the changes): undoing a
    /// finished install makes it unfinished until the rollback ends.
    fn begin_rollback(&mut self) {
        self.rollback_in_progress = true;
        self.outcome = None;
        self.current_step = None;
    }
}

/// An open journal, held under the state directory's lock.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
    /// Bytes of complete records in the file: a failed append is cut back to this.
    len: u64,
    next_id: u64,
    /// What the install may change ([`Scope`]): checked before a change is made and before one
    /// is undone.
    scope: Scope,
    state: StateDir,
    /// The install's key ([`Begin::install_key`]): its backups' folder.
    install: String,
    /// Records not yet written: they go to disk with the next record
    /// ([`append_later`](Self::append_later)).
    pending: Vec<Record>,
    _lock: StateLock,
}

impl Journal {
    /// Begin a new install in `state`. Refuses when the state directory records an install
    /// that did not end, or a failed one whose changes are still in place; a finished one must
    /// have been put aside first (the transaction's `begin_install`, [`Journal::replace`]). A journal
    /// that never got its `begin` record (nothing was done) is dropped.
    pub fn create(state: &StateDir, begin: Begin) -> Result<Journal, JournalError> {
        state.create()?;
        let lock = state.lock()?;
        let path = state.journal();
        if path.exists() {
            match replay(&path) {
                Err(JournalError::NoInstall { .. }) => fs::remove_file(&path)
                    .map_err(JournalError::io("removing the empty journal", &path))?,
                Err(error) => return Err(error),
                Ok((previous, _)) => {
                    previous.check_may_begin_after()?;
                    return Err(JournalError::NotRetired { path });
                }
            }
        }
        Journal::begin(state, lock, begin)
    }

    /// Open the journal of an earlier install to resume or roll it back, and replay it. A torn
    /// last line is cut off the file, so appending continues after the last whole record.
    pub fn open(state: &StateDir) -> Result<(Journal, JournalState), JournalError> {
        let path = state.journal();
        if !path.exists() {
            return Err(JournalError::Missing { path });
        }
        state.check_trusted()?;
        let lock = state.lock()?;
        let (replayed, len) = replay(&path)?;
        let file = durable::no_follow(OpenOptions::new().append(true))
            .open(&path)
            .map_err(JournalError::io("opening the journal", &path))?;
        if replayed.torn_tail.is_some() {
            file.set_len(len)
                .and_then(|()| file.sync_data())
                .map_err(JournalError::io("cutting the torn last line of", &path))?;
        }
        let next_id = replayed.next_id;
        let journal = Journal {
            path,
            file,
            len,
            next_id,
            scope: replayed.scope.clone(),
            state: state.clone(),
            install: replayed.begin.install_key(),
            pending: Vec::new(),
            _lock: lock,
        };
        Ok((journal, replayed))
    }

    /// Move this journal, of a finished install, aside and begin a new install, without
    /// letting go of the lock in between: a succeeded install not made final is kept (undoable
    /// by `rollback --to` until retention makes it final), any other goes to the history.
    pub fn replace(self, state: &StateDir, begin: Begin) -> Result<Journal, JournalError> {
        let Journal { path, _lock, .. } = self;
        let (previous, _) = replay(&path)?;
        previous.check_may_begin_after()?;
        let shelf = match previous.undoable() {
            true => Shelf::Kept,
            false => Shelf::History,
        };
        shelve(state, &path, &previous.begin, shelf)?;
        Journal::begin(state, _lock, begin)
    }

    /// A new journal file holding `begin` (its sequence set after the kept installs'), under
    /// `lock`.
    fn begin(state: &StateDir, lock: StateLock, begin: Begin) -> Result<Journal, JournalError> {
        let begin = Begin {
            sequence: shelves::next_sequence(state)?,
            ..begin
        };
        let path = state.journal();
        let file = OpenOptions::new()
            .append(true)
            .create_new(true)
            .open(&path)
            .map_err(JournalError::io("creating the journal", &path))?;
        sync_dir(state.root())?;
        let mut journal = Journal {
            path,
            file,
            len: 0,
            next_id: 1,
            scope: Scope::default(),
            state: state.clone(),
            install: begin.install_key(),
            pending: Vec::new(),
            _lock: lock,
        };
        journal.append(Record::Begin(begin))?;
        Ok(journal)
    }

    /// Append one record and wait until it is on disk.
    pub fn append(&mut self, record: Record) -> Result<(), JournalError> {
        self.append_all([record])
    }

    /// Append records with a single sync: many small changes (the files of a package) cost one
    /// disk flush, not one each. All are on disk when this returns `Ok`, after the records still
    /// pending; after an error, replay may find the first few (harmless: a change
    /// journaled and not made is undone as nothing), and the pending ones stay pending.
    pub fn append_all(
        &mut self,
        records: impl IntoIterator<Item = Record>,
    ) -> Result<(), JournalError> {
        let pending = std::mem::take(&mut self.pending);
        let mut lines = Vec::new();
        let mut next_id = self.next_id;
        for record in pending
            .iter()
            .chain(&records.into_iter().collect::<Vec<_>>())
        {
            if let Err(source) = serde_json::to_writer(&mut lines, record) {
                self.pending = pending;
                let path = self.path.clone();
                return Err(JournalError::Encode { path, source });
            }
            lines.push(b'\n');
            if let Record::Change(change) = record {
                next_id = next_id.max(change.id().0 + 1);
            }
        }
        let written = self.file.write_all(&lines);
        if let Err(e) = written.and_then(|()| self.file.sync_data()) {
            // Cut a partial line back off, so the next record does not join it.
            let _ = self.file.set_len(self.len);
            self.pending = pending;
            return Err(JournalError::io("writing to the journal", &self.path)(e));
        }
        self.len += lines.len() as u64;
        self.next_id = next_id;
        Ok(())
    }

    /// Journal that the install may change what lies in `roots` (absolute directories a step
    /// writes into), before the step's first change; roots already covered are not repeated.
    /// The record is written with the next one (the first change it allows, or the step's
    /// end), so it costs no flush of its own and is on disk before anything it allows is made.
    pub fn widen_scope(&mut self, roots: &[PathBuf]) {
        let roots = self.scope.missing(roots);
        if !roots.is_empty() {
            self.scope.extend(roots.iter().cloned());
            self.append_later([Record::Scope { roots }]);
        }
    }

    /// Journal `records` with the next record written, at no flush of their own: for what may
    /// be lost in a crash until then (a directory's identity: without it, rollback removes the
    /// directory only when empty).
    pub fn append_later(&mut self, records: impl IntoIterator<Item = Record>) {
        self.pending.extend(records);
    }

    /// Write the records held back by [`append_later`](Self::append_later) now, if any.
    pub fn flush_pending(&mut self) -> Result<(), JournalError> {
        match self.pending.is_empty() {
            true => Ok(()),
            false => self.append_all([]),
        }
    }

    /// What the install may change; the state directory's work directory (where a step
    /// unpacks the packages its scripts use) always.
    pub fn scope(&self) -> Scope {
        let mut scope = self.scope.clone();
        scope.extend([self.state.work_dir()]);
        scope
    }

    /// The id the next journaled change must carry.
    pub fn next_change_id(&self) -> ChangeId {
        ChangeId(self.next_id)
    }

    /// The journal file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The state directory the journal is in (where the transaction keeps its backups).
    pub fn state_dir(&self) -> &StateDir {
        &self.state
    }

    /// Where the transaction keeps this install's backups: a folder of its own, so that they
    /// outlive the install while it is kept.
    pub fn backups(&self) -> Result<PathBuf, StateError> {
        self.state.backups_of(&self.install)
    }

    /// The state directory's lock, held while this journal is open.
    pub fn lock(&self) -> &StateLock {
        &self._lock
    }
}

/// Replay a journal file without opening it for appending (a kept or archived one; the caller
/// holds the state directory's lock).
pub fn read(path: &Path) -> Result<JournalState, JournalError> {
    replay(path).map(|(state, _)| state)
}

/// Read and replay a journal; also return the length of its whole lines.
fn replay(path: &Path) -> Result<(JournalState, u64), JournalError> {
    let bytes =
        durable::read_no_follow(path).map_err(JournalError::io("reading the journal", path))?;
    let whole = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let mut lines = bytes[..whole].split(|&b| b == b'\n');
    lines.next_back(); // The empty piece after the last newline.
    let mut state: Option<JournalState> = None;
    for (number, line) in lines.enumerate() {
        let corrupt = |reason: String| JournalError::Corrupt {
            path: path.to_path_buf(),
            line: number + 1,
            reason,
        };
        let record: Record = serde_json::from_slice(line).map_err(|e| corrupt(e.to_string()))?;
        match (&mut state, record) {
            (None, Record::Begin(begin)) => state = Some(JournalState::new(path, begin)),
            (None, _) => return Err(corrupt("the first record is not `begin`".to_string())),
            (Some(state), record) => state.apply(record).map_err(corrupt)?,
        }
    }
    let mut state = state.ok_or_else(|| JournalError::NoInstall {
        path: path.to_path_buf(),
    })?;
    if whole < bytes.len() {
        let torn = bytes.len() - whole;
        state.torn_tail = Some(format!(
            "dropped a torn last line of {torn} bytes (the write was cut off before it ended)"
        ));
    }
    Ok((state, whole as u64))
}

/// Sync a directory, so a file created or renamed in it survives a power loss.
fn sync_dir(dir: &Path) -> Result<(), JournalError> {
    durable::sync_dir(dir).map_err(JournalError::io("syncing the directory", dir))
}
