//! The operator's answers to the plan's parameters: the strict answers file, `--set`, secrets
//! from files, stdin or the environment, validation and defaults, and the saved form without
//! secrets. Secrets are accepted only through channels that keep them off the command line.

use crate::plan::{Parameter, ParameterType, Plan};
use crate::secret::Secret;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

mod kept;
mod unique_keys;

pub use kept::{AnswerChanges, Kept};

/// One answer.
#[derive(Debug, Clone)]
pub enum Answer {
    Value(String),
    Secret(Secret),
}

/// Every parameter's answer, in the plan's order.
#[derive(Debug, Clone, Default)]
pub struct Answers {
    entries: Vec<(String, Answer)>,
    /// For `file` parameters: the path the contents came from (saved instead of the contents).
    file_paths: Vec<(String, String)>,
}

impl Answers {
    pub fn get(&self, name: &str) -> Option<&Answer> {
        self.entries
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, a)| a)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Answer)> {
        self.entries.iter().map(|(n, a)| (n.as_str(), a))
    }

    pub fn secrets(&self) -> impl Iterator<Item = &Secret> {
        self.entries.iter().filter_map(|(_, a)| match a {
            Answer::Secret(s) => Some(s),
            Answer::Value(_) => None,
        })
    }

    pub fn insert(&mut self, name: &str, answer: Answer) {
        self.entries.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.entries.push((name.to_string(), answer));
    }

    /// Record a `file` parameter's contents, remembering the path it came from.
    pub fn insert_file(&mut self, name: &str, path: &str, contents: String) {
        self.file_paths.retain(|(n, _)| n != name);
        self.file_paths.push((name.to_string(), path.to_string()));
        self.insert(name, Answer::Value(contents));
    }

    /// The answers as JSON with every secret left out: for `--save-answers`, the journal's
    /// state and the report. A saved file is a valid answers file again.
    pub fn without_secrets(&self) -> Map<String, Value> {
        self.entries
            .iter()
            .filter_map(|(name, answer)| match answer {
                Answer::Secret(_) => None,
                Answer::Value(value) => {
                    let saved = self
                        .file_paths
                        .iter()
                        .find(|(n, _)| n == name)
                        .map_or(value.clone(), |(_, path)| path.clone());
                    Some((name.clone(), Value::String(saved)))
                }
            })
            .collect()
    }
}

/// Where unattended answers come from.
#[derive(Debug, Clone, Default)]
pub struct AnswerSources {
    /// `--answers FILE`
    pub answers_file: Option<PathBuf>,
    /// `--set NAME=VALUE`, as typed
    pub sets: Vec<String>,
    /// `--secret NAME=@FILE`, as typed
    pub secret_files: Vec<String>,
    /// The JSON object read from stdin for `--secrets-stdin`
    pub secrets_json: Option<String>,
    /// Secrets already typed at a masked prompt (a guided `resume` asks only for these).
    pub typed_secrets: Vec<(String, Secret)>,
    /// On an upgrade, the installed version's answers: below every other source.
    pub kept: Option<Kept>,
}

/// Why answers were refused; the message names the parameter and what to do.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct AnswerError(pub String);

fn refuse<T>(message: impl Into<String>) -> Result<T, AnswerError> {
    Err(AnswerError(message.into()))
}

/// The parameters asked for the chosen roles (a parameter with roles is asked only when one of
/// them is chosen).
pub fn active_parameters<'p>(plan: &'p Plan, roles: &[String]) -> Vec<&'p Parameter> {
    plan.parameters()
        .iter()
        .filter(|p| {
            p.roles.is_empty()
                || p.roles
                    .iter()
                    .any(|r| roles.iter().any(|c| c.eq_ignore_ascii_case(r)))
        })
        .collect()
}

