//! Members and their roles, and invitations from the mail to the accepted membership.

use serde_json::{Value, json};
use weft_http::Problem;
use weft_http::api::members::{InvitationOut, MemberOut};
use weft_http::api::page::PageOut;
use weft_http::api::workspaces::WorkspaceOut;
use weft_testkit::{TestApp, TestUser, TestWorkspace, backend_test, expect_status};

const INVITATION_LINK: &str = "http://weft.test/invitations/";

async fn members(app: &TestApp, ws: &TestWorkspace, user: &TestUser) -> PageOut<MemberOut> {
    expect_status(app.get(&ws.path("/members"), Some(&user.access_token)).await, 200).await
}

fn role_of<'a>(members: &'a PageOut<MemberOut>, user: &TestUser) -> &'a str {
    members.items.iter().find(|m| m.user_id == user.id).map_or("not a member", |m| m.role.as_str())
}

async fn set_role(
    app: &TestApp,
    ws: &TestWorkspace,
    by: &TestUser,
    member: &TestUser,
    role: &str,
) -> reqwest::Response {
    app.patch(&ws.path(&format!("/members/{}", member.id)), Some(&by.access_token), &json!({ "role": role })).await
}

async fn remove(app: &TestApp, ws: &TestWorkspace, by: &TestUser, member: &TestUser) -> reqwest::Response {
    app.delete(&ws.path(&format!("/members/{}", member.id)), Some(&by.access_token)).await
}

async fn invite(app: &TestApp, ws: &TestWorkspace, email: &str, role: &str) -> reqwest::Response {
    invite_as(app, ws, &ws.owner, email, role).await
}

async fn invite_as(app: &TestApp, ws: &TestWorkspace, by: &TestUser, email: &str, role: &str) -> reqwest::Response {
    let body = json!({ "email": email, "role": role });
    app.post(&ws.path("/invitations"), Some(&by.access_token), &body).await
}

/// Invites `email` as the workspace's owner; returns the invitation and the token its mail carries.
async fn invite_and_read_mail(app: &TestApp, ws: &TestWorkspace, email: &str, role: &str) -> (InvitationOut, String) {
    let invitation: InvitationOut = expect_status(invite(app, ws, email, role).await, 201).await;
    let mail = app.smtp.next_message().await;
    assert_eq!(mail.to, [email]);
    let link = mail.link_starting_with(INVITATION_LINK).expect("invitation link");
    (invitation, link[INVITATION_LINK.len()..].to_owned())
}

async fn accept(app: &TestApp, token: &str, user: &TestUser) -> reqwest::Response {
    app.post(&format!("/api/v1/invitations/{token}/accept"), Some(&user.access_token), &json!({})).await
}

async fn invitations(app: &TestApp, ws: &TestWorkspace) -> Vec<InvitationOut> {
    let page: PageOut<InvitationOut> =
        expect_status(app.get(&ws.path("/invitations"), Some(&ws.owner.access_token)).await, 200).await;
    page.items
}

/// Verifies an account made with `new_user` through a freshly requested verification mail.
async fn verify(app: &TestApp, user: &TestUser) {
    let requested = app.post("/api/v1/auth/verify-email/request", Some(&user.access_token), &json!({})).await;
    assert_eq!(requested.status(), 202);
    let mail = app.smtp.next_message().await;
    let link = mail.link_starting_with("http://weft.test/verify-email?token=").expect("verification link");
    let token = link.rsplit('=').next().expect("token in link");
    expect_status::<Value>(app.post("/api/v1/auth/verify-email", None, &json!({ "token": token })).await, 200).await;
}

fn pointers(problem: &Problem) -> Vec<&str> {
    problem.errors.iter().map(|e| e.pointer.as_str()).collect()
}

