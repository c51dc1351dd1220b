//! The fixture of the installing tests: a workspace with the sample drop and customer, a plan,
//! an installer built from them, and the checks every such test makes (reports, secrets
//! scanned in every output).

use crate::support::{Entry, Run, Workspace, copy_dir, run, tree_with_modes, wait_for_file};
use base64::Engine as _;
use serde_json::Value;
use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

pub(crate) const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../templates/sample");

/// The database password of every test: characters that base64, URL and JSON encode differently.
pub(crate) const SECRET: &str = "Pl4nted-S3cret/+&\"x";
/// A second secret (the API token of the secrets test), with a backslash, `%` and a space.
pub(crate) const SECOND_SECRET: &str = "Sec0nd-T0ken\\y%z w";

/// A workspace with the sample drop and customer, a plan, and an installer built from them.
pub(crate) struct Fixture {
    pub(crate) ws: Workspace,
    pub(crate) installer: PathBuf,
}

impl Fixture {
    pub(crate) fn new(plan: &Value) -> Self {
        Self::with_drop(plan, |_| {})
    }

    /// Like [`Fixture::new`], with `add` putting more into the drop before the build.
    pub(crate) fn with_drop(plan: &Value, add: impl FnOnce(&Workspace)) -> Self {
        let ws = Workspace::new();
        copy_dir(&Path::new(SAMPLE).join("drop"), &ws.path("drop"));
        std::fs::copy(
            Path::new(SAMPLE).join("customer.json"),
            ws.path("customer.json"),
        )
        .expect("copying the sample customer");
        ws.write("secrets/db", SECRET);
        ws.write("secrets/token", SECOND_SECRET);
        for dir in ["tmp", "diag", "probe"] {
            std::fs::create_dir_all(ws.path(dir)).expect("mkdir");
        }
        add(&ws);
        let installer = build(&ws, plan, "installer");
        Fixture { ws, installer }
    }

    pub(crate) fn sample() -> Self {
        Self::new(&sample_plan())
    }

    pub(crate) fn target(&self) -> PathBuf {
        self.ws.path("target")
    }

    pub(crate) fn state(&self) -> PathBuf {
        self.ws.path("state")
    }

    /// `INSTALLER SUB --state-dir STATE`; `install`, `plan` and `resume` run unattended with the
    /// throwaway key trusted. Temporary files go into the workspace, where the secrets scan sees
    /// them.
    pub(crate) fn command_of(&self, installer: &Path, sub: &str, state: &Path) -> Command {
        let mut command = Command::new(installer);
        command.arg(sub).arg("--state-dir").arg(state);
        if matches!(sub, "install" | "plan" | "resume") {
            command
                .args(["--unattended", "--no-progress", "--trusted-key-file"])
                .arg(self.ws.public_key());
        }
        if sub == "rollback" {
            // Without a terminal, `rollback` needs `--yes`; it trusts the key the install did.
            command.args(["--yes", "--no-progress"]);
        }
        command.env("TMPDIR", self.ws.path("tmp"));
        command
    }

    pub(crate) fn command(&self, sub: &str) -> Command {
        self.command_of(&self.installer, sub, &self.state())
    }

    /// The answers of the sample: the target as installation root, the password from a file.
    pub(crate) fn answers(&self) -> Vec<OsString> {
        let mut root = OsString::from("Install.Root=");
        root.push(self.target());
        let mut secret = OsString::from("Database.Password=@");
        secret.push(self.ws.path("secrets/db"));
        vec!["--set".into(), root, "--secret".into(), secret]
    }

    /// `install` with the sample's answers and `extra` options.
    pub(crate) fn install(&self, extra: &[&str]) -> Run {
        run(self.command("install").args(self.answers()).args(extra))
    }
}

/// Write `plan` and build it into `name` (with the workspace's drop, customer and key).
pub(crate) fn build(ws: &Workspace, plan: &Value, name: &str) -> PathBuf {
    ws.write(
        "plan.json",
        serde_json::to_string_pretty(plan).expect("plan json"),
    );
    ws.build(name)
}

