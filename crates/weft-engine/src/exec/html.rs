//! `html_extract` and `html_table`: n8n's HTML node's "extract HTML content" and "convert to
//! HTML table", over html5ever's parser and CSS selectors (through `scraper`).

use scraper::{ElementRef, Html, Node, Selector};
use serde_json::{Map, Value};

use super::expression::{ItemContext, Resolver, javascript_number};
use super::{NodeError, path};
use crate::item::Item;
use crate::params::{ExtractReturn, Extraction, HtmlExtractParams, HtmlTableParams};
use crate::pointer::Pointer;

/// Each HTML text in the source field gives one item holding the extracted keys alone (a list
/// of texts gives an item per text), as n8n does. A missing or empty value leaves its key out
/// (but `text`, which gives `""`); in an `all` list it is `null`.
pub(super) fn html_extract(
    params: HtmlExtractParams,
    inputs: Vec<Vec<Item>>,
    resolver: &Resolver<'_>,
) -> Result<Vec<Vec<Item>>, NodeError> {
    let at = Pointer::root().key("params");
    let mut output = Vec::new();
    for context in resolver.each(&inputs, 0) {
        let source = path::get(&context.item.json, &params.source_field).ok_or_else(|| {
            resolver.param_error(
                &at.key("source_field"),
                format!("item {} has no field `{}` holding HTML", context.index, params.source_field),
            )
        })?;
        let texts: Vec<&Value> = match source {
            Value::Array(texts) => texts.iter().collect(),
            single => vec![single],
        };
        let mut extractions = Vec::with_capacity(params.extract.len());
        for (index, extraction) in params.extract.iter().enumerate() {
            let at = at.key("extract").index(index);
            let selector = resolver.text(&extraction.selector, &at.key("selector"), &context)?;
            let selector =
                css_selector(&selector).map_err(|message| resolver.param_error(&at.key("selector"), message))?;
            let mut skip = Vec::with_capacity(extraction.skip.len());
            for (index, text) in extraction.skip.iter().enumerate() {
                let at = at.key("skip").index(index);
                let text = resolver.text(text, &at, &context)?;
                skip.push(css_selector(&text).map_err(|message| resolver.param_error(&at, message))?);
            }
            let attribute = match &extraction.attribute {
                Some(name) => Some(resolver.text(name, &at.key("attribute"), &context)?),
                None => None,
            };
            extractions.push(Compiled { spec: extraction, selector, skip, attribute });
        }
        for text in texts {
            let html = match text {
                Value::String(html) => html.clone(),
                Value::Number(number) => javascript_number(number),
                Value::Bool(flag) => flag.to_string(),
                Value::Null => String::new(),
                other => {
                    return Err(resolver.param_error(
                        &at.key("source_field"),
                        format!(
                            "`{}` of item {} is {}, not HTML text",
                            params.source_field,
                            context.index,
                            path::kind(other)
                        ),
                    ));
                }
            };
            let document = Html::parse_document(&html);
            let mut json = Map::new();
            for extraction in &extractions {
                let finish = |value: Option<String>| value.map(|value| tidy(value, params.trim, params.clean_up));
                let value = if extraction.spec.all {
                    Value::Array(
                        document
                            .select(&extraction.selector)
                            .map(|element| finish(extraction.one(element)).map_or(Value::Null, Value::String))
                            .collect(),
                    )
                } else {
                    match finish(extraction.first(&document)) {
                        Some(value) => Value::String(value),
                        None => continue,
                    }
                };
                json.insert(extraction.spec.key.clone(), value);
            }
            output.push(Item::new(json));
        }
    }
    Ok(vec![output])
}

/// An extraction with its selectors parsed and its attribute name evaluated for one item.
struct Compiled<'p> {
    spec: &'p Extraction,
    selector: Selector,
    skip: Vec<Selector>,
    attribute: Option<String>,
}

