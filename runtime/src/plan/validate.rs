//! The plan's semantic rules: unique names, declared roles, valid defaults and patterns,
//! templates that parse, script sources, and the vendor-blind rule (a secret parameter has no
//! value anywhere the vendor writes). Each problem carries its JSON path.

use super::Problem;
use super::model::*;
use crate::template;
use crate::version::{Version, VersionRange};
use std::collections::HashSet;

pub(super) fn validate(doc: &PlanDocument) -> Vec<Problem> {
    let mut problems = Vec::new();
    if doc.schema != SCHEMA {
        problems.push(Problem::new(
            "schema",
            format!("must be \"{SCHEMA}\", found \"{}\"", doc.schema),
        ));
    }
    for (field, value) in [
        ("product.name", &doc.product.name),
        ("product.version", &doc.product.version),
    ] {
        if value.trim().is_empty() || value.chars().any(char::is_control) {
            problems.push(Problem::new(field, "must be non-empty text on one line"));
        }
    }
    check_versions(doc, &mut problems);
    unique(
        doc.roles.iter().map(String::as_str),
        "roles",
        "role",
        &mut problems,
    );
    check_parameters(doc, &mut problems);
    check_variables(doc, &mut problems);
    check_expansion(doc, &mut problems);
    check_steps(doc, &mut problems);
    problems
}

/// The product's version and the upgrade range must parse: the installer compares them with
/// what is installed.
fn check_versions(doc: &PlanDocument, problems: &mut Vec<Problem>) {
    if let Err(e) = doc.product.version.parse::<Version>() {
        problems.push(Problem::new("product.version", e.to_string()));
    }
    if let Some(upgrade) = &doc.upgrade
        && let Err(e) = upgrade.from.parse::<VersionRange>()
    {
        problems.push(Problem::new("upgrade.from", e.to_string()));
    }
}

/// Report the second and later occurrences of a name (compared ignoring case, as Octopus does).
fn unique<'a>(
    names: impl Iterator<Item = &'a str>,
    path: &str,
    what: &str,
    problems: &mut Vec<Problem>,
) {
    let mut seen = HashSet::new();
    for (i, name) in names.enumerate() {
        if !seen.insert(name.to_lowercase()) {
            problems.push(Problem::new(
                format!("{path}[{i}]"),
                format!("duplicate {what} `{name}`"),
            ));
        }
    }
}

fn check_roles(roles: &[String], declared: &[String], path: &str, problems: &mut Vec<Problem>) {
    for (i, role) in roles.iter().enumerate() {
        if !declared.iter().any(|d| d.eq_ignore_ascii_case(role)) {
            problems.push(Problem::new(
                format!("{path}.roles[{i}]"),
                format!(
                    "role `{role}` is not declared in `roles` (declared: {})",
                    list_or_none(declared)
                ),
            ));
        }
    }
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}

fn check_template(text: &str, path: &str, problems: &mut Vec<Problem>) {
    if let Err(e) = template::check_syntax(text) {
        problems.push(Problem::new(path, format!("template does not parse: {e}")));
    }
}

fn check_parameters(doc: &PlanDocument, problems: &mut Vec<Problem>) {
    unique(
        doc.parameters.iter().map(|p| p.name.as_str()),
        "parameters",
        "parameter",
        problems,
    );
    check_previous_names(doc, problems);
    for (i, parameter) in doc.parameters.iter().enumerate() {
        let path = format!("parameters[{i}]");
        if parameter.name.trim().is_empty() || parameter.name.contains("#{") {
            problems.push(Problem::new(
                format!("{path}.name"),
                "must be a variable name",
            ));
        }
        check_roles(&parameter.roles, &doc.roles, &path, problems);
        check_parameter_type(parameter, &path, problems);
    }
}

/// A previous name is no current parameter's, and belongs to one parameter only: otherwise an
/// upgrade would not know whose answer it is.
fn check_previous_names(doc: &PlanDocument, problems: &mut Vec<Problem>) {
    let mut claimed: Vec<&str> = Vec::new();
    for (i, parameter) in doc.parameters.iter().enumerate() {
        for (j, old) in parameter.previous_names.iter().enumerate() {
            let path = format!("parameters[{i}].previous-names[{j}]");
            if doc
                .parameters
                .iter()
                .any(|p| p.name.eq_ignore_ascii_case(old))
            {
                problems.push(Problem::new(
                    path,
                    format!("`{old}` is the name of a parameter of this plan"),
                ));
            } else if claimed.iter().any(|c| c.eq_ignore_ascii_case(old)) {
                problems.push(Problem::new(
                    path,
                    format!("`{old}` is a previous name of another parameter too"),
                ));
            } else {
                claimed.push(old);
            }
        }
    }
}

