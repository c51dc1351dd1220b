//! Writing a run's private directory: our bootstrap for the syntax, the variables file and (when
//! needed) the script, and choosing the command line that runs them.
//!
//! The directory is made 0700 and every file in it 0600, so variable values (secrets included)
//! are readable only by this user, and only while the run lasts: [`Prepared`] owns the directory
//! and deletes it when dropped. Each bootstrap also deletes the variables file as soon as it has
//! read it, so values sit on disk only while the interpreter starts, even if the installer is
//! killed before it can clean up. The command line holds only paths inside that directory.
//!
//! The script runs in place (so `BASH_SOURCE`/`__file__` point into the working directory, as with
//! Calamari) when the working directory already holds it byte for byte — package scripts, which
//! Calamari does not template. A templated body may hold secrets, so it is written to the private
//! directory instead of next to the vendor's files; only its directory differs from Calamari.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::{
    Interpreter, ModuleLanguage, ScriptError, ScriptRequest, ScriptVariable, Syntax, script_modules,
};

const BASH_HELPERS: &str = include_str!("bootstrap/bash.sh");
const PYTHON_HELPERS: &str = include_str!("bootstrap/python.py");
const PWSH_HELPERS: &str = include_str!("bootstrap/pwsh.ps1");

/// A run's private directory and the command that starts the script.
pub(super) struct Prepared {
    /// Deleted (with everything in it) when this is dropped.
    dir: tempfile::TempDir,
    pub program: &'static str,
    pub args: Vec<OsString>,
}

impl Prepared {
    /// The run's private directory.
    pub(super) fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// Write the private directory for `request` and work out the command line for `interpreter`.
pub(super) fn prepare(
    request: &ScriptRequest<'_>,
    interpreter: Interpreter,
) -> Result<Prepared, ScriptError> {
    let script_name = script_name(request)?;
    let dir = crate::scratch::private_dir("script").map_err(|source| ScriptError::TempFile {
        step: request.step.to_string(),
        role: "the private script directory",
        path: std::env::temp_dir(),
        source,
    })?;
    let writer = Writer {
        step: request.step,
        dir: dir.path(),
    };
    let script = place_script(request, &writer, &script_name)?;
    let args = write_bootstrap(request, &writer, &script_name, &script)?;
    Ok(Prepared {
        dir,
        program: interpreter.program,
        args,
    })
}

/// Write the bootstrap and variables file for the syntax; the interpreter's arguments.
fn write_bootstrap(
    request: &ScriptRequest<'_>,
    writer: &Writer<'_>,
    script_name: &str,
    script: &Path,
) -> Result<Vec<OsString>, ScriptError> {
    let bootstrap = writer.dir.join(format!("Bootstrap.{script_name}"));
    let variables = unique_variables(request.variables);
    Ok(match request.syntax {
        Syntax::Bash | Syntax::Sh => {
            shell_files(request, writer, &variables, script, &bootstrap)?;
            // `$0` is the relative name `Bootstrap.<script>` as under Calamari, whose bootstrap
            // sits in the working directory, so `cd "$(dirname "$0")"` stays there.
            let source = format!(
                ". {}",
                crate::escape::shell_single_quoted(&bootstrap.to_string_lossy())
            );
            vec![
                "-c".into(),
                source.into(),
                format!("Bootstrap.{script_name}").into(),
            ]
        }
        Syntax::Python => {
            let config = python_config(request, writer, &variables, script)?;
            writer.write("the python bootstrap", &bootstrap, PYTHON_HELPERS)?;
            python_modules(request, writer)?;
            vec![
                "-u".into(),
                bootstrap.into_os_string(),
                config.into_os_string(),
            ]
        }
        Syntax::PowerShell => {
            pwsh_files(request, writer, &variables, script, &bootstrap)?;
            let mut args: Vec<OsString> = ["-NoLogo", "-NoProfile", "-NonInteractive"]
                .into_iter()
                .chain(["-ExecutionPolicy", "Unrestricted", "-File"])
                .map(OsString::from)
                .collect();
            args.push(bootstrap.into_os_string());
            args
        }
        Syntax::Cmd => {
            cmd_files(request, writer, &variables, script, &bootstrap)?;
            // `/d`: no AutoRun commands from the registry run before ours.
            vec!["/d".into(), "/c".into(), bootstrap.into_os_string()]
        }
    })
}

/// The script's file name: the caller's plain name, with the syntax's extension when missing.
fn script_name(request: &ScriptRequest<'_>) -> Result<String, ScriptError> {
    let name = request.file_name;
    let separator = |c: char| std::path::is_separator(c) || c == '\0';
    if name.is_empty() || name == "." || name == ".." || name.contains(separator) {
        return Err(ScriptError::BadFileName {
            step: request.step.to_string(),
            name: name.to_string(),
        });
    }
    let extension = request.syntax.extension();
    let has_extension = Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case(extension));
    Ok(if has_extension {
        name.to_string()
    } else {
        format!("{name}.{extension}")
    })
}

