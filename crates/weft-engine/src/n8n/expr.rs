//! Values and conditions between n8n and Weft.
//!
//! n8n marks an expression with a leading `=` (`={{ $json.id }}`); its `{{ … }}` bodies are
//! JavaScript, as Weft's are, so converting is stripping the `=`. A `=` string without `{{` is a
//! literal after the `=`. Conditions map onto Weft's operators where one exists, and otherwise
//! onto an `equals true` test of a JavaScript expression that computes the n8n operator.

use serde_json::{Map, Value, json};

/// An n8n parameter string as Weft writes it.
pub(super) fn string_to_weft(text: &str) -> String {
    text.strip_prefix('=').unwrap_or(text).to_string()
}

/// An n8n parameter string as Weft writes it. A literal that holds `{{` (a Liquid or Handlebars
/// template sent on as it is) becomes an expression giving exactly that text, since Weft would
/// evaluate the braces and n8n does not.
pub(super) fn value_to_weft(text: &str) -> String {
    if !text.starts_with('=') && text.contains("{{") {
        return format!("{{{{ {} }}}}", braceless_literal(&Value::String(text.to_owned())));
    }
    string_to_weft(text)
}

/// An n8n parameter value as Weft writes it: every string at any depth converted.
pub(super) fn to_weft(value: &Value) -> Value {
    match value {
        Value::String(text) => Value::String(value_to_weft(text)),
        Value::Array(values) => Value::Array(values.iter().map(to_weft).collect()),
        Value::Object(members) => Value::Object(members.iter().map(|(k, v)| (k.clone(), to_weft(v))).collect()),
        other => other.clone(),
    }
}

/// A Weft string as n8n writes it: expressions (and strings n8n would take for one) get `=`.
pub(super) fn string_to_n8n(text: &str) -> String {
    if text.contains("{{") || text.starts_with('=') { format!("={text}") } else { text.to_string() }
}

/// A Weft value as n8n writes it.
pub(super) fn to_n8n(value: &Value) -> Value {
    match value {
        Value::String(text) => Value::String(string_to_n8n(text)),
        Value::Array(values) => Value::Array(values.iter().map(to_n8n).collect()),
        Value::Object(members) => Value::Object(members.iter().map(|(k, v)| (k.clone(), to_n8n(v))).collect()),
        other => other.clone(),
    }
}

/// The body of a string that is exactly one `{{ … }}` expression.
pub(super) fn single_expression(text: &str) -> Option<&str> {
    let body = text.strip_prefix("{{")?.strip_suffix("}}")?;
    (!body.contains("{{") && !body.contains("}}")).then_some(body.trim())
}

/// A JavaScript expression computing a Weft value: an expression's body, a template literal for
/// text with expressions spliced in, or the JSON of a literal.
pub(super) fn js_of(value: &Value) -> String {
    let Value::String(text) = value else {
        return value.to_string();
    };
    if let Some(body) = single_expression(text) {
        return format!("({body})");
    }
    if !text.contains("{{") {
        return value.to_string();
    }
    let mut out = String::from("`");
    let mut rest = text.as_str();
    while let Some(open) = rest.find("{{") {
        out.push_str(&escape_template(&rest[..open]));
        let after = &rest[open + 2..];
        let close = after.find("}}").unwrap_or(after.len());
        out.push_str(&format!("${{{}}}", after[..close].trim()));
        rest = after.get(close + 2..).unwrap_or("");
    }
    out.push_str(&escape_template(rest));
    out.push('`');
    out
}

fn escape_template(text: &str) -> String {
    text.replace('\\', "\\\\").replace('`', "\\`").replace("${", "\\${")
}

/// `text` with every reference to an n8n node's raw parameters (`$('Node').params`,
/// `$node["Node"].parameter`) replaced by a literal of them, as `params_of` gives them; `None`
/// when it has none. A Weft node's params are not n8n's, and n8n's never change during a run.
pub(super) fn inline_n8n_params<'v>(
    text: &str,
    params_of: impl Fn(&str) -> Option<&'v Value>,
) -> Option<(String, Vec<String>)> {
    let mut out = String::with_capacity(text.len());
    let mut named = Vec::new();
    let mut rest = text;
    'scan: while !rest.is_empty() {
        for (open, close, property) in [
            ("$('", "')", ".params"),
            ("$(\"", "\")", ".params"),
            ("$node[\"", "\"]", ".parameter"),
            ("$node['", "']", ".parameter"),
        ] {
            let Some(after_open) = rest.strip_prefix(open) else { continue };
            let Some(end) = after_open.find(close) else { continue };
            let name = &after_open[..end];
            let Some(after) = after_open[end + close.len()..].strip_prefix(property) else { continue };
            let whole_word = !after.starts_with(|c: char| c.is_alphanumeric() || c == '_' || c == '$');
            if let (true, Some(params)) = (whole_word, params_of(name)) {
                out.push('(');
                out.push_str(&braceless_literal(params));
                out.push(')');
                named.push(name.to_string());
                rest = after;
                continue 'scan;
            }
        }
        let next = rest.chars().next().map_or(1, char::len_utf8);
        out.push_str(&rest[..next]);
        rest = &rest[next..];
    }
    (!named.is_empty()).then_some((out, named))
}

