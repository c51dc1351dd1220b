//! The XPath subset that XML structured variables use to address nodes.
//!
//! Calamari compiles a variable name containing `/` or `:` as XPath 2 (Wmhelp.XPath2) and ignores
//! names that do not compile. This module supports the location paths config files need:
//! `/a/b`, `//b`, `a/b` (from the document), `*`, `prefix:name` (prefixes declared anywhere in the
//! document), `*:name` (XPath 2: any namespace), `@attr`, `@*`, `text()`, `comment()`, `node()`,
//! `processing-instruction()` and `processing-instruction('target')`, and predicates `[n]`,
//! `[last()]`, `[@attr]`, `[@attr='v']`, `[child='v']`, `[text()='v']`, `[.='v']`. Names are case-sensitive, as in XPath;
//! an unprefixed name matches only elements in no namespace (also as in XPath). Anything else —
//! functions, axes, arithmetic, unions — does not compile and the variable is ignored.

use crate::config::xml_tree::{Kind, XmlDoc};

/// A node selected by a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Selected {
    Document,
    Node(usize),
    /// Element node id and attribute index.
    Attr(usize, usize),
}

#[derive(Debug, Clone, PartialEq)]
enum Test {
    Name {
        namespace: String,
        local: String,
    },
    AnyElement,
    Attr {
        namespace: String,
        local: String,
    },
    AnyAttr,
    /// `*:local` (XPath 2): an element of this local name in any namespace.
    AnyNamespace(String),
    Text,
    Comment,
    /// `processing-instruction()`, or with a target `processing-instruction('name')`.
    ProcessingInstruction(Option<String>),
    Node,
}

#[derive(Debug, Clone, PartialEq)]
enum Predicate {
    Index(usize),
    Last,
    HasAttr(Test),
    AttrEquals(Test, String),
    ChildEquals(Test, String),
    TextEquals(String),
    /// `[.='v']`: the node's own string value.
    SelfEquals(String),
}

#[derive(Debug, Clone, PartialEq)]
struct Step {
    descendant: bool,
    test: Test,
    predicates: Vec<Predicate>,
}

/// Compile `path` against `doc`'s namespace prefixes; `None` when it is not a supported path.
pub(super) fn select(doc: &XmlDoc<'_>, path: &str) -> Option<Vec<Selected>> {
    let steps = compile(doc, path)?;
    let mut context = vec![Selected::Document];
    for step in &steps {
        context = apply_step(doc, &context, step);
    }
    context.sort();
    context.dedup();
    Some(context)
}

fn compile(doc: &XmlDoc<'_>, path: &str) -> Option<Vec<Step>> {
    let mut rest = path.trim();
    let mut steps = Vec::new();
    let mut first = true;
    while !rest.is_empty() || first {
        let descendant = rest.starts_with("//");
        rest = rest
            .strip_prefix("//")
            .or_else(|| rest.strip_prefix('/'))
            .unwrap_or(if first { rest } else { "" });
        if rest.is_empty() && !first {
            return None;
        }
        let (step, after) = parse_step(doc, rest, descendant)?;
        steps.push(step);
        rest = after;
        first = false;
        if !rest.is_empty() && !rest.starts_with('/') {
            return None;
        }
    }
    Some(steps)
}

fn parse_step<'p>(doc: &XmlDoc<'_>, text: &'p str, descendant: bool) -> Option<(Step, &'p str)> {
    let test_len = text.find(['/', '[']).unwrap_or(text.len());
    let test = parse_test(doc, text[..test_len].trim())?;
    let mut rest = &text[test_len..];
    let mut predicates = Vec::new();
    while let Some(inner) = rest.strip_prefix('[') {
        let close = inner.find(']')?;
        predicates.push(parse_predicate(doc, inner[..close].trim())?);
        rest = &inner[close + 1..];
    }
    Some((
        Step {
            descendant,
            test,
            predicates,
        },
        rest,
    ))
}

fn parse_test(doc: &XmlDoc<'_>, text: &str) -> Option<Test> {
    match text {
        "*" => Some(Test::AnyElement),
        "@*" => Some(Test::AnyAttr),
        "text()" => Some(Test::Text),
        "comment()" => Some(Test::Comment),
        "node()" => Some(Test::Node),
        "processing-instruction()" => Some(Test::ProcessingInstruction(None)),
        _ if text.starts_with("processing-instruction(") => {
            let argument = text
                .strip_prefix("processing-instruction(")?
                .strip_suffix(')')?;
            literal(argument.trim()).map(|target| Test::ProcessingInstruction(Some(target)))
        }
        _ if text.starts_with("*:") => {
            let local = &text[2..];
            qname(doc, local).filter(|(ns, _)| ns.is_empty())?;
            Some(Test::AnyNamespace(local.to_string()))
        }
        _ => match text.strip_prefix('@') {
            Some(name) => {
                qname(doc, name).map(|(namespace, local)| Test::Attr { namespace, local })
            }
            None => qname(doc, text).map(|(namespace, local)| Test::Name { namespace, local }),
        },
    }
}

