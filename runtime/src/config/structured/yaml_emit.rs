//! Writing YAML values as text for the YAML replacer: a scalar in the style the old one had (when
//! the new value can be written in it), and a whole mapping or sequence in block or flow style.

use yaml_rust2::Yaml;
use yaml_rust2::scanner::TScalarStyle;

use crate::escape;

/// Where a value is written: its column and the line ending to use between lines.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Layout<'a> {
    /// The column the value starts at.
    pub column: usize,
    /// The indentation of the line the value starts on (block scalars indent from it).
    pub line_indent: usize,
    pub in_flow: bool,
    pub newline: &'a str,
}

/// The new value written in `style` if it fits that style, else double-quoted (as YamlDotNet's
/// emitter falls back when a style cannot carry a value).
pub(super) fn scalar(value: &str, style: TScalarStyle, layout: Layout<'_>) -> String {
    match style {
        TScalarStyle::Plain if plain_ok(value, layout.in_flow) => value.to_string(),
        TScalarStyle::SingleQuoted if value.chars().all(|c| !c.is_control()) => {
            // No control character, so no line break for the escaping to double.
            format!("'{}'", escape::yaml_single_quoted(value))
        }
        TScalarStyle::Literal | TScalarStyle::Folded if !layout.in_flow => {
            literal(value, layout).unwrap_or_else(|| double_quoted(value))
        }
        _ => double_quoted(value),
    }
}

/// Whether `value` reads back as the same string when written as a plain scalar.
pub(super) fn plain_ok(value: &str, in_flow: bool) -> bool {
    let Some(first) = value.chars().next() else {
        return false;
    };
    let second_is_blank = value.chars().nth(1).is_none_or(|c| c == ' ');
    let bad_start =
        "-?:,[]{}#&*!|>'\"%@`".contains(first) && (!"-?:".contains(first) || second_is_blank);
    !bad_start
        && value.trim() == value
        && value.chars().all(|c| !c.is_control())
        && !value.contains(": ")
        && !value.contains(" #")
        && !value.ends_with(':')
        && !(in_flow && value.contains([',', '[', ']', '{', '}']))
}

pub(super) fn double_quoted(value: &str) -> String {
    format!("\"{}\"", escape::yaml_double_quoted_utf8(value))
}

/// A literal block scalar (`|` or `|-`) indented two past `column`; `None` when the value cannot
/// be carried by one (leading blanks on the first line, several trailing line breaks).
fn literal(value: &str, layout: Layout<'_>) -> Option<String> {
    let body = value.strip_suffix('\n').unwrap_or(value);
    if value.is_empty()
        || body.ends_with('\n')
        || body.starts_with([' ', '\t'])
        || body.contains('\r')
    {
        return None;
    }
    let indent = " ".repeat(layout.line_indent + 2);
    let header = if value.ends_with('\n') { "|" } else { "|-" };
    let lines: Vec<String> = body
        .split('\n')
        .map(|line| {
            if line.is_empty() {
                String::new()
            } else {
                format!("{indent}{line}")
            }
        })
        .collect();
    Some(format!(
        "{header}{}{}",
        layout.newline,
        lines.join(layout.newline)
    ))
}

/// A parsed replacement value written at `layout`: block style unless inside a flow collection.
pub(crate) fn node(value: &Yaml, layout: Layout<'_>) -> String {
    if layout.in_flow || is_empty_or_scalar(value) {
        return flow(value);
    }
    let mut lines = Vec::new();
    block(value, 0, &mut lines);
    let pad = " ".repeat(layout.column);
    let mut out = String::new();
    for (index, (indent, text)) in lines.iter().enumerate() {
        if index > 0 {
            out.push_str(layout.newline);
            out.push_str(&pad);
        }
        out.push_str(&" ".repeat(*indent));
        out.push_str(text);
    }
    out
}

pub(super) fn is_empty_or_scalar(value: &Yaml) -> bool {
    match value {
        Yaml::Hash(map) => map.is_empty(),
        Yaml::Array(items) => items.is_empty(),
        _ => true,
    }
}