/// Where the script runs from: in place when the working directory already holds exactly this
/// text, otherwise a private copy.
fn place_script(
    request: &ScriptRequest<'_>,
    writer: &Writer<'_>,
    script_name: &str,
) -> Result<PathBuf, ScriptError> {
    // Calamari rewrites shell scripts with LF endings before running them
    // (`docs/octopus-conventions.md` §5.2).
    let body = match request.syntax {
        Syntax::Bash | Syntax::Sh => request.body.replace("\r\n", "\n"),
        Syntax::Python | Syntax::PowerShell | Syntax::Cmd => request.body.to_string(),
    };
    let in_place = request.working_dir.join(script_name);
    if std::fs::read(&in_place).is_ok_and(|on_disk| on_disk == body.as_bytes()) {
        return Ok(in_place);
    }
    let copy = writer.dir.join(script_name);
    writer.write("the script", &copy, &body)?;
    Ok(copy)
}

/// Variables by name, the last value winning, in first-seen order (stable files for tests).
fn unique_variables(variables: &[ScriptVariable]) -> Vec<(&str, &str)> {
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut unique: Vec<(&str, &str)> = Vec::new();
    for variable in variables {
        match index.get(variable.name.as_str()) {
            Some(&at) => unique[at].1 = &variable.value,
            None => {
                index.insert(&variable.name, unique.len());
                unique.push((&variable.name, &variable.value));
            }
        }
    }
    unique
}

/// bash/sh: the helpers, the variables as a `case` table, and the wrapper that sources them and
/// then the script (Calamari's `Bootstrap.*` file, `docs/octopus-conventions.md` §5.2).
fn shell_files(
    request: &ScriptRequest<'_>,
    writer: &Writer<'_>,
    variables: &[(&str, &str)],
    script: &Path,
    bootstrap: &Path,
) -> Result<(), ScriptError> {
    let helpers = writer.dir.join("helpers.sh");
    writer.write("the shell helpers", &helpers, BASH_HELPERS)?;
    let table = writer.dir.join("variables.sh");
    writer.write("the variables file", &table, &shell_variables(variables))?;
    let parameters = request.parameters.unwrap_or("");
    let run = match request.syntax {
        // Pasted verbatim: the parameters are shell code, as in Calamari
        // (`docs/octopus-conventions.md` §5.7).
        Syntax::Bash => format!(
            "source {} {parameters}",
            crate::escape::shell_single_quoted(&script.to_string_lossy())
        ),
        // POSIX `.` takes no arguments: set the positional parameters first.
        _ => format!(
            "set -- {parameters}\n. {}",
            crate::escape::shell_single_quoted(&script.to_string_lossy())
        ),
    };
    let wrapper = format!(
        "# Written by dropship for step {step}; deleted after the run.\n\
         . {table}\nrm -f {table}\n. {helpers}\n{run}\n",
        step = crate::escape::shell_single_quoted(request.step).replace('\n', " "),
        helpers = crate::escape::shell_single_quoted(&helpers.to_string_lossy()),
        table = crate::escape::shell_single_quoted(&table.to_string_lossy()),
    );
    writer.write("the bootstrap", bootstrap, &wrapper)
}

/// The `case` table behind `get_octopusvariable`: exact, case-sensitive names; values printed
/// with no trailing newline. Single-quoted patterns match literally (`[`, `*`, spaces).
fn shell_variables(variables: &[(&str, &str)]) -> String {
    let mut out = String::from("__dropship_get() {\n  case \"$1\" in\n");
    for (name, value) in variables {
        out.push_str(&format!(
            "    {}) printf '%s' {} ;;\n",
            crate::escape::shell_single_quoted(name),
            crate::escape::shell_single_quoted(value)
        ));
    }
    out.push_str("    *) return 1 ;;\n  esac\n}\n");
    out
}

