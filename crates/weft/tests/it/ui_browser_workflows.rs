//! Workflows and runs end to end in headless Chromium: a workflow pasted as JSON, run with an
//! input, its step output opened on the run page; and a failing run showing its error.
//! Screenshots of every page visited go to `target/ui-screenshots/<test>/`.

use serde_json::{Value, json};
use weft_testkit::{Browser, TEST_PASSWORD, TestApp, TestBackend, expect_status};

const GREETER: &str = r#"{
  "name": "Greeter",
  "tags": ["demo"],
  "nodes": [
    {"name": "Start", "type": "manual_trigger"},
    {"name": "Greet", "type": "set", "params": {"assignments": [{"name": "greeting", "value": "Hello {{ $json.name }}"}]}}
  ],
  "connections": [{"from": "Start", "to": "Greet"}]
}"#;

#[tokio::test]
async fn a_workflow_pasted_as_json_runs_and_shows_its_step_output() {
    let app = TestApp::spawn(TestBackend::Sqlite).await;
    let browser = Browser::start("a_workflow_pasted_as_json_runs_and_shows_its_step_output").await;
    browser.goto(&app.url("/signup")).await;
    browser.fill("#name", "Ada Lovelace").await;
    browser.fill("#email", "ada@example.com").await;
    browser.fill("#password", "a perfectly fine passphrase").await;
    browser.click("button[type=submit]").await;
    browser.wait_for_path("/w/").await;
    browser.click("a[href='/workspaces/new']").await;
    browser.fill("#name", "Engines").await;
    browser.click("main button[type=submit]").await;
    browser.wait_for_text(".flash", "Engines").await;

    browser.click("a[href='/w/engines/workflows']").await;
    browser.wait_for_text(".empty", "No workflows yet").await;
    browser.screenshot("no-workflows").await;
    browser.click(".empty a[href='/w/engines/workflows/new']").await;
    browser.set_value("#json", GREETER).await;
    browser.screenshot("new-workflow").await;
    browser.click("main button[type=submit]").await;
    browser.wait_for_text(".flash", "Workflow “Greeter” created").await;
    assert!(browser.path().await.starts_with("/w/engines/workflows/wf_"));
    let nodes = browser.eval("return document.querySelectorAll('svg.graph .node').length").await;
    assert_eq!(nodes, json!(2), "the graph draws both nodes");
    browser.screenshot("editor").await;

    browser.set_value("#run-input", r#"{"name": "Ada"}"#).await;
    browser.click("form[action$='/runs'] button[type=submit]").await;
    browser.wait_for_path("/w/engines/runs/run_").await;
    browser.wait_for_text("#run-status", "succeeded").await;
    browser.wait_for_text(".timeline", "Greet").await;
    browser.click(".step-output summary").await;
    let output = browser.wait_for_text(".step-output pre", "Hello Ada").await;
    assert!(output.contains("greeting"), "{output}");
    let succeeded = browser.eval("return document.querySelectorAll('svg.graph .node-succeeded').length").await;
    assert_eq!(succeeded, json!(1), "the set step is coloured; the trigger records no step");
    browser.screenshot("run-succeeded").await;
    browser.close().await;
}

#[tokio::test]
async fn a_failing_run_shows_its_error_at_the_top() {
    let app = TestApp::spawn(TestBackend::Sqlite).await;
    let ws = app.new_workspace("ada@example.com").await;
    let body = json!({
        "name": "Checker",
        "nodes": [
            {"name": "Start", "type": "manual_trigger"},
            {"name": "Refuse", "type": "stop_and_error", "params": {"message": "order {{ $json.order }} is not paid"}},
        ],
        "connections": [{"from": "Start", "to": "Refuse"}],
    });
    let created: Value =
        expect_status(app.post(&ws.path("/workflows"), Some(&ws.owner.access_token), &body).await, 201).await;
    let workflow = created["id"].as_str().expect("workflow id");

    let browser = Browser::start("a_failing_run_shows_its_error_at_the_top").await;
    browser.goto(&app.url(&format!("/w/{}/workflows/{workflow}", ws.slug))).await;
    browser.wait_for_path("/login").await;
    browser.fill("#email", "ada@example.com").await;
    browser.fill("#password", TEST_PASSWORD).await;
    browser.click("button[type=submit]").await;
    browser.wait_for_path(&format!("/w/{}/workflows/{workflow}", ws.slug)).await;
    browser.set_value("#run-input", r#"{"order": 1042}"#).await;
    browser.screenshot("editor").await;
    browser.click("form[action$='/runs'] button[type=submit]").await;
    browser.wait_for_path(&format!("/w/{}/runs/run_", ws.slug)).await;
    browser.wait_for_text("#run-status", "failed").await;
    let error = browser.wait_for_text(".run-error", "order 1042 is not paid").await;
    assert!(error.contains("Failed at “Refuse”"), "{error}");
    browser.wait_for_text(".step-error", "order 1042 is not paid").await;
    let failed = browser.eval("return document.querySelectorAll('svg.graph .node-failed').length").await;
    assert_eq!(failed, json!(1));
    browser.screenshot("run-failed").await;
    browser.close().await;
}
