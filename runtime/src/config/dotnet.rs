//! ".NET Configuration Variables" (`docs/octopus-conventions.md` §4.6, Calamari
//! `ConfigurationVariablesReplacer`):
//! in `*.config` files, for every variable name (compared ignoring case):
//!
//! - `<add key="name" value="…"/>` under any `appSettings` element: its `value` (added if missing);
//! - `<add name="name" connectionString="…"/>` under any `connectionStrings` element: its
//!   `connectionString` (added if missing);
//! - `<setting name="name">` anywhere under an `applicationSettings` element: the text of its
//!   `<value>` child (created if missing).
//!
//! Elements are matched by local name, so namespaced configs work. Edits are surgical: the rest of
//! the file keeps its bytes (Calamari re-indents the document). Finding the files — every
//! `*.config` under the current directory and the additional paths — is [`find_dotnet_config_files`].
//!
//! Gap: Calamari skips config files that were applied as transforms (§4.7); transforms are not
//! implemented here, so the caller must exclude such files itself.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::encoding::{read_text_file, write_atomic};
use super::error::{ConfigError, ConfigFormat, HookError};
use super::glob::find_target_files;
use super::variables::{effective, fold};
use super::xml_tree::{Edit, Element, XmlDoc, apply_edits};
use crate::escape;

/// What happened to one `.config` file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DotnetReport {
    /// Whether the file was rewritten.
    pub changed: bool,
    /// One line per setting changed: `appSettings 'Name'`, `connectionStrings 'Name'`, ….
    pub settings: Vec<String>,
}

/// Every `*.config` file under the bases (recursively), in a stable order.
pub fn find_dotnet_config_files(bases: &[&Path]) -> Result<Vec<PathBuf>, ConfigError> {
    Ok(find_target_files(bases, &["**/*.config".to_string()])?.files)
}

/// Apply `variables` (later entries win over earlier ones with the same name, ignoring case) to
/// the `.config` file at `path`, calling `before_write(path)` before it is overwritten.
pub fn replace_dotnet_config(
    path: &Path,
    variables: &[(String, String)],
    before_write: &mut dyn FnMut(&Path) -> Result<(), HookError>,
) -> Result<DotnetReport, ConfigError> {
    let file = read_text_file(path)?;
    let doc = XmlDoc::parse(&file.text)
        .map_err(|e| e.into_config_error(path, ConfigFormat::DotnetConfig, &file.text))?;
    let values: HashMap<String, &str> = effective(variables)
        .into_iter()
        .map(|(n, v)| (fold(n), v.as_str()))
        .collect();
    let (edits, settings) = collect_edits(&doc, &values);
    if edits.is_empty() {
        return Ok(DotnetReport {
            changed: false,
            settings,
        });
    }
    let text = apply_edits(&file.text, edits);
    // Never write a document that does not parse (every edit should keep it well-formed).
    XmlDoc::parse(&text)
        .map_err(|e| e.into_config_error(path, ConfigFormat::DotnetConfig, &text))?;
    before_write(path).map_err(|source| ConfigError::BeforeWrite {
        path: path.to_path_buf(),
        source,
    })?;
    write_atomic(path, &file.encode_text(&text))?;
    Ok(DotnetReport {
        changed: true,
        settings,
    })
}

fn collect_edits(doc: &XmlDoc<'_>, values: &HashMap<String, &str>) -> (Vec<Edit>, Vec<String>) {
    let mut edits = Vec::new();
    let mut settings = Vec::new();
    let mut visit = |id: usize, ancestors: &[&str]| {
        let Some(element) = doc.element(id) else {
            return;
        };
        let parent = ancestors.last().copied();
        let matched = match element.local_name() {
            "add" if parent == Some("appSettings") => {
                keyed_attr(doc, element, "key", "value", values)
            }
            "add" if parent == Some("connectionStrings") => {
                keyed_attr(doc, element, "name", "connectionString", values)
            }
            "setting" if ancestors.contains(&"applicationSettings") => {
                setting_value(doc, id, element, values)
            }
            _ => None,
        };
        if let Some((edit, name)) = matched {
            settings.push(format!("{} '{name}'", parent.unwrap_or_default()));
            edits.push(edit);
        }
    };
    walk(doc, &doc.top, &mut Vec::new(), &mut visit);
    (edits, settings)
}

/// Depth-first over elements, with the local names of the ancestors.
pub(crate) fn walk<'d>(
    doc: &'d XmlDoc<'_>,
    ids: &[usize],
    ancestors: &mut Vec<&'d str>,
    visit: &mut dyn FnMut(usize, &[&str]),
) {
    for &id in ids {
        let Some(element) = doc.element(id) else {
            continue;
        };
        visit(id, ancestors);
        ancestors.push(element.local_name());
        walk(doc, &doc.nodes[id].children, ancestors, visit);
        ancestors.pop();
    }
}

