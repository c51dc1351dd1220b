//! Shared helpers for the end-to-end tests: real binaries, real files, a fresh directory each.

#![allow(dead_code)] // each test module uses its own subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

/// The `dropship` bundler under test.
pub fn dropship() -> Command {
    Command::new(env!("CARGO_BIN_EXE_dropship"))
}

/// The runtime stub, built beside `dropship`. `cargo test` builds only the bundler's binary, so
/// the stub is (re)built here once per run; a stale stub would test old code.
pub fn runtime_stub() -> &'static Path {
    static STUB: OnceLock<PathBuf> = OnceLock::new();
    STUB.get_or_init(|| {
        let status = Command::new(env!("CARGO"))
            .args([
                "build",
                "--quiet",
                "-p",
                "dropship-runtime",
                "--bin",
                "dropship-runtime",
                // Kill points (`DROPSHIP_TEST_CHECKPOINT`) for the resume and rollback tests; all
                // features, as `cargo test --workspace --all-features` builds it, so that the stub
                // is not rebuilt with another feature set on every run.
                "--all-features",
            ])
            .status()
            .expect("running cargo to build the runtime stub");
        assert!(status.success(), "building the runtime stub failed");
        Path::new(env!("CARGO_BIN_EXE_dropship")).with_file_name("dropship-runtime")
    })
}

/// `dropship build` of `drop` and `plan` with `key` into `out`, with the stub under test; add
/// `--customer`, `--presign` or environment to the returned command.
pub fn build_command(drop: &Path, plan: &Path, key: &Path, out: &Path) -> Command {
    let mut command = dropship();
    command
        .arg("build")
        .arg("--drop")
        .arg(drop)
        .arg("--plan")
        .arg(plan)
        .arg("--key")
        .arg(key)
        .arg("--runtime")
        .arg(runtime_stub())
        .arg("-o")
        .arg(out);
    command
}

/// Outcome of a process, for assertions with readable failure messages.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn from(output: Output) -> Self {
        Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    #[track_caller]
    pub fn success(self) -> Self {
        assert_eq!(self.code, Some(0), "expected success:\n{self:#?}");
        self
    }

    #[track_caller]
    pub fn code(self, code: i32) -> Self {
        assert_eq!(self.code, Some(code), "expected exit {code}:\n{self:#?}");
        self
    }
}

/// Run a command with no stdin (never a terminal), capturing everything.
pub fn run(command: &mut Command) -> Run {
    command.stdin(Stdio::null());
    // A test that just wrote an executable can race another test's fork, which briefly holds the
    // file open for writing: exec then fails with ETXTBSY. Retrying is the standard remedy.
    for _ in 0..100 {
        match command.output() {
            Err(e) if e.raw_os_error() == Some(26) => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            result => {
                return Run::from(result.unwrap_or_else(|e| panic!("running {command:?}: {e}")));
            }
        }
    }
    panic!("running {command:?}: executable stayed busy")
}

/// A fresh directory with a throwaway key, a small drop and a plan.
pub struct Workspace {
    pub dir: tempfile::TempDir,
}

impl Workspace {
    pub fn new() -> Self {
        let ws = Workspace {
            dir: tempfile::tempdir().expect("temp dir"),
        };
        run(dropship()
            .args(["keygen", "--unencrypted", "-o"])
            .arg(ws.path("keys")))
        .success();
        ws
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    pub fn secret_key(&self) -> PathBuf {
        self.path("keys/dropship.key")
    }

    pub fn public_key(&self) -> PathBuf {
        self.path("keys/dropship.pub")
    }

    pub fn public_key_base64(&self) -> String {
        let text = std::fs::read_to_string(self.public_key()).expect("public key");
        text.lines().nth(1).expect("key line").trim().to_string()
    }

    pub fn write(&self, relative: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(relative);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, contents).expect("write");
        path
    }

    /// A small drop and a minimal plan.
    pub fn sample_inputs(&self) {
        self.write("drop/Packages/readme.txt", "Fabrikam package placeholder\n");
        self.write("drop/Scripts/Configure.sh", "#!/bin/sh\necho configured\n");
        self.write(
            "drop/Variables/step.variables.json",
            r#"{"Service.Port":"8443"}"#,
        );
        self.write("plan.json", MINIMAL_PLAN);
        self.write("customer.json", r#"{"name":"Contoso"}"#);
    }

    /// Build `name` from the sample inputs with the throwaway key.
    pub fn build(&self, name: &str) -> PathBuf {
        let out = self.path(name);
        run(&mut self.build_command(&out)).success();
        out
    }

    pub fn build_command(&self, out: &Path) -> Command {
        let mut command = build_command(
            &self.path("drop"),
            &self.path("plan.json"),
            &self.secret_key(),
            out,
        );
        command.arg("--customer").arg(self.path("customer.json"));
        command
    }

    /// Run an installer with the throwaway key trusted.
    pub fn installer(&self, installer: &Path, args: &[&str]) -> Run {
        run(Command::new(installer)
            .args(args)
            .arg("--trusted-key-file")
            .arg(self.public_key()))
    }
}

pub const MINIMAL_PLAN: &str = r#"{
  "schema": "dropship/plan@1",
  "product": { "name": "Fabrikam Platform", "version": "4.12.0", "vendor": "Fabrikam Ltd" },
  "steps": [
    { "name": "Configure", "type": "run-script", "syntax": "bash", "inline": "echo hello" }
  ]
}"#;

