//! The real application on a random local port, a fresh database and a real SMTP listener.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use weft::{Config, Secret};
use weft_store::Store;

use crate::database::{TestBackend, TestDb};
use crate::smtp::FakeSmtp;

/// The signing key every test app uses, so tests can mint tokens of their own.
pub const TEST_SECRET_KEY: &str = "test-signing-key-test-signing-key-0123456789";
pub const TEST_PASSWORD: &str = "a perfectly fine passphrase";

pub struct TestApp {
    pub base_url: String,
    pub client: reqwest::Client,
    pub smtp: FakeSmtp,
    /// A second handle on the app's database, for arranging and inspecting state.
    pub store: Store,
    pub config: Config,
    shutdown: CancellationToken,
    /// `weft::run`'s outcome, its error kept as text.
    server: Option<JoinHandle<Result<(), String>>>,
    // Dropped last: the database outlives the server that uses it.
    _data_dir: tempfile::TempDir,
    db: TestDb,
}

/// A registered, logged-in user.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: String,
    pub email: String,
    pub password: String,
    pub access_token: String,
    pub refresh_token: String,
}

impl TestApp {
    pub async fn spawn(backend: TestBackend) -> TestApp {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Spawns with a configuration adjusted by `tweak` (body limit, timeouts, …).
    pub async fn spawn_with(backend: TestBackend, tweak: impl FnOnce(&mut Config)) -> TestApp {
        let db = TestDb::new(backend).await;
        let smtp = FakeSmtp::start().await;
        let data_dir = tempfile::tempdir().expect("temporary data directory");
        let mut config = Config {
            data_dir: data_dir.path().to_owned(),
            database_url: Some(Secret::new(db.url.clone())),
            migrate_on_start: Some(true),
            smtp_url: Some(Secret::new(smtp.url())),
            secret_key: Some(Secret::new(TEST_SECRET_KEY)),
            public_url: Some("http://weft.test".to_owned()),
            db_max_connections: 5,
            // Tests send bursts from one address; the rate-limit tests set their own budgets.
            rate_limit_per_minute: 1_000_000,
            rate_limit_burst: 100_000,
            rate_limit_ip_per_minute: 1_000_000,
            rate_limit_ip_burst: 100_000,
            ..Config::default()
        };
        tweak(&mut config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a local port");
        let base_url = format!("http://{}", listener.local_addr().expect("local address"));
        let shutdown = CancellationToken::new();
        let server = tokio::spawn({
            let (config, shutdown) = (config.clone(), shutdown.clone());
            async move { weft::run(config, Some(listener), shutdown).await.map_err(|e| format!("{e:#}")) }
        });
        let client = reqwest::Client::builder().no_proxy().build().expect("HTTP client");
        wait_until_ready(&client, &base_url).await;
        // Connected only now: the app has applied the migrations.
        let store = db.connect().await;
        TestApp { base_url, client, smtp, store, config, shutdown, server: Some(server), _data_dir: data_dir, db }
    }

    /// Stops the app gracefully and reports how `weft::run` ended.
    pub async fn stop(mut self) -> Result<(), String> {
        self.shutdown.cancel();
        let server = self.server.take().expect("server task");
        server.await.map_err(|e| e.to_string())?
    }

    /// Makes the database look as if this binary's migrations had never run.
    pub async fn forget_migrations(&self) {
        self.execute_sql("DELETE FROM _sqlx_migrations").await;
    }

    /// Runs SQL behind the app's back: to age rows, or to tamper with them as an attacker would.
    pub async fn execute_sql(&self, sql: &str) -> u64 {
        use sqlx::{Connection, Executor};
        let mut conn = sqlx::AnyConnection::connect(&self.db.url).await.expect("connect");
        let done = conn.execute(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        conn.close().await.ok();
        done.rows_affected()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    pub fn request(&self, method: reqwest::Method, path: &str, token: Option<&str>) -> reqwest::RequestBuilder {
        let request = self.client.request(method, self.url(path));
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        self.request(reqwest::Method::GET, path, token).send().await.expect("GET")
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &impl Serialize) -> reqwest::Response {
        self.request(reqwest::Method::POST, path, token).json(body).send().await.expect("POST")
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: &impl Serialize) -> reqwest::Response {
        self.request(reqwest::Method::PATCH, path, token).json(body).send().await.expect("PATCH")
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        self.request(reqwest::Method::DELETE, path, token).send().await.expect("DELETE")
    }

    /// Registers an account (consuming its verification mail) and logs it in.
    pub async fn new_user(&self, email: &str) -> TestUser {
        self.register_and_login(email, false).await
    }

    /// Like [`TestApp::new_user`], with the address verified through the mailed link.
    pub async fn new_verified_user(&self, email: &str) -> TestUser {
        self.register_and_login(email, true).await
    }

    async fn register_and_login(&self, email: &str, verify: bool) -> TestUser {
        let response = self
            .post(
                "/api/v1/auth/register",
                None,
                &json!({"email": email, "password": TEST_PASSWORD, "name": "Test User"}),
            )
            .await;
        let user: Value = expect_status(response, 201).await;
        let mail = self.smtp.next_message().await;
        if verify {
            let link = mail.link_starting_with("http://weft.test/verify-email?token=").expect("verification link");
            let token = link.rsplit('=').next().expect("token in link");
            let verified = self.post("/api/v1/auth/verify-email", None, &json!({ "token": token })).await;
            expect_status::<Value>(verified, 200).await;
        }
        let tokens: Value = expect_status(
            self.post("/api/v1/auth/login", None, &json!({"email": email, "password": TEST_PASSWORD})).await,
            200,
        )
        .await;
        TestUser {
            id: user["id"].as_str().expect("user id").to_owned(),
            email: email.to_owned(),
            password: TEST_PASSWORD.to_owned(),
            access_token: tokens["access_token"].as_str().expect("access token").to_owned(),
            refresh_token: tokens["refresh_token"].as_str().expect("refresh token").to_owned(),
        }
    }
}

/// A workspace made through the API, as its owner sees it.
#[derive(Debug, Clone)]
pub struct TestWorkspace {
    pub id: String,
    pub slug: String,
    pub owner: TestUser,
}

impl TestWorkspace {
    /// `/api/v1/workspaces/{id}` followed by `rest`.
    pub fn path(&self, rest: &str) -> String {
        format!("/api/v1/workspaces/{}{rest}", self.id)
    }
}

impl TestApp {
    /// A new workspace owned by a new verified user.
    pub async fn new_workspace(&self, owner_email: &str) -> TestWorkspace {
        let owner = self.new_verified_user(owner_email).await;
        let name = format!("Workspace of {owner_email}");
        let created: Value = expect_status(
            self.post("/api/v1/workspaces", Some(&owner.access_token), &json!({ "name": name })).await,
            201,
        )
        .await;
        TestWorkspace {
            id: created["id"].as_str().expect("workspace id").to_owned(),
            slug: created["slug"].as_str().expect("workspace slug").to_owned(),
            owner,
        }
    }

    /// A new verified user who joined `workspace` with `role` through an emailed invitation.
    pub async fn add_member(&self, workspace: &TestWorkspace, email: &str, role: &str) -> TestUser {
        let member = self.new_verified_user(email).await;
        let invite = json!({ "email": email, "role": role });
        let invited = self.post(&workspace.path("/invitations"), Some(&workspace.owner.access_token), &invite).await;
        expect_status::<Value>(invited, 201).await;
        let mail = self.smtp.next_message().await;
        let link = mail.link_starting_with("http://weft.test/invitations/").expect("invitation link");
        let token = link.rsplit('/').next().expect("token in link");
        let accepted =
            self.post(&format!("/api/v1/invitations/{token}/accept"), Some(&member.access_token), &json!({})).await;
        expect_status::<Value>(accepted, 200).await;
        member
    }

    /// A new workflow in `workspace` (manual trigger → set), created by its owner; returns its id.
    pub async fn new_workflow(&self, workspace: &TestWorkspace, name: &str) -> String {
        let body = json!({
            "name": name,
            "nodes": [
                {"name": "Start", "type": "manual_trigger"},
                {"name": "Greet", "type": "set", "params": {"assignments": [{"name": "greeting", "value": "hello"}]}},
            ],
            "connections": [{"from": "Start", "to": "Greet"}],
        });
        let created: Value = expect_status(
            self.post(&workspace.path("/workflows"), Some(&workspace.owner.access_token), &body).await,
            201,
        )
        .await;
        created["id"].as_str().expect("workflow id").to_owned()
    }

    /// A new API key of `workspace` with `scopes`, created by its owner; returns the secret and id.
    pub async fn new_api_key(&self, workspace: &TestWorkspace, scopes: &[&str]) -> (String, String) {
        let body = json!({ "name": "test key", "scopes": scopes });
        let created: Value = expect_status(
            self.post(&workspace.path("/api-keys"), Some(&workspace.owner.access_token), &body).await,
            201,
        )
        .await;
        (created["secret"].as_str().expect("key secret").to_owned(), created["id"].as_str().expect("key id").to_owned())
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// The listener is bound before start, so requests queue rather than fail; this waits only
/// for startup (migrations) to finish.
async fn wait_until_ready(client: &reqwest::Client, base_url: &str) {
    let response = client.get(format!("{base_url}/readyz")).send().await.expect("GET /readyz");
    assert_eq!(response.status(), 200, "app did not become ready: {}", response.text().await.unwrap_or_default());
}

/// Asserts the status (showing the body when it differs) and decodes the body.
pub async fn expect_status<T: DeserializeOwned>(response: reqwest::Response, status: u16) -> T {
    let actual = response.status().as_u16();
    let text = response.text().await.expect("response body");
    assert_eq!(actual, status, "unexpected status; body: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("body is not the expected JSON ({e}): {text}"))
}
