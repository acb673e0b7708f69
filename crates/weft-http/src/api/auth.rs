//! Registration, login, token refresh, logout, email verification and password reset.

use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use weft_domain::token::hash_presented;
use weft_domain::{Actor, AuditAction, EmailAddress, OpaqueToken, PasswordHash, password};
use weft_store::{EmailTokenPurpose, NewEmailToken, NewSession, NewUser, RefreshOutcome, StoreError, User};

use crate::account_mail;
use crate::api::me::UserOut;
use crate::error::{ApiError, Validation};
use crate::extract::{ClientInfo, CurrentUser, limit_by_ip};
use crate::json::ApiJson;
use crate::state::AppState;
use crate::tokens::{ACCESS_TOKEN_TTL, SESSION_TTL};

const VERIFY_EMAIL_TTL: Duration = Duration::from_secs(24 * 60 * 60);
const RESET_PASSWORD_TTL: Duration = Duration::from_secs(60 * 60);
const NAME_MAX: usize = 100;

/// The routes that need no credential are budgeted per client address; the others per user.
pub fn router(state: &AppState) -> OpenApiRouter<AppState> {
    let public = OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(verify_email))
        .routes(routes!(forgot_password))
        .routes(routes!(reset_password))
        .route_layer(from_fn_with_state(state.clone(), limit_by_ip));
    OpenApiRouter::new().routes(routes!(logout)).routes(routes!(request_email_verification)).merge(public)
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// Hashing takes ~20 ms of CPU on purpose; keep it off the async worker threads.
async fn hash_password(password: String) -> Result<PasswordHash, ApiError> {
    tokio::task::spawn_blocking(move || PasswordHash::new(&password)).await.map_err(ApiError::internal)
}

/// Trims a display name and checks its length.
pub(crate) fn display_name(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    match name.chars().count() {
        0 => Err("must not be empty".into()),
        n if n > NAME_MAX => Err(format!("must be at most {NAME_MAX} characters")),
        _ => Ok(name.to_owned()),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RegisterIn {
    email: String,
    password: String,
    name: String,
}

/// Create an account and its personal workspace; a verification mail follows.
#[utoipa::path(post, path = "/auth/register", tag = "auth", request_body = RegisterIn,
    responses((status = 201, body = UserOut), (status = 409, description = "The email has an account", body = crate::Problem)))]
async fn register(
    State(state): State<AppState>,
    client: ClientInfo,
    ApiJson(input): ApiJson<RegisterIn>,
) -> Result<impl IntoResponse, ApiError> {
    let user = register_account(&state, &client, &input.email, input.password, &input.name).await?;
    Ok((StatusCode::CREATED, axum::Json(UserOut::from(&user))))
}

/// Creates an account and its personal workspace, and sends the verification mail: for the API
/// and the sign-up page alike.
pub(crate) async fn register_account(
    state: &AppState,
    client: &ClientInfo,
    email: &str,
    password: String,
    name: &str,
) -> Result<User, ApiError> {
    let mut validation = Validation::default();
    let email = validation.check("/email", EmailAddress::parse(email));
    let name = validation.check("/name", display_name(name));
    validation.check("/password", password::check_policy(&password));
    validation.finish()?;
    let (Some(email), Some(name)) = (email, name) else { unreachable!("validation passed") };

    let hash = hash_password(password).await?;
    let (user, _personal) = state
        .store
        .create_user(NewUser { email: &email, name: &name, password_hash: &hash, is_operator: false }, &client.origin())
        .await
        .map_err(|error| match error {
            StoreError::Conflict { .. } => ApiError::Conflict("an account with this email already exists"),
            other => other.into(),
        })?;
    send_verification(state, &user).await?;
    Ok(user)
}

async fn send_verification(state: &AppState, user: &User) -> Result<(), ApiError> {
    let token = OpaqueToken::generate();
    state
        .store
        .create_email_token(NewEmailToken {
            user_id: &user.id,
            purpose: EmailTokenPurpose::VerifyEmail,
            email: &user.email,
            token_hash: &token.hash(),
            lifetime_ms: millis(VERIFY_EMAIL_TTL),
        })
        .await?;
    state.send_mail_later(account_mail::verification(
        &state.settings.public_url,
        &user.email,
        &user.name,
        token.expose(),
    ));
    Ok(())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct LoginIn {
    email: String,
    password: String,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct TokensOut {
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: String,
    pub expires_in: u64,
}

fn tokens_out(
    state: &AppState,
    user: &weft_domain::UserId,
    session: &weft_domain::SessionId,
    refresh: &OpaqueToken,
) -> TokensOut {
    TokensOut {
        access_token: state.tokens.issue(user, session, jiff::Timestamp::now().as_second()),
        refresh_token: refresh.expose().to_owned(),
        token_type: "Bearer".to_owned(),
        expires_in: ACCESS_TOKEN_TTL.as_secs(),
    }
}

const BAD_CREDENTIALS: &str = "the email or password is incorrect";

/// Sign in with email and password: an access token (15 minutes) and a refresh token.
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = LoginIn,
    responses((status = 200, body = TokensOut), (status = 401, description = "Wrong email or password", body = crate::Problem)))]
