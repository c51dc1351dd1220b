//! dropship runtime library: everything an installer does, and every type and rule the bundler
//! shares with it, so both sides agree by construction.
//!
//! The modules, one job each:

/// The operator's answers: answers files, secrets from safe channels, validation, saving.
pub mod answers;
/// Named kill points for the crash tests (feature `test-hooks`).
pub mod checkpoint;
/// Configuration-file replacers: substitution in files, structured variables, .NET config.
pub mod config;
/// The installer file: trailer, manifest, payload codec, reading and writing the parts.
pub mod container;
/// Free space on a file system, said for people.
pub mod disk;
/// Atomic, durable file writes (temporary sibling, flush, rename, flush the directory).
pub mod durable;
/// The install engine: steps in order, roles, conditions, retries, journal, rollback, resume.
pub mod engine;
/// Names of every `DROPSHIP_*` environment variable.
pub mod env;
/// Escaping for HTML, XML, JSON, URIs, YAML and .properties, and base64, each written once.
pub mod escape;
/// The channel from the engine and the steps to the front end (console, tests).
pub mod events;
/// Exit codes of both binaries, typed once.
pub mod exit;
/// Safe extraction of the payload's tar stream into a private staging directory.
pub mod extract;
/// The machine an install runs on (name, OS and version, architecture, user), for the report.
pub mod host;
/// What is installed (the record a successful install leaves) and how an installer compares
/// with it: fresh, upgrade, reinstall, downgrade.
pub mod installed;
/// The install journal: append-only, fsync'd records of steps and changes, replayed on resume.
pub mod journal;
/// Octopus formats the runtime reads: variables files, encrypted sensitive variables.
pub mod octopus;
/// Safe extraction of deployment packages (.nupkg, .zip, .tar.gz, .tar) as Calamari does.
pub mod package;
/// Path safety against what is on disk: links resolved beneath a root, trusted ancestors.
pub mod path_safety;
/// The step plan: format, parsing with every problem and its JSON path, validation.
pub mod plan;
/// The install report: JSON, text for the change ticket, self-contained HTML.
pub mod report;
/// Keeping the last installs undoable (`--keep`), making older ones final, and the way back
/// through them (`rollback --to`).
pub mod retention;
/// Rollback: each change to the target journaled before it is made, undone in reverse on failure.
pub mod rollback;
/// Private scratch directories (payload, scripts) named after their process, swept when stale.
pub mod scratch;
/// Running Octopus scripts (bash, sh, python, pwsh) as Calamari does, output scrubbed.
pub mod script;
/// Secret values (never printed) and scrubbing them out of all output.
pub mod secret;
/// Argon2id verifiers of the install's secrets (`resume` refuses a different one).
pub mod secret_verifier;
/// The state directory: the one owner of every file, permission and lock an install keeps.
pub mod state_dir;
/// Printing to stdout and stderr that never panics (the binaries' print macros use it).
pub mod stdio;
/// The step types behind one interface: what each does, would do (dry run) and undoes.
pub mod steps;
/// Octostache-compatible template engine (`#{...}`).
pub mod template;
/// Signatures and trust: pinned keys, key ids, minisign verification of the signed prefix.
pub mod trust;
/// Quantities written for people (sizes).
pub mod units;
/// The variables a step sees, with Octopus's precedence, and which of them are sensitive.
pub mod variables;
/// Product versions and the ranges a plan's `upgrade.from` accepts.
pub mod version;
#[cfg(windows)]
pub mod windows_acl;
