//! dropship runtime library: everything an installer does, and every type and rule the bundler
//! shares with it, so both sides agree by construction.
//!
//! The modules, one job each:

/// Exit codes of both binaries, typed once.
pub mod exit;
/// Names of every `DROPSHIP_*` environment variable.
pub mod env;
/// The installer file: trailer, manifest, payload codec, reading and writing the parts.
pub mod container;
/// Signatures and trust: pinned keys, key ids, minisign verification of the signed prefix.
pub mod trust;
/// Safe extraction of the payload's tar stream into a private staging directory.
pub mod extract;
/// Octostache-compatible template engine (`#{...}`).
pub mod template;
/// Configuration-file replacers: substitution in files, structured variables, .NET config.
pub mod config;
/// Octopus formats the runtime reads: variables files, encrypted sensitive variables.
pub mod octopus;
