//! `ApiJson<T>`: the JSON body extractor (and `JsonOrYaml<T>`, which also reads YAML). Unlike axum's own, every failure is a problem+json
//! answer: wrong content type (415), oversize body (413), syntax (400), and data errors (422)
//! with the JSON pointer of the offending field.

use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde_json::error::Category;

use crate::error::{ApiError, FieldError};
use crate::state::AppState;

pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        if media_type(&req).as_deref().is_none_or(|essence| !is_json_media_type(essence)) {
            return Err(ApiError::UnsupportedMediaType { expected: "application/json" });
        }
        parse_body(&read_body(req, state).await?).map(ApiJson)
    }
}

/// Like [`ApiJson`], but a body sent as `application/yaml` (or `application/x-yaml`,
/// `text/yaml`) is read as YAML first: for definitions people write by hand. Its data errors
/// carry JSON pointers all the same.
pub struct JsonOrYaml<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonOrYaml<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        match media_type(&req).as_deref() {
            Some("application/yaml" | "application/x-yaml" | "text/yaml") => {
                let value: serde_json::Value = serde_norway::from_slice(&read_body(req, state).await?)
                    .map_err(|error| ApiError::MalformedYaml(error.to_string()))?;
                let text = serde_json::to_vec(&value).map_err(|error| ApiError::MalformedYaml(error.to_string()))?;
                parse_body(&text).map(JsonOrYaml)
            }
            Some(essence) if is_json_media_type(essence) => parse_body(&read_body(req, state).await?).map(JsonOrYaml),
            _ => Err(ApiError::UnsupportedMediaType { expected: "application/json or application/yaml" }),
        }
    }
}

/// The request's media type without parameters, in lower case.
fn media_type(req: &Request) -> Option<String> {
    req.headers().get(header::CONTENT_TYPE)?.to_str().ok().map(essence)
}

/// A `Content-Type` value's media type without parameters, in lower case.
fn essence(value: &str) -> String {
    value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase()
}

/// The whole body, within the configured limit.
pub(crate) async fn read_body(req: Request, state: &AppState) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge { limit: state.settings.body_limit_bytes }
        } else {
            ApiError::MalformedJson(rejection.body_text())
        }
    })
}

fn is_json_media_type(essence: &str) -> bool {
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

pub(crate) fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let mut pointer = String::new();
        for segment in error.path().iter() {
            match segment {
                serde_path_to_error::Segment::Seq { index } => pointer.push_str(&format!("/{index}")),
                serde_path_to_error::Segment::Map { key } => push_token(&mut pointer, key),
                serde_path_to_error::Segment::Enum { variant } => push_token(&mut pointer, variant),
                serde_path_to_error::Segment::Unknown => {}
            }
        }
        classify(error.into_inner(), pointer)
    })?;
    deserializer.end().map_err(|e| ApiError::MalformedJson(e.to_string()))?;
    Ok(value)
}

fn classify(error: serde_json::Error, mut pointer: String) -> ApiError {
    match error.classify() {
        Category::Syntax | Category::Eof | Category::Io => ApiError::MalformedJson(error.to_string()),
        Category::Data => {
            let full = error.to_string();
            // serde_json appends the position; the pointer says where more usefully.
            let message = full.rsplit_once(" at line ").map_or(full.as_str(), |(m, _)| m);
            // A missing field is reported at its parent; point at the field itself.
            if let Some(name) = message.strip_prefix("missing field `").and_then(|rest| rest.split('`').next()) {
                push_token(&mut pointer, name);
            }
            ApiError::Validation(vec![FieldError { pointer, detail: message.to_owned() }])
        }
    }
}

/// Appends one reference token, escaped per RFC 6901.
fn push_token(pointer: &mut String, token: &str) {
    pointer.push('/');
    pointer.push_str(&token.replace('~', "~0").replace('/', "~1"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Input {
        name: String,
        tags: Vec<Tag>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Tag {
        weight: u8,
    }

    fn errors(body: &str) -> Vec<FieldError> {
        match parse_body::<Input>(body.as_bytes()) {
            Err(ApiError::Validation(errors)) => errors,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn wrong_type_points_at_the_nested_field() {
        let errors = errors(r#"{"name":"a","tags":[{"weight":1},{"weight":"heavy"}]}"#);
        assert_eq!(errors[0].pointer, "/tags/1/weight");
        assert!(errors[0].detail.starts_with("invalid type"), "{}", errors[0].detail);
    }

    #[test]
    fn missing_and_unknown_fields_point_at_the_field() {
        assert_eq!(errors(r#"{"tags":[]}"#)[0].pointer, "/name");
        assert_eq!(errors(r#"{"name":"a","tags":[],"x/y":1}"#)[0].pointer, "/x~1y");
    }

    #[test]
    fn syntax_errors_and_trailing_garbage_are_malformed() {
        for body in ["", "{", r#"{"name":"a","tags":[]} extra"#, "nul"] {
            assert!(matches!(parse_body::<Input>(body.as_bytes()), Err(ApiError::MalformedJson(_))), "{body:?}");
        }
    }

    #[test]
    fn json_media_types_are_recognised() {
        let is_json = |value: &str| is_json_media_type(&essence(value));
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        assert!(is_json("application/merge-patch+json"));
        assert!(!is_json("text/plain"));
        assert!(!is_json("application/x-www-form-urlencoded"));
    }
}
