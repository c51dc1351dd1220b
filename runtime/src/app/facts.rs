//! What the log's header and the report say about a run before it starts: the host, the
//! runtime, the installer file and its SHA-256, the command line with secrets redacted, the
//! state directory, guided or unattended.

use crate::session::Session;
use dropship_runtime::escape::{self, hex};
use dropship_runtime::host;
use dropship_runtime::plan::{ParameterType, Plan};
use dropship_runtime::report::{InstallerInfo, RunFacts, RunMode, RuntimeInfo};
use dropship_runtime::secret::{REDACTED, Scrubber};
use dropship_runtime::state_dir::StateDir;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::thread::JoinHandle;

/// The installer file's SHA-256 (as `sha256sum` prints it), computed on a thread of its own
/// from when the installer opens, so a large file costs no waiting.
pub struct FileHash {
    running: Mutex<Option<JoinHandle<Option<String>>>>,
    done: OnceLock<Option<String>>,
}

impl FileHash {
    pub fn start(path: PathBuf) -> Self {
        FileHash {
            running: Mutex::new(Some(std::thread::spawn(move || sha256_file(&path)))),
            done: OnceLock::new(),
        }
    }

    /// The hex digest; `None` when the file could not be read.
    pub fn get(&self) -> Option<String> {
        self.done
            .get_or_init(|| {
                let running = self.running.lock().ok()?.take()?;
                running.join().ok().flatten()
            })
            .clone()
    }
}

fn sha256_file(path: &Path) -> Option<String> {
    let mut file = std::fs::File::open(path).ok()?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        match file.read(&mut buffer) {
            Ok(0) => return Some(hex(&hasher.finalize())),
            Ok(n) => hasher.update(&buffer[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
}

/// The facts of this run; `scrubber` hides any secret the command line still shows.
pub fn run_facts(
    session: &Session,
    state: &StateDir,
    guided: bool,
    scrubber: &Scrubber,
) -> RunFacts {
    let args: Vec<String> = std::env::args_os()
        .map(|arg| arg.to_string_lossy().into_owned())
        .collect();
    let command_line = redacted_command_line(&args, &session.plan);
    RunFacts {
        host: host::current(),
        runtime: RuntimeInfo {
            version: env!("CARGO_PKG_VERSION").to_string(),
        },
        installer: InstallerInfo {
            path: session.file.path.display().to_string(),
            sha256: session.file_sha256.get(),
        },
        command_line: scrubber.scrub(&command_line),
        state_dir: state.root().display().to_string(),
        mode: if guided {
            RunMode::Guided
        } else {
            RunMode::Unattended
        },
    }
}

/// The command line as shell words, the value of every `--set` of a secret parameter
/// redacted (the installer refuses those, but the line is recorded as given).
fn redacted_command_line(args: &[String], plan: &Plan) -> String {
    let secret = |name: &str| {
        plan.document()
            .parameters
            .iter()
            .any(|p| p.kind == ParameterType::Secret && p.name.eq_ignore_ascii_case(name.trim()))
    };
    let redact = |set: &str| match set.split_once('=') {
        Some((name, _)) if secret(name) => format!("{name}={REDACTED}"),
        _ => set.to_string(),
    };
    let mut words = Vec::with_capacity(args.len());
    let mut after_set = false;
    for arg in args {
        let word = if after_set {
            redact(arg)
        } else if let Some(set) = arg.strip_prefix("--set=") {
            format!("--set={}", redact(set))
        } else {
            arg.clone()
        };
        after_set = arg == "--set";
        words.push(escape::shell_word(&word));
    }
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_value_of_a_secret_set_on_the_command_line_is_redacted() {
        let plan = Plan::parse(
            br#"{"schema": "dropship/plan@1", "product": {"name": "P", "version": "1.0.0"},
                 "parameters": [{"name": "Db.Password", "type": "secret"}, {"name": "Port", "type": "port"}],
                 "steps": [{"name": "S", "type": "manual", "instructions": "x"}]}"#,
            "plan.json",
        )
        .unwrap();
        let args = [
            "./installer",
            "install",
            "--set",
            "db.password=hunter 2",
            "--set=Db.Password=hunter2",
            "--set",
            "Port=8443",
        ]
        .map(String::from);
        assert_eq!(
            redacted_command_line(&args, &plan),
            "./installer install --set 'db.password=********' '--set=Db.Password=********' --set 'Port=8443'"
        );
    }

    #[test]
    fn the_hash_is_the_files_sha256() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, "abc").unwrap();
        let hash = FileHash::start(path);
        let expected = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(hash.get().as_deref(), Some(expected));
        assert_eq!(hash.get().as_deref(), Some(expected), "asked twice");
        assert_eq!(FileHash::start(dir.path().join("missing")).get(), None);
    }
}
