//! The web UI over HTTP: sessions, CSRF, the friendly error pages, workspace isolation and
//! escaping. The browser tests (`ui_browser`) drive the same pages in Chromium.

use serde_json::json;
use weft_testkit::ui::csrf_of;
use weft_testkit::{TEST_PASSWORD, TestApp, UiSession, backend_test, expect_status};

backend_test!(
    async fn signing_in_opens_the_dashboard_and_logging_out_closes_it(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("owner@example.com").await;
        let mut anonymous = UiSession::anonymous(&app);
        let before = anonymous.get(&format!("/w/{}", ws.slug)).await;
        assert_eq!(before.status, 303);
        assert_eq!(before.location.as_deref(), Some(format!("/login?next=%2Fw%2F{}", ws.slug).as_str()));

        let mut ui = UiSession::sign_in(&app, "owner@example.com", TEST_PASSWORD).await;
        let dashboard = ui.get(&format!("/w/{}", ws.slug)).await;
        assert_eq!(dashboard.status, 200);
        assert!(dashboard.body.contains("Workspace of owner@example.com"), "{}", dashboard.body);

        let csrf = csrf_of(&dashboard.body).expect("the logout form's token");
        let out = ui.post_form("/logout", &csrf, &[]).await;
        assert_eq!((out.status, out.location.as_deref()), (303, Some("/login")));
        assert_eq!(ui.get(&format!("/w/{}", ws.slug)).await.status, 303, "signed out");
    }
);

backend_test!(
    async fn a_wrong_password_shows_the_form_again_with_the_reason(backend) {
        let app = TestApp::spawn(backend).await;
        app.new_verified_user("someone@example.com").await;
        let mut ui = UiSession::anonymous(&app);
        let refused = ui.submit("/login", "/login", &[("email", "someone@example.com"), ("password", "wrong")]).await;
        assert_eq!(refused.status, 401);
        assert!(refused.body.contains("the email or password is incorrect"), "{}", refused.body);
        assert!(refused.body.contains("value=\"someone@example.com\""), "the email is kept");
    }
);

backend_test!(
    async fn forms_without_a_valid_csrf_token_are_refused(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("owner@example.com").await;
        let mut ui = UiSession::sign_in(&app, "owner@example.com", TEST_PASSWORD).await;
        for token in ["", "00", "not-a-token"] {
            let refused = ui.post_form("/logout", token, &[]).await;
            assert_eq!(refused.status, 403, "token {token:?}");
            assert!(refused.body.contains("This form has expired"), "{}", refused.body);
        }
        // A token minted for another browser (another seed cookie) is refused as well.
        let mut other = UiSession::anonymous(&app);
        let foreign = csrf_of(&other.get("/login").await.body).expect("token");
        assert_eq!(ui.post_form("/logout", &foreign, &[]).await.status, 403);
        assert_eq!(ui.get(&format!("/w/{}", ws.slug)).await.status, 200, "still signed in");
    }
);

backend_test!(
    async fn another_workspace_is_a_not_found_page(backend) {
        let app = TestApp::spawn(backend).await;
        let ours = app.new_workspace("ours@example.com").await;
        let theirs = app.new_workspace("theirs@example.com").await;
        let mut ui = UiSession::sign_in(&app, "ours@example.com", TEST_PASSWORD).await;
        assert_eq!(ui.get(&format!("/w/{}", ours.slug)).await.status, 200);
        for path in [format!("/w/{}", theirs.slug), format!("/w/{}", theirs.id), "/w/no-such-workspace".to_owned()] {
            let page = ui.get(&path).await;
            assert_eq!(page.status, 404, "{path}");
            assert!(page.body.contains("Nothing here"), "{path}: {}", page.body);
            assert!(!page.body.contains("Workspace of theirs@example.com"), "{path} leaks the name");
        }
    }
);

backend_test!(
    async fn browsers_get_a_page_for_unknown_addresses_and_api_clients_a_problem(backend) {
        let app = TestApp::spawn(backend).await;
        let mut ui = UiSession::anonymous(&app);
        let page = ui.get("/no/such/page").await;
        assert_eq!(page.status, 404);
        assert!(page.body.starts_with("<!doctype html>"), "{}", page.body);
        let api = app.get("/no/such/page", None).await;
        assert_eq!(api.status(), 404);
        assert_eq!(api.headers()["content-type"], "application/problem+json");
        // The API and webhooks answer problems whoever asks.
        for path in ["/api/v1/no-such-endpoint", "/hooks/no-such-token"] {
            let browser = ui.get(path).await;
            assert_eq!(browser.status, 404, "{path}");
            assert!(browser.body.starts_with('{'), "{path}: {}", browser.body);
        }
    }
);

backend_test!(
    async fn names_render_inert(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("owner@example.com").await;
        let hostile = "<script>alert(1)</script>";
        let renamed = app.patch(&ws.path(""), Some(&ws.owner.access_token), &json!({ "name": hostile })).await;
        expect_status::<serde_json::Value>(renamed, 200).await;
        let mut ui = UiSession::sign_in(&app, "owner@example.com", TEST_PASSWORD).await;
        let page = ui.get(&format!("/w/{}", ws.slug)).await;
        assert_eq!(page.status, 200);
        assert!(!page.body.contains(hostile), "the name is not escaped: {}", page.body);
        assert!(page.body.contains("&#60;script&#62;alert(1)&#60;/script&#62;"), "{}", page.body);
    }
);

#[tokio::test]
async fn assets_are_served_with_long_caching_and_revalidate() {
    let app = TestApp::spawn(weft_testkit::TestBackend::Sqlite).await;
    let mut ui = UiSession::anonymous(&app);
    let login = ui.get("/login").await;
    let css =
        login.body.split("href=\"").find(|rest| rest.starts_with("/assets/weft.css?v=")).expect("stylesheet link");
    let css = css.split('"').next().expect("link end");
    let response = app.client.get(app.url(css)).send().await.expect("stylesheet");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "public, max-age=31536000, immutable");
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/css"));
    let etag = response.headers()["etag"].clone();
    let again = app.client.get(app.url(css)).header("if-none-match", etag).send().await.expect("revalidation");
    assert_eq!(again.status(), 304);
    assert_eq!(app.client.get(app.url("/assets/nothing.css")).send().await.expect("missing").status(), 404);
}