/// Resolve `prefix:local` through the document's declarations; an undeclared prefix or a name
/// with invalid characters does not compile (Calamari ignores such variables).
fn qname(doc: &XmlDoc<'_>, text: &str) -> Option<(String, String)> {
    let valid = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
            && !s.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '.')
    };
    match text.split_once(':') {
        Some((prefix, local)) if valid(prefix) && valid(local) => doc
            .prefixes
            .get(prefix)
            .map(|ns| (ns.clone(), local.to_string())),
        None if valid(text) => Some((String::new(), text.to_string())),
        _ => None,
    }
}

fn parse_predicate(doc: &XmlDoc<'_>, text: &str) -> Option<Predicate> {
    if let Ok(index) = text.parse::<usize>() {
        return (index > 0).then_some(Predicate::Index(index));
    }
    if text == "last()" {
        return Some(Predicate::Last);
    }
    let Some((left, right)) = text.split_once('=') else {
        return match parse_test(doc, text)? {
            attr @ (Test::Attr { .. } | Test::AnyAttr) => Some(Predicate::HasAttr(attr)),
            _ => None,
        };
    };
    let literal = literal(right.trim())?;
    if left.trim() == "." {
        return Some(Predicate::SelfEquals(literal));
    }
    match parse_test(doc, left.trim())? {
        attr @ (Test::Attr { .. } | Test::AnyAttr) => Some(Predicate::AttrEquals(attr, literal)),
        Test::Text => Some(Predicate::TextEquals(literal)),
        child @ (Test::Name { .. } | Test::AnyElement) => {
            Some(Predicate::ChildEquals(child, literal))
        }
        _ => None,
    }
}

fn literal(text: &str) -> Option<String> {
    let quote = text.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let inner = text.strip_prefix(quote)?.strip_suffix(quote)?;
    (!inner.contains(quote)).then(|| inner.to_string())
}

fn apply_step(doc: &XmlDoc<'_>, context: &[Selected], step: &Step) -> Vec<Selected> {
    let mut out = Vec::new();
    for &node in context {
        let parents = if step.descendant {
            self_and_descendants(doc, node)
        } else {
            vec![node]
        };
        for parent in parents {
            let candidates: Vec<Selected> = candidates(doc, parent, &step.test)
                .into_iter()
                .filter(|&c| matches(doc, c, &step.test))
                .collect();
            out.extend(filter(doc, candidates, &step.predicates));
        }
    }
    out
}

fn children(doc: &XmlDoc<'_>, node: Selected) -> Vec<usize> {
    match node {
        Selected::Document => doc.top.clone(),
        Selected::Node(id) => doc.nodes[id].children.clone(),
        Selected::Attr(..) => Vec::new(),
    }
}

fn self_and_descendants(doc: &XmlDoc<'_>, node: Selected) -> Vec<Selected> {
    let mut out = vec![node];
    let mut index = 0;
    while index < out.len() {
        let kids = children(doc, out[index]);
        out.extend(
            kids.into_iter()
                .filter(|&k| doc.element(k).is_some())
                .map(Selected::Node),
        );
        index += 1;
    }
    out
}

fn candidates(doc: &XmlDoc<'_>, parent: Selected, test: &Test) -> Vec<Selected> {
    match (test, parent) {
        (Test::Attr { .. } | Test::AnyAttr, Selected::Node(id)) => {
            let count = doc.element(id).map_or(0, |e| e.attrs.len());
            (0..count).map(|a| Selected::Attr(id, a)).collect()
        }
        (Test::Attr { .. } | Test::AnyAttr, _) => Vec::new(),
        _ => children(doc, parent)
            .into_iter()
            .map(Selected::Node)
            .collect(),
    }
}

