//! XML structured variables (Calamari `XmlFormatVariableReplacer`): a variable whose name contains
//! `/` or `:` is an XPath (the subset in [`super::xpath`]); every node it selects gets the value.
//!
//! - attribute: its value; text or CDATA node: its data; comment: its text;
//! - element holding only one CDATA section: that section's content;
//! - element with child elements: the value is parsed as an XML fragment and becomes the content
//!   (a value that is not well-formed is skipped with a warning, as Calamari does);
//! - any other element: its content becomes the value as text.
//!
//! Edits are surgical: the declaration, comments, attribute order and quotes, indentation and
//! line endings stay as they were (Calamari re-indents the whole file). Variables are applied in
//! order, each to the document as the previous ones left it.

use super::xpath::{Selected, select};
use super::{StructuredVariable, Transformed};
use crate::config::error::FormatError;
use crate::config::variables::effective;
use crate::config::xml_tree::{Edit, Kind, XmlDoc, apply_edits};
use crate::escape;

/// Apply `variables` to the XML `text`.
pub(super) fn transform(
    text: &str,
    variables: &[StructuredVariable],
) -> Result<Transformed, FormatError> {
    XmlDoc::parse(text)?;
    let mut current = text.to_string();
    let mut out = Transformed::default();
    for (name, value) in effective(variables) {
        if !name.contains(['/', ':']) {
            continue;
        }
        let value = value.as_deref().unwrap_or_default();
        // Re-parsing the previous output cannot fail: every edit writes well-formed markup.
        let doc = XmlDoc::parse(&current)?;
        let Some(selected) = select(&doc, name) else {
            continue;
        };
        let edits = edits_for(&doc, &selected, name, value, &mut out.warnings);
        if edits.is_empty() {
            continue;
        }
        current = apply_edits(&current, edits);
        out.replaced.push(name.to_string());
    }
    if current != text {
        // Never write a document that does not parse: every edit should keep it well-formed,
        // and this makes sure of it.
        XmlDoc::parse(&current).map_err(|e| {
            FormatError::new(
                e.offset,
                format!("the replaced document would not parse ({}); this is a dropship bug, please report it with the file", e.message),
            )
        })?;
        out.text = Some(current);
    }
    Ok(out)
}

fn edits_for(
    doc: &XmlDoc<'_>,
    selected: &[Selected],
    name: &str,
    value: &str,
    warnings: &mut Vec<String>,
) -> Vec<Edit> {
    let mut edits = Vec::new();
    for &node in selected {
        match node {
            Selected::Attr(id, a) => {
                if let Some(element) = doc.element(id) {
                    edits.push(doc.set_attr(&element.attrs[a], value));
                }
            }
            Selected::Node(id) => match element_edit(doc, id, name, value, warnings) {
                Some(edit) => edits.push(edit),
                None if doc.element(id).is_none() => edits.push(doc.set_data(id, value)),
                None => {}
            },
            Selected::Document => {}
        }
    }
    edits
}

