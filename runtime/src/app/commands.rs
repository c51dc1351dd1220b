//! What each installer command does, end to end: `install` (guided or unattended), `plan` (dry
//! run), `resume` and `report`; `rollback` is in its own module and runs the engine from here. The binary parses arguments and calls these; each
//! returns the process's exit status and has already told the operator why.

use crate::session::Session;
use crate::ui::{self, Console};
use crate::{facts, installer, live, preview};
use dropship_runtime::answers::AnswerChanges;
use dropship_runtime::answers::{self, AnswerSources, Answers};
use dropship_runtime::engine::{Engine, RunOptions, RunResult, UNRECORDED_UNDO, time_text};
use dropship_runtime::escape;
use dropship_runtime::events::Events;
use dropship_runtime::exit::ExitStatus;
use dropship_runtime::installed::{Installed, InstalledPackage, Mode, Upgrade};
use dropship_runtime::journal::{Begin, Journal, JournalState, JournaledRun, Record, Timestamp};
use dropship_runtime::report::{
    self, Attempt, LaterRollback, Report, ReportOutcome, RunFacts, StepOutcome, UpgradeReport,
};
use dropship_runtime::retention;
use dropship_runtime::rollback;
use dropship_runtime::scratch;
use dropship_runtime::script;
use dropship_runtime::secret::Scrubber;
use dropship_runtime::secret_verifier;
use dropship_runtime::state_dir::{self, StateDir};
use dropship_runtime::steps::preflight;
use dropship_runtime::trust::TrustOptions;
use dropship_runtime::variables::Output;
use std::path::{Path, PathBuf};

/// Inputs shared by `install`, `plan` and `resume`.
#[derive(Debug, Clone, Default)]
pub struct InstallInputs {
    pub unattended: bool,
    pub sources: AnswerSources,
    /// `--secrets-stdin`: read a JSON object of secrets from stdin.
    pub secrets_stdin: bool,
    pub roles: Vec<String>,
    pub approvals: Vec<String>,
    pub state_dir: Option<PathBuf>,
    pub no_rollback: bool,
    pub no_progress: bool,
    pub save_answers: Option<PathBuf>,
    pub trust: TrustOptions,
    /// `--reinstall`: install the version that is installed again without asking.
    pub reinstall: bool,
    /// `--allow-downgrade`: install over a newer version.
    pub allow_downgrade: bool,
    /// `--log FILE`: a copy of the install's log.
    pub log: Option<PathBuf>,
    /// `--keep N`: how many installs stay undoable (default `retention::DEFAULT_KEEP`).
    pub keep: Option<u32>,
}

pub(crate) fn fail(error: &dyn std::fmt::Display, status: ExitStatus) -> ExitStatus {
    eprintln!("error: {error}");
    status
}

/// Open this installer, establish trust, verify and unpack it.
fn open_session(inputs: &InstallInputs, interactive: bool) -> Result<Session, ExitStatus> {
    let file = installer::open_self().map_err(|e| fail(&e, ExitStatus::Integrity))?;
    let signer = installer::establish_trust(&file, &inputs.trust, interactive)
        .map_err(|e| fail(&e, e.exit_status()))?;
    let total = file.manifest.payload.bytes;
    let progress = live::byte_progress("verifying and unpacking", total, inputs.no_progress);
    let session =
        Session::open(file, signer, &|n| progress.set(n)).map_err(|e| fail(&e, e.exit_status()))?;
    progress.finish();
    Ok(session)
}

fn read_secrets_stdin(inputs: &mut InstallInputs) -> Result<(), ExitStatus> {
    if inputs.secrets_stdin {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text).map_err(|e| {
            fail(
                &format!("--secrets-stdin: reading stdin: {e}"),
                ExitStatus::Usage,
            )
        })?;
        inputs.sources.secrets_json = Some(text);
    }
    Ok(())
}

/// The roles for this run: given, else the profile's, else asked (guided), else all declared.
fn choose_roles(
    session: &Session,
    inputs: &InstallInputs,
    guided: bool,
) -> Result<Vec<String>, ExitStatus> {
    let declared = &session.plan.document().roles;
    let mut roles = session.default_roles(&inputs.roles);
    if roles.is_empty()
        && let Some(installed) = &session.upgrade.installed
    {
        // An upgrade serves the roles the installed version does (those still declared).
        roles = installed
            .roles
            .iter()
            .filter(|r| declared.iter().any(|d| d.eq_ignore_ascii_case(r)))
            .cloned()
            .collect();
    }
    for role in &roles {
        if !declared.iter().any(|d| d.eq_ignore_ascii_case(role)) {
            return Err(fail(
                &format!(
                    "--role `{role}` is not one of this installer's roles ({})",
                    declared.join(", ")
                ),
                ExitStatus::Usage,
            ));
        }
    }
    if !roles.is_empty() || declared.is_empty() {
        return Ok(roles);
    }
    if guided {
        return ui::ask_roles(declared).ok_or(ExitStatus::Declined);
    }
    Ok(declared.clone())
}

