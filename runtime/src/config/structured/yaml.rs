//! YAML structured variables (Calamari `YamlFormatVariableReplacer`): mapping keys and sequence
//! indexes joined with `:` address values, compared ignoring case; names matching
//! `^Octopus([^:]|$)` are skipped; only existing values are replaced.
//!
//! Unlike Calamari, which re-emits the event stream (losing some comments and layout), this edits
//! the text surgically: yaml-rust2 parses the file and gives each event's start, this module works
//! out each value's end, and only the bytes of replaced values change. Comments, key order, blank
//! lines, anchors elsewhere and line endings are kept.
//!
//! - A scalar keeps its style (plain, quoted, literal) when the new value can be written in it,
//!   else it is double-quoted; a plain scalar stays plain, so its type follows the new text as it
//!   does in Calamari (`8080` stays a number, `true` a bool).
//! - A mapping or sequence is replaced whole by the value parsed as YAML (JSON included), written
//!   in block style at the old column (flow style inside flow collections); a value that does not
//!   parse is written as a double-quoted string, as Calamari does.
//! - An empty value (`key:`) gets the new value after the colon.
//!
//! Gaps: the `# patch:` comment feature of newer Calamari is not supported; complex (non-scalar)
//! mapping keys are not addressable; a value carrying an anchor or tag on a block collection loses
//! them when the collection is replaced.

use std::borrow::Cow;
use std::collections::HashMap;

use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};
use yaml_rust2::{Yaml, YamlLoader};

use super::yaml_emit::{self, Layout};
use super::{StructuredVariable, Transformed};
use crate::config::edit::{Edit, apply_edits};
use crate::config::encoding::LineEnding;
use crate::config::error::FormatError;
use crate::config::variables::{effective, fold, is_reserved_for_paths};

/// Apply `variables` to the YAML `text`.
pub(crate) fn transform(
    text: &str,
    variables: &[StructuredVariable],
) -> Result<Transformed, FormatError> {
    let wanted: HashMap<String, Wanted> = effective(variables)
        .into_iter()
        .filter(|(name, _)| !is_reserved_for_paths(name))
        .map(|(name, value)| (fold(name), (name, value.as_deref())))
        .collect();
    let view = parse_view(text);
    let mut walker = Walker::new(&view, wanted);
    let mut parser = Parser::new_from_str(&view);
    loop {
        let (event, marker) = parser.next_token().map_err(|e| {
            FormatError::new(token_start(&view, walker.offset(e.marker())), e.info())
        })?;
        if event == Event::StreamEnd {
            break;
        }
        walker.event(event, &marker);
    }
    let out = walker.finish(text);
    if let Some(new_text) = &out.text {
        verify(new_text, &out.replaced, variables)?;
    }
    Ok(out)
}

/// The documents of a YAML text, read as the replacer reads it.
pub(crate) fn load(text: &str) -> Result<Vec<Yaml>, FormatError> {
    YamlLoader::load_from_str(&parse_view(text)).map_err(|e| FormatError::new(0, e.to_string()))
}

/// The text as yaml-rust2 is given it. yaml-rust2 keeps only the last `%TAG` directive of a
/// document, so a file with several (valid YAML, which Calamari's YamlDotNet reads) would not
/// parse: the directives become comments and each use of a named handle (`!yams!bool`) a local
/// tag of the same length (`!yams_bool`). Lengths and lines are unchanged, so every offset found
/// in the view is an offset in the file; edits are applied to the file itself.
fn parse_view(text: &str) -> Cow<'_, str> {
    let handles: Vec<&str> = text
        .lines()
        .filter_map(|line| line.strip_prefix("%TAG "))
        .filter_map(|rest| rest.split_whitespace().next())
        .filter(|handle| handle.len() > 2 && handle.starts_with('!') && handle.ends_with('!'))
        .collect();
    if handles.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut view = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        match line.strip_prefix('%') {
            Some(rest) if rest.starts_with("TAG ") => {
                view.push('#');
                view.push_str(rest);
            }
            _ => view.push_str(&local_tags(line, &handles)),
        }
    }
    Cow::Owned(view)
}

