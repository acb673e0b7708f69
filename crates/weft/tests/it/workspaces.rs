//! Workspaces: the personal one, creation and slugs, reading, renaming, listing, deleting,
//! restoring, purging, handing over ownership and leaving.

use serde_json::{Value, json};
use weft_http::Problem;
use weft_http::api::members::MemberOut;
use weft_http::api::page::PageOut;
use weft_http::api::workspaces::WorkspaceOut;
use weft_testkit::{TestApp, TestUser, TestWorkspace, backend_test, expect_status};

const WORKSPACES: &str = "/api/v1/workspaces";
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

async fn create(app: &TestApp, user: &TestUser, body: Value) -> reqwest::Response {
    app.post(WORKSPACES, Some(&user.access_token), &body).await
}

async fn my_workspaces(app: &TestApp, user: &TestUser, query: &str) -> PageOut<WorkspaceOut> {
    expect_status(app.get(&format!("{WORKSPACES}{query}"), Some(&user.access_token)).await, 200).await
}

async fn my_workspace_ids(app: &TestApp, user: &TestUser, query: &str) -> Vec<String> {
    my_workspaces(app, user, query).await.items.into_iter().map(|w| w.id).collect()
}

async fn members(app: &TestApp, ws: &TestWorkspace, user: &TestUser) -> PageOut<MemberOut> {
    expect_status(app.get(&ws.path("/members"), Some(&user.access_token)).await, 200).await
}

fn role_of<'a>(members: &'a PageOut<MemberOut>, user: &TestUser) -> &'a str {
    members.items.iter().find(|m| m.user_id == user.id).map_or("not a member", |m| m.role.as_str())
}

