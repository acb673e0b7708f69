//! The run worker: claims queued runs with a lease, executes them (see [`execute`]) with bounded
//! concurrency, renews each lease while its run executes, and periodically requeues runs whose
//! lease expired (their worker died) and wakes waiting runs that are due. The store's signals
//! wake it when runs are queued and stop a run it executes when its cancel is requested.

mod dedupe_node;
mod definitions;
mod email_node;
mod execute;
mod http_node;
mod linked;
mod respond;
mod run_store;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tokio_util::task::AbortOnDropHandle;
use weft_domain::RunId;
use weft_store::{ClaimRequest, ClaimedRun, Store, now_ms};

use crate::Mailer;
use crate::outbound::OutboundClient;
use definitions::Definitions;
use execute::Limits;

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
    /// How often to look for work when no signal rang: the fallback for a lost wake-up (and
    /// for a workspace cap freed by another process's worker, which rings nothing).
    pub poll: Duration,
    /// A node emitting more items than this on one output fails.
    pub max_items_per_output: usize,
}

/// How often expired leases are requeued and due waits woken, at most: how late a due wait
/// resumes.
const MAINTENANCE: Duration = Duration::from_secs(1);

/// What the worker's own nodes act on the world with.
#[derive(Clone)]
pub(super) struct Effects {
    /// Every request a node sends to a user-supplied URL goes through it.
    pub outbound: OutboundClient,
    /// The instance's mailer, which `send_email` sends through.
    pub mailer: Arc<Mailer>,
}

pub struct Runner {
    store: Store,
    effects: Effects,
    settings: RunnerSettings,
    executing: Executing,
    /// Parsed workflow versions, shared by the runs it executes.
    definitions: Definitions,
}

/// The runs this worker executes, each with the token that stops it, fed by the store's cancel
/// signal.
#[derive(Clone, Default)]
struct Executing(Arc<Mutex<HashMap<RunId, CancellationToken>>>);

impl Executing {
    fn runs(&self) -> std::sync::MutexGuard<'_, HashMap<RunId, CancellationToken>> {
        // A map of tokens stays consistent even if a holder panicked.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Executes the claimed run with a token the cancel signal can reach while it runs. A
    /// cancel signalled between the claim and this registration is seen by the heartbeat.
    async fn execute(
        self,
        store: Store,
        effects: Effects,
        definitions: Definitions,
        claim: ClaimedRun,
        limits: Limits,
    ) {
        let token = CancellationToken::new();
        let registered = Registered { executing: self, run: claim.run().id.clone() };
        registered.executing.runs().insert(registered.run.clone(), token.clone());
        execute::execute_run(&store, &effects, &definitions, claim, limits, token).await;
    }

    fn cancel(&self, run: &RunId) {
        if let Some(token) = self.runs().get(run) {
            token.cancel();
        }
    }

    /// Cancels the runs named by the store's cancel signal, until dropped.
    fn follow_cancels(&self, store: &Store) -> AbortOnDropHandle<()> {
        let mut cancels = store.signals().cancels();
        let executing = self.clone();
        AbortOnDropHandle::new(tokio::spawn(async move {
            loop {
                match cancels.recv().await {
                    Ok(run) => executing.cancel(&run),
                    Err(RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "missed cancel signals; those runs stop at their next heartbeat")
                    }
                    Err(RecvError::Closed) => return,
                }
            }
        }))
    }
}

/// A run's entry in [`Executing`], removed when its execution ends, even by a panic.
struct Registered {
    executing: Executing,
    run: RunId,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.executing.runs().remove(&self.run);
    }
}

impl Runner {
    pub fn new(store: Store, outbound: OutboundClient, mailer: Arc<Mailer>, settings: RunnerSettings) -> Self {
        let effects = Effects { outbound, mailer };
        Runner { store, effects, settings, executing: Executing::default(), definitions: Definitions::default() }
    }

    fn limits(&self) -> Limits {
        Limits { lease: self.settings.lease, max_items_per_output: self.settings.max_items_per_output }
    }

    fn lease_ms(&self) -> i64 {
        i64::try_from(self.settings.lease.as_millis()).unwrap_or(i64::MAX)
    }

    /// Claims and executes runs until `shutdown`, then waits for the runs it holds to reach a
    /// checkpoint (the caller bounds that wait). It claims at start, when the store signals
    /// queued runs, when a slot frees up, and every `poll` in case a signal was lost.
    pub async fn run(self, shutdown: CancellationToken) {
        let slots = Arc::new(Semaphore::new(self.settings.concurrency));
        let mut executing = JoinSet::new();
        let mut queued = self.store.signals().queued();
        let _cancels = self.executing.follow_cancels(&self.store);
        let mut poll = tokio::time::interval(self.settings.poll);
        let mut maintenance = tokio::time::interval(MAINTENANCE.min(self.settings.lease / 2));
        for timer in [&mut poll, &mut maintenance] {
            timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        }
        loop {
            let look = tokio::select! {
                () = shutdown.cancelled() => break,
                () = queued.rung() => true,
                _ = poll.tick() => true,
                // Runs it requeues or wakes ring the queued signal.
                _ = maintenance.tick() => {
                    self.maintain().await;
                    false
                }
                Some(_) = executing.join_next(), if !executing.is_empty() => true,
            };
            // Finished runs are let go of at once: a finished task keeps its memory until joined,
            // and the branch above joins only one per turn.
            while executing.try_join_next().is_some() {}
            if look {
                self.fill(&slots, &mut executing).await;
            }
        }
        while executing.join_next().await.is_some() {}
    }

    /// Claims runs into the free slots until they are full or nothing is queued.
    async fn fill(&self, slots: &Arc<Semaphore>, executing: &mut JoinSet<()>) {
        loop {
            let free = slots.available_permits();
            if free == 0 {
                return;
            }
            let claimed = match self.claim(free).await {
                Ok(claimed) => claimed,
                Err(error) => {
                    tracing::error!(error = %error, "claiming runs failed");
                    return;
                }
            };
            let count = claimed.len();
            for claim in claimed {
                let Ok(permit) = Arc::clone(slots).acquire_owned().await else { return };
                let (store, effects) = (self.store.clone(), self.effects.clone());
                let run =
                    self.executing.clone().execute(store, effects, self.definitions.clone(), claim, self.limits());
                executing.spawn(async move {
                    run.await;
                    drop(permit);
                });
            }
            if count < free {
                return;
            }
        }
    }

    /// Claims and executes queued runs until none is left; for tests and one-shot use.
    pub async fn run_until_idle(&self) -> usize {
        let _cancels = self.executing.follow_cancels(&self.store);
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
                let (store, effects) = (self.store.clone(), self.effects.clone());
                batch.spawn(self.executing.clone().execute(
                    store,
                    effects,
                    self.definitions.clone(),
                    claim,
                    self.limits(),
                ));
            }
            while batch.join_next().await.is_some() {}
        }
    }

    async fn claim(&self, limit: usize) -> weft_store::Result<Vec<ClaimedRun>> {
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
