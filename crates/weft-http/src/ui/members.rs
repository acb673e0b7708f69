//! The members page: who belongs to the workspace and with which role, invitations by mail,
//! role changes and removal. Controls are hidden from roles that lack `members:write`, and the
//! handlers refuse such requests anyway (the `Page` gate).

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use weft_domain::Role;
use weft_store::{Invitation, Member, PageRequest};

use crate::api::members::{change_role, invite};
use crate::error::ApiError;
use crate::extract::gate::{MembersRead, MembersWrite};
use crate::state::AppState;
use crate::ui::forms::FormErrors;
use crate::ui::session::{CsrfForm, Flash, NoFields, Page, Shell, redirect_with};
use crate::ui::text::utc_minute;
use crate::ui::{UiError, render_with};

/// Members per page.
const MEMBERS_PER_PAGE: u32 = 50;
/// Pending invitations shown; more than this many at once is not a real workspace.
const INVITATIONS_SHOWN: u32 = 100;

#[allow(clippy::disallowed_methods)] // page routes stay out of the OpenAPI document
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/w/{ws}/members", get(members_page).post(invite_member))
        .route("/w/{ws}/members/{user}/role", post(update_role))
        .route("/w/{ws}/members/{user}/remove", post(remove_member))
        .route("/w/{ws}/invitations/{invitation}/revoke", post(revoke_invitation))
}

/// The roles a select offers, weakest first.
fn role_names() -> Vec<&'static str> {
    Role::ALL.iter().map(|role| role.as_str()).collect()
}

#[derive(Deserialize)]
pub struct ListQuery {
    after: Option<String>,
}

#[derive(Template)]
#[template(path = "members_index.html")]
struct MembersPage {
    shell: Shell,
    section: &'static str,
    members: Vec<Member>,
    /// The `after` of the next page, when one follows.
    next: Option<String>,
    invitations: Vec<Invitation>,
    roles: Vec<&'static str>,
    /// The invitation form's typed values.
    email: String,
    role: String,
    errors: FormErrors,
}

impl MembersPage {
    fn joined(&self, member: &Member) -> String {
        utc_minute(member.joined_at)
    }

    fn expires(&self, invitation: &Invitation) -> String {
        utc_minute(invitation.expires_at)
    }

    fn expired(&self, invitation: &Invitation) -> bool {
        invitation.expires_at <= weft_store::now_ms()
    }

    fn is_me(&self, member: &Member) -> bool {
        member.user_id == self.shell.user.id
    }

    fn next_query(&self) -> String {
        self.next
            .as_deref()
            .map_or_else(String::new, |after| form_urlencoded::byte_serialize(after.as_bytes()).collect())
    }
}

/// The invitation form as typed, to show again.
struct InviteDraft {
    email: String,
    role: String,
}

impl Default for InviteDraft {
    fn default() -> Self {
        InviteDraft { email: String::new(), role: Role::Member.as_str().to_owned() }
    }
}

/// Renders the members page of `page`'s workspace, with the form and any refusal.
async fn show<G, R>(
    state: &AppState,
    page: Page<G, R>,
    after: Option<&str>,
    draft: InviteDraft,
    errors: FormErrors,
    status: StatusCode,
) -> Result<Response, UiError> {
    let scope = &page.auth.scope;
    let members = state.store.members(scope, PageRequest { limit: MEMBERS_PER_PAGE, after }).await?;
    let invitations = state.store.invitations(scope, PageRequest { limit: INVITATIONS_SHOWN, after: None }).await?;
    let view = MembersPage {
        shell: page.shell,
        section: "members",
        members: members.items,
        next: members.next,
        invitations: invitations.items,
        roles: role_names(),
        email: draft.email,
        role: draft.role,
        errors,
    };
    render_with(status, &view)
}

/// A redirect back to the members page with a message.
fn back(state: &AppState, slug: &str, flash: Flash) -> Response {
    redirect_with(state, &format!("/w/{slug}/members"), flash)
}

/// A refusal a person can act on is shown on the page; anything else fails it.
async fn refused<G, R>(
    state: &AppState,
    page: Page<G, R>,
    draft: InviteDraft,
    error: ApiError,
) -> Result<Response, UiError> {
    let status = error.status();
    let errors = FormErrors::from_api(error)?;
    show(state, page, None, draft, errors, status).await
}

pub async fn members_page(
    State(state): State<AppState>,
    page: Page<MembersRead>,
    Query(query): Query<ListQuery>,
) -> Result<Response, UiError> {
    show(&state, page, query.after.as_deref(), InviteDraft::default(), FormErrors::default(), StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct InviteForm {
    email: String,
    role: String,
}

pub async fn invite_member(
    State(state): State<AppState>,
    page: Page<MembersWrite>,
    CsrfForm(form): CsrfForm<InviteForm>,
) -> Result<Response, UiError> {
    match invite(&state, &page.auth, &form.email, &form.role).await {
        Ok(invitation) => {
            let flash = Flash::success(format!("Invitation sent to {}.", invitation.email));
            Ok(back(&state, page.shell.slug(), flash))
        }
        Err(error) => refused(&state, page, InviteDraft { email: form.email, role: form.role }, error).await,
    }
}

#[derive(Deserialize)]
pub struct RoleForm {
    role: String,
}

pub async fn update_role(
    State(state): State<AppState>,
    page: Page<MembersWrite, Member>,
    CsrfForm(form): CsrfForm<RoleForm>,
) -> Result<Response, UiError> {
    match change_role(&state, &page.auth, &form.role).await {
        Ok(member) => {
            let flash = Flash::success(format!("{} is now {}.", member.name, member.role.as_str()));
            Ok(back(&state, page.shell.slug(), flash))
        }
        Err(error) => refused(&state, page, InviteDraft::default(), error).await,
    }
}

pub async fn remove_member(
    State(state): State<AppState>,
    page: Page<MembersWrite, Member>,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response, UiError> {
    let removed = state.store.remove_member(&page.auth.scope, &page.auth.origin, &page.auth.resource.user_id).await;
    match removed.map_err(ApiError::from) {
        Ok(()) => {
            let flash = Flash::success(format!("{} is no longer a member.", page.auth.resource.name));
            Ok(back(&state, page.shell.slug(), flash))
        }
        Err(error) => refused(&state, page, InviteDraft::default(), error).await,
    }
}

pub async fn revoke_invitation(
    State(state): State<AppState>,
    page: Page<MembersWrite, Invitation>,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response, UiError> {
    state.store.revoke_invitation(&page.auth.scope, &page.auth.origin, &page.auth.resource.id).await?;
    let flash = Flash::success(format!("The invitation to {} is revoked.", page.auth.resource.email));
    Ok(back(&state, page.shell.slug(), flash))
}
