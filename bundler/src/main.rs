//! `dropship`, the vendor's bundler: a thin command-line front end over the runtime library.

mod render;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(name = "dropship", version, about = "Turn an Octopus Offline Package Drop and a step plan into signed installers")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Evaluate an Octostache template from stdin against a variables file
    Render(render::RenderArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Render(args) => render::run(args),
    }
}
