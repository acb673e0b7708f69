//! The workspace dashboard: runs of the last day and week as server-drawn SVG bar charts,
//! recent failures, published workflows and this month's usage. Small by design: a handful of
//! counting queries and no script.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use weft_domain::TenantScope;
use weft_store::{PageRequest, RunFilter, RunStatus, RunTally, now_ms};

use crate::extract::gate::WorkspaceRead;
use crate::state::AppState;
use crate::ui::runs::{RunRow, workflows_of};
use crate::ui::session::{Page, Shell};
use crate::ui::{UiError, render};

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
/// How many recent failures the dashboard lists.
const RECENT_FAILURES: u32 = 5;
/// How many published workflows the dashboard lists.
const LISTED_WORKFLOWS: usize = 10;

/// Chart geometry in SVG user units (dashboard_chart.html draws the frame): the plot, with
/// room for the axis labels left and below.
const CHART_WIDTH: i64 = 720;
const PLOT_LEFT: i64 = 36;
const PLOT_TOP: i64 = 8;
const PLOT_BOTTOM: i64 = 156;

/// The dashboard's page: a page route, not API, so it is routed without the OpenAPI router.
#[allow(clippy::disallowed_methods)]
pub fn routes() -> Router<AppState> {
    Router::new().route("/w/{ws}", get(dashboard))
}

/// One stacked bar: succeeded at the bottom, failed on top.
struct Bar {
    x: i64,
    width: i64,
    ok_y: i64,
    ok_height: i64,
    bad_y: i64,
    bad_height: i64,
    /// What hovering the bar tells: the time and the counts.
    title: String,
    /// The label under the bar; empty where labels would crowd.
    label: String,
    label_x: i64,
}

/// A bar chart of run outcomes per time bucket.
struct Chart {
    id: &'static str,
    caption: &'static str,
    bars: Vec<Bar>,
    /// The tallest bar's count, the top of the scale.
    max: i64,
    succeeded: i64,
    failed: i64,
    total: i64,
}

/// What a bucket is called, in the chart's labels and titles.
struct BucketNames {
    title: String,
    label: String,
}

impl Chart {
    /// Lays out `buckets` bars from the tallies, bucket `i` named by `name(i)`; every `label_every`th bar is labelled.
    fn draw(
        id: &'static str,
        caption: &'static str,
        tallies: &[RunTally],
        buckets: i64,
        label_every: i64,
        name: impl Fn(i64) -> BucketNames,
    ) -> Chart {
        let tally_of = |bucket: i64| tallies.iter().find(|tally| tally.bucket == bucket).copied().unwrap_or_default();
        let max = (0..buckets).map(|bucket| tally_of(bucket).total).max().unwrap_or(0).max(1);
        let plot_height = PLOT_BOTTOM - PLOT_TOP;
        let slot = (CHART_WIDTH - PLOT_LEFT) / buckets.max(1);
        let width = (slot * 7 / 10).max(1);
        let bars = (0..buckets)
            .map(|bucket| {
                let tally = tally_of(bucket);
                let ok_height = tally.succeeded * plot_height / max;
                let bad_height = tally.failed * plot_height / max;
                let x = PLOT_LEFT + bucket * slot + (slot - width) / 2;
                let names = name(bucket);
                let others = tally.total - tally.succeeded - tally.failed;
                let mut title = format!("{}: {} succeeded, {} failed", names.title, tally.succeeded, tally.failed);
                if others > 0 {
                    title.push_str(&format!(", {others} other"));
                }
                Bar {
                    x,
                    width,
                    ok_y: PLOT_BOTTOM - ok_height,
                    ok_height,
                    bad_y: PLOT_BOTTOM - ok_height - bad_height,
                    bad_height,
                    title,
                    label: if bucket % label_every == 0 { names.label } else { String::new() },
                    label_x: x + width / 2,
                }
            })
            .collect();
        Chart {
            id,
            caption,
            bars,
            max,
            succeeded: tallies.iter().map(|tally| tally.succeeded).sum(),
            failed: tallies.iter().map(|tally| tally.failed).sum(),
            total: tallies.iter().map(|tally| tally.total).sum(),
        }
    }
}

fn time_of(epoch_ms: i64, format: &str) -> String {
    jiff::Timestamp::from_millisecond(epoch_ms).map_or_else(|_| String::new(), |time| time.strftime(format).to_string())
}

/// The first millisecond of the current UTC month.
fn month_start(now: i64) -> i64 {
    jiff::Timestamp::from_millisecond(now)
        .ok()
        .map(|time| time.to_zoned(jiff::tz::TimeZone::UTC).date().first_of_month())
        .and_then(|date| date.to_zoned(jiff::tz::TimeZone::UTC).ok())
        .map_or(now - now.rem_euclid(DAY_MS), |zoned| zoned.timestamp().as_millisecond())
}