/// The edit for an element node; `None` for non-elements or a skipped fragment.
fn element_edit(
    doc: &XmlDoc<'_>,
    id: usize,
    name: &str,
    value: &str,
    warnings: &mut Vec<String>,
) -> Option<Edit> {
    let element = doc.element(id)?;
    let children = &doc.nodes[id].children;
    if let [only] = children.as_slice() {
        let only = *only;
        if matches!(doc.nodes[only].kind, Kind::CData) {
            return Some(doc.set_data(only, value));
        }
        // Any other single child falls through to the text and fragment cases.
    }
    if !children.iter().any(|&c| doc.element(c).is_some()) {
        return Some(doc.set_content(element, &escape::xml_text(value)));
    }
    let wrapped = format!("<fragment>{value}</fragment>");
    if XmlDoc::parse(&wrapped).is_err() {
        warnings.push(format!(
            "`{name}` selects an element with child elements but its value is not a well-formed XML fragment; skipped"
        ));
        return None;
    }
    Some(doc.set_content(element, value))
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

    const CONFIG: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<!-- keep me -->\r\n<config b='2' a=\"1\">\r\n  <name>old</name>\r\n  <empty/>\r\n  <script><![CDATA[x < y]]></script>\r\n  <db><host>h</host></db>\r\n</config>\r\n";

    #[test]
    fn processing_instructions_wildcard_namespaces_and_self_predicates() {
        let text = "<d xmlns:p=\"urn:p\"><n xmlns=\"urn:x\">1</n><p:n>2</p:n><n>3</n><?xml-stylesheet type=\"a\"?><m>Micha\u{142}</m></d>";
        let out = apply(
            text,
            &[
                ("/d/processing-instruction('xml-stylesheet')", "value-new"),
                ("//*:n", "v"),
                ("//m[.='Micha\u{142}']", "Micha\u{142}+"),
            ],
        );
        assert_eq!(
            out.text.as_deref(),
            Some(
                "<d xmlns:p=\"urn:p\"><n xmlns=\"urn:x\">v</n><p:n>v</p:n><n>v</n><?xml-stylesheet value-new?><m>Micha\u{142}+</m></d>"
            )
        );
    }

    #[test]
    fn surgical_edits_keep_declaration_comments_and_attribute_order() {
        let out = apply(
            CONFIG,
            &[
                ("/config/name", "new & <improved>"),
                ("/config/@a", "it's \"q\""),
                ("//empty", "filled"),
                ("/config/script", "a ]]> b"),
                ("/config/db", "<host>n</host><port>1</port>"),
                ("Octopus.Action.Name", "ignored"),
            ],
        );
        let expected = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<!-- keep me -->\r\n<config b='2' a=\"it's &quot;q&quot;\">\r\n  <name>new &amp; &lt;improved&gt;</name>\r\n  <empty>filled</empty>\r\n  <script><![CDATA[a ]]]]><![CDATA[> b]]></script>\r\n  <db><host>n</host><port>1</port></db>\r\n</config>\r\n";
        assert_eq!(out.text.as_deref(), Some(expected));
        assert_eq!(out.replaced.len(), 5);
    }

    #[test]
    fn invalid_fragment_is_skipped_with_warning_and_later_variables_see_earlier_edits() {
        let out = apply(
            CONFIG,
            &[
                ("/config/db", "<host>"),
                ("/config/db/host", "x"),
                ("//host/text()", "y"),
            ],
        );
        assert_eq!(out.warnings.len(), 1);
        assert!(
            out.text
                .as_deref()
                .is_some_and(|t| t.contains("<db><host>y</host></db>"))
        );
    }

    #[test]
    fn no_match_leaves_text_unchanged_and_bad_xml_is_an_error() {
        assert_eq!(
            apply(CONFIG, &[("/config/missing", "x"), ("Logging:Level", "y")]).text,
            None
        );
        assert!(transform("<a><b></a>", &[]).is_err());
    }

    #[test]
    fn namespaces_follow_xpath_rules() {
        let text = "<c xmlns=\"urn:d\" xmlns:p=\"urn:p\"><v>1</v><p:v p:a=\"x\">2</p:v></c>";
        assert_eq!(
            apply(text, &[("/c/v", "9")]).text,
            None,
            "default namespace needs a prefix"
        );
        let out = apply(text, &[("//p:v", "8"), ("//p:v/@p:a", "y")]);
        assert_eq!(
            out.text.as_deref(),
            Some("<c xmlns=\"urn:d\" xmlns:p=\"urn:p\"><v>1</v><p:v p:a=\"y\">8</p:v></c>")
        );
    }

    #[test]
    fn every_selected_node_is_set_and_comments_and_text_nodes_work() {
        let text = "<r><!-- old --><i>a</i><i>b</i>tail</r>";
        let out = apply(
            text,
            &[("/r/i", "z"), ("/r/comment()", " new "), ("/r/text()", "T")],
        );
        assert_eq!(
            out.text.as_deref(),
            Some("<r><!-- new --><i>z</i><i>z</i>T</r>")
        );
    }

    #[test]
    fn every_value_reads_back_after_replacement() {
        let text = "<r a='1' b=\"2\"><t>x</t><c><![CDATA[y]]></c><e/><!--z--></r>";
        let paths = ["/r/@a", "/r/@b", "/r/t", "/r/c", "/r/e"];
        for awkward in ["<&>\"'", "]]>", "a--b", "", "é\r\nü\t"] {
            let pairs: Vec<(&str, &str)> = paths.iter().map(|p| (*p, awkward)).collect();
            let out = apply(text, &pairs);
            let changed = out.text.unwrap_or_else(|| text.to_string());
            let doc = XmlDoc::parse(&changed).expect("still well-formed");
            for path in paths {
                let selected = select(&doc, path).expect("compiles");
                let value = match selected[0] {
                    Selected::Attr(id, a) => doc
                        .element(id)
                        .map(|e| doc.attr_value(&e.attrs[a]).into_owned()),
                    Selected::Node(id) => Some(doc.string_value(id)),
                    Selected::Document => None,
                };
                assert_eq!(value.as_deref(), Some(awkward), "{path} in {changed}");
            }
        }
    }
}