async fn login(
    State(state): State<AppState>,
    client: ClientInfo,
    ApiJson(input): ApiJson<LoginIn>,
) -> Result<impl IntoResponse, ApiError> {
    let user = authenticate(&state, &client, &input.email, input.password).await?;
    let refresh = OpaqueToken::generate();
    let session = open_session(&state, &client, &user, &refresh).await?;
    Ok(axum::Json(tokens_out(&state, &user.id, &session, &refresh)))
}

/// Checks an email and password, under the failed-login throttles; a failure is audited and
/// counted against both the account and the client address.
pub(crate) async fn authenticate(
    state: &AppState,
    client: &ClientInfo,
    email: &str,
    password: String,
) -> Result<User, ApiError> {
    let account_key = email.trim().to_lowercase();
    let ip_key = client.ip.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
    {
        let throttles = state.throttles();
        let now = Instant::now();
        let locked = throttles.accounts.check(&account_key, now).err().max(throttles.ips.check(&ip_key, now).err());
        if let Some(retry_after) = locked {
            return Err(ApiError::RateLimited { retry_after });
        }
    }

    let account = match EmailAddress::parse(email) {
        Ok(email) => state.store.user_credentials(&email).await?,
        Err(_) => None,
    };
    let claimed = account.as_ref().map(|(user, _)| user.id.clone());
    let verified = tokio::task::spawn_blocking(move || match account {
        Some((user, hash)) => hash.verify(&password).then_some(user),
        None => {
            PasswordHash::verify_against_nobody(&password);
            None
        }
    })
    .await
    .map_err(ApiError::internal)?;

    let Some(user) = verified else {
        let actor = claimed.map_or(Actor::Anonymous, Actor::User);
        let metadata = serde_json::json!({ "email": account_key });
        state.store.record_event(&client.origin(), &actor, AuditAction::LoginFailed, metadata).await?;
        let mut throttles = state.throttles();
        let now = Instant::now();
        throttles.accounts.record_failure(&account_key, now);
        throttles.ips.record_failure(&ip_key, now);
        drop(throttles);
        tracing::info!(ip = %ip_key, "login failed");
        return Err(ApiError::Unauthorized(BAD_CREDENTIALS));
    };
    state.throttles().accounts.reset(&account_key);
    Ok(user)
}

/// Opens a login session for an authenticated user; `refresh` is its first refresh token (the
/// web UI never hands it out: its cookie names the session instead).
pub(crate) async fn open_session(
    state: &AppState,
    client: &ClientInfo,
    user: &User,
    refresh: &OpaqueToken,
) -> Result<weft_domain::SessionId, ApiError> {
    let ip = client.ip.map(|ip| ip.to_string());
    let session = state
        .store
        .create_session(NewSession {
            user_id: &user.id,
            refresh_token_hash: &refresh.hash(),
            lifetime_ms: millis(SESSION_TTL),
            ip: ip.as_deref(),
            user_agent: client.user_agent.as_deref(),
        })
        .await?;
    tracing::info!(user = %user.id, session = %session.id, "login succeeded");
    Ok(session.id)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RefreshIn {
    refresh_token: String,
}

/// Trade a refresh token for new tokens. Each refresh token works once; presenting a used one
/// again revokes its session.
#[utoipa::path(post, path = "/auth/refresh", tag = "auth", request_body = RefreshIn,
    responses((status = 200, body = TokensOut), (status = 401, description = "Unknown, expired or reused token", body = crate::Problem)))]
async fn refresh(
    State(state): State<AppState>,
    client: ClientInfo,
    ApiJson(input): ApiJson<RefreshIn>,
) -> Result<impl IntoResponse, ApiError> {
    let next = OpaqueToken::generate();
    let presented = hash_presented(&input.refresh_token);
    match state.store.rotate_refresh_token(&presented, &next.hash(), &client.origin()).await? {
        RefreshOutcome::Rotated { session, user } => Ok(axum::Json(tokens_out(&state, &user, &session, &next))),
        RefreshOutcome::Reused => {
            tracing::warn!("a rotated refresh token was presented again; its session is revoked");
            Err(ApiError::Unauthorized("this refresh token was already used; the session has been revoked"))
        }
        RefreshOutcome::Invalid => Err(ApiError::Unauthorized("the refresh token is invalid or expired")),
    }
}

/// Sign out this session.
#[utoipa::path(post, path = "/auth/logout", tag = "auth", responses((status = 204, description = "Signed out")),
    security(("user" = [])))]
