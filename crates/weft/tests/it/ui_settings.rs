//! Workspace settings over HTTP: renaming, a new address, deleting, leaving, and who may.

use serde_json::Value;
use weft_testkit::ui::csrf_of;
use weft_testkit::{TEST_PASSWORD, TestApp, UiSession, backend_test, expect_status};

backend_test!(
    async fn an_owner_renames_moves_and_deletes_the_workspace(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("owner@example.com").await;
        let other = app.new_workspace("other@example.com").await;
        let mut ui = UiSession::sign_in(&app, "owner@example.com", TEST_PASSWORD).await;
        let settings = format!("/w/{}/settings", ws.slug);

        let taken = ui.submit(&settings, &settings, &[("name", "Acme"), ("slug", other.slug.as_str())]).await;
        assert_eq!(taken.status, 409);
        assert!(taken.body.contains("this slug is taken") && taken.body.contains("value=\"Acme\""), "{}", taken.body);
        let bad = ui.submit(&settings, &settings, &[("name", "Acme"), ("slug", "No Spaces")]).await;
        assert_eq!(bad.status, 422);
        assert!(bad.body.contains("slug-error"), "{}", bad.body);

        let moved = ui.submit(&settings, &settings, &[("name", "Acme"), ("slug", "acme-corp")]).await;
        assert_eq!((moved.status, moved.location.as_deref()), (303, Some("/w/acme-corp/settings")));
        let page = ui.get("/w/acme-corp/settings").await;
        assert!(page.body.contains("settings are saved") && page.body.contains("value=\"Acme\""), "{}", page.body);
        assert_eq!(ui.get(&settings).await.status, 404, "the old address is gone");

        let csrf = csrf_of(&page.body).expect("token");
        let deleted = ui.post_form("/w/acme-corp/settings/delete", &csrf, &[]).await;
        assert_eq!((deleted.status, deleted.location.as_deref()), (303, Some("/")));
        assert_eq!(ui.get("/w/acme-corp").await.status, 404);
        let read = app.get(&ws.path(""), Some(&ws.owner.access_token)).await;
        assert_eq!(read.status(), 404, "deleted for the API as well");
    }
);

backend_test!(
    async fn a_member_leaves_but_cannot_rename_or_delete(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("owner@example.com").await;
        app.add_member(&ws, "member@example.com", "member").await;
        let mut ui = UiSession::sign_in(&app, "member@example.com", TEST_PASSWORD).await;
        let settings = format!("/w/{}/settings", ws.slug);
        let page = ui.get(&settings).await;
        assert_eq!(page.status, 200);
        assert!(!page.body.contains("settings-form") && !page.body.contains("delete-workspace"), "{}", page.body);
        assert!(page.body.contains("leave-workspace"));

        let csrf = csrf_of(&page.body).expect("token");
        let renamed = ui.post_form(&settings, &csrf, &[("name", "Mine now"), ("slug", ws.slug.as_str())]).await;
        assert_eq!(renamed.status, 403);
        assert_eq!(ui.post_form(&format!("{settings}/delete"), &csrf, &[]).await.status, 403);
        let workspace: Value = expect_status(app.get(&ws.path(""), Some(&ws.owner.access_token)).await, 200).await;
        assert_eq!(workspace["name"], "Workspace of owner@example.com", "unchanged");

        let left = ui.post_form(&format!("{settings}/leave"), &csrf, &[]).await;
        assert_eq!((left.status, left.location.as_deref()), (303, Some("/")));
        assert_eq!(ui.get(&settings).await.status, 404, "no longer a member");
    }
);

backend_test!(
    async fn another_workspaces_settings_are_not_found(backend) {
        let app = TestApp::spawn(backend).await;
        let ours = app.new_workspace("ours@example.com").await;
        let theirs = app.new_workspace("theirs@example.com").await;
        let mut ui = UiSession::sign_in(&app, "ours@example.com", TEST_PASSWORD).await;
        let page = ui.get(&format!("/w/{}/settings", ours.slug)).await;
        assert_eq!(page.status, 200);
        let foreign = ui.get(&format!("/w/{}/settings", theirs.slug)).await;
        assert_eq!(foreign.status, 404);
        assert!(!foreign.body.contains("theirs@example.com"));
        let csrf = csrf_of(&page.body).expect("token");
        let delete = ui.post_form(&format!("/w/{}/settings/delete", theirs.slug), &csrf, &[]).await;
        assert_eq!(delete.status, 404);
        expect_status::<Value>(app.get(&theirs.path(""), Some(&theirs.owner.access_token)).await, 200).await;
    }
);
