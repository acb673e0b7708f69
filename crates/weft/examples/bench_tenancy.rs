//! Figures for the tenancy layer, printed as a table (a measurement, not a test):
//!
//! - the audit log: appending N entries to one chain through `Store::record_event` (one
//!   transaction each, as a failed login does), then `Store::verify_audit_chain` over them, on a
//!   temporary SQLite file and, with `--database-url`, on a fresh PostgreSQL database created on
//!   that server and dropped afterwards;
//! - the cost of one `RateLimiter::check` in process and, with `--redis-url`, through Redis.
//!
//! ```text
//! cargo run --release -p weft --example bench_tenancy -- \
//!     [--database-url postgres://postgres@127.0.0.1:5432/postgres] [--redis-url redis://127.0.0.1:6379] \
//!     [--entries 100000] [--calls 200000]
//! ```

use std::io::Write;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, ensure};
use clap::Parser;
use weft_domain::audit::ACCOUNT_CHAIN;
use weft_domain::{Actor, AuditAction, Decision, Quota};
use weft_http::rate_limit::RateLimiter;
use weft_store::{Origin, Store};
use weft_testkit::{TestBackend, TestDb};

#[derive(Parser)]
#[command(about = "Audit-log and rate-limit figures for Weft's tenancy layer")]
struct Args {
    /// A PostgreSQL URL allowed to create databases; a fresh database is made there and dropped
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// A Redis server for the shared rate-limit store
    #[arg(long, value_name = "URL")]
    redis_url: Option<String>,
    /// Audit entries appended to the chain before it is verified
    #[arg(long, default_value_t = 100_000)]
    entries: u64,
    /// Rate-limit checks timed per store
    #[arg(long, default_value_t = 200_000)]
    calls: usize,
    /// Verification runs per backend; the median is reported
    #[arg(long, default_value_t = 3)]
    verify_runs: usize,
}

/// Distinct keys the rate-limit checks rotate through, as many clients would.
const RATE_LIMIT_KEYS: usize = 1_000;
/// Generous enough that every check in the run is allowed, so each does the full update.
const QUOTA: Quota = Quota { per_minute: 6_000, burst: 1_000 };

struct AuditFigures {
    backend: &'static str,
    entries: u64,
    append: Duration,
    verify: Duration,
}

struct LimitFigures {
    store: &'static str,
    calls: usize,
    median: Duration,
    p99: Duration,
    mean: Duration,
    max: Duration,
    allowed: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // Warnings only: a Redis check that falls back to the in-process store says so here.
    tracing_subscriber::fmt().with_writer(std::io::stderr).with_max_level(tracing::Level::WARN).init();

    let mut audit = Vec::new();
    let sqlite = TestDb::new(TestBackend::Sqlite).await;
    audit.push(bench_audit("sqlite", &sqlite, &args).await?);
    drop(sqlite);
    if let Some(admin) = &args.database_url {
        let postgres = TestDb::new_postgres(admin).await;
        audit.push(bench_audit("postgres", &postgres, &args).await?);
        drop(postgres);
    }

    let mut limits = vec![bench_rate_limit("in-process", &RateLimiter::in_process(), args.calls).await];
    if let Some(url) = &args.redis_url {
        let limiter = RateLimiter::redis(url).await.context("connecting to Redis")?;
        limits.push(bench_rate_limit("redis", &limiter, args.calls).await);
    }

    print_tables(&args, &audit, &limits);
    Ok(())
}

async fn bench_audit(backend: &'static str, db: &TestDb, args: &Args) -> anyhow::Result<AuditFigures> {
    let store = db.store().await;
    let origin = Origin { ip: Some("203.0.113.7".to_owned()), user_agent: Some("bench_tenancy/1.0".to_owned()) };
    let step = (args.entries / 10).max(1);
    let started = Instant::now();
    for n in 0..args.entries {
        let metadata = serde_json::json!({ "email": format!("user{n}@example.com") });
        store.record_event(&origin, &Actor::Anonymous, AuditAction::LoginFailed, metadata).await?;
        if (n + 1) % step == 0 {
            eprint!("\r{backend}: appended {} of {} entries", n + 1, args.entries);
            std::io::stderr().flush().ok();
        }
    }
    let append = started.elapsed();
    eprintln!();

    let mut runs = Vec::with_capacity(args.verify_runs.max(1));
    for _ in 0..args.verify_runs.max(1) {
        runs.push(verify(&store, args.entries).await?);
    }
    runs.sort_unstable();
    store.close().await;
    Ok(AuditFigures { backend, entries: args.entries, append, verify: runs[runs.len() / 2] })
}

