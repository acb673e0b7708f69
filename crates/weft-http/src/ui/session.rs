//! The web UI's cookies: the signed session cookie, the CSRF seed behind every form's token, and
//! one-shot flash messages; and the extractors pages are built from.
//!
//! CSRF defence is the signed double-submit pattern: every browser holds a random `weft_csrf`
//! cookie (HttpOnly), and every form carries the MAC of that value and the session id. A
//! cross-site page can neither read the cookie nor forge the MAC; the `SameSite=Lax` session
//! cookie is a second wall.

use std::marker::PhantomData;

use axum::extract::{FromRequest, FromRequestParts, OriginalUri, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use weft_domain::{OpaqueToken, Role, SessionId};
use weft_store::{PageRequest, User, Workspace};

use crate::extract::gate::Gate;
use crate::extract::{Authorized, Caller, CurrentUser, PathResource};
use crate::state::AppState;
use crate::ui::error::UiError;

pub const SESSION_COOKIE: &str = "weft_session";
pub const CSRF_COOKIE: &str = "weft_csrf";
pub const FLASH_COOKIE: &str = "weft_flash";
/// The form field that carries the CSRF token.
pub const CSRF_FIELD: &str = "_csrf";
/// How many workspaces the switcher lists.
const SWITCHER_LIMIT: u32 = 100;

/// The value of one cookie of the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find_map(|(key, value)| (key == name).then_some(value))
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, path `/`, Secure when Weft is served over https.
pub fn set_cookie(state: &AppState, name: &str, value: &str, max_age_secs: Option<u64>) -> HeaderValue {
    let mut cookie = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if let Some(age) = max_age_secs {
        cookie.push_str(&format!("; Max-Age={age}"));
    }
    if state.settings.public_url.starts_with("https://") {
        cookie.push_str("; Secure");
    }
    HeaderValue::from_str(&cookie).expect("cookie names and values are plain ASCII")
}

/// The browser's CSRF seed, from its cookie or fresh for this response.
#[derive(Debug, Clone)]
struct CsrfSeed(String);

/// A message shown once on the next page, e.g. after a redirect.
#[derive(Debug, Clone)]
pub struct Flash {
    pub kind: FlashKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlashKind {
    Success,
    Error,
}

impl FlashKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FlashKind::Success => "success",
            FlashKind::Error => "error",
        }
    }
}

impl Flash {
    pub fn success(message: impl Into<String>) -> Self {
        Flash { kind: FlashKind::Success, message: message.into() }
    }

    pub fn error(message: impl Into<String>) -> Self {
        Flash { kind: FlashKind::Error, message: message.into() }
    }

    /// The signed cookie value: `kind.mac.message` with the message percent-encoded.
    pub fn to_cookie(&self, state: &AppState) -> HeaderValue {
        let message: String = form_urlencoded::byte_serialize(self.message.as_bytes()).collect();
        let value = format!("{}.{}", self.kind.as_str(), message);
        set_cookie(state, FLASH_COOKIE, &format!("{}.{value}", state.tokens.mac("flash", &value)), Some(60))
    }

    fn from_cookie(state: &AppState, raw: &str) -> Option<Flash> {
        let (mac, value) = raw.split_once('.')?;
        if !state.tokens.mac_matches("flash", value, mac) {
            return None;
        }
        let (kind, message) = value.split_once('.')?;
        let kind = match kind {
            "success" => FlashKind::Success,
            "error" => FlashKind::Error,
            _ => return None,
        };
        let message = form_urlencoded::parse(format!("m={message}").as_bytes()).next()?.1.into_owned();
        Some(Flash { kind, message })
    }
}

