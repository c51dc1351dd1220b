//! Step executors, one module per step type.

pub mod check;
pub mod deploy;
pub mod http_wait;
pub mod run_script;

mod http;
