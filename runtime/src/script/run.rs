//! Starting the interpreter, pumping its output, and stopping it on timeout or cancel.
//!
//! The script runs as a tree of its own ([`super::tree`]), so stopping it reaches everything it
//! started (SIGTERM, then SIGKILL after a short grace; a Job Object on Windows), and Ctrl-C at
//! the installer's terminal does not hit it directly: the installer decides (through `cancel`).
//! Two threads read
//! stdout and stderr line by line, as Calamari's readers do, so the order between the streams is
//! not kept; lines are handled on the calling thread, where the sink lives.
//!
//! Known gap: a background process the script leaves running with our pipes open is not killed
//! (installers start services that way); we stop waiting for its output shortly after the
//! script itself exits.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::time::{Duration, Instant};

use super::bootstrap::Prepared;
use super::output::Output;
use super::tree::{self, Tree};
use super::{OutputLine, ScriptError, ScriptOutcome, ScriptRequest};
use crate::secret::Scrubber;

/// How often the timeout and the cancel flag are checked.
const POLL: Duration = Duration::from_millis(50);
/// How long a stopped script gets between SIGTERM and SIGKILL.
const GRACE: Duration = Duration::from_secs(3);
/// How long to keep reading after the script exits, for output still in the pipes.
const DRAIN: Duration = Duration::from_secs(2);

enum Line {
    Stdout(String),
    Stderr(String),
}

/// Why we stopped the script ourselves.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stop {
    Timeout,
    Cancel,
}

/// Run the prepared command to the end and collect the outcome.
pub(super) fn run(
    request: &ScriptRequest<'_>,
    prepared: &Prepared,
    scrubber: Scrubber,
    sink: &mut dyn FnMut(OutputLine),
) -> Result<ScriptOutcome, ScriptError> {
    let (mut child, tree) = spawn(request, prepared)?;
    if let Err(source) = crate::scratch::record_process_group(prepared.dir(), child.id()) {
        // Without the record a killed installer's next run could not stop what this starts.
        let _ = child.kill();
        let _ = child.wait();
        return Err(ScriptError::TempFile {
            step: request.step.to_string(),
            role: "the record of the script's process group",
            path: prepared.dir().to_path_buf(),
            source,
        });
    }
    let (sender, lines) = channel();
    if let Some(stdout) = child.stdout.take() {
        pump(stdout, sender.clone(), Line::Stdout);
    }
    if let Some(stderr) = child.stderr.take() {
        pump(stderr, sender, Line::Stderr);
    }
    let mut output = Output::new(scrubber, sink);
    let (status, stop) = supervise(request, &mut child, &tree, &lines, &mut output)?;
    if stop.is_none() {
        tree.release();
    }
    drain(&lines, &mut output, Instant::now() + DRAIN);
    let mut outcome = output.finish();
    outcome.exit_code = status.code();
    outcome.timed_out = stop == Some(Stop::Timeout);
    outcome.cancelled = stop == Some(Stop::Cancel);
    Ok(outcome)
}

/// Environment variables no script may inherit (they carried a secret answer).
static WITHHELD: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Keep these environment variables from every script this process starts: a secret given as
/// `{"env": "NAME"}` must not reach the vendor's scripts (and whatever they start) by another way
/// than the variables they are meant to read.
pub fn withhold_from_scripts(names: impl IntoIterator<Item = String>) {
    let mut withheld = WITHHELD
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    withheld.extend(names);
}

fn spawn(request: &ScriptRequest<'_>, prepared: &Prepared) -> Result<(Child, Tree), ScriptError> {
    let mut command = Command::new(prepared.program);
    command
        .args(&prepared.args)
        .current_dir(request.working_dir)
        .envs(request.env.iter().map(|(k, v)| (k, v)))
        // Unattended: a script that waits for input would hang the install.
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    tree::configure(&mut command);
    for name in WITHHELD.lock().unwrap_or_else(|p| p.into_inner()).iter() {
        command.env_remove(name);
    }
    let spawn_error = |source| ScriptError::Spawn {
        step: request.step.to_string(),
        interpreter: prepared.program,
        source,
    };
    let mut child = command.spawn().map_err(spawn_error)?;
    let tree = Tree::adopt(&mut child).map_err(spawn_error)?;
    Ok((child, tree))
}

