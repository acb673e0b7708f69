//! The runs list in headless Chromium: a run started elsewhere appears and finishes on the open
//! page, without a reload.

use weft_testkit::{Browser, TEST_PASSWORD, TestApp, TestBackend};

use crate::ui_runs::start_run;

#[tokio::test]
async fn a_run_started_elsewhere_appears_live_and_succeeds() {
    let app = TestApp::spawn(TestBackend::Sqlite).await;
    let ws = app.new_workspace("owner@example.com").await;
    let workflow = app.new_workflow(&ws, "Live greeter").await;
    let browser = Browser::start("a_run_started_elsewhere_appears_live_and_succeeds").await;
    browser.goto(&app.url(&format!("/w/{}/runs", ws.slug))).await;
    browser.wait_for_path("/login").await;
    browser.fill("#email", "owner@example.com").await;
    browser.fill("#password", TEST_PASSWORD).await;
    browser.click("button[type=submit]").await;
    browser.wait_for_path(&format!("/w/{}/runs", ws.slug)).await;
    browser.wait_for_text("#runs", "No runs yet").await;
    browser.screenshot("runs-empty").await;
    // Marks the page: a reload would lose the mark.
    browser.eval("window.weftNotReloaded = true; return true").await;

    let run = start_run(&app, &ws, &workflow).await;
    browser.wait_for_text("#runs", "Live greeter").await;
    browser.wait_for_text("#runs", "succeeded").await;
    browser.screenshot("run-succeeded").await;
    let link = browser.eval(&format!("return !!document.querySelector('#runs a[href$=\"/runs/{run}\"]')")).await;
    assert_eq!(link, serde_json::json!(true), "the row links to the run");
    let kept = browser.eval("return window.weftNotReloaded === true").await;
    assert_eq!(kept, serde_json::json!(true), "the page was not reloaded");

    browser.click(&format!("a[href='/w/{}']", ws.slug)).await;
    browser.wait_for_text("#runs-24h-summary", "1 run: 1 succeeded").await;
    browser.screenshot("dashboard").await;
    browser.click(&format!("a[href='/w/{}/webhooks']", ws.slug)).await;
    browser.wait_for_text("main", "No endpoints yet").await;
    browser.click(&format!("main a[href='/w/{}/webhooks/new']", ws.slug)).await;
    browser.wait_for_text("main", "run.failed").await;
    browser.screenshot("new-webhook-endpoint").await;
    browser.click(&format!("a[href='/w/{}/audit']", ws.slug)).await;
    browser.wait_for_text(".audit-table", "workflow.created").await;
    browser.screenshot("audit-log").await;
    browser.close().await;
}
