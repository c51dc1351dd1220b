//! Markdown / MarkdownToHtml: CommonMark via pulldown-cmark, configured and post-processed to
//! follow Octostache's Markdig pipeline (pipe tables written one tag per line, strikethrough,
//! bare URLs made into links). The input is trimmed and `"\n"` is appended to the HTML.
//! Strikethrough (`~~`), subscript (`~`) and superscript (`^`) follow Markdig's emphasis
//! extras. Known gaps: Markdig's inserted (`++`) and marked (`==`) emphasis.

use std::sync::LazyLock;

use pulldown_cmark::{Alignment, CowStr, Event, LinkType, Options, Parser, Tag, TagEnd, html};
use regex::Regex;

static BARE_URL: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r#"(?:https?://|ftp://|mailto:|www\.)[^\s<>"]*[^\s<>".,;:!?')\]]"#).ok()
});

pub(super) fn to_html(input: &str) -> String {
    let events: Vec<Event> = Parser::new_ext(
        input.trim(),
        Options::ENABLE_TABLES
            | Options::ENABLE_STRIKETHROUGH
            | Options::ENABLE_SUBSCRIPT
            | Options::ENABLE_SUPERSCRIPT,
    )
    .collect();
    let events = autolink(merge_text(events));
    let mut out = String::new();
    html::push_html(&mut out, MarkdigTables::new(events.into_iter()));
    out.push('\n');
    out
}

/// Joins adjacent text events, which the parser may split, so URLs are seen whole.
fn merge_text(events: Vec<Event>) -> Vec<Event> {
    let mut merged: Vec<Event> = Vec::with_capacity(events.len());
    for event in events {
        if let (Some(Event::Text(last)), Event::Text(more)) = (merged.last_mut(), &event) {
            *last = CowStr::from(format!("{last}{more}"));
            continue;
        }
        merged.push(event);
    }
    merged
}

/// Turns bare URLs in text (outside links and code) into links, like Markdig's AutoLinks.
fn autolink(events: Vec<Event>) -> Vec<Event> {
    let Some(re) = BARE_URL.as_ref() else {
        return events;
    };
    let mut out = Vec::with_capacity(events.len());
    let mut depth = 0usize;
    for event in events {
        match &event {
            Event::Start(Tag::Link { .. } | Tag::CodeBlock(_) | Tag::Image { .. }) => depth += 1,
            Event::End(TagEnd::Link | TagEnd::CodeBlock | TagEnd::Image) => {
                depth = depth.saturating_sub(1)
            }
            Event::Text(text) if depth == 0 && re.is_match(text) => {
                link_urls(re, text, &mut out);
                continue;
            }
            _ => {}
        }
        out.push(event);
    }
    out
}

fn link_urls<'a>(re: &Regex, text: &str, out: &mut Vec<Event<'a>>) {
    let mut last = 0;
    for m in re.find_iter(text) {
        if !text[..m.start()]
            .chars()
            .next_back()
            .is_none_or(|c| c.is_whitespace() || "*_~(".contains(c))
        {
            continue;
        }
        if m.start() > last {
            out.push(Event::Text(CowStr::from(text[last..m.start()].to_string())));
        }
        let url = m.as_str().to_string();
        let href = if url.starts_with("www.") {
            format!("http://{url}")
        } else {
            url.clone()
        };
        out.push(Event::Start(Tag::Link {
            link_type: LinkType::Autolink,
            dest_url: CowStr::from(href),
            title: CowStr::from(""),
            id: CowStr::from(""),
        }));
        out.push(Event::Text(CowStr::from(url)));
        out.push(Event::End(TagEnd::Link));
        last = m.end();
    }
    if last < text.len() {
        out.push(Event::Text(CowStr::from(text[last..].to_string())));
    }
}

/// Replaces table structure events by raw HTML in Markdig's layout (one tag per line).
struct MarkdigTables<'a, I: Iterator<Item = Event<'a>>> {
    inner: I,
    alignments: Vec<Alignment>,
    in_head: bool,
    column: usize,
    body_open: bool,
}

impl<'a, I: Iterator<Item = Event<'a>>> MarkdigTables<'a, I> {
    fn new(inner: I) -> Self {
        MarkdigTables {
            inner,
            alignments: Vec::new(),
            in_head: false,
            column: 0,
            body_open: false,
        }
    }

    fn cell_open(&mut self) -> String {
        let tag = if self.in_head { "th" } else { "td" };
        let style = match self.alignments.get(self.column) {
            Some(Alignment::Left) => " style=\"text-align: left;\"",
            Some(Alignment::Center) => " style=\"text-align: center;\"",
            Some(Alignment::Right) => " style=\"text-align: right;\"",
            _ => "",
        };
        self.column += 1;
        format!("<{tag}{style}>")
    }

    fn rewrite(&mut self, event: &Event<'a>) -> Option<String> {
        Some(match event {
            Event::Start(Tag::Table(alignments)) => {
                self.alignments = alignments.clone();
                self.body_open = false;
                "<table>\n".into()
            }
            Event::Start(Tag::TableHead) => {
                self.in_head = true;
                self.column = 0;
                "<thead>\n<tr>\n".into()
            }
            Event::End(TagEnd::TableHead) => {
                self.in_head = false;
                "</tr>\n</thead>\n".into()
            }
            Event::Start(Tag::TableRow) => {
                self.column = 0;
                let open = if self.body_open { "" } else { "<tbody>\n" };
                self.body_open = true;
                format!("{open}<tr>\n")
            }
            Event::End(TagEnd::TableRow) => "</tr>\n".into(),
            Event::Start(Tag::TableCell) => self.cell_open(),
            Event::End(TagEnd::TableCell) => {
                if self.in_head { "</th>\n" } else { "</td>\n" }.into()
            }
            Event::End(TagEnd::Table) => {
                let close = if self.body_open { "</tbody>\n" } else { "" };
                format!("{close}</table>\n")
            }
            _ => return None,
        })
    }
}

impl<'a, I: Iterator<Item = Event<'a>>> Iterator for MarkdigTables<'a, I> {
    type Item = Event<'a>;

    fn next(&mut self) -> Option<Event<'a>> {
        let event = self.inner.next()?;
        Some(match self.rewrite(&event) {
            Some(html) => Event::Html(CowStr::from(html)),
            None => event,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::to_html;

    #[test]
    fn emphasis_links_and_tables() {
        assert_eq!(to_html("_yeah!_"), "<p><em>yeah!</em></p>\n\n");
        assert_eq!(
            to_html("see https://octopus.com now"),
            "<p>see <a href=\"https://octopus.com\">https://octopus.com</a> now</p>\n\n"
        );
        assert_eq!(
            to_html("~~a~~ ~2~ ^10^"),
            "<p><del>a</del> <sub>2</sub> <sup>10</sup></p>\n\n"
        );
        let table = to_html("|H1|H2|\n|-|-|\n|C1|C2|");
        assert_eq!(
            table,
            "<table>\n<thead>\n<tr>\n<th>H1</th>\n<th>H2</th>\n</tr>\n</thead>\n<tbody>\n<tr>\n<td>C1</td>\n<td>C2</td>\n</tr>\n</tbody>\n</table>\n\n"
        );
    }
}