/// Collect the answers: guided prompts, or the unattended sources (strict).
fn collect_answers(
    session: &Session,
    inputs: &InstallInputs,
    roles: &[String],
    guided: bool,
) -> Result<Answers, ExitStatus> {
    if guided {
        let kept = session.upgrade.kept_answers();
        return ui::ask_answers(&session.plan, roles, kept.as_ref()).ok_or(ExitStatus::Declined);
    }
    // Every variable an answer is read from is kept from the scripts: it may carry a secret.
    let consulted = std::cell::RefCell::new(Vec::new());
    let env = |name: &str| {
        consulted.borrow_mut().push(name.to_string());
        std::env::var(name).ok()
    };
    let answers = answers::unattended(&session.plan, roles, &inputs.sources, &env);
    script::withhold_from_scripts(consulted.into_inner());
    answers.map_err(|e| {
        eprintln!("error: the answers are not valid:");
        for line in e.0.lines() {
            eprintln!("  {line}");
        }
        ExitStatus::Usage
    })
}

/// The checks `install` and the dry run both make before anything starts (exit 2, each
/// problem named, scrubbed).
fn preflight(session: &Session, roles: &[String], answers: &Answers) -> Result<(), ExitStatus> {
    let base = session.base_variables(answers);
    let checked = preflight::check_plan(&session.plan, &base, &session.drop_root(), roles);
    checked.map_err(|problems| {
        let mut scrubber = Scrubber::new();
        base.register_secrets(answers, &mut scrubber);
        eprintln!("error: the install cannot start; nothing was started:");
        for problem in problems {
            eprintln!("  {}", scrubber.scrub(&problem));
        }
        ExitStatus::Usage
    })
}

fn save_answers(path: &Path, answers: &Answers) -> Result<(), ExitStatus> {
    let json = serde_json::to_string_pretty(&answers.without_secrets()).unwrap_or_default();
    std::fs::write(path, json + "\n").map_err(|e| {
        fail(
            &format!("writing answers `{}`: {e}", path.display()),
            ExitStatus::Failure,
        )
    })
}

/// Remove the scratch directories a killed installer left behind (one may hold a rendered
/// script with a secret); what cannot be removed is said, and does not stop this run.
pub(crate) fn sweep_scratch() {
    for (path, e) in scratch::sweep_stale() {
        eprintln!(
            "warning: removing `{}`, left by an installer that was stopped: {e}; remove it by hand",
            path.display()
        );
    }
}

/// Run a command that installs: guided when a person is at a terminal and did not ask for an
/// unattended run; the error path has already told the operator why.
fn installing(
    mut inputs: InstallInputs,
    command: fn(&mut InstallInputs, bool) -> Result<ExitStatus, ExitStatus>,
) -> ExitStatus {
    sweep_scratch();
    if let Err(status) = check_log_copy(inputs.log.as_deref()) {
        return status;
    }
    ui::stop_at_once_until_changes();
    let guided = !inputs.unattended && ui::interactive();
    match command(&mut inputs, guided) {
        Ok(status) | Err(status) => status,
    }
}

/// Refuse a `--log` copy at a link before anything starts (it is opened refusing one too, but
/// the operator hears of it now, not as a warning once the install runs).
pub(crate) fn check_log_copy(log: Option<&Path>) -> Result<(), ExitStatus> {
    let Some(log) = log else {
        return Ok(());
    };
    let why = match std::fs::symlink_metadata(log) {
        Ok(meta) if meta.file_type().is_symlink() => {
            "is a link; the log is not written through a link (it could point at any file of \
             the user the installer runs as)\nhint: name a new file, or remove the link"
        }
        Ok(meta) if !meta.is_file() => "is not a file\nhint: name a file to create or append to",
        _ => return Ok(()),
    };
    Err(fail(
        &format!("--log `{}` {why}", log.display()),
        ExitStatus::Usage,
    ))
}

/// Secrets from stdin when asked, then the verified session and its state directory.
pub(crate) fn prepare(
    inputs: &mut InstallInputs,
    guided: bool,
) -> Result<(Session, StateDir), ExitStatus> {
    read_secrets_stdin(inputs)?;
    let session = open_session(inputs, guided)?;
    let state = StateDir::resolve(&session.plan.product().name, inputs.state_dir.as_deref());
    Ok((session, state))
}

