//! Runs executed end to end by the worker inside `weft serve`: branches, failures, retries,
//! error routing, and the runs API.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use weft_http::Problem;
use weft_http::api::page::PageOut;
use weft_http::api::runs::{RunOut, RunStartedOut, StepOut};
use weft_testkit::{TestApp, TestWorkspace, backend_test, expect_status};

/// Creates and publishes a workflow; returns its id.
pub(crate) async fn published(app: &TestApp, ws: &TestWorkspace, nodes: Value, connections: Value) -> String {
    published_definition(app, ws, json!({"name": "Flow", "nodes": nodes, "connections": connections})).await
}

/// Creates and publishes a workflow from its whole body; returns its id.
async fn published_definition(app: &TestApp, ws: &TestWorkspace, body: Value) -> String {
    let token = Some(ws.owner.access_token.as_str());
    let created: Value = expect_status(app.post(&ws.path("/workflows"), token, &body).await, 201).await;
    assert_eq!(created["version"]["problems"], json!([]), "the test workflow must be valid");
    let id = created["id"].as_str().unwrap().to_owned();
    let publish = ws.path(&format!("/workflows/{id}/publish"));
    expect_status::<Value>(app.post(&publish, token, &json!({"version": 1})).await, 200).await;
    id
}

pub(crate) async fn start(app: &TestApp, ws: &TestWorkspace, workflow: &str, input: Value) -> String {
    let path = ws.path(&format!("/workflows/{workflow}/runs"));
    let started: RunStartedOut =
        expect_status(app.post(&path, Some(&ws.owner.access_token), &json!({"input": input})).await, 202).await;
    started.run_id
}

