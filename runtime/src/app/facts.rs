//! What the log's header and the report say about a run before it starts: the host, the
//! runtime, the installer file and its SHA-256 (the session's), the command line with secrets
//! redacted, the state directory, guided or unattended.

use crate::session::Session;
use dropship_runtime::escape;
use dropship_runtime::host;
use dropship_runtime::plan::{ParameterType, Plan};
use dropship_runtime::report::{InstallerInfo, RunFacts, RunMode, RuntimeInfo};
use dropship_runtime::secret::{REDACTED, Scrubber};
use dropship_runtime::state_dir::StateDir;

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
}
