//! Large JSON payloads (step inputs, outputs, logs) out of the database: a value whose JSON text
//! is longer than the inline limit goes to a blob, and its column holds a small reference
//! `{"$blob": "<key>", "bytes": <length>}` instead.
//!
//! A value that merely looks like a reference is stored as a blob too, so every reference-shaped
//! column is one this module wrote: a node cannot make [`load_payload`] read a blob by
//! returning such an object.

use std::sync::Arc;

use serde_json::{Map, Value, json};
use weft_domain::{RunId, StepId, WorkspaceId};

use crate::{BlobError, BlobKey, BlobStore};

const BLOB_FIELD: &str = "$blob";
const BYTES_FIELD: &str = "bytes";

/// The key and length of a reference, if `value` has exactly a reference's shape.
fn as_reference(value: &Value) -> Option<(&str, u64)> {
    let object: &Map<String, Value> = value.as_object()?;
    if object.len() != 2 {
        return None;
    }
    Some((object.get(BLOB_FIELD)?.as_str()?, object.get(BYTES_FIELD)?.as_u64()?))
}

/// The text to store in a column for `value`: its JSON text when that is at most
/// `max_inline_bytes` long, else a reference to a blob under `key` that holds the text.
pub async fn store_payload(
    blobs: &dyn BlobStore,
    key: &BlobKey,
    value: &Value,
    max_inline_bytes: usize,
) -> Result<String, BlobError> {
    store_text(blobs, key, value.to_string(), max_inline_bytes).await
}

/// [`store_payload`] for a value already written out as JSON text.
async fn store_text(
    blobs: &dyn BlobStore,
    key: &BlobKey,
    text: String,
    max_inline_bytes: usize,
) -> Result<String, BlobError> {
    let reference_shaped = || {
        text.contains(BLOB_FIELD)
            && serde_json::from_str::<Value>(&text).is_ok_and(|value| as_reference(&value).is_some())
    };
    if text.len() <= max_inline_bytes && !reference_shaped() {
        return Ok(text);
    }
    let bytes = text.len();
    blobs.put(key, text.into_bytes()).await?;
    Ok(json!({ BLOB_FIELD: key.as_str(), BYTES_FIELD: bytes }).to_string())
}

/// Where a store puts step payloads longer than its inline limit.
pub(crate) struct Payloads {
    pub(crate) blobs: Arc<dyn BlobStore>,
    pub(crate) max_inline_bytes: usize,
}

impl std::fmt::Debug for Payloads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Payloads").field("max_inline_bytes", &self.max_inline_bytes).finish_non_exhaustive()
    }
}

impl Payloads {
    /// The column text for a step's `field`, offloaded when it is too long.
    pub(crate) async fn offload(
        &self,
        workspace: &WorkspaceId,
        run: &RunId,
        step: &StepId,
        field: &str,
        text: String,
    ) -> Result<String, BlobError> {
        if text.len() <= self.max_inline_bytes && !text.contains(BLOB_FIELD) {
            return Ok(text);
        }
        let key = BlobKey::new(workspace, run, &format!("{step}.{field}"))?;
        store_text(self.blobs.as_ref(), &key, text, self.max_inline_bytes).await
    }

    /// A decoded column's value, read from its blob when it is a reference.
    pub(crate) async fn load(&self, workspace: &WorkspaceId, value: Value) -> Result<Value, BlobError> {
        if as_reference(&value).is_none() {
            return Ok(value);
        }
        load_payload(self.blobs.as_ref(), workspace, &value.to_string()).await
    }
}

/// The value of a column written by [`store_payload`], fetching its blob when it holds a
/// reference. A reference must name a blob of `workspace`; any other is `InvalidKey`.
pub async fn load_payload(blobs: &dyn BlobStore, workspace: &WorkspaceId, stored: &str) -> Result<Value, BlobError> {
    let value: Value = serde_json::from_str(stored).map_err(|_| BlobError::Corrupt("the column is not JSON"))?;
    let Some((key, bytes)) = as_reference(&value) else {
        return Ok(value);
    };
    let key = BlobKey::parse(key)?;
    if key.workspace() != workspace.as_str() {
        return Err(BlobError::InvalidKey(key.to_string()));
    }
    let text = blobs.get(&key).await?;
    if u64::try_from(text.len()).ok() != Some(bytes) {
        return Err(BlobError::Corrupt("the blob's length is not the recorded one"));
    }
    serde_json::from_slice(&text).map_err(|_| BlobError::Corrupt("the blob is not JSON"))
}

#[cfg(test)]
mod tests {
    use weft_domain::RunId;

    use super::*;
    use crate::FsBlobStore;

