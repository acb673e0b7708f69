//! Attachments as one run's nodes see them: the bytes of those they make go to the blob store
//! under the run, and those they read must belong to the run's workspace.

use weft_domain::{RunId, TenantScope};
use weft_engine::BinaryRef;
use weft_store::{ClaimedRun, Store, StoreError};

#[derive(Clone, Copy)]
pub(super) struct RunBinaries<'a> {
    store: &'a Store,
    scope: &'a TenantScope,
    run: &'a RunId,
}

impl<'a> RunBinaries<'a> {
    pub(super) fn of(store: &'a Store, claim: &'a ClaimedRun) -> Self {
        RunBinaries { store, scope: claim.scope(), run: &claim.run().id }
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
}
