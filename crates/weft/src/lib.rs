//! The `weft` binary's library half: configuration, keys, logging and the wiring that turns a
//! configuration into a running service. `main.rs` is only the command line.
#![forbid(unsafe_code)]

pub mod config;
pub mod keys;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use weft_http::rate_limit::RateLimiter;
use weft_http::{AppState, HttpSettings, TokenKeys};
use weft_store::{Backend, BlobStore, DbConfig, FsBlobStore, Store};
use weft_worker::outbound::{OutboundClient, OutboundDefaults, OutboundPolicy};
use weft_worker::webhooks::{Dispatcher, DispatcherSettings, RetrySchedule};
use weft_worker::{Mailer, Runner, RunnerSettings, Scheduler, SystemClock};

pub use config::{Config, LogFormat, Overrides, Role, Secret};

/// Installs the global tracing subscriber (once per process; later calls are ignored).
pub fn init_logging(config: &Config) {
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| config.log_level.clone());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()));
    let _ = match config.log_format {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}

/// Connects to the configured database and, when `migrate` is set, brings its schema up to
/// date; otherwise refuses a database whose schema is behind this binary.
pub async fn open_store(config: &Config, migrate: bool) -> anyhow::Result<Store> {
    let url = config.database_url();
    let backend = Backend::from_url(&url)?;
    if backend == Backend::Sqlite {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("creating the data directory {}", config.data_dir.display()))?;
    }
    let store = Store::connect(&DbConfig {
        url,
        max_connections: config.db_max_connections,
        min_connections: config.db_min_connections,
        acquire_timeout: Duration::from_secs(config.db_acquire_timeout_secs),
    })
    .await
    .with_context(|| format!("connecting to the {} database", backend.name()))?;
    if migrate {
        store.migrate().await.context("applying database migrations")?;
    } else if !store.migrations_current().await.unwrap_or(false) {
        bail!("the database schema is not current: run `weft migrate`, or start with `--migrate`");
    }
    Ok(store.with_payloads(blob_store(config), config.max_inline_payload_bytes))
}

/// Where run payloads too long for the database live.
fn blob_store(config: &Config) -> Arc<dyn BlobStore> {
    Arc::new(FsBlobStore::new(config.data_dir.join("blobs")))
}

/// Whether `weft serve` migrates on start: as configured, else yes for SQLite only.
pub fn migrates_on_start(config: &Config) -> bool {
    config.migrate_on_start.unwrap_or_else(|| Backend::from_url(&config.database_url()).ok() == Some(Backend::Sqlite))
}

fn mailer(config: &Config) -> anyhow::Result<Mailer> {
    Ok(match &config.smtp_url {
        Some(url) => Mailer::smtp(url.expose(), &config.mail_from).context("key `smtp_url`")?,
        None => Mailer::outbox(config.data_dir.join("outbox"), &config.mail_from).context("key `mail_from`")?,
    })
}

/// How often a worker looks for queued runs when no signal rang: only a fallback, as the store
/// signals every queued run (across processes on PostgreSQL).
const RUN_POLL: Duration = Duration::from_secs(5);

/// A process without both roles shares the database with others, which SQLite's single file
/// cannot do safely; its signals do not leave the process either.
fn check_roles(config: &Config) -> anyhow::Result<()> {
    if Backend::from_url(&config.database_url())? != Backend::Sqlite {
        return Ok(());
    }
    match (config.has_role(Role::Api), config.has_role(Role::Worker)) {
        (true, true) => Ok(()),
        (false, _) => bail!(
            "`weft worker` (or `--roles worker`) needs PostgreSQL: with SQLite, `weft serve` runs the workers in the same process"
        ),
        (true, false) => bail!(
            "`--roles api` needs PostgreSQL: with SQLite, `weft serve` runs the workers in the same process, and runs would never execute without them"
        ),
    }
}