backend_test! {
    async fn members_are_listed_with_their_roles_to_every_member(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("owner@example.com").await;
        let bob = app.add_member(&ws, "bob@example.com", "member").await;
        let carol = app.add_member(&ws, "carol@example.com", "viewer").await;

        let roster = members(&app, &ws, &carol).await;
        assert_eq!(roster.items.len(), 3);
        assert!(roster.next_cursor.is_none());
        for (user, role) in [(&ws.owner, "owner"), (&bob, "member"), (&carol, "viewer")] {
            let member = roster.items.iter().find(|m| m.user_id == user.id).expect("listed");
            assert_eq!(
                (member.email.as_str(), member.name.as_str(), member.role.as_str()),
                (user.email.as_str(), "Test User", role)
            );
            assert!(member.joined_at.ends_with('Z'), "{}", member.joined_at);
        }
        let ids: Vec<_> = roster.items.iter().map(|m| m.user_id.as_str()).collect();
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        assert_eq!(ids, sorted, "ordered by user id");

        let first: PageOut<MemberOut> =
            expect_status(app.get(&ws.path("/members?limit=2"), Some(&bob.access_token)).await, 200).await;
        assert_eq!(first.items.len(), 2);
        let cursor = first.next_cursor.expect("a second page");
        let rest: PageOut<MemberOut> = expect_status(
            app.get(&ws.path(&format!("/members?limit=2&cursor={cursor}")), Some(&bob.access_token)).await,
            200,
        )
        .await;
        assert_eq!(rest.items.len(), 1);
        assert!(rest.next_cursor.is_none());
        assert_eq!(rest.items[0].user_id, ids[2]);
    }
}

backend_test! {
    async fn an_admin_changes_roles_below_owner_but_cannot_touch_owners(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("owner@example.com").await;
        let admin = app.add_member(&ws, "admin@example.com", "admin").await;
        let bob = app.add_member(&ws, "bob@example.com", "member").await;

        let demoted: MemberOut = expect_status(set_role(&app, &ws, &admin, &bob, "viewer").await, 200).await;
        assert_eq!((demoted.user_id.as_str(), demoted.role.as_str()), (bob.id.as_str(), "viewer"));
        let as_bob: WorkspaceOut = expect_status(app.get(&ws.path(""), Some(&bob.access_token)).await, 200).await;
        assert_eq!(as_bob.role.as_deref(), Some("viewer"), "the new role applies at once");

        for (response, what) in [
            (set_role(&app, &ws, &admin, &bob, "owner").await, "make an owner"),
            (set_role(&app, &ws, &admin, &ws.owner, "admin").await, "demote an owner"),
            (remove(&app, &ws, &admin, &ws.owner).await, "remove an owner"),
        ] {
            let refused: Problem = expect_status(response, 403).await;
            assert!(refused.detail.contains("only an owner"), "{what}: {}", refused.detail);
        }
        let roster = members(&app, &ws, &ws.owner).await;
        assert_eq!((role_of(&roster, &ws.owner), role_of(&roster, &bob)), ("owner", "viewer"));

        let viewer_refused: Problem = expect_status(set_role(&app, &ws, &bob, &admin, "viewer").await, 403).await;
        assert!(viewer_refused.detail.contains("`members:write`"), "{}", viewer_refused.detail);

        let removed = remove(&app, &ws, &admin, &bob).await;
        assert_eq!(removed.status(), 204);
        expect_status::<Problem>(app.get(&ws.path(""), Some(&bob.access_token)).await, 404).await;
        expect_status::<Problem>(remove(&app, &ws, &admin, &bob).await, 404).await;
    }
}

