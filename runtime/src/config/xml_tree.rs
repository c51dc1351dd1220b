//! A read-only XML tree that remembers where every piece sits in the text, so the XML replacers
//! can edit values surgically: the declaration, comments, attribute order, quoting, whitespace and
//! line endings all survive because only the replaced value's bytes change.
//!
//! quick-xml tokenizes and checks well-formedness (matching end tags, attribute syntax); this
//! module adds the checks quick-xml leaves out (one root element, no text outside it, every element
//! closed) and resolves element namespaces. It does not expand DTD entities.

use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Range;

use quick_xml::Reader;
use quick_xml::events::Event;

pub(crate) use super::edit::{Edit, apply_edits};
use super::error::FormatError;
use crate::escape;

/// An attribute: its qualified name and the span of its value between the quotes.
#[derive(Debug, Clone)]
pub(crate) struct Attr {
    pub name: String,
    pub value: Range<usize>,
    pub quote: char,
}

/// What a node is.
#[derive(Debug, Clone)]
pub(crate) enum Kind {
    Element(Element),
    Text,
    CData,
    Comment,
    /// A processing instruction (`<?target data?>`; not the XML declaration).
    ProcessingInstruction,
}

/// An element: name, namespace, attributes and where its parts are.
#[derive(Debug, Clone)]
pub(crate) struct Element {
    pub name: String,
    pub namespace: String,
    pub start_tag: Range<usize>,
    pub attrs: Vec<Attr>,
    pub self_closing: bool,
    /// Between the start and end tags (empty, at the end of the tag, for `<a/>`).
    pub content: Range<usize>,
}

impl Element {
    pub fn local_name(&self) -> &str {
        self.name.rsplit(':').next().unwrap_or(&self.name)
    }
}

/// A node with its full span.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub kind: Kind,
    pub span: Range<usize>,
    pub children: Vec<usize>,
}

/// A parsed document over borrowed text.
#[derive(Debug)]
pub(crate) struct XmlDoc<'a> {
    pub text: &'a str,
    pub nodes: Vec<Node>,
    /// Top-level nodes (the root element, and comments around it).
    pub top: Vec<usize>,
    /// Every `xmlns:prefix` declaration in the document, first one wins (as Calamari's resolver).
    pub prefixes: HashMap<String, String>,
}

impl<'a> XmlDoc<'a> {
    /// Parse `text`; errors carry the byte offset where parsing stopped.
    pub fn parse(text: &'a str) -> Result<XmlDoc<'a>, FormatError> {
        Builder::new(text).run()
    }

    pub fn element(&self, id: usize) -> Option<&Element> {
        match &self.nodes[id].kind {
            Kind::Element(e) => Some(e),
            _ => None,
        }
    }

    pub fn attr_value(&self, attr: &Attr) -> Cow<'a, str> {
        unescape(&self.text[attr.value.clone()])
    }

    /// The unescaped text of a text or CDATA node, or the concatenated text of an element.
    pub fn string_value(&self, id: usize) -> String {
        let node = &self.nodes[id];
        match &node.kind {
            Kind::Text => unescape(&self.text[node.span.clone()]).into_owned(),
            Kind::CData => self.text[node.span.start + 9..node.span.end - 3].to_string(),
            Kind::Comment => String::new(),
            Kind::ProcessingInstruction => self.pi_parts(id).1.trim().to_string(),
            Kind::Element(_) => node
                .children
                .iter()
                .map(|&c| self.string_value(c))
                .collect(),
        }
    }

    /// Replace an attribute's value.
    pub fn set_attr(&self, attr: &Attr, value: &str) -> Edit {
        Edit {
            range: attr.value.clone(),
            text: escape::xml_attr(value, attr.quote),
        }
    }

    /// Where a new attribute goes: after the element's last one, else after its name.
    pub fn attr_insert_at(&self, element: &Element) -> usize {
        element
            .attrs
            .last()
            .map_or(element.start_tag.start + 1 + element.name.len(), |a| {
                a.value.end + 1
            })
    }

    /// Insert a new attribute after the element's last one.
    pub fn add_attr(&self, element: &Element, name: &str, value: &str) -> Edit {
        let at = self.attr_insert_at(element);
        Edit {
            range: at..at,
            text: format!(" {name}=\"{}\"", escape::xml_attr(value, '"')),
        }
    }

