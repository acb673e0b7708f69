//! The n8n expression surface a corpus of n8n workflows uses: the JavaScript of their `{{ … }}`
//! expressions, the n8n extension methods and `$` globals they call, and whether this
//! evaluator has them. The corpus tests and `weft import n8n --report` share it.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use weft_engine::{Expressions, Item, ItemContext};

use crate::{JsExpressions, RunContext};

/// n8n's data transformation functions, by the names its documentation gives them.
pub const EXTENSION_METHODS: &[&str] = &[
    // Strings.
    "hash",
    "removeMarkdown",
    "removeTags",
    "toDate",
    "toDateTime",
    "toBoolean",
    "toDecimalNumber",
    "toNumber",
    "toFloat",
    "toInt",
    "toWholeNumber",
    "toSentenceCase",
    "toSnakeCase",
    "toTitleCase",
    "urlDecode",
    "urlEncode",
    "quote",
    "replaceSpecialChars",
    "isDomain",
    "isEmail",
    "isNumeric",
    "isUrl",
    "isEmpty",
    "isNotEmpty",
    "isBlank",
    "isNotBlank",
    "toJsonString",
    "extractEmail",
    "extractDomain",
    "extractUrl",
    "extractUrlPath",
    "parseJson",
    "fromJson",
    "base64Encode",
    "base64Decode",
    "toBase64",
    "fromBase64",
    // Arrays.
    "average",
    "chunk",
    "compact",
    "difference",
    "first",
    "intersection",
    "last",
    "max",
    "merge",
    "min",
    "pluck",
    "randomItem",
    "removeDuplicates",
    "renameKeys",
    "smartJoin",
    "sum",
    "union",
    "unique",
    "append",
    // Numbers.
    "ceil",
    "floor",
    "format",
    "isEven",
    "isOdd",
    "round",
    "isInteger",
    "abs",
    // Objects.
    "hasField",
    "keepFieldsContaining",
    "removeField",
    "removeFieldsContaining",
    "keys",
    "values",
    // Dates.
    "beginningOf",
    "endOfMonth",
    "extract",
    "isBetween",
    "isDst",
    "isInLast",
    "isWeekend",
    "minus",
    "plus",
    "diffTo",
    "diffToNow",
];

/// `$` names that are arguments of every evaluation rather than globals.
const ARGUMENTS: [&str; 5] = ["$json", "$binary", "$itemIndex", "$input", "$prevNode"];

/// `$` names that only an HTTP request's pagination params see (given to
/// [`weft_engine::Expressions::evaluate_with_globals`] after each page).
const PAGINATION_GLOBALS: [&str; 2] = ["$response", "$pageCount"];

/// Appends the JavaScript inside every `{{ … }}` of `value` (a node's parameters) to `out`.
pub fn expressions_in(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(text) => {
            let mut rest = text.as_str();
            while let Some(open) = rest.find("{{") {
                let Some(close) = rest[open + 2..].find("}}") else { break };
                out.push(rest[open + 2..open + 2 + close].to_string());
                rest = &rest[open + 2 + close + 2..];
            }
        }
        Value::Array(values) => values.iter().for_each(|value| expressions_in(value, out)),
        Value::Object(members) => members.values().for_each(|value| expressions_in(value, out)),
        _ => {}
    }
}

/// Whether the call at `dot` (the `.` before a method name) is on `$input` or `$('Node')`,
/// whose `first()` and `last()` are not the array methods.
fn on_node_accessor(source: &str, dot: usize) -> bool {
    let before = &source[..dot];
    if before.ends_with("$input") {
        return true;
    }
    if !before.ends_with(')') {
        return false;
    }
    let mut depth = 0;
    for (at, char) in before.char_indices().rev() {
        match char {
            ')' => depth += 1,
            '(' => {
                depth -= 1;
                if depth == 0 {
                    return before[..at].ends_with('$');
                }
            }
            _ => {}
        }
    }
    false
}

/// Calls of each extension method name (`.name(`) in `expressions`.
pub fn count_calls(expressions: &[String]) -> BTreeMap<&'static str, usize> {
    let mut counts = BTreeMap::new();
    for source in expressions {
        for (dot, _) in source.match_indices('.') {
            let rest = &source[dot + 1..];
            let name_end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
            let (name, after) = rest.split_at(name_end);
            if !after.trim_start().starts_with('(') {
                continue;
            }
            let Some(known) = EXTENSION_METHODS.iter().find(|known| **known == name) else { continue };
            if matches!(name, "first" | "last") && on_node_accessor(source, dot) {
                continue;
            }
            // `Math.floor(…)`, `Object.keys(…)`: JavaScript's own functions.
            let receiver = source[..dot].rsplit(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).next();
            if receiver.is_some_and(|receiver| {
                ["Math", "Object", "JSON", "Array", "Number", "String", "Date", "DateTime"].contains(&receiver)
            }) {
                continue;
            }
            *counts.entry(*known).or_default() += 1;
        }
    }
    counts
}

/// Uses of each `$` global (`$json`, `$now`, `$(` as `$()`) in `expressions`.
pub fn count_globals(expressions: &[String]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for source in expressions {
        for (at, _) in source.match_indices('$') {
            let rest = &source[at + 1..];
            let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
            let name = match &rest[..end] {
                "" if rest.starts_with('(') => "$()".to_string(),
                "" => continue,
                // `$1` in a replacement pattern, `$50` in a text: not globals.
                name if name.starts_with(|c: char| c.is_ascii_digit()) => continue,
                name => format!("${name}"),
            };
            *counts.entry(name).or_default() += 1;
        }
    }
    counts
}

/// Asks a fresh evaluator which globals and extension methods it has.
pub struct Surface {
    expressions: JsExpressions,
}

impl Default for Surface {
    fn default() -> Self {
        Surface { expressions: JsExpressions::new(RunContext::default()) }
    }
}

impl Surface {
    fn holds(&self, test: &str) -> bool {
        let item = Item::new(serde_json::Map::new());
        let inputs = vec![vec![item.clone()]];
        let context = ItemContext { node: "Node", item: &item, index: 0, input: 0, inputs: &inputs };
        self.expressions.evaluate(test, &context).is_ok_and(|value| value == json!(true))
    }

    /// Whether `$name` (or `$()` as counted by [`count_globals`]) can be read in an expression.
    pub fn has_global(&self, name: &str) -> bool {
        let global = name.trim_end_matches("()");
        ARGUMENTS.contains(&global)
            || PAGINATION_GLOBALS.contains(&global)
            || self.holds(&format!("'{global}' in globalThis"))
    }

    /// Whether some built-in type's prototype has the extension method `name`.
    pub fn has_method(&self, name: &str) -> bool {
        self.holds(&format!(
            "[String, Array, Number, Boolean, Object, Date, DateTime].some(type => typeof type.prototype['{name}'] === 'function')"
        ))
    }
}
