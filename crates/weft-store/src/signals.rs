//! Wake-ups about the run queue, rung by the store itself whenever it changes the queue, so that
//! no caller can forget one: "runs were queued" (after [`Store::enqueue_run`],
//! [`Store::retry_run`], and [`Store::wake_due`] / [`Store::requeue_expired`] when they changed
//! rows), "cancel requested for run X" (after [`Store::request_cancel`] of a running run), and
//! "run X settled" (a checkpoint ended it or recorded its webhook answer), which a webhook
//! request waiting for its run's answer awaits.
//!
//! Every signal reaches this process at once. On PostgreSQL it also goes out as `NOTIFY` on
//! [`RUNS_CHANNEL`], [`CANCEL_CHANNEL`] or [`SETTLED_CHANNEL`] (payload: the run id), and
//! [`Store::listen`] forwards what other processes sent into this one. A signal can be lost (a
//! listener reconnecting, a slow receiver), so workers keep a slow poll and the heartbeat as
//! fallbacks, and a webhook request answers 202 when its wait runs out.

use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use sqlx::postgres::{PgListener, PgNotification};
use tokio::sync::{broadcast, oneshot, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use weft_domain::RunId;

use crate::connect::redact_url;
use crate::{Backend, Store};

/// The `NOTIFY` channel of "runs were queued"; the payload is empty.
pub const RUNS_CHANNEL: &str = "weft_runs";
/// The `NOTIFY` channel of "cancel requested"; the payload is the run id.
pub const CANCEL_CHANNEL: &str = "weft_cancel";
/// The `NOTIFY` channel of "run settled" for runs started by a webhook; the payload is the run id.
pub const SETTLED_CHANNEL: &str = "weft_settled";

/// Cancel requests a slow receiver may fall behind by before it misses some (it then relies on
/// its heartbeat).
const CANCEL_BACKLOG: usize = 1024;

/// This process's end of the signals. Cheap to clone; every clone rings the same receivers.
#[derive(Debug, Clone)]
pub struct Signals {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Counts rings; a receiver wakes once for any number of rings since it last looked.
    queued: watch::Sender<u64>,
    cancels: broadcast::Sender<RunId>,
    /// Who waits for which run to settle; a ring takes the run's entry.
    settled: Mutex<HashMap<RunId, Vec<oneshot::Sender<()>>>>,
}

impl Default for Signals {
    fn default() -> Self {
        let (queued, _) = watch::channel(0);
        let (cancels, _) = broadcast::channel(CANCEL_BACKLOG);
        Signals { inner: Arc::new(Inner { queued, cancels, settled: Mutex::default() }) }
    }
}

/// Waits for one run to settle. Subscribe before looking at the run, then look, then wait: a
/// settling in between is not missed. Dropping it unsubscribes.
#[derive(Debug)]
pub struct SettledSignal {
    signals: Signals,
    run: RunId,
    receiver: oneshot::Receiver<()>,
}

impl SettledSignal {
    /// Returns once the run settled (or at once, if it already did since subscribing).
    pub async fn rung(&mut self) {
        if (&mut self.receiver).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

impl Drop for SettledSignal {
    fn drop(&mut self) {
        self.receiver.close();
        let mut waiting = self.signals.inner.settled.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(senders) = waiting.get_mut(&self.run) {
            senders.retain(|sender| !sender.is_closed());
            if senders.is_empty() {
                waiting.remove(&self.run);
            }
        }
    }
}

/// Waits for "runs were queued". Rings that arrive while nobody waits are kept (as one), so a
/// worker busy claiming does not miss the next.
#[derive(Debug)]
pub struct QueuedSignal(watch::Receiver<u64>);

impl QueuedSignal {
    /// Returns once runs were queued since the last return (or since subscribing).
    pub async fn rung(&mut self) {
        if self.0.changed().await.is_err() {
            // The store is gone, and with it every ringer: nothing will ever be queued here.
            std::future::pending::<()>().await;
        }
    }
}

impl Signals {
    /// "Runs were queued", from now on.
    pub fn queued(&self) -> QueuedSignal {
        QueuedSignal(self.inner.queued.subscribe())
    }

    /// The ids of running runs whose cancel was requested, from now on.
    pub fn cancels(&self) -> broadcast::Receiver<RunId> {
        self.inner.cancels.subscribe()
    }

    /// "Run `run` settled", from now on.
    pub fn settled(&self, run: &RunId) -> SettledSignal {
        let (sender, receiver) = oneshot::channel();
        let mut waiting = self.inner.settled.lock().unwrap_or_else(PoisonError::into_inner);
        waiting.entry(run.clone()).or_default().push(sender);
        SettledSignal { signals: self.clone(), run: run.clone(), receiver }
    }

    fn ring_settled(&self, run: &RunId) {
        let senders = self.inner.settled.lock().unwrap_or_else(PoisonError::into_inner).remove(run);
        for sender in senders.into_iter().flatten() {
            let _ = sender.send(());
        }
    }

    /// Rings "runs were queued" in this process only; the coalescer's `NOTIFY` tells the others.
    pub(crate) fn ring_queued_here(&self) {
        self.inner.queued.send_modify(|rings| *rings = rings.wrapping_add(1));
    }

    fn ring_cancel(&self, run: RunId) {
        // No receiver means no worker in this process; that is not an error.
        let _ = self.inner.cancels.send(run);
    }
}

impl Store {
    /// This process's signals: what workers wait on.
    pub fn signals(&self) -> &Signals {
        &self.signals
    }

    /// Rings "runs were queued" here and, on PostgreSQL, in every listening process.
    pub(crate) async fn ring_queued(&self) {
        self.signals.ring_queued_here();
        self.notify(RUNS_CHANNEL, "").await;
    }

    /// [`Store::ring_queued`] after a change that queued `queued` runs (say, through an event
    /// trigger); nothing when it queued none.
    pub(crate) async fn ring_queued_if(&self, queued: usize) {
        if queued > 0 {
            self.ring_queued().await;
        }
    }

    /// Rings "cancel requested" for a running run here and, on PostgreSQL, in every listening
    /// process.
    pub(crate) async fn ring_cancel(&self, run: &RunId) {
        self.signals.ring_cancel(run.clone());
        self.notify(CANCEL_CHANNEL, run.as_str()).await;
    }

    /// Rings "run settled" here and, for a run started by a webhook (whose request may wait in
    /// another process), on PostgreSQL in every listening process.
    pub(crate) async fn ring_settled(&self, run: &RunId, by_webhook: bool) {
        self.signals.ring_settled(run);
        if by_webhook {
            self.notify(SETTLED_CHANNEL, run.as_str()).await;
        }
    }

    /// Sends a `NOTIFY` on PostgreSQL. The change it announces is already committed, so a
    /// failure is only logged: the receivers' fallbacks find the change a little later.
    async fn notify(&self, channel: &str, payload: &str) {
        if self.backend() != Backend::Postgres {
            return;
        }
        let sent = sqlx::query("SELECT pg_notify($1, $2)").bind(channel).bind(payload).execute(&self.pool).await;
        if let Err(error) = sent {
            tracing::warn!(channel, error = %error, "sending a run signal to other processes failed");
        }
    }

    /// On PostgreSQL, starts forwarding the signals other processes send into this process's
    /// [`Store::signals`] until `shutdown`; on SQLite, whose signals never leave the process,
    /// starts nothing. A lost connection is logged and made again with a growing pause.
    pub fn listen(&self, shutdown: CancellationToken) -> Option<JoinHandle<()>> {
        let url = self.listen_url.clone()?;
        let signals = self.signals.clone();
        Some(tokio::spawn(async move {
            let mut pause = RECONNECT_MIN;
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    ended = forward(&url.0, &signals, &mut pause) => {
                        let Err(error) = ended;
                        tracing::warn!(error = %error, retry_in_ms = pause.as_millis() as u64,
                            "listening for run signals failed; reconnecting");
                    }
                }
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(pause) => {}
                }
                pause = (pause * 2).min(RECONNECT_MAX);
            }
        }))
    }
}

