//! `$input` within an activation the caller announced: converted once, not once per item.

use serde_json::{Value, json};
use weft_engine::{Expressions, Item, ItemContext, NodeDef, NodeKind, execute};
use weft_sandbox::{JsExpressions, RunContext};

use crate::{Activation, items};

/// How many distinct `$input.all()` arrays the evaluator has handed out so far: one per
/// conversion of the input.
const CONVERSIONS: &str = "(globalThis.seen ??= new Set()).add($input.all()).size";

fn numbers(count: i64) -> Vec<Item> {
    items((0..count).map(|n| json!({"n": n})))
}

/// `expression` evaluated for every item of input 0, as an activation's contexts are made.
fn each(exprs: &JsExpressions, inputs: &[Vec<Item>], expression: &str) -> Vec<Value> {
    (0..inputs[0].len())
        .map(|index| {
            let context = ItemContext { node: "Set", item: &inputs[0][index], index, input: 0, inputs };
            exprs.evaluate(expression, &context).unwrap_or_else(|error| panic!("`{expression}` failed: {error}"))
        })
        .collect()
}

#[test]
fn an_announced_activation_converts_its_input_once() {
    let activation = Activation::new(JsExpressions::new(RunContext::default()), numbers(5));
    activation.exprs.begin_activation(&activation.inputs);
    assert_eq!(each(&activation.exprs, &activation.inputs, CONVERSIONS), vec![json!(1); 5]);
    assert_eq!(
        each(&activation.exprs, &activation.inputs, "$input.item.json.n + $input.all().length"),
        [json!(5), json!(6), json!(7), json!(8), json!(9)]
    );
    activation.exprs.end_activation();
}

#[test]
fn the_engine_announces_each_activation_it_executes() {
    let exprs = JsExpressions::new(RunContext::default());
    let set: NodeDef = serde_json::from_value(json!({"name": "Count", "type": "set", "params": {"assignments": [
        {"name": "conversions", "value": format!("{{{{ {CONVERSIONS} }}}}")},
        {"name": "of", "value": "{{ $input.all().length }}"}
    ]}}))
    .expect("a node");
    let outputs = execute(&set, NodeKind::Set, vec![numbers(4)], &exprs).expect("the set node runs");
    let counted: Vec<Value> =
        outputs[0].iter().map(|item| json!([item.json["conversions"], item.json["of"]])).collect();
    assert_eq!(counted, vec![json!([1, 4]); 4]);
    // The next activation converts its own input, once.
    let outputs = execute(&set, NodeKind::Set, vec![numbers(3)], &exprs).expect("the set node runs");
    let counted: Vec<Value> =
        outputs[0].iter().map(|item| json!([item.json["conversions"], item.json["of"]])).collect();
    assert_eq!(counted, vec![json!([2, 3]); 3]);
}

#[test]
fn without_an_announced_activation_each_evaluation_reads_the_input_afresh() {
    let activation = Activation::new(JsExpressions::new(RunContext::default()), numbers(3));
    assert_eq!(each(&activation.exprs, &activation.inputs, CONVERSIONS), [json!(1), json!(2), json!(3)]);
    activation.exprs.begin_activation(&activation.inputs);
    activation.exprs.end_activation();
    assert_eq!(each(&activation.exprs, &activation.inputs, CONVERSIONS), [json!(4), json!(5), json!(6)]);
}

#[test]
fn a_new_activation_reads_its_own_items_where_the_last_ones_were() {
    let exprs = JsExpressions::new(RunContext::default());
    let mut inputs = vec![numbers(2)];
    exprs.begin_activation(&inputs);
    assert_eq!(each(&exprs, &inputs, "$input.all().map(i => i.json.n)"), vec![json!([0, 1]); 2]);
    exprs.end_activation();
    // Same slices, same addresses, other items.
    inputs[0][1].json.insert("n".into(), json!(7));
    exprs.begin_activation(&inputs);
    assert_eq!(each(&exprs, &inputs, "$input.all().map(i => i.json.n)"), vec![json!([0, 7]); 2]);
    // A second begin without an end starts afresh too.
    inputs[0][0].json.insert("n".into(), json!(9));
    exprs.begin_activation(&inputs);
    assert_eq!(each(&exprs, &inputs, "$input.all().map(i => i.json.n)"), vec![json!([9, 7]); 2]);
    exprs.end_activation();
}

#[test]
fn contexts_on_other_inputs_are_not_served_the_activations() {
    let exprs = JsExpressions::new(RunContext::default());
    let announced = vec![numbers(2)];
    let other = vec![items([json!({"n": 5}), json!({"n": 6})])];
    exprs.begin_activation(&announced);
    assert_eq!(each(&exprs, &announced, "$input.last().json.n"), vec![json!(1); 2]);
    assert_eq!(each(&exprs, &other, "$input.last().json.n"), vec![json!(6); 2]);
    assert_eq!(each(&exprs, &announced, "$input.last().json.n"), vec![json!(1); 2]);
    exprs.end_activation();
}

#[test]
fn an_expression_cannot_change_the_input_the_next_item_reads() {
    let activation = Activation::new(JsExpressions::new(RunContext::default()), numbers(2));
    activation.exprs.begin_activation(&activation.inputs);
    assert!(activation.error("$input.all().push({json: {}})").starts_with("TypeError"));
    assert!(activation.error("$input.first().json.n = 5").starts_with("TypeError"));
    assert!(activation.error("$input.all().reverse()").starts_with("TypeError"));
    assert_eq!(activation.value("[...$input.all()].reverse().map(i => i.json.n)"), json!([1, 0]));
    assert_eq!(activation.value("$input.all().map(i => i.json.n)"), json!([0, 1]));
    activation.exprs.end_activation();
}
