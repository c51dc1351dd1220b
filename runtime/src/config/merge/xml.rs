//! The three-way merge of an XML `.config` file by its entries: each `<add key="…">` under an
//! `appSettings` element and `<add name="…">` under a `connectionStrings` element (named
//! `appSettings[key]`), attribute by attribute (`appSettings[key]@value`). The decisions are
//! surgical edits of the customer's file: an attribute set or added, an entry the vendor added
//! copied from the new version after the section's last element, an entry the vendor removed
//! taken out with its line. The rest of the document must be as the installed version had it
//! in the new version, else the file is not merged (the vendor's other changes would be lost).

use super::keyed::{self, Change, Values};
use super::{Mask, Merged, unchanged};
use crate::config::dotnet::walk;
use crate::config::edit::{Edit, apply_edits};
use crate::config::xml_tree::XmlDoc;

/// An entry: its name (`appSettings[key]`), element id, and the attribute that names it.
struct Entry {
    name: String,
    id: usize,
    key_attr: &'static str,
}

/// Merge three XML texts; an error says which does not parse or cannot be merged.
pub(super) fn three_way(
    base: &str,
    theirs: &str,
    new: &str,
    mask: Mask<'_>,
) -> Result<Merged, String> {
    let parse = |text, which: &str| {
        XmlDoc::parse(text).map_err(|e| format!("{which} is not XML ({})", e.message))
    };
    let (base_doc, theirs_doc, new_doc) = (
        parse(base, "the installed version's file")?,
        parse(theirs, "your file")?,
        parse(new, "the new version's file")?,
    );
    if !unchanged(&rest(&base_doc), &rest(&new_doc), mask) {
        return Err(
            "the new version changes it outside `appSettings` and `connectionStrings`".to_string(),
        );
    }
    let (base_values, theirs_values, new_values) = (
        values(&base_doc, "the installed version's file")?,
        values(&theirs_doc, "your file")?,
        values(&new_doc, "the new version's file")?,
    );
    let mut decisions = keyed::decide(&base_values, &theirs_values, &new_values, mask);
    let text = edit(&theirs_doc, &new_doc, &decisions.changes)?;
    // An entry both sides have is merged by its attributes; one in conflict because of an
    // attribute in conflict is said once, by the attribute.
    let conflicts = decisions.conflicts.clone();
    let has = |values: &Values, name: &str| values.iter().any(|(k, _)| k == name);
    decisions.conflicts.retain(|c| {
        let by_attribute = conflicts.iter().any(|other| {
            other
                .strip_prefix(c.as_str())
                .is_some_and(|r| r.starts_with('@'))
        });
        let both_have = has(&theirs_values, c) && has(&new_values, c);
        c.contains("]@") || !(by_attribute || both_have)
    });
    let expected = presence(keyed::expected(&theirs_values, &new_values, &decisions));
    let merged = presence(values(
        &parse(&text, "the merged file")?,
        "the merged file",
    )?);
    if !keyed::same_values(&merged, &expected) {
        return Err("the merged file would not hold the merged values".to_string());
    }
    Ok(Merged {
        text,
        conflicts: decisions.conflicts,
    })
}

fn entries(doc: &XmlDoc<'_>) -> Vec<Entry> {
    let mut found = Vec::new();
    walk(doc, &doc.top, &mut Vec::new(), &mut |id, ancestors| {
        let Some(element) = doc.element(id) else {
            return;
        };
        let (section, key_attr) = match ancestors.last() {
            Some(&"appSettings") => ("appSettings", "key"),
            Some(&"connectionStrings") => ("connectionStrings", "name"),
            _ => return,
        };
        let key = element.attrs.iter().find(|a| a.name == key_attr);
        if let (true, Some(key)) = (element.local_name() == "add", key) {
            found.push(Entry {
                name: format!("{section}[{}]", doc.attr_value(key)),
                id,
                key_attr,
            });
        }
    });
    found
}

