//! Exit codes of both binaries. Documented in README.md and in `--help`; never use a bare number.

/// Every way a dropship process can end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// The command did what was asked.
    Success = 0,
    /// Something failed that is not the operator's input (I/O on the machine, an internal error).
    Failure = 1,
    /// Usage or invalid input: command line, answers, plan, drop, key file, template.
    Usage = 2,
    /// Integrity or trust failure: the installer is damaged, or signed by a key not trusted.
    /// `dropship render --strict` uses 3 for a variable cycle (its own documented meaning).
    Integrity = 3,
    /// The operator declined (at the trust prompt, the confirmation or a manual step).
    Declined = 4,
    /// The install failed and everything it changed was rolled back.
    RolledBack = 5,
    /// The install failed and rollback is incomplete: the message lists what is left.
    RollbackIncomplete = 6,
}

impl ExitStatus {
    /// The number the process exits with.
    pub fn code(self) -> i32 {
        self as i32
    }
}

impl From<ExitStatus> for std::process::ExitCode {
    fn from(status: ExitStatus) -> Self {
        std::process::ExitCode::from(status as u8)
    }
}