backend_test! {
    async fn an_owner_makes_another_owner_and_the_last_owner_always_remains(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("owner@example.com").await;
        let bob = app.add_member(&ws, "bob@example.com", "admin").await;
        let owner = &ws.owner;

        let demote_last: Problem = expect_status(set_role(&app, &ws, owner, owner, "admin").await, 409).await;
        assert!(demote_last.detail.contains("at least one owner"), "{}", demote_last.detail);
        let remove_last: Problem = expect_status(remove(&app, &ws, owner, owner).await, 409).await;
        assert!(remove_last.detail.contains("at least one owner"), "{}", remove_last.detail);
        assert_eq!(role_of(&members(&app, &ws, owner).await, owner), "owner", "both refusals rolled back");

        let promoted: MemberOut = expect_status(set_role(&app, &ws, owner, &bob, "owner").await, 200).await;
        assert_eq!(promoted.role, "owner");
        let stepped_down: MemberOut = expect_status(set_role(&app, &ws, owner, owner, "member").await, 200).await;
        assert_eq!(stepped_down.role, "member", "another owner remains");

        expect_status::<Problem>(set_role(&app, &ws, &bob, &bob, "admin").await, 409).await;
        expect_status::<Problem>(remove(&app, &ws, &bob, &bob).await, 409).await;
        let removed = remove(&app, &ws, &bob, owner).await;
        assert_eq!(removed.status(), 204, "an owner removes anyone but the last owner");
        let roster = members(&app, &ws, &bob).await;
        assert_eq!(roster.items.len(), 1);
        assert_eq!(role_of(&roster, &bob), "owner");
    }
}

backend_test! {
    async fn a_role_change_needs_a_known_role_and_a_member(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("owner@example.com").await;
        let bob = app.add_member(&ws, "bob@example.com", "member").await;
        let stranger = app.new_user("stranger@example.com").await;
        let owner = &ws.owner;

        let unknown: Problem = expect_status(set_role(&app, &ws, owner, &bob, "superuser").await, 422).await;
        assert_eq!(pointers(&unknown), ["/role"]);
        assert!(unknown.errors[0].detail.contains("superuser"), "{}", unknown.errors[0].detail);
        assert_eq!(role_of(&members(&app, &ws, owner).await, &bob), "member");

        expect_status::<Problem>(set_role(&app, &ws, owner, &stranger, "viewer").await, 404).await;
        expect_status::<Problem>(remove(&app, &ws, owner, &stranger).await, 404).await;
        let not_an_id =
            app.patch(&ws.path("/members/nobody"), Some(&owner.access_token), &json!({"role": "viewer"})).await;
        expect_status::<Problem>(not_an_id, 404).await;
        assert!(members(&app, &ws, owner).await.items.iter().all(|m| m.user_id != stranger.id));
    }
}

backend_test! {
    async fn an_invitation_is_mailed_and_accepted_once_by_the_invited_address(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("owner@example.com").await;

        let invitation: InvitationOut = expect_status(invite(&app, &ws, " Dan@Example.com ", "admin").await, 201).await;
        assert!(invitation.id.starts_with("inv_"), "{}", invitation.id);
        assert_eq!((invitation.email.as_str(), invitation.role.as_str()), ("dan@example.com", "admin"));
        assert_eq!(invitation.created_by, format!("user:{}", ws.owner.id));
        assert!(!invitation.expired);
        let mail = app.smtp.next_message().await;
        assert_eq!(mail.to, ["dan@example.com"]);
        assert!(mail.subject().contains("Workspace of owner@example.com"), "{}", mail.subject());
        let link = mail.link_starting_with(INVITATION_LINK).expect("invitation link");
        let token = &link[INVITATION_LINK.len()..];
        assert!(token.len() >= 43 && !token.contains('/'), "{link}");
        assert_eq!(invitations(&app, &ws).await.len(), 1);

        let dan = app.new_verified_user("dan@example.com").await;
        let joined: WorkspaceOut = expect_status(accept(&app, token, &dan).await, 200).await;
        assert_eq!((joined.id.as_str(), joined.role.as_deref()), (ws.id.as_str(), Some("admin")));
        assert_eq!(role_of(&members(&app, &ws, &dan).await, &dan), "admin");
        let mine: PageOut<WorkspaceOut> =
            expect_status(app.get("/api/v1/workspaces", Some(&dan.access_token)).await, 200).await;
        assert!(mine.items.iter().any(|w| w.id == ws.id && w.role.as_deref() == Some("admin")));

        expect_status::<Problem>(accept(&app, token, &dan).await, 404).await;
        assert!(invitations(&app, &ws).await.is_empty(), "an accepted invitation is no longer pending");
        expect_status::<Problem>(accept(&app, "made-up-token", &dan).await, 404).await;
        let anonymous = app.post(&format!("/api/v1/invitations/{token}/accept"), None, &json!({})).await;
        expect_status::<Problem>(anonymous, 401).await;
    }
}