/// Polls until the run ends; the worker runs in the app's process.
pub(crate) async fn finished(app: &TestApp, ws: &TestWorkspace, run: &str) -> RunOut {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out: RunOut =
            expect_status(app.get(&ws.path(&format!("/runs/{run}")), Some(&ws.owner.access_token)).await, 200).await;
        if !["queued", "running", "waiting"].contains(&out.status.as_str()) {
            return out;
        }
        assert!(Instant::now() < deadline, "run {run} did not finish: {out:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn steps(app: &TestApp, ws: &TestWorkspace, run: &str) -> Vec<StepOut> {
    let path = ws.path(&format!("/runs/{run}/steps"));
    let page: PageOut<StepOut> = expect_status(app.get(&path, Some(&ws.owner.access_token)).await, 200).await;
    page.items
}

fn branching_workflow() -> (Value, Value) {
    let nodes = json!([
        {"name": "Start", "type": "manual_trigger"},
        {"name": "Tag", "type": "set", "params": {"assignments": [{"name": "seen", "value": true}]}},
        {"name": "Big?", "type": "if", "params": {"conditions": [{"left": "{{ $json.amount }}", "operator": "gt", "right": 100}]}},
        {"name": "Big", "type": "set", "params": {"assignments": [{"name": "size", "value": "big"}]}},
        {"name": "Small", "type": "set", "params": {"assignments": [{"name": "size", "value": "small"}]}},
    ]);
    let connections = json!([
        {"from": "Start", "to": "Tag"},
        {"from": "Tag", "to": "Big?"},
        {"from": "Big?", "output": 0, "to": "Big"},
        {"from": "Big?", "output": 1, "to": "Small"},
    ]);
    (nodes, connections)
}

backend_test! {
    async fn a_run_executes_every_reachable_node_and_records_each_step(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        let nodes = json!([
            {"name": "Start", "type": "manual_trigger"},
            {"name": "Tag", "type": "set", "params": {"assignments": [{"name": "seen", "value": true}]}},
            {"name": "Only big", "type": "filter", "params": {"conditions": [{"left": "amount", "operator": "exists"}]}},
            {"name": "Sorted", "type": "sort", "params": {"fields": [{"field": "amount", "order": "desc"}]}},
        ]);
        let connections = json!([
            {"from": "Start", "to": "Tag"},
            {"from": "Tag", "to": "Sorted"},
        ]);
        let workflow = published(&app, &ws, nodes, connections).await;
        let run = start(&app, &ws, &workflow, json!([{"amount": 5}, {"amount": 50}])).await;
        let out = finished(&app, &ws, &run).await;
        assert_eq!(out.status, "succeeded", "{out:?}");
        assert_eq!(out.output, Some(json!({"Sorted": [{"amount": 50, "seen": true}, {"amount": 5, "seen": true}]})));
        assert!(out.duration_ms.is_some());

        let steps = steps(&app, &ws, &run).await;
        let nodes: Vec<&str> = steps.iter().map(|s| s.node.as_str()).collect();
        assert_eq!(nodes, ["Tag", "Sorted"], "the unconnected node never runs; the trigger is the plan's");
        assert!(steps.iter().all(|s| s.status == "succeeded" && s.attempt == 1));
        assert_eq!(steps[0].input, Some(json!([[{"json": {"amount": 5}}, {"json": {"amount": 50}}]])));
    }
}

backend_test! {
    async fn a_failing_node_fails_the_run_and_names_itself(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        let nodes = json!([
            {"name": "Start", "type": "manual_trigger"},
            {"name": "Stop", "type": "stop_and_error", "params": {"message": "the order is incomplete"}},
            {"name": "Elsewhere", "type": "no_op"},
        ]);
        let connections = json!([{"from": "Start", "to": "Stop"}, {"from": "Start", "to": "Elsewhere"}]);
        let workflow = published(&app, &ws, nodes, connections).await;
        let run = start(&app, &ws, &workflow, json!({})).await;
        let out = finished(&app, &ws, &run).await;
        assert_eq!(out.status, "failed");
        assert_eq!(out.error, Some(json!({"node": "Stop", "message": "the order is incomplete"})));
        let steps = steps(&app, &ws, &run).await;
        let failed: Vec<_> = steps.iter().filter(|s| s.status == "failed").collect();
        assert_eq!(failed.len(), 1, "{steps:?}");
        assert_eq!(failed[0].error, Some(json!({"message": "the order is incomplete"})));
    }
}

backend_test! {
    async fn retries_then_continue_and_error_output_route_a_failure(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        let retry = json!({"max_attempts": 3, "backoff": {"kind": "exponential", "initial_ms": 5, "max_ms": 20}});
        // Reading a property of something missing throws: a dependable failure.
        let failing = json!({"assignments": [{"name": "x", "value": "{{ $json.missing.deep }}"}]});
        let nodes = json!([
            {"name": "Start", "type": "manual_trigger"},
            {"name": "Flaky", "type": "set", "params": failing, "retry": retry, "on_error": "continue"},
            {"name": "Routed", "type": "set", "params": failing, "on_error": "error_output"},
            {"name": "Handled", "type": "set", "params": {"assignments": [{"name": "handled", "value": true}]}},
        ]);
        let connections = json!([
            {"from": "Start", "to": "Flaky"},
            {"from": "Flaky", "to": "Routed"},
            {"from": "Routed", "output": 1, "to": "Handled"},
        ]);
        let workflow = published(&app, &ws, nodes, connections).await;
        let run = start(&app, &ws, &workflow, json!({"id": 7})).await;
        let out = finished(&app, &ws, &run).await;
        assert_eq!(out.status, "succeeded", "{out:?}");
        let handled = &out.output.expect("output")["Handled"][0];
        assert_eq!((&handled["id"], &handled["handled"]), (&json!(7), &json!(true)), "{handled}");
        assert!(handled["error"]["message"].as_str().unwrap().contains("Routed"), "the error names the node: {handled}");

        let steps = steps(&app, &ws, &run).await;
        let flaky: Vec<(i64, &str)> =
            steps.iter().filter(|s| s.node == "Flaky").map(|s| (s.attempt, s.status.as_str())).collect();
        assert_eq!(flaky, [(1, "failed"), (2, "failed"), (3, "failed")], "three attempts, then continue");
    }
}

backend_test! {
    async fn expressions_route_each_item_down_its_branch(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        let (nodes, connections) = branching_workflow();
        let workflow = published(&app, &ws, nodes, connections).await;
        let run = start(&app, &ws, &workflow, json!([{"amount": 500}, {"amount": 5}, {"amount": 101}])).await;
        let out = finished(&app, &ws, &run).await;
        assert_eq!(out.status, "succeeded", "{out:?}");
        let output = out.output.unwrap();
        let amounts = |node: &str| output[node].as_array().unwrap().iter().map(|i| i["amount"].clone()).collect::<Vec<_>>();
        assert_eq!(amounts("Big"), [json!(500), json!(101)]);
        assert_eq!(amounts("Small"), [json!(5)]);
        assert!(output["Big"].as_array().unwrap().iter().all(|i| i["size"] == "big" && i["seen"] == true));
    }
}

backend_test! {
    async fn expressions_read_other_nodes_the_run_and_the_workflow(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        let nodes = json!([
            {"name": "Start", "type": "manual_trigger"},
            {"name": "Prices", "type": "set", "params": {"assignments": [{"name": "price", "value": "{{ $json.qty * 3 }}"}]}},
            {"name": "Report", "type": "set", "params": {"keep_only": true, "assignments": [
                {"name": "total", "value": "{{ $('Prices').all().reduce((sum, i) => sum + i.json.price, 0) }}"},
                {"name": "first_qty", "value": "{{ $node[\"Start\"].json.qty }}"},
                {"name": "label", "value": "{{ $workflow.name }} run {{ $execution.id.slice(0, 4) }}"},
            ]}},
        ]);
        let connections = json!([{"from": "Start", "to": "Prices"}, {"from": "Prices", "to": "Report"}]);
        let workflow = published(&app, &ws, nodes, connections).await;
        let run = start(&app, &ws, &workflow, json!([{"qty": 1}, {"qty": 2}])).await;
        let out = finished(&app, &ws, &run).await;
        assert_eq!(out.status, "succeeded", "{out:?}");
        let report = &out.output.unwrap()["Report"][0];
        assert_eq!(report["total"], 9);
        assert_eq!(report["first_qty"], 1, "$node reads the trigger's first item");
        assert_eq!(report["label"], "Flow run run_");
    }
}

backend_test! {
    async fn starting_needs_a_published_or_named_valid_version(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        let token = Some(ws.owner.access_token.as_str());
        let workflow = app.new_workflow(&ws, "Draft").await;
        let runs = ws.path(&format!("/workflows/{workflow}/runs"));
        let unpublished: Problem = expect_status(app.post(&runs, token, &json!({})).await, 409).await;
        assert!(unpublished.detail.contains("publish"), "{}", unpublished.detail);
        let missing: Problem = expect_status(app.post(&runs, token, &json!({"version": 4})).await, 422).await;
        assert_eq!(missing.errors[0].pointer, "/version");
        let bad_input: Problem = expect_status(app.post(&runs, token, &json!({"version": 1, "input": 3})).await, 422).await;
        assert_eq!(bad_input.errors[0].pointer, "/input");

        let versions = ws.path(&format!("/workflows/{workflow}/versions"));
        expect_status::<Value>(app.post(&versions, token, &json!({"nodes": []})).await, 201).await;
        let invalid: Problem = expect_status(app.post(&runs, token, &json!({"version": 2})).await, 422).await;
        assert_eq!(invalid.errors[0].pointer, "/nodes");

        let started: RunStartedOut = expect_status(app.post(&runs, token, &json!({"version": 1})).await, 202).await;
        let out = finished(&app, &ws, &started.run_id).await;
        assert_eq!((out.status.as_str(), out.version, out.trigger.as_str()), ("succeeded", 1, "manual"));
    }
}

backend_test! {
    async fn runs_are_listed_by_workflow_and_status_and_finished_ones_deleted(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        let token = Some(ws.owner.access_token.as_str());
        let ok = published(&app, &ws, json!([{"name": "Start", "type": "manual_trigger"}]), json!([])).await;
        let bad = published(
            &app,
            &ws,
            json!([{"name": "Start", "type": "manual_trigger"}, {"name": "Stop", "type": "stop_and_error", "params": {"message": "no"}}]),
            json!([{"from": "Start", "to": "Stop"}]),
        )
        .await;
        let mut all = Vec::new();
        for workflow in [&ok, &ok, &bad] {
            let run = start(&app, &ws, workflow, json!({})).await;
            finished(&app, &ws, &run).await;
            all.push(run);
        }
        let list = |query: String| {
            let path = ws.path(&format!("/runs{query}"));
            let app = &app;
            async move {
                let page: PageOut<RunOut> = expect_status(app.get(&path, token).await, 200).await;
                page.items.into_iter().map(|r| r.id).collect::<Vec<_>>()
            }
        };
        assert_eq!(list(String::new()).await, [all[2].clone(), all[1].clone(), all[0].clone()], "newest first");
        assert_eq!(list(format!("?workflow={ok}")).await, [all[1].clone(), all[0].clone()]);
        assert_eq!(list("?status=failed".into()).await, [all[2].clone()]);
        let bad_filter: Problem = expect_status(app.get(&ws.path("/runs?status=sideways"), token).await, 422).await;
        assert_eq!(bad_filter.errors[0].pointer, "?status");

        let path = ws.path(&format!("/runs/{}", all[0]));
        assert_eq!(app.delete(&path, token).await.status(), 204);
        assert_eq!(app.get(&path, token).await.status(), 404);
        let cancelled: RunOut =
            expect_status(app.post(&ws.path(&format!("/runs/{}/cancel", all[1])), token, &json!({})).await, 200).await;
        assert_eq!(cancelled.status, "succeeded", "cancelling a finished run changes nothing");
    }
}

/// A stand-in for a remote API on loopback: answers every request with its request line and
/// body, as JSON.
async fn echo_server() -> std::net::SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut received = Vec::new();
                let mut buffer = [0u8; 4096];
                let (head, body) = loop {
                    let read = socket.read(&mut buffer).await.unwrap_or(0);
                    received.extend_from_slice(&buffer[..read]);
                    let text = String::from_utf8_lossy(&received).into_owned();
                    if let Some((head, body)) = text.split_once("\r\n\r\n") {
                        let length = head
                            .lines()
                            .find_map(|line| {
                                line.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned())
                            })
                            .and_then(|v| v.parse::<usize>().ok())
                            .unwrap_or(0);
                        if body.len() >= length || read == 0 {
                            break (head.to_owned(), body.to_owned());
                        }
                    } else if read == 0 {
                        return;
                    }
                };
                let idempotency_key = head.lines().find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("idempotency-key").then(|| value.trim().to_owned())
                });
                let request = head.lines().next().unwrap_or_default();
                let answer = json!({"request": request, "body": body, "idempotency_key": idempotency_key}).to_string();
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                    answer.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    address
}

