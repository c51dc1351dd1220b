//! A crate's module tree, from its root file through every `mod` declaration, and the
//! dependencies between its modules that the paths in its code name.

use super::scan::{Declared, PathRef, scan};
use crate::Result;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// A module's path from the crate root (`[]`).
pub type ModPath = Vec<String>;

/// Where a dependency is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    pub file: PathBuf,
    pub line: usize,
    /// The path as written, `super::process::split_list`.
    pub path: String,
}

/// Code in `from` names `to` or an item in it.
pub struct Dependency {
    pub from: ModPath,
    pub to: ModPath,
    pub evidence: Evidence,
}

/// Gives a file's text, or `None` when there is no such file.
pub type Read<'a> = &'a dyn Fn(&Path) -> Option<String>;

/// The dependencies between the modules of the crate whose root file is `root`.
pub fn dependencies(root: &Path, read: Read) -> Result<Vec<Dependency>> {
    let mut modules = BTreeSet::from([ModPath::new()]);
    let mut paths = Vec::new();
    let dir = root.parent().unwrap_or(Path::new("")).to_path_buf();
    let mut files = vec![(ModPath::new(), root.to_path_buf(), dir)];
    while let Some((module, file, children_dir)) = files.pop() {
        let text = read(&file).ok_or_else(|| format!("cannot read `{}`", file.display()))?;
        let scan = scan(&text);
        for declared in &scan.declared {
            let path = [module.clone(), declared.path.clone()].concat();
            if declared.in_own_file {
                let (child_file, child_dir) = module_file(&children_dir, declared, read)?;
                files.push((path.clone(), child_file, child_dir));
            }
            modules.insert(path);
        }
        paths.extend(
            scan.paths
                .into_iter()
                .map(|p| (module.clone(), file.clone(), p)),
        );
    }
    let mut dependencies: Vec<Dependency> = paths
        .into_iter()
        .filter_map(|(module, file, path)| dependency(&modules, &module, file, path))
        .collect();
    dependencies.sort_by(|a, b| {
        (&a.evidence.file, a.evidence.line).cmp(&(&b.evidence.file, b.evidence.line))
    });
    Ok(dependencies)
}

/// `dir/x.rs` or `dir/x/mod.rs` for `mod x;`, and the directory of its own children.
fn module_file(dir: &Path, declared: &Declared, read: Read) -> Result<(PathBuf, PathBuf)> {
    let base = declared
        .path
        .iter()
        .fold(dir.to_path_buf(), |p, s| p.join(s));
    let flat = base.with_extension("rs");
    if read(&flat).is_some() {
        return Ok((flat, base));
    }
    let nested = base.join("mod.rs");
    if read(&nested).is_some() {
        return Ok((nested, base));
    }
    Err(format!(
        "`mod {}` has neither `{}` nor `{}`",
        declared.path.join("::"),
        flat.display(),
        nested.display()
    ))
}

fn dependency(
    modules: &BTreeSet<ModPath>,
    file_module: &ModPath,
    file: PathBuf,
    path: PathRef,
) -> Option<Dependency> {
    let from = [file_module.clone(), path.within].concat();
    let to = resolve(modules, &from, &path.segments)?;
    Some(Dependency {
        from,
        to,
        evidence: Evidence {
            file,
            line: path.line,
            path: path.segments.join("::"),
        },
    })
}

/// The module a path written in `within` names (itself, or the module of the item it names);
/// `None` for another crate's.
fn resolve(modules: &BTreeSet<ModPath>, within: &ModPath, segments: &[String]) -> Option<ModPath> {
    let supers = segments.iter().take_while(|s| *s == "super").count();
    let (base, rest) = match segments.first()?.as_str() {
        "crate" => (ModPath::new(), &segments[1..]),
        "self" => (within.clone(), &segments[1..]),
        "super" => (
            within.get(..within.len().checked_sub(supers)?)?.to_vec(),
            &segments[supers..],
        ),
        // A plain `use` path: a child of `within`, or another crate.
        first if modules.contains(&[within.clone(), vec![first.to_string()]].concat()) => {
            (within.clone(), segments)
        }
        _ => return None,
    };
    longest_module(modules, [base, rest.to_vec()].concat())
}

/// The longest start of `path` that is a module.
fn longest_module(modules: &BTreeSet<ModPath>, path: ModPath) -> Option<ModPath> {
    (0..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|start| modules.contains(start))
}
