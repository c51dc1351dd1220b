//! Real bash, sh and python3 scripts through `run_script`: variables, output variables, failure,
//! artifacts, exit codes, stderr, timeout and cancel (whole process group), and secrets kept out
//! of argv, the environment and the output. PowerShell tests run only where `pwsh` exists.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use dropship_runtime::script::{
    OutputLine, ScriptError, ScriptOutcome, ScriptRequest, ScriptVariable, Syntax, run_script,
};
use dropship_runtime::secret::{REDACTED, Scrubber, Secret};

/// One script run, with owned inputs.
struct Case {
    syntax: Syntax,
    body: String,
    file_name: String,
    work: tempfile::TempDir,
    variables: Vec<ScriptVariable>,
    parameters: Option<String>,
    timeout: Option<Duration>,
    scrubber: Scrubber,
    cancel: Arc<AtomicBool>,
}

struct Ran {
    lines: Vec<OutputLine>,
    outcome: ScriptOutcome,
}

impl Ran {
    fn stdout(&self) -> Vec<&str> {
        self.lines
            .iter()
            .filter_map(|l| match l {
                OutputLine::Stdout(s) => Some(s.as_str()),
                _ => None,
            })
            .collect()
    }

    fn all_text(&self) -> String {
        let mut text = String::new();
        for line in &self.lines {
            let (OutputLine::Stdout(s)
            | OutputLine::Stderr(s)
            | OutputLine::Verbose(s)
            | OutputLine::Highlight(s)
            | OutputLine::Warning(s)) = line;
            text.push_str(s);
            text.push('\n');
        }
        text
    }
}

impl Case {
    fn new(syntax: Syntax, body: &str) -> Self {
        Case {
            syntax,
            body: body.to_string(),
            file_name: "inline".to_string(),
            work: tempfile::tempdir().unwrap(),
            variables: Vec::new(),
            parameters: None,
            timeout: Some(Duration::from_secs(60)),
            scrubber: Scrubber::new(),
            cancel: Arc::new(AtomicBool::new(false)),
        }
    }

    fn var(mut self, name: &str, value: &str) -> Self {
        self.variables.push(ScriptVariable {
            name: name.into(),
            value: value.into(),
            sensitive: false,
        });
        self
    }

    /// A sensitive variable, registered with the scrubber as the engine does.
    fn secret(mut self, name: &str, value: &str) -> Self {
        self.scrubber.add(&Secret::new(value));
        self.variables.push(ScriptVariable {
            name: name.into(),
            value: value.into(),
            sensitive: true,
        });
        self
    }

    fn dir(&self) -> &Path {
        self.work.path()
    }

    fn try_run(&self) -> Result<Ran, ScriptError> {
        let mut lines = Vec::new();
        let request = ScriptRequest {
            step: "Test step",
            syntax: self.syntax,
            body: &self.body,
            file_name: &self.file_name,
            working_dir: self.work.path(),
            variables: &self.variables,
            parameters: self.parameters.as_deref(),
            env: &[("EXTRA_FROM_ENGINE".to_string(), "extra-env".to_string())],
            timeout: self.timeout,
            scrubber: &self.scrubber,
            cancel: &self.cancel,
        };
        let outcome = run_script(&request, &mut |line| lines.push(line))?;
        Ok(Ran { lines, outcome })
    }

    fn run(&self) -> Ran {
        self.try_run().expect("script should start")
    }
}

fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

