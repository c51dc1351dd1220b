//! Reads the PowerShell script an Offline Package Drop runs (`<Machine>.<Project>.<Id>.ps1`)
//! into its Calamari calls, in order. Only `deploy-package` and `run-script` are kept as calls;
//! other Calamari commands (`import-certificate`, `transfer-package`, …) are reported as
//! unsupported with their line. `$env:NAME = value` assignments are kept too (the journal and
//! applications directory travel that way).
//!
//! Flags are read as Calamari's OptionSet reads them: prefix `--`, `-` or `/`, value after
//! `=`, `:` or a space. A bare `$Var` argument whose value the script assigned earlier (the
//! 3.x `$PasswordArg`) is expanded from that assignment; values still holding `$…` are kept as
//! [`FlagValue::Dynamic`]. Paths are made relative to the drop root with forward slashes; an
//! absolute path outside the drop (a known server bug for transfer steps) stays absolute.

use super::error::ImportError;
use super::ps1_lex::{Token, Word, tokenize};
use std::collections::HashMap;
use std::path::Path;

/// Everything the script does that an import needs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OpdScript {
    /// Supported Calamari calls, in script order.
    pub calls: Vec<CalamariCall>,
    /// Other Calamari commands, with the reason they cannot be imported.
    pub unsupported: Vec<UnsupportedCall>,
    /// `$env:NAME = value` assignments, in order (`TentacleJournal`, `TentacleApplications`).
    pub environment: Vec<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CalamariCommand {
    DeployPackage,
    RunScript,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalamariCall {
    /// The line the call starts on.
    pub line: usize,
    pub command: CalamariCommand,
    /// Flags in order, names without prefix, in Calamari's spelling when known.
    pub flags: Vec<CalamariFlag>,
    /// Arguments that are not flags (an unexpandable `$Var`, a stray word), verbatim.
    pub extra: Vec<String>,
}

impl CalamariCall {
    /// The first value of flag `name` (case-insensitive).
    pub fn value(&self, name: &str) -> Option<&FlagValue> {
        self.flags
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
            .map(|f| &f.value)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalamariFlag {
    pub name: String,
    pub value: FlagValue,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlagValue {
    /// A flag without a value.
    Switch,
    Text(String),
    /// A file: relative to the drop root with `/`, or absolute when outside the drop.
    Path(String),
    /// Holds a PowerShell expansion (`$Password`) known only when the script runs.
    Dynamic(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsupportedCall {
    pub line: usize,
    pub command: String,
    pub reason: String,
}

/// Calamari flags that take a value, in Calamari's spelling.
const VALUE_FLAGS: [&str; 10] = [
    "package",
    "variables",
    "variablesPassword",
    "sensitiveVariables",
    "sensitiveVariablesPassword",
    "outputVariables",
    "outputVariablesPassword",
    "base64Variables",
    "script",
    "scriptParameters",
];

/// Flags whose value is a file in the drop. A `--script` inside `--package` is also relative,
/// so it is normalised the same way.
const PATH_FLAGS: [&str; 5] = [
    "package",
    "variables",
    "sensitiveVariables",
    "outputVariables",
    "script",
];

/// Parses script text; `file` is used in errors, `drop_root` to make paths relative.
pub(super) fn parse(text: &str, file: &Path, drop_root: &Path) -> Result<OpdScript, ImportError> {
    let tokens = tokenize(text, file)?;
    let mut reader = Reader {
        file,
        root: normalise_root(drop_root),
        variables: HashMap::new(),
        out: OpdScript::default(),
    };
    for statement in tokens.split(|t| *t == Token::Separator) {
        reader.statement(statement)?;
    }
    if reader.out.calls.is_empty() && reader.out.unsupported.is_empty() {
        return Err(ps1_error(
            file,
            1,
            "no Calamari call found; is this the drop's generated `.ps1`?",
        ));
    }
    Ok(reader.out)
}

struct Reader<'a> {
    file: &'a Path,
    /// The drop root with `/` separators and no trailing slash.
    root: String,
    /// `$name` (lower case) to the word last assigned to it.
    variables: HashMap<String, Word>,
    out: OpdScript,
}

impl Reader<'_> {
    fn statement(&mut self, tokens: &[Token]) -> Result<(), ImportError> {
        if let [name, eq, value] = words(tokens).as_slice()
            && eq.text == "="
            && name.text.starts_with('$')
        {
            self.assign(name, value);
            return Ok(());
        }
        let found = (0..tokens.len()).find_map(|i| Some((i, self.calamari_at(tokens, i)?.line)));
        match found {
            Some((at, line)) => self.call(&words(&tokens[at + 1..]), line),
            None => Ok(()),
        }
    }

    /// Token `i`, if it runs Calamari: a Calamari path that starts the command, follows the
    /// `&` operator or `=`, or is handed to `dotnet`/`mono`. A path merely mentioned
    /// (`Write-Host Calamari`, `Test-Path …\Calamari.exe`) is not a call.
    fn calamari_at<'t>(&self, tokens: &'t [Token], i: usize) -> Option<&'t Word> {
        let Some(Token::Word(word)) = tokens.get(i) else {
            return None;
        };
        let runs = match i.checked_sub(1).and_then(|j| tokens.get(j)) {
            None | Some(Token::Call) => true,
            Some(Token::Word(prev)) => {
                let prev = prev.text.to_ascii_lowercase();
                matches!(prev.as_str(), "=" | "dotnet" | "dotnet.exe" | "mono")
            }
            Some(Token::Separator) => false,
        };
        (runs && self.is_calamari(word)).then_some(word)
    }

    fn assign(&mut self, name: &Word, value: &Word) {
        let key = name.text.to_ascii_lowercase();
        if let Some(env) = name.text.get(5..).filter(|_| key.starts_with("$env:")) {
            self.out
                .environment
                .push((env.to_owned(), value.text.clone()));
        }
        self.variables.insert(key, value.clone());
    }

    /// `Calamari\Calamari.exe` (or `.dll`, or the bare name), directly or through a variable.
    fn is_calamari(&self, word: &Word) -> bool {
        let text = match self.variables.get(&word.text.to_ascii_lowercase()) {
            Some(value) if word.text.starts_with('$') => &value.text,
            _ => &word.text,
        };
        let last = text
            .rsplit(['\\', '/'])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        matches!(last.as_str(), "calamari.exe" | "calamari.dll" | "calamari")
    }

    fn call(&mut self, args: &[&Word], line: usize) -> Result<(), ImportError> {
        let Some((command, args)) = args
            .split_first()
            .filter(|(c, _)| as_flag(&c.text).is_none())
        else {
            return Err(ps1_error(
                self.file,
                line,
                "Calamari is called without a command",
            ));
        };
        let command = match command.text.to_ascii_lowercase().as_str() {
            "deploy-package" => CalamariCommand::DeployPackage,
            "run-script" => CalamariCommand::RunScript,
            _ => {
                self.out.unsupported.push(UnsupportedCall {
                    line,
                    reason: format!(
                        "Calamari command `{}` has no dropship equivalent",
                        command.text
                    ),
                    command: command.text.clone(),
                });
                return Ok(());
            }
        };
        let call = self.arguments(command, args, line)?;
        if command == CalamariCommand::DeployPackage && call.value("package").is_none() {
            return Err(ps1_error(
                self.file,
                line,
                "`deploy-package` without `--package`",
            ));
        }
        self.out.calls.push(call);
        Ok(())
    }

    fn arguments(
        &self,
        command: CalamariCommand,
        args: &[&Word],
        line: usize,
    ) -> Result<CalamariCall, ImportError> {
        let mut call = CalamariCall {
            line,
            command,
            flags: Vec::new(),
            extra: Vec::new(),
        };
        let mut i = 0;
        while let Some(word) = args.get(i) {
            i += 1;
            let line = word.line;
            let expanded = self.expand(word);
            let Some((name, inline)) = as_flag(&expanded.text) else {
                call.extra.push(word.text.clone());
                continue;
            };
            let name = canonical(name);
            let value = match inline {
                Some(v) => Some((unquote(v).to_owned(), expanded.dynamic)),
                None if takes_value(&name) => {
                    let next = args.get(i).filter(|n| as_flag(&n.text).is_none());
                    let next = next.ok_or_else(|| {
                        ps1_error(self.file, line, format!("`--{name}` needs a value"))
                    })?;
                    i += 1;
                    Some((next.text.clone(), next.dynamic))
                }
                None => None,
            };
            let value = self.flag_value(&name, value, line)?;
            call.flags.push(CalamariFlag { name, value });
        }
        Ok(call)
    }

    /// A bare `$Var` argument stands for what the script assigned to it, if it did.
    fn expand<'w>(&'w self, word: &'w Word) -> &'w Word {
        match self.variables.get(&word.text.to_ascii_lowercase()) {
            Some(value) if word.text.starts_with('$') => value,
            _ => word,
        }
    }

    fn flag_value(
        &self,
        name: &str,
        value: Option<(String, bool)>,
        line: usize,
    ) -> Result<FlagValue, ImportError> {
        let Some((text, dynamic)) = value else {
            return Ok(FlagValue::Switch);
        };
        let is_path = PATH_FLAGS.iter().any(|f| f.eq_ignore_ascii_case(name));
        let text = if is_path {
            strip_script_root(&text)
        } else {
            text.as_str()
        };
        if dynamic && text.contains('$') {
            return Ok(FlagValue::Dynamic(text.to_owned()));
        }
        if !is_path {
            return Ok(FlagValue::Text(text.to_owned()));
        }
        relative_path(text, &self.root)
            .map(FlagValue::Path)
            .map_err(|message| ps1_error(self.file, line, message))
    }
}

fn words(tokens: &[Token]) -> Vec<&Word> {
    tokens
        .iter()
        .filter_map(|t| match t {
            Token::Word(w) => Some(w),
            _ => None,
        })
        .collect()
}

/// Splits `--name=value`, `-name:value`, `/name`, … into name and inline value. Names must be
/// alphanumeric, so `-1`, `/opt/app` or `C:\x` are values, not flags.
fn as_flag(text: &str) -> Option<(&str, Option<&str>)> {
    let rest = text
        .strip_prefix("--")
        .or_else(|| text.strip_prefix('-'))
        .or_else(|| text.strip_prefix('/'))?;
    let (name, value) = match rest.find([':', '=']) {
        Some(at) => (&rest[..at], Some(&rest[at + 1..])),
        None => (rest, None),
    };
    let valid = name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric());
    valid.then_some((name, value))
}

fn canonical(name: &str) -> String {
    VALUE_FLAGS
        .iter()
        .find(|known| known.eq_ignore_ascii_case(name))
        .map_or_else(|| name.to_owned(), |known| (*known).to_owned())
}

fn takes_value(name: &str) -> bool {
    VALUE_FLAGS.contains(&name)
}

/// `-flag="value"` written inside a PowerShell string keeps its inner quotes.
fn unquote(value: &str) -> &str {
    value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value)
}