/// `line` with each named handle used as a tag (after a blank, `[`, `{`, `,` or at the start)
/// turned into a local tag of the same length.
fn local_tags(line: &str, handles: &[&str]) -> String {
    let mut out = line.to_string();
    for handle in handles {
        let local = format!("{}_", &handle[..handle.len() - 1]);
        let mut from = 0;
        while let Some(found) = out[from..].find(handle) {
            let at = from + found;
            let tag_position = out[..at]
                .chars()
                .next_back()
                .is_none_or(|c| c.is_whitespace() || "[{,".contains(c));
            if tag_position {
                out.replace_range(at..at + handle.len(), &local);
            }
            from = at + handle.len();
        }
    }
    out
}

/// Where a parse error is reported: yaml-rust2 marks the end of the token it gave up on, YamlDotNet
/// (whose positions Calamari reports) its start; past the last word of a line, that is taken to
/// be the line's first non-blank character (of the last line with any, at the end of the text).
fn token_start(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    let offset = if text[offset..].trim().is_empty() {
        text[..offset].trim_end().len()
    } else {
        offset
    };
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    let line = &text[line_start..line_end];
    let content_end = line_start + line.trim_end().len();
    if offset >= content_end && !line.trim().is_empty() {
        line_start + (line.len() - line.trim_start().len())
    } else {
        offset
    }
}

/// A variable's name as given and its value (`None` for null).
type Wanted<'a> = (&'a str, Option<&'a str>);

/// The rewritten text must parse, and each replaced path must hold exactly its variable's value;
/// otherwise nothing is written and the replacement is an error (never a silent success).
fn verify(
    text: &str,
    replaced: &[String],
    variables: &[StructuredVariable],
) -> Result<(), FormatError> {
    let broken = |what: String| {
        FormatError::new(
            0,
            format!("{what}; this is a dropship bug, please report it with the file"),
        )
    };
    let docs = YamlLoader::load_from_str(&parse_view(text))
        .map_err(|e| broken(format!("the replaced document would not parse ({e})")))?;
    let values: HashMap<String, Option<&str>> = effective(variables)
        .into_iter()
        .map(|(name, value)| (fold(name), value.as_deref()))
        .collect();
    for name in replaced {
        let node = docs.first().and_then(|doc| find(doc, name));
        let expected = values.get(&fold(name)).copied().flatten();
        if !node.is_some_and(|node| holds(node, expected)) {
            return Err(broken(format!(
                "after replacing `{name}` the document does not hold its value"
            )));
        }
    }
    Ok(())
}

/// The node at a `:`-joined path, keys compared ignoring case, sequences by index.
fn find<'y>(doc: &'y Yaml, path: &str) -> Option<&'y Yaml> {
    path.split(':').try_fold(doc, |node, segment| match node {
        Yaml::Hash(map) => map
            .iter()
            .find(|(key, _)| key_text(key).is_some_and(|k| fold(&k) == fold(segment)))
            .map(|(_, value)| value),
        Yaml::Array(items) => items.get(segment.parse::<usize>().ok()?),
        _ => None,
    })
}

