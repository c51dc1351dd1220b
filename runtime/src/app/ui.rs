//! Talking to the operator: prompts on the terminal, progress on stderr, plain lines otherwise.
//! Data goes to stdout; progress, prompts and messages to stderr.

use crate::live::Live;
use crate::session::Session;
use dropship_runtime::answers::{self, Answer, Answers, Kept};
use dropship_runtime::container::Manifest;
use dropship_runtime::escape;
use dropship_runtime::events::Events;
use dropship_runtime::exit::ExitStatus;
use dropship_runtime::plan::{Parameter, ParameterType, Plan};
use dropship_runtime::report::{Report, StepOutcome};
use dropship_runtime::script::OutputLine;
use dropship_runtime::secret::{REDACTED, Scrubber, Secret};
use dropship_runtime::trust::PublicKey;
use indicatif::MultiProgress;
use std::fs::File;
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

/// Whether the operator can be asked questions (stdin and stderr are terminals).
pub fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Ask the operator to confirm the signer's key against what the vendor published.
pub fn confirm_signer(manifest: &Manifest, key: &PublicKey) -> bool {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(
        err,
        "\n{} {} is signed by key {}\n  public key: {}\nCompare it with the key your vendor published{}.",
        manifest.product.name,
        manifest.product.version,
        key.key_id,
        key.base64,
        manifest
            .product
            .vendor
            .as_deref()
            .map(|v| format!(" ({v})"))
            .unwrap_or_default()
    );
    drop(err);
    yes_or_no("Trust this key? [y/N] ")
}

/// Ask until the answer is yes or no (empty is no); anything else is asked again, so a typo
/// does not end the run. `false` at the end of input.
fn yes_or_no(question: &str) -> bool {
    loop {
        let Some(answer) = prompt(question) else {
            return false;
        };
        match answer.trim().to_ascii_lowercase().as_str() {
            "y" | "yes" => return true,
            "" | "n" | "no" => return false,
            _ => eprintln!("  please answer y or n"),
        }
    }
}

/// Read one line from stdin; `None` at end of input.
fn read_line() -> Option<String> {
    let mut line = String::new();
    match std::io::stdin().lock().read_line(&mut line) {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(line.trim_end_matches(['\r', '\n']).to_string()),
    }
}

fn prompt(text: &str) -> Option<String> {
    eprint!("{text}");
    let _ = std::io::stderr().flush();
    read_line()
}

/// Ask a yes/no question; only `y` or `yes` is yes.
pub fn confirm(question: &str) -> bool {
    yes(prompt(question))
}

fn yes(answer: Option<String>) -> bool {
    answer.is_some_and(|a| matches!(a.trim().to_ascii_lowercase().as_str(), "y" | "yes"))
}

/// The guided flow's banner: what, from whom, for whom, signed by which key, where state goes.
pub fn banner(session: &Session, state_dir: &Path) {
    let m = &session.file.manifest;
    eprintln!();
    eprintln!("  {}", session.upgrade.headline(&m.product.name));
    if let Some(vendor) = &m.product.vendor {
        eprintln!("  from {vendor}");
    }
    if let Some(customer) = &m.customer {
        eprintln!("  built for {customer}");
    }
    eprintln!(
        "  signature verified: key {} ({})",
        session.signer.key.key_id,
        session.signer.basis.describe()
    );
    eprintln!("  public key: {}", session.signer.key.base64);
    eprintln!();
    eprintln!(
        "  The journal, log and report go to {}",
        state_dir.display()
    );
    eprintln!("  (change this with --state-dir DIR). Press Ctrl-C at any time to stop; what was");
    eprintln!("  changed is rolled back.");
    eprintln!();
}

