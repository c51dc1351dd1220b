//! Project automation. One task so far:
//!
//! `cargo run --release -p xtask -- bench [--size-mb N] [--runs N] [--keep]`: the performance
//! benchmark against the standard tools ([`bench`]).

mod bench;

use std::process::ExitCode;

type Result<T, E = String> = std::result::Result<T, E>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("bench") => bench::Options::parse(&args[1..]).and_then(|o| bench::run(&o)),
        _ => Err(
            "usage: cargo run --release -p xtask -- bench [--size-mb N] [--runs N] [--keep]".into(),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}
