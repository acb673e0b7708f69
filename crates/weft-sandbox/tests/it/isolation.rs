use serde_json::json;
use weft_sandbox::{JsExpressions, RunContext};

use crate::{Activation, empty, map};

#[test]
fn no_host_api_exists() {
    let activation = Activation::single(empty());
    for name in [
        "require",
        "process",
        "module",
        "exports",
        "std",
        "os",
        "fetch",
        "XMLHttpRequest",
        "WebSocket",
        "setTimeout",
        "setInterval",
        "console",
        "print",
        "scriptArgs",
        "Deno",
        "Bun",
        "performance",
        "importScripts",
    ] {
        assert_eq!(activation.value(&format!("typeof {name}")), json!("undefined"), "`{name}` should not exist");
    }
}

#[test]
fn modules_cannot_be_imported() {
    let activation = Activation::single(empty());
    // A dynamic import has no loader to go to: it gives a promise that can only reject.
    assert_eq!(activation.value("import('os') instanceof Promise"), json!(true));
    assert!(activation.error("(function () { import os from 'os' })").starts_with("SyntaxError"));
}

#[test]
fn env_holds_only_what_was_given() {
    let run = RunContext { env: map(json!({"ALLOWED": "yes"})), ..RunContext::default() };
    let activation = Activation::new(JsExpressions::new(run), crate::items([json!({})]));
    assert_eq!(activation.value("Object.keys($env)"), json!(["ALLOWED"]));
    assert_eq!(activation.value("$env.PATH"), json!(null));
    assert_eq!(activation.value("$env.HOME"), json!(null));
}

#[test]
fn the_globals_cannot_be_replaced() {
    let activation = Activation::single(json!({}));
    assert!(activation.error("globalThis.$vars = {}").starts_with("TypeError"));
    assert!(activation.error("delete globalThis.$env").starts_with("TypeError"));
}

#[test]
fn evaluators_do_not_share_globals() {
    let first = Activation::single(empty());
    let second = Activation::single(empty());
    assert_eq!(first.value("(globalThis.leak = 1, typeof leak)"), json!("number"));
    assert_eq!(second.value("typeof leak"), json!("undefined"));
}

#[test]
fn an_evaluator_can_move_between_threads() {
    fn send_and_sync<T: Send + Sync>() {}
    send_and_sync::<JsExpressions>();
    let activation = Activation::single(json!({"a": 1}));
    assert_eq!(activation.value("$json.a"), json!(1));
    let moved = std::thread::spawn(move || activation.value("$json.a + 1")).join().unwrap();
    assert_eq!(moved, json!(2));
}
