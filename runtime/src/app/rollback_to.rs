//! `rollback --to VERSION`: undo the installs newer than VERSION, newest first, each by its own
//! installer (this one, or the copy kept in the state directory, verified with the key its
//! install trusted before it runs) as `rollback --yes`, so each install's rollback scripts come
//! from its own plan and its report is its own. Between two of them the undone install's journal
//! goes to the history and the kept install before it becomes the current one again.
//!
//! Everything is checked before anything changes: the version can be reached and every
//! installer needed is there and verifies. A kill anywhere is finished by running the same
//! command again: each undo is idempotent and each move of a journal is one rename.

use crate::commands::{fail, local_state_dir};
use crate::{installer, session, ui};
use dropship_runtime::checkpoint::checkpoint;
use dropship_runtime::container::InstallerFile;
use dropship_runtime::engine::time_text;
use dropship_runtime::exit::ExitStatus;
use dropship_runtime::extract;
use dropship_runtime::journal::{self, JournalState, Outcome, Shelf};
use dropship_runtime::retention::{self, WayBack};
use dropship_runtime::state_dir::StateDir;
use dropship_runtime::trust::{self, TrustOptions};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::Ordering;

/// `rollback --to version` in `state_dir` (else the default); `yes`: without asking;
/// `forwarded`: the options each install's own `rollback` is given too (`--no-progress`,
/// `--log FILE`).
pub fn rollback_to(
    state_dir: Option<&Path>,
    version: &str,
    yes: bool,
    forwarded: &[OsString],
) -> Result<ExitStatus, ExitStatus> {
    let state = local_state_dir(state_dir)?;
    if !state.journal().exists() && !state.kept().exists() {
        return Err(fail(
            &format!(
                "no install is recorded in `{}`\nhint: pass the install's `--state-dir`",
                state.root().display()
            ),
            ExitStatus::Usage,
        ));
    }
    state
        .check_trusted()
        .map_err(|e| fail(&e, e.exit_status()))?;
    let way = {
        let _lock = state.lock().map_err(|e| fail(&e, e.exit_status()))?;
        retention::way_back(&state, version)
    };
    let way = match way {
        Ok(way) => way,
        Err(e) if e.exit_status() == ExitStatus::Success => {
            eprintln!("{e}.");
            return Ok(ExitStatus::Success);
        }
        Err(e) => return Err(fail(&e, e.exit_status())),
    };
    let runners = installers_for(&state, &way.undo)?;
    confirm(&way, version, yes)?;
    ui::changes_begin();
    for (position, (install, runner)) in way.undo.iter().zip(&runners).enumerate() {
        if position > 0 && ui::cancel_flag().load(Ordering::SeqCst) {
            let done = &way.undo[position - 1].begin;
            return Err(fail(
                &format!(
                    "stopped (Ctrl-C) after undoing {} {}; run `rollback --to {version}` again \
                     to go on",
                    done.product, done.version
                ),
                ExitStatus::RollbackIncomplete,
            ));
        }
        make_current(&state, install)?;
        eprintln!(
            "Undoing {} {} (installed {})…",
            install.begin.product,
            install.begin.version,
            time_text(&install.begin.started_at.0)
        );
        undo_with(runner, &state, forwarded, install, version)?;
    }
    if let Some(target) = &way.target {
        make_current(&state, target)?;
    }
    eprintln!("{version} is installed again.");
    Ok(ExitStatus::Success)
}

/// The installer that undoes each install: this one for its own, else the kept copy, verified
/// now with the key that install trusted, so a missing or damaged copy stops the command before
/// anything changes.
fn installers_for(state: &StateDir, undo: &[JournalState]) -> Result<Vec<PathBuf>, ExitStatus> {
    let me = installer::open_self().map_err(|e| fail(&e, ExitStatus::Integrity))?;
    let my_id = session::installer_digest(&me);
    undo.iter()
        .map(|install| match install.begin.installer_id == my_id {
            true => Ok(me.path.clone()),
            false => kept_installer(state, install),
        })
        .collect()
}