/// A JavaScript literal of `value` that holds neither `{{` nor `}}`, so that it can stand in a
/// Weft template's `{{ }}`: braces are spaced, and those inside strings escaped.
fn braceless_literal(value: &Value) -> String {
    match value {
        Value::String(_) => value.to_string().replace('{', "\\u007b").replace('}', "\\u007d"),
        Value::Array(items) => format!("[{}]", items.iter().map(braceless_literal).collect::<Vec<_>>().join(", ")),
        Value::Object(members) if members.is_empty() => "{ }".to_string(),
        Value::Object(members) => {
            let members: Vec<String> = members
                .iter()
                .map(|(key, member)| {
                    format!("{}: {}", braceless_literal(&Value::String(key.clone())), braceless_literal(member))
                })
                .collect();
            format!("{{ {} }}", members.join(", "))
        }
        other => other.to_string(),
    }
}

/// A Weft condition.
pub(super) fn condition(left: Value, operator: &str, right: Option<Value>) -> Value {
    let mut members = Map::new();
    members.insert("left".into(), left);
    members.insert("operator".into(), Value::String(operator.into()));
    if let Some(right) = right {
        members.insert("right".into(), right);
    }
    Value::Object(members)
}

/// A condition that holds when the JavaScript `js` is `true`; `None` when `js` holds a `}}`,
/// which would end the expression early.
fn js_condition(js: String) -> Option<Value> {
    (!js.contains("}}")).then(|| condition(Value::String(format!("{{{{ {js} }}}}")), "equals", Some(json!(true))))
}

/// JavaScript that is true when `v` is empty as Weft's `is_empty` means it.
fn js_is_empty(v: &str) -> String {
    format!(
        "((v) => v == null || v === '' || (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0))({v})"
    )
}

/// A `/pattern/flags` literal as Rust's regex syntax (`(?i)pattern`); other text as it is.
fn regex_to_weft(pattern: &Value) -> Value {
    let Value::String(text) = pattern else {
        return pattern.clone();
    };
    if let Some(inner) = text.strip_prefix('/')
        && let Some(end) = inner.rfind('/')
        && !text.contains("{{")
    {
        let flags: String = inner[end + 1..].chars().filter(|flag| matches!(flag, 'i' | 'm' | 's')).collect();
        let body = &inner[..end];
        return Value::String(if flags.is_empty() { body.to_string() } else { format!("(?{flags}){body}") });
    }
    pattern.clone()
}

/// One n8n comparison (already converted operands) as a Weft condition; `None` when it cannot
/// be expressed. `operation` uses the v2 filter names (`equals`, `notContains`, `gt`, …).
pub(super) fn compare(left: Value, operation: &str, right: Value, kind: &str) -> Option<Value> {
    let l = || js_of(&left);
    let r = || js_of(&right);
    let native = |operator: &str| Some(condition(left.clone(), operator, Some(right.clone())));
    match operation {
        "equals" | "equal" => native("equals"),
        "notEquals" | "notEqual" => native("not_equals"),
        "contains" => native("contains"),
        "gt" | "larger" | "after" => native("gt"),
        "gte" | "largerEqual" | "afterOrEquals" => native("gte"),
        "lt" | "smaller" | "before" => native("lt"),
        "lte" | "smallerEqual" | "beforeOrEquals" => native("lte"),
        "regex" => Some(condition(left.clone(), "regex", Some(regex_to_weft(&right)))),
        "exists" => Some(condition(left, "exists", None)),
        "empty" | "isEmpty" => Some(condition(left, "is_empty", None)),
        "true" => Some(condition(left, "equals", Some(json!(true)))),
        "false" => Some(condition(left, "equals", Some(json!(false)))),
        "notExists" => js_condition(format!("{} == null", l())),
        "notEmpty" | "isNotEmpty" => js_condition(format!("!{}", js_is_empty(&l()))),
        "notContains" if kind == "array" => js_condition(format!("!({}).includes({})", l(), r())),
        "notContains" => js_condition(format!("!String({}).includes({})", l(), r())),
        "startsWith" => js_condition(format!("String({}).startsWith({})", l(), r())),
        "notStartsWith" => js_condition(format!("!String({}).startsWith({})", l(), r())),
        "endsWith" => js_condition(format!("String({}).endsWith({})", l(), r())),
        "notEndsWith" => js_condition(format!("!String({}).endsWith({})", l(), r())),
        "notRegex" => js_condition(format!("!new RegExp({}).test(String({}))", r(), l())),
        "lengthEquals" => js_condition(format!("({}).length === {}", l(), r())),
        "lengthNotEquals" => js_condition(format!("({}).length !== {}", l(), r())),
        "lengthGt" => js_condition(format!("({}).length > {}", l(), r())),
        "lengthLt" => js_condition(format!("({}).length < {}", l(), r())),
        "lengthGte" => js_condition(format!("({}).length >= {}", l(), r())),
        "lengthLte" => js_condition(format!("({}).length <= {}", l(), r())),
        _ => None,
    }
}

