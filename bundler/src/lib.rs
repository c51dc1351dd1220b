//! The bundler's library: packing, signing, import and one module per command. The `dropship`
//! binary (`main.rs`) is its command line; the library exists so that the fuzz targets and tests
//! call the very functions the binary calls (`fuzz/harness`).

// std's print macros panic when a write fails (a closed pipe, a hung-up terminal), which would
// stop an install midway: these, defined before the modules, shadow them (`dropship_runtime::stdio`).
macro_rules! println { ($($a:tt)*) => { dropship_runtime::stdio_line!(out; $($a)*) }; }
macro_rules! eprintln { ($($a:tt)*) => { dropship_runtime::stdio_line!(err; $($a)*) }; }
macro_rules! print { ($($a:tt)*) => { dropship_runtime::stdio_text!(out, $($a)*) }; }

mod bundle;
pub mod commands;
pub mod failure;
mod feedback;
pub mod import;
mod inputs;
mod keys;
mod pack;
mod stub;
mod templates;
