//! The fixed inputs the targets evaluate the fuzzed bytes against, built once per process.

use dropship_runtime::plan::Plan;
use dropship_runtime::template::Variables;
use std::sync::OnceLock;

/// A plan with a parameter of every type an answers file can answer. `file` is left out: its
/// answer names a file to read, and a fuzzer naming `/dev/zero` finds nothing but itself.
const ANSWERS_PLAN: &str = r##"{
  "schema": "dropship/plan@1",
  "product": { "name": "Fuzz", "version": "1.0.0" },
  "roles": ["web"],
  "parameters": [
    { "name": "Install.Root", "type": "path", "default": "/opt/fuzz" },
    { "name": "Database.Password", "type": "secret", "pattern": ".{4,}" },
    { "name": "Service.Port", "type": "port", "default": "8443" },
    { "name": "Workers", "type": "int", "required": false },
    { "name": "Enabled", "type": "bool", "default": "true" },
    { "name": "Tier", "type": "choice", "options": ["small", "large"], "default": "small" },
    { "name": "Site", "type": "text", "pattern": "[a-z]+", "roles": ["web"] }
  ],
  "steps": [ { "name": "Note", "type": "manual", "instructions": "#{Site}" } ]
}"##;

pub fn answers_plan() -> &'static Plan {
    static PLAN: OnceLock<Plan> = OnceLock::new();
    PLAN.get_or_init(|| Plan::parse(ANSWERS_PLAN.as_bytes(), "fuzz plan").expect("a valid plan"))
}

/// The environment an answers file's `{"env": "NAME"}` reads: one variable is set.
pub fn env(name: &str) -> Option<String> {
    (name == "DB_PASSWORD").then(|| "hunter2hunter2".to_string())
}

const TEMPLATE_VARIABLES: &[(&str, &str)] = &[
    ("Name", "Fabrikam"),
    ("Port", "8443"),
    ("Enabled", "True"),
    ("Empty", ""),
    ("Greeting", "Hello #{Name} on #{Port}"),
    ("Nested", "#{Greeting}!"),
    ("Cycle", "#{Cycle}"),
    ("Date", "2026-01-02T03:04:05Z"),
    ("Version", "4.12.0-beta.1+build.7"),
    ("Uri", "https://example.com:8080/a/b?c=d#e"),
    (
        "Json",
        r#"{"a": {"b": [1, 2, {"c": "x"}]}, "d": true, "e": null}"#,
    ),
    ("List", "one,two,three"),
    ("Html", "<a href=\"x\">&'</a>"),
    ("Server[Web01].Port", "80"),
    ("Server[Web02].Port", "81"),
    ("Server[Web01].Name", "#{Name}-web"),
    ("Octopus.Action[Deploy].Output.Result", "done"),
    ("Multi", "line one\nline two\r\nline three"),
    ("Base64", "SGVsbG8="),
    ("Number", "-12.5e3"),
];

pub fn template_variables() -> &'static Variables {
    static VARS: OnceLock<Variables> = OnceLock::new();
    VARS.get_or_init(|| {
        let mut vars = Variables::new();
        for (name, value) in TEMPLATE_VARIABLES {
            vars.set(*name, Some(value.to_string()));
        }
        vars.set("Null", None);
        vars
    })
}

/// Names in each form the structured replacers and the .NET config replacer match (JSON and
/// YAML paths with `:` and indexes, XPath for XML, dotted keys for `.properties`, appSettings
/// keys and connection string names), with scalar, JSON and empty values.
const CONFIG_VARIABLES: &[(&str, &str)] = &[
    ("Name", "replaced"),
    ("Logging:LogLevel:Default", "Warning"),
    ("ConnectionStrings:Main", "Server=db;Password=x"),
    ("Items:0", "42"),
    ("Items:1:Id", "true"),
    ("Object", r#"{"a": [1, 2], "b": null}"#),
    ("Array", "[1, \"two\", {\"three\": 3}]"),
    ("Nothing", "null"),
    ("Empty", ""),
    (
        "/configuration/appSettings/add[@key='Mode']/@value",
        "Production",
    ),
    ("//setting", "<&>\"'"),
    ("/root/item[2]", "second"),
    ("server.port", "8080"),
    ("Multi", "line one\nline two"),
    ("Mode", "Production"),
    ("Main", "Server=db"),
];

/// The same set for the structured replacers, whose values may be null (none is here).
pub fn structured_variables() -> &'static [(String, Option<String>)] {
    static VARS: OnceLock<Vec<(String, Option<String>)>> = OnceLock::new();
    VARS.get_or_init(|| {
        config_variables()
            .iter()
            .map(|(n, v)| (n.clone(), Some(v.clone())))
            .collect()
    })
}

pub fn config_variables() -> &'static [(String, String)] {
    static VARS: OnceLock<Vec<(String, String)>> = OnceLock::new();
    VARS.get_or_init(|| {
        CONFIG_VARIABLES
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    })
}
