//! `weft bench`, shortened: it starts its own server, measures, and prints a table per backend
//! whose four rows hold figures; runs really complete; the scratch PostgreSQL database is gone
//! afterwards.

use std::path::Path;
use std::time::Duration;

use sqlx::{Connection, PgConnection};
use weft_testkit::TestBackend;

use crate::cli::weft;

/// The numbers in `text`, in order (`p50 86 ms, p99 157.5 ms` gives 50, 86, 99, 157.5).
fn numbers(text: &str) -> Vec<f64> {
    text.split(|c: char| !(c.is_ascii_digit() || c == '.')).filter_map(|word| word.parse().ok()).collect()
}

/// The `measured` cell of the first row starting with `label` after the heading `title`.
fn measured<'a>(output: &'a str, title: &str, label: &str) -> &'a str {
    let table = output.split(&format!("### {title}\n")).nth(1).unwrap_or_else(|| panic!("no {title} table:\n{output}"));
    let row = table
        .lines()
        .find(|line| line.starts_with(&format!("| {label} ")))
        .unwrap_or_else(|| panic!("no row {label} in the {title} table:\n{table}"));
    row.split('|').nth(2).expect("a measured cell").trim()
}

fn assert_table(output: &str, title: &str) {
    let a = measured(output, title, "(a)");
    let [started, completed] = numbers(a)[..] else { panic!("(a) should hold two rates: {a}") };
    assert!(started > 0.0 && completed > 0.0, "runs were started and completed: {a}");
    for label in ["(b)", "(c)"] {
        let cell = measured(output, title, label);
        let figures = numbers(cell);
        assert_eq!(figures.len(), 8, "{label} has p50 and p99, server and client: {cell}");
        // The server's figures have whole milliseconds and may be 0; the client always waits.
        assert!(figures[1] >= 0.0 && figures[3] >= figures[1], "{label}: server p50 ≤ p99: {cell}");
        assert!(figures[5] > 0.0 && figures[7] >= figures[5], "{label}: client p50 ≤ p99: {cell}");
    }
    let rss = numbers(measured(output, title, "(d)"));
    assert!(rss.len() == 1 && rss[0] > 1.0, "(d) is a size in MB: {rss:?}");
}

#[tokio::test]
async fn bench_prints_a_table_of_figures_per_backend_and_drops_its_database() {
    let postgres = TestBackend::postgres_admin_url();
    let mut command = weft(Path::new("."));
    command.args(["bench", "--duration", "1", "--runs", "3", "--connections", "4"]);
    if let Some(url) = &postgres {
        command.args(["--postgres", url]);
    }
    let finished = tokio::time::timeout(Duration::from_secs(120), command.output()).await;
    let output = finished.expect("the bench ends on its own").expect("weft bench runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("Command: weft bench --duration 1 --connections 4 --runs 3"), "{stdout}");
    assert!(stdout.contains("workspace_run_cap="), "the server settings are printed: {stdout}");
    assert_table(&stdout, "SQLite");

    let Some(url) = postgres else { return };
    assert_table(&stdout, "PostgreSQL");
    let name = stdout
        .split("Dropped the bench database ")
        .nth(1)
        .and_then(|rest| rest.split('.').next())
        .unwrap_or_else(|| panic!("the scratch database is dropped: {stdout}"));
    let mut conn = PgConnection::connect(&url).await.expect("connect");
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pg_database WHERE datname = $1")
        .bind(name)
        .fetch_one(&mut conn)
        .await
        .expect("query pg_database");
    assert_eq!(left, 0, "{name} no longer exists");
}