backend_test! {
    async fn only_the_invited_address_once_verified_can_accept(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("owner@example.com").await;
        let (_, token) = invite_and_read_mail(&app, &ws, "dan@example.com", "member").await;

        let eve = app.new_verified_user("eve@example.com").await;
        let wrong: Problem = expect_status(accept(&app, &token, &eve).await, 403).await;
        assert!(wrong.detail.contains("another address"), "{}", wrong.detail);
        let dan = app.new_user("dan@example.com").await;
        expect_status::<Problem>(accept(&app, &token, &dan).await, 403).await;
        assert_eq!(invitations(&app, &ws).await.len(), 1, "refusals do not spend the invitation");

        verify(&app, &dan).await;
        let joined: WorkspaceOut = expect_status(accept(&app, &token, &dan).await, 200).await;
        assert_eq!(joined.role.as_deref(), Some("member"));
        expect_status::<Problem>(accept(&app, &token, &eve).await, 404).await;
        assert_eq!(role_of(&members(&app, &ws, &ws.owner).await, &eve), "not a member");
    }
}

backend_test! {
    async fn expired_and_revoked_invitations_stop_working(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("owner@example.com").await;
        let dan = app.new_verified_user("dan@example.com").await;
        let erin = app.new_verified_user("erin@example.com").await;

        let (expiring, dans_token) = invite_and_read_mail(&app, &ws, "dan@example.com", "member").await;
        assert_eq!(app.execute_sql("UPDATE invitations SET expires_at = 0").await, 1);
        expect_status::<Problem>(accept(&app, &dans_token, &dan).await, 404).await;

        let (revoked, erins_token) = invite_and_read_mail(&app, &ws, "erin@example.com", "viewer").await;
        let pending = invitations(&app, &ws).await;
        let flags: Vec<_> = pending.iter().map(|i| (i.id.as_str(), i.expired)).collect();
        assert_eq!(flags, [(expiring.id.as_str(), true), (revoked.id.as_str(), false)]);

        let path = ws.path(&format!("/invitations/{}", revoked.id));
        assert_eq!(app.delete(&path, Some(&ws.owner.access_token)).await.status(), 204);
        expect_status::<Problem>(accept(&app, &erins_token, &erin).await, 404).await;
        expect_status::<Problem>(app.delete(&path, Some(&ws.owner.access_token)).await, 404).await;
        expect_status::<Problem>(app.delete(&ws.path("/invitations/nope"), Some(&ws.owner.access_token)).await, 404)
            .await;
        let left: Vec<_> = invitations(&app, &ws).await.into_iter().map(|i| i.id).collect();
        assert_eq!(left, [expiring.id]);
        let roster = members(&app, &ws, &ws.owner).await;
        assert_eq!((role_of(&roster, &dan), role_of(&roster, &erin)), ("not a member", "not a member"));
    }
}

backend_test! {
    async fn a_new_invitation_to_the_same_address_replaces_the_pending_one(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("owner@example.com").await;
        let dan = app.new_verified_user("dan@example.com").await;

        let (first, old_token) = invite_and_read_mail(&app, &ws, "dan@example.com", "viewer").await;
        let (second, new_token) = invite_and_read_mail(&app, &ws, "dan@example.com", "member").await;
        assert_ne!(first.id, second.id);
        let pending = invitations(&app, &ws).await;
        assert_eq!(pending.len(), 1);
        assert_eq!((pending[0].id.as_str(), pending[0].role.as_str()), (second.id.as_str(), "member"));

        expect_status::<Problem>(accept(&app, &old_token, &dan).await, 404).await;
        let joined: WorkspaceOut = expect_status(accept(&app, &new_token, &dan).await, 200).await;
        assert_eq!(joined.role.as_deref(), Some("member"));
    }
}

