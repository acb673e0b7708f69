//! Schedule triggers: registration at publish, the scheduler's firings under a clock the tests
//! move (exact times, catch-up after downtime, daylight-saving transitions), two schedulers on
//! PostgreSQL firing each firing once, and a schedule running end to end in the binary.
// Tests stand in for the credential checks: they scope themselves to the workspaces they make.
#![allow(clippy::disallowed_methods)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use weft_domain::{TenantScope, WorkflowId};
use weft_store::{NewWorkflow, Origin, PageRequest, RunFilter, Store};
use weft_testkit::{TestApp, TestBackend, TestDb, backend_test, expect_status};
use weft_worker::{Clock, Scheduler};

use crate::runs_store::tenant;

/// A clock that stands still until the test moves it.
#[derive(Debug)]
struct ManualClock(Mutex<Timestamp>);

impl ManualClock {
    fn at(instant: &str) -> Arc<ManualClock> {
        Arc::new(ManualClock(Mutex::new(instant.parse().unwrap())))
    }

    fn set(&self, instant: Timestamp) {
        *self.0.lock().unwrap() = instant;
    }

    fn advance(&self, by: SignedDuration) {
        let mut now = self.0.lock().unwrap();
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().unwrap()
    }
}

fn at(instant: &str) -> Timestamp {
    instant.parse().unwrap()
}

/// A definition whose schedule triggers (name, params) each lead to a `set` node.
fn scheduled_definition(triggers: &[(&str, Value)]) -> Value {
    let mut nodes: Vec<Value> = triggers
        .iter()
        .map(|(name, params)| json!({"name": name, "type": "schedule_trigger", "params": params}))
        .collect();
    let assignments = json!([{"name": "greeting", "value": "hello"}]);
    nodes.push(json!({"name": "Greet", "type": "set", "params": {"assignments": assignments}}));
    let connections: Vec<Value> = triggers.iter().map(|(name, _)| json!({"from": name, "to": "Greet"})).collect();
    json!({"nodes": nodes, "connections": connections})
}

/// A workflow with these schedule triggers, version 1 published.
async fn scheduled_workflow(store: &Store, scope: &TenantScope, triggers: &[(&str, Value)]) -> WorkflowId {
    let definition = scheduled_definition(triggers);
    let new = NewWorkflow { name: "Scheduled", description: "", tags: &[], definition: &definition };
    let workflow = store.create_workflow(scope, &Origin::default(), new, None).await.unwrap().0.id;
    store.publish_workflow(scope, &Origin::default(), &workflow, 1).await.unwrap();
    workflow
}

/// Saves `triggers` as the next version and publishes it.
async fn republish(store: &Store, scope: &TenantScope, workflow: &WorkflowId, triggers: &[(&str, Value)]) {
    let origin = Origin::default();
    let version = store.save_workflow_version(scope, &origin, workflow, &scheduled_definition(triggers)).await.unwrap();
    store.publish_workflow(scope, &origin, workflow, version.version).await.unwrap();
}

/// The scheduled times of the workflow's runs, by trigger node, oldest first; every run was
/// started by the schedule with the input it promises.
async fn fired(store: &Store, scope: &TenantScope, workflow: &WorkflowId) -> BTreeMap<String, Vec<Timestamp>> {
    let filter = RunFilter { workflow: Some(workflow), ..RunFilter::default() };
    let runs = store.runs(scope, &filter, PageRequest { limit: 1000, after: None }).await.unwrap();
    let mut by_node: BTreeMap<String, Vec<Timestamp>> = BTreeMap::new();
    for run in runs.items {
        assert_eq!(run.trigger, "schedule");
        let scheduled = at(run.input["scheduled_at"].as_str().expect("scheduled_at"));
        let fired_at = at(run.input["fired_at"].as_str().expect("fired_at"));
        assert!(fired_at >= scheduled, "fired at {fired_at}, before its time {scheduled}");
        assert!(run.input["timezone"].is_string());
        by_node.entry(run.trigger_node.expect("a trigger node")).or_default().push(scheduled);
    }
    by_node.values_mut().for_each(|times| times.sort());
    by_node
}

/// `count` instants from `first`, `every` apart.
fn series(first: &str, every: SignedDuration, count: i32) -> Vec<Timestamp> {
    (0..count).map(|k| at(first) + every * k).collect()
}

async fn next_fire_at(store: &Store, scope: &TenantScope, workflow: &WorkflowId) -> Vec<Option<i64>> {
    store.schedules(scope, workflow).await.unwrap().into_iter().map(|entry| entry.next_fire_at).collect()
}

/// Ticks from the clock's time until `until`, `step` apart.
async fn tick_until(scheduler: &Scheduler, clock: &ManualClock, until: &str, step: SignedDuration) {
    let until = at(until);
    while clock.now() < until {
        clock.advance(step);
        scheduler.run_once().await.unwrap();
    }
}

