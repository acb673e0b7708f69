//! API keys: the secret shown once, scopes, the workspace a key is bound to, and every way a key
//! stops working.

use serde_json::{Value, json};
use weft_http::Problem;
use weft_http::api::api_keys::{ApiKeyOut, CreatedApiKeyOut};
use weft_http::api::members::MemberOut;
use weft_http::api::page::PageOut;
use weft_http::api::workspaces::WorkspaceOut;
use weft_testkit::{TestApp, TestWorkspace, backend_test, expect_status};

const BASE62: &str = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

async fn create_key(app: &TestApp, ws: &TestWorkspace, token: &str, body: Value) -> reqwest::Response {
    app.post(&ws.path("/api-keys"), Some(token), &body).await
}

async fn listed_keys(app: &TestApp, ws: &TestWorkspace) -> Vec<ApiKeyOut> {
    let page: PageOut<ApiKeyOut> =
        expect_status(app.get(&ws.path("/api-keys"), Some(&ws.owner.access_token)).await, 200).await;
    page.items
}

async fn status(response: reqwest::Response) -> u16 {
    response.status().as_u16()
}

fn pointers(problem: &Problem) -> Vec<&str> {
    problem.errors.iter().map(|e| e.pointer.as_str()).collect()
}

/// The secret with the character at `at` replaced by another base62 character.
fn with_one_character_changed(secret: &str, at: usize) -> String {
    let mut bytes = secret.as_bytes().to_vec();
    bytes[at] = if bytes[at] == b'x' { b'y' } else { b'x' };
    String::from_utf8(bytes).expect("ASCII")
}

backend_test! {
    async fn a_new_key_shows_its_secret_once_and_the_list_only_its_prefix(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("owner@example.com").await;
        let body = json!({"name": " CI deploy ", "scopes": ["workspace:read", "members:read", "workspace:read"]});
        let created: CreatedApiKeyOut =
            expect_status(create_key(&app, &ws, &ws.owner.access_token, body).await, 201).await;

        let secret = &created.secret;
        let random = secret.strip_prefix("weft_").expect("weft_ prefix");
        assert_eq!(random.len(), 38, "{secret}");
        assert!(random.chars().all(|c| BASE62.contains(c)), "{secret}");
        let key = &created.key;
        assert!(key.id.starts_with("key_"), "{}", key.id);
        assert_eq!((key.name.as_str(), key.prefix.as_str()), ("CI deploy", &secret[..13]));
        assert_eq!(key.scopes, ["workspace:read", "members:read"], "sorted and deduplicated");
        assert_eq!(key.created_by, format!("user:{}", ws.owner.id));
        assert!(key.expires_at.is_none() && key.last_used_at.is_none());

        let response = app.get(&ws.path("/api-keys"), Some(&ws.owner.access_token)).await;
        let raw: Value = expect_status(response, 200).await;
        assert!(!raw.to_string().contains(random), "the list never shows the secret: {raw}");
        assert!(raw["items"][0].get("secret").is_none());
        let listed = listed_keys(&app, &ws).await;
        assert_eq!(listed.len(), 1);
        let item = &listed[0];
        assert_eq!(
            (item.id.as_str(), item.prefix.as_str(), item.name.as_str()),
            (key.id.as_str(), key.prefix.as_str(), "CI deploy")
        );
        assert_eq!((&item.scopes, &item.created_by, &item.created_at), (&key.scopes, &key.created_by, &key.created_at));

        let another: CreatedApiKeyOut = expect_status(
            create_key(&app, &ws, &ws.owner.access_token, json!({"name": "two", "scopes": ["runs:read"]})).await,
            201,
        )
        .await;
        assert_ne!(&another.secret, secret);
        assert_eq!(listed_keys(&app, &ws).await.len(), 2);
    }
}

backend_test! {
    async fn a_key_acts_in_its_own_workspace_by_id_or_slug_with_its_scopes_only(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("owner@example.com").await;
        let other = app.new_workspace("other@example.com").await;
        let (secret, _) = app.new_api_key(&ws, &["members:read", "workspace:read"]).await;
        let key = Some(secret.as_str());

        for path in [ws.path("/members"), format!("/api/v1/workspaces/{}/members", ws.slug)] {
            let roster: PageOut<MemberOut> = expect_status(app.get(&path, key).await, 200).await;
            assert_eq!(roster.items.len(), 1, "{path}");
            assert_eq!(roster.items[0].user_id, ws.owner.id);
        }
        let read: WorkspaceOut = expect_status(app.get(&ws.path(""), key).await, 200).await;
        assert_eq!(read.id, ws.id);
        assert!(read.role.is_none(), "a key has scopes, not a role");

        let lacking: Problem = expect_status(app.get(&ws.path("/api-keys"), key).await, 403).await;
        assert!(lacking.detail.contains("`keys:read` scope"), "{}", lacking.detail);
        let cannot_invite =
            app.post(&ws.path("/invitations"), key, &json!({"email": "x@example.com", "role": "viewer"})).await;
        let cannot_invite: Problem = expect_status(cannot_invite, 403).await;
        assert!(cannot_invite.detail.contains("`members:write` scope"), "{}", cannot_invite.detail);
        let cannot_rename = app.patch(&ws.path(""), key, &json!({"name": "Mine now"})).await;
        expect_status::<Problem>(cannot_rename, 403).await;

        for path in [other.path("/members"), format!("/api/v1/workspaces/{}/members", other.slug), other.path("")] {
            let foreign: Problem = expect_status(app.get(&path, key).await, 404).await;
            assert_eq!(foreign.type_uri, "https://weft.dev/problems/not-found", "{path}");
        }
    }
}

