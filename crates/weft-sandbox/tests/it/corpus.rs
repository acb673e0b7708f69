//! The n8n extension methods (`"a@b.io".extractDomain()`, `$now.format(…)`) that the corpus of
//! real n8n workflows (`../shared/corpus/n8n`) calls in its expressions, counted; every one
//! called at least three times must be implemented. `cargo test -p weft-sandbox --test it
//! corpus -- --nocapture` prints the table that docs/expressions.md shows.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{Value, json};

use crate::Activation;

/// n8n's data transformation functions, by the names its documentation gives them.
const EXTENSION_METHODS: &[&str] = &[
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

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/n8n")
}

/// The JavaScript inside every `{{ … }}` of every node parameter of every corpus workflow.
fn corpus_expressions() -> Vec<String> {
    fn walk(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::String(text) => {
                let mut rest = text.as_str();
                while let Some(open) = rest.find("{{") {
                    let Some(close) = rest[open + 2..].find("}}") else { break };
                    out.push(rest[open + 2..open + 2 + close].to_string());
                    rest = &rest[open + 2 + close + 2..];
                }
            }
            Value::Array(values) => values.iter().for_each(|value| walk(value, out)),
            Value::Object(members) => members.values().for_each(|value| walk(value, out)),
            _ => {}
        }
    }
    let directory = corpus();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&directory)
        .unwrap_or_else(|error| panic!("the n8n corpus at {}: {error}", directory.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "json"))
        .collect();
    files.sort();
    let mut expressions = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("a readable corpus file");
        let workflow: Value = serde_json::from_str(&text).expect("a corpus file is JSON");
        for node in workflow["nodes"].as_array().into_iter().flatten() {
            walk(&node["parameters"], &mut expressions);
        }
    }
    expressions
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
fn count_calls(expressions: &[String]) -> BTreeMap<&'static str, usize> {
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
fn count_globals(expressions: &[String]) -> BTreeMap<String, usize> {
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

#[test]
fn the_globals_the_corpus_uses_are_defined() {
    let expressions = corpus_expressions();
    let mut by_count: Vec<_> = count_globals(&expressions).into_iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let activation = Activation::single(json!({}));
    println!("| global | uses | defined |\n|---|---|---|");
    let mut missing = Vec::new();
    for (name, count) in &by_count {
        let global = name.trim_end_matches("()");
        // `$json`, `$binary`, `$itemIndex`, `$input` and `$prevNode` are arguments, not globals.
        let defined = ["$json", "$binary", "$itemIndex", "$input", "$prevNode"].contains(&global)
            || activation.value(&format!("'{global}' in globalThis")) == json!(true);
        println!("| `{name}` | {count} | {} |", if defined { "yes" } else { "no" });
        if !defined {
            missing.push(name.as_str());
        }
    }
    // n8n's AI tools' `$fromAI` and the HTTP node's pagination `$response` are not expression
    // globals Weft offers.
    assert_eq!(missing, ["$fromAI", "$response"]);
}

#[test]
fn extension_methods_the_corpus_calls_three_times_are_implemented() {
    let expressions = corpus_expressions();
    let counts = count_calls(&expressions);
    let mut by_count: Vec<_> = counts.iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let activation = Activation::single(json!({}));
    let implemented = |name: &str| {
        activation.value(&format!(
            "[String, Array, Number, Boolean, Object, Date, DateTime].some(type => typeof type.prototype['{name}'] === 'function')"
        )) == json!(true)
    };
    println!("{} expressions in the corpus\n\n| method | calls | implemented |\n|---|---|---|", expressions.len());
    for (name, count) in &by_count {
        println!("| `{name}` | {count} | {} |", if implemented(name) { "yes" } else { "no" });
    }
    let missing: Vec<_> = by_count.iter().filter(|(name, count)| **count >= 3 && !implemented(name)).collect();
    assert!(missing.is_empty(), "called at least three times but missing: {missing:?}");
    assert!(expressions.len() > 2000, "the corpus has {} expressions", expressions.len());
}

#[test]
fn every_extension_method_n8n_documents_is_implemented() {
    let activation = Activation::single(json!({}));
    let missing: Vec<_> = EXTENSION_METHODS
        .iter()
        .filter(|name| {
            activation.value(&format!(
                "[String, Array, Number, Boolean, Object, Date, DateTime].some(type => typeof type.prototype['{name}'] === 'function')"
            )) != json!(true)
        })
        .collect();
    assert!(missing.is_empty(), "missing: {missing:?}");
}
