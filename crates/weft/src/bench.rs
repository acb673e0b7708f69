//! `weft bench`: the engine's figures as a client sees them (issue 4 §7). It starts this very
//! binary as a `weft serve` child on a scratch data directory (SQLite there, or with `--postgres` a
//! scratch database `weft_bench_<ulid>` created on that server and dropped afterwards), signs up
//! through the API, publishes three workflows and prints one Markdown table per backend:
//!
//! - (a) `--connections` keep-alive HTTP/1.1 clients start runs of manual_trigger → set for
//!   `--duration` seconds. *Started* are the 202 answers, per second of the window. *Completed*
//!   are the runs of that workflow that reached `succeeded` by the end of the window plus a drain
//!   (until none is queued or running, at most [`drain_limit`]), found by paging through the
//!   workflow's runs; completed/s divides them by the time from the earliest `created_at` to the
//!   latest `finished_at`.
//! - (b) 40 `code` nodes in a row, (c) manual_trigger → set → if: one run at a time (after one
//!   warm-up run), polled every millisecond. The server's figure is `finished_at − created_at`
//!   (millisecond timestamps), the client's runs from sending the POST to reading the finished run.
//! - (d) the child's peak resident set (`VmHWM` in `/proc/<pid>/status`).
//! - (e) issue 5's webhook load: n8n's benchmark workflow, webhook_trigger → set, in the
//!   `accepted` and `last_node` modes, loaded by 1, 16 and 64 keep-alive clients for
//!   `--duration` seconds each (a fresh workflow per load): requests/s, p50 and p99 of each
//!   request's time, errors (no answer, or a status other than 202 / 200), and the runs the
//!   workflow has afterwards, which must equal the successful answers.
//!
//! Every wait is bounded, and the child is killed when the bench ends, fails or is interrupted.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail, ensure};
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use sqlx::{Connection, Executor, PgConnection};
use tokio::task::JoinSet;
use weft_http::TokensOut;
use weft_http::api::page::PageOut;
use weft_http::api::runs::{RunOut, RunStartedOut};
use weft_http::api::workflows::WorkflowOut;
use weft_http::api::workspaces::WorkspaceOut;

#[derive(clap::Args)]
pub struct BenchArgs {
    /// Also bench PostgreSQL on this server (its user must be allowed to create databases)
    #[arg(long, value_name = "URL")]
    postgres: Option<String>,
    /// Seconds during which runs are started for (a)
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    duration: u64,
    /// Concurrent HTTP clients for (a)
    #[arg(long, value_name = "N", default_value_t = 64)]
    connections: usize,
    /// Runs measured for (b) and (c)
    #[arg(long, value_name = "N", default_value_t = 50)]
    runs: usize,
    /// A server setting `key=value` (a weft.toml key) over the bench's own; repeatable
    #[arg(long = "set", value_name = "KEY=VALUE")]
    settings: Vec<String>,
}

/// The server's settings besides the data directory, address and database. Rate limits are out
/// of the way; one workspace may use every worker, and there are enough of them that the
/// claim-to-checkpoint latency does not bound throughput (at 32, SQLite completed about 960
/// runs/s; at 256, 2,400, as many as the API started).
const SERVER_SETTINGS: &[(&str, &str)] = &[
    ("log_level", "warn"),
    ("migrate_on_start", "true"),
    ("rate_limit_per_minute", "1000000000"),
    ("rate_limit_burst", "1000000"),
    ("rate_limit_ip_per_minute", "1000000000"),
    ("rate_limit_ip_burst", "1000000"),
    ("worker_concurrency", "256"),
    ("workspace_run_cap", "256"),
    ("db_max_connections", "16"),
];

/// The longest any single request, server start or latency run may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
const RUN_TIMEOUT: Duration = Duration::from_secs(30);
/// How often a latency run is looked at while it has not finished.
const RUN_POLL: Duration = Duration::from_millis(1);
const PAGE_LIMIT: u32 = 200;
const CHAIN_LENGTH: u32 = 40;
const PASSWORD: &str = "bench passphrase, long enough";

/// How long (a) waits after its window for started runs to finish.
fn drain_limit(window: Duration) -> Duration {
    window.max(Duration::from_secs(5))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn title(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }

    /// Issue 4's goal for (a) completed runs per second.
    fn completed_goal(self) -> f64 {
        match self {
            Backend::Sqlite => 5_000.0,
            Backend::Postgres => 2_500.0,
        }
    }
}