/// Ask which of the declared roles this machine has; `None` when the operator gives up.
pub fn ask_roles(declared: &[String]) -> Option<Vec<String>> {
    loop {
        let answer = prompt(&format!(
            "Roles of this machine ({}), comma-separated [all]: ",
            declared.join(", ")
        ))?;
        if answer.trim().is_empty() {
            return Some(declared.to_vec());
        }
        let chosen: Vec<String> = answer
            .split(',')
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty())
            .collect();
        match chosen
            .iter()
            .find(|c| !declared.iter().any(|d| d.eq_ignore_ascii_case(c)))
        {
            Some(bad) => eprintln!("  `{bad}` is not one of {}", declared.join(", ")),
            None => return Some(chosen),
        }
    }
}

/// Ask every parameter in turn, with help, default, validation and re-asking; secrets masked
/// and confirmed. On an upgrade, a valid answer `kept` from the installed version is taken
/// without asking (the summary shows it). `None` when input ends (the operator gave up).
pub fn ask_answers(plan: &Plan, roles: &[String], kept: Option<&Kept>) -> Option<Answers> {
    let mut answers = Answers::default();
    for parameter in answers::active_parameters(plan, roles) {
        if let Some(kept) = kept
            && let Some(value) = kept.value(parameter)
        {
            match answers::record_text(parameter, &value, &mut answers) {
                Ok(()) => continue,
                Err(why) => eprintln!(
                    "\n  {}: the answer kept from {} is not valid any more ({why})",
                    parameter.name, kept.version
                ),
            }
        }
        ask_parameter(parameter, &mut answers)?;
    }
    Some(answers)
}

fn label(parameter: &Parameter) -> &str {
    parameter.label.as_deref().unwrap_or(&parameter.name)
}

/// Why an answer was refused, and that it is asked again.
fn try_again(why: &dyn std::fmt::Display) {
    eprintln!("  {}; try again", why.to_string().trim_end_matches('.'));
}

fn ask_parameter(parameter: &Parameter, answers: &mut Answers) -> Option<()> {
    let label = label(parameter);
    // The parameter's own block: a blank line, then its help and choices right above its prompt.
    eprintln!();
    if let Some(help) = &parameter.help {
        eprintln!("  {label}: {help}");
    }
    if parameter.kind == ParameterType::Choice {
        eprintln!("  one of: {}", parameter.options.join(", "));
    }
    loop {
        if parameter.kind == ParameterType::Secret {
            let secret = ask_secret(parameter, label)?;
            answers.insert(&parameter.name, Answer::Secret(secret));
            return Some(());
        }
        let default = parameter
            .default
            .as_deref()
            .map(|d| format!(" [{d}]"))
            .unwrap_or_default();
        let typed = prompt(&format!("{label}{default}: "))?;
        let value = if typed.is_empty() {
            parameter.default.clone().unwrap_or_default()
        } else {
            typed
        };
        match answers::record_text(parameter, &value, answers) {
            Ok(()) => return Some(()),
            Err(why) => try_again(&why),
        }
    }
}

/// Ask only the secret parameters (a guided `resume`: everything else was saved).
pub fn ask_secrets(plan: &Plan, roles: &[String]) -> Option<Vec<(String, Secret)>> {
    let mut answers = Answers::default();
    for parameter in answers::active_parameters(plan, roles)
        .into_iter()
        .filter(|p| p.kind == ParameterType::Secret)
    {
        ask_parameter(parameter, &mut answers)?;
    }
    Some(
        answers
            .iter()
            .filter_map(|(name, answer)| match answer {
                Answer::Secret(secret) => Some((name.to_string(), secret.clone())),
                Answer::Value(_) => None,
            })
            .collect(),
    )
}

/// Masked entry (nothing echoes), checked against the parameter's rules, then asked again
/// when the plan says `confirm`.
fn ask_secret(parameter: &Parameter, label: &str) -> Option<Secret> {
    loop {
        let first = Secret::new(rpassword::prompt_password(format!("{label} (hidden): ")).ok()?);
        if let Err(why) = answers::validate(parameter, first.expose_secret()) {
            try_again(&why);
            continue;
        }
        if !parameter.confirm {
            return Some(first);
        }
        let second = Secret::new(rpassword::prompt_password(format!("{label} again: ")).ok()?);
        if first == second {
            return Some(first);
        }
        eprintln!("  the two entries differ; try again");
    }
}