/// Runs the configured roles until `shutdown` is cancelled. The api role serves HTTP on
/// `listener`, bound already (and needed by it alone); on shutdown it stops accepting and lets
/// in-flight requests finish (up to `shutdown_timeout_secs`). The worker role stops claiming and
/// gives its runs as long to reach a checkpoint. Then the pool is closed.
pub async fn run(config: Config, listener: Option<TcpListener>, shutdown: CancellationToken) -> anyhow::Result<()> {
    let started = Instant::now();
    check_roles(&config)?;
    let listener = match (config.has_role(Role::Api), listener) {
        (true, Some(listener)) => Some(listener),
        (false, None) => None,
        (true, None) => bail!("the api role needs a bound listener"),
        (false, Some(_)) => bail!("without the api role nothing listens; pass no listener"),
    };
    let store = open_store(&config, migrates_on_start(&config)).await?;
    // Other processes' signals: runs queued and cancels for a worker, runs settled for a
    // webhook request waiting in the api role.
    store.listen(shutdown.clone());
    let worker = if config.has_role(Role::Worker) { Some(start_worker(&config, &store, &shutdown)?) } else { None };
    let worker_name = worker.as_ref().map_or("", |(_, name)| name.as_str());
    let mut server = match listener {
        Some(listener) => Some(start_api(&config, &store, listener, &shutdown).await?),
        None => None,
    };
    let startup_ms = started.elapsed().as_millis() as u64;
    let database = store.backend().name();
    match &server {
        Some((_, public_url, bound)) => {
            tracing::info!(startup_ms, database, worker = %worker_name, "Weft is ready: open {public_url} (listening on {bound})")
        }
        None => {
            tracing::info!(startup_ms, database, worker = %worker_name, "Weft is ready: executing runs (worker role only)")
        }
    }

    let drain = Duration::from_secs(config.shutdown_timeout_secs);
    let served = match &mut server {
        Some((server, ..)) => Some(tokio::select! {
            served = &mut *server => served,
            () = shutdown.cancelled() => {
                tracing::info!("shutting down: finishing in-flight requests");
                match tokio::time::timeout(drain, &mut *server).await {
                    Ok(served) => served,
                    Err(_) => {
                        tracing::warn!(seconds = drain.as_secs(), "in-flight requests did not finish in time");
                        server.abort();
                        Ok(Ok(()))
                    }
                }
            }
        }),
        None => {
            shutdown.cancelled().await;
            tracing::info!("shutting down: letting runs in progress reach a checkpoint");
            None
        }
    };
    // The worker stops claiming at shutdown; runs it still holds resume elsewhere after their lease.
    if let Some((worker, _)) = worker
        && tokio::time::timeout(drain, worker).await.is_err()
    {
        tracing::warn!("runs in progress did not reach a checkpoint in time; they resume after their lease");
    }
    store.close().await;
    if let Some(served) = served {
        served.context("the HTTP server task failed")?.context("the HTTP server failed")?;
    }
    tracing::info!("stopped");
    Ok(())
}

/// The worker role: executes runs, woken by the store's signals (forwarded from other processes
/// on PostgreSQL), and fires schedules, until `shutdown`. Returns its task and its name in leases.
fn start_worker(
    config: &Config,
    store: &Store,
    shutdown: &CancellationToken,
) -> anyhow::Result<(JoinHandle<()>, String)> {
    let name = format!("{}-{}", hostname(), ulid::Ulid::new());
    let policy = OutboundPolicy::from_cidrs(&config.outbound_allow_cidrs).context("key `outbound_allow_cidrs`")?;
    let mut outbound =
        OutboundClient::new(policy, OutboundDefaults::default()).context("building the outbound HTTP client")?;
    if let Some(origin) = &config.outbound_host_override {
        let origin = reqwest::Url::parse(origin).context("key `outbound_host_override`")?;
        outbound = outbound.with_host_override(origin);
    }
    let mailer = Arc::new(mailer(config)?);
    let dispatcher = Arc::new(Dispatcher::new(
        store.clone(),
        outbound.clone(),
        Arc::clone(&mailer),
        DispatcherSettings {
            schedule: RetrySchedule::from_secs(&config.webhook_retry_schedule),
            ..DispatcherSettings::default()
        },
    ));
    let runner = Runner::new(
        store.clone(),
        outbound,
        mailer,
        RunnerSettings {
            worker: name.clone(),
            concurrency: config.worker_concurrency,
            lease: Duration::from_secs(config.run_lease_secs),
            per_workspace_cap: config.workspace_run_cap,
            poll: RUN_POLL,
            max_items_per_output: config.max_items_per_output,
        },
    );
    let scheduler = Scheduler::new(store.clone(), Arc::new(SystemClock));
    let shutdown = shutdown.clone();
    let work = async move {
        tokio::join!(runner.run(shutdown.clone()), dispatcher.run(shutdown.clone()), scheduler.run(shutdown));
    };
    Ok((tokio::spawn(work), name))
}

/// The HTTP server's task, with the public URL and the bound address.
type ApiTask = (JoinHandle<std::io::Result<()>>, String, SocketAddr);

