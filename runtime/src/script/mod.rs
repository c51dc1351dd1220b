//! Running a vendor's Octopus scripts (bash, sh, python, PowerShell, and on Windows cmd)
//! unchanged, as Calamari runs them (`docs/octopus-conventions.md` §5), with the platform's
//! interpreter ([`interpreter`]).
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
//! but their messages are only logged. PowerShell is untested where `pwsh` is missing, and Windows
//! PowerShell (`powershell.exe`) everywhere: only the bootstrap's text is tested.

mod bootstrap;
mod interpreter;
mod modules;
mod output;
mod run;
mod service_message;
mod tree;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use crate::secret::Scrubber;

pub use interpreter::{Interpreter, POWERSHELL_EDITION};
pub use modules::{ModuleLanguage, ScriptModule, script_modules};
pub use run::withhold_from_scripts;

/// A script language the runner knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Syntax {
    Bash,
    Sh,
    Python,
    PowerShell,
    /// Windows batch (`cmd.exe`): variables arrive as environment variables (see `bootstrap`).
    Cmd,
}

impl Syntax {
    /// Octopus names (`Bash`, `PowerShell`, `Python`) and dropship plan names (`bash`, `sh`,
    /// `python`, `pwsh`, `cmd`), without regard to case.
    pub fn from_name(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "bash" => Some(Syntax::Bash),
            "sh" => Some(Syntax::Sh),
            "python" | "python3" => Some(Syntax::Python),
            "powershell" | "pwsh" => Some(Syntax::PowerShell),
            "cmd" => Some(Syntax::Cmd),
            _ => None,
        }
    }

    /// By file extension as Calamari picks the interpreter: `.sh` is bash, `.py`, `.ps1`; and
    /// `.cmd`/`.bat`.
    pub fn from_extension(path: &Path) -> Option<Self> {
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        match extension.as_str() {
            "sh" => Some(Syntax::Bash),
            "py" => Some(Syntax::Python),
            "ps1" => Some(Syntax::PowerShell),
            "cmd" | "bat" => Some(Syntax::Cmd),
            _ => None,
        }
    }

    /// Its name in a plan (`bash`, `sh`, `python`, `pwsh`, `cmd`), for messages.
    pub fn name(self) -> &'static str {
        match self {
            Syntax::Bash => "bash",
            Syntax::Sh => "sh",
            Syntax::Python => "python",
            Syntax::PowerShell => "pwsh",
            Syntax::Cmd => "cmd",
        }
    }

    /// The extension a script of this syntax carries (`pwsh` only runs `.ps1` files).
    pub fn extension(self) -> &'static str {
        match self {
            Syntax::Bash | Syntax::Sh => "sh",
            Syntax::Python => "py",
            Syntax::PowerShell => "ps1",
            Syntax::Cmd => "cmd",
        }
    }

    /// The syntax of a script that names none and has no file extension: this platform's
    /// (Calamari's `ScriptSyntaxHelper`, `docs/octopus-conventions.md` §4.3).
    pub fn platform_default() -> Self {
        if cfg!(windows) {
            Syntax::PowerShell
        } else {
            Syntax::Bash
        }
    }

    /// The extensions of package convention scripts, the preferred first, when one stage has
    /// several (`docs/octopus-conventions.md` §4.3).
    pub fn convention_extensions() -> [&'static str; 3] {
        if cfg!(windows) {
            ["ps1", "py", "sh"]
        } else {
            ["sh", "py", "ps1"]
        }
    }

    /// Whether this syntax's interpreter (for PowerShell, the default edition's) is on `PATH`.
    pub fn available(self) -> bool {
        Interpreter::for_script(self, None).available()
    }
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

impl ScriptRequest<'_> {
    /// The program for this run: the syntax's, with the PowerShell edition the variables ask for.
    fn interpreter(&self) -> Interpreter {
        let edition = self
            .variables
            .iter()
            .rev()
            .find(|v| v.name == POWERSHELL_EDITION)
            .map(|v| v.value.as_str());
        Interpreter::for_script(self.syntax, edition)
    }
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

impl OutputLine {
    /// The line as the console, the log and the report show it: stderr marked `! `, a
    /// highlight `* `, a warning and a verbose line named.
    pub fn tagged(&self) -> String {
        match self {
            OutputLine::Stdout(text) => text.clone(),
            OutputLine::Stderr(text) => format!("! {text}"),
            OutputLine::Verbose(text) => format!("(verbose) {text}"),
            OutputLine::Highlight(text) => format!("* {text}"),
            OutputLine::Warning(text) => format!("warning: {text}"),
        }
    }
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
        "step `{step}` needs {interpreter}, which is not installed on this machine\nhint: {install}"
    )]
    InterpreterMissing {
        step: String,
        interpreter: &'static str,
        install: &'static str,
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
    let interpreter = request.interpreter();
    if !interpreter.available() {
        return Err(ScriptError::InterpreterMissing {
            step,
            interpreter: interpreter.program,
            install: interpreter.install,
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
    let prepared = bootstrap::prepare(request, interpreter)?;
    run::run(request, &prepared, scrubber, sink)
}