impl Compiled<'_> {
    /// The value without `all`: the first match's, but raw text joins every match's (as
    /// cheerio's `.text()` of a selection does), and laid-out text is `""` for no match.
    fn first(&self, document: &Html) -> Option<String> {
        let mut matches = document.select(&self.selector);
        match self.spec.returns {
            ExtractReturn::RawText => {
                Some(matches.flat_map(|element| element.text()).collect::<String>()).filter(|text| !text.is_empty())
            }
            ExtractReturn::Text => Some(matches.next().and_then(|element| self.one(element)).unwrap_or_default()),
            _ => matches.next().and_then(|element| self.one(element)),
        }
    }

    fn one(&self, element: ElementRef<'_>) -> Option<String> {
        match self.spec.returns {
            ExtractReturn::Text => Some(layout_text(element, &self.skip)),
            ExtractReturn::RawText => Some(element.text().collect::<String>()).filter(|text| !text.is_empty()),
            ExtractReturn::Html => Some(element.inner_html()).filter(|html| !html.is_empty()),
            ExtractReturn::Attribute => {
                element.value().attr(self.attribute.as_deref().unwrap_or_default()).map(str::to_string)
            }
            ExtractReturn::Value => form_value(element),
        }
    }
}

fn css_selector(text: &str) -> Result<Selector, String> {
    Selector::parse(text).map_err(|error| format!("`{text}` is not a CSS selector Weft understands: {error}"))
}

/// n8n's options: trim, then "clean up" (trim, drop line breaks, collapse whitespace runs).
fn tidy(value: String, trim: bool, clean_up: bool) -> String {
    let mut value = if trim { value.trim().to_string() } else { value };
    if clean_up {
        let joined: String = value.trim().chars().filter(|c| !matches!(c, '\n' | '\r')).collect();
        value = joined.split_whitespace().collect::<Vec<_>>().join(" ");
    }
    value
}

/// What jQuery's `.val()` gives: a select's chosen option, a textarea's text, else the `value`
/// attribute.
fn form_value(element: ElementRef<'_>) -> Option<String> {
    let option_value = |option: ElementRef<'_>| {
        option.value().attr("value").map(str::to_string).unwrap_or_else(|| option.text().collect())
    };
    match element.value().name() {
        "select" => {
            let options = Selector::parse("option").ok()?;
            let mut all = element.select(&options);
            let chosen = element.select(&options).find(|option| option.value().attr("selected").is_some());
            chosen.or_else(|| all.next()).map(option_value)
        }
        "textarea" => Some(element.text().collect()),
        _ => element.value().attr("value").map(str::to_string),
    }
}

/// The text of an element's content laid out as n8n (through html-to-text) lays it out: blocks
/// on their own lines (paragraphs, headings and lists apart by a blank line), headings in
/// capitals, a link followed by its `[href]`, an image as its alt text and `[src]`, list items
/// after ` * ` or ` 1. `; whitespace collapsed. Scripts and styles, and the descendants matching
/// `skip`, are left out. Lines are not wrapped (html-to-text wraps at 80 characters).
fn layout_text(element: ElementRef<'_>, skip: &[Selector]) -> String {
    let mut layout = Layout::default();
    layout.children(element, skip);
    layout.out
}

#[derive(Default)]
struct Layout {
    out: String,
    /// Line breaks owed before the next text (the most any block asked for).
    breaks: usize,
    space: bool,
    uppercase: usize,
}

impl Layout {
    fn children(&mut self, element: ElementRef<'_>, skip: &[Selector]) {
        for child in element.children() {
            match child.value() {
                Node::Text(text) => self.text(text),
                Node::Element(_) => {
                    if let Some(child) = ElementRef::wrap(child)
                        && !skip.iter().any(|selector| selector.matches(&child))
                    {
                        self.element(child, skip);
                    }
                }
                _ => {}
            }
        }
    }

