//! Text edits: replace byte ranges of a file's text and leave every other byte as it was. The
//! surgical replacers (XML, YAML, .NET config) produce edits instead of re-serializing, so the
//! formatting users care about survives.

/// A replacement of `range` in the text by `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Edit {
    pub range: std::ops::Range<usize>,
    pub text: String,
}

/// Apply edits to `text`. An edit inside another edit is dropped (the outer one replaces it).
pub(crate) fn apply_edits(text: &str, mut edits: Vec<Edit>) -> String {
    edits.sort_by_key(|e| (e.range.start, std::cmp::Reverse(e.range.end)));
    let mut out = String::with_capacity(text.len());
    let mut copied_to = 0;
    for edit in edits {
        if edit.range.start < copied_to {
            continue;
        }
        out.push_str(&text[copied_to..edit.range.start]);
        out.push_str(&edit.text);
        copied_to = edit.range.end;
    }
    out.push_str(&text[copied_to..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_nested_in_other_edits_are_dropped() {
        let edits = vec![
            Edit {
                range: 2..4,
                text: "X".into(),
            },
            Edit {
                range: 0..6,
                text: "outer".into(),
            },
            Edit {
                range: 7..7,
                text: "+".into(),
            },
        ];
        assert_eq!(apply_edits("0123456789", edits), "outer6+789");
    }
}
