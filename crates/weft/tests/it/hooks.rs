//! Webhook triggers end to end: `/hooks/{token}` and `/hooks-test/{token}`, each response mode
//! (including the wait running out), each authentication mode, idempotency keys, and the
//! problems a bad request gets.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use weft_domain::webhook_signature::{SigningSecret, sha256_header};
use weft_http::Problem;
use weft_http::api::runs::RunOut;
use weft_testkit::{TestApp, TestWorkspace, backend_test, expect_status};

use crate::runs::finished;

fn hook_trigger(params: Value) -> Value {
    json!({"name": "Hook", "type": "webhook_trigger", "params": params})
}

fn tag(name: &str, field: &str, value: Value) -> Value {
    json!({"name": name, "type": "set", "params": {"assignments": [{"name": field, "value": value}]}})
}

/// Creates a workflow (publishing version 1 when `publish`); returns its id and its hook's path.
async fn hooked(
    app: &TestApp,
    ws: &TestWorkspace,
    nodes: Value,
    connections: Value,
    publish: bool,
) -> (String, String) {
    let token = Some(ws.owner.access_token.as_str());
    let body = json!({"name": "Hooked", "nodes": nodes, "connections": connections});
    let created: Value = expect_status(app.post(&ws.path("/workflows"), token, &body).await, 201).await;
    assert_eq!(created["version"]["problems"], json!([]), "the test workflow must be valid");
    let id = created["id"].as_str().unwrap().to_owned();
    if publish {
        let path = ws.path(&format!("/workflows/{id}/publish"));
        expect_status::<Value>(app.post(&path, token, &json!({"version": 1})).await, 200).await;
    }
    (id.clone(), hook_path(app, ws, &id).await)
}

/// The path of the workflow's only webhook trigger, as the API lists it.
async fn hook_path(app: &TestApp, ws: &TestWorkspace, workflow: &str) -> String {
    let path = ws.path(&format!("/workflows/{workflow}/webhooks"));
    let hooks: Value = expect_status(app.get(&path, Some(&ws.owner.access_token)).await, 200).await;
    let url = hooks["items"][0]["url"].as_str().expect("a webhook URL");
    let test_url = hooks["items"][0]["test_url"].as_str().unwrap();
    assert_eq!(test_url, url.replace("/hooks/", "/hooks-test/"));
    format!("/hooks/{}", url.rsplit('/').next().unwrap())
}

/// The run a 202 answer names, once it finished.
async fn accepted(app: &TestApp, ws: &TestWorkspace, response: reqwest::Response) -> RunOut {
    let out: Value = expect_status(response, 202).await;
    finished(app, ws, out["run_id"].as_str().unwrap()).await
}

async fn problem(response: reqwest::Response, status: u16) -> Problem {
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    expect_status(response, status).await
}

backend_test! {
    async fn an_accepted_hook_queues_a_run_whose_item_is_the_request(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        let nodes = json!([hook_trigger(json!({"methods": ["POST", "PUT"]})), tag("Seen", "seen", json!(true))]);
        let (_, hook) = hooked(&app, &ws, nodes, json!([{"from": "Hook", "to": "Seen"}]), true).await;

        let response = app
            .request(Method::POST, &format!("{hook}/orders/7?source=shop&tag=a&tag=b"), None)
            .header("x-shop", "north")
            .json(&json!({"order": 7}))
            .send()
            .await
            .unwrap();
        let accepted: Value = expect_status(response, 202).await;
        assert_eq!(accepted["status"], "queued");
        let run = finished(&app, &ws, accepted["run_id"].as_str().unwrap()).await;
        assert_eq!(run.status, "succeeded");
        assert_eq!(run.trigger, "webhook");
        let item = &run.input;
        assert_eq!(item["method"], "POST");
        assert_eq!(item["path"], "/orders/7");
        assert_eq!(item["body"], json!({"order": 7}));
        assert_eq!(item["query"], json!({"source": "shop", "tag": ["a", "b"]}));
        assert_eq!(item["headers"]["x-shop"], "north");
        assert_eq!(item["client_ip"], "127.0.0.1");
        assert_eq!(run.output.as_ref().unwrap()["Seen"][0]["body"]["order"], 7);

        // A form and a text body.
        let form = app.request(Method::PUT, &hook, None).form(&[("a", "1"), ("b", "two")]).send().await.unwrap();
        let accepted: Value = expect_status(form, 202).await;
        let run = finished(&app, &ws, accepted["run_id"].as_str().unwrap()).await;
        assert_eq!(run.input["body"], json!({"a": "1", "b": "two"}));
        let text = app.request(Method::POST, &hook, None).header("content-type", "text/plain").body("hi").send().await;
        let accepted: Value = expect_status(text.unwrap(), 202).await;
        assert_eq!(finished(&app, &ws, accepted["run_id"].as_str().unwrap()).await.input["body"], "hi");

        // A method the trigger does not take, and a body that says JSON but is not.
        let get = app.request(Method::GET, &hook, None).send().await.unwrap();
        assert_eq!(problem(get, 405).await.type_uri, "https://weft.dev/problems/method-not-allowed");
        let bad = app.request(Method::POST, &hook, None).header("content-type", "application/json").body("{").send();
        assert_eq!(problem(bad.await.unwrap(), 400).await.type_uri, "https://weft.dev/problems/malformed-json");
    }
}