/// What the operator decided at the summary.
pub enum Decision {
    Install,
    /// One answer was asked again: show the summary again (after the checks).
    Changed,
    Decline,
}

/// Show what will happen, by the parameters' labels, and ask for the final confirmation; `e`
/// asks one answer again.
pub fn confirm_summary(session: &Session, roles: &[String], answers: &mut Answers) -> Decision {
    eprintln!();
    eprintln!("Summary");
    if !roles.is_empty() {
        eprintln!("  roles: {}", roles.join(", "));
    }
    let kept = session.upgrade.kept_answers();
    let parameters = answers::active_parameters(&session.plan, roles);
    let asked: Vec<&Parameter> = parameters
        .iter()
        .copied()
        .filter(|p| answers.get(&p.name).is_some())
        .collect();
    for (number, parameter) in asked.iter().enumerate() {
        let Some(answer) = answers.get(&parameter.name) else {
            continue;
        };
        let shown = match answer {
            Answer::Secret(_) => REDACTED.to_string(),
            Answer::Value(v) if v.contains('\n') => format!("({} lines)", v.lines().count()),
            Answer::Value(v) => v.clone(),
        };
        let kept_from = match (answer, &kept) {
            (Answer::Value(v), Some(k)) if k.value(parameter).as_deref() == Some(v.as_str()) => {
                format!("  (kept from {})", k.version)
            }
            _ => String::new(),
        };
        eprintln!("  {}. {}: {shown}{kept_from}", number + 1, label(parameter));
    }
    eprintln!(
        "  {} step(s) will run in order; a failure rolls back every change.",
        session.plan.steps().len()
    );
    loop {
        let Some(answer) = prompt("Install now? [y/N, or e to change an answer] ") else {
            return Decision::Decline;
        };
        match answer.trim().to_ascii_lowercase().as_str() {
            "y" | "yes" => return Decision::Install,
            "" | "n" | "no" => return Decision::Decline,
            "e" | "edit" | "change" if !asked.is_empty() => {
                return match change_answer(&asked, answers) {
                    Some(()) => Decision::Changed,
                    None => Decision::Decline,
                };
            }
            _ => eprintln!("  please answer y, n or e"),
        }
    }
}

/// Ask which answer to change (by its number in the summary), then ask it again.
fn change_answer(asked: &[&Parameter], answers: &mut Answers) -> Option<()> {
    loop {
        let typed = prompt(&format!("Change which answer (1-{})? ", asked.len()))?;
        match typed.trim().parse::<usize>() {
            Ok(n) if (1..=asked.len()).contains(&n) => return ask_parameter(asked[n - 1], answers),
            _ => eprintln!("  type a number from 1 to {}", asked.len()),
        }
    }
}

/// What `rollback` will undo, shown before it asks.
pub struct RollbackPlan<'a> {
    /// The steps the install started, in order.
    pub steps: &'a [&'a str],
    /// Journaled changes to files and directories not undone yet.
    pub changes: usize,
    /// The steps whose rollback scripts will run, in the order they run (newest first).
    pub scripts: &'a [&'a str],
}

impl RollbackPlan<'_> {
    /// One line: how many steps, changes and rollback scripts.
    pub fn summary(&self) -> String {
        format!(
            "{} step(s), {} file change(s), {} rollback script(s)",
            self.steps.len(),
            self.changes,
            self.scripts.len()
        )
    }
}

/// List what `rollback` will undo and ask the operator to go ahead.
pub fn confirm_rollback(plan: &RollbackPlan<'_>) -> bool {
    eprintln!("\nRollback undoes {}:", plan.summary());
    eprintln!("  steps: {}", plan.steps.join(", "));
    eprintln!("  file and directory changes: {}", plan.changes);
    if !plan.scripts.is_empty() {
        eprintln!(
            "  rollback scripts, in this order: {}",
            plan.scripts.join(", ")
        );
    }
    confirm("Roll back now? [y/N] ")
}

