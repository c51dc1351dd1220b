//! Which program runs a script on this platform, and what to tell the operator when it is missing.
//!
//! PowerShell follows Calamari (`docs/octopus-conventions.md` §5.5): on Windows, Windows
//! PowerShell (`powershell.exe`) unless `Octopus.Action.PowerShell.Edition` is `Core`, which asks
//! for PowerShell 7 (`pwsh.exe`); elsewhere only `pwsh` exists. A missing interpreter is an error
//! naming what to install, never a reason to skip the script.

use std::path::PathBuf;

use super::Syntax;

/// The variable that picks PowerShell 7 over Windows PowerShell.
pub const POWERSHELL_EDITION: &str = "Octopus.Action.PowerShell.Edition";

/// The program for one script run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interpreter {
    /// Looked up on `PATH` (with its `.exe` on Windows).
    pub program: &'static str,
    /// What the operator installs to get it.
    pub install: &'static str,
}

impl Interpreter {
    /// The interpreter for `syntax` here; `edition` is the value of [`POWERSHELL_EDITION`].
    pub fn for_script(syntax: Syntax, edition: Option<&str>) -> Self {
        if cfg!(windows) {
            windows(syntax, edition)
        } else {
            unix(syntax)
        }
    }

    /// Whether the program is on `PATH`.
    pub fn available(&self) -> bool {
        find_on_path(self.program).is_some()
    }
}

fn unix(syntax: Syntax) -> Interpreter {
    let (program, install) = match syntax {
        Syntax::Bash => (
            "bash",
            "install bash (the `bash` package) and make sure it is on PATH",
        ),
        Syntax::Sh => ("sh", "install a POSIX shell as `sh` on PATH"),
        Syntax::Python => (
            "python3",
            "install Python 3 (the `python3` package) and make sure `python3` is on PATH",
        ),
        Syntax::PowerShell => (
            "pwsh",
            "install PowerShell 7 (https://aka.ms/install-powershell) and make sure `pwsh` is on \
             PATH",
        ),
        Syntax::Cmd => (
            "cmd.exe",
            "cmd scripts run only on Windows: use a bash or sh script here",
        ),
    };
    Interpreter { program, install }
}

/// Where Windows gets bash and sh.
const GIT_BASH: &str =
    "install Git for Windows (https://git-scm.com/download/win) and put its `bin` folder on PATH";

fn windows(syntax: Syntax, edition: Option<&str>) -> Interpreter {
    let core = edition.is_some_and(|e| e.trim().eq_ignore_ascii_case("core"));
    let (program, install) = match syntax {
        Syntax::PowerShell if core => (
            "pwsh.exe",
            "install PowerShell 7 (https://aka.ms/install-powershell), or remove \
             Octopus.Action.PowerShell.Edition=Core to use Windows PowerShell",
        ),
        Syntax::PowerShell => (
            "powershell.exe",
            "Windows PowerShell is part of Windows: make sure \
             %SystemRoot%\\System32\\WindowsPowerShell\\v1.0 is on PATH",
        ),
        Syntax::Cmd => ("cmd.exe", "make sure %SystemRoot%\\System32 is on PATH"),
        Syntax::Bash => ("bash.exe", GIT_BASH),
        Syntax::Sh => ("sh.exe", GIT_BASH),
        Syntax::Python => (
            "python.exe",
            "install Python 3 (https://www.python.org/downloads/windows/) and add it to PATH",
        ),
    };
    Interpreter { program, install }
}

/// The first executable `program` on `PATH`.
fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

#[cfg(unix)]
fn is_executable(path: &std::path::Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Windows has no execute bit: the name (with its `.exe`) decides.
#[cfg(windows)]
fn is_executable(path: &std::path::Path) -> bool {
    path.is_file()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_powershell_unless_core() {
        let pick = |edition| windows(Syntax::PowerShell, edition).program;
        assert_eq!(pick(None), "powershell.exe");
        assert_eq!(pick(Some("Desktop")), "powershell.exe");
        assert_eq!(pick(Some("Core")), "pwsh.exe");
        assert_eq!(pick(Some(" core ")), "pwsh.exe");
        assert_eq!(windows(Syntax::Cmd, None).program, "cmd.exe");
    }

    #[test]
    fn elsewhere_pwsh_whatever_the_edition() {
        assert_eq!(unix(Syntax::PowerShell).program, "pwsh");
        assert!(unix(Syntax::Cmd).install.contains("only on Windows"));
        assert!(unix(Syntax::PowerShell).install.contains("PowerShell 7"));
    }
}
