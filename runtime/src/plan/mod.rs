//! The step plan: parsed once from JSON into a validated [`Plan`], reporting every problem at
//! once, each with its JSON path (`steps[3].condition`). `dropship plan check`, `dropship build`
//! and the installer all call the same parser, so the release engineer sees the operator's
//! errors first.
//!
//! Size limits, so a runaway generator fails with a clear message instead of exhausting memory
//! (each is far beyond any real deployment process): the plan file at most [`MAX_PLAN_BYTES`]
//! (16 MiB), at most [`MAX_STEPS`] steps (10,000), [`MAX_PARAMETERS`] parameters (1,000) and
//! [`MAX_VARIABLES`] variables (10,000). Every plan variable, parameter default and customer
//! profile variable must also evaluate within the template engine's limits (`validate`).
//!
//! `model` is the file format (serde types; the JSON Schema is generated from it), `validate`
//! the semantic rules (names, roles, templates, the vendor-blind rule), `drop_refs` the checks
//! against the drop's files.

mod drop_refs;
pub mod model;
pub use drop_refs::{DropFiles, DropFolder};
pub use validate::check_value;
mod validate;

pub use model::*;

use serde::de::DeserializeOwned;
use serde_json::Value;
use std::fmt;

/// The largest plan file accepted, in bytes (16 MiB).
pub const MAX_PLAN_BYTES: usize = 16 << 20;
/// The most steps a plan may have.
pub const MAX_STEPS: usize = 10_000;
/// The most parameters a plan may declare.
pub const MAX_PARAMETERS: usize = 1_000;
/// The most variables a plan may set.
pub const MAX_VARIABLES: usize = 10_000;

/// One problem in a plan, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// JSON path: `steps[3].condition`, or `$` for the document.
    pub path: String,
    pub message: String,
}

impl Problem {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Every problem found in one plan file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PlanErrors {
    /// The file the plan came from, for the message.
    pub origin: String,
    pub problems: Vec<Problem>,
}

impl fmt::Display for PlanErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(
            f,
            "plan `{}` has {n} problem{}:",
            self.origin,
            if n == 1 { "" } else { "s" }
        )?;
        for problem in &self.problems {
            write!(f, "\n  {problem}")?;
        }
        Ok(())
    }
}

/// A plan that parsed and passed every rule that needs no drop.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    doc: PlanDocument,
}

impl Plan {
    /// Parse and validate; `origin` names the file in messages.
    pub fn parse(bytes: &[u8], origin: &str) -> Result<Plan, PlanErrors> {
        let fail = |problems| PlanErrors {
            origin: origin.to_string(),
            problems,
        };
        if bytes.len() > MAX_PLAN_BYTES {
            return Err(fail(vec![Problem::new(
                "$",
                format!(
                    "the plan file has more than {MAX_PLAN_BYTES} bytes (16 MiB), the most a \
                     plan may have: ship large content as files in the drop"
                ),
            )]));
        }
        let value: Value = serde_json::from_slice(bytes).map_err(|e| {
            fail(vec![Problem::new(
                "$",
                format!(
                    "not valid JSON at line {}, column {}: {e}",
                    e.line(),
                    e.column()
                ),
            )])
        })?;
        let too_many = count_problems(&value);
        if !too_many.is_empty() {
            return Err(fail(too_many));
        }
        let (doc, mut problems) = parse_document(&value);
        if let Some(doc) = &doc {
            problems.extend(validate::validate(doc));
        }
        match doc {
            Some(doc) if problems.is_empty() => Ok(Plan { doc }),
            _ => Err(fail(problems)),
        }
    }

    /// Problems with the plan's references into a drop folder (files that must exist, values
    /// a secret parameter must not have).
    pub fn check_drop(&self, drop: &dyn DropFiles) -> Vec<Problem> {
        drop_refs::check(&self.doc, drop)
    }

    /// Problems with a customer profile used with this plan (roles declared, no secret values).
    pub fn check_profile(&self, profile: &CustomerProfile) -> Vec<Problem> {
        validate::check_profile(&self.doc, profile)
    }

    pub fn document(&self) -> &PlanDocument {
        &self.doc
    }

    pub fn product(&self) -> &Product {
        &self.doc.product
    }

    pub fn steps(&self) -> &[StepSpec] {
        &self.doc.steps
    }

    pub fn parameters(&self) -> &[Parameter] {
        &self.doc.parameters
    }
}

/// Parse a customer profile, naming every problem.
pub fn parse_profile(bytes: &[u8], origin: &str) -> Result<CustomerProfile, PlanErrors> {
    serde_json::from_slice::<Value>(bytes)
        .map_err(|e| Problem::new("$", format!("not valid JSON: {e}")))
        .and_then(|value| typed::<CustomerProfile>(&value, "$"))
        .map_err(|problem| PlanErrors {
            origin: origin.to_string(),
            problems: vec![problem],
        })
}