backend_test! {
    async fn unknown_unpublished_and_disabled_hooks_are_404_and_the_test_url_runs_the_latest_version(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        let token = Some(ws.owner.access_token.as_str());
        let nodes = json!([hook_trigger(json!({})), tag("V", "version", json!(1))]);
        let (workflow, hook) = hooked(&app, &ws, nodes, json!([{"from": "Hook", "to": "V"}]), false).await;

        let unknown = app.request(Method::POST, "/hooks/00000000000000000000000000000000", None).send().await.unwrap();
        problem(unknown, 404).await;
        problem(app.request(Method::POST, &hook, None).send().await.unwrap(), 404).await;

        // Version 2 is saved, not published: the test URL runs it.
        let v2 = json!({"nodes": [hook_trigger(json!({})), tag("V", "version", json!(2))],
            "connections": [{"from": "Hook", "to": "V"}]});
        let saved = app.post(&ws.path(&format!("/workflows/{workflow}/versions")), token, &v2).await;
        expect_status::<Value>(saved, 201).await;
        let test_hook = hook.replace("/hooks/", "/hooks-test/");
        let accepted: Value = expect_status(app.request(Method::POST, &test_hook, None).send().await.unwrap(), 202).await;
        let run = finished(&app, &ws, accepted["run_id"].as_str().unwrap()).await;
        assert_eq!(run.output.unwrap()["V"][0]["version"], 2);

        // Publishing version 1 keeps the URL; the hook runs version 1.
        let publish = ws.path(&format!("/workflows/{workflow}/publish"));
        expect_status::<Value>(app.post(&publish, token, &json!({"version": 1})).await, 200).await;
        assert_eq!(hook_path(&app, &ws, &workflow).await, hook);
        let accepted: Value = expect_status(app.request(Method::POST, &hook, None).send().await.unwrap(), 202).await;
        let run = finished(&app, &ws, accepted["run_id"].as_str().unwrap()).await;
        assert_eq!(run.output.unwrap()["V"][0]["version"], 1);

        // Unpublished: 404 again.
        let unpublish = ws.path(&format!("/workflows/{workflow}/unpublish"));
        let out: Value = expect_status(app.post(&unpublish, token, &json!({})).await, 200).await;
        assert!(out.get("published_version").is_none());
        problem(app.request(Method::POST, &hook, None).send().await.unwrap(), 404).await;

        // A version whose trigger is disabled, published: 404.
        let v3 = json!({"nodes": [
                {"name": "Hook", "type": "webhook_trigger", "disabled": true},
                {"name": "Start", "type": "manual_trigger"}, tag("V", "version", json!(3))],
            "connections": [{"from": "Start", "to": "V"}]});
        expect_status::<Value>(app.post(&ws.path(&format!("/workflows/{workflow}/versions")), token, &v3).await, 201)
            .await;
        expect_status::<Value>(app.post(&publish, token, &json!({"version": 3})).await, 200).await;
        problem(app.request(Method::POST, &hook, None).send().await.unwrap(), 404).await;
    }
}

