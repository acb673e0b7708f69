//! What an evaluator costs, printed rather than asserted:
//! `cargo test -p weft-sandbox --release -- --ignored --nocapture`.

use std::time::{Duration, Instant};

use serde_json::json;
use weft_engine::params::CodeMode;
use weft_engine::{Expressions, ItemContext};
use weft_sandbox::{JsExpressions, RunContext};

use crate::{items, map};

/// A run's context as the worker makes one, with a few `$vars`.
fn run_context() -> RunContext {
    RunContext {
        execution_id: "run_01".into(),
        workflow_id: "wf_01".into(),
        workflow_name: "Orders".into(),
        vars: map(json!({"region": "eu", "limit": 10})),
        ..RunContext::default()
    }
}

/// Times `job` `count` times and prints the median and the 90th percentile.
fn measure(what: &str, count: usize, mut job: impl FnMut()) {
    let mut took: Vec<Duration> = (0..count)
        .map(|_| {
            let started = Instant::now();
            job();
            started.elapsed()
        })
        .collect();
    took.sort();
    println!("{what}: median {:?}, p90 {:?} (of {count})", took[count / 2], took[count * 9 / 10]);
}

#[test]
#[ignore = "a measurement: run it in release with --ignored --nocapture"]
fn what_an_evaluator_costs() {
    let inputs = vec![items([json!({"a": 1})])];
    let context = ItemContext { node: "Set", item: &inputs[0][0], index: 0, input: 0, inputs: &inputs };
    let code = "return items.map(i => ({json: {b: i.json.a + 1}}))";

    measure("a new evaluator and its first expression", 300, || {
        let exprs = JsExpressions::new(run_context());
        assert_eq!(exprs.evaluate("$json.a + 1", &context).expect("evaluates"), json!(2));
    });
    let exprs = JsExpressions::new(run_context());
    measure("an expression on a warm evaluator", 10_000, || {
        assert_eq!(exprs.evaluate("$json.a + 1", &context).expect("evaluates"), json!(2));
    });
    measure("a new evaluator and a trivial code node over 1 item", 300, || {
        let exprs = JsExpressions::new(run_context());
        let output = exprs.run_code(code, CodeMode::AllItems, &inputs[0], None).expect("runs");
        assert_eq!(output.items.len(), 1);
    });
    measure("a trivial code node over 1 item on a warm evaluator", 3_000, || {
        let output = exprs.run_code(code, CodeMode::AllItems, &inputs[0], None).expect("runs");
        assert_eq!(output.items.len(), 1);
    });
}