/// [`prepare`], then this installer compared with what is installed, whose answers become the
/// lowest source of this run's. A dry run that cannot read the installed state (not root, a
/// state directory it may not trust) says so and shows a fresh install; an install stops.
fn prepare_install(
    inputs: &mut InstallInputs,
    guided: bool,
    ask: Ask,
) -> Result<(Session, StateDir), ExitStatus> {
    let (mut session, state) = prepare(inputs, guided)?;
    session.upgrade = match compare_installed(&session, &state) {
        Ok(upgrade) => upgrade,
        Err(why) if ask == Ask::DryRun => {
            eprintln!("warning: {why}; the dry run shows a fresh install");
            Upgrade::fresh(&session.plan)
        }
        Err(why) => return Err(fail(&why, why.exit_status)),
    };
    inputs.sources.kept = session.upgrade.kept_answers();
    Ok((session, state))
}

/// Who decides what [`check_mode`] cannot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ask {
    /// The operator at the terminal.
    Guided,
    /// Nobody: refuse what the options did not allow.
    Unattended,
    /// Nothing will change: a reinstall is only shown.
    DryRun,
}

impl Ask {
    fn of(guided: bool) -> Self {
        if guided { Ask::Guided } else { Ask::Unattended }
    }
}

/// Why the installed state could not be compared with this installer.
struct NotCompared {
    message: String,
    exit_status: ExitStatus,
}

impl std::fmt::Display for NotCompared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// This installer against what the state directory records as installed. The record steers
/// the answers, so it is read only from a state directory no other user can write.
fn compare_installed(session: &Session, state: &StateDir) -> Result<Upgrade, NotCompared> {
    let not = |message: String, exit_status| NotCompared {
        message,
        exit_status,
    };
    if state.root().exists() {
        state
            .check_trusted()
            .map_err(|e| not(e.to_string(), e.exit_status()))?;
    }
    let installed = state
        .load_installed()
        .map_err(|e| not(e.to_string(), ExitStatus::Failure))?;
    Upgrade::compare(&session.plan, installed).map_err(|e| not(e.to_string(), ExitStatus::Usage))
}

/// Refuse what the operator did not ask for: a downgrade without `--allow-downgrade`, an
/// upgrade from a version the plan does not accept, the same version again without
/// `--reinstall` (a guided run asks instead; a dry run only shows it).
fn check_mode(session: &Session, inputs: &InstallInputs, ask: Ask) -> Result<(), ExitStatus> {
    let upgrade = &session.upgrade;
    let installed = upgrade.from_version().unwrap_or_default();
    let to = &upgrade.to;
    let refuse = |message: String| Err(fail(&message, ExitStatus::Usage));
    match upgrade.mode {
        Mode::Fresh | Mode::Upgrade => Ok(()),
        Mode::Downgrade if inputs.allow_downgrade => Ok(()),
        Mode::Downgrade => refuse(format!(
            "{installed} is installed, newer than this installer's {to}: a downgrade is \
             refused\nhint: to go back to the version before the last install, run `rollback`; \
             to install {to} over {installed} anyway, pass --allow-downgrade"
        )),
        Mode::Unsupported => refuse(format!(
            "this installer upgrades only from versions `{}`, and {installed} is installed\n\
             hint: install a version that upgrades from {installed} first",
            upgrade.accepts.as_deref().unwrap_or_default()
        )),
        Mode::Reinstall if inputs.reinstall || ask == Ask::DryRun => Ok(()),
        Mode::Reinstall if ask == Ask::Guided => match ui::confirm(&format!(
            "{to} is already installed. Install it again? [y/N] "
        )) {
            true => Ok(()),
            false => {
                eprintln!("Nothing was changed.");
                Err(ExitStatus::Declined)
            }
        },
        Mode::Reinstall => refuse(format!(
            "{to} is already installed\nhint: pass --reinstall to install it again"
        )),
    }
}

/// `install`, and the guided flow when the installer runs with no command on a terminal.
pub fn install(inputs: InstallInputs) -> ExitStatus {
    installing(inputs, install_inner)
}

