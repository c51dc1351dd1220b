//! The guided flow through a real pseudo-terminal: python3's `pty` module runs the installer as
//! an operator would (stdin and stderr a terminal, no `--unattended`), answers each prompt as it
//! appears, and hands back the exit code and everything the terminal showed.

use crate::support::{Workspace, copy_dir, tree_with_modes};
use std::path::{Path, PathBuf};
use std::process::Command;

const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../templates/sample");

/// Typed at the hidden prompts; must never be echoed.
const PASSWORD: &str = "Gu1ded-Pa55word/+&x";

/// Spawns `argv` on a new pseudo-terminal, then for each `[expect, send, hidden]` reads until
/// `expect` appears (after the previous match) and types `send` (for a hidden prompt, once the
/// terminal's echo is off). Writes the transcript to
/// `transcript` and prints the exit code. Every wait is bounded.
const DRIVER: &str = r#"
import json, os, pty, select, sys, termios, time

argv, script, transcript = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
pid, fd = pty.fork()
if pid == 0:
    os.execv(argv[0], argv)

buf = b""
def read_some(timeout):
    global buf
    ready, _, _ = select.select([fd], [], [], timeout)
    if not ready:
        return True
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        return False
    if not chunk:
        return False
    buf += chunk
    return True

def give_up(why):
    open(transcript, "wb").write(buf)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    print("DRIVER: " + why)
    sys.exit(0)

pos = 0
for expect, send, hidden in script:
    needle = expect.encode()
    deadline = time.time() + 30
    while buf.find(needle, pos) < 0:
        if time.time() > deadline:
            give_up("timed out waiting for %r" % expect)
        if not read_some(0.2):
            give_up("the installer ended while waiting for %r" % expect)
    pos = buf.find(needle, pos) + len(needle)
    if hidden:
        # The prompt is printed before echo is switched off: type only once it is off (the
        # master reports the terminal's modes), or the terminal would echo the secret.
        while termios.tcgetattr(fd)[3] & termios.ECHO:
            if time.time() > deadline:
                give_up("echo stayed on at %r" % expect)
            read_some(0.01)
    os.write(fd, send.encode() + b"\r")

deadline = time.time() + 60
while read_some(0.2):
    if time.time() > deadline:
        give_up("the installer did not end")
_, status = os.waitpid(pid, 0)
open(transcript, "wb").write(buf)
print("EXIT %d" % (os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1))
"#;

struct Guided {
    ws: Workspace,
    installer: PathBuf,
    /// `TERM` of the pseudo-terminal: `dumb` (no cursor movement) unless a test draws.
    term: &'static str,
}

impl Guided {
    fn new() -> Self {
        Self::with_plan(|_, _| {})
    }

    /// Like [`Guided::new`], with `edit` changing the sample plan (and drop) first.
    fn with_plan(edit: impl FnOnce(&mut serde_json::Value, &Workspace)) -> Self {
        let ws = Workspace::new();
        copy_dir(Path::new(SAMPLE), &ws.path("sample"));
        let plan = std::fs::read_to_string(ws.path("sample/plan.json")).unwrap();
        let mut plan: serde_json::Value = serde_json::from_str(&plan).unwrap();
        edit(&mut plan, &ws);
        ws.write("sample/plan.json", plan.to_string());
        let out = ws.path("installer");
        let mut build = crate::support::build_command(
            &ws.path("sample/drop"),
            &ws.path("sample/plan.json"),
            &ws.secret_key(),
            &out,
        );
        build.arg("--customer").arg(ws.path("sample/customer.json"));
        crate::support::run(&mut build).success();
        ws.write("driver.py", DRIVER);
        Guided {
            ws,
            installer: out,
            term: "dumb",
        }
    }

    fn target(&self) -> PathBuf {
        self.ws.path("target")
    }

    /// Run `installer install` on a terminal with `script`; returns the exit code and transcript.
    fn drive(&self, script: &[(&str, String)]) -> (i32, String) {
        let key = self.ws.public_key().to_str().unwrap().to_string();
        self.drive_command(&["install", "--trusted-key-file", &key], script)
    }