/// Read `stream` line by line on its own thread, sending each line (lossy UTF-8, without `\n`
/// or `\r\n`) until end of file or until nobody listens.
fn pump<R: Read + Send + 'static>(stream: R, sender: Sender<Line>, wrap: fn(String) -> Line) {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stream);
        let mut buffer = Vec::new();
        loop {
            buffer.clear();
            match reader.read_until(b'\n', &mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let line = buffer.strip_suffix(b"\n").unwrap_or(&buffer);
                    let line = line.strip_suffix(b"\r").unwrap_or(line);
                    let text = String::from_utf8_lossy(line).into_owned();
                    if sender.send(wrap(text)).is_err() {
                        break;
                    }
                }
            }
        }
    });
}

/// Handle output until the script exits, stopping it on timeout or cancel.
fn supervise(
    request: &ScriptRequest<'_>,
    child: &mut Child,
    tree: &Tree,
    lines: &Receiver<Line>,
    output: &mut Output<'_>,
) -> Result<(ExitStatus, Option<Stop>), ScriptError> {
    let started = Instant::now();
    loop {
        match lines.recv_timeout(POLL) {
            Ok(line) => handle(output, line),
            Err(RecvTimeoutError::Timeout) => {}
            // Both pipes closed but the script still runs: just wait for it.
            Err(RecvTimeoutError::Disconnected) => std::thread::sleep(POLL),
        }
        if let Some(status) = try_wait(request, child, tree)? {
            return Ok((status, None));
        }
        let stop = if request.cancel.load(Ordering::SeqCst) {
            Some(Stop::Cancel)
        } else if request.timeout.is_some_and(|t| started.elapsed() >= t) {
            Some(Stop::Timeout)
        } else {
            None
        };
        if let Some(stop) = stop {
            note_stop(request, stop, output);
            return Ok((terminate(request, child, tree)?, Some(stop)));
        }
    }
}

fn note_stop(request: &ScriptRequest<'_>, stop: Stop, output: &mut Output<'_>) {
    let text = match (stop, request.timeout) {
        (Stop::Timeout, Some(timeout)) => format!(
            "Step `{}` did not finish within {}s: stopping its script",
            request.step,
            timeout.as_secs_f64()
        ),
        _ => format!("Cancelled: stopping the script of step `{}`", request.step),
    };
    output.warn(&text);
}

fn try_wait(
    request: &ScriptRequest<'_>,
    child: &mut Child,
    tree: &Tree,
) -> Result<Option<ExitStatus>, ScriptError> {
    child.try_wait().map_err(|source| {
        // We can no longer watch it: do not leave it running unattended.
        tree.kill();
        ScriptError::Wait {
            step: request.step.to_string(),
            source,
        }
    })
}

/// Stop the tree, kill what is left after [`GRACE`], then reap.
fn terminate(
    request: &ScriptRequest<'_>,
    child: &mut Child,
    tree: &Tree,
) -> Result<ExitStatus, ScriptError> {
    tree.stop();
    let deadline = Instant::now() + GRACE;
    while Instant::now() < deadline {
        if try_wait(request, child, tree)?.is_some() {
            break;
        }
        std::thread::sleep(POLL);
    }
    // Children that ignored SIGTERM (or outlived the leader) are still in the tree.
    tree.kill();
    child.wait().map_err(|source| ScriptError::Wait {
        step: request.step.to_string(),
        source,
    })
}

/// Handle lines still arriving after the script exits, until the pipes close or `deadline`.
fn drain(lines: &Receiver<Line>, output: &mut Output<'_>, deadline: Instant) {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => handle(output, line),
            Err(_) => break,
        }
    }
}

fn handle(output: &mut Output<'_>, line: Line) {
    match line {
        Line::Stdout(text) => output.stdout(&text),
        Line::Stderr(text) => output.stderr(&text),
    }
}
