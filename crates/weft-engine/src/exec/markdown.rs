//! `markdown`: Markdown → HTML (CommonMark through pulldown-cmark, with showdown's heading ids,
//! as n8n's Markdown node makes them) and HTML → Markdown (a walk over html5ever's tree that
//! writes what node-html-markdown, n8n's converter, writes with its defaults).

use std::collections::HashMap;

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd};
use scraper::{ElementRef, Html, Node};
use serde_json::Value;

use super::NodeError;
use super::expression::Resolver;
use crate::item::Item;
use crate::params::{CodeBlockStyle, MarkdownMode, MarkdownParams};
use crate::pointer::Pointer;

/// Each item gets the converted text in `field`, its other fields kept; as in n8n, its
/// attachments are not carried.
pub(super) fn markdown(
    params: MarkdownParams,
    inputs: Vec<Vec<Item>>,
    resolver: &Resolver<'_>,
) -> Result<Vec<Vec<Item>>, NodeError> {
    let at = Pointer::root().key("params");
    let mut output = Vec::with_capacity(inputs.first().map_or(0, Vec::len));
    for context in resolver.each(&inputs, 0) {
        let text = resolver.text(&params.value, &at.key("value"), &context)?;
        let converted = match params.mode {
            MarkdownMode::ToHtml => to_html(&text, &params),
            MarkdownMode::ToMarkdown => to_markdown(&text, &params),
        };
        let mut json = context.item.json.clone();
        resolver.set_path(&mut json, &params.field, Value::String(converted), &at.key("field"), context.index)?;
        output.push(Item::new(json));
    }
    Ok(vec![output])
}

fn to_html(markdown: &str, params: &MarkdownParams) -> String {
    let mut options = Options::empty();
    for (flag, on) in [
        (Options::ENABLE_TABLES, params.tables),
        (Options::ENABLE_STRIKETHROUGH, params.strikethrough),
        (Options::ENABLE_TASKLISTS, params.task_lists),
    ] {
        options.set(flag, on == Some(true));
    }
    let line_breaks = params.line_breaks == Some(true);
    let mut events: Vec<Event<'_>> = Parser::new_ext(markdown, options)
        .map(|event| match event {
            Event::SoftBreak if line_breaks => Event::HardBreak,
            event => event,
        })
        .collect();
    if params.heading_ids != Some(false) {
        add_heading_ids(&mut events);
    }
    let mut html = String::with_capacity(markdown.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, events.into_iter());
    html.truncate(html.trim_end_matches('\n').len());
    html
}

/// showdown's default ids: the heading's word characters, lower-cased; a repeated id gets `-1`,
/// `-2`… after it.
fn add_heading_ids(events: &mut [Event<'_>]) {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut open = None;
    let mut text = String::new();
    for index in 0..events.len() {
        match &events[index] {
            Event::Start(Tag::Heading { .. }) => {
                open = Some(index);
                text.clear();
            }
            Event::Text(part) | Event::Code(part) if open.is_some() => text.push_str(part),
            Event::End(TagEnd::Heading(_)) => {
                let mut id: String =
                    text.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').collect::<String>().to_lowercase();
                let count = seen.entry(id.clone()).or_insert(0);
                if *count > 0 {
                    id = format!("{id}-{count}");
                }
                *count += 1;
                if let Some(Event::Start(Tag::Heading { id: slot, .. })) = open.take().map(|start| &mut events[start]) {
                    *slot = Some(CowStr::from(id));
                }
            }
            _ => {}
        }
    }
}

/// The elements whose content never shows in Markdown.
const NEVER_SHOWN: &[&str] = &[
    "head", "script", "style", "template", "noscript", "title", "meta", "link", "iframe", "input", "select", "option",
    "button", "textarea", "audio", "video", "canvas", "svg", "object", "embed",
];

fn to_markdown(html: &str, params: &MarkdownParams) -> String {
    let document = Html::parse_document(html);
    let style = MarkdownStyle {
        bullet: params.bullet.as_deref().unwrap_or("*"),
        code_blocks: params.code_blocks.unwrap_or_default(),
        code_fence: params.code_fence.as_deref().unwrap_or("```"),
        em: params.em_delimiter.as_deref().unwrap_or("_"),
        strong: params.strong_delimiter.as_deref().unwrap_or("**"),
        ignore: params.ignore.as_deref().unwrap_or_default(),
        keep_data_images: params.keep_data_images == Some(true),
    };
    let mut writer = MarkdownWriter::new(&style);
    writer.children(document.root_element());
    writer.out.trim().to_string()
}

struct MarkdownStyle<'p> {
    bullet: &'p str,
    code_blocks: CodeBlockStyle,
    code_fence: &'p str,
    em: &'p str,
    strong: &'p str,
    ignore: &'p [String],
    keep_data_images: bool,
}