    /// Run `installer ARGS --state-dir STATE` on a terminal with `script`.
    fn drive_command(&self, args: &[&str], script: &[(&str, String)]) -> (i32, String) {
        self.drive_installer(&self.installer, args, script)
    }

    /// Like [`drive_command`](Self::drive_command), with another installer of the workspace.
    fn drive_installer(
        &self,
        installer: &Path,
        args: &[&str],
        script: &[(&str, String)],
    ) -> (i32, String) {
        let mut argv = vec![installer.to_str().unwrap().to_string()];
        argv.extend(args.iter().map(|a| a.to_string()));
        argv.push("--state-dir".into());
        argv.push(self.ws.path("state").to_str().unwrap().into());
        let script: Vec<(&str, &str, bool)> = script
            .iter()
            .map(|(e, s)| (*e, s.as_str(), [HIDDEN_FIRST, HIDDEN_AGAIN].contains(e)))
            .collect();
        let transcript = self.ws.path("transcript");
        let out = Command::new("python3")
            .arg(self.ws.path("driver.py"))
            .arg(serde_json::to_string(&argv).unwrap())
            .arg(serde_json::to_string(&script).unwrap())
            .arg(&transcript)
            .env("TERM", self.term)
            .output()
            .expect("running python3 (the pty driver)");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let text =
            String::from_utf8_lossy(&std::fs::read(&transcript).unwrap_or_default()).into_owned();
        let code = stdout
            .trim()
            .strip_prefix("EXIT ")
            .and_then(|c| c.parse().ok())
            .unwrap_or_else(|| {
                panic!(
                    "the pty driver failed: {stdout}{}\ntranscript:\n{text}",
                    String::from_utf8_lossy(&out.stderr)
                )
            });
        (code, text)
    }

    /// The answers up to the final confirmation: a mismatched password pair first, then a port
    /// that is not a port.
    fn script(&self, confirm: &str) -> Vec<(&'static str, String)> {
        vec![
            (
                "Installation directory [/opt/fabrikam]: ",
                self.target().to_str().unwrap().to_string(),
            ),
            // Two entries that differ, then one that breaks the rule (refused before it is
            // asked again), then a good pair.
            (HIDDEN_FIRST, PASSWORD.to_string()),
            (HIDDEN_AGAIN, format!("{PASSWORD}-typo")),
            (HIDDEN_FIRST, "short".to_string()),
            (HIDDEN_FIRST, PASSWORD.to_string()),
            (HIDDEN_AGAIN, PASSWORD.to_string()),
            // A port that is not one, then a good one.
            ("HTTPS port [8443]: ", "eighty".to_string()),
            ("HTTPS port [8443]: ", "9443".to_string()),
            (CONFIRM, confirm.to_string()),
        ]
    }
}

const CONFIRM: &str = "Install now? [y/N, or e to change an answer] ";

const HIDDEN_FIRST: &str = "Database password (hidden): ";
const HIDDEN_AGAIN: &str = "Database password again: ";

#[track_caller]
fn assert_no_password(transcript: &str) {
    use base64::Engine as _;
    for form in [
        PASSWORD.to_string(),
        base64::engine::general_purpose::STANDARD.encode(PASSWORD),
        PASSWORD
            .replace('/', "%2F")
            .replace('+', "%2B")
            .replace('&', "%26"),
    ] {
        assert!(
            !transcript.contains(&form),
            "the password ({form}) appeared on the terminal:\n{transcript}"
        );
    }
}

