use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use weft_engine::Item;
use weft_engine::params::CodeMode;
use weft_sandbox::{CodeOutput, JsExpressions, LOG_TRUNCATED, RunContext};

use crate::{item, items, with_attachment};

fn sandbox() -> JsExpressions {
    let mut node_outputs = HashMap::new();
    node_outputs.insert("Orders".to_string(), items([json!({"id": 7}), json!({"id": 8})]));
    JsExpressions::new(RunContext { node_outputs, workflow_name: "Billing".into(), ..RunContext::default() })
}

fn run(mode: CodeMode, code: &str, input: &[Item]) -> CodeOutput {
    sandbox().run_code(code, mode, input, None).unwrap_or_else(|error| panic!("`{code}` failed: {error}"))
}

fn fails(mode: CodeMode, code: &str, input: &[Item]) -> String {
    match sandbox().run_code(code, mode, input, None) {
        Ok(output) => panic!("`{code}` gave {:?} rather than failing", output.items),
        Err(error) => error.message,
    }
}

fn jsons(output: &CodeOutput) -> Vec<Value> {
    output.items.iter().map(|item| Value::Object(item.json.clone())).collect()
}

fn numbers() -> Vec<Item> {
    items([json!({"n": 1}), json!({"n": 2}), json!({"n": 3})])
}

#[test]
fn all_items_maps_and_filters_items() {
    let code = "return items.filter(i => i.json.n % 2 === 1).map(i => ({json: {n: i.json.n * 10}}))";
    assert_eq!(jsons(&run(CodeMode::AllItems, code, &numbers())), [json!({"n": 10}), json!({"n": 30})]);
    let code = "const all = $input.all();\nreturn [{json: {count: all.length, first: $input.first().json.n, last: $input.last().json.n}}]";
    assert_eq!(jsons(&run(CodeMode::AllItems, code, &numbers())), [json!({"count": 3, "first": 1, "last": 3})]);
}

#[test]
fn plain_objects_and_a_single_object_are_wrapped_as_items() {
    let output = run(CodeMode::AllItems, "return items.map(i => ({doubled: i.json.n * 2}))", &numbers());
    assert_eq!(jsons(&output), [json!({"doubled": 2}), json!({"doubled": 4}), json!({"doubled": 6})]);
    let output = run(CodeMode::AllItems, "return {total: items.reduce((s, i) => s + i.json.n, 0)}", &numbers());
    assert_eq!(jsons(&output), [json!({"total": 6})]);
}

#[test]
fn items_passed_on_keep_their_attachments() {
    let input = vec![with_attachment(item(json!({"a": 1}))), item(json!({"b": 2}))];
    let output = run(CodeMode::AllItems, "for (item of items) item.json.seen = true;\nreturn items", &input);
    assert_eq!(output.items[0].binary, input[0].binary);
    assert_eq!(output.items[1].binary, None);
    assert_eq!(jsons(&output), [json!({"a": 1, "seen": true}), json!({"b": 2, "seen": true})]);
}

#[test]
fn each_item_runs_per_item_and_null_drops_the_item() {
    let code = "if ($json.n === 2) return null;\nreturn {n: item.json.n, index: $itemIndex, of: $input.all().length}";
    let output = run(CodeMode::EachItem, code, &numbers());
    assert_eq!(jsons(&output), [json!({"n": 1, "index": 0, "of": 3}), json!({"n": 3, "index": 2, "of": 3})]);
    let output = run(CodeMode::EachItem, "if ($json.n > 1) return [item, {copy: true}]", &numbers());
    assert_eq!(jsons(&output), [json!({"n": 2}), json!({"copy": true}), json!({"n": 3}), json!({"copy": true})]);
}

#[test]
fn console_lines_are_captured() {
    let code = "console.log('hello', 1, {a: [1]}, null, undefined);\nconsole.warn(new TypeError('odd'));\nreturn items";
    let output = run(CodeMode::AllItems, code, &numbers());
    assert_eq!(output.logs, ["hello 1 {\"a\":[1]} null undefined", "TypeError: odd"]);
    let error = sandbox().run_code("console.info('before');\nthrow new Error('after')", CodeMode::AllItems, &[], None);
    assert_eq!(error.unwrap_err().logs, ["before"]);
}

#[test]
fn console_lines_are_capped() {
    let output = run(CodeMode::AllItems, "for (let i = 0; i < 5000; i++) console.log('line', i);\nreturn []", &[]);
    assert_eq!(output.logs.len(), 1_001);
    assert_eq!(output.logs[999], "line 999");
    assert_eq!(output.logs.last().map(String::as_str), Some(LOG_TRUNCATED));
    let output = run(CodeMode::AllItems, "console.log('x'.repeat(100000));\nconsole.log('more');\nreturn []", &[]);
    assert_eq!(output.logs.len(), 2);
    assert_eq!(output.logs[0].len(), 64 * 1024);
    assert_eq!(output.logs[1], LOG_TRUNCATED);
}

#[test]
fn exceptions_are_reported_with_their_message_and_line() {
    let message = fails(CodeMode::AllItems, "const a = 1;\n\nnull.x;\nreturn items", &numbers());
    assert!(message.starts_with("TypeError: "), "{message}");
    assert!(message.ends_with("(line 3)"), "{message}");
    assert_eq!(
        fails(CodeMode::EachItem, "throw new RangeError('too big')", &numbers()),
        "RangeError: too big (line 1)"
    );
    assert_eq!(fails(CodeMode::AllItems, "throw 'plain text'", &numbers()), "plain text");
    let message = fails(CodeMode::AllItems, "return items\nconst = 2", &numbers());
    assert!(message.starts_with("SyntaxError: ") && message.ends_with("(line 2)"), "{message}");
}