/// The api role: the HTTP service and the purge of deleted workspaces, until `shutdown`.
async fn start_api(
    config: &Config,
    store: &Store,
    listener: TcpListener,
    shutdown: &CancellationToken,
) -> anyhow::Result<ApiTask> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating the data directory {}", config.data_dir.display()))?;
    let signing_key = keys::signing_key(config.secret_key.as_ref(), &config.data_dir)?;
    // Not used by anything yet, but created now so that the first encrypted credential never
    // races to make it.
    keys::master_key(config.master_key.as_ref(), &config.data_dir)?;
    let mailer = mailer(config)?;
    let bound = listener.local_addr()?;
    let public_url = config.public_url(bound);
    tracing::info!(mailer = mailer.kind(), "starting the API");

    let limiter = match &config.redis_url {
        Some(url) => RateLimiter::redis(url.expose()).await.context("key `redis_url`")?,
        None => RateLimiter::in_process(),
    };
    let state = AppState::new(
        store.clone(),
        mailer,
        TokenKeys::new(&signing_key),
        limiter,
        HttpSettings {
            public_url: public_url.clone(),
            body_limit_bytes: config.body_limit_bytes,
            request_timeout: Duration::from_secs(config.request_timeout_secs),
            cors_origins: config.cors_origins.clone(),
            trust_proxy: config.trust_proxy,
            quotas: config.quotas(),
            workspace_purge_grace: Duration::from_secs(u64::from(config.workspace_purge_grace_days) * 24 * 60 * 60),
            webhook_wait: Duration::from_millis(config.webhook_wait_ms),
        },
    );
    let policy = OutboundPolicy::from_cidrs(&config.outbound_allow_cidrs).context("key `outbound_allow_cidrs`")?;
    let state = state.with_outbound_policy(policy);
    tokio::spawn(purge_deleted_workspaces(store.clone(), shutdown.clone()));
    tokio::spawn(prune_old_runs(store.clone(), blob_store(config), config.run_retention_days, shutdown.clone()));
    let server = tokio::spawn(weft_http::serve(listener, state, shutdown.clone().cancelled_owned()));
    Ok((server, public_url, bound))
}

/// How often finished runs past their retention are pruned and the database compacted.
const RETENTION_INTERVAL: Duration = Duration::from_secs(60 * 60);

/// Finished runs deleted per transaction by the retention sweep.
const PRUNE_BATCH: u32 = 500;

/// At start and then hourly until shutdown: deletes the finished runs older than
/// `retention_days` (0 keeps them forever) with their steps and blobs, and the events as old
/// (with their deliveries, unless one is still pending), and webhook idempotency keys older
/// than 24 hours, then compacts the database.
async fn prune_old_runs(store: Store, blobs: Arc<dyn BlobStore>, retention_days: u32, shutdown: CancellationToken) {
    let retention_ms = i64::from(retention_days) * 24 * 60 * 60 * 1000;
    let mut warned = false;
    loop {
        if retention_days > 0 {
            let cutoff = weft_store::now_ms().saturating_sub(retention_ms);
            match store.prune_runs(blobs.as_ref(), cutoff, PRUNE_BATCH).await {
                Ok(0) => {}
                Ok(pruned) => tracing::info!(count = pruned, retention_days, "pruned finished runs"),
                Err(error) => tracing::error!(error = %error, "pruning finished runs failed"),
            }
            match store.prune_events(cutoff, PRUNE_BATCH).await {
                Ok(0) => {}
                Ok(pruned) => tracing::info!(count = pruned, retention_days, "pruned delivered events"),
                Err(error) => tracing::error!(error = %error, "pruning events failed"),
            }
        }
        match store.forget_hook_requests(weft_store::now_ms()).await {
            Ok(0) => {}
            Ok(forgotten) => tracing::debug!(count = forgotten, "forgot webhook idempotency keys older than 24 hours"),
            Err(error) => tracing::error!(error = %error, "forgetting old webhook idempotency keys failed"),
        }
        match store.compact().await {
            Ok(compaction) if compaction.auto_vacuum_off && !warned => {
                warned = true;
                tracing::warn!(
                    "this SQLite database was created without incremental auto-vacuum: freed space is reused but \
                     the file does not shrink; to shrink it, stop Weft and run \
                     `sqlite3 weft.db 'PRAGMA auto_vacuum = INCREMENTAL; VACUUM;'`"
                );
            }
            Ok(compaction) if compaction.pages_released > 0 => {
                tracing::info!(pages = compaction.pages_released, "compacted the database");
            }
            Ok(_) => {}
            Err(error) => tracing::error!(error = %error, "compacting the database failed"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(RETENTION_INTERVAL) => {}
        }
    }
}

/// How often deleted workspaces past their grace period are looked for.
const PURGE_INTERVAL: Duration = Duration::from_secs(60 * 60);

/// Purges deleted workspaces whose grace period is over, at start and then hourly, until shutdown.
async fn purge_deleted_workspaces(store: Store, shutdown: CancellationToken) {
    loop {
        match store.purge_workspaces(weft_store::now_ms()).await {
            Ok(purged) if !purged.is_empty() => tracing::info!(count = purged.len(), "purged deleted workspaces"),
            Ok(_) => {}
            Err(error) => tracing::error!(error = %error, "purging deleted workspaces failed"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(PURGE_INTERVAL) => {}
        }
    }
}

/// This machine's name, to tell workers apart in leases and logs.
fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname").map(|name| name.trim().to_owned()).unwrap_or_else(|_| "weft".to_owned())
}
