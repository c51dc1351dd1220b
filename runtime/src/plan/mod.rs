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
//! against the drop's files, `undefined` the warnings for `#{...}` nothing defines.

mod drop_refs;
pub mod model;
mod undefined;
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
        Self::parse_with_drop(bytes, origin, None)
    }

    /// Parse and validate, and check the plan's references into `drop` when given: every
    /// problem of the file at once. A step or parameter that does not parse is left out of the
    /// semantic and drop checks, so the others are still checked (`plan check` lists them all).
    pub fn parse_with_drop(
        bytes: &[u8],
        origin: &str,
        drop: Option<&dyn DropFiles>,
    ) -> Result<Plan, PlanErrors> {
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
        let (doc, positions, mut problems) = parse_document(&value);
        if let Some(doc) = &doc {
            let mut found = validate::validate(doc);
            if let Some(drop) = drop {
                found.extend(drop_refs::check(doc, drop));
            }
            problems.extend(found.into_iter().filter_map(|p| positions.restore(p)));
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

    /// Warnings for the `#{...}` in the scripts and package files the plan uses (in the drop
    /// folder `drop_root`) that nothing defines.
    pub fn undefined_variables(&self, drop_root: &std::path::Path) -> Vec<Problem> {
        undefined::check(&self.doc, drop_root)
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

/// Where each step and parameter of a partly parsed document was in the file: the ones that
/// did not parse are left out, so the checks of the others name their own index, put back here.
#[derive(Debug, Default)]
struct Positions {
    steps: Vec<usize>,
    parameters: Vec<usize>,
    /// Steps in the file, parsed or not.
    steps_given: usize,
}

impl Positions {
    /// The problem with the file's indices; `None` for "no steps" when every step failed to
    /// parse (those failures are the problems).
    fn restore(&self, mut problem: Problem) -> Option<Problem> {
        if problem.path == "steps" && self.steps.is_empty() && self.steps_given > 0 {
            return None;
        }
        for (field, kept) in [("steps", &self.steps), ("parameters", &self.parameters)] {
            let Some(rest) = problem.path.strip_prefix(field) else {
                continue;
            };
            if let Some((index, tail)) = rest.strip_prefix('[').and_then(|r| r.split_once(']'))
                && let Some(original) = index.parse::<usize>().ok().and_then(|i| kept.get(i))
            {
                problem.path = format!("{field}[{original}]{tail}");
            }
        }
        Some(problem)
    }
}

/// Parse field by field and element by element, so one bad step does not hide the others. The
/// document is built when every field parsed, without the steps and parameters that did not
/// (their problems are in the list, so it is never a valid plan then).
fn parse_document(value: &Value) -> (Option<PlanDocument>, Positions, Vec<Problem>) {
    let mut problems = Vec::new();
    let mut positions = Positions::default();
    let Some(map) = value.as_object() else {
        return (
            None,
            positions,
            vec![Problem::new("$", "a plan is a JSON object")],
        );
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
    let parameters = parameters.and_then(|v| {
        let (parsed, kept) = elements(&v, "parameters", false, typed, &mut problems)?;
        positions.parameters = kept;
        Some(parsed)
    });
    let steps = steps.and_then(|v| {
        positions.steps_given = v.as_array().map_or(0, Vec::len);
        let (parsed, kept) = elements(&v, "steps", true, step, &mut problems)?;
        positions.steps = kept;
        Some(parsed)
    });
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
    (doc, positions, problems)
}

/// Parse an array element by element: the elements that parsed and their indices; `None` when
/// the field is not an array.
fn elements<T>(
    value: &Value,
    path: &str,
    required: bool,
    parse: impl Fn(&Value, &str) -> Result<T, Problem>,
    problems: &mut Vec<Problem>,
) -> Option<(Vec<T>, Vec<usize>)> {
    let items = match value {
        Value::Null if !required => return Some((Vec::new(), Vec::new())),
        Value::Array(items) => items,
        _ => {
            problems.push(Problem::new(path, "must be an array"));
            return None;
        }
    };
    let mut parsed = Vec::new();
    let mut kept = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match parse(item, &format!("{path}[{i}]")) {
            Ok(element) => {
                parsed.push(element);
                kept.push(i);
            }
            Err(problem) => problems.push(problem),
        }
    }
    Some((parsed, kept))
}

/// One step: its `type` read first, then its fields as that type's struct, so that a problem
/// names its field (`steps[2].timeout-s`); serde's internally tagged enums lose the path.
fn step(value: &Value, path: &str) -> Result<StepSpec, Problem> {
    let Some(map) = value.as_object() else {
        return Err(Problem::new(
            path,
            "a step is a JSON object with `name`, `type` and the type's fields",
        ));
    };
    let types = STEP_TYPES.join(", ");
    let kind = match map.get("type") {
        Some(Value::String(kind)) => kind.as_str(),
        Some(_) => {
            return Err(Problem::new(
                format!("{path}.type"),
                format!("must be the name of a step type: {types}"),
            ));
        }
        None => {
            return Err(Problem::new(
                format!("{path}.type"),
                format!("missing required field; the step types are {types}"),
            ));
        }
    };
    let mut fields = map.clone();
    fields.remove("type");
    let fields = Value::Object(fields);
    Ok(match kind {
        "check" => StepSpec::Check(typed(&fields, path)?),
        "deploy-package" => StepSpec::DeployPackage(typed(&fields, path)?),
        "run-script" => StepSpec::RunScript(typed(&fields, path)?),
        "manual" => StepSpec::Manual(typed(&fields, path)?),
        "substitute" => StepSpec::Substitute(typed(&fields, path)?),
        "http-wait" => StepSpec::HttpWait(typed(&fields, path)?),
        other => {
            return Err(Problem::new(
                format!("{path}.type"),
                format!("unknown step type `{other}`; use one of {types}"),
            ));
        }
    })
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

/// serde's messages, said for people editing a plan: in the plan's words (object, array, whole
/// number), never a Rust type's name.
fn humanize(message: &str) -> String {
    const WORDS: &[(&str, &str)] = &[
        ("unknown variant", "unknown value"),
        ("missing field", "missing required field"),
        (
            "invalid type: unit variant, expected newtype variant",
            "needs a value: write it as an object, such as {\"os\": [\"linux\"]}",
        ),
        (
            "invalid type: unit variant, expected struct variant",
            "needs its fields: write it as an object, such as {\"disk-free\": {\"path\": \"/\", \"min-mb\": 100}}",
        ),
        (
            "invalid value: map, expected map with a single key",
            "must be an object with one key",
        ),
        (
            "expected string or map",
            "expected a name or an object with one key",
        ),
        ("expected variant identifier", "expected a name"),
        ("expected a sequence", "expected an array"),
        ("expected a map", "expected an object"),
        ("expected a boolean", "expected true or false"),
        ("expected u64", "expected a whole number (0 or more)"),
        ("expected u32", "expected a whole number (0 or more)"),
        ("expected u16", "expected a whole number from 0 to 65535"),
        ("invalid type: sequence", "invalid type: array"),
        ("invalid type: map", "invalid type: object"),
        ("unit value", "null"),
    ];
    let text = WORDS.iter().fold(message.to_string(), |text, (from, to)| {
        text.replace(from, to)
    });
    without_type_names(&text)
}

/// `expected struct ScriptBlock` (or `enum`) as `expected an object` / `expected a name`.
fn without_type_names(text: &str) -> String {
    let mut text = text.to_string();
    for (kind, instead) in [
        ("expected struct ", "expected an object"),
        ("expected internally tagged enum ", "expected an object"),
        ("expected enum ", "expected a name or an object"),
    ] {
        while let Some(at) = text.find(kind) {
            let name_end = text[at + kind.len()..]
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .map_or(text.len(), |n| at + kind.len() + n);
            text.replace_range(at..name_end, instead);
        }
    }
    text
}

#[cfg(test)]
mod tests;
