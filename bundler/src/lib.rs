//! The bundler's library: packing, signing, import and one module per command. The `dropship`
//! binary (`main.rs`) is its command line; the library exists so that the fuzz targets and tests
//! call the very functions the binary calls (`fuzz/harness`).

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