/// Check one answer against its parameter's type and pattern; returns the value as stored
/// (`bool`s lower-cased, numbers trimmed). A blank answer to an optional parameter is no answer.
pub fn validate(parameter: &Parameter, value: &str) -> Result<String, String> {
    let normalized = match parameter.kind {
        ParameterType::Bool => value.trim().to_ascii_lowercase(),
        ParameterType::Port | ParameterType::Int => value.trim().to_string(),
        _ => value.to_string(),
    };
    check_characters(parameter.kind, &normalized)?;
    // Whitespace alone is empty: three spaces must not satisfy a required value.
    if normalized.trim().is_empty() {
        return if parameter.required.unwrap_or(true) {
            Err("an answer is required (blank is not an answer)".to_string())
        } else {
            Ok(String::new())
        };
    }
    crate::plan::check_value(parameter, &normalized)?;
    if parameter.kind == ParameterType::Path {
        check_absolute(&normalized)?;
    }
    check_pattern(parameter, &normalized)?;
    Ok(normalized)
}

/// Refuse characters no answer of `kind` can mean. A NUL cannot reach a script's environment,
/// a file name or an argument intact, so no answer holds one. Only `text` and `secret` may
/// span lines (a plan that wants one line says so with a `pattern`); in any other type a line
/// break or other control character is a mistake, and in a path it would forge lines in
/// configuration files and logs.
fn check_characters(kind: ParameterType, value: &str) -> Result<(), String> {
    let multi_line = matches!(kind, ParameterType::Text | ParameterType::Secret);
    match value
        .chars()
        .find(|&c| c == '\0' || (!multi_line && c.is_control()))
    {
        None => Ok(()),
        Some('\0') => Err("the answer contains a NUL character".to_string()),
        Some('\n' | '\r') => Err(format!(
            "a {} answer must be one line: it contains a line break",
            kind.name()
        )),
        Some(c) => Err(format!(
            "a {} answer cannot contain control character U+{:04X}",
            kind.name(),
            u32::from(c)
        )),
    }
}

/// A `path` answer names one place whatever the installer's working directory is.
fn check_absolute(value: &str) -> Result<(), String> {
    if Path::new(value).is_absolute() {
        return Ok(());
    }
    let root = if cfg!(windows) {
        "a drive, like `C:\\`"
    } else {
        "`/`"
    };
    Err(format!(
        "`{value}` is not an absolute path: give the full path, starting with {root}"
    ))
}

fn check_pattern(parameter: &Parameter, value: &str) -> Result<(), String> {
    let Some(pattern) = &parameter.pattern else {
        return Ok(());
    };
    let re = regex::Regex::new(&format!("^(?:{pattern})$")).map_err(|e| e.to_string())?;
    if re.is_match(value) {
        return Ok(());
    }
    Err(parameter
        .help
        .clone()
        .unwrap_or_else(|| format!("the answer must match `{pattern}`")))
}

/// Read a `file` parameter's contents: text, and like every value without a NUL.
fn read_file(path: &str) -> Result<String, String> {
    let contents =
        std::fs::read_to_string(path).map_err(|e| format!("cannot read file `{path}`: {e}"))?;
    if contents.contains('\0') {
        return Err(format!("file `{path}` contains a NUL character"));
    }
    Ok(contents)
}

/// Collect answers for an unattended run; every problem is reported at once.
pub fn unattended(
    plan: &Plan,
    roles: &[String],
    sources: &AnswerSources,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Answers, AnswerError> {
    let parameters = active_parameters(plan, roles);
    let mut given = Vec::new();
    let mut problems = Vec::new();
    if let Some(kept) = &sources.kept {
        given.extend(parameters.iter().filter_map(|parameter| {
            Some(Given {
                name: parameter.name.clone(),
                value: RawAnswer::Text(kept.value(parameter)?),
                origin: kept.origin(),
            })
        }));
    }
    if let Some(path) = &sources.answers_file {
        read_answers_file(path, &parameters, env, &mut given, &mut problems);
    }
    for set in &sources.sets {
        parse_set(set, &parameters, &mut given, &mut problems);
    }
    for secret in &sources.secret_files {
        parse_secret_file(secret, &parameters, &mut given, &mut problems);
    }
    if let Some(json) = &sources.secrets_json {
        parse_secrets_json(json, &parameters, &mut given, &mut problems);
    }
    given.extend(sources.typed_secrets.iter().map(|(name, secret)| Given {
        name: name.clone(),
        value: RawAnswer::Secret(secret.clone()),
        origin: "the prompt".to_string(),
    }));
    let answers = finish(&parameters, &given, sources.kept.as_ref(), &mut problems);
    if problems.is_empty() {
        Ok(answers)
    } else {
        refuse(problems.join("\n"))
    }
}

/// One answer as given, before defaults and validation.
struct Given {
    /// The parameter's name as the plan declares it.
    name: String,
    value: RawAnswer,
    /// Where it came from, for messages: the source, and the file when there is one.
    origin: String,
}

enum RawAnswer {
    Text(String),
    Secret(Secret),
}

fn find<'p>(parameters: &[&'p Parameter], name: &str) -> Option<&'p Parameter> {
    parameters
        .iter()
        .copied()
        .find(|p| p.name.eq_ignore_ascii_case(name))
}