const MINUTE: SignedDuration = SignedDuration::from_mins(1);

backend_test! {
    async fn a_schedule_fires_at_each_firing_exactly_once_over_many_ticks(backend) {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        let tenant = tenant(&store, "ticks").await;
        let triggers = [("Cron", json!({"cron": "*/5 * * * *"})), ("Every", json!({"interval_secs": 600}))];
        let workflow = scheduled_workflow(&store, &tenant.scope, &triggers).await;
        assert_eq!(next_fire_at(&store, &tenant.scope, &workflow).await, [None, None], "not seen by a scheduler yet");

        let clock = ManualClock::at("2025-01-01T00:00:10Z");
        let scheduler = Scheduler::new(store.clone(), clock.clone());
        assert_eq!(scheduler.run_once().await.unwrap().queued, 0, "the first tick only computes the next firing");
        assert_eq!(
            next_fire_at(&store, &tenant.scope, &workflow).await,
            [Some(at("2025-01-01T00:05:00Z").as_millisecond()), Some(at("2025-01-01T00:10:10Z").as_millisecond())]
        );
        tick_until(&scheduler, &clock, "2025-01-01T02:00:10Z", SignedDuration::from_secs(20)).await;

        let fired = fired(&store, &tenant.scope, &workflow).await;
        assert_eq!(fired["Cron"], series("2025-01-01T00:05:00Z", 5 * MINUTE, 24));
        assert_eq!(fired["Every"], series("2025-01-01T00:10:10Z", 10 * MINUTE, 12));
    }
}

backend_test! {
    async fn after_three_hours_down_skip_runs_none_one_runs_one_and_all_runs_each(backend) {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        let tenant = tenant(&store, "catchup").await;
        let quarterly = |catch_up: &str| json!({"cron": "*/15 * * * *", "catch_up": catch_up});
        let triggers = [
            ("Skip", quarterly("skip")),
            ("One", quarterly("one")),
            ("All", quarterly("all")),
            ("AllMinutes", json!({"cron": "* * * * *", "catch_up": "all"})),
        ];
        let workflow = scheduled_workflow(&store, &tenant.scope, &triggers).await;
        let clock = ManualClock::at("2025-01-01T00:00:00Z");
        let scheduler = Scheduler::new(store.clone(), clock.clone());
        scheduler.run_once().await.unwrap();

        // Down from 00:00 to 03:07:30: quarter hours 00:15 to 03:00 were missed, none is on time.
        clock.set(at("2025-01-01T03:07:30Z"));
        let tick = scheduler.run_once().await.unwrap();
        assert_eq!(tick.queued, 1 + 12 + 100);

        let fired = fired(&store, &tenant.scope, &workflow).await;
        assert!(!fired.contains_key("Skip"), "skip drops missed firings: {:?}", fired.get("Skip"));
        assert_eq!(fired["One"], [at("2025-01-01T03:00:00Z")]);
        assert_eq!(fired["All"], series("2025-01-01T00:15:00Z", 15 * MINUTE, 12));
        // 187 minutes were missed; the latest 100 run.
        assert_eq!(fired["AllMinutes"], series("2025-01-01T01:28:00Z", MINUTE, 100));
        // By node name: All, AllMinutes, One, Skip.
        let next = ["2025-01-01T03:15:00Z", "2025-01-01T03:08:00Z", "2025-01-01T03:15:00Z", "2025-01-01T03:15:00Z"];
        assert_eq!(next_fire_at(&store, &tenant.scope, &workflow).await, next.map(|t| Some(at(t).as_millisecond())));

        // Back to normal: the next quarter fires under every policy (and the minutes since 03:08).
        clock.set(at("2025-01-01T03:15:02Z"));
        assert_eq!(scheduler.run_once().await.unwrap().queued, 3 + 8);
    }
}