const CHAIN_P50_GOAL_MS: f64 = 50.0;
const THREE_P50_GOAL_MS: f64 = 3.0;
const RSS_GOAL_MB: f64 = 150.0;

pub async fn run(args: &BenchArgs) -> anyhow::Result<()> {
    ensure!(args.duration >= 1, "--duration must be at least 1 second");
    ensure!(args.connections >= 1, "--connections must be at least 1");
    ensure!(args.runs >= 1, "--runs must be at least 1");
    let settings = server_settings(&args.settings)?;
    println!("Command: {}", command_line(args));
    let listed: Vec<String> = settings.iter().map(|(key, value)| format!("{key}={value}")).collect();
    println!("Server settings: {}", listed.join(", "));

    let report = interruptible(bench_backend(args, &settings, Backend::Sqlite, None)).await?;
    println!("\n{}", report.table(args));
    if let Some(server) = &args.postgres {
        let database = ScratchDatabase::create(server).await?;
        let outcome = interruptible(bench_backend(args, &settings, Backend::Postgres, Some(&database.url))).await;
        database.drop_now().await;
        println!("\n{}", outcome?.table(args));
    }
    Ok(())
}

/// Runs `work` unless SIGINT or SIGTERM comes first; dropping it then kills the server child.
async fn interruptible<T>(work: impl Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    let mut terminate =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).context("listening for SIGTERM")?;
    tokio::select! {
        outcome = work => outcome,
        _ = tokio::signal::ctrl_c() => bail!("interrupted"),
        _ = terminate.recv() => bail!("terminated"),
    }
}

/// The bench's server settings with `--set` overrides applied, as `(key, value)`.
fn server_settings(overrides: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    let mut settings: Vec<(String, String)> =
        SERVER_SETTINGS.iter().map(|(key, value)| ((*key).to_owned(), (*value).to_owned())).collect();
    for raw in overrides {
        let (key, value) = raw.split_once('=').ok_or_else(|| anyhow!("--set {raw}: expected KEY=VALUE"))?;
        let key = key.trim().to_ascii_lowercase();
        ensure!(
            !["data_dir", "bind", "database_url"].contains(&key.as_str()),
            "--set {key}: the bench chooses this one itself"
        );
        match settings.iter_mut().find(|(known, _)| *known == key) {
            Some(setting) => setting.1 = value.to_owned(),
            None => settings.push((key, value.to_owned())),
        }
    }
    Ok(settings)
}

/// The command with every option spelled out, so it can be run again as it is; a password in
/// the PostgreSQL URL is masked.
fn command_line(args: &BenchArgs) -> String {
    let mut line =
        format!("weft bench --duration {} --connections {} --runs {}", args.duration, args.connections, args.runs);
    if let Some(url) = &args.postgres {
        let _ = write!(line, " --postgres {}", mask_password(url));
    }
    for setting in &args.settings {
        let _ = write!(line, " --set {setting}");
    }
    line
}

fn mask_password(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|at| at + 3) else { return url.to_owned() };
    let Some(at) = url[scheme_end..].find('@').map(|at| at + scheme_end) else { return url.to_owned() };
    match url[scheme_end..at].find(':') {
        Some(colon) => format!("{}:***{}", &url[..scheme_end + colon], &url[at..]),
        None => url.to_owned(),
    }
}

/// A fresh PostgreSQL database for one bench, dropped (even while still in use) by `drop_now`.
struct ScratchDatabase {
    server: String,
    name: String,
    url: String,
}

impl ScratchDatabase {
    async fn create(server: &str) -> anyhow::Result<ScratchDatabase> {
        let name = format!("weft_bench_{}", ulid::Ulid::new().to_string().to_ascii_lowercase());
        let mut conn = PgConnection::connect(server).await.context("connecting to the --postgres server")?;
        // The name is made here, never taken from input; identifiers cannot be bound.
        conn.execute(format!("CREATE DATABASE \"{name}\"").as_str())
            .await
            .context("creating the bench database (may this user create databases?)")?;
        conn.close().await.ok();
        // `dbname` in the query names the database whatever the URL's path says.
        let separator = if server.contains('?') { '&' } else { '?' };
        let url = format!("{server}{separator}dbname={name}");
        Ok(ScratchDatabase { server: server.to_owned(), name, url })
    }

