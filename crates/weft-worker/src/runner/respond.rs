//! The answer to the webhook request that started a run, stored with the run as
//! `{status, headers, body}` (a string body is text, anything else JSON, `null` none): what a
//! `respond_to_webhook` node sets, or what a `last_node` trigger answers with when the run ends.

use serde_json::{Map, Value, json};
use weft_engine::exec::{Expressions, ItemContext, resolve_params};
use weft_engine::trigger_params::{RespondToWebhookParams, RespondWith, ResponseData};
use weft_engine::{Item, NodeDef};

fn item_bodies(items: &[Item]) -> Vec<Value> {
    items.iter().map(|item| Value::Object(item.json.clone())).collect()
}

/// The answer a `respond_to_webhook` node sets, its params evaluated against its first item.
pub(super) fn node_response(
    node: &NodeDef,
    inputs: &[Vec<Item>],
    exprs: &dyn Expressions,
) -> std::result::Result<Value, String> {
    let items = inputs.first().map(Vec::as_slice).unwrap_or_default();
    let empty = Item::default();
    let first = items.first().unwrap_or(&empty);
    let context = ItemContext { node: &node.name, item: first, index: 0, input: 0, inputs };
    let params: RespondToWebhookParams = resolve_params(node, &context, exprs).map_err(|e| e.to_string())?;
    let status = params.status.literal().copied().unwrap_or(200);
    if !(100..=599).contains(&status) {
        return Err(format!("the status {status} is not an HTTP status (100 to 599)"));
    }
    let body = match params.respond_with {
        RespondWith::FirstItem => Value::Object(first.json.clone()),
        RespondWith::AllItems => Value::Array(item_bodies(items)),
        RespondWith::Body => params.body.unwrap_or(Value::Null),
        RespondWith::NoData => Value::Null,
    };
    let mut headers = Map::new();
    for (name, value) in params.headers {
        let text = match value {
            Value::String(text) => text,
            scalar @ (Value::Number(_) | Value::Bool(_)) => scalar.to_string(),
            other => return Err(format!("the header `{name}` must be text, not {other}")),
        };
        headers.insert(name, Value::String(text));
    }
    Ok(json!({ "status": status, "headers": headers, "body": body }))
}

/// What a `last_node` trigger answers with: the items the last node to finish emitted.
pub(super) fn last_node_response(data: ResponseData, items: &[Item]) -> Value {
    let body = match data {
        ResponseData::FirstEntry => items.first().map_or_else(|| json!({}), |item| Value::Object(item.json.clone())),
        ResponseData::AllEntries => Value::Array(item_bodies(items)),
        ResponseData::NoData => Value::Null,
    };
    json!({ "status": 200, "headers": {}, "body": body })
}
