//! Tests of the OCL grammar: values, heredocs in both indentation layouts and with CRLF,
//! comments, and errors with line and column.

use super::ImportError;
use super::ocl::{Item, Value, parse};
use std::path::Path;

fn items(text: &str) -> Vec<Item> {
    parse(text, Path::new("t.ocl")).unwrap()
}

fn attribute_value(text: &str) -> Value {
    match items(text).into_iter().next() {
        Some(Item::Attribute(a)) => a.value,
        other => panic!("{other:?}"),
    }
}

fn error(text: &str) -> (usize, usize, String) {
    match parse(text, Path::new("t.ocl")) {
        Err(ImportError::Ocl {
            line,
            column,
            message,
            ..
        }) => (line, column, message),
        other => panic!("{other:?}"),
    }
}

#[test]
fn literals_lists_and_dictionaries() {
    assert_eq!(
        attribute_value("a = \"x \\\"y\\\" \\\\ \\t\""),
        Value::Str("x \"y\" \\ \t".into())
    );
    assert_eq!(attribute_value("a = -1.5"), Value::Number("-1.5".into()));
    assert_eq!(attribute_value("a = true"), Value::Bool(true));
    assert_eq!(attribute_value("a = null"), Value::Null);
    assert_eq!(
        attribute_value("a = [\n  \"x\",\n  \"y\",\n]"),
        Value::List(vec![Value::Str("x".into()), Value::Str("y".into())])
    );
    let dict = attribute_value(
        "a = {\n    Octopus.Action.Package[web].Extract = \"True\"\n    \"Key with spaces\" = 3\n    k=v= \"w\"\n}",
    );
    assert_eq!(
        dict,
        Value::Dict(vec![
            (
                "Octopus.Action.Package[web].Extract".into(),
                Value::Str("True".into())
            ),
            ("Key with spaces".into(), Value::Number("3".into())),
            ("k=v".into(), Value::Str("w".into())),
        ])
    );
}

#[test]
fn blocks_with_labels_and_empty_blocks() {
    let parsed = items("step \"a\" \"b\" {\n    x {}\n}\n");
    let Item::Block(step) = &parsed[0] else {
        panic!()
    };
    assert_eq!(
        (step.name.as_str(), step.labels.as_slice()),
        ("step", &["a".to_owned(), "b".to_owned()][..])
    );
    assert!(matches!(&step.body[0], Item::Block(b) if b.name == "x" && b.body.is_empty()));
}

#[test]
fn heredoc_without_dash_is_verbatim() {
    let value = attribute_value("a = <<EOT\n  one\n    two\n  EOT\n");
    assert_eq!(value, Value::Str("  one\n    two".into()));
}

#[test]
fn indented_heredoc_in_both_layouts_gives_the_same_text() {
    let current = attribute_value("a = <<-EOT\n        one\n\n            two\n        EOT\n");
    let old = attribute_value("a = <<-EOT\n        one\n\n            two\n    EOT\n");
    assert_eq!(current, Value::Str("one\n\n    two".into()));
    assert_eq!(old, current);
}

#[test]
fn heredoc_trailing_blank_line_is_a_trailing_newline() {
    assert_eq!(
        attribute_value("a = <<-EOT\n    x\n\n    EOT"),
        Value::Str("x\n".into())
    );
}

#[test]
fn heredoc_keeps_crlf_line_endings() {
    let value = attribute_value("a = <<-EOT\r\n    x\r\n    y\r\n    EOT\r\n");
    assert_eq!(value, Value::Str("x\r\ny".into()));
}

#[test]
fn template_syntax_is_plain_text() {
    assert_eq!(
        attribute_value("a = \"${HOME:-/root} %{x} #{Var}\""),
        Value::Str("${HOME:-/root} %{x} #{Var}".into())
    );
}

#[test]
fn comments_are_skipped() {
    let parsed = items(
        "# top\n// also\n/* block\n comment */\na = \"x\" # trailing\nb = {\n    # inside\n    k = \"v\"\n}\n",
    );
    assert_eq!(parsed.len(), 2);
}

#[test]
fn errors_point_at_line_and_column() {
    assert_eq!(
        error("a = \"open\n"),
        (
            1,
            10,
            "line break inside a quoted string (use a heredoc)".into()
        )
    );
    assert_eq!(
        error("a = \"x\"\nb = \"\\q\"\n"),
        (2, 6, "unknown escape `\\q`".into())
    );
    assert_eq!(
        error("step \"a\" {\n    x = 1\n"),
        (3, 1, "block opened at line 1 is never closed".into())
    );
    assert_eq!(
        error("\n  step \"a\"\n"),
        (2, 11, "expected `=` or `{` after `step`".into())
    );
    assert_eq!(
        error("a = <<-EOT\n  x\n"),
        (1, 5, "heredoc opened at line 1 has no closing `EOT`".into())
    );
    assert_eq!(
        error("a = yes\n"),
        (
            1,
            5,
            "expected a value, found `yes` (strings need quotes)".into()
        )
    );
    assert_eq!(
        error("a = \"x\" b\n"),
        (1, 9, "expected a new line, found `b`".into())
    );
    assert_eq!(
        error("a = 1.2.3\n"),
        (1, 5, "`1.2.3` is not a number".into())
    );
    assert_eq!(
        error("a = {\n    k = {}\n}\n"),
        (
            2,
            5,
            "dictionary value of `k` cannot be a dictionary".into()
        )
    );
    let twice = "`a` is set twice (first at line 1)".to_owned();
    assert_eq!(error("a = 1\nb = 2\na = 3\n"), (3, 1, twice));
    let key_twice = "key `k` is set twice".to_owned();
    assert_eq!(error("a = {\n    K = 1\n    k = 2\n}\n"), (3, 5, key_twice));
}
