//! .NET configuration transforms (XDT, `docs/octopus-conventions.md` §4.7): a transform file such
//! as `Web.Release.config` mirrors the target's element tree, and each of its elements with an
//! `xdt:Transform` attribute changes the target elements it locates.
//!
//! Locating: an element of the transform matches the target's children of the same local name
//! under the elements its parent matched; `xdt:Locator` narrows that: `Match(a,b)` (the same values
//! of these attributes), `Condition(expr)` (an XPath predicate) or `XPath(path)` (an absolute
//! path, which also becomes the context of the element's children). Transforms: `Replace` (the
//! first match), `Insert` (under each parent match), `InsertIfMissing`, `InsertBefore(xpath)`,
//! `InsertAfter(xpath)`, `Remove` (the first match), `RemoveAll`, `RemoveAttributes(a,b)`,
//! `SetAttributes` and `SetAttributes(a,b)`. Inserted markup is the transform element without its
//! `xdt:` attributes.
//!
//! A transform that locates nothing is a warning, which Calamari treats as an error unless
//! `Octopus.Action.Package.TreatConfigTransformationWarningsAsErrors` is false; the caller
//! decides. The target is edited in place (layout, comments and encoding kept) and re-parsed after
//! each transform, as the XML replacer does. XPath expressions are those of [`super::structured`]'s
//! XPath subset; anything else locates nothing (and so warns).

use std::path::Path;

use super::edit::{Edit, apply_edits};
use super::encoding::{read_text_file, write_atomic};
use super::error::{ConfigError, ConfigFormat, FormatError, HookError};
use super::structured::xpath_select;
use super::xml_tree::{Attr, Element, XmlDoc};
use crate::escape;

/// The namespace of the `xdt:` attributes.
const XDT: &str = "http://schemas.microsoft.com/XML-Document-Transform";

/// What a transform did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransformReport {
    /// Whether the target was rewritten.
    pub changed: bool,
    /// Transforms that located nothing (Calamari's transformation warnings).
    pub warnings: Vec<String>,
}

/// Apply the transform file `transform` to `target`, calling `before_write(target)` before the
/// target is overwritten. A file that does not parse, or a result without a root element, is an
/// error naming the file; the target is then untouched.
pub fn apply_transform(
    target: &Path,
    transform: &Path,
    before_write: &mut dyn FnMut(&Path) -> Result<(), HookError>,
) -> Result<TransformReport, ConfigError> {
    let file = read_text_file(target)?;
    let rules = read_text_file(transform)?;
    let (text, warnings) = transform_text(&file.text, &rules.text).map_err(|e| match e {
        Failure::Target(e) => e.into_config_error(target, ConfigFormat::DotnetConfig, &file.text),
        Failure::Transform(e) => {
            e.into_config_error(transform, ConfigFormat::DotnetConfig, &rules.text)
        }
    })?;
    let changed = text != file.text;
    if changed {
        before_write(target).map_err(|source| ConfigError::BeforeWrite {
            path: target.to_path_buf(),
            source,
        })?;
        write_atomic(target, &file.encode_text(&text))?;
    }
    Ok(TransformReport { changed, warnings })
}

/// Which of the two documents a failure is about.
#[derive(Debug)]
enum Failure {
    Target(FormatError),
    Transform(FormatError),
}

/// One transform element: what it does and how its targets are found.
struct Rule {
    transform: String,
    /// The absolute XPath of the elements it locates.
    path: String,
    /// The path of the elements its parent located (where `Insert` puts it).
    parent: String,
    /// The element as markup to insert, without `xdt:` attributes.
    markup: String,
    /// Its attributes other than `xdt:` ones and namespace declarations: (name, value).
    attrs: Vec<(String, String)>,
}

/// Apply `rules` (the transform document's text) to `text`; the new text and the warnings.
fn transform_text(text: &str, rules: &str) -> Result<(String, Vec<String>), Failure> {
    XmlDoc::parse(text).map_err(Failure::Target)?;
    let doc = XmlDoc::parse(rules).map_err(Failure::Transform)?;
    let mut found = Vec::new();
    for &top in &doc.top {
        collect_rules(&doc, top, "", &mut found);
    }
    let mut current = text.to_string();
    let mut warnings = Vec::new();
    for rule in &found {
        let target = XmlDoc::parse(&current).map_err(Failure::Target)?;
        match edits_for(&target, rule) {
            Some(edits) => current = apply_edits(&current, edits),
            None => warnings.push(format!(
                "no element matches `{}` for xdt:Transform=\"{}\"",
                rule.path, rule.transform
            )),
        }
    }
    XmlDoc::parse(&current).map_err(|e| {
        Failure::Target(FormatError::new(
            e.offset,
            format!("the transformed document is not valid XML ({})", e.message),
        ))
    })?;
    Ok((current, warnings))
}