#[test]
fn bash_reads_variables_with_odd_names_exactly() {
    let ran = Case::new(
        Syntax::Bash,
        r#"
printf '<%s>\n' "$(get_octopusvariable 'Octopus.Action[Deploy Web].Output.Port')"
printf '<%s>\n' "$(get_octopusvariable 'with space *')"
printf '<%s>\n' "$(get_octopusvariable "it's")"
printf '<%s>\n' "$(get_octopusvariable Name)"
printf '<%s>\n' "$(get_octopusvariable name)"
printf '<%s>\n' "$(get_octopusvariable Unknown)"
printf '<%s>\n' "$(get_octopusvariable Tricky)"
printf '<%s>\n' "$EXTRA_FROM_ENGINE"
"#,
    )
    .var("Octopus.Action[Deploy Web].Output.Port", "8443")
    .var("with space *", "star")
    .var("it's", "quote'd")
    .var("Name", "first")
    .var("Name", "Paul")
    .var("Tricky", "$(touch pwned) `x` \\ \"q\" ;")
    .run();
    assert!(ran.outcome.succeeded(), "{:?}", ran.lines);
    assert_eq!(
        ran.stdout(),
        [
            "<8443>",
            "<star>",
            "<quote'd>",
            "<Paul>",
            "<>",
            "<>",
            "<$(touch pwned) `x` \\ \"q\" ;>",
            "<extra-env>"
        ]
    );
}

#[test]
fn sh_runs_with_the_same_helpers() {
    let mut case = Case::new(
        Syntax::Sh,
        "echo \"$(get_octopusvariable 'A.B[c]') $1 $#\"\nset_octopusvariable Out \"v 1\"\nwrite_highlight hi\n",
    )
    .var("A.B[c]", "value");
    case.parameters = Some("'one two' three".into());
    let ran = case.run();
    assert!(ran.outcome.succeeded(), "{:?}", ran.lines);
    assert_eq!(ran.stdout(), ["value one two 2"]);
    assert_eq!(ran.outcome.output_variables[0].name, "Out");
    assert_eq!(ran.outcome.output_variables[0].value, "v 1");
    assert!(ran.lines.contains(&OutputLine::Highlight("hi".into())));
}

