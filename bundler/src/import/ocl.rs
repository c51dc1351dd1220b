//! A small recursive-descent parser for OCL, the HCL subset Octopus Config-as-Code writes
//! (`deployment_process.ocl`). It produces a generic tree of blocks and attributes with
//! positions; `ocl_process.rs` gives the tree its meaning.
//!
//! Hand-written because hcl-rs (0.19) rejects real Octopus files: OCL strings and heredocs are
//! not templates, so bash such as `${HOME:-/root}` in a script body is legal OCL but an HCL
//! template error, and hcl-rs reads dotted dictionary keys (`Octopus.Action.Script.Syntax`) as
//! traversal expressions rather than keys.
//!
//! Grammar per OctopusDeploy/Ocl: blocks `name "label"… {` on one line; attributes
//! `name = value`; values are quoted strings (escapes `\" \\ \n \r \t` only), heredocs,
//! numbers, `true`/`false`/`null`, lists and one level of dictionaries with unquoted keys.
//! Extensions, for hand-edited files: `#`, `//` and `/* */` comments, booleans in any case.
//!
//! Heredoc unindenting (`<<-TAG`): the smallest indent among non-blank body lines is removed
//! (the HCL rule). Current servers put the end tag level with the body, older ones four spaces
//! to its left; this rule reads both layouts as the text that was meant, where the Ocl
//! library's newer rule would keep four spaces on every line of the old layout. The cost: a
//! value whose every line starts with spaces loses that common indent.

