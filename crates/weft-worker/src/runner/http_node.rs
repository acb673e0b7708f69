//! The `http_request` node: one request per item through the SSRF-guarded client; the response
//! becomes the item `{status, headers, body}`.

use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use serde_json::{Map, Value, json};
use weft_engine::exec::{Expressions, ItemContext, resolve_params};
use weft_engine::params::{HttpOutput, HttpRequestParams, Method, ResponseFormat};
use weft_engine::{Item, NodeDef};

use crate::outbound::{OutboundClient, OutboundRequest};

/// A query or form value as text; lists repeat the parameter.
fn scalars(value: &Value) -> Vec<String> {
    match value {
        Value::String(text) => vec![text.clone()],
        Value::Array(values) => values.iter().flat_map(scalars).collect(),
        Value::Null => Vec::new(),
        other => vec![other.to_string()],
    }
}

fn method(method: Method) -> reqwest::Method {
    match method {
        Method::Get => reqwest::Method::GET,
        Method::Post => reqwest::Method::POST,
        Method::Put => reqwest::Method::PUT,
        Method::Patch => reqwest::Method::PATCH,
        Method::Delete => reqwest::Method::DELETE,
        Method::Head => reqwest::Method::HEAD,
        Method::Options => reqwest::Method::OPTIONS,
    }
}

/// The request one item's resolved params describe.
fn request(params: HttpRequestParams, timeout: Option<Duration>) -> Result<OutboundRequest, String> {
    let method = method(params.method.literal().copied().ok_or("`method` must evaluate to a method")?);
    let mut url = reqwest::Url::parse(params.url.trim()).map_err(|e| format!("`url` is not a URL: {e}"))?;
    if !params.query.is_empty() {
        let mut pairs = url.query_pairs_mut();
        for (name, value) in &params.query {
            for text in scalars(value) {
                pairs.append_pair(name, &text);
            }
        }
    }
    let mut request = OutboundRequest::new(method, url.to_string());
    request.timeout = timeout;
    for (name, value) in &params.headers {
        let name = HeaderName::try_from(name.as_str()).map_err(|_| format!("`{name}` is not a header name"))?;
        let value =
            HeaderValue::try_from(value.as_str()).map_err(|_| format!("the `{name}` header's value is not valid"))?;
        request.headers.insert(name, value);
    }
    if let Some(body) = params.body {
        let (bytes, content_type) = if let Some(json) = body.json {
            (Bytes::from(json.to_string()), "application/json".to_owned())
        } else if let Some(form) = body.form {
            let mut encoded = form_urlencoded::Serializer::new(String::new());
            for (name, value) in &form {
                for text in scalars(value) {
                    encoded.append_pair(name, &text);
                }
            }
            (Bytes::from(encoded.finish()), "application/x-www-form-urlencoded".to_owned())
        } else {
            let raw = body.raw.unwrap_or_default();
            (Bytes::from(raw), body.content_type.unwrap_or_else(|| "text/plain".to_owned()))
        };
        if !request.headers.contains_key(CONTENT_TYPE) {
            let value =
                HeaderValue::try_from(content_type).map_err(|_| "`content_type` is not a valid header value")?;
            request.headers.insert(CONTENT_TYPE, value);
        }
        request.body = Some(bytes);
    }
    Ok(request)
}

fn headers_json(headers: &HeaderMap) -> Value {
    let mut out = Map::new();
    for (name, value) in headers {
        out.insert(name.as_str().to_owned(), Value::String(String::from_utf8_lossy(value.as_bytes()).into_owned()));
    }
    Value::Object(out)
}

/// One item's request, and how to read its answer.
pub(super) struct Prepared {
    request: OutboundRequest,
    format: ResponseFormat,
    output: HttpOutput,
    fail_on_error: bool,
}

/// The header that carries the attempt's idempotency key, unless the node sets it itself.
const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");

