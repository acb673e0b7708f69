//! The `http_request` node: one request per item through the SSRF-guarded client, or a series
//! of pages (see [`pagination`]); each response becomes items: `{status, headers, body}`, the
//! body alone as n8n gives it, or, with `response: file`, an attachment.

mod multipart;
mod pagination;

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use reqwest::Url;
use reqwest::header::{CONTENT_DISPOSITION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use serde_json::{Map, Value, json};
use weft_engine::exec::{Expressions, ItemContext, resolve_param};
use weft_engine::params::{
    DEFAULT_BINARY_FIELD, HttpBody, HttpOutput, HttpRequestParams, Method, MultipartPart, ResponseFormat,
};
use weft_engine::{BinaryRef, Item, NodeDef};

use super::run_store::RunStore;
use crate::outbound::{OutboundClient, OutboundRequest, OutboundResponse};

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

/// One item's request with its body still as the params give it: pagination may change a
/// member of it, and attachments are read only when it is sent.
#[derive(Debug, Clone)]
struct Request {
    method: reqwest::Method,
    url: Url,
    headers: HeaderMap,
    body: Option<HttpBody>,
    timeout: Option<Duration>,
    /// The `Idempotency-Key` Weft sends; `None` when the node sets that header itself.
    idempotency_key: Option<String>,
}

impl Request {
    /// The request one item's resolved params describe.
    fn new(params: HttpRequestParams, timeout: Option<Duration>) -> Result<Request, String> {
        let method = method(params.method.literal().copied().ok_or("`method` must evaluate to a method")?);
        let mut url = Url::parse(params.url.trim()).map_err(|e| format!("`url` is not a URL: {e}"))?;
        if !params.query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (name, value) in &params.query {
                for text in scalars(value) {
                    pairs.append_pair(name, &text);
                }
            }
        }
        let mut headers = HeaderMap::new();
        for (name, value) in &params.headers {
            set_header(&mut headers, name, value)?;
        }
        Ok(Request { method, url, headers, body: params.body, timeout, idempotency_key: None })
    }

    /// The request to send for `item`, its body encoded and its attachments read.
    async fn outbound(&self, item: &Item, run_store: RunStore<'_>) -> Result<OutboundRequest, String> {
        let mut request = OutboundRequest::new(self.method.clone(), self.url.to_string());
        request.timeout = self.timeout;
        request.headers = self.headers.clone();
        if let Some(Ok(key)) = self.idempotency_key.as_deref().map(HeaderValue::from_str) {
            request.headers.insert(IDEMPOTENCY_KEY, key);
        }
        let Some(body) = &self.body else { return Ok(request) };
        let (bytes, content_type) = encode_body(body, item, run_store).await?;
        // A multipart body is readable only with its own boundary.
        if body.multipart.is_some() || !request.headers.contains_key(CONTENT_TYPE) {
            let value = HeaderValue::try_from(content_type)
                .map_err(|_| "the body's content type is not a valid header value")?;
            request.headers.insert(CONTENT_TYPE, value);
        }
        request.body = Some(bytes);
        Ok(request)
    }
}

fn set_header(headers: &mut HeaderMap, name: &str, value: &str) -> Result<(), String> {
    let name = HeaderName::try_from(name).map_err(|_| format!("`{name}` is not a header name"))?;
    let value = HeaderValue::try_from(value).map_err(|_| format!("the `{name}` header's value is not valid"))?;
    headers.insert(name, value);
    Ok(())
}

/// The attachment `name` of `item`.
fn attachment<'i>(item: &'i Item, name: &str) -> Result<&'i BinaryRef, String> {
    item.binary
        .as_ref()
        .and_then(|binary| binary.get(name))
        .ok_or_else(|| format!("the item has no attachment `{name}`"))
}