/// The database URL to listen on, password and all: it never prints.
#[derive(Clone)]
pub(crate) struct ListenUrl(pub(crate) Arc<str>);

impl fmt::Debug for ListenUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact_url(&self.0))
    }
}

const RECONNECT_MIN: Duration = Duration::from_millis(250);
const RECONNECT_MAX: Duration = Duration::from_secs(10);

/// Listens on one connection and forwards every notification until the connection fails.
async fn forward(url: &str, signals: &Signals, pause: &mut Duration) -> Result<Infallible, sqlx::Error> {
    let mut listener = PgListener::connect(url).await?;
    listener.listen_all([RUNS_CHANNEL, CANCEL_CHANNEL, SETTLED_CHANNEL]).await?;
    *pause = RECONNECT_MIN;
    tracing::debug!("listening for run signals");
    // Whatever was sent while nobody listened is unknown: look for queued runs once.
    signals.ring_queued_here();
    loop {
        match listener.try_recv().await? {
            Some(notification) => deliver(signals, &notification),
            // The connection dropped and was made again; notifications in between are lost.
            None => signals.ring_queued_here(),
        }
    }
}

fn deliver(signals: &Signals, notification: &PgNotification) {
    match notification.channel() {
        RUNS_CHANNEL => signals.ring_queued_here(),
        channel @ (CANCEL_CHANNEL | SETTLED_CHANNEL) => match notification.payload().parse::<RunId>() {
            Ok(run) if channel == CANCEL_CHANNEL => signals.ring_cancel(run),
            Ok(run) => signals.ring_settled(&run),
            Err(error) => {
                tracing::warn!(channel, payload = notification.payload(), error = %error, "ignoring a bad run signal")
            }
        },
        _ => {}
    }
}
