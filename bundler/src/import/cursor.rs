//! A cursor over a text being read character by character, knowing its 1-based line and
//! column: the OCL parser and the PowerShell lexer both walk their files with it.

/// A 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Pos {
    pub line: usize,
    pub column: usize,
}

impl Pos {
    pub fn describe(self) -> String {
        format!("line {}, column {}", self.line, self.column)
    }
}

pub(super) struct Cursor {
    chars: Vec<char>,
    index: usize,
    pos: Pos,
}

impl Cursor {
    pub fn new(text: &str) -> Self {
        Cursor {
            chars: text.chars().collect(),
            index: 0,
            pos: Pos { line: 1, column: 1 },
        }
    }

    /// The next character, not consumed.
    pub fn peek(&self) -> Option<char> {
        self.peek_at(0)
    }

    /// The character `offset` places ahead, not consumed.
    pub fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.index + offset).copied()
    }

    /// The characters from `offset` places ahead to the end.
    pub fn rest_from(&self, offset: usize) -> &[char] {
        self.chars.get(self.index + offset..).unwrap_or(&[])
    }

    /// Consume the next character.
    pub fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.index += 1;
        if c == '\n' {
            self.pos = Pos {
                line: self.pos.line + 1,
                column: 1,
            };
        } else {
            self.pos.column += 1;
        }
        Some(c)
    }

    /// Where the next character is.
    pub fn pos(&self) -> Pos {
        self.pos
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns_follow_what_was_consumed() {
        let mut cursor = Cursor::new("ab\ncd");
        assert_eq!((cursor.peek(), cursor.peek_at(3)), (Some('a'), Some('c')));
        cursor.bump();
        cursor.bump();
        assert_eq!(cursor.pos(), Pos { line: 1, column: 3 });
        assert_eq!(cursor.bump(), Some('\n'));
        assert_eq!(cursor.pos(), Pos { line: 2, column: 1 });
        assert_eq!(cursor.rest_from(1), &['d']);
        assert_eq!(cursor.peek_at(5), None);
    }
}
