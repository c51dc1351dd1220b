//! One module per `dropship` command (or family of commands): each reads its command line's
//! inputs, calls the modules that do the work (`bundle`, `inputs`, `keys`, `pack`, `stub`,
//! `import`, `templates`) and tells the user what happened. `main.rs` only parses and
//! dispatches.

pub mod build;
pub mod demo;
pub mod import;
pub mod init;
pub mod inspect;
pub mod keygen;
pub mod plan;
pub mod render;
pub mod reports;
pub mod verify;
