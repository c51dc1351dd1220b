//! End-to-end tests: build real installers with the real binaries and run them as processes.
//! One test binary (one link step); each module is one capability.

mod container;
mod exit_status;
mod fixture;
mod guided;
mod import;
mod install;
mod interpreters;
mod platforms;
mod render;
mod safety;
mod strict;
mod support;