/// How many times the operator pressed Ctrl-C (or the process got SIGINT or SIGTERM).
static SIGNALS: AtomicUsize = AtomicUsize::new(0);
/// Set by the first signal: the running step is stopped and the install rolls back.
static CANCEL: AtomicBool = AtomicBool::new(false);
/// Set by the third: the undo stops too, the journal stays open (exit 6).
static STOP: AtomicBool = AtomicBool::new(false);
/// What the undo is doing and what stopping it would leave, for the second signal's message.
static UNDOING: Mutex<Option<(String, String)>> = Mutex::new(None);
/// The live lines of the run on a terminal, for the second signal's message to print around.
static LIVE_LINES: Mutex<Option<MultiProgress>> = Mutex::new(None);

/// The flag the first Ctrl-C (SIGINT or SIGTERM; on Windows, Ctrl-Break or the console closing
/// too) sets: the running step is stopped and the engine rolls back. Rollback scripts and
/// `failure` steps then run to their end: the second Ctrl-C says what is still running and what
/// a third leaves behind; the third sets [`stop_flag`].
pub fn cancel_flag() -> &'static AtomicBool {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        install_cancel_handler();
        // The handler cannot print; this thread tells the operator about the second signal.
        std::thread::spawn(explain_second_signal);
    });
    &CANCEL
}

/// Set while this run has changed nothing yet (verifying, asking, checking): a Ctrl-C then ends
/// it at once, saying so, with exit 4 (the operator declined), instead of leaving the operator at
/// a prompt that ignores the key or killing the process with the terminal's echo still off.
static NOTHING_CHANGED: AtomicBool = AtomicBool::new(false);

/// Until [`changes_begin`], a Ctrl-C ends the run at once (see `NOTHING_CHANGED`).
pub fn stop_at_once_until_changes() {
    NOTHING_CHANGED.store(true, Ordering::SeqCst);
    let _ = cancel_flag();
}

/// From here on the run changes things: a Ctrl-C cancels and rolls back (see [`cancel_flag`]).
pub fn changes_begin() {
    NOTHING_CHANGED.store(false, Ordering::SeqCst);
}

const STOPPED_BEFORE_CHANGES: &str = "\nStopped (Ctrl-C) before anything was changed.\n";

/// End the process from the signal handler: only async-signal-safe calls (the terminal's echo
/// and line mode back, as a hidden prompt turns them off; one write; `_exit`).
#[cfg(unix)]
fn stop_before_changes() {
    // SAFETY: tcgetattr, tcsetattr, write and _exit are async-signal-safe; `term` is ours.
    unsafe {
        let mut term: libc::termios = std::mem::zeroed();
        if libc::tcgetattr(0, &mut term) == 0 {
            term.c_lflag |= libc::ECHO | libc::ICANON;
            libc::tcsetattr(0, libc::TCSANOW, &term);
        }
        let text = STOPPED_BEFORE_CHANGES.as_bytes();
        libc::write(2, text.as_ptr().cast(), text.len());
        libc::_exit(ExitStatus::Declined as i32);
    }
}

/// On Windows the handler runs on a thread of its own: an ordinary exit.
#[cfg(windows)]
fn stop_before_changes() {
    eprint!("{STOPPED_BEFORE_CHANGES}");
    std::process::exit(ExitStatus::Declined as i32);
}

/// Count one cancel signal: the first cancels, the third stops the undo too. Only atomics, so
/// it is safe in a signal handler.
fn on_cancel_signal() {
    if NOTHING_CHANGED.load(Ordering::SeqCst) {
        stop_before_changes();
    }
    let count = SIGNALS.fetch_add(1, Ordering::SeqCst) + 1;
    CANCEL.store(true, Ordering::SeqCst);
    if count >= 3 {
        STOP.store(true, Ordering::SeqCst);
    }
}

#[cfg(unix)]
fn install_cancel_handler() {
    extern "C" fn on_signal(_: libc::c_int) {
        on_cancel_signal();
    }
    let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: the handler only touches atomics, which is async-signal-safe; SIG_IGN is a valid
    // disposition.
    unsafe {
        libc::signal(libc::SIGINT, handler);
        libc::signal(libc::SIGTERM, handler);
        // A lost terminal (an SSH connection that drops) does not stop the run midway: it goes
        // on to its end, and the log and the report say how it ended.
        libc::signal(libc::SIGHUP, libc::SIG_IGN);
    }
}