fn key_text(key: &Yaml) -> Option<String> {
    match key {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Whether `node` is what writing `value` should give: the same string, or the same value when
/// the text is read as YAML (typed scalars, collections); blank or null gives null or `""`.
fn holds(node: &Yaml, value: Option<&str>) -> bool {
    let Some(value) = value else {
        return node.is_null();
    };
    // A scalar under an explicit tag (`!!bool no`) is the tag's business, as in Calamari.
    if matches!(node, Yaml::BadValue) || *node == Yaml::String(value.to_string()) {
        return true;
    }
    match YamlLoader::load_from_str(value) {
        Ok(parsed) if parsed.is_empty() => node.is_null(),
        Ok(parsed) => parsed.len() == 1 && parsed[0] == *node,
        Err(_) => false,
    }
}

/// A block mapping's start, until its first key is seen.
const PENDING: usize = usize::MAX;

/// One open mapping or sequence.
struct Frame {
    is_mapping: bool,
    key: Option<String>,
    index: Option<usize>,
    path: String,
    start: usize,
    flow: bool,
    end: usize,
    /// For a block collection that is a mapping's value: just after the key's colon, and the
    /// indentation of the key's line. A replacement starts there, so that a scalar lands on the
    /// key's line and a new block is indented under the key (never at the key's own column).
    after_key: Option<(usize, usize)>,
}

struct Walker<'a> {
    text: &'a str,
    line_starts: Vec<usize>,
    newline: &'static str,
    wanted: HashMap<String, Wanted<'a>>,
    stack: Vec<Frame>,
    last_key_end: usize,
    edits: Vec<(String, Edit)>,
}

impl<'a> Walker<'a> {
    fn new(text: &'a str, wanted: HashMap<String, Wanted<'a>>) -> Self {
        let mut line_starts = vec![0];
        let bytes = text.as_bytes();
        for (i, &b) in bytes.iter().enumerate() {
            let lone_cr = b == b'\r' && bytes.get(i + 1) != Some(&b'\n');
            if b == b'\n' || lone_cr {
                line_starts.push(i + 1);
            }
        }
        let newline = LineEnding::dominant(text).as_str();
        Walker {
            text,
            line_starts,
            newline,
            wanted,
            stack: Vec::new(),
            last_key_end: 0,
            edits: Vec::new(),
        }
    }

    /// The byte offset of a marker. yaml-rust2's character index drifts after non-ASCII block
    /// scalars, but its line and column (in characters) stay right, so those are used.
    fn offset(&self, marker: &Marker) -> usize {
        let line_start = self
            .line_starts
            .get(marker.line().saturating_sub(1))
            .copied()
            .unwrap_or(self.text.len());
        let line = &self.text[line_start..];
        line_start
            + line
                .char_indices()
                .nth(marker.col())
                .map_or(line.len(), |(i, _)| i)
    }

    fn path(&self) -> String {
        let parts: Vec<String> = self
            .stack
            .iter()
            .filter_map(|f| {
                if f.is_mapping {
                    f.key.clone()
                } else {
                    f.index.map(|i| i.to_string())
                }
            })
            .collect();
        parts.join(":")
    }

    fn event(&mut self, event: Event, marker: &Marker) {
        let at = self.offset(marker);
        match event {
            Event::Scalar(value, style, ..) => self.scalar(&value, style, at),
            Event::MappingStart(..) => self.open(true, at),
            Event::SequenceStart(..) => self.open(false, at),
            Event::MappingEnd | Event::SequenceEnd => self.close(at),
            Event::Alias(_) => {
                let end = at + token_len(&self.text[at..]);
                self.value_done(end);
            }
            _ => {}
        }
    }

    /// Sequences count their items as each value starts.
    fn next_item(&mut self) {
        if let Some(frame) = self.stack.last_mut().filter(|f| !f.is_mapping) {
            frame.index = Some(frame.index.map_or(0, |i| i + 1));
        }
    }

    fn expecting_key(&self) -> bool {
        self.stack
            .last()
            .is_some_and(|f| f.is_mapping && f.key.is_none())
    }

    fn in_flow(&self) -> bool {
        self.stack.iter().any(|f| f.flow)
    }

    /// After a value: extend the parent's span and let the mapping take its next key.
    fn value_done(&mut self, end: usize) {
        if let Some(frame) = self.stack.last_mut() {
            frame.end = frame.end.max(end);
            frame.key = None;
        }
    }

    fn scalar(&mut self, value: &str, style: TScalarStyle, at: usize) {
        let start = match style {
            // yaml-rust2 marks a block scalar at its content; the edit starts at the header.
            TScalarStyle::Literal | TScalarStyle::Folded => {
                self.text[..at].rfind(['|', '>']).unwrap_or(at)
            }
            _ => skip_properties(self.text, at),
        };
        if self.expecting_key() {
            let end = scalar_end(self.text, start, value, style, self.in_flow());
            if let Some(frame) = self.stack.last_mut() {
                frame.key = Some(value.to_string());
                frame.end = frame.end.max(end);
                if frame.start == PENDING {
                    frame.start = start;
                }
            }
            self.last_key_end = end;
            return;
        }
        self.next_item();
        let empty = value.is_empty()
            && style == TScalarStyle::Plain
            && !self.text[start..].starts_with("''");
        let (range, end) = if empty {
            let colon = self.colon_after_key();
            (colon..colon, colon)
        } else {
            let end = scalar_end(self.text, start, value, style, self.in_flow());
            (start..end, end)
        };
        if let Some((name, new)) = self.wanted.get(&fold(&self.path())).copied() {
            let layout = self.layout(start);
            let style = if empty { TScalarStyle::Plain } else { style };
            let mut text = match new {
                Some(new) => yaml_emit::scalar(new, style, layout),
                None => "null".to_string(),
            };
            if empty {
                text.insert(0, ' ');
            }
            self.edits.push((name.to_string(), Edit { range, text }));
        }
        self.value_done(end);
    }

    /// Where to insert a value for `key:` with nothing after it: just after the colon.
    fn colon_after_key(&self) -> usize {
        let rest = &self.text[self.last_key_end..];
        rest.find(':')
            .map_or(self.last_key_end, |i| self.last_key_end + i + 1)
    }

    fn layout(&self, at: usize) -> Layout<'static> {
        let line_start = self.text[..at].rfind(['\n', '\r']).map_or(0, |i| i + 1);
        let line = &self.text[line_start..at];
        Layout {
            column: line.chars().count(),
            line_indent: line.len() - line.trim_start_matches(' ').len(),
            in_flow: self.in_flow(),
            newline: self.newline,
        }
    }

    fn open(&mut self, is_mapping: bool, at: usize) {
        self.next_item();
        let marked = skip_properties(self.text, at);
        let flow = self.text[marked..].starts_with(['{', '[']);
        // A block mapping's event is marked at its first colon: it starts at its first key.
        let start = match (is_mapping, flow) {
            (true, false) => PENDING,
            (false, false) => dash_before(self.text, marked),
            _ => marked,
        };
        let path = self.path();
        let under_key = !flow && self.stack.last().is_some_and(|f| f.is_mapping && !f.flow);
        let after_key = under_key.then(|| {
            let colon = self.colon_after_key();
            (colon, self.layout(self.last_key_end).line_indent)
        });
        self.stack.push(Frame {
            is_mapping,
            key: None,
            index: None,
            path,
            start,
            flow,
            end: marked,
            after_key,
        });
    }

    fn close(&mut self, at: usize) {
        let Some(frame) = self.stack.pop() else {
            return;
        };
        let end = if frame.flow { at + 1 } else { frame.end };
        let addressable = !frame.path.is_empty() && frame.start != PENDING;
        if let Some((name, new)) = self
            .wanted
            .get(&fold(&frame.path))
            .copied()
            .filter(|_| addressable)
        {
            let mut layout = self.layout(frame.start);
            // A flow collection is replaced by a flow value: block style cannot start mid-line.
            layout.in_flow |= frame.flow;
            let (start, text) = match frame.after_key {
                Some((colon, key_indent)) => {
                    layout.column = key_indent + 2;
                    layout.line_indent = key_indent;
                    let (text, block) = collection_replacement(new, layout, true);
                    // A block starts on its own line (its first line is not indented by the
                    // emitter); anything else stays on the key's line.
                    let gap = match block {
                        Some(column) => format!("{}{}", self.newline, " ".repeat(column)),
                        None => " ".to_string(),
                    };
                    (colon, gap + &text)
                }
                None => (frame.start, collection_replacement(new, layout, false).0),
            };
            self.edits.push((
                name.to_string(),
                Edit {
                    range: start..end,
                    text,
                },
            ));
        }
        self.value_done(end);
    }

    /// The replacements, applied to `original` (the text the walker's view was made from).
    fn finish(self, original: &str) -> Transformed {
        let mut out = Transformed::default();
        // An edit inside a replaced collection never happens (Calamari skips the old subtree).
        let outer: Vec<&(String, Edit)> = self
            .edits
            .iter()
            .filter(|(_, e)| {
                !self.edits.iter().any(|(_, o)| {
                    o.range != e.range
                        && o.range.start <= e.range.start
                        && e.range.end <= o.range.end
                })
            })
            .collect();
        for (name, _) in &outer {
            if !out.replaced.contains(name) {
                out.replaced.push(name.clone());
            }
        }
        let edits: Vec<Edit> = outer.into_iter().map(|(_, e)| e.clone()).collect();
        if !edits.is_empty() {
            let text = apply_edits(original, edits);
            out.text = (text != original).then_some(text);
        }
        out
    }
}