/// Writes blocks apart by blank lines, each line after the prefixes of the blocks it is in
/// (`> ` in a quote, indentation in a list item), and text with its whitespace collapsed and
/// Markdown's special characters escaped.
struct MarkdownWriter<'s> {
    style: &'s MarkdownStyle<'s>,
    out: String,
    /// Line breaks owed before what is written next.
    breaks: usize,
    space: bool,
    prefixes: Vec<String>,
    /// A quote has just begun: its first block needs no blank line above it.
    quote_start: bool,
}

impl<'s> MarkdownWriter<'s> {
    fn new(style: &'s MarkdownStyle<'s>) -> Self {
        MarkdownWriter { style, out: String::new(), breaks: 0, space: false, prefixes: Vec::new(), quote_start: false }
    }

    fn children(&mut self, element: ElementRef<'_>) {
        for child in element.children() {
            match child.value() {
                Node::Text(text) => self.text(text),
                Node::Element(_) => {
                    if let Some(child) = ElementRef::wrap(child) {
                        self.element(child);
                    }
                }
                _ => {}
            }
        }
    }

    /// The Markdown of an element's content on one line (table cells).
    fn inline(&self, element: ElementRef<'_>) -> String {
        let mut writer = MarkdownWriter::new(self.style);
        writer.children(element);
        writer.out.split_whitespace().collect::<Vec<_>>().join(" ").replace('|', "\\|")
    }