use super::cursor::{Cursor, Pos};
use super::error::ImportError;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Item {
    Attribute(Attribute),
    Block(Block),
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Attribute {
    pub name: String,
    pub value: Value,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Block {
    pub name: String,
    pub labels: Vec<String>,
    pub body: Vec<Item>,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Value {
    Str(String),
    /// Kept as written; OCL numbers only ever become property text.
    Number(String),
    Bool(bool),
    Null,
    List(Vec<Value>),
    Dict(Vec<(String, Value)>),
}

/// Parses a whole OCL document; `file` is used only in errors.
pub(super) fn parse(text: &str, file: &Path) -> Result<Vec<Item>, ImportError> {
    let mut parser = Parser {
        cursor: Cursor::new(text),
        newline: if text.contains("\r\n") { "\r\n" } else { "\n" },
        file: file.to_path_buf(),
    };
    parser.body(None)
}

struct Parser {
    cursor: Cursor,
    /// Heredoc lines are joined with the file's own line ending, as the Ocl library does.
    newline: &'static str,
    file: PathBuf,
}

type Parsed<T> = Result<T, ImportError>;

/// The parser reads through its cursor: `self.peek()`, `self.bump()`, `self.pos()`.
impl std::ops::Deref for Parser {
    type Target = Cursor;
    fn deref(&self) -> &Cursor {
        &self.cursor
    }
}

impl std::ops::DerefMut for Parser {
    fn deref_mut(&mut self) -> &mut Cursor {
        &mut self.cursor
    }
}

impl Parser {
    fn error_at(&self, pos: Pos, message: impl Into<String>) -> ImportError {
        ImportError::Ocl {
            file: self.file.clone(),
            line: pos.line,
            column: pos.column,
            message: message.into(),
        }
    }

    fn error(&self, message: impl Into<String>) -> ImportError {
        self.error_at(self.pos(), message)
    }

    /// Spaces, tabs and carriage returns: what may sit inside a line.
    fn skip_inline_space(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t' | '\r')) {
            self.bump();
        }
    }

    /// Whitespace, newlines and comments between items.
    fn skip_blank(&mut self) -> Parsed<()> {
        loop {
            match (self.peek(), self.peek_at(1)) {
                (Some(c), _) if c.is_whitespace() => {
                    self.bump();
                }
                (Some('#'), _) | (Some('/'), Some('/')) => self.skip_line_comment(),
                (Some('/'), Some('*')) => self.skip_block_comment()?,
                _ => return Ok(()),
            }
        }
    }

    fn skip_line_comment(&mut self) {
        while !matches!(self.peek(), None | Some('\n')) {
            self.bump();
        }
    }

    fn skip_block_comment(&mut self) -> Parsed<()> {
        let start = self.pos();
        self.bump();
        self.bump();
        while !(self.peek() == Some('*') && self.peek_at(1) == Some('/')) {
            if self.bump().is_none() {
                return Err(self.error_at(start, "comment `/*` is never closed"));
            }
        }
        self.bump();
        self.bump();
        Ok(())
    }

    /// After an attribute or a block's `{`/`}`: only spaces or a comment may follow on the line.
    fn end_of_line(&mut self) -> Parsed<()> {
        self.skip_inline_space();
        match (self.peek(), self.peek_at(1)) {
            (None | Some('\n'), _) => Ok(()),
            (Some('#'), _) | (Some('/'), Some('/')) => {
                self.skip_line_comment();
                Ok(())
            }
            (Some(c), _) => Err(self.error(format!("expected a new line, found `{c}`"))),
        }
    }

    /// Items until the end of input, or until the `}` closing a block opened at `open`.
    fn body(&mut self, open: Option<Pos>) -> Parsed<Vec<Item>> {
        let mut items = Vec::new();
        loop {
            self.skip_blank()?;
            match (self.peek(), open) {
                (None, None) => return Ok(items),
                (None, Some(at)) => {
                    return Err(
                        self.error(format!("block opened at line {} is never closed", at.line))
                    );
                }
                (Some('}'), Some(_)) => {
                    self.bump();
                    return Ok(items);
                }
                (Some(c), _) if is_name_char(c) => {
                    let item = self.item()?;
                    self.check_unique(&items, &item)?;
                    items.push(item);
                }
                (Some(c), _) => {
                    return Err(
                        self.error(format!("expected an attribute or block name, found `{c}`"))
                    );
                }
            }
        }
    }

    /// A repeated attribute would silently shadow the first; HCL rejects it, and so do we.
    fn check_unique(&self, items: &[Item], item: &Item) -> Parsed<()> {
        let Item::Attribute(new) = item else {
            return Ok(());
        };
        let first = items.iter().find_map(|i| match i {
            Item::Attribute(a) if a.name == new.name => Some(a.pos.line),
            _ => None,
        });
        match first {
            Some(line) => Err(self.error_at(
                new.pos,
                format!("`{}` is set twice (first at line {line})", new.name),
            )),
            None => Ok(()),
        }
    }

    fn item(&mut self) -> Parsed<Item> {
        let pos = self.pos();
        let name = self.name();
        self.skip_inline_space();
        if self.peek() == Some('=') {
            self.bump();
            self.skip_inline_space();
            let value = self.value()?;
            self.end_of_line()?;
            return Ok(Item::Attribute(Attribute { name, value, pos }));
        }
        let labels = self.labels()?;
        if self.peek() != Some('{') {
            return Err(self.error(format!("expected `=` or `{{` after `{name}`")));
        }
        self.bump();
        self.skip_inline_space();
        let body = if self.peek() == Some('}') {
            self.bump();
            Vec::new()
        } else {
            self.end_of_line()?;
            self.body(Some(pos))?
        };
        self.end_of_line()?;
        Ok(Item::Block(Block {
            name,
            labels,
            body,
            pos,
        }))
    }

    fn name(&mut self) -> String {
        let mut name = String::new();
        while let Some(c) = self.peek().filter(|c| is_name_char(*c)) {
            name.push(c);
            self.bump();
        }
        name
    }

    fn labels(&mut self) -> Parsed<Vec<String>> {
        let mut labels = Vec::new();
        while self.peek() == Some('"') {
            labels.push(self.quoted()?);
            self.skip_inline_space();
        }
        Ok(labels)
    }

    fn value(&mut self) -> Parsed<Value> {
        match (self.peek(), self.peek_at(1)) {
            (Some('"'), _) => Ok(Value::Str(self.quoted()?)),
            (Some('<'), Some('<')) => Ok(Value::Str(self.heredoc()?)),
            (Some('['), _) => self.list(),
            (Some('{'), _) => self.dict(),
            (Some(c), _) if c.is_ascii_digit() || c == '-' => self.number(),
            (Some(c), _) if is_name_char(c) => self.keyword(),
            (Some(c), _) => Err(self.error(format!("expected a value, found `{c}`"))),
            (None, _) => Err(self.error("expected a value, found the end of the file")),
        }
    }

    fn keyword(&mut self) -> Parsed<Value> {
        let pos = self.pos();
        let word = self.name();
        match word.to_ascii_lowercase().as_str() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            "null" => Ok(Value::Null),
            _ => Err(self.error_at(
                pos,
                format!("expected a value, found `{word}` (strings need quotes)"),
            )),
        }
    }

    fn number(&mut self) -> Parsed<Value> {
        let pos = self.pos();
        let mut text = String::new();
        while let Some(c) = self
            .peek()
            .filter(|c| c.is_ascii_digit() || matches!(c, '-' | '.'))
        {
            text.push(c);
            self.bump();
        }
        let parts: Vec<&str> = text.strip_prefix('-').unwrap_or(&text).split('.').collect();
        let valid = parts.len() <= 2
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        if !valid {
            return Err(self.error_at(pos, format!("`{text}` is not a number")));
        }
        Ok(Value::Number(text))
    }

    fn quoted(&mut self) -> Parsed<String> {
        let start = self.pos();
        self.bump();
        let mut out = String::new();
        loop {
            let pos = self.pos();
            match self.bump() {
                None => return Err(self.error_at(start, "string is never closed")),
                Some('\n') => {
                    return Err(
                        self.error_at(pos, "line break inside a quoted string (use a heredoc)")
                    );
                }
                Some('"') => return Ok(out),
                Some('\\') => out.push(self.escape(pos)?),
                Some(c) => out.push(c),
            }
        }
    }

    fn escape(&mut self, pos: Pos) -> Parsed<char> {
        match self.bump() {
            Some('"') => Ok('"'),
            Some('\\') => Ok('\\'),
            Some('n') => Ok('\n'),
            Some('r') => Ok('\r'),
            Some('t') => Ok('\t'),
            Some(c) => Err(self.error_at(pos, format!("unknown escape `\\{c}`"))),
            None => Err(self.error_at(pos, "string is never closed")),
        }
    }

    fn list(&mut self) -> Parsed<Value> {
        self.bump();
        let mut items = Vec::new();
        loop {
            self.skip_blank()?;
            if self.peek() == Some(']') {
                self.bump();
                return Ok(Value::List(items));
            }
            items.push(self.value()?);
            self.skip_blank()?;
            match self.peek() {
                Some(',') => {
                    self.bump();
                }
                Some(']') => {}
                Some(c) => {
                    return Err(self.error(format!("expected `,` or `]` in a list, found `{c}`")));
                }
                None => return Err(self.error("list is never closed")),
            }
        }
    }

    fn dict(&mut self) -> Parsed<Value> {
        let open = self.pos();
        self.bump();
        self.skip_inline_space();
        let mut entries = Vec::new();
        if self.peek() == Some('}') {
            self.bump();
            return Ok(Value::Dict(entries));
        }
        self.end_of_line()?;
        loop {
            self.skip_blank()?;
            match self.peek() {
                Some('}') => {
                    self.bump();
                    return Ok(Value::Dict(entries));
                }
                None => {
                    let line = open.line;
                    return Err(
                        self.error(format!("dictionary opened at line {line} is never closed"))
                    );
                }
                Some(_) => {
                    let at = self.pos();
                    let (key, value) = self.entry()?;
                    // Octopus compares property keys ignoring case.
                    if entries
                        .iter()
                        .any(|(k, _): &(String, Value)| k.eq_ignore_ascii_case(&key))
                    {
                        return Err(self.error_at(at, format!("key `{key}` is set twice")));
                    }
                    entries.push((key, value));
                }
            }
        }
    }

    /// `key = literal` inside a dictionary. Keys are unquoted runs of non-space characters
    /// (dots are common), so `=` may belong to a key; `key="v"` without spaces still reads.
    fn entry(&mut self) -> Parsed<(String, Value)> {
        let key_pos = self.pos();
        let mut key = if self.peek() == Some('"') {
            self.quoted()?
        } else {
            self.bare_key()
        };
        self.skip_inline_space();
        if self.peek() == Some('=') {
            self.bump();
        } else if let Some(stripped) = key.strip_suffix('=') {
            key = stripped.to_owned();
        } else {
            return Err(self.error(format!("expected `=` after dictionary key `{key}`")));
        }
        self.skip_inline_space();
        let value = self.value()?;
        if matches!(value, Value::Dict(_)) {
            return Err(self.error_at(
                key_pos,
                format!("dictionary value of `{key}` cannot be a dictionary"),
            ));
        }
        self.end_of_line()?;
        Ok((key, value))
    }

    fn bare_key(&mut self) -> String {
        let mut key = String::new();
        while let Some(c) = self.peek().filter(|c| !c.is_whitespace() && *c != '"') {
            key.push(c);
            self.bump();
        }
        key
    }

    fn heredoc(&mut self) -> Parsed<String> {
        let start = self.pos();
        self.bump();
        self.bump();
        let indented = self.peek() == Some('-');
        if indented {
            self.bump();
        }
        let tag = self.bare_key();
        if tag.is_empty() {
            return Err(self.error("heredoc needs a tag, as in `<<-EOT`"));
        }
        self.skip_inline_space();
        if self.bump() != Some('\n') {
            return Err(self.error(format!("heredoc tag `{tag}` must end its line")));
        }
        let lines = self.heredoc_lines(&tag, start)?;
        let lines = if indented { unindent(lines) } else { lines };
        Ok(lines.join(self.newline))
    }

    /// Body lines up to the line holding only the tag; stops before that line's newline.
    fn heredoc_lines(&mut self, tag: &str, start: Pos) -> Parsed<Vec<String>> {
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            while let Some(c) = self.peek().filter(|c| *c != '\n') {
                line.push(c);
                self.bump();
            }
            let line = line.strip_suffix('\r').map(str::to_owned).unwrap_or(line);
            if line.trim() == tag {
                return Ok(lines);
            }
            if self.bump().is_none() {
                let line = start.line;
                return Err(self.error_at(
                    start,
                    format!("heredoc opened at line {line} has no closing `{tag}`"),
                ));
            }
            lines.push(line);
        }
    }
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Removes the smallest indent of the non-blank lines from every line (tabs count as one).
fn unindent(lines: Vec<String>) -> Vec<String> {
    let indent = |l: &str| l.chars().take_while(|c| matches!(c, ' ' | '\t')).count();
    let strip = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| indent(l))
        .min()
        .unwrap_or(0);
    lines
        .into_iter()
        .map(|l| l.chars().skip(strip).collect())
        .collect()
}