#[test]
fn guided_install_asks_validates_and_masks_secrets() {
    let g = Guided::new();
    let (code, transcript) = g.drive(&g.script("y"));
    assert_eq!(code, 0, "transcript:\n{transcript}");
    for shown in [
        "Fabrikam Platform 4.12.0",
        "built for Contoso",
        "signature verified",
        "At least 12 characters.",
        "the two entries differ; try again",
        "At least 12 characters; try again",
        // The summary, by label.
        "3. HTTPS port: 9443",
        "`eighty` is not a port number",
        "Summary",
        "Install succeeded",
    ] {
        assert!(
            transcript.contains(shown),
            "expected {shown:?} on the terminal:\n{transcript}"
        );
    }
    assert_no_password(&transcript);
    let conf = std::fs::read_to_string(g.target().join("web/config/app.conf")).unwrap();
    assert!(conf.contains("port = 9443\n"), "{conf}");
    assert!(
        conf.contains(&format!("db.password = {PASSWORD}\n")),
        "{conf}"
    );
    let report = std::fs::read_to_string(g.ws.path("state/report.json")).unwrap();
    assert!(report.contains("\"outcome\": \"succeeded\""), "{report}");
    assert!(report.contains("\"mode\": \"guided\""), "{report}");
    assert_no_password(&report);
    let log = std::fs::read_to_string(g.ws.path("state/install.log")).unwrap();
    assert!(log.contains("\nrun mode:  guided\n"), "{log}");
    assert_no_password(&log);
}

#[test]
fn a_typo_at_the_trust_prompt_is_asked_again_and_an_answer_can_be_changed_at_the_summary() {
    let g = Guided::new();
    let mut script = vec![
        ("Trust this key? [y/N] ", "yse".to_string()),
        ("Trust this key? [y/N] ", "y".to_string()),
    ];
    script.extend(g.script("e"));
    script.extend([
        ("Change which answer (1-3)? ", "4".to_string()),
        ("Change which answer (1-3)? ", "3".to_string()),
        ("HTTPS port [8443]: ", "9555".to_string()),
        (CONFIRM, "y".to_string()),
    ]);
    let (code, transcript) = g.drive_command(&["install"], &script);
    assert_eq!(code, 0, "transcript:\n{transcript}");
    assert!(transcript.contains("please answer y or n"), "{transcript}");
    assert!(
        transcript.contains("type a number from 1 to 3"),
        "{transcript}"
    );
    let conf = std::fs::read_to_string(g.target().join("web/config/app.conf")).unwrap();
    assert!(conf.contains("port = 9555\n"), "{conf}");
    assert_no_password(&transcript);
}

#[test]
fn ctrl_c_at_a_prompt_says_nothing_was_changed_and_exits_4() {
    let g = Guided::new();
    let mut script = g.script("y");
    script.truncate(2);
    // At the hidden prompt, with echo off: the terminal sends SIGINT.
    script[1].1 = "\u{3}".to_string();
    let (code, transcript) = g.drive(&script);
    assert_eq!(code, 4, "transcript:\n{transcript}");
    assert!(
        transcript.contains("Stopped (Ctrl-C) before anything was changed."),
        "{transcript}"
    );
    assert!(tree_with_modes(&g.target()).is_empty(), "no target");
    assert!(!g.ws.path("state/journal.jsonl").exists(), "no journal");
}

#[test]
fn guided_install_declined_at_confirmation_changes_nothing() {
    let g = Guided::new();
    let (code, transcript) = g.drive(&g.script("n"));
    assert_eq!(code, 4, "transcript:\n{transcript}");
    assert!(transcript.contains("Nothing was changed."), "{transcript}");
    assert_no_password(&transcript);
    assert!(tree_with_modes(&g.target()).is_empty(), "no target");
    assert!(
        !g.ws.path("state/journal.jsonl").exists(),
        "no journal for a declined install"
    );
}

#[test]
fn rollback_on_a_terminal_lists_what_it_undoes_and_asks() {
    let g = Guided::new();
    let (code, transcript) = g.drive(&g.script("y"));
    assert_eq!(code, 0, "transcript:\n{transcript}");
    let installed = tree_with_modes(&g.target());

    let (code, transcript) =
        g.drive_command(&["rollback"], &[("Roll back now? [y/N] ", "n".into())]);
    assert_eq!(code, 4, "declined:\n{transcript}");
    assert!(transcript.contains("Rollback undoes"), "{transcript}");
    assert!(
        transcript.contains("file and directory changes"),
        "{transcript}"
    );
    assert_eq!(
        tree_with_modes(&g.target()),
        installed,
        "nothing changed when declined"
    );

    let (code, transcript) =
        g.drive_command(&["rollback"], &[("Roll back now? [y/N] ", "y".into())]);
    assert_eq!(code, 0, "confirmed:\n{transcript}");
    assert!(
        tree_with_modes(&g.target()).is_empty(),
        "the install is undone"
    );
    let report = std::fs::read_to_string(g.ws.path("state/report.json")).unwrap();
    assert!(report.contains("\"outcome\": \"rolled-back\""), "{report}");
    // The log's header of each run, the install's and the rollback's, says it was guided.
    let log = std::fs::read_to_string(g.ws.path("state/install.log")).unwrap();
    assert_eq!(log.matches("\nrun mode:  guided\n").count(), 2, "{log}");
    assert_no_password(&transcript);
}

