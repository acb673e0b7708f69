//! n8n's pagination: after each page, the completion rule is checked and, unless it holds or
//! `max_requests` pages were fetched, the next request is made from the first one, with the
//! next URL or the updated params. The expressions involved see `$response`
//! (`{body, headers, statusCode}` of the page just fetched) and `$pageCount` (pages fetched so
//! far) besides the item. Every page's items are kept, the last one's too, whatever its status,
//! as n8n does; a page outside 2xx that would be followed by another fails the node (unless
//! `fail_on_non_2xx` is off).

use std::time::Duration;

use reqwest::Url;
use serde_json::{Map, Value, json};
use weft_engine::Item;
use weft_engine::exec::{ItemContext, WithGlobals, resolve_param};
use weft_engine::params::{
    HttpBody, HttpPagination, MAX_PAGES, PageCompletion, PageParamTarget, PaginationMode, ResponseFormat,
};

use super::{Reading, Request, Sender, format_of, headers_json, part_text, read_body, scalars, set_header};
use crate::outbound::OutboundResponse;

/// What the pagination's expressions are evaluated with after one page.
struct AfterPage<'a> {
    raw: &'a Value,
    context: ItemContext<'a>,
    globals: Map<String, Value>,
}

impl Sender<'_> {
    /// Every page of item `index`'s request, as items.
    pub(super) async fn pages(
        &self,
        index: usize,
        first: &Request,
        reading: &Reading,
        raw: &Value,
    ) -> Result<Vec<Item>, String> {
        let items = self.inputs.first().map(Vec::as_slice).unwrap_or_default();
        let item = &items[index];
        let settings: HttpPagination =
            serde_json::from_value(raw.clone()).map_err(|e| format!("`pagination` is not valid: {e}"))?;
        let mut request = first.clone();
        let mut out = Vec::new();
        let mut fetched: u64 = 0;
        loop {
            let response = self.send(&request, item).await?;
            fetched += 1;
            let body = read_body(reading.format, &response)?;
            let page_response = json!({
                "body": body,
                "headers": headers_json(&response.headers),
                "statusCode": response.status.as_u16(),
            });
            let after = AfterPage {
                raw,
                context: ItemContext { node: self.node, item, index, input: 0, inputs: self.inputs },
                globals: Map::from_iter([
                    ("$response".to_owned(), page_response),
                    ("$pageCount".to_owned(), json!(fetched)),
                ]),
            };
            let done =
                fetched >= self.max_pages(&after)? || self.complete(&after, &settings, reading, &response, &body)?;
            if !done && reading.fail_on_error && !response.status.is_success() {
                return Err(format!("{} answered {} on page {fetched}", response.final_url, response.status));
            }
            let next = if done {
                None
            } else {
                let mut next = self.next_request(&after, &settings, first, &response.final_url)?;
                next.idempotency_key = first.idempotency_key.as_ref().map(|key| format!("{key}:page{}", fetched + 1));
                Some(next)
            };
            drop(after);
            out.extend(self.items(reading, response, body, item).await?);
            let Some(next) = next else { return Ok(out) };
            if settings.interval_ms > 0 {
                tokio::time::sleep(Duration::from_millis(settings.interval_ms)).await;
            }
            request = next;
        }
    }

    /// The member `path` of the pagination param, evaluated after a page.
    fn evaluate(&self, after: &AfterPage<'_>, path: &[&str]) -> Result<Value, String> {
        // The keys are this module's own (`params`, `0`, `value`…), with nothing to escape.
        let raw = after.raw.pointer(&format!("/{}", path.join("/"))).unwrap_or(&Value::Null);
        let exprs = WithGlobals { exprs: self.exprs, globals: &after.globals };
        let at: Vec<&str> = std::iter::once("pagination").chain(path.iter().copied()).collect();
        resolve_param(self.node, raw, &at, &after.context, &exprs).map_err(|e| e.to_string())
    }

    /// How many pages to fetch at most: `max_requests` up to [`MAX_PAGES`]; none, `null`
    /// (JavaScript's `Infinity`) or 0 (n8n's "no limit") mean [`MAX_PAGES`].
    fn max_pages(&self, after: &AfterPage<'_>) -> Result<u64, String> {
        match self.evaluate(after, &["max_requests"])? {
            Value::Null => Ok(MAX_PAGES),
            Value::Number(number) => match number.as_f64() {
                Some(max) if max >= 1.0 => Ok((max.floor() as u64).min(MAX_PAGES)),
                _ => Ok(MAX_PAGES),
            },
            other => Err(format!("`pagination.max_requests` gave {other}, which is not a number")),
        }
    }

    /// Whether the page just fetched is the last one by the completion rule.
    fn complete(
        &self,
        after: &AfterPage<'_>,
        settings: &HttpPagination,
        reading: &Reading,
        response: &OutboundResponse,
        body: &Value,
    ) -> Result<bool, String> {
        Ok(match settings.complete_when {
            PageCompletion::ResponseIsEmpty if format_of(reading.format, response) == ResponseFormat::File => {
                response.body.is_empty()
            }
            PageCompletion::ResponseIsEmpty => is_empty(body),
            PageCompletion::StatusCodes => settings.status_codes.contains(&response.status.as_u16()),
            PageCompletion::Expression => truthy(&self.evaluate(after, &["complete_expression"])?),
        })
    }

    /// The request for the page after the one `current` answered: the first request with the
    /// next URL (relative to `current`), or with the params updated.
    fn next_request(
        &self,
        after: &AfterPage<'_>,
        settings: &HttpPagination,
        first: &Request,
        current: &Url,
    ) -> Result<Request, String> {
        let mut next = first.clone();
        match settings.mode {
            PaginationMode::NextUrl => {
                let url = match self.evaluate(after, &["next_url"])? {
                    Value::String(url) if !url.trim().is_empty() => url,
                    other => {
                        return Err(format!(
                            "`pagination.next_url` gave {other}, not a URL; make `complete_when` end the pages before"
                        ));
                    }
                };
                next.url = current.join(url.trim()).map_err(|e| format!("`pagination.next_url` is not a URL: {e}"))?;
            }
            PaginationMode::UpdateParams => {
                for (index, param) in settings.params.iter().enumerate() {
                    let value = self.evaluate(after, &["params", &index.to_string(), "value"])?;
                    match param.target {
                        PageParamTarget::Query => replace_query(&mut next.url, &param.name, &value),
                        PageParamTarget::Headers => {
                            set_header(&mut next.headers, &param.name, &part_text(Some(&value)))?
                        }
                        PageParamTarget::Body => set_body_member(&mut next, &param.name, value)?,
                    }
                }
            }
        }
        Ok(next)
    }
}

