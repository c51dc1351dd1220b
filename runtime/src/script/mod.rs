//! Running a vendor's Octopus scripts (bash, sh, python, pwsh) unchanged, as Calamari runs them
//! (`docs/octopus-conventions.md` §5).
//!
//! Each run gets a private 0700 temporary directory holding our own bootstrap, the variables file
//! (0600) and, unless the script already sits in the working directory byte for byte, the script
//! itself; the directory is deleted when the run ends, whatever the outcome. Variable values reach
//! the script only through that directory, never through argv. Output is read line by line from
//! both pipes; service messages on stdout become output variables, artifacts and log levels; every
//! other line is scrubbed of every secret before the caller sees it.
//!
//! Not done here: `#{...}` templating of the body and parameters (the caller does it), retries,
//! `Octopus.Action.FailScriptOnErrorOutput` (the caller decides with
//! [`ScriptOutcome::stderr_lines`]) and script modules. The infrastructure helpers
//! (`new_octopustarget`, Kubernetes manifests, environment state) exist so scripts run unchanged,
//! but their messages are only logged. PowerShell is untested where `pwsh` is missing.

mod bootstrap;
mod output;
mod run;
mod service_message;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use crate::secret::Scrubber;

pub use run::withhold_from_scripts;

/// A script language the runner knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Syntax {
    Bash,
    Sh,
    Python,
    PowerShell,
}

impl Syntax {
    /// Octopus names (`Bash`, `PowerShell`, `Python`) and dropship plan names (`bash`, `sh`,
    /// `python`, `pwsh`), without regard to case.
    pub fn from_name(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "bash" => Some(Syntax::Bash),
            "sh" => Some(Syntax::Sh),
            "python" | "python3" => Some(Syntax::Python),
            "powershell" | "pwsh" => Some(Syntax::PowerShell),
            _ => None,
        }
    }

    /// By file extension as Calamari picks the interpreter: `.sh` is bash, `.py`, `.ps1`.
    pub fn from_extension(path: &Path) -> Option<Self> {
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        match extension.as_str() {
            "sh" => Some(Syntax::Bash),
            "py" => Some(Syntax::Python),
            "ps1" => Some(Syntax::PowerShell),
            _ => None,
        }
    }

    /// The program run for this syntax, looked up on `PATH`.
    pub fn interpreter(self) -> &'static str {
        match self {
            Syntax::Bash => "bash",
            Syntax::Sh => "sh",
            Syntax::Python => "python3",
            Syntax::PowerShell => "pwsh",
        }
    }

    /// The extension a script of this syntax carries (`pwsh` only runs `.ps1` files).
    pub fn extension(self) -> &'static str {
        match self {
            Syntax::Bash | Syntax::Sh => "sh",
            Syntax::Python => "py",
            Syntax::PowerShell => "ps1",
        }
    }

    /// Whether the interpreter is an executable file on `PATH`.
    pub fn available(self) -> bool {
        find_on_path(self.interpreter()).is_some()
    }
}

/// The first executable `program` on `PATH`.
fn find_on_path(program: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| {
            candidate
                .metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// A variable the script can read with `get_octopusvariable` (already evaluated).
#[derive(Clone, PartialEq, Eq)]
pub struct ScriptVariable {
    pub name: String,
    pub value: String,
    /// Sensitive values are also scrubbed from the script's output.
    pub sensitive: bool,
}

impl std::fmt::Debug for ScriptVariable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let value = if self.sensitive { "****" } else { &self.value };
        write!(f, "ScriptVariable({:?} = {value:?})", self.name)
    }
}

/// Everything needed to run one script.
pub struct ScriptRequest<'a> {
    /// The step name, used in messages.
    pub step: &'a str,
    pub syntax: Syntax,
    /// The script text, already templated by the caller.
    pub body: &'a str,
    /// The script's file name (`Deploy.sh`, `inline`): a plain name, no directories. The syntax's
    /// extension is added when missing.
    pub file_name: &'a str,
    /// The script's current directory.
    pub working_dir: &'a Path,
    pub variables: &'a [ScriptVariable],
    /// Script parameters as Octopus passes them (`docs/octopus-conventions.md` §5.7), already
    /// templated.
    pub parameters: Option<&'a str>,
    /// Extra environment; the process environment is inherited too.
    pub env: &'a [(String, String)],
    pub timeout: Option<Duration>,
    pub scrubber: &'a Scrubber,
    /// Set (by Ctrl-C handling) to stop the script: its whole process group is killed.
    pub cancel: &'a AtomicBool,
}