/// The fields with more entries than their limit allows, checked before any entry is parsed.
fn count_problems(value: &Value) -> Vec<Problem> {
    let limits = [
        ("steps", MAX_STEPS),
        ("parameters", MAX_PARAMETERS),
        ("variables", MAX_VARIABLES),
    ];
    limits
        .into_iter()
        .filter_map(|(field, limit)| {
            let count = match value.get(field)? {
                Value::Array(items) => items.len(),
                Value::Object(map) => map.len(),
                _ => return None,
            };
            (count > limit).then(|| {
                Problem::new(
                    field,
                    format!(
                        "has {count} entries; a plan may have at most {limit}: split the \
                         product into several plans"
                    ),
                )
            })
        })
        .collect()
}

const TOP_LEVEL: &[&str] = &[
    "schema",
    "product",
    "roles",
    "parameters",
    "variables",
    "steps",
    "upgrade",
];

/// Parse field by field and element by element, so one bad step does not hide the others.
fn parse_document(value: &Value) -> (Option<PlanDocument>, Vec<Problem>) {
    let mut problems = Vec::new();
    let Some(map) = value.as_object() else {
        return (None, vec![Problem::new("$", "a plan is a JSON object")]);
    };
    for key in map.keys().filter(|k| !TOP_LEVEL.contains(&k.as_str())) {
        problems.push(Problem::new(
            key.clone(),
            format!("unknown field; expected one of {}", TOP_LEVEL.join(", ")),
        ));
    }
    let mut field = |key: &str, required: bool| -> Option<Value> {
        match map.get(key) {
            Some(v) => Some(v.clone()),
            None if required => {
                problems.push(Problem::new(key, "missing required field"));
                None
            }
            None => Some(Value::Null),
        }
    };
    let (schema, product, roles, variables) = (
        field("schema", true),
        field("product", true),
        field("roles", false),
        field("variables", false),
    );
    let (parameters, steps) = (field("parameters", false), field("steps", true));
    let upgrade = field("upgrade", false)
        .and_then(|v| typed_or_report::<Option<UpgradePolicy>>(&v, "upgrade", &mut problems));
    let schema = schema.and_then(|v| typed_or_report::<String>(&v, "schema", &mut problems));
    let product = product.and_then(|v| typed_or_report::<Product>(&v, "product", &mut problems));
    let roles =
        roles.and_then(|v| typed_or_report::<Option<Vec<String>>>(&v, "roles", &mut problems));
    let variables = variables.and_then(|v| {
        typed_or_report::<Option<std::collections::BTreeMap<String, String>>>(
            &v,
            "variables",
            &mut problems,
        )
    });
    let parameters =
        parameters.and_then(|v| elements::<Parameter>(&v, "parameters", false, &mut problems));
    let steps = steps.and_then(|v| elements::<StepSpec>(&v, "steps", true, &mut problems));
    let doc = (|| {
        Some(PlanDocument {
            schema: schema?,
            product: product?,
            roles: roles?.unwrap_or_default(),
            parameters: parameters?,
            variables: variables?.unwrap_or_default(),
            steps: steps?,
            upgrade: upgrade?,
        })
    })();
    (doc, problems)
}

/// Parse an array element by element; `None` when the field or any element is bad.
fn elements<T: DeserializeOwned>(
    value: &Value,
    path: &str,
    required: bool,
    problems: &mut Vec<Problem>,
) -> Option<Vec<T>> {
    let items = match value {
        Value::Null if !required => return Some(Vec::new()),
        Value::Array(items) => items,
        _ => {
            problems.push(Problem::new(path, "must be an array"));
            return None;
        }
    };
    let before = problems.len();
    let parsed: Vec<T> = items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| typed_or_report(item, &format!("{path}[{i}]"), problems))
        .collect();
    (problems.len() == before).then_some(parsed)
}

fn typed_or_report<T: DeserializeOwned>(
    value: &Value,
    path: &str,
    problems: &mut Vec<Problem>,
) -> Option<T> {
    typed(value, path).map_err(|p| problems.push(p)).ok()
}

/// Deserialize with the path of the offending field appended to `base`.
fn typed<T: DeserializeOwned>(value: &Value, base: &str) -> Result<T, Problem> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let inner = e.path().to_string();
        let path = if inner == "." || inner.is_empty() {
            base.to_string()
        } else if base == "$" {
            inner
        } else {
            format!("{base}.{inner}")
        };
        Problem::new(path, humanize(&e.inner().to_string()))
    })
}

/// serde's messages, said for people editing a plan.
fn humanize(message: &str) -> String {
    message
        .replace("unknown variant", "unknown type")
        .replace("missing field", "missing required field")
}

#[cfg(test)]
mod tests;
