//! The runs list page: filters, pages, workspace isolation and escaping. The live updates are
//! driven in Chromium by `ui_browser_runs`.

use serde_json::{Value, json};
use weft_testkit::{TEST_PASSWORD, TestApp, TestWorkspace, UiSession, backend_test, expect_status};

use crate::runs::finished;

/// A workflow (trigger → `stop_and_error`) whose runs fail; returns its id.
pub(crate) async fn failing_workflow(app: &TestApp, ws: &TestWorkspace, name: &str) -> String {
    let body = json!({
        "name": name,
        "nodes": [{"name": "Start", "type": "manual_trigger"},
                  {"name": "Stop", "type": "stop_and_error", "params": {"message": "no"}}],
        "connections": [{"from": "Start", "to": "Stop"}],
    });
    let created: Value =
        expect_status(app.post(&ws.path("/workflows"), Some(&ws.owner.access_token), &body).await, 201).await;
    created["id"].as_str().expect("workflow id").to_owned()
}

/// Starts a run of version 1 of `workflow` through the API; returns its id.
pub(crate) async fn start_run(app: &TestApp, ws: &TestWorkspace, workflow: &str) -> String {
    let path = ws.path(&format!("/workflows/{workflow}/runs"));
    let started: Value =
        expect_status(app.post(&path, Some(&ws.owner.access_token), &json!({"version": 1})).await, 202).await;
    started["run_id"].as_str().expect("run id").to_owned()
}

/// The part of the runs page that lists runs (the filters above it name every workflow).
fn listed(body: &str) -> &str {
    body.split_once("id=\"runs\"").map_or("", |(_, list)| list)
}

backend_test!(
    async fn the_runs_list_filters_by_status_and_workflow(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("owner@example.com").await;
        let mut ui = UiSession::sign_in(&app, "owner@example.com", TEST_PASSWORD).await;
        let empty = ui.get(&format!("/w/{}/runs", ws.slug)).await;
        assert_eq!(empty.status, 200);
        assert!(empty.body.contains("No runs yet"), "{}", empty.body);
        assert!(empty.body.contains(&format!("href=\"/w/{}/workflows\"", ws.slug)), "the empty state leads on");

        let greeter = app.new_workflow(&ws, "Greeter").await;
        let breaker = failing_workflow(&app, &ws, "Breaker").await;
        let good = start_run(&app, &ws, &greeter).await;
        let bad = start_run(&app, &ws, &breaker).await;
        assert_eq!(finished(&app, &ws, &good).await.status, "succeeded");
        assert_eq!(finished(&app, &ws, &bad).await.status, "failed");

        let all = ui.get(&format!("/w/{}/runs", ws.slug)).await;
        let rows = listed(&all.body);
        for (run, name) in [(&good, "Greeter"), (&bad, "Breaker")] {
            assert!(rows.contains(&format!("href=\"/w/{}/runs/{run}\"", ws.slug)), "{run} is linked: {rows}");
            assert!(rows.contains(name), "{rows}");
        }
        assert!(rows.contains("badge-succeeded") && rows.contains("badge-failed"), "{rows}");
        assert!(rows.contains("manual") && rows.contains(" UTC"), "trigger and start time: {rows}");
        assert!(all.body.contains("data-live=\"/w/"), "the newest page stays live");

        let failed = ui.get(&format!("/w/{}/runs?status=failed", ws.slug)).await;
        let rows = listed(&failed.body);
        assert!(rows.contains(&bad) && !rows.contains(&good), "{rows}");
        assert!(failed.body.contains("<option value=\"failed\" selected>"), "the filter stays chosen");

        let greeter_runs = ui.get(&format!("/w/{}/runs?workflow={greeter}&status=", ws.slug)).await;
        let rows = listed(&greeter_runs.body);
        assert!(rows.contains(&good) && !rows.contains(&bad), "{rows}");

        let none = ui.get(&format!("/w/{}/runs?status=cancelled", ws.slug)).await;
        assert!(listed(&none.body).contains("No runs match these filters"), "{}", none.body);

        let nonsense = ui.get(&format!("/w/{}/runs?status=exploded", ws.slug)).await;
        assert_eq!(nonsense.status, 422, "{}", nonsense.body);
    }
);

backend_test!(
    async fn the_runs_list_pages_through_older_runs(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("owner@example.com").await;
        let workflow = app.new_workflow(&ws, "Busy").await;
        let mut started = Vec::new();
        for _ in 0..51 {
            started.push(start_run(&app, &ws, &workflow).await);
        }
        let mut ui = UiSession::sign_in(&app, "owner@example.com", TEST_PASSWORD).await;
        let first = ui.get(&format!("/w/{}/runs", ws.slug)).await;
        assert_eq!(listed(&first.body).matches("class=\"badge ").count(), 50, "{}", first.body);
        assert!(!listed(&first.body).contains(&started[0]), "the oldest run is on the next page");
        let older = first.body.split("href=\"").find(|rest| rest.contains("cursor=")).expect("an Older runs link");
        let older = older.split('"').next().expect("link end").replace("&#38;", "&");
        let second = ui.get(&older).await;
        assert_eq!(second.status, 200, "{}", second.body);
        let rows = listed(&second.body);
        assert_eq!(rows.matches("class=\"badge ").count(), 1, "{rows}");
        assert!(rows.contains(&started[0]), "{rows}");
        assert!(second.body.contains("Newest runs") && !second.body.contains("data-live"), "older pages stand still");
    }
);

backend_test!(
    async fn another_workspace_runs_are_a_not_found_page_and_names_render_inert(backend) {
        let app = TestApp::spawn(backend).await;
        let ours = app.new_workspace("ours@example.com").await;
        let theirs = app.new_workspace("theirs@example.com").await;
        let hostile = "<img src=x onerror=alert(1)>";
        let workflow = app.new_workflow(&ours, hostile).await;
        let run = start_run(&app, &ours, &workflow).await;
        finished(&app, &ours, &run).await;
        let mut ui = UiSession::sign_in(&app, "ours@example.com", TEST_PASSWORD).await;
        let page = ui.get(&format!("/w/{}/runs", ours.slug)).await;
        assert_eq!(page.status, 200);
        assert!(!page.body.contains(hostile), "the name is not escaped: {}", page.body);
        assert!(page.body.contains("&#60;img src=x onerror=alert(1)&#62;"), "{}", page.body);
        for path in [format!("/w/{}/runs", theirs.slug), format!("/w/{}/runs/live", theirs.slug)] {
            let page = ui.get(&path).await;
            assert_eq!(page.status, 404, "{path}");
            assert!(page.body.contains("Nothing here"), "{path}: {}", page.body);
        }
    }
);