fn valid_names(parameters: &[&Parameter]) -> String {
    parameters
        .iter()
        .map(|p| p.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn unknown(name: &str, origin: &str, parameters: &[&Parameter]) -> String {
    format!(
        "{origin}: `{name}` is not a parameter of this installer (valid names: {})",
        valid_names(parameters)
    )
}

fn secret_hint(name: &str) -> String {
    format!(
        "`{name}` is a secret: give it with `--secret {name}=@FILE`, `--secrets-stdin`, or {{\"env\": \"VARIABLE\"}} in the answers file, never on the command line or in plain text"
    )
}

/// Parse a JSON object whose keys are parameter names, each given once. A duplicate key is
/// named (never a value: the object may hold secrets); `what` says what the object must be.
fn parse_object(text: &str, origin: &str, what: &str) -> Result<Map<String, Value>, String> {
    let not_json = |e: serde_json::Error| {
        if e.is_data() {
            format!("{origin}: {e}")
        } else {
            format!("{origin}: {what} (not valid JSON: {e})")
        }
    };
    unique_keys::check(text).map_err(not_json)?;
    match serde_json::from_str::<Value>(text).map_err(not_json)? {
        Value::Object(map) => Ok(map),
        _ => Err(format!("{origin}: {what}")),
    }
}

fn read_answers_file(
    path: &Path,
    parameters: &[&Parameter],
    env: &dyn Fn(&str) -> Option<String>,
    given: &mut Vec<Given>,
    problems: &mut Vec<String>,
) {
    let origin = format!("answers file `{}`", path.display());
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => return problems.push(format!("{origin}: cannot read it: {e}")),
    };
    let what = "must be a JSON object of parameter name to value";
    let map = match parse_object(&text, &origin, what) {
        Ok(map) => map,
        Err(problem) => return problems.push(problem),
    };
    for (name, value) in map {
        let Some(parameter) = find(parameters, &name) else {
            problems.push(unknown(&name, &origin, parameters));
            continue;
        };
        match answer_from_json(parameter, &value, env) {
            Ok(value) => given.push(Given {
                name: parameter.name.clone(),
                value,
                origin: origin.clone(),
            }),
            Err(why) => problems.push(format!("{origin}: `{name}`: {why}")),
        }
    }
}

fn answer_from_json(
    parameter: &Parameter,
    value: &Value,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<RawAnswer, String> {
    let is_secret = parameter.kind == ParameterType::Secret;
    if let Some(variable) = value
        .as_object()
        .and_then(|o| (o.len() == 1).then(|| o.get("env")).flatten())
    {
        let variable = variable
            .as_str()
            .ok_or("`env` must name an environment variable")?;
        let text =
            env(variable).ok_or_else(|| format!("environment variable `{variable}` is not set"))?;
        return Ok(if is_secret {
            RawAnswer::Secret(Secret::new(text))
        } else {
            RawAnswer::Text(text)
        });
    }
    if is_secret {
        return Err(secret_hint(&parameter.name));
    }
    match (parameter.kind, value) {
        (_, Value::String(s)) => Ok(RawAnswer::Text(s.clone())),
        (ParameterType::Bool, Value::Bool(b)) => Ok(RawAnswer::Text(b.to_string())),
        (ParameterType::Port | ParameterType::Int, Value::Number(n)) => {
            Ok(RawAnswer::Text(n.to_string()))
        }
        _ => Err(format!(
            "expected a {} value, found {value}",
            parameter.kind.name()
        )),
    }
}

fn parse_set(
    set: &str,
    parameters: &[&Parameter],
    given: &mut Vec<Given>,
    problems: &mut Vec<String>,
) {
    let Some((name, value)) = set.split_once('=') else {
        return problems.push(format!("--set `{set}`: write it as NAME=VALUE"));
    };
    match find(parameters, name) {
        None => problems.push(unknown(name, "--set", parameters)),
        Some(p) if p.kind == ParameterType::Secret => {
            // Do not echo the value: it is a secret typed where it should not have been.
            problems.push(format!("--set: {}", secret_hint(&p.name)));
        }
        Some(p) => given.push(Given {
            name: p.name.clone(),
            value: RawAnswer::Text(value.to_string()),
            origin: "--set".to_string(),
        }),
    }
}

fn parse_secret_file(
    spec: &str,
    parameters: &[&Parameter],
    given: &mut Vec<Given>,
    problems: &mut Vec<String>,
) {
    let Some((name, path)) = spec.split_once("=@") else {
        return problems.push(
            "--secret: write it as NAME=@FILE (the value comes from the file, never from the command line)".to_string(),
        );
    };
    let Some(parameter) = find(parameters, name) else {
        return problems.push(unknown(name, "--secret", parameters));
    };
    match std::fs::read_to_string(path) {
        // A trailing newline is how files end, not part of the secret.
        Ok(text) => given.push(Given {
            name: parameter.name.clone(),
            value: RawAnswer::Secret(Secret::new(
                text.strip_suffix('\n')
                    .unwrap_or(&text)
                    .trim_end_matches('\r'),
            )),
            origin: format!("--secret file `{path}`"),
        }),
        Err(e) => problems.push(format!("--secret {name}: cannot read `{path}`: {e}")),
    }
}

fn parse_secrets_json(
    json: &str,
    parameters: &[&Parameter],
    given: &mut Vec<Given>,
    problems: &mut Vec<String>,
) {
    let origin = "--secrets-stdin";
    let what = "stdin must be a JSON object of secret name to string";
    let map = match parse_object(json, origin, what) {
        Ok(map) => map,
        Err(problem) => return problems.push(problem),
    };
    for (name, value) in map {
        match (find(parameters, &name), value) {
            (None, _) => problems.push(unknown(&name, origin, parameters)),
            (Some(p), Value::String(text)) => given.push(Given {
                name: p.name.clone(),
                value: RawAnswer::Secret(Secret::new(text)),
                origin: origin.to_string(),
            }),
            (Some(p), _) => problems.push(format!("{origin}: `{}` must be a string", p.name)),
        }
    }
}

/// Apply defaults, check required answers and validate every value; on an upgrade, a missing
/// answer the installed version did not ask is said to be new.
fn finish(
    parameters: &[&Parameter],
    given: &[Given],
    kept: Option<&Kept>,
    problems: &mut Vec<String>,
) -> Answers {
    let mut answers = Answers::default();
    for parameter in parameters {
        // Later sources override earlier ones: `--set` overrides the answers file.
        match given.iter().rev().find(|g| g.name == parameter.name) {
            Some(g) => accept(parameter, &g.value, &g.origin, &mut answers, problems),
            None => match &parameter.default {
                Some(default) => {
                    let default = RawAnswer::Text(default.clone());
                    accept(
                        parameter,
                        &default,
                        "the plan's default",
                        &mut answers,
                        problems,
                    );
                }
                None if parameter.required.unwrap_or(true) => {
                    let new = match kept {
                        Some(kept) if parameter.kind != ParameterType::Secret => {
                            format!(", new since {}", kept.version)
                        }
                        _ => String::new(),
                    };
                    problems.push(format!(
                        "`{}` needs an answer{new}{}",
                        parameter.name,
                        how_to_answer(parameter)
                    ));
                }
                None => answers.insert(&parameter.name, Answer::Value(String::new())),
            },
        }
    }
    answers
}

fn how_to_answer(parameter: &Parameter) -> String {
    if parameter.kind == ParameterType::Secret {
        format!(": {}", secret_hint(&parameter.name))
    } else {
        format!(" (answers file, or --set {}=VALUE)", parameter.name)
    }
}

/// Validate one given answer and record it, or say why not, naming the parameter and where
/// the answer came from.
fn accept(
    parameter: &Parameter,
    value: &RawAnswer,
    origin: &str,
    answers: &mut Answers,
    problems: &mut Vec<String>,
) {
    let accepted = match value {
        RawAnswer::Secret(secret) => accept_secret(parameter, secret, answers),
        RawAnswer::Text(text) => record_text(parameter, text, answers)
            .map_err(|why| format!("`{}`: {why}", parameter.name)),
    };
    if let Err(why) = accepted {
        problems.push(format!("{origin}: {why}"));
    }
}

fn accept_secret(
    parameter: &Parameter,
    secret: &Secret,
    answers: &mut Answers,
) -> Result<(), String> {
    let name = &parameter.name;
    if parameter.kind != ParameterType::Secret {
        return Err(format!(
            "`{name}` is not a secret; give it in the answers file or with --set"
        ));
    }
    // The reason names the rule, never the secret's value.
    validate(parameter, secret.expose_secret()).map_err(|why| format!("secret `{name}`: {why}"))?;
    answers.insert(name, Answer::Secret(secret.clone()));
    Ok(())
}

/// Validate a non-secret answer and record it; a `file` parameter's file is read here.
pub fn record_text(parameter: &Parameter, text: &str, answers: &mut Answers) -> Result<(), String> {
    let value = validate(parameter, text)?;
    if parameter.kind == ParameterType::File && !value.is_empty() {
        let contents = read_file(&value)?;
        answers.insert_file(&parameter.name, &value, contents);
    } else {
        answers.insert(&parameter.name, Answer::Value(value));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Plan {
        Plan::parse(
            br#"{
              "schema": "dropship/plan@1",
              "product": { "name": "P", "version": "1" },
              "roles": ["web", "db"],
              "parameters": [
                { "name": "Root", "type": "path", "default": "/opt/p" },
                { "name": "Db.Password", "type": "secret", "pattern": ".{8,}" },
                { "name": "Port", "type": "port", "default": "8443" },
                { "name": "Db.Host", "type": "text", "roles": ["db"] },
                { "name": "Fast", "type": "bool", "required": false }
              ],
              "steps": [ { "name": "S", "type": "manual", "instructions": "x" } ]
            }"#,
            "plan.json",
        )
        .unwrap()
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        dir
    }

    #[test]
    #[cfg(unix)] // Unix absolute paths (`/opt/...`) as answers
    fn answers_file_env_secret_defaults_and_roles() {
        let dir = dir_with(&[(
            "a.json",
            r#"{"Port": 9443, "Db.Password": {"env": "DB_PW"}}"#,
        )]);
        let sources = AnswerSources {
            answers_file: Some(dir.path().join("a.json")),
            ..Default::default()
        };
        let env = |name: &str| (name == "DB_PW").then(|| "correct horse".to_string());
        let answers = unattended(&plan(), &["web".into()], &sources, &env).unwrap();
        assert!(matches!(answers.get("port"), Some(Answer::Value(v)) if v == "9443"));
        assert!(matches!(answers.get("Root"), Some(Answer::Value(v)) if v == "/opt/p"));
        assert!(
            matches!(answers.get("Db.Password"), Some(Answer::Secret(s)) if s.expose_secret() == "correct horse")
        );
        assert!(
            answers.get("Db.Host").is_none(),
            "db-only parameter not asked for web"
        );
        let saved = serde_json::to_string(&answers.without_secrets()).unwrap();
        assert!(
            !saved.contains("correct horse") && !saved.contains("Db.Password"),
            "{saved}"
        );
    }

    #[test]
    fn secrets_are_refused_outside_safe_channels_without_echoing_them() {
        let dir = dir_with(&[(
            "a.json",
            r#"{"Db.Password": "plaintext-pw", "Colour": "red", "Port": true}"#,
        )]);
        let sources = AnswerSources {
            answers_file: Some(dir.path().join("a.json")),
            sets: vec!["Db.Password=typed-on-argv".into(), "Nope=1".into()],
            ..Default::default()
        };
        let err = unattended(&plan(), &[], &sources, &no_env)
            .unwrap_err()
            .to_string();
        for needle in [
            "`Db.Password` is a secret",
            "`Colour` is not a parameter",
            "valid names: Root, Db.Password",
            "expected a port value",
            "`Nope` is not a parameter",
        ] {
            assert!(err.contains(needle), "missing `{needle}` in {err}");
        }
        assert!(
            !err.contains("plaintext-pw") && !err.contains("typed-on-argv"),
            "{err}"
        );
    }

    #[test]
    #[cfg(unix)] // Unix absolute paths (`/opt/...`) as answers
    fn secret_from_file_and_stdin_and_validation() {
        let dir = dir_with(&[("pw", "short\n")]);
        let sources = AnswerSources {
            secret_files: vec![format!("Db.Password=@{}", dir.path().join("pw").display())],
            ..Default::default()
        };
        let err = unattended(&plan(), &[], &sources, &no_env)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("secret `Db.Password`: the answer must match"),
            "{err}"
        );
        assert!(!err.contains("short"), "{err}");
        let sources = AnswerSources {
            secrets_json: Some(r#"{"Db.Password": "long enough secret"}"#.into()),
            ..Default::default()
        };
        let answers = unattended(&plan(), &[], &sources, &no_env).unwrap();
        assert_eq!(answers.secrets().count(), 1);
    }

    fn parameter(kind: &str, extra: Value) -> Parameter {
        let mut json = serde_json::json!({ "name": "P", "type": kind });
        if let (Some(json), Value::Object(extra)) = (json.as_object_mut(), extra) {
            json.extend(extra);
        }
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn nul_is_refused_in_every_type_and_line_breaks_outside_text_and_secrets() {
        let choice = serde_json::json!({ "options": ["a\nb", "a"] });
        for (kind, extra, value) in [
            ("path", Value::Null, "/opt/a\nb"),
            ("path", Value::Null, "/opt/a\rb"),
            ("path", Value::Null, "/opt/a\tb"),
            ("file", Value::Null, "/etc/a\nb"),
            ("port", Value::Null, "84\n43"),
            ("int", Value::Null, "1\r2"),
            ("bool", Value::Null, "tr\nue"),
            ("choice", choice.clone(), "a\nb"),
        ] {
            let err = validate(&parameter(kind, extra), value).unwrap_err();
            assert!(
                err.contains("must be one line") || err.contains("control character U+0009"),
                "{kind} {value:?}: {err}"
            );
            assert!(!err.contains('\n'), "the message is one line: {err:?}");
        }
        for kind in ["text", "secret", "path", "port", "choice"] {
            let err = validate(&parameter(kind, choice.clone()), "/a\0b").unwrap_err();
            assert_eq!(err, "the answer contains a NUL character", "{kind}");
        }
        for kind in ["text", "secret"] {
            assert_eq!(
                validate(&parameter(kind, Value::Null), "a\nb\r\n").unwrap(),
                "a\nb\r\n"
            );
        }
        // Numbers and booleans are trimmed first, so a file's final newline is no line break.
        assert_eq!(
            validate(&parameter("port", Value::Null), "8443\n").unwrap(),
            "8443"
        );
        assert_eq!(
            validate(&parameter("bool", Value::Null), " TRUE\r\n").unwrap(),
            "true"
        );
    }

    #[test]
    #[cfg(unix)] // Unix absolute paths (`/opt/...`) as answers
    fn a_path_must_be_absolute() {
        let path = parameter("path", Value::Null);
        for relative in ["relative/dir", "./x", "../x", "~/x"] {
            let err = validate(&path, relative).unwrap_err();
            assert!(err.contains("is not an absolute path"), "{relative}: {err}");
        }
        assert_eq!(validate(&path, "/opt/x").unwrap(), "/opt/x");
        // A `file` is read from where the operator is, so it may be relative.
        assert_eq!(
            validate(&parameter("file", Value::Null), "cert.pem").unwrap(),
            "cert.pem"
        );
    }

    #[test]
    fn whitespace_alone_is_no_answer() {
        for kind in ["text", "secret", "path", "port", "int", "bool", "file"] {
            let err = validate(&parameter(kind, Value::Null), "   ").unwrap_err();
            assert!(err.contains("an answer is required"), "{kind}: {err}");
            let optional = parameter(kind, serde_json::json!({ "required": false }));
            assert_eq!(validate(&optional, "   ").unwrap(), "", "{kind}");
        }
    }

    fn answers_file(text: &str) -> (tempfile::TempDir, AnswerSources) {
        let dir = dir_with(&[("a.json", text)]);
        let sources = AnswerSources {
            answers_file: Some(dir.path().join("a.json")),
            secrets_json: Some(r#"{"Db.Password": "long enough secret"}"#.into()),
            ..Default::default()
        };
        (dir, sources)
    }

    fn refusal(sources: &AnswerSources) -> String {
        unattended(&plan(), &[], sources, &no_env)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn refusals_name_the_field_and_the_file() {
        let (dir, sources) = answers_file(r#"{"Root": "/opt/a\nb", "Port": "1"}"#);
        let err = refusal(&sources);
        let file = dir.path().join("a.json");
        let expected = format!(
            "answers file `{}`: `Root`: a path answer must be one line",
            file.display()
        );
        assert!(err.starts_with(&expected), "{err}");
        let sources = AnswerSources {
            sets: vec!["Root=relative/dir".into()],
            ..sources
        };
        let err = refusal(&sources);
        assert!(
            err.contains("--set: `Root`: `relative/dir` is not an absolute path"),
            "{err}"
        );
    }

    #[test]
    fn duplicate_keys_are_refused_naming_the_key_and_the_file() {
        for text in [
            r#"{"Root": "/a", "Port": "1", "Root": "/b"}"#,
            r#"{"Root": "/a", "ROOT": "/b"}"#,
        ] {
            let (dir, sources) = answers_file(text);
            let err = refusal(&sources);
            let file = dir.path().join("a.json").display().to_string();
            assert!(err.contains(&format!("answers file `{file}`")), "{err}");
            assert!(err.contains("is given more than once"), "{err}");
        }
        let sources = AnswerSources {
            secrets_json: Some(
                r#"{"Db.Password": "first-secret", "Db.Password": "second"}"#.into(),
            ),
            ..Default::default()
        };
        let err = refusal(&sources);
        assert!(
            err.contains("--secrets-stdin: `Db.Password` is given more than once"),
            "{err}"
        );
        assert!(
            !err.contains("first-secret") && !err.contains("second"),
            "{err}"
        );
    }

    #[test]
    fn a_nul_in_a_secret_is_refused_without_echoing_it() {
        let dir = dir_with(&[("pw", "long-enough\0secret\n")]);
        let file = dir.path().join("pw");
        let from_file = AnswerSources {
            secret_files: vec![format!("Db.Password=@{}", file.display())],
            ..Default::default()
        };
        let from_stdin = AnswerSources {
            secrets_json: Some(r#"{"Db.Password": "long-enough\u0000secret"}"#.into()),
            ..Default::default()
        };
        for (sources, origin) in [
            (from_file, format!("--secret file `{}`", file.display())),
            (from_stdin, "--secrets-stdin".to_string()),
        ] {
            let err = refusal(&sources);
            let expected = format!("{origin}: secret `Db.Password`: the answer contains a NUL");
            assert!(err.contains(&expected), "{err}");
            assert!(!err.contains("long-enough"), "{err}");
        }
    }

    #[test]
    fn a_file_answer_with_a_nul_is_refused() {
        let dir = dir_with(&[("cert", "a\0b")]);
        let cert = dir.path().join("cert").display().to_string();
        let mut answers = Answers::default();
        let err = record_text(&parameter("file", Value::Null), &cert, &mut answers).unwrap_err();
        assert_eq!(err, format!("file `{cert}` contains a NUL character"));
        assert!(answers.get("P").is_none());
    }

    #[test]
    fn a_bad_default_is_named_as_the_plans() {
        let plan = Plan::parse(
            br#"{
              "schema": "dropship/plan@1",
              "product": { "name": "P", "version": "1" },
              "parameters": [ { "name": "Root", "type": "path", "default": "opt/p" } ],
              "steps": [ { "name": "S", "type": "manual", "instructions": "x" } ]
            }"#,
            "plan.json",
        )
        .unwrap();
        let err = unattended(&plan, &[], &AnswerSources::default(), &no_env)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("the plan's default: `Root`: `opt/p` is not an absolute path"),
            "{err}"
        );
    }

    #[test]
    fn missing_required_answers_are_listed() {
        let err = unattended(&plan(), &["db".into()], &AnswerSources::default(), &no_env)
            .unwrap_err()
            .to_string();
        assert!(err.contains("`Db.Password` needs an answer"), "{err}");
        assert!(err.contains("`Db.Host` needs an answer"), "{err}");
    }
}