fn check_parameter_type(parameter: &Parameter, path: &str, problems: &mut Vec<Problem>) {
    let kind = parameter.kind;
    if kind == ParameterType::Choice && parameter.options.is_empty() {
        problems.push(Problem::new(
            format!("{path}.options"),
            "a `choice` needs `options`",
        ));
    }
    if kind != ParameterType::Choice && !parameter.options.is_empty() {
        problems.push(Problem::new(
            format!("{path}.options"),
            "only a `choice` has `options`",
        ));
    }
    let pattern =
        parameter
            .pattern
            .as_deref()
            .and_then(|p| match regex::Regex::new(&format!("^(?:{p})$")) {
                Ok(re) => Some(re),
                Err(e) => {
                    problems.push(Problem::new(
                        format!("{path}.pattern"),
                        format!("not a valid regular expression: {e}"),
                    ));
                    None
                }
            });
    let Some(default) = &parameter.default else {
        return;
    };
    if kind == ParameterType::Secret {
        problems.push(Problem::new(
            format!("{path}.default"),
            "a `secret` parameter cannot have a default: the vendor must never know a customer's secret",
        ));
        return;
    }
    if let Err(why) = check_value(parameter, default) {
        problems.push(Problem::new(format!("{path}.default"), why));
    } else if pattern.is_some_and(|re| !re.is_match(default)) {
        problems.push(Problem::new(
            format!("{path}.default"),
            "does not match `pattern`",
        ));
    }
}

/// Whether `value` is a valid answer for the parameter's type (pattern aside).
pub fn check_value(parameter: &Parameter, value: &str) -> Result<(), String> {
    match parameter.kind {
        ParameterType::Bool if !matches!(value.to_ascii_lowercase().as_str(), "true" | "false") => {
            Err(format!("`{value}` is not true or false"))
        }
        ParameterType::Port if !value.trim().parse::<u16>().is_ok_and(|p| p > 0) => {
            Err(format!("`{value}` is not a port number (1-65535)"))
        }
        ParameterType::Int if value.trim().parse::<i64>().is_err() => {
            Err(format!("`{value}` is not a whole number"))
        }
        ParameterType::Choice if !parameter.options.iter().any(|o| o == value) => Err(format!(
            "`{value}` is not one of {}",
            parameter.options.join(", ")
        )),
        _ => Ok(()),
    }
}

fn secret_names(doc: &PlanDocument) -> Vec<&str> {
    doc.parameters
        .iter()
        .filter(|p| p.kind == ParameterType::Secret)
        .map(|p| p.name.as_str())
        .collect()
}

fn check_variables(doc: &PlanDocument, problems: &mut Vec<Problem>) {
    let secrets = secret_names(doc);
    for (name, value) in &doc.variables {
        let path = format!("variables.{name}");
        if secrets.iter().any(|s| s.eq_ignore_ascii_case(name)) {
            problems.push(Problem::new(
                &path,
                format!("`{name}` is a secret parameter; the plan cannot give it a value (vendor-blind rule)"),
            ));
        }
        check_template(value, &path, problems);
    }
}

/// Evaluate every plan variable and parameter default as the installer will, within the
/// template engine's limits, so a cycle or a value that blows up (`E2 = #{E1}#{E1}`, forty
/// levels deep) is refused where the plan is written, not on the customer's server.
fn check_expansion(doc: &PlanDocument, problems: &mut Vec<Problem>) {
    let variables = doc
        .variables
        .iter()
        .map(|(name, value)| (format!("variables.{name}"), name, value));
    let defaults = doc.parameters.iter().enumerate().filter_map(|(i, p)| {
        let default = p.default.as_ref()?;
        Some((format!("parameters[{i}].default"), &p.name, default))
    });
    let texts: Vec<_> = variables.chain(defaults).collect();
    expansion_problems(doc, None, texts, problems);
}

/// Evaluate each of `texts` (path, variable name, value) against the plan's variables, the
/// profile's over them, and the parameters over both, as `variables::BaseVariables` layers
/// them. The answers are not known here: each parameter stands in with its default, or empty
/// (secrets).
fn expansion_problems(
    doc: &PlanDocument,
    profile: Option<&CustomerProfile>,
    texts: Vec<(String, &String, &String)>,
    problems: &mut Vec<Problem>,
) {
    let mut vars = template::Variables::new();
    let profile_variables = profile.map(|p| &p.variables).into_iter().flatten();
    for (name, value) in doc.variables.iter().chain(profile_variables) {
        vars.set(name.clone(), Some(value.clone()));
    }
    for parameter in &doc.parameters {
        vars.set(parameter.name.clone(), parameter.default.clone());
    }
    for (path, name, text) in texts {
        let Err(e) = template::evaluate(text, &vars, template::Mode::Continue) else {
            continue;
        };
        if e.is_cycle() || e.is_limit() || e.is_too_deep() {
            problems.push(Problem::new(path, format!("does not evaluate: {e}")));
            // Values that use this one are neither blamed again nor made to redo its work.
            vars.set(name.clone(), Some(String::new()));
        }
    }
}