/// Each entry (all its other attributes, a line each, so that removing an entry the customer
/// changed is a conflict) and each of its other attributes.
fn values(doc: &XmlDoc<'_>, which: &str) -> Result<Values, String> {
    let mut values = Vec::new();
    for entry in entries(doc) {
        let Some(element) = doc.element(entry.id) else {
            continue;
        };
        let attrs: Vec<(String, String)> = element
            .attrs
            .iter()
            .filter(|a| a.name != entry.key_attr)
            .map(|a| (a.name.clone(), doc.attr_value(a).into_owned()))
            .collect();
        let whole: Vec<String> = attrs.iter().map(|(n, v)| format!("{n}={v}")).collect();
        values.push((entry.name.clone(), whole.join("\n")));
        for (name, value) in attrs {
            values.push((format!("{}@{name}", entry.name), value));
        }
    }
    keyed::unique(values, which)
}

/// `values` with each entry's own value blanked: what it holds is checked attribute by attribute.
fn presence(values: Values) -> Values {
    values
        .into_iter()
        .map(|(k, v)| match k.contains("]@") {
            true => (k, v),
            false => (k, String::new()),
        })
        .collect()
}

/// The document without its entries (each with the blanks before it).
fn rest(doc: &XmlDoc<'_>) -> String {
    let edits = entries(doc)
        .iter()
        .map(|entry| Edit {
            range: with_blanks_before(doc, entry.id),
            text: String::new(),
        })
        .collect();
    apply_edits(doc.text, edits)
}

/// An element's span from the end of the text before it that is not blank.
fn with_blanks_before(doc: &XmlDoc<'_>, id: usize) -> std::ops::Range<usize> {
    let span = doc.nodes[id].span.clone();
    doc.text[..span.start].trim_end().len()..span.end
}

/// The customer's document with `changes` made, entries copied from the new version's.
fn edit(theirs: &XmlDoc<'_>, new: &XmlDoc<'_>, changes: &[Change]) -> Result<String, String> {
    let (ours, vendor) = (entries(theirs), entries(new));
    let find = |entries: &[Entry], name: &str| entries.iter().position(|e| e.name == name);
    let mut edits = Vec::new();
    for change in changes {
        let (Change::Set(path) | Change::Add(path) | Change::Remove(path)) = change;
        let (name, attr) = path
            .split_once("]@")
            .map_or((path.as_str(), None), |(n, a)| {
                (&path[..n.len() + 1], Some(a))
            });
        let (o, v) = (find(&ours, name), find(&vendor, name));
        match (change, attr, o, v) {
            // An entry the vendor added: its markup, after the section's last element.
            (Change::Add(_), None, None, Some(v)) => edits.push(insert(theirs, new, &vendor[v])?),
            (Change::Remove(_), None, Some(o), _) => edits.push(Edit {
                range: with_blanks_before(theirs, ours[o].id),
                text: String::new(),
            }),
            (Change::Set(_) | Change::Add(_), Some(attr), Some(o), Some(v)) => {
                let value = new
                    .element(vendor[v].id)
                    .and_then(|e| e.attrs.iter().find(|a| a.name == attr))
                    .map(|a| new.attr_value(a).into_owned())
                    .unwrap_or_default();
                let Some(element) = theirs.element(ours[o].id) else {
                    continue;
                };
                edits.push(match element.attrs.iter().find(|a| a.name == attr) {
                    Some(existing) => theirs.set_attr(existing, &value),
                    None => theirs.add_attr(element, attr, &value),
                });
            }
            // Attributes of an entry added or removed whole come and go with it; an entry's
            // attributes are set one by one.
            (Change::Add(_), Some(_), None, _)
            | (Change::Remove(_), Some(_), _, None)
            | (Change::Set(_), None, _, _) => {}
            _ => return Err(format!("`{path}` cannot be changed in place")),
        }
    }
    Ok(apply_edits(theirs.text, edits))
}