#[test]
fn python_reads_variables_and_parameters() {
    let mut case = Case::new(
        Syntax::Python,
        "import sys\nprint(get_octopusvariable('Octopus.Action[Web].X'))\nprint(octopusvariables['Name'])\n\
         print(repr(get_octopusvariable('Missing')))\nprint(sys.argv[1:])\nprint(__name__)\n\
         import os\nprint(os.path.exists(os.path.join(os.path.dirname(sys.argv[0]), 'variables.json')))\n",
    )
    .var("Octopus.Action[Web].X", "ünïcode")
    .var("Name", "Paul");
    case.parameters = Some(r#""Para meter0" second"#.into());
    let ran = case.run();
    assert!(ran.outcome.succeeded(), "{:?}", ran.lines);
    assert_eq!(
        ran.stdout(),
        [
            "ünïcode",
            "Paul",
            "''",
            "['Para meter0', 'second']",
            "__main__",
            "False"
        ]
    );
}

#[test]
fn bash_parameters_are_shell_code_as_in_calamari() {
    let mut case = Case::new(Syntax::Bash, "echo \"[$1] [$2] [$#]\"");
    case.parameters = Some(r#""Para meter0" 'Para meter1'"#.into());
    assert_eq!(case.run().stdout(), ["[Para meter0] [Para meter1] [2]"]);
    let no_parameters = Case::new(Syntax::Bash, "echo \"$#\"");
    assert_eq!(no_parameters.run().stdout(), ["0"]);
}

#[test]
fn output_variables_plain_and_sensitive() {
    let ran = Case::new(
        Syntax::Bash,
        "set_octopusvariable Plain 'hello world'\n\
         set_octopusvariable Token 'tok-9f8e7d6c' -sensitive\n\
         set_octopusvariable Empty ''\n\
         echo \"token is tok-9f8e7d6c\"\necho tok-9f8e7d6c >&2\n",
    )
    .run();
    let vars = &ran.outcome.output_variables;
    assert_eq!(vars.len(), 3);
    assert_eq!(
        (vars[0].name.as_str(), vars[0].value.as_str()),
        ("Plain", "hello world")
    );
    assert!(!vars[0].sensitive);
    assert_eq!(
        (vars[1].name.as_str(), vars[1].value.as_str()),
        ("Token", "tok-9f8e7d6c")
    );
    assert!(vars[1].sensitive);
    assert_eq!(
        (vars[2].name.as_str(), vars[2].value.as_str()),
        ("Empty", "")
    );
    assert!(!ran.all_text().contains("tok-9f8e7d6c"));
    assert!(
        ran.stdout()
            .contains(&format!("token is {REDACTED}").as_str())
    );
}

#[test]
fn python_output_variables_and_artifacts() {
    let case = Case::new(
        Syntax::Python,
        "open('report.txt', 'w').write('data')\n\
         set_octopusvariable('Out', 'v', True)\ncreateartifact('report.txt', 'Report')\n\
         printverbose('quiet')\nprintwarning('careful')\n",
    );
    let ran = case.run();
    assert!(ran.outcome.succeeded(), "{:?}", ran.lines);
    assert!(ran.outcome.output_variables[0].sensitive);
    assert_eq!(ran.outcome.artifacts, [case.dir().join("report.txt")]);
    assert!(ran.lines.contains(&OutputLine::Verbose("quiet".into())));
    assert!(ran.lines.contains(&OutputLine::Warning("careful".into())));
}

#[test]
fn fail_step_sets_the_message_and_ends_the_script() {
    let ran = Case::new(
        Syntax::Bash,
        "echo before\nfail_step 'Database is down'\necho after\n",
    )
    .run();
    assert_eq!(ran.outcome.exit_code, Some(1));
    assert!(!ran.outcome.succeeded());
    assert_eq!(
        ran.outcome.failure_message.as_deref(),
        Some("Database is down")
    );
    assert_eq!(ran.stdout(), ["before"]);

    let python = Case::new(Syntax::Python, "failstep('nope')\nprint('after')\n").run();
    assert_eq!(python.outcome.exit_code, Some(255));
    assert_eq!(python.outcome.failure_message.as_deref(), Some("nope"));
    assert!(python.stdout().is_empty());
}

#[test]
fn artifacts_are_absolute_and_a_missing_one_fails_with_127() {
    let case = Case::new(
        Syntax::Bash,
        "mkdir -p logs\necho hi > logs/out.log\nnew_octopusartifact logs/out.log\n",
    );
    let ran = case.run();
    assert!(ran.outcome.succeeded(), "{:?}", ran.lines);
    let expected = case.dir().canonicalize().unwrap().join("logs/out.log");
    assert_eq!(ran.outcome.artifacts, [expected]);
    assert!(
        ran.stdout()
            .contains(&"Collecting logs/out.log as an artifact...")
    );

    let missing = Case::new(
        Syntax::Bash,
        "new_octopusartifact nothere.log\necho after\n",
    )
    .run();
    assert_eq!(missing.outcome.exit_code, Some(127));
    assert!(missing.stdout().is_empty());
}

#[test]
fn exit_codes_follow_the_script() {
    let code = |syntax, body: &str| Case::new(syntax, body).run().outcome.exit_code;
    assert_eq!(code(Syntax::Bash, "exit 3"), Some(3));
    assert_eq!(code(Syntax::Bash, "echo x\nfalse"), Some(1));
    assert_eq!(code(Syntax::Bash, "false\necho still here"), Some(0));
    assert_eq!(
        code(Syntax::Bash, "set -e\nfalse\necho unreachable"),
        Some(1)
    );
    assert_eq!(code(Syntax::Sh, "exit 4"), Some(4));
    assert_eq!(code(Syntax::Python, "raise ValueError('x')"), Some(1));
    assert_eq!(code(Syntax::Python, "import sys\nsys.exit(7)"), Some(7));
}

#[test]
fn helpers_work_under_strict_mode() {
    let ran = Case::new(
        Syntax::Bash,
        "set -euo pipefail\nx=$(get_octopusvariable Missing)\nset_octopusvariable A ''\n\
         write_verbose 'a   b *'\nupdate_progress 50 half\necho done\n",
    )
    .run();
    assert!(ran.outcome.succeeded(), "{:?}", ran.lines);
    assert!(ran.lines.contains(&OutputLine::Verbose("a   b *".into())));
    assert!(
        ran.lines
            .contains(&OutputLine::Verbose("Progress 50%: half".into()))
    );
    assert_eq!(ran.stdout(), ["done"]);
}

#[test]
fn stderr_is_reported_and_counted_but_does_not_fail() {
    let ran = Case::new(Syntax::Bash, "echo oops >&2\necho >&2\necho ok\n").run();
    assert!(ran.outcome.succeeded());
    assert_eq!(ran.outcome.stderr_lines, 1);
    assert!(ran.lines.contains(&OutputLine::Stderr("oops".into())));
}

#[test]
fn crlf_scripts_run_and_carriage_returns_are_stripped() {
    let ran = Case::new(Syntax::Bash, "x=abc\r\necho \"$x\"\r\nprintf 'y\\r\\n'\r\n").run();
    assert!(ran.outcome.succeeded(), "{:?}", ran.lines);
    assert_eq!(ran.stdout(), ["abc", "y"]);
}

#[test]
fn a_script_already_in_the_working_directory_runs_in_place() {
    let mut case = Case::new(Syntax::Bash, "echo \"${BASH_SOURCE[0]}\"\n");
    case.file_name = "Deploy.sh".into();
    std::fs::write(case.dir().join("Deploy.sh"), &case.body).unwrap();
    let ran = case.run();
    let expected = case.dir().join("Deploy.sh");
    assert_eq!(ran.stdout(), [expected.to_str().unwrap()]);

    // A templated body differs from the file on disk: it runs from the private directory.
    case.body =
        "echo \"$(basename \"${BASH_SOURCE[0]}\") $(dirname \"${BASH_SOURCE[0]}\")\"\n".into();
    let ran = case.run();
    let line = ran.stdout()[0].to_string();
    assert!(line.starts_with("Deploy.sh "), "{line}");
    assert!(!line.ends_with(case.dir().to_str().unwrap()), "{line}");
}

/// Whether `pid` is gone (or a zombie nobody reaped: it cannot run any more).
fn process_is_gone(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
    }
}

#[test]
fn dollar_zero_is_a_relative_bootstrap_name_as_in_calamari() {
    let mut case = Case::new(
        Syntax::Bash,
        "echo \"$0\"\ncd \"$(dirname \"$0\")\"\npwd -P\n",
    );
    case.file_name = "Deploy.sh".into();
    let ran = case.run();
    let canonical = case.dir().canonicalize().unwrap();
    assert_eq!(
        ran.stdout(),
        ["Bootstrap.Deploy.sh", canonical.to_str().unwrap()]
    );
}

#[test]
fn a_background_process_holding_the_pipes_does_not_hang_the_run() {
    let case = Case::new(Syntax::Bash, "sleep 30 &\necho $! > bg.pid\necho done\n");
    let started = Instant::now();
    let ran = case.run();
    assert!(ran.outcome.succeeded());
    assert_eq!(ran.stdout(), ["done"]);
    assert!(started.elapsed() < Duration::from_secs(10));
    let pid = std::fs::read_to_string(case.dir().join("bg.pid")).unwrap();
    let _ = std::process::Command::new("kill").arg(pid.trim()).status();
}

#[test]
fn timeout_kills_the_script_and_its_children() {
    let mut case = Case::new(
        Syntax::Bash,
        "sleep 100 &\necho $! > grandchild.pid\necho started\nsleep 100\n",
    );
    case.timeout = Some(Duration::from_secs(1));
    let started = Instant::now();
    let ran = case.run();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(ran.outcome.timed_out);
    assert!(!ran.outcome.succeeded());
    assert!(ran.stdout().contains(&"started"));
    let pid = std::fs::read_to_string(case.dir().join("grandchild.pid")).unwrap();
    let pid = pid.trim();
    // The group was killed with SIGKILL at the latest; give the kernel a moment to reap.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !process_is_gone(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(process_is_gone(pid), "grandchild {pid} still running");
}

#[test]
fn a_script_that_ignores_sigterm_is_killed_after_the_grace() {
    let mut case = Case::new(
        Syntax::Bash,
        "trap '' TERM\necho ready\nwhile :; do sleep 0.1; done\n",
    );
    case.timeout = Some(Duration::from_millis(500));
    let started = Instant::now();
    let ran = case.run();
    assert!(ran.outcome.timed_out);
    assert_eq!(ran.outcome.exit_code, None);
    assert!(started.elapsed() < Duration::from_secs(15));
}

#[test]
fn cancel_stops_the_script_promptly() {
    let case = Case::new(Syntax::Bash, "echo waiting\nsleep 100\n");
    let cancel = Arc::clone(&case.cancel);
    let setter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(500));
        cancel.store(true, Ordering::SeqCst);
    });
    let started = Instant::now();
    let ran = case.run();
    setter.join().unwrap();
    assert!(ran.outcome.cancelled);
    assert!(!ran.outcome.timed_out);
    assert!(!ran.outcome.succeeded());
    assert!(started.elapsed() < Duration::from_secs(5));
}

