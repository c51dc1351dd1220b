//! Octopus Deploy formats the runtime reads from an Offline Package Drop
//! (`docs/octopus-conventions.md` §1.2, §2).
//!
//! - [`variables_file`](crate::octopus::variables_file): `Variables/*.variables.json`, legacy flat object and `{k,v,s}` array;
//! - [`sensitive`](crate::octopus::sensitive): `Variables/*.secret`, AES-CBC/PBKDF2 encrypted variables (Calamari's layout);
//! - `openssl_cli` and `testdrop` (tests and feature `test-support` only): an independent
//!   `openssl`-based encryptor, and a realistic drop generator for tests.
//!
//! Not here: the generated `.ps1` (the bundler's import parses it), package extraction and
//! package file names ([`crate::package`]), template evaluation ([`crate::template`]).

pub mod sensitive;
pub mod variables_file;

#[cfg(any(test, feature = "test-support"))]
pub mod openssl_cli;
#[cfg(any(test, feature = "test-support"))]
pub mod testdrop;
