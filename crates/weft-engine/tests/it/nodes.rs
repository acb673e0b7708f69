//! Executing the node types that need no I/O, through `execute` as the worker calls it: what each
//! emits on each output, how params are evaluated per item, and how failures are located.

use std::cell::RefCell;

use serde_json::{Value, json};
use weft_engine::{
    ExpressionError, Expressions, Item, ItemContext, NoExpressions, NodeDef, NodeError, NodeKind, execute,
};

fn item(json: Value) -> Item {
    Item::new(json.as_object().expect("an object").clone())
}

fn with_binary(json: Value, name: &str) -> Item {
    serde_json::from_value(json!({
        "json": json,
        "binary": {name: {"key": format!("blobs/{name}"), "mime_type": "text/plain", "size": 1}}
    }))
    .expect("an item")
}

fn attachments(item: &Item) -> Vec<&str> {
    item.binary.iter().flatten().map(|(name, _)| name.as_str()).collect()
}

fn node(definition: &Value) -> NodeDef {
    serde_json::from_value(definition.clone()).expect("a node")
}

fn execute_items(
    definition: Value,
    inputs: Vec<Vec<Item>>,
    exprs: &dyn Expressions,
) -> Result<Vec<Vec<Item>>, NodeError> {
    let node = node(&definition);
    let kind = NodeKind::from_type_name(&node.node_type).expect("a known type");
    execute(&node, kind, inputs, exprs)
}

fn json_of(outputs: Vec<Vec<Item>>) -> Vec<Vec<Value>> {
    outputs.into_iter().map(|items| items.into_iter().map(|item| Value::Object(item.json)).collect()).collect()
}

fn run_with(definition: Value, inputs: Vec<Vec<Value>>, exprs: &dyn Expressions) -> Result<Vec<Vec<Value>>, NodeError> {
    let inputs = inputs.into_iter().map(|items| items.into_iter().map(item).collect()).collect();
    execute_items(definition, inputs, exprs).map(json_of)
}

/// Runs a node whose params are all literal.
fn run(definition: Value, inputs: Vec<Vec<Value>>) -> Vec<Vec<Value>> {
    run_with(definition, inputs, &NoExpressions).unwrap_or_else(|error| panic!("{error}"))
}

fn fail(definition: Value, inputs: Vec<Vec<Value>>, exprs: &dyn Expressions) -> NodeError {
    run_with(definition, inputs, exprs).expect_err("the node should fail")
}

/// What the fake evaluator was asked, and with which context.
#[derive(Debug, PartialEq)]
struct Asked {
    expression: String,
    node: String,
    input: usize,
    index: usize,
    items_in_input: usize,
}

/// A stand-in for the sandbox that understands `$json`, `$json.<dot path>` and `$itemIndex`, and
/// fails on anything else the way JavaScript would.
#[derive(Default)]
struct FakeJs {
    asked: RefCell<Vec<Asked>>,
}

impl FakeJs {
    fn asked(&self) -> Vec<String> {
        self.asked.borrow().iter().map(|asked| format!("{}@{}", asked.expression, asked.index)).collect()
    }
}

impl Expressions for FakeJs {
    fn evaluate(&self, expression: &str, context: &ItemContext<'_>) -> Result<Value, ExpressionError> {
        self.asked.borrow_mut().push(Asked {
            expression: expression.to_string(),
            node: context.node.to_string(),
            input: context.input,
            index: context.index,
            items_in_input: context.inputs[context.input].len(),
        });
        if expression == "$json" {
            return Ok(Value::Object(context.item.json.clone()));
        }
        if expression == "$itemIndex" {
            return Ok(json!(context.index));
        }
        let Some(path) = expression.strip_prefix("$json.") else {
            return Err(ExpressionError::new(format!("ReferenceError: {expression} is not defined")));
        };
        let found = path.split('.').try_fold(&context.item.json, |json, key| match json.get(key) {
            Some(Value::Object(members)) => Ok(members),
            Some(value) => Err(Some(value)),
            None => Err(None),
        });
        Ok(match found {
            Ok(members) => Value::Object(members.clone()),
            Err(value) => value.cloned().unwrap_or(Value::Null),
        })
    }
}

// ── set ──────────────────────────────────────────────────────────────────────────────────────

#[test]
fn set_assigns_literal_values_and_keeps_the_other_fields() {
    let set = json!({"name": "Shape", "type": "set", "params": {"assignments": [
        {"name": "source", "value": "shop"}, {"name": "tags", "value": ["a", {"b": 1}]}, {"name": "id", "value": 7}
    ]}});
    assert_eq!(
        run(set, vec![vec![json!({"id": 1, "total": 5})]]),
        [[json!({"id": 7, "total": 5, "source": "shop", "tags": ["a", {"b": 1}]})]]
    );
}

#[test]
fn set_reaches_into_nested_objects_with_dots_and_creates_missing_ones() {
    let set = json!({"name": "Shape", "type": "set", "params": {"assignments": [
        {"name": "address.country", "value": "FR"}, {"name": "meta.source.name", "value": "shop"}
    ]}});
    let input = vec![json!({"address": {"city": "Lyon"}, "meta": null})];
    assert_eq!(
        run(set, vec![input]),
        [[json!({"address": {"city": "Lyon", "country": "FR"}, "meta": {"source": {"name": "shop"}}})]]
    );
}

#[test]
fn set_will_not_overwrite_a_field_that_is_not_an_object_to_reach_inside_it() {
    let set = json!({"name": "Shape", "type": "set", "params": {"assignments": [
        {"name": "ok", "value": 1}, {"name": "customer.email", "value": "a@example.com"}
    ]}});
    let error = fail(set, vec![vec![json!({"customer": {}}), json!({"customer": "cus_1"})]], &NoExpressions);
    assert_eq!(error.node(), "Shape");
    assert_eq!(error.pointer(), Some("/params/assignments/1/name"));
    let message = error.to_string();
    assert!(message.contains("item 1") && message.contains("`customer` is a string"), "{message}");
}

#[test]
fn set_keep_only_drops_unassigned_fields_but_keeps_attachments() {
    let set = json!({"name": "Shape", "type": "set", "params": {
        "assignments": [{"name": "address.country", "value": "FR"}, {"name": "email", "value": "x"}],
        "keep_only": true
    }});
    let input = with_binary(json!({"address": {"city": "Lyon"}, "id": 1}), "invoice");
    let outputs = execute_items(set, vec![vec![input]], &NoExpressions).unwrap();
    assert_eq!(Value::Object(outputs[0][0].json.clone()), json!({"address": {"country": "FR"}, "email": "x"}));
    assert_eq!(attachments(&outputs[0][0]), ["invoice"]);
}

#[test]
fn set_keep_only_or_except_some_fields_then_assigns() {
    let item = json!({"id": 7, "name": "Ada", "address": {"city": "Lyon", "zip": "69001"}, "secret": "x"});
    let set = |keep: Value| {
        let params = json!({"assignments": [{"name": "ok", "value": true}], "keep": keep});
        run(json!({"name": "Set", "type": "set", "params": params}), vec![vec![item.clone()]]).swap_remove(0)
    };
    assert_eq!(
        set(json!({"only": ["id", "address.city", "missing"]})),
        [json!({"id": 7, "address": {"city": "Lyon"}, "ok": true})]
    );
    assert_eq!(
        set(json!({"except": ["secret", "address.zip"]})),
        [json!({"id": 7, "name": "Ada", "address": {"city": "Lyon"}, "ok": true})]
    );
    assert_eq!(set(json!("none")), [json!({"ok": true})]);
    assert_eq!(set(json!("all"))[0]["secret"], "x");
}

#[test]
fn set_evaluates_values_for_each_item_with_that_items_context() {
    let set = json!({"name": "Shape", "type": "set", "params": {"assignments": [
        {"name": "copy", "value": "{{ $json.n }}"}, {"name": "position", "value": "{{ $itemIndex }}"}
    ]}});
    let fake = FakeJs::default();
    let outputs = run_with(set, vec![vec![json!({"n": "a"}), json!({"n": "b"})]], &fake).unwrap();
    assert_eq!(
        outputs,
        [[json!({"n": "a", "copy": "a", "position": 0}), json!({"n": "b", "copy": "b", "position": 1})]]
    );
    let asked = fake.asked.borrow();
    assert_eq!(
        asked[3],
        Asked { expression: "$itemIndex".into(), node: "Shape".into(), input: 0, index: 1, items_in_input: 2 }
    );
}