#[test]
fn a_guided_upgrade_asks_only_what_is_new_and_shows_what_it_kept() {
    let g = Guided::new();
    let (code, transcript) = g.drive(&g.script("y"));
    assert_eq!(code, 0, "transcript:\n{transcript}");
    let mut plan: serde_json::Value =
        serde_json::from_slice(&std::fs::read(g.ws.path("sample/plan.json")).unwrap()).unwrap();
    plan["product"]["version"] = "4.13.0".into();
    plan["parameters"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({ "name": "Region", "label": "Region", "type": "text" }));
    g.ws.write("sample/plan-4.13.0.json", plan.to_string());
    let next = g.ws.path("installer-4.13.0");
    let mut build = crate::support::build_command(
        &g.ws.path("sample/drop"),
        &g.ws.path("sample/plan-4.13.0.json"),
        &g.ws.secret_key(),
        &next,
    );
    build
        .arg("--customer")
        .arg(g.ws.path("sample/customer.json"));
    crate::support::run(&mut build).success();

    let key = g.ws.public_key().to_str().unwrap().to_string();
    let script = [
        ("Upgrade Fabrikam Platform 4.12.0 → 4.13.0", String::new()),
        (HIDDEN_FIRST, PASSWORD.to_string()),
        (HIDDEN_AGAIN, PASSWORD.to_string()),
        ("Region: ", "eu".to_string()),
        (CONFIRM, "y".to_string()),
    ];
    // The banner line is matched, not answered: drop its empty reply.
    let (code, transcript) = g.drive_installer(
        &next,
        &["install", "--trusted-key-file", &key],
        &script[1..],
    );
    assert_eq!(code, 0, "transcript:\n{transcript}");
    assert!(transcript.contains(script[0].0), "{transcript}");
    assert!(
        !transcript.contains("Installation directory ["),
        "a kept answer is not asked again:\n{transcript}"
    );
    for kept in [
        format!(
            "Installation directory: {}  (kept from 4.12.0)",
            g.target().display()
        ),
        "HTTPS port: 9443  (kept from 4.12.0)".to_string(),
        "Region: eu\r\n".to_string(),
    ] {
        assert!(transcript.contains(&kept), "{kept:?} in:\n{transcript}");
    }
    assert_no_password(&transcript);
    let conf = std::fs::read_to_string(g.target().join("web/config/app.conf")).unwrap();
    assert!(conf.contains("port = 9443"), "{conf}");

    // Back to 4.12.0 on the terminal: what is undone is said and asked first.
    let installed = tree_with_modes(&g.target());
    let to = ["rollback", "--to", "4.12.0"];
    let (code, transcript) = g.drive_installer(&next, &to, &[("Go on? [y/N] ", "n".to_string())]);
    assert_eq!(code, 4, "declined:\n{transcript}");
    assert!(
        transcript.contains("undoes, newest first: Fabrikam Platform 4.13.0 (installed "),
        "{transcript}"
    );
    assert_eq!(tree_with_modes(&g.target()), installed, "nothing changed");
    let (code, transcript) = g.drive_installer(&next, &to, &[("Go on? [y/N] ", "y".to_string())]);
    assert_eq!(code, 0, "confirmed:\n{transcript}");
    assert!(
        transcript.contains("4.12.0 is installed again."),
        "{transcript}"
    );
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(g.ws.path("state/installed.json")).unwrap()).unwrap();
    assert_eq!(state["version"], "4.12.0");
    assert_no_password(&transcript);
}