fn http_workflow(address: std::net::SocketAddr) -> (Value, Value) {
    let nodes = json!([
        {"name": "Start", "type": "manual_trigger"},
        {"name": "Call", "type": "http_request", "params": {
            "method": "POST",
            "url": format!("http://{address}/orders"),
            "query": {"page": 2, "tag": ["a", "b"]},
            "body": {"json": {"ok": true}}
        }},
    ]);
    (nodes, json!([{"from": "Start", "to": "Call"}]))
}

backend_test! {
    async fn http_request_reaches_an_allow_listed_address_and_returns_the_answer(backend) {
        let address = echo_server().await;
        let app = TestApp::spawn_with(backend, |config| config.outbound_allow_cidrs = vec!["127.0.0.0/8".into()]).await;
        let ws = app.new_workspace("ada@example.com").await;
        let (nodes, connections) = http_workflow(address);
        let workflow = published(&app, &ws, nodes, connections).await;
        let run = start(&app, &ws, &workflow, json!({})).await;
        let out = finished(&app, &ws, &run).await;
        assert_eq!(out.status, "succeeded", "{out:?}");
        let answer = &out.output.expect("output")["Call"][0];
        assert_eq!(answer["status"], 200);
        assert_eq!(answer["body"]["request"], "POST /orders?page=2&tag=a&tag=b HTTP/1.1");
        assert_eq!(answer["body"]["body"], r#"{"ok":true}"#);
        assert_eq!(answer["body"]["idempotency_key"], format!("{run}:Call:1"), "run:activation:attempt");
        assert_eq!(answer["headers"]["content-type"], "application/json");
    }
}

backend_test! {
    async fn http_request_to_a_private_address_is_refused_without_an_allow_list(backend) {
        let address = echo_server().await;
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        let (nodes, connections) = http_workflow(address);
        let workflow = published(&app, &ws, nodes, connections).await;
        let run = start(&app, &ws, &workflow, json!({})).await;
        let out = finished(&app, &ws, &run).await;
        assert_eq!(out.status, "failed");
        let message = out.error.unwrap()["message"].as_str().unwrap().to_owned();
        assert!(message.contains("127.0.0.1"), "the refusal names the address asked for: {message}");
    }
}

backend_test! {
    async fn a_failed_run_is_retried_from_the_failed_step_or_from_the_start(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        let token = Some(ws.owner.access_token.as_str());
        let nodes = json!([
            {"name": "Start", "type": "manual_trigger"},
            {"name": "Tag", "type": "set", "params": {"assignments": [{"name": "seen", "value": true}]}},
            {"name": "Stop", "type": "stop_and_error", "params": {"message": "not yet"}},
        ]);
        let connections = json!([{"from": "Start", "to": "Tag"}, {"from": "Tag", "to": "Stop"}]);
        let workflow = published(&app, &ws, nodes, connections).await;
        let failed = start(&app, &ws, &workflow, json!({"n": 1})).await;
        assert_eq!(finished(&app, &ws, &failed).await.status, "failed");
        let original = steps(&app, &ws, &failed).await;

        let retry_path = ws.path(&format!("/runs/{failed}/retry"));
        let resumed: RunStartedOut = expect_status(app.post(&retry_path, token, &json!({})).await, 202).await;
        let out = finished(&app, &ws, &resumed.run_id).await;
        assert_eq!((out.status.as_str(), out.retry_of.as_deref()), ("failed", Some(failed.as_str())));
        assert_eq!(out.input, json!({"n": 1}));
        let again = steps(&app, &ws, &resumed.run_id).await;
        let tag = |steps: &[StepOut]| steps.iter().find(|s| s.node == "Tag").map(|s| (s.started_at.clone(), s.output.clone()));
        assert_eq!(tag(&again), tag(&original), "the succeeded step is kept, not executed again");
        assert_eq!(again.iter().filter(|s| s.node == "Stop").count(), 1, "only the failed step runs again");

        let restarted: RunStartedOut =
            expect_status(app.post(&retry_path, token, &json!({"from": "start"})).await, 202).await;
        finished(&app, &ws, &restarted.run_id).await;
        let fresh = steps(&app, &ws, &restarted.run_id).await;
        assert_ne!(tag(&fresh).unwrap().0, tag(&original).unwrap().0, "from the start, every node runs again");

        let bad: Problem = expect_status(app.post(&retry_path, token, &json!({"from": "middle"})).await, 422).await;
        assert_eq!(bad.errors[0].pointer, "/from");
    }
}

/// Polls until the run reaches `status`.
async fn reaches(app: &TestApp, ws: &TestWorkspace, run: &str, status: &str) -> RunOut {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out: RunOut =
            expect_status(app.get(&ws.path(&format!("/runs/{run}")), Some(&ws.owner.access_token)).await, 200).await;
        if out.status == status {
            return out;
        }
        assert!(Instant::now() < deadline, "run {run} never became {status}: {out:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn waiting_workflow(duration_ms: u64) -> (Value, Value) {
    let nodes = json!([
        {"name": "Start", "type": "manual_trigger"},
        {"name": "Pause", "type": "wait", "params": {"duration_ms": duration_ms}},
        {"name": "After", "type": "set", "params": {"assignments": [{"name": "woke", "value": true}]}},
    ]);
    (nodes, json!([{"from": "Start", "to": "Pause"}, {"from": "Pause", "to": "After"}]))
}

backend_test! {
    async fn a_wait_releases_the_worker_and_the_run_resumes_when_it_is_due(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        let (nodes, connections) = waiting_workflow(1_500);
        let workflow = published(&app, &ws, nodes, connections).await;
        let started = Instant::now();
        let run = start(&app, &ws, &workflow, json!({"n": 1})).await;
        reaches(&app, &ws, &run, "waiting").await;
        let out = finished(&app, &ws, &run).await;
        assert_eq!(out.status, "succeeded", "{out:?}");
        assert!(started.elapsed() >= Duration::from_millis(1_500), "it waited");
        assert_eq!(out.output, Some(json!({"After": [{"n": 1, "woke": true}]})));
        let pause: Vec<(i64, String)> =
            steps(&app, &ws, &run).await.into_iter().filter(|s| s.node == "Pause").map(|s| (s.attempt, s.status)).collect();
        assert_eq!(pause, [(1, "skipped".to_owned()), (2, "succeeded".to_owned())]);
    }
}

backend_test! {
    async fn a_waiting_run_is_cancelled_at_once(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        let (nodes, connections) = waiting_workflow(600_000);
        let workflow = published(&app, &ws, nodes, connections).await;
        let run = start(&app, &ws, &workflow, json!({})).await;
        reaches(&app, &ws, &run, "waiting").await;
        let cancel = ws.path(&format!("/runs/{run}/cancel"));
        let out: RunOut = expect_status(app.post(&cancel, Some(&ws.owner.access_token), &json!({})).await, 200).await;
        assert_eq!(out.status, "cancelled");
        assert!(steps(&app, &ws, &run).await.iter().all(|s| s.node != "After"));
    }
}

backend_test! {
    async fn a_run_is_followed_live_over_server_sent_events_until_it_ends(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        let (nodes, connections) = waiting_workflow(500);
        let workflow = published(&app, &ws, nodes, connections).await;
        let run = start(&app, &ws, &workflow, json!({})).await;
        let response = app.get(&ws.path(&format!("/runs/{run}/events")), Some(&ws.owner.access_token)).await;
        assert_eq!(response.status(), 200);
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
        // The stream ends by itself once the run has finished.
        let text = tokio::time::timeout(Duration::from_secs(20), response.text()).await.expect("the stream ends").unwrap();
        let mut runs = Vec::new();
        let mut steps = Vec::new();
        let mut kind = "";
        for line in text.lines() {
            if let Some(name) = line.strip_prefix("event: ") {
                kind = if name == "run" { "run" } else { "step" };
            } else if let Some(data) = line.strip_prefix("data: ") {
                let data: Value = serde_json::from_str(data).unwrap();
                if kind == "run" {
                    runs.push(data["status"].as_str().unwrap().to_owned());
                } else {
                    steps.push(format!("{} {}", data["node"].as_str().unwrap(), data["status"].as_str().unwrap()));
                }
            }
        }
        assert_eq!(runs.last().map(String::as_str), Some("succeeded"), "{runs:?}");
        assert!(runs.contains(&"waiting".to_owned()), "{runs:?}");
        assert!(steps.contains(&"Pause skipped".to_owned()) && steps.contains(&"After succeeded".to_owned()), "{steps:?}");
    }
}

backend_test! {
    async fn code_nodes_run_javascript_log_to_their_step_and_are_stopped_at_their_timeout(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        let nodes = json!([
            {"name": "Start", "type": "manual_trigger"},
            {"name": "Gross", "type": "code", "params": {"mode": "all_items",
                "code": "console.log('items', items.length); return items.map(i => ({json: {...i.json, gross: i.json.net * 1.2}}))"}},
            {"name": "Big only", "type": "code", "params": {"mode": "each_item",
                "code": "return $json.gross > 50 ? {json: {id: $json.id}} : null"}},
        ]);
        let connections = json!([{"from": "Start", "to": "Gross"}, {"from": "Gross", "to": "Big only"}]);
        let workflow = published(&app, &ws, nodes, connections).await;
        let run = start(&app, &ws, &workflow, json!([{"id": 1, "net": 10}, {"id": 2, "net": 100}])).await;
        let out = finished(&app, &ws, &run).await;
        assert_eq!(out.status, "succeeded", "{out:?}");
        assert_eq!(out.output, Some(json!({"Big only": [{"id": 2}]})));
        let gross = steps(&app, &ws, &run).await.into_iter().find(|s| s.node == "Gross").unwrap();
        assert_eq!(gross.logs, Some(json!(["items 2"])));

        let forever = json!([
            {"name": "Start", "type": "manual_trigger"},
            {"name": "Spin", "type": "code", "timeout_ms": 300, "params": {"code": "try { while (true) {} } catch (e) {} return items"}},
        ]);
        let workflow = published(&app, &ws, forever, json!([{"from": "Start", "to": "Spin"}])).await;
        let began = Instant::now();
        let run = start(&app, &ws, &workflow, json!({})).await;
        let out = finished(&app, &ws, &run).await;
        assert_eq!(out.status, "failed");
        assert!(out.error.unwrap()["message"].as_str().unwrap().contains("300 ms"));
        assert!(began.elapsed() < Duration::from_secs(5), "stopped near its deadline, not the default 5 s");
    }
}

backend_test! {
    async fn a_running_run_stops_before_its_next_node_when_cancelled(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        // Ten nodes of 400 ms each: the run is still running when the cancel arrives.
        let busy = "const end = Date.now() + 400; while (Date.now() < end) {} return items";
        let mut nodes = vec![json!({"name": "Start", "type": "manual_trigger"})];
        let mut connections = Vec::new();
        for n in 0..10 {
            nodes.push(json!({"name": format!("Busy {n}"), "type": "code", "params": {"code": busy}}));
            let from = if n == 0 { "Start".to_owned() } else { format!("Busy {}", n - 1) };
            connections.push(json!({"from": from, "to": format!("Busy {n}")}));
        }
        let workflow = published(&app, &ws, json!(nodes), json!(connections)).await;
        let run = start(&app, &ws, &workflow, json!({})).await;
        reaches(&app, &ws, &run, "running").await;
        let cancel = ws.path(&format!("/runs/{run}/cancel"));
        let asked: RunOut = expect_status(app.post(&cancel, Some(&ws.owner.access_token), &json!({})).await, 200).await;
        assert!(asked.cancel_requested, "{asked:?}");
        let out = finished(&app, &ws, &run).await;
        assert_eq!(out.status, "cancelled");
        let ran = steps(&app, &ws, &run).await.len();
        assert!(ran < 10, "the run stopped early, after {ran} nodes");
    }
}

backend_test! {
    async fn cancelling_a_run_interrupts_a_code_node_in_an_endless_loop(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        let nodes = json!([
            {"name": "Start", "type": "manual_trigger"},
            {"name": "Spin", "type": "code", "timeout_ms": 30000, "params": {"code": "try { while (true) {} } catch (e) {} return items"}},
        ]);
        let workflow = published(&app, &ws, nodes, json!([{"from": "Start", "to": "Spin"}])).await;
        let run = start(&app, &ws, &workflow, json!({})).await;
        reaches(&app, &ws, &run, "running").await;
        let cancel = ws.path(&format!("/runs/{run}/cancel"));
        let asked = Instant::now();
        expect_status::<RunOut>(app.post(&cancel, Some(&ws.owner.access_token), &json!({})).await, 200).await;
        let out = finished(&app, &ws, &run).await;
        let took = asked.elapsed();
        eprintln!("cancelled {took:?} after the request");
        assert_eq!(out.status, "cancelled");
        // Neither the node's 30 s deadline nor the next heartbeat: the signal interrupted the loop.
        assert!(took < Duration::from_millis(500), "took {took:?}");
        let spin = steps(&app, &ws, &run).await.into_iter().find(|s| s.node == "Spin").expect("the interrupted attempt");
        assert_eq!(spin.status, "failed");
        assert!(spin.error.unwrap()["message"].as_str().unwrap().contains("cancelled"));
    }
}

backend_test! {
    async fn a_sub_workflow_runs_as_a_child_run_whose_items_its_parent_continues_with(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        let child = published(
            &app,
            &ws,
            json!([
                {"name": "Start", "type": "manual_trigger"},
                {"name": "Double", "type": "set", "params": {"assignments": [{"name": "doubled", "value": "{{ $json.n * 2 }}"}]}},
            ]),
            json!([{"from": "Start", "to": "Double"}]),
        )
        .await;
        let parent = published(
            &app,
            &ws,
            json!([
                {"name": "Start", "type": "manual_trigger"},
                {"name": "Call", "type": "execute_workflow", "params": {"workflow_id": child}},
                {"name": "After", "type": "set", "params": {"assignments": [{"name": "seen", "value": true}]}},
            ]),
            json!([{"from": "Start", "to": "Call"}, {"from": "Call", "to": "After"}]),
        )
        .await;
        let run = start(&app, &ws, &parent, json!([{"n": 1}, {"n": 2}])).await;
        let out = finished(&app, &ws, &run).await;
        assert_eq!(out.status, "succeeded", "{out:?}");
        let after = out.output.unwrap()["After"].clone();
        let doubled: Vec<_> = after.as_array().unwrap().iter().map(|item| (item["doubled"].clone(), item["seen"].clone())).collect();
        assert_eq!(doubled, [(json!(2), json!(true)), (json!(4), json!(true))]);

        let path = ws.path(&format!("/runs?workflow={child}"));
        let children: PageOut<RunOut> = expect_status(app.get(&path, Some(&ws.owner.access_token)).await, 200).await;
        assert_eq!(children.items.len(), 1, "one child run");
        assert_eq!(children.items[0].parent_run_id.as_deref(), Some(run.as_str()));
        assert_eq!(children.items[0].trigger, "workflow");
        let calls: Vec<_> = steps(&app, &ws, &run).await.into_iter().filter(|s| s.node == "Call").map(|s| s.status).collect();
        assert_eq!(calls, ["skipped", "succeeded"], "the parent released its worker while the child ran");
    }
}

backend_test! {
    async fn a_failed_sub_workflow_fails_its_parent_which_starts_its_error_workflow(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        let failing = published(
            &app,
            &ws,
            json!([
                {"name": "Start", "type": "manual_trigger"},
                {"name": "Refuse", "type": "stop_and_error", "params": {"message": "no stock"}},
            ]),
            json!([{"from": "Start", "to": "Refuse"}]),
        )
        .await;
        let on_error = published(
            &app,
            &ws,
            json!([{"name": "Start", "type": "manual_trigger"}, {"name": "Note", "type": "no_op"}]),
            json!([{"from": "Start", "to": "Note"}]),
        )
        .await;
        let parent = published_definition(
            &app,
            &ws,
            json!({
                "name": "Order",
                "nodes": [
                    {"name": "Start", "type": "manual_trigger"},
                    {"name": "Reserve", "type": "execute_workflow", "params": {"workflow_id": failing}},
                ],
                "connections": [{"from": "Start", "to": "Reserve"}],
                "settings": {"error_workflow": on_error},
            }),
        )
        .await;
        let run = start(&app, &ws, &parent, json!({})).await;
        let out = finished(&app, &ws, &run).await;
        assert_eq!(out.status, "failed");
        let error = out.error.unwrap();
        assert_eq!(error["node"], "Reserve");
        let message = error["message"].as_str().unwrap();
        assert!(message.contains("sub-workflow") && message.contains("no stock"), "{message}");

        let path = ws.path(&format!("/runs?workflow={on_error}"));
        let deadline = Instant::now() + Duration::from_secs(20);
        let reported = loop {
            let page: PageOut<RunOut> = expect_status(app.get(&path, Some(&ws.owner.access_token)).await, 200).await;
            if let Some(found) = page.items.into_iter().next() {
                break found;
            }
            assert!(Instant::now() < deadline, "the error workflow did not start");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert_eq!(reported.trigger, "error");
        assert_eq!(reported.input["run"]["id"], json!(run));
        assert_eq!(reported.input["run"]["workflow_name"], "Order");
        assert_eq!(reported.input["run"]["error"]["node"], "Reserve");
        assert_eq!(finished(&app, &ws, &reported.id).await.status, "succeeded");
    }
}

/// A remote API that never answers: it reports each request it receives and keeps the
/// connection open.
async fn silent_server() -> (std::net::SocketAddr, tokio::sync::mpsc::UnboundedReceiver<()>) {
    use tokio::io::AsyncReadExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (received, requests) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let received = received.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buffer = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(read) => head.extend_from_slice(&buffer[..read]),
                    }
                }
                let _ = received.send(());
                // Holds the connection until the client gives up on it.
                let _ = socket.read(&mut buffer).await;
            });
        }
    });
    (address, requests)
}