/// The text replacing a whole collection, and for a block (on its own lines) its column:
/// the value read as YAML (JSON included), a string that is not YAML double-quoted, null as `null`.
fn collection_replacement(
    new: Option<&str>,
    mut layout: Layout<'_>,
    under_key: bool,
) -> (String, Option<usize>) {
    let Some(new) = new else {
        return ("null".to_string(), None);
    };
    match YamlLoader::load_from_str(new) {
        Ok(docs) if docs.len() == 1 => match &docs[0] {
            Yaml::String(s) => (yaml_emit::scalar(s, TScalarStyle::Plain, layout), None),
            parsed => {
                let block = !layout.in_flow && !yaml_emit::is_empty_or_scalar(parsed);
                // Under a key, a sequence is written at the key's column, as YamlDotNet does.
                if block && under_key && matches!(parsed, Yaml::Array(_)) {
                    layout.column = layout.line_indent;
                }
                let text = yaml_emit::node(parsed, layout);
                (text, block.then_some(layout.column))
            }
        },
        _ => (yaml_emit::double_quoted(new), None),
    }
}

/// An indentless sequence (`key:` then `- item` at the key's column) is marked at its first
/// item: step back to that item's dash.
fn dash_before(text: &str, marked: usize) -> usize {
    if text[marked..].starts_with('-') {
        return marked;
    }
    let before = text[..marked].trim_end_matches([' ', '\t']);
    if before.ends_with('-') {
        before.len() - 1
    } else {
        marked
    }
}