    fn element(&mut self, element: ElementRef<'_>) {
        let name = element.value().name();
        let attr = |name: &str| element.value().attr(name).unwrap_or_default().trim();
        if NEVER_SHOWN.contains(&name) || self.style.ignore.iter().any(|ignored| ignored.eq_ignore_ascii_case(name)) {
            return;
        }
        match name {
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                self.block(2);
                let level = usize::from(name.as_bytes()[1] - b'0');
                self.raw(&format!("{} ", "#".repeat(level)));
                self.children(element);
                self.block(2);
            }
            "p" => {
                self.block(2);
                self.children(element);
                self.block(2);
            }
            "br" => {
                self.raw("  ");
                self.breaks = 1;
                self.space = false;
            }
            "hr" => {
                self.block(2);
                self.raw("---");
                self.block(2);
            }
            "blockquote" => {
                self.block(2);
                self.settle_blank_lines();
                self.prefixes.push("> ".to_string());
                self.children(element);
                self.prefixes.pop();
                self.block(2);
            }
            "ul" | "ol" => {
                self.block(if self.prefixes.is_empty() { 2 } else { 1 });
                let items = element.children().filter_map(ElementRef::wrap).filter(|item| item.value().name() == "li");
                let start: usize = attr("start").parse().unwrap_or(1);
                for (index, item) in items.enumerate() {
                    self.block(1);
                    let marker =
                        if name == "ol" { format!("{}. ", start + index) } else { format!("{} ", self.style.bullet) };
                    self.raw(&marker);
                    self.space = false;
                    self.prefixes.push(" ".repeat(marker.chars().count()));
                    self.children(item);
                    self.prefixes.pop();
                }
                self.block(2);
            }
            "pre" => self.code_block(element),
            "code" | "kbd" | "samp" | "tt" => {
                let code: String = element.text().collect::<String>().split_whitespace().collect::<Vec<_>>().join(" ");
                if !code.is_empty() {
                    let fence = "`".repeat(longest_run(&code, '`') + 1);
                    let pad = if code.starts_with('`') || code.ends_with('`') { " " } else { "" };
                    self.raw(&format!("{fence}{pad}{code}{pad}{fence}"));
                }
            }
            "strong" | "b" => self.wrapped(element, self.style.strong),
            "em" | "i" => self.wrapped(element, self.style.em),
            "del" | "s" | "strike" => self.wrapped(element, "~~"),
            "a" => {
                let href = attr("href");
                if href.is_empty() {
                    return self.children(element);
                }
                self.raw("[");
                self.children(element);
                let title = attr("title");
                let title =
                    if title.is_empty() { String::new() } else { format!(" \"{}\"", title.replace('"', "\\\"")) };
                self.raw(&format!("]({}{title})", href.replace(' ', "%20").replace(')', "%29")));
            }
            "img" => {
                let src = attr("src");
                if src.is_empty() || (src.starts_with("data:") && !self.style.keep_data_images) {
                    return;
                }
                let alt = escape_markdown(attr("alt"));
                self.raw(&format!("![{alt}]({})", src.replace(' ', "%20").replace(')', "%29")));
            }
            "table" => self.table(element),
            "div" | "section" | "article" | "aside" | "header" | "footer" | "main" | "nav" | "form" | "figure"
            | "figcaption" | "address" | "dl" | "dt" | "dd" | "details" | "summary" | "li" | "tr" => {
                self.block(1);
                self.children(element);
                self.block(1);
            }
            _ => self.children(element),
        }
    }

    fn wrapped(&mut self, element: ElementRef<'_>, delimiter: &str) {
        if element.text().all(|text| text.trim().is_empty()) {
            return self.children(element);
        }
        self.raw(delimiter);
        self.children(element);
        // A space owed stays owed, so that it lands after the closing delimiter.
        let space = std::mem::take(&mut self.space);
        self.out.push_str(delimiter);
        self.space = space;
    }

    fn code_block(&mut self, pre: ElementRef<'_>) {
        let code: String = pre.text().collect();
        let code = code.strip_suffix('\n').unwrap_or(&code);
        let language = pre
            .children()
            .filter_map(ElementRef::wrap)
            .chain([pre])
            .filter_map(|element| element.value().attr("class"))
            .flat_map(str::split_whitespace)
            .find_map(|class| class.strip_prefix("language-").or_else(|| class.strip_prefix("lang-")))
            .unwrap_or_default()
            .to_string();
        self.block(2);
        match self.style.code_blocks {
            CodeBlockStyle::Fenced => {
                self.raw(&format!("{}{language}", self.style.code_fence));
                for line in code.split('\n') {
                    self.breaks = 1;
                    self.raw(line);
                }
                self.breaks = 1;
                self.raw(self.style.code_fence);
            }
            CodeBlockStyle::Indented => {
                for (index, line) in code.split('\n').enumerate() {
                    if index > 0 {
                        self.breaks = 1;
                    }
                    self.raw(&format!("    {line}"));
                }
            }
        }
        self.block(2);
    }

    /// A GitHub table: the first row heads it.
    fn table(&mut self, table: ElementRef<'_>) {
        let Ok(rows) = scraper::Selector::parse("tr") else { return };
        let rows: Vec<Vec<String>> = table
            .select(&rows)
            .map(|row| {
                let cells = row.children().filter_map(ElementRef::wrap);
                cells.filter(|cell| matches!(cell.value().name(), "td" | "th")).map(|cell| self.inline(cell)).collect()
            })
            .filter(|cells: &Vec<String>| !cells.is_empty())
            .collect();
        let width = rows.iter().map(Vec::len).max().unwrap_or(0);
        if width == 0 {
            return;
        }
        self.block(2);
        for (index, row) in rows.iter().enumerate() {
            let cells = (0..width).map(|column| row.get(column).map_or("", String::as_str));
            if index > 0 {
                self.breaks = 1;
            }
            self.raw(&format!("| {} |", cells.collect::<Vec<_>>().join(" | ")));
            if index == 0 {
                self.breaks = 1;
                self.raw(&format!("| {} |", vec!["---"; width].join(" | ")));
            }
        }
        self.block(2);
    }

    fn block(&mut self, breaks: usize) {
        self.breaks = self.breaks.max(if self.quote_start { 1 } else { breaks });
        self.space = false;
    }

    /// Writes the blank lines owed with the prefixes in force, before a block adds its own; one
    /// line break stays owed.
    fn settle_blank_lines(&mut self) {
        if self.breaks > 1 && !self.out.is_empty() {
            let prefix = self.prefixes.concat();
            for _ in 1..self.breaks {
                self.out.push('\n');
                self.out.push_str(prefix.trim_end());
            }
            self.breaks = 1;
        }
        self.quote_start = true;
    }

    /// Writes Markdown as it is, after the line breaks and space owed.
    fn raw(&mut self, markdown: &str) {
        self.quote_start = false;
        if self.breaks > 0 {
            if !self.out.is_empty() {
                let prefix = self.prefixes.concat();
                for remaining in (0..self.breaks).rev() {
                    self.out.push('\n');
                    self.out.push_str(if remaining == 0 { &prefix } else { prefix.trim_end() });
                }
            }
            self.breaks = 0;
            self.space = false;
        }
        if std::mem::take(&mut self.space) {
            self.out.push(' ');
        }
        self.out.push_str(markdown);
    }

    fn text(&mut self, text: &str) {
        let mut words = text.split_whitespace().peekable();
        let leading = text.starts_with(char::is_whitespace);
        if words.peek().is_none() {
            self.space |= leading && !self.out.is_empty();
            return;
        }
        self.space |= leading && !self.out.is_empty();
        while let Some(word) = words.next() {
            self.raw(&escape_markdown(word));
            self.space = words.peek().is_some() || text.ends_with(char::is_whitespace);
        }
    }
}