/// On a terminal, the running step has a line of its own whose timer ticks while the script is
/// silent, and a package's extraction a byte bar; without a terminal, and with `--no-progress`,
/// output is plain lines, and the log never has those lines.
#[test]
fn a_silent_step_shows_a_ticking_timer_on_a_terminal_only() {
    let mut g = Guided::with_plan(|plan, ws| {
        write_big_package(&ws.path("sample/drop/Packages/Big.1.0.0.nupkg"));
        plan["steps"] = serde_json::json!([
            { "name": "Deploy big", "type": "deploy-package",
              "package": "Packages/Big.1.0.0.nupkg", "destination": "#{Install.Root}/big" },
            { "name": "Wait quietly", "type": "run-script", "syntax": "bash",
              "inline": "sleep 3.5; echo woke" },
        ]);
    });
    g.term = "xterm";
    g.ws.write("db-password", PASSWORD);
    let key = g.ws.public_key().to_str().unwrap().to_string();
    let root = format!("Install.Root={}", g.target().display());
    let secret = format!("Database.Password=@{}", g.ws.path("db-password").display());
    let args = [
        "install",
        "--unattended",
        "--trusted-key-file",
        &key,
        "--set",
        &root,
        "--secret",
        &secret,
    ];
    let (code, transcript) = g.drive_command(&args, &[]);
    assert_eq!(code, 0, "{transcript}");
    let shown = [
        "step 2/2: Wait quietly  1s",
        "step 2/2: Wait quietly  2s",
        "  extracting Big.1.0.0.nupkg: [",
        "    woke",
    ];
    for expected in shown {
        assert!(
            transcript.contains(expected),
            "{expected:?} in:\n{transcript}"
        );
    }
    let log = std::fs::read_to_string(g.ws.path("state/install.log")).unwrap();
    assert!(log.contains("    woke"), "{log}");
    for live in ["step 2/2", "extracting Big", "\u{1b}", "\r"] {
        assert!(!log.contains(live), "{live:?} in the log:\n{log}");
    }

    // `--no-progress` on a terminal, and no terminal at all: plain lines.
    let again = || {
        std::fs::remove_dir_all(g.ws.path("state")).unwrap();
        std::fs::remove_dir_all(g.target()).unwrap();
    };
    again();
    let mut plain_args = args.to_vec();
    plain_args.push("--no-progress");
    let (code, transcript) = g.drive_command(&plain_args, &[]);
    assert_eq!(code, 0, "{transcript}");
    assert!(
        transcript.contains("[2/2] Wait quietly (run-script)"),
        "{transcript}"
    );
    for live in ["step 2/2", "extracting Big"] {
        assert!(
            !transcript.contains(live),
            "{live:?} with --no-progress:\n{transcript}"
        );
    }
    again();
    let out = crate::support::run(
        Command::new(&g.installer)
            .args(args)
            .arg("--state-dir")
            .arg(g.ws.path("state")),
    )
    .success();
    assert!(
        out.stderr.contains("[2/2] Wait quietly (run-script)"),
        "{out:#?}"
    );
    for live in ["step 2/2", "extracting Big", "\r", "\u{1b}"] {
        assert!(
            !out.stderr.contains(live),
            "{live:?} without a terminal: {out:#?}"
        );
    }
    assert_no_password(&transcript);
}

/// A package of 48 MiB that does not compress, stored: its extraction takes long enough for its
/// byte bar to be drawn.
fn write_big_package(path: &Path) {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let mut chunk = vec![0u8; 1 << 20];
    for file in 0..4 {
        zip.start_file(format!("data/{file}.bin"), stored).unwrap();
        for _ in 0..12 {
            for bytes in chunk.chunks_mut(8) {
                // xorshift64: fast bytes that do not compress.
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                bytes.copy_from_slice(&state.to_le_bytes()[..bytes.len()]);
            }
            zip.write_all(&chunk).unwrap();
        }
    }
    zip.finish().unwrap();
}
