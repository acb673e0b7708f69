//! The scheduler: fires the published versions' schedule triggers. Every tick (at most a second
//! apart, sooner when a schedule is due sooner) it takes the due schedules and fires each in one
//! transaction ([`Store::fire_schedule`]), so any number of schedulers, in any number of
//! processes, fire each firing exactly once. Time comes from a [`Clock`], so tests can move it.
//!
//! Catch-up: a firing no older than [`GRACE`] is on time and runs under every policy. Older
//! ones were missed (no scheduler ran): `skip` drops them, `one` runs the latest of them when
//! nothing is on time, `all` runs them, the latest [`CATCH_UP_LIMIT`] at most, oldest first.

use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde_json::json;
use tokio_util::sync::CancellationToken;
use weft_domain::ScheduleError;
use weft_engine::trigger_params::{CatchUp, ScheduleTriggerParams};
use weft_store::{DueSchedule, FiringPlan, PlannedFiring, Store};

/// The longest pause between ticks: new and changed schedules wait at most this long.
pub const TICK: Duration = Duration::from_secs(1);
/// How late a firing may be and still count as on time.
pub const GRACE: SignedDuration = SignedDuration::from_secs(60);
/// The most missed firings a catch-up runs (`catch_up: all`).
pub const CATCH_UP_LIMIT: usize = 100;
/// Due schedules taken per read; a full read is followed at once by the next.
const BATCH: u32 = 256;

/// Where the scheduler reads the time.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;
}

/// The system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// Why a schedule's firings could not be planned (its published params do not make a schedule).
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("the params do not have a schedule trigger's shape: {0}")]
    Params(#[from] serde_json::Error),
    #[error(transparent)]
    Schedule(#[from] ScheduleError),
}

pub struct Scheduler {
    store: Store,
    clock: Arc<dyn Clock>,
}

/// What one tick did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tick {
    /// Runs queued.
    pub queued: usize,
    /// Whether there may be more due schedules than one tick took.
    pub more: bool,
}

impl Scheduler {
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Scheduler {
        Scheduler { store, clock }
    }

    /// Ticks until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        loop {
            let pause = match self.run_once().await {
                Ok(tick) if tick.more => Duration::ZERO,
                Ok(_) => self.pause().await,
                Err(error) => {
                    tracing::warn!(error = %error, "reading due schedules failed");
                    TICK
                }
            };
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(pause) => {}
            }
        }
    }

    /// Fires every schedule due now (up to a batch). A schedule that fails is logged and left
    /// for the next tick; the others fire regardless.
    pub async fn run_once(&self) -> Result<Tick, weft_store::StoreError> {
        let now = self.clock.now();
        let due = self.store.due_schedules(now.as_millisecond(), BATCH).await?;
        let mut tick = Tick { queued: 0, more: due.len() == BATCH as usize };
        for due in &due {
            let schedule = &due.schedule;
            let fired = match plan(due, now) {
                Ok(plan) => self.store.fire_schedule(due, &plan).await.map_err(|error| error.to_string()),
                Err(error) => Err(error.to_string()),
            };
            match fired {
                Ok(runs) => tick.queued += runs.len(),
                Err(error) => tracing::warn!(schedule = %schedule.id, workflow = %schedule.workflow,
                    node = %schedule.node, error, "firing a schedule failed"),
            }
        }
        Ok(tick)
    }

    /// Until the earliest next firing, at most a [`TICK`].
    async fn pause(&self) -> Duration {
        let now = self.clock.now().as_millisecond();
        match self.store.earliest_fire_at(now).await {
            Ok(Some(earliest)) => Duration::from_millis(earliest.saturating_sub(now).max(0) as u64).min(TICK),
            Ok(None) => TICK,
            Err(error) => {
                tracing::warn!(error = %error, "reading the next firing failed");
                TICK
            }
        }
    }
}

/// The firings of a due schedule at `now` by its catch-up policy, and its next firing. A
/// schedule no scheduler has seen fires nothing yet: its first firing is the next after `now`.
pub fn plan(due: &DueSchedule, now: Timestamp) -> Result<FiringPlan, PlanError> {
    let params: ScheduleTriggerParams = serde_json::from_value(due.schedule.params.clone())?;
    let schedule = params.schedule()?;
    let Some(first) = due.schedule.next_fire_at else {
        let next_fire_at = schedule.next_after(now).map(Timestamp::as_millisecond);
        return Ok(FiringPlan { firings: Vec::new(), next_fire_at });
    };
    let first = Timestamp::from_millisecond(first).unwrap_or(now);
    let found = schedule.due(first, now, CATCH_UP_LIMIT);
    let on_time: Vec<Timestamp> = found.firings.iter().copied().filter(|at| now.duration_since(*at) <= GRACE).collect();
    let chosen = match params.catch_up {
        CatchUp::Skip => on_time,
        CatchUp::One if on_time.is_empty() => found.firings.last().copied().into_iter().collect(),
        CatchUp::One => on_time,
        CatchUp::All => found.firings,
    };
    let firings = chosen
        .into_iter()
        .map(|at| PlannedFiring {
            fire_at: at.as_millisecond(),
            input: json!({"scheduled_at": at.to_string(), "fired_at": now.to_string(), "timezone": params.timezone}),
        })
        .collect();
    Ok(FiringPlan { firings, next_fire_at: found.next.map(Timestamp::as_millisecond) })
}