fn attr_named<'e>(element: &'e Element, name: &str) -> Option<&'e super::xml_tree::Attr> {
    element.attrs.iter().find(|a| a.name == name)
}

/// `<add key="k" value="v"/>`: set (or add) the value attribute when the key is a variable.
fn keyed_attr(
    doc: &XmlDoc<'_>,
    element: &Element,
    key_attr: &str,
    value_attr: &str,
    values: &HashMap<String, &str>,
) -> Option<(Edit, String)> {
    let name = doc.attr_value(attr_named(element, key_attr)?).into_owned();
    let value = values.get(&fold(&name))?;
    let edit = match attr_named(element, value_attr) {
        Some(attr) => doc.set_attr(attr, value),
        None => doc.add_attr(element, value_attr, value),
    };
    Some((edit, name))
}

/// `<setting name="n"><value>v</value></setting>`: set (or create) the value element's text.
fn setting_value(
    doc: &XmlDoc<'_>,
    id: usize,
    element: &Element,
    values: &HashMap<String, &str>,
) -> Option<(Edit, String)> {
    let name = doc.attr_value(attr_named(element, "name")?).into_owned();
    let value = values.get(&fold(&name))?;
    let existing = doc.nodes[id]
        .children
        .iter()
        .find_map(|&c| doc.element(c).filter(|e| e.local_name() == "value"));
    let edit = match existing {
        Some(value_element) => doc.set_content(value_element, &escape::xml_text(value)),
        None => doc.append_content(
            element,
            &format!("<value>{}</value>", escape::xml_text(value)),
        ),
    };
    Some((edit, name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    const WEB_CONFIG: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<configuration>\r\n  <!-- settings -->\r\n  <appSettings>\r\n    <add key=\"Environment\" value=\"Dev\" />\r\n    <add key=\"NoValue\" />\r\n  </appSettings>\r\n  <connectionStrings>\r\n    <add name=\"Db\" connectionString=\"Server=.;\" providerName=\"System.Data.SqlClient\" />\r\n  </connectionStrings>\r\n  <applicationSettings>\r\n    <My.Settings>\r\n      <setting name=\"Url\" serializeAs=\"String\">\r\n        <value>http://old</value>\r\n      </setting>\r\n      <setting name=\"Missing\" serializeAs=\"String\" />\r\n    </My.Settings>\r\n  </applicationSettings>\r\n</configuration>\r\n";

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn replaces_app_settings_connection_strings_and_application_settings() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("web.config");
        fs::write(&path, WEB_CONFIG).expect("write");
        let variables = vars(&[
            ("environment", "Prod & <Live>"),
            ("NoValue", "added"),
            ("DB", "Server=db;User=\"sa\""),
            ("url", "https://new"),
            ("Missing", "created"),
            ("Unrelated", "x"),
        ]);
        let mut hooked = Vec::new();
        let report = replace_dotnet_config(&path, &variables, &mut |p: &Path| {
            hooked.push(p.to_path_buf());
            Ok(())
        })
        .expect("replaces");
        assert!(report.changed);
        assert_eq!(report.settings.len(), 5);
        assert_eq!(hooked, std::slice::from_ref(&path));
        let expected = WEB_CONFIG
            .replace("value=\"Dev\"", "value=\"Prod &amp; &lt;Live&gt;\"")
            .replace("key=\"NoValue\" />", "key=\"NoValue\" value=\"added\" />")
            .replace(
                "connectionString=\"Server=.;\"",
                "connectionString=\"Server=db;User=&quot;sa&quot;\"",
            )
            .replace("http://old", "https://new")
            .replace(
                "<setting name=\"Missing\" serializeAs=\"String\" />",
                "<setting name=\"Missing\" serializeAs=\"String\"><value>created</value></setting>",
            );
        assert_eq!(fs::read_to_string(&path).expect("read"), expected);
    }

    #[test]
    fn untouched_when_nothing_matches_and_errors_name_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("app.config");
        fs::write(&path, WEB_CONFIG).expect("write");
        let report = replace_dotnet_config(&path, &vars(&[("Other", "x")]), &mut |_: &Path| Ok(()))
            .expect("ok");
        assert!(!report.changed);
        assert_eq!(fs::read_to_string(&path).expect("read"), WEB_CONFIG);

        fs::write(&path, "<configuration><appSettings></configuration>").expect("write");
        let err = replace_dotnet_config(&path, &vars(&[]), &mut |_: &Path| Ok(())).unwrap_err();
        assert!(
            err.to_string().contains("app.config") && err.to_string().contains("line 1"),
            "{err}"
        );
    }

    #[test]
    fn finds_config_files_recursively() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::create_dir_all(dir.path().join("bin")).expect("mkdir");
        for name in ["web.config", "bin/app.exe.config", "bin/other.json"] {
            fs::write(dir.path().join(name), "").expect("write");
        }
        let found = find_dotnet_config_files(&[dir.path()]).expect("finds");
        assert_eq!(found.len(), 2);
    }
}