fn install_inner(inputs: &mut InstallInputs, guided: bool) -> Result<ExitStatus, ExitStatus> {
    let (session, state) = prepare_install(inputs, guided, Ask::of(guided))?;
    if guided {
        ui::banner(&session, state.root());
    }
    check_mode(&session, inputs, Ask::of(guided))?;
    let roles = choose_roles(&session, inputs, guided)?;
    let mut answers = collect_answers(&session, inputs, &roles, guided)?;
    loop {
        preflight(&session, &roles, &answers)?;
        if !guided {
            break;
        }
        match ui::confirm_summary(&session, &roles, &mut answers) {
            ui::Decision::Install => break,
            ui::Decision::Changed => continue,
            ui::Decision::Decline => {
                eprintln!("Nothing was changed.");
                return Err(ExitStatus::Declined);
            }
        }
    }
    if let Some(path) = &inputs.save_answers {
        save_answers(path, &answers)?;
    }
    let begin = Begin {
        installer_id: session.installer_digest.clone(),
        product: session.plan.product().name.clone(),
        version: session.plan.product().version.clone(),
        customer: session.profile.as_ref().map(|p| p.name.clone()),
        started_at: Timestamp::now(),
        roles: roles.clone(),
        signer_key: Some(session.signer.key.base64.clone()),
        installed_before: session.upgrade.installed.clone().map(Box::new),
        keep: inputs.keep,
        sequence: 0,
    };
    ui::changes_begin();
    let mut journal =
        rollback::begin_install(&state, begin).map_err(|e| fail(&e, e.exit_status()))?;
    state
        .save_answers(&answers.without_secrets())
        .map_err(|e| fail(&e, ExitStatus::Failure))?;
    let verifiers =
        secret_verifier::verifiers(&answers).map_err(|e| fail(&e, ExitStatus::Failure))?;
    state
        .save_secret_verifiers(&verifiers)
        .map_err(|e| fail(&e, ExitStatus::Failure))?;
    let run = RunContext {
        session: &session,
        state: &state,
        roles,
        answers,
        inputs,
        guided,
    };
    let job = Job::Install {
        previous: None,
        outputs: Vec::new(),
    };
    Ok(run.execute(&mut journal, job))
}

/// The screen, the state directory's log and the copy `--log` asks for, for a run.
fn console(state: &StateDir, inputs: &InstallInputs, scrubber: Scrubber) -> Console {
    let copy = inputs.log.as_deref().map(state_dir::open_log_file);
    let logs = [Some(state.open_log()), copy]
        .into_iter()
        .flatten()
        .filter_map(|log| {
            log.map_err(|e| eprintln!("warning: {e}; the install goes on without that log"))
                .ok()
        })
        .collect();
    Console::new(logs, inputs.no_progress, scrubber)
}

/// What a run of the engine does.
pub(crate) enum Job<'p> {
    /// Install, or resume the install `previous` records.
    Install {
        previous: Option<&'p JournalState>,
        outputs: Vec<Output>,
    },
    /// Undo the install the journal records: `rollback`, or finishing an interrupted rollback.
    RollBack(&'p JournalState),
}

/// One run of the engine with everything it needs.
pub(crate) struct RunContext<'a> {
    session: &'a Session,
    state: &'a StateDir,
    roles: Vec<String>,
    answers: Answers,
    inputs: &'a InstallInputs,
    guided: bool,
}

