//! `xml`: XML text → JSON as xml2js (n8n's XML node) shapes it, over quick-xml's reader, and
//! JSON → XML written as xml2js's builder writes it (indented by two spaces).

use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};
use serde_json::{Map, Value};

use super::expression::{Resolver, javascript_number};
use super::{NodeError, path};
use crate::item::Item;
use crate::params::{XML_DEFAULT_ROOT, XmlMode, XmlParams};
use crate::pointer::Pointer;

/// `to_json`: each item becomes the JSON of the XML in its field (its other fields are not
/// kept, as in n8n). `to_xml`: each item becomes `{field: xml}`, the XML of its whole JSON.
pub(super) fn xml(
    params: XmlParams,
    inputs: Vec<Vec<Item>>,
    resolver: &Resolver<'_>,
) -> Result<Vec<Vec<Item>>, NodeError> {
    let at = Pointer::root().key("params").key("field");
    let mut output = Vec::with_capacity(inputs.first().map_or(0, Vec::len));
    for context in resolver.each(&inputs, 0) {
        let json = match params.mode {
            XmlMode::ToJson => {
                let text = match path::get(&context.item.json, &params.field) {
                    Some(Value::String(text)) => text,
                    Some(other) => {
                        return Err(resolver.param_error(
                            &at,
                            format!(
                                "`{}` of item {} is {}, not XML text",
                                params.field,
                                context.index,
                                path::kind(other)
                            ),
                        ));
                    }
                    None => {
                        return Err(resolver.param_error(
                            &at,
                            format!("item {} has no field `{}` holding XML", context.index, params.field),
                        ));
                    }
                };
                match xml_to_json(text, &params) {
                    Ok(Value::Object(json)) => json,
                    Ok(other) => Map::from_iter([(params.field.clone(), other)]),
                    Err(message) => {
                        return Err(resolver.param_error(
                            &at,
                            format!("`{}` of item {} is not well-formed XML: {message}", params.field, context.index),
                        ));
                    }
                }
            }
            XmlMode::ToXml => path::nest(&params.field, Value::String(json_to_xml(&context.item.json, &params))),
        };
        output.push(Item::new(json));
    }
    Ok(vec![output])
}

/// An element being read: its members so far and its text.
struct Open {
    name: String,
    members: Map<String, Value>,
    text: String,
}