    fn element(&mut self, element: ElementRef<'_>, skip: &[Selector]) {
        let name = element.value().name();
        let attr = |name: &str| element.value().attr(name).unwrap_or_default().trim();
        match name {
            "script" | "style" | "template" | "head" | "noscript" => {}
            "br" => {
                self.flush_breaks();
                self.out.push('\n');
                self.space = false;
            }
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                self.block(if name == "h1" { 3 } else { 2 });
                self.uppercase += 1;
                self.children(element, skip);
                self.uppercase -= 1;
                self.block(2);
            }
            "p" | "pre" | "blockquote" | "table" | "ul" | "ol" | "hr" => {
                self.block(2);
                if name == "pre" {
                    self.flush_breaks();
                    self.out.extend(element.text());
                } else if name == "ul" || name == "ol" {
                    self.list(element, name == "ol", skip);
                } else {
                    self.children(element, skip);
                }
                self.block(2);
            }
            "div" | "section" | "article" | "aside" | "header" | "footer" | "main" | "nav" | "form" | "figure"
            | "address" | "tr" | "li" | "dl" | "dt" | "dd" | "caption" | "thead" | "tbody" | "tfoot" => {
                self.block(1);
                self.children(element, skip);
                self.block(1);
            }
            "a" => {
                let before = self.out.len();
                self.children(element, skip);
                let href = attr("href");
                let href = href.strip_prefix("mailto:").unwrap_or(href);
                if !href.is_empty() && !href.starts_with('#') {
                    if self.out.len() == before && self.breaks == 0 {
                        self.text(href);
                    } else {
                        self.text(&format!(" [{href}]"));
                    }
                }
            }
            "img" => {
                let (alt, src) = (attr("alt"), attr("src"));
                let text = match (alt.is_empty(), src.is_empty()) {
                    (false, false) => format!("{alt} [{src}]"),
                    (false, true) => alt.to_string(),
                    (true, false) => format!("[{src}]"),
                    (true, true) => String::new(),
                };
                self.text(&text);
            }
            "td" | "th" => {
                self.space = !self.out.is_empty();
                self.children(element, skip);
                self.space = true;
            }
            _ => self.children(element, skip),
        }
    }

    fn list(&mut self, list: ElementRef<'_>, ordered: bool, skip: &[Selector]) {
        let items = list.children().filter_map(ElementRef::wrap).filter(|item| item.value().name() == "li");
        for (index, item) in items.enumerate() {
            self.block(1);
            let marker = if ordered { format!(" {}. ", index + 1) } else { " * ".to_string() };
            self.flush_breaks();
            self.out.push_str(&marker);
            self.space = false;
            self.children(item, skip);
        }
    }

    fn block(&mut self, breaks: usize) {
        self.breaks = self.breaks.max(breaks);
        self.space = false;
    }

    fn flush_breaks(&mut self) {
        if !self.out.is_empty() {
            self.out.extend(std::iter::repeat_n('\n', self.breaks));
        }
        self.breaks = 0;
    }

    fn text(&mut self, text: &str) {
        for c in text.chars() {
            if c.is_whitespace() {
                self.space = !self.out.is_empty() && !self.out.ends_with(['\n', ' ']);
                continue;
            }
            if self.breaks > 0 {
                self.flush_breaks();
                self.space = false;
            }
            if std::mem::take(&mut self.space) {
                self.out.push(' ');
            }
            if self.uppercase > 0 {
                self.out.extend(c.to_uppercase());
            } else {
                self.out.push(c);
            }
        }
    }
}

/// n8n's inline styles, left out with `default_style: false`.
const TABLE_STYLE: &str = "style='border-spacing:0; font-family:helvetica,arial,sans-serif'";
const HEADER_STYLE: &str = "style='margin:0; padding:7px 20px 7px 0px; border-bottom:1px solid #eee; text-align:left; color:#888; font-weight:normal'";
const CELL_STYLE: &str = "style='margin:0; padding:7px 20px 7px 0px; border-bottom:1px solid #eee'";