fn is_valid_slug(slug: &str) -> bool {
    (3..=40).contains(&slug.len()) && slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn epoch_ms(rfc3339: &str) -> i64 {
    rfc3339.parse::<jiff::Timestamp>().unwrap_or_else(|e| panic!("{rfc3339} is not RFC 3339: {e}")).as_millisecond()
}

fn pointers(problem: &Problem) -> Vec<&str> {
    problem.errors.iter().map(|e| e.pointer.as_str()).collect()
}

backend_test! {
    async fn registering_creates_a_personal_workspace_owned_by_the_new_user(backend) {
        let app = TestApp::spawn(backend).await;
        let ada = app.new_user("ada@example.com").await;
        let list = my_workspaces(&app, &ada, "").await;
        assert_eq!(list.items.len(), 1, "exactly the personal workspace");
        assert!(list.next_cursor.is_none());
        let personal = &list.items[0];
        assert!(personal.personal);
        assert_eq!(personal.role.as_deref(), Some("owner"));
        assert_eq!(personal.name, "Test User", "named after the person");
        assert!(personal.id.starts_with("ws_") && is_valid_slug(&personal.slug), "{personal:?}");
        assert!(personal.deleted_at.is_none() && personal.purge_at.is_none());

        let read: WorkspaceOut =
            expect_status(app.get(&format!("{WORKSPACES}/{}", personal.id), Some(&ada.access_token)).await, 200).await;
        assert_eq!((read.slug.as_str(), read.personal), (personal.slug.as_str(), true));
    }
}

backend_test! {
    async fn a_workspace_gets_its_chosen_slug_or_one_made_from_its_name(backend) {
        let app = TestApp::spawn(backend).await;
        let ada = app.new_user("ada@example.com").await;

        let chosen: WorkspaceOut =
            expect_status(create(&app, &ada, json!({"name": "Acme", "slug": "acme-42"})).await, 201).await;
        assert_eq!((chosen.name.as_str(), chosen.slug.as_str()), ("Acme", "acme-42"));
        assert_eq!(chosen.role.as_deref(), Some("owner"));
        assert!(!chosen.personal);

        let generated: WorkspaceOut =
            expect_status(create(&app, &ada, json!({"name": "  Globex Corporation!  "})).await, 201).await;
        assert_eq!((generated.name.as_str(), generated.slug.as_str()), ("Globex Corporation!", "globex-corporation"));

        let namesake: WorkspaceOut =
            expect_status(create(&app, &ada, json!({"name": "Globex Corporation"})).await, 201).await;
        assert_ne!(namesake.slug, generated.slug, "the same name gets a different slug");
        assert!(namesake.slug.starts_with("globex-corporation-") && is_valid_slug(&namesake.slug), "{}", namesake.slug);

        let odd: WorkspaceOut = expect_status(create(&app, &ada, json!({"name": "日本 & Ünïcode"})).await, 201).await;
        assert!(is_valid_slug(&odd.slug), "{}", odd.slug);

        let ids = my_workspace_ids(&app, &ada, "").await;
        for created in [&chosen, &generated, &namesake, &odd] {
            assert!(ids.contains(&created.id), "{} is listed", created.slug);
        }
        assert_eq!(ids.len(), 5, "four created and the personal one");
    }
}

backend_test! {
    async fn a_taken_slug_is_a_conflict_and_a_reserved_or_malformed_one_is_invalid(backend) {
        let app = TestApp::spawn(backend).await;
        let ada = app.new_user("ada@example.com").await;
        let bob = app.new_user("bob@example.com").await;
        expect_status::<WorkspaceOut>(create(&app, &ada, json!({"name": "Acme", "slug": "acme"})).await, 201).await;

        let taken: Problem =
            expect_status(create(&app, &bob, json!({"name": "Acme", "slug": "acme"})).await, 409).await;
        assert_eq!(taken.type_uri, "https://weft.dev/problems/conflict");

        let too_long = "a".repeat(41);
        for slug in ["admin", "api", "workspaces", "ab", too_long.as_str(), "Acme", "acme_co", "acme corp", "ácme"] {
            let invalid: Problem =
                expect_status(create(&app, &bob, json!({"name": "Acme", "slug": slug})).await, 422).await;
            assert_eq!(pointers(&invalid), ["/slug"], "{slug:?}");
        }
        let both: Problem = expect_status(create(&app, &bob, json!({"name": "  ", "slug": "x"})).await, 422).await;
        assert_eq!(pointers(&both), ["/name", "/slug"]);
        let long_name: Problem = expect_status(create(&app, &bob, json!({"name": "n".repeat(101)})).await, 422).await;
        assert_eq!(pointers(&long_name), ["/name"]);
        assert_eq!(my_workspace_ids(&app, &bob, "").await.len(), 1, "only bob's personal workspace");
    }
}

backend_test! {
    async fn a_workspace_is_read_by_id_or_slug_by_its_members_only(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("owner@example.com").await;
        let stranger = app.new_user("stranger@example.com").await;
        let token = Some(ws.owner.access_token.as_str());

        let by_id: WorkspaceOut = expect_status(app.get(&ws.path(""), token).await, 200).await;
        assert_eq!((by_id.id.as_str(), by_id.slug.as_str()), (ws.id.as_str(), ws.slug.as_str()));
        assert_eq!(by_id.name, "Workspace of owner@example.com");
        assert_eq!(by_id.role.as_deref(), Some("owner"));
        let by_slug: WorkspaceOut =
            expect_status(app.get(&format!("{WORKSPACES}/{}", ws.slug), token).await, 200).await;
        assert_eq!(by_slug.id, ws.id);

        for path in [ws.path(""), format!("{WORKSPACES}/{}", ws.slug)] {
            let hidden: Problem = expect_status(app.get(&path, Some(&stranger.access_token)).await, 404).await;
            assert_eq!(hidden.type_uri, "https://weft.dev/problems/not-found", "not 403: its existence is hidden");
        }
        expect_status::<Problem>(app.get(&format!("{WORKSPACES}/no-such-workspace"), token).await, 404).await;
        expect_status::<Problem>(app.get(&ws.path(""), None).await, 401).await;
    }
}

backend_test! {
    async fn admins_rename_a_workspace_and_change_its_slug(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("owner@example.com").await;
        let admin = app.add_member(&ws, "admin@example.com", "admin").await;
        let member = app.add_member(&ws, "member@example.com", "member").await;
        let other: WorkspaceOut =
            expect_status(create(&app, &admin, json!({"name": "Other", "slug": "other-one"})).await, 201).await;
        let token = Some(admin.access_token.as_str());

        let renamed: WorkspaceOut =
            expect_status(app.patch(&ws.path(""), token, &json!({"name": " Renamed "})).await, 200).await;
        assert_eq!((renamed.name.as_str(), renamed.slug.as_str()), ("Renamed", ws.slug.as_str()));
        assert_eq!(renamed.role.as_deref(), Some("admin"));
        assert!(epoch_ms(&renamed.updated_at) >= epoch_ms(&renamed.created_at));

        let moved: WorkspaceOut =
            expect_status(app.patch(&ws.path(""), token, &json!({"slug": "moved-here"})).await, 200).await;
        assert_eq!((moved.name.as_str(), moved.slug.as_str()), ("Renamed", "moved-here"));
        let old_slug = format!("{WORKSPACES}/{}", ws.slug);
        expect_status::<Problem>(app.get(&old_slug, token).await, 404).await;
        let by_new: WorkspaceOut = expect_status(app.get(&format!("{WORKSPACES}/moved-here"), token).await, 200).await;
        assert_eq!(by_new.id, ws.id);

        expect_status::<Problem>(app.patch(&ws.path(""), token, &json!({"slug": other.slug})).await, 409).await;
        let reserved: Problem =
            expect_status(app.patch(&ws.path(""), token, &json!({"slug": "settings"})).await, 422).await;
        assert_eq!(pointers(&reserved), ["/slug"]);
        let blank: Problem = expect_status(app.patch(&ws.path(""), token, &json!({"name": ""})).await, 422).await;
        assert_eq!(pointers(&blank), ["/name"]);
        let empty: Problem = expect_status(app.patch(&ws.path(""), token, &json!({})).await, 422).await;
        assert_eq!(pointers(&empty), [""], "an empty change is refused, not audited");

        let forbidden: Problem =
            expect_status(app.patch(&ws.path(""), Some(&member.access_token), &json!({"name": "Mine"})).await, 403)
                .await;
        assert!(forbidden.detail.contains("`workspace:write`"), "{}", forbidden.detail);
        let unchanged: WorkspaceOut = expect_status(app.get(&ws.path(""), token).await, 200).await;
        assert_eq!((unchanged.name.as_str(), unchanged.slug.as_str()), ("Renamed", "moved-here"));
    }
}

backend_test! {
    async fn the_workspace_list_is_walked_page_by_page_with_its_cursor(backend) {
        let app = TestApp::spawn(backend).await;
        let ada = app.new_user("ada@example.com").await;
        for n in 1..=4 {
            expect_status::<WorkspaceOut>(create(&app, &ada, json!({"name": format!("Team {n}")})).await, 201).await;
        }
        let all = my_workspace_ids(&app, &ada, "").await;
        assert_eq!(all.len(), 5);

        let mut walked = Vec::new();
        let mut query = "?limit=1".to_owned();
        loop {
            let page = my_workspaces(&app, &ada, &query).await;
            assert_eq!(page.items.len(), 1, "one per page");
            walked.extend(page.items.into_iter().map(|w| w.id));
            match page.next_cursor {
                Some(cursor) => query = format!("?limit=1&cursor={cursor}"),
                None => break,
            }
            assert!(walked.len() < 5, "the last page has no cursor");
        }
        assert_eq!(walked, all, "every workspace once, in the same order");

        for (query, pointer) in [
            ("?limit=0", "?limit"),
            ("?limit=201", "?limit"),
            ("?limit=many", "?limit"),
            ("?cursor=***", "?cursor"),
            ("?deleted=maybe", "?deleted"),
        ] {
            let response = app.get(&format!("{WORKSPACES}{query}"), Some(&ada.access_token)).await;
            let problem: Problem = expect_status(response, 422).await;
            assert_eq!(pointers(&problem), [pointer], "{query}");
        }
        assert_eq!(my_workspace_ids(&app, &ada, "?limit=200").await, all);
    }
}

backend_test! {
    async fn a_deleted_workspace_is_hidden_until_its_owner_restores_it(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("owner@example.com").await;
        let admin = app.add_member(&ws, "admin@example.com", "admin").await;
        let owner = &ws.owner;

        let refused: Problem = expect_status(app.delete(&ws.path(""), Some(&admin.access_token)).await, 403).await;
        assert!(refused.detail.contains("`workspace:delete`"), "{}", refused.detail);

        let before = weft_store::now_ms();
        let deleted: WorkspaceOut = expect_status(app.delete(&ws.path(""), Some(&owner.access_token)).await, 200).await;
        let after = weft_store::now_ms();
        let purge_at = epoch_ms(deleted.purge_at.as_deref().expect("purge_at"));
        assert!((before + 7 * DAY_MS..=after + 7 * DAY_MS).contains(&purge_at), "purged 7 days from now");
        let deleted_at = epoch_ms(deleted.deleted_at.as_deref().expect("deleted_at"));
        assert!((before..=after).contains(&deleted_at));

        for user in [owner, &admin] {
            expect_status::<Problem>(app.get(&ws.path(""), Some(&user.access_token)).await, 404).await;
            assert!(!my_workspace_ids(&app, user, "").await.contains(&ws.id));
        }
        let slug_path = format!("{WORKSPACES}/{}", ws.slug);
        expect_status::<Problem>(app.get(&slug_path, Some(&owner.access_token)).await, 404).await;
        expect_status::<Problem>(app.patch(&ws.path(""), Some(&owner.access_token), &json!({"name": "x"})).await, 404)
            .await;
        expect_status::<Problem>(app.delete(&ws.path(""), Some(&owner.access_token)).await, 404).await;
        let awaiting_purge = my_workspaces(&app, owner, "?deleted=true").await;
        assert_eq!(awaiting_purge.items.len(), 1);
        assert_eq!(awaiting_purge.items[0].id, ws.id);
        assert!(awaiting_purge.items[0].purge_at.is_some());

        let restore = ws.path("/restore");
        expect_status::<Problem>(app.post(&restore, Some(&admin.access_token), &json!({})).await, 403).await;
        let restored: WorkspaceOut =
            expect_status(app.post(&restore, Some(&owner.access_token), &json!({})).await, 200).await;
        assert_eq!(restored.id, ws.id);
        assert!(restored.deleted_at.is_none() && restored.purge_at.is_none());
        expect_status::<WorkspaceOut>(app.get(&ws.path(""), Some(&admin.access_token)).await, 200).await;
        assert!(my_workspace_ids(&app, owner, "").await.contains(&ws.id));
        assert!(my_workspace_ids(&app, owner, "?deleted=true").await.is_empty());

        let live: Problem = expect_status(app.post(&restore, Some(&owner.access_token), &json!({})).await, 409).await;
        assert!(live.detail.contains("not deleted"), "{}", live.detail);
    }
}

backend_test! {
    async fn a_workspace_past_its_grace_period_can_no_longer_be_restored(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("owner@example.com").await;
        let owner = Some(ws.owner.access_token.as_str());
        expect_status::<WorkspaceOut>(app.delete(&ws.path(""), owner).await, 200).await;
        let sql = format!("UPDATE workspaces SET purge_at = {} WHERE id = '{}'", weft_store::now_ms() - 1, ws.id);
        assert_eq!(app.execute_sql(&sql).await, 1);

        let too_late: Problem = expect_status(app.post(&ws.path("/restore"), owner, &json!({})).await, 409).await;
        assert!(too_late.detail.contains("grace period is over"), "{}", too_late.detail);
        expect_status::<Problem>(app.get(&ws.path(""), owner).await, 404).await;
        assert_eq!(my_workspace_ids(&app, &ws.owner, "?deleted=true").await, [ws.id.as_str()], "awaiting its purge");
    }
}

backend_test! {
    async fn purging_removes_deleted_workspaces_for_good_and_spares_live_ones(backend) {
        let app = TestApp::spawn(backend).await;
        let doomed = app.new_workspace("owner@example.com").await;
        let owner = &doomed.owner;
        let live: WorkspaceOut = expect_status(create(&app, owner, json!({"name": "Live"})).await, 201).await;
        app.add_member(&doomed, "member@example.com", "member").await;
        let (key, _) = app.new_api_key(&doomed, &["members:read"]).await;
        let invite = json!({"email": "invitee@example.com", "role": "viewer"});
        expect_status::<Value>(app.post(&doomed.path("/invitations"), Some(&owner.access_token), &invite).await, 201)
            .await;
        app.smtp.next_message().await;
        expect_status::<WorkspaceOut>(app.delete(&doomed.path(""), Some(&owner.access_token)).await, 200).await;

        let early = app.store.purge_workspaces(weft_store::now_ms() + DAY_MS).await.expect("purge");
        assert!(early.is_empty(), "the grace period is not over: {early:?}");
        let purged = app.store.purge_workspaces(weft_store::now_ms() + 365 * DAY_MS).await.expect("purge");
        assert_eq!(purged.iter().map(|id| id.as_str()).collect::<Vec<_>>(), [doomed.id.as_str()]);

        for table in ["memberships", "invitations", "api_keys", "audit_log"] {
            let sql = format!("DELETE FROM {table} WHERE workspace_id = '{}'", doomed.id);
            assert_eq!(app.execute_sql(&sql).await, 0, "the purge took the workspace's {table} with it");
        }
        expect_status::<Problem>(app.get(&doomed.path("/members"), Some(&key)).await, 401).await;
        expect_status::<Problem>(app.get(&doomed.path(""), Some(&owner.access_token)).await, 404).await;
        let restore = app.post(&doomed.path("/restore"), Some(&owner.access_token), &json!({})).await;
        expect_status::<Problem>(restore, 404).await;
        assert!(my_workspace_ids(&app, owner, "?deleted=true").await.is_empty());
        let remaining = my_workspace_ids(&app, owner, "").await;
        assert_eq!(remaining.len(), 2, "the personal and the live workspace");
        assert!(remaining.contains(&live.id));
        expect_status::<WorkspaceOut>(
            app.get(&format!("{WORKSPACES}/{}", live.id), Some(&owner.access_token)).await,
            200,
        )
        .await;

        let reused: WorkspaceOut =
            expect_status(create(&app, owner, json!({"name": "Again", "slug": doomed.slug})).await, 201).await;
        assert_eq!(reused.slug, doomed.slug, "a purged workspace's slug is free again");
    }
}

backend_test! {
    async fn an_owner_hands_ownership_to_a_member_and_becomes_an_admin(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("owner@example.com").await;
        let heir = app.add_member(&ws, "heir@example.com", "member").await;
        let admin = app.add_member(&ws, "admin@example.com", "admin").await;
        let outsider = app.new_user("outsider@example.com").await;
        let transfer = ws.path("/transfer-ownership");

        let refused: Problem =
            expect_status(app.post(&transfer, Some(&admin.access_token), &json!({"user": admin.id})).await, 403).await;
        assert!(refused.detail.contains("`workspace:transfer`"), "{}", refused.detail);
        let not_member: Problem =
            expect_status(app.post(&transfer, Some(&ws.owner.access_token), &json!({"user": outsider.id})).await, 422)
                .await;
        assert_eq!(pointers(&not_member), ["/user"]);
        let to_self = app.post(&transfer, Some(&ws.owner.access_token), &json!({"user": ws.owner.id})).await;
        expect_status::<Problem>(to_self, 409).await;
        let bad_id: Problem =
            expect_status(app.post(&transfer, Some(&ws.owner.access_token), &json!({"user": "bob"})).await, 422).await;
        assert_eq!(pointers(&bad_id), ["/user"]);
        assert_eq!(role_of(&members(&app, &ws, &ws.owner).await, &heir), "member", "nothing changed yet");

        let handed = app.post(&transfer, Some(&ws.owner.access_token), &json!({"user": heir.id})).await;
        assert_eq!(handed.status(), 204, "{}", handed.text().await.unwrap_or_default());
        let roster = members(&app, &ws, &heir).await;
        assert_eq!((role_of(&roster, &heir), role_of(&roster, &ws.owner)), ("owner", "admin"));
        let as_heir: WorkspaceOut = expect_status(app.get(&ws.path(""), Some(&heir.access_token)).await, 200).await;
        assert_eq!(as_heir.role.as_deref(), Some("owner"));

        let back = app.post(&transfer, Some(&ws.owner.access_token), &json!({"user": ws.owner.id})).await;
        expect_status::<Problem>(back, 403).await;
        expect_status::<Problem>(app.delete(&ws.path(""), Some(&ws.owner.access_token)).await, 403).await;
    }
}

backend_test! {
    async fn a_member_can_leave_but_the_last_owner_cannot(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("owner@example.com").await;
        let viewer = app.add_member(&ws, "viewer@example.com", "viewer").await;
        let leave = ws.path("/leave");

        let left = app.post(&leave, Some(&viewer.access_token), &json!({})).await;
        assert_eq!(left.status(), 204, "{}", left.text().await.unwrap_or_default());
        expect_status::<Problem>(app.get(&ws.path(""), Some(&viewer.access_token)).await, 404).await;
        assert!(!my_workspace_ids(&app, &viewer, "").await.contains(&ws.id));
        assert_eq!(role_of(&members(&app, &ws, &ws.owner).await, &viewer), "not a member");
        expect_status::<Problem>(app.post(&leave, Some(&viewer.access_token), &json!({})).await, 404).await;

        let last: Problem = expect_status(app.post(&leave, Some(&ws.owner.access_token), &json!({})).await, 409).await;
        assert!(last.detail.contains("at least one owner"), "{}", last.detail);
        expect_status::<WorkspaceOut>(app.get(&ws.path(""), Some(&ws.owner.access_token)).await, 200).await;

        let co_owner = app.add_member(&ws, "co-owner@example.com", "owner").await;
        let left = app.post(&leave, Some(&ws.owner.access_token), &json!({})).await;
        assert_eq!(left.status(), 204, "another owner remains");
        let roster = members(&app, &ws, &co_owner).await;
        assert_eq!(roster.items.len(), 1);
        assert_eq!(role_of(&roster, &co_owner), "owner");
    }
}
