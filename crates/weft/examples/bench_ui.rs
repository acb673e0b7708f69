//! Figures for the web UI (issue 6), printed as a table (a measurement, not a test):
//!
//! - the time to render the runs list of a workspace holding `--runs` (10,000) runs, as a
//!   signed-in browser asks for it (`GET /w/{ws}/runs`, keep-alive, over loopback), p50 and
//!   p99 of `--requests` sequential requests after a warm-up, and the same for the dashboard;
//! - the bytes a first visit to the dashboard transfers: the HTML and every asset it links.
//!
//! The runs are started through the API by 16 clients at once, one in ten of a workflow that
//! fails, and executed by the app's own workers before anything is timed.
//!
//! ```text
//! cargo run --release -p weft --example bench_ui -- [--postgres] [--runs 10000] [--requests 200]
//! ```
//! `--postgres` uses the server named by `WEFT_TEST_DATABASE_URL` (a fresh database there).

use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use clap::Parser;
use futures_util::StreamExt;
use serde_json::{Value, json};
use weft_testkit::{TEST_PASSWORD, TestApp, TestBackend, TestWorkspace, UiSession, expect_status};

#[derive(Parser)]
#[command(about = "Render times and page weight of Weft's web UI")]
struct Args {
    /// Run on PostgreSQL (the server in WEFT_TEST_DATABASE_URL) instead of SQLite
    #[arg(long)]
    postgres: bool,
    /// Runs the workspace holds when the pages are timed
    #[arg(long, default_value_t = 10_000)]
    runs: usize,
    /// Timed requests per page
    #[arg(long, default_value_t = 200)]
    requests: usize,
}

/// How many clients start runs at once.
const STARTERS: usize = 16;
/// Every this many runs, one fails.
const FAILING_EVERY: usize = 10;

async fn create_published(app: &TestApp, ws: &TestWorkspace, definition: Value) -> anyhow::Result<String> {
    let created: Value =
        expect_status(app.post(&ws.path("/workflows"), Some(&ws.owner.access_token), &definition).await, 201).await;
    let id = created["id"].as_str().context("workflow id")?.to_owned();
    let publish = json!({ "version": created["latest_version"] });
    let path = ws.path(&format!("/workflows/{id}/publish"));
    expect_status::<Value>(app.post(&path, Some(&ws.owner.access_token), &publish).await, 200).await;
    Ok(id)
}

/// Starts `count` runs, one in [`FAILING_EVERY`] of the failing workflow, and waits until the
/// workers have finished them all.
async fn fill_with_runs(app: &TestApp, ws: &TestWorkspace, count: usize) -> anyhow::Result<Duration> {
    let ok = create_published(
        app,
        ws,
        json!({"name": "Greets", "nodes": [
            {"name": "Start", "type": "manual_trigger"},
            {"name": "Greet", "type": "set", "params": {"assignments": [{"name": "greeting", "value": "hello"}]}}],
            "connections": [{"from": "Start", "to": "Greet"}]}),
    )
    .await?;
    let failing = create_published(
        app,
        ws,
        json!({"name": "Throws", "nodes": [
            {"name": "Start", "type": "manual_trigger"},
            {"name": "Throw", "type": "code", "params": {"code": "throw new Error('the bench fails this one')"}}],
            "connections": [{"from": "Start", "to": "Throw"}]}),
    )
    .await?;
    let started = Instant::now();
    let starts = futures_util::stream::iter(0..count)
        .map(|n| {
            let workflow = if n % FAILING_EVERY == 0 { &failing } else { &ok };
            let path = ws.path(&format!("/workflows/{workflow}/runs"));
            async move { app.post(&path, Some(&ws.owner.access_token), &json!({"input": {"n": n}})).await.status() }
        })
        .buffer_unordered(STARTERS)
        .collect::<Vec<_>>()
        .await;
    ensure!(starts.iter().all(|status| status.as_u16() == 202), "every run starts");
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let busy: Value =
            expect_status(app.get(&ws.path("/runs?status=queued&limit=1"), Some(&ws.owner.access_token)).await, 200)
                .await;
        let running: Value =
            expect_status(app.get(&ws.path("/runs?status=running&limit=1"), Some(&ws.owner.access_token)).await, 200)
                .await;
        if busy["items"].as_array().is_some_and(Vec::is_empty) && running["items"].as_array().is_some_and(Vec::is_empty)
        {
            return Ok(started.elapsed());
        }
        ensure!(Instant::now() < deadline, "the runs did not finish within 10 minutes");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

struct Timing {
    p50: Duration,
    p99: Duration,
    bytes: usize,
}

async fn time_page(ui: &mut UiSession<'_>, path: &str, requests: usize) -> anyhow::Result<Timing> {
    for _ in 0..5 {
        ensure!(ui.get(path).await.status == 200, "{path} answers");
    }
    let mut times = Vec::with_capacity(requests);
    let mut bytes = 0;
    for _ in 0..requests {
        let started = Instant::now();
        let page = ui.get(path).await;
        times.push(started.elapsed());
        ensure!(page.status == 200, "{path}: {}", page.status);
        bytes = page.body.len();
    }
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    Ok(Timing { p50: at(0.5), p99: at(0.99), bytes })
}

/// The HTML of a page plus every asset it links (`/assets/…` in `href` or `src`).
async fn first_visit_bytes(app: &TestApp, ui: &mut UiSession<'_>, path: &str) -> anyhow::Result<(usize, usize)> {
    let html = ui.get(path).await.body;
    let mut assets = 0;
    for piece in html.split(['"', '\'']).filter(|piece| piece.starts_with("/assets/")) {
        let body = app.client.get(app.url(piece)).send().await?.bytes().await?;
        assets += body.len();
    }
    Ok((html.len(), assets))
}

fn ms(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let backend = if args.postgres { TestBackend::Postgres } else { TestBackend::Sqlite };
    let app = TestApp::spawn_with(backend, |config| config.worker_concurrency = 32).await;
    let ws = app.new_workspace("bench-ui@example.com").await;
    let filling = fill_with_runs(&app, &ws, args.runs).await?;
    eprintln!("{} runs started and finished in {:.1} s", args.runs, filling.as_secs_f64());

    let mut ui = UiSession::sign_in(&app, "bench-ui@example.com", TEST_PASSWORD).await;
    let runs = time_page(&mut ui, &format!("/w/{}/runs", ws.slug), args.requests).await?;
    let failed = time_page(&mut ui, &format!("/w/{}/runs?status=failed", ws.slug), args.requests).await?;
    let dashboard = time_page(&mut ui, &format!("/w/{}", ws.slug), args.requests).await?;
    let (html, assets) = first_visit_bytes(&app, &mut ui, &format!("/w/{}", ws.slug)).await?;

    println!("| {:?}, {} runs | p50 | p99 | HTML bytes |", backend, args.runs);
    println!("|---|---|---|---|");
    for (name, timing) in [("runs list", &runs), ("runs list, failed only", &failed), ("dashboard", &dashboard)] {
        println!("| {name} | {} | {} | {} |", ms(timing.p50), ms(timing.p99), timing.bytes);
    }
    println!();
    println!("Dashboard first visit: {html} B HTML + {assets} B assets = {} B (goal ≤ 100 KB)", html + assets);
    println!("Runs list p50 {} (goal ≤ 20 ms)", ms(runs.p50));
    app.stop().await.map_err(anyhow::Error::msg)?;
    Ok(())
}