const PLANTED: &str = "Pl@nted s3cret/&\"x";

#[test]
fn secrets_never_reach_argv_or_the_environment() {
    // Every process in the script's tree writes its own and its parent's command line and its
    // environment to a file; the test reads the raw bytes, before any scrubbing.
    let shell = Case::new(
        Syntax::Bash,
        "cat /proc/$$/cmdline /proc/$PPID/cmdline /proc/$$/environ > proc.bin\n\
         x=$(get_octopusvariable Db.Password)\n\
         sh -c 'cat /proc/$$/cmdline /proc/$PPID/cmdline' >> proc.bin\necho ran\n",
    )
    .secret("Db.Password", PLANTED);
    assert!(shell.run().outcome.succeeded());
    let python = Case::new(
        Syntax::Python,
        "import os\nwith open('proc.bin', 'wb') as f:\n\
         \x20   for p in ('/proc/self/cmdline', '/proc/%d/cmdline' % os.getppid(), '/proc/self/environ'):\n\
         \x20       f.write(open(p, 'rb').read())\n\
         assert get_octopusvariable('Db.Password')\n",
    )
    .secret("Db.Password", PLANTED);
    assert!(python.run().outcome.succeeded());
    for case in [&shell, &python] {
        let raw = std::fs::read(case.dir().join("proc.bin")).unwrap();
        let raw = String::from_utf8_lossy(&raw);
        assert!(
            raw.contains("Bootstrap."),
            "the dump should hold the command line: {raw}"
        );
        assert!(!raw.contains(PLANTED));
        assert!(!raw.contains(&b64(PLANTED)));
    }
}