impl RunContext<'_> {
    pub(crate) fn execute(self, journal: &mut Journal, job: Job<'_>) -> ExitStatus {
        let started = Timestamp::now();
        let clock = std::time::Instant::now();
        let base = self.session.base_variables(&self.answers);
        let scrubber = self.scrubber();
        let options = RunOptions {
            roles: self.roles.clone(),
            approvals: self.inputs.approvals.clone(),
            no_rollback: self.inputs.no_rollback,
            interactive: self.guided,
        };
        ui::changes_begin();
        let cancel = ui::cancel_flag();
        // A long template evaluation (a script body, a substituted file) stops on the signal too.
        dropship_runtime::template::cancel_on(cancel);
        let mut console = console(self.state, self.inputs, scrubber.clone());
        let facts = self.log_header(&mut console, &job, &started, &scrubber);
        if matches!(job, Job::Install { .. }) {
            let product = &self.session.plan.product().name;
            console.headline(&self.session.upgrade.headline(product));
        }
        let drop_root = self.session.drop_root();
        let mut engine = Engine::new(
            &self.session.plan,
            &drop_root,
            base,
            &options,
            scrubber,
            &mut console,
            cancel,
        );
        engine.stop = ui::stop_flag();
        let (result, report) = match job {
            Job::Install { previous, outputs } => {
                engine.outputs = outputs;
                let result = engine.run(journal, previous);
                let mut report = self.report(&result, previous.is_some(), started, clock.elapsed());
                report.facts = Some(facts);
                if let Some(state) = previous {
                    self.keep_earlier_output(&mut report, state);
                }
                if result.outcome == ReportOutcome::Succeeded {
                    self.record_installed(&report, &result);
                    self.retain(journal, previous, &mut report);
                }
                report.attempts = journaled_runs(previous);
                report.attempts.push(Attempt {
                    kind: run_kind(report.resumed),
                    started_at: report.started_at.clone(),
                    outcome: report.outcome.describe().to_string(),
                });
                (result, report)
            }
            Job::RollBack(state) => {
                let result = engine.roll_back(journal, state);
                if result.outcome == ReportOutcome::RolledBack
                    && let Err(e) = self
                        .state
                        .restore_installed(state.begin.installed_before.as_deref())
                {
                    eprintln!(
                        "warning: the installed state could not be put back: {e}; fix the \
                         cause and run `rollback` again, or remove `installed.json` from the \
                         state directory (the next installer then installs as if nothing were \
                         installed)"
                    );
                }
                let mut report = self.rollback_report(&result, state, started, clock.elapsed());
                report.facts = Some(facts);
                (result, report)
            }
        };
        if let Err(e) = self.state.write_reports(&report) {
            eprintln!("warning: writing the report: {e}");
        }
        console.outcome(&report, self.state.root());
        let journaled = result.journal_errors.is_empty();
        let status = unless_unjournaled(exit_status(report.outcome), journaled);
        if !journaled {
            console.note("the journal does not hold all of this install: see the warnings above");
        }
        status
    }

    /// The log's header of this run: what runs when, what it installs and where, from what
    /// and how; returns those facts for the report.
    fn log_header(
        &self,
        console: &mut Console,
        job: &Job<'_>,
        started: &Timestamp,
        scrubber: &Scrubber,
    ) -> RunFacts {
        let facts = facts::run_facts(self.session, self.state, self.guided, scrubber);
        let what = match job {
            Job::Install { previous: None, .. } => "install",
            Job::Install { .. } => "resume",
            Job::RollBack(_) => "rollback",
        };
        let utc = time_text(&started.0);
        let when = report::shown_time(&utc, Some(&facts.host.utc_offset));
        console.header(&format!("{what} {when}"), &self.header_lines(&facts));
        facts
    }

    /// What the run installs and where, from what and how it runs, for the log's header.
    fn header_lines(&self, facts: &RunFacts) -> Vec<(&'static str, String)> {
        let m = &self.session.file.manifest;
        let vendor = m.product.vendor.as_deref().map(|v| format!(" from {v}"));
        let mut lines = vec![
            (
                "product",
                format!(
                    "{} {}{}",
                    m.product.name,
                    m.product.version,
                    vendor.unwrap_or_default()
                ),
            ),
            ("customer", m.customer.clone().unwrap_or_else(|| "-".into())),
            ("id", self.session.installer_digest.clone()),
        ];
        lines.extend(facts.lines());
        lines
    }

    /// Knows every secret answer.
    fn scrubber(&self) -> Scrubber {
        let mut scrubber = Scrubber::new();
        self.session
            .base_variables(&self.answers)
            .register_secrets(&self.answers, &mut scrubber);
        scrubber
    }

    fn report(
        &self,
        result: &RunResult,
        resumed: bool,
        started: Timestamp,
        elapsed: std::time::Duration,
    ) -> Report {
        let m = &self.session.file.manifest;
        Report {
            outcome: result.outcome,
            resumed,
            product: m.product.name.clone(),
            version: m.product.version.clone(),
            vendor: m.product.vendor.clone(),
            customer: m.customer.clone(),
            installer_digest: self.session.installer_digest.clone(),
            payload_digest: m.payload.digest.clone(),
            signer_key_id: self.session.signer.key.key_id.clone(),
            roles: self.roles.clone(),
            answers: self.answers.without_secrets(),
            started_at: time_text(&started.0),
            finished_at: dropship_runtime::engine::now_text(),
            duration_s: elapsed.as_secs_f64(),
            steps: result.steps.clone(),
            rollback: result.rollback.clone(),
            attempts: Vec::new(),
            later_rollback: None,
            warnings: result.warnings.clone(),
            upgrade: Some(self.upgrade_report()),
            facts: None,
        }
    }

    /// What this install followed, how its answers relate to the installed version's, and
    /// the command that goes back.
    fn upgrade_report(&self) -> UpgradeReport {
        let upgrade = &self.session.upgrade;
        let parameters = answers::active_parameters(&self.session.plan, &self.roles);
        let answers = upgrade
            .kept_answers()
            .map(|kept| AnswerChanges::between(&kept, &parameters, &self.answers));
        let installer = std::env::current_exe().unwrap_or_default();
        let back = upgrade.from_version().map(|from| {
            format!(
                "{} rollback --to {} --state-dir {}",
                escape::shell_word(&installer.to_string_lossy()),
                escape::shell_word(from),
                escape::shell_word(&self.state.root().to_string_lossy()),
            )
        });
        UpgradeReport {
            mode: upgrade.mode.name().to_string(),
            from: upgrade.from_version().map(str::to_string),
            to: upgrade.to.clone(),
            headline: upgrade.headline(&self.session.plan.product().name),
            answers,
            back,
            retention: Vec::new(),
        }
    }

    /// After a successful install: keep a copy of this installer for a later `rollback --to`
    /// (when more than this install stays undoable), then make final the installs beyond
    /// `--keep` (this run's, else the one the install began with); the report lists them.
    fn retain(&self, journal: &Journal, previous: Option<&JournalState>, report: &mut Report) {
        let keep = self
            .inputs
            .keep
            .or(previous.and_then(|p| p.begin.keep))
            .unwrap_or(retention::DEFAULT_KEEP);
        let installer = &self.session.installer_digest;
        let mut warnings = Vec::new();
        if keep > 1
            && let Err(e) = self
                .state
                .keep_installer(&self.session.file.path, installer)
        {
            warnings.push(format!(
                "{e}; `rollback --to` past this install will need this installer's own \
                 `rollback` run by hand"
            ));
        }
        let retention = retention::apply(self.state, journal.lock(), keep, installer);
        warnings.extend(retention.warnings);
        for warning in &warnings {
            eprintln!("warning: {warning}");
        }
        report.warnings.extend(warnings);
        if let Some(upgrade) = &mut report.upgrade {
            upgrade.retention = retention.retired;
        }
    }

    /// After a successful install: what is now installed, for the next installer.
    /// The run's scrubber learns the sensitive variables of every step (a resumed run did not
    /// meet those of the steps done before), so that no base copy of a settings file holds a
    /// secret.
    fn record_installed(&self, report: &Report, result: &RunResult) {
        let mut scrubber = result.scrubber.clone();
        let base = self.session.base_variables(&self.answers);
        let drop_root = self.session.drop_root();
        for step in self.session.plan.steps() {
            if let Ok(vars) = base.for_step(step, &drop_root, &[], &[]) {
                vars.register_sensitive(&mut scrubber);
            }
        }
        // The outputs that may reach disk: the packages' paths.
        let outputs = &result.kept_outputs;
        let succeeded = |name: &str| {
            report
                .steps
                .iter()
                .any(|s| s.name == name && s.status == StepOutcome::Succeeded)
        };
        let extracted_to = |step: &str| {
            outputs
                .iter()
                .find(|o| {
                    o.step == step && o.name == "Octopus.Action.Package.InstallationDirectoryPath"
                })
                .map(|o| o.value.clone())
        };
        let installed = Installed {
            product: report.product.clone(),
            version: report.version.clone(),
            customer: report.customer.clone(),
            installer_id: report.installer_digest.clone(),
            signer_key_id: report.signer_key_id.clone(),
            installed_at: report.finished_at.clone(),
            roles: self.roles.clone(),
            answers: self.answers.without_secrets(),
            packages: InstalledPackage::of_plan(
                &self.session.plan,
                succeeded,
                extracted_to,
                &scrubber,
                &result.rendered,
            ),
        };
        if let Err(e) = self.state.save_installed(&installed) {
            eprintln!(
                "warning: recording what is installed: {e}; the next installer will not see \
                 this install (it installs as if nothing were installed)"
            );
        }
    }

    /// The report an earlier run of the install `state` journals wrote; `None` when it wrote
    /// none (it was killed) or the report is another install's.
    fn own_report(&self, state: &JournalState) -> Option<Report> {
        let begun = time_text(&state.begin.started_at.0);
        let own = self.state.read_report().ok()?;
        (own.installer_digest == self.session.installer_digest && own.started_at >= begun)
            .then_some(own)
    }

    /// On `resume`: what the steps done before printed and kept, from the report of the run
    /// that did them, when it wrote one.
    fn keep_earlier_output(&self, report: &mut Report, state: &JournalState) {
        let Some(earlier) = self.own_report(state) else {
            return;
        };
        for (step, before) in report.steps.iter_mut().zip(earlier.steps) {
            if step.name == before.name && step.output_tail.is_empty() && step.artifacts.is_empty()
            {
                step.output_tail = before.output_tail;
                step.artifacts = before.artifacts;
            }
        }
    }

    /// The report of a rollback: the install's own report (its steps and runs) with the
    /// rollback as its own section and its outcome, or a new one when the install wrote none
    /// (it was killed).
    fn rollback_report(
        &self,
        result: &RunResult,
        state: &JournalState,
        started: Timestamp,
        elapsed: std::time::Duration,
    ) -> Report {
        let mut report = match self.own_report(state) {
            Some(own) => own,
            None => {
                let mut report = self.report(result, state.runs.len() > 1, started, elapsed);
                report.attempts = journaled_runs(Some(state));
                report.rollback = None;
                report
            }
        };
        report.outcome = result.outcome;
        report.later_rollback = Some(LaterRollback {
            started_at: time_text(&started.0),
            finished_at: dropship_runtime::engine::now_text(),
            outcome: result.outcome,
            summary: result.rollback.clone().unwrap_or_default(),
        });
        report
    }
}

