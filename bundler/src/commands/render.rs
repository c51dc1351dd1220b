//! `dropship render`: evaluate an Octostache template from stdin against a variables file and
//! write the result to stdout byte for byte (no newline added). Exit status: 0 on success
//! (continue mode always, unresolved tokens are only warned about on stderr); 1 when the result
//! cannot be written; 2 for a bad variables file or input, and in `--strict` mode when evaluation
//! reports an error (the result is still printed); 3 for a variable cycle, in either mode.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use dropship_runtime::exit::ExitStatus;
use dropship_runtime::template::{Mode, Variables, evaluate};

/// Evaluate a template read from stdin and write the result to stdout
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  echo -n 'Hello #{Name}' | dropship render --vars vars.json\n  \
dropship render --vars vars.json --strict < web.config.template > web.config\n\n\
Exit status: 0 rendered; 1 the result could not be written; 2 bad variables file or input, or \
(with --strict) the template did not parse or has unresolved tokens; 3 a variable refers to itself."
)]
pub struct RenderArgs {
    /// JSON object of variable name to string or null, in order
    #[arg(long)]
    pub vars: PathBuf,
    /// Fail (exit 2) when evaluation reports an error, instead of Calamari's continue mode
    #[arg(long)]
    pub strict: bool,
}

pub fn run(args: RenderArgs) -> ExitCode {
    match render(&args) {
        Ok(status) => status.into(),
        Err(message) => {
            eprintln!("error: {message}");
            ExitStatus::Usage.into()
        }
    }
}

fn render(args: &RenderArgs) -> Result<ExitStatus, String> {
    let vars = load_vars(&args.vars)?;
    let mut input = Vec::new();
    io::stdin()
        .read_to_end(&mut input)
        .map_err(|e| format!("reading the template from stdin: {e}"))?;
    let template = String::from_utf8(input)
        .map_err(|_| "the template on stdin is not valid UTF-8".to_string())?;
    let mode = if args.strict {
        Mode::Strict
    } else {
        Mode::Continue
    };
    let evaluation = match evaluate(&template, &vars, mode) {
        Ok(evaluation) => evaluation,
        Err(err) if err.is_cycle() => {
            eprintln!("error: {err}");
            return Ok(ExitStatus::Integrity);
        }
        Err(err) => return Err(err.to_string()),
    };
    if let Some(output) = &evaluation.output
        && let Err(message) = write_stdout(output.as_bytes())
    {
        // Not the input's fault: stdout is a full disk or a closed file.
        eprintln!("error: {message}");
        return Ok(ExitStatus::Failure);
    }
    match (evaluation.error, args.strict) {
        (None, _) => Ok(ExitStatus::Success),
        (Some(error), true) => {
            eprintln!("error: {error}");
            Ok(ExitStatus::Usage)
        }
        (Some(error), false) => {
            eprintln!("warning: {error}");
            Ok(ExitStatus::Success)
        }
    }
}

/// Writes the result; a closed pipe (`| head`) is not an error.
fn write_stdout(bytes: &[u8]) -> Result<(), String> {
    let mut stdout = io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            Err(format!("writing the result to stdout: {e}"))
        }
        _ => Ok(()),
    }
}

/// Reads the variables file: a JSON object of name to string or null, kept in order.
fn load_vars(path: &Path) -> Result<Variables, String> {
    let shown = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("reading variables file `{shown}`: {e}"))?;
    let json: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("variables file `{shown}` is not valid JSON: {e}"))?;
    let serde_json::Value::Object(map) = json else {
        return Err(format!(
            "variables file `{shown}` must hold a JSON object of name to string or null"
        ));
    };
    let mut vars = Variables::new();
    for (name, value) in map {
        let value = match value {
            serde_json::Value::String(s) => Some(s),
            serde_json::Value::Null => None,
            other => {
                let kind = json_kind(&other);
                return Err(format!(
                    "variables file `{shown}`: variable `{name}` must be a string or null, found {kind}"
                ));
            }
        };
        vars.set(name, value);
    }
    Ok(vars)
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}