fn xml_to_json(text: &str, params: &XmlParams) -> Result<Value, String> {
    let explicit_array = params.explicit_array == Some(true);
    let mut reader = Reader::from_str(text);
    reader.config_mut().expand_empty_elements = true;
    let mut stack: Vec<Open> = Vec::new();
    let mut root = None;
    loop {
        let event = reader.read_event().map_err(|error| format!("{error} (at byte {})", reader.error_position()))?;
        match event {
            Event::Start(start) => {
                if root.is_some() && stack.is_empty() {
                    return Err("there is more than one root element".to_string());
                }
                stack.push(open(&start, params)?);
            }
            Event::End(_) => {
                let element = stack.pop().ok_or("an end tag closes no element")?;
                let (name, value) = close(element, params);
                match stack.last_mut() {
                    Some(parent) => assign(&mut parent.members, name, value, explicit_array),
                    None => root = Some((name, value)),
                }
            }
            Event::Text(content) => append_text(&mut stack, &content.xml10_content())?,
            Event::CData(content) => append_text(&mut stack, &content.xml10_content())?,
            Event::GeneralRef(reference) => {
                let resolved = match reference.resolve_char_ref().map_err(|error| error.to_string())? {
                    Some(c) => c.to_string(),
                    None => {
                        let name = reference.xml10_content();
                        resolve_predefined_entity(&name)
                            .ok_or(format!("the entity `&{name};` is not defined"))?
                            .to_string()
                    }
                };
                append_text(&mut stack, &resolved)?;
            }
            Event::Eof => break,
            Event::Empty(_) | Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    if let Some(unclosed) = stack.last() {
        return Err(format!("the element <{}> is not closed", unclosed.name));
    }
    let (name, value) = root.ok_or("there is no root element")?;
    Ok(if params.explicit_root == Some(false) { value } else { Value::Object(Map::from_iter([(name, value)])) })
}

fn open(start: &BytesStart<'_>, params: &XmlParams) -> Result<Open, String> {
    let raw_name = start.name();
    let name: &str = raw_name.as_ref();
    let name = if params.lowercase_tags == Some(true) { name.to_lowercase() } else { name.to_string() };
    let mut members = Map::new();
    if params.ignore_attributes != Some(true) {
        let mut attributes = Map::new();
        for attribute in start.attributes() {
            let attribute = attribute.map_err(|error| error.to_string())?;
            let value = attribute.normalized_value(XmlVersion::Implicit1_0).map_err(|error| error.to_string())?;
            let key: &str = attribute.key.as_ref();
            attributes.insert(key.to_string(), Value::String(value.into_owned()));
        }
        if params.merge_attributes == Some(false) {
            if !attributes.is_empty() {
                members.insert(params.attribute_key.clone(), Value::Object(attributes));
            }
        } else {
            for (key, value) in attributes {
                assign(&mut members, key, value, params.explicit_array == Some(true));
            }
        }
    }
    Ok(Open { name, members, text: String::new() })
}

fn append_text(stack: &mut [Open], text: &str) -> Result<(), String> {
    match stack.last_mut() {
        Some(element) => element.text.push_str(text),
        None if text.trim().is_empty() => {}
        None => return Err("there is text outside the root element".to_string()),
    }
    Ok(())
}

/// xml2js's closing rules: text that is only whitespace is dropped (an element holding nothing
/// else is that text); text beside attributes or children goes under `text_key`; an element
/// with nothing but text is its text.
fn close(element: Open, params: &XmlParams) -> (String, Value) {
    let Open { name, mut members, text } = element;
    let blank = text.trim().is_empty();
    if !blank {
        let mut text = if params.trim == Some(true) { text.trim().to_string() } else { text.clone() };
        if params.normalize == Some(true) {
            text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        }
        members.insert(params.text_key.clone(), Value::String(text));
        if members.len() == 1 {
            return (name, members.remove(&params.text_key).unwrap_or_default());
        }
    }
    if members.is_empty() {
        // Only blank text is left here: xml2js keeps it as the element's value.
        return (name, Value::String(text));
    }
    (name, Value::Object(members))
}

/// The first value under a key stands alone (or in a list with `explicit_array`); a second
/// makes a list.
fn assign(members: &mut Map<String, Value>, key: String, value: Value, explicit_array: bool) {
    match members.get_mut(&key) {
        None => {
            members.insert(key, if explicit_array { Value::Array(vec![value]) } else { value });
        }
        Some(Value::Array(values)) => values.push(value),
        Some(single) => *single = Value::Array(vec![single.take(), value]),
    }
}

/// An element to write.
#[derive(Default)]
struct Element {
    name: String,
    attributes: Vec<(String, String)>,
    children: Vec<Child>,
}

enum Child {
    Element(Element),
    Text(String),
}

/// xml2js's builder: an object with exactly one key names the root (unless `root_name` is
/// given); `attribute_key` holds attributes, `text_key` text; a list repeats its key.
fn json_to_xml(json: &Map<String, Value>, params: &XmlParams) -> String {
    let root_name = params.root_name.as_deref().unwrap_or(XML_DEFAULT_ROOT);
    let (name, value) = match json.iter().next() {
        Some((key, value)) if json.len() == 1 && root_name == XML_DEFAULT_ROOT => (key.clone(), value.clone()),
        _ => (root_name.to_string(), Value::Object(json.clone())),
    };
    let mut root = Element { name, ..Element::default() };
    fill(&mut root, &value, params);
    let mut xml = String::new();
    if params.headless != Some(true) {
        xml.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n");
    }
    write(&root, 0, params.cdata == Some(true), &mut xml);
    xml.truncate(xml.trim_end_matches('\n').len());
    xml
}

fn fill(element: &mut Element, value: &Value, params: &XmlParams) {
    match value {
        Value::Null => {}
        Value::Array(entries) => {
            for entry in entries {
                match entry {
                    Value::Object(members) => {
                        for (key, child) in members {
                            element.children.push(Child::Element(child_element(key, child, params)));
                        }
                    }
                    scalar => fill(element, scalar, params),
                }
            }
        }
        Value::Object(members) => {
            for (key, child) in members {
                if *key == params.attribute_key
                    && let Value::Object(attributes) = child
                {
                    element
                        .attributes
                        .extend(attributes.iter().map(|(name, value)| (name.clone(), scalar_text(value))));
                } else if *key == params.text_key {
                    element.children.push(Child::Text(scalar_text(child)));
                } else if let Value::Array(entries) = child {
                    element
                        .children
                        .extend(entries.iter().map(|entry| Child::Element(child_element(key, entry, params))));
                } else {
                    element.children.push(Child::Element(child_element(key, child, params)));
                }
            }
        }
        scalar => element.children.push(Child::Text(scalar_text(scalar))),
    }
}

fn child_element(name: &str, value: &Value, params: &XmlParams) -> Element {
    let mut element = Element { name: name.to_string(), ..Element::default() };
    fill(&mut element, value, params);
    element
}

/// A value as JavaScript's `toString` writes it (objects as JSON rather than `[object Object]`).
fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Number(number) => javascript_number(number),
        other => other.to_string(),
    }
}