/// The console control handler: Windows calls it on a thread of its own for every event.
#[cfg(windows)]
fn install_cancel_handler() {
    unsafe extern "system" fn on_event(_event: u32) -> windows_sys::core::BOOL {
        on_cancel_signal();
        // Handled: the process is not ended, so the engine can roll back. (For a console
        // that closes, Windows ends the process a few seconds later whatever we answer.)
        1
    }
    // SAFETY: the handler is a plain function that only touches atomics. A failure leaves
    // Windows' default, which ends the process: the journal then serves `rollback`.
    unsafe {
        windows_sys::Win32::System::Console::SetConsoleCtrlHandler(Some(on_event), 1);
    }
}

/// The flag the third Ctrl-C sets (see [`cancel_flag`]).
pub fn stop_flag() -> &'static AtomicBool {
    &STOP
}

/// Wait for the second signal and say what is still running and what a third leaves behind.
fn explain_second_signal() {
    while SIGNALS.load(Ordering::SeqCst) < 2 {
        std::thread::sleep(Duration::from_millis(50));
    }
    let undoing = UNDOING.lock().ok().and_then(|u| u.clone());
    let (running, left) = undoing.unwrap_or_else(|| {
        let running = "the interrupted step is being stopped".to_string();
        (running, "the install's changes not undone".to_string())
    });
    let explain = || {
        eprintln!(
            "\nStill running: {running}; the undo runs to its end so that nothing is left half \
             done.\nPress Ctrl-C once more to stop now: that leaves {left}, keeps the journal \
             open (exit 6), and `rollback` finishes the undo later."
        )
    };
    // The live line's next redraw would erase the end of the message.
    match LIVE_LINES.lock().ok().and_then(|lines| lines.clone()) {
        Some(lines) => lines.suspend(explain),
        None => explain(),
    }
}

/// Progress and output on stderr, and the text log, for a run of the engine.
pub struct Console {
    /// The state directory's log, and the copy `--log` asked for.
    logs: Vec<File>,
    scrubber: Scrubber,
    /// On a terminal without `--no-progress`: the running step's line, under the output.
    live: Option<Live>,
}

impl Console {
    /// `no_progress`: plain lines only (also when stderr is not a terminal that can draw).
    /// `logs`: the logs that could be opened (the caller has told the operator about the others).
    pub fn new(logs: Vec<File>, no_progress: bool, scrubber: Scrubber) -> Self {
        let live = if no_progress { None } else { Live::new() };
        if let (Some(live), Ok(mut lines)) = (&live, LIVE_LINES.lock()) {
            *lines = Some(live.lines());
        }
        Console {
            logs,
            scrubber,
            live,
        }
    }

    /// A line to the screen and the log (scrubbed once more, whatever its origin). The log
    /// gets it stamped with the time and without terminal control codes.
    fn say(&mut self, text: &str, on_screen: bool) {
        let text = self.scrubber.scrub(text);
        if on_screen {
            self.on_screen(|| eprintln!("{text}"));
        }
        let plain: Vec<String> = text.lines().map(escape::terminal_free).collect();
        let stamp = dropship_runtime::engine::now_text();
        self.log(&format!("{stamp} {}", plain.join("\n")));
    }

    /// Run `show` (print, ask) with the live line out of the way.
    fn on_screen<R>(&self, show: impl FnOnce() -> R) -> R {
        match &self.live {
            Some(live) => live.suspend(show),
            None => show(),
        }
    }

    /// Write `text` and a line break to every log. The log is a copy of what the screen shows:
    /// losing one must not stop the install, but the operator hears of it once.
    fn log(&mut self, text: &str) {
        self.logs.retain_mut(|log| match writeln!(log, "{text}") {
            Ok(()) => true,
            Err(e) => {
                eprintln!("warning: writing the install log failed ({e}); the log stops here");
                false
            }
        });
    }