    /// Replace everything between the element's tags with `markup` (already escaped).
    pub fn set_content(&self, element: &Element, markup: &str) -> Edit {
        if !element.self_closing {
            return Edit {
                range: element.content.clone(),
                text: markup.to_string(),
            };
        }
        // `<a x="1" />` becomes `<a x="1">markup</a>`.
        let tag = &self.text[element.start_tag.clone()];
        let open = tag.trim_end_matches('>').trim_end_matches('/').trim_end();
        Edit {
            range: element.start_tag.clone(),
            text: format!("{open}>{markup}</{}>", element.name),
        }
    }

    /// Append `markup` at the end of the element's content.
    pub fn append_content(&self, element: &Element, markup: &str) -> Edit {
        if element.self_closing {
            return self.set_content(element, markup);
        }
        Edit {
            range: element.content.end..element.content.end,
            text: markup.to_string(),
        }
    }

    /// A processing instruction's target and the text after it (before `?>`).
    pub fn pi_parts(&self, id: usize) -> (&'a str, &'a str) {
        let span = self.nodes[id].span.clone();
        let inner = &self.text[span.start + 2..span.end - 2];
        let target_len = inner.find(char::is_whitespace).unwrap_or(inner.len());
        inner.split_at(target_len)
    }

    /// Replace the data of a text, CDATA, comment or processing-instruction node.
    pub fn set_data(&self, id: usize, value: &str) -> Edit {
        let span = self.nodes[id].span.clone();
        match self.nodes[id].kind {
            Kind::CData => Edit {
                range: span.start + 9..span.end - 3,
                text: value.replace("]]>", "]]]]><![CDATA[>"),
            },
            Kind::Comment => Edit {
                range: span.start + 4..span.end - 3,
                text: value.replace("--", "- -"),
            },
            Kind::ProcessingInstruction => {
                let target = self.pi_parts(id).0;
                let data = value.replace("?>", "? >");
                Edit {
                    range: span.start + 2 + target.len()..span.end - 2,
                    text: if data.is_empty() {
                        data
                    } else {
                        format!(" {data}")
                    },
                }
            }
            _ => Edit {
                range: span,
                text: escape::xml_text(value),
            },
        }
    }
}

fn unescape(raw: &str) -> Cow<'_, str> {
    // Entities declared in a DTD are not expanded; such text compares as written.
    quick_xml::escape::unescape(raw).unwrap_or(Cow::Borrowed(raw))
}

/// Builds an [`XmlDoc`] from quick-xml events, tracking byte positions.
struct Builder<'a> {
    text: &'a str,
    nodes: Vec<Node>,
    top: Vec<usize>,
    open: Vec<usize>,
    scopes: Vec<HashMap<String, String>>,
    prefixes: HashMap<String, String>,
}

impl<'a> Builder<'a> {
    fn new(text: &'a str) -> Self {
        Builder {
            text,
            nodes: Vec::new(),
            top: Vec::new(),
            open: Vec::new(),
            scopes: Vec::new(),
            prefixes: HashMap::new(),
        }
    }