/// One line of script output, already scrubbed, at the level the script asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputLine {
    Stdout(String),
    Stderr(String),
    Verbose(String),
    Highlight(String),
    Warning(String),
}

/// An output variable a script set with `set_octopusvariable` (`##octopus[setVariable ...]`).
#[derive(Clone, PartialEq, Eq)]
pub struct OutputVariable {
    pub name: String,
    pub value: String,
    pub sensitive: bool,
}

impl std::fmt::Debug for OutputVariable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let value = if self.sensitive { "****" } else { &self.value };
        write!(f, "OutputVariable({:?} = {value:?})", self.name)
    }
}

/// How a script run ended.
#[derive(Debug, Clone, Default)]
pub struct ScriptOutcome {
    /// `None` when the process was ended by a signal.
    pub exit_code: Option<i32>,
    pub timed_out: bool,
    pub cancelled: bool,
    pub output_variables: Vec<OutputVariable>,
    /// Absolute paths from `new_octopusartifact` / `createArtifact`.
    pub artifacts: Vec<PathBuf>,
    /// The text given to `fail_step` (`##octopus[resultMessage ...]`).
    pub failure_message: Option<String>,
    /// Non-blank stderr lines not starting with `##octopus` (Calamari's `HasErrors`,
    /// `docs/octopus-conventions.md` §5.9).
    pub stderr_lines: u64,
}

impl ScriptOutcome {
    /// Success as Calamari decides it: exit code 0, and not stopped by us.
    pub fn succeeded(&self) -> bool {
        self.exit_code == Some(0) && !self.timed_out && !self.cancelled
    }
}

/// Why a script could not be run (a script that ran and failed is a [`ScriptOutcome`]).
#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    #[error(
        "step `{step}` needs {interpreter}, which is not installed on this machine\n\
         hint: install {interpreter} and make sure it is on PATH"
    )]
    InterpreterMissing {
        step: String,
        interpreter: &'static str,
    },
    #[error(
        "step `{step}`: the script parameters contain a secret value, and parameters are visible \
         to other users of this machine\nhint: read the value inside the script with \
         `get_octopusvariable` (or `$OctopusParameters`) instead"
    )]
    SecretInParameters { step: String },
    #[error("step `{step}`: script file name `{name}` must be a plain file name")]
    BadFileName { step: String, name: String },
    #[error("step `{step}`: working directory `{}` is not a directory", path.display())]
    WorkingDir { step: String, path: PathBuf },
    #[error("writing {role} `{}` for step `{step}`: {source}", path.display())]
    TempFile {
        step: String,
        role: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("starting {interpreter} for step `{step}`: {source}")]
    Spawn {
        step: String,
        interpreter: &'static str,
        source: std::io::Error,
    },
    #[error("step `{step}`: waiting for the script to finish: {source}")]
    Wait {
        step: String,
        source: std::io::Error,
    },
}

/// Run one script to the end (or until timeout or cancel), passing each output line to `sink`.
pub fn run_script(
    request: &ScriptRequest<'_>,
    sink: &mut dyn FnMut(OutputLine),
) -> Result<ScriptOutcome, ScriptError> {
    let step = request.step.to_string();
    if !request.syntax.available() {
        return Err(ScriptError::InterpreterMissing {
            step,
            interpreter: request.syntax.interpreter(),
        });
    }
    let scrubber = output::run_scrubber(request.scrubber, request.variables);
    // Parameters reach the script as argv: keep secrets out of them (ARCHITECTURE.md, Secrets).
    let parameters = request.parameters.unwrap_or("");
    if scrubber.scrub(parameters) != parameters {
        return Err(ScriptError::SecretInParameters { step });
    }
    if !request.working_dir.is_dir() {
        return Err(ScriptError::WorkingDir {
            step,
            path: request.working_dir.to_path_buf(),
        });
    }
    // Dropped at the end of this function, on every path: the variables never outlive the run.
    let prepared = bootstrap::prepare(request)?;
    run::run(request, &prepared, scrubber, sink)
}
