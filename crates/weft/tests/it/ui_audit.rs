//! The audit log page: entries with their actors, filtered by action, actor and day, paged;
//! workspace isolation and escaping.

use serde_json::{Value, json};
use weft_testkit::{TEST_PASSWORD, TestApp, UiSession, backend_test, expect_status};

/// The part of the page that lists entries (the filters above it name every action).
fn listed(body: &str) -> &str {
    body.split_once("<table class=\"audit-table\">").map_or("", |(_, list)| list)
}

backend_test!(
    async fn the_audit_log_filters_by_action_actor_and_day(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("owner@example.com").await;
        app.new_workflow(&ws, "Audited").await;
        let (_, key) = app.new_api_key(&ws, &["workflows:read"]).await;
        let mut ui = UiSession::sign_in(&app, "owner@example.com", TEST_PASSWORD).await;
        let audit = format!("/w/{}/audit", ws.slug);

        let all = ui.get(&audit).await;
        assert_eq!(all.status, 200, "{}", all.body);
        let rows = listed(&all.body);
        assert!(rows.contains("workflow.created") && rows.contains("api_key.created"), "{rows}");
        assert!(rows.contains(&format!("Test User (user:{})", ws.owner.id)), "actors by name: {rows}");
        assert!(rows.contains(" UTC"), "{rows}");

        let keys = ui.get(&format!("{audit}?action=api_key.created")).await;
        let rows = listed(&keys.body);
        assert!(rows.contains(&key) && !rows.contains("workflow.created"), "{rows}");
        assert!(keys.body.contains("<option value=\"api_key.created\" selected>"), "the filter stays chosen");

        let by_owner = ui.get(&format!("{audit}?actor=user:{}", ws.owner.id)).await;
        assert!(listed(&by_owner.body).contains("workflow.created"), "{}", by_owner.body);
        let by_system = ui.get(&format!("{audit}?actor=system&action=workflow.created")).await;
        assert!(by_system.body.contains("No entries match these filters"), "{}", by_system.body);

        let today = jiff::Timestamp::now().strftime("%Y-%m-%d").to_string();
        let on_today = ui.get(&format!("{audit}?since={today}&until={today}")).await;
        assert!(listed(&on_today.body).contains("workflow.created"), "{}", on_today.body);
        let long_ago = ui.get(&format!("{audit}?until=2001-01-01")).await;
        assert!(long_ago.body.contains("No entries match these filters"), "{}", long_ago.body);
        let nonsense = ui.get(&format!("{audit}?since=someday")).await;
        assert_eq!(nonsense.status, 422);
        assert!(nonsense.body.contains("From: must be an RFC 3339 time"), "{}", nonsense.body);
    }
);

backend_test!(
    async fn the_audit_log_pages_through_older_entries(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("owner@example.com").await;
        for n in 0..50 {
            app.new_workflow(&ws, &format!("Flow {n}")).await;
        }
        let mut ui = UiSession::sign_in(&app, "owner@example.com", TEST_PASSWORD).await;
        let first = ui.get(&format!("/w/{}/audit", ws.slug)).await;
        assert_eq!(listed(&first.body).matches("<tr>").count(), 50 + 1, "50 rows and the head");
        let older = first.body.split("href=\"").find(|rest| rest.contains("cursor=")).expect("an Older entries link");
        let older = older.split('"').next().expect("link end").replace("&#38;", "&");
        let second = ui.get(&older).await;
        assert_eq!(second.status, 200, "{}", second.body);
        assert!(listed(&second.body).contains("workspace.created"), "the oldest entries: {}", second.body);
        assert!(second.body.contains("Newest entries"));
    }
);

backend_test!(
    async fn another_workspace_audit_log_is_not_found_and_entries_render_inert(backend) {
        let app = TestApp::spawn(backend).await;
        let ours = app.new_workspace("ours@example.com").await;
        let theirs = app.new_workspace("theirs@example.com").await;
        let hostile = "<script>alert(1)</script>";
        let renamed = app.patch(&ours.path(""), Some(&ours.owner.access_token), &json!({ "name": hostile })).await;
        expect_status::<Value>(renamed, 200).await;
        let mut ui = UiSession::sign_in(&app, "ours@example.com", TEST_PASSWORD).await;
        let page = ui.get(&format!("/w/{}/audit", ours.slug)).await;
        assert_eq!(page.status, 200);
        assert!(!page.body.contains(hostile), "{}", page.body);
        let foreign = ui.get(&format!("/w/{}/audit", theirs.slug)).await;
        assert_eq!(foreign.status, 404);
        assert!(foreign.body.contains("Nothing here"), "{}", foreign.body);
    }
);