async fn verify(store: &Store, entries: u64) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let report = store.verify_audit_chain(ACCOUNT_CHAIN).await?;
    let elapsed = started.elapsed();
    ensure!(report.entries == entries, "verified {} entries, expected {entries}", report.entries);
    ensure!(report.broken.is_none(), "the fresh chain is reported broken: {:?}", report.broken);
    Ok(elapsed)
}

async fn bench_rate_limit(store: &'static str, limiter: &RateLimiter, calls: usize) -> LimitFigures {
    // A prefix of its own, so a run never meets an earlier run's keys in a shared Redis.
    let run = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos();
    let keys: Vec<String> = (0..RATE_LIMIT_KEYS).map(|n| format!("bench:{run}:client-{n}")).collect();
    for key in &keys {
        limiter.check(key, &QUOTA).await;
    }
    let mut samples = Vec::with_capacity(calls);
    let mut allowed = 0;
    for n in 0..calls {
        let key = &keys[n % keys.len()];
        let started = Instant::now();
        let decision = limiter.check(key, &QUOTA).await;
        samples.push(started.elapsed());
        allowed += usize::from(matches!(decision, Decision::Allowed { .. }));
    }
    samples.sort_unstable();
    let total: Duration = samples.iter().sum();
    let at = |fraction: f64| samples[((samples.len() - 1) as f64 * fraction).round() as usize];
    LimitFigures {
        store,
        calls,
        median: at(0.5),
        p99: at(0.99),
        mean: total / u32::try_from(calls.max(1)).unwrap_or(u32::MAX),
        max: samples.last().copied().unwrap_or_default(),
        allowed,
    }
}

fn micros(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}

fn print_tables(args: &Args, audit: &[AuditFigures], limits: &[LimitFigures]) {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("weft bench_tenancy ({cpus} CPUs available; release build: {})", !cfg!(debug_assertions));
    println!();
    println!("Audit log: one chain, Store::record_event (one transaction per entry), then verify_audit_chain");
    println!("(verify: median of {} runs)", args.verify_runs.max(1));
    println!(
        "{:<10} {:>9} {:>13} {:>11} {:>13} {:>15} {:>14}",
        "backend", "entries", "append total", "appends/s", "verify total", "verify µs/entry", "entries/s"
    );
    for row in audit {
        let entries = row.entries as f64;
        println!(
            "{:<10} {:>9} {:>11.2} s {:>11.0} {:>11.3} s {:>15.2} {:>14.0}",
            row.backend,
            row.entries,
            row.append.as_secs_f64(),
            entries / row.append.as_secs_f64(),
            row.verify.as_secs_f64(),
            micros(row.verify) / entries,
            entries / row.verify.as_secs_f64(),
        );
    }
    println!();
    println!(
        "Rate-limit check: RateLimiter::check over {RATE_LIMIT_KEYS} keys, quota {}/min burst {}",
        QUOTA.per_minute, QUOTA.burst
    );
    println!(
        "{:<10} {:>9} {:>10} {:>10} {:>10} {:>10} {:>9}",
        "store", "calls", "median µs", "p99 µs", "mean µs", "max µs", "allowed"
    );
    for row in limits {
        println!(
            "{:<10} {:>9} {:>10.2} {:>10.2} {:>10.2} {:>10.0} {:>9}",
            row.store,
            row.calls,
            micros(row.median),
            micros(row.p99),
            micros(row.mean),
            micros(row.max),
            row.allowed
        );
    }
}