/// Backslashes before the characters Markdown would read as syntax inside text.
fn escape_markdown(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '*' | '_' | '`' | '~' | '[' | ']') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

fn longest_run(text: &str, of: char) -> usize {
    text.split(|c| c != of).map(str::len).max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::exec::NoExpressions;

    fn params(value: Value) -> MarkdownParams {
        serde_json::from_value(value).unwrap()
    }

    fn html_of(markdown: &str, options: Value) -> String {
        let mut value = json!({"mode": "to_html", "value": ""});
        value.as_object_mut().unwrap().extend(options.as_object().unwrap().clone());
        to_html(markdown, &params(value))
    }

    fn markdown_of(html: &str, options: Value) -> String {
        let mut value = json!({"mode": "to_markdown", "value": ""});
        value.as_object_mut().unwrap().extend(options.as_object().unwrap().clone());
        to_markdown(html, &params(value))
    }

    #[test]
    fn markdown_becomes_html_with_heading_ids() {
        let markdown = "# Hello, World!\n\nSome *text* and [a link](https://a.example).\n\n- one\n- two\n\n```js\nlet a = 1;\n```\n\n## Hello World";
        assert_eq!(
            html_of(markdown, json!({})),
            "<h1 id=\"helloworld\">Hello, World!</h1>\n<p>Some <em>text</em> and <a href=\"https://a.example\">a link</a>.</p>\n<ul>\n<li>one</li>\n<li>two</li>\n</ul>\n<pre><code class=\"language-js\">let a = 1;\n</code></pre>\n<h2 id=\"helloworld-1\">Hello World</h2>"
        );
        assert_eq!(html_of("# Title", json!({"heading_ids": false})), "<h1>Title</h1>");
    }

    #[test]
    fn markdown_options_turn_on_extensions() {
        assert_eq!(html_of("a\nb", json!({})), "<p>a\nb</p>");
        assert_eq!(html_of("a\nb", json!({"line_breaks": true})), "<p>a<br />\nb</p>");
        assert_eq!(html_of("~~x~~", json!({})), "<p>~~x~~</p>");
        assert_eq!(html_of("~~x~~", json!({"strikethrough": true})), "<p><del>x</del></p>");
        let table = "| a | b |\n| - | - |\n| 1 | 2 |";
        assert!(html_of(table, json!({})).starts_with("<p>"));
        assert!(html_of(table, json!({"tables": true})).starts_with("<table>"));
        assert!(html_of("- [x] done", json!({"task_lists": true})).contains("checkbox"));
    }

    #[test]
    fn html_becomes_markdown() {
        let html = r#"<html><head><title>T</title></head><body>
            <h1>Title</h1>
            <p>Some <strong>bold </strong>and <em>italic</em> text with a <a href="https://a.example/x" title="X">link</a>
            and <code>a_b</code>.</p>
            <ul><li>one</li><li>two<ul><li>nested</li></ul></li></ul>
            <ol start="3"><li>three</li></ol>
            <blockquote><p>quoted</p><p>twice</p></blockquote>
            <pre><code class="language-rust">fn main() {
    println!("*");
}
</code></pre>
            <p>line<br>break and 2*3 [x]</p>
            <img src="data:image/png;base64,AAAA" alt="inline"><img src="/a.png" alt="pic">
            <script>alert(1)</script>
        </body></html>"#;
        assert_eq!(
            markdown_of(html, json!({})),
            "# Title\n\nSome **bold** and _italic_ text with a [link](https://a.example/x \"X\") and `a_b`.\n\n\
             * one\n* two\n  * nested\n\n3. three\n\n> quoted\n>\n> twice\n\n\
             ```rust\nfn main() {\n    println!(\"*\");\n}\n```\n\nline  \nbreak and 2\\*3 \\[x\\]\n\n![pic](/a.png)"
        );
    }

    #[test]
    fn markdown_options_change_the_markers() {
        let html = "<ul><li><b>a</b> <i>b</i></li></ul><pre>x\ny</pre><nav>menu</nav><img src=\"data:x\">";
        assert_eq!(
            markdown_of(
                html,
                json!({"bullet": "-", "strong_delimiter": "__", "em_delimiter": "*", "code_blocks": "indented", "ignore": ["nav"], "keep_data_images": true})
            ),
            "- __a__ *b*\n\n    x\n    y\n\n![](data:x)"
        );
        assert_eq!(markdown_of("<pre>x</pre>", json!({"code_fence": "~~~"})), "~~~\nx\n~~~");
    }

    #[test]
    fn html_tables_become_github_tables() {
        let html = "<table><thead><tr><th>Name</th><th>Note</th></tr></thead><tbody><tr><td>Ann</td><td>a|b</td></tr><tr><td>Bob</td></tr></tbody></table>";
        assert_eq!(markdown_of(html, json!({})), "| Name | Note |\n| --- | --- |\n| Ann | a\\|b |\n| Bob |  |");
    }

    #[test]
    fn each_item_gets_its_conversion_in_the_field() {
        let params = params(json!({"mode": "to_html", "value": "# {{ $json.t }}", "field": "out.html"}));
        struct Title;
        impl crate::exec::Expressions for Title {
            fn evaluate(
                &self,
                _: &str,
                context: &crate::exec::ItemContext<'_>,
            ) -> Result<Value, crate::exec::ExpressionError> {
                Ok(context.item.json["t"].clone())
            }
        }
        let resolver = Resolver::new("Markdown", &Title);
        let input = vec![vec![Item::new(json!({"t": "Hi", "keep": 1}).as_object().unwrap().clone())]];
        let out = markdown(params, input, &resolver).unwrap();
        assert_eq!(
            Value::Object(out[0][0].json.clone()),
            json!({"t": "Hi", "keep": 1, "out": {"html": "<h1 id=\"hi\">Hi</h1>"}})
        );
        let blocked = self::params(json!({"mode": "to_markdown", "value": "x", "field": "t.x"}));
        let input = vec![vec![Item::new(json!({"t": "Hi"}).as_object().unwrap().clone())]];
        let error = markdown(blocked, input, &Resolver::new("Markdown", &NoExpressions)).unwrap_err();
        assert!(matches!(&error, NodeError::Param { pointer, .. } if pointer == "/params/field"), "{error}");
    }
}