backend_test! {
    async fn a_cancel_interrupts_the_node_in_flight_well_within_the_heartbeat(backend) {
        let (address, mut requests) = silent_server().await;
        let app = TestApp::spawn_with(backend, |config| config.outbound_allow_cidrs = vec!["127.0.0.0/8".into()]).await;
        let ws = app.new_workspace("ada@example.com").await;
        let nodes = json!([
            {"name": "Start", "type": "manual_trigger"},
            {"name": "Slow", "type": "http_request", "params": {"url": format!("http://{address}/slow")}},
            {"name": "After", "type": "set", "params": {"assignments": [{"name": "reached", "value": true}]}},
        ]);
        let connections = json!([{"from": "Start", "to": "Slow"}, {"from": "Slow", "to": "After"}]);
        let workflow = published(&app, &ws, nodes, connections).await;
        // Three runs, each cancelled while its request hangs: a heartbeat (every second) could
        // stop one of them this fast by chance, but hardly all three.
        let mut runs = Vec::new();
        for _ in 0..3 {
            runs.push(start(&app, &ws, &workflow, json!({})).await);
        }
        for _ in 0..3 {
            tokio::time::timeout(Duration::from_secs(20), requests.recv()).await.expect("the request is sent").unwrap();
        }
        let mut took = Vec::new();
        for run in &runs {
            assert_eq!(reaches(&app, &ws, run, "running").await.status, "running");
            let asked = Instant::now();
            let cancel = ws.path(&format!("/runs/{run}/cancel"));
            let answer: RunOut = expect_status(app.post(&cancel, Some(&ws.owner.access_token), &json!({})).await, 200).await;
            assert!(answer.cancel_requested, "{answer:?}");
            let out = finished(&app, &ws, run).await;
            took.push(asked.elapsed());
            assert_eq!(out.status, "cancelled", "{out:?}");
            let steps = steps(&app, &ws, run).await;
            let slow: Vec<(&str, Option<&Value>)> = steps.iter().map(|s| (s.node.as_str(), s.error.as_ref())).collect();
            assert_eq!(slow, [("Slow", Some(&json!({"message": "the run was cancelled"})))], "the node was interrupted");
        }
        eprintln!("cancelled mid-request after {took:?}");
        assert!(took.iter().all(|t| *t < Duration::from_millis(300)), "not all cancelled at once: {took:?}");
    }
}

