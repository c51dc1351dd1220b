//! Where a journal goes when its install is no longer the latest: `kept/` while the install can
//! still be undone (it succeeded and its backups are all there), `history/` once it was made
//! final or undone. Each move is one `rename` in the state directory, then a sync of it, so a
//! kill leaves the journal in one place or the other, never in none.
//!
//! The caller holds the state directory's lock (an open [`Journal`](super::Journal), or a
//! [`StateLock`] taken for the move).

use super::{JournalError, JournalState, Record, Timestamp, read};
use crate::durable;
use crate::journal::Begin;
use crate::state_dir::{StateDir, StateLock};
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Where a journal is put aside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shelf {
    /// Succeeded and not final: `rollback --to` can still undo it.
    Kept,
    /// Final or undone: kept for the record only.
    History,
}

impl Shelf {
    fn dir(self, state: &StateDir) -> PathBuf {
        match self {
            Shelf::Kept => state.kept(),
            Shelf::History => state.history(),
        }
    }
}

/// Move the journal at `path` (of the install `begin` began) onto `shelf`; returns where it is.
pub fn shelve(
    state: &StateDir,
    path: &Path,
    begin: &Begin,
    shelf: Shelf,
) -> Result<PathBuf, JournalError> {
    let dir = shelf.dir(state);
    fs::create_dir_all(&dir).map_err(JournalError::io("creating", &dir))?;
    let to = dir.join(format!("journal-{}.jsonl", begin.install_key()));
    durable::rename_durably(path, &to)
        .map_err(JournalError::io("moving the finished journal to", &to))?;
    Ok(to)
}

/// The sequence of an install beginning now: after every kept one. Only each kept journal's
/// first line is read, and one that cannot be read is passed over: it must not keep a new
/// install from beginning (`rollback --to` and retention name it when they need it).
pub(super) fn next_sequence(state: &StateDir) -> Result<u64, JournalError> {
    let newest = kept_journals(state)?
        .iter()
        .filter_map(|path| first_begin(path))
        .map(|begin| begin.sequence)
        .max();
    Ok(newest.unwrap_or(0) + 1)
}

/// The `begin` record a journal starts with, if it can be read.
fn first_begin(path: &Path) -> Option<Begin> {
    let file = durable::no_follow(OpenOptions::new().read(true))
        .open(path)
        .ok()?;
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(file), &mut line).ok()?;
    match serde_json::from_str(&line).ok()? {
        Record::Begin(begin) => Some(begin),
        _ => None,
    }
}

/// The kept installs, newest first: by sequence, then (for journals from before there was one)
/// by start time.
pub fn kept_installs(state: &StateDir) -> Result<Vec<JournalState>, JournalError> {
    let mut kept: Vec<JournalState> = kept_journals(state)?
        .iter()
        .map(|path| read(path))
        .collect::<Result<_, _>>()?;
    kept.sort_by_key(|k| std::cmp::Reverse((k.begin.sequence, k.begin.started_at)));
    Ok(kept)
}

/// The journal files in `kept/`.
fn kept_journals(state: &StateDir) -> Result<Vec<PathBuf>, JournalError> {
    let dir = state.kept();
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(JournalError::io("reading", &dir)(e)),
    };
    let mut paths = Vec::new();
    for entry in entries {
        let path = entry.map_err(JournalError::io("reading", &dir))?.path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if name.starts_with("journal-") && name.ends_with(".jsonl") {
            paths.push(path);
        }
    }
    Ok(paths)
}

/// Make the kept install `kept` the state directory's current one again (its journal back in
/// `journal.jsonl`), once the install after it was undone and put aside.
pub fn promote(
    state: &StateDir,
    _lock: &StateLock,
    kept: &JournalState,
) -> Result<(), JournalError> {
    let current = state.journal();
    if current.exists() {
        return Err(JournalError::NotRetired { path: current });
    }
    durable::rename_durably(&kept.path, &current).map_err(JournalError::io(
        "moving the kept journal back to",
        &current,
    ))
}

/// Journal that the kept install at `path` is made final, before its backups are removed: a
/// kill in between leaves a journal that says so, and nothing tries to undo it with backups
/// that are partly gone.
pub fn mark_committed(path: &Path) -> Result<(), JournalError> {
    let record = Record::Committed {
        at: Timestamp::now(),
    };
    let mut line = serde_json::to_vec(&record).map_err(|source| JournalError::Encode {
        path: path.to_path_buf(),
        source,
    })?;
    line.push(b'\n');
    let mut file = durable::no_follow(OpenOptions::new().append(true))
        .open(path)
        .map_err(JournalError::io("opening the kept journal", path))?;
    file.write_all(&line)
        .and_then(|()| file.sync_data())
        .map_err(JournalError::io("writing to the kept journal", path))
}
