//! JSON-valued variables (§6.9): a lenient reader in the spirit of Newtonsoft's
//! `DeserializeObject` (unquoted property names and single-quoted strings are accepted; bare
//! words as values and trailing content are not), indexing into the result, and the .NET
//! string forms of JSON values. Not handled: comments, `NaN`/`Infinity` literals, dates.

use serde_json::{Map, Number, Value};

use super::error::TemplateError;
use super::number::format_double;

/// Parses `text` leniently; `None` when it is not JSON.
pub(crate) fn parse_lenient(text: &str) -> Option<Value> {
    let mut reader = Reader {
        chars: text.chars().collect(),
        pos: 0,
    };
    let value = reader.value()?;
    reader.skip_ws();
    (reader.pos == reader.chars.len()).then_some(value)
}

/// The string form of a JSON value as Octostache renders it.
pub(crate) fn to_text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::String(s) => s.clone(),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (_, Some(u), _) => u.to_string(),
            (_, _, Some(f)) => format_double(f),
            _ => n.to_string(),
        },
        Value::Array(_) | Value::Object(_) => serde_json::to_string(value).unwrap_or_default(),
    }
}

/// One indexing step into a parsed value: `Ok(None)` when the step does not apply.
/// A missing property or an index past the end gives `""`; a negative index is an error.
pub(crate) fn select(value: &Value, key: &str) -> Result<Option<String>, TemplateError> {
    match value {
        Value::Object(map) => Ok(Some(map.get(key).map(to_text).unwrap_or_default())),
        Value::Array(items) => {
            let Ok(index) = key.trim().parse::<i64>() else {
                return Ok(None);
            };
            let Ok(index) = usize::try_from(index) else {
                return Err(TemplateError::NegativeJsonIndex {
                    index: key.to_string(),
                });
            };
            Ok(Some(items.get(index).map(to_text).unwrap_or_default()))
        }
        _ => Ok(None),
    }
}

struct Reader {
    chars: Vec<char>,
    pos: usize,
}

impl Reader {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_ws();
        let found = self.peek() == Some(c);
        if found {
            self.pos += 1;
        }
        found
    }

    fn value(&mut self) -> Option<Value> {
        self.skip_ws();
        match self.peek()? {
            '{' => self.object(),
            '[' => self.array(),
            '"' | '\'' => self.string().map(Value::String),
            c if c == '-' || c.is_ascii_digit() => self.number(),
            _ => match self.bare_word().as_str() {
                "true" => Some(Value::Bool(true)),
                "false" => Some(Value::Bool(false)),
                "null" => Some(Value::Null),
                _ => None,
            },
        }
    }

    fn object(&mut self) -> Option<Value> {
        self.pos += 1;
        let mut map = Map::new();
        if self.eat('}') {
            return Some(Value::Object(map));
        }
        loop {
            self.skip_ws();
            let key = match self.peek()? {
                '"' | '\'' => self.string()?,
                _ => self.bare_word(),
            };
            if key.is_empty() || !self.eat(':') {
                return None;
            }
            let value = self.value()?;
            map.insert(key, value);
            if self.eat(',') {
                if self.eat('}') {
                    return Some(Value::Object(map));
                }
                continue;
            }
            return self.eat('}').then_some(Value::Object(map));
        }
    }

    fn array(&mut self) -> Option<Value> {
        self.pos += 1;
        let mut items = Vec::new();
        if self.eat(']') {
            return Some(Value::Array(items));
        }
        loop {
            items.push(self.value()?);
            if self.eat(',') {
                if self.eat(']') {
                    return Some(Value::Array(items));
                }
                continue;
            }
            return self.eat(']').then_some(Value::Array(items));
        }
    }

    fn bare_word(&mut self) -> String {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_alphanumeric() || matches!(c, '_' | '$' | '-' | '@'))
        {
            self.pos += 1;
        }
        self.chars
            .get(start..self.pos)
            .map(|c| c.iter().collect())
            .unwrap_or_default()
    }

    fn string(&mut self) -> Option<String> {
        let quote = self.peek()?;
        self.pos += 1;
        let mut out = String::new();
        loop {
            let c = self.peek()?;
            self.pos += 1;
            match c {
                c if c == quote => return Some(out),
                '\\' => out.push(self.escape()?),
                c => out.push(c),
            }
        }
    }

    fn escape(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        Some(match c {
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'b' => '\u{8}',
            'f' => '\u{c}',
            'u' => {
                let hex: String = self.chars.get(self.pos..self.pos + 4)?.iter().collect();
                self.pos += 4;
                char::from_u32(u32::from_str_radix(&hex, 16).ok()?).unwrap_or('\u{fffd}')
            }
            other => other,
        })
    }

    fn number(&mut self) -> Option<Value> {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'))
        {
            self.pos += 1;
        }
        let text: String = self.chars.get(start..self.pos)?.iter().collect();
        if let Ok(i) = text.parse::<i64>() {
            return Some(Value::Number(i.into()));
        }
        let f = text.parse::<f64>().ok()?;
        Number::from_f64(f).map(Value::Number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_objects_parse() {
        let v = parse_lenient("{Name: 'x', Bar: null, N: 15.21, B: true}");
        let v = v.unwrap_or_default();
        assert_eq!(select(&v, "Name"), Ok(Some("x".into())));
        assert_eq!(select(&v, "Bar"), Ok(Some(String::new())));
        assert_eq!(select(&v, "N"), Ok(Some("15.21".into())));
        assert_eq!(select(&v, "B"), Ok(Some("True".into())));
        assert_eq!(select(&v, "name"), Ok(Some(String::new())));
    }

    #[test]
    fn bare_word_values_and_trailing_text_are_not_json() {
        assert_eq!(parse_lenient("{Name: NoComma}"), None);
        assert_eq!(parse_lenient("{} x"), None);
    }

    #[test]
    fn arrays_index_and_reserialise() {
        let v = parse_lenient(r#"[{"Bar":"11"}, 2]"#).unwrap_or_default();
        assert_eq!(select(&v, "0"), Ok(Some(r#"{"Bar":"11"}"#.into())));
        assert_eq!(select(&v, "4"), Ok(Some(String::new())));
        assert!(select(&v, "-1").is_err());
    }
}