/// A Weft condition as an n8n v2 filter condition (`{id, leftValue, rightValue, operator}`).
pub(super) fn condition_to_n8n(condition: &Value, id: String) -> Value {
    let left = condition.get("left").cloned().unwrap_or(Value::Null);
    let right = condition.get("right").cloned();
    let operator = condition.get("operator").and_then(Value::as_str).unwrap_or("equals");
    let kind = match &right {
        Some(Value::Number(_)) => "number",
        Some(Value::Bool(_)) => "boolean",
        Some(Value::Array(_)) => "array",
        _ => "string",
    };
    let (kind, operation, single) = match operator {
        "equals" => (kind, "equals", false),
        "not_equals" => (kind, "notEquals", false),
        "contains" if kind == "string" => ("string", "contains", false),
        "contains" => ("array", "contains", false),
        "gt" => ("number", "gt", false),
        "gte" => ("number", "gte", false),
        "lt" => ("number", "lt", false),
        "lte" => ("number", "lte", false),
        "exists" => ("string", "exists", true),
        "is_empty" => ("string", "empty", true),
        _ => ("string", "regex", false),
    };
    let mut operator = json!({"type": kind, "operation": operation});
    if single {
        operator["singleValue"] = json!(true);
    }
    json!({
        "id": id,
        "leftValue": to_n8n(&left),
        "rightValue": right.map(|right| to_n8n(&right)).unwrap_or(json!("")),
        "operator": operator
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_to_n8n_parameters_become_literals_without_double_braces() {
        let params =
            json!({"fields": {"values": [{"stringValue": "abc", "template": "={{ $json.x }}"}]}, "options": {}});
        let params_of = |name: &str| (name == "Account").then_some(&params);
        let text = r#"https://x/{{ $('Account').params["fields"]["values"][0]["stringValue"] }}/{{ $node["Account"].parameter.options }}"#;
        let (inlined, named) = inline_n8n_params(text, params_of).expect("two references");
        assert_eq!(named, ["Account", "Account"]);
        assert!(!inlined.contains("$('Account')") && !inlined.contains("$node"), "{inlined}");
        let bodies: Vec<&str> = inlined.split("{{").skip(1).map(|part| part.split("}}").next().unwrap()).collect();
        assert_eq!(bodies.len(), 2, "no braces of the literal end an expression early: {inlined}");
        assert!(bodies[0].starts_with(r#" ({ "fields": { "values": [{ "stringValue": "abc", "template": "=\u007b\u007b $json.x \u007d\u007d" }] }, "options": { } })["fields"]"#), "{}", bodies[0]);
        assert_eq!(inline_n8n_params("$('Other').params and $('Account').paramsX", params_of), None);
    }

    #[test]
    fn expressions_lose_their_equals_sign_and_literals_stay() {
        assert_eq!(string_to_weft("={{ $json.a }}"), "{{ $json.a }}");
        assert_eq!(string_to_weft("=plain"), "plain");
        assert_eq!(value_to_weft("Hi {{ name }}!"), r#"{{ "Hi \u007b\u007b name \u007d\u007d!" }}"#);
        assert_eq!(value_to_weft("={{ $json.a }}"), "{{ $json.a }}");
        assert_eq!(string_to_n8n("{{ $json.a }}"), "={{ $json.a }}");
        assert_eq!(string_to_n8n("=x"), "==x");
        assert_eq!(string_to_weft(&string_to_n8n("=x")), "=x");
        assert_eq!(to_weft(&json!({"a": ["={{ 1 }}", 2]})), json!({"a": ["{{ 1 }}", 2]}));
    }

    #[test]
    fn javascript_of_values() {
        assert_eq!(js_of(&json!("{{ $json.a }}")), "($json.a)");
        assert_eq!(js_of(&json!("x`y {{ $json.a }}!")), "`x\\`y ${$json.a}!`");
        assert_eq!(js_of(&json!("plain")), "\"plain\"");
        assert_eq!(js_of(&json!(5)), "5");
    }

    #[test]
    fn negated_operators_become_javascript_tests() {
        let found = compare(json!("{{ $json.a }}"), "notContains", json!("x"), "string").unwrap();
        assert_eq!(
            found,
            json!({"left": "{{ !String(($json.a)).includes(\"x\") }}", "operator": "equals", "right": true})
        );
        let found = compare(json!("{{ $json.a }}"), "regex", json!("/^ab/i"), "string").unwrap();
        assert_eq!(found["right"], "(?i)^ab");
        assert_eq!(compare(json!(1), "sometimes", json!(2), "number"), None);
    }
}