/// The rules of `id` and its descendants, in document order.
fn collect_rules(doc: &XmlDoc<'_>, id: usize, parent: &str, out: &mut Vec<Rule>) {
    let Some(element) = doc.element(id) else {
        return;
    };
    let path = located_path(doc, element, parent);
    match xdt_attr(doc, element, "Transform") {
        Some(transform) => out.push(Rule {
            transform,
            path,
            parent: parent.to_string(),
            markup: markup_without_xdt(doc, id),
            attrs: plain_attrs(doc, element),
        }),
        None => {
            for &child in &doc.nodes[id].children {
                collect_rules(doc, child, &path, out);
            }
        }
    }
}

/// The XPath of the target elements `element` locates under `parent`.
fn located_path(doc: &XmlDoc<'_>, element: &Element, parent: &str) -> String {
    let step = format!("{parent}/*:{}", element.local_name());
    let Some(locator) = xdt_attr(doc, element, "Locator") else {
        return step;
    };
    let (name, argument) = split_call(&locator);
    match name.as_str() {
        "XPath" => argument,
        "Condition" => format!("{step}[{argument}]"),
        "Match" => {
            let mut path = step;
            for wanted in argument.split(',').map(str::trim) {
                let value = plain_attrs(doc, element)
                    .into_iter()
                    .find(|(n, _)| n == wanted)
                    .map(|(_, v)| v)
                    .unwrap_or_default();
                let quote = if value.contains('\'') { '"' } else { '\'' };
                path.push_str(&format!("[@{wanted}={quote}{value}{quote}]"));
            }
            path
        }
        _ => step,
    }
}

/// `Name(argument)` → (`Name`, `argument`); `Name` → (`Name`, "").
fn split_call(text: &str) -> (String, String) {
    let text = text.trim();
    match text.split_once('(') {
        Some((name, rest)) => (
            name.trim().to_string(),
            rest.strip_suffix(')').unwrap_or(rest).trim().to_string(),
        ),
        None => (text.to_string(), String::new()),
    }
}

/// The value of `xdt:NAME` on `element`, whatever prefix the transform binds to XDT's namespace.
fn xdt_attr(doc: &XmlDoc<'_>, element: &Element, local: &str) -> Option<String> {
    element
        .attrs
        .iter()
        .find(|a| is_xdt(doc, a) && a.name.rsplit(':').next() == Some(local))
        .map(|a| doc.attr_value(a).into_owned())
}

fn is_xdt(doc: &XmlDoc<'_>, attr: &Attr) -> bool {
    let declares = attr.name.starts_with("xmlns:") && doc.attr_value(attr) == XDT;
    let prefixed = attr
        .name
        .split_once(':')
        .is_some_and(|(prefix, _)| doc.prefixes.get(prefix).is_some_and(|ns| ns == XDT));
    declares || prefixed
}

fn plain_attrs(doc: &XmlDoc<'_>, element: &Element) -> Vec<(String, String)> {
    element
        .attrs
        .iter()
        .filter(|a| !is_xdt(doc, a) && a.name != "xmlns" && !a.name.starts_with("xmlns:"))
        .map(|a| (a.name.clone(), doc.attr_value(a).into_owned()))
        .collect()
}

/// The element's markup with every `xdt:` attribute (and the XDT declaration) removed.
fn markup_without_xdt(doc: &XmlDoc<'_>, id: usize) -> String {
    let span = doc.nodes[id].span.clone();
    let mut edits = Vec::new();
    let mut stack = vec![id];
    while let Some(node) = stack.pop() {
        stack.extend(doc.nodes[node].children.iter().copied());
        if let Some(element) = doc.element(node) {
            for attr in element.attrs.iter().filter(|a| is_xdt(doc, a)) {
                let range = attr_range(doc.text, attr);
                edits.push(Edit {
                    range: range.start - span.start..range.end - span.start,
                    text: String::new(),
                });
            }
        }
    }
    apply_edits(&doc.text[span], edits)
}

/// An attribute's whole extent: the blanks before its name through its closing quote.
fn attr_range(text: &str, attr: &Attr) -> std::ops::Range<usize> {
    let before_value = &text[..attr.value.start.saturating_sub(1)];
    let name_at = before_value.rfind(attr.name.as_str()).unwrap_or(0);
    let start = text[..name_at].trim_end().len();
    start..attr.value.end + 1
}