/// A body's bytes and `Content-Type`.
async fn encode_body(body: &HttpBody, item: &Item, run_store: RunStore<'_>) -> Result<(Bytes, String), String> {
    if let Some(json) = &body.json {
        return Ok((Bytes::from(json.to_string()), "application/json".to_owned()));
    }
    if let Some(form) = &body.form {
        let mut encoded = form_urlencoded::Serializer::new(String::new());
        for (name, value) in form {
            for text in scalars(value) {
                encoded.append_pair(name, &text);
            }
        }
        return Ok((Bytes::from(encoded.finish()), "application/x-www-form-urlencoded".to_owned()));
    }
    if let Some(name) = &body.binary {
        let reference = attachment(item, name)?;
        return Ok((Bytes::from(run_store.read(name, reference).await?), reference.mime_type.clone()));
    }
    if let Some(parts) = &body.multipart {
        let mut encoded = Vec::with_capacity(parts.len());
        for MultipartPart { name, value, binary } in parts {
            encoded.push(match (value, binary) {
                (_, Some(field)) => {
                    let reference = attachment(item, field)?;
                    multipart::Part::File {
                        name: name.clone(),
                        file_name: reference.file_name.clone(),
                        mime_type: reference.mime_type.clone(),
                        bytes: run_store.read(field, reference).await?,
                    }
                }
                (value, None) => multipart::Part::Text { name: name.clone(), value: part_text(value.as_ref()) },
            });
        }
        let (bytes, content_type) = multipart::encode(&encoded);
        return Ok((Bytes::from(bytes), content_type));
    }
    let raw = body.raw.clone().unwrap_or_default();
    Ok((Bytes::from(raw), body.content_type.clone().unwrap_or_else(|| "text/plain".to_owned())))
}

/// A multipart field's text: strings as they are, other values as JSON.
fn part_text(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(text)) => text.clone(),
        None | Some(Value::Null) => String::new(),
        Some(other) => other.to_string(),
    }
}

fn headers_json(headers: &HeaderMap) -> Value {
    let mut out = Map::new();
    for (name, value) in headers {
        out.insert(name.as_str().to_owned(), Value::String(String::from_utf8_lossy(value.as_bytes()).into_owned()));
    }
    Value::Object(out)
}

/// How one item's responses become items.
#[derive(Debug, Clone)]
struct Reading {
    format: ResponseFormat,
    output: HttpOutput,
    /// The attachment a file response goes to.
    output_field: String,
    fail_on_error: bool,
}

/// One item's request, how to read its answer, and its pagination.
pub(super) struct Prepared {
    /// The item's position in the input.
    index: usize,
    request: Request,
    reading: Reading,
    /// The `pagination` param as written: its expressions are evaluated after each page.
    pagination: Option<Value>,
}

/// The header that carries the attempt's idempotency key, unless the node sets it itself.
const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");

/// Evaluates every item's params into its request. Synchronous, so that expression evaluation
/// is never held across the network. Each request carries `Idempotency-Key: <attempt_key>`
/// (`:<n>` appended for the n-th item after the first), so an attempt that runs again after a
/// crash sends the same key and a retry a new one. Pages after an item's first append
/// `:page<n>`, since each is a request of its own.
pub(super) fn prepare(
    node: &NodeDef,
    inputs: &[Vec<Item>],
    exprs: &dyn Expressions,
    attempt_key: &str,
) -> Result<Vec<Prepared>, String> {
    let timeout = node.timeout_ms.map(Duration::from_millis);
    let mut params = node.params.clone();
    let pagination = params.remove("pagination");
    let params = Value::Object(params);
    let items = inputs.first().map(Vec::as_slice).unwrap_or_default();
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let context = ItemContext { node: &node.name, item, index, input: 0, inputs };
            let params: HttpRequestParams =
                resolve_param(&node.name, &params, &[], &context, exprs).map_err(|e| e.to_string())?;
            let reading = Reading {
                format: params.response,
                output: params.output,
                output_field: params.output_field.clone().unwrap_or_else(|| DEFAULT_BINARY_FIELD.to_owned()),
                fail_on_error: params.fail_on_non_2xx.literal().copied().unwrap_or(true),
            };
            let mut request = Request::new(params, timeout)?;
            if !request.headers.contains_key(&IDEMPOTENCY_KEY) {
                let key = if index == 0 { attempt_key.to_owned() } else { format!("{attempt_key}:{index}") };
                request.idempotency_key = Some(key);
            }
            Ok(Prepared { index, request, reading, pagination: pagination.clone() })
        })
        .collect()
}

