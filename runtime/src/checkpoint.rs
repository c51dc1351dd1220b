//! Named kill points for the crash tests (feature `test-hooks`): [`checkpoint`] parks the process
//! where a test asks, so the test can kill it there and check what `resume` and `rollback` make
//! of the disk. Without the feature every checkpoint compiles to nothing.
//!
//! The points: `after-record` (a change is journaled, not yet made), `after-backup` (an original
//! is moved aside, its new content not yet written), `after-change` (the change is made),
//! `after-undo` (a change is undone, not yet journaled as such), `after-temp` (new content is
//! written beside a file, not yet renamed over it), and, called by the engine, `step-started`,
//! `step-finished`, `rollback-script-started` (journaled, not yet run) and
//! `rollback-script-finished` (run and journaled), and by `rollback --to`
//! `install-made-current` (a kept install's journal is current again, its undo not begun).

/// Park here when a test asks to (feature `test-hooks`): when `DROPSHIP_TEST_CHECKPOINT` is
/// `name` (or `name:N` and this is the N-th time `name` is reached), create the file named by
/// `DROPSHIP_TEST_CHECKPOINT_MARKER` and sleep until killed.
#[cfg(feature = "test-hooks")]
pub fn checkpoint(name: &str) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static HITS: AtomicUsize = AtomicUsize::new(0);
    let Ok(wanted) = std::env::var(crate::env::TEST_CHECKPOINT) else {
        return;
    };
    let (wanted, nth) = match wanted.split_once(':') {
        Some((wanted, nth)) => (wanted, nth.parse().unwrap_or(1)),
        None => (wanted.as_str(), 1),
    };
    if wanted != name || HITS.fetch_add(1, Ordering::SeqCst) + 1 != nth {
        return;
    }
    if let Some(marker) = std::env::var_os(crate::env::TEST_CHECKPOINT_MARKER)
        && let Err(e) = std::fs::write(&marker, name)
    {
        let marker = std::path::Path::new(&marker).display();
        eprintln!("writing checkpoint marker `{marker}`: {e}");
    }
    loop {
        std::thread::park();
    }
}

/// Checkpoints compile to nothing without feature `test-hooks`.
#[cfg(not(feature = "test-hooks"))]
#[inline(always)]
pub fn checkpoint(_name: &str) {}
