//! How a page fails: a redirect to the login page, or a friendly error page with the status the
//! API would have answered.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};

use crate::error::ApiError;

#[derive(Debug)]
pub enum UiError {
    /// Not signed in: to the login page, then back to `next`.
    SignIn {
        next: String,
    },
    /// A form without a valid CSRF token (tampered, or older than the browser's cookies).
    Csrf,
    /// A request no page could make: a malformed form or query.
    BadRequest(String),
    Api(ApiError),
}

impl UiError {
    pub fn internal(reason: &'static str) -> Self {
        UiError::Api(ApiError::Internal(reason.into()))
    }

    pub fn from_store(error: weft_store::StoreError) -> Self {
        UiError::Api(error.into())
    }
}

impl From<ApiError> for UiError {
    fn from(error: ApiError) -> Self {
        UiError::Api(error)
    }
}

impl From<weft_store::StoreError> for UiError {
    fn from(error: weft_store::StoreError) -> Self {
        UiError::from_store(error)
    }
}

impl From<askama::Error> for UiError {
    fn from(error: askama::Error) -> Self {
        UiError::Api(ApiError::internal(error))
    }
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub status: u16,
    pub title: &'static str,
    pub detail: String,
    pub request_id: Option<String>,
}

impl ErrorPage {
    pub fn for_status(status: StatusCode, detail: String) -> Self {
        let title = match status.as_u16() {
            400 => "That request did not make sense",
            403 => "You can't do that here",
            404 => "Nothing here",
            409 => "That clashes with something",
            422 => "Some fields need another look",
            429 => "Slow down a little",
            500..=599 => "Something went wrong on our side",
            _ => "That did not work",
        };
        ErrorPage { status: status.as_u16(), title, detail, request_id: crate::observe::current_request_id() }
    }

    pub fn into_response_with(self, status: StatusCode) -> Response {
        match self.render() {
            Ok(body) => (status, Html(body)).into_response(),
            Err(_) => (status, self.detail).into_response(),
        }
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let (status, detail) = match self {
            UiError::SignIn { next } => {
                let next: String = form_urlencoded::byte_serialize(next.as_bytes()).collect();
                return Redirect::to(&format!("/login?next={next}")).into_response();
            }
            UiError::Csrf => (
                StatusCode::FORBIDDEN,
                "This form has expired or did not come from Weft. Go back, reload the page and try again.".to_owned(),
            ),
            UiError::BadRequest(detail) => (StatusCode::BAD_REQUEST, detail),
            UiError::Api(error) => {
                let status = error.status();
                if status.is_server_error() {
                    // Logged with its cause by the problem renderer; the page says nothing more.
                    let _ = error.into_response();
                    (status, "The error has been logged. Try again in a moment.".to_owned())
                } else {
                    (status, error.to_string())
                }
            }
        };
        ErrorPage::for_status(status, detail).into_response_with(status)
    }
}
