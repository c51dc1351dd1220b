//! `installer params`: what an unattended run needs to be told. Every parameter of the plan
//! (name, label, type, default, required, secret, roles, help) as text or JSON, or an answers
//! file to fill in: defaults written in, each secret as an `{"env": "..."}` placeholder (a secret
//! is never written into an answers file).
//!
//! The plan is read from the installer without verifying its signature, as `info` reads the
//! manifest: nothing it says is acted on here; `install` verifies before it uses anything.

use dropship_runtime::container::InstallerFile;
use dropship_runtime::exit::ExitStatus;
use dropship_runtime::extract;
use dropship_runtime::plan::{Parameter, ParameterType, Plan};
use serde_json::{Map, Value, json};
use std::path::Path;

/// The plan inside the installer is at most this large (the runtime's own limit on plans).
const PLAN_LIMIT: u64 = 16 << 20;

/// How `params` shows the parameters.
pub enum ParamsOutput<'a> {
    Text,
    Json,
    AnswersTemplate(&'a Path),
}

/// Why `params` failed: the installer's own plan could not be read (damage, exit 3), or the
/// template could not be written (this machine, exit 1).
#[derive(Debug, thiserror::Error)]
pub enum ParamsError {
    #[error("{0}")]
    Plan(String),
    #[error("writing `{path}`: {source}")]
    Write {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

impl ParamsError {
    pub fn exit_status(&self) -> ExitStatus {
        match self {
            ParamsError::Plan(_) => ExitStatus::Integrity,
            ParamsError::Write { .. } => ExitStatus::Failure,
        }
    }
}

pub fn run(file: &InstallerFile, output: ParamsOutput<'_>) -> Result<(), ParamsError> {
    let plan = read_plan(file).map_err(ParamsError::Plan)?;
    let parameters = &plan.document().parameters;
    match output {
        ParamsOutput::Text => print!("{}", text(parameters)),
        ParamsOutput::Json => println!("{}", pretty(&json_list(parameters))),
        ParamsOutput::AnswersTemplate(path) => write_template(path, parameters)?,
    }
    Ok(())
}

fn read_plan(file: &InstallerFile) -> Result<Plan, String> {
    let bytes = extract::read_member_unverified(file, "plan.json", PLAN_LIMIT)
        .map_err(|e| e.to_string())?
        .ok_or("the installer holds no plan; it was not built by `dropship build`")?;
    Plan::parse(&bytes, "plan.json (in the installer)").map_err(|e| e.to_string())
}

fn text(parameters: &[Parameter]) -> String {
    let mut out =
        String::from("Parameters (read without verifying the installer; `verify` checks it):\n");
    for parameter in parameters {
        out.push_str(&format!("\n  {}\n", parameter.name));
        for (key, value) in facts(parameter) {
            out.push_str(&format!("    {key:<9} {value}\n"));
        }
    }
    if parameters.is_empty() {
        out.push_str("  (none)\n");
    }
    out
}

/// The facts `text` shows, in order, those with a value.
fn facts(parameter: &Parameter) -> Vec<(&'static str, String)> {
    let kind = parameter.kind.name();
    let mut facts = vec![("type", kind.to_string())];
    let optional = [
        ("label", parameter.label.clone()),
        ("default", parameter.default.clone()),
        ("choices", non_empty(&parameter.options)),
        ("roles", non_empty(&parameter.roles)),
        ("help", parameter.help.clone()),
    ];
    facts.push(("required", yes_no(required(parameter))));
    facts.push(("secret", yes_no(is_secret(parameter))));
    facts.extend(optional.into_iter().filter_map(|(k, v)| Some((k, v?))));
    facts
}

fn json_list(parameters: &[Parameter]) -> Value {
    let list = parameters.iter().map(|p| {
        json!({
            "name": p.name,
            "label": p.label.as_deref().unwrap_or(&p.name),
            "type": p.kind.name(),
            "default": p.default,
            "required": required(p),
            "secret": is_secret(p),
            "roles": p.roles,
            "help": p.help,
            "options": p.options,
        })
    });
    Value::Array(list.collect())
}

/// An answers file with every parameter: defaults filled in, blanks to fill, secrets as
/// environment-variable placeholders. An existing file is never overwritten.
fn write_template(path: &Path, parameters: &[Parameter]) -> Result<(), ParamsError> {
    let mut answers = Map::new();
    for parameter in parameters {
        let value = if is_secret(parameter) {
            json!({ "env": env_name(&parameter.name) })
        } else {
            json!(parameter.default.clone().unwrap_or_default())
        };
        answers.insert(parameter.name.clone(), value);
    }
    let text = pretty(&Value::Object(answers)) + "\n";
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .and_then(|mut file| std::io::Write::write_all(&mut file, text.as_bytes()));
    written.map_err(|source| ParamsError::Write {
        path: path.to_path_buf(),
        source,
    })?;
    eprintln!(
        "wrote {}: fill in the blanks, set the environment variables it names for the secrets, \
         then run `install --unattended --answers {}`",
        path.display(),
        path.display()
    );
    Ok(())
}

/// `Database.Password` → `DATABASE_PASSWORD`.
fn env_name(parameter: &str) -> String {
    parameter
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// Whether an unattended run must give an answer: required by the plan and without a default.
fn required(parameter: &Parameter) -> bool {
    parameter.required.unwrap_or(true) && parameter.default.is_none()
}

fn is_secret(parameter: &Parameter) -> bool {
    parameter.kind == ParameterType::Secret
}

fn non_empty(list: &[String]) -> Option<String> {
    (!list.is_empty()).then(|| list.join(", "))
}

fn yes_no(value: bool) -> String {
    if value { "yes" } else { "no" }.to_string()
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}