backend_test! {
    async fn last_node_answers_with_the_last_nodes_items(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        let nodes = json!([
            hook_trigger(json!({"response_mode": "last_node"})),
            tag("Double", "double", json!("{{ $json.body.n * 2 }}")),
        ]);
        let (_, hook) = hooked(&app, &ws, nodes, json!([{"from": "Hook", "to": "Double"}]), true).await;
        let response = app.request(Method::POST, &hook, None).json(&json!({"n": 21})).send().await.unwrap();
        let answer: Value = expect_status(response, 200).await;
        assert_eq!(answer["double"], 42);
        assert_eq!(answer["body"], json!({"n": 21}));

        let all = json!([
            hook_trigger(json!({"response_mode": "last_node", "response_data": "all_entries"})),
            {"name": "Split", "type": "code", "params": {"code": "return [{i: 1}, {i: 2}];"}},
        ]);
        let (_, hook) = hooked(&app, &ws, all, json!([{"from": "Hook", "to": "Split"}]), true).await;
        let answer: Value = expect_status(app.request(Method::POST, &hook, None).send().await.unwrap(), 200).await;
        assert_eq!(answer, json!([{"i": 1}, {"i": 2}]));
    }
}

backend_test! {
    async fn respond_node_sets_status_headers_and_body(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        let nodes = json!([
            hook_trigger(json!({"response_mode": "respond_node"})),
            {"name": "Answer", "type": "respond_to_webhook", "params": {
                "status": 201, "headers": {"x-order": "{{ $json.body.order }}"},
                "respond_with": "body", "body": "order {{ $json.body.order }} received"}},
            tag("After", "after", json!(true)),
        ]);
        let connections = json!([{"from": "Hook", "to": "Answer"}, {"from": "Answer", "to": "After"}]);
        let (_, hook) = hooked(&app, &ws, nodes, connections, true).await;
        let response = app.request(Method::POST, &hook, None).json(&json!({"order": 9})).send().await.unwrap();
        assert_eq!(response.status(), 201);
        assert_eq!(response.headers()["x-order"], "9");
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
        assert_eq!(response.text().await.unwrap(), "order 9 received");
    }
}

backend_test! {
    async fn a_run_that_fails_before_answering_is_a_502_problem_naming_it(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        let nodes = json!([
            hook_trigger(json!({"response_mode": "respond_node"})),
            {"name": "Boom", "type": "stop_and_error", "params": {"message": "no stock"}},
        ]);
        let (_, hook) = hooked(&app, &ws, nodes, json!([{"from": "Hook", "to": "Boom"}]), true).await;
        let failed = problem(app.request(Method::POST, &hook, None).send().await.unwrap(), 502).await;
        assert_eq!(failed.type_uri, "https://weft.dev/problems/workflow-failed");
        let run = failed.detail.split(' ').nth(2).unwrap().to_owned();
        assert_eq!(finished(&app, &ws, &run).await.status, "failed");
    }
}

backend_test! {
    async fn a_wait_that_runs_out_answers_202_with_the_run_id(backend) {
        let app = TestApp::spawn_with(backend, |config| config.webhook_wait_ms = 300).await;
        let ws = app.new_workspace("ada@example.com").await;
        let nodes = json!([
            hook_trigger(json!({"response_mode": "last_node"})),
            {"name": "Pause", "type": "wait", "params": {"duration_ms": 1500}},
        ]);
        let (_, hook) = hooked(&app, &ws, nodes, json!([{"from": "Hook", "to": "Pause"}]), true).await;
        let started = Instant::now();
        let accepted: Value = expect_status(app.request(Method::POST, &hook, None).send().await.unwrap(), 202).await;
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(300) && waited < Duration::from_millis(1400), "{waited:?}");
        assert!(["queued", "running", "waiting"].contains(&accepted["status"].as_str().unwrap()), "{accepted}");
        let run = finished(&app, &ws, accepted["run_id"].as_str().unwrap()).await;
        assert_eq!(run.status, "succeeded");
    }
}