async fn logout(
    State(state): State<AppState>,
    current: CurrentUser,
    client: ClientInfo,
) -> Result<impl IntoResponse, ApiError> {
    state.store.revoke_session(&current.user.id, &current.session, &client.origin(), AuditAction::Logout).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Send the verification mail again.
#[utoipa::path(post, path = "/auth/verify-email/request", tag = "auth",
    responses((status = 202, description = "Mail queued"), (status = 409, description = "Already verified", body = crate::Problem)),
    security(("user" = [])))]
async fn request_email_verification(
    State(state): State<AppState>,
    current: CurrentUser,
) -> Result<impl IntoResponse, ApiError> {
    resend_verification(&state, &current.user).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Sends the verification mail again, unless the address is verified already.
pub(crate) async fn resend_verification(state: &AppState, user: &User) -> Result<(), ApiError> {
    if user.email_verified_at.is_some() {
        return Err(ApiError::Conflict("this email address is already verified"));
    }
    send_verification(state, user).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct TokenIn {
    token: String,
}

const BAD_EMAIL_TOKEN: &str = "is invalid, expired or already used";

/// Confirm an email address with the token from the verification mail.
#[utoipa::path(post, path = "/auth/verify-email", tag = "auth", request_body = TokenIn,
    responses((status = 200, body = UserOut)))]
async fn verify_email(
    State(state): State<AppState>,
    client: ClientInfo,
    ApiJson(input): ApiJson<TokenIn>,
) -> Result<impl IntoResponse, ApiError> {
    let user = confirm_email(&state, &client, &input.token).await?;
    Ok(axum::Json(UserOut::from(&user)))
}

/// Spends a verification token and marks its address verified.
pub(crate) async fn confirm_email(state: &AppState, client: &ClientInfo, token: &str) -> Result<User, ApiError> {
    let user = state.store.verify_email(&hash_presented(token), &client.origin()).await?;
    user.ok_or_else(|| ApiError::field("/token", BAD_EMAIL_TOKEN))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ForgotPasswordIn {
    email: String,
}

/// Ask for a password-reset mail. Always 202, and the work happens after the response, so
/// neither the answer nor its timing tells whether the address has an account.
#[utoipa::path(post, path = "/auth/forgot-password", tag = "auth", request_body = ForgotPasswordIn,
    responses((status = 202, description = "A mail follows if the address has an account")))]
async fn forgot_password(
    State(state): State<AppState>,
    ApiJson(input): ApiJson<ForgotPasswordIn>,
) -> impl IntoResponse {
    start_password_reset(&state, &input.email);
    StatusCode::ACCEPTED
}

/// Mails a reset link if `email` has an account, after the caller has answered, so the answer
/// tells nothing either way.
pub(crate) fn start_password_reset(state: &AppState, email: &str) {
    if let Ok(email) = EmailAddress::parse(email) {
        let background = state.background.clone();
        let state = state.clone();
        background.spawn(async move {
            if let Err(error) = send_password_reset(&state, &email).await {
                tracing::error!(error = %error, "password reset could not be started");
            }
        });
    }
}

async fn send_password_reset(state: &AppState, email: &EmailAddress) -> Result<(), StoreError> {
    let Some(user) = state.store.user_by_email(email).await? else {
        tracing::info!("password reset asked for an address without an account");
        return Ok(());
    };
    let token = OpaqueToken::generate();
    state
        .store
        .create_email_token(NewEmailToken {
            user_id: &user.id,
            purpose: EmailTokenPurpose::ResetPassword,
            email: &user.email,
            token_hash: &token.hash(),
            lifetime_ms: millis(RESET_PASSWORD_TTL),
        })
        .await?;
    state.send_mail_later(account_mail::password_reset(
        &state.settings.public_url,
        &user.email,
        &user.name,
        token.expose(),
    ));
    Ok(())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ResetPasswordIn {
    token: String,
    password: String,
}

/// Set a new password with the token from the reset mail; every session is signed out.
#[utoipa::path(post, path = "/auth/reset-password", tag = "auth", request_body = ResetPasswordIn,
    responses((status = 204, description = "Password changed")))]
async fn reset_password(
    State(state): State<AppState>,
    client: ClientInfo,
    ApiJson(input): ApiJson<ResetPasswordIn>,
) -> Result<impl IntoResponse, ApiError> {
    set_new_password(&state, &client, &input.token, input.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sets a new password with a reset token; every session of the account is signed out.
pub(crate) async fn set_new_password(
    state: &AppState,
    client: &ClientInfo,
    token: &str,
    password: String,
) -> Result<(), ApiError> {
    password::check_policy(&password).map_err(|e| ApiError::field("/password", e.to_string()))?;
    let hash = hash_password(password).await?;
    let reset = state.store.reset_password(&hash_presented(token), &hash, &client.origin()).await?;
    let user_id = reset.ok_or_else(|| ApiError::field("/token", BAD_EMAIL_TOKEN))?;
    // Whoever proved control of the mailbox may log in again at once, even if someone else
    // locked the account by guessing.
    let user = state.store.user(&user_id).await?;
    state.throttles().accounts.reset(&user.email);
    Ok(())
}
