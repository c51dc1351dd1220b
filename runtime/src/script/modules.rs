//! Script modules: the library code an Octopus project shares between its scripts, delivered as
//! variables (`Octopus.Script.Module[NAME]` holds the code, `Octopus.Script.Module.Language[NAME]`
//! its language, PowerShell when unset), each written where the script's language finds it, as
//! Calamari writes them (`docs/octopus-conventions.md` §5.2):
//!
//! * Bash: `NAME.sh` in the script's working directory, for the script to `source` (written by
//!   the step, which owns that directory);
//! * Python: `NAME.py` beside the bootstrap (the interpreter's first import path), for `import
//!   NAME`;
//! * PowerShell: `Library_NAME_N.psm1` beside the bootstrap, imported by the bootstrap before the
//!   script runs (`Import-ScriptModule`), so its functions are in scope.
//!
//! `NAME` keeps the module name's letters and digits (and `_`, except for PowerShell, as in
//! Calamari): `Acme Helpers` → `AcmeHelpers`.

use super::ScriptVariable;
use std::collections::BTreeMap;

const MODULE: &str = "Octopus.Script.Module[";
const LANGUAGE: &str = "Octopus.Script.Module.Language[";

/// The language a module is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModuleLanguage {
    Bash,
    PowerShell,
    Python,
    /// A language dropship runs no scripts in (C#, F#): not written.
    Other,
}

impl ModuleLanguage {
    fn parse(text: Option<&str>) -> ModuleLanguage {
        let Some(text) = text else {
            return ModuleLanguage::PowerShell;
        };
        match text.to_ascii_lowercase().as_str() {
            "bash" => ModuleLanguage::Bash,
            "powershell" => ModuleLanguage::PowerShell,
            "python" => ModuleLanguage::Python,
            _ => ModuleLanguage::Other,
        }
    }
}

/// One script module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptModule<'a> {
    /// The module's name in the project (`Acme Helpers`).
    pub name: &'a str,
    pub language: ModuleLanguage,
    /// The code, CRLF line endings made LF.
    pub body: String,
}

impl ScriptModule<'_> {
    /// The file name's stem: the name's letters, digits and `_` (`Acme Helpers` → `AcmeHelpers`).
    pub fn stem(&self) -> String {
        let keep = |c: &char| c.is_alphanumeric() || *c == '_';
        self.name.chars().filter(keep).collect()
    }
}

/// The modules among `variables` in `language` (the last value of a name wins), by name.
pub fn script_modules(
    variables: &[ScriptVariable],
    language: ModuleLanguage,
) -> Vec<ScriptModule<'_>> {
    let last: BTreeMap<&str, &str> = variables
        .iter()
        .map(|v| (v.name.as_str(), v.value.as_str()))
        .collect();
    let languages: BTreeMap<&str, &str> = last
        .iter()
        .filter_map(|(key, value)| Some((bracketed(key, LANGUAGE)?, *value)))
        .collect();
    last.iter()
        .filter_map(|(key, body)| Some((bracketed(key, MODULE)?, *body)))
        .map(|(name, body)| ScriptModule {
            name,
            language: ModuleLanguage::parse(languages.get(name).copied()),
            body: body.replace("\r\n", "\n"),
        })
        .filter(|module| module.language == language)
        .collect()
}

/// `NAME` of `PREFIXNAME]`.
fn bracketed<'a>(key: &'a str, prefix: &str) -> Option<&'a str> {
    key.strip_prefix(prefix)?.strip_suffix(']')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn var(name: &str, value: &str) -> ScriptVariable {
        ScriptVariable {
            name: name.into(),
            value: value.into(),
            sensitive: false,
        }
    }

    #[test]
    fn modules_are_found_by_language_with_powershell_the_default() {
        let variables = [
            var("Octopus.Script.Module[Acme Helpers]", "old"),
            var(
                "Octopus.Script.Module[Acme Helpers]",
                "greet() {\r\n  echo hi\r\n}\r\n",
            ),
            var("Octopus.Script.Module.Language[Acme Helpers]", "Bash"),
            var(
                "Octopus.Script.Module[Deploy-Tools]",
                "function Get-X { 1 }",
            ),
            var("Octopus.Script.Module[py_util]", "X = 1"),
            var("Octopus.Script.Module.Language[py_util]", "Python"),
            var("Octopus.Script.Module[Sharp]", "class C {}"),
            var("Octopus.Script.Module.Language[Sharp]", "CSharp"),
            var("Octopus.Script.Module.Language[Orphan]", "Bash"),
        ];
        let bash = script_modules(&variables, ModuleLanguage::Bash);
        assert_eq!(bash.len(), 1);
        assert_eq!(bash[0].stem(), "AcmeHelpers");
        assert_eq!(
            bash[0].body, "greet() {\n  echo hi\n}\n",
            "last value, LF endings"
        );
        let pwsh = script_modules(&variables, ModuleLanguage::PowerShell);
        assert_eq!(pwsh.len(), 1);
        assert_eq!(
            (pwsh[0].name, pwsh[0].stem().as_str()),
            ("Deploy-Tools", "DeployTools")
        );
        let python = script_modules(&variables, ModuleLanguage::Python);
        assert_eq!(python[0].stem(), "py_util");
        assert!(script_modules(&variables[..1], ModuleLanguage::Bash).is_empty());
    }
}