/// The runs on the install the journal records before this one, each interrupted (the last
/// where the journal ends).
fn journaled_runs(previous: Option<&JournalState>) -> Vec<Attempt> {
    let Some(state) = previous else {
        return Vec::new();
    };
    let attempt = |run: &JournaledRun| Attempt {
        kind: run_kind(run.resumed),
        started_at: time_text(&run.started.0),
        outcome: run
            .stopped_at
            .clone()
            .unwrap_or_else(|| state.where_stopped()),
    };
    state.runs.iter().map(attempt).collect()
}

fn run_kind(resumed: bool) -> String {
    if resumed { "resume" } else { "install" }.to_string()
}

/// The exit status for an install outcome.
pub fn exit_status(outcome: ReportOutcome) -> ExitStatus {
    match outcome {
        ReportOutcome::Succeeded => ExitStatus::Success,
        ReportOutcome::FailedRolledBack | ReportOutcome::FailedNotRolledBack => {
            ExitStatus::RolledBack
        }
        ReportOutcome::FailedRollbackIncomplete | ReportOutcome::RollbackIncomplete => {
            ExitStatus::RollbackIncomplete
        }
        ReportOutcome::Declined => ExitStatus::Declined,
        ReportOutcome::RolledBack => ExitStatus::Success,
    }
}

