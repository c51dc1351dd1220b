//! Files that received a secret and every local user can read: the install keeps a file's own
//! mode (the vendor's package decides it), so it says so instead, on screen, in the log and in
//! the report's warnings, for the vendor to fix the package's mode.

use super::Engine;
use crate::journal::Change;

impl Engine<'_> {
    /// Warn about each file `changes` wrote that holds a secret and is readable by all users.
    pub(super) fn warn_about_exposed_secrets(&mut self, changes: &[Change]) {
        if self.scrubber.is_empty() {
            return;
        }
        for change in changes {
            let (Change::FileCreated { path, .. }
            | Change::FileReplaced { path, .. }
            | Change::FileModifiedInPlace { path, .. }) = change
            else {
                continue;
            };
            let Some(mode) = world_readable_mode(path) else {
                continue;
            };
            let Ok(bytes) = crate::durable::read_no_follow(path) else {
                continue;
            };
            if !self.scrubber.finds_in(&bytes) {
                continue;
            }
            let warning = format!(
                "`{}` holds a secret and every local user can read it (mode {mode:04o}); the \
                 package should give it a mode such as 0640 or 0600",
                path.display()
            );
            if !self.warnings.contains(&warning) {
                self.events.note(&format!("warning: {warning}"));
                self.warnings.push(warning);
            }
        }
    }
}

/// The mode of a regular file others may read, small enough to look into.
#[cfg(unix)]
fn world_readable_mode(path: &std::path::Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    /// Larger files are not read for secrets: settings files are small, packages' binaries not.
    const LARGEST_READ: u64 = 1 << 20;
    let meta = std::fs::symlink_metadata(path).ok()?;
    let mode = meta.permissions().mode() & 0o7777;
    (meta.is_file() && mode & 0o004 != 0 && meta.len() <= LARGEST_READ).then_some(mode)
}

/// Known gap: Windows ACLs are not inspected.
#[cfg(not(unix))]
fn world_readable_mode(_path: &std::path::Path) -> Option<u32> {
    None
}