    async fn drop_now(self) {
        let dropped = async {
            let mut conn = PgConnection::connect(&self.server).await?;
            conn.execute(format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name).as_str()).await?;
            conn.close().await
        };
        match tokio::time::timeout(REQUEST_TIMEOUT, dropped).await {
            Ok(Ok(())) => println!("Dropped the bench database {}.", self.name),
            Ok(Err(error)) => eprintln!("weft: could not drop the bench database {}: {error}", self.name),
            Err(_) => eprintln!("weft: dropping the bench database {} timed out", self.name),
        }
    }
}

/// A `weft serve` child on a scratch data directory; dropping it kills the child.
struct Server {
    child: tokio::process::Child,
    base_url: String,
    data_dir: tempfile::TempDir,
}

impl Server {
    async fn start(settings: &[(String, String)], database_url: Option<&str>) -> anyhow::Result<Server> {
        let data_dir = tempfile::Builder::new().prefix("weft-bench-").tempdir().context("creating a data directory")?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .context("finding a free local port")?
            .port();
        let log = std::fs::File::create(data_dir.path().join("server.log")).context("creating the server log")?;
        let mut command = tokio::process::Command::new(std::env::current_exe().context("finding this binary")?);
        command
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("WEFT_DATA_DIR", data_dir.path())
            .env("WEFT_BIND", format!("127.0.0.1:{port}"))
            .envs(settings.iter().map(|(key, value)| (format!("WEFT_{}", key.to_ascii_uppercase()), value)))
            .stdin(Stdio::null())
            .stdout(log.try_clone().context("sharing the server log")?)
            .stderr(log)
            .kill_on_drop(true);
        if let Some(url) = database_url {
            command.env("WEFT_DATABASE_URL", url);
        }
        let child = command.spawn().context("starting `weft serve`")?;
        let mut server = Server { child, base_url: format!("http://127.0.0.1:{port}"), data_dir };
        server.wait_until_ready().await?;
        Ok(server)
    }

    /// Polls `/readyz` (answered once migrations are applied) until the deadline.
    async fn wait_until_ready(&mut self) -> anyhow::Result<()> {
        let client = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(2)).build()?;
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("`weft serve` exited ({status}) before it was ready:\n{}", self.log_tail());
            }
            let ready = client.get(format!("{}/readyz", self.base_url)).send().await;
            if ready.is_ok_and(|response| response.status() == StatusCode::OK) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!("`weft serve` was not ready within {STARTUP_TIMEOUT:?}:\n{}", self.log_tail());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.data_dir.path().join("server.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// The child's peak resident set in kB, where `/proc` tells it.
    fn peak_rss_kb(&self) -> Option<u64> {
        let status =
            std::fs::read_to_string(Path::new("/proc").join(self.child.id()?.to_string()).join("status")).ok()?;
        let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }
}

