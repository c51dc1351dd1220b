//! Step executors, one module per step type.

pub mod check;
pub mod http_wait;

mod http;