/// All items become one `{table}` item, laid out as n8n writes it: a column per key in the
/// order keys first appear, a row per item. Unlike n8n, which writes values as raw HTML, values
/// and headers are escaped; objects and lists are written as JSON, missing values and `null`
/// as empty cells, `true`/`false` as checkboxes (as n8n does). No items give no item.
pub(super) fn html_table(
    params: HtmlTableParams,
    inputs: Vec<Vec<Item>>,
    resolver: &Resolver<'_>,
) -> Result<Vec<Vec<Item>>, NodeError> {
    let at = Pointer::root().key("params");
    let Some(first) = resolver.first(&inputs) else {
        return Ok(vec![Vec::new()]);
    };
    let optional = |key: &str, param: &Option<String>, context: &ItemContext<'_>| match param {
        Some(text) => resolver.text(text, &at.key(key), context),
        None => Ok(String::new()),
    };
    let style = |style: &'static str| if params.default_style { style } else { "" };
    let mut headers: Vec<&String> = Vec::new();
    for context in resolver.each(&inputs, 0) {
        for key in context.item.json.keys() {
            if !headers.contains(&key) {
                headers.push(key);
            }
        }
    }
    let mut table =
        format!("<table {} {}>", style(TABLE_STYLE), optional("table_attributes", &params.table_attributes, &first)?);
    let caption = optional("caption", &params.caption, &first)?;
    if !caption.is_empty() {
        table.push_str(&format!("<caption>{caption}</caption>"));
    }
    table.push_str(&format!(
        "<thead {} {}><tr>",
        style(HEADER_STYLE),
        optional("header_attributes", &params.header_attributes, &first)?
    ));
    for header in &headers {
        let header = if params.capitalize_headers { capitalize(header) } else { header.to_string() };
        table.push_str(&format!("<th>{}</th>", escape(&header)));
    }
    table.push_str("</tr></thead><tbody>");
    for context in resolver.each(&inputs, 0) {
        table.push_str(&format!("<tr  {}>", optional("row_attributes", &params.row_attributes, &context)?));
        let cell_attributes = optional("cell_attributes", &params.cell_attributes, &context)?;
        for header in &headers {
            table.push_str(&format!("<td {} {cell_attributes}>", style(CELL_STYLE)));
            match context.item.json.get(header.as_str()) {
                Some(Value::Bool(checked)) => table.push_str(if *checked {
                    r#"<input type="checkbox" checked="checked"/>"#
                } else {
                    r#"<input type="checkbox" />"#
                }),
                Some(Value::String(text)) => table.push_str(&escape(text)),
                Some(Value::Number(number)) => table.push_str(&javascript_number(number)),
                Some(Value::Null) | None => {}
                Some(other) => table.push_str(&escape(&other.to_string())),
            }
            table.push_str("</td>");
        }
        table.push_str("</tr>");
    }
    table.push_str("</tbody></table>");
    let mut json = Map::new();
    json.insert("table".to_string(), Value::String(table));
    Ok(vec![vec![Item::new(json)]])
}

/// n8n's header capitalisation: `first_name` → `First Name`.
fn capitalize(header: &str) -> String {
    let words = header.split('_').filter(|word| !word.is_empty()).map(|word| {
        let mut chars = word.chars();
        chars.next().map(|first| first.to_uppercase().chain(chars).collect::<String>()).unwrap_or_default()
    });
    words.collect::<Vec<_>>().join(" ")
}

