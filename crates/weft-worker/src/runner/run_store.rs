//! The store as one run's nodes use it: attachments (the bytes of those they make go to the
//! blob store under the run, and those they read must belong to the run's workspace), and the
//! dedupe histories of the run's workflow.

use weft_domain::{RunId, TenantScope, WorkflowId};
use weft_engine::BinaryRef;
use weft_store::{ClaimedRun, DedupeHistory, Store, StoreError};

#[derive(Clone, Copy)]
pub(super) struct RunStore<'a> {
    store: &'a Store,
    scope: &'a TenantScope,
    run: &'a RunId,
    workflow: &'a WorkflowId,
}

impl<'a> RunStore<'a> {
    pub(super) fn of(store: &'a Store, claim: &'a ClaimedRun) -> Self {
        RunStore { store, scope: claim.scope(), run: &claim.run().id, workflow: &claim.run().workflow }
    }

    /// Stores `bytes` and returns their key. The cause of a failure is logged; the message is
    /// for the workflow's author.
    pub(super) async fn put(&self, bytes: Vec<u8>) -> Result<String, String> {
        match self.store.put_binary(self.scope, self.run, bytes).await {
            Ok(key) => Ok(key.as_str().to_owned()),
            Err(error) => {
                tracing::error!(run = %self.run, error = %error, "storing an attachment failed");
                Err("storing the file failed".to_owned())
            }
        }
    }

    /// The bytes of attachment `name`, which `reference` describes.
    pub(super) async fn read(&self, name: &str, reference: &BinaryRef) -> Result<Vec<u8>, String> {
        match self.store.binary(self.scope, &reference.key).await {
            Ok(bytes) => Ok(bytes),
            Err(StoreError::NotFound) => {
                Err(format!("the attachment `{name}` no longer exists (or is not this workspace's)"))
            }
            Err(error) => {
                tracing::error!(run = %self.run, error = %error, "reading an attachment failed");
                Err(format!("reading the attachment `{name}` failed"))
            }
        }
    }

    /// Records `digests` in the dedupe history `name` (a node's, or `""` for the workflow's)
    /// for the activation `by` and says which are new to it; see [`Store::let_through_new`].
    pub(super) async fn let_through_new(
        &self,
        name: &str,
        keep: u64,
        by: &str,
        digests: &[String],
    ) -> Result<Vec<bool>, String> {
        let history = DedupeHistory { workflow: self.workflow, name, by, keep };
        self.store.let_through_new(self.scope, history, digests).await.map_err(|error| {
            tracing::error!(run = %self.run, error = %error, "reading the dedupe history failed");
            "reading the history of earlier runs failed".to_owned()
        })
    }
}