#[test]
fn a_result_that_is_not_items_is_refused() {
    assert_eq!(
        fails(CodeMode::AllItems, "return 42", &numbers()),
        "the code must return an array of items or objects; got number"
    );
    assert_eq!(
        fails(CodeMode::AllItems, "items.map(i => i)", &numbers()),
        "the code must return an array of items or objects; got undefined"
    );
    assert_eq!(
        fails(CodeMode::AllItems, "return [{a: 1}, 'b']", &numbers()),
        "item 1 of the result is string, not an item or an object"
    );
    assert_eq!(
        fails(CodeMode::AllItems, "return [{json: [1]}]", &numbers()),
        "item 0 of the result has a json that is array, not an object"
    );
    assert_eq!(
        fails(CodeMode::EachItem, "return $itemIndex === 1 ? 'text' : item", &numbers()),
        "the code must return an item, an object, an array of them, or nothing; got string for item 1"
    );
}

#[test]
fn an_infinite_loop_is_stopped_at_the_nodes_deadline() {
    let sandbox = sandbox();
    let started = Instant::now();
    let code = "while (true) { try { for (;;) {} } catch (e) {} }";
    let error = sandbox.run_code(code, CodeMode::AllItems, &numbers(), Some(Duration::from_millis(200))).unwrap_err();
    let took = started.elapsed();
    assert_eq!(error.message, "the code took longer than 200 ms and was stopped");
    assert!(took >= Duration::from_millis(200) && took < Duration::from_millis(400), "stopped after {took:?}");
    // The next run gets a fresh engine.
    let output = sandbox.run_code("return [{ok: true}]", CodeMode::AllItems, &[], None).unwrap();
    assert_eq!(jsons(&output), [json!({"ok": true})]);
}

#[test]
fn filling_memory_fails_the_run() {
    let code = "const keep = [];\nwhile (true) keep.push('x'.repeat(1000) + keep.length)";
    assert_eq!(fails(CodeMode::AllItems, code, &[]), "the code ran out of memory (the limit is 64 MB)");
}

#[test]
fn other_nodes_and_the_run_are_there() {
    let code = "return [{ids: $('Orders').all().map(i => i.json.id), first: $node['Orders'].json.id, workflow: $workflow.name, year: $now.year > 2000}]";
    assert_eq!(
        jsons(&run(CodeMode::AllItems, code, &[])),
        [json!({"ids": [7, 8], "first": 7, "workflow": "Billing", "year": true})]
    );
    let output = run(CodeMode::EachItem, "return {n: $json.n, order: $('Orders').item?.json.id ?? null}", &numbers());
    assert_eq!(
        jsons(&output),
        [json!({"n": 1, "order": 7}), json!({"n": 2, "order": 8}), json!({"n": 3, "order": null})]
    );
}

#[test]
fn the_host_is_not_there() {
    // `require` is there for `crypto` alone (below).
    let code = "return [{process: typeof process, fetch: typeof fetch, timers: typeof setTimeout}]";
    assert_eq!(
        jsons(&run(CodeMode::AllItems, code, &[])),
        [json!({"process": "undefined", "fetch": "undefined", "timers": "undefined"})]
    );
}

#[test]
fn require_crypto_hashes_and_signs_as_node_does() {
    // The corpus's pattern (1516): an HMAC-SHA1 request signature, in hex.
    let code = r#"const Crypto = require('crypto');
        const sign = Crypto.createHmac("sha1", "key").update("The quick brown fox ").update("jumps over the lazy dog").digest("hex");
        return [{json: {
            sign,
            sha256: require('node:crypto').createHash('sha256').update('abc').digest('base64'),
            md5: require('crypto').createHash('MD5').update('').digest('base64url'),
        }}]"#;
    assert_eq!(
        jsons(&run(CodeMode::AllItems, code, &numbers())),
        [json!({
            "sign": "de7c9b85b8b78aa6bc8a7a36f70a90701c9db4d9",
            "sha256": "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=",
            "md5": "1B2M2Y8AsgTpgAmY7PhCfg",
        })]
    );
}

#[test]
fn require_crypto_gives_random_values() {
    let code = "const c = require('crypto');\nreturn [{json: {uuid: c.randomUUID(), hex: c.randomBytes(4).toString('hex'), other: c.randomUUID()}}]";
    let output = jsons(&run(CodeMode::AllItems, code, &numbers()));
    let text = |key: &str| output[0][key].as_str().unwrap().to_string();
    let uuid = text("uuid");
    assert_eq!((uuid.len(), &uuid[14..15]), (36, "4"), "{uuid}");
    assert_ne!(uuid, text("other"));
    assert_eq!(text("hex").len(), 8);
}

#[test]
fn require_refuses_other_modules_and_buffers_with_clear_messages() {
    assert_eq!(
        fails(CodeMode::AllItems, "require('fs')", &[]),
        "Error: Cannot find module 'fs': the code sandbox provides only 'crypto' (line 1)"
    );
    let message = fails(
        CodeMode::AllItems,
        "return [{json: {d: require('crypto').createHash('sha1').update('a').digest()}}]",
        &numbers(),
    );
    assert!(message.contains("no Buffer; name an encoding: hex, base64, base64url"), "{message}");
    let message = fails(CodeMode::AllItems, "require('crypto').createHash('whirlpool'); return []", &numbers());
    assert!(message.contains("Digest method not supported: whirlpool"), "{message}");
}