backend_test! {
    async fn a_key_is_refused_on_routes_for_people(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("owner@example.com").await;
        let scopes = ["workspace:read", "workspace:write", "members:read", "members:write", "keys:read", "keys:write"];
        let (secret, _) = app.new_api_key(&ws, &scopes).await;
        let key = Some(secret.as_str());

        let me: Problem = expect_status(app.get("/api/v1/me", key).await, 401).await;
        assert!(me.detail.contains("API keys act only inside their workspace"), "{}", me.detail);
        expect_status::<Problem>(app.post("/api/v1/workspaces", key, &json!({"name": "By a key"})).await, 401).await;
        expect_status::<Problem>(app.get("/api/v1/workspaces", key).await, 401).await;
        expect_status::<Problem>(app.get("/api/v1/me/sessions", key).await, 401).await;

        for response in [
            app.delete(&ws.path(""), key).await,
            app.post(&ws.path("/leave"), key, &json!({})).await,
            app.post(&ws.path("/transfer-ownership"), key, &json!({"user": ws.owner.id})).await,
        ] {
            expect_status::<Problem>(response, 403).await;
        }
        expect_status::<WorkspaceOut>(app.get(&ws.path(""), Some(&ws.owner.access_token)).await, 200).await;
        let mine: PageOut<WorkspaceOut> =
            expect_status(app.get("/api/v1/workspaces", Some(&ws.owner.access_token)).await, 200).await;
        assert_eq!(mine.items.len(), 2, "the key created no workspace");
    }
}

backend_test! {
    async fn a_mistyped_key_is_refused_before_it_is_looked_up(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("owner@example.com").await;
        let (secret, _) = app.new_api_key(&ws, &["members:read"]).await;
        let path = ws.path("/members");

        for at in [5, 20, secret.len() - 1] {
            let typo = with_one_character_changed(&secret, at);
            let refused: Problem = expect_status(app.get(&path, Some(&typo)).await, 401).await;
            assert!(refused.detail.contains("API key"), "{}", refused.detail);
        }
        assert_eq!(status(app.get(&path, Some(&secret[..secret.len() - 1])).await).await, 401, "truncated");
        assert_eq!(status(app.get(&path, Some(&format!("{secret}0"))).await).await, 401, "too long");
        let refused = app.get(&path, Some(&with_one_character_changed(&secret, 20))).await;
        assert!(refused.headers()["www-authenticate"].to_str().unwrap().starts_with("Bearer"));
        assert_eq!(status(app.get(&path, Some(&secret)).await).await, 200, "the real key still works");
    }
}

backend_test! {
    async fn a_revoked_key_stops_working_at_once(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("owner@example.com").await;
        let (revoked, revoked_id) = app.new_api_key(&ws, &["members:read"]).await;
        let (kept, kept_id) = app.new_api_key(&ws, &["members:read"]).await;
        let path = ws.path("/members");
        assert_eq!(status(app.get(&path, Some(&revoked)).await).await, 200);

        let key_path = ws.path(&format!("/api-keys/{revoked_id}"));
        assert_eq!(status(app.delete(&key_path, Some(&ws.owner.access_token)).await).await, 204);
        let refused: Problem = expect_status(app.get(&path, Some(&revoked)).await, 401).await;
        assert!(refused.detail.contains("revoked"), "{}", refused.detail);
        assert_eq!(status(app.get(&path, Some(&kept)).await).await, 200, "other keys live on");
        let listed: Vec<_> = listed_keys(&app, &ws).await.into_iter().map(|k| k.id).collect();
        assert_eq!(listed, [kept_id], "revoked keys are not listed");

        expect_status::<Problem>(app.delete(&key_path, Some(&ws.owner.access_token)).await, 404).await;
        expect_status::<Problem>(app.delete(&ws.path("/api-keys/key_nope"), Some(&ws.owner.access_token)).await, 404)
            .await;
    }
}

