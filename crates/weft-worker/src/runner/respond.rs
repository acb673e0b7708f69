//! The answer to the webhook request that started a run, stored with the run as
//! `{status, headers, body}` (a string body is text, anything else JSON, `null` none), or
//! `{status, headers, attachment: {key, mime_type}}` for an item's attachment, whose bytes the
//! webhook handler reads from the blob store: what a `respond_to_webhook` node sets, or what a
//! `last_node` trigger answers with when the run ends.

use serde_json::{Map, Value, json};
use weft_engine::exec::{Expressions, ItemContext, resolve_params};
use weft_engine::trigger_params::{RespondToWebhookParams, RespondWith, ResponseData};
use weft_engine::{Item, NodeDef};

/// The attachment answered with when the params name none: n8n's default binary property.
pub(super) const DEFAULT_FIELD: &str = "data";

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
        RespondWith::FirstItem => Body::Json(Value::Object(first.json.clone())),
        RespondWith::AllItems => Body::Json(Value::Array(item_bodies(items))),
        RespondWith::Body => Body::Json(params.body.unwrap_or(Value::Null)),
        RespondWith::NoData => Body::Json(Value::Null),
        RespondWith::Binary => {
            let field = params.field.as_deref().unwrap_or(DEFAULT_FIELD);
            let reference = attachment(first, field)
                .ok_or_else(|| format!("the first item has no attachment `{field}` to answer with"))?;
            Body::Attachment(reference)
        }
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
    Ok(answer(status, headers, body))
}

/// What a `last_node` trigger answers with: the items the last node to finish emitted. Without
/// the attachment `field` a `first_binary` answer is a 502 that says so.
pub(super) fn last_node_response(data: ResponseData, field: &str, items: &[Item]) -> Value {
    let body = match data {
        ResponseData::FirstEntry => {
            Body::Json(items.first().map_or_else(|| json!({}), |item| Value::Object(item.json.clone())))
        }
        ResponseData::AllEntries => Body::Json(Value::Array(item_bodies(items))),
        ResponseData::NoData => Body::Json(Value::Null),
        ResponseData::FirstBinary => match items.first().and_then(|item| attachment(item, field)) {
            Some(reference) => Body::Attachment(reference),
            None => {
                let missing = format!("the last node's first item has no attachment `{field}` to answer with");
                return answer(502, Map::new(), Body::Json(Value::String(missing)));
            }
        },
    };
    answer(200, Map::new(), body)
}

enum Body {
    Json(Value),
    /// An attachment's `{key, mime_type}`.
    Attachment(Value),
}

fn answer(status: u16, headers: Map<String, Value>, body: Body) -> Value {
    match body {
        Body::Json(body) => json!({ "status": status, "headers": headers, "body": body }),
        Body::Attachment(reference) => json!({ "status": status, "headers": headers, "attachment": reference }),
    }
}

fn attachment(item: &Item, field: &str) -> Option<Value> {
    let reference = item.binary.as_ref()?.get(field)?;
    Some(json!({"key": reference.key, "mime_type": reference.mime_type}))
}