/// Block lines `(indent, text)` for a non-empty collection.
fn block(value: &Yaml, indent: usize, lines: &mut Vec<(usize, String)>) {
    match value {
        Yaml::Hash(map) => {
            for (key, item) in map {
                if is_empty_or_scalar(item) {
                    lines.push((indent, format!("{}: {}", flow(key), flow(item))));
                } else {
                    lines.push((indent, format!("{}:", flow(key))));
                    block(item, indent + 2, lines);
                }
            }
        }
        Yaml::Array(items) => {
            for item in items {
                if is_empty_or_scalar(item) {
                    lines.push((indent, format!("- {}", flow(item))));
                    continue;
                }
                // The item's first line goes on the dash line: `- key: value`.
                let first = lines.len();
                block(item, indent + 2, lines);
                if let Some(line) = lines.get_mut(first) {
                    line.0 = indent;
                    line.1 = format!("- {}", line.1);
                }
            }
        }
        other => lines.push((indent, flow(other))),
    }
}

/// A value in flow style (valid anywhere a YAML value may stand).
fn flow(value: &Yaml) -> String {
    match value {
        Yaml::Hash(map) => {
            let items: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}: {}", flow(k), flow(v)))
                .collect();
            format!("{{{}}}", items.join(", "))
        }
        Yaml::Array(items) => format!(
            "[{}]",
            items.iter().map(flow).collect::<Vec<_>>().join(", ")
        ),
        Yaml::String(s) if plain_ok(s, true) && !looks_typed(s) => s.clone(),
        Yaml::String(s) => double_quoted(s),
        Yaml::Real(r) => r.clone(),
        Yaml::Integer(i) => i.to_string(),
        Yaml::Boolean(b) => b.to_string(),
        Yaml::Null | Yaml::BadValue | Yaml::Alias(_) => "null".to_string(),
    }
}

/// Strings that a plain scalar would turn into another type must stay quoted.
fn looks_typed(s: &str) -> bool {
    !matches!(Yaml::from_str(s), Yaml::String(_))
}

#[cfg(test)]
mod tests {
    use super::*;
    use yaml_rust2::YamlLoader;

    const BLOCK: Layout<'static> = Layout {
        column: 2,
        line_indent: 2,
        in_flow: false,
        newline: "\n",
    };

    #[test]
    fn scalar_styles_are_kept_when_possible() {
        assert_eq!(scalar("8080", TScalarStyle::Plain, BLOCK), "8080");
        assert_eq!(scalar("a: b", TScalarStyle::Plain, BLOCK), "\"a: b\"");
        assert_eq!(scalar("it's", TScalarStyle::SingleQuoted, BLOCK), "'it''s'");
        assert_eq!(
            scalar("x\"y", TScalarStyle::DoubleQuoted, BLOCK),
            "\"x\\\"y\""
        );
        assert_eq!(
            scalar("a\nb\n", TScalarStyle::Literal, BLOCK),
            "|\n    a\n    b"
        );
        assert_eq!(
            scalar(
                "a,b",
                TScalarStyle::Plain,
                Layout {
                    in_flow: true,
                    ..BLOCK
                }
            ),
            "\"a,b\""
        );
        assert_eq!(scalar("-5", TScalarStyle::Plain, BLOCK), "-5");
        assert_eq!(scalar("- x", TScalarStyle::Plain, BLOCK), "\"- x\"");
    }

    #[test]
    fn collections_render_in_block_style_at_the_column() {
        let docs = YamlLoader::load_from_str(r#"{"a": 1, "b": ["x", {"c": "true"}], "d": {}}"#)
            .expect("yaml");
        let text = node(&docs[0], BLOCK);
        assert_eq!(text, "a: 1\n  b:\n    - x\n    - c: \"true\"\n  d: {}");
        let text = node(
            &docs[0],
            Layout {
                in_flow: true,
                ..BLOCK
            },
        );
        assert_eq!(text, "{a: 1, b: [x, {c: \"true\"}], d: {}}");
    }
}
