//! Query strings and list pages. Every list takes `?limit=` (default 50, at most 200) and
//! `?cursor=` and answers `{items, next_cursor}`; the cursor is opaque to clients.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use weft_store::{Page, PageRequest};

use crate::error::{ApiError, FieldError, Validation};

const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 200;

/// Query-string parameters decoded into `T`; a bad value is a 422 naming the parameter as `?name`.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(deserializer).map(ApiQuery).map_err(|error| {
            let parameter = error.path().to_string();
            let detail = error.into_inner().to_string();
            ApiError::Validation(vec![FieldError { pointer: format!("?{parameter}"), detail }])
        })
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1 to 200 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageQuery {
    /// Checks the limit and opens the cursor; `key` holds the cursor's decoded sort key.
    pub fn decode(&self) -> Result<(u32, Option<String>), ApiError> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::field("?limit", format!("must be between 1 and {MAX_LIMIT}")));
        }
        let after = self
            .cursor
            .as_deref()
            .map(|cursor| {
                URL_SAFE_NO_PAD
                    .decode(cursor)
                    .ok()
                    .and_then(|bytes| String::from_utf8(bytes).ok())
                    .ok_or_else(|| ApiError::field("?cursor", "is not a cursor this API issued"))
            })
            .transpose()?;
        Ok((limit, after))
    }
}

/// An optional RFC 3339 query parameter as epoch milliseconds; a bad one is recorded against
/// `parameter` (e.g. `?since`).
pub fn time_param(validation: &mut Validation, parameter: &str, raw: Option<&str>) -> Option<i64> {
    let parsed = raw?.parse::<jiff::Timestamp>().map(|t| t.as_millisecond()).map_err(|_| "must be an RFC 3339 time");
    validation.check(parameter, parsed)
}

/// Runs a store read with the page the query asks for.
pub fn request(limit: u32, after: &Option<String>) -> PageRequest<'_> {
    PageRequest { limit, after: after.as_deref() }
}

/// The page after `after` of a list read whole, in order, because it is bounded anyway (a run's
/// steps and attachments, by its workflow); `key` is an item's unique cursor key.
pub fn page_of<T>(
    all: Vec<T>,
    limit: u32,
    after: Option<&str>,
    key: impl Fn(&T) -> String,
) -> Result<Page<T>, ApiError> {
    let start = match after {
        Some(cursor) => all
            .iter()
            .position(|item| key(item) == cursor)
            .map(|at| at + 1)
            .ok_or_else(|| ApiError::field("?cursor", "is not a cursor this API issued"))?,
        None => 0,
    };
    let items = all.into_iter().skip(start).take(limit as usize + 1).collect();
    Ok(Page::from_overfetch(items, limit, key))
}

/// One page of a list.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PageOut<T> {
    pub items: Vec<T>,
    /// Pass as `?cursor=` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl<T> PageOut<T> {
    pub fn from_page<R>(page: Page<R>, map: impl FnMut(R) -> T) -> Self {
        PageOut {
            items: page.items.into_iter().map(map).collect(),
            next_cursor: page.next.map(|key| URL_SAFE_NO_PAD.encode(key)),
        }
    }
}