/// `resume`: continue an interrupted install from its journal (secrets are asked again).
pub fn resume(inputs: InstallInputs) -> ExitStatus {
    installing(inputs, resume_inner)
}

fn resume_inner(inputs: &mut InstallInputs, guided: bool) -> Result<ExitStatus, ExitStatus> {
    let (session, state) = prepare_install(inputs, guided, Ask::of(guided))?;
    let (mut journal, mut previous) =
        Journal::open(&state).map_err(|e| fail(&e, e.exit_status()))?;
    for left in rollback::sweep_temporaries(&previous.changes) {
        eprintln!("warning: {left}; remove it by hand (it may hold a rendered secret)");
    }
    previous
        .check_installer(&session.installer_digest)
        .map_err(|e| fail(&e, e.exit_status()))?;
    if let Some(outcome) = previous.outcome {
        eprintln!(
            "The install in `{}` already ended ({outcome:?}); there is nothing to resume.",
            state.root().display()
        );
        return Ok(ExitStatus::Success);
    }
    let roles = previous.begin.roles.clone();
    if previous.rollback_in_progress {
        eprintln!("A rollback was interrupted; finishing it.");
        let run = rollback_run(&session, &state, roles, inputs, false);
        return Ok(match run.execute(&mut journal, Job::RollBack(&previous)) {
            ExitStatus::Success => ExitStatus::RolledBack,
            status => status,
        });
    }
    let answers = resume_answers(&session, &state, inputs, &roles, guided)?;
    let mut scrubber = Scrubber::new();
    session
        .base_variables(&answers)
        .register_secrets(&answers, &mut scrubber);
    let mut console = console(&state, inputs, scrubber);
    // Restoring the interrupted step changes the target: from here a Ctrl-C cancels.
    ui::changes_begin();
    restore_interrupted_step(&mut journal, &mut previous, &mut console)?;
    let resumed = Record::Resumed {
        at: Timestamp::now(),
    };
    let journaled = journal
        .append(resumed)
        .inspect_err(|e| {
            journal_warning(&format!(
                "that the install was resumed ({e}): only its history lacks it"
            ))
        })
        .is_ok();
    let run = RunContext {
        session: &session,
        state: &state,
        roles,
        answers,
        inputs,
        guided,
    };
    let outputs = previous
        .outputs
        .iter()
        .map(|kept| Output {
            step: kept.step.clone(),
            name: kept.name.clone(),
            value: kept.value.clone(),
            sensitive: false,
        })
        .collect();
    let job = Job::Install {
        previous: Some(&previous),
        outputs,
    };
    let status = run.execute(&mut journal, job);
    Ok(unless_unjournaled(status, journaled))
}

/// The answers of a resumed install: the saved ones, the secrets asked again (guided) or given
/// again, each the same as the install used (its verifier says so).
fn resume_answers(
    session: &Session,
    state: &StateDir,
    inputs: &mut InstallInputs,
    roles: &[String],
    guided: bool,
) -> Result<Answers, ExitStatus> {
    let saved = state.answers();
    if saved.is_file() && inputs.sources.answers_file.is_none() {
        inputs.sources.answers_file = Some(saved);
    }
    if guided && inputs.sources.secret_files.is_empty() && inputs.sources.secrets_json.is_none() {
        eprintln!(
            "Resuming the install in `{}`: secrets are never stored, so they are asked again.",
            state.root().display()
        );
        inputs.sources.typed_secrets =
            ui::ask_secrets(&session.plan, roles).ok_or(ExitStatus::Declined)?;
    }
    let answers = collect_answers(session, inputs, roles, false)?;
    let verifiers = state
        .load_secret_verifiers()
        .map_err(|e| fail(&e, ExitStatus::Failure))?;
    let differing = secret_verifier::differing(&answers, &verifiers);
    if !differing.is_empty() {
        return Err(fail(
            &format!(
                "the secret(s) {} differ from the one(s) the interrupted install used, which \
                 its steps may already have written; resume with the same secrets, or run \
                 `rollback` and then install again with the new ones",
                differing.join(", ")
            ),
            ExitStatus::Usage,
        ));
    }
    Ok(answers)
}