backend_test! {
    async fn each_authentication_mode_refuses_a_bad_credential_and_keeps_secrets_out_of_the_item(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        let secret = SigningSecret::generate();
        let modes = [
            json!({"type": "header", "name": "X-Token", "value": "s3cret"}),
            json!({"type": "basic", "username": "shop", "password": "pa55"}),
            json!({"type": "standard_webhooks", "secret": secret.expose()}),
            json!({"type": "hmac_sha256", "secret": "gh-secret"}),
        ];
        let mut hooks = Vec::new();
        for auth in modes {
            let nodes = json!([hook_trigger(json!({"auth": auth})), tag("Ok", "ok", json!(true))]);
            hooks.push(hooked(&app, &ws, nodes, json!([{"from": "Hook", "to": "Ok"}]), true).await.1);
        }
        let body = br#"{"event":"paid"}"#.to_vec();
        let post = |hook: &str| {
            app.request(Method::POST, hook, None).header("content-type", "application/json").body(body.clone())
        };

        // Header secret.
        problem(post(&hooks[0]).send().await.unwrap(), 401).await;
        problem(post(&hooks[0]).header("x-token", "wrong").send().await.unwrap(), 401).await;
        let run = accepted(&app, &ws, post(&hooks[0]).header("x-token", "s3cret").send().await.unwrap()).await;
        assert_eq!(run.status, "succeeded");
        assert!(run.input["headers"].get("x-token").is_none(), "the secret header stays out of the run");

        // Basic.
        let refused = post(&hooks[1]).basic_auth("shop", Some("nope")).send().await.unwrap();
        assert_eq!(refused.headers()["www-authenticate"], "Basic realm=\"weft-hook\"");
        problem(refused, 401).await;
        let run = accepted(&app, &ws, post(&hooks[1]).basic_auth("shop", Some("pa55")).send().await.unwrap()).await;
        assert!(run.input["headers"].get("authorization").is_none());

        // Standard Webhooks: a good signature, a tampered body, a stale timestamp.
        let now = jiff::Timestamp::now().as_second();
        let signed = |id: &str, at: i64, payload: &[u8]| {
            post(&hooks[2])
                .header("webhook-id", id)
                .header("webhook-timestamp", at.to_string())
                .header("webhook-signature", secret.sign(id, at, payload))
        };
        accepted(&app, &ws, signed("msg_1", now, &body).send().await.unwrap()).await;
        problem(signed("msg_2", now, br#"{"event":"refunded"}"#).send().await.unwrap(), 401).await;
        problem(signed("msg_3", now - 600, &body).send().await.unwrap(), 401).await;
        problem(post(&hooks[2]).send().await.unwrap(), 401).await;

        // sha256= over the raw body.
        let good = sha256_header(b"gh-secret", &body);
        accepted(&app, &ws, post(&hooks[3]).header("x-hub-signature-256", &good).send().await.unwrap()).await;
        let other = sha256_header(b"other", &body);
        problem(post(&hooks[3]).header("x-hub-signature-256", other).send().await.unwrap(), 401).await;
    }
}

backend_test! {
    async fn an_idempotency_key_returns_the_first_run_for_24_hours(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        let nodes = json!([hook_trigger(json!({})), tag("Ok", "ok", json!(true))]);
        let (_, hook) = hooked(&app, &ws, nodes, json!([{"from": "Hook", "to": "Ok"}]), true).await;
        let send = |key: &'static str| app.request(Method::POST, &hook, None).header("idempotency-key", key).send();

        let first = send("order-1").await.unwrap();
        assert!(first.headers().get("idempotent-replayed").is_none());
        let first: Value = expect_status(first, 202).await;
        let again = send("order-1").await.unwrap();
        assert_eq!(again.headers()["idempotent-replayed"], "true");
        let again: Value = expect_status(again, 202).await;
        assert_eq!(again["run_id"], first["run_id"]);
        let other: Value = expect_status(send("order-2").await.unwrap(), 202).await;
        assert_ne!(other["run_id"], first["run_id"]);
        let runs: Value = expect_status(app.get(&ws.path("/runs"), Some(&ws.owner.access_token)).await, 200).await;
        assert_eq!(runs["items"].as_array().unwrap().len(), 2);

        // A day later the key starts a new run.
        app.execute_sql("UPDATE hook_requests SET created_at = created_at - 86400001").await;
        let later: Value = expect_status(send("order-1").await.unwrap(), 202).await;
        assert_ne!(later["run_id"], first["run_id"]);

        let long = "k".repeat(256);
        let refused = app.request(Method::POST, &hook, None).header("idempotency-key", long).send().await.unwrap();
        problem(refused, 422).await;
    }
}

backend_test! {
    async fn a_body_over_the_limit_is_413(backend) {
        let app = TestApp::spawn_with(backend, |config| config.body_limit_bytes = 1024).await;
        let ws = app.new_workspace("ada@example.com").await;
        let nodes = json!([hook_trigger(json!({})), tag("Ok", "ok", json!(true))]);
        let (_, hook) = hooked(&app, &ws, nodes, json!([{"from": "Hook", "to": "Ok"}]), true).await;
        let big = app.request(Method::POST, &hook, None).body("x".repeat(4096)).send().await.unwrap();
        assert_eq!(problem(big, 413).await.type_uri, "https://weft.dev/problems/payload-too-large");
    }
}

/// An image's bytes, served at any path of [`image_server`].
const IMAGE: &[u8] = b"\x89PNG\r\n\x1a\n not really an image";

async fn image_server() -> String {
    let app =
        axum::Router::new().fallback(|| async { ([(axum::http::header::CONTENT_TYPE, "image/png")], IMAGE.to_vec()) });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}")
}

backend_test! {
    async fn a_webhook_answers_with_an_attachment_from_a_respond_node_or_its_last_node(backend) {
        let images = image_server().await;
        let app = TestApp::spawn_with(backend, |config| config.outbound_allow_cidrs = vec!["127.0.0.0/8".into()]).await;
        let ws = app.new_workspace("ada@example.com").await;
        let fetch = json!({"name": "Fetch", "type": "http_request", "params": {"url": format!("{images}/cat.png"), "response": "file"}});
        let answer = json!({"name": "Answer", "type": "respond_to_webhook",
            "params": {"respond_with": "binary", "headers": {"Cache-Control": "no-store"}}});
        let nodes = json!([hook_trigger(json!({"response_mode": "respond_node"})), fetch, answer]);
        let connections = json!([{"from": "Hook", "to": "Fetch"}, {"from": "Fetch", "to": "Answer"}]);
        let (_, path) = hooked(&app, &ws, nodes, connections, true).await;
        let response = app.request(Method::POST, &path, None).json(&json!({})).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "image/png");
        assert_eq!(response.headers()["cache-control"], "no-store", "the node's headers go with it");
        assert_eq!(response.bytes().await.unwrap().as_ref(), IMAGE);

        let last_node = hook_trigger(json!({"response_mode": "last_node", "response_data": "first_binary"}));
        let nodes = json!([last_node, fetch]);
        let (_, path) = hooked(&app, &ws, nodes, json!([{"from": "Hook", "to": "Fetch"}]), true).await;
        let response = app.request(Method::POST, &path, None).json(&json!({})).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "image/png");
        assert_eq!(response.bytes().await.unwrap().as_ref(), IMAGE);

        // An item without the attachment: the answer says so rather than sending nothing.
        let nodes = json!([last_node, tag("Tag", "seen", json!(true))]);
        let (_, path) = hooked(&app, &ws, nodes, json!([{"from": "Hook", "to": "Tag"}]), true).await;
        let response = app.request(Method::POST, &path, None).json(&json!({})).send().await.unwrap();
        assert_eq!(response.status(), 502);
        assert!(response.text().await.unwrap().contains("no attachment `data`"));

        // A respond node without it fails, and so does the run.
        let answer = json!({"name": "Answer", "type": "respond_to_webhook", "params": {"respond_with": "binary", "field": "pdf"}});
        let nodes = json!([hook_trigger(json!({"response_mode": "respond_node"})), fetch, answer]);
        let connections = json!([{"from": "Hook", "to": "Fetch"}, {"from": "Fetch", "to": "Answer"}]);
        let (_, path) = hooked(&app, &ws, nodes, connections, true).await;
        let failed = problem(app.request(Method::POST, &path, None).json(&json!({})).send().await.unwrap(), 502).await;
        let run = finished(&app, &ws, failed.detail.split(' ').nth(2).unwrap()).await;
        assert_eq!(run.error.unwrap()["message"], "the first item has no attachment `pdf` to answer with");
    }
}