backend_test! {
    async fn a_node_emitting_more_items_than_allowed_fails(backend) {
        let app = TestApp::spawn_with(backend, |config| config.max_items_per_output = 3).await;
        let ws = app.new_workspace("ada@example.com").await;
        let nodes = json!([
            {"name": "Start", "type": "manual_trigger"},
            {"name": "Fan out", "type": "code", "params": {"code": "return [1, 2, 3, 4].map(n => ({json: {n}}))"}},
        ]);
        let workflow = published(&app, &ws, nodes, json!([{"from": "Start", "to": "Fan out"}])).await;
        let out = finished(&app, &ws, &start(&app, &ws, &workflow, json!({})).await).await;
        assert_eq!(out.status, "failed");
        let message = out.error.unwrap()["message"].as_str().unwrap().to_owned();
        assert!(message.contains("4 items") && message.contains("max_items_per_output"), "{message}");
    }
}

backend_test! {
    async fn a_loop_runs_its_body_per_batch_and_a_merge_joins_two_branches(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        let nodes = json!([
            {"name": "Start", "type": "manual_trigger"},
            {"name": "Two at a time", "type": "loop", "params": {"batch_size": 2}},
            {"name": "Mark", "type": "code", "params": {"mode": "each_item",
                "code": "return {json: {...$json, batch: $input.all().length, seen: true}}"}},
            {"name": "Prices", "type": "set", "params": {"assignments": [{"name": "price", "value": "{{ $json.id * 10 }}"}]}},
            {"name": "Join", "type": "merge", "params": {"mode": "by_key", "key": "id"}},
        ]);
        let connections = json!([
            {"from": "Start", "to": "Two at a time"},
            {"from": "Two at a time", "output": 1, "to": "Mark"},
            {"from": "Mark", "to": "Two at a time"},
            {"from": "Two at a time", "output": 0, "to": "Join", "input": 0},
            {"from": "Start", "to": "Prices"},
            {"from": "Prices", "to": "Join", "input": 1},
        ]);
        let workflow = published(&app, &ws, nodes, connections).await;
        let input: Vec<Value> = (1..=5).map(|id| json!({"id": id})).collect();
        let run = start(&app, &ws, &workflow, json!(input)).await;
        let out = finished(&app, &ws, &run).await;
        assert_eq!(out.status, "succeeded", "{out:?}");
        let joined = out.output.unwrap()["Join"].clone();
        let summary: Vec<(i64, i64, bool, i64)> = joined
            .as_array()
            .unwrap()
            .iter()
            .map(|item| {
                let get = |field: &str| item[field].as_i64().unwrap();
                (get("id"), get("batch"), item["seen"].as_bool().unwrap(), get("price"))
            })
            .collect();
        assert_eq!(summary, [(1, 2, true, 10), (2, 2, true, 20), (3, 2, true, 30), (4, 2, true, 40), (5, 1, true, 50)]);
        let marks = steps(&app, &ws, &run).await.into_iter().filter(|s| s.node == "Mark").count();
        assert_eq!(marks, 3, "one activation of the body per batch");
    }
}