    struct Fixture {
        _dir: tempfile::TempDir,
        blobs: FsBlobStore,
        ws: WorkspaceId,
        key: BlobKey,
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let blobs = FsBlobStore::new(dir.path());
        let ws = WorkspaceId::generate();
        let key = BlobKey::new(&ws, &RunId::generate(), "stp_1.output").unwrap();
        Fixture { _dir: dir, blobs, ws, key }
    }

    #[tokio::test]
    async fn a_small_value_stays_inline_and_a_large_one_goes_to_a_blob() {
        let f = fixture();
        let small = json!([{"json": {"name": "Ada"}}]);
        let stored = store_payload(&f.blobs, &f.key, &small, 64).await.unwrap();
        assert_eq!(stored, small.to_string());
        assert!(matches!(f.blobs.get(&f.key).await, Err(BlobError::NotFound)), "no blob for an inline value");
        assert_eq!(load_payload(&f.blobs, &f.ws, &stored).await.unwrap(), small);

        let at_limit = store_payload(&f.blobs, &f.key, &small, small.to_string().len()).await.unwrap();
        assert_eq!(at_limit, small.to_string(), "a value exactly at the limit stays inline");

        let large = json!([{"json": {"text": "x".repeat(1000)}}]);
        let stored = store_payload(&f.blobs, &f.key, &large, 64).await.unwrap();
        let reference: Value = serde_json::from_str(&stored).unwrap();
        assert_eq!(reference, json!({"$blob": f.key.as_str(), "bytes": large.to_string().len()}));
        assert!(stored.len() < 200, "the column holds only the reference: {stored}");
        assert_eq!(f.blobs.get(&f.key).await.unwrap(), large.to_string().into_bytes());
        assert_eq!(load_payload(&f.blobs, &f.ws, &stored).await.unwrap(), large);
    }

    #[tokio::test]
    async fn a_value_shaped_like_a_reference_is_stored_as_a_blob_and_read_back_as_itself() {
        let f = fixture();
        let other = WorkspaceId::generate();
        let forged = json!({"$blob": format!("{other}/{}/secret", RunId::generate()), "bytes": 6});
        let stored = store_payload(&f.blobs, &f.key, &forged, 1 << 20).await.unwrap();
        assert_ne!(stored, forged.to_string(), "never inline, however small");
        assert_eq!(load_payload(&f.blobs, &f.ws, &stored).await.unwrap(), forged);
    }

    #[tokio::test]
    async fn references_that_leave_the_workspace_or_the_blob_root_are_refused() {
        let f = fixture();
        f.blobs.put(&f.key, b"\"secret\"".to_vec()).await.unwrap();
        let other = WorkspaceId::generate();
        let run = RunId::generate();
        for key in [
            "../../../etc/passwd".to_owned(),
            format!("{}/{run}/../../../etc/passwd", f.ws),
            format!("{}/../{run}/x", f.ws),
            format!("/{}/{run}/x", f.ws),
            format!("{}/{run}/..", f.ws),
            format!("{}/{run}/a\\..\\..\\x", f.ws),
        ] {
            let stored = json!({"$blob": key, "bytes": 8}).to_string();
            let refused = load_payload(&f.blobs, &f.ws, &stored).await;
            assert!(matches!(refused, Err(BlobError::InvalidKey(_))), "{key}: {refused:?}");
        }
        let stored = json!({"$blob": f.key.as_str(), "bytes": 8}).to_string();
        let foreign = load_payload(&f.blobs, &other, &stored).await;
        assert!(matches!(foreign, Err(BlobError::InvalidKey(_))), "another workspace's blob: {foreign:?}");
        assert_eq!(load_payload(&f.blobs, &f.ws, &stored).await.unwrap(), json!("secret"));
    }

    #[tokio::test]
    async fn a_missing_or_altered_blob_is_an_error_not_a_wrong_value() {
        let f = fixture();
        let large = json!({"text": "x".repeat(100)});
        let stored = store_payload(&f.blobs, &f.key, &large, 10).await.unwrap();
        f.blobs.put(&f.key, b"\"short\"".to_vec()).await.unwrap();
        assert!(matches!(load_payload(&f.blobs, &f.ws, &stored).await, Err(BlobError::Corrupt(_))));
        f.blobs.delete_prefix(&crate::BlobPrefix::workspace(&f.ws)).await.unwrap();
        assert!(matches!(load_payload(&f.blobs, &f.ws, &stored).await, Err(BlobError::NotFound)));
        assert!(matches!(load_payload(&f.blobs, &f.ws, "{not json").await, Err(BlobError::Corrupt(_))));
    }
}
