//! Members and API keys end to end in headless Chromium: an invitation from the owner's
//! browser accepted in the invitee's, and an API key created, used and revoked.

use weft_testkit::{Browser, TEST_PASSWORD, TestApp, TestBackend};

/// The path of a mailed link to the test app.
fn local(link: &str) -> &str {
    link.strip_prefix("http://weft.test").expect("a link to the app")
}

/// Signs in through the login page, going on to `next`.
async fn sign_in(browser: &Browser, app: &TestApp, email: &str, next: &str) {
    let next = next.replace('/', "%2F");
    browser.goto(&app.url(&format!("/login?next={next}"))).await;
    browser.fill("#email", email).await;
    browser.fill("#password", TEST_PASSWORD).await;
    browser.click("button[type=submit]").await;
}

#[tokio::test]
async fn invite_a_member_who_signs_up_and_accepts() {
    let app = TestApp::spawn(TestBackend::Sqlite).await;
    let ws = app.new_workspace("owner@example.com").await;
    let members = format!("/w/{}/members", ws.slug);

    let owner = Browser::start("invite_a_member_who_signs_up_and_accepts").await;
    sign_in(&owner, &app, "owner@example.com", &members).await;
    owner.wait_for_path(&members).await;
    owner.fill("#invite-email", "x@example.com").await;
    owner.select("#invite-role", "member").await;
    owner.screenshot("invite-form").await;
    owner.click("#invite-form button[type=submit]").await;
    owner.wait_for_text(".flash", "Invitation sent to x@example.com").await;
    owner.screenshot("invitation-pending").await;
    let link = app.smtp.next_message().await.link_starting_with("http://weft.test/invitations/").expect("link");

    let invitee = Browser::start("invite_a_member_who_signs_up_and_accepts-invitee").await;
    invitee.goto(&app.url(local(&link))).await;
    invitee.wait_for_text("main", "Workspace of owner@example.com").await;
    invitee.screenshot("invitation-signed-out").await;
    invitee.click("#invitation-signup").await;
    invitee.fill("#name", "Xavier").await;
    invitee.fill("#email", "x@example.com").await;
    invitee.fill("#password", TEST_PASSWORD).await;
    invitee.screenshot("sign-up").await;
    invitee.click("button[type=submit]").await;
    invitee.wait_for_path("/invitations/").await;
    invitee.wait_for_text("main", "Confirm your address first").await;
    invitee.screenshot("invitation-unverified").await;

    let verify = app.smtp.next_message().await.link_starting_with("http://weft.test/verify-email").expect("link");
    invitee.goto(&app.url(local(&verify))).await;
    invitee.screenshot("verify-email").await;
    invitee.click("#verify-email").await;
    invitee.wait_for_text("h1", "Your address is verified").await;
    invitee.screenshot("verified").await;

    invitee.goto(&app.url(local(&link))).await;
    invitee.click("#accept-invitation").await;
    invitee.wait_for_path(&format!("/w/{}", ws.slug)).await;
    invitee.wait_for_text(".flash", "you joined as member").await;
    invitee.screenshot("joined").await;
    invitee.close().await;

    owner.goto(&app.url(&members)).await;
    owner.wait_for_text("tbody", "x@example.com").await;
    let row = owner.text("tr.member-row[data-email='x@example.com']").await;
    assert!(row.contains("Xavier"), "{row}");
    owner.screenshot("member-listed").await;
    owner.close().await;
}

#[tokio::test]
async fn create_use_and_revoke_an_api_key() {
    let app = TestApp::spawn(TestBackend::Sqlite).await;
    let ws = app.new_workspace("owner@example.com").await;
    let keys = format!("/w/{}/api-keys", ws.slug);
    let browser = Browser::start("create_use_and_revoke_an_api_key").await;
    sign_in(&browser, &app, "owner@example.com", &keys).await;
    browser.wait_for_path(&keys).await;
    browser.wait_for_text("main", "No API keys yet").await;
    browser.screenshot("no-keys").await;
    browser.fill("#key-name", "deploy script").await;
    browser.click("input[name=scopes][value='workflows:read']").await;
    browser.screenshot("key-form").await;
    browser.click("#key-form button[type=submit]").await;
    let secret = browser.wait_for_text("#api-key-secret", "weft_").await;
    browser.screenshot("key-created").await;

    let workflows = ws.path("/workflows");
    assert_eq!(app.get(&workflows, Some(secret.trim())).await.status(), 200, "the key works");

    browser.goto(&app.url(&keys)).await;
    let row = browser.wait_for_text("tr.key-row", "deploy script").await;
    assert!(row.contains("workflows:read") && !row.contains(secret.trim()), "{row}");
    browser.screenshot("key-listed").await;
    browser.eval("window.confirm = () => true; return true").await;
    browser.click("tr.key-row form button[type=submit]").await;
    browser.wait_for_text(".flash", "is revoked").await;
    browser.screenshot("key-revoked").await;
    assert_eq!(app.get(&workflows, Some(secret.trim())).await.status(), 401, "the revoked key is refused");
    browser.close().await;
}