/// The edits one rule makes to `doc`; `None` when it locates nothing.
fn edits_for(doc: &XmlDoc<'_>, rule: &Rule) -> Option<Vec<Edit>> {
    let (name, argument) = split_call(&rule.transform);
    let targets = elements(doc, &rule.path);
    let edits = match name.as_str() {
        "Replace" => vec![replace(doc, *targets.first()?, &rule.markup)],
        "Remove" => vec![remove(doc, *targets.first()?)],
        "RemoveAll" if !targets.is_empty() => targets.iter().map(|&t| remove(doc, t)).collect(),
        "Insert" => insert_under(doc, &elements(doc, &rule.parent), &rule.markup)?,
        "InsertIfMissing" if targets.is_empty() => {
            insert_under(doc, &elements(doc, &rule.parent), &rule.markup)?
        }
        "InsertIfMissing" => Vec::new(),
        "InsertBefore" => {
            let at = doc.nodes[*elements(doc, &argument).first()?].span.start;
            vec![insert_at(at, &rule.markup)]
        }
        "InsertAfter" => {
            let at = doc.nodes[*elements(doc, &argument).first()?].span.end;
            vec![insert_at(at, &rule.markup)]
        }
        "SetAttributes" if !targets.is_empty() => targets
            .iter()
            .flat_map(|&t| set_attributes(doc, t, &rule.attrs, &argument))
            .collect(),
        "RemoveAttributes" if !targets.is_empty() => targets
            .iter()
            .flat_map(|&t| remove_attributes(doc, t, &argument))
            .collect(),
        _ => return None,
    };
    Some(edits)
}

/// The element nodes an absolute path selects.
fn elements(doc: &XmlDoc<'_>, path: &str) -> Vec<usize> {
    xpath_select(doc, path)
        .into_iter()
        .filter(|&id| doc.element(id).is_some())
        .collect()
}

fn replace(doc: &XmlDoc<'_>, id: usize, markup: &str) -> Edit {
    Edit {
        range: doc.nodes[id].span.clone(),
        text: markup.to_string(),
    }
}

/// Remove an element, and the blanks before it when they are all its line holds.
fn remove(doc: &XmlDoc<'_>, id: usize) -> Edit {
    let span = doc.nodes[id].span.clone();
    let before = &doc.text[..span.start];
    let blanks = before.len() - before.trim_end_matches([' ', '\t']).len();
    let line_start = span.start - blanks;
    let own_line = before[..line_start].ends_with('\n') || line_start == 0;
    let after = &doc.text[span.end..];
    let newline = if after.starts_with("\r\n") {
        2
    } else {
        usize::from(after.starts_with('\n'))
    };
    let range = if own_line {
        line_start..span.end + newline
    } else {
        span
    };
    Edit {
        range,
        text: String::new(),
    }
}

fn insert_under(doc: &XmlDoc<'_>, parents: &[usize], markup: &str) -> Option<Vec<Edit>> {
    if parents.is_empty() {
        return None;
    }
    let edits = parents
        .iter()
        .filter_map(|&p| doc.element(p))
        .map(|element| doc.append_content(element, markup))
        .collect();
    Some(edits)
}

fn insert_at(at: usize, markup: &str) -> Edit {
    Edit {
        range: at..at,
        text: markup.to_string(),
    }
}

/// `SetAttributes` (every attribute of the transform element) or `SetAttributes(a,b)` (those).
fn set_attributes(
    doc: &XmlDoc<'_>,
    id: usize,
    attrs: &[(String, String)],
    only: &str,
) -> Vec<Edit> {
    let Some(element) = doc.element(id) else {
        return Vec::new();
    };
    let named: Vec<&str> = only
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .collect();
    let wanted = attrs
        .iter()
        .filter(|(name, _)| named.is_empty() || named.contains(&name.as_str()));
    let mut additions = String::new();
    let mut edits = Vec::new();
    for (name, value) in wanted {
        match element.attrs.iter().find(|a| a.name == *name) {
            Some(existing) => edits.push(doc.set_attr(existing, value)),
            None => additions.push_str(&format!(" {name}=\"{}\"", escape::xml_attr(value, '"'))),
        }
    }
    if !additions.is_empty() {
        // One insertion for all new attributes: several edits at one offset would be dropped.
        let at = doc.attr_insert_at(element);
        edits.push(Edit {
            range: at..at,
            text: additions,
        });
    }
    edits
}

