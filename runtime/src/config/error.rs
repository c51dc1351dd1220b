//! The one error type of the configuration-file replacers.
//!
//! Every variant names the file it is about; parse errors also carry a 1-based line and column, and
//! each message ends with what the user can do about it. A file named in an error was not changed.

use std::fmt;
use std::path::PathBuf;

/// An error returned by the caller's `before_write` hook (for example: the backup failed).
pub type HookError = Box<dyn std::error::Error + Send + Sync>;

/// The configuration formats the replacers understand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConfigFormat {
    /// JSON (`*.json`, and the first format tried for every other file).
    Json,
    /// YAML (`*.yml`, `*.yaml`).
    Yaml,
    /// XML (`*.xml`) addressed by XPath-like variable names.
    Xml,
    /// Java `.properties`.
    Properties,
    /// A .NET `*.config` file (appSettings, connectionStrings, applicationSettings).
    DotnetConfig,
}

impl fmt::Display for ConfigFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConfigFormat::Json => "JSON",
            ConfigFormat::Yaml => "YAML",
            ConfigFormat::Xml => "XML",
            ConfigFormat::Properties => "Java properties",
            ConfigFormat::DotnetConfig => ".NET configuration XML",
        })
    }
}

/// A 1-based line and column (in characters) inside a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
}

impl Position {
    /// The position of byte `offset` in `text` (clamped to the text, snapped to a char boundary).
    pub fn at_offset(text: &str, offset: usize) -> Position {
        let mut end = offset.min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let before = &text[..end];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        Position { line, column }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// Everything that can go wrong while rewriting configuration files.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// An atomic write failed (`crate::durable`'s messages name the path).
    #[error("{0}")]
    Write(#[source] std::io::Error),
    /// A file-system operation failed.
    #[error("{operation} `{path}`: {source}")]
    Io {
        /// What was being done, e.g. "reading" or "renaming the temporary file over".
        operation: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not UTF-8 or UTF-16 text; it was left untouched.
    #[error(
        "`{path}` is not a text file ({reason}); it was left untouched. \
         hint: remove it from the target patterns, or save it as UTF-8 or UTF-16 with a BOM"
    )]
    NotText {
        /// The file concerned.
        path: PathBuf,
        /// Why it is not considered text (NUL byte at an offset, invalid UTF-8 at an offset).
        reason: String,
    },
    /// The file could not be parsed in the format chosen for it; it was left untouched.
    #[error(
        "`{path}` could not be parsed as {format} at {position}: {message}; it was left untouched. \
         hint: fix the file in the package, or remove it from the target patterns"
    )]
    Parse {
        /// The file concerned.
        path: PathBuf,
        /// The format it was parsed as (the last one tried).
        format: ConfigFormat,
        /// Where the parser stopped.
        position: Position,
        /// The parser's message.
        message: String,
    },
    /// A target pattern is not a valid glob.
    #[error(
        "target pattern `{pattern}` is not a valid glob: {message}. hint: fix the pattern in the step"
    )]
    Pattern {
        /// The pattern as given.
        pattern: String,
        /// The glob parser's message.
        message: String,
    },
    /// A matched target is a link (or lies beyond one) that does not resolve to a file inside
    /// the directory searched: writing it could change a file outside the install.
    #[error(
        "refusing to write `{path}`: {why}. hint: a package must not link its settings files to \
         places outside its directory"
    )]
    UnsafeTarget {
        path: PathBuf,
        why: crate::path_safety::Unsafe,
    },
    /// The template engine reported an error and the caller asked for errors to fail the step.
    #[error(
        "substituting variables in `{path}` failed: {message}; it was left untouched. \
         hint: fix the template or define the missing variable"
    )]
    Substitution {
        /// The file concerned.
        path: PathBuf,
        /// The template engine's message.
        message: String,
    },
    /// The caller's hook, run just before a file is overwritten, refused.
    #[error("preparing to overwrite `{path}` failed: {source}; it was left untouched")]
    BeforeWrite {
        /// The file that was about to be overwritten.
        path: PathBuf,
        /// The hook's error.
        #[source]
        source: HookError,
    },
}

impl ConfigError {
    /// An I/O error naming the file and the operation.
    pub(crate) fn io(
        operation: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        ConfigError::Io {
            operation,
            path: path.into(),
            source,
        }
    }
}

/// A parse failure inside one format, before the file name is attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FormatError {
    /// Byte offset in the decoded text where the problem was found.
    pub offset: usize,
    /// What went wrong.
    pub message: String,
}

impl FormatError {
    pub(crate) fn new(offset: usize, message: impl Into<String>) -> Self {
        FormatError {
            offset,
            message: message.into(),
        }
    }

    /// Attach the file name, format and line/column.
    pub(crate) fn into_config_error(
        self,
        path: &std::path::Path,
        format: ConfigFormat,
        text: &str,
    ) -> ConfigError {
        ConfigError::Parse {
            path: path.to_path_buf(),
            format,
            position: Position::at_offset(text, self.offset),
            message: self.message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_counts_lines_and_characters() {
        let text = "ab\ncdé\nf";
        assert_eq!(
            Position::at_offset(text, 0),
            Position { line: 1, column: 1 }
        );
        assert_eq!(
            Position::at_offset(text, 3),
            Position { line: 2, column: 1 }
        );
        assert_eq!(
            Position::at_offset(text, 7),
            Position { line: 2, column: 4 }
        );
        assert_eq!(
            Position::at_offset(text, 8),
            Position { line: 3, column: 1 }
        );
        assert_eq!(
            Position::at_offset(text, 99),
            Position { line: 3, column: 2 }
        );
    }
}
