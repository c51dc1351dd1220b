//! Every `DROPSHIP_*` environment variable, in one place so they can be found and documented.

/// Compile time: comma-separated minisign public keys pinned into a runtime build.
pub const TRUSTED_KEYS: &str = "DROPSHIP_TRUSTED_KEYS";
/// Bundler: password of the secret signing key (instead of the prompt).
pub const KEY_PASSWORD: &str = "DROPSHIP_KEY_PASSWORD";
/// Bundler: password for a new key made by `dropship keygen` (instead of the prompt).
pub const NEW_KEY_PASSWORD: &str = "DROPSHIP_NEW_KEY_PASSWORD";
/// Reproducible builds: the build time recorded in tar headers and the manifest.
pub const SOURCE_DATE_EPOCH: &str = "SOURCE_DATE_EPOCH";
/// Tests (feature `test-hooks`): the checkpoint to park at, `NAME` or `NAME:N` for its N-th
/// occurrence (see `checkpoint`).
pub const TEST_CHECKPOINT: &str = "DROPSHIP_TEST_CHECKPOINT";
/// Tests (feature `test-hooks`): a file created when the process parks at the checkpoint.
pub const TEST_CHECKPOINT_MARKER: &str = "DROPSHIP_TEST_CHECKPOINT_MARKER";
