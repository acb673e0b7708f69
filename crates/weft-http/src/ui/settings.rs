//! Workspace settings: rename, change the address (slug), delete (owners), leave (everyone
//! but owners, who hand over or delete instead).

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use weft_domain::Role;

use crate::api::workspaces::{edit_workspace, remove_workspace};
use crate::error::ApiError;
use crate::extract::gate::{MembershipLeave, WorkspaceDelete, WorkspaceRead, WorkspaceWrite};
use crate::state::AppState;
use crate::ui::forms::FormErrors;
use crate::ui::session::{CsrfForm, Flash, NoFields, Page, Shell, redirect_with};
use crate::ui::text::utc_minute;
use crate::ui::{UiError, render, render_with};

#[allow(clippy::disallowed_methods)] // page routes stay out of the OpenAPI document
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/w/{ws}/settings", get(settings_page).post(update_settings))
        .route("/w/{ws}/settings/delete", post(delete_workspace))
        .route("/w/{ws}/settings/leave", post(leave_workspace))
}

#[derive(Template)]
#[template(path = "settings_index.html")]
struct SettingsPage {
    shell: Shell,
    section: &'static str,
    name: String,
    slug: String,
    errors: FormErrors,
}

impl SettingsPage {
    fn is_owner(&self) -> bool {
        self.shell.current.as_ref().is_some_and(|(_, role)| *role == Role::Owner)
    }
}

pub async fn settings_page(page: Page<WorkspaceRead>) -> Result<Response, UiError> {
    let workspace = &page.auth.workspace;
    let (name, slug) = (workspace.name.clone(), workspace.slug.clone());
    render(&SettingsPage { shell: page.shell, section: "settings", name, slug, errors: FormErrors::default() })
}

#[derive(Deserialize)]
pub struct SettingsForm {
    name: String,
    slug: String,
}

pub async fn update_settings(
    State(state): State<AppState>,
    page: Page<WorkspaceWrite>,
    CsrfForm(form): CsrfForm<SettingsForm>,
) -> Result<Response, UiError> {
    // Only what changed is sent, so an unchanged slug is never refused as taken.
    let current = &page.auth.workspace;
    let name = Some(form.name.as_str()).filter(|name| *name != current.name);
    let slug = Some(form.slug.trim()).filter(|slug| *slug != current.slug);
    if name.is_none() && slug.is_none() {
        let to = format!("/w/{}/settings", current.slug);
        return Ok(redirect_with(&state, &to, Flash::success("Nothing changed.")));
    }
    match edit_workspace(&state, &page.auth, name, slug).await {
        Ok(workspace) => {
            let to = format!("/w/{}/settings", workspace.slug);
            Ok(redirect_with(&state, &to, Flash::success("The workspace settings are saved.")))
        }
        Err(error) => {
            let status = error.status();
            let errors = FormErrors::from_api(error)?;
            let view =
                SettingsPage { shell: page.shell, section: "settings", name: form.name, slug: form.slug, errors };
            render_with(status, &view)
        }
    }
}

pub async fn delete_workspace(
    State(state): State<AppState>,
    page: Page<WorkspaceDelete>,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response, UiError> {
    let workspace = remove_workspace(&state, &page.auth).await?;
    let until = workspace
        .purge_at
        .map_or_else(String::new, |at| format!(" Its owners can restore it until {}.", utc_minute(at)));
    let flash = Flash::success(format!("The workspace “{}” is deleted.{until}", workspace.name));
    Ok(redirect_with(&state, "/", flash))
}

pub async fn leave_workspace(
    State(state): State<AppState>,
    page: Page<MembershipLeave>,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response, UiError> {
    match state.store.leave_workspace(&page.auth.scope, &page.auth.origin).await {
        Ok(()) => {
            let flash = Flash::success(format!("You left “{}”.", page.auth.workspace.name));
            Ok(redirect_with(&state, "/", flash))
        }
        Err(error) => {
            let error = ApiError::from(error);
            let status = error.status();
            let errors = FormErrors::from_api(error)?;
            let workspace = &page.auth.workspace;
            let (name, slug) = (workspace.name.clone(), workspace.slug.clone());
            render_with(status, &SettingsPage { shell: page.shell, section: "settings", name, slug, errors })
        }
    }
}