backend_test! {
    async fn invitations_are_refused_to_members_to_bad_input_and_for_owners_from_admins(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("owner@example.com").await;
        let bob = app.add_member(&ws, "bob@example.com", "admin").await;

        let member: Problem = expect_status(invite(&app, &ws, "bob@example.com", "viewer").await, 409).await;
        assert!(member.detail.contains("already belongs to a member"), "{}", member.detail);
        expect_status::<Problem>(invite(&app, &ws, "OWNER@example.com", "viewer").await, 409).await;
        let invalid: Problem = expect_status(invite(&app, &ws, "not-an-email", "boss").await, 422).await;
        assert_eq!(pointers(&invalid), ["/email", "/role"]);

        let owner_invite: Problem =
            expect_status(invite_as(&app, &ws, &bob, "dan@example.com", "owner").await, 403).await;
        assert!(owner_invite.detail.contains("only an owner"), "{}", owner_invite.detail);
        assert!(invitations(&app, &ws).await.is_empty(), "no refused invitation is pending");

        let admin_invite: InvitationOut =
            expect_status(invite_as(&app, &ws, &bob, "dan@example.com", "admin").await, 201).await;
        assert_eq!(admin_invite.created_by, format!("user:{}", bob.id));
        let mail = app.smtp.next_message().await;
        assert_eq!(mail.to, ["dan@example.com"]);
        assert!(mail.text_body().contains("as admin"), "{}", mail.text_body());
    }
}

backend_test! {
    async fn an_invitation_to_a_deleted_workspace_waits_for_its_restore(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("owner@example.com").await;
        let dan = app.new_verified_user("dan@example.com").await;
        let (_, token) = invite_and_read_mail(&app, &ws, "dan@example.com", "member").await;

        expect_status::<WorkspaceOut>(app.delete(&ws.path(""), Some(&ws.owner.access_token)).await, 200).await;
        expect_status::<Problem>(accept(&app, &token, &dan).await, 404).await;

        let restore = app.post(&ws.path("/restore"), Some(&ws.owner.access_token), &json!({})).await;
        expect_status::<WorkspaceOut>(restore, 200).await;
        let joined: WorkspaceOut = expect_status(accept(&app, &token, &dan).await, 200).await;
        assert_eq!((joined.id.as_str(), joined.role.as_deref()), (ws.id.as_str(), Some("member")));
    }
}

backend_test! {
    async fn a_key_with_members_write_invites_in_its_own_name_but_never_an_owner(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("owner@example.com").await;
        let (secret, key_id) = app.new_api_key(&ws, &["members:write"]).await;
        let key = Some(secret.as_str());

        let owner_invite = json!({"email": "dan@example.com", "role": "owner"});
        let refused: Problem = expect_status(app.post(&ws.path("/invitations"), key, &owner_invite).await, 403).await;
        assert!(refused.detail.contains("only an owner"), "{}", refused.detail);

        let admin_invite = json!({"email": "dan@example.com", "role": "admin"});
        let invitation: InvitationOut =
            expect_status(app.post(&ws.path("/invitations"), key, &admin_invite).await, 201).await;
        assert_eq!(invitation.created_by, format!("api_key:{key_id}"));
        let mail = app.smtp.next_message().await;
        assert!(mail.text_body().contains("An administrator invited you"), "{}", mail.text_body());
        let token = &mail.link_starting_with(INVITATION_LINK).expect("invitation link")[INVITATION_LINK.len()..];
        let dan = app.new_verified_user("dan@example.com").await;
        let joined: WorkspaceOut = expect_status(accept(&app, token, &dan).await, 200).await;
        assert_eq!(joined.role.as_deref(), Some("admin"));
    }
}