#[test]
fn secrets_printed_in_any_form_are_scrubbed() {
    let ran = Case::new(
        Syntax::Python,
        "import base64, json, urllib.parse, sys\nv = get_octopusvariable('Db.Password')\n\
         print('raw ' + v)\nprint('b64 ' + base64.b64encode(v.encode()).decode())\n\
         print('url ' + urllib.parse.quote(v, safe=''))\nprint('json ' + json.dumps({'p': v}))\n\
         print('err ' + v, file=sys.stderr)\n",
    )
    .secret("Db.Password", PLANTED)
    .run();
    assert!(ran.outcome.succeeded(), "{:?}", ran.lines);
    let text = ran.all_text();
    for form in [
        PLANTED.to_string(),
        b64(PLANTED),
        "Pl%40nted".to_string(),
        "s3cret".to_string(),
    ] {
        assert!(!text.contains(&form), "{form} leaked: {text}");
    }
    assert_eq!(text.matches(REDACTED).count(), 5, "{text}");
}

#[test]
fn the_private_directory_is_private_and_removed_after_the_run() {
    for timeout in [None, Some(Duration::from_secs(2))] {
        let mut case = Case::new(
            Syntax::Bash,
            "d=$(dirname \"${BASH_SOURCE[0]}\")\necho \"$d\"\nstat -c %a \"$d\" \"$d/$0\"\n\
             test -e \"$d/variables.sh\" && echo present || echo gone\nsleep 30\n",
        )
        .var("X", "y");
        case.timeout = timeout.or(Some(Duration::from_secs(60)));
        if timeout.is_none() {
            case.body = case.body.replace("sleep 30", "true");
        }
        let ran = case.run();
        let stdout = ran.stdout();
        let dir = PathBuf::from(stdout[0]);
        assert_eq!(&stdout[1..], ["700", "600", "gone"]);
        assert!(dir.is_absolute() && !dir.starts_with(case.dir()), "{dir:?}");
        assert!(!dir.exists(), "{dir:?} was left behind");
    }
}