/// A job service: `POST /jobs` starts a job, `GET /jobs/1` says `running` until it has been
/// asked `ready_after` times, then `done`. Returns its address and how often it was asked.
async fn job_service(ready_after: usize) -> (std::net::SocketAddr, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let asked = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&asked);
    let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
        let answer = match (request.method().as_str(), request.uri().path()) {
            ("POST", "/jobs") => json!({"id": 1}),
            ("GET", "/jobs/1") => {
                let asked = counter.fetch_add(1, Ordering::SeqCst) + 1;
                json!({"state": if asked >= ready_after { "done" } else { "running" }, "asked": asked})
            }
            _ => json!({"error": "no such job"}),
        };
        async move { axum::Json(answer) }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (address, asked)
}

/// Submits a job, then asks for it, waits and asks again until it is done, at most `passes` times.
fn polling_workflow(address: std::net::SocketAddr, passes: u64) -> (Value, Value) {
    let nodes = json!([
        {"name": "Start", "type": "manual_trigger"},
        {"name": "Submit", "type": "http_request", "params": {"method": "POST", "url": format!("http://{address}/jobs")}},
        {"name": "Poll", "type": "loop", "params": {"mode": "repeat", "max_passes": passes}},
        {"name": "Check", "type": "http_request",
            "params": {"url": format!("http://{address}/jobs/{{{{ $('Submit').item.json.body.id }}}}")}},
        {"name": "Done?", "type": "if", "params": {"conditions": [{"left": "{{ $json.body.state }}", "operator": "equals", "right": "done"}]}},
        {"name": "Use it", "type": "set", "params": {"assignments": [{"name": "asked", "value": "{{ $json.body.asked }}"}], "keep_only": true}},
        {"name": "Pause", "type": "wait", "params": {"duration_ms": 200}},
        {"name": "Gave up", "type": "stop_and_error", "params": {"message": "still {{ $json.body.state }} after {{ $json.body.asked }} checks"}},
    ]);
    let connections = json!([
        {"from": "Start", "to": "Submit"},
        {"from": "Submit", "to": "Poll"},
        {"from": "Poll", "output": 1, "to": "Check"},
        {"from": "Check", "to": "Done?"},
        {"from": "Done?", "output": 0, "to": "Use it"},
        {"from": "Done?", "output": 1, "to": "Pause"},
        {"from": "Pause", "to": "Poll"},
        {"from": "Poll", "output": 0, "to": "Gave up"},
    ]);
    (nodes, connections)
}

