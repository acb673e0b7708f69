//! The members page over HTTP: inviting by mail, accepting the mailed link, role changes,
//! removal, and who may do what.

use serde_json::{Value, json};
use weft_testkit::ui::csrf_of;
use weft_testkit::{TEST_PASSWORD, TestApp, UiSession, backend_test, expect_status};

/// The path of a mailed link to the test app.
fn local(link: &str) -> &str {
    link.strip_prefix("http://weft.test").expect("a link to the app")
}

backend_test!(
    async fn an_owner_invites_by_mail_and_the_invitee_accepts_on_the_invitation_page(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("owner@example.com").await;
        let mut owner = UiSession::sign_in(&app, "owner@example.com", TEST_PASSWORD).await;
        let members = format!("/w/{}/members", ws.slug);

        let refused = owner.submit(&members, &members, &[("email", "not an address"), ("role", "admin")]).await;
        assert_eq!(refused.status, 422);
        assert!(refused.body.contains("invite-email-error"), "{}", refused.body);
        assert!(refused.body.contains("value=\"not an address\""), "the typed address is kept");

        let sent = owner.submit(&members, &members, &[("email", "new@example.com"), ("role", "admin")]).await;
        assert_eq!((sent.status, sent.location.as_deref()), (303, Some(members.as_str())));
        let page = owner.get(&members).await;
        assert!(page.body.contains("Invitation sent to new@example.com"), "{}", page.body);
        assert!(page.body.contains("invitation-row"), "the invitation is pending");
        let mail = app.smtp.next_message().await;
        let link = mail.link_starting_with("http://weft.test/invitations/").expect("invitation link");

        let mut visitor = UiSession::anonymous(&app);
        let offer = visitor.get(local(&link)).await;
        assert_eq!(offer.status, 200);
        assert!(offer.body.contains("Workspace of owner@example.com") && offer.body.contains("admin"), "{}", offer.body);
        assert!(offer.body.contains("/login?next=%2Finvitations%2F"), "a way to sign in and come back");

        app.new_verified_user("new@example.com").await;
        let mut invitee = UiSession::sign_in(&app, "new@example.com", TEST_PASSWORD).await;
        let accepted = invitee.submit(local(&link), local(&link), &[]).await;
        assert_eq!((accepted.status, accepted.location.as_deref()), (303, Some(format!("/w/{}", ws.slug).as_str())));
        assert!(owner.get(&members).await.body.contains("new@example.com</td>"), "listed as a member");
        let spent = invitee.get(local(&link)).await;
        assert_eq!(spent.status, 404, "the link works once");
        assert!(spent.body.contains("already used"), "{}", spent.body);
    }
);

backend_test!(
    async fn an_admin_changes_roles_removes_members_and_revokes_invitations(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("owner@example.com").await;
        let member = app.add_member(&ws, "member@example.com", "member").await;
        let mut owner = UiSession::sign_in(&app, "owner@example.com", TEST_PASSWORD).await;
        let members = format!("/w/{}/members", ws.slug);

        let role = format!("{members}/{}/role", member.id);
        let changed = owner.submit(&members, &role, &[("role", "viewer")]).await;
        assert_eq!(changed.status, 303);
        let listed: Value = expect_status(app.get(&ws.path("/members"), Some(&ws.owner.access_token)).await, 200).await;
        assert!(listed.to_string().contains("\"role\":\"viewer\""), "{listed}");

        let last_owner = owner.submit(&members, &format!("{members}/{}/role", ws.owner.id), &[("role", "admin")]).await;
        assert_eq!(last_owner.status, 409, "the last owner stays");
        assert!(last_owner.body.contains("at least one owner"), "{}", last_owner.body);

        let removed = owner.submit(&members, &format!("{members}/{}/remove", member.id), &[]).await;
        assert_eq!(removed.status, 303);
        assert!(!owner.get(&members).await.body.contains("member@example.com"), "removed");

        owner.submit(&members, &members, &[("email", "later@example.com"), ("role", "member")]).await;
        app.smtp.next_message().await;
        let pending: Value =
            expect_status(app.get(&ws.path("/invitations"), Some(&ws.owner.access_token)).await, 200).await;
        let id = pending["items"][0]["id"].as_str().expect("invitation id").to_owned();
        let revoked = owner.submit(&members, &format!("/w/{}/invitations/{id}/revoke", ws.slug), &[]).await;
        assert_eq!(revoked.status, 303);
        let pending: Value =
            expect_status(app.get(&ws.path("/invitations"), Some(&ws.owner.access_token)).await, 200).await;
        assert_eq!(pending["items"], json!([]));
    }
);

backend_test!(
    async fn a_viewer_sees_no_controls_and_cannot_invite(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("owner@example.com").await;
        app.add_member(&ws, "viewer@example.com", "viewer").await;
        let mut viewer = UiSession::sign_in(&app, "viewer@example.com", TEST_PASSWORD).await;
        let members = format!("/w/{}/members", ws.slug);
        let page = viewer.get(&members).await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("owner@example.com"), "the viewer reads the list");
        assert!(!page.body.contains("invite-form") && !page.body.contains("/remove"), "no controls");

        let csrf = csrf_of(&page.body).expect("the logout form's token");
        let refused = viewer.post_form(&members, &csrf, &[("email", "x@example.com"), ("role", "owner")]).await;
        assert_eq!(refused.status, 403);
        assert!(refused.body.contains("needs the `members:write` permission"), "{}", refused.body);
        let pending: Value =
            expect_status(app.get(&ws.path("/invitations"), Some(&ws.owner.access_token)).await, 200).await;
        assert_eq!(pending["items"], json!([]), "nothing was created");
    }
);

backend_test!(
    async fn another_workspaces_members_page_is_not_found_and_names_render_inert(backend) {
        let app = TestApp::spawn(backend).await;
        let ours = app.new_workspace("ours@example.com").await;
        let theirs = app.new_workspace("theirs@example.com").await;
        let hostile = "<img src=x onerror=alert(1)>";
        let renamed = app.patch("/api/v1/me", Some(&ours.owner.access_token), &json!({ "name": hostile })).await;
        expect_status::<Value>(renamed, 200).await;
        let mut ui = UiSession::sign_in(&app, "ours@example.com", TEST_PASSWORD).await;
        let page = ui.get(&format!("/w/{}/members", ours.slug)).await;
        assert_eq!(page.status, 200);
        assert!(!page.body.contains(hostile) && page.body.contains("&#60;img src=x"), "{}", page.body);

        let foreign = ui.get(&format!("/w/{}/members", theirs.slug)).await;
        assert_eq!(foreign.status, 404);
        assert!(foreign.body.contains("Nothing here") && !foreign.body.contains("theirs@example.com"));
        let csrf = csrf_of(&page.body).expect("token");
        let member = format!("/w/{}/members/{}/remove", theirs.slug, theirs.owner.id);
        assert_eq!(ui.post_form(&member, &csrf, &[]).await.status, 404);
    }
);
