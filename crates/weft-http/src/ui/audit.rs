//! The audit log page: the workspace's entries, newest first, narrowed by action, actor and
//! days, paged. The filters are the API's (`audit_log_page`).

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use weft_domain::{AuditAction, TenantScope};
use weft_store::{AuditEntry, PageRequest};

use crate::api::audit::{AuditQuery, audit_log_page};
use crate::api::page::{PageOut, PageQuery, request};
use crate::extract::gate::AuditRead;
use crate::state::AppState;
use crate::ui::forms::FormErrors;
use crate::ui::session::{Page, Shell};
use crate::ui::text::utc_minute;
use crate::ui::{UiError, render_with};

/// Entries per page.
const ENTRIES_PER_PAGE: u32 = 50;
/// Members read per store call for the actor names.
const MEMBERS_PER_READ: u32 = 200;
/// Actors that are not members, as the filter offers them: the API's bare actor types.
const OTHER_ACTORS: [(&str, &str); 3] =
    [("api_key", "Any API key"), ("system", "Weft itself"), ("operator", "An operator")];

/// The audit page: a page route, not API, so it is routed without the OpenAPI router.
#[allow(clippy::disallowed_methods)]
pub fn routes() -> Router<AppState> {
    Router::new().route("/w/{ws}/audit", get(audit_page))
}

/// The page's query string: empty values mean "any"; days as `YYYY-MM-DD` (UTC).
#[derive(Debug, Default, Deserialize)]
struct AuditPageQuery {
    #[serde(default)]
    action: String,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    since: String,
    #[serde(default)]
    until: String,
    cursor: Option<String>,
}

impl AuditPageQuery {
    /// The API's filters: `since` from the start of its day, `until` through the end of its day.
    fn api_query(&self) -> AuditQuery {
        let some = |value: &str| Some(value.to_owned()).filter(|value| !value.is_empty());
        AuditQuery {
            actor: some(&self.actor),
            action: some(&self.action),
            target_type: None,
            target_id: None,
            since: some(&self.since).map(|day| day_start(&day, 0)),
            until: some(&self.until).map(|day| day_start(&day, 1)),
        }
    }

    /// The query string for these filters, with `extra` pairs after them.
    fn query_string(&self, extra: &[(&str, &str)]) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (key, value) in
            [("action", &self.action), ("actor", &self.actor), ("since", &self.since), ("until", &self.until)]
        {
            if !value.is_empty() {
                query.append_pair(key, value);
            }
        }
        for (key, value) in extra {
            query.append_pair(key, value);
        }
        query.finish()
    }
}

/// The RFC 3339 start of the UTC day `days_later` after `day`; anything not a day is passed on
/// as it is, for the API's check to refuse.
fn day_start(day: &str, days_later: i64) -> String {
    day.parse::<jiff::civil::Date>()
        .ok()
        .and_then(|date| date.checked_add(jiff::Span::new().days(days_later)).ok())
        .map_or_else(|| day.to_owned(), |date| format!("{date}T00:00:00Z"))
}

/// Member names by actor (`user:usr_…`), for the rows and the actor filter.
async fn member_names(state: &AppState, scope: &TenantScope) -> Result<Vec<(String, String)>, UiError> {
    let mut names = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = state.store.members(scope, PageRequest { limit: MEMBERS_PER_READ, after: after.as_deref() }).await?;
        names.extend(page.items.into_iter().map(|member| (format!("user:{}", member.user_id), member.name)));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    names.sort_by_cached_key(|(_, name)| name.to_lowercase());
    Ok(names)
}

/// One entry as a row.
struct EntryRow {
    at: String,
    actor: String,
    action: String,
    target: String,
    ip: String,
    /// The entry's metadata as indented JSON, when it has any.
    metadata: Option<String>,
}

impl EntryRow {
    fn new(entry: AuditEntry, names: &HashMap<&str, &str>) -> EntryRow {
        let actor = match &entry.actor_id {
            Some(id) => {
                let key = format!("{}:{id}", entry.actor_type);
                names.get(key.as_str()).map_or(key.clone(), |name| format!("{name} ({key})"))
            }
            None => entry.actor_type.clone(),
        };
        let has_metadata = entry.metadata.as_object().is_some_and(|fields| !fields.is_empty());
        EntryRow {
            at: utc_minute(entry.created_at),
            actor,
            action: entry.action,
            target: match (entry.target_type, entry.target_id) {
                (Some(kind), Some(id)) => format!("{kind}:{id}"),
                (Some(kind), None) => kind,
                _ => String::new(),
            },
            ip: entry.ip.unwrap_or_default(),
            metadata: has_metadata.then(|| serde_json::to_string_pretty(&entry.metadata).unwrap_or_default()),
        }
    }
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    shell: Shell,
    section: &'static str,
    actions: Vec<&'static str>,
    actors: Vec<(String, String)>,
    query: AuditPageQuery,
    /// Whether any filter is set, for the empty state.
    filtered: bool,
    entries: Vec<EntryRow>,
    errors: FormErrors,
    next_url: Option<String>,
    newest_url: Option<String>,
}

async fn audit_page(
    State(state): State<AppState>,
    page: Page<AuditRead>,
    RawQuery(raw): RawQuery,
) -> Result<Response, UiError> {
    let query: AuditPageQuery = match raw {
        Some(raw) => serde_urlencoded::from_str(&raw)
            .map_err(|e| UiError::BadRequest(format!("the address is malformed: {e}")))?,
        None => AuditPageQuery::default(),
    };
    let (limit, after) = PageQuery { limit: Some(ENTRIES_PER_PAGE), cursor: query.cursor.clone() }.decode()?;
    let members = member_names(&state, &page.auth.scope).await?;
    let names: HashMap<&str, &str> = members.iter().map(|(actor, name)| (actor.as_str(), name.as_str())).collect();
    let base = format!("/w/{}/audit", page.shell.slug());
    let (entries, next_url, errors, status) =
        match audit_log_page(&state, &page.auth.scope, &query.api_query(), request(limit, &after)).await {
            Ok(found) => {
                let found = PageOut::from_page(found, |entry| EntryRow::new(entry, &names));
                let next =
                    found.next_cursor.map(|cursor| format!("{base}?{}", query.query_string(&[("cursor", &cursor)])));
                (found.items, next, FormErrors::default(), StatusCode::OK)
            }
            Err(error) => {
                let status = error.status();
                (Vec::new(), None, FormErrors::from_api(error)?, status)
            }
        };
    let mut actors = members.clone();
    actors.extend(OTHER_ACTORS.iter().map(|(actor, label)| ((*actor).to_owned(), (*label).to_owned())));
    let view = AuditPage {
        section: "audit",
        actions: AuditAction::ALL.iter().map(|action| action.as_str()).collect(),
        actors,
        filtered: !query.query_string(&[]).is_empty(),
        newest_url: query.cursor.is_some().then(|| format!("{base}?{}", query.query_string(&[]))),
        query,
        entries,
        errors,
        next_url,
        shell: page.shell,
    };
    render_with(status, &view)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_become_the_api_time_range() {
        assert_eq!(day_start("2026-12-05", 0), "2026-12-05T00:00:00Z");
        assert_eq!(day_start("2026-12-31", 1), "2027-01-01T00:00:00Z");
        assert_eq!(day_start("yesterday", 1), "yesterday", "left for the API's check to refuse");
    }
}