pub(crate) fn sample_plan() -> Value {
    let text = std::fs::read_to_string(Path::new(SAMPLE).join("plan.json")).expect("sample plan");
    serde_json::from_str(&text).expect("sample plan is JSON")
}

/// The sample plan with `steps` instead of its own.
pub(crate) fn plan_with_steps(steps: Value) -> Value {
    let mut plan = sample_plan();
    plan["steps"] = steps;
    plan
}

pub(crate) fn deploy_sample_step() -> Value {
    sample_plan()["steps"][1].clone()
}

pub(crate) fn read_report(state: &Path) -> Value {
    let text = std::fs::read_to_string(state.join("report.json"))
        .unwrap_or_else(|e| panic!("reading report.json in {}: {e}", state.display()));
    serde_json::from_str(&text).expect("report.json is JSON")
}

pub(crate) fn statuses(report: &Value) -> Vec<(String, String)> {
    report["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap_or_default().to_string(),
                s["status"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

pub(crate) fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

pub(crate) fn write_mode(path: &Path, contents: &str, mode: u32) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, contents).expect("write");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// A target that already holds an older install of the web tier and files of the operator's.
pub(crate) fn populate_target(target: &Path) -> Vec<Entry> {
    write_mode(
        &target.join("web/appsettings.json"),
        "{ \"old\": true }\n",
        0o640,
    );
    write_mode(
        &target.join("web/config/app.conf"),
        "# old settings\nport = 1\n",
        0o600,
    );
    write_mode(&target.join("web/logs/old.log"), "yesterday\n", 0o644);
    write_mode(&target.join("keep.txt"), "the operator's file\n", 0o755);
    std::fs::set_permissions(
        target.join("web/logs"),
        std::fs::Permissions::from_mode(0o750),
    )
    .expect("chmod dir");
    tree_with_modes(target)
}

/// The sample's settings file as rendered for `port`.
pub(crate) fn expected_app_conf(port: &str) -> String {
    format!(
        "# Fabrikam web service settings (rendered at install time)\nhost = fabrikam.contoso.local\nport = {port}\nenvironment = Production\ndb.password = {SECRET}\n"
    )
}

// ---------------------------------------------------------------------------------------------
// Secrets: every encoded form the spec names, and a scan of everything the installer wrote.

pub(crate) fn url_encode(value: &str, lower: bool) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ if lower => format!("%{b:02x}"),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The forms of `secret` that must never appear: raw, base64 (standard and URL-safe, padded or
/// not), URL-encoded and JSON-escaped.
pub(crate) fn secret_forms(secret: &str) -> Vec<(&'static str, String)> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let json = serde_json::to_string(secret).expect("json");
    vec![
        ("raw", secret.to_string()),
        ("base64", STANDARD.encode(secret)),
        ("base64 (no padding)", STANDARD_NO_PAD.encode(secret)),
        ("base64 (URL-safe)", URL_SAFE.encode(secret)),
        (
            "base64 (URL-safe, no padding)",
            URL_SAFE_NO_PAD.encode(secret),
        ),
        ("URL-encoded", url_encode(secret, false)),
        ("URL-encoded (lowercase)", url_encode(secret, true)),
        ("JSON-escaped", json[1..json.len() - 1].to_string()),
        ("base64 after 1 byte", shifted_base64(secret, 1)),
        ("base64 after 2 bytes", shifted_base64(secret, 2)),
    ]
}

/// The base64 characters that depend on `secret` alone when it follows `shift` other bytes (as
/// in an HTTP Basic header's `user:secret`): the groups made only of the secret's bytes.
fn shifted_base64(secret: &str, shift: usize) -> String {
    use base64::engine::general_purpose::STANDARD;
    let mut bytes = vec![b'x'; shift];
    bytes.extend_from_slice(secret.as_bytes());
    let whole_groups = bytes.len() / 3;
    STANDARD.encode(&bytes)[4..4 * whole_groups].to_string()
}

#[track_caller]
pub(crate) fn assert_no_secret(what: &str, text: &[u8], secrets: &[&str]) {
    let text = String::from_utf8_lossy(text);
    // Line-wrapped base64 (`base64` wraps at 76 columns, MIME at 76, PEM at 64) is found once
    // the line breaks are gone.
    let unwrapped = text.replace(['\n', '\r'], "");
    assert_no_secret_in_text(what, &text, secrets);
    assert_no_secret_in_text(
        &format!("{what} (line breaks removed)"),
        &unwrapped,
        secrets,
    );
}

#[track_caller]
fn assert_no_secret_in_text(what: &str, text: &str, secrets: &[&str]) {
    for secret in secrets {
        for (form, value) in secret_forms(secret) {
            if let Some(at) = text.find(&value) {
                let start = text[..at]
                    .char_indices()
                    .rev()
                    .nth(80)
                    .map_or(0, |(i, _)| i);
                panic!(
                    "the {form} form of a planted secret leaked into {what}:\n…{}…",
                    &text[start..(at + value.len()).min(text.len())]
                );
            }
        }
    }
}

/// Every file under `dir`, except `allowed` (absolute paths), scanned.
#[track_caller]
pub(crate) fn assert_no_secret_in_dir(dir: &Path, allowed: &[PathBuf], secrets: &[&str]) -> usize {
    let mut scanned = 0;
    for entry in tree_with_modes(dir) {
        let path = dir.join(&entry.path);
        if let Some(contents) = entry.contents
            && !allowed.contains(&path)
        {
            assert_no_secret(&path.display().to_string(), &contents, secrets);
            scanned += 1;
        }
    }
    scanned
}

#[track_caller]
pub(crate) fn assert_run_has_no_secret(run: &Run, secrets: &[&str]) {
    assert_no_secret("stdout", run.stdout.as_bytes(), secrets);
    assert_no_secret("stderr", run.stderr.as_bytes(), secrets);
}

// ---------------------------------------------------------------------------------------------

/// Package `entries` as a `.nupkg` at `relative` in the workspace.
pub(crate) fn write_nupkg(ws: &Workspace, relative: &str, entries: &[(&str, &str)]) {
    use std::io::Write;
    let path = ws.path(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    for (name, text) in entries {
        zip.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(text.as_bytes()).unwrap();
    }
    zip.finish().unwrap();
}

/// Spawn `command` with output into files of the workspace; the caller waits for a marker.
pub(crate) fn spawn(command: &mut Command, ws: &Workspace, name: &str) -> std::process::Child {
    command
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(ws.path(&format!("{name}.stdout"))).unwrap())
        .stderr(std::fs::File::create(ws.path(&format!("{name}.stderr"))).unwrap());
    for _ in 0..100 {
        match command.spawn() {
            Err(e) if e.raw_os_error() == Some(26) => std::thread::sleep(Duration::from_millis(20)),
            result => return result.unwrap_or_else(|e| panic!("spawning {command:?}: {e}")),
        }
    }
    panic!("spawning {command:?}: executable stayed busy")
}

/// Start an install that parks at `checkpoint`, wait for it to get there, and SIGKILL it.
pub(crate) fn kill_install_at(fx: &Fixture, installer: &Path, state: &Path, checkpoint: &str) {
    let marker = fx
        .ws
        .path(&format!("marker-{}", checkpoint.replace(':', "-")));
    let mut child = spawn(
        fx.command_of(installer, "install", state)
            .args(fx.answers())
            .env("DROPSHIP_TEST_CHECKPOINT", checkpoint)
            .env("DROPSHIP_TEST_CHECKPOINT_MARKER", &marker),
        &fx.ws,
        &format!("killed-{}", checkpoint.replace(':', "-")),
    );
    wait_for_file(&marker, &mut child, Duration::from_secs(30));
    child.kill().expect("SIGKILL");
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), None, "killed by a signal, not exited");
    assert!(
        !state.join("report.json").exists(),
        "a killed install wrote no report"
    );
}
