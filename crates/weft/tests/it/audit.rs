//! The audit log: every workspace mutation writes exactly one entry to its workspace's chain and
//! every login attempt one to the account chain; the API filters and pages the log for those who
//! may read it; the hash chain exposes tampering, also through `weft admin audit verify`; and
//! concurrent writers keep one chain in order.

use std::collections::{BTreeSet, HashMap};

use reqwest::Method;
use serde_json::{Value, json};
use weft_domain::AuditAction;
use weft_domain::audit::ACCOUNT_CHAIN;
use weft_http::Problem;
use weft_http::api::audit::AuditEntryOut;
use weft_http::api::page::PageOut;
use weft_testkit::{TEST_PASSWORD, TestApp, TestWorkspace, backend_test, expect_status};

const USER_AGENT: &str = "weft-audit-tests/1.0";
/// Every request of these tests comes from the loopback address.
const IP: &str = "127.0.0.1";

/// A request as a client sends it: a bearer token, a `User-Agent` and maybe a JSON body.
async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> reqwest::Response {
    let mut request = app.request(method, path, token).header(reqwest::header::USER_AGENT, USER_AGENT);
    if let Some(body) = body {
        request = request.json(body);
    }
    request.send().await.expect("send the request")
}

/// Verifies one chain, asserting it is intact, and counts its entries.
async fn intact_entries(app: &TestApp, chain: &str) -> u64 {
    let report = app.store.verify_audit_chain(chain).await.expect("verify the chain");
    assert_eq!(report.broken, None, "chain {chain} is intact");
    report.entries
}

/// The entries of every chain together.
async fn total_entries(app: &TestApp) -> u64 {
    let mut total = 0;
    for chain in app.store.audit_chains(None).await.expect("list the chains") {
        total += intact_entries(app, &chain).await;
    }
    total
}

/// Every entry of the workspace's log that `query` selects, read `limit` at a time by following
/// `next_cursor`, in the order the API returns them.
async fn read_log(app: &TestApp, ws: &str, token: &str, query: &[(&str, &str)], limit: u32) -> Vec<AuditEntryOut> {
    let path = format!("/api/v1/workspaces/{ws}/audit-log");
    let (mut entries, mut cursor) = (Vec::new(), None::<String>);
    loop {
        let mut request = app.request(Method::GET, &path, Some(token)).query(query).query(&[("limit", limit)]);
        if let Some(cursor) = &cursor {
            request = request.query(&[("cursor", cursor)]);
        }
        let page: PageOut<AuditEntryOut> = expect_status(request.send().await.expect("GET audit-log"), 200).await;
        if page.next_cursor.is_some() {
            assert_eq!(page.items.len(), limit as usize, "{query:?}: only the last page is short");
        } else {
            assert!(page.items.len() <= limit as usize, "{query:?}: a page holds at most `limit` entries");
        }
        entries.extend(page.items);
        assert!(entries.len() <= 10_000, "{query:?}: the cursor never ends");
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return entries,
        }
    }
}

fn seqs(entries: &[AuditEntryOut]) -> Vec<i64> {
    entries.iter().map(|entry| entry.seq).collect()
}

/// A new workspace whose chain holds five entries: its creation and four API keys.
async fn workspace_with_five_entries(app: &TestApp, owner_email: &str) -> TestWorkspace {
    let ws = app.new_workspace(owner_email).await;
    for _ in 0..4 {
        app.new_api_key(&ws, &["workspace:read"]).await;
    }
    assert_eq!(intact_entries(app, &ws.id).await, 5);
    ws
}

// ---------------------------------------------------------------------------------------------
// Completeness: one entry per mutation.

/// The fixture API key's name among the callers.
const KEY: &str = "key";