/// `url` with every query parameter `name` replaced by `value` (a list repeats it).
fn replace_query(url: &mut Url, name: &str, value: &Value) {
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(key, _)| key != name)
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect();
    let mut pairs = url.query_pairs_mut();
    pairs.clear().extend_pairs(kept);
    for text in scalars(value) {
        pairs.append_pair(name, &text);
    }
}

/// Sets member `name` of the request's `json` object or `form` body.
fn set_body_member(request: &mut Request, name: &str, value: Value) -> Result<(), String> {
    match request.body.as_mut() {
        Some(HttpBody { json: Some(Value::Object(json)), .. }) => json.insert(name.to_owned(), value),
        Some(HttpBody { form: Some(form), .. }) => form.insert(name.to_owned(), value),
        _ => {
            return Err(format!(
                "the pagination param `{name}` goes in the body, which is not a JSON object or a form"
            ));
        }
    };
    Ok(())
}

/// n8n's "response is empty": an empty array, or a body JavaScript finds false.
fn is_empty(body: &Value) -> bool {
    match body {
        Value::Array(elements) => elements.is_empty(),
        other => !truthy(other),
    }
}

/// JavaScript's truthiness of a JSON value.
fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(value) => *value,
        Value::Number(number) => number.as_f64().is_some_and(|n| n != 0.0),
        Value::String(text) => !text.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emptiness_is_javascripts_with_empty_arrays_empty() {
        for empty in [json!(null), json!([]), json!(""), json!(0), json!(false)] {
            assert!(is_empty(&empty), "{empty}");
        }
        for full in [json!({}), json!([0]), json!("x"), json!(1), json!(true)] {
            assert!(!is_empty(&full), "{full}");
        }
    }

    fn request(body: Option<Value>) -> Request {
        Request {
            method: reqwest::Method::POST,
            url: Url::parse("https://api.example/search").unwrap(),
            headers: reqwest::header::HeaderMap::new(),
            body: body.map(|body| serde_json::from_value(body).unwrap()),
            timeout: None,
            idempotency_key: None,
        }
    }

    #[test]
    fn a_body_param_sets_a_member_of_a_json_object_or_form_body() {
        let mut json = request(Some(json!({"json": {"query": "x", "page": 1}})));
        set_body_member(&mut json, "page", json!(2)).unwrap();
        assert_eq!(json.body.unwrap().json, Some(json!({"query": "x", "page": 2})));
        let mut form = request(Some(json!({"form": {"q": "x"}})));
        set_body_member(&mut form, "offset", json!(20)).unwrap();
        assert_eq!(form.body.unwrap().form.unwrap()["offset"], json!(20));
        for mut other in [request(None), request(Some(json!({"json": [1]}))), request(Some(json!({"raw": "x"})))] {
            let error = set_body_member(&mut other, "page", json!(2)).unwrap_err();
            assert!(error.contains("not a JSON object or a form"), "{error}");
        }
    }

    #[test]
    fn a_query_param_is_replaced_and_the_others_kept() {
        let mut url = Url::parse("https://api.example/items?page=1&tag=a&page=9").unwrap();
        replace_query(&mut url, "page", &json!(2));
        assert_eq!(url.as_str(), "https://api.example/items?tag=a&page=2");
        replace_query(&mut url, "cursor", &json!("x y"));
        assert_eq!(url.as_str(), "https://api.example/items?tag=a&page=2&cursor=x+y");
    }
}