/// What sending one activation's requests needs.
pub(super) struct Sender<'a> {
    pub client: &'a OutboundClient,
    pub run_store: RunStore<'a>,
    /// For the pagination's expressions.
    pub exprs: &'a (dyn Expressions + Sync),
    pub node: &'a str,
    pub inputs: &'a [Vec<Item>],
}

impl Sender<'_> {
    /// Sends the prepared requests in order; the first failure fails the node with a message
    /// fit for the workflow's author.
    pub(super) async fn send_all(&self, prepared: Vec<Prepared>) -> Result<Vec<Vec<Item>>, String> {
        let items = self.inputs.first().map(Vec::as_slice).unwrap_or_default();
        let mut out = Vec::new();
        for Prepared { index, request, reading, pagination } in prepared {
            let item = &items[index];
            match pagination {
                Some(pagination) => out.extend(self.pages(index, &request, &reading, &pagination).await?),
                None => {
                    let response = self.send(&request, item).await?;
                    if reading.fail_on_error && !response.status.is_success() {
                        return Err(format!("{} answered {}", response.final_url, response.status));
                    }
                    let body = read_body(reading.format, &response)?;
                    out.extend(self.items(&reading, response, body, item).await?);
                }
            }
        }
        Ok(vec![out])
    }

    async fn send(&self, request: &Request, item: &Item) -> Result<OutboundResponse, String> {
        let outbound = request.outbound(item, self.run_store).await?;
        self.client.send(outbound).await.map_err(|e| e.to_string())
    }

    /// The items one response gives.
    async fn items(
        &self,
        reading: &Reading,
        response: OutboundResponse,
        body: Value,
        item: &Item,
    ) -> Result<Vec<Item>, String> {
        if format_of(reading.format, &response) != ResponseFormat::File {
            return Ok(match reading.output {
                HttpOutput::Full => vec![object_item(
                    json!({ "status": response.status.as_u16(), "headers": headers_json(&response.headers), "body": body }),
                )],
                HttpOutput::Body => body_items(body),
            });
        }
        let reference = BinaryRef {
            mime_type: mime_type(&response.headers),
            size: response.body.len() as u64,
            file_name: file_name(&response.headers, &response.final_url),
            key: self.run_store.put(response.body.to_vec()).await?,
        };
        // As n8n does: the item keeps its attachments and, unless the whole response is asked
        // for, its JSON.
        let json = match reading.output {
            HttpOutput::Full => Map::from_iter([
                ("status".to_owned(), json!(response.status.as_u16())),
                ("headers".to_owned(), headers_json(&response.headers)),
            ]),
            HttpOutput::Body => item.json.clone(),
        };
        let mut binary = item.binary.clone().unwrap_or_default();
        binary.insert(reading.output_field.clone(), reference);
        Ok(vec![Item { json, binary: Some(binary) }])
    }
}

