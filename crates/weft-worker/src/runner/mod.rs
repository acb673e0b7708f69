//! The run worker: claims queued runs with a lease, executes them (see [`execute`]) with bounded
//! concurrency, renews each lease while its run executes, and periodically requeues runs whose
//! lease expired (their worker died) and wakes waiting runs that are due.

mod definitions;
mod execute;
mod http_node;
mod linked;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use weft_store::{ClaimRequest, Store, now_ms};

use crate::outbound::OutboundClient;
use definitions::Definitions;

/// How a worker claims and holds runs.
#[derive(Debug, Clone)]
pub struct RunnerSettings {
    /// Names this worker in leases; unique per process.
    pub worker: String,
    /// Runs executing at once.
    pub concurrency: usize,
    /// A run's lease lasts this long unless renewed; a dead worker's runs return after it.
    pub lease: Duration,
    /// Runs of one workspace executing at once, so one busy workspace cannot take every slot.
    pub per_workspace_cap: u32,
    /// How often to look for work when nobody rang.
    pub poll: Duration,
}

pub struct Runner {
    store: Store,
    /// Every request a node sends to a user-supplied URL goes through it.
    outbound: OutboundClient,
    settings: RunnerSettings,
    /// Rung when a run is queued in this process.
    queued: Arc<Notify>,
    definitions: Definitions,
}

impl Runner {
    pub fn new(store: Store, outbound: OutboundClient, settings: RunnerSettings, queued: Arc<Notify>) -> Self {
        Runner { store, outbound, settings, queued, definitions: Definitions::default() }
    }

    fn lease_ms(&self) -> i64 {
        i64::try_from(self.settings.lease.as_millis()).unwrap_or(i64::MAX)
    }

    /// Claims and executes runs until `shutdown`, then waits for the runs it holds to reach a
    /// checkpoint (the caller bounds that wait).
    pub async fn run(self, shutdown: CancellationToken) {
        let slots = Arc::new(Semaphore::new(self.settings.concurrency));
        let mut executing = JoinSet::new();
        // Often enough that a due wait resumes within a poll, and an expired lease within half of one.
        let mut maintenance = tokio::time::interval(self.settings.poll.min(self.settings.lease / 2));
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = self.queued.notified() => {}
                () = tokio::time::sleep(self.settings.poll) => {}
                _ = maintenance.tick() => self.maintain().await,
                Some(_) = executing.join_next(), if !executing.is_empty() => {}
            }
            // Claim as long as there are free slots and queued runs.
            loop {
                let free = slots.available_permits();
                if free == 0 {
                    break;
                }
                let claimed = match self.claim(free).await {
                    Ok(claimed) => claimed,
                    Err(error) => {
                        tracing::error!(error = %error, "claiming runs failed");
                        break;
                    }
                };
                let count = claimed.len();
                for claim in claimed {
                    let Ok(permit) = Arc::clone(&slots).acquire_owned().await else { return };
                    let (store, outbound, lease) = (self.store.clone(), self.outbound.clone(), self.settings.lease);
                    let definitions = self.definitions.clone();
                    executing.spawn(async move {
                        execute::execute_run(&store, &outbound, &definitions, claim, lease).await;
                        drop(permit);
                    });
                }
                if count < free {
                    break;
                }
            }
        }
        while executing.join_next().await.is_some() {}
    }

    /// Claims and executes queued runs until none is left; for tests and one-shot use.
    pub async fn run_until_idle(&self) -> usize {
        let mut executed = 0;
        loop {
            self.maintain().await;
            let claimed = match self.claim(self.settings.concurrency).await {
                Ok(claimed) if !claimed.is_empty() => claimed,
                _ => return executed,
            };
            executed += claimed.len();
            let mut batch = JoinSet::new();
            for claim in claimed {
                let (store, outbound, lease) = (self.store.clone(), self.outbound.clone(), self.settings.lease);
                let definitions = self.definitions.clone();
                batch.spawn(async move { execute::execute_run(&store, &outbound, &definitions, claim, lease).await });
            }
            while batch.join_next().await.is_some() {}
        }
    }

    async fn claim(&self, limit: usize) -> weft_store::Result<Vec<weft_store::ClaimedRun>> {
        self.store
            .claim_runs(ClaimRequest {
                worker: &self.settings.worker,
                limit: u32::try_from(limit).unwrap_or(u32::MAX),
                lease_ms: self.lease_ms(),
                per_workspace_cap: self.settings.per_workspace_cap,
            })
            .await
    }

    /// Requeues runs whose worker stopped renewing, and queues waiting runs that are due.
    async fn maintain(&self) {
        let now = now_ms();
        match self.store.requeue_expired(now).await {
            Ok(0) => {}
            Ok(count) => tracing::warn!(count, "requeued runs whose worker stopped renewing its lease"),
            Err(error) => tracing::error!(error = %error, "requeueing expired runs failed"),
        }
        if let Err(error) = self.store.wake_due(now).await {
            tracing::error!(error = %error, "waking due runs failed");
        }
    }
}
