//! The web UI end to end in headless Chromium (Debian's chromium and chromium-driver).
//! Screenshots of every page visited are saved under `target/ui-screenshots/<test>/`.

use weft_testkit::{Browser, TestApp, TestBackend};

#[tokio::test]
async fn sign_up_and_create_a_workspace() {
    let app = TestApp::spawn(TestBackend::Sqlite).await;
    let browser = Browser::start("sign_up_and_create_a_workspace").await;
    browser.goto(&app.url("/")).await;
    browser.wait_for_path("/login").await;
    browser.screenshot("login").await;
    browser.click("a[href='/signup']").await;
    browser.fill("#name", "Ada Lovelace").await;
    browser.fill("#email", "ada@example.com").await;
    browser.fill("#password", "short").await;
    browser.click("button[type=submit]").await;
    browser.wait_for_text(".field-error", "at least 10 characters").await;
    browser.screenshot("signup-refused").await;
    browser.fill("#password", "a perfectly fine passphrase").await;
    browser.click("button[type=submit]").await;
    browser.wait_for_path("/w/").await;
    browser.screenshot("personal-dashboard").await;

    browser.click("a[href='/workspaces/new']").await;
    browser.fill("#name", "Analytical Engines").await;
    browser.click("main button[type=submit]").await;
    browser.wait_for_text(".flash", "Analytical Engines").await;
    assert_eq!(browser.path().await, "/w/analytical-engines");
    let switcher = browser
        .eval("return [...document.querySelectorAll('#workspace-switcher option')].map(o => o.textContent)")
        .await;
    assert!(switcher.to_string().contains("Analytical Engines"), "{switcher}");
    browser.screenshot("new-workspace").await;
    browser.close().await;
}