/// The format `auto` stands for, by the response's `Content-Type`, as n8n's autodetect: JSON
/// for JSON; text for text, XML, JavaScript, forms or no type at all; a file for the rest
/// (images, PDFs, archives, octet streams…). Other formats stand for themselves.
fn format_of(format: ResponseFormat, response: &OutboundResponse) -> ResponseFormat {
    if format != ResponseFormat::Auto {
        return format;
    }
    let declared = response.headers.get(CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or_default();
    let essence = declared.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    let textual = ["application/javascript", "application/x-www-form-urlencoded", "application/xml"];
    if essence == "application/json" || essence.ends_with("+json") {
        ResponseFormat::Json
    } else if essence.is_empty()
        || essence.starts_with("text/")
        || essence.ends_with("+xml")
        || textual.contains(&&*essence)
    {
        ResponseFormat::Text
    } else {
        ResponseFormat::File
    }
}

/// The body as `format` reads it; `null` for a file, whose bytes are stored instead. An error
/// page that is not JSON is read as text rather than failing the read.
fn read_body(format: ResponseFormat, response: &OutboundResponse) -> Result<Value, String> {
    let text = || Value::String(String::from_utf8_lossy(&response.body).into_owned());
    match format_of(format, response) {
        ResponseFormat::File => Ok(Value::Null),
        ResponseFormat::Text | ResponseFormat::Auto => Ok(text()),
        ResponseFormat::Json if response.body.is_empty() => Ok(Value::Null),
        ResponseFormat::Json => match serde_json::from_slice(&response.body) {
            Ok(body) => Ok(body),
            Err(_) if !response.status.is_success() => Ok(text()),
            Err(e) => Err(format!("{} did not answer JSON ({e}); set `response` to `text`", response.final_url)),
        },
    }
}

/// The MIME type of a file response: its `Content-Type` without parameters.
fn mime_type(headers: &HeaderMap) -> String {
    let declared = headers.get(CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or_default();
    let essence = declared.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    if essence.is_empty() { "application/octet-stream".to_owned() } else { essence }
}

/// A file response's name: `Content-Disposition`'s `filename*` (RFC 6266, UTF-8) or
/// `filename`, else the URL's last path segment, as n8n names downloads.
fn file_name(headers: &HeaderMap, url: &Url) -> Option<String> {
    let disposition = headers.get(CONTENT_DISPOSITION).and_then(|value| value.to_str().ok()).unwrap_or_default();
    let parameters: BTreeMap<String, &str> = disposition
        .split(';')
        .skip(1)
        .filter_map(|parameter| parameter.split_once('='))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim()))
        .collect();
    let extended = parameters.get("filename*").and_then(|value| {
        let (charset, rest) = value.split_once('\'')?;
        let (_language, encoded) = rest.split_once('\'')?;
        charset.eq_ignore_ascii_case("utf-8").then(|| percent_decoded(encoded))
    });
    let plain = || parameters.get("filename").map(|value| value.trim_matches('"').to_owned());
    let last_segment = || {
        let segment = url.path_segments()?.rev().find(|segment| !segment.is_empty())?;
        Some(percent_decoded(segment))
    };
    extended.or_else(plain).or_else(last_segment).filter(|name| !name.is_empty())
}

fn percent_decoded(text: &str) -> String {
    percent_encoding::percent_decode_str(text).decode_utf8_lossy().into_owned()
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

    fn headers(pairs: &[(HeaderName, &str)]) -> HeaderMap {
        pairs.iter().map(|(name, value)| (name.clone(), HeaderValue::from_str(value).unwrap())).collect()
    }

    #[test]
    fn a_file_is_named_by_its_disposition_or_else_its_url() {
        let url = Url::parse("https://cdn.example/files/annual%20report.pdf?x=1").unwrap();
        assert_eq!(file_name(&HeaderMap::new(), &url).as_deref(), Some("annual report.pdf"));
        let plain = headers(&[(CONTENT_DISPOSITION, "attachment; filename=\"q1.csv\"")]);
        assert_eq!(file_name(&plain, &url).as_deref(), Some("q1.csv"));
        let extended = headers(&[(
            CONTENT_DISPOSITION,
            "attachment; filename=\"fallback.txt\"; filename*=UTF-8''r%C3%A9sum%C3%A9.txt",
        )]);
        assert_eq!(file_name(&extended, &url).as_deref(), Some("résumé.txt"), "filename* wins");
        let root = Url::parse("https://cdn.example/").unwrap();
        assert_eq!(file_name(&HeaderMap::new(), &root), None);
        let trailing = Url::parse("https://cdn.example/img/logo.png/").unwrap();
        assert_eq!(file_name(&HeaderMap::new(), &trailing).as_deref(), Some("logo.png"));
    }

    #[test]
    fn a_file_mime_type_is_the_content_type_without_parameters() {
        assert_eq!(mime_type(&headers(&[(CONTENT_TYPE, "Text/CSV; charset=utf-8")])), "text/csv");
        assert_eq!(mime_type(&HeaderMap::new()), "application/octet-stream");
    }
}
