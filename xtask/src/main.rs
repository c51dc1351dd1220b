//! Project automation:
//!
//! - `cargo run --release -p xtask -- bench [--only SCENARIO] [--quick] [--size-mb N] [--files N]
//!   [--packages N] [--runs N] [--keep]`: the performance benchmark against the standard tools
//!   ([`bench`]);
//! - `cargo run --release -p xtask -- dist`: the bundler and one runtime stub per customer
//!   platform in `dist/` ([`dist`]);
//! - `cargo run -p xtask -- modules`: every circle between sibling modules of the workspace's
//!   crates ([`modules`]).

mod bench;
mod dist;
mod modules;
mod system;

use std::process::ExitCode;

type Result<T, E = String> = std::result::Result<T, E>;

const USAGE: &str =
    "usage: cargo run --release -p xtask -- bench [--only large|packages|small-files] [--quick]
           [--size-mb N] [--files N] [--packages N] [--runs N] [--keep]
       cargo run --release -p xtask -- dist
       cargo run -p xtask -- modules";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("bench") => bench::Options::parse(&args[1..]).and_then(|o| bench::run(&o)),
        Some("dist") if args.len() == 1 => dist::run(),
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
