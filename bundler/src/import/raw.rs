//! The source-neutral shape both process readers fill: steps, actions and package references
//! with their fields as plain strings, defaults already applied. JSON and OCL differ only in
//! syntax and in how they spell defaults, so converting each to this form and building the
//! model in one place (`process.rs`) is what makes the two imports agree.

use super::model::{Properties, Unsupported};
use std::collections::BTreeMap;

#[derive(Debug, Default)]
pub(super) struct RawProcess {
    pub steps: Vec<RawStep>,
    /// Blocks the reader skipped (unknown top-level OCL blocks).
    pub ignored: Vec<Unsupported>,
}

#[derive(Debug)]
pub(super) struct RawStep {
    /// Where the step is, for errors: a JSON path or an OCL line and column.
    pub at: String,
    pub name: String,
    pub condition: Option<String>,
    pub start_trigger: Option<String>,
    pub properties: Properties,
    pub actions: Vec<RawAction>,
}

#[derive(Debug)]
pub(super) struct RawAction {
    pub at: String,
    pub name: String,
    /// `None` for OCL step-template actions, which carry no `action_type`.
    pub action_type: Option<String>,
    pub condition: Option<String>,
    pub is_disabled: bool,
    pub is_required: bool,
    pub notes: Option<String>,
    pub environments: Vec<String>,
    pub excluded_environments: Vec<String>,
    pub channels: Vec<String>,
    pub tenant_tags: Vec<String>,
    pub properties: Properties,
    pub packages: Vec<RawPackage>,
}

#[derive(Debug)]
pub(super) struct RawPackage {
    pub at: String,
    /// `None` (or empty) marks the primary package.
    pub name: Option<String>,
    pub package_id: Option<String>,
    pub feed: Option<String>,
    pub acquisition_location: Option<String>,
    pub properties: BTreeMap<String, String>,
}

/// Treats empty strings as absent: JSON writes `""` or `null` where OCL omits the attribute.
pub(super) fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}