fn write(element: &Element, depth: usize, cdata: bool, xml: &mut String) {
    let indent = "  ".repeat(depth);
    xml.push_str(&format!("{indent}<{}", element.name));
    for (name, value) in &element.attributes {
        xml.push_str(&format!(" {name}=\"{}\"", escape_attribute(value)));
    }
    let children: Vec<&Child> =
        element.children.iter().filter(|child| !matches!(child, Child::Text(text) if text.is_empty())).collect();
    match children.as_slice() {
        [] => xml.push_str("/>\n"),
        [Child::Text(text)] => xml.push_str(&format!(">{}</{}>\n", text_content(text, cdata), element.name)),
        children => {
            xml.push_str(">\n");
            for child in children {
                match child {
                    Child::Element(child) => write(child, depth + 1, cdata, xml),
                    Child::Text(text) => xml.push_str(&format!("{indent}  {}\n", text_content(text, cdata))),
                }
            }
            xml.push_str(&format!("{indent}</{}>\n", element.name));
        }
    }
}

fn text_content(text: &str, cdata: bool) -> String {
    if cdata && text.contains(['&', '<', '>']) {
        return format!("<![CDATA[{}]]>", text.replace("]]>", "]]]]><![CDATA[>"));
    }
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('\r', "&#xD;")
}