    /// The log's header of a run: a rule with the time, then one `label: value` line each.
    pub fn header(&mut self, started: &str, lines: &[(&str, String)]) {
        self.log(&format!("======== {started} ========"));
        for (label, value) in lines {
            let value = escape::terminal_free(&self.scrubber.scrub(value));
            self.log(&format!("{:<11}{value}", format!("{label}:")));
        }
    }

    /// What the run does, first on the screen and in the log: `Upgrade Fabrikam 4.12.0 →
    /// 4.13.0`.
    pub fn headline(&mut self, text: &str) {
        self.say(text, true);
    }

    /// The end of a run: outcome, and where the report is.
    pub fn outcome(&mut self, report: &Report, state_dir: &Path) {
        // Bold where the live line was: a terminal without `--no-progress`.
        let live = self.live.take().map(|mut live| live.clear()).is_some();
        let mark = if live { "\u{1b}[1m" } else { "" };
        let reset = if live { "\u{1b}[0m" } else { "" };
        self.say(
            &format!("{mark}Install {}{reset}", report.outcome.describe()),
            true,
        );
        for retired in report.upgrade.iter().flat_map(|u| &u.retention) {
            self.say(&retired.line(), true);
        }
        let later = report.later_rollback.as_ref().map(|later| &later.summary);
        for rollback in report.rollback.iter().chain(later) {
            for left in &rollback.left {
                self.say(&format!("  NOT undone: {left}"), true);
            }
        }
        self.say(
            &format!(
                "Report: {}/report.html (also report.txt, report.json); log: {}/install.log",
                state_dir.display(),
                state_dir.display()
            ),
            true,
        );
    }
}

impl Events for Console {
    fn step_started(&mut self, index: usize, total: usize, name: &str, kind: &str) {
        self.say(&format!("[{}/{total}] {name} ({kind})", index + 1), true);
        if let Some(live) = &self.live {
            live.step(index, total, name);
        }
    }

    fn output(&mut self, _step: &str, line: &OutputLine) {
        let on_screen = !matches!(line, OutputLine::Verbose(_));
        self.say(&format!("    {}", line.tagged()), on_screen);
    }

    fn note(&mut self, text: &str) {
        self.say(&format!("    {text}"), true);
    }

    fn step_finished(
        &mut self,
        index: usize,
        name: &str,
        status: StepOutcome,
        message: Option<&str>,
        elapsed: Duration,
    ) {
        let detail = message.map(|m| format!(": {m}")).unwrap_or_default();
        let text = match status {
            StepOutcome::Succeeded => format!(
                "[{}] {name}: succeeded in {:.1} s",
                index + 1,
                elapsed.as_secs_f64()
            ),
            StepOutcome::Skipped => format!("[{}] {name}: skipped{detail}", index + 1),
            StepOutcome::Failed => format!("[{}] {name}: FAILED{detail}", index + 1),
            StepOutcome::RolledBack => format!("[{}] {name}: rolled back", index + 1),
        };
        self.say(&text, true);
    }

    fn undoing(&mut self, running: &str, left_if_stopped: &str) {
        if let Some(live) = &self.live {
            live.running(running);
        }
        let now = (running.to_string(), left_if_stopped.to_string());
        if let Ok(mut undoing) = UNDOING.lock() {
            *undoing = Some(now);
        }
    }

    fn progress(&mut self, work: &str, done: u64, total: Option<u64>) {
        if let Some(live) = &mut self.live {
            live.work(work, done, total);
        }
    }

    fn confirm_manual(&mut self, name: &str, instructions: &str) -> bool {
        self.say(&format!("Manual step `{name}`:"), true);
        for line in instructions.lines() {
            self.say(&format!("  {line}"), true);
        }
        let done = self.on_screen(|| confirm("Done? [y/N] "));
        self.say(
            &format!(
                "manual step `{name}` {}",
                if done { "confirmed" } else { "not confirmed" }
            ),
            false,
        );
        done
    }
}
