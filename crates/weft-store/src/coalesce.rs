//! The commit coalescer: concurrent small writes on the hot path (a run queued, a worker's
//! checkpoint) are grouped into one transaction, so a burst of them costs one commit instead of
//! one each. This is what lets throughput pass the per-commit cost of the database (SQLite's
//! single writer in particular, which otherwise makes concurrent writers take turns through its
//! busy handler).
//!
//! A caller hands its write to a writer task and awaits the reply. A writer takes whatever is
//! waiting (up to [`MAX_BATCH`]), applies it in one transaction and commits. Nothing waits to fill
//! a batch: a lone write is committed at once, and batches form on their own while the previous
//! commit is in progress. When a write in a batch fails, the batch is rolled back and each of its
//! writes is applied again in a transaction of its own, so one failing write (a lost lease, a
//! duplicate step) never fails the others.
//!
//! SQLite has one writer task, since it has one writer anyway; PostgreSQL has [`PG_WRITERS`],
//! whose batches run concurrently. Within a batch the writes are applied in the order of their
//! run ids, so two concurrent batches lock rows in the same order and cannot deadlock.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use sqlx::{AnyConnection, AnyPool};
use tokio::sync::{Mutex, mpsc, oneshot};

use crate::signals::RUNS_CHANNEL;
use crate::{Backend, Result, StoreError};

/// The most writes one transaction takes.
const MAX_BATCH: usize = 256;
/// Concurrent batches on PostgreSQL.
const PG_WRITERS: usize = 4;

/// A write: a function of the data it carries, so it can be applied again after a rollback.
pub(crate) type WriteFn<D, T> = for<'c> fn(&'c mut AnyConnection, &'c D) -> BoxFuture<'c, Result<T>>;

/// A write waiting for its batch, with where its result goes.
trait Pending: Send {
    /// The run the write touches; batches apply writes in this order.
    fn order(&self) -> &str;
    /// Whether committing it may let a worker claim a run (one queued, or a slot freed).
    fn frees_work(&self) -> bool;
    fn apply<'c>(&'c mut self, conn: &'c mut AnyConnection) -> BoxFuture<'c, Result<()>>;
    /// Sends the result: the value `apply` produced if the transaction committed, else `error`.
    fn settle(self: Box<Self>, outcome: Result<()>);
}

struct Write<D, T> {
    order: String,
    frees_work: bool,
    data: D,
    write: WriteFn<D, T>,
    done: Option<T>,
    reply: oneshot::Sender<Result<T>>,
}

impl<D: Send + Sync, T: Send> Pending for Write<D, T> {
    fn order(&self) -> &str {
        &self.order
    }

    fn frees_work(&self) -> bool {
        self.frees_work
    }

    fn apply<'c>(&'c mut self, conn: &'c mut AnyConnection) -> BoxFuture<'c, Result<()>> {
        Box::pin(async move {
            self.done = Some((self.write)(conn, &self.data).await?);
            Ok(())
        })
    }

    fn settle(self: Box<Self>, outcome: Result<()>) {
        let Write { done, reply, .. } = *self;
        let result = outcome.and_then(|()| done.ok_or(StoreError::Invariant("a committed write left no result")));
        // The caller may have gone away (its request was cancelled); the write stands.
        let _ = reply.send(result);
    }
}

type Queue = mpsc::UnboundedSender<Box<dyn Pending>>;

/// The handle the store writes through. Cheap to clone; the writer tasks end when the last
/// handle is dropped.
#[derive(Debug, Clone)]
pub(crate) struct Coalescer {
    queue: Queue,
}

impl Coalescer {
    /// Starts the writer tasks on the current Tokio runtime.
    pub(crate) fn start(pool: AnyPool, backend: Backend) -> Coalescer {
        let (queue, receiver) = mpsc::unbounded_channel();
        let receiver = Arc::new(Mutex::new(receiver));
        let writers = match backend {
            Backend::Sqlite => 1,
            Backend::Postgres => PG_WRITERS,
        };
        for _ in 0..writers {
            tokio::spawn(write_batches(pool.clone(), backend, Arc::clone(&receiver)));
        }
        Coalescer { queue }
    }

    /// Applies `write` to `data` in the next batch and returns its result once committed.
    /// `order` names the run the write touches; `frees_work` says whether it may let a worker
    /// claim a run, so other processes hear of it (PostgreSQL `NOTIFY` on commit).
    pub(crate) async fn write<D, T>(&self, order: String, frees_work: bool, data: D, write: WriteFn<D, T>) -> Result<T>
    where
        D: Send + Sync + 'static,
        T: Send + 'static,
    {
        let (reply, result) = oneshot::channel();
        let pending = Box::new(Write { order, frees_work, data, write, done: None, reply });
        self.queue.send(pending).map_err(|_| StoreError::Invariant("the store's writer has stopped"))?;
        result.await.map_err(|_| StoreError::Invariant("the store's writer stopped before committing"))?
    }
}

async fn write_batches(
    pool: AnyPool,
    backend: Backend,
    receiver: Arc<Mutex<mpsc::UnboundedReceiver<Box<dyn Pending>>>>,
) {
    loop {
        let mut batch = Vec::new();
        {
            let mut receiver = receiver.lock().await;
            let Some(first) = receiver.recv().await else { return };
            batch.push(first);
            while batch.len() < MAX_BATCH
                && let Ok(next) = receiver.try_recv()
            {
                batch.push(next);
            }
        }
        batch.sort_by(|a, b| a.order().cmp(b.order()));
        match apply_together(&pool, backend, &mut batch).await {
            Ok(()) => batch.into_iter().for_each(|write| write.settle(Ok(()))),
            Err(error) if batch.len() == 1 => {
                if let Some(write) = batch.pop() {
                    write.settle(Err(error));
                }
            }
            Err(_) => {
                for mut write in batch {
                    let outcome = apply_together(&pool, backend, std::slice::from_mut(&mut write)).await;
                    write.settle(outcome);
                }
            }
        }
    }
}

/// Applies the writes in one transaction; the first failure rolls them all back. On
/// PostgreSQL one `NOTIFY` in the transaction tells the other processes' workers, once for the
/// whole batch and only if it commits.
async fn apply_together(pool: &AnyPool, backend: Backend, batch: &mut [Box<dyn Pending>]) -> Result<()> {
    let mut tx = pool.begin().await?;
    for write in batch.iter_mut() {
        write.apply(&mut tx).await?;
    }
    if backend == Backend::Postgres && batch.iter().any(|write| write.frees_work()) {
        sqlx::query("SELECT pg_notify($1, '')").bind(RUNS_CHANNEL).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}