/// python: the JSON file the bootstrap reads (script path, arguments, variables).
fn python_config(
    request: &ScriptRequest<'_>,
    writer: &Writer<'_>,
    variables: &[(&str, &str)],
    script: &Path,
) -> Result<PathBuf, ScriptError> {
    let config = serde_json::json!({
        "script": script.to_string_lossy(),
        "arguments": split_arguments(request.parameters.unwrap_or("")),
        "variables": variables,
    });
    let path = writer.dir.join("variables.json");
    writer.write("the variables file", &path, &config.to_string())?;
    Ok(path)
}

/// pwsh: the helpers, the variables as JSON, and the wrapper that dot-sources the script with
/// its parameters pasted verbatim (`docs/octopus-conventions.md` §5.5).
fn pwsh_files(
    request: &ScriptRequest<'_>,
    writer: &Writer<'_>,
    variables: &[(&str, &str)],
    script: &Path,
    bootstrap: &Path,
) -> Result<(), ScriptError> {
    let helpers = writer.dir.join("helpers.ps1");
    writer.write("the PowerShell helpers", &helpers, PWSH_HELPERS)?;
    let table = writer.dir.join("variables.json");
    // An object, not a bare array: PowerShell would unroll a one-pair array into its two strings.
    let json = serde_json::json!({ "variables": variables });
    writer.write("the variables file", &table, &json.to_string())?;
    let modules = pwsh_modules(request, writer)?;
    let wrapper = format!(
        "# Written by dropship; deleted after the run.\n\
         {UTF8_OUTPUT}\
         . {helpers} -VariablesFile {table}\n\
         {modules}\
         try {{\n  . {script} {parameters}\n}} catch {{\n  \
         [Console]::Error.WriteLine(($_ | Out-String))\n  exit 1\n}}\n\
         if ((Test-Path variable:global:LASTEXITCODE)) {{ exit $LASTEXITCODE }}\n",
        helpers = ps_quote(&helpers.to_string_lossy()),
        table = ps_quote(&table.to_string_lossy()),
        script = ps_quote(&script.to_string_lossy()),
        parameters = request.parameters.unwrap_or(""),
    );
    writer.write("the bootstrap", bootstrap, &wrapper)
}

/// PowerShell script modules: each written beside the bootstrap as `Library_NAME_N.psm1` (with a
/// BOM, as Calamari writes them, so Windows PowerShell reads them as UTF-8); the bootstrap's lines
/// that import them (`Import-ScriptModule`, in the helpers) before the script runs.
fn pwsh_modules(request: &ScriptRequest<'_>, writer: &Writer<'_>) -> Result<String, ScriptError> {
    let mut imports = String::new();
    for (n, module) in script_modules(request.variables, ModuleLanguage::PowerShell)
        .iter()
        .enumerate()
    {
        let stem: String = module
            .name
            .chars()
            .filter(|c| c.is_alphanumeric())
            .collect();
        let path = writer.dir.join(format!("Library_{stem}_{n}.psm1"));
        writer.write(
            "a script module",
            &path,
            &format!("\u{FEFF}{}", module.body),
        )?;
        imports.push_str(&format!(
            "Import-ScriptModule {} {}\n",
            ps_quote(module.name),
            ps_quote(&path.to_string_lossy())
        ));
    }
    Ok(imports)
}

/// Python script modules: each written beside the bootstrap (the interpreter's first import path)
/// as `NAME.py`, for the script to `import NAME`.
fn python_modules(request: &ScriptRequest<'_>, writer: &Writer<'_>) -> Result<(), ScriptError> {
    for module in script_modules(request.variables, ModuleLanguage::Python) {
        let path = writer.dir.join(format!("{}.py", module.stem()));
        writer.write("a script module", &path, &module.body)?;
    }
    Ok(())
}

