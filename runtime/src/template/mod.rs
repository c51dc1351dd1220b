//! Octostache-compatible template engine (`#{...}`), as specified in
//! `docs/octopus-conventions.md` §6 (Octostache master `5a08233`): text and escapes, names,
//! case-insensitive lookup, recursive evaluation in the scope a value was found in, cycle
//! detection, `if`/`unless`/`elseif`/`else`, `each`, JSON values, `calc`, the built-in
//! filters, echoing of unresolved tokens, strict and continue modes, the `null` marker.
//!
//! The files, one job each: `parser` (text to `ast`), `references` (the variables a parsed
//! template reads), `binding` (the variable tree), `eval`
//! (scopes, lookup, cycles, rendering), `json` (lenient JSON values), `number` (.NET number
//! parsing and printing), `filters/` (one file per family of filters). The public surface is
//! [`Variables`], [`evaluate`], [`evaluate_truthy`], [`check_syntax`], [`references`] (the
//! variables a template reads, for the checks that warn about undefined ones) and their types.
//!
//! Not done here: `GetIndexes`, `GetFlag` and the other typed getters. Known gaps: culture is fixed to en-US/invariant; regular expressions
//! use Rust `regex` syntax (no look-around or backreferences); Markdown is CommonMark via
//! pulldown-cmark shaped like Markdig's output; `NowDate` takes no time-zone option; parse
//! error texts are ours, not Sprache's; nesting is bounded (tokens 200 deep, variable values
//! 100 deep) where Octostache would overflow its stack.
//!
//! Bounded work: one evaluation stops with an error when the text it builds passes
//! [`Limits::max_output_bytes`] (64 MiB) or it takes more than [`Limits::max_steps`] steps
//! (1,000,000: one per token rendered, loop iteration, or scope searched for a variable), so
//! values that refer to each other several times over (`E2 = #{E1}#{E1}`, forty levels deep)
//! fail fast instead of filling memory. Octostache has no such caps. It also stops, with
//! [`TemplateError::Cancelled`], once the flag given to [`cancel_on`] is set: the installer's
//! front end passes its SIGINT/SIGTERM flag there, so every evaluation (scripts, substitutions,
//! filters) sees it without a parameter.

mod ast;
mod binding;
mod error;
mod eval;
mod filters;
mod json;
mod number;
mod parser;
mod references;

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};

pub use error::TemplateError;
pub use filters::Extension;
pub use references::{Reference, references, undefined_references};

use binding::Binding;
use eval::{Engine, Scope, Sink};
use filters::Extensions;
#[cfg(test)]
pub(crate) use filters::escaping_filters;

/// An ordered map from variable name to optional value; names compare case-insensitively.
/// Setting a name that exists (in any case) replaces its value in place. `Debug` shows the
/// names only: values may be secrets.
#[derive(Clone, Default)]
pub struct Variables {
    entries: Vec<(String, Option<String>)>,
    positions: HashMap<String, usize>,
    /// The variable tree (§6.5), kept in step with `entries` so evaluation need not rebuild it.
    tree: Arc<Binding>,
    /// Custom filters by lower-cased name (`AddExtension`, §6.12.3).
    extensions: Extensions,
}

impl Variables {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn set(&mut self, name: impl Into<String>, value: Option<String>) {
        let name = name.into();
        let key = name.to_lowercase();
        match self
            .positions
            .get(&key)
            .and_then(|&i| self.entries.get_mut(i))
        {
            Some(entry) => {
                entry.1 = value;
                // Replacing in place can change which of two same-path names wins: rebuild.
                self.tree = Arc::new(Binding::build(self.iter()));
            }
            None => {
                Arc::make_mut(&mut self.tree).bind(&name, value.as_deref());
                self.positions.insert(key, self.entries.len());
                self.entries.push((name, value));
            }
        }
    }

    /// Registers a custom filter, like `VariableDictionary.AddExtension`: it is called only when
    /// no built-in filter of that name exists or the built-in one returns null. Names are
    /// matched case-insensitively.
    pub fn add_extension(
        &mut self,
        name: &str,
        filter: impl Fn(Option<&str>, &[String]) -> Option<String> + Send + Sync + 'static,
    ) {
        self.extensions
            .insert(name.to_lowercase(), Arc::new(filter));
    }

    /// The raw (unevaluated) value; `None` when missing or null.
    pub fn get_raw(&self, name: &str) -> Option<&str> {
        let i = *self.positions.get(&name.to_lowercase())?;
        self.entries.get(i)?.1.as_deref()
    }

