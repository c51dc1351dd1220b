//! `rollback`: undo an install (finished or interrupted) from its journal, a deliberate act:
//! what it will undo is listed and asked for on a terminal, `--yes` without one. It verifies
//! this installer (trusting the key the install trusted) to run the steps' rollback scripts
//! newest first, then undoes every change, and rewrites the reports.

use crate::commands::{
    InstallInputs, Job, check_log_copy, fail, local_state_dir, prepare, rollback_run, sweep_scratch,
};
use crate::session::Session;
use crate::ui;
use dropship_runtime::engine::rollback_scripts_to_run;
use dropship_runtime::exit::ExitStatus;
use dropship_runtime::journal::{Journal, JournalState, Outcome};
use dropship_runtime::trust::TrustOptions;
use std::ffi::OsString;
use std::path::PathBuf;

/// Inputs of `rollback`.
#[derive(Debug, Clone, Default)]
pub struct RollbackInputs {
    pub state_dir: Option<PathBuf>,
    /// `--to VERSION`: undo every install newer than VERSION (module `rollback_to`).
    pub to: Option<String>,
    /// `--yes`: roll back without asking (needed without a terminal).
    pub yes: bool,
    pub no_progress: bool,
    /// `--log FILE`: a copy of the rollback's log.
    pub log: Option<PathBuf>,
    /// Which key to trust; by default the one the install trusted (journaled).
    pub trust: TrustOptions,
}

/// `rollback`: undo an install (finished or interrupted) from its journal: the rollback scripts
/// of the steps it started, newest first, then every change. A deliberate act: asked on a
/// terminal, `--yes` without one.
pub fn rollback_command(inputs: RollbackInputs) -> ExitStatus {
    sweep_scratch();
    if let Err(status) = check_log_copy(inputs.log.as_deref()) {
        return status;
    }
    ui::stop_at_once_until_changes();
    let result = match &inputs.to {
        Some(version) => {
            let dir = inputs.state_dir.as_deref();
            crate::rollback_to::rollback_to(dir, version, inputs.yes, &forwarded(&inputs))
        }
        None => rollback_inner(inputs),
    };
    match result {
        Ok(status) | Err(status) => status,
    }
}

/// The options of this `rollback --to` that each install's own `rollback` gets too.
fn forwarded(inputs: &RollbackInputs) -> Vec<OsString> {
    let mut options = Vec::new();
    if inputs.no_progress {
        options.push("--no-progress".into());
    }
    if let Some(log) = &inputs.log {
        options.extend(["--log".into(), log.clone().into_os_string()]);
    }
    options
}

fn rollback_inner(inputs: RollbackInputs) -> Result<ExitStatus, ExitStatus> {
    let state = local_state_dir(inputs.state_dir.as_deref())?;
    let (mut journal, previous) = Journal::open(&state).map_err(|e| fail(&e, e.exit_status()))?;
    let started = previous
        .steps
        .keys()
        .any(|&i| previous.started_in_install(i));
    let undone = previous.outcome == Some(Outcome::RolledBack);
    if undone || (previous.changes.is_empty() && !started) {
        eprintln!("Nothing to roll back in `{}`.", state.root().display());
        return Ok(ExitStatus::Success);
    }
    let interactive = ui::interactive();
    let mut install_inputs = InstallInputs {
        unattended: true,
        state_dir: inputs.state_dir.clone(),
        no_progress: inputs.no_progress,
        log: inputs.log.clone(),
        trust: trust_for_rollback(&inputs.trust, &previous),
        ..InstallInputs::default()
    };
    let (session, state) = prepare(&mut install_inputs, interactive)?;
    previous
        .check_installer(&session.installer_digest)
        .map_err(|e| fail(&e, e.exit_status()))?;
    confirm_rollback(&session, &previous, inputs.yes, interactive)?;
    let run = rollback_run(
        &session,
        &state,
        previous.begin.roles.clone(),
        &install_inputs,
        interactive && !inputs.yes,
    );
    Ok(run.execute(&mut journal, Job::RollBack(&previous)))
}

/// The key `rollback` trusts: the one given, else the one the install trusted.
fn trust_for_rollback(given: &TrustOptions, previous: &JournalState) -> TrustOptions {
    let any_given =
        given.trusted_key.is_some() || given.trusted_key_file.is_some() || given.trust_embedded_key;
    match (&previous.begin.signer_key, any_given) {
        (Some(key), false) => TrustOptions {
            trusted_key: Some(key.clone()),
            ..TrustOptions::default()
        },
        _ => given.clone(),
    }
}

/// What the rollback will undo, confirmed: asked on a terminal (declining is exit 4),
/// `--yes` without one (missing, exit 2); nothing is changed unless confirmed.
fn confirm_rollback(
    session: &Session,
    previous: &JournalState,
    yes: bool,
    interactive: bool,
) -> Result<(), ExitStatus> {
    let steps = session.plan.steps();
    let started: Vec<&str> = previous
        .steps
        .iter()
        .filter(|(i, _)| previous.started_in_install(**i))
        .map(|(_, step)| step.name.as_str())
        .collect();
    let scripts: Vec<&str> = rollback_scripts_to_run(&session.plan, previous)
        .into_iter()
        .map(|i| steps[i].common().name)
        .collect();
    let what = ui::RollbackPlan {
        steps: &started,
        changes: previous.changes.len(),
        scripts: &scripts,
    };
    if yes {
        return Ok(());
    }
    if !interactive {
        eprintln!(
            "error: `rollback` undoes the install in `{}` ({}); nothing was changed: without a \
             terminal to confirm on, pass --yes",
            previous.path.parent().unwrap_or(&previous.path).display(),
            what.summary()
        );
        return Err(ExitStatus::Usage);
    }
    if ui::confirm_rollback(&what) {
        return Ok(());
    }
    eprintln!("Nothing was changed.");
    Err(ExitStatus::Declined)
}