/// A published workflow, linked.
struct ActiveWorkflow {
    id: String,
    name: String,
    version: i64,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    shell: Shell,
    section: &'static str,
    day: Chart,
    week: Chart,
    failures: Vec<RunRow>,
    active: Vec<ActiveWorkflow>,
    active_count: usize,
    workflow_count: usize,
    runs_this_month: i64,
    month: String,
}

/// The last 24 hours by the hour and the last 7 days by the day, both ending with the current one.
async fn charts(state: &AppState, scope: &TenantScope, now: i64) -> Result<(Chart, Chart), UiError> {
    let day_since = now - now.rem_euclid(HOUR_MS) - 23 * HOUR_MS;
    let hourly = state.store.run_tallies(scope, day_since, HOUR_MS).await?;
    let day = Chart::draw("runs-24h", "Runs per hour, last 24 hours", &hourly, 24, 3, |bucket| {
        let start = day_since + bucket * HOUR_MS;
        BucketNames { title: time_of(start, "%Y-%m-%d %H:00 UTC"), label: time_of(start, "%H:00") }
    });
    let week_since = now - now.rem_euclid(DAY_MS) - 6 * DAY_MS;
    let daily = state.store.run_tallies(scope, week_since, DAY_MS).await?;
    let week = Chart::draw("runs-7d", "Runs per day, last 7 days", &daily, 7, 1, |bucket| {
        let start = week_since + bucket * DAY_MS;
        BucketNames { title: time_of(start, "%A %Y-%m-%d"), label: time_of(start, "%a %d") }
    });
    Ok((day, week))
}

async fn dashboard(State(state): State<AppState>, page: Page<WorkspaceRead>) -> Result<Response, UiError> {
    let scope = &page.auth.scope;
    let now = now_ms();
    let (day, week) = charts(&state, scope, now).await?;
    let month_since = month_start(now);
    let runs_this_month = state.store.run_tallies(scope, month_since, i64::MAX).await?.iter().map(|t| t.total).sum();

    let workflows = workflows_of(&state, scope).await?;
    let names = workflows.iter().map(|workflow| (workflow.id.clone(), workflow.name.clone())).collect();
    let failed = RunFilter { status: Some(RunStatus::Failed), ..RunFilter::default() };
    let failures = state.store.runs(scope, &failed, PageRequest { limit: RECENT_FAILURES, after: None }).await?;
    let failures = failures.items.iter().map(|run| RunRow::new(run, &names)).collect();
    let published: Vec<_> = workflows.iter().filter(|workflow| workflow.published_version.is_some()).collect();
    let active = published
        .iter()
        .take(LISTED_WORKFLOWS)
        .map(|workflow| ActiveWorkflow {
            id: workflow.id.to_string(),
            name: workflow.name.clone(),
            version: workflow.published_version.unwrap_or_default(),
        })
        .collect();
    let view = DashboardPage {
        section: "dashboard",
        day,
        week,
        failures,
        active,
        active_count: published.len(),
        workflow_count: workflows.len(),
        runs_this_month,
        month: time_of(month_since, "%B %Y"),
        shell: page.shell,
    };
    render(&view)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::text::utc_minute;

    #[test]
    fn bars_stack_failures_on_successes_and_scale_to_the_tallest() {
        let tallies = [
            RunTally { bucket: 0, succeeded: 2, failed: 2, total: 4 },
            RunTally { bucket: 2, succeeded: 1, failed: 0, total: 2 },
        ];
        let chart = Chart::draw("c", "C", &tallies, 3, 2, |bucket| BucketNames {
            title: format!("b{bucket}"),
            label: format!("l{bucket}"),
        });
        assert_eq!((chart.max, chart.succeeded, chart.failed, chart.total), (4, 3, 2, 6));
        let plot = PLOT_BOTTOM - PLOT_TOP;
        let first = &chart.bars[0];
        assert_eq!((first.ok_height, first.bad_height), (plot / 2, plot / 2));
        assert_eq!(first.bad_y + first.bad_height, first.ok_y, "failures sit on top of successes");
        assert_eq!(chart.bars[1].ok_height + chart.bars[1].bad_height, 0);
        assert_eq!(chart.bars[2].title, "b2: 1 succeeded, 0 failed, 1 other");
        assert_eq!(chart.bars.iter().map(|bar| bar.label.as_str()).collect::<Vec<_>>(), ["l0", "", "l2"]);
    }

    #[test]
    fn a_month_starts_on_its_first_day_at_midnight_utc() {
        // 2023-11-14 22:13:20 UTC.
        assert_eq!(utc_minute(month_start(1_700_000_000_123)), "2023-11-01 00:00 UTC");
    }
}