fn matches(doc: &XmlDoc<'_>, node: Selected, test: &Test) -> bool {
    match (node, test) {
        (Selected::Attr(id, a), Test::AnyAttr) => doc
            .element(id)
            .is_some_and(|e| !is_namespace_decl(&e.attrs[a].name)),
        (Selected::Attr(id, a), Test::Attr { namespace, local }) => {
            doc.element(id).is_some_and(|e| {
                let name = &e.attrs[a].name;
                let (prefix, attr_local) = name.split_once(':').unwrap_or(("", name));
                let attr_ns = if prefix.is_empty() {
                    ""
                } else {
                    doc.prefixes.get(prefix).map_or("", |s| s.as_str())
                };
                attr_local == local && attr_ns == namespace && !is_namespace_decl(name)
            })
        }
        (Selected::Node(id), _) => match (&doc.nodes[id].kind, test) {
            (Kind::Element(e), Test::Name { namespace, local }) => {
                e.local_name() == local && &e.namespace == namespace
            }
            (Kind::Element(_), Test::AnyElement) => true,
            (Kind::Element(e), Test::AnyNamespace(local)) => e.local_name() == local,
            (Kind::ProcessingInstruction, Test::ProcessingInstruction(target)) => {
                target.as_deref().is_none_or(|t| doc.pi_parts(id).0 == t)
            }
            (Kind::Text | Kind::CData, Test::Text) => true,
            (Kind::Comment, Test::Comment) => true,
            (_, Test::Node) => true,
            _ => false,
        },
        _ => false,
    }
}

fn is_namespace_decl(name: &str) -> bool {
    name == "xmlns" || name.starts_with("xmlns:")
}

fn filter(doc: &XmlDoc<'_>, mut nodes: Vec<Selected>, predicates: &[Predicate]) -> Vec<Selected> {
    for predicate in predicates {
        nodes = match predicate {
            Predicate::Index(n) => nodes.get(n - 1).copied().into_iter().collect(),
            Predicate::Last => nodes.last().copied().into_iter().collect(),
            other => nodes
                .into_iter()
                .filter(|&n| holds(doc, n, other))
                .collect(),
        };
    }
    nodes
}

fn holds(doc: &XmlDoc<'_>, node: Selected, predicate: &Predicate) -> bool {
    let Selected::Node(id) = node else {
        return false;
    };
    match predicate {
        Predicate::HasAttr(test) => candidates(doc, node, test)
            .into_iter()
            .any(|a| matches(doc, a, test)),
        Predicate::AttrEquals(test, value) => candidates(doc, node, test)
            .into_iter()
            .any(|a| matches(doc, a, test) && selected_value(doc, a) == *value),
        Predicate::ChildEquals(test, value) => doc.nodes[id]
            .children
            .iter()
            .any(|&c| matches(doc, Selected::Node(c), test) && doc.string_value(c) == *value),
        Predicate::TextEquals(value) => doc.nodes[id].children.iter().any(|&c| {
            matches!(doc.nodes[c].kind, Kind::Text | Kind::CData) && doc.string_value(c) == *value
        }),
        Predicate::SelfEquals(value) => doc.string_value(id) == *value,
        Predicate::Index(_) | Predicate::Last => false,
    }
}

fn selected_value(doc: &XmlDoc<'_>, node: Selected) -> String {
    match node {
        Selected::Attr(id, a) => doc
            .element(id)
            .map_or(String::new(), |e| doc.attr_value(&e.attrs[a]).into_owned()),
        Selected::Node(id) => doc.string_value(id),
        Selected::Document => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"<root xmlns:x="urn:x"><a id="1"><b>one</b></a><a id="2"><b>two</b><x:c>ns</x:c></a><!--note--></root>"#;

    fn names(path: &str) -> Option<Vec<String>> {
        let doc = XmlDoc::parse(DOC).expect("parses");
        select(&doc, path).map(|nodes| {
            nodes
                .into_iter()
                .map(|n| match n {
                    Selected::Attr(id, a) => {
                        format!("@{}", doc.element(id).map_or("", |e| &e.attrs[a].name))
                    }
                    Selected::Node(id) => doc
                        .element(id)
                        .map_or_else(|| doc.string_value(id), |e| e.name.clone()),
                    Selected::Document => "/".to_string(),
                })
                .collect()
        })
    }

    #[test]
    fn paths_and_predicates() {
        assert_eq!(names("/root/a/b").expect("compiles"), ["b", "b"]);
        assert_eq!(names("//a[2]/b/text()").expect("compiles"), ["two"]);
        assert_eq!(names("//a[@id='1']/@id").expect("compiles"), ["@id"]);
        assert_eq!(names("root/a[b=\"two\"]/x:c").expect("compiles"), ["x:c"]);
        assert_eq!(names("//a[last()]").expect("compiles").len(), 1);
        assert_eq!(names("/root/*").expect("compiles").len(), 2);
        assert_eq!(names("/root/comment()").expect("compiles"), [""]);
        assert!(
            names("/root/c").expect("compiles").is_empty(),
            "unprefixed names are in no namespace"
        );
    }

    #[test]
    fn unsupported_or_undeclared_names_do_not_compile() {
        for path in [
            "Logging:LogLevel:Default",
            "ConnectionStrings:Default",
            "/root/a[position()>1]",
            "/root/",
            "count(//a)",
        ] {
            assert_eq!(names(path), None, "{path}");
        }
    }
}