backend_test! {
    async fn berlin_schedules_fire_once_across_both_daylight_saving_transitions(backend) {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        let tenant = tenant(&store, "dst").await;
        let berlin = |cron: &str| json!({"cron": cron, "timezone": "Europe/Berlin"});
        let triggers = [("Hourly", berlin("0 * * * *")), ("Nightly", berlin("30 2 * * *"))];
        let workflow = scheduled_workflow(&store, &tenant.scope, &triggers).await;
        // Ticks land on every firing, so each is on time (skip drops late ones).
        let step = SignedDuration::from_mins(5);

        // Spring: on 30 March 02:00 CET becomes 03:00 CEST (01:00 UTC).
        let clock = ManualClock::at("2025-03-29T21:55:00Z");
        let scheduler = Scheduler::new(store.clone(), clock.clone());
        scheduler.run_once().await.unwrap();
        tick_until(&scheduler, &clock, "2025-03-31T01:00:00Z", step).await;
        let spring = fired(&store, &tenant.scope, &workflow).await;
        // Local 00:00, 01:00, then 02:00 (missing) and 03:00 at the same instant, 04:00 … : each hour once.
        assert_eq!(spring["Hourly"], series("2025-03-29T22:00:00Z", 60 * MINUTE, 28));
        // 02:30 does not exist on the 30th: it fires at the end of the gap.
        assert_eq!(spring["Nightly"], [at("2025-03-30T01:00:00Z"), at("2025-03-31T00:30:00Z")]);

        // Autumn: on 26 October 03:00 CEST becomes 02:00 CET (01:00 UTC); 02:00-02:59 happen twice.
        let autumn_start = "2025-10-25T21:55:00Z";
        republish(&store, &tenant.scope, &workflow, &[("Hourly", berlin("0 * * * *")), ("Nightly", berlin("30 2 * * *")), ("Fresh", berlin("@hourly"))]).await;
        clock.set(at(autumn_start));
        // The unchanged schedules kept their next firing from spring; a tick catches them up
        // (skip: nothing runs) and the new one is armed.
        scheduler.run_once().await.unwrap();
        let before = fired(&store, &tenant.scope, &workflow).await;
        tick_until(&scheduler, &clock, "2025-10-27T02:00:00Z", step).await;
        let after = fired(&store, &tenant.scope, &workflow).await;
        let autumn = |node: &str| after[node][before.get(node).map_or(0, Vec::len)..].to_vec();
        // Local 00:00 CEST (22:00Z) … 02:00 CEST (00:00Z), not 02:00 CET (01:00Z), 03:00 CET (02:00Z) …
        let mut hourly = series("2025-10-25T22:00:00Z", 60 * MINUTE, 3);
        hourly.extend(series("2025-10-26T02:00:00Z", 60 * MINUTE, 25));
        assert_eq!(autumn("Hourly"), hourly);
        assert_eq!(autumn("Fresh"), hourly);
        // 02:30 fires at its first occurrence only (00:30Z), then 02:30 CET on the 27th.
        assert_eq!(autumn("Nightly"), [at("2025-10-26T00:30:00Z"), at("2025-10-27T01:30:00Z")]);
    }
}

backend_test! {
    async fn republishing_keeps_an_unchanged_schedule_and_restarts_a_changed_one(backend) {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        let tenant = tenant(&store, "republish").await;
        let daily = json!({"cron": "0 6 * * *"});
        let workflow = scheduled_workflow(&store, &tenant.scope, &[("Daily", daily.clone())]).await;
        let clock = ManualClock::at("2025-01-01T00:00:00Z");
        let scheduler = Scheduler::new(store.clone(), clock.clone());
        scheduler.run_once().await.unwrap();
        let six = Some(at("2025-01-01T06:00:00Z").as_millisecond());
        let first = store.schedules(&tenant.scope, &workflow).await.unwrap();
        assert_eq!(first[0].next_fire_at, six);

        // The same params (another trigger added): the next firing stays, the id too.
        republish(&store, &tenant.scope, &workflow, &[("Daily", daily.clone()), ("Hourly", json!({"cron": "@hourly"}))]).await;
        let kept = store.schedules(&tenant.scope, &workflow).await.unwrap();
        assert_eq!((kept[0].id.clone(), kept[0].next_fire_at), (first[0].id.clone(), six));
        assert_eq!(kept[1].node, "Hourly");

        // Changed params: computed again, from the scheduler's clock.
        republish(&store, &tenant.scope, &workflow, &[("Daily", json!({"cron": "0 7 * * *"}))]).await;
        assert_eq!(next_fire_at(&store, &tenant.scope, &workflow).await, [None], "the removed trigger is gone");
        clock.set(at("2025-01-01T07:30:00Z"));
        assert_eq!(scheduler.run_once().await.unwrap().queued, 0);
        assert_eq!(next_fire_at(&store, &tenant.scope, &workflow).await, [Some(at("2025-01-02T07:00:00Z").as_millisecond())]);
    }
}

backend_test! {
    async fn an_unpublished_or_deleted_workflow_stops_firing(backend) {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        let tenant = tenant(&store, "unpublish").await;
        let every_minute = [("Minutely", json!({"cron": "* * * * *"}))];
        let unpublished = scheduled_workflow(&store, &tenant.scope, &every_minute).await;
        let deleted = scheduled_workflow(&store, &tenant.scope, &every_minute).await;
        let kept = scheduled_workflow(&store, &tenant.scope, &every_minute).await;
        let clock = ManualClock::at("2025-01-01T00:00:30Z");
        let scheduler = Scheduler::new(store.clone(), clock.clone());
        scheduler.run_once().await.unwrap();
        tick_until(&scheduler, &clock, "2025-01-01T00:02:30Z", MINUTE).await;

        store.unpublish_workflow(&tenant.scope, &Origin::default(), &unpublished).await.unwrap();
        store.delete_workflow(&tenant.scope, &Origin::default(), &deleted).await.unwrap();
        assert!(store.schedules(&tenant.scope, &unpublished).await.unwrap().is_empty());
        tick_until(&scheduler, &clock, "2025-01-01T00:05:30Z", MINUTE).await;

        assert_eq!(fired(&store, &tenant.scope, &unpublished).await["Minutely"].len(), 2);
        assert_eq!(fired(&store, &tenant.scope, &kept).await["Minutely"].len(), 5);
    }
}

