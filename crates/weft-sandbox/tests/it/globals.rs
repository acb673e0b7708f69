use std::collections::HashMap;

use serde_json::json;
use weft_sandbox::{JsExpressions, RunContext};

use crate::{Activation, empty, item, items, map, with_attachment};

fn run_context() -> RunContext {
    RunContext {
        execution_id: "run_01".into(),
        workflow_id: "wf_01".into(),
        workflow_name: "Orders".into(),
        vars: map(json!({"region": "eu", "limits": {"max": 3}})),
        env: map(json!({"API_BASE": "https://api.example.com"})),
        node_outputs: HashMap::from([(
            "Fetch order".to_string(),
            items([json!({"id": 10}), json!({"id": 11}), json!({"id": 12})]),
        )]),
        ..RunContext::default()
    }
}

fn activation() -> Activation {
    Activation::new(
        JsExpressions::new(run_context()),
        vec![item(json!({"n": 0})), with_attachment(item(json!({"n": 1, "name": "b"}))), item(json!({"n": 2}))],
    )
}

#[test]
fn json_reads_the_current_item() {
    let activation = activation();
    assert_eq!(activation.eval_at(1, "$json.name").unwrap(), json!("b"));
    assert_eq!(activation.eval_at(2, "$json.n * 10").unwrap(), json!(20));
}

#[test]
fn binary_holds_the_item_attachment_references() {
    let activation = activation();
    assert_eq!(
        activation.eval_at(1, "$binary.data").unwrap(),
        json!({"key": "blob/abc", "mime_type": "image/png", "size": 42, "file_name": "a.png"})
    );
    assert_eq!(activation.eval_at(0, "$binary").unwrap(), json!({}));
}

#[test]
fn item_index_is_the_position_in_the_input() {
    let activation = activation();
    assert_eq!(activation.eval_at(2, "$itemIndex").unwrap(), json!(2));
}

#[test]
fn input_gives_the_item_and_the_whole_input() {
    let activation = activation();
    assert_eq!(activation.eval_at(1, "$input.item.json.n").unwrap(), json!(1));
    assert_eq!(activation.eval_at(1, "$input.all().map(item => item.json.n)").unwrap(), json!([0, 1, 2]));
    assert_eq!(activation.eval_at(1, "$input.first().json").unwrap(), json!({"n": 0}));
    assert_eq!(activation.eval_at(1, "$input.last().json.n").unwrap(), json!(2));
    assert_eq!(activation.eval_at(1, "$input.item.binary.data.size + $json.n").unwrap(), json!(43));
}

#[test]
fn a_node_output_is_read_by_name() {
    let activation = activation();
    assert_eq!(activation.eval_at(0, "$('Fetch order').first().json.id").unwrap(), json!(10));
    assert_eq!(activation.eval_at(0, "$('Fetch order').last().json.id").unwrap(), json!(12));
    assert_eq!(activation.eval_at(0, "$('Fetch order').all().length").unwrap(), json!(3));
}

#[test]
fn a_node_item_is_the_one_at_the_same_index() {
    let activation = activation();
    for index in 0..3 {
        assert_eq!(activation.eval_at(index, "$('Fetch order').item.json.id").unwrap(), json!(10 + index));
    }
}