/// Bytes no compressor can shrink (xorshift64), as packed packages are.
pub fn incompressible(len: usize) -> Vec<u8> {
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let mut bytes = Vec::with_capacity(len + 8);
    while bytes.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bytes.extend_from_slice(&state.to_le_bytes());
    }
    bytes.truncate(len);
    bytes
}

/// Every file under `dir`, relative, sorted, with contents.
pub fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(at) = stack.pop() {
        for entry in std::fs::read_dir(&at).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let contents = std::fs::read(&path).expect("read");
                out.push((
                    path.strip_prefix(dir).expect("prefix").to_path_buf(),
                    contents,
                ));
            }
        }
    }
    out.sort();
    out
}

/// Run a command with `input` on its stdin, capturing everything.
pub fn run_with_stdin(command: &mut Command, input: &[u8]) -> Run {
    use std::io::Write;
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for _ in 0..100 {
        match command.spawn() {
            Err(e) if e.raw_os_error() == Some(26) => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            Err(e) => panic!("running {command:?}: {e}"),
            Ok(mut child) => {
                let mut stdin = child.stdin.take().expect("stdin");
                // The process may exit before reading (e.g. refused arguments): ignore EPIPE.
                let _ = stdin.write_all(input);
                drop(stdin);
                let output = child
                    .wait_with_output()
                    .unwrap_or_else(|e| panic!("waiting for {command:?}: {e}"));
                return Run::from(output);
            }
        }
    }
    panic!("running {command:?}: executable stayed busy")
}

/// Copy the directory tree `from` into `to` (created), keeping file modes.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("creating {}: {e}", to.display()));
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let entry = entry.expect("entry");
        let path = entry.path();
        let dest = to.join(entry.file_name());
        if path.is_dir() {
            copy_dir(&path, &dest);
        } else {
            std::fs::copy(&path, &dest)
                .unwrap_or_else(|e| panic!("copying {}: {e}", path.display()));
        }
    }
}

/// One entry of [`tree_with_modes`]: a directory (no contents) or a file, with its permission bits.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Entry {
    pub path: PathBuf,
    pub mode: u32,
    /// `None` for a directory.
    pub contents: Option<Vec<u8>>,
}

/// Every directory and file under `dir` (not `dir` itself), relative, sorted, with permission
/// bits and file contents: equal trees are byte-for-byte and mode-for-mode equal. A missing
/// `dir` is an empty tree.
pub fn tree_with_modes(dir: &Path) -> Vec<Entry> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = Vec::new();
    if !dir.exists() {
        return out;
    }
    let mut stack = vec![dir.to_path_buf()];
    while let Some(at) = stack.pop() {
        for entry in std::fs::read_dir(&at).expect("read_dir") {
            let path = entry.expect("entry").path();
            let meta = std::fs::symlink_metadata(&path).expect("metadata");
            let relative = path.strip_prefix(dir).expect("prefix").to_path_buf();
            let mode = meta.permissions().mode() & 0o7777;
            if meta.is_dir() {
                stack.push(path);
                out.push(Entry {
                    path: relative,
                    mode,
                    contents: None,
                });
            } else {
                let contents = std::fs::read(&path).expect("read");
                out.push(Entry {
                    path: relative,
                    mode,
                    contents: Some(contents),
                });
            }
        }
    }
    out.sort();
    out
}

/// Assert two [`tree_with_modes`] snapshots are equal, naming the first difference.
#[track_caller]
pub fn assert_same_tree(before: &[Entry], after: &[Entry], what: &str) {
    let show = |e: &Entry| {
        format!(
            "{} mode {:o} {}",
            e.path.display(),
            e.mode,
            match &e.contents {
                None => "(dir)".to_string(),
                Some(c) => format!("{:?}", String::from_utf8_lossy(c)),
            }
        )
    };
    let before_set: Vec<String> = before.iter().map(show).collect();
    let after_set: Vec<String> = after.iter().map(show).collect();
    let missing: Vec<&String> = before_set
        .iter()
        .filter(|e| !after_set.contains(e))
        .collect();
    let extra: Vec<&String> = after_set
        .iter()
        .filter(|e| !before_set.contains(e))
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{what}: the tree differs\n  lost or changed: {missing:#?}\n  new or changed: {extra:#?}"
    );
}

/// Poll (bounded) until `path` exists; panics naming `what` after `timeout`. Used to wait for
/// a kill-point marker: a bounded poll of a condition, never a sleep as synchronisation.
#[track_caller]
pub fn wait_for_file(path: &Path, child: &mut std::process::Child, timeout: std::time::Duration) {
    let deadline = std::time::Instant::now() + timeout;
    while !path.exists() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "the process exited ({status}) before reaching the checkpoint ({})",
                path.display()
            );
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no checkpoint marker {} after {timeout:?}",
            path.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// A `.nupkg` at `relative` holding `entries` (name, bytes) and a nuspec.
pub fn write_package(ws: &Workspace, relative: &str, id: &str, entries: &[(&str, Vec<u8>)]) {
    use std::io::Write;
    let path = ws.path(relative);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).expect("create"));
    let nuspec = format!(
        "<?xml version=\"1.0\"?><package><metadata><id>{id}</id><version>1.0.0</version><authors>t</authors><description>d</description></metadata></package>"
    );
    let all = std::iter::once((format!("{id}.nuspec"), nuspec.into_bytes()))
        .chain(entries.iter().map(|(n, b)| (n.to_string(), b.clone())));
    for (name, bytes) in all {
        zip.start_file(name, zip::write::SimpleFileOptions::default())
            .expect("zip entry");
        zip.write_all(&bytes).expect("zip write");
    }
    zip.finish().expect("zip finish");
}