/// Middleware on every page: makes sure the browser has a CSRF seed, and hands a flash message
/// to the page and clears it.
pub async fn ui_cookies(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let seed = cookie(request.headers(), CSRF_COOKIE).filter(|seed| seed.len() >= 16).map(str::to_owned);
    let fresh_seed = seed.is_none();
    let seed = seed.unwrap_or_else(|| OpaqueToken::generate().expose().to_owned());
    let flash = cookie(request.headers(), FLASH_COOKIE).map(str::to_owned);
    if let Some(flash) = flash.as_deref().and_then(|raw| Flash::from_cookie(&state, raw)) {
        request.extensions_mut().insert(flash);
    }
    request.extensions_mut().insert(CsrfSeed(seed.clone()));
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if fresh_seed {
        headers.append(header::SET_COOKIE, set_cookie(&state, CSRF_COOKIE, &seed, None));
    }
    let sets_flash = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .any(|value| value.as_bytes().starts_with(format!("{FLASH_COOKIE}=").as_bytes()));
    if flash.is_some() && !sets_flash {
        headers.append(header::SET_COOKIE, set_cookie(&state, FLASH_COOKIE, "", Some(0)));
    }
    response
}

fn csrf_seed(parts: &Parts) -> Result<String, UiError> {
    parts
        .extensions
        .get::<CsrfSeed>()
        .map(|seed| seed.0.clone())
        .ok_or_else(|| UiError::internal("the page is served without its cookie middleware"))
}

/// What a CSRF token signs: this browser's seed and, when signed in, the session.
fn csrf_input(seed: &str, session: Option<&SessionId>) -> String {
    format!("{seed}|{}", session.map_or("", SessionId::as_str))
}

/// The CSRF token for forms of this browser (and session, when signed in).
fn csrf_token(state: &AppState, seed: &str, session: Option<&SessionId>) -> String {
    state.tokens.mac("csrf", &csrf_input(seed, session))
}

/// A visitor who need not be signed in (login, sign-up, reset pages): the token for their forms.
pub struct Visitor {
    pub csrf: String,
    pub flash: Option<Flash>,
    /// Set when the browser carries a live session.
    pub user: Option<User>,
}

impl FromRequestParts<AppState> for Visitor {
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, UiError> {
        let seed = csrf_seed(parts)?;
        let flash = parts.extensions.get::<Flash>().cloned();
        let signed_in = session_of(parts, state).await?;
        let session = signed_in.as_ref().map(|(_, session)| session);
        Ok(Visitor { csrf: csrf_token(state, &seed, session), flash, user: signed_in.map(|(user, _)| user) })
    }
}

/// The signed session cookie's value: `<session id>.<mac>`.
pub fn session_cookie_value(state: &AppState, session: &SessionId) -> String {
    format!("{session}.{}", state.tokens.mac("session", session.as_str()))
}

/// The user and session named by a valid session cookie whose session is still live.
async fn session_of(parts: &Parts, state: &AppState) -> Result<Option<(User, SessionId)>, UiError> {
    let Some((id, mac)) = cookie(&parts.headers, SESSION_COOKIE).and_then(|raw| raw.split_once('.')) else {
        return Ok(None);
    };
    if !state.tokens.mac_matches("session", id, mac) {
        return Ok(None);
    }
    let Ok(session) = id.parse::<SessionId>() else { return Ok(None) };
    let user = state.store.session_user(&session).await.map_err(UiError::from_store)?;
    Ok(user.map(|user| (user, session)))
}

/// A signed-in user; anyone else is sent to the login page and brought back afterwards.
pub struct SignedIn {
    pub user: User,
    pub session: SessionId,
    pub csrf: String,
    pub flash: Option<Flash>,
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, UiError> {
        let seed = csrf_seed(parts)?;
        let Some((user, session)) = session_of(parts, state).await? else {
            let uri = OriginalUri::from_request_parts(parts, state).await.map_or_else(|_| parts.uri.clone(), |u| u.0);
            let next = uri.path_and_query().map_or("/", |path| path.as_str()).to_owned();
            return Err(UiError::SignIn { next });
        };
        let csrf = csrf_token(state, &seed, Some(&session));
        Ok(SignedIn { user, session, csrf, flash: parts.extensions.get::<Flash>().cloned() })
    }
}

