//! Parsed workflow versions, kept between runs. A saved version never changes, so a version
//! parsed once serves every later run of it without reading or parsing it again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use weft_domain::{WorkflowId, WorkspaceId};
use weft_engine::WorkflowDef;
use weft_store::{ClaimedRun, Store, StoreError};

/// Versions kept at most; past it the cache starts over (a worker runs few distinct versions).
const CAPACITY: usize = 1024;

/// What a stored version turned out to be.
pub(super) type Parsed = Result<Arc<WorkflowDef>, String>;

/// A version of a workflow of a workspace.
type VersionKey = (WorkspaceId, WorkflowId, i64);

#[derive(Clone, Default)]
pub(super) struct Definitions {
    parsed: Arc<Mutex<HashMap<VersionKey, Parsed>>>,
}

impl Definitions {
    /// The claimed run's version, parsed; `Err` with the first problem if it does not parse.
    pub(super) async fn get(&self, store: &Store, claim: &ClaimedRun) -> Result<Parsed, StoreError> {
        let run = claim.run();
        let key = (claim.scope().workspace().clone(), run.workflow.clone(), run.version);
        if let Some(parsed) = self.parsed.lock().unwrap_or_else(PoisonError::into_inner).get(&key) {
            return Ok(parsed.clone());
        }
        let stored = store.workflow_version(claim.scope(), &run.workflow, run.version).await?;
        let parsed = weft_engine::parse(&stored.definition)
            .map(Arc::new)
            .map_err(|problems| format!("the definition is invalid: {}", problems[0].detail));
        let mut cache = self.parsed.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= CAPACITY {
            cache.clear();
        }
        cache.insert(key, parsed.clone());
        Ok(parsed)
    }
}
