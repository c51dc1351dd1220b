//! A tokenizer for the PowerShell the OPD generator writes, just deep enough to find native
//! command calls and their arguments: words (bare, `'single'` with `''`, `"double"` with
//! backtick escapes and `""`, here-strings, and adjacent pieces glued into one argument as
//! PowerShell does), the `&` call operator, statement separators, backtick line
//! continuations and comments. It does not evaluate anything: a `$` expansion is kept as text
//! and the word is marked dynamic.

use super::cursor::Cursor;
use super::error::ImportError;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Token {
    Word(Word),
    /// The `&` call operator.
    Call,
    /// Newline, `;`, `|`, `&&`, braces and parentheses: anything that ends a command.
    Separator,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Word {
    /// The argument as the called program receives it, quotes and escapes removed.
    pub text: String,
    /// Holds an unevaluated `$` expansion (outside single quotes).
    pub dynamic: bool,
    pub line: usize,
}

/// Splits `text` into tokens; `file` is used only in errors.
pub(super) fn tokenize(text: &str, file: &Path) -> Result<Vec<Token>, ImportError> {
    let mut lexer = Lexer {
        cursor: Cursor::new(text),
        file: file.to_path_buf(),
        tokens: Vec::new(),
    };
    lexer.run()?;
    Ok(lexer.tokens)
}

struct Lexer {
    cursor: Cursor,
    file: PathBuf,
    tokens: Vec<Token>,
}

/// The lexer reads through its cursor: `self.peek()`, `self.bump()`, `self.pos()`.
impl std::ops::Deref for Lexer {
    type Target = Cursor;
    fn deref(&self) -> &Cursor {
        &self.cursor
    }
}

impl std::ops::DerefMut for Lexer {
    fn deref_mut(&mut self) -> &mut Cursor {
        &mut self.cursor
    }
}

impl Lexer {
    fn error(&self, line: usize, message: impl Into<String>) -> ImportError {
        ImportError::Ps1 {
            file: self.file.clone(),
            line,
            message: message.into(),
        }
    }

    fn run(&mut self) -> Result<(), ImportError> {
        while let Some(c) = self.peek() {
            match (c, self.peek_at(1)) {
                // All of it, as PowerShell reads it: a word ends at any whitespace, so a blank
                // left to `word` would be an empty word, taken again and again.
                (c, _) if c.is_whitespace() && c != '\n' => {
                    self.bump();
                }
                ('`', Some('\n')) | ('`', Some('\r')) => self.continuation(),
                ('#', _) => self.line_comment(),
                ('<', Some('#')) => self.block_comment()?,
                ('\n' | ';' | '|' | '{' | '}' | '(' | ')', _) => {
                    self.bump();
                    self.tokens.push(Token::Separator);
                }
                ('&', Some('&')) => {
                    self.bump();
                    self.bump();
                    self.tokens.push(Token::Separator);
                }
                ('&', _) => {
                    self.bump();
                    self.tokens.push(Token::Call);
                }
                _ => {
                    let word = self.word()?;
                    self.tokens.push(Token::Word(word));
                }
            }
        }
        Ok(())
    }

    /// A backtick at the end of a line joins it to the next.
    fn continuation(&mut self) {
        self.bump();
        if self.peek() == Some('\r') {
            self.bump();
        }
        if self.peek() == Some('\n') {
            self.bump();
        }
    }

    fn line_comment(&mut self) {
        while !matches!(self.peek(), None | Some('\n')) {
            self.bump();
        }
    }

    fn block_comment(&mut self) -> Result<(), ImportError> {
        let start = self.pos().line;
        while !(self.peek() == Some('#') && self.peek_at(1) == Some('>')) {
            if self.bump().is_none() {
                return Err(self.error(start, "comment `<#` is never closed with `#>`"));
            }
        }
        self.bump();
        self.bump();
        Ok(())
    }

    /// One argument: adjacent bare, quoted and here-string pieces, glued.
    fn word(&mut self) -> Result<Word, ImportError> {
        let mut word = Word {
            text: String::new(),
            dynamic: false,
            line: self.pos().line,
        };
        loop {
            match (self.peek(), self.peek_at(1)) {
                (Some('@'), Some(q @ ('"' | '\'')))
                    if word.text.is_empty() && self.here_string_opens() =>
                {
                    self.here_string(q, &mut word)?
                }
                (Some('\''), _) => self.single_quoted(&mut word)?,
                (Some('"'), _) => self.double_quoted(&mut word)?,
                (Some('`'), Some(c)) if c != '\n' && c != '\r' => {
                    self.bump();
                    self.bump();
                    word.text.push(c);
                }
                (Some('$'), Some('{')) => self.braced_variable(&mut word)?,
                (Some(c), _) if !ends_bare_word(c) => {
                    if c == '$' {
                        word.dynamic = true;
                    }
                    self.bump();
                    word.text.push(c);
                }
                _ => return Ok(word),
            }
        }
    }

    fn single_quoted(&mut self, word: &mut Word) -> Result<(), ImportError> {
        let start = self.pos().line;
        self.bump();
        loop {
            match (self.bump(), self.peek()) {
                (None, _) => return Err(self.error(start, "string `'` is never closed")),
                (Some('\''), Some('\'')) => {
                    self.bump();
                    word.text.push('\'');
                }
                (Some('\''), _) => return Ok(()),
                (Some(c), _) => word.text.push(c),
            }
        }
    }

    fn double_quoted(&mut self, word: &mut Word) -> Result<(), ImportError> {
        let start = self.pos().line;
        self.bump();
        loop {
            match (self.bump(), self.peek()) {
                (None, _) => return Err(self.error(start, "string `\"` is never closed")),
                (Some('"'), Some('"')) => {
                    self.bump();
                    word.text.push('"');
                }
                (Some('"'), _) => return Ok(()),
                (Some('`'), Some(c)) => {
                    self.bump();
                    word.text.push(backtick_escape(c));
                }
                (Some('$'), Some(c))
                    if c.is_alphanumeric() || matches!(c, '{' | '(' | '_' | ':') =>
                {
                    word.dynamic = true;
                    word.text.push('$');
                }
                (Some(c), _) => word.text.push(c),
            }
        }
    }

    /// `${name}` in a bare word, kept verbatim.
    fn braced_variable(&mut self, word: &mut Word) -> Result<(), ImportError> {
        let start = self.pos().line;
        word.dynamic = true;
        while let Some(c) = self.bump() {
            word.text.push(c);
            if c == '}' {
                return Ok(());
            }
        }
        Err(self.error(start, "`${` is never closed with `}`"))
    }

    /// `@"` or `@'` followed only by spaces up to the end of the line.
    fn here_string_opens(&self) -> bool {
        let rest = self.rest_from(2).iter();
        rest.take_while(|c| **c != '\n').all(|c| c.is_whitespace())
    }

    /// `@"…"@` / `@'…'@`: the lines between the opener and a line starting with `"@`/`'@`.
    fn here_string(&mut self, quote: char, word: &mut Word) -> Result<(), ImportError> {
        let start = self.pos().line;
        while !matches!(self.bump(), None | Some('\n')) {}
        let mut lines: Vec<String> = Vec::new();
        loop {
            let mut line = String::new();
            while let Some(c) = self.peek().filter(|c| *c != '\n') {
                line.push(c);
                self.bump();
            }
            let line = line.strip_suffix('\r').map(str::to_owned).unwrap_or(line);
            let closer = line.strip_prefix(quote).and_then(|l| l.strip_prefix('@'));
            if closer.is_some_and(|after| after.trim().is_empty()) {
                word.dynamic |= quote == '"' && lines.iter().any(|l| l.contains('$'));
                word.text.push_str(&lines.join("\n"));
                return Ok(());
            }
            if self.bump().is_none() {
                return Err(self.error(start, format!("here-string `@{quote}` is never closed")));
            }
            lines.push(line);
        }
    }
}

fn ends_bare_word(c: char) -> bool {
    c.is_whitespace() || matches!(c, ';' | '|' | '{' | '}' | '(' | ')' | '&')
}

/// PowerShell's escapes inside double quotes; any other character stands for itself.
fn backtick_escape(c: char) -> char {
    match c {
        '0' => '\0',
        'a' => '\x07',
        'b' => '\x08',
        'f' => '\x0C',
        'n' => '\n',
        'r' => '\r',
        't' => '\t',
        'v' => '\x0B',
        other => other,
    }
}
