//! Items' binary attachments (a downloaded file, an upload's bytes): the bytes live in the blob
//! store under the run that made them, so they go when the run is deleted, and an item carries
//! only the key. A key comes back from items that workflows can shape, so reading one checks
//! that it belongs to the caller's workspace.

use weft_domain::{RunId, TenantScope};

use crate::blobs::{BlobError, BlobKey};
use crate::{Result, Store, StoreError};

impl Store {
    /// Stores an attachment of run `run` and returns its new key.
    pub async fn put_binary(&self, scope: &TenantScope, run: &RunId, bytes: Vec<u8>) -> Result<BlobKey> {
        let payloads = self.payloads.as_ref().ok_or(StoreError::Invariant(NO_BLOB_STORE))?;
        let key = BlobKey::new(scope.workspace(), run, &format!("{BINARY_PREFIX}{}", ulid::Ulid::new()))?;
        payloads.blobs.put(&key, bytes).await?;
        Ok(key)
    }

    /// The bytes of the attachment under `key`. A key of another workspace, or one that is not
    /// a key at all, is `NotFound`, as if it did not exist.
    pub async fn binary(&self, scope: &TenantScope, key: &str) -> Result<Vec<u8>> {
        let payloads = self.payloads.as_ref().ok_or(StoreError::Invariant(NO_BLOB_STORE))?;
        let key = BlobKey::parse(key).map_err(|_| StoreError::NotFound)?;
        if key.workspace() != scope.workspace().as_str() {
            return Err(StoreError::NotFound);
        }
        match payloads.blobs.get(&key).await {
            Err(BlobError::NotFound) => Err(StoreError::NotFound),
            read => Ok(read?),
        }
    }
}

impl BlobKey {
    /// Whether the key names an attachment ([`Store::put_binary`]) rather than another blob of
    /// its run, such as a step's offloaded payload.
    pub fn is_binary(&self) -> bool {
        self.name().starts_with(BINARY_PREFIX)
    }
}

/// How every attachment's name within its run starts.
const BINARY_PREFIX: &str = "binary-";

const NO_BLOB_STORE: &str = "binary attachments need a blob store, and none is configured";
