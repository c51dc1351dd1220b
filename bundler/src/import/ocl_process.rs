//! Gives an OCL tree (`ocl.rs`) its Octopus meaning: `step` blocks with their `action` and
//! `packages` blocks, into the same source-neutral form the JSON reader fills. OCL omits
//! defaults (`Success`, false flags, empty lists); the raw form's `None`/`false`/empty stand
//! for them just as JSON's do. Runbook files (`process { step … }`) are read the same way.
//! Unknown top-level blocks are reported and skipped; unknown attributes are ignored.

use super::error::ImportError;
use super::model::{Properties, PropertyValue, Unsupported};
use super::ocl::{Attribute, Block, Item, Value};
use super::raw::{RawAction, RawPackage, RawProcess, RawStep};
use std::collections::BTreeMap;
use std::path::Path;

/// Converts a parsed `deployment_process.ocl` (or runbook) tree.
pub(super) fn read(items: &[Item], file: &Path) -> Result<RawProcess, ImportError> {
    let mut out = RawProcess::default();
    for item in items {
        let Item::Block(block) = item else { continue };
        match block.name.as_str() {
            "step" => out.steps.push(step(block, file)?),
            "process" => out.steps.extend(read(&block.body, file)?.steps),
            other => out.ignored.push(Unsupported {
                step: block_title(block),
                action: None,
                reason: format!("unknown top-level block `{other}` skipped"),
            }),
        }
    }
    Ok(out)
}

fn block_title(block: &Block) -> String {
    let labels: Vec<String> = block.labels.iter().map(|l| format!(" \"{l}\"")).collect();
    format!("{}{}", block.name, labels.concat())
}

fn step(block: &Block, file: &Path) -> Result<RawStep, ImportError> {
    let fields = Fields { block, file };
    // Files written before slugs existed label the step with its name and omit `name`.
    let name = match fields.string("name")? {
        Some(name) => name,
        None => fields.label()?,
    };
    let mut actions = Vec::new();
    for child in fields.blocks("action") {
        actions.push(action(child, &name, file)?);
    }
    Ok(RawStep {
        at: block.pos.describe(),
        condition: fields.string("condition")?,
        start_trigger: fields.string("start_trigger")?,
        properties: fields.properties("properties")?,
        actions,
        name,
    })
}

/// An unlabelled action without `name` is the single action of its step and takes its name.
fn action(block: &Block, step_name: &str, file: &Path) -> Result<RawAction, ImportError> {
    let fields = Fields { block, file };
    let name = match (fields.string("name")?, block.labels.first()) {
        (Some(name), _) => name,
        (None, Some(label)) => label.clone(),
        (None, None) => step_name.to_owned(),
    };
    let mut packages = Vec::new();
    for child in fields.blocks("packages") {
        packages.push(package(child, file)?);
    }
    Ok(RawAction {
        at: block.pos.describe(),
        name,
        action_type: fields.string("action_type")?,
        condition: fields.string("condition")?,
        is_disabled: fields.boolean("is_disabled")?,
        is_required: fields.boolean("is_required")?,
        notes: fields.string("notes")?.filter(|n| !n.is_empty()),
        environments: fields.strings("environments")?,
        excluded_environments: fields.strings("excluded_environments")?,
        channels: fields.strings("channels")?,
        tenant_tags: fields.strings("tenant_tags")?,
        properties: fields.properties("properties")?,
        packages,
    })
}

/// `packages {` is the primary package; `packages "<name>" {` a named reference.
fn package(block: &Block, file: &Path) -> Result<RawPackage, ImportError> {
    let fields = Fields { block, file };
    let mut properties = BTreeMap::new();
    for (key, value) in fields.properties("properties")?.0 {
        match value {
            PropertyValue::Text(text) => properties.insert(key, text),
            PropertyValue::Sensitive { .. } => None,
        };
    }
    Ok(RawPackage {
        at: block.pos.describe(),
        name: block.labels.first().cloned(),
        package_id: fields.string("package_id")?,
        feed: fields.string("feed")?,
        acquisition_location: fields.string("acquisition_location")?,
        properties,
    })
}

/// Typed access to one block's attributes, with errors at the attribute's position.
struct Fields<'a> {
    block: &'a Block,
    file: &'a Path,
}

impl Fields<'_> {
    fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.block.body.iter().find_map(|item| match item {
            Item::Attribute(a) if a.name == name => Some(a),
            _ => None,
        })
    }

    fn blocks<'b>(&'b self, name: &'b str) -> impl Iterator<Item = &'b Block> + 'b {
        self.block.body.iter().filter_map(move |item| match item {
            Item::Block(b) if b.name == name => Some(b),
            _ => None,
        })
    }

    fn label(&self) -> Result<String, ImportError> {
        let kind = &self.block.name;
        self.block.labels.first().cloned().ok_or_else(|| {
            self.error(
                self.block.pos.describe(),
                format!("`{kind}` block needs a label or a `name`"),
            )
        })
    }

    fn string(&self, name: &str) -> Result<Option<String>, ImportError> {
        match self.attribute(name) {
            None => Ok(None),
            Some(Attribute {
                value: Value::Null, ..
            }) => Ok(None),
            Some(Attribute {
                value: Value::Str(s),
                ..
            }) => Ok(Some(s.clone())),
            Some(a) => Err(self.wrong_type(a, "a string")),
        }
    }

    fn boolean(&self, name: &str) -> Result<bool, ImportError> {
        match self.attribute(name) {
            None => Ok(false),
            Some(Attribute {
                value: Value::Bool(b),
                ..
            }) => Ok(*b),
            Some(a) => Err(self.wrong_type(a, "true or false")),
        }
    }

    fn strings(&self, name: &str) -> Result<Vec<String>, ImportError> {
        let Some(attr) = self.attribute(name) else {
            return Ok(Vec::new());
        };
        let Value::List(items) = &attr.value else {
            return Err(self.wrong_type(attr, "a list of strings"));
        };
        items
            .iter()
            .map(|item| match item {
                Value::Str(s) => Ok(s.clone()),
                _ => Err(self.wrong_type(attr, "a list of strings")),
            })
            .collect()
    }

    /// A dictionary as a property bag. Octopus properties are strings, so numbers and booleans
    /// become text (`True`/`False`, as JSON exports spell them); `null` entries are dropped.
    fn properties(&self, name: &str) -> Result<Properties, ImportError> {
        let Some(attr) = self.attribute(name) else {
            return Ok(Properties::default());
        };
        let Value::Dict(entries) = &attr.value else {
            return Err(self.wrong_type(attr, "a dictionary"));
        };
        let mut out = BTreeMap::new();
        for (key, value) in entries {
            let text = match value {
                Value::Str(s) | Value::Number(s) => s.clone(),
                Value::Bool(b) => if *b { "True" } else { "False" }.to_owned(),
                Value::Null => continue,
                Value::List(_) | Value::Dict(_) => {
                    let message = format!("property `{key}` must be a string");
                    return Err(self.error(attr.pos.describe(), message));
                }
            };
            out.insert(key.clone(), PropertyValue::Text(text));
        }
        Ok(Properties(out))
    }

    fn wrong_type(&self, attr: &Attribute, expected: &str) -> ImportError {
        let message = format!("`{}` must be {expected}", attr.name);
        self.error(attr.pos.describe(), message)
    }

    fn error(&self, at: String, message: String) -> ImportError {
        ImportError::Process {
            file: self.file.to_path_buf(),
            at,
            message,
        }
    }
}