    pub fn contains(&self, name: &str) -> bool {
        self.positions.contains_key(&name.to_lowercase())
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, Option<&str>)> {
        self.entries.iter().map(|(n, v)| (n.as_str(), v.as_deref()))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The evaluated value of the variable with exactly this name (not a path), like
    /// `VariableDictionary.Get`, in continue mode. `None` when the variable is missing or
    /// null, when the value evaluates to a null result (§6.14), or when evaluation fails
    /// (a cycle).
    pub fn get(&self, name: &str) -> Option<String> {
        let raw = self.get_raw(name)?;
        evaluate(raw, self, Mode::Continue).ok()?.output
    }
}

impl std::fmt::Debug for Variables {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Variables")
            .field(
                "names",
                &self.entries.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// How parse failures are handled (§6.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `haltOnError = true`: a template that does not parse is returned unchanged.
    Strict,
    /// `haltOnError = false` (Calamari): unparseable pieces are passed through as text.
    Continue,
}

/// The result of [`evaluate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// The rendered text; `None` is a null result (a top-level `#{ | null}`, §6.14).
    pub output: Option<String>,
    /// Unresolved tokens (`The following tokens were unable to be evaluated: ...`) or, in
    /// strict mode, the parse error.
    pub error: Option<String>,
}

/// Caps on one evaluation (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The longest text one evaluation may build, in bytes: the result, or any value or loop
    /// body rendered on the way.
    pub max_output_bytes: usize,
    /// The most steps (tokens rendered, loop iterations, scopes searched for a variable) one
    /// evaluation may take.
    pub max_steps: u64,
}

impl Limits {
    /// 64 MiB of text and 1,000,000 steps: far above any configuration file or script (a step
    /// is one token, or one scope searched for a variable), while a runaway evaluation stops
    /// within about a second.
    pub const DEFAULT: Limits = Limits {
        max_output_bytes: 64 << 20,
        max_steps: 1_000_000,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The process's cancellation flag, if the front end gave one.
static CANCEL: OnceLock<&'static AtomicBool> = OnceLock::new();

/// Makes every later evaluation in this process stop with [`TemplateError::Cancelled`] once
/// `flag` is set. Process-wide on purpose: the flag is the process's signal flag, and passing it
/// through every caller of the engine (filters, substitutions, scripts) would gain nothing. The
/// first flag given stays.
pub fn cancel_on(flag: &'static AtomicBool) {
    let _ = CANCEL.set(flag);
}

/// Evaluates `text` against `vars`, like `VariableDictionary.Evaluate`, within
/// [`Limits::DEFAULT`].
///
/// A strict-mode parse failure is not an `Err`: as in Octostache, the input comes back
/// unchanged in `output` and the parse message (with its position) in `error`, so a caller
/// can print both. `Err` is for what Octostache throws: a variable cycle
/// ([`TemplateError::is_cycle`]), invalid base64 in `FromBase64`, an unparseable version in a
/// `Version*` filter, a negative JSON array index, and a stop: a [`Limits`] cap
/// ([`TemplateError::is_limit`]) or cancellation.
pub fn evaluate(text: &str, vars: &Variables, mode: Mode) -> Result<Evaluation, TemplateError> {
    evaluate_within(text, vars, mode, Limits::DEFAULT)
}

/// [`evaluate`] within other [`Limits`].
pub fn evaluate_within(
    text: &str,
    vars: &Variables,
    mode: Mode,
    limits: Limits,
) -> Result<Evaluation, TemplateError> {
    if !text.contains("#{") {
        return Ok(Evaluation {
            output: Some(text.to_string()),
            error: None,
        });
    }
    let template = match mode {
        Mode::Continue => parser::parse_continue(text),
        Mode::Strict => match parser::parse_strict(text) {
            Ok(template) => template,
            Err(failure) => {
                let error = TemplateError::from(failure).to_string();
                return Ok(Evaluation {
                    output: Some(text.to_string()),
                    error: Some(error),
                });
            }
        },
    };
    let root = Scope::new(Arc::clone(&vars.tree), None);
    let mut sink = Sink::default();
    let mut output = String::new();
    let cancel = CANCEL.get().copied();
    Engine::new(&vars.extensions, limits, cancel).eval_template(
        &template,
        &root,
        &mut sink,
        &mut output,
    )?;
    let error = (!sink.missing.is_empty()).then(|| {
        let tokens: Vec<String> = sink.missing.iter().map(|t| format!("'{t}'")).collect();
        format!(
            "The following tokens were unable to be evaluated: {}",
            tokens.join(", ")
        )
    });
    Ok(Evaluation {
        output: (!sink.null_result).then_some(output),
        error,
    })
}

/// `EvaluateTruthy`: true only when strict evaluation succeeds with no error and a truthy,
/// non-null result (§6.10.1).
pub fn evaluate_truthy(text: &str, vars: &Variables) -> bool {
    match evaluate(text, vars, Mode::Strict) {
        Ok(Evaluation {
            output: Some(output),
            error: None,
        }) => eval::is_truthy(&output),
        _ => false,
    }
}

/// Parses `text` strictly without evaluating it, for build-time validation; the error names
/// the line, column and offset where parsing failed.
pub fn check_syntax(text: &str) -> Result<(), TemplateError> {
    if !text.contains("#{") {
        return Ok(());
    }
    parser::parse_strict(text)
        .map(|_| ())
        .map_err(TemplateError::from)
}

#[cfg(test)]
mod tests;