/// What Calamari's bootstrap does first: output in UTF-8 (without a BOM), whatever the console's
/// code page, so Windows PowerShell's pipes carry the same text as pwsh's. `New-Object` rather
/// than `::new`, which Windows PowerShell 4 lacks.
const UTF8_OUTPUT: &str = "[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false\n\
     $OutputEncoding = [Console]::OutputEncoding\n";

/// cmd: the variables as environment variables set by a file the wrapper calls and then deletes,
/// and the script called with its parameters pasted verbatim. cmd cannot read a structured file,
/// so a script sees each variable under its Octopus name (`%Octopus.Action.Name%`); one cmd
/// cannot hold (a name with `=`, a line break, a NUL) is left out. Output is switched to UTF-8.
fn cmd_files(
    request: &ScriptRequest<'_>,
    writer: &Writer<'_>,
    variables: &[(&str, &str)],
    script: &Path,
    bootstrap: &Path,
) -> Result<(), ScriptError> {
    let table = writer.dir.join("variables.cmd");
    writer.write("the variables file", &table, &cmd_variables(variables))?;
    let wrapper = format!(
        "@echo off\r\nrem Written by dropship; deleted after the run.\r\n\
         chcp 65001 >nul\r\ncall {table}\r\ndel /q {table}\r\n\
         call {script} {parameters}\r\nexit /b %ERRORLEVEL%\r\n",
        table = cmd_quote(&table.to_string_lossy()),
        script = cmd_quote(&script.to_string_lossy()),
        parameters = request.parameters.unwrap_or(""),
    );
    writer.write("the bootstrap", bootstrap, &wrapper)
}

/// One `set NAME=VALUE` line per variable cmd can hold, every character literal.
fn cmd_variables(variables: &[(&str, &str)]) -> String {
    let unrepresentable = |text: &str| text.contains(['\r', '\n', '\0']);
    let mut out = String::from("@echo off\r\n");
    for (name, value) in variables {
        if name.is_empty() || name.contains('=') || unrepresentable(name) || unrepresentable(value)
        {
            continue;
        }
        out.push_str(&format!(
            "set {}={}\r\n",
            cmd_escape(name),
            cmd_escape(value)
        ));
    }
    out
}

/// Escape for an unquoted batch-file line: `%` doubled (expanded first), then each character
/// cmd treats specially behind a caret. Unquoted, so a `"` in the value cannot switch quoting.
fn cmd_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '%' => out.push_str("%%"),
            '^' | '&' | '|' | '<' | '>' | '(' | ')' | '"' => {
                out.push('^');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// Quote a path for cmd: double quotes (Windows paths cannot contain one), `%` doubled.
fn cmd_quote(path: &str) -> String {
    format!("\"{}\"", path.replace('%', "%%"))
}

/// Quote for PowerShell: a single-quoted string, quotes doubled.
fn ps_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Split a parameter string as .NET splits a process argument string (Windows rules, which
/// Calamari's Python command line goes through, `docs/octopus-conventions.md` §5.7):
/// whitespace separates, double quotes group, `\"` is a literal quote, and backslashes are
/// literal unless they precede a quote.
pub(super) fn split_arguments(text: &str) -> Vec<String> {
    let mut arguments = Vec::new();
    let mut current = String::new();
    let (mut quoted, mut started) = (false, false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let mut count = 1;
                while chars.next_if_eq(&'\\').is_some() {
                    count += 1;
                }
                if chars.peek() == Some(&'"') {
                    current.extend(std::iter::repeat_n('\\', count / 2));
                    if count % 2 == 1 {
                        current.push('"');
                        chars.next();
                    }
                } else {
                    current.extend(std::iter::repeat_n('\\', count));
                }
                started = true;
            }
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                current.push('"');
            }
            '"' => (quoted, started) = (!quoted, true),
            c if c.is_whitespace() && !quoted => {
                if started {
                    arguments.push(std::mem::take(&mut current));
                    started = false;
                }
            }
            c => {
                current.push(c);
                started = true;
            }
        }
    }
    if started {
        arguments.push(current);
    }
    arguments
}

/// Writes 0600 files into the private directory, naming the file and its role on failure.
struct Writer<'a> {
    step: &'a str,
    dir: &'a Path,
}

