//! End-to-end tests: build real installers with the real binaries and run them as processes.
//! One test binary (one link step); each module is one capability.

mod bounds;
mod calamari;
mod container;
mod diagnostics;
mod exit_status;
mod fixture;
mod guided;
mod import;
mod install;
mod interpreters;
mod operator;
mod plan_check;
mod platforms;
mod render;
mod reports;
mod safety;
mod strict;
mod support;
mod txn;
mod upgrade;
mod vendor_cli;
