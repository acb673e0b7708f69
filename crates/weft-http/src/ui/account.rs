//! Signing up, in and out; the links account mails carry: verifying an address, resetting a
//! password, accepting an invitation.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use weft_domain::token::hash_presented;
use weft_domain::{AuditAction, OpaqueToken};
use weft_store::{InvitationOffer, User};

use crate::api::auth::{
    authenticate, confirm_email, open_session, register_account, resend_verification as resend, set_new_password,
    start_password_reset,
};
use crate::api::members::accept;
use crate::error::ApiError;
use crate::extract::ClientInfo;
use crate::state::AppState;
use crate::tokens::SESSION_TTL;
use crate::ui::error::ErrorPage;
use crate::ui::forms::FormErrors;
use crate::ui::session::{
    CsrfForm, Flash, NoFields, SESSION_COOKIE, SignedIn, Visitor, redirect_with, session_cookie_value, set_cookie,
};
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
    next: String,
    name: String,
    email: String,
    errors: FormErrors,
}

pub async fn signup_page(visitor: Visitor, Query(query): Query<NextQuery>) -> Result<Response, UiError> {
    let next = local_path(query.next.as_deref()).to_owned();
    if visitor.user.is_some() {
        return Ok(Redirect::to(&next).into_response());
    }
    let page = SignupPage {
        csrf: visitor.csrf,
        flash: visitor.flash,
        next,
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
    next: Option<String>,
}

/// Creates the account and signs it in at once; the verification mail is on its way.
pub async fn signup(
    State(state): State<AppState>,
    client: ClientInfo,
    visitor: Visitor,
    CsrfForm(form): CsrfForm<SignupForm>,
) -> Result<Response, UiError> {
    let next = local_path(form.next.as_deref()).to_owned();
    match register_account(&state, &client, &form.email, form.password, &form.name).await {
        Ok(user) => {
            let session = open_session(&state, &client, &user, &OpaqueToken::generate()).await?;
            Ok(signed_in_at(&state, &session, &next))
        }
        Err(error) => {
            let status = error.status();
            let errors = FormErrors::from_api(error)?;
            let page = SignupPage { csrf: visitor.csrf, flash: None, next, name: form.name, email: form.email, errors };
            render_with(status, &page)
        }
    }
}

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

#[derive(Template)]
#[template(path = "account_invitation.html")]
struct InvitationPage {
    csrf: String,
    flash: Option<Flash>,
    token: String,
    offer: InvitationOffer,
    user: Option<User>,
    errors: FormErrors,
}

impl InvitationPage {
    /// This page's address, as a `next` parameter for the sign-in and sign-up links.
    fn next_param(&self) -> String {
        form_urlencoded::byte_serialize(format!("/invitations/{}", self.token).as_bytes()).collect()
    }

    fn for_someone_else(&self) -> bool {
        self.user.as_ref().is_some_and(|user| user.email != self.offer.email)
    }

    fn unverified(&self) -> bool {
        self.user.as_ref().is_some_and(|user| user.email_verified_at.is_none())
    }
}

/// The page for an invitation link that no longer works.
fn invitation_gone() -> Response {
    let detail = "This invitation is invalid, expired, revoked or already used. Ask for a new one.".to_owned();
    ErrorPage::for_status(StatusCode::NOT_FOUND, detail).into_response_with(StatusCode::NOT_FOUND)
}

pub async fn invitation_page(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(token): Path<String>,
) -> Result<Response, UiError> {
    let Some(offer) = state.store.invitation_offer(&hash_presented(&token)).await? else {
        return Ok(invitation_gone());
    };
    let page = InvitationPage {
        csrf: visitor.csrf,
        flash: visitor.flash,
        token,
        offer,
        user: visitor.user,
        errors: FormErrors::default(),
    };
    render(&page)
}

pub async fn accept_invitation(
    State(state): State<AppState>,
    signed_in: SignedIn,
    client: ClientInfo,
    Path(token): Path<String>,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response, UiError> {
    let Some(offer) = state.store.invitation_offer(&hash_presented(&token)).await? else {
        return Ok(invitation_gone());
    };
    match accept(&state, &signed_in.user, &client, &token).await {
        Ok((workspace, role)) => {
            let flash = Flash::success(format!("Welcome to {}: you joined as {}.", workspace.name, role.as_str()));
            Ok(redirect_with(&state, &format!("/w/{}", workspace.slug), flash))
        }
        Err(error) => {
            let status = error.status();
            let page = InvitationPage {
                csrf: signed_in.csrf,
                flash: None,
                token,
                offer,
                user: Some(signed_in.user),
                errors: FormErrors::from_api(error)?,
            };
            render_with(status, &page)
        }
    }
}

#[derive(Deserialize)]
pub struct ResendForm {
    next: Option<String>,
}

/// The "send it again" button of the verification banner and the invitation page.
pub async fn resend_verification(
    State(state): State<AppState>,
    signed_in: SignedIn,
    CsrfForm(form): CsrfForm<ResendForm>,
) -> Result<Response, UiError> {
    let next = local_path(form.next.as_deref()).to_owned();
    let flash = match resend(&state, &signed_in.user).await {
        Ok(()) => Flash::success(format!("A new verification mail is on its way to {}.", signed_in.user.email)),
        Err(ApiError::Conflict(message)) => Flash::error(message),
        Err(other) => return Err(other.into()),
    };
    Ok(redirect_with(&state, &next, flash))
}

#[derive(Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

#[derive(Template)]
#[template(path = "account_verify_email.html")]
struct VerifyEmailPage {
    csrf: String,
    token: String,
    /// Set once the address is verified.
    verified: Option<String>,
    errors: FormErrors,
}

/// The link in the verification mail. Mail scanners follow links, so opening it only shows a
/// button; the POST spends the token.
pub async fn verify_email_page(visitor: Visitor, Query(query): Query<TokenQuery>) -> Result<Response, UiError> {
    render(&VerifyEmailPage { csrf: visitor.csrf, token: query.token, verified: None, errors: FormErrors::default() })
}

#[derive(Deserialize)]
pub struct TokenForm {
    token: String,
}

pub async fn verify_email(
    State(state): State<AppState>,
    client: ClientInfo,
    visitor: Visitor,
    CsrfForm(form): CsrfForm<TokenForm>,
) -> Result<Response, UiError> {
    match confirm_email(&state, &client, &form.token).await {
        Ok(user) => render(&VerifyEmailPage {
            csrf: visitor.csrf,
            token: String::new(),
            verified: Some(user.email),
            errors: FormErrors::default(),
        }),
        Err(error) => {
            let status = error.status();
            let errors = FormErrors::from_api(error)?;
            render_with(status, &VerifyEmailPage { csrf: visitor.csrf, token: form.token, verified: None, errors })
        }
    }
}

#[derive(Template)]
#[template(path = "account_forgot_password.html")]
struct ForgotPasswordPage {
    csrf: String,
    email: String,
    /// Set once the form was sent: the same answer whether or not the address has an account.
    sent: bool,
}

pub async fn forgot_password_page(visitor: Visitor) -> Result<Response, UiError> {
    render(&ForgotPasswordPage { csrf: visitor.csrf, email: String::new(), sent: false })
}

#[derive(Deserialize)]
pub struct ForgotPasswordForm {
    email: String,
}

pub async fn forgot_password(
    State(state): State<AppState>,
    visitor: Visitor,
    CsrfForm(form): CsrfForm<ForgotPasswordForm>,
) -> Result<Response, UiError> {
    start_password_reset(&state, &form.email);
    render(&ForgotPasswordPage { csrf: visitor.csrf, email: form.email, sent: true })
}

#[derive(Template)]
#[template(path = "account_reset_password.html")]
struct ResetPasswordPage {
    csrf: String,
    token: String,
    errors: FormErrors,
}

/// The link in the reset mail: the form for the new password.
pub async fn reset_password_page(visitor: Visitor, Query(query): Query<TokenQuery>) -> Result<Response, UiError> {
    render(&ResetPasswordPage { csrf: visitor.csrf, token: query.token, errors: FormErrors::default() })
}

#[derive(Deserialize)]
pub struct ResetPasswordForm {
    token: String,
    password: String,
}

pub async fn reset_password(
    State(state): State<AppState>,
    client: ClientInfo,
    visitor: Visitor,
    CsrfForm(form): CsrfForm<ResetPasswordForm>,
) -> Result<Response, UiError> {
    match set_new_password(&state, &client, &form.token, form.password).await {
        Ok(()) => {
            let flash = Flash::success("Your password is changed. Log in with the new one.");
            // The reset signed every session out, this browser's included.
            let cleared = set_cookie(&state, SESSION_COOKIE, "", Some(0));
            Ok(([(header::SET_COOKIE, cleared), (header::SET_COOKIE, flash.to_cookie(&state))], Redirect::to("/login"))
                .into_response())
        }
        Err(error) => {
            let status = error.status();
            let errors = FormErrors::from_api(error)?;
            render_with(status, &ResetPasswordPage { csrf: visitor.csrf, token: form.token, errors })
        }
    }
}

/// The pages account mails link to, and the button that sends the verification mail again.
#[allow(clippy::disallowed_methods)] // page routes stay out of the OpenAPI document
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/forgot-password", get(forgot_password_page).post(forgot_password))
        .route("/reset-password", get(reset_password_page).post(reset_password))
        .route("/verify-email", get(verify_email_page).post(verify_email))
        .route("/verify-email/resend", post(resend_verification))
        .route("/invitations/{token}", get(invitation_page).post(accept_invitation))
}