impl Writer<'_> {
    fn write(&self, role: &'static str, path: &Path, text: &str) -> Result<(), ScriptError> {
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        // Known gap on Windows: no DACL of our own yet; the files inherit the user's temporary
        // folder's (the user, SYSTEM and Administrators).
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        options
            .open(path)
            .and_then(|mut file| file.write_all(text.as_bytes()))
            .map_err(|source| ScriptError::TempFile {
                step: self.step.to_string(),
                role,
                path: path.to_path_buf(),
                source,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_split_like_dotnet() {
        assert_eq!(split_arguments(""), Vec::<String>::new());
        assert_eq!(split_arguments("  a  b "), ["a", "b"]);
        assert_eq!(split_arguments(r#""Para meter0" x"#), ["Para meter0", "x"]);
        assert_eq!(split_arguments(r#"a\"b"#), [r#"a"b"#]);
        assert_eq!(split_arguments(r#"a\\"b c" d"#), [r#"a\b c"#, "d"]);
        assert_eq!(split_arguments(r"C:\dir\ x"), [r"C:\dir\", "x"]);
        assert_eq!(split_arguments(r#""""#), [""]);
        assert_eq!(split_arguments(r#""a""b""#), [r#"a"b"#]);
    }

    #[test]
    fn shell_quoting_is_literal() {
        assert_eq!(crate::escape::shell_single_quoted("it's"), r"'it'\''s'");
        assert_eq!(ps_quote("it's"), "'it''s'");
    }

    /// The files and command line `prepare` writes for a script of `syntax` run by `program`.
    fn variable(name: &str, value: &str) -> ScriptVariable {
        ScriptVariable {
            name: name.into(),
            value: value.into(),
            sensitive: false,
        }
    }

    fn prepared(syntax: Syntax, program: &'static str) -> (Prepared, String) {
        prepared_with(syntax, program, &[variable("Name", "it's")])
    }

    fn prepared_with(
        syntax: Syntax,
        program: &'static str,
        variables: &[ScriptVariable],
    ) -> (Prepared, String) {
        let work = tempfile::tempdir().unwrap();
        let scrubber = crate::secret::Scrubber::new();
        let cancel = std::sync::atomic::AtomicBool::new(false);
        let request = ScriptRequest {
            step: "Step",
            syntax,
            body: "body",
            file_name: "Script",
            working_dir: work.path(),
            variables,
            parameters: Some("-Flag 'x'"),
            env: &[],
            timeout: None,
            scrubber: &scrubber,
            cancel: &cancel,
        };
        let interpreter = Interpreter {
            program,
            install: "",
        };
        let prepared = prepare(&request, interpreter).unwrap();
        let ext = syntax.extension();
        let bootstrap = prepared.dir().join(format!("Bootstrap.Script.{ext}"));
        let text = std::fs::read_to_string(bootstrap).unwrap();
        (prepared, text)
    }

    #[test]
    fn powershell_modules_are_imported_before_the_script_and_python_ones_sit_beside_it() {
        let modules = [
            variable(
                "Octopus.Script.Module[Acme Tools]",
                "function Get-Acme { 'acme' }\r\n",
            ),
            variable("Octopus.Script.Module[acme_py]", "NAME = 'acme'\n"),
            variable("Octopus.Script.Module.Language[acme_py]", "Python"),
        ];
        let (prepared, text) = prepared_with(Syntax::PowerShell, "pwsh", &modules);
        let module = prepared.dir().join("Library_AcmeTools_0.psm1");
        let import = format!(
            "Import-ScriptModule 'Acme Tools' '{}'\ntry {{",
            module.to_string_lossy().replace('\'', "''")
        );
        assert!(text.contains(&import), "{text}");
        let written = std::fs::read_to_string(&module).unwrap();
        assert_eq!(written, "\u{FEFF}function Get-Acme { 'acme' }\n");
        assert!(!prepared.dir().join("acme_py.py").exists());
        assert!(PWSH_HELPERS.contains("function Import-ScriptModule("));

        let (prepared, _) = prepared_with(Syntax::Python, "python3", &modules);
        let module = std::fs::read_to_string(prepared.dir().join("acme_py.py")).unwrap();
        assert_eq!(module, "NAME = 'acme'\n");
        let names: Vec<_> = std::fs::read_dir(prepared.dir()).unwrap().collect();
        assert_eq!(names.len(), 4, "bootstrap, variables, script, one module");
    }

    #[test]
    fn powershell_bootstrap_sets_utf8_then_dot_sources_helpers_and_script() {
        let (prepared, text) = prepared(Syntax::PowerShell, "powershell.exe");
        assert_eq!(prepared.program, "powershell.exe");
        let args: Vec<_> = prepared.args.iter().map(|a| a.to_string_lossy()).collect();
        let flags = ["-NoLogo", "-NoProfile", "-NonInteractive"];
        let policy = ["-ExecutionPolicy", "Unrestricted", "-File"];
        assert_eq!(args[..6], [flags, policy].concat()[..]);
        assert!(args[6].ends_with("Bootstrap.Script.ps1"));
        let dir = prepared.dir().to_string_lossy().replace('\'', "''");
        let sep = std::path::MAIN_SEPARATOR;
        let expected = format!(
            "# Written by dropship; deleted after the run.\n\
             [Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false\n\
             $OutputEncoding = [Console]::OutputEncoding\n\
             . '{dir}{sep}helpers.ps1' -VariablesFile '{dir}{sep}variables.json'\n\
             try {{\n  . '{dir}{sep}Script.ps1' -Flag 'x'\n}} catch {{\n  \
             [Console]::Error.WriteLine(($_ | Out-String))\n  exit 1\n}}\n\
             if ((Test-Path variable:global:LASTEXITCODE)) {{ exit $LASTEXITCODE }}\n"
        );
        assert_eq!(text, expected);
        let table = std::fs::read_to_string(prepared.dir().join("variables.json")).unwrap();
        assert_eq!(table, r#"{"variables":[["Name","it's"]]}"#);
        let helpers = std::fs::read_to_string(prepared.dir().join("helpers.ps1")).unwrap();
        assert_eq!(helpers, PWSH_HELPERS);
    }

    #[test]
    fn cmd_bootstrap_sets_variables_deletes_them_and_calls_the_script() {
        let (prepared, text) = prepared(Syntax::Cmd, "cmd.exe");
        let args: Vec<_> = prepared.args.iter().map(|a| a.to_string_lossy()).collect();
        assert_eq!(args[..2], ["/d", "/c"]);
        assert!(args[2].ends_with("Bootstrap.Script.cmd"));
        let dir = prepared.dir().to_string_lossy().into_owned();
        let sep = std::path::MAIN_SEPARATOR;
        let expected = format!(
            "@echo off\r\nrem Written by dropship; deleted after the run.\r\n\
             chcp 65001 >nul\r\ncall \"{dir}{sep}variables.cmd\"\r\n\
             del /q \"{dir}{sep}variables.cmd\"\r\n\
             call \"{dir}{sep}Script.cmd\" -Flag 'x'\r\nexit /b %ERRORLEVEL%\r\n"
        );
        assert_eq!(text, expected);
        let table = std::fs::read_to_string(prepared.dir().join("variables.cmd")).unwrap();
        assert_eq!(table, "@echo off\r\nset Name=it's\r\n");
    }

    #[test]
    fn cmd_values_are_literal() {
        assert_eq!(
            cmd_escape(r#"50% "a"&b|c<d>e(f)^g!"#),
            r#"50%% ^"a^"^&b^|c^<d^>e^(f^)^^g!"#
        );
        let table = cmd_variables(&[
            ("Octopus.Action.Name", "Web & DB"),
            ("A=B", "x"),
            ("L", "1\n2"),
        ]);
        assert_eq!(table, "@echo off\r\nset Octopus.Action.Name=Web ^& DB\r\n");
        assert_eq!(cmd_quote(r"C:\Temp\100%\x.cmd"), r#""C:\Temp\100%%\x.cmd""#);
    }

    #[test]
    fn later_variables_win() {
        let v = |n: &str, val: &str| ScriptVariable {
            name: n.into(),
            value: val.into(),
            sensitive: false,
        };
        let vars = [v("A", "1"), v("B", "2"), v("A", "3")];
        assert_eq!(unique_variables(&vars), [("A", "3"), ("B", "2")]);
    }

    #[test]
    fn variables_table_quotes_names_and_values() {
        let table = shell_variables(&[("Octopus.Action[Web *].X", "a'b")]);
        assert!(table.contains(r"'Octopus.Action[Web *].X') printf '%s' 'a'\''b' ;;"));
    }
}
