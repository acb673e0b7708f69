//! The n8n extension methods (`"a@b.io".extractDomain()`, `$now.format(…)`) that the corpus of
//! real n8n workflows (kept in `crates/weft-engine/tests/corpus/n8n`) calls in its expressions, counted; every one
//! called at least three times must be implemented. `cargo test -p weft-sandbox --test it
//! corpus -- --nocapture` prints the table that docs/expressions.md shows.

use std::path::PathBuf;

use serde_json::{Value, json};
use weft_sandbox::n8n_surface::{EXTENSION_METHODS, Surface, count_calls, count_globals, expressions_in};

use crate::Activation;

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../weft-engine/tests/corpus/n8n")
}

/// The JavaScript inside every `{{ … }}` of every node parameter of every corpus workflow.
fn corpus_expressions() -> Vec<String> {
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
            expressions_in(&node["parameters"], &mut expressions);
        }
    }
    expressions
}

#[test]
fn the_globals_the_corpus_uses_are_defined() {
    let expressions = corpus_expressions();
    let mut by_count: Vec<_> = count_globals(&expressions).into_iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let surface = Surface::default();
    println!("| global | uses | defined |\n|---|---|---|");
    let mut missing = Vec::new();
    for (name, count) in &by_count {
        // `$json`, `$binary`, `$itemIndex`, `$input` and `$prevNode` are arguments, and the
        // pagination's `$response` is given to those params only.
        let defined = surface.has_global(name);
        println!("| `{name}` | {count} | {} |", if defined { "yes" } else { "no" });
        if !defined {
            missing.push(name.as_str());
        }
    }
    // n8n's AI tools' `$fromAI` is not an expression global Weft offers.
    assert_eq!(missing, ["$fromAI"]);
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
