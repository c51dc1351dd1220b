//! Typed errors of the import parsers. Every variant names the file it concerns and, where the
//! input has one, the position (line and column, a JSON path, or a step and action name), so the
//! engineer can go straight to the problem. Nothing here panics on user input.

use std::path::{Path, PathBuf};

/// Anything that stops an import. Partial problems that do not stop it (an unsupported action
/// type, an unknown top-level OCL block) are reported in the model instead.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("reading `{}`: {source}", file.display())]
    Io {
        file: PathBuf,
        source: std::io::Error,
    },

    #[error("`{}` is not valid text: {message}", file.display())]
    Encoding { file: PathBuf, message: String },

    /// Malformed JSON, or JSON of the wrong shape (serde reports both with a position).
    #[error("`{}`, line {line}, column {column}: {message}", file.display())]
    Json {
        file: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },

    /// OCL that does not follow the grammar.
    #[error("`{}`, line {line}, column {column}: {message}", file.display())]
    Ocl {
        file: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },

    /// A generated PowerShell script that cannot be read as a sequence of Calamari calls.
    #[error("`{}`, line {line}: {message}", file.display())]
    Ps1 {
        file: PathBuf,
        line: usize,
        message: String,
    },

    /// Well-formed input whose meaning is wrong: an unknown condition, a package without an id.
    /// `at` is a JSON path (`Steps[1].Actions[0]`) or an OCL position (`line 12, column 5`).
    #[error("`{}`, {at}: {message}", file.display())]
    Process {
        file: PathBuf,
        at: String,
        message: String,
    },

    #[error(
        "step `{step}`: package `{package_id}` not found in `{}`\nhint: copy the package file there, named `<PackageId>.<Version>.<ext>` or as Octopus caches it",
        dir.display()
    )]
    MissingPackage {
        step: String,
        package_id: String,
        dir: PathBuf,
    },

    #[error(
        "step `{step}`: package `{package_id}` matches several files in `{}`: {}\nhint: keep only the version to install",
        dir.display(),
        candidates.join(", ")
    )]
    AmbiguousPackage {
        step: String,
        package_id: String,
        dir: PathBuf,
        candidates: Vec<String>,
    },
}

impl ImportError {
    /// [`ImportError::Process`]: `message` about what is at `at` in `file`.
    pub(super) fn process(file: &Path, at: &str, message: &str) -> Self {
        ImportError::Process {
            file: file.to_path_buf(),
            at: at.to_owned(),
            message: message.to_owned(),
        }
    }
}