#[test]
fn sensitive_variables_are_scrubbed_even_if_the_caller_did_not_register_them() {
    let mut case = Case::new(Syntax::Bash, "get_octopusvariable Key; echo");
    case.variables.push(ScriptVariable {
        name: "Key".into(),
        value: "unregistered-secret".into(),
        sensitive: true,
    });
    let ran = case.run();
    assert_eq!(ran.stdout(), [REDACTED]);
    case.parameters = Some("unregistered-secret".into());
    assert!(matches!(
        case.try_run(),
        Err(ScriptError::SecretInParameters { .. })
    ));
}

#[test]
fn parameters_holding_a_secret_are_refused() {
    let mut case = Case::new(Syntax::Bash, "echo $1").secret("Db.Password", PLANTED);
    case.parameters = Some(format!("--password '{PLANTED}'"));
    let error = case.try_run().err().expect("should refuse");
    assert!(matches!(error, ScriptError::SecretInParameters { .. }));
    let message = error.to_string();
    assert!(message.contains("Test step") && message.contains("get_octopusvariable"));
    assert!(!message.contains(PLANTED));
}

#[test]
fn a_bad_file_name_is_refused() {
    let mut case = Case::new(Syntax::Bash, "true");
    case.file_name = "../escape.sh".into();
    assert!(matches!(
        case.try_run(),
        Err(ScriptError::BadFileName { .. })
    ));
}

#[test]
fn syntax_names_and_extensions() {
    assert_eq!(Syntax::from_name("Bash"), Some(Syntax::Bash));
    assert_eq!(Syntax::from_name("PowerShell"), Some(Syntax::PowerShell));
    assert_eq!(Syntax::from_name("pwsh"), Some(Syntax::PowerShell));
    assert_eq!(Syntax::from_name("python"), Some(Syntax::Python));
    assert_eq!(Syntax::from_name("sh"), Some(Syntax::Sh));
    assert_eq!(Syntax::from_name("CSharp"), None);
    assert_eq!(
        Syntax::from_extension(Path::new("a/Deploy.sh")),
        Some(Syntax::Bash)
    );
    assert_eq!(
        Syntax::from_extension(Path::new("x.PS1")),
        Some(Syntax::PowerShell)
    );
    assert_eq!(
        Syntax::from_extension(Path::new("x.py")),
        Some(Syntax::Python)
    );
    assert_eq!(Syntax::from_name("cmd"), Some(Syntax::Cmd));
    assert_eq!(
        Syntax::from_extension(Path::new("x.BAT")),
        Some(Syntax::Cmd)
    );
    assert_eq!(Syntax::from_extension(Path::new("x.csx")), None);
    assert!(Syntax::Bash.available() && Syntax::Sh.available());
}

#[test]
fn powershell_scripts_or_a_clear_error_without_pwsh() {
    let case = Case::new(
        Syntax::PowerShell,
        "Write-Host $OctopusParameters['name']\nSet-OctopusVariable -name Out -value v -sensitive\n\
         Write-Verbose quiet\nFail-Step 'stopped'\n",
    )
    .var("Name", "Paul");
    if !Syntax::PowerShell.available() {
        eprintln!("note: pwsh is not installed; checking the error instead of running PowerShell");
        let error = case.try_run().err().expect("should refuse without pwsh");
        assert_eq!(
            error.to_string().lines().next(),
            Some("step `Test step` needs pwsh, which is not installed on this machine")
        );
        return;
    }
    let ran = case.run();
    assert_eq!(ran.stdout(), ["Paul"]);
    assert!(ran.outcome.output_variables[0].sensitive);
    assert!(ran.lines.contains(&OutputLine::Verbose("quiet".into())));
    assert_eq!(ran.outcome.exit_code, Some(255));
    assert_eq!(ran.outcome.failure_message.as_deref(), Some("stopped"));
}