    fn run(mut self) -> Result<XmlDoc<'a>, FormatError> {
        // quick-xml skips one leading byte-order mark without counting it in its positions (a
        // UTF-16 file can decode to one): add its length back.
        let skipped = if self.text.starts_with('\u{FEFF}') {
            '\u{FEFF}'.len_utf8()
        } else {
            0
        };
        let mut reader = Reader::from_str(self.text);
        reader.config_mut().check_end_names = true;
        let position = |at: u64| at as usize + skipped;
        loop {
            let before = position(reader.buffer_position());
            let event = reader
                .read_event()
                .map_err(|e| FormatError::new(position(reader.error_position()), e.to_string()))?;
            let span = before..position(reader.buffer_position());
            match event {
                Event::Start(tag) | Event::Empty(tag) => {
                    for attr in tag.attributes() {
                        attr.map_err(|e| FormatError::new(span.start, e.to_string()))?;
                    }
                    self.check_entities(span.clone())?;
                    self.element(span)?;
                }
                Event::End(_) => self.close(span),
                Event::Text(_) | Event::GeneralRef(_) => {
                    self.check_entities(span.clone())?;
                    self.text_node(span)?
                }
                Event::CData(_) => self.leaf(Kind::CData, span)?,
                Event::Comment(_) => self.leaf(Kind::Comment, span)?,
                Event::PI(_) => self.leaf(Kind::ProcessingInstruction, span)?,
                Event::Eof => break,
                _ => {}
            }
        }
        self.finish()
    }

    fn finish(self) -> Result<XmlDoc<'a>, FormatError> {
        if let Some(&open) = self.open.last() {
            let name = self.element_name(open);
            return Err(FormatError::new(
                self.text.len(),
                format!("element <{name}> is never closed"),
            ));
        }
        let roots = self
            .top
            .iter()
            .filter(|&&id| matches!(self.nodes[id].kind, Kind::Element(_)))
            .count();
        if roots != 1 {
            return Err(FormatError::new(
                0,
                format!("expected one root element, found {roots}"),
            ));
        }
        Ok(XmlDoc {
            text: self.text,
            nodes: self.nodes,
            top: self.top,
            prefixes: self.prefixes,
        })
    }

    fn element_name(&self, id: usize) -> String {
        match &self.nodes[id].kind {
            Kind::Element(e) => e.name.clone(),
            _ => String::new(),
        }
    }

    fn attach(&mut self, node: Node) -> Result<usize, FormatError> {
        let id = self.nodes.len();
        let is_element = matches!(node.kind, Kind::Element(_));
        let start = node.span.start;
        self.nodes.push(node);
        match self.open.last() {
            Some(&parent) => self.nodes[parent].children.push(id),
            None if is_element
                && self
                    .top
                    .iter()
                    .any(|&t| matches!(self.nodes[t].kind, Kind::Element(_))) =>
            {
                return Err(FormatError::new(start, "a second root element"));
            }
            None => self.top.push(id),
        }
        Ok(id)
    }

    fn element(&mut self, span: Range<usize>) -> Result<(), FormatError> {
        let tag = &self.text[span.clone()];
        let self_closing = tag.ends_with("/>");
        let (name, attrs) = scan_tag(tag, span.start);
        let scope = self.scope_for(&attrs);
        let prefix = name.rsplit_once(':').map_or("", |(p, _)| p);
        let namespace = scope.get(prefix).cloned().unwrap_or_default();
        let content = span.end..span.end;
        let element = Element {
            name,
            namespace,
            start_tag: span.clone(),
            attrs,
            self_closing,
            content,
        };
        let id = self.attach(Node {
            kind: Kind::Element(element),
            span,
            children: Vec::new(),
        })?;
        if !self_closing {
            self.open.push(id);
            self.scopes.push(scope);
        }
        Ok(())
    }

    /// The in-scope namespace map for an element with these attributes.
    fn scope_for(&mut self, attrs: &[Attr]) -> HashMap<String, String> {
        let mut scope = self.scopes.last().cloned().unwrap_or_default();
        for attr in attrs {
            let value = unescape(&self.text[attr.value.clone()]).into_owned();
            if attr.name == "xmlns" {
                scope.insert(String::new(), value);
            } else if let Some(prefix) = attr.name.strip_prefix("xmlns:") {
                self.prefixes
                    .entry(prefix.to_string())
                    .or_insert_with(|| value.clone());
                scope.insert(prefix.to_string(), value);
            }
        }
        scope
    }

    fn close(&mut self, span: Range<usize>) {
        // quick-xml has already checked that the end tag matches the open element.
        if let Some(id) = self.open.pop() {
            self.scopes.pop();
            let node = &mut self.nodes[id];
            node.span.end = span.end;
            if let Kind::Element(element) = &mut node.kind {
                element.content = element.start_tag.end..span.start;
            }
        }
    }

    /// Every entity reference in `span` (text or a tag's attribute values) must be one XML
    /// predefines, a character reference, or declared in the document's DTD: .NET's reader
    /// refuses the file otherwise (`&nbsp;`), and so Calamari fails the step.
    fn check_entities(&self, span: Range<usize>) -> Result<(), FormatError> {
        let raw = &self.text[span.clone()];
        let mut from = 0;
        while let Some(found) = raw[from..].find('&') {
            let at = from + found;
            let name_len = raw[at + 1..].find(';').unwrap_or(raw.len() - at - 1);
            let name = &raw[at + 1..at + 1 + name_len];
            let predefined = matches!(name, "lt" | "gt" | "amp" | "apos" | "quot");
            let declared = self.text.contains(&format!("<!ENTITY {name} "));
            if !(predefined || name.starts_with('#') || declared) {
                return Err(FormatError::new(
                    span.start + at,
                    format!("reference to undeclared entity `&{name};`"),
                ));
            }
            from = at + 1;
        }
        Ok(())
    }

    fn text_node(&mut self, span: Range<usize>) -> Result<(), FormatError> {
        if self.open.is_empty() {
            if !self.text[span.clone()].trim().is_empty() {
                return Err(FormatError::new(
                    span.start,
                    "text outside the root element",
                ));
            }
            return Ok(());
        }
        // quick-xml splits `a &amp; b` into several events: keep one text node.
        let previous = self
            .open
            .last()
            .and_then(|&p| self.nodes[p].children.last().copied());
        let adjacent_text = previous.filter(|&prev| {
            matches!(self.nodes[prev].kind, Kind::Text) && self.nodes[prev].span.end == span.start
        });
        if let Some(prev) = adjacent_text {
            self.nodes[prev].span.end = span.end;
            return Ok(());
        }
        self.leaf(Kind::Text, span)
    }

    fn leaf(&mut self, kind: Kind, span: Range<usize>) -> Result<(), FormatError> {
        if self.open.is_empty() && matches!(kind, Kind::CData) {
            return Err(FormatError::new(
                span.start,
                "CDATA outside the root element",
            ));
        }
        self.attach(Node {
            kind,
            span,
            children: Vec::new(),
        })
        .map(|_| ())
    }
}

