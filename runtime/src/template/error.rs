//! The one error type of the template engine. Unresolved tokens are not errors of this kind:
//! they are reported in `Evaluation::error`, as Octostache reports them in its `out error`.

use super::parser::ParseFailure;

/// Why a template could not be parsed or evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// The template does not parse (strict mode).
    #[error(
        "template parse error at line {line}, column {column} (offset {offset}): unexpected {unexpected}"
    )]
    Parse {
        offset: usize,
        line: usize,
        column: usize,
        unexpected: String,
    },
    /// A variable refers to itself, directly or through others (§6.8). The text is Octostache's.
    #[error(
        "An attempt to parse the variable symbol \"{symbol}\" appears to have resulted in a self referencing loop ({chain}). Ensure that recursive loops do not exist in the variable values."
    )]
    Cycle { symbol: String, chain: String },
    /// A filter met input Octostache throws on (invalid base64, an unparseable version).
    #[error("filter {filter} failed: {message}")]
    Filter { filter: String, message: String },
    /// Variable values nest deeper than the engine allows (Octostache would overflow its stack).
    #[error("variable values nest more than {limit} levels deep")]
    TooDeep { limit: usize },
    /// One evaluation built a text longer than [`Limits::max_output_bytes`](super::Limits).
    #[error(
        "the template expands to more than {limit} bytes; a variable probably refers to another \
         several times over (each level doubling the text)"
    )]
    TooLarge { limit: usize },
    /// One evaluation took more than [`Limits::max_steps`](super::Limits) steps.
    #[error(
        "the template takes more than {limit} evaluation steps; a variable probably refers to \
         another several times over (each level doubling the work), or a loop runs too often"
    )]
    TooMuchWork { limit: u64 },
    /// The operator interrupted the installer (Ctrl-C, SIGTERM) during the evaluation.
    #[error("the evaluation was interrupted by the operator")]
    Cancelled,
    /// A negative index into a JSON array, which Octostache throws on.
    #[error("JSON array index {index} is negative")]
    NegativeJsonIndex { index: String },
}

impl TemplateError {
    /// Whether this is a variable cycle (§6.8).
    pub fn is_cycle(&self) -> bool {
        matches!(self, TemplateError::Cycle { .. })
    }

    /// Whether a [`Limits`](super::Limits) cap stopped the evaluation.
    pub fn is_limit(&self) -> bool {
        matches!(
            self,
            TemplateError::TooLarge { .. } | TemplateError::TooMuchWork { .. }
        )
    }

    /// Whether variable values nest deeper than the engine allows.
    pub fn is_too_deep(&self) -> bool {
        matches!(self, TemplateError::TooDeep { .. })
    }

    /// Whether this is a strict parse failure.
    pub fn is_parse(&self) -> bool {
        matches!(self, TemplateError::Parse { .. })
    }
}

impl From<ParseFailure> for TemplateError {
    fn from(f: ParseFailure) -> Self {
        TemplateError::Parse {
            offset: f.offset,
            line: f.line,
            column: f.column,
            unexpected: f.unexpected,
        }
    }
}
