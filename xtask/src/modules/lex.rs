//! Rust source as the tokens the module scan needs: identifiers, `::` and single punctuation
//! characters, each with its line. Comments (doc comments too), string, char and byte literals,
//! lifetimes and numbers are dropped, so a path in a comment or a string is never a dependency.

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    Ident(String),
    /// `::`
    PathSep,
    Punct(char),
}

#[derive(Debug, Clone)]
pub struct Token {
    pub tok: Tok,
    pub line: usize,
}

pub fn tokens(source: &str) -> Vec<Token> {
    let mut lexer = Lexer {
        chars: source.chars().collect(),
        at: 0,
        line: 1,
        out: Vec::new(),
    };
    lexer.run();
    lexer.out
}

struct Lexer {
    chars: Vec<char>,
    at: usize,
    line: usize,
    out: Vec<Token>,
}

impl Lexer {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.at + ahead).copied()
    }

    /// Step over one character, counting lines.
    fn bump(&mut self) {
        if self.peek(0) == Some('\n') {
            self.line += 1;
        }
        self.at += 1;
    }

    fn push(&mut self, tok: Tok) {
        self.out.push(Token {
            tok,
            line: self.line,
        });
    }

    fn run(&mut self) {
        while let Some(c) = self.peek(0) {
            match c {
                '/' if self.peek(1) == Some('/') => self.skip_line(),
                '/' if self.peek(1) == Some('*') => self.skip_block_comment(),
                '"' => self.skip_string(),
                '\'' => self.skip_char_or_lifetime(),
                ':' if self.peek(1) == Some(':') => {
                    self.push(Tok::PathSep);
                    self.at += 2;
                }
                c if c.is_alphabetic() || c == '_' => self.ident(),
                c if c.is_ascii_digit() => self.skip_word(),
                c if c.is_whitespace() => self.bump(),
                c => {
                    self.push(Tok::Punct(c));
                    self.at += 1;
                }
            }
        }
    }

    fn skip_line(&mut self) {
        while self.peek(0).is_some_and(|c| c != '\n') {
            self.at += 1;
        }
    }

    /// Block comments nest in Rust.
    fn skip_block_comment(&mut self) {
        let mut depth = 0;
        while let Some(c) = self.peek(0) {
            if c == '/' && self.peek(1) == Some('*') {
                depth += 1;
                self.at += 2;
            } else if c == '*' && self.peek(1) == Some('/') {
                depth -= 1;
                self.at += 2;
                if depth == 0 {
                    return;
                }
            } else {
                self.bump();
            }
        }
    }

    /// A `"..."` literal with escapes, from its opening quote.
    fn skip_string(&mut self) {
        self.at += 1;
        while let Some(c) = self.peek(0) {
            match c {
                '\\' => {
                    self.at += 1;
                    self.bump();
                }
                '"' => {
                    self.at += 1;
                    return;
                }
                _ => self.bump(),
            }
        }
    }

    /// A raw string from its first `#` or quote: `#"..."#` with as many `#` on both ends.
    fn skip_raw_string(&mut self) {
        let mut hashes = 0;
        while self.peek(0) == Some('#') {
            hashes += 1;
            self.at += 1;
        }
        self.at += 1; // the opening quote
        while let Some(c) = self.peek(0) {
            if c == '"' && (1..=hashes).all(|i| self.peek(i) == Some('#')) {
                self.at += 1 + hashes;
                return;
            }
            self.bump();
        }
    }

    /// `'a'`, `'\n'`, `'\u{1F600}'` are characters; `'a` and `'static` are lifetimes or labels.
    fn skip_char_or_lifetime(&mut self) {
        self.at += 1;
        if self.peek(0) == Some('\\') {
            // The backslash and the escaped character (which may be a quote), then to the end.
            self.at += 2;
            while self.peek(0).is_some_and(|c| c != '\'') {
                self.at += 1;
            }
            self.at += 1;
        } else if self.peek(1) == Some('\'') {
            self.at += 2;
        } else {
            self.skip_word();
        }
    }

    fn skip_word(&mut self) {
        while self
            .peek(0)
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
        {
            self.at += 1;
        }
    }

    /// An identifier or keyword, or the prefix of a literal (`b"..."`, `r#"..."#`, `b'x'`) or
    /// of a raw identifier (`r#type`).
    fn ident(&mut self) {
        let start = self.at;
        self.skip_word();
        let word: String = self.chars[start..self.at].iter().collect();
        let next = self.peek(0);
        let raw_quote = next == Some('"')
            || (next == Some('#') && self.peek(1).is_some_and(|c| c == '"' || c == '#'));
        match word.as_str() {
            "r" | "br" | "cr" if raw_quote => self.skip_raw_string(),
            "b" | "c" if next == Some('"') => self.skip_string(),
            "b" if next == Some('\'') => self.skip_char_or_lifetime(),
            // Kept with its `r#`, so that `r#mod` is never taken for the keyword.
            "r" if next == Some('#') => {
                self.at += 1;
                self.skip_word();
                let word = self.chars[start..self.at].iter().collect();
                self.push(Tok::Ident(word));
            }
            _ => self.push(Tok::Ident(word)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idents(source: &str) -> Vec<String> {
        tokens(source)
            .into_iter()
            .filter_map(|t| match t.tok {
                Tok::Ident(word) => Some(word),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn comments_literals_and_lifetimes_are_not_tokens() {
        let source = r####"
            // crate::a
            /* crate::b /* nested */ crate::c */
            /// [crate::d]
            let s = "crate::e \" crate::f";
            let r = r#"crate::g "quoted" "#;
            let b = br##"crate::h"##;
            let c = '"'; let d = '\''; let e = b'x';
            fn f<'a>(x: &'a str) -> &'static str { kept }
        "####;
        assert_eq!(
            idents(source),
            [
                "let", "s", "let", "r", "let", "b", "let", "c", "let", "d", "let", "e", "fn", "f",
                "x", "str", "str", "kept"
            ]
        );
    }

    #[test]
    fn paths_keep_their_separators_and_lines() {
        let tokens = tokens("use super::a;\n\ncrate::b::C");
        let line_of = |name: &str| {
            tokens
                .iter()
                .find(|t| t.tok == Tok::Ident(name.into()))
                .map(|t| t.line)
        };
        assert_eq!(tokens[2].tok, Tok::PathSep);
        assert_eq!((line_of("a"), line_of("b")), (Some(1), Some(3)));
    }

    #[test]
    fn raw_identifiers_are_never_keywords() {
        assert_eq!(idents("r#type r#mod"), ["r#type", "r#mod"]);
    }
}
