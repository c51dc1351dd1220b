//! One source file read for what the module check needs: the modules it declares (`mod x;` and
//! inline `mod x { ... }`) and every path that may name a module of the crate: paths starting
//! with `crate::`, `super::` or `self::` anywhere, and every path of a `use` declaration (a plain
//! one names a child of the module it is in, or another crate).

use super::lex::{Tok, Token, tokens};

/// Module paths relative to the module of the file scanned.
pub type Relative = Vec<String>;

pub struct Declared {
    pub path: Relative,
    /// `mod x;`: its code is in a file of its own. `mod x { ... }`: it is in this file.
    pub in_own_file: bool,
}

pub struct PathRef {
    /// The (inline) module the path is written in.
    pub within: Relative,
    pub segments: Vec<String>,
    pub line: usize,
}

#[derive(Default)]
pub struct Scan {
    pub declared: Vec<Declared>,
    pub paths: Vec<PathRef>,
}

pub fn scan(source: &str) -> Scan {
    let mut scanner = Scanner {
        tokens: tokens(source),
        at: 0,
        depth: 0,
        inline: Vec::new(),
        scan: Scan::default(),
    };
    scanner.run();
    scanner.scan
}

struct Scanner {
    tokens: Vec<Token>,
    at: usize,
    /// Open braces.
    depth: usize,
    /// Inline modules the scan is in, with the brace depth outside each.
    inline: Vec<(String, usize)>,
    scan: Scan,
}

impl Scanner {
    fn tok(&self, ahead: usize) -> Option<&Tok> {
        self.tokens.get(self.at + ahead).map(|t| &t.tok)
    }

    fn ident(&self, ahead: usize) -> Option<&str> {
        match self.tok(ahead) {
            Some(Tok::Ident(word)) => Some(word),
            _ => None,
        }
    }

    fn line(&self) -> usize {
        self.tokens
            .get(self.at)
            .or(self.tokens.last())
            .map_or(0, |t| t.line)
    }

    fn within(&self) -> Relative {
        self.inline.iter().map(|(name, _)| name.clone()).collect()
    }

    fn run(&mut self) {
        while let Some(tok) = self.tok(0) {
            match tok {
                Tok::Ident(word) if word == "mod" => self.module(),
                Tok::Ident(word) if word == "use" => {
                    self.at += 1;
                    self.use_tree(Vec::new());
                }
                Tok::Ident(word) if is_anchor(word) && self.tok(1) == Some(&Tok::PathSep) => {
                    self.anchored_path()
                }
                Tok::Punct('{') => {
                    self.depth += 1;
                    self.at += 1;
                }
                Tok::Punct('}') => {
                    self.depth = self.depth.saturating_sub(1);
                    if self.inline.last().is_some_and(|(_, d)| *d == self.depth) {
                        self.inline.pop();
                    }
                    self.at += 1;
                }
                _ => self.at += 1,
            }
        }
    }

    /// `mod name;` or `mod name {`.
    fn module(&mut self) {
        self.at += 1;
        let Some(name) = self.ident(0).map(str::to_string) else {
            return;
        };
        let in_own_file = match self.tok(1) {
            Some(Tok::Punct(';')) => true,
            Some(Tok::Punct('{')) => false,
            _ => return,
        };
        let mut path = self.within();
        path.push(name.clone());
        self.scan.declared.push(Declared { path, in_own_file });
        self.at += 2;
        if !in_own_file {
            self.inline.push((name, self.depth));
            self.depth += 1;
        }
    }

    /// `crate::a::b`, `super::super::a`, `self::a` outside `use`.
    fn anchored_path(&mut self) {
        let line = self.line();
        let mut segments = Vec::new();
        while let Some(word) = self.ident(0).map(str::to_string) {
            segments.push(word);
            self.at += 1;
            if self.tok(0) != Some(&Tok::PathSep) {
                break;
            }
            self.at += 1;
        }
        self.record(segments, line);
    }

    /// One use tree after `prefix`: `a::b`, `a::{b, c::d}`, `a::*`, `a as b`, `{self, x}`.
    fn use_tree(&mut self, prefix: Vec<String>) {
        let line = self.line();
        match self.tok(0) {
            Some(Tok::Punct('{')) => self.use_list(prefix),
            Some(Tok::Punct('*')) => {
                self.at += 1;
                self.record(prefix, line);
            }
            // `::std::...`: another crate, which no segment of this one can be.
            Some(Tok::PathSep) => {
                self.at += 1;
                self.use_tree(vec!["::".to_string()]);
            }
            Some(Tok::Ident(word)) => {
                let mut path = prefix;
                if word != "self" || path.is_empty() {
                    path.push(word.clone());
                }
                self.at += 1;
                if self.tok(0) == Some(&Tok::PathSep) {
                    self.at += 1;
                    self.use_tree(path);
                    return;
                }
                if self.ident(0) == Some("as") {
                    self.at += 2;
                }
                self.record(path, line);
            }
            _ => self.at += 1,
        }
    }

    fn use_list(&mut self, prefix: Vec<String>) {
        self.at += 1;
        while let Some(tok) = self.tok(0) {
            match tok {
                Tok::Punct('}') => {
                    self.at += 1;
                    return;
                }
                Tok::Punct(',') => self.at += 1,
                _ => self.use_tree(prefix.clone()),
            }
        }
    }

    fn record(&mut self, segments: Vec<String>, line: usize) {
        if !segments.is_empty() {
            let within = self.within();
            self.scan.paths.push(PathRef {
                within,
                segments,
                line,
            });
        }
    }
}

/// The path roots that name this crate's modules wherever they are written.
fn is_anchor(word: &str) -> bool {
    matches!(word, "crate" | "super" | "self")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(scan: &Scan) -> Vec<(String, String)> {
        scan.paths
            .iter()
            .map(|p| (p.within.join("::"), p.segments.join("::")))
            .collect()
    }

    #[test]
    fn use_trees_expand_to_every_path() {
        let scan = scan(
            "use super::model::{self, A as B, c::{D, *}};\nuse ::std::fmt;\npub(crate) use x::Y;",
        );
        let expected = [
            ("", "super::model"),
            ("", "super::model::A"),
            ("", "super::model::c::D"),
            ("", "super::model::c"),
            ("", "::::std::fmt"),
            ("", "x::Y"),
        ];
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(w, p)| (w.to_string(), p.to_string()))
            .collect();
        assert_eq!(paths(&scan), expected);
    }

    #[test]
    fn anchored_paths_anywhere_and_inline_modules_are_tracked() {
        let scan = scan(
            "mod a;\npub(super) fn f() { crate::a::g(); Self::h(); }\n#[cfg(test)]\nmod tests {\n    use super::*;\n    fn t() { self::u(); }\n}\nfn after() { super::v(); }",
        );
        let declared: Vec<(String, bool)> = scan
            .declared
            .iter()
            .map(|d| (d.path.join("::"), d.in_own_file))
            .collect();
        assert_eq!(declared, [("a".into(), true), ("tests".into(), false)]);
        let expected = [
            ("", "crate::a::g"),
            ("tests", "super"),
            ("tests", "self::u"),
            ("", "super::v"),
        ];
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(w, p)| (w.to_string(), p.to_string()))
            .collect();
        assert_eq!(paths(&scan), expected);
        assert_eq!(scan.paths[0].line, 2);
    }
}
