//! Prints how long one evaluation of `$json.a + 1` takes, as the median over 10,000 items, and
//! the same for an expression that reads the whole input within an announced activation.
//!
//! `cargo run --release -p weft-sandbox --example expression_speed`

use std::time::Instant;

use serde_json::json;
use weft_engine::{Expressions, Item, ItemContext};
use weft_sandbox::{JsExpressions, RunContext};

const ITEMS: usize = 10_000;

fn main() {
    let inputs: Vec<Vec<Item>> = vec![
        (0..ITEMS)
            .map(|n| {
                Item::new(json!({"a": n, "name": format!("item {n}"), "tags": ["x", "y"]}).as_object().unwrap().clone())
            })
            .collect(),
    ];
    let started = Instant::now();
    let exprs = JsExpressions::new(RunContext::default());
    median("$json.a + 1", &exprs, &inputs, ITEMS);
    println!("first evaluator, built and used: {} ms in all", started.elapsed().as_millis());
    median("`${$json.name}: ${$json.tags.join(',')}`", &exprs, &inputs, ITEMS);
    exprs.begin_activation(&inputs);
    median("$input.all().length", &exprs, &inputs, ITEMS);
    exprs.end_activation();
}

fn median(expression: &str, exprs: &JsExpressions, inputs: &[Vec<Item>], count: usize) {
    let mut micros: Vec<f64> = (0..count)
        .map(|index| {
            let context = ItemContext { node: "Set", item: &inputs[0][index], index, input: 0, inputs };
            let started = Instant::now();
            exprs.evaluate(expression, &context).expect("evaluates");
            started.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    micros.sort_by(f64::total_cmp);
    println!(
        "{expression}: median {:.2} µs, p99 {:.2} µs per evaluation over {count} items",
        micros[count / 2],
        micros[count * 99 / 100]
    );
}
