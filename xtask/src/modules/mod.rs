//! `cargo run -p xtask -- modules`: every circle between sibling modules in the workspace's
//! crates (`runtime/src`, `bundler/src`, `xtask/src`), with the file and line of each dependency
//! on it; exits non-zero when there is one.
//!
//! The stages: `lex` (source to tokens, without comments and literals), `scan` (one file's
//! `mod` declarations and module paths), `tree` (a crate's module tree and the dependencies its
//! paths name), `circles` (the sibling graphs and their circles).
//!
//! A path names the module that holds what it names, as written: `super::X`, where the parent
//! re-exports a sibling's `X`, is a use of the parent. Macro-generated paths other than
//! `$crate::` are not seen, and `#[path]` attributes are not followed.

mod circles;
mod lex;
mod scan;
mod tree;

use crate::Result;
use circles::Circle;
use std::path::{Path, PathBuf};

/// The directories holding crate roots (the installer's binary has its own, `runtime/src/app`).
const SOURCE_DIRS: [&str; 4] = ["runtime/src", "runtime/src/app", "bundler/src", "xtask/src"];

pub fn run() -> Result<()> {
    let found = workspace_circles()?;
    for circle in &found {
        println!("{circle}");
    }
    if !found.is_empty() {
        return Err(format!("{} circle(s) between sibling modules", found.len()));
    }
    println!("no circles between sibling modules");
    Ok(())
}

/// Every circle in the workspace's crates, described.
fn workspace_circles() -> Result<Vec<String>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace");
    let mut found = Vec::new();
    for dir in SOURCE_DIRS {
        for crate_root in crate_roots(&root.join(dir)) {
            for circle in check_crate(&crate_root, &|path| std::fs::read_to_string(path).ok())? {
                found.push(describe(root, &crate_root, &circle));
            }
        }
    }
    Ok(found)
}

/// The circles in the crate whose root file is `root`; `read` gives a file's text.
fn check_crate(root: &Path, read: tree::Read) -> Result<Vec<Circle>> {
    Ok(circles::circles(&tree::dependencies(root, read)?))
}

/// The crate roots in a `src` directory: `lib.rs`, `main.rs` and `bin/*.rs`.
fn crate_roots(src: &Path) -> Vec<PathBuf> {
    let bins = std::fs::read_dir(src.join("bin"))
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "rs"));
    let mut roots: Vec<PathBuf> = [src.join("lib.rs"), src.join("main.rs")]
        .into_iter()
        .filter(|path| path.is_file())
        .chain(bins)
        .collect();
    roots.sort();
    roots
}

/// `bundler/src/main.rs crate::import: actions → process → actions`, then where each link is.
fn describe(workspace: &Path, crate_root: &Path, circle: &Circle) -> String {
    let shown = |path: &Path| {
        path.strip_prefix(workspace)
            .unwrap_or(path)
            .display()
            .to_string()
    };
    let parent: String = std::iter::once("crate")
        .chain(circle.parent.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join("::");
    let n = circle.members.len();
    let mut ring = circle.members.clone();
    ring.push(circle.members[0].clone());
    let mut text = format!("{} {parent}: {}", shown(crate_root), ring.join(" → "));
    for (i, link) in circle.links.iter().enumerate() {
        text.push_str(&format!(
            "\n    {} → {}: {}:{} `{}`",
            circle.members[i],
            circle.members[(i + 1) % n],
            shown(&link.file),
            link.line,
            link.path
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn the_workspace_has_no_circles_between_sibling_modules() {
        let found = workspace_circles().unwrap();
        assert!(found.is_empty(), "{}", found.join("\n"));
    }

    /// Check a crate made of these files, rooted at `src/main.rs`.
    fn check(files: &[(&str, &str)]) -> Vec<Circle> {
        let files: BTreeMap<PathBuf, String> = files
            .iter()
            .map(|(path, text)| (PathBuf::from(path), text.to_string()))
            .collect();
        check_crate(Path::new("src/main.rs"), &|path| files.get(path).cloned()).unwrap()
    }

    fn rings(circles: &[Circle]) -> Vec<String> {
        circles
            .iter()
            .map(|c| format!("{:?}: {}", c.parent, c.members.join(" → ")))
            .collect()
    }

    #[test]
    fn siblings_that_use_each_other_are_a_circle() {
        let circles = check(&[
            (
                "src/main.rs",
                "mod a;\nmod b;\nmod c;\nfn main() { a::f(); }",
            ),
            ("src/a.rs", "use crate::b::Thing;\npub fn f() {}"),
            ("src/b.rs", "pub struct Thing;\n\nfn g() { super::a::f(); }"),
            ("src/c.rs", "use crate::a;"),
        ]);
        assert_eq!(rings(&circles), [r#"[]: a → b"#]);
        let links: Vec<(String, usize, String)> = circles[0]
            .links
            .iter()
            .map(|l| (l.file.display().to_string(), l.line, l.path.clone()))
            .collect();
        assert_eq!(
            links,
            [
                ("src/a.rs".into(), 1, "crate::b::Thing".into()),
                ("src/b.rs".into(), 3, "super::a::f".into())
            ]
        );
    }

    #[test]
    fn circles_are_found_below_the_root_and_through_third_siblings() {
        let circles = check(&[
            ("src/main.rs", "mod outer;"),
            ("src/outer/mod.rs", "mod x;\nmod y;\nmod z;"),
            ("src/outer/x.rs", "use super::y;"),
            ("src/outer/y.rs", "use super::z::Z;"),
            (
                "src/outer/z.rs",
                "pub struct Z;\nfn f() { crate::outer::x::g(); }",
            ),
        ]);
        assert_eq!(rings(&circles), [r#"["outer"]: x → y → z"#]);
    }

    #[test]
    fn parents_children_comments_strings_and_other_crates_are_no_circle() {
        let circles = check(&[
            (
                "src/main.rs",
                "mod a;\nmod b;\nuse b::B;\nfn main() { a::inner::f(); }",
            ),
            (
                "src/a.rs",
                "pub mod inner;\nuse crate::b::B;\nfn g() {}\n#[cfg(test)]\nmod tests {\n    use super::*;\n    use super::inner::f;\n}",
            ),
            (
                "src/a/inner.rs",
                "use super::g;\npub fn f() { crate::a::g(); }",
            ),
            (
                "src/b.rs",
                "// uses crate::a::g\n/// [crate::a]\npub struct B;\nconst S: &str = \"super::a\";\nconst R: &str = r#\"crate::a\"#;\nuse a::External;",
            ),
        ]);
        assert_eq!(rings(&circles), Vec::<String>::new());
    }

    #[test]
    fn a_missing_module_file_is_an_error() {
        let files = BTreeMap::from([(PathBuf::from("src/main.rs"), "mod gone;".to_string())]);
        let error =
            check_crate(Path::new("src/main.rs"), &|path| files.get(path).cloned()).unwrap_err();
        assert!(error.contains("src/gone.rs"), "{error}");
    }
}