/// An id known by name (a fixture's, or one saved from an earlier row's response), or the `id`
/// of this row's own response.
#[derive(Debug, Clone, Copy)]
enum Id {
    Named(&'static str),
    Created,
}

/// One mutating route, performed once; `{name}` in the path and body stands for the id or token
/// known by that name.
struct Mutation {
    method: Method,
    path: &'static str,
    body: Option<Value>,
    /// A fixture user by name, or [`KEY`].
    caller: &'static str,
    status: u16,
    action: AuditAction,
    target: (&'static str, Id),
    /// The workspace whose chain receives the entry.
    chain: Id,
    /// Remembers the response's `id` under this name for later rows.
    saves: Option<&'static str>,
    /// Remembers the token of the invitation this request mails under this name.
    mails_token: Option<&'static str>,
}

impl Mutation {
    fn new(
        method: Method,
        path: &'static str,
        caller: &'static str,
        status: u16,
        action: AuditAction,
        target: (&'static str, Id),
    ) -> Self {
        Mutation {
            method,
            path,
            body: None,
            caller,
            status,
            action,
            target,
            chain: Id::Named("ws"),
            saves: None,
            mails_token: None,
        }
    }

    fn body(self, body: Value) -> Self {
        Mutation { body: Some(body), ..self }
    }

    fn in_chain(self, chain: Id) -> Self {
        Mutation { chain, ..self }
    }

    fn saves(self, name: &'static str) -> Self {
        Mutation { saves: Some(name), ..self }
    }

    fn mails_token(self, name: &'static str) -> Self {
        Mutation { mails_token: Some(name), ..self }
    }

    fn label(&self) -> String {
        format!("{} {} as {}", self.method, self.path, self.caller)
    }
}

/// Every mutating workspace-scoped route, in an order in which each can succeed on one fixture
/// workspace `ws` owned by ada, with members bob, carol and dave, a verified non-member erin, and
/// an API key. Adding a route means adding a row.
fn mutations() -> Vec<Mutation> {
    use AuditAction as A;
    use Id::{Created, Named};
    vec![
        Mutation::new(Method::POST, "/api/v1/workspaces", "ada", 201, A::WorkspaceCreated, ("workspace", Created))
            .body(json!({"name": "Second workspace"}))
            .in_chain(Created),
        Mutation::new(
            Method::PATCH,
            "/api/v1/workspaces/{ws}",
            KEY,
            200,
            A::WorkspaceUpdated,
            ("workspace", Named("ws")),
        )
        .body(json!({"name": "Renamed"})),
        Mutation::new(
            Method::PATCH,
            "/api/v1/workspaces/{ws}/members/{bob}",
            "ada",
            200,
            A::MemberRoleChanged,
            ("user", Named("bob")),
        )
        .body(json!({"role": "admin"})),
        Mutation::new(
            Method::DELETE,
            "/api/v1/workspaces/{ws}/members/{carol}",
            KEY,
            204,
            A::MemberRemoved,
            ("user", Named("carol")),
        ),
        Mutation::new(
            Method::POST,
            "/api/v1/workspaces/{ws}/leave",
            "dave",
            204,
            A::MemberLeft,
            ("user", Named("dave")),
        ),
        Mutation::new(
            Method::POST,
            "/api/v1/workspaces/{ws}/invitations",
            KEY,
            201,
            A::InvitationCreated,
            ("invitation", Created),
        )
        .body(json!({"email": "frank@example.com", "role": "member"}))
        .saves("frank_invitation")
        .mails_token("frank_token"),
        Mutation::new(
            Method::DELETE,
            "/api/v1/workspaces/{ws}/invitations/{frank_invitation}",
            "ada",
            204,
            A::InvitationRevoked,
            ("invitation", Named("frank_invitation")),
        ),
        Mutation::new(
            Method::POST,
            "/api/v1/workspaces/{ws}/invitations",
            "ada",
            201,
            A::InvitationCreated,
            ("invitation", Created),
        )
        .body(json!({"email": "erin@example.com", "role": "viewer"}))
        .saves("erin_invitation")
        .mails_token("erin_token"),
        Mutation::new(
            Method::POST,
            "/api/v1/invitations/{erin_token}/accept",
            "erin",
            200,
            A::InvitationAccepted,
            ("invitation", Named("erin_invitation")),
        ),
        Mutation::new(
            Method::POST,
            "/api/v1/workspaces/{ws}/api-keys",
            KEY,
            201,
            A::ApiKeyCreated,
            ("api_key", Created),
        )
        .body(json!({"name": "deploy", "scopes": ["workspace:read"]}))
        .saves("deploy_key"),
        Mutation::new(
            Method::DELETE,
            "/api/v1/workspaces/{ws}/api-keys/{deploy_key}",
            "ada",
            204,
            A::ApiKeyRevoked,
            ("api_key", Named("deploy_key")),
        ),
        Mutation::new(
            Method::POST,
            "/api/v1/workspaces/{ws}/workflows",
            KEY,
            201,
            A::WorkflowCreated,
            ("workflow", Created),
        )
        .body(json!({"name": "Flow", "nodes": [{"name": "Start", "type": "manual_trigger"}]}))
        .saves("flow"),
        Mutation::new(
            Method::PATCH,
            "/api/v1/workspaces/{ws}/workflows/{flow}",
            "bob",
            200,
            A::WorkflowUpdated,
            ("workflow", Named("flow")),
        )
        .body(json!({"tags": ["ops"]})),
        Mutation::new(
            Method::POST,
            "/api/v1/workspaces/{ws}/workflows/{flow}/versions",
            "bob",
            201,
            A::WorkflowVersionSaved,
            ("workflow", Named("flow")),
        )
        .body(json!({"nodes": [{"name": "Start", "type": "manual_trigger"}]})),
        Mutation::new(
            Method::POST,
            "/api/v1/workspaces/{ws}/workflows/{flow}/publish",
            KEY,
            200,
            A::WorkflowPublished,
            ("workflow", Named("flow")),
        )
        .body(json!({"version": 2})),
        Mutation::new(
            Method::POST,
            "/api/v1/workspaces/{ws}/workflows/{flow}/unpublish",
            "bob",
            200,
            A::WorkflowUnpublished,
            ("workflow", Named("flow")),
        )
        .body(json!({})),
        Mutation::new(
            Method::POST,
            "/api/v1/workspaces/{ws}/workflows/{flow}/clone",
            "ada",
            201,
            A::WorkflowCreated,
            ("workflow", Created),
        )
        .body(json!({}))
        .saves("flow_copy"),
        Mutation::new(
            Method::DELETE,
            "/api/v1/workspaces/{ws}/workflows/{flow_copy}",
            KEY,
            204,
            A::WorkflowDeleted,
            ("workflow", Named("flow_copy")),
        ),
        Mutation::new(
            Method::POST,
            "/api/v1/workspaces/{ws}/webhook-endpoints",
            "ada",
            201,
            A::WebhookEndpointCreated,
            ("webhook_endpoint", Created),
        )
        .body(json!({"url": "https://hooks.example.com/audit"}))
        .saves("hook"),
        Mutation::new(
            Method::PATCH,
            "/api/v1/workspaces/{ws}/webhook-endpoints/{hook}",
            "ada",
            200,
            A::WebhookEndpointUpdated,
            ("webhook_endpoint", Named("hook")),
        )
        .body(json!({"description": "audited"})),
        Mutation::new(
            Method::POST,
            "/api/v1/workspaces/{ws}/webhook-endpoints/{hook}/rotate-secret",
            "ada",
            200,
            A::WebhookSecretRotated,
            ("webhook_endpoint", Named("hook")),
        ),
        Mutation::new(
            Method::DELETE,
            "/api/v1/workspaces/{ws}/webhook-endpoints/{hook}",
            "ada",
            204,
            A::WebhookEndpointDeleted,
            ("webhook_endpoint", Named("hook")),
        ),
        Mutation::new(
            Method::DELETE,
            "/api/v1/workspaces/{ws}",
            "ada",
            200,
            A::WorkspaceDeleted,
            ("workspace", Named("ws")),
        ),
        Mutation::new(
            Method::POST,
            "/api/v1/workspaces/{ws}/restore",
            "ada",
            200,
            A::WorkspaceRestored,
            ("workspace", Named("ws")),
        ),
        Mutation::new(
            Method::POST,
            "/api/v1/workspaces/{ws}/transfer-ownership",
            "ada",
            204,
            A::OwnershipTransferred,
            ("user", Named("bob")),
        )
        .body(json!({"user": "{bob}"})),
    ]
}

/// Replaces every `{name}` in `template` with the value known by that name.
fn fill(template: &str, known: &HashMap<&str, String>) -> String {
    known.iter().fold(template.to_owned(), |text, (name, value)| text.replace(&format!("{{{name}}}"), value))
}

/// What one row must have written, checked once the log can be read.
struct Expected {
    label: String,
    chain: String,
    seq: i64,
    action: AuditAction,
    actor: (&'static str, String),
    target: (&'static str, String),
}

#[test]
fn the_table_covers_every_workspace_action() {
    let covered: BTreeSet<&str> = mutations().iter().map(|row| row.action.as_str()).collect();
    for action in AuditAction::ALL {
        let by_a_route = !matches!(action.as_str().split('.').next(), Some("user" | "auth"))
            && action != AuditAction::WorkspacePurged;
        assert_eq!(covered.contains(action.as_str()), by_a_route, "{action}: add a row to `mutations()`");
    }
}

backend_test! {
    async fn every_workspace_mutation_writes_one_entry_to_its_workspace_chain(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        let bob = app.add_member(&ws, "bob@example.com", "member").await;
        let carol = app.add_member(&ws, "carol@example.com", "member").await;
        let dave = app.add_member(&ws, "dave@example.com", "viewer").await;
        let erin = app.new_verified_user("erin@example.com").await;
        let scopes = ["workspace:read", "workspace:write", "members:write", "keys:write", "workflows:write"];
        let (key_secret, key_id) = app.new_api_key(&ws, &scopes).await;
        let ada = ws.owner.clone();

        let mut known: HashMap<&str, String> = HashMap::from([("ws", ws.id.clone()), (KEY, key_id)]);
        let mut tokens: HashMap<&str, String> = HashMap::from([(KEY, key_secret)]);
        for (name, user) in [("ada", &ada), ("bob", &bob), ("carol", &carol), ("dave", &dave), ("erin", &erin)] {
            known.insert(name, user.id.clone());
            tokens.insert(name, user.access_token.clone());
        }

        let mut expected = Vec::new();
        for row in mutations() {
            let label = row.label();
            let path = fill(row.path, &known);
            assert!(!path.contains('{'), "{label}: a name in the path is unknown: {path}");
            let body = row.body.as_ref().map(|body| {
                serde_json::from_str::<Value>(&fill(&body.to_string(), &known)).expect("the filled body is JSON")
            });
            let before_chain = match row.chain {
                Id::Named(name) => intact_entries(&app, &known[name]).await,
                Id::Created => 0,
            };
            let before_total = total_entries(&app).await;

            let response = send(&app, row.method.clone(), &path, Some(&tokens[row.caller]), body.as_ref()).await;
            let status = response.status().as_u16();
            let text = response.text().await.expect("response body");
            assert_eq!(status, row.status, "{label}: {text}");
            let created = serde_json::from_str::<Value>(&text).ok().and_then(|v| v["id"].as_str().map(str::to_owned));
            let resolve = |id: Id| match id {
                Id::Named(name) => known.get(name).cloned().unwrap_or_else(|| panic!("{label}: `{name}` is unknown")),
                Id::Created => created.clone().unwrap_or_else(|| panic!("{label}: the response has no id: {text}")),
            };
            let chain = resolve(row.chain);
            let target = (row.target.0, resolve(row.target.1));

            assert_eq!(intact_entries(&app, &chain).await, before_chain + 1, "{label}: one entry in chain {chain}");
            assert_eq!(total_entries(&app).await, before_total + 1, "{label}: no entry in any other chain");
            let actor = match row.caller {
                KEY => ("api_key", known[KEY].clone()),
                user => ("user", known[user].clone()),
            };
            let seq = i64::try_from(before_chain + 1).expect("a small seq");
            expected.push(Expected { label, chain, seq, action: row.action, actor, target });

            if let Some(name) = row.saves {
                known.insert(name, created.clone().expect("an id to save"));
            }
            if let Some(name) = row.mails_token {
                let mail = app.smtp.next_message().await;
                let link = mail.link_starting_with("http://weft.test/invitations/").expect("invitation link");
                known.insert(name, link.rsplit('/').next().expect("token in the link").to_owned());
            }
        }

        // Ada still reads both logs: she owns the second workspace and is an admin of the first.
        let mut logs: HashMap<String, Vec<AuditEntryOut>> = HashMap::new();
        for want in &expected {
            if !logs.contains_key(&want.chain) {
                let log = read_log(&app, &want.chain, &ada.access_token, &[], 200).await;
                logs.insert(want.chain.clone(), log);
            }
            let entry = logs[&want.chain].iter().find(|entry| entry.seq == want.seq);
            let entry = entry.unwrap_or_else(|| panic!("{}: no entry {} in {}", want.label, want.seq, want.chain));
            let label = &want.label;
            assert_eq!(entry.action, want.action.as_str(), "{label}");
            assert_eq!(
                (entry.actor_type.as_str(), entry.actor_id.as_deref()),
                (want.actor.0, Some(&*want.actor.1)),
                "{label}"
            );
            assert_eq!(
                (entry.target_type.as_deref(), entry.target_id.as_deref()),
                (Some(want.target.0), Some(&*want.target.1)),
                "{label}"
            );
            assert_eq!((entry.ip.as_deref(), entry.user_agent.as_deref()), (Some(IP), Some(USER_AGENT)), "{label}");
        }
    }
}

/// One account-chain entry, read with SQL: the API shows workspace chains only.
#[derive(Debug, PartialEq, Eq)]
struct AccountEntry {
    actor_type: String,
    actor_id: Option<String>,
    action: String,
    target_id: Option<String>,
    ip: Option<String>,
    user_agent: Option<String>,
    email: Option<String>,
}

async fn newest_account_entries(app: &TestApp, count: i64) -> Vec<AccountEntry> {
    use sqlx::{Connection, Row};
    let url = app.config.database_url.as_ref().expect("the test app's database URL").expose();
    let mut conn = sqlx::AnyConnection::connect(url).await.expect("connect");
    let rows = sqlx::query(
        "SELECT actor_type, actor_id, action, target_id, ip, user_agent, metadata FROM audit_log \
         WHERE chain = $1 ORDER BY seq DESC LIMIT $2",
    )
    .bind(ACCOUNT_CHAIN)
    .bind(count)
    .fetch_all(&mut conn)
    .await
    .expect("read the account chain");
    conn.close().await.ok();
    let mut entries: Vec<_> = rows
        .iter()
        .map(|row| {
            let metadata: Value = serde_json::from_str(&row.get::<String, _>("metadata")).expect("JSON metadata");
            AccountEntry {
                actor_type: row.get("actor_type"),
                actor_id: row.get("actor_id"),
                action: row.get("action"),
                target_id: row.get("target_id"),
                ip: row.get("ip"),
                user_agent: row.get("user_agent"),
                email: metadata["email"].as_str().map(str::to_owned),
            }
        })
        .collect();
    entries.reverse();
    entries
}

backend_test! {
    async fn logins_that_succeed_and_fail_are_recorded_in_the_account_chain(backend) {
        let app = TestApp::spawn(backend).await;
        let ada = app.new_user("ada@example.com").await;
        let before_chain = intact_entries(&app, ACCOUNT_CHAIN).await;
        let before_total = total_entries(&app).await;

        let attempts = [
            ("ada@example.com", TEST_PASSWORD, 200),
            ("nobody@example.com", TEST_PASSWORD, 401),
            ("ada@example.com", "not the password", 401),
        ];
        for (email, password, status) in attempts {
            let body = json!({"email": email, "password": password});
            let response = send(&app, Method::POST, "/api/v1/auth/login", None, Some(&body)).await;
            assert_eq!(response.status(), status, "login as {email} with {password:?}");
        }

        assert_eq!(intact_entries(&app, ACCOUNT_CHAIN).await, before_chain + 3);
        assert_eq!(total_entries(&app).await, before_total + 3, "logins touch no workspace chain");
        let entry = |actor_type: &str,
                     actor_id: Option<&str>,
                     action: AuditAction,
                     target_id: Option<&str>,
                     email: Option<&str>| AccountEntry {
            actor_type: actor_type.to_owned(),
            actor_id: actor_id.map(str::to_owned),
            action: action.as_str().to_owned(),
            target_id: target_id.map(str::to_owned),
            ip: Some(IP.to_owned()),
            user_agent: Some(USER_AGENT.to_owned()),
            email: email.map(str::to_owned),
        };
        let id = Some(ada.id.as_str());
        assert_eq!(
            newest_account_entries(&app, 3).await,
            [
                entry("user", id, AuditAction::LoginSucceeded, id, None),
                entry("anonymous", None, AuditAction::LoginFailed, None, Some("nobody@example.com")),
                entry("user", id, AuditAction::LoginFailed, None, Some("ada@example.com")),
            ]
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Reading: filters, pages, access.

backend_test! {
    async fn the_log_filters_by_actor_action_target_and_time_and_pages_newest_first(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        let ada = ws.owner.clone();
        let (key_secret, key_id) = app.new_api_key(&ws, &["audit:read", "keys:write", "workspace:read"]).await;
        let mut made = Vec::new();
        for name in ["first", "second"] {
            let body = json!({"name": name, "scopes": ["workspace:read"]});
            let response = send(&app, Method::POST, &ws.path("/api-keys"), Some(&key_secret), Some(&body)).await;
            let created: Value = expect_status(response, 201).await;
            made.push(created["id"].as_str().expect("key id").to_owned());
        }
        let revoke = ws.path(&format!("/api-keys/{}", made[0]));
        assert_eq!(send(&app, Method::DELETE, &revoke, Some(&ada.access_token), None).await.status(), 204);
        let bob = app.add_member(&ws, "bob@example.com", "viewer").await;

        let all = read_log(&app, &ws.id, &ada.access_token, &[], 200).await;
        let count = i64::try_from(all.len()).expect("a short log");
        assert_eq!(seqs(&all), (1..=count).rev().collect::<Vec<_>>(), "newest first, no gaps");
        let actions: Vec<&str> = all.iter().rev().map(|entry| entry.action.as_str()).collect();
        assert_eq!(
            actions,
            [
                "workspace.created",
                "api_key.created",
                "api_key.created",
                "api_key.created",
                "api_key.revoked",
                "invitation.created",
                "invitation.accepted"
            ]
        );
        for limit in [1, 2, 3] {
            let paged = read_log(&app, &ws.id, &ada.access_token, &[], limit).await;
            assert_eq!(seqs(&paged), seqs(&all), "{limit} per page");
        }

        let time = |raw: &str| raw.parse::<jiff::Timestamp>().expect("an RFC 3339 time");
        let (oldest, newest) = (all[all.len() - 1].created_at.clone(), all[0].created_at.clone());
        let (ada_actor, key_actor, bob_actor) =
            (format!("user:{}", ada.id), format!("api_key:{key_id}"), format!("user:{}", bob.id));
        let (ada_actor, key_actor, bob_actor, revoked) =
            (ada_actor.as_str(), key_actor.as_str(), bob_actor.as_str(), made[0].as_str());
        let (oldest, newest) = (oldest.as_str(), newest.as_str());
        type Wanted<'a> = Box<dyn Fn(&AuditEntryOut) -> bool + 'a>;
        fn actor_is(kind: &'static str, id: Option<&str>) -> Wanted<'static> {
            let id = id.map(str::to_owned);
            Box::new(move |e: &AuditEntryOut| e.actor_type == kind && (id.is_none() || e.actor_id == id))
        }
        let filters: Vec<(Vec<(&str, &str)>, Wanted)> = vec![
            (vec![("actor", ada_actor)], actor_is("user", Some(&ada.id))),
            (vec![("actor", bob_actor)], actor_is("user", Some(&bob.id))),
            (vec![("actor", key_actor)], actor_is("api_key", Some(&key_id))),
            (vec![("actor", "api_key")], actor_is("api_key", None)),
            (vec![("action", "api_key.created")], Box::new(|e: &AuditEntryOut| e.action == "api_key.created")),
            (
                vec![("target_type", "api_key")],
                Box::new(|e: &AuditEntryOut| e.target_type.as_deref() == Some("api_key")),
            ),
            (
                vec![("target_type", "api_key"), ("target_id", revoked)],
                Box::new(|e: &AuditEntryOut| {
                    e.target_type.as_deref() == Some("api_key") && e.target_id.as_deref() == Some(revoked)
                }),
            ),
            (
                vec![("target_type", "invitation")],
                Box::new(|e: &AuditEntryOut| e.target_type.as_deref() == Some("invitation")),
            ),
            (
                vec![("actor", ada_actor), ("action", "api_key.created")],
                Box::new(|e: &AuditEntryOut| e.actor_id.as_deref() == Some(&ada.id) && e.action == "api_key.created"),
            ),
            (vec![("since", newest)], Box::new(move |e: &AuditEntryOut| time(&e.created_at) >= time(newest))),
            (vec![("until", newest)], Box::new(move |e: &AuditEntryOut| time(&e.created_at) < time(newest))),
            (
                vec![("since", oldest), ("until", newest)],
                Box::new(move |e: &AuditEntryOut| {
                    time(&e.created_at) >= time(oldest) && time(&e.created_at) < time(newest)
                }),
            ),
        ];
        for (query, wanted) in &filters {
            let expected: Vec<i64> = all.iter().filter(|entry| wanted(entry)).map(|entry| entry.seq).collect();
            assert!(!expected.is_empty() && expected.len() < all.len(), "{query:?} selects some entries: {expected:?}");
            for limit in [1, 200] {
                let got = read_log(&app, &ws.id, &ada.access_token, query, limit).await;
                assert_eq!(seqs(&got), expected, "{query:?}, {limit} per page");
            }
        }
        let nothing =
            [("action", "workspace.deleted"), ("since", "2999-01-01T00:00:00Z"), ("until", "2000-01-01T00:00:00Z")];
        for query in nothing.map(|pair| [pair]) {
            assert!(read_log(&app, &ws.id, &ada.access_token, &query, 50).await.is_empty(), "{query:?}");
        }

        let bad = [
            // Decodes as base64 ("x") but is no position in the log.
            (vec![("cursor", "eA")], vec!["?cursor"]),
            (vec![("since", "yesterday")], vec!["?since"]),
            (vec![("until", "2024-13-01T00:00:00Z")], vec!["?until"]),
            (vec![("since", "now"), ("until", "1700000000")], vec!["?since", "?until"]),
        ];
        for (query, pointers) in bad {
            let request = app.request(Method::GET, &ws.path("/audit-log"), Some(&ada.access_token)).query(&query);
            let problem: Problem = expect_status(request.send().await.expect("GET audit-log"), 422).await;
            let got: Vec<&str> = problem.errors.iter().map(|error| error.pointer.as_str()).collect();
            assert_eq!(got, pointers, "{query:?}");
        }
    }
}

backend_test! {
    async fn only_audit_readers_of_the_workspace_see_its_log(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        let admin = app.add_member(&ws, "adam@example.com", "admin").await;
        let member = app.add_member(&ws, "mia@example.com", "member").await;
        let viewer = app.add_member(&ws, "vic@example.com", "viewer").await;
        let (reader, _) = app.new_api_key(&ws, &["audit:read"]).await;
        let (key_writer, _) = app.new_api_key(&ws, &["keys:write", "workspace:read"]).await;
        let other = app.new_workspace("eve@example.com").await;
        let (other_reader, _) = app.new_api_key(&other, &["audit:read"]).await;

        let callers = [
            ("the owner", ws.owner.access_token.as_str(), 200),
            ("an admin", &admin.access_token, 200),
            ("an audit:read key", &reader, 200),
            ("a member", &member.access_token, 403),
            ("a viewer", &viewer.access_token, 403),
            ("a key without audit:read", &key_writer, 403),
            ("another workspace's owner", &other.owner.access_token, 404),
            ("another workspace's audit:read key", &other_reader, 404),
        ];
        for (who, token, status) in callers {
            let response = app.get(&ws.path("/audit-log"), Some(token)).await;
            assert_eq!(response.status(), status, "{who}: {}", response.text().await.unwrap_or_default());
        }
        assert_eq!(app.get(&ws.path("/audit-log"), None).await.status(), 401);
        let by_slug = format!("/api/v1/workspaces/{}/audit-log", ws.slug);
        let page: PageOut<AuditEntryOut> = expect_status(app.get(&by_slug, Some(&reader)).await, 200).await;
        assert!(!page.items.is_empty(), "the log is reachable by slug too");
    }
}

// ---------------------------------------------------------------------------------------------
// Tamper evidence.

backend_test! {
    async fn tampering_with_the_log_is_detected_at_the_altered_entry(backend) {
        let app = TestApp::spawn(backend).await;
        let untouched = workspace_with_five_entries(&app, "ursula@example.com").await;
        // What an attacker with database access does; `{ws}` is the chain of a five-entry workspace.
        let cases: [(&str, &[&str], i64, &str); 6] = [
            (
                "an entry's metadata altered",
                &[r#"UPDATE audit_log SET metadata = '{"name":"forged"}' WHERE chain = '{ws}' AND seq = 3"#],
                3,
                "content",
            ),
            (
                "an entry's action altered",
                &["UPDATE audit_log SET action = 'api_key.revoked' WHERE chain = '{ws}' AND seq = 3"],
                3,
                "content",
            ),
            (
                "an entry in the middle deleted",
                &["DELETE FROM audit_log WHERE chain = '{ws}' AND seq = 3"],
                4,
                "missing",
            ),
            ("the newest entry deleted", &["DELETE FROM audit_log WHERE chain = '{ws}' AND seq = 5"], 5, "newest"),
            (
                "the newest entry deleted and the head's seq wound back",
                &[
                    "DELETE FROM audit_log WHERE chain = '{ws}' AND seq = 5",
                    "UPDATE audit_heads SET seq = 4 WHERE chain = '{ws}'",
                ],
                5,
                "newest",
            ),
            ("the chain's head row deleted", &["DELETE FROM audit_heads WHERE chain = '{ws}'"], 6, "head"),
        ];
        for (index, (what, statements, seq, reason)) in cases.into_iter().enumerate() {
            let ws = workspace_with_five_entries(&app, &format!("owner{index}@example.com")).await;
            for statement in statements {
                assert_eq!(app.execute_sql(&statement.replace("{ws}", &ws.id)).await, 1, "{what}: {statement}");
            }
            let report = app.store.verify_audit_chain(&ws.id).await.expect("verify");
            let broken = report.broken.unwrap_or_else(|| panic!("{what}: not detected"));
            assert_eq!(broken.seq, seq, "{what}: {broken:?}");
            assert!(broken.reason.contains(reason), "{what}: {broken:?}");
            // The entry named is the one at that seq, or none when the newest entries are gone.
            let remaining = read_log(&app, &ws.id, &ws.owner.access_token, &[], 200).await;
            let id = remaining.iter().find(|entry| entry.seq == seq).map_or("", |entry| entry.id.as_str());
            assert_eq!(broken.id, id, "{what}");
        }
        assert_eq!(intact_entries(&app, &untouched.id).await, 5, "other chains are unaffected");
    }
}

/// Runs `weft admin audit verify` on the test app's database.
async fn verify_cli(app: &TestApp, extra: &[&str]) -> (bool, String) {
    let url = app.config.database_url.as_ref().expect("the test app's database URL").expose();
    let data_dir = app.config.data_dir.to_str().expect("a UTF-8 data directory");
    let output = crate::cli::weft(&app.config.data_dir)
        .args(["admin", "audit", "verify", "--database-url", url, "--data-dir", data_dir])
        .args(extra)
        .output()
        .await
        .expect("run weft");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    (output.status.success(), format!("{stdout}\n--- stderr ---\n{stderr}"))
}

backend_test! {
    async fn admin_audit_verify_names_broken_chains_and_fails(backend) {
        let app = TestApp::spawn(backend).await;
        let tampered = workspace_with_five_entries(&app, "ada@example.com").await;
        let intact = app.new_workspace("bob@example.com").await;

        let (ok, output) = verify_cli(&app, &[]).await;
        assert!(ok, "an untouched log verifies: {output}");
        assert!(output.contains(": 0 broken"), "{output}");
        assert!(!output.contains("BROKEN"), "{output}");

        let statement = format!("UPDATE audit_log SET metadata = '{{}}' WHERE chain = '{}' AND seq = 2", tampered.id);
        assert_eq!(app.execute_sql(&statement).await, 1);
        let (ok, output) = verify_cli(&app, &[]).await;
        assert!(!ok, "a broken chain fails the command: {output}");
        assert!(output.contains(&format!("BROKEN {}: ", tampered.id)), "{output}");
        assert!(output.contains("(seq 2)"), "{output}");
        assert_eq!(output.matches("BROKEN").count(), 1, "only the tampered chain: {output}");
        assert!(output.contains(": 1 broken"), "{output}");

        let (ok, output) = verify_cli(&app, &["--workspace", &intact.id]).await;
        assert!(ok, "--workspace checks that chain only: {output}");
        assert!(output.contains("verified 1 chain(s)") && output.contains(": 0 broken"), "{output}");
        let (ok, output) = verify_cli(&app, &["--workspace", &tampered.id]).await;
        assert!(!ok && output.contains(&format!("BROKEN {}: ", tampered.id)), "{output}");
        assert!(output.contains("verified 1 chain(s)"), "{output}");
        let (ok, output) = verify_cli(&app, &["--workspace", "ws_nonexistent"]).await;
        assert!(!ok && output.contains("no audit chain"), "{output}");

        // Deleting a chain's head row does not hide the chain from the full walk.
        assert_eq!(app.execute_sql(&format!("DELETE FROM audit_heads WHERE chain = '{}'", intact.id)).await, 1);
        let (ok, output) = verify_cli(&app, &[]).await;
        assert!(!ok && output.contains(&format!("BROKEN {}: ", intact.id)), "{output}");
        assert!(output.contains("head record is missing"), "{output}");
    }
}

// ---------------------------------------------------------------------------------------------
// Concurrency.

backend_test! {
    async fn concurrent_mutations_append_to_one_chain_in_order(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        let mut requests = tokio::task::JoinSet::new();
        for n in 0..20 {
            let body = json!({"name": format!("key {n}"), "scopes": ["workspace:read"]});
            let request = app.request(Method::POST, &ws.path("/api-keys"), Some(&ws.owner.access_token)).json(&body);
            requests.spawn(async move { request.send().await.expect("POST api-keys").status().as_u16() });
        }
        let statuses = requests.join_all().await;
        assert!(statuses.iter().all(|status| *status == 201), "{statuses:?}");

        assert_eq!(intact_entries(&app, &ws.id).await, 21, "the creation and twenty keys");
        let log = read_log(&app, &ws.id, &ws.owner.access_token, &[], 200).await;
        assert_eq!(seqs(&log), (1..=21).rev().collect::<Vec<_>>(), "contiguous seqs");
        assert_eq!(log.iter().filter(|entry| entry.action == "api_key.created").count(), 20);
        for pair in log.windows(2) {
            assert_eq!(pair[0].prev_hash, pair[1].hash, "entry {} links to entry {}", pair[0].seq, pair[1].seq);
        }
    }
}