fn kept_installer(state: &StateDir, install: &JournalState) -> Result<PathBuf, ExitStatus> {
    let name = format!("{} {}", install.begin.product, install.begin.version);
    let id = &install.begin.installer_id;
    let path = state
        .kept_installer(id)
        .filter(|p| p.is_file())
        .ok_or_else(|| {
            let place = state
                .kept_installer(id)
                .unwrap_or_else(|| state.installers());
            fail(
                &format!(
                    "the installer of {name} ({id}) is not kept at `{}`, so its rollback cannot \
                 run; nothing was changed\nhint: copy that installer there, or undo the newer \
                 installs first and then run its own `rollback`",
                    place.display()
                ),
                ExitStatus::Usage,
            )
        })?;
    let damaged = |why: String| {
        fail(
            &format!(
                "the kept installer of {name} `{}` cannot be used: {why}; nothing was changed\n\
                 hint: replace it with a copy of that installer",
                path.display()
            ),
            ExitStatus::Integrity,
        )
    };
    let file = InstallerFile::open(&path).map_err(|e| damaged(e.to_string()))?;
    let options = TrustOptions {
        trusted_key: install.begin.signer_key.clone(),
        ..TrustOptions::default()
    };
    let block = trust::SignatureBlock::parse(&file.signature, &file.path)
        .map_err(|e| damaged(e.to_string()))?;
    let signer = trust::choose_signer(
        &file.manifest,
        &block.key_id,
        &file.path,
        &options,
        &trust::pinned_keys().map_err(|e| damaged(e.to_string()))?,
        None,
    )
    .map_err(|e| damaged(e.to_string()))?;
    extract::verify(&file, &signer, &|_| {}).map_err(|e| damaged(e.to_string()))?;
    match session::installer_digest(&file) == *id {
        true => Ok(path),
        false => Err(damaged("it is another installer".to_string())),
    }
}

/// Ask before undoing (declining is exit 4); without a terminal `--yes` is needed (exit 2).
fn confirm(way: &WayBack, version: &str, yes: bool) -> Result<(), ExitStatus> {
    let installs: Vec<String> = way
        .undo
        .iter()
        .map(|i| {
            format!(
                "{} {} (installed {})",
                i.begin.product,
                i.begin.version,
                time_text(&i.begin.started_at.0)
            )
        })
        .collect();
    let what = format!(
        "`rollback --to {version}` undoes, newest first: {}; then {version} is installed",
        installs.join(", ")
    );
    if yes {
        return Ok(());
    }
    if !ui::interactive() {
        return Err(fail(
            &format!("{what}; nothing was changed: without a terminal to confirm on, pass --yes"),
            ExitStatus::Usage,
        ));
    }
    eprintln!("{what}.");
    match ui::confirm("Go on? [y/N] ") {
        true => Ok(()),
        false => {
            eprintln!("Nothing was changed.");
            Err(ExitStatus::Declined)
        }
    }
}

/// Make `install` the state directory's current install: the current journal, which must record
/// an install that was undone, goes to the history and `install`'s comes back from `kept/`.
fn make_current(state: &StateDir, install: &JournalState) -> Result<(), ExitStatus> {
    if install.path == state.journal() {
        return Ok(());
    }
    let lock = state.lock().map_err(|e| fail(&e, e.exit_status()))?;
    let journal_failed = |e: journal::JournalError| fail(&e, e.exit_status());
    if state.journal().exists() {
        let current = journal::read(&state.journal()).map_err(journal_failed)?;
        if current.outcome != Some(Outcome::RolledBack) {
            return Err(fail(
                &format!(
                    "the install of {} {} recorded in `{}` is not undone, so {} {} is not made \
                     current; run `rollback --to` again",
                    current.begin.product,
                    current.begin.version,
                    current.path.display(),
                    install.begin.product,
                    install.begin.version
                ),
                ExitStatus::RollbackIncomplete,
            ));
        }
        journal::shelve(state, &current.path, &current.begin, Shelf::History)
            .map_err(journal_failed)?;
    }
    journal::promote(state, &lock, install).map_err(journal_failed)?;
    checkpoint("install-made-current");
    Ok(())
}

/// Run `runner rollback --yes` on the current install (`install`); the walk back stops when it
/// does not end undone.
fn undo_with(
    runner: &PathBuf,
    state: &StateDir,
    forwarded: &[OsString],
    install: &JournalState,
    version: &str,
) -> Result<(), ExitStatus> {
    let mut command = Command::new(runner);
    command
        .arg("rollback")
        .arg("--yes")
        .arg("--state-dir")
        .arg(state.root())
        .args(forwarded);
    let name = format!("{} {}", install.begin.product, install.begin.version);
    let again = format!("run `rollback --to {version}` again to go on");
    let status = command.status().map_err(|e| {
        fail(
            &format!(
                "running `{}` to undo {name}: {e}; {again}",
                runner.display()
            ),
            ExitStatus::RollbackIncomplete,
        )
    })?;
    if !status.success() {
        let code = status
            .code()
            .map_or("a signal".to_string(), |c| c.to_string());
        return Err(fail(
            &format!(
                "undoing {name} ended with exit {code} (its messages above say what is left); \
                 the installs older than it are not undone; {again}"
            ),
            ExitStatus::RollbackIncomplete,
        ));
    }
    Ok(())
}