backend_test! {
    async fn an_expired_key_is_refused(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("owner@example.com").await;
        let tomorrow = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24);
        let body = json!({"name": "short-lived", "scopes": ["members:read"], "expires_at": tomorrow.to_string()});
        let created: CreatedApiKeyOut =
            expect_status(create_key(&app, &ws, &ws.owner.access_token, body).await, 201).await;
        let expires_at: jiff::Timestamp =
            created.key.expires_at.as_deref().expect("expires_at").parse().expect("RFC 3339");
        assert_eq!(expires_at.as_millisecond(), tomorrow.as_millisecond());
        let path = ws.path("/members");
        assert_eq!(status(app.get(&path, Some(&created.secret)).await).await, 200, "valid until tomorrow");

        let sql =
            format!("UPDATE api_keys SET expires_at = {} WHERE id = '{}'", weft_store::now_ms() - 1, created.key.id);
        assert_eq!(app.execute_sql(&sql).await, 1);
        let refused: Problem = expect_status(app.get(&path, Some(&created.secret)).await, 401).await;
        assert!(refused.detail.contains("expired"), "{}", refused.detail);
        assert_eq!(listed_keys(&app, &ws).await.len(), 1, "an expired key is still listed, to be cleaned up");
    }
}

backend_test! {
    async fn a_key_needs_a_name_known_key_scopes_and_a_future_expiry(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("owner@example.com").await;
        let owner = ws.owner.access_token.as_str();

        let scopes =
            json!({"name": "k", "scopes": ["members:read", "workflows:admin", "workspace:delete", "membership:leave"]});
        let bad_scopes: Problem = expect_status(create_key(&app, &ws, owner, scopes).await, 422).await;
        assert_eq!(pointers(&bad_scopes), ["/scopes/1", "/scopes/2", "/scopes/3"]);
        assert!(bad_scopes.errors[0].detail.contains("workflows:admin"), "{:?}", bad_scopes.errors);

        let past = json!({"name": "k", "scopes": ["members:read"], "expires_at": "2020-01-01T00:00:00Z"});
        let past: Problem = expect_status(create_key(&app, &ws, owner, past).await, 422).await;
        assert_eq!(pointers(&past), ["/expires_at"]);
        let garbled = json!({"name": "k", "scopes": ["members:read"], "expires_at": "next week"});
        let garbled: Problem = expect_status(create_key(&app, &ws, owner, garbled).await, 422).await;
        assert_eq!(pointers(&garbled), ["/expires_at"]);

        let empty: Problem =
            expect_status(create_key(&app, &ws, owner, json!({"name": "  ", "scopes": []})).await, 422).await;
        assert_eq!(pointers(&empty), ["/name", "/scopes"]);
        let long_name = json!({"name": "n".repeat(101), "scopes": ["members:read"]});
        expect_status::<Problem>(create_key(&app, &ws, owner, long_name).await, 422).await;
        assert!(listed_keys(&app, &ws).await.is_empty(), "no refused key was made");
    }
}

backend_test! {
    async fn a_key_cannot_grant_a_scope_it_lacks(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("owner@example.com").await;
        let (creator, creator_id) = app.new_api_key(&ws, &["keys:write", "members:read"]).await;

        let escalate = json!({"name": "wider", "scopes": ["members:read", "audit:read"]});
        let refused: Problem = expect_status(create_key(&app, &ws, &creator, escalate).await, 422).await;
        assert_eq!(pointers(&refused), ["/scopes/1"]);
        assert!(refused.errors[0].detail.contains("`audit:read`"), "{}", refused.errors[0].detail);
        let read_keys = json!({"name": "wider", "scopes": ["keys:read"]});
        expect_status::<Problem>(create_key(&app, &ws, &creator, read_keys).await, 422).await;

        let narrower = json!({"name": "narrower", "scopes": ["members:read"]});
        let made: CreatedApiKeyOut = expect_status(create_key(&app, &ws, &creator, narrower).await, 201).await;
        assert_eq!(made.key.created_by, format!("api_key:{creator_id}"));
        assert_eq!(made.key.scopes, ["members:read"]);
        assert_eq!(status(app.get(&ws.path("/members"), Some(&made.secret)).await).await, 200);

        let admin = app.add_member(&ws, "admin@example.com", "admin").await;
        let by_admin = json!({"name": "admin's", "scopes": ["audit:read", "keys:read"]});
        let admins: CreatedApiKeyOut =
            expect_status(create_key(&app, &ws, &admin.access_token, by_admin).await, 201).await;
        assert_eq!(admins.key.created_by, format!("user:{}", admin.id));
        let member = app.add_member(&ws, "member@example.com", "member").await;
        let by_member = json!({"name": "member's", "scopes": ["runs:read"]});
        let not_admin: Problem = expect_status(create_key(&app, &ws, &member.access_token, by_member).await, 403).await;
        assert!(not_admin.detail.contains("`keys:write`"), "{}", not_admin.detail);
    }
}

backend_test! {
    async fn a_keys_last_use_is_recorded(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("owner@example.com").await;
        let (secret, _) = app.new_api_key(&ws, &["members:read"]).await;
        assert!(listed_keys(&app, &ws).await[0].last_used_at.is_none(), "never used yet");

        let before = weft_store::now_ms();
        assert_eq!(status(app.get(&ws.path("/members"), Some(&secret)).await).await, 200);
        let after = weft_store::now_ms();
        let used = listed_keys(&app, &ws).await[0].last_used_at.clone().expect("last_used_at after a use");
        let used: jiff::Timestamp = used.parse().expect("RFC 3339");
        assert!((before..=after).contains(&used.as_millisecond()), "{used}");
    }
}