/// Split a start tag into its name and attributes with value spans (`offset` is the tag's start).
/// The syntax was already checked by quick-xml.
fn scan_tag(tag: &str, offset: usize) -> (String, Vec<Attr>) {
    let body = &tag[1..];
    let name_len = body
        .find(|c: char| c.is_whitespace() || c == '/' || c == '>')
        .unwrap_or(body.len());
    let name = body[..name_len].to_string();
    let mut attrs = Vec::new();
    let mut pos = 1 + name_len;
    while let Some(eq) = tag[pos..].find('=') {
        let attr_name = tag[pos..pos + eq].trim().to_string();
        let after_eq = pos + eq + 1;
        let quote_at = after_eq + tag[after_eq..].len() - tag[after_eq..].trim_start().len();
        let Some(quote) = tag[quote_at..]
            .chars()
            .next()
            .filter(|c| *c == '"' || *c == '\'')
        else {
            break;
        };
        let value_start = quote_at + 1;
        let Some(len) = tag[value_start..].find(quote) else {
            break;
        };
        attrs.push(Attr {
            name: attr_name,
            value: offset + value_start..offset + value_start + len,
            quote,
        });
        pos = value_start + len + 1;
    }
    (name, attrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_cover_tags_attributes_and_content() {
        let text = "<?xml version=\"1.0\"?>\n<!-- c -->\n<root a='1' b = \"x&amp;y\"><k>v &amp; w</k><e/></root>\n";
        let doc = XmlDoc::parse(text).expect("parses");
        let root = doc.top.iter().find_map(|&t| doc.element(t)).expect("root");
        assert_eq!(root.name, "root");
        assert_eq!(root.attrs.len(), 2);
        assert_eq!(doc.attr_value(&root.attrs[1]), "x&y");
        assert_eq!(&text[root.attrs[0].value.clone()], "1");
        let k = doc
            .nodes
            .iter()
            .position(|n| matches!(&n.kind, Kind::Element(e) if e.name == "k"))
            .expect("k");
        assert_eq!(doc.string_value(k), "v & w");
        assert_eq!(doc.nodes[k].children.len(), 1, "text pieces merged");
    }

    #[test]
    fn a_leading_byte_order_mark_keeps_spans_on_the_text() {
        // Found by the `structured_xml` fuzz target: a UTF-16 file whose text starts with a
        // second mark; spans were three bytes short and cut a character in two.
        let text = "\u{FEFF}<a>\u{B60}\u{B60}</a>";
        let doc = XmlDoc::parse(text).expect("parses");
        let root = doc.top.iter().find_map(|&t| doc.element(t)).expect("root");
        assert_eq!(&text[root.content.clone()], "\u{B60}\u{B60}");
        assert_eq!(doc.string_value(doc.top[0]), "\u{B60}\u{B60}");
        let err = XmlDoc::parse("\u{FEFF}<a><b></a>").unwrap_err();
        assert_eq!(err.offset, 9, "{}", err.message);
        // Only the first mark is skipped; a second one is text outside the root element.
        let err = XmlDoc::parse("\u{FEFF}\u{FEFF},").unwrap_err();
        assert_eq!(err.offset, 3, "{}", err.message);
    }

    #[test]
    fn malformed_documents_are_refused_with_offsets() {
        for (text, offset) in [
            ("<a><b></a>", 6),
            ("<a>", 3),
            ("a: b", 0),
            ("<a/><b/>", 4),
            ("<a x=1/>", 0),
            ("<a x=\"&lt;&nbsp;\"/>", 10),
            ("<a>&amp;&nbsp;</a>", 8),
        ] {
            let err = XmlDoc::parse(text).unwrap_err();
            assert_eq!(err.offset, offset, "{text}: {}", err.message);
        }
        let declared = "<!DOCTYPE a [<!ENTITY nbsp \"&#160;\">]><a x=\"&nbsp;&#65;\">&nbsp;</a>";
        XmlDoc::parse(declared).expect("a declared entity is fine");
    }
}
