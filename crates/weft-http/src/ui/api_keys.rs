//! The API keys page: the workspace's keys, creating one (its secret shown once, on the page
//! the form answers with) and revoking one.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use axum::routing::post;
use serde::Deserialize;
use weft_domain::Permission;
use weft_store::{ApiKey, PageRequest};

use crate::api::api_keys::issue_key;
use crate::extract::gate::{KeysRead, KeysWrite};
use crate::state::AppState;
use crate::ui::forms::FormErrors;
use crate::ui::session::{CsrfForm, Flash, NoFields, Page, Shell, redirect_with};
use crate::ui::text::utc_minute;
use crate::ui::{UiError, render, render_with};

const KEYS_PER_PAGE: u32 = 50;

#[allow(clippy::disallowed_methods)] // page routes stay out of the OpenAPI document
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/w/{ws}/api-keys", axum::routing::get(keys_page).post(create_key))
        .route("/w/{ws}/api-keys/{key}/revoke", post(revoke_key))
}

/// A scope checkbox of the form.
struct ScopeChoice {
    name: &'static str,
    describe: &'static str,
    checked: bool,
}

#[derive(Deserialize)]
pub struct ListQuery {
    after: Option<String>,
}

#[derive(Template)]
#[template(path = "api_keys_index.html")]
struct KeysPage {
    shell: Shell,
    section: &'static str,
    keys: Vec<ApiKey>,
    next: Option<String>,
    /// The scopes the signed-in user may grant, with what the form had ticked.
    scopes: Vec<ScopeChoice>,
    name: String,
    expires_on: String,
    errors: FormErrors,
}

impl KeysPage {
    fn when(&self, at: &i64) -> String {
        utc_minute(*at)
    }

    fn expired(&self, key: &ApiKey) -> bool {
        key.expires_at.is_some_and(|at| at <= weft_store::now_ms())
    }

    /// Every refusal of the scopes, the list's and any one scope's.
    fn scope_errors(&self) -> Vec<&str> {
        let fields = self.errors.fields().iter();
        fields.filter(|(pointer, _)| pointer.starts_with("/scopes")).map(|(_, detail)| detail.as_str()).collect()
    }

    fn next_query(&self) -> String {
        self.next
            .as_deref()
            .map_or_else(String::new, |after| form_urlencoded::byte_serialize(after.as_bytes()).collect())
    }
}

#[derive(Template)]
#[template(path = "api_keys_created.html")]
struct CreatedPage {
    shell: Shell,
    section: &'static str,
    key: ApiKey,
    secret: String,
}

/// The form as typed, to show again.
#[derive(Default)]
struct KeyDraft {
    name: String,
    scopes: Vec<String>,
    expires_on: String,
}

async fn show<G, R>(
    state: &AppState,
    page: Page<G, R>,
    after: Option<&str>,
    draft: KeyDraft,
    errors: FormErrors,
    status: StatusCode,
) -> Result<Response, UiError> {
    let keys = state.store.api_keys(&page.auth.scope, PageRequest { limit: KEYS_PER_PAGE, after }).await?;
    let scopes = Permission::key_scopes()
        .filter(|scope| page.auth.scope.allows(*scope))
        .map(|scope| ScopeChoice {
            name: scope.as_str(),
            describe: scope.describe(),
            checked: draft.scopes.iter().any(|ticked| ticked == scope.as_str()),
        })
        .collect();
    let view = KeysPage {
        shell: page.shell,
        section: "api-keys",
        keys: keys.items,
        next: keys.next,
        scopes,
        name: draft.name,
        expires_on: draft.expires_on,
        errors,
    };
    render_with(status, &view)
}

pub async fn keys_page(
    State(state): State<AppState>,
    page: Page<KeysRead>,
    Query(query): Query<ListQuery>,
) -> Result<Response, UiError> {
    show(&state, page, query.after.as_deref(), KeyDraft::default(), FormErrors::default(), StatusCode::OK).await
}

/// The form's fields: `scopes` repeats, once per ticked box, so it is read as pairs.
fn draft_of(fields: Vec<(String, String)>) -> KeyDraft {
    let mut draft = KeyDraft::default();
    for (name, value) in fields {
        match name.as_str() {
            "name" => draft.name = value,
            "scopes" => draft.scopes.push(value),
            "expires_on" => draft.expires_on = value.trim().to_owned(),
            _ => {}
        }
    }
    draft
}

pub async fn create_key(
    State(state): State<AppState>,
    page: Page<KeysWrite>,
    CsrfForm(fields): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    let draft = draft_of(fields);
    // A date picked in the form means the key works through that whole day (UTC).
    let expires_at = Some(&draft.expires_on).filter(|on| !on.is_empty()).map(|on| format!("{on}T23:59:59Z"));
    match issue_key(&state, &page.auth, &draft.name, &draft.scopes, expires_at.as_deref()).await {
        Ok((key, secret)) => {
            let created =
                CreatedPage { shell: page.shell, section: "api-keys", key, secret: secret.expose().to_owned() };
            let mut response = render(&created)?;
            // The secret must not linger in caches or the back-forward history.
            response.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
            Ok(response)
        }
        Err(error) => {
            let status = error.status();
            let errors = FormErrors::from_api(error)?;
            show(&state, page, None, draft, errors, status).await
        }
    }
}

pub async fn revoke_key(
    State(state): State<AppState>,
    page: Page<KeysWrite, ApiKey>,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response, UiError> {
    state.store.revoke_api_key(&page.auth.scope, &page.auth.origin, &page.auth.resource.id).await?;
    let flash =
        Flash::success(format!("The key “{}” is revoked; requests with it fail from now on.", page.auth.resource.name));
    let to = format!("/w/{}/api-keys", page.shell.slug());
    Ok(redirect_with(&state, &to, flash))
}