fn remove_attributes(doc: &XmlDoc<'_>, id: usize, names: &str) -> Vec<Edit> {
    let Some(element) = doc.element(id) else {
        return Vec::new();
    };
    names
        .split(',')
        .map(str::trim)
        .filter_map(|name| element.attrs.iter().find(|a| a.name == name))
        .map(|attr| Edit {
            range: attr_range(doc.text, attr),
            text: String::new(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const WEB: &str = "<?xml version=\"1.0\"?>\n<configuration>\n  <system.web>\n    <compilation debug=\"true\" targetFramework=\"4.0\" />\n  </system.web>\n  <appSettings>\n    <add key=\"WelcomeMessage\" value=\"\" />\n    <add key=\"LogFile\" value=\"\" />\n  </appSettings>\n</configuration>\n";

    fn rules(body: &str) -> String {
        format!(
            "<configuration xmlns:xdt=\"http://schemas.microsoft.com/XML-Document-Transform\">{body}</configuration>"
        )
    }

    fn apply(body: &str) -> (String, Vec<String>) {
        transform_text(WEB, &rules(body)).expect("transforms")
    }

    #[test]
    fn set_and_remove_attributes_located_by_match() {
        let (text, warnings) = apply(
            "<appSettings><add key=\"WelcomeMessage\" value=\"Release!\" xdt:Transform=\"SetAttributes\" xdt:Locator=\"Match(key)\" /></appSettings><system.web><compilation xdt:Transform=\"RemoveAttributes(debug)\" /></system.web>",
        );
        assert!(warnings.is_empty(), "{warnings:?}");
        assert!(
            text.contains("<add key=\"WelcomeMessage\" value=\"Release!\" />"),
            "{text}"
        );
        assert!(
            text.contains("<compilation targetFramework=\"4.0\" />"),
            "{text}"
        );
        assert!(
            text.contains("<add key=\"LogFile\" value=\"\" />"),
            "{text}"
        );
    }

    #[test]
    fn insert_replace_and_remove() {
        let (text, _) = apply(
            "<appSettings><add key=\"New\" value=\"1\" xdt:Transform=\"Insert\" /><add key=\"LogFile\" xdt:Locator=\"Condition(@key='LogFile')\" xdt:Transform=\"Remove\" /></appSettings><system.web xdt:Transform=\"Replace\"><compilation debug=\"false\" /></system.web>",
        );
        assert!(
            text.contains("<add key=\"New\" value=\"1\" /></appSettings>"),
            "{text}"
        );
        assert!(!text.contains("LogFile"), "{text}");
        assert!(
            text.contains("<system.web><compilation debug=\"false\" /></system.web>"),
            "{text}"
        );
    }

    #[test]
    fn insert_if_missing_before_after_and_remove_all() {
        let (text, _) = apply(
            "<appSettings><add key=\"LogFile\" xdt:Transform=\"InsertIfMissing\" xdt:Locator=\"Match(key)\" /><add key=\"X\" xdt:Transform=\"InsertIfMissing\" xdt:Locator=\"Match(key)\" /><add key=\"B\" xdt:Transform=\"InsertBefore(/configuration/appSettings/add[@key='WelcomeMessage'])\" /><add key=\"A\" xdt:Transform=\"InsertAfter(/configuration/appSettings/add[@key='LogFile'])\" /></appSettings><system.web xdt:Transform=\"RemoveAll\" />",
        );
        assert_eq!(text.matches("key=\"LogFile\"").count(), 1, "{text}");
        assert!(
            text.contains("<add key=\"B\" /><add key=\"WelcomeMessage\""),
            "{text}"
        );
        assert!(
            text.contains("<add key=\"LogFile\" value=\"\" /><add key=\"A\" />"),
            "{text}"
        );
        assert!(text.contains("<add key=\"X\" /></appSettings>"), "{text}");
        assert!(!text.contains("system.web"), "{text}");
    }

    #[test]
    fn a_transform_that_locates_nothing_warns() {
        let (text, warnings) = apply(
            "<appSettings><add key=\"NewName\" xdt:Locator=\"Condition(@key='OldName')\" xdt:Transform=\"SetAttributes(key)\" /></appSettings>",
        );
        assert_eq!(text, WEB);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
    }

    #[test]
    fn removing_the_root_leaves_no_root() {
        let rules = "<configuration xmlns:xdt=\"http://schemas.microsoft.com/XML-Document-Transform\" xdt:Transform=\"Remove\"></configuration>";
        let result = transform_text(WEB, rules);
        assert!(matches!(result, Err(Failure::Target(_))), "{result:?}");
    }
}
