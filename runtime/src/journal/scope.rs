//! What an install may change: the directories its steps write into, as journaled before their
//! first change (`Record::Scope`). A change outside them is refused when it would be made, and
//! left alone when a rollback meets one in a journal: the plan never asked for it, so the journal
//! was not written by this installer's steps (damaged, or forged by whoever could write the state
//! directory), and undoing it would touch a file nobody asked the installer to touch.

use super::Change;
use std::collections::BTreeSet;
use std::ops::Bound;
use std::path::{Path, PathBuf};

/// The directories an install's changes must lie in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    roots: BTreeSet<PathBuf>,
}

impl Scope {
    /// The roots of `roots` that this scope does not cover yet.
    pub fn missing(&self, roots: &[PathBuf]) -> Vec<PathBuf> {
        let mut missing: Vec<PathBuf> = Vec::new();
        for root in roots {
            let covered = self
                .roots
                .iter()
                .chain(&missing)
                .any(|r| root.starts_with(r));
            if !covered {
                missing.push(root.clone());
            }
        }
        missing
    }

    /// Add `roots` (absolute paths).
    pub fn extend(&mut self, roots: impl IntoIterator<Item = PathBuf>) {
        self.roots.extend(roots);
    }

    /// Whether `change` lies in the scope: its path in one of the roots, or, for a directory
    /// created on the way to a root (`/opt` for `/opt/app`), above one.
    pub fn covers(&self, change: &Change) -> bool {
        let path = change.path();
        let creates_dir = matches!(change, Change::DirCreated { .. });
        // Looked up, not scanned: an install of many packages has many roots and many changes.
        // Paths order component by component, so the roots beneath `path` follow it directly.
        path.ancestors().any(|dir| self.roots.contains(dir))
            || (creates_dir
                && self
                    .roots
                    .range::<Path, _>((Bound::Included(path), Bound::Unbounded))
                    .next()
                    .is_some_and(|root| root.starts_with(path)))
    }

    /// Why a change is outside the scope, for messages: the roots it is not in.
    pub fn refusal(&self) -> String {
        let roots: Vec<String> = self
            .roots
            .iter()
            .map(|r| format!("`{}`", r.display()))
            .collect();
        let roots = match roots.is_empty() {
            true => "none".to_string(),
            false => roots.join(", "),
        };
        format!("it is outside every directory the plan's steps write into ({roots})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::ChangeId;

    fn created(path: &str) -> Change {
        Change::FileCreated {
            id: ChangeId(1),
            path: path.into(),
        }
    }

    fn dir(path: &str) -> Change {
        Change::DirCreated {
            id: ChangeId(1),
            path: path.into(),
            identity: None,
        }
    }

    #[test]
    fn changes_beneath_a_root_are_covered_and_others_are_not() {
        let mut scope = Scope::default();
        scope.extend([PathBuf::from("/opt/app/web")]);
        assert!(scope.covers(&created("/opt/app/web/a.conf")));
        assert!(scope.covers(&created("/opt/app/web")));
        assert!(!scope.covers(&created("/opt/app/webshop/a.conf")));
        assert!(!scope.covers(&created("/etc/passwd")));
        assert!(!scope.covers(&created("/opt/app")));
        // Directories made on the way to the root are the install's too; files there are not.
        assert!(scope.covers(&dir("/opt/app")));
        assert!(scope.covers(&dir("/opt")));
        assert!(!scope.covers(&dir("/opt/other")));
        // Roots that only share a prefix of text are no way to one another.
        scope.extend([PathBuf::from("/opt/app-z"), PathBuf::from("/opt/ap/x")]);
        assert!(scope.covers(&dir("/opt/app")));
        assert!(!scope.covers(&dir("/opt/app-")));
        assert!(!scope.covers(&created("/opt/app-zz/a")));
        assert!(scope.covers(&dir("/opt/ap")));
    }

    #[test]
    fn missing_roots_leave_out_what_is_covered() {
        let mut scope = Scope::default();
        assert!(
            !scope.covers(&created("/x/y")),
            "an empty scope covers nothing"
        );
        scope.extend([PathBuf::from("/srv")]);
        let roots = [
            PathBuf::from("/srv/app"),
            PathBuf::from("/opt/a"),
            PathBuf::from("/opt/a/b"),
        ];
        assert_eq!(scope.missing(&roots), vec![PathBuf::from("/opt/a")]);
        assert!(scope.refusal().contains("`/srv`"));
    }
}