fn check_steps(doc: &PlanDocument, problems: &mut Vec<Problem>) {
    if doc.steps.is_empty() {
        problems.push(Problem::new("steps", "a plan needs at least one step"));
    }
    unique(
        doc.steps.iter().map(|s| s.common().name),
        "steps",
        "step name",
        problems,
    );
    for (i, step) in doc.steps.iter().enumerate() {
        let path = format!("steps[{i}]");
        let common = step.common();
        if common.name.trim().is_empty() {
            problems.push(Problem::new(format!("{path}.name"), "must not be empty"));
        }
        check_roles(common.roles, &doc.roles, &path, problems);
        if let Some(condition) = common.condition
            && !matches!(condition, "success" | "failure" | "always")
        {
            check_template(condition, &format!("{path}.condition"), problems);
        }
        if common.timeout_s == Some(0) {
            problems.push(Problem::new(
                format!("{path}.timeout-s"),
                "must be at least 1 second",
            ));
        }
        if let Some(rollback) = common.rollback {
            check_script(rollback, &format!("{path}.rollback"), problems);
        }
        check_step_kind(step, &path, problems);
    }
}

fn check_step_kind(step: &StepSpec, path: &str, problems: &mut Vec<Problem>) {
    match step {
        StepSpec::Check(s) => {
            if s.checks.is_empty() {
                problems.push(Problem::new(
                    format!("{path}.checks"),
                    "a check step needs at least one check",
                ));
            }
        }
        StepSpec::DeployPackage(s) => {
            if let Some(destination) = &s.destination {
                check_template(destination, &format!("{path}.destination"), problems);
            }
            for (stage, script) in &s.scripts {
                if !["PreDeploy", "Deploy", "PostDeploy", "DeployFailed"].contains(&stage.as_str())
                {
                    problems.push(Problem::new(
                        format!("{path}.scripts.{stage}"),
                        "unknown stage; use PreDeploy, Deploy, PostDeploy or DeployFailed",
                    ));
                }
                check_script(script, &format!("{path}.scripts.{stage}"), problems);
            }
            for (i, file) in s.config_files.iter().enumerate() {
                let at = format!("{path}.config-files[{i}].path");
                if let Err(why) = ConfigFile::check_path(&file.path) {
                    problems.push(Problem::new(at, why));
                }
            }
        }
        StepSpec::RunScript(s) => {
            let block = ScriptBlock {
                syntax: s.syntax.clone(),
                inline: s.inline.clone(),
                file: s.file.clone(),
                working_dir: s.working_dir.clone(),
                parameters: s.parameters.clone(),
            };
            check_script(&block, path, problems);
        }
        StepSpec::Manual(s) => {
            check_template(&s.instructions, &format!("{path}.instructions"), problems)
        }
        StepSpec::Substitute(s) => {
            check_template(&s.directory, &format!("{path}.directory"), problems);
            if s.files.is_empty() {
                problems.push(Problem::new(
                    format!("{path}.files"),
                    "list at least one file or glob",
                ));
            }
        }
        StepSpec::HttpWait(s) => check_template(&s.url, &format!("{path}.url"), problems),
    }
}

/// The script syntaxes a plan may name (ours and Octopus's spellings).
pub const SYNTAXES: &[&str] = &[
    "bash",
    "sh",
    "python",
    "pwsh",
    "cmd",
    "Bash",
    "Python",
    "PowerShell",
];

fn check_script(script: &ScriptBlock, path: &str, problems: &mut Vec<Problem>) {
    match (&script.inline, &script.file) {
        (Some(_), Some(_)) => {
            problems.push(Problem::new(path, "give `inline` or `file`, not both"))
        }
        (None, None) => problems.push(Problem::new(path, "give the script as `inline` or `file`")),
        (Some(inline), None) => check_template(inline, &format!("{path}.inline"), problems),
        (None, Some(_)) => {}
    }
    if let Some(syntax) = &script.syntax
        && !SYNTAXES.contains(&syntax.as_str())
    {
        problems.push(Problem::new(
            format!("{path}.syntax"),
            format!("unknown syntax `{syntax}`; use bash, sh, python, pwsh or cmd"),
        ));
    }
    for (field, value) in [
        ("working-dir", &script.working_dir),
        ("parameters", &script.parameters),
    ] {
        if let Some(value) = value {
            check_template(value, &format!("{path}.{field}"), problems);
        }
    }
}

pub(super) fn check_profile(doc: &PlanDocument, profile: &CustomerProfile) -> Vec<Problem> {
    let mut problems = Vec::new();
    let secrets = secret_names(doc);
    for name in profile.variables.keys() {
        if secrets.iter().any(|s| s.eq_ignore_ascii_case(name)) {
            problems.push(Problem::new(
                format!("variables.{name}"),
                format!("`{name}` is a secret parameter; a customer profile cannot give it a value (vendor-blind rule)"),
            ));
        }
    }
    check_roles(&profile.roles, &doc.roles, "$", &mut problems);
    let texts = profile
        .variables
        .iter()
        .map(|(name, value)| (format!("variables.{name}"), name, value))
        .collect();
    expansion_problems(doc, Some(profile), texts, &mut problems);
    problems
}
