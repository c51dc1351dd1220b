//! The answers an upgrade keeps: the installed version's non-secret answers are the lowest layer
//! of the new install's (below the answers file and `--set`), found under the parameter's name
//! or one of its `previous-names`; and what changed between the two, for the report.

use super::Answers;
use crate::plan::{Parameter, ParameterType};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The answers of the installed version.
#[derive(Debug, Clone, Default)]
pub struct Kept {
    /// The installed version they were given for.
    pub version: String,
    pub values: Map<String, Value>,
}

impl Kept {
    /// The kept answer for `parameter`, as text: saved under its name or a previous one.
    /// Secrets were never saved.
    pub fn value(&self, parameter: &Parameter) -> Option<String> {
        if parameter.kind == ParameterType::Secret {
            return None;
        }
        let (_, value) = self.entry(parameter)?;
        Some(
            value
                .as_str()
                .map_or_else(|| value.to_string(), str::to_string),
        )
    }

    /// Where the kept answers came from, for messages.
    pub fn origin(&self) -> String {
        format!("the answer kept from {}", self.version)
    }

    fn entry(&self, parameter: &Parameter) -> Option<(&String, &Value)> {
        let names = std::iter::once(&parameter.name).chain(&parameter.previous_names);
        names
            .flat_map(|name| {
                self.values
                    .iter()
                    .filter(move |(saved, _)| saved.eq_ignore_ascii_case(name))
            })
            .next()
    }

    fn claims(&self, parameters: &[&Parameter], saved: &str) -> bool {
        parameters.iter().any(|p| {
            self.entry(p)
                .is_some_and(|(name, _)| name.eq_ignore_ascii_case(saved))
        })
    }
}

/// How the answers of an upgrade relate to the installed version's, by parameter name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerChanges {
    /// The same answer as the installed version's.
    pub kept: Vec<String>,
    /// Answered before, answered differently now (answers file or `--set`).
    pub changed: Vec<String>,
    /// Parameters the installed version did not ask.
    pub new: Vec<String>,
    /// Answers of the installed version no parameter takes any more.
    pub removed: Vec<String>,
    /// Secrets: never stored, so given again.
    pub asked_again: Vec<String>,
}

impl AnswerChanges {
    pub fn between(kept: &Kept, parameters: &[&Parameter], answers: &Answers) -> Self {
        let mut changes = AnswerChanges::default();
        let now_all = answers.without_secrets();
        for parameter in parameters {
            let name = parameter.name.clone();
            if parameter.kind == ParameterType::Secret {
                changes.asked_again.push(name);
                continue;
            }
            match (kept.entry(parameter), now_all.get(&name)) {
                (None, _) => changes.new.push(name),
                (Some((_, before)), Some(now)) if before == now => changes.kept.push(name),
                (Some(_), _) => changes.changed.push(name),
            }
        }
        changes.removed = kept
            .values
            .keys()
            .filter(|saved| !kept.claims(parameters, saved))
            .cloned()
            .collect();
        changes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answers::Answer;

    fn parameter(name: &str, kind: &str, previous: &[&str]) -> Parameter {
        serde_json::from_value(serde_json::json!({
            "name": name, "type": kind, "previous-names": previous
        }))
        .unwrap()
    }

    fn kept(values: Value) -> Kept {
        Kept {
            version: "4.12.0".into(),
            values: values.as_object().unwrap().clone(),
        }
    }

    #[test]
    fn a_kept_answer_is_found_by_name_or_previous_name_never_for_a_secret() {
        let kept = kept(serde_json::json!({"install.root": "/srv/f", "Old.Port": "9443"}));
        assert_eq!(
            kept.value(&parameter("Install.Root", "path", &[]))
                .as_deref(),
            Some("/srv/f")
        );
        let port = parameter("Service.Port", "port", &["Old.Port"]);
        assert_eq!(kept.value(&port).as_deref(), Some("9443"));
        assert_eq!(kept.value(&parameter("Db.Password", "secret", &[])), None);
        assert_eq!(kept.value(&parameter("Other", "text", &[])), None);
    }

    #[test]
    fn changes_name_kept_changed_new_removed_and_secrets() {
        let kept = kept(serde_json::json!({
            "Install.Root": "/srv/f", "Old.Port": "9443", "Mode": "a", "Gone": "x"
        }));
        let parameters = [
            parameter("Install.Root", "path", &[]),
            parameter("Service.Port", "port", &["Old.Port"]),
            parameter("Mode", "text", &[]),
            parameter("Region", "text", &[]),
            parameter("Db.Password", "secret", &[]),
        ];
        let mut answers = Answers::default();
        for (name, value) in [
            ("Install.Root", "/srv/f"),
            ("Service.Port", "9443"),
            ("Mode", "b"),
            ("Region", "eu"),
        ] {
            answers.insert(name, Answer::Value(value.into()));
        }
        let refs: Vec<&Parameter> = parameters.iter().collect();
        let changes = AnswerChanges::between(&kept, &refs, &answers);
        assert_eq!(changes.kept, ["Install.Root", "Service.Port"]);
        assert_eq!(changes.changed, ["Mode"]);
        assert_eq!(changes.new, ["Region"]);
        assert_eq!(changes.removed, ["Gone"]);
        assert_eq!(changes.asked_again, ["Db.Password"]);
    }
}