/// What every signed-in page shows around its content: who is signed in, the workspace
/// switcher, the current workspace and the flash message.
pub struct Shell {
    pub user: User,
    pub csrf: String,
    pub flash: Option<Flash>,
    pub workspaces: Vec<Workspace>,
    /// The workspace the page is in, and the signed-in user's role there.
    pub current: Option<(Workspace, Role)>,
}

impl Shell {
    pub async fn load(
        state: &AppState,
        signed_in: SignedIn,
        current: Option<(Workspace, Role)>,
    ) -> Result<Self, UiError> {
        let page = PageRequest { limit: SWITCHER_LIMIT, after: None };
        let workspaces =
            state.store.workspaces_of(&signed_in.user.id, false, page).await.map_err(UiError::from_store)?;
        let workspaces = workspaces.items.into_iter().map(|(workspace, _)| workspace).collect();
        Ok(Shell { user: signed_in.user, csrf: signed_in.csrf, flash: signed_in.flash, workspaces, current })
    }

    /// The current workspace's slug ("" outside a workspace).
    pub fn slug(&self) -> &str {
        self.current.as_ref().map_or("", |(workspace, _)| workspace.slug.as_str())
    }

    /// The current workspace's name ("" outside a workspace).
    pub fn workspace_name(&self) -> &str {
        self.current.as_ref().map_or("", |(workspace, _)| workspace.name.as_str())
    }

    /// Whether the signed-in user's role in the current workspace has a permission, to hide
    /// controls they could not use (the handlers check again).
    pub fn can(&self, permission: &str) -> bool {
        self.current.as_ref().is_some_and(|(_, role)| {
            permission.parse::<weft_domain::Permission>().is_ok_and(|permission| role.allows(permission))
        })
    }
}

/// A signed-in page inside a workspace, allowed `G`'s permission, about the resource `R` the
/// path names: the same checks as the API's [`Authorized`], answered as pages.
pub struct Page<G, R = ()> {
    pub auth: Authorized<G, R>,
    pub shell: Shell,
    gate: PhantomData<G>,
}

impl<G: Gate, R: PathResource> FromRequestParts<AppState> for Page<G, R> {
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, UiError> {
        let signed_in = SignedIn::from_request_parts(parts, state).await?;
        let current = CurrentUser { user: signed_in.user.clone(), session: signed_in.session.clone() };
        let auth = Authorized::<G, R>::for_caller(parts, state, Caller::User(current)).await?;
        let role = auth.scope.role().ok_or_else(|| UiError::internal("a user's scope without a role"))?;
        let shell = Shell::load(state, signed_in, Some((auth.workspace.clone(), role))).await?;
        Ok(Page { auth, shell, gate: PhantomData })
    }
}

/// A form that carries nothing but its CSRF token: a button.
#[derive(serde::Deserialize)]
pub struct NoFields {}

/// A 303 to `to`, where `flash` is shown.
pub fn redirect_with(state: &AppState, to: &str, flash: Flash) -> Response {
    ([(header::SET_COOKIE, flash.to_cookie(state))], axum::response::Redirect::to(to)).into_response()
}

/// A submitted form whose CSRF token checked out, deserialized into `T`.
pub struct CsrfForm<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for CsrfForm<T> {
    type Rejection = UiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, UiError> {
        let (parts, body) = request.into_parts();
        let seed = csrf_seed(&parts)?;
        let session = session_of(&parts, state).await?.map(|(_, session)| session);
        let bytes = axum::body::to_bytes(body, state.settings.body_limit_bytes)
            .await
            .map_err(|_| UiError::BadRequest("the form is too large".into()))?;
        let presented = form_urlencoded::parse(&bytes).find(|(key, _)| key == CSRF_FIELD).map(|(_, value)| value);
        let input = csrf_input(&seed, session.as_ref());
        if !presented.is_some_and(|token| state.tokens.mac_matches("csrf", &input, &token)) {
            return Err(UiError::Csrf);
        }
        serde_urlencoded::from_bytes(&bytes)
            .map(CsrfForm)
            .map_err(|e| UiError::BadRequest(format!("the form is malformed: {e}")))
    }
}
