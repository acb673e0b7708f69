//! The dashboard: its counting query in the store, and the page with its charts, failures and
//! usage; small, isolated and escaped.
// The store test stands in for the credential checks: it scopes itself to the workspaces it makes.
#![allow(clippy::disallowed_methods)]

use serde_json::{Value, json};
use weft_store::{RunEnd, RunTally, now_ms};
use weft_testkit::{TEST_PASSWORD, TestApp, TestDb, UiSession, backend_test, expect_status};

use crate::runs::finished;
use crate::runs_store::{claim_one, enqueue, tenant};
use crate::ui_runs::{failing_workflow, start_run};

const HOUR_MS: i64 = 3_600_000;

backend_test!(
    async fn run_tallies_count_outcomes_per_bucket_of_one_workspace(backend) {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        let ours = tenant(&store, "ours").await;
        let theirs = tenant(&store, "theirs").await;
        let before = now_ms();
        for end in [Some("ok"), Some("ok"), Some("bad"), None] {
            enqueue(&store, &ours).await;
            let claimed = claim_one(&store, "worker").await;
            let output = json!({});
            let error = json!({"message": "no"});
            match end {
                Some("ok") => drop(store.finish_run(&claimed, RunEnd::Succeeded { output: &output }).await.unwrap()),
                Some(_) => drop(store.finish_run(&claimed, RunEnd::Failed { error: &error }).await.unwrap()),
                None => {}
            }
        }
        enqueue(&store, &theirs).await;

        // Counted from five and a half hours ago by the hour, the runs fall in bucket 5.
        let since = before - 5 * HOUR_MS - HOUR_MS / 2;
        let tallies = store.run_tallies(&ours.scope, since, HOUR_MS).await.unwrap();
        assert_eq!(tallies, [RunTally { bucket: 5, succeeded: 2, failed: 1, total: 4 }]);
        let all = store.run_tallies(&ours.scope, 0, i64::MAX).await.unwrap();
        assert_eq!(all, [RunTally { bucket: 0, succeeded: 2, failed: 1, total: 4 }]);
        let theirs_all = store.run_tallies(&theirs.scope, 0, i64::MAX).await.unwrap();
        assert_eq!(theirs_all, [RunTally { bucket: 0, succeeded: 0, failed: 0, total: 1 }]);
        assert!(store.run_tallies(&ours.scope, now_ms() + HOUR_MS, HOUR_MS).await.unwrap().is_empty());
        assert!(store.run_tallies(&ours.scope, 0, 0).await.is_err(), "a bucket has a width");
    }
);

backend_test!(
    async fn the_dashboard_charts_runs_and_links_recent_failures(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("owner@example.com").await;
        let mut ui = UiSession::sign_in(&app, "owner@example.com", TEST_PASSWORD).await;
        let empty = ui.get(&format!("/w/{}", ws.slug)).await;
        assert_eq!(empty.status, 200);
        assert!(empty.body.contains("No workflows yet"), "{}", empty.body);

        let greeter = app.new_workflow(&ws, "Greeter").await;
        let publish = ws.path(&format!("/workflows/{greeter}/publish"));
        expect_status::<Value>(app.post(&publish, Some(&ws.owner.access_token), &json!({"version": 1})).await, 200)
            .await;
        let breaker = failing_workflow(&app, &ws, "Breaker").await;
        let mut last_failure = String::new();
        for round in 0..30 {
            let run = start_run(&app, &ws, if round % 3 == 0 { &breaker } else { &greeter }).await;
            if round % 3 == 0 {
                last_failure = run;
            }
        }
        assert_eq!(finished(&app, &ws, &last_failure).await.status, "failed");
        let runs: Value = expect_status(app.get(&ws.path("/runs?limit=200"), Some(&ws.owner.access_token)).await, 200).await;
        for run in runs["items"].as_array().expect("runs") {
            finished(&app, &ws, run["id"].as_str().expect("run id")).await;
        }

        let page = ui.get(&format!("/w/{}", ws.slug)).await;
        assert_eq!(page.status, 200);
        let body = &page.body;
        assert!(body.len() < 100 * 1024, "the dashboard is {} bytes", body.len());
        assert!(body.contains("class=\"bar-ok\"") && body.contains("class=\"bar-bad\""), "{body}");
        assert!(body.contains("30 runs: 20 succeeded, 10 failed."), "the text summary: {body}");
        assert!(body.contains(": 20 succeeded, 10 failed</title>"), "a bar's hover title: {body}");
        assert!(body.contains("Runs per hour, last 24 hours") && body.contains("Runs per day, last 7 days"));
        assert!(body.contains(&format!("href=\"/w/{}/runs/{last_failure}\"", ws.slug)), "a failure is linked");
        assert!(body.contains(&format!("href=\"/w/{}/workflows/{greeter}\"", ws.slug)), "the published workflow");
        assert!(body.contains("<div class=\"stat\">30</div>"), "runs this month: {body}");
        assert!(!body.contains("style="), "no inline styles under the CSP");
    }
);

backend_test!(
    async fn another_workspace_dashboard_is_a_not_found_page_and_names_render_inert(backend) {
        let app = TestApp::spawn(backend).await;
        let ours = app.new_workspace("ours@example.com").await;
        let theirs = app.new_workspace("theirs@example.com").await;
        let hostile = "<script>alert(1)</script>";
        let breaker = failing_workflow(&app, &ours, hostile).await;
        let run = start_run(&app, &ours, &breaker).await;
        finished(&app, &ours, &run).await;
        let mut ui = UiSession::sign_in(&app, "ours@example.com", TEST_PASSWORD).await;
        let page = ui.get(&format!("/w/{}", ours.slug)).await;
        assert!(!page.body.contains(hostile), "{}", page.body);
        assert!(page.body.contains("&#60;script&#62;alert(1)&#60;/script&#62;"), "{}", page.body);
        let foreign = ui.get(&format!("/w/{}", theirs.slug)).await;
        assert_eq!(foreign.status, 404);
        assert!(foreign.body.contains("Nothing here"), "{}", foreign.body);
    }
);
