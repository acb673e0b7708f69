//! The API keys page over HTTP: a key is shown once, works against the API and stops working
//! when revoked; forms are shown again with their errors; other workspaces are 404.

use serde_json::{Value, json};
use weft_testkit::ui::csrf_of;
use weft_testkit::{TEST_PASSWORD, TestApp, UiSession, backend_test, expect_status};

/// The secret on the page the creation form answers with.
fn secret_of(html: &str) -> String {
    let at = html.find("id=\"api-key-secret\">").expect("the secret") + "id=\"api-key-secret\">".len();
    html[at..].split('<').next().expect("secret text").to_owned()
}

backend_test!(
    async fn a_key_is_shown_once_works_and_is_revoked(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("owner@example.com").await;
        let mut ui = UiSession::sign_in(&app, "owner@example.com", TEST_PASSWORD).await;
        let keys = format!("/w/{}/api-keys", ws.slug);
        let empty = ui.get(&keys).await;
        assert!(empty.body.contains("No API keys yet"), "{}", empty.body);

        let none = ui.submit(&keys, &keys, &[("name", "deploy"), ("expires_on", "")]).await;
        assert_eq!(none.status, 422);
        assert!(none.body.contains("must list at least one scope") && none.body.contains("value=\"deploy\""));
        let past = [("name", "deploy"), ("scopes", "workflows:read"), ("expires_on", "2001-01-01")];
        let refused = ui.submit(&keys, &keys, &past).await;
        assert_eq!(refused.status, 422);
        assert!(refused.body.contains("key-expires-error") && refused.body.contains("value=\"workflows:read\" checked"));

        let fields = [("name", "deploy"), ("scopes", "workflows:read"), ("scopes", "runs:read"), ("expires_on", "")];
        let created = ui.submit(&keys, &keys, &fields).await;
        assert_eq!(created.status, 200);
        let secret = secret_of(&created.body);
        assert!(secret.starts_with("weft_"), "{secret}");
        let works = app.get(&ws.path("/workflows"), Some(&secret)).await;
        assert_eq!(works.status(), 200);

        let list = ui.get(&keys).await;
        assert!(list.body.contains("deploy") && list.body.contains("runs:read"), "{}", list.body);
        assert!(!list.body.contains(&secret), "the secret is not shown again");

        let listed: Value = expect_status(app.get(&ws.path("/api-keys"), Some(&ws.owner.access_token)).await, 200).await;
        let id = listed["items"][0]["id"].as_str().expect("key id").to_owned();
        let revoked = ui.submit(&keys, &format!("{keys}/{id}/revoke"), &[]).await;
        assert_eq!((revoked.status, revoked.location.as_deref()), (303, Some(keys.as_str())));
        assert_eq!(app.get(&ws.path("/workflows"), Some(&secret)).await.status(), 401);
    }
);

backend_test!(
    async fn keys_of_another_workspace_are_not_found_and_names_render_inert(backend) {
        let app = TestApp::spawn(backend).await;
        let ours = app.new_workspace("ours@example.com").await;
        let theirs = app.new_workspace("theirs@example.com").await;
        let (_, their_key) = app.new_api_key(&theirs, &["workflows:read"]).await;
        let hostile = "<script>alert(1)</script>";
        let body = json!({ "name": hostile, "scopes": ["runs:read"] });
        expect_status::<Value>(app.post(&ours.path("/api-keys"), Some(&ours.owner.access_token), &body).await, 201).await;

        let mut ui = UiSession::sign_in(&app, "ours@example.com", TEST_PASSWORD).await;
        let page = ui.get(&format!("/w/{}/api-keys", ours.slug)).await;
        assert_eq!(page.status, 200);
        assert!(!page.body.contains(hostile) && page.body.contains("&#60;script&#62;"), "{}", page.body);
        let foreign = ui.get(&format!("/w/{}/api-keys", theirs.slug)).await;
        assert_eq!(foreign.status, 404);
        let csrf = csrf_of(&page.body).expect("token");
        let revoke = ui.post_form(&format!("/w/{}/api-keys/{their_key}/revoke", theirs.slug), &csrf, &[]).await;
        assert_eq!(revoke.status, 404);
        let across = ui.post_form(&format!("/w/{}/api-keys/{their_key}/revoke", ours.slug), &csrf, &[]).await;
        assert_eq!(across.status, 404, "another workspace's key through ours");
    }
);

backend_test!(
    async fn a_viewer_can_neither_see_nor_create_keys(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("owner@example.com").await;
        app.add_member(&ws, "viewer@example.com", "viewer").await;
        let mut ui = UiSession::sign_in(&app, "viewer@example.com", TEST_PASSWORD).await;
        let keys = format!("/w/{}/api-keys", ws.slug);
        let page = ui.get(&keys).await;
        assert_eq!(page.status, 403, "keys are for admins");
        assert!(page.body.contains("needs the `keys:read` permission"), "{}", page.body);
        let csrf = csrf_of(&ui.get(&format!("/w/{}", ws.slug)).await.body).expect("token");
        let refused = ui.post_form(&keys, &csrf, &[("name", "sneaky"), ("scopes", "workflows:read")]).await;
        assert_eq!(refused.status, 403);
        let listed: Value = expect_status(app.get(&ws.path("/api-keys"), Some(&ws.owner.access_token)).await, 200).await;
        assert_eq!(listed["items"], json!([]), "nothing was created");
    }
);
