//! Signing up, in and out.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use weft_domain::{AuditAction, OpaqueToken};

use crate::api::auth::{authenticate, open_session, register_account};
use crate::extract::ClientInfo;
use crate::state::AppState;
use crate::tokens::SESSION_TTL;
use crate::ui::forms::FormErrors;
use crate::ui::session::{CsrfForm, Flash, SESSION_COOKIE, SignedIn, Visitor, session_cookie_value, set_cookie};
use crate::ui::{UiError, local_path, render, render_with};

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    csrf: String,
    flash: Option<Flash>,
    email: String,
    next: String,
    errors: FormErrors,
}

pub async fn login_page(visitor: Visitor, Query(query): Query<NextQuery>) -> Result<Response, UiError> {
    let next = local_path(query.next.as_deref()).to_owned();
    if visitor.user.is_some() {
        return Ok(Redirect::to(&next).into_response());
    }
    let page = LoginPage {
        csrf: visitor.csrf,
        flash: visitor.flash,
        email: String::new(),
        next,
        errors: FormErrors::default(),
    };
    render(&page)
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    next: Option<String>,
}

/// Sets the session cookie and goes on to `next`.
fn signed_in_at(state: &AppState, session: &weft_domain::SessionId, next: &str) -> Response {
    let cookie = set_cookie(state, SESSION_COOKIE, &session_cookie_value(state, session), Some(SESSION_TTL.as_secs()));
    ([(header::SET_COOKIE, cookie)], Redirect::to(next)).into_response()
}

pub async fn login(
    State(state): State<AppState>,
    client: ClientInfo,
    visitor: Visitor,
    CsrfForm(form): CsrfForm<LoginForm>,
) -> Result<Response, UiError> {
    let next = local_path(form.next.as_deref()).to_owned();
    match authenticate(&state, &client, &form.email, form.password).await {
        Ok(user) => {
            let session = open_session(&state, &client, &user, &OpaqueToken::generate()).await?;
            Ok(signed_in_at(&state, &session, &next))
        }
        Err(error) => {
            let status = error.status();
            let page = LoginPage {
                csrf: visitor.csrf,
                flash: None,
                email: form.email,
                next,
                errors: FormErrors::from_api(error)?,
            };
            render_with(status, &page)
        }
    }
}

#[derive(Template)]
#[template(path = "signup.html")]
struct SignupPage {
    csrf: String,
    flash: Option<Flash>,
    name: String,
    email: String,
    errors: FormErrors,
}

pub async fn signup_page(visitor: Visitor) -> Result<Response, UiError> {
    if visitor.user.is_some() {
        return Ok(Redirect::to("/").into_response());
    }
    let page = SignupPage {
        csrf: visitor.csrf,
        flash: visitor.flash,
        name: String::new(),
        email: String::new(),
        errors: FormErrors::default(),
    };
    render(&page)
}

#[derive(Deserialize)]
pub struct SignupForm {
    name: String,
    email: String,
    password: String,
}

/// Creates the account and signs it in at once; the verification mail is on its way.
pub async fn signup(
    State(state): State<AppState>,
    client: ClientInfo,
    visitor: Visitor,
    CsrfForm(form): CsrfForm<SignupForm>,
) -> Result<Response, UiError> {
    match register_account(&state, &client, &form.email, form.password, &form.name).await {
        Ok(user) => {
            let session = open_session(&state, &client, &user, &OpaqueToken::generate()).await?;
            Ok(signed_in_at(&state, &session, "/"))
        }
        Err(error) => {
            let status = error.status();
            let errors = FormErrors::from_api(error)?;
            let page = SignupPage { csrf: visitor.csrf, flash: None, name: form.name, email: form.email, errors };
            render_with(status, &page)
        }
    }
}

#[derive(Deserialize)]
pub struct NoFields {}

pub async fn logout(
    State(state): State<AppState>,
    signed_in: SignedIn,
    client: ClientInfo,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response, UiError> {
    state.store.revoke_session(&signed_in.user.id, &signed_in.session, &client.origin(), AuditAction::Logout).await?;
    let cleared = set_cookie(&state, SESSION_COOKIE, "", Some(0));
    let flash = Flash::success("You are signed out.").to_cookie(&state);
    Ok(([(header::SET_COOKIE, cleared), (header::SET_COOKIE, flash)], Redirect::to("/login")).into_response())
}
