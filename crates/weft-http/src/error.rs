//! The one error type of the HTTP service. Its variants are the public contract; each renders as
//! an RFC 9457 `application/problem+json` body with a stable `type` URI and the request id.
//! Internal errors are logged with their cause chain and answered with an opaque 500.

use std::time::Duration;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::observe::current_request_id;

pub const PROBLEM_JSON: &str = "application/problem+json";
const TYPE_BASE: &str = "https://weft.dev/problems/";
const QUOTA_EXCEEDED_TYPE: &str = "https://iana.org/assignments/http-problem-types#quota-exceeded";

/// One invalid field, located by a JSON pointer (RFC 6901) into the request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct FieldError {
    pub pointer: String,
    pub detail: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("the request body is not valid JSON: {0}")]
    MalformedJson(String),
    #[error("the request body is not valid YAML: {0}")]
    MalformedYaml(String),
    /// A URL Weft would call later (a webhook endpoint) that the SSRF guard refuses; says why.
    #[error("{0}")]
    BlockedUrl(String),
    #[error("the request has invalid fields")]
    Validation(Vec<FieldError>),
    #[error("the request body must be {expected}")]
    UnsupportedMediaType { expected: &'static str },
    #[error("the request body exceeds the limit of {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("{0}")]
    Unauthorized(&'static str),
    /// A webhook request without the credential its trigger asks for; `challenge` is the
    /// `WWW-Authenticate` value, for Basic authentication.
    #[error("{reason}")]
    HookUnauthorized { reason: &'static str, challenge: Option<&'static str> },
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{}", missing_permission(*.permission, *.key))]
    MissingPermission { permission: weft_domain::Permission, key: bool },
    #[error("no resource at this address")]
    NotFound,
    #[error("no such endpoint; the API is described at /api/v1/openapi.json")]
    NoRoute,
    #[error("this resource does not support the method")]
    MethodNotAllowed,
    #[error("{0}")]
    Conflict(&'static str),
    #[error("too many attempts; retry after {} seconds", retry_after_secs(*.retry_after))]
    RateLimited { retry_after: Duration },
    #[error("the `{policy}` request quota is used up; retry after {} seconds", retry_after_secs(*.retry_after))]
    QuotaExceeded { policy: &'static str, retry_after: Duration },
    #[error("the request took too long and was abandoned")]
    Timeout,
    #[error("{0}")]
    Unavailable(&'static str),
    /// The run a webhook request waited for ended without answering it.
    #[error("the run {run} ended as {status} without answering; see its steps for the cause")]
    WorkflowFailed { run: String, status: &'static str },
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

fn missing_permission(permission: weft_domain::Permission, key: bool) -> String {
    if key {
        format!("this API key lacks the `{permission}` scope")
    } else {
        format!("this needs the `{permission}` permission, which the {} role and above hold", permission.min_role())
    }
}

fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

impl ApiError {
    pub fn internal(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        ApiError::Internal(Box::new(error))
    }

    /// A single invalid field.
    pub fn field(pointer: &str, detail: impl Into<String>) -> Self {
        ApiError::Validation(vec![FieldError { pointer: pointer.to_owned(), detail: detail.into() }])
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::MalformedJson(_) | ApiError::MalformedYaml(_) | ApiError::BlockedUrl(_) => {
                StatusCode::BAD_REQUEST
            }
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unauthorized(_) | ApiError::HookUnauthorized { .. } => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) | ApiError::MissingPermission { .. } => StatusCode::FORBIDDEN,
            ApiError::NotFound | ApiError::NoRoute => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::RateLimited { .. } | ApiError::QuotaExceeded { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Timeout | ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::WorkflowFailed { .. } => StatusCode::BAD_GATEWAY,
        }
    }

    /// The stable last segment of the `type` URI; documented in docs/problems.md.
    pub fn slug(&self) -> &'static str {
        match self {
            ApiError::MalformedJson(_) => "malformed-json",
            ApiError::MalformedYaml(_) => "malformed-yaml",
            ApiError::BlockedUrl(_) => "blocked-url",
            ApiError::Validation(_) => "validation",
            ApiError::UnsupportedMediaType { .. } => "unsupported-media-type",
            ApiError::PayloadTooLarge { .. } => "payload-too-large",
            ApiError::Unauthorized(_) | ApiError::HookUnauthorized { .. } => "unauthorized",
            ApiError::Forbidden(_) | ApiError::MissingPermission { .. } => "forbidden",
            ApiError::NotFound | ApiError::NoRoute => "not-found",
            ApiError::MethodNotAllowed => "method-not-allowed",
            ApiError::Conflict(_) => "conflict",
            ApiError::RateLimited { .. } => "rate-limited",
            ApiError::QuotaExceeded { .. } => "quota-exceeded",
            ApiError::Timeout => "timeout",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal",
            ApiError::WorkflowFailed { .. } => "workflow-failed",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            ApiError::MalformedJson(_) => "Malformed JSON",
            ApiError::MalformedYaml(_) => "Malformed YAML",
            ApiError::BlockedUrl(_) => "URL not allowed",
            ApiError::Validation(_) => "Invalid request",
            ApiError::UnsupportedMediaType { .. } => "Unsupported media type",
            ApiError::PayloadTooLarge { .. } => "Payload too large",
            ApiError::Unauthorized(_) | ApiError::HookUnauthorized { .. } => "Unauthorized",
            ApiError::Forbidden(_) | ApiError::MissingPermission { .. } => "Forbidden",
            ApiError::NotFound | ApiError::NoRoute => "Not found",
            ApiError::MethodNotAllowed => "Method not allowed",
            ApiError::Conflict(_) => "Conflict",
            ApiError::RateLimited { .. } => "Too many requests",
            ApiError::QuotaExceeded { .. } => "Quota exceeded",
            ApiError::Timeout => "Request timed out",
            ApiError::Unavailable(_) => "Service unavailable",
            ApiError::Internal(_) => "Internal server error",
            ApiError::WorkflowFailed { .. } => "Workflow failed",
        }
    }
}

/// The RFC 9457 body.
#[derive(Debug, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// For `quota-exceeded`: the policies (as named in `RateLimit-Policy`) that refused the request.
    #[serde(default, rename = "violated-policies", skip_serializing_if = "Vec::is_empty")]
    pub violated_policies: Vec<String>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let ApiError::Internal(cause) = &self {
            let mut chain = cause.to_string();
            let mut source = cause.source();
            while let Some(next) = source {
                chain.push_str(": ");
                chain.push_str(&next.to_string());
                source = next.source();
            }
            tracing::error!(error = %chain, "internal error");
        }
        let type_uri = match &self {
            // The IANA-registered type, so generic clients recognise it (SPECS §6).
            ApiError::QuotaExceeded { .. } => QUOTA_EXCEEDED_TYPE.to_owned(),
            _ => format!("{TYPE_BASE}{}", self.slug()),
        };
        let problem = Problem {
            type_uri,
            title: self.title().to_owned(),
            status: status.as_u16(),
            detail: self.to_string(),
            request_id: current_request_id(),
            errors: match &self {
                ApiError::Validation(errors) => errors.clone(),
                _ => Vec::new(),
            },
            violated_policies: match &self {
                ApiError::QuotaExceeded { policy, .. } => vec![(*policy).to_owned()],
                _ => Vec::new(),
            },
        };
        let mut response = (status, Json(problem)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        match &self {
            ApiError::Unauthorized(_) => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"weft\""));
            }
            ApiError::HookUnauthorized { challenge: Some(challenge), .. } => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
            }
            ApiError::RateLimited { retry_after } | ApiError::QuotaExceeded { retry_after, .. } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs(*retry_after)));
            }
            _ => {}
        }
        response
    }
}