/// Skip an anchor (`&a`) and a tag (`!t`, `!!str`) before a node.
fn skip_properties(text: &str, mut at: usize) -> usize {
    while text[at..].starts_with(['&', '!']) {
        at += token_len(&text[at..]);
        at += text[at..].len() - text[at..].trim_start_matches([' ', '\t']).len();
    }
    at
}

fn token_len(text: &str) -> usize {
    text.find(|c: char| c.is_whitespace() || matches!(c, ',' | ']' | '}'))
        .unwrap_or(text.len())
}

/// The end of the scalar starting at `start`.
fn scalar_end(text: &str, start: usize, value: &str, style: TScalarStyle, in_flow: bool) -> usize {
    let rest = &text[start..];
    match style {
        TScalarStyle::SingleQuoted => start + quoted_len(rest, '\''),
        TScalarStyle::DoubleQuoted => start + quoted_len(rest, '"'),
        TScalarStyle::Literal | TScalarStyle::Folded => start + block_len(rest),
        TScalarStyle::Plain => start + plain_len(rest, value, in_flow),
    }
}

fn quoted_len(rest: &str, quote: char) -> usize {
    let mut chars = rest.char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        if c == '\\' && quote == '"' {
            chars.next();
        } else if c == quote {
            if quote == '\'' && rest[i + 1..].starts_with('\'') {
                chars.next();
                continue;
            }
            return i + 1;
        }
    }
    rest.len()
}

/// A block scalar runs from its header to the last line indented at least as far as its first
/// content line (blank lines included in between).
fn block_len(rest: &str) -> usize {
    let header_end = rest.find(['\n', '\r']).unwrap_or(rest.len());
    let mut end = header_end;
    let mut indent = None;
    let mut pos = header_end;
    while pos < rest.len() {
        pos += if rest[pos..].starts_with("\r\n") {
            2
        } else {
            1
        };
        let line_end = rest[pos..]
            .find(['\n', '\r'])
            .map_or(rest.len(), |i| pos + i);
        let line = &rest[pos..line_end];
        let blanks = line.len() - line.trim_start_matches(' ').len();
        if !line.trim().is_empty() {
            let wanted = *indent.get_or_insert(blanks);
            if blanks < wanted || wanted == 0 {
                break;
            }
            end = line_end;
        }
        pos = line_end;
    }
    end
}

/// A plain scalar may fold over several lines: match the value's words against the text.
fn plain_len(rest: &str, value: &str, in_flow: bool) -> usize {
    let mut pos = 0;
    for word in value.split_whitespace() {
        let skipped = rest[pos..].len() - rest[pos..].trim_start().len();
        if !rest[pos + skipped..].starts_with(word) {
            return first_line_len(rest, in_flow);
        }
        pos += skipped + word.len();
    }
    pos
}

