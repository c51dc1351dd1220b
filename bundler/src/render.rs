//! `dropship render`: evaluate a template from stdin against a variables file (in progress).

use std::path::PathBuf;
use std::process::ExitCode;

/// Evaluate a template read from stdin and write the result to stdout
#[derive(Debug, clap::Args)]
pub struct RenderArgs {
    /// JSON object of variable name to string or null, in order
    #[arg(long)]
    pub vars: PathBuf,
    /// Fail (exit 2) when evaluation reports an error, instead of Calamari's continue mode
    #[arg(long)]
    pub strict: bool,
}

pub fn run(args: RenderArgs) -> ExitCode {
    let _ = args;
    ExitCode::FAILURE
}
