//! `dropship render` end to end (in progress).