fn first_line_len(rest: &str, in_flow: bool) -> usize {
    let mut end = rest.find(['\n', '\r']).unwrap_or(rest.len());
    if let Some(comment) = rest[..end].find(" #") {
        end = comment;
    }
    if in_flow {
        end = rest[..end].find([',', ']', '}']).unwrap_or(end);
    }
    rest[..end].trim_end().len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(text: &str, pairs: &[(&str, &str)]) -> Transformed {
        let vars: Vec<StructuredVariable> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Some(v.to_string())))
            .collect();
        transform(text, &vars).expect("parses")
    }

    const DOC: &str = "# top comment\nserver:\n  host: old.example   # the host\n  port: 80\n  name: 'it''s'\n  path: \"a\\\"b\"\n  tags: [a, b]\n  empty:\nlist:\n  - one\n  - two: 2\n    three: 3\nnote: |\n  line é1\n  line 2\nlast: x\n";

    #[test]
    fn scalars_keep_style_comments_and_order() {
        let out = apply(
            DOC,
            &[
                ("Server:Host", "new.example"),
                ("server:port", "8080"),
                ("server:name", "o'k"),
                ("server:path", "c:d"),
                ("server:tags:1", "z,y"),
                ("server:empty", "filled"),
                ("list:0", "uno"),
                ("list:1:three", "drei"),
                ("note", "n1\nn2\n"),
                ("Octopus.Action.Name", "x"),
                ("missing", "x"),
            ],
        );
        let expected = "# top comment\nserver:\n  host: new.example   # the host\n  port: 8080\n  name: 'o''k'\n  path: \"c:d\"\n  tags: [a, \"z,y\"]\n  empty: filled\nlist:\n  - uno\n  - two: 2\n    three: drei\nnote: |\n  n1\n  n2\nlast: x\n";
        assert_eq!(out.text.as_deref(), Some(expected));
        assert_eq!(out.replaced.len(), 9);
    }

    #[test]
    fn collections_are_replaced_whole_and_children_skipped() {
        let out = apply(
            DOC,
            &[
                ("server", r#"{"host": "h", "ports": [1, 2]}"#),
                ("server:port", "1"),
                ("list", "[]"),
            ],
        );
        let expected_start =
            "# top comment\nserver:\n  host: h\n  ports:\n    - 1\n    - 2\nlist: []\nnote: |";
        let text = out.text.expect("changed");
        assert!(text.starts_with(expected_start), "{text}");
        assert_eq!(out.replaced, ["server", "list"]);
        let reparsed = YamlLoader::load_from_str(&text).expect("still YAML");
        assert_eq!(reparsed[0]["server"]["ports"][1].as_i64(), Some(2));
    }

    #[test]
    fn crlf_and_multiline_plain_scalars() {
        let text = "a: one\r\n  two\r\nb: x\r\n";
        let out = apply(text, &[("a", "single"), ("b", "y")]);
        assert_eq!(out.text.as_deref(), Some("a: single\r\nb: y\r\n"));
    }

    #[test]
    fn unchanged_when_nothing_matches_and_errors_have_positions() {
        assert_eq!(apply(DOC, &[("nope", "x")]).text, None);
        let err = transform("a: b\n  c: d\n", &[]).unwrap_err();
        assert!(err.offset > 0, "{err:?}");
    }

    #[test]
    fn sequence_paths_and_anchored_scalars() {
        let text = "- &x first\n- second\n- [1, 2]\n";
        let out = apply(text, &[("0", "1st"), ("2:1", "9")]);
        assert_eq!(out.text.as_deref(), Some("- &x 1st\n- second\n- [1, 9]\n"));
    }

    fn check(text: &str, pairs: &[(&str, &str)], expected: &str) {
        let out = apply(text, pairs);
        assert_eq!(out.text.as_deref().unwrap_or(text), expected);
        YamlLoader::load_from_str(expected).expect("expected text is YAML");
    }

    #[test]
    fn documents_indentless_sequences_and_flow_collections() {
        check("a: 1\n---\na: 2\n", &[("a", "3")], "a: 3\n---\na: 3\n");
        check(
            "list:\n- a\n- b\nnext: 1\n",
            &[("list:1", "c")],
            "list:\n- a\n- c\nnext: 1\n",
        );
        check(
            "list:\n- a\n- b\nnext: 1\n",
            &[("list", "[\"x\", \"y\"]")],
            "list:\n- x\n- y\nnext: 1\n",
        );
        check(
            "db: {host: a, port: 1}\n",
            &[("db:port", "2")],
            "db: {host: a, port: 2}\n",
        );
        check(
            "db: {host: a}\n",
            &[("db", "{\"x\": [1]}")],
            "db: {x: [1]}\n",
        );
        check("- - a\n  - b\n", &[("0:1", "c")], "- - a\n  - c\n");
    }

    #[test]
    fn keys_tags_comments_and_aliases() {
        check(
            "'a b': 1\n\"c\": 2\n",
            &[("A B", "x"), ("c", "y")],
            "'a b': x\n\"c\": y\n",
        );
        check(
            "port: !!int 80\n",
            &[("port", "8080")],
            "port: !!int 8080\n",
        );
        check(
            "a:\n  b: 1\n  # trailing\nc: 2\n",
            &[("a", "{\"x\": 1}")],
            "a:\n  x: 1\n  # trailing\nc: 2\n",
        );
        check(
            "base: &b\n  x: 1\nother: *b\nk: v\n",
            &[("k", "w")],
            "base: &b\n  x: 1\nother: *b\nk: w\n",
        );
        check(
            "- name:\n  x: 1\n",
            &[("0:name", "n")],
            "- name: n\n  x: 1\n",
        );
    }

    #[test]
    fn non_ascii_and_block_scalars_do_not_shift_later_edits() {
        check("é: ü\nb: 1\n", &[("b", "2"), ("é", "ö")], "é: ö\nb: 2\n");
        check(
            "note: |\r\n  héllo wörld\r\n  ünïcode\r\nb: 1\r\n",
            &[("b", "2")],
            "note: |\r\n  héllo wörld\r\n  ünïcode\r\nb: 2\r\n",
        );
        check(
            "a: >\n  folded\n  text\nb: 1\n",
            &[("a", "one")],
            "a: |-\n  one\nb: 1\n",
        );
        check(
            "- one\n  two\n- x\n",
            &[("0", "y"), ("1", "z")],
            "- y\n- z\n",
        );
    }

    #[test]
    fn urls_paths_comments_and_odd_layouts() {
        check(
            "url: http://a:80/x # c\npath: C:\\dir\ntag: a#b\n",
            &[
                ("url", "https://b:443/y"),
                ("path", "D:\\x"),
                ("tag", "c#d"),
            ],
            "url: https://b:443/y # c\npath: D:\\x\ntag: c#d\n",
        );
        check(
            "key :   value  # note\n",
            &[("key", "v2")],
            "key :   v2  # note\n",
        );
        check("q: \"x\" # note\n", &[("q", "y")], "q: \"y\" # note\n");
        check(
            "items:\n  -\n    name: a\n    id: 1\n",
            &[("items:0", "{\"name\": \"b\"}")],
            "items:\n  -\n    name: b\n",
        );
        check(
            "%YAML 1.2\n---\na: 1\n...\n",
            &[("a", "2")],
            "%YAML 1.2\n---\na: 2\n...\n",
        );
        check(
            "a:\n  # about b\n  b: 1\n",
            &[("a:b", "2")],
            "a:\n  # about b\n  b: 2\n",
        );
    }

    #[test]
    fn null_values_blank_values_and_collections_under_keys_stay_valid_yaml() {
        let text = "ports:\n- 8080\n- 8081\nobj:\n  k: v\ns: 'x'\nnext: 1\n";
        let vars = vec![
            ("ports".to_string(), Some("none".to_string())),
            ("obj".to_string(), Some(String::new())),
            ("s".to_string(), None),
        ];
        let out = transform(text, &vars).expect("parses");
        assert_eq!(
            out.text.as_deref(),
            Some("ports: none\nobj: \"\"\ns: null\nnext: 1\n")
        );
        check("a:\n  b: 1\nc: 2\n", &[("a", "[]")], "a: []\nc: 2\n");
        check(
            "a:\n  b: 1\nc: 2\n",
            &[("a", "- x\n- y")],
            "a:\n- x\n- y\nc: 2\n",
        );
        check(
            "a:\n- 1\nc: 2\n",
            &[("a", "  this: now\n  has: keys")],
            "a:\n  this: now\n  has: keys\nc: 2\n",
        );
    }

    #[test]
    fn several_tag_directives_and_error_positions_as_yamldotnet_reports_them() {
        let text = "%YAML 1.2\n%TAG !yams! tag:yaml.org,2002:\n%TAG !! tag:yaml.org,2002:\n---\nk: !yams!bool \"false\"\n";
        let out = apply(text, &[("k", "true")]);
        assert_eq!(
            out.text.as_deref(),
            Some(
                "%YAML 1.2\n%TAG !yams! tag:yaml.org,2002:\n%TAG !! tag:yaml.org,2002:\n---\nk: !yams!bool \"true\"\n"
            )
        );
        let broken =
            "this: file\ncontains: an error on\nline: |\nfour the block must be indented\n";
        let err = transform(broken, &[]).unwrap_err();
        assert_eq!(&broken[err.offset..err.offset + 4], "four");
    }

    #[test]
    fn a_write_that_would_not_hold_the_value_is_refused() {
        let vars = vec![("a".to_string(), Some("x".to_string()))];
        let err = verify("a: y\n", &["a".to_string()], &vars).unwrap_err();
        assert!(err.message.contains("does not hold"), "{err:?}");
        let err = verify("a: [\n", &["a".to_string()], &vars).unwrap_err();
        assert!(err.message.contains("would not parse"), "{err:?}");
    }

    #[test]
    fn replacing_a_mapping_with_a_scalar_or_non_yaml() {
        check("a:\n  b: 1\nc: 2\n", &[("a", "plain")], "a: plain\nc: 2\n");
        check(
            "a:\n  b: 1\nc: 2\n",
            &[("a", "x: [")],
            "a: \"x: [\"\nc: 2\n",
        );
    }

    fn leaf_paths(node: &Yaml, prefix: &str, out: &mut Vec<String>) {
        let join = |k: String| {
            if prefix.is_empty() {
                k
            } else {
                format!("{prefix}:{k}")
            }
        };
        match node {
            Yaml::Hash(map) => {
                for (k, v) in map {
                    leaf_paths(v, &join(k.as_str().unwrap_or_default().to_string()), out);
                }
            }
            Yaml::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    leaf_paths(v, &join(i.to_string()), out);
                }
            }
            _ => out.push(prefix.to_string()),
        }
    }

    fn lookup<'y>(node: &'y Yaml, path: &str) -> &'y Yaml {
        path.split(':')
            .fold(node, |n, part| match part.parse::<usize>() {
                Ok(i) if n.as_vec().is_some() => &n[i],
                _ => &n[part],
            })
    }

    #[test]
    fn every_leaf_can_be_replaced_with_awkward_text_and_reads_back() {
        let text = "# c\nplain: x\nsq: 'y'\ndq: \"z\"\nnum: 1\nlit: |\n  a\n  b\nfold: >-\n  c\n  d\nflow: {a: 1, b: [2, 3]}\nseq:\n- p\n- k: v\n  m: [n]\nempty:\nnested:\n  deep:\n    - - 1\n      - 2\n";
        let before = YamlLoader::load_from_str(text).expect("yaml");
        let mut paths = Vec::new();
        leaf_paths(&before[0], "", &mut paths);
        assert_eq!(paths.len(), 15);
        for awkward in [
            "new: #1, [x]",
            "it's \"quoted\"",
            "multi\nline\n",
            " lead",
            "é ü",
            "-",
            "",
        ] {
            let pairs: Vec<(&str, &str)> = paths.iter().map(|p| (p.as_str(), awkward)).collect();
            let out = apply(text, &pairs);
            let changed = out.text.expect("changed");
            let after = YamlLoader::load_from_str(&changed)
                .unwrap_or_else(|e| panic!("{awkward:?}: {e}\n{changed}"));
            for path in &paths {
                let value = lookup(&after[0], path);
                assert_eq!(
                    value.as_str(),
                    Some(awkward),
                    "{path} = {awkward:?} in\n{changed}"
                );
            }
            assert!(changed.starts_with("# c\n"));
        }
    }
}
