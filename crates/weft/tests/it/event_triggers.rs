//! Event triggers: a published workflow with an `event_trigger` runs for each workspace event of
//! its types, queued in the transaction that records the event, and never sets itself off.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use weft_http::api::page::PageOut;
use weft_http::api::runs::RunOut;
use weft_testkit::{TestApp, TestWorkspace, backend_test, expect_status};

async fn create(app: &TestApp, ws: &TestWorkspace, name: &str, nodes: Value, connections: Value) -> String {
    let token = Some(ws.owner.access_token.as_str());
    let body = json!({"name": name, "nodes": nodes, "connections": connections});
    let created: Value = expect_status(app.post(&ws.path("/workflows"), token, &body).await, 201).await;
    assert_eq!(created["version"]["problems"], json!([]), "the test workflow must be valid");
    created["id"].as_str().unwrap().to_owned()
}

async fn publish(app: &TestApp, ws: &TestWorkspace, workflow: &str) {
    let path = ws.path(&format!("/workflows/{workflow}/publish"));
    expect_status::<Value>(app.post(&path, Some(&ws.owner.access_token), &json!({"version": 1})).await, 200).await;
}

/// A published workflow that starts on `events` and records the event's type and run.
async fn listener(app: &TestApp, ws: &TestWorkspace, events: Value, then_fail: bool) -> String {
    let mut nodes = vec![
        json!({"name": "On event", "type": "event_trigger", "params": {"events": events}}),
        json!({"name": "Note", "type": "set", "params": {"assignments": [
            {"name": "seen", "value": "{{ $json.type }}"}, {"name": "about", "value": "{{ $json.data.run.id }}"}]}}),
    ];
    let mut connections = vec![json!({"from": "On event", "to": "Note"})];
    if then_fail {
        nodes.push(json!({"name": "Fail", "type": "stop_and_error", "params": {"message": "listener fails too"}}));
        connections.push(json!({"from": "Note", "to": "Fail"}));
    }
    let id = create(app, ws, "Listener", json!(nodes), json!(connections)).await;
    publish(app, ws, &id).await;
    id
}

async fn runs_of(app: &TestApp, ws: &TestWorkspace, workflow: &str) -> Vec<RunOut> {
    let path = ws.path(&format!("/runs?workflow={workflow}"));
    let page: PageOut<RunOut> = expect_status(app.get(&path, Some(&ws.owner.access_token)).await, 200).await;
    page.items
}

/// Waits until the workflow has `count` finished runs; returns them.
async fn finished_runs(app: &TestApp, ws: &TestWorkspace, workflow: &str, count: usize) -> Vec<RunOut> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let runs = runs_of(app, ws, workflow).await;
        let done = runs.iter().filter(|run| run.finished_at.is_some()).count();
        if done >= count {
            return runs;
        }
        assert!(Instant::now() < deadline, "{workflow} has {done} finished runs, not {count}: {runs:?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn failing_run(app: &TestApp, ws: &TestWorkspace) -> String {
    let nodes = json!([{"name": "Start", "type": "manual_trigger"},
        {"name": "Boom", "type": "stop_and_error", "params": {"message": "out of stock"}}]);
    let failing = create(app, ws, "Failing", nodes, json!([{"from": "Start", "to": "Boom"}])).await;
    publish(app, ws, &failing).await;
    let path = ws.path(&format!("/workflows/{failing}/runs"));
    let started: Value = expect_status(app.post(&path, Some(&ws.owner.access_token), &json!({})).await, 202).await;
    started["run_id"].as_str().unwrap().to_owned()
}

backend_test! {
    async fn a_failed_run_starts_the_workflows_listening_for_run_failed(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        let listening = listener(&app, &ws, json!(["run.failed"]), false).await;
        let other_event = listener(&app, &ws, json!(["run.cancelled"]), false).await;

        let failed = failing_run(&app, &ws).await;
        let runs = finished_runs(&app, &ws, &listening, 1).await;
        assert_eq!(runs.len(), 1);
        let run = &runs[0];
        assert_eq!((run.status.as_str(), run.trigger.as_str()), ("succeeded", "event"));
        assert_eq!(run.input["type"], "run.failed");
        assert!(run.input["id"].as_str().unwrap().starts_with("evt_"));
        let note = &run.output.as_ref().unwrap()["Note"][0];
        assert_eq!((note["seen"].as_str(), note["about"].as_str()), (Some("run.failed"), Some(failed.as_str())));
        assert!(runs_of(&app, &ws, &other_event).await.is_empty());
    }
}

backend_test! {
    async fn an_event_run_that_fails_does_not_start_itself_again(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        let listening = listener(&app, &ws, json!(["run.failed"]), true).await;
        failing_run(&app, &ws).await;
        let runs = finished_runs(&app, &ws, &listening, 1).await;
        assert_eq!(runs[0].status, "failed");
        // Its own failure is a run.failed event too; it must not start it again.
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert_eq!(runs_of(&app, &ws, &listening).await.len(), 1);
    }
}

backend_test! {
    async fn unpublishing_stops_an_event_trigger_and_workflow_events_start_runs(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        let token = Some(ws.owner.access_token.as_str());
        let on_publish = listener(&app, &ws, json!(["workflow.published"]), false).await;
        let nodes = json!([{"name": "Start", "type": "manual_trigger"}]);
        let other = create(&app, &ws, "Other", nodes, json!([])).await;
        let publishing = Instant::now();
        publish(&app, &ws, &other).await;
        // Its own publication is an event too: two runs.
        let runs = finished_runs(&app, &ws, &on_publish, 2).await;
        // The publish rang the runners; they did not wait for their 5 s poll.
        assert!(publishing.elapsed() < Duration::from_millis(2500), "{:?}", publishing.elapsed());
        let published: Vec<&Value> = runs.iter().map(|run| &run.input["data"]["workflow"]["id"]).collect();
        assert!(published.contains(&&json!(other)) && published.contains(&&json!(on_publish)), "{published:?}");

        let unpublish = ws.path(&format!("/workflows/{on_publish}/unpublish"));
        expect_status::<Value>(app.post(&unpublish, token, &json!({})).await, 200).await;
        publish(&app, &ws, &other).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(runs_of(&app, &ws, &on_publish).await.len(), 2);
    }
}