impl From<weft_store::StoreError> for ApiError {
    fn from(error: weft_store::StoreError) -> Self {
        match error {
            weft_store::StoreError::NotFound => ApiError::NotFound,
            weft_store::StoreError::Forbidden(reason) => ApiError::Forbidden(reason),
            weft_store::StoreError::Invariant(reason) => ApiError::Conflict(reason),
            weft_store::StoreError::BadCursor => ApiError::field("?cursor", "is not a cursor this API issued"),
            other => ApiError::internal(other),
        }
    }
}

/// Collects field problems so a request hears about all of them at once.
#[derive(Debug, Default)]
pub struct Validation(Vec<FieldError>);

impl Validation {
    /// Records the error of `result`, if any, at `pointer`; yields the value otherwise.
    pub fn check<T, E: std::fmt::Display>(&mut self, pointer: &str, result: Result<T, E>) -> Option<T> {
        result.map_err(|e| self.0.push(FieldError { pointer: pointer.to_owned(), detail: e.to_string() })).ok()
    }

    pub fn finish(self) -> Result<(), ApiError> {
        if self.0.is_empty() { Ok(()) } else { Err(ApiError::Validation(self.0)) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_secs(Duration::from_millis(29_001)), 30);
        assert_eq!(retry_after_secs(Duration::from_secs(30)), 30);
    }

    #[test]
    fn validation_collects_every_problem() {
        let mut v = Validation::default();
        assert_eq!(v.check("/a", Ok::<_, String>(1)), Some(1));
        assert_eq!(v.check("/b", Err::<i32, _>("bad b")), None);
        assert_eq!(v.check("/c", Err::<i32, _>("bad c")), None);
        let Err(ApiError::Validation(errors)) = v.finish() else { panic!("expected validation error") };
        assert_eq!(errors.iter().map(|e| e.pointer.as_str()).collect::<Vec<_>>(), ["/b", "/c"]);
    }
}
