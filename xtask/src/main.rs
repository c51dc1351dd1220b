//! Project automation:
//!
//! - `cargo run --release -p xtask -- bench [--size-mb N] [--runs N] [--keep]`: the performance
//!   benchmark against the standard tools ([`bench`]);
//! - `cargo run -p xtask -- modules`: every circle between sibling modules of the workspace's
//!   crates ([`modules`]).

mod bench;
mod modules;

use std::process::ExitCode;

type Result<T, E = String> = std::result::Result<T, E>;

const USAGE: &str = "usage: cargo run --release -p xtask -- bench [--size-mb N] [--runs N] [--keep]
       cargo run -p xtask -- modules";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("bench") => bench::Options::parse(&args[1..]).and_then(|o| bench::run(&o)),
        Some("modules") if args.len() == 1 => modules::run(),
        _ => Err(USAGE.into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}