/// The API as the signed-in bench user.
#[derive(Clone)]
struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    async fn sign_up(base_url: &str, connections: usize) -> anyhow::Result<Api> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(REQUEST_TIMEOUT)
            .tcp_nodelay(true)
            .pool_max_idle_per_host(connections + 4)
            .build()?;
        let mut api = Api { http, base: format!("{base_url}/api/v1"), token: String::new() };
        let account = json!({"email": "bench@example.com", "password": PASSWORD, "name": "Bench"});
        api.send::<Value>(reqwest::Method::POST, "/auth/register", Some(&account), StatusCode::CREATED).await?;
        let login = json!({"email": "bench@example.com", "password": PASSWORD});
        let tokens: TokensOut = api.send(reqwest::Method::POST, "/auth/login", Some(&login), StatusCode::OK).await?;
        api.token = tokens.access_token;
        Ok(api)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends a request and decodes the answer, which must have `expected` status.
    async fn send<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        expected: StatusCode,
    ) -> anyhow::Result<T> {
        let mut request = self.http.request(method.clone(), self.url(path));
        if !self.token.is_empty() {
            request = request.bearer_auth(&self.token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.with_context(|| format!("{method} {path}"))?;
        let status = response.status();
        let text = response.text().await.with_context(|| format!("{method} {path}: reading the answer"))?;
        ensure!(status == expected, "{method} {path}: expected {expected}, got {status}: {text}");
        serde_json::from_str(&text).with_context(|| format!("{method} {path}: unexpected answer {text}"))
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        self.send(reqwest::Method::GET, path, None, StatusCode::OK).await
    }

    /// The account's personal workspace.
    async fn workspace(&self) -> anyhow::Result<String> {
        let page: PageOut<WorkspaceOut> = self.get("/workspaces").await?;
        let personal =
            page.items.into_iter().find(|ws| ws.personal).context("the account has no personal workspace")?;
        Ok(personal.id)
    }

    /// Creates and publishes a workflow; returns its id.
    async fn publish(&self, ws: &str, definition: Value) -> anyhow::Result<String> {
        let workflows = format!("/workspaces/{ws}/workflows");
        let created: WorkflowOut =
            self.send(reqwest::Method::POST, &workflows, Some(&definition), StatusCode::CREATED).await?;
        let publish = format!("{workflows}/{}/publish", created.id);
        let version = json!({ "version": created.latest_version });
        self.send::<WorkflowOut>(reqwest::Method::POST, &publish, Some(&version), StatusCode::OK).await?;
        Ok(created.id)
    }
}

fn throughput_workflow() -> Value {
    json!({
        "name": "bench: manual_trigger → set",
        "nodes": [
            {"name": "Start", "type": "manual_trigger"},
            {"name": "Set", "type": "set", "params": {"assignments": [{"name": "greeting", "value": "hello"}]}},
        ],
        "connections": [{"from": "Start", "to": "Set"}],
    })
}

fn chain_node(index: u32) -> String {
    format!("Add {index}")
}

/// manual_trigger, then [`CHAIN_LENGTH`] code nodes that each add 1 to `n`.
fn chain_workflow() -> Value {
    let code = "return items.map(i => ({json: {n: (i.json.n ?? 0) + 1}}))";
    let mut nodes = vec![json!({"name": "Start", "type": "manual_trigger"})];
    let mut connections = Vec::new();
    let mut previous = "Start".to_owned();
    for index in 1..=CHAIN_LENGTH {
        let name = chain_node(index);
        nodes.push(json!({"name": name, "type": "code", "params": {"code": code}}));
        connections.push(json!({"from": previous, "to": name}));
        previous = name;
    }
    json!({"name": format!("bench: {CHAIN_LENGTH} code nodes"), "nodes": nodes, "connections": connections})
}

fn three_node_workflow() -> Value {
    json!({
        "name": "bench: manual_trigger → set → if",
        "nodes": [
            {"name": "Start", "type": "manual_trigger"},
            {"name": "Set", "type": "set", "params": {"assignments": [{"name": "greeting", "value": "hello"}]}},
            {"name": "If", "type": "if", "params": {"conditions": [
                {"left": "{{ $json.greeting }}", "operator": "equals", "right": "hello"}
            ]}},
        ],
        "connections": [{"from": "Start", "to": "Set"}, {"from": "Set", "to": "If"}],
    })
}

/// Whether a finished run computed what its workflow should; a latency of wrong work is no figure.
type Check = fn(&RunOut) -> bool;

fn chain_counted_to_the_end(run: &RunOut) -> bool {
    let last = run.output.as_ref().and_then(|output| output.get(chain_node(CHAIN_LENGTH)));
    last.and_then(|items| items.pointer("/0/n")).and_then(Value::as_u64) == Some(u64::from(CHAIN_LENGTH))
}

fn three_nodes_took_the_true_branch(run: &RunOut) -> bool {
    let items = run.output.as_ref().and_then(|output| output.get("If"));
    items.and_then(|items| items.pointer("/0/greeting")).and_then(Value::as_str) == Some("hello")
}

struct Report {
    backend: Backend,
    throughput: Throughput,
    chain: Latency,
    three: Latency,
    peak_rss_kb: Option<u64>,
    hooks: Vec<HookLoad>,
}

async fn bench_backend(
    args: &BenchArgs,
    settings: &[(String, String)],
    backend: Backend,
    database_url: Option<&str>,
) -> anyhow::Result<Report> {
    eprintln!("{}: starting the server…", backend.title());
    let server = Server::start(settings, database_url).await?;
    let api = Api::sign_up(&server.base_url, args.connections).await?;
    let ws = api.workspace().await?;
    let chain = api.publish(&ws, chain_workflow()).await?;
    let three = api.publish(&ws, three_node_workflow()).await?;
    let simple = api.publish(&ws, throughput_workflow()).await?;

    // The latency runs go first, on an idle engine; (a) may leave a backlog behind.
    eprintln!("{}: (b) {} runs of {CHAIN_LENGTH} code nodes…", backend.title(), args.runs);
    let chain = latency(&api, &ws, &chain, args.runs, chain_counted_to_the_end).await.context("(b)")?;
    eprintln!("{}: (c) {} runs of 3 nodes…", backend.title(), args.runs);
    let three = latency(&api, &ws, &three, args.runs, three_nodes_took_the_true_branch).await.context("(c)")?;
    eprintln!("{}: (a) {} connections for {} s…", backend.title(), args.connections, args.duration);
    let throughput = throughput(&api, &ws, &simple, args).await.context("(a)")?;
    let peak_rss_kb = server.peak_rss_kb();
    let mut hooks = Vec::new();
    for mode in [HookMode::Accepted, HookMode::LastNode] {
        for connections in HOOK_CONNECTIONS {
            eprintln!(
                "{}: (e) webhook, {}, {connections} connections for {} s…",
                backend.title(),
                mode.name(),
                args.duration
            );
            let load = hook_load(&api, &server.base_url, &ws, mode, connections, args.duration).await;
            hooks.push(load.with_context(|| format!("(e) {} with {connections} connections", mode.name()))?);
        }
    }
    Ok(Report { backend, throughput, chain, three, peak_rss_kb, hooks })
}

/// Request outcomes of the throughput clients.
#[derive(Default)]
struct Tally {
    started: u64,
    /// Answered with a status other than 202.
    refused: u64,
    /// No answer at all (connection errors, timeouts).
    failed: u64,
}

struct Throughput {
    tally: Tally,
    window: Duration,
    completed: u64,
    /// From the earliest `created_at` to the latest counted `finished_at`, in ms.
    completion_span_ms: i64,
    /// Still queued or running when the drain ended.
    unfinished: u64,
    /// Ended otherwise than `succeeded`.
    not_succeeded: u64,
}

async fn throughput(api: &Api, ws: &str, wf: &str, args: &BenchArgs) -> anyhow::Result<Throughput> {
    let url = api.url(&format!("/workspaces/{ws}/workflows/{wf}/runs"));
    let began = Instant::now();
    let deadline = began + Duration::from_secs(args.duration);
    let mut clients = JoinSet::new();
    for _ in 0..args.connections {
        let (http, url, token) = (api.http.clone(), url.clone(), api.token.clone());
        clients.spawn(async move {
            let mut tally = Tally::default();
            while Instant::now() < deadline {
                let sent = http
                    .post(&url)
                    .bearer_auth(&token)
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body("{}")
                    .send()
                    .await;
                match sent {
                    // The body is read so that the connection is kept for the next request.
                    Ok(response) => match (response.status(), response.bytes().await) {
                        (StatusCode::ACCEPTED, Ok(_)) => tally.started += 1,
                        _ => tally.refused += 1,
                    },
                    Err(_) => {
                        tally.failed += 1;
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            }
            tally
        });
    }
    let mut tally = Tally::default();
    while let Some(client) = clients.join_next().await {
        let client = client.context("a throughput client panicked")?;
        tally.started += client.started;
        tally.refused += client.refused;
        tally.failed += client.failed;
    }
    let window = began.elapsed();

    let drain_deadline = Instant::now() + drain_limit(Duration::from_secs(args.duration));
    while api.has_runs_in(ws, Some(wf), "queued").await? || api.has_runs_in(ws, Some(wf), "running").await? {
        if Instant::now() >= drain_deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let cutoff_ms = jiff::Timestamp::now().as_millisecond();

    let (mut completed, mut unfinished, mut not_succeeded) = (0, 0, 0);
    let (mut first_created, mut last_finished) = (i64::MAX, i64::MIN);
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/workspaces/{ws}/runs?workflow={wf}&limit={PAGE_LIMIT}");
        if let Some(cursor) = &cursor {
            path.push_str("&cursor=");
            path.push_str(cursor);
        }
        let page: PageOut<RunOut> = api.get(&path).await?;
        for run in &page.items {
            first_created = first_created.min(epoch_ms(&run.created_at)?);
            let finished = run.finished_at.as_deref().map(epoch_ms).transpose()?;
            match finished {
                Some(at) if at <= cutoff_ms && run.status == "succeeded" => {
                    completed += 1;
                    last_finished = last_finished.max(at);
                }
                Some(at) if at <= cutoff_ms => not_succeeded += 1,
                _ => unfinished += 1,
            }
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let completion_span_ms = if completed > 0 { (last_finished - first_created).max(1) } else { 0 };
    Ok(Throughput { tally, window, completed, completion_span_ms, unfinished, not_succeeded })
}

/// The client counts of the webhook loads.
const HOOK_CONNECTIONS: [usize; 3] = [1, 16, 64];

#[derive(Clone, Copy, PartialEq, Eq)]
enum HookMode {
    Accepted,
    LastNode,
}

impl HookMode {
    fn name(self) -> &'static str {
        match self {
            HookMode::Accepted => "accepted",
            HookMode::LastNode => "last_node",
        }
    }

    /// The answer a request must get to count as served.
    fn success(self) -> StatusCode {
        match self {
            HookMode::Accepted => StatusCode::ACCEPTED,
            HookMode::LastNode => StatusCode::OK,
        }
    }

    /// Issue 5's goal at 64 connections on SQLite, in requests per second.
    fn goal_per_sec(self) -> f64 {
        match self {
            HookMode::Accepted => 5_000.0,
            HookMode::LastNode => 3_000.0,
        }
    }
}

const HOOK_P99_GOAL_MS: f64 = 20.0;

/// How long a webhook load's runs may take to drain before the next load starts anyway.
const HOOK_DRAIN_LIMIT: Duration = Duration::from_secs(120);

fn hook_workflow(mode: HookMode) -> Value {
    json!({
        "name": format!("bench: webhook_trigger → set ({})", mode.name()),
        "nodes": [
            {"name": "Webhook", "type": "webhook_trigger", "params": {"response_mode": mode.name()}},
            {"name": "Set", "type": "set", "params": {"assignments": [{"name": "greeting", "value": "hello"}]}},
        ],
        "connections": [{"from": "Webhook", "to": "Set"}],
    })
}

/// One webhook load's figures.
struct HookLoad {
    mode: HookMode,
    connections: usize,
    window: Duration,
    served: u64,
    errors: u64,
    latencies_ms: Vec<f64>,
    /// Runs the workflow has once the load's runs drained.
    recorded: u64,
}

async fn hook_load(
    api: &Api,
    base_url: &str,
    ws: &str,
    mode: HookMode,
    connections: usize,
    duration: u64,
) -> anyhow::Result<HookLoad> {
    // A backlog left by an earlier load would queue this load's runs behind it.
    api.drain(ws).await?;
    let wf = api.publish(ws, hook_workflow(mode)).await?;
    #[derive(serde::Deserialize)]
    struct Hooks {
        items: Vec<Hook>,
    }
    #[derive(serde::Deserialize)]
    struct Hook {
        url: String,
    }
    let hooks: Hooks = api.get(&format!("/workspaces/{ws}/workflows/{wf}/webhooks")).await?;
    let token = hooks.items.first().context("the workflow has no webhook")?.url.rsplit('/').next().unwrap_or_default();
    let url = format!("{base_url}/hooks/{token}");
    let began = Instant::now();
    let deadline = began + Duration::from_secs(duration);
    let mut clients = JoinSet::new();
    for _ in 0..connections {
        let (http, url) = (api.http.clone(), url.clone());
        clients.spawn(async move {
            let (mut served, mut errors, mut latencies_ms) = (0u64, 0u64, Vec::new());
            while Instant::now() < deadline {
                let sent = Instant::now();
                let answer = http
                    .post(&url)
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(r#"{"order":1}"#)
                    .send()
                    .await;
                match answer {
                    Ok(response) => match (response.status(), response.bytes().await) {
                        (status, Ok(_)) if status == mode.success() => {
                            served += 1;
                            latencies_ms.push(sent.elapsed().as_secs_f64() * 1_000.0);
                        }
                        _ => errors += 1,
                    },
                    Err(_) => {
                        errors += 1;
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            }
            (served, errors, latencies_ms)
        });
    }
    let mut load = HookLoad {
        mode,
        connections,
        window: Duration::ZERO,
        served: 0,
        errors: 0,
        latencies_ms: Vec::new(),
        recorded: 0,
    };
    while let Some(client) = clients.join_next().await {
        let (served, errors, latencies_ms) = client.context("a webhook client panicked")?;
        load.served += served;
        load.errors += errors;
        load.latencies_ms.extend(latencies_ms);
    }
    load.window = began.elapsed();
    api.drain(ws).await?;
    load.recorded = api.count_runs(ws, &wf).await?;
    Ok(load)
}

impl HookLoad {
    fn row(&self, backend: Backend, duration: u64) -> (String, String, String, bool) {
        let per_sec = self.served as f64 / self.window.as_secs_f64();
        let p99 = percentile(&self.latencies_ms, 99.0);
        let measured = format!(
            "{per_sec:.0} req/s, p50 {:.1} ms, p99 {p99:.1} ms, {} errors; {} runs recorded for {} answers",
            percentile(&self.latencies_ms, 50.0),
            self.errors,
            self.recorded,
            self.served,
        );
        let name =
            format!("(e) webhook_trigger → set, {}, {} connections, {duration} s", self.mode.name(), self.connections);
        let counted = self.recorded == self.served;
        if backend == Backend::Sqlite && self.connections == 64 {
            let goal = self.mode.goal_per_sec();
            let ok = per_sec >= goal && p99 <= HOOK_P99_GOAL_MS && counted;
            (name, measured, format!("≥ {goal:.0} req/s, p99 ≤ {HOOK_P99_GOAL_MS:.0} ms, runs = answers"), ok)
        } else {
            (name, measured, "runs = answers".to_owned(), counted)
        }
    }
}

impl Api {
    /// How many runs the workflow has, of any status.
    async fn count_runs(&self, ws: &str, wf: &str) -> anyhow::Result<u64> {
        let (mut count, mut cursor) = (0, None::<String>);
        loop {
            let mut path = format!("/workspaces/{ws}/runs?workflow={wf}&limit={PAGE_LIMIT}");
            if let Some(cursor) = &cursor {
                path.push_str("&cursor=");
                path.push_str(cursor);
            }
            let page: PageOut<RunOut> = self.get(&path).await?;
            count += page.items.len() as u64;
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(count),
            }
        }
    }

    /// Waits until no run of the workspace is queued or running, at most [`HOOK_DRAIN_LIMIT`].
    async fn drain(&self, ws: &str) -> anyhow::Result<()> {
        let deadline = Instant::now() + HOOK_DRAIN_LIMIT;
        while (self.has_runs_in(ws, None, "queued").await? || self.has_runs_in(ws, None, "running").await?)
            && Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }

    /// Whether the workspace (or one workflow of it) has a run in `status`.
    async fn has_runs_in(&self, ws: &str, wf: Option<&str>, status: &str) -> anyhow::Result<bool> {
        let workflow = wf.map(|wf| format!("&workflow={wf}")).unwrap_or_default();
        let page: PageOut<RunOut> =
            self.get(&format!("/workspaces/{ws}/runs?status={status}&limit=1{workflow}")).await?;
        Ok(!page.items.is_empty())
    }
}

fn epoch_ms(rfc3339: &str) -> anyhow::Result<i64> {
    let at: jiff::Timestamp = rfc3339.parse().with_context(|| format!("the API sent the time {rfc3339:?}"))?;
    Ok(at.as_millisecond())
}

/// Each run's end-to-end time, by the server's timestamps and as the client saw it.
struct Latency {
    server_ms: Vec<f64>,
    client_ms: Vec<f64>,
}

async fn latency(api: &Api, ws: &str, wf: &str, runs: usize, check: Check) -> anyhow::Result<Latency> {
    let mut figures = Latency { server_ms: Vec::with_capacity(runs), client_ms: Vec::with_capacity(runs) };
    // One more run than measured: the first warms caches and connections.
    for index in 0..=runs {
        let (server_ms, client) = one_run(api, ws, wf, check).await?;
        if index > 0 {
            figures.server_ms.push(server_ms as f64);
            figures.client_ms.push(client.as_secs_f64() * 1_000.0);
        }
    }
    Ok(figures)
}

/// Starts a run and polls it until it has finished: (server ms, client-observed time).
async fn one_run(api: &Api, ws: &str, wf: &str, check: Check) -> anyhow::Result<(i64, Duration)> {
    let began = Instant::now();
    let path = format!("/workspaces/{ws}/workflows/{wf}/runs");
    let started: RunStartedOut =
        api.send(reqwest::Method::POST, &path, Some(&json!({"input": {"n": 0}})), StatusCode::ACCEPTED).await?;
    let path = format!("/workspaces/{ws}/runs/{}", started.run_id);
    loop {
        let run: RunOut = api.get(&path).await?;
        if let Some(finished_at) = &run.finished_at {
            let client = began.elapsed();
            ensure!(run.status == "succeeded", "run {} ended {}: {}", run.id, run.status, json!(run.error));
            ensure!(check(&run), "run {} computed something else: {}", run.id, json!(run.output));
            return Ok((epoch_ms(finished_at)? - epoch_ms(&run.created_at)?, client));
        }
        ensure!(began.elapsed() < RUN_TIMEOUT, "run {} did not finish within {RUN_TIMEOUT:?}", run.id);
        tokio::time::sleep(RUN_POLL).await;
    }
}

/// The nearest-rank percentile `p` (0–100) of `values`.
fn percentile(values: &[f64], p: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len().max(1)) - 1).copied().unwrap_or(f64::NAN)
}

fn met(ok: bool) -> &'static str {
    if ok { "yes" } else { "no" }
}

impl Latency {
    fn measured(&self) -> String {
        format!(
            "p50 {:.0} ms, p99 {:.0} ms (client: p50 {:.1} ms, p99 {:.1} ms)",
            percentile(&self.server_ms, 50.0),
            percentile(&self.server_ms, 99.0),
            percentile(&self.client_ms, 50.0),
            percentile(&self.client_ms, 99.0),
        )
    }

    fn p50_within(&self, goal_ms: f64) -> bool {
        percentile(&self.server_ms, 50.0) <= goal_ms
    }
}

impl Report {
    fn table(&self, args: &BenchArgs) -> String {
        let a = &self.throughput;
        let started_per_sec = a.tally.started as f64 / a.window.as_secs_f64();
        let completed_per_sec =
            if a.completion_span_ms > 0 { a.completed as f64 * 1_000.0 / a.completion_span_ms as f64 } else { 0.0 };
        let goal = self.backend.completed_goal();
        let rss_mb = self.peak_rss_kb.map(|kb| kb as f64 * 1024.0 / 1_000_000.0);
        let mut table = format!("### {}\n\n| | measured | goal | met |\n|---|---|---|---|\n", self.backend.title());
        let mut row = |name: String, measured: String, goal: String, ok: bool| {
            let _ = writeln!(table, "| {name} | {measured} | {goal} | {} |", met(ok));
        };
        row(
            format!("(a) manual_trigger → set, {} connections, {} s", args.connections, args.duration),
            format!("started {started_per_sec:.0}/s, completed {completed_per_sec:.0}/s"),
            format!("completed ≥ {goal:.0}/s"),
            completed_per_sec >= goal,
        );
        row(
            format!("(b) {CHAIN_LENGTH} code nodes in a row, {} runs", args.runs),
            self.chain.measured(),
            format!("p50 ≤ {CHAIN_P50_GOAL_MS:.0} ms"),
            self.chain.p50_within(CHAIN_P50_GOAL_MS),
        );
        row(
            format!("(c) manual_trigger → set → if, {} runs", args.runs),
            self.three.measured(),
            format!("p50 ≤ {THREE_P50_GOAL_MS:.0} ms"),
            self.three.p50_within(THREE_P50_GOAL_MS),
        );
        row(
            "(d) peak RSS of the server".to_owned(),
            rss_mb.map_or_else(|| "unknown (no /proc)".to_owned(), |mb| format!("{mb:.1} MB")),
            format!("≤ {RSS_GOAL_MB:.0} MB"),
            rss_mb.is_some_and(|mb| mb <= RSS_GOAL_MB),
        );
        for load in &self.hooks {
            let (name, measured, goal, ok) = load.row(self.backend, args.duration);
            row(name, measured, goal, ok);
        }
        let _ = write!(
            table,
            "\n(a) in detail: {} runs started in {:.2} s ({} refused, {} requests failed); {} succeeded within {:.2} s \
             of the first start, {} ended otherwise, {} unfinished after the drain.",
            a.tally.started,
            a.window.as_secs_f64(),
            a.tally.refused,
            a.tally.failed,
            a.completed,
            a.completion_span_ms as f64 / 1_000.0,
            a.not_succeeded,
            a.unfinished,
        );
        table
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&values, 50.0), 50.0);
        assert_eq!(percentile(&values, 99.0), 99.0);
        assert_eq!(percentile(&[7.0, 1.0, 3.0], 50.0), 3.0);
        assert_eq!(percentile(&[7.0, 1.0, 3.0], 99.0), 7.0);
    }

    #[test]
    fn only_the_password_of_a_url_is_masked() {
        assert_eq!(mask_password("postgres://u:secret@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(mask_password("postgres://postgres@127.0.0.1/postgres"), "postgres://postgres@127.0.0.1/postgres");
        assert_eq!(mask_password("postgres://h/db"), "postgres://h/db");
    }

    #[test]
    fn set_overrides_a_bench_setting_and_refuses_the_ones_it_chooses() {
        let settings = server_settings(&["WORKER_CONCURRENCY=4".to_owned(), "run_lease_secs=9".to_owned()]).unwrap();
        assert!(settings.contains(&("worker_concurrency".to_owned(), "4".to_owned())));
        assert!(settings.contains(&("run_lease_secs".to_owned(), "9".to_owned())));
        assert!(server_settings(&["bind=127.0.0.1:1".to_owned()]).is_err());
        assert!(server_settings(&["no equals sign".to_owned()]).is_err());
    }
}
