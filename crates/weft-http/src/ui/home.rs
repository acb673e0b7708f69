//! The way in: the front door, the workspace switcher and creating a workspace.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use weft_store::PageRequest;

use crate::api::workspaces::new_workspace;
use crate::extract::ClientInfo;
use crate::state::AppState;
use crate::ui::forms::FormErrors;
use crate::ui::session::{CsrfForm, Flash, Shell, SignedIn};
use crate::ui::{UiError, render, render_with};

/// The front door: the first workspace's dashboard, or the form to create one.
pub async fn index(State(state): State<AppState>, signed_in: SignedIn) -> Result<Response, UiError> {
    let first = state.store.workspaces_of(&signed_in.user.id, false, PageRequest { limit: 1, after: None }).await?;
    Ok(match first.items.first() {
        Some((workspace, _)) => Redirect::to(&format!("/w/{}", workspace.slug)).into_response(),
        None => Redirect::to("/workspaces/new").into_response(),
    })
}

#[derive(Deserialize)]
pub struct SwitchQuery {
    ws: String,
}

/// The switcher's target without JavaScript: its form submits here.
pub async fn switch(_signed_in: SignedIn, Query(query): Query<SwitchQuery>) -> Response {
    let slug: String = form_urlencoded::byte_serialize(query.ws.as_bytes()).collect();
    Redirect::to(&format!("/w/{slug}")).into_response()
}

#[derive(Template)]
#[template(path = "workspace_new.html")]
struct NewWorkspacePage {
    shell: Shell,
    section: &'static str,
    name: String,
    slug: String,
    errors: FormErrors,
}

pub async fn new_workspace_page(State(state): State<AppState>, signed_in: SignedIn) -> Result<Response, UiError> {
    let shell = Shell::load(&state, signed_in, None).await?;
    let page = NewWorkspacePage {
        shell,
        section: "",
        name: String::new(),
        slug: String::new(),
        errors: FormErrors::default(),
    };
    render(&page)
}

#[derive(Deserialize)]
pub struct NewWorkspaceForm {
    name: String,
    #[serde(default)]
    slug: String,
}

pub async fn create_workspace(
    State(state): State<AppState>,
    signed_in: SignedIn,
    client: ClientInfo,
    CsrfForm(form): CsrfForm<NewWorkspaceForm>,
) -> Result<Response, UiError> {
    let slug = Some(form.slug.trim()).filter(|slug| !slug.is_empty());
    match new_workspace(&state, &signed_in.user.id, &client.origin(), &form.name, slug).await {
        Ok(workspace) => {
            let flash = Flash::success(format!("Workspace “{}” is ready.", workspace.name)).to_cookie(&state);
            Ok(([(header::SET_COOKIE, flash)], Redirect::to(&format!("/w/{}", workspace.slug))).into_response())
        }
        Err(error) => {
            let status = error.status();
            let errors = FormErrors::from_api(error)?;
            let shell = Shell::load(&state, signed_in, None).await?;
            let page = NewWorkspacePage { shell, section: "", name: form.name, slug: form.slug, errors };
            render_with(status, &page)
        }
    }
}
