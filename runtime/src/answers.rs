//! The operator's answers to the plan's parameters: the strict answers file, `--set`, secrets
//! from files, stdin or the environment, validation and defaults, and the saved form without
//! secrets. Secrets are accepted only through channels that keep them off the command line.

use crate::plan::{Parameter, ParameterType, Plan};
use crate::secret::Secret;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

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
/// (`bool`s lower-cased, numbers trimmed).
pub fn validate(parameter: &Parameter, value: &str) -> Result<String, String> {
    let normalized = match parameter.kind {
        ParameterType::Bool => value.trim().to_ascii_lowercase(),
        ParameterType::Port | ParameterType::Int => value.trim().to_string(),
        _ => value.to_string(),
    };
    crate::plan::check_value(parameter, &normalized)?;
    if let Some(pattern) = &parameter.pattern {
        let re = regex::Regex::new(&format!("^(?:{pattern})$")).map_err(|e| e.to_string())?;
        if !re.is_match(&normalized) {
            return Err(parameter
                .help
                .clone()
                .unwrap_or_else(|| format!("the answer must match `{pattern}`")));
        }
    }
    if parameter.required.unwrap_or(true) && normalized.is_empty() {
        return Err("an answer is required".to_string());
    }
    Ok(normalized)
}

/// Collect answers for an unattended run; every problem is reported at once.
pub fn unattended(
    plan: &Plan,
    roles: &[String],
    sources: &AnswerSources,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Answers, AnswerError> {
    let parameters = active_parameters(plan, roles);
    let mut raw: Vec<(String, RawAnswer)> = Vec::new();
    let mut problems = Vec::new();
    if let Some(path) = &sources.answers_file {
        read_answers_file(path, &parameters, env, &mut raw, &mut problems);
    }
    for set in &sources.sets {
        parse_set(set, &parameters, &mut raw, &mut problems);
    }
    for secret in &sources.secret_files {
        parse_secret_file(secret, &parameters, &mut raw, &mut problems);
    }
    if let Some(json) = &sources.secrets_json {
        parse_secrets_json(json, &parameters, &mut raw, &mut problems);
    }
    raw.extend(
        sources
            .typed_secrets
            .iter()
            .map(|(name, secret)| (name.clone(), RawAnswer::Secret(secret.clone()))),
    );
    let answers = finish(&parameters, raw, &mut problems);
    if problems.is_empty() {
        Ok(answers)
    } else {
        refuse(problems.join("\n"))
    }
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

fn read_answers_file(
    path: &Path,
    parameters: &[&Parameter],
    env: &dyn Fn(&str) -> Option<String>,
    raw: &mut Vec<(String, RawAnswer)>,
    problems: &mut Vec<String>,
) {
    let origin = format!("answers file `{}`", path.display());
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => return problems.push(format!("{origin}: cannot read it: {e}")),
    };
    let map = match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(map)) => map,
        Ok(_) => {
            return problems.push(format!(
                "{origin}: must be a JSON object of parameter name to value"
            ));
        }
        Err(e) => return problems.push(format!("{origin}: not valid JSON: {e}")),
    };
    for (name, value) in map {
        let Some(parameter) = find(parameters, &name) else {
            problems.push(unknown(&name, &origin, parameters));
            continue;
        };
        match answer_from_json(parameter, &value, env) {
            Ok(answer) => raw.push((parameter.name.clone(), answer)),
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
    raw: &mut Vec<(String, RawAnswer)>,
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
        Some(p) => raw.push((p.name.clone(), RawAnswer::Text(value.to_string()))),
    }
}

fn parse_secret_file(
    spec: &str,
    parameters: &[&Parameter],
    raw: &mut Vec<(String, RawAnswer)>,
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
        Ok(text) => raw.push((
            parameter.name.clone(),
            RawAnswer::Secret(Secret::new(
                text.strip_suffix('\n')
                    .unwrap_or(&text)
                    .trim_end_matches('\r'),
            )),
        )),
        Err(e) => problems.push(format!("--secret {name}: cannot read `{path}`: {e}")),
    }
}

fn parse_secrets_json(
    json: &str,
    parameters: &[&Parameter],
    raw: &mut Vec<(String, RawAnswer)>,
    problems: &mut Vec<String>,
) {
    let map = match serde_json::from_str::<Value>(json) {
        Ok(Value::Object(map)) => map,
        _ => {
            return problems.push(
                "--secrets-stdin: stdin must be a JSON object of secret name to string".to_string(),
            );
        }
    };
    for (name, value) in map {
        match (find(parameters, &name), value) {
            (None, _) => problems.push(unknown(&name, "--secrets-stdin", parameters)),
            (Some(p), Value::String(text)) => {
                raw.push((p.name.clone(), RawAnswer::Secret(Secret::new(text))))
            }
            (Some(p), _) => {
                problems.push(format!("--secrets-stdin: `{}` must be a string", p.name))
            }
        }
    }
}

/// Apply defaults, check required answers and validate every value.
fn finish(
    parameters: &[&Parameter],
    raw: Vec<(String, RawAnswer)>,
    problems: &mut Vec<String>,
) -> Answers {
    let mut answers = Answers::default();
    for parameter in parameters {
        let given = raw
            .iter()
            .rev()
            .find(|(n, _)| n == &parameter.name)
            .map(|(_, a)| a);
        match given {
            Some(RawAnswer::Secret(secret)) => {
                if parameter.kind != ParameterType::Secret {
                    problems.push(format!(
                        "`{}` is not a secret; give it in the answers file or with --set",
                        parameter.name
                    ));
                } else if let Err(why) = validate(parameter, secret.expose_secret()) {
                    // Never echo a secret's value in the message.
                    problems.push(format!("secret `{}`: {why}", parameter.name));
                } else {
                    answers.insert(&parameter.name, Answer::Secret(secret.clone()));
                }
            }
            Some(RawAnswer::Text(text)) => accept_text(parameter, text, &mut answers, problems),
            None => match &parameter.default {
                Some(default) => accept_text(parameter, default, &mut answers, problems),
                None if parameter.required.unwrap_or(true) => {
                    problems.push(format!(
                        "`{}` needs an answer{}",
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

fn accept_text(
    parameter: &Parameter,
    text: &str,
    answers: &mut Answers,
    problems: &mut Vec<String>,
) {
    match validate(parameter, text) {
        Ok(value) if parameter.kind == ParameterType::File => match std::fs::read_to_string(&value)
        {
            Ok(contents) => answers.insert_file(&parameter.name, &value, contents),
            Err(e) => problems.push(format!(
                "`{}`: cannot read file `{value}`: {e}",
                parameter.name
            )),
        },
        Ok(value) => answers.insert(&parameter.name, Answer::Value(value)),
        Err(why) => problems.push(format!("`{}`: {why}", parameter.name)),
    }
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

    #[test]
    fn missing_required_answers_are_listed() {
        let err = unattended(&plan(), &["db".into()], &AnswerSources::default(), &no_env)
            .unwrap_err()
            .to_string();
        assert!(err.contains("`Db.Password` needs an answer"), "{err}");
        assert!(err.contains("`Db.Host` needs an answer"), "{err}");
    }
}