/// Two schedulers, each with its own pool as if in its own process, tick together under one
/// clock; every firing of every schedule runs once.
#[tokio::test]
async fn two_schedulers_on_postgresql_fire_every_firing_exactly_once() {
    if TestBackend::postgres_admin_url().is_none() {
        eprintln!("skipped: set WEFT_TEST_DATABASE_URL to run two schedulers on PostgreSQL");
        return;
    }
    let db = TestDb::new(TestBackend::Postgres).await;
    let store = db.store().await;
    let tenant = tenant(&store, "pair").await;
    let mut workflows = Vec::new();
    for index in 0..12 {
        let params = match index % 3 {
            0 => json!({"cron": "*/2 * * * * *"}),
            1 => json!({"cron": "*/3 * * * * *", "catch_up": "all"}),
            _ => json!({"interval_secs": 5, "catch_up": "one"}),
        };
        workflows.push(scheduled_workflow(&store, &tenant.scope, &[("Tick", params)]).await);
    }
    let clock = ManualClock::at("2025-06-01T12:00:00Z");
    let one = Scheduler::new(db.connect().await, clock.clone());
    let other = Scheduler::new(db.connect().await, clock.clone());
    let (a, b) = tokio::join!(one.run_once(), other.run_once());
    assert_eq!(a.unwrap().queued + b.unwrap().queued, 0);

    let mut queued = 0;
    for _ in 0..60 {
        clock.advance(SignedDuration::from_secs(1));
        let (a, b) = tokio::join!(one.run_once(), other.run_once());
        queued += a.unwrap().queued + b.unwrap().queued;
    }

    for (index, workflow) in workflows.iter().enumerate() {
        let times = fired(&store, &tenant.scope, workflow).await.remove("Tick").unwrap_or_default();
        let expected = match index % 3 {
            0 => series("2025-06-01T12:00:02Z", SignedDuration::from_secs(2), 30),
            1 => series("2025-06-01T12:00:03Z", SignedDuration::from_secs(3), 20),
            _ => series("2025-06-01T12:00:05Z", SignedDuration::from_secs(5), 12),
        };
        assert_eq!(times, expected, "schedule of workflow {index}: each firing once, none missed");
    }
    assert_eq!(queued, 4 * (30 + 20 + 12), "each run was queued by one scheduler");
}

backend_test! {
    async fn a_published_interval_schedule_starts_runs_that_succeed(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("owner@example.com").await;
        let owner = Some(ws.owner.access_token.as_str());
        let mut body = scheduled_definition(&[("Every second", json!({"interval_secs": 1}))]);
        body["name"] = json!("Heartbeat");
        let created: Value = expect_status(app.post(&ws.path("/workflows"), owner, &body).await, 201).await;
        let workflow = created["id"].as_str().unwrap().to_owned();
        let publish = ws.path(&format!("/workflows/{workflow}/publish"));
        expect_status::<Value>(app.post(&publish, owner, &json!({"version": 1})).await, 200).await;

        let runs = ws.path(&format!("/runs?workflow={workflow}&status=succeeded"));
        let began = Instant::now();
        let succeeded = loop {
            let page: Value = expect_status(app.get(&runs, owner).await, 200).await;
            let items = page["items"].as_array().unwrap().clone();
            if items.len() >= 2 {
                break items;
            }
            assert!(began.elapsed() < Duration::from_secs(15), "two scheduled runs did not succeed: {page}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        for run in &succeeded {
            assert_eq!(run["trigger"], "schedule", "{run}");
            assert!(run["input"]["scheduled_at"].is_string(), "{run}");
        }

        let schedules: Value =
            expect_status(app.get(&ws.path(&format!("/workflows/{workflow}/schedules")), owner).await, 200).await;
        let schedule = &schedules["items"][0];
        assert_eq!(
            (&schedule["node"], &schedule["interval_secs"], &schedule["timezone"], &schedule["catch_up"]),
            (&json!("Every second"), &json!(1), &json!("UTC"), &json!("skip")),
            "{schedules}"
        );
        assert!(schedule["next_fire_at"].as_str().is_some_and(|next| next.parse::<Timestamp>().is_ok()), "{schedules}");
    }
}