/// Text made safe inside an element or a quoted attribute.
pub(super) fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::exec::NoExpressions;

    fn items(values: Vec<Value>) -> Vec<Vec<Item>> {
        vec![values.into_iter().map(|value| Item::new(value.as_object().unwrap().clone())).collect()]
    }

    fn extract(params: Value, html: &str) -> Vec<Value> {
        let params: HtmlExtractParams = serde_json::from_value(params).unwrap();
        let resolver = Resolver::new("Extract", &NoExpressions);
        let out = html_extract(params, items(vec![json!({"data": html})]), &resolver).unwrap();
        out[0].iter().map(|item| Value::Object(item.json.clone())).collect()
    }

    const PAGE: &str = r#"<html><head><title> The  page </title><style>p{}</style></head><body>
        <h1>Prices</h1>
        <p class="intro">Cheap <b>and</b>
           cheerful. <a href="/more">More</a></p>
        <ul><li class="price" data-id="1">  10 € </li><li class="price" data-id="2">20 €</li></ul>
        <form><input name="q" value="shoes"><select name="s"><option value="a">A</option><option value="b" selected>B</option></select>
        <textarea>notes</textarea></form>
        <div class="card"><span class="ad">AD</span>Real text</div>
    </body></html>"#;

    #[test]
    fn extracts_text_html_attributes_and_values() {
        let params = json!({"extract": [
            {"key": "title", "selector": "title", "return": "raw_text"},
            {"key": "intro", "selector": ".intro"},
            {"key": "intro_html", "selector": ".intro", "return": "html"},
            {"key": "first_id", "selector": "li.price", "return": "attribute", "attribute": "data-id"},
            {"key": "query", "selector": "input[name=q]", "return": "value"},
            {"key": "choice", "selector": "select", "return": "value"},
            {"key": "notes", "selector": "textarea", "return": "value"}
        ]});
        assert_eq!(
            extract(params, PAGE),
            [json!({
                "title": " The  page ",
                "intro": "Cheap and cheerful. More [/more]",
                "intro_html": "Cheap <b>and</b>\n           cheerful. <a href=\"/more\">More</a>",
                "first_id": "1",
                "query": "shoes",
                "choice": "b",
                "notes": "notes"
            })]
        );
    }

    #[test]
    fn all_gives_every_match_and_raw_text_joins_them_without_all() {
        let params = json!({"extract": [
            {"key": "prices", "selector": "li.price", "all": true, "return": "raw_text"},
            {"key": "joined", "selector": "li.price", "return": "raw_text"},
            {"key": "ids", "selector": "li", "all": true, "return": "attribute", "attribute": "data-id"},
            {"key": "none", "selector": "table td", "all": true}
        ]});
        assert_eq!(
            extract(params, PAGE),
            [json!({"prices": ["  10 € ", "20 €"], "joined": "  10 € 20 €", "ids": ["1", "2"], "none": []})]
        );
        let params = json!({"extract": [{"key": "ids", "selector": "li, h1", "all": true, "return": "attribute", "attribute": "data-id"}]});
        assert_eq!(extract(params, PAGE), [json!({"ids": [null, "1", "2"]})]);
    }

    #[test]
    fn trim_and_clean_up_tidy_values() {
        let params = json!({"trim": true, "extract": [{"key": "p", "selector": "li.price", "return": "raw_text"}]});
        assert_eq!(extract(params, PAGE), [json!({"p": "10 € 20 €"})]);
        let html = "<p>\n  two   words\n</p><div>a\nb</div>";
        let params = json!({"clean_up": true, "extract": [
            {"key": "p", "selector": "p", "return": "raw_text"},
            {"key": "div", "selector": "div", "return": "raw_text"}
        ]});
        // n8n removes line breaks without a space in their place.
        assert_eq!(extract(params, html), [json!({"p": "two words", "div": "ab"})]);
    }

    #[test]
    fn skipped_selectors_leave_their_text_out() {
        let params = json!({"extract": [
            {"key": "card", "selector": ".card", "skip": [".ad"]},
            {"key": "whole", "selector": ".card"}
        ]});
        assert_eq!(extract(params, PAGE), [json!({"card": "Real text", "whole": "ADReal text"})]);
    }

    #[test]
    fn text_is_laid_out_in_blocks() {
        let html = "<h1>Prices</h1><p>Cheap <b>and</b>\n  cheerful. <a href=\"/more\">More</a></p><ul><li> 10 € </li><li>20 €</li></ul><p>end</p>";
        let params = json!({"extract": [{"key": "body", "selector": "body"}]});
        assert_eq!(
            extract(params, html),
            [json!({"body": "PRICES\n\nCheap and cheerful. More [/more]\n\n * 10 €\n * 20 €\n\nend"})]
        );
        let html = "<div>a<br>b</div><ol><li>x</li><li><img alt=\"pic\" src=\"p.png\"></li></ol>";
        let params = json!({"extract": [{"key": "t", "selector": "body"}]});
        assert_eq!(extract(params, html), [json!({"t": "a\nb\n\n 1. x\n 2. pic [p.png]"})]);
    }

    #[test]
    fn no_match_leaves_the_key_out_but_text_is_empty() {
        let params = json!({"extract": [
            {"key": "text", "selector": "h2"},
            {"key": "raw", "selector": "h2", "return": "raw_text"},
            {"key": "html", "selector": "h2", "return": "html"},
            {"key": "href", "selector": "h1", "return": "attribute", "attribute": "href"}
        ]});
        assert_eq!(extract(params, PAGE), [json!({"text": ""})]);
    }

    #[test]
    fn a_list_of_html_texts_gives_an_item_each_and_bad_input_is_a_param_error() {
        let params: HtmlExtractParams = serde_json::from_value(
            json!({"source_field": "page.html", "extract": [{"key": "h", "selector": "h1", "return": "raw_text"}]}),
        )
        .unwrap();
        let resolver = Resolver::new("Extract", &NoExpressions);
        let input = items(vec![json!({"page": {"html": ["<h1>a</h1>", "<h1>b</h1>"]}})]);
        let out = html_extract(params.clone(), input, &resolver).unwrap();
        let values: Vec<_> = out[0].iter().map(|item| Value::Object(item.json.clone())).collect();
        assert_eq!(values, [json!({"h": "a"}), json!({"h": "b"})]);

        let error = html_extract(params.clone(), items(vec![json!({"other": 1})]), &resolver).unwrap_err();
        assert!(matches!(&error, NodeError::Param { pointer, .. } if pointer == "/params/source_field"), "{error}");
        let error = html_extract(params, items(vec![json!({"page": {"html": {"a": 1}}})]), &resolver).unwrap_err();
        assert!(error.to_string().contains("not HTML text"), "{error}");
    }

    #[test]
    fn a_selector_that_does_not_parse_is_a_param_error() {
        let params: HtmlExtractParams =
            serde_json::from_value(json!({"extract": [{"key": "h", "selector": "{{ $json.s }}"}]})).unwrap();
        struct Gives;
        impl crate::exec::Expressions for Gives {
            fn evaluate(
                &self,
                _: &str,
                _: &crate::exec::ItemContext<'_>,
            ) -> Result<Value, crate::exec::ExpressionError> {
                Ok(json!("h1[["))
            }
        }
        let resolver = Resolver::new("Extract", &Gives);
        let error = html_extract(params, items(vec![json!({"data": "<h1>a</h1>"})]), &resolver).unwrap_err();
        assert!(
            matches!(&error, NodeError::Param { pointer, .. } if pointer == "/params/extract/0/selector"),
            "{error}"
        );
    }

    fn table(params: Value, rows: Vec<Value>) -> Vec<Item> {
        let params: HtmlTableParams = serde_json::from_value(params).unwrap();
        let resolver = Resolver::new("Table", &NoExpressions);
        html_table(params, items(rows), &resolver).unwrap().remove(0)
    }

    #[test]
    fn a_table_has_a_column_per_key_and_escapes_values() {
        let out = table(
            json!({"default_style": false}),
            vec![json!({"name": "<b>Ann</b>", "paid": true}), json!({"name": "Bob", "age": 3, "tags": ["x"]})],
        );
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0].json["table"],
            "<table  ><thead  ><tr><th>name</th><th>paid</th><th>age</th><th>tags</th></tr></thead><tbody>\
             <tr  ><td  >&lt;b&gt;Ann&lt;/b&gt;</td><td  ><input type=\"checkbox\" checked=\"checked\"/></td><td  ></td><td  ></td></tr>\
             <tr  ><td  >Bob</td><td  ></td><td  >3</td><td  >[&quot;x&quot;]</td></tr></tbody></table>"
        );
    }

    #[test]
    fn table_options_style_caption_and_capitalize() {
        let out = table(
            json!({"caption": "Team", "capitalize_headers": true, "table_attributes": "class=\"t\"", "row_attributes": "class=\"r\"", "cell_attributes": "class=\"c\"", "header_attributes": "id=\"h\""}),
            vec![json!({"first_name": "Ann"})],
        );
        let html = out[0].json["table"].as_str().unwrap();
        assert!(html.starts_with(&format!("<table {TABLE_STYLE} class=\"t\"><caption>Team</caption><thead {HEADER_STYLE} id=\"h\"><tr><th>First Name</th>")), "{html}");
        assert!(html.contains(&format!("<tr  class=\"r\"><td {CELL_STYLE} class=\"c\">Ann</td></tr>")), "{html}");
        assert!(table(json!({}), vec![]).is_empty());
    }
}