backend_test! {
    async fn a_repeat_loop_polls_through_durable_waits_until_the_job_is_done(backend) {
        let (address, asked) = job_service(3).await;
        let app = TestApp::spawn_with(backend, |config| config.outbound_allow_cidrs = vec!["127.0.0.0/8".into()]).await;
        let ws = app.new_workspace("ada@example.com").await;
        let (nodes, connections) = polling_workflow(address, 10);
        let workflow = published(&app, &ws, nodes, connections).await;
        let run = start(&app, &ws, &workflow, json!({})).await;
        let out = finished(&app, &ws, &run).await;
        assert_eq!(out.status, "succeeded", "{out:?}");
        assert_eq!(out.output, Some(json!({"Use it": [{"asked": 3}]})));
        assert_eq!(asked.load(std::sync::atomic::Ordering::SeqCst), 3);
        let checks: Vec<Value> = steps(&app, &ws, &run)
            .await
            .into_iter()
            .filter(|s| s.node == "Check")
            .map(|s| serde_json::from_str::<Value>(&s.activation).unwrap()["iterations"].clone())
            .collect();
        assert_eq!(checks, [json!([0]), json!([1]), json!([2])], "one activation per pass");
    }
}

backend_test! {
    async fn a_repeat_loop_out_of_passes_hands_the_last_answer_to_done(backend) {
        let (address, asked) = job_service(usize::MAX).await;
        let app = TestApp::spawn_with(backend, |config| config.outbound_allow_cidrs = vec!["127.0.0.0/8".into()]).await;
        let ws = app.new_workspace("ada@example.com").await;
        let (nodes, connections) = polling_workflow(address, 2);
        let workflow = published(&app, &ws, nodes, connections).await;
        let out = finished(&app, &ws, &start(&app, &ws, &workflow, json!({})).await).await;
        assert_eq!(out.status, "failed");
        assert_eq!(out.error.unwrap()["message"], "still running after 2 checks");
        assert_eq!(asked.load(std::sync::atomic::Ordering::SeqCst), 2);
    }
}

