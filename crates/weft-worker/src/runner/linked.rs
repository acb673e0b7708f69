//! Runs that start other runs: an `execute_workflow` node's child run, which its parent waits
//! for without a worker, and the workflow's error workflow, queued when a run fails. Both are
//! queued in the same checkpoint as what caused them, so a crash can neither lose nor double
//! them.

use serde_json::{Value, json};
use weft_domain::WorkflowId;
use weft_engine::exec::{Expressions, ItemContext, resolve_params};
use weft_engine::params::ExecuteWorkflowParams;
use weft_engine::{Item, NodeDef, WorkflowDef};
use weft_store::{ClaimedRun, Run, RunStatus, Store, StoreError};

/// The trigger of a run started by a parent's `execute_workflow` node.
pub(super) const CHILD_TRIGGER: &str = "workflow";
/// The trigger of a run of an error workflow.
pub(super) const ERROR_TRIGGER: &str = "error";

/// A run to queue: the published version of a workflow of the claimed run's workspace.
pub(super) struct RunRequest {
    pub workflow: WorkflowId,
    pub version: i64,
    pub input: Value,
}

/// The published version of `workflow` in the claim's workspace, or why there is none.
async fn published(
    store: &Store,
    claim: &ClaimedRun,
    workflow: &str,
) -> Result<Result<(WorkflowId, i64), String>, StoreError> {
    let Ok(id) = workflow.parse::<WorkflowId>() else {
        return Ok(Err(format!("`{workflow}` is not a workflow id")));
    };
    match store.workflow(claim.scope(), &id).await {
        Ok(found) => Ok(found
            .published_version
            .map(|version| (id, version))
            .ok_or_else(|| format!("the workflow {workflow} has no published version"))),
        Err(StoreError::NotFound) => Ok(Err(format!("no workflow {workflow} in this workspace"))),
        Err(error) => Err(error),
    }
}

/// What an `execute_workflow` activation asks to run: its params resolved with the first item,
/// and its first input's items as the child's input.
pub(super) async fn child_request(
    store: &Store,
    claim: &ClaimedRun,
    node: &NodeDef,
    inputs: &[Vec<Item>],
    exprs: &(dyn Expressions + Sync),
) -> Result<Result<RunRequest, String>, StoreError> {
    let empty = Item::default();
    let first = inputs.first().map(Vec::as_slice).unwrap_or_default();
    let context = ItemContext { node: &node.name, item: first.first().unwrap_or(&empty), index: 0, input: 0, inputs };
    let params: ExecuteWorkflowParams = match resolve_params(node, &context, exprs) {
        Ok(params) => params,
        Err(error) => return Ok(Err(error.to_string())),
    };
    let input = Value::Array(first.iter().map(|item| Value::Object(item.json.clone())).collect());
    Ok(published(store, claim, params.workflow_id.trim()).await?.map(|(workflow, version)| RunRequest {
        workflow,
        version,
        input,
    }))
}

/// A child run's result once it has ended: the items of the nodes that end its branches, in
/// the order its output lists them, or why it did not succeed.
pub(super) fn child_result(child: &Run) -> Option<Result<Vec<Vec<Item>>, String>> {
    let why = match child.status {
        RunStatus::Queued | RunStatus::Running | RunStatus::Waiting => return None,
        RunStatus::Succeeded => {
            let items = child
                .output
                .as_ref()
                .and_then(Value::as_object)
                .into_iter()
                .flat_map(|outputs| outputs.values())
                .filter_map(Value::as_array)
                .flatten()
                .filter_map(|json| json.as_object().cloned())
                .map(Item::new)
                .collect();
            return Some(Ok(vec![items]));
        }
        RunStatus::Failed => {
            let message = child.error.as_ref().and_then(|error| error["message"].as_str()).unwrap_or("it failed");
            format!("failed: {message}")
        }
        RunStatus::Cancelled => "was cancelled".to_owned(),
        RunStatus::TimedOut => "timed out".to_owned(),
    };
    Some(Err(format!("the sub-workflow run {} {why}", child.id)))
}

/// The run of the workflow's error workflow that a failure of the claimed run starts, with the
/// failed run's summary as its input; none when the workflow names none, or the failed run is
/// itself an error workflow's (so two workflows naming each other cannot loop).
pub(super) async fn error_run(
    store: &Store,
    claim: &ClaimedRun,
    definition: &WorkflowDef,
    status: RunStatus,
    error: Option<&Value>,
) -> Result<Option<RunRequest>, StoreError> {
    let run = claim.run();
    let Some(workflow) = &definition.settings.error_workflow else { return Ok(None) };
    if run.trigger == ERROR_TRIGGER {
        return Ok(None);
    }
    match published(store, claim, workflow).await? {
        Ok((workflow, version)) => {
            let input = json!({
                "run": {
                    "id": run.id, "workflow_id": run.workflow, "workflow_name": claim.workflow_name(),
                    "status": status.as_str(), "error": error, "trigger": run.trigger,
                },
            });
            Ok(Some(RunRequest { workflow, version, input }))
        }
        Err(message) => {
            tracing::warn!(run = %run.id, "the error workflow was not started: {message}");
            Ok(None)
        }
    }
}