#[test]
fn a_lone_expression_keeps_its_type_and_text_around_expressions_makes_a_string() {
    let set = json!({"name": "Shape", "type": "set", "params": {"assignments": [
        {"name": "number", "value": "{{ $json.n }}"},
        {"name": "object", "value": "{{ $json.o }}"},
        {"name": "missing", "value": "{{ $json.nothing }}"},
        {"name": "label", "value": "n={{ $json.n }}, o={{ $json.o }}, f={{ $json.f }}, gone={{ $json.nothing }}."},
        {"name": "padded", "value": " {{ $json.n }}"},
        {"name": "deep", "value": {"list": ["{{ $json.n }}", "plain", {"flag": "{{ $json.b }}"}]}}
    ]}});
    let input = json!({"n": 3, "f": 2.5, "b": true, "o": {"k": [1]}});
    let outputs = run_with(set, vec![vec![input]], &FakeJs::default()).unwrap();
    let out = &outputs[0][0];
    assert_eq!(out["number"], json!(3));
    assert_eq!(out["object"], json!({"k": [1]}));
    assert_eq!(out["missing"], Value::Null);
    assert_eq!(out["label"], json!(r#"n=3, o={"k":[1]}, f=2.5, gone=."#));
    assert_eq!(out["padded"], json!(" 3"));
    assert_eq!(out["deep"], json!({"list": [3, "plain", {"flag": true}]}));
}

#[test]
fn set_expressions_see_the_item_as_it_arrived_not_earlier_assignments() {
    let set = json!({"name": "Shape", "type": "set", "params": {"assignments": [
        {"name": "n", "value": 100}, {"name": "before", "value": "{{ $json.n }}"}
    ]}});
    let outputs = run_with(set, vec![vec![json!({"n": 1})]], &FakeJs::default()).unwrap();
    assert_eq!(outputs, [[json!({"n": 100, "before": 1})]]);
}

#[test]
fn set_keep_only_may_differ_per_item_through_an_expression() {
    let set = json!({"name": "Shape", "type": "set", "params": {
        "assignments": [{"name": "kept", "value": true}], "keep_only": "{{ $json.strict }}"
    }});
    let inputs = vec![vec![json!({"strict": true, "x": 1}), json!({"strict": false, "x": 2})]];
    assert_eq!(
        run_with(set.clone(), inputs, &FakeJs::default()).unwrap(),
        [[json!({"kept": true}), json!({"strict": false, "x": 2, "kept": true})]]
    );
    let error = fail(set, vec![vec![json!({"strict": "yes"})]], &FakeJs::default());
    assert_eq!(error.pointer(), Some("/params/keep_only"));
    assert!(error.to_string().contains("not true or false"), "{error}");
}

#[test]
fn literal_params_never_reach_the_evaluator() {
    let fake = FakeJs::default();
    let set = json!({"name": "Shape", "type": "set", "params": {"assignments": [
        {"name": "a", "value": {"deep": ["x", 1, null]}}, {"name": "b", "value": "no braces here"}
    ]}});
    run_with(set, vec![vec![json!({}), json!({})]], &fake).unwrap();
    let filter = json!({"name": "F", "type": "filter", "params": {"conditions": [
        {"left": 1, "operator": "equals", "right": 1}
    ]}});
    run_with(filter, vec![vec![json!({})]], &fake).unwrap();
    assert!(fake.asked().is_empty(), "{:?}", fake.asked());
}

#[test]
fn an_expression_error_names_the_node_the_param_and_the_expression() {
    let set = json!({"name": "Shape", "type": "set", "params": {"assignments": [
        {"name": "ok", "value": "{{ $json.a }}"}, {"name": "bad", "value": {"list": ["x", "total: {{ $oops.total }}"]}}
    ]}});
    let error = fail(set, vec![vec![json!({"a": 1}), json!({"a": 2})]], &FakeJs::default());
    let NodeError::Expression { node, pointer, expression, item, error: cause } = &error else {
        panic!("{error:?}");
    };
    assert_eq!(node, "Shape");
    assert_eq!(pointer, "/params/assignments/1/value/list/1");
    assert_eq!(expression, "{{ $oops.total }}");
    assert_eq!(*item, 0);
    assert_eq!(cause.message, "ReferenceError: $oops.total is not defined");
    let message = error.to_string();
    for part in ["`Shape`", "/params/assignments/1/value/list/1", "{{ $oops.total }}", "ReferenceError"] {
        assert!(message.contains(part), "{message}");
    }
}

#[test]
fn without_the_sandbox_expressions_fail_with_a_message_that_says_why() {
    let set =
        json!({"name": "Shape", "type": "set", "params": {"assignments": [{"name": "a", "value": "{{ $json.a }}"}]}});
    let error = fail(set, vec![vec![json!({})]], &NoExpressions);
    assert_eq!(error.pointer(), Some("/params/assignments/0/value"));
    assert!(error.to_string().contains("need the JavaScript sandbox, which is not built yet"), "{error}");
}

#[test]
fn set_with_no_items_gives_no_items() {
    let set =
        json!({"name": "Shape", "type": "set", "params": {"assignments": [{"name": "a", "value": "{{ $json.a }}"}]}});
    assert_eq!(run(set, vec![vec![]]), [Vec::<Value>::new()]);
}

// ── conditions: if, filter, switch ───────────────────────────────────────────────────────────

fn condition_holds(left: Value, operator: &str, right: Option<Value>) -> bool {
    let mut condition = json!({"left": left, "operator": operator});
    if let Some(right) = right {
        condition["right"] = right;
    }
    let outputs =
        run(json!({"name": "If", "type": "if", "params": {"conditions": [condition]}}), vec![vec![json!({})]]);
    outputs[0].len() == 1
}

#[test]
fn every_operator_holds_as_the_format_page_says() {
    let cases: &[(Value, &str, Option<Value>, bool)] = &[
        (json!(5), "equals", Some(json!(5.0)), true),
        (json!("5"), "equals", Some(json!(5)), false),
        (json!({"a": [1, 2]}), "equals", Some(json!({"a": [1, 2.0]})), true),
        (json!(null), "equals", Some(json!(false)), false),
        (json!("5"), "not_equals", Some(json!(5)), true),
        (json!(true), "not_equals", Some(json!(true)), false),
        (json!("order 1042"), "contains", Some(json!("104")), true),
        (json!("order 1042"), "contains", Some(json!(104)), false),
        (json!([1, "a", {"b": 2}]), "contains", Some(json!({"b": 2.0})), true),
        (json!([1, 2]), "contains", Some(json!("1")), false),
        (json!({"a": 1}), "contains", Some(json!("a")), false),
        (json!(10), "gt", Some(json!(9.5)), true),
        (json!(10), "gt", Some(json!(10)), false),
        (json!(10), "gte", Some(json!(10)), true),
        (json!("b"), "gt", Some(json!("a")), true),
        (json!("Z"), "gt", Some(json!("a")), false),
        (json!("2026-05-01"), "lt", Some(json!("2026-10-01")), true),
        (json!(2), "lte", Some(json!(2)), true),
        (json!("10"), "gt", Some(json!(9)), false),
        (json!("10"), "lte", Some(json!(9)), false),
        (json!(null), "lt", Some(json!(1)), false),
        (json!(0), "exists", None, true),
        (json!(""), "exists", None, true),
        (json!(null), "exists", None, false),
        (json!(null), "is_empty", None, true),
        (json!(""), "is_empty", None, true),
        (json!([]), "is_empty", None, true),
        (json!({}), "is_empty", None, true),
        (json!(" "), "is_empty", None, false),
        (json!(0), "is_empty", None, false),
        (json!(false), "is_empty", None, false),
        (json!("na"), "regex", Some(json!("^(na|sa)$")), true),
        (json!("eu"), "regex", Some(json!("^(na|sa)$")), false),
        (json!("Order 12"), "regex", Some(json!(r"(?i)order \d+")), true),
        (json!("say hello"), "regex", Some(json!("hel+o")), true),
        (json!(12), "regex", Some(json!(r"\d+")), false),
    ];
    for (left, operator, right, expected) in cases {
        assert_eq!(condition_holds(left.clone(), operator, right.clone()), *expected, "{left} {operator} {right:?}");
    }
}

#[test]
fn a_missing_field_exists_not_and_is_empty() {
    let conditions = |operator: &str| json!({"name": "If", "type": "if", "params": {"conditions": [{"left": "{{ $json.gone }}", "operator": operator}]}});
    let input = || vec![vec![json!({"here": 1})]];
    assert_eq!(run_with(conditions("exists"), input(), &FakeJs::default()).unwrap()[1].len(), 1);
    assert_eq!(run_with(conditions("is_empty"), input(), &FakeJs::default()).unwrap()[0].len(), 1);
}

#[test]
fn if_sends_each_item_to_true_or_false_by_its_own_fields() {
    let node = json!({"name": "Paid?", "type": "if", "params": {"conditions": [
        {"left": "{{ $json.status }}", "operator": "equals", "right": "paid"}
    ]}});
    let inputs = vec![vec![
        json!({"id": 1, "status": "paid"}),
        json!({"id": 2, "status": "open"}),
        json!({"id": 3, "status": "paid"}),
    ]];
    assert_eq!(
        run_with(node, inputs, &FakeJs::default()).unwrap(),
        [
            vec![json!({"id": 1, "status": "paid"}), json!({"id": 3, "status": "paid"})],
            vec![json!({"id": 2, "status": "open"})]
        ]
    );
}

#[test]
fn if_combines_with_all_by_default_or_any() {
    let node = |combine: &str| {
        json!({"name": "Big order?", "type": "if", "params": {"combine": combine, "conditions": [
            {"left": "{{ $json.total }}", "operator": "gte", "right": 500},
            {"left": "{{ $json.vip }}", "operator": "equals", "right": true}
        ]}})
    };
    let inputs = || {
        vec![vec![
            json!({"total": 600, "vip": false}),
            json!({"total": 10, "vip": true}),
            json!({"total": 900, "vip": true}),
        ]]
    };
    let true_totals =
        |outputs: Vec<Vec<Value>>| outputs[0].iter().map(|item| item["total"].clone()).collect::<Vec<_>>();
    assert_eq!(true_totals(run_with(node("all"), inputs(), &FakeJs::default()).unwrap()), [json!(900)]);
    assert_eq!(
        true_totals(run_with(node("any"), inputs(), &FakeJs::default()).unwrap()),
        [json!(600), json!(10), json!(900)]
    );
}

#[test]
fn conditions_stop_being_evaluated_once_the_answer_is_known() {
    let node = |combine: &str| {
        json!({"name": "If", "type": "if", "params": {"combine": combine, "conditions": [
            {"left": "{{ $json.a }}", "operator": "exists"},
            {"left": "{{ $json.a.b }}", "operator": "equals", "right": "{{ $boom }}"}
        ]}})
    };
    let fake = FakeJs::default();
    let outputs = run_with(node("all"), vec![vec![json!({"x": 1})]], &fake).unwrap();
    assert_eq!(outputs[1].len(), 1);
    assert_eq!(fake.asked(), ["$json.a@0"]);
    let fake = FakeJs::default();
    let outputs = run_with(node("any"), vec![vec![json!({"a": 1})]], &fake).unwrap();
    assert_eq!(outputs[0].len(), 1);
    assert_eq!(fake.asked(), ["$json.a@0"]);
    let error = fail(node("all"), vec![vec![json!({"a": {"b": 1}})]], &FakeJs::default());
    assert_eq!(error.pointer(), Some("/params/conditions/1/right"));
}

#[test]
fn a_regex_pattern_from_an_expression_is_checked_when_it_is_used() {
    let node = json!({"name": "Match", "type": "filter", "params": {"conditions": [
        {"left": "{{ $json.code }}", "operator": "regex", "right": "{{ $json.pattern }}"}
    ]}});
    let inputs = vec![vec![json!({"code": "A-12", "pattern": "^A-\\d+$"}), json!({"code": "B-1", "pattern": "^A"})]];
    assert_eq!(
        run_with(node.clone(), inputs, &FakeJs::default()).unwrap(),
        [[json!({"code": "A-12", "pattern": "^A-\\d+$"})]]
    );

    let error = fail(node.clone(), vec![vec![json!({"code": "x", "pattern": "(unclosed"})]], &FakeJs::default());
    assert_eq!(error.pointer(), Some("/params/conditions/0/right"));
    assert!(error.to_string().contains("not a valid regular expression"), "{error}");

    let error = fail(node, vec![vec![json!({"code": "x", "pattern": 5})]], &FakeJs::default());
    assert_eq!(error.pointer(), Some("/params/conditions/0/right"));
    assert!(error.to_string().contains("a number"), "{error}");
}

#[test]
fn an_invalid_literal_pattern_that_escaped_validation_fails_before_any_item() {
    let node = json!({"name": "Match", "type": "filter", "params": {"conditions": [
        {"left": "x", "operator": "regex", "right": "a{2"}
    ]}});
    let error = fail(node, vec![vec![]], &NoExpressions);
    assert_eq!(error.pointer(), Some("/params/conditions/0/right"));
}

#[test]
fn if_with_an_error_output_has_it_last_and_empty() {
    let node = json!({"name": "If", "type": "if", "on_error": "error_output", "params": {"conditions": [
        {"left": 1, "operator": "equals", "right": 1}
    ]}});
    assert_eq!(run(node, vec![vec![json!({"a": 1})]]), [vec![json!({"a": 1})], vec![], vec![]]);
}

#[test]
fn if_keeps_attachments_on_the_branch_taken() {
    let node =
        json!({"name": "If", "type": "if", "params": {"conditions": [{"left": 1, "operator": "equals", "right": 2}]}});
    let outputs = execute_items(node, vec![vec![with_binary(json!({}), "photo")]], &NoExpressions).unwrap();
    assert_eq!(attachments(&outputs[1][0]), ["photo"]);
}

#[test]
fn filter_keeps_the_matching_items_in_their_order() {
    let node = json!({"name": "Only active", "type": "filter", "params": {"conditions": [
        {"left": "{{ $json.active }}", "operator": "equals", "right": true}
    ]}});
    let inputs = vec![vec![
        json!({"n": 1, "active": true}),
        json!({"n": 2}),
        json!({"n": 3, "active": true}),
        json!({"n": 4, "active": "true"}),
    ]];
    assert_eq!(
        run_with(node.clone(), inputs, &FakeJs::default()).unwrap(),
        [[json!({"n": 1, "active": true}), json!({"n": 3, "active": true})]]
    );
    assert_eq!(run_with(node, vec![vec![]], &FakeJs::default()).unwrap(), [Vec::<Value>::new()]);
}

fn by_region(all_matches: bool) -> Value {
    json!({"name": "By region", "type": "switch", "params": {"all_matches": all_matches, "rules": [
        {"name": "europe", "conditions": [{"left": "{{ $json.region }}", "operator": "equals", "right": "eu"}]},
        {"name": "americas", "conditions": [{"left": "{{ $json.region }}", "operator": "regex", "right": "^(na|sa)$"}]},
        {"conditions": [
            {"left": "{{ $json.vip }}", "operator": "equals", "right": true},
            {"left": "{{ $json.region }}", "operator": "equals", "right": "eu"}
        ], "combine": "any"}
    ]}})
}

fn regions(outputs: Vec<Vec<Value>>) -> Vec<Vec<i64>> {
    outputs.iter().map(|items| items.iter().map(|item| item["n"].as_i64().unwrap()).collect()).collect()
}

#[test]
fn switch_sends_each_item_to_the_first_rule_it_matches_or_to_fallback() {
    let inputs = vec![vec![
        json!({"n": 0, "region": "eu"}),
        json!({"n": 1, "region": "sa"}),
        json!({"n": 2, "region": "as", "vip": true}),
        json!({"n": 3, "region": "as"}),
        json!({"n": 4}),
    ]];
    let outputs = run_with(by_region(false), inputs, &FakeJs::default()).unwrap();
    assert_eq!(regions(outputs), [vec![0], vec![1], vec![2], vec![3, 4]]);
}

#[test]
fn switch_with_all_matches_sends_an_item_to_every_rule_it_matches() {
    let inputs =
        vec![vec![json!({"n": 0, "region": "eu"}), json!({"n": 1, "region": "na", "vip": true}), json!({"n": 2})]];
    let outputs = run_with(by_region(true), inputs, &FakeJs::default()).unwrap();
    assert_eq!(regions(outputs), [vec![0], vec![1], vec![0, 1], vec![2]]);
}

#[test]
fn switch_with_an_error_output_has_it_after_fallback() {
    let mut node = by_region(false);
    node["on_error"] = json!("error_output");
    let outputs = run_with(node, vec![vec![json!({"n": 0})]], &FakeJs::default()).unwrap();
    assert_eq!(regions(outputs), [vec![], vec![], vec![], vec![0], vec![]]);
}

// ── merge ────────────────────────────────────────────────────────────────────────────────────

fn merge(params: Value) -> Value {
    json!({"name": "Join", "type": "merge", "params": params})
}

#[test]
fn merge_append_and_wait_both_give_input_0_then_input_1() {
    for mode in ["append", "wait_both"] {
        let inputs = vec![vec![json!({"a": 1}), json!({"a": 2})], vec![json!({"b": 1})]];
        assert_eq!(run(merge(json!({"mode": mode})), inputs), [[json!({"a": 1}), json!({"a": 2}), json!({"b": 1})]]);
    }
    assert_eq!(run(merge(json!({})), vec![vec![], vec![json!({"b": 1})]]), [[json!({"b": 1})]]);
    assert_eq!(run(merge(json!({})), vec![vec![json!({"a": 1})]]), [[json!({"a": 1})]]);
}

#[test]
fn merge_by_position_pairs_the_nth_items_and_leaves_out_the_unpaired() {
    let inputs = vec![
        vec![json!({"id": 1, "name": "Ada", "tier": "gold"}), json!({"id": 2}), json!({"id": 3})],
        vec![json!({"tier": "silver", "orders": 4}), json!({"orders": 0})],
    ];
    assert_eq!(
        run(merge(json!({"mode": "by_position"})), inputs),
        [[json!({"id": 1, "name": "Ada", "tier": "silver", "orders": 4}), json!({"id": 2, "orders": 0})]]
    );
}

#[test]
fn merge_is_shallow_and_combines_attachments() {
    let inputs = vec![
        vec![with_binary(json!({"address": {"city": "Lyon", "zip": "69001"}}), "photo")],
        vec![with_binary(json!({"address": {"city": "Paris"}}), "invoice")],
    ];
    let outputs = execute_items(merge(json!({"mode": "by_position"})), inputs, &NoExpressions).unwrap();
    assert_eq!(Value::Object(outputs[0][0].json.clone()), json!({"address": {"city": "Paris"}}));
    assert_eq!(attachments(&outputs[0][0]), ["invoice", "photo"]);
}

#[test]
fn merge_by_key_joins_every_pair_whose_keys_are_equal() {
    let inputs = vec![
        vec![
            json!({"customer": {"id": 1}, "order": "a"}),
            json!({"customer": {"id": 2}, "order": "b"}),
            json!({"customer": {"id": 1.0}, "order": "c"}),
            json!({"customer": {"id": "2"}, "order": "d"}),
        ],
        vec![
            json!({"customer": {"id": 1}, "email": "ada@example.com"}),
            json!({"customer": {"id": 2}, "email": "bob@example.com"}),
            json!({"customer": {"id": 1}, "email": "ada@work.example"}),
        ],
    ];
    let outputs = run(merge(json!({"mode": "by_key", "key": "customer.id"})), inputs);
    let pairs: Vec<_> = outputs[0].iter().map(|item| format!("{}:{}", item["order"], item["email"])).collect();
    assert_eq!(
        pairs,
        [
            r#""a":"ada@example.com""#,
            r#""a":"ada@work.example""#,
            r#""b":"bob@example.com""#,
            r#""c":"ada@example.com""#,
            r#""c":"ada@work.example""#
        ]
    );
}

#[test]
fn merge_by_key_never_matches_items_whose_key_is_missing_or_null() {
    let inputs = vec![
        vec![json!({"order": "a"}), json!({"id": null, "order": "b"}), json!({"id": 7, "order": "c"})],
        vec![json!({"email": "x"}), json!({"id": null, "email": "y"}), json!({"id": 7, "email": "z"})],
    ];
    assert_eq!(
        run(merge(json!({"mode": "by_key", "key": "id"})), inputs),
        [[json!({"id": 7, "order": "c", "email": "z"})]]
    );
}

fn join(params: Value) -> Vec<Value> {
    let inputs = vec![
        vec![json!({"id": 1, "name": "Ada"}), json!({"id": 2, "name": "Bob"}), json!({"id": 3, "name": "Cy"})],
        vec![
            json!({"key": 1, "name": "ADA", "tier": "gold"}),
            json!({"key": 4, "tier": "none"}),
            json!({"key": 1, "tier": "silver"}),
        ],
    ];
    let mut params = params;
    params["mode"] = json!("by_key");
    params["fields"] = json!([{"a": "id", "b": "key"}]);
    run(merge(params), inputs).swap_remove(0)
}

#[test]
fn merge_by_key_joins_like_n8n_output_types() {
    assert_eq!(
        join(json!({})),
        [
            json!({"id": 1, "key": 1, "name": "ADA", "tier": "gold"}),
            json!({"id": 1, "key": 1, "name": "Ada", "tier": "silver"})
        ]
    );
    assert_eq!(join(json!({"all_matches": false})), [json!({"id": 1, "key": 1, "name": "ADA", "tier": "gold"})]);
    assert_eq!(
        join(json!({"join": "left", "all_matches": false})),
        [
            json!({"id": 1, "key": 1, "name": "ADA", "tier": "gold"}),
            json!({"id": 2, "name": "Bob"}),
            json!({"id": 3, "name": "Cy"})
        ]
    );
    // Enriching input 1 lets input 0's values win, as n8n does by default.
    assert_eq!(
        join(json!({"join": "right", "all_matches": false})),
        [
            json!({"key": 1, "name": "Ada", "tier": "gold", "id": 1}),
            json!({"key": 4, "tier": "none"}),
            json!({"key": 1, "tier": "silver"})
        ]
    );
    assert_eq!(join(json!({"join": "outer", "all_matches": false})).len(), 5);
    assert_eq!(
        join(json!({"join": "unmatched"})),
        [
            json!({"id": 2, "name": "Bob", "_source": "input1"}),
            json!({"id": 3, "name": "Cy", "_source": "input1"}),
            json!({"key": 4, "tier": "none", "_source": "input2"})
        ]
    );
    assert_eq!(join(json!({"join": "unmatched", "output_from": "right"})), [json!({"key": 4, "tier": "none"})]);
    assert_eq!(join(json!({"output_from": "left"})), [json!({"id": 1, "name": "Ada"})]);
    assert_eq!(
        join(json!({"output_from": "right"})),
        [json!({"key": 1, "name": "ADA", "tier": "gold"}), json!({"key": 1, "tier": "silver"})]
    );
    assert_eq!(
        join(json!({"clash": "add_suffix", "all_matches": false})),
        [json!({"id_1": 1, "name_1": "Ada", "key_2": 1, "name_2": "ADA", "tier_2": "gold"})]
    );
}

#[test]
fn merge_by_key_with_an_empty_input_passes_on_what_there_is_unless_nothing_is_kept() {
    let run_join = |join: &str, output_from: &str| {
        let params = json!({"mode": "by_key", "key": "id", "join": join, "output_from": output_from});
        run(merge(params), vec![vec![json!({"id": 1})], vec![]]).swap_remove(0)
    };
    assert!(run_join("inner", "both").is_empty());
    assert!(run_join("right", "both").is_empty());
    assert!(run_join("unmatched", "right").is_empty());
    assert_eq!(run_join("left", "both"), [json!({"id": 1})]);
    assert_eq!(run_join("outer", "both"), [json!({"id": 1})]);
    assert_eq!(run_join("unmatched", "both"), [json!({"id": 1})]);
}

#[test]
fn merge_deep_combines_nested_objects_and_lists_like_lodash() {
    let inputs = vec![
        vec![json!({"address": {"city": "Lyon", "zip": "69001"}, "tags": [1, 2, 3], "n": 1})],
        vec![json!({"address": {"city": "Paris"}, "tags": [9], "n": {"x": 1}})],
    ];
    assert_eq!(
        run(merge(json!({"mode": "by_position", "deep": true})), inputs.clone()),
        [[json!({"address": {"city": "Paris", "zip": "69001"}, "tags": [9, 2, 3], "n": {"x": 1}})]]
    );
    assert_eq!(
        run(merge(json!({"mode": "by_position", "clash": "prefer_first"})), inputs),
        [[json!({"address": {"city": "Lyon", "zip": "69001"}, "tags": [1, 2, 3], "n": 1})]]
    );
}

#[test]
fn merge_of_three_inputs_appends_and_combines_by_position_with_unpaired_items() {
    let inputs = vec![
        vec![json!({"a": 1}), json!({"a": 2})],
        vec![json!({"b": 1})],
        vec![json!({"c": 1}), json!({"c": 2}), json!({"c": 3})],
    ];
    assert_eq!(run(merge(json!({"inputs": 3})), inputs.clone())[0].len(), 6);
    assert_eq!(
        run(merge(json!({"mode": "by_position", "inputs": 3})), inputs.clone()),
        [[json!({"a": 1, "b": 1, "c": 1})]]
    );
    assert_eq!(
        run(
            merge(json!({"mode": "by_position", "inputs": 3, "include_unpaired": true, "clash": "add_suffix"})),
            inputs
        ),
        [[json!({"a_1": 1, "b_2": 1, "c_3": 1}), json!({"a_1": 2, "c_3": 2}), json!({"c_3": 3})]]
    );
}

#[test]
fn merge_choose_branch_sends_one_input_on_or_a_single_empty_item() {
    let inputs = vec![vec![json!({"a": 1})], vec![json!({"b": 1}), json!({"b": 2})], vec![json!({"c": 1})]];
    let choose = |choose: Value| json!({"mode": "choose_branch", "inputs": 3, "choose": choose});
    assert_eq!(run(merge(json!({"mode": "choose_branch", "inputs": 3})), inputs.clone()), [[json!({"a": 1})]]);
    assert_eq!(run(merge(choose(json!(1))), inputs.clone()), [[json!({"b": 1}), json!({"b": 2})]]);
    assert_eq!(run(merge(choose(json!("empty"))), inputs), [[json!({})]]);
}

// ── sort, limit, aggregate, remove_duplicates ────────────────────────────────────────────────

fn sort(fields: Value) -> Value {
    json!({"name": "Sort", "type": "sort", "params": {"fields": fields}})
}

fn ns(outputs: &[Vec<Value>]) -> Vec<i64> {
    outputs[0].iter().map(|item| item["n"].as_i64().unwrap()).collect()
}

#[test]
fn sort_orders_by_each_field_in_turn_and_keeps_ties_in_input_order() {
    let inputs = vec![vec![
        json!({"n": 0, "day": "2026-05-02", "id": 3}),
        json!({"n": 1, "day": "2026-05-01", "id": 9}),
        json!({"n": 2, "day": "2026-05-02", "id": 1}),
        json!({"n": 3, "day": "2026-05-01", "id": 9}),
        json!({"n": 4, "day": "2026-05-02", "id": 1.0}),
    ]];
    let outputs = run(sort(json!([{"field": "day", "order": "desc"}, {"field": "id"}])), inputs);
    assert_eq!(ns(&outputs), [2, 4, 0, 1, 3]);
}

#[test]
fn sort_puts_missing_and_null_last_in_either_order() {
    let inputs =
        || vec![vec![json!({"n": 0}), json!({"n": 1, "at": 5}), json!({"n": 2, "at": null}), json!({"n": 3, "at": 9})]];
    assert_eq!(ns(&run(sort(json!([{"field": "at"}])), inputs())), [1, 3, 0, 2]);
    assert_eq!(ns(&run(sort(json!([{"field": "at", "order": "desc"}])), inputs())), [3, 1, 0, 2]);
}

#[test]
fn sort_of_mixed_types_puts_numbers_then_strings_booleans_arrays_objects() {
    let values = [
        json!({"k": 1}),
        json!("b"),
        json!(true),
        json!([2]),
        json!(10),
        json!("a"),
        json!(false),
        json!(-3),
        json!([1]),
    ];
    let inputs = vec![values.iter().enumerate().map(|(n, v)| json!({"n": n, "v": v})).collect()];
    let outputs = run(sort(json!([{"field": "v"}])), inputs);
    let sorted: Vec<_> = outputs[0].iter().map(|item| item["v"].clone()).collect();
    assert_eq!(
        sorted,
        [
            json!(-3),
            json!(10),
            json!("a"),
            json!("b"),
            json!(false),
            json!(true),
            json!([2]),
            json!([1]),
            json!({"k": 1})
        ]
    );
}

#[test]
fn sort_reaches_nested_fields() {
    let inputs = vec![vec![json!({"n": 0, "customer": {"name": "Zoe"}}), json!({"n": 1, "customer": {"name": "Ada"}})]];
    assert_eq!(ns(&run(sort(json!([{"field": "customer.name"}])), inputs)), [1, 0]);
}

fn numbered(count: i64) -> Vec<Vec<Value>> {
    vec![(0..count).map(|n| json!({"n": n})).collect()]
}

#[test]
fn limit_keeps_the_first_or_the_last_items() {
    let limit =
        |keep: &str, max: u64| json!({"name": "Top", "type": "limit", "params": {"max_items": max, "keep": keep}});
    assert_eq!(ns(&run(limit("first", 2), numbered(5))), [0, 1]);
    assert_eq!(ns(&run(limit("last", 2), numbered(5))), [3, 4]);
    assert_eq!(ns(&run(limit("first", 10), numbered(3))), [0, 1, 2]);
    assert_eq!(ns(&run(limit("last", 10), numbered(3))), [0, 1, 2]);
    assert_eq!(run(limit("last", 10), vec![vec![]]), [Vec::<Value>::new()]);
}

#[test]
fn limit_evaluates_an_expression_once_for_the_first_item() {
    let limit = json!({"name": "Top", "type": "limit", "params": {"max_items": "{{ $json.keep }}"}});
    let fake = FakeJs::default();
    let inputs = vec![vec![json!({"n": 0, "keep": 2}), json!({"n": 1, "keep": 9}), json!({"n": 2})]];
    assert_eq!(ns(&run_with(limit.clone(), inputs, &fake).unwrap()), [0, 1]);
    assert_eq!(fake.asked(), ["$json.keep@0"]);

    for (keep, detail) in
        [(json!(0), "at least 1"), (json!("ten"), "not a whole number"), (json!(1.5), "not a whole number")]
    {
        let error = fail(limit.clone(), vec![vec![json!({"keep": keep})]], &FakeJs::default());
        assert_eq!(error.pointer(), Some("/params/max_items"));
        assert!(error.to_string().contains(detail), "{error}");
    }
}

#[test]
fn aggregate_collects_one_fields_values_leaving_out_missing_and_null() {
    let node = json!({"name": "All emails", "type": "aggregate", "params": {"field": "email"}});
    let inputs =
        vec![vec![json!({"email": "a@x"}), json!({"id": 2}), json!({"email": null}), json!({"email": ["b@x"]})]];
    assert_eq!(run(node, inputs), [[json!({"email": ["a@x", ["b@x"]]})]]);
}

#[test]
fn aggregate_of_a_nested_field_puts_the_list_at_the_same_path() {
    let node = json!({"name": "All emails", "type": "aggregate", "params": {"field": "customer.email"}});
    let inputs = vec![vec![json!({"customer": {"email": "a@x"}}), json!({"customer": "c_1"})]];
    assert_eq!(run(node, inputs), [[json!({"customer": {"email": ["a@x"]}})]]);
}

#[test]
fn aggregate_without_a_field_collects_whole_items_and_drops_attachments() {
    let node = json!({"name": "Report", "type": "aggregate"});
    let inputs = vec![vec![with_binary(json!({"a": 1}), "photo"), item(json!({"b": 2}))]];
    let outputs = execute_items(node, inputs, &NoExpressions).unwrap();
    assert_eq!(outputs.len(), 1);
    assert_eq!(outputs[0].len(), 1);
    assert_eq!(Value::Object(outputs[0][0].json.clone()), json!({"items": [{"a": 1}, {"b": 2}]}));
    assert_eq!(outputs[0][0].binary, None);
}

#[test]
fn aggregate_of_no_items_is_one_item_with_an_empty_list() {
    let node = json!({"name": "Report", "type": "aggregate", "params": {"field": "id"}});
    assert_eq!(run(node, vec![vec![]]), [[json!({"id": []})]]);
}

#[test]
fn remove_duplicates_keeps_the_first_of_each_group_of_equal_items() {
    let node = json!({"name": "Unique", "type": "remove_duplicates"});
    let inputs = vec![vec![
        json!({"a": 1, "b": {"c": [1, 2]}}),
        json!({"b": {"c": [1.0, 2]}, "a": 1.0}),
        json!({"a": "1", "b": {"c": [1, 2]}}),
        json!({"a": 1, "b": {"c": [2, 1]}}),
    ]];
    assert_eq!(
        run(node, inputs),
        [[
            json!({"a": 1, "b": {"c": [1, 2]}}),
            json!({"a": "1", "b": {"c": [1, 2]}}),
            json!({"a": 1, "b": {"c": [2, 1]}})
        ]]
    );
}

#[test]
fn remove_duplicates_by_nested_fields_compares_only_those() {
    let node =
        json!({"name": "One per email", "type": "remove_duplicates", "params": {"fields": ["customer.email", "shop"]}});
    let inputs = vec![vec![
        json!({"n": 0, "customer": {"email": "a@x"}, "shop": 1}),
        json!({"n": 1, "customer": {"email": "a@x", "name": "other"}, "shop": 1}),
        json!({"n": 2, "customer": {"email": "a@x"}, "shop": 2}),
        json!({"n": 3, "customer": {"email": "b@x"}, "shop": 1}),
    ]];
    assert_eq!(ns(&run(node, inputs)), [0, 2, 3]);
}

#[test]
fn items_lacking_the_field_are_duplicates_of_one_another() {
    let node = json!({"name": "One per email", "type": "remove_duplicates", "params": {"fields": ["email"]}});
    let inputs =
        vec![vec![json!({"n": 0}), json!({"n": 1, "email": null}), json!({"n": 2, "email": "a@x"}), json!({"n": 3})]];
    assert_eq!(ns(&run(node, inputs)), [0, 2]);
}

#[test]
fn attachments_do_not_make_items_different() {
    let node = json!({"name": "Unique", "type": "remove_duplicates"});
    let inputs = vec![vec![with_binary(json!({"a": 1}), "photo"), with_binary(json!({"a": 1}), "invoice")]];
    let outputs = execute_items(node, inputs, &NoExpressions).unwrap();
    assert_eq!(outputs[0].len(), 1);
    assert_eq!(attachments(&outputs[0][0]), ["photo"]);
}

// ── no_op, stop_and_error, and the types executed elsewhere ──────────────────────────────────

#[test]
fn no_op_passes_its_items_on_unchanged() {
    let items = vec![with_binary(json!({"a": 1}), "photo"), item(json!({"b": 2}))];
    let outputs = execute_items(json!({"name": "Nothing", "type": "no_op"}), vec![items.clone()], &NoExpressions);
    assert_eq!(outputs.unwrap(), [items]);
}

#[test]
fn stop_and_error_fails_with_its_message_evaluated_for_the_first_item() {
    let node = json!({"name": "Reject", "type": "stop_and_error", "on_error": "error_output",
        "params": {"message": "unknown region {{ $json.region }}"}});
    let error = fail(node, vec![vec![json!({"region": "mars"}), json!({"region": "venus"})]], &FakeJs::default());
    assert_eq!(error, NodeError::Stopped { node: "Reject".into(), message: "unknown region mars".into() });
    assert_eq!(error.to_string(), "unknown region mars");
    assert_eq!(error.pointer(), None);

    let literal = json!({"name": "Reject", "type": "stop_and_error", "params": {"message": "no"}});
    assert_eq!(fail(literal, vec![vec![]], &NoExpressions).to_string(), "no");
}

#[test]
fn a_lone_expression_in_a_message_is_written_out_as_text() {
    let node = json!({"name": "Reject", "type": "stop_and_error", "params": {"message": "{{ $json.code }}"}});
    assert_eq!(fail(node, vec![vec![json!({"code": 42})]], &FakeJs::default()).to_string(), "42");
}

#[test]
fn triggers_and_loops_are_settled_by_the_planner_not_executed() {
    for (name, node_type) in [("Start", "manual_trigger"), ("Each", "loop")] {
        let error = fail(json!({"name": name, "type": node_type}), vec![vec![json!({})]], &NoExpressions);
        assert!(matches!(error, NodeError::NotExecutable { .. }), "{error:?}");
        assert!(error.to_string().contains("planner"), "{error}");
        assert_eq!(error.node(), name);
    }
}

#[test]
fn node_types_that_need_io_or_the_sandbox_say_they_are_not_built_yet() {
    let nodes = [
        (json!({"name": "Add VAT", "type": "code", "params": {"code": "return items"}}), "JavaScript sandbox"),
        (json!({"name": "Fetch", "type": "http_request", "params": {"url": "https://a.example"}}), "HTTP client"),
        (json!({"name": "Cool down", "type": "wait", "params": {"duration_ms": 5}}), "wake-up"),
        (
            json!({"name": "Enrich", "type": "execute_workflow", "params": {"workflow_id": "wf_01jcz5v3kq8m2r6t9w0y4b7n1e"}}),
            "sub-workflow",
        ),
    ];
    for (node, needs) in nodes {
        let error = fail(node, vec![vec![json!({})]], &NoExpressions);
        assert!(matches!(error, NodeError::Unsupported { .. }), "{error:?}");
        let message = error.to_string();
        assert!(message.contains(needs) && message.contains("not built yet"), "{message}");
    }
}

#[test]
fn params_that_do_not_read_are_a_located_error_not_a_panic() {
    let error = fail(
        json!({"name": "Top", "type": "limit", "params": {"max_items": "ten"}}),
        vec![vec![json!({})]],
        &NoExpressions,
    );
    assert_eq!(error.pointer(), Some("/params/max_items"));
    // `set` may leave out `assignments` (for `json_output`); `stop_and_error` needs its message.
    let error = fail(json!({"name": "Reject", "type": "stop_and_error"}), vec![vec![json!({})]], &NoExpressions);
    assert_eq!(error.pointer(), Some("/params"));
    assert!(error.to_string().contains("message"), "{error}");
}

#[test]
fn every_node_type_gives_as_many_outputs_as_the_catalogue_names() {
    let nodes = [
        json!({"name": "n", "type": "set", "params": {"assignments": [{"name": "a", "value": 1}]}}),
        json!({"name": "n", "type": "if", "params": {"conditions": [{"left": 1, "operator": "exists"}]}}),
        json!({"name": "n", "type": "filter", "params": {"conditions": [{"left": 1, "operator": "exists"}]}}),
        by_region(false),
        json!({"name": "n", "type": "merge"}),
        json!({"name": "n", "type": "sort", "params": {"fields": [{"field": "a"}]}}),
        json!({"name": "n", "type": "limit", "params": {"max_items": 1}}),
        json!({"name": "n", "type": "aggregate"}),
        json!({"name": "n", "type": "remove_duplicates"}),
        json!({"name": "n", "type": "no_op"}),
    ];
    for mut definition in nodes {
        for on_error in ["stop", "error_output"] {
            definition["on_error"] = json!(on_error);
            let expected = weft_engine::node_outputs(&node(&definition)).unwrap().len();
            let outputs =
                run_with(definition.clone(), vec![vec![json!({"a": 1})], vec![]], &FakeJs::default()).unwrap();
            assert_eq!(outputs.len(), expected, "{definition}");
        }
    }
}

// ── split_out ────────────────────────────────────────────────────────────────────────────────

fn split(params: Value) -> Value {
    json!({"name": "Split", "type": "split_out", "params": params})
}

#[test]
fn split_out_spreads_object_elements_and_names_the_others() {
    let inputs = vec![vec![
        json!({"id": 1, "rows": [{"a": 1}, {"a": 2}]}),
        json!({"id": 2, "rows": "just one"}),
        json!({"id": 3}),
        json!({"id": 4, "rows": {"x": {"a": 9}}}),
        json!({"id": 5, "rows": null}),
    ]];
    assert_eq!(
        run(split(json!({"fields": [{"field": "rows"}]})), inputs),
        [[json!({"a": 1}), json!({"a": 2}), json!({"rows": "just one"}), json!({"a": 9}), json!({"rows": null})]]
    );
}

#[test]
fn split_out_with_a_destination_and_all_other_fields() {
    let params = json!({"fields": [{"field": "body.tags", "destination": "tag"}], "include": "all"});
    let inputs = vec![vec![json!({"id": 1, "body": {"tags": ["x", {"y": 1}], "keep": true}})]];
    assert_eq!(
        run(split(params), inputs),
        [[
            json!({"id": 1, "body": {"keep": true}, "tag": "x"}),
            json!({"id": 1, "body": {"keep": true}, "tag": {"y": 1}})
        ]]
    );
    let inputs = vec![vec![json!({"id": 1, "body": {"tags": [{"y": 1}]}})]];
    let params = json!({"fields": [{"field": "body.tags"}], "include": "all"});
    assert_eq!(run(split(params), inputs), [[json!({"id": 1, "body": {}, "body.tags": {"y": 1}})]]);
}

#[test]
fn split_out_side_by_side_and_selected_fields() {
    let params = json!({
        "fields": [{"field": "name"}, {"field": "uri", "destination": "link"}],
        "include": "selected", "include_fields": ["owner.id", "name", "missing"]
    });
    let inputs = vec![vec![json!({"name": ["a", "b"], "uri": ["u1"], "owner": {"id": 7}})]];
    assert_eq!(
        run(split(params), inputs),
        [[json!({"owner.id": 7, "name": "a", "link": "u1"}), json!({"owner.id": 7, "name": "b"})]]
    );
}

#[test]
fn split_out_keeps_attachments_only_when_asked() {
    let inputs = || vec![vec![with_binary(json!({"rows": [1, 2]}), "photo")]];
    let plain = execute_items(split(json!({"fields": [{"field": "rows"}]})), inputs(), &NoExpressions).unwrap();
    assert!(plain[0].iter().all(|item| item.binary.is_none()));
    let params = json!({"fields": [{"field": "rows"}], "include_binary": true});
    let kept = execute_items(split(params), inputs(), &NoExpressions).unwrap();
    assert_eq!(kept[0].len(), 2);
    assert!(kept[0].iter().all(|item| attachments(item) == ["photo"]));
}

#[test]
fn aggregate_of_several_fields_with_outputs_keep_missing_and_merge_lists() {
    let inputs = || {
        vec![vec![
            json!({"label": {"name": "a"}, "tags": ["x", null]}),
            json!({"tags": "y"}),
            json!({"label": {"name": null}, "tags": ["z"]}),
        ]]
    };
    let params = json!({"fields": [{"field": "label.name", "output": "names"}, {"field": "tags"}]});
    assert_eq!(
        run(json!({"name": "A", "type": "aggregate", "params": params}), inputs()),
        [[json!({"names": ["a"], "tags": [["x"], "y", ["z"]]})]]
    );
    let params = json!({"fields": [{"field": "label.name", "output": "names"}, {"field": "tags"}],
                        "keep_missing": true, "merge_lists": true});
    assert_eq!(
        run(json!({"name": "A", "type": "aggregate", "params": params}), inputs()),
        [[json!({"names": ["a", null, null], "tags": ["x", null, "y", "z"]})]]
    );
}

#[test]
fn aggregate_of_whole_items_under_a_destination() {
    let node = json!({"name": "A", "type": "aggregate", "params": {"destination": "data"}});
    assert_eq!(run(node, vec![vec![json!({"a": 1}), json!({"b": 2})]]), [[json!({"data": [{"a": 1}, {"b": 2}]})]]);
}

// ── set json_output, merge cross_join ────────────────────────────────────────────────────────

#[test]
fn set_json_output_assigns_every_member_of_the_object_it_gives() {
    let set = json!({"name": "Reply", "type": "set", "params": {
        "json_output": "{\"to\": \"{{ $json.email }}\", \"n\": {{ $itemIndex }}, \"deep.x\": 1}"
    }});
    let inputs = vec![vec![json!({"email": "a@x", "keep": 1}), json!({"email": "b@x"})]];
    assert_eq!(
        run_with(set, inputs, &FakeJs::default()).unwrap(),
        [[
            json!({"email": "a@x", "keep": 1, "to": "a@x", "n": 0, "deep": {"x": 1}}),
            json!({"email": "b@x", "to": "b@x", "n": 1, "deep": {"x": 1}})
        ]]
    );
    let whole =
        json!({"name": "Copy", "type": "set", "params": {"json_output": "{{ $json.inner }}", "keep_only": true}});
    let inputs = vec![vec![json!({"inner": {"a": 1}, "b": 2})]];
    assert_eq!(run_with(whole, inputs, &FakeJs::default()).unwrap(), [[json!({"a": 1})]]);
}

#[test]
fn set_json_output_that_is_not_an_object_fails_on_its_item() {
    let set = json!({"name": "Reply", "type": "set", "params": {"json_output": "{{ $json.text }}"}});
    let error = fail(set, vec![vec![json!({"text": "[1, 2]"})]], &FakeJs::default());
    assert_eq!(error.pointer(), Some("/params/json_output"));
    assert!(error.to_string().contains("not a JSON object"), "{error}");
}

#[test]
fn merge_cross_join_pairs_every_item_of_one_input_with_every_item_of_the_other() {
    let node = merge(json!({"mode": "cross_join"}));
    let inputs = vec![vec![json!({"a": 1}), json!({"a": 2})], vec![json!({"b": 1}), json!({"b": 2, "a": 9})]];
    assert_eq!(
        run(node.clone(), inputs),
        [[json!({"a": 1, "b": 1}), json!({"a": 9, "b": 2}), json!({"a": 2, "b": 1}), json!({"a": 9, "b": 2})]]
    );
    assert_eq!(run(node, vec![vec![json!({"a": 1})], vec![]]), [Vec::<Value>::new()]);
}

// ── rename_keys ──────────────────────────────────────────────────────────────────────────────

#[test]
fn rename_keys_moves_each_field_the_item_has() {
    let node = json!({"name": "Rename", "type": "rename_keys", "params": {"keys": [
        {"from": "a", "to": "z"}, {"from": "b", "to": "c"}, {"from": "user.mail", "to": "contact.email"}, {"from": "nope", "to": "x"}
    ]}});
    let inputs = vec![vec![json!({"a": 1, "b": 2, "user": {"mail": "m@x", "id": 3}})]];
    assert_eq!(run(node, inputs), [[json!({"z": 1, "c": 2, "user": {"id": 3}, "contact": {"email": "m@x"}})]]);
}

#[test]
fn rename_keys_fails_rather_than_overwrite_a_field_on_the_way() {
    let node = json!({"name": "Rename", "type": "rename_keys", "params": {"keys": [{"from": "a", "to": "s.x"}]}});
    let error = fail(node, vec![vec![json!({"a": 1, "s": "text"})]], &NoExpressions);
    assert_eq!(error.pointer(), Some("/params/keys/0/to"));
}

// ── crypto ───────────────────────────────────────────────────────────────────────────────────

#[test]
fn crypto_hashes_a_value_into_a_field() {
    let hash = |algorithm: &str, encoding: &str| {
        let node = json!({"name": "Hash", "type": "crypto", "params": {
            "action": "hash", "algorithm": algorithm, "value": "abc", "encoding": encoding, "field": "out.digest"
        }});
        run(node, vec![vec![json!({"keep": 1})]])[0][0]["out"]["digest"].as_str().unwrap_or_default().to_string()
    };
    assert_eq!(hash("md5", "hex"), "900150983cd24fb0d6963f7d28e17f72");
    assert_eq!(hash("sha1", "hex"), "a9993e364706816aba3e25717850c26c9cd0d89d");
    assert_eq!(hash("sha256", "hex"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_eq!(hash("sha256", "base64"), "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=");
    assert_eq!(hash("sha384", "hex").len(), 96);
    assert_eq!(
        hash("sha512", "hex"),
        "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
    );
    let node = json!({"name": "Hash", "type": "crypto", "params": {"action": "hash", "algorithm": "md5", "value": ""}});
    assert_eq!(run(node, vec![vec![json!({"a": 1})]]), [[json!({"a": 1, "data": "d41d8cd98f00b204e9800998ecf8427e"})]]);
}

#[test]
fn crypto_hmac_signs_the_value_of_each_item_with_the_secret() {
    let node = json!({"name": "Sign", "type": "crypto", "params": {
        "action": "hmac", "algorithm": "sha256", "value": "{{ $json.msg }}", "secret": "key", "field": "sig"
    }});
    let out =
        run_with(node, vec![vec![json!({"msg": "The quick brown fox jumps over the lazy dog"})]], &FakeJs::default())
            .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(out[0][0]["sig"], json!("f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"));
}

#[test]
fn crypto_generates_uuids_and_random_text_of_a_length() {
    let node = json!({"name": "Id", "type": "crypto", "params": {"action": "generate", "field": "uuid"}});
    let out = run(node, vec![vec![json!({}), json!({})]]);
    let uuid = out[0][0]["uuid"].as_str().unwrap_or_default();
    assert_eq!(uuid.len(), 36);
    assert_eq!(&uuid[14..15], "4");
    assert!(matches!(&uuid[19..20], "8" | "9" | "a" | "b"), "{uuid}");
    assert_ne!(out[0][0], out[0][1]);
    for (encoding, alphabet) in
        [("hex", "0123456789abcdef"), ("base64", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")]
    {
        let node = json!({"name": "Token", "type": "crypto", "params": {"action": "generate", "encoding": encoding, "length": 45}});
        let out = run(node, vec![vec![json!({})]]);
        let token = out[0][0]["data"].as_str().unwrap_or_default();
        assert_eq!(token.len(), 45);
        assert!(token.chars().all(|c| alphabet.contains(c)), "{token}");
    }
}

#[test]
fn crypto_fails_rather_than_overwrite_a_field_on_the_way() {
    let node = json!({"name": "Id", "type": "crypto", "params": {"action": "generate", "field": "s.id"}});
    let error = fail(node, vec![vec![json!({"s": 1})]], &NoExpressions);
    assert_eq!(error.pointer(), Some("/params/field"));
}

// ── date_time ────────────────────────────────────────────────────────────────────────────────

fn date_time(params: Value, input: Value) -> Value {
    let node = json!({"name": "Date", "type": "date_time", "params": params});
    let mut out = run(node, vec![vec![input]]);
    out.remove(0).remove(0)
}

#[test]
fn date_time_adds_and_subtracts_calendar_units_in_its_zone() {
    let add = json!({"operation": "add", "date": "2026-01-31T10:00:00Z", "unit": "months", "amount": 1});
    assert_eq!(date_time(add, json!({"a": 1})), json!({"newDate": "2026-02-28T10:00:00.000+00:00"}));
    let subtract = json!({"operation": "subtract", "date": "2026-07-01T12:00:00Z", "unit": "minutes", "amount": 5,
        "timezone": "Europe/Paris", "field": "at", "include_input_fields": true});
    assert_eq!(date_time(subtract, json!({"a": 1})), json!({"a": 1, "at": "2026-07-01T13:55:00.000+02:00"}));
    let seconds = json!({"operation": "add", "date": 1672531200, "unit": "quarters", "amount": 1});
    assert_eq!(date_time(seconds, json!({}))["newDate"], json!("2023-04-01T00:00:00.000+00:00"));
    let millis = json!({"operation": "add", "date": "1674691200000", "unit": "hours", "amount": 0});
    assert_eq!(date_time(millis, json!({}))["newDate"], json!("2023-01-26T00:00:00.000+00:00"));
    let local = json!({"operation": "add", "date": "2026-03-29 01:30", "unit": "hours", "amount": 1, "timezone": "Europe/Paris"});
    assert_eq!(date_time(local, json!({}))["newDate"], json!("2026-03-29T03:30:00.000+02:00"));
}

#[test]
fn date_time_formats_with_tokens_and_named_formats() {
    let format = |format: &str, timezone: &str| {
        let params =
            json!({"operation": "format", "date": "2026-12-05T07:21:09.045Z", "format": format, "timezone": timezone});
        date_time(params, json!({}))["formattedDate"].clone()
    };
    assert_eq!(format("yyyy-MM-dd HH:mm:ss.SSS", "UTC"), json!("2026-12-05 07:21:09.045"));
    assert_eq!(format("MMMM dd yyyy", "UTC"), json!("December 05 2026"));
    assert_eq!(format("MM/dd/yyyy", "UTC"), json!("12/05/2026"));
    assert_eq!(format("EEE h:mm a 'at' ZZ", "America/New_York"), json!("Sat 2:21 AM at -05:00"));
    assert_eq!(format("X", "UTC"), json!("1796455269"));
    assert_eq!(format("x", "UTC"), json!("1796455269045"));
}

#[test]
fn date_time_extracts_parts_and_rounds() {
    let date = "2026-12-05T07:21:09Z";
    let extract = |unit: &str| {
        date_time(json!({"operation": "extract", "date": date, "unit": unit}), json!({}))["datePart"].clone()
    };
    assert_eq!(
        [extract("years"), extract("months"), extract("weeks"), extract("days"), extract("hours")],
        [json!(2026), json!(12), json!(49), json!(5), json!(7)]
    );
    let round = |unit: &str, direction: &str| {
        date_time(json!({"operation": "round", "date": date, "unit": unit, "direction": direction}), json!({}))["roundedDate"].clone()
    };
    assert_eq!(round("months", "down"), json!("2026-12-01T00:00:00.000+00:00"));
    assert_eq!(round("weeks", "down"), json!("2026-11-30T00:00:00.000+00:00"));
    assert_eq!(round("hours", "down"), json!("2026-12-05T07:00:00.000+00:00"));
    assert_eq!(round("days", "up"), json!("2026-12-06T00:00:00.000+00:00"));
    assert_eq!(round("years", "up"), json!("2027-01-01T00:00:00.000+00:00"));
}

#[test]
fn date_time_gives_the_time_between_dates_in_units() {
    let params = json!({"operation": "between", "date": "2026-01-01T00:00:00Z", "end_date": "2026-03-15T12:00:00Z", "units": ["days", "months"]});
    assert_eq!(date_time(params.clone(), json!({})), json!({"timeDifference": {"months": 2, "days": 14.5}}));
    let mut iso = params;
    iso["iso_duration"] = json!(true);
    assert_eq!(date_time(iso, json!({})), json!({"timeDifference": "P2M14.5D"}));
}

#[test]
fn date_time_current_date_is_now_or_midnight_in_its_zone() {
    let now = date_time(json!({"operation": "current_date", "timezone": "Asia/Kolkata"}), json!({}));
    assert!(now["currentDate"].as_str().is_some_and(|text| text.len() == 29 && text.ends_with("+05:30")), "{now}");
    let today = date_time(json!({"operation": "current_date", "include_time": false}), json!({}));
    assert!(today["currentDate"].as_str().is_some_and(|text| text.ends_with("T00:00:00.000+00:00")), "{today}");
}

#[test]
fn date_time_fails_on_what_is_not_a_date() {
    let node = json!({"name": "Date", "type": "date_time", "params": {"operation": "extract", "date": "soon", "unit": "days"}});
    let error = fail(node, vec![vec![json!({})]], &NoExpressions);
    assert_eq!(error.pointer(), Some("/params/date"));
    let node =
        json!({"name": "Date", "type": "date_time", "params": {"operation": "extract", "date": "NaN", "unit": "days"}});
    assert_eq!(fail(node, vec![vec![json!({})]], &NoExpressions).pointer(), Some("/params/date"));
}

// ── summarize ────────────────────────────────────────────────────────────────────────────────

#[test]
fn summarize_names_each_aggregation_as_n8n_does() {
    let node = json!({"name": "Sum", "type": "summarize", "params": {"fields": [
        {"field": "id", "aggregation": "count"},
        {"field": "id", "aggregation": "count_unique"},
        {"field": "amount", "aggregation": "sum"},
        {"field": "amount", "aggregation": "average"},
        {"field": "amount", "aggregation": "min"},
        {"field": "amount", "aggregation": "max"},
        {"field": "name", "aggregation": "concatenate", "separator": ", "},
        {"field": "name", "aggregation": "append"},
        {"field": "user.city", "aggregation": "append", "include_empty": true}
    ]}});
    let inputs = vec![vec![
        json!({"id": 1, "amount": 10, "name": "a", "user": {"city": "X"}}),
        json!({"id": 1, "amount": 2.5, "name": ""}),
        json!({"id": 2, "amount": "7", "name": "c"}),
    ]];
    assert_eq!(
        run(node, inputs),
        [[json!({
            "count_id": 3, "unique_count_id": 2, "sum_amount": 12.5, "average_amount": 6.25,
            "min_amount": 2.5, "max_amount": "7", "concatenated_name": "a, c", "appended_name": ["a", "c"],
            "appended_user_city": ["X", null, null]
        })]]
    );
}

#[test]
fn summarize_splits_by_fields_nested_in_order_of_appearance() {
    let node = json!({"name": "Sum", "type": "summarize", "params": {
        "fields": [{"field": "amount", "aggregation": "sum"}], "split_by": ["country", "city"]
    }});
    let inputs = vec![vec![
        json!({"country": "FR", "city": "Paris", "amount": 1}),
        json!({"country": "DE", "city": "Berlin", "amount": 2}),
        json!({"country": "FR", "city": "Lyon", "amount": 3}),
        json!({"country": "FR", "city": "Paris", "amount": 4}),
        json!({"amount": 5}),
    ]];
    assert_eq!(
        run(node, inputs),
        [[
            json!({"country": "FR", "city": "Paris", "sum_amount": 5}),
            json!({"country": "FR", "city": "Lyon", "sum_amount": 3}),
            json!({"country": "DE", "city": "Berlin", "sum_amount": 2}),
            json!({"country": null, "city": null, "sum_amount": 5}),
        ]]
    );
}

#[test]
fn summarize_gives_one_item_for_no_items_unless_split() {
    let fields = json!([{"field": "n", "aggregation": "count"}, {"field": "n", "aggregation": "average"}]);
    let node = json!({"name": "Sum", "type": "summarize", "params": {"fields": fields}});
    assert_eq!(run(node, vec![vec![]]), [[json!({"count_n": 0, "average_n": null})]]);
    let node = json!({"name": "Sum", "type": "summarize", "params": {"fields": fields, "split_by": ["k"], "skip_empty_groups": true}});
    assert_eq!(run(node.clone(), vec![vec![]]), [Vec::<Value>::new()]);
    assert_eq!(
        run(node, vec![vec![json!({"k": "", "n": 1}), json!({"k": 0, "n": 2})]]),
        [[json!({"k": 0, "count_n": 1, "average_n": 2})]]
    );
}

// ── compare_datasets ─────────────────────────────────────────────────────────────────────────

fn compare_node(params: Value) -> Value {
    json!({"name": "Compare", "type": "compare_datasets", "params": params})
}

#[test]
fn compare_datasets_sorts_items_into_a_only_same_different_and_b_only() {
    let node = compare_node(json!({"fields": [{"a": "id", "b": "key"}]}));
    let a = vec![
        json!({"id": 1, "name": "Ann", "age": 30}),
        json!({"id": 2, "name": "Bob"}),
        json!({"id": 3, "name": "Cy"}),
        json!({"name": "no id"}),
        json!({}),
    ];
    let b = vec![
        json!({"key": 2, "name": "Bob"}),
        json!({"key": 1, "name": "Anne", "age": 30, "city": "Oslo"}),
        json!({"key": 9}),
    ];
    let [in_a_only, same, different, in_b_only] =
        <[Vec<Value>; 4]>::try_from(run(node, vec![a, b])).expect("four outputs");
    assert_eq!(in_a_only, [json!({"id": 3, "name": "Cy"}), json!({"name": "no id"})]);
    // Bob differs by his key's name, so is not the same: every field counts but skip_fields.
    assert_eq!(same, Vec::<Value>::new());
    assert_eq!(
        different,
        [
            json!({"keys": {"id": 1}, "same": {"age": 30}, "different": {
                "id": {"inputA": 1, "inputB": null}, "name": {"inputA": "Ann", "inputB": "Anne"},
                "key": {"inputA": null, "inputB": 1}, "city": {"inputA": null, "inputB": "Oslo"}
            }}),
            json!({"keys": {"id": 2}, "same": {"name": "Bob"}, "different": {
                "id": {"inputA": 2, "inputB": null}, "key": {"inputA": null, "inputB": 2}
            }}),
        ]
    );
    assert_eq!(in_b_only, [json!({"key": 9})]);
}

#[test]
fn compare_datasets_skips_fields_and_can_answer_with_b_version() {
    let node = compare_node(json!({
        "fields": [{"a": "user.id", "b": "user.id"}], "skip_fields": ["seen"], "when_different": "prefer_b", "all_matches": true
    }));
    let a = vec![json!({"user": {"id": 1}, "seen": "mon", "n": 1})];
    let b = vec![
        json!({"user": {"id": 1}, "seen": "tue", "n": 1}),
        json!({"user": {"id": 1}, "n": 2}),
        json!({"user": {"id": 1.0}, "n": 3}),
    ];
    assert_eq!(
        run(node, vec![a.clone(), b.clone()]),
        [vec![], vec![a[0].clone()], vec![b[1].clone(), b[2].clone()], vec![]]
    );
    let node = compare_node(json!({"fields": [{"a": "user.id", "b": "user.id"}], "skip_fields": ["seen"]}));
    let output = run(node, vec![a.clone(), vec![json!({"user": {"id": 1}, "seen": "x", "n": 5})]]);
    assert_eq!(
        output[2],
        [json!({"keys": {"user.id": 1}, "same": {"user": {"id": 1}}, "different": {"n": {"inputA": 1, "inputB": 5}},
            "skipped": {"seen": {"inputA": "mon", "inputB": "x"}}})]
    );
}

#[test]
fn compare_datasets_fails_for_a_field_no_item_has() {
    let node = compare_node(json!({"fields": [{"a": "id", "b": "ident"}]}));
    let error = fail(node.clone(), vec![vec![json!({"id": 1})], vec![json!({"id": 1})]], &NoExpressions);
    assert_eq!(error.pointer(), Some("/params/fields/0/b"));
    // An input with no items is not checked.
    assert_eq!(run(node, vec![vec![], vec![json!({"ident": 1})]]), [vec![], vec![], vec![], vec![json!({"ident": 1})]]);
}
