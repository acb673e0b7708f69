use std::time::{Duration, Instant};

use serde_json::json;
use weft_sandbox::{JsExpressions, Limits, RunContext};

use crate::{Activation, items};

fn limited(limits: Limits) -> Activation {
    Activation::new(JsExpressions::with_limits(RunContext::default(), limits), items([json!({"a": 1})]))
}

fn deadline(millis: u64) -> Limits {
    Limits { deadline: Duration::from_millis(millis), ..Limits::default() }
}

#[test]
fn default_limits_are_64_mb_and_5_s() {
    assert_eq!(Limits::default(), Limits { memory_bytes: 64 * 1024 * 1024, deadline: Duration::from_secs(5) });
}

#[test]
fn an_infinite_loop_is_stopped_at_the_deadline() {
    let activation = limited(deadline(200));
    let started = Instant::now();
    let message = activation.error("(() => { while (true) {} })()");
    let took = started.elapsed();
    assert_eq!(message, "the expression took longer than 200 ms and was stopped");
    assert!(took >= Duration::from_millis(200) && took < Duration::from_millis(300), "stopped after {took:?}");
}

#[test]
fn an_infinite_loop_inside_try_catch_is_stopped_too() {
    let activation = limited(deadline(200));
    let started = Instant::now();
    let message =
        activation.error("(() => { for (;;) { try { while (true) {} } catch (e) {} finally { continue } } })()");
    let took = started.elapsed();
    assert!(message.contains("took longer than 200 ms"), "{message}");
    assert!(took < Duration::from_millis(300), "stopped after {took:?}");
}

#[test]
fn the_evaluator_works_again_after_a_deadline() {
    let activation = limited(deadline(100));
    assert!(activation.error("(() => { globalThis.x = 1; while (true) {} })()").contains("took longer"));
    assert_eq!(activation.value("$json.a + 1"), json!(2));
    // The stopped evaluation's runtime was discarded, with what it left behind.
    assert_eq!(activation.value("typeof x"), json!("undefined"));
}

#[test]
fn each_evaluation_gets_the_whole_deadline() {
    let activation = limited(deadline(300));
    for _ in 0..3 {
        let spin = "(() => { const end = Date.now() + 150; while (Date.now() < end) {} return 1 })()";
        assert_eq!(activation.value(spin), json!(1));
    }
}

#[test]
fn a_memory_bomb_is_stopped() {
    let activation = limited(Limits { memory_bytes: 16 * 1024 * 1024, ..Limits::default() });
    let message = activation.error("(() => { const all = []; while (true) all.push(new Array(100000).fill(1.5)) })()");
    assert_eq!(message, "the expression ran out of memory (the limit is 16 MB)");
    let message = activation.error("'x'.repeat(1 << 20).repeat(64)");
    assert!(message.contains("ran out of memory") || message.starts_with("RangeError"), "{message}");
    assert_eq!(activation.value("$json.a"), json!(1));
}

#[test]
fn a_memory_bomb_that_keeps_catching_ends_at_the_deadline() {
    let activation = limited(Limits { memory_bytes: 16 * 1024 * 1024, deadline: Duration::from_millis(300) });
    let bomb =
        "(() => { globalThis.keep = []; for (;;) { try { keep.push(new Array(100000).fill(1.5)) } catch (e) {} } })()";
    let message = activation.error(bomb);
    assert!(message.contains("took longer") || message.contains("ran out of memory"), "{message}");
    assert_eq!(activation.value("typeof keep"), json!("undefined"));
}

#[test]
fn deep_recursion_is_an_error_not_a_crash() {
    let message = limited(Limits::default()).error("(function f() { return f() + 1 })()");
    assert_eq!(message, "RangeError: Maximum call stack size exceeded");
}