/// Scripts may anchor paths at their own folder, which is the drop root.
fn strip_script_root(text: &str) -> &str {
    let lower = text.to_ascii_lowercase();
    for anchor in ["$psscriptroot", "${psscriptroot}"] {
        if lower.starts_with(anchor) {
            return text[anchor.len()..].trim_start_matches(['\\', '/']);
        }
    }
    text
}

fn normalise_root(root: &Path) -> String {
    let text = root.to_string_lossy().replace('\\', "/");
    text.trim_end_matches('/').to_owned()
}

/// `Packages\X.nupkg` → `Packages/X.nupkg`; absolute paths under the root become relative.
fn relative_path(text: &str, root: &str) -> Result<String, String> {
    let slashed = text.replace('\\', "/");
    let absolute = slashed.starts_with('/') || slashed.get(1..3) == Some(":/");
    let relative = if absolute {
        match strip_prefix_ignore_case(&slashed, &format!("{root}/")) {
            Some(rest) if !root.is_empty() => rest.to_owned(),
            _ => return Ok(slashed),
        }
    } else {
        slashed
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in relative.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(format!("path `{text}` leaves the drop folder"));
                }
            }
            other => parts.push(other),
        }
    }
    Ok(parts.join("/"))
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

fn ps1_error(file: &Path, line: usize, message: impl Into<String>) -> ImportError {
    ImportError::Ps1 {
        file: file.to_path_buf(),
        line,
        message: message.into(),
    }
}