/// Before `resume` runs the interrupted step again: undo what the journal recorded for it
/// (restore its snapshots, remove what it created), so it runs from clean, not on top of its
/// partial effects.
fn restore_interrupted_step(
    journal: &mut Journal,
    previous: &mut JournalState,
    console: &mut Console,
) -> Result<(), ExitStatus> {
    let index = previous.resume_from();
    let changes = previous.changes_of_step(index);
    let Some(step) = previous.steps.get(&index).filter(|_| !changes.is_empty()) else {
        return Ok(());
    };
    let name = step.name.clone();
    console.note(&format!(
        "step `{name}` was interrupted: restoring the {} change(s) it made, so that it runs \
         again from clean",
        changes.len()
    ));
    let restored = rollback::restore_step(journal, &changes);
    if let Some(e) = &restored.journal_error {
        journal_warning(&format!("the restore's progress ({e}): {UNRECORDED_UNDO}"));
    }
    previous
        .changes
        .retain(|change| !restored.undone.iter().any(|u| u.id() == change.id()));
    if restored.is_complete() {
        return Ok(());
    }
    for (change, why) in &restored.failed {
        console.note(&format!("NOT restored: {}: {why}", change.path().display()));
    }
    Err(fail(
        &format!(
            "step `{name}` could not be restored, so it is not run again on top of what it \
             left; fix the cause and run `resume` again, or undo everything with `rollback`"
        ),
        ExitStatus::Failure,
    ))
}

/// A command that did what was asked but could not journal all of it ends with status 1; the
/// warnings said what is missing and what to do.
fn unless_unjournaled(status: ExitStatus, journaled: bool) -> ExitStatus {
    match status {
        ExitStatus::Success if !journaled => ExitStatus::Failure,
        status => status,
    }
}

fn journal_warning(detail: &str) {
    eprintln!("warning: the journal could not record {detail}");
}

/// The engine run that undoes the install: its saved answers (secrets are not stored, so the
/// rollback scripts run without them).
/// `guided`: the operator confirmed the rollback at a terminal (the report says so).
pub(crate) fn rollback_run<'a>(
    session: &'a Session,
    state: &'a StateDir,
    roles: Vec<String>,
    inputs: &'a InstallInputs,
    guided: bool,
) -> RunContext<'a> {
    let mut answers = Answers::default();
    if let Ok(saved) = std::fs::read_to_string(state.answers())
        && let Ok(saved) =
            serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&saved)
    {
        for (name, value) in saved {
            let text = value
                .as_str()
                .map_or_else(|| value.to_string(), str::to_string);
            answers.insert(&name, answers::Answer::Value(text));
        }
    }
    RunContext {
        session,
        state,
        roles,
        answers,
        inputs,
        guided,
    }
}

/// The state directory for `rollback` and `report`, found before anything is verified: the
/// default is named from the (unverified) manifest.
pub(crate) fn local_state_dir(given: Option<&Path>) -> Result<StateDir, ExitStatus> {
    if let Some(dir) = given {
        return Ok(StateDir::new(dir));
    }
    let file = installer::open_self().map_err(|e| fail(&e, ExitStatus::Integrity))?;
    Ok(StateDir::resolve(&file.manifest.product.name, None))
}

/// `report`: print the last report in the state directory.
pub fn report_command(state_dir: Option<&Path>, format: &str) -> ExitStatus {
    let state = match local_state_dir(state_dir) {
        Ok(dir) => dir,
        Err(status) => return status,
    };
    let report = match state.read_report() {
        Ok(report) => report,
        Err(e) => {
            return fail(
                &format!(
                    "no report in `{}` ({e}); pass the install's `--state-dir`",
                    state.root().display()
                ),
                ExitStatus::Usage,
            );
        }
    };
    match format {
        "json" => println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        ),
        "html" => print!("{}", report.html()),
        _ => print!("{}", report.text()),
    }
    ExitStatus::Success
}

/// `plan`: dry run. Verify, unpack, answer, then show what each step would do without changing
/// anything (checks run; substitutions rendered with secrets redacted and diffed).
pub fn dry_run(inputs: InstallInputs) -> ExitStatus {
    if inputs.log.is_some() {
        eprintln!("warning: --log: the dry run changes nothing and writes no log");
    }
    installing(inputs, |inputs, guided| {
        let (session, _) = prepare_install(inputs, guided, Ask::DryRun)?;
        check_mode(&session, inputs, Ask::DryRun)?;
        let roles = choose_roles(&session, inputs, guided)?;
        let answers = collect_answers(&session, inputs, &roles, guided)?;
        preflight(&session, &roles, &answers)?;
        Ok(preview::preview(&session, &roles, &answers))
    })
}
