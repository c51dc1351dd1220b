//! Configuration-file replacers: the Calamari conventions that rewrite files in the package with
//! the deployment's variables (`docs/octopus-conventions.md` §4.4–§4.6).
//!
//! - [`encoding`](crate::config::encoding): read text keeping its encoding and line endings; refuse binary; atomic writes.
//! - [`glob`](crate::config::glob): Calamari's target patterns (`*`, `**`, newline-separated lists).
//! - [`substitute`](crate::config::substitute): "Substitute Variables in Templates", with a caller-supplied evaluator.
//! - [`structured`](crate::config::structured): "Structured Configuration Variables" for JSON, YAML, XML and `.properties`.
//! - [`dotnet`](crate::config::dotnet): ".NET Configuration Variables" for `*.config` files.
//! - [`xdt`](crate::config::xdt): "Configuration Transforms" (XDT) for `*.config` files.
//!
//! Every function that overwrites a file calls the caller's `before_write` hook first, so the
//! install engine can back the file up; a file that cannot be parsed or is not text is left
//! untouched and named in the error. This module does not evaluate templates (see `template`)
//! and does not log: it returns reports for the caller to log.

pub mod dotnet;
mod edit;
pub mod encoding;
mod error;
pub mod glob;
pub mod merge;
pub mod structured;
pub mod substitute;
mod variables;
pub mod xdt;
mod xml_tree;

pub use dotnet::{DotnetReport, find_dotnet_config_files, replace_dotnet_config};
pub use encoding::{
    LineEnding, TextEncoding, TextFile, read_text_file, write_atomic, write_text_file,
};
pub use error::{ConfigError, ConfigFormat, HookError, Position};
pub use glob::{TargetMatches, find_target_files, split_target_list};
pub use structured::{StructuredOptions, StructuredReport, StructuredVariable, replace_structured};
pub use substitute::{
    SubstituteOptions, SubstitutionError, SubstitutionPlan, SubstitutionReport, TextEvaluator,
    apply_substitution, plan_substitution,
};
pub use xdt::{TransformReport, apply_transform};