#[test]
fn dollar_node_gives_the_first_item_of_a_node() {
    let activation = activation();
    assert_eq!(activation.eval_at(2, r#"$node["Fetch order"].json.id"#).unwrap(), json!(10));
}

#[test]
fn an_unknown_node_fails_with_its_name() {
    let message = activation().eval("$('Nope').item.json").unwrap_err().message;
    assert!(message.contains("'Nope'") && message.contains("has not run yet"), "{message}");
}

#[test]
fn a_recorded_node_output_replaces_what_was_read_before() {
    let activation = activation();
    assert_eq!(activation.eval("$('Fetch order').first().json.id").unwrap(), json!(10));
    activation.exprs.record_node_output("Fetch order", items([json!({"id": 99})]));
    activation.exprs.record_node_output("Later", items([json!({"ok": true})]));
    assert_eq!(activation.eval("$('Fetch order').first().json.id").unwrap(), json!(99));
    assert_eq!(activation.eval("$('Later').item.json.ok").unwrap(), json!(true));
}

#[test]
fn run_wide_globals_come_from_the_run_context() {
    let activation = activation();
    assert_eq!(activation.eval("$execution.id").unwrap(), json!("run_01"));
    assert_eq!(activation.eval("$workflow.id").unwrap(), json!("wf_01"));
    assert_eq!(activation.eval("$workflow.name").unwrap(), json!("Orders"));
    assert_eq!(activation.eval("$vars.region + '-' + $vars.limits.max").unwrap(), json!("eu-3"));
    assert_eq!(activation.eval("$env.API_BASE").unwrap(), json!("https://api.example.com"));
}

#[test]
fn shared_values_cannot_be_changed_by_an_expression() {
    let activation = activation();
    let message = activation.eval("$vars.region = 'us'").unwrap_err().message;
    assert!(message.starts_with("TypeError"), "{message}");
    let message = activation.eval("$('Fetch order').first().json.id = 0").unwrap_err().message;
    assert!(message.starts_with("TypeError"), "{message}");
    assert_eq!(activation.eval("$vars.region").unwrap(), json!("eu"));
    assert_eq!(activation.eval("$('Fetch order').first().json.id").unwrap(), json!(10));
}

#[test]
fn now_is_a_luxon_date_time_written_as_iso_8601() {
    let activation = Activation::single(empty());
    let now = activation.value("$now");
    let text = now.as_str().expect("an ISO string");
    assert!(text.len() == 24 && text.ends_with('Z') && text.as_bytes()[10] == b'T', "{text}");
    let millis = activation.value("$now.toMillis()").as_i64().unwrap();
    let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    assert!((since_epoch.as_millis() as i64 - millis).abs() < 60_000);
    assert_eq!(activation.value("DateTime.isDateTime($now) && typeof $now.toISO()"), json!("string"));
    assert_eq!(activation.value("`${$now}`.endsWith('Z')"), json!(true));
    assert_eq!(activation.value("$now.year === new Date().getUTCFullYear()"), json!(true));
}

#[test]
fn today_is_midnight_utc() {
    let activation = Activation::single(empty());
    let today = activation.value("$today.toISO()");
    assert!(today.as_str().unwrap().ends_with("T00:00:00.000Z"), "{today}");
    assert_eq!(activation.value("$today.hour + $today.minute + $today.second"), json!(0));
    assert_eq!(activation.value("$today.day === $now.day || $now.hour === 0"), json!(true));
}

#[test]
fn a_loop_pass_gives_the_batch_and_n8n_context_and_others_have_an_empty_context() {
    let activation = activation();
    let pass = |iteration, last, n| weft_engine::LoopPass {
        node: "SplitInBatches".into(),
        batch: items([json!({ "n": n })]),
        iteration,
        last,
    };
    activation.exprs.record_loop_pass(&pass(0, false, 5));
    assert_eq!(activation.value("$node[\"SplitInBatches\"].context[\"noItemsLeft\"]"), json!(false));
    assert_eq!(activation.value("$('SplitInBatches').first().json.n"), json!(5));
    // The next pass replaces it, in an engine that already read the first.
    activation.exprs.record_loop_pass(&pass(1, true, 6));
    assert_eq!(
        activation.value("[$node.SplitInBatches.context.noItemsLeft, $node.SplitInBatches.context.currentRunIndex]"),
        json!([true, 1])
    );
    assert_eq!(activation.value("$node['SplitInBatches'].json.n"), json!(6));
    assert_eq!(activation.value("$node['Fetch order'].context"), json!({}));
}

#[test]
fn pagination_globals_exist_for_their_evaluation_only() {
    use weft_engine::{Expressions, ItemContext};
    let activation = activation();
    let context =
        ItemContext { node: "Node", item: &activation.inputs[0][1], index: 1, input: 0, inputs: &activation.inputs };
    let globals = map(json!({"$response": {"body": {"next": "/p/2"}, "statusCode": 200}, "$pageCount": 1}));
    let next = activation.exprs.evaluate_with_globals(
        "$response.body.next + '?n=' + $pageCount + $json.n",
        &context,
        &globals,
    );
    assert_eq!(next.unwrap(), json!("/p/2?n=11"));
    let after = activation.exprs.evaluate("typeof $response + typeof $pageCount", &context).unwrap();
    assert_eq!(after, json!("undefinedundefined"), "the globals are gone afterwards");
    let failing = activation.exprs.evaluate_with_globals("$response.body.missing.deeper", &context, &globals);
    assert!(failing.is_err());
    assert_eq!(
        activation.exprs.evaluate("typeof $response", &context).unwrap(),
        json!("undefined"),
        "even after a failure"
    );
}

#[test]
fn binary_entries_also_answer_to_n8n_names() {
    let activation = activation();
    assert_eq!(
        activation.eval_at(1, "[$binary.data.mimeType, $binary.data.fileName, $binary.data.fileExtension, $binary.data.fileSize, $binary.data.fileType]").unwrap(),
        json!(["image/png", "a.png", "png", "42 B", "image"])
    );
    // Only Weft's own fields are the entry's: n8n's names do not travel with the item.
    assert_eq!(
        activation.eval_at(1, "Object.keys($binary.data)").unwrap(),
        json!(["key", "mime_type", "size", "file_name"])
    );
}