/// A GraphQL server: `hello` greets `$name` (from the JSON body's variables, or a GET's query
/// text); a document asking for `nope` gets GraphQL's `errors` answer, with a 200.
async fn graphql_server() -> std::net::SocketAddr {
    let app = axum::Router::new().fallback(|request: axum::extract::Request| async move {
        let (parts, body) = request.into_parts();
        let kind = parts.headers.get("content-type").and_then(|value| value.to_str().ok()).unwrap_or("").to_owned();
        let body = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default();
        let (query, name) = match parts.method.as_str() {
            "GET" => (parts.uri.query().unwrap_or_default().to_owned(), "GET".to_owned()),
            _ if kind == "application/graphql" => (String::from_utf8_lossy(&body).into_owned(), "raw".to_owned()),
            _ => {
                let request: Value = serde_json::from_slice(&body).unwrap_or_default();
                let name = request["variables"]["name"].as_str().unwrap_or("nobody").to_owned();
                (request["query"].as_str().unwrap_or_default().to_owned(), name)
            }
        };
        if query.contains("nope") {
            return axum::Json(json!({"data": null, "errors": [{"message": "Cannot query field \"nope\""}]}));
        }
        axum::Json(json!({"data": {"hello": format!("Hello {name}")}}))
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    address
}

backend_test! {
    async fn graphql_sends_json_raw_and_get_requests_and_fails_on_an_errors_answer(backend) {
        let address = graphql_server().await;
        let app = TestApp::spawn_with(backend, |config| config.outbound_allow_cidrs = vec!["127.0.0.0/8".into()]).await;
        let ws = app.new_workspace("ada@example.com").await;
        let endpoint = format!("http://{address}/graphql");
        let nodes = json!([
            {"name": "Start", "type": "manual_trigger"},
            {"name": "Json", "type": "graphql", "params": {"endpoint": endpoint,
                "query": "query ($name: String) { hello(name: $name) }", "variables": {"name": "{{ $json.name }}"}}},
            {"name": "Raw", "type": "graphql", "params": {"endpoint": endpoint, "query": "{ hello }", "format": "graphql"}},
            {"name": "Get", "type": "graphql", "params": {"endpoint": endpoint, "query": "{ hello }", "method": "GET"}},
        ]);
        let connections = json!([{"from": "Start", "to": "Json"}, {"from": "Start", "to": "Raw"}, {"from": "Start", "to": "Get"}]);
        let workflow = published(&app, &ws, nodes, connections).await;
        let out = finished(&app, &ws, &start(&app, &ws, &workflow, json!({"name": "Ada"})).await).await;
        assert_eq!(out.status, "succeeded", "{out:?}");
        let output = out.output.unwrap();
        assert_eq!(output["Json"], json!([{"data": {"hello": "Hello Ada"}}]));
        assert_eq!(output["Raw"], json!([{"data": {"hello": "Hello raw"}}]));
        assert_eq!(output["Get"], json!([{"data": {"hello": "Hello GET"}}]));

        let nodes = json!([
            {"name": "Start", "type": "manual_trigger"},
            {"name": "Ask", "type": "graphql", "params": {"endpoint": endpoint, "query": "{ nope }"}},
        ]);
        let workflow = published(&app, &ws, nodes, json!([{"from": "Start", "to": "Ask"}])).await;
        let out = finished(&app, &ws, &start(&app, &ws, &workflow, json!({})).await).await;
        assert_eq!(out.status, "failed");
        assert_eq!(out.error.unwrap()["message"], "the GraphQL answer has errors: Cannot query field \"nope\"");
    }
}

backend_test! {
    async fn execute_once_takes_the_first_item_and_always_output_keeps_a_branch_going(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        let nodes = json!([
            {"name": "Start", "type": "manual_trigger"},
            {"name": "Count", "type": "code", "execute_once": true,
                "params": {"code": "return [{json: {seen: $input.all().length, first: $input.first().json.n}}]"}},
            {"name": "None big", "type": "filter", "always_output": true,
                "params": {"conditions": [{"left": "{{ $json.n }}", "operator": "gt", "right": 100}]}},
            {"name": "Still runs", "type": "set", "params": {"assignments": [{"name": "reached", "value": true}]}},
            {"name": "None either", "type": "filter",
                "params": {"conditions": [{"left": "{{ $json.n }}", "operator": "gt", "right": 100}]}},
            {"name": "Never runs", "type": "no_op"},
        ]);
        let connections = json!([
            {"from": "Start", "to": "Count"},
            {"from": "Start", "to": "None big"},
            {"from": "None big", "to": "Still runs"},
            {"from": "Start", "to": "None either"},
            {"from": "None either", "to": "Never runs"},
        ]);
        let workflow = published(&app, &ws, nodes, connections).await;
        let input = json!([{"n": 1}, {"n": 2}, {"n": 3}]);
        let out = finished(&app, &ws, &start(&app, &ws, &workflow, input).await).await;
        assert_eq!(out.status, "succeeded", "{out:?}");
        let output = out.output.unwrap();
        assert_eq!(output["Count"], json!([{"seen": 1, "first": 1}]));
        assert_eq!(output["Still runs"], json!([{"reached": true}]), "one empty item went on");
        assert!(output.get("Never runs").is_none(), "{output}");
    }
}

backend_test! {
    async fn large_step_payloads_live_in_blobs_and_survive_a_retry_of_a_deleted_run(backend) {
        let app = TestApp::spawn_with(backend, |config| config.max_inline_payload_bytes = 1024).await;
        let ws = app.new_workspace("ada@example.com").await;
        let nodes = json!([
            {"name": "Start", "type": "manual_trigger"},
            {"name": "Big", "type": "code", "params": {"code": "return [{json: {text: 'x'.repeat(5000)}}]"}},
            {"name": "Measure", "type": "set", "params": {"assignments": [{"name": "length", "value": "{{ $json.text.length }}"}]}},
            {"name": "Refuse", "type": "stop_and_error", "params": {"message": "{{ $json.length > 0 ? 'long enough' : 'empty' }}"}},
        ]);
        let connections = json!([{"from": "Start", "to": "Big"}, {"from": "Big", "to": "Measure"}, {"from": "Measure", "to": "Refuse"}]);
        let workflow = published(&app, &ws, nodes, connections).await;
        let first = start(&app, &ws, &workflow, json!({})).await;
        assert_eq!(finished(&app, &ws, &first).await.status, "failed");
        let offloaded = "UPDATE steps SET node = node WHERE node IN ('Big', 'Measure') AND output LIKE '%$blob%'";
        assert_eq!(app.execute_sql(offloaded).await, 2, "both large outputs are references in the database");
        let big = steps(&app, &ws, &first).await.into_iter().find(|s| s.node == "Big").unwrap();
        assert_eq!(big.output.unwrap()[0][0]["json"]["text"].as_str().unwrap().len(), 5000, "read back whole");

        // The retry copies the payloads: deleting the first run (and its blobs) does not hurt it.
        let retry = ws.path(&format!("/runs/{first}/retry"));
        let retried: RunStartedOut =
            expect_status(app.post(&retry, Some(&ws.owner.access_token), &json!({"from": "failed_step"})).await, 202).await;
        let deleted = app.delete(&ws.path(&format!("/runs/{first}")), Some(&ws.owner.access_token)).await;
        assert_eq!(deleted.status(), 204);
        let out = finished(&app, &ws, &retried.run_id).await;
        assert_eq!(out.error.unwrap()["message"], "long enough", "Measure's copied output was read back");
        let big = steps(&app, &ws, &retried.run_id).await.into_iter().find(|s| s.node == "Big").unwrap();
        assert_eq!(big.output.unwrap()[0][0]["json"]["text"].as_str().unwrap().len(), 5000);
    }
}

backend_test! {
    async fn an_n8n_v1_workflow_runs_the_top_branch_to_its_end_first(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        // `Low` is connected second but drawn on top, so n8n's v1 order runs its branch first,
        // and `High 2` can read what `Low 2` made.
        let set = |name: &str, y: f64, value: &str| {
            json!({"name": name, "type": "set", "position": [300.0, y],
                "params": {"assignments": [{"name": name, "value": value}]}})
        };
        let body = json!({
            "name": "Ordered",
            "nodes": [
                {"name": "Start", "type": "manual_trigger", "position": [0.0, 200.0]},
                set("High", 400.0, "high"), set("High 2", 400.0, "{{ $('Low 2').first().json['Low 2'] }} then high"),
                set("Low", 0.0, "low"), set("Low 2", 0.0, "low 2"),
            ],
            "connections": [
                {"from": "Start", "to": "High"}, {"from": "Start", "to": "Low"},
                {"from": "High", "to": "High 2"}, {"from": "Low", "to": "Low 2"},
            ],
            "settings": {"execution_order": "v1"},
        });
        let workflow = published_definition(&app, &ws, body).await;
        let run = start(&app, &ws, &workflow, json!([{}])).await;
        let out = finished(&app, &ws, &run).await;
        assert_eq!(out.status, "succeeded", "{out:?}");
        let order: Vec<String> = steps(&app, &ws, &run).await.into_iter().map(|step| step.node).collect();
        assert_eq!(order, ["Low", "Low 2", "High", "High 2"]);
        assert_eq!(out.output.unwrap()["High 2"][0]["High 2"], "low 2 then high");
    }
}