/// Evaluates every item's params into its request. Synchronous, so that expression evaluation
/// is never held across the network. Each request carries `Idempotency-Key: <attempt_key>`
/// (`:<n>` appended for the n-th item after the first), so an attempt that runs again after a
/// crash sends the same key and a retry a new one.
pub(super) fn prepare(
    node: &NodeDef,
    inputs: &[Vec<Item>],
    exprs: &dyn Expressions,
    attempt_key: &str,
) -> Result<Vec<Prepared>, String> {
    let timeout = node.timeout_ms.map(Duration::from_millis);
    let items = inputs.first().map(Vec::as_slice).unwrap_or_default();
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let context = ItemContext { node: &node.name, item, index, input: 0, inputs };
            let params: HttpRequestParams = resolve_params(node, &context, exprs).map_err(|e| e.to_string())?;
            let (format, output) = (params.response, params.output);
            let fail_on_error = params.fail_on_non_2xx.literal().copied().unwrap_or(true);
            let mut request = request(params, timeout)?;
            let key = if index == 0 { attempt_key.to_owned() } else { format!("{attempt_key}:{index}") };
            if let (false, Ok(value)) =
                (request.headers.contains_key(&IDEMPOTENCY_KEY), HeaderValue::from_bytes(key.as_bytes()))
            {
                request.headers.insert(IDEMPOTENCY_KEY, value);
            }
            Ok(Prepared { request, format, output, fail_on_error })
        })
        .collect()
}

/// Sends the prepared requests in order; the first failure fails the node with a message fit
/// for the workflow's author.
pub(super) async fn send_all(client: &OutboundClient, prepared: Vec<Prepared>) -> Result<Vec<Vec<Item>>, String> {
    let mut items = Vec::new();
    for Prepared { request, format, output, fail_on_error } in prepared {
        let response = client.send(request).await.map_err(|e| e.to_string())?;
        if fail_on_error && !response.status.is_success() {
            return Err(format!("{} answered {}", response.final_url, response.status));
        }
        let says_json = || {
            let content_type = response.headers.get(CONTENT_TYPE).and_then(|value| value.to_str().ok());
            let essence = content_type.unwrap_or_default().split(';').next().unwrap_or_default().trim();
            essence.eq_ignore_ascii_case("application/json") || essence.to_ascii_lowercase().ends_with("+json")
        };
        let format = match format {
            ResponseFormat::Auto if says_json() => ResponseFormat::Json,
            ResponseFormat::Auto => ResponseFormat::Text,
            chosen => chosen,
        };
        let body = match format {
            ResponseFormat::Text | ResponseFormat::Auto => {
                Value::String(String::from_utf8_lossy(&response.body).into_owned())
            }
            ResponseFormat::Json if response.body.is_empty() => Value::Null,
            ResponseFormat::Json => serde_json::from_slice(&response.body)
                .map_err(|e| format!("{} did not answer JSON ({e}); set `response` to `text`", response.final_url))?,
        };
        match output {
            HttpOutput::Full => items.push(object_item(
                json!({ "status": response.status.as_u16(), "headers": headers_json(&response.headers), "body": body }),
            )),
            HttpOutput::Body => items.extend(body_items(body)),
        }
    }
    Ok(vec![items])
}

/// An item holding `value`, which is an object, or `{data: value}` when it is not.
fn object_item(value: Value) -> Item {
    match value {
        Value::Object(json) => Item::new(json),
        other => Item::new(Map::from_iter([("data".to_owned(), other)])),
    }
}

/// The items of `output: body`, as n8n's node gives them: an array one item per element, an
/// empty body one empty item.
fn body_items(body: Value) -> Vec<Item> {
    match body {
        Value::Array(elements) => elements.into_iter().map(object_item).collect(),
        Value::Null => vec![Item::new(Map::new())],
        other => vec![object_item(other)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jsons(items: Vec<Item>) -> Vec<Value> {
        items.into_iter().map(|item| Value::Object(item.json)).collect()
    }

    #[test]
    fn a_body_output_gives_items_as_n8n_does() {
        assert_eq!(jsons(body_items(json!({"id": 1}))), [json!({"id": 1})]);
        assert_eq!(
            jsons(body_items(json!([{"id": 1}, {"id": 2}, 3]))),
            [json!({"id": 1}), json!({"id": 2}), json!({"data": 3})]
        );
        assert_eq!(jsons(body_items(json!("<html>"))), [json!({"data": "<html>"})]);
        assert_eq!(jsons(body_items(Value::Null)), [json!({})]);
        assert!(body_items(json!([])).is_empty(), "an empty array is no items");
    }
}