/// The new version's `entry` (with the blanks before it there) after the last element of the
/// customer's section of the same name.
fn insert(theirs: &XmlDoc<'_>, new: &XmlDoc<'_>, entry: &Entry) -> Result<Edit, String> {
    let section = &entry.name[..entry.name.find('[').unwrap_or(0)];
    let mut last = None;
    walk(
        theirs,
        &theirs.top,
        &mut Vec::new(),
        &mut |id, ancestors| {
            if ancestors.last() == Some(&section) {
                last = Some(id);
            }
        },
    );
    let Some(last) = last else {
        return Err(format!(
            "your file has no `{section}` entry to add `{}` after",
            entry.name
        ));
    };
    let at = theirs.nodes[last].span.end;
    Ok(Edit {
        range: at..at,
        text: new.text[with_blanks_before(new, entry.id)].to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::super::test_mask as mask;

    const BASE: &str = "<configuration>\n  <appSettings>\n    <!-- ports -->\n    <add key=\"Port\" value=\"8443\" />\n    <add key=\"Level\" value=\"info\" />\n    <add key=\"Old\" value=\"1\" />\n  </appSettings>\n  <connectionStrings>\n    <add name=\"Db\" connectionString=\"pw=********\" />\n  </connectionStrings>\n</configuration>\n";

    #[test]
    fn entries_merge_attribute_by_attribute_in_the_customers_file() {
        let theirs = BASE
            .replace("\"8443\"", "'9443'")
            .replace("pw=********", "pw=s3cret")
            .replace("<!-- ports -->", "<!-- ours -->");
        let new = BASE
            .replace("\"info\"", "\"warn\"")
            .replace("    <add key=\"Old\" value=\"1\" />\n", "")
            .replace("pw=********", "pw=s3cret")
            .replace(
                "  </appSettings>",
                "    <add key=\"Region\" value=\"eu\" />\n  </appSettings>",
            );
        let merged = three_way(BASE, &theirs, &new, &mask).unwrap();
        let expected = theirs
            .replace("\"info\"", "\"warn\"")
            .replace("    <add key=\"Old\" value=\"1\" />\n", "")
            .replace(
                "  </appSettings>",
                "    <add key=\"Region\" value=\"eu\" />\n  </appSettings>",
            );
        assert_eq!(merged.text, expected);
        assert!(merged.conflicts.is_empty());
    }

    #[test]
    fn both_changed_keeps_the_customers_value_as_a_conflict() {
        let theirs = BASE.replace("\"info\"", "\"debug\"");
        let new = BASE.replace("\"info\"", "\"warn\"");
        let merged = three_way(BASE, &theirs, &new, &mask).unwrap();
        assert_eq!(merged.text, theirs);
        assert_eq!(merged.conflicts, ["appSettings[Level]@value"]);
    }

    #[test]
    fn an_entry_the_vendor_removed_stays_when_the_customer_changed_it() {
        let theirs = BASE.replace("key=\"Old\" value=\"1\"", "key=\"Old\" value=\"2\"");
        let new = BASE.replace("    <add key=\"Old\" value=\"1\" />\n", "");
        let merged = three_way(BASE, &theirs, &new, &mask).unwrap();
        assert_eq!(merged.text, theirs);
        assert_eq!(merged.conflicts, ["appSettings[Old]@value"]);
    }

    #[test]
    fn each_side_changing_another_attribute_of_one_entry_merges() {
        let base = BASE.replace("value=\"info\"", "value=\"info\" scope=\"all\"");
        let theirs = base.replace("\"all\"", "\"web\"");
        let new = base.replace("\"info\"", "\"warn\"");
        let merged = three_way(&base, &theirs, &new, &mask).unwrap();
        assert_eq!(merged.text, theirs.replace("\"info\"", "\"warn\""));
        assert!(merged.conflicts.is_empty(), "{:?}", merged.conflicts);
    }

    #[test]
    fn a_vendor_change_elsewhere_is_not_merged() {
        let theirs = BASE.replace("\"info\"", "\"debug\"");
        let new = BASE.replace("</configuration>", "<system.web/>\n</configuration>");
        let e = three_way(BASE, &theirs, &new, &mask).unwrap_err();
        assert!(e.contains("outside `appSettings`"), "{e}");
    }
}
