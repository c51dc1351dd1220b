//! Reads an Octopus deployment process as the REST API returns it (`GET …/deploymentprocesses`,
//! or the UI's "Download as JSON") into the source-neutral form. Only the fields an import needs
//! are read; unknown fields are ignored so newer servers' exports still load. `null` and absent
//! are treated alike, as are `null` and `[]`.

use super::error::ImportError;
use super::model::{Properties, PropertyValue};
use super::raw::{RawAction, RawPackage, RawProcess, RawStep};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct JsonProcess {
    steps: Option<Vec<JsonStep>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct JsonStep {
    name: String,
    condition: Option<String>,
    start_trigger: Option<String>,
    properties: Option<BTreeMap<String, Value>>,
    actions: Option<Vec<JsonAction>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct JsonAction {
    name: String,
    action_type: Option<String>,
    condition: Option<String>,
    is_disabled: Option<bool>,
    is_required: Option<bool>,
    notes: Option<String>,
    environments: Option<Vec<String>>,
    excluded_environments: Option<Vec<String>>,
    channels: Option<Vec<String>>,
    tenant_tags: Option<Vec<String>>,
    properties: Option<BTreeMap<String, Value>>,
    packages: Option<Vec<JsonPackage>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct JsonPackage {
    name: Option<String>,
    package_id: Option<String>,
    feed_id: Option<String>,
    acquisition_location: Option<String>,
    properties: Option<BTreeMap<String, Value>>,
}

/// Parses process JSON text; `file` is used only in errors.
pub(super) fn read(text: &str, file: &Path) -> Result<RawProcess, ImportError> {
    let process: JsonProcess = serde_json::from_str(text).map_err(|e| json_error(&e, file))?;
    let mut steps = Vec::new();
    for (i, step) in process.steps.unwrap_or_default().into_iter().enumerate() {
        steps.push(raw_step(step, &format!("Steps[{i}]"), file)?);
    }
    Ok(RawProcess {
        steps,
        ignored: Vec::new(),
    })
}

fn raw_step(step: JsonStep, at: &str, file: &Path) -> Result<RawStep, ImportError> {
    let mut actions = Vec::new();
    for (i, action) in step.actions.unwrap_or_default().into_iter().enumerate() {
        actions.push(raw_action(action, &format!("{at}.Actions[{i}]"), file)?);
    }
    Ok(RawStep {
        at: at.to_owned(),
        name: step.name,
        condition: step.condition,
        start_trigger: step.start_trigger,
        properties: properties(step.properties, &format!("{at}.Properties"), file)?,
        actions,
    })
}

fn raw_action(action: JsonAction, at: &str, file: &Path) -> Result<RawAction, ImportError> {
    let mut packages = Vec::new();
    for (i, package) in action.packages.unwrap_or_default().into_iter().enumerate() {
        packages.push(raw_package(package, &format!("{at}.Packages[{i}]"), file)?);
    }
    Ok(RawAction {
        at: at.to_owned(),
        name: action.name,
        action_type: action.action_type,
        condition: action.condition,
        is_disabled: action.is_disabled.unwrap_or(false),
        is_required: action.is_required.unwrap_or(false),
        notes: action.notes.filter(|n| !n.is_empty()),
        environments: action.environments.unwrap_or_default(),
        excluded_environments: action.excluded_environments.unwrap_or_default(),
        channels: action.channels.unwrap_or_default(),
        tenant_tags: action.tenant_tags.unwrap_or_default(),
        properties: properties(action.properties, &format!("{at}.Properties"), file)?,
        packages,
    })
}

fn raw_package(package: JsonPackage, at: &str, file: &Path) -> Result<RawPackage, ImportError> {
    let mut props = BTreeMap::new();
    for (key, value) in package.properties.unwrap_or_default() {
        match property_value(&value) {
            Some(PropertyValue::Text(text)) => {
                props.insert(key, text);
            }
            None => {}
            Some(PropertyValue::Sensitive { .. }) => {
                let at = format!("{at}.Properties[\"{key}\"]");
                return Err(shape_error(
                    file,
                    &at,
                    "package properties cannot be sensitive",
                ));
            }
        }
    }
    Ok(RawPackage {
        at: at.to_owned(),
        name: package.name,
        package_id: package.package_id,
        feed: package.feed_id,
        acquisition_location: package.acquisition_location,
        properties: props,
    })
}

fn properties(
    map: Option<BTreeMap<String, Value>>,
    at: &str,
    file: &Path,
) -> Result<Properties, ImportError> {
    let mut out = BTreeMap::new();
    for (key, value) in map.unwrap_or_default() {
        if value.is_null() {
            continue;
        }
        let Some(parsed) = property_value(&value) else {
            let at = format!("{at}[\"{key}\"]");
            return Err(shape_error(
                file,
                &at,
                "expected a string or a sensitive value",
            ));
        };
        out.insert(key, parsed);
    }
    Ok(Properties(out))
}

/// A string, or `{"HasValue": …}` for a sensitive value. Numbers and booleans are kept as text
/// because Octopus treats every property as a string. `None` for null and other shapes.
fn property_value(value: &Value) -> Option<PropertyValue> {
    match value {
        Value::String(s) => Some(PropertyValue::Text(s.clone())),
        Value::Bool(b) => Some(PropertyValue::Text(
            if *b { "True" } else { "False" }.to_owned(),
        )),
        Value::Number(n) => Some(PropertyValue::Text(n.to_string())),
        Value::Object(map) => {
            let has_value = map.get("HasValue")?.as_bool()?;
            Some(PropertyValue::Sensitive { has_value })
        }
        Value::Null | Value::Array(_) => None,
    }
}

fn shape_error(file: &Path, at: &str, message: &str) -> ImportError {
    ImportError::Process {
        file: file.to_path_buf(),
        at: at.to_owned(),
        message: message.to_owned(),
    }
}

/// serde_json puts " at line L column C" into its message; the position goes into fields instead.
fn json_error(err: &serde_json::Error, file: &Path) -> ImportError {
    let (line, column) = (err.line(), err.column());
    let text = err.to_string();
    let suffix = format!(" at line {line} column {column}");
    ImportError::Json {
        file: file.to_path_buf(),
        line,
        column,
        message: text.strip_suffix(&suffix).unwrap_or(&text).to_owned(),
    }
}