fn escape_attribute(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '"' => escaped.push_str("&quot;"),
            '\t' => escaped.push_str("&#x9;"),
            '\n' => escaped.push_str("&#xA;"),
            '\r' => escaped.push_str("&#xD;"),
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

    fn params(value: Value) -> XmlParams {
        serde_json::from_value(value).unwrap()
    }

    fn to_json(xml: &str, options: Value) -> Value {
        let mut value = json!({"mode": "to_json"});
        value.as_object_mut().unwrap().extend(options.as_object().unwrap().clone());
        xml_to_json(xml, &params(value)).unwrap()
    }

    const ORDER: &str = r#"<?xml version="1.0"?>
<!-- an order -->
<Order id="7" status="open">
  <Item sku="a">Pen</Item>
  <Item sku="b">Ink &amp; paper</Item>
  <Note>  Leave at the <b>door</b>  </Note>
  <Empty/>
  <Blank>   </Blank>
  <Code><![CDATA[x < y]]></Code>
</Order>"#;

    #[test]
    fn xml_becomes_json_as_xml2js_makes_it() {
        assert_eq!(
            to_json(ORDER, json!({})),
            json!({"Order": {
                "id": "7", "status": "open",
                "Item": [{"sku": "a", "_": "Pen"}, {"sku": "b", "_": "Ink & paper"}],
                "Note": {"_": "  Leave at the   ", "b": "door"},
                "Empty": "",
                "Blank": "   ",
                "Code": "x < y"
            }})
        );
    }

    #[test]
    fn xml_options_reshape_the_json() {
        assert_eq!(
            to_json(
                ORDER,
                json!({"merge_attributes": false, "explicit_root": false, "trim": true, "lowercase_tags": true})
            ),
            json!({
                "$": {"id": "7", "status": "open"},
                "item": [{"$": {"sku": "a"}, "_": "Pen"}, {"$": {"sku": "b"}, "_": "Ink & paper"}],
                "note": {"_": "Leave at the", "b": "door"},
                "empty": "",
                "blank": "   ",
                "code": "x < y"
            })
        );
        assert_eq!(
            to_json("<a x=\"1\"><b>t  u</b></a>", json!({"explicit_array": true, "normalize": true})),
            json!({"a": {"x": ["1"], "b": ["t u"]}})
        );
        assert_eq!(
            to_json(
                "<a x=\"1\"><b>t</b></a>",
                json!({"ignore_attributes": true, "attribute_key": "@", "text_key": "#"})
            ),
            json!({"a": {"b": "t"}})
        );
        assert_eq!(
            to_json("<a x=\"1\">t</a>", json!({"merge_attributes": false, "attribute_key": "@", "text_key": "#"})),
            json!({"a": {"@": {"x": "1"}, "#": "t"}})
        );
    }

    #[test]
    fn invalid_xml_is_a_param_error() {
        for (xml, expected) in [
            ("<a><b></a>", "well-formed"),
            ("<a>", "not closed"),
            ("<a/><b/>", "more than one root"),
            ("just text", "outside the root"),
            ("", "no root element"),
            ("<a>&nope;</a>", "not defined"),
        ] {
            let input = vec![vec![Item::new(json!({"data": xml}).as_object().unwrap().clone())]];
            let error = super::xml(params(json!({"mode": "to_json"})), input, &Resolver::new("XML", &NoExpressions))
                .unwrap_err();
            assert!(matches!(&error, NodeError::Param { pointer, .. } if pointer == "/params/field"), "{error}");
            assert!(error.to_string().contains(expected), "{xml}: {error}");
        }
        let input = vec![vec![Item::new(json!({"data": 5}).as_object().unwrap().clone())]];
        let error =
            super::xml(params(json!({"mode": "to_json"})), input, &Resolver::new("XML", &NoExpressions)).unwrap_err();
        assert!(error.to_string().contains("not XML text"), "{error}");
    }

    fn to_xml(json: Value, options: Value) -> String {
        let mut value = json!({"mode": "to_xml"});
        value.as_object_mut().unwrap().extend(options.as_object().unwrap().clone());
        json_to_xml(json.as_object().unwrap(), &params(value))
    }

    #[test]
    fn json_becomes_xml_as_xml2js_builds_it() {
        let json = json!({"Order": {
            "$": {"id": 7, "note": "a \"b\""},
            "Item": [{"$": {"sku": "a"}, "_": "Pen"}, "Ink & paper"],
            "Total": 1.5, "Paid": true, "Nothing": null, "Empty": "",
            "Mixed": {"_": "text", "b": "bold"}
        }});
        assert_eq!(
            to_xml(json, json!({})),
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
             <Order id=\"7\" note=\"a &quot;b&quot;\">\n  <Empty/>\n  <Item sku=\"a\">Pen</Item>\n  <Item>Ink &amp; paper</Item>\n  \
             <Mixed>\n    text\n    <b>bold</b>\n  </Mixed>\n  <Nothing/>\n  <Paid>true</Paid>\n  <Total>1.5</Total>\n</Order>"
        );
        assert_eq!(
            to_xml(json!({"a": 1, "b": "x<y"}), json!({"headless": true, "cdata": true})),
            "<root>\n  <a>1</a>\n  <b><![CDATA[x<y]]></b>\n</root>"
        );
        assert_eq!(to_xml(json!({"a": 1}), json!({"headless": true, "root_name": "doc"})), "<doc>\n  <a>1</a>\n</doc>");
    }

    #[test]
    fn xml_round_trips_through_json() {
        let json =
            json!({"Order": {"$": {"id": "7"}, "Item": [{"$": {"sku": "a"}, "_": "Pen"}, "Ink"], "Note": "a < b"}});
        let xml = to_xml(json.clone(), json!({}));
        assert_eq!(to_json(&xml, json!({"merge_attributes": false})), json);
    }

    #[test]
    fn to_xml_writes_the_field_and_to_json_replaces_the_item() {
        let resolver = Resolver::new("XML", &NoExpressions);
        let input = vec![vec![Item::new(json!({"a": {"b": "c"}}).as_object().unwrap().clone())]];
        let out = super::xml(params(json!({"mode": "to_xml", "field": "out.xml", "headless": true})), input, &resolver)
            .unwrap();
        assert_eq!(Value::Object(out[0][0].json.clone()), json!({"out": {"xml": "<a>\n  <b>c</b>\n</a>"}}));
        let input = vec![vec![Item::new(json!({"keep": 1, "x": "<a>1</a>"}).as_object().unwrap().clone())]];
        let out = super::xml(params(json!({"mode": "to_json", "field": "x"})), input, &resolver).unwrap();
        assert_eq!(Value::Object(out[0][0].json.clone()), json!({"a": "1"}));
    }
}
