//! Executing one claimed run: rebuild its state from the recorded steps, then ask the plan what
//! is ready, execute it, record it, and repeat until nothing is ready.
//!
//! Every write goes through the claim, so a worker that lost its lease can no longer change the
//! run: the store answers `LeaseLost` and this worker stops. A step that was in flight when a
//! worker died is not recorded as done, so the next owner runs it again with the next attempt
//! number (`run:activation:attempt` is unique).

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use serde_json::{Value, json};
use weft_engine::definition::{BackoffKind, OnError, RetryPolicy};
use weft_engine::exec::{Expressions, ItemContext, execute, resolve_params};
use weft_engine::params::{CodeParams, WaitParams};
use weft_sandbox::{JsExpressions, RunContext};

use super::http_node;
use crate::outbound::OutboundClient;
use weft_engine::{ActivationKey, Item, NodeDef, NodeKind, Plan, RunState, WorkflowDef, node_outputs};
use weft_store::{ClaimedRun, Renewal, RunEnd, StepOutcome, StepStart, StepStatus, Store, StoreError, now_ms};

type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Executes the claimed run until it ends, parks, or loses its lease. Cancelling `cancel` (the
/// runner does when the run's cancel is signalled) ends it as cancelled, interrupting the node
/// in flight.
pub(super) async fn execute_run(
    store: &Store,
    outbound: &OutboundClient,
    claim: ClaimedRun,
    lease: Duration,
    cancel: CancellationToken,
) {
    let run = claim.run().id.clone();
    match drive(store, outbound, &claim, lease, &cancel).await {
        Ok(()) => {}
        Err(StoreError::LeaseLost) => tracing::warn!(%run, "lost the run's lease; its next owner continues it"),
        // The lease runs out and another claim resumes from the recorded steps.
        Err(error) => tracing::error!(%run, error = %error, "executing the run failed; it will be resumed"),
    }
}

/// The trigger's items: an object is one item, an array of objects is one item each.
fn input_items(input: &Value) -> Vec<Item> {
    match input {
        Value::Object(json) => vec![Item::new(json.clone())],
        Value::Array(all) => all.iter().filter_map(|item| item.as_object().cloned()).map(Item::new).collect(),
        _ => vec![Item::default()],
    }
}

/// The trigger a run of this kind starts from: for a manual run, the first manual trigger.
fn trigger_node<'a>(definition: &'a WorkflowDef, trigger: &str) -> Option<&'a NodeDef> {
    let wanted = match trigger {
        "manual" => NodeKind::ManualTrigger,
        _ => return None,
    };
    definition.nodes.iter().find(|node| NodeKind::from_type_name(&node.node_type) == Some(wanted))
}

fn backoff(retry: &RetryPolicy, failed_attempt: u32) -> Duration {
    let initial = retry.backoff.initial_ms;
    let delay = match retry.backoff.kind {
        BackoffKind::Fixed => initial,
        BackoffKind::Exponential => initial.saturating_mul(1u64 << (failed_attempt.saturating_sub(1)).min(32)),
    };
    Duration::from_millis(delay.min(retry.backoff.max_ms))
}

/// What the nodes that end a branch emitted on their first output, by node name.
fn run_output(definition: &WorkflowDef, state: &RunState) -> Value {
    let mut output = serde_json::Map::new();
    for node in &definition.nodes {
        let ends_branch = !definition.connections.iter().any(|c| c.from == node.name);
        if let Some(outputs) = state.outputs(&ActivationKey::once(node.name.as_str()))
            && ends_branch
        {
            let items: Vec<&serde_json::Map<String, Value>> =
                outputs.first().map(|items| items.iter().map(|i| &i.json).collect()).unwrap_or_default();
            output.insert(node.name.clone(), json!(items));
        }
    }
    Value::Object(output)
}

/// The longest pause between renewals: it is also how soon a running run sees a cancel whose
/// signal was lost.
const HEARTBEAT: Duration = Duration::from_secs(1);

/// Renews the run's lease every second (or third of the lease, if shorter) for as long as the run executes — through nodes that
/// take long, too — and publishes what the last renewal said. Stops when dropped.
struct Heartbeat {
    renewal: watch::Receiver<Renewal>,
    task: JoinHandle<()>,
}

impl Heartbeat {
    /// A renewal that reports a cancel request also cancels `cancel`, so a lost cancel signal
    /// still interrupts the node in flight.
    fn start(store: &Store, claim: &ClaimedRun, lease: Duration, cancel: &CancellationToken) -> Heartbeat {
        let (sender, renewal) = watch::channel(Renewal::Held);
        let (store, claim, cancel) = (store.clone(), claim.clone(), cancel.clone());
        let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
        let task = tokio::spawn(async move {
            loop {
                tokio::time::sleep(HEARTBEAT.min(lease / 3)).await;
                match store.renew_lease(&claim, lease_ms).await {
                    Ok(state) => {
                        if state == Renewal::CancelRequested {
                            cancel.cancel();
                        }
                        let _ = sender.send(state);
                        if state == Renewal::Lost {
                            return;
                        }
                    }
                    // A passing database error: the lease still has two thirds to go.
                    Err(error) => {
                        tracing::warn!(run = %claim.run().id, error = %error, "renewing a run's lease failed")
                    }
                }
            }
        });
        Heartbeat { renewal, task }
    }

    fn state(&self) -> Renewal {
        *self.renewal.borrow()
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn fail(store: &Store, claim: &ClaimedRun, node: Option<&str>, message: String) -> Result<()> {
    let error = json!({ "node": node, "message": message });
    store.finish_run(claim, RunEnd::Failed { error: &error }).await.map(drop)
}

/// When a `wait` activation first seen at `first_seen` is over, in epoch ms. Its params are
/// evaluated with the first item (an empty one when there is none).
fn wait_until(node: &NodeDef, inputs: &[Vec<Item>], exprs: &dyn Expressions, first_seen: i64) -> Result<i64, String> {
    let empty = Item::default();
    let item = inputs.first().and_then(|items| items.first()).unwrap_or(&empty);
    let context = ItemContext { node: &node.name, item, index: 0, input: 0, inputs };
    let params: WaitParams = resolve_params(node, &context, exprs).map_err(|e| e.to_string())?;
    if let Some(until) = params.until {
        let instant =
            until.parse::<jiff::Timestamp>().map_err(|e| format!("`until` is not an RFC 3339 instant: {e}"))?;
        return Ok(instant.as_millisecond());
    }
    let duration =
        params.duration_ms.as_ref().and_then(|d| d.literal().copied()).ok_or("`duration_ms` must be a number")?;
    Ok(first_seen.saturating_add(i64::try_from(duration).unwrap_or(i64::MAX)))
}

/// Executes one activation of a node: the worker's own I/O nodes here, the rest in the engine.
/// What one attempt produced: its outputs or its error message, and the lines it logged.
struct Attempt {
    result: std::result::Result<Vec<Vec<Item>>, String>,
    logs: Option<Value>,
}

async fn attempt_node(
    outbound: &OutboundClient,
    exprs: &JsExpressions,
    node: &NodeDef,
    kind: NodeKind,
    inputs: &[Vec<Item>],
) -> Attempt {
    if kind == NodeKind::Code {
        let first = inputs.first().map(Vec::as_slice).unwrap_or_default();
        let ran = resolve_code(node).and_then(|params| {
            let deadline = node.timeout_ms.map(Duration::from_millis);
            exprs.run_code(&params.code, params.mode, first, deadline).map_err(|error| (error.message, error.logs))
        });
        let (result, logs) = match ran {
            Ok(output) => (Ok(with_error_output(node, vec![output.items])), output.logs),
            Err((message, logs)) => (Err(message), logs),
        };
        return Attempt { result, logs: (!logs.is_empty()).then(|| json!(logs)) };
    }
    Attempt { result: run_node(outbound, exprs, node, kind, inputs).await, logs: None }
}

/// A `code` node's params; the source is never an expression.
fn resolve_code(node: &NodeDef) -> std::result::Result<CodeParams, (String, Vec<String>)> {
    serde_json::from_value(Value::Object(node.params.clone()))
        .map_err(|e| (format!("the code node's params: {e}"), Vec::new()))
}

/// Adds the empty `error` output a node with `on_error: error_output` has besides its own.
fn with_error_output(node: &NodeDef, mut outputs: Vec<Vec<Item>>) -> Vec<Vec<Item>> {
    if node.on_error == OnError::ErrorOutput {
        outputs.push(Vec::new());
    }
    outputs
}

async fn run_node(
    outbound: &OutboundClient,
    exprs: &JsExpressions,
    node: &NodeDef,
    kind: NodeKind,
    inputs: &[Vec<Item>],
) -> std::result::Result<Vec<Vec<Item>>, String> {
    let outputs = match kind {
        NodeKind::HttpRequest => {
            let prepared = http_node::prepare(node, inputs, exprs as &dyn Expressions)?;
            http_node::send_all(outbound, prepared).await?
        }
        // Reached only once the wait is over (see `drive`): the items go on.
        NodeKind::Wait => vec![inputs.first().cloned().unwrap_or_default()],
        _ => return execute(node, kind, inputs.to_vec(), exprs).map_err(|error| error.to_string()),
    };
    Ok(with_error_output(node, outputs))
}

async fn drive(
    store: &Store,
    outbound: &OutboundClient,
    claim: &ClaimedRun,
    lease: Duration,
    cancel: &CancellationToken,
) -> Result<()> {
    let (run, scope) = (claim.run(), claim.scope());
    if run.cancel_requested {
        return store.finish_run(claim, RunEnd::Cancelled).await.map(drop);
    }
    let stored = store.workflow_version(scope, &run.workflow, run.version).await?;
    let definition = match weft_engine::parse(&stored.definition) {
        Ok(definition) => definition,
        Err(problems) => {
            return fail(store, claim, None, format!("the definition is invalid: {}", problems[0].detail)).await;
        }
    };
    let Some(trigger) = trigger_node(&definition, &run.trigger) else {
        return fail(store, claim, None, format!("the workflow has no trigger for a `{}` run", run.trigger)).await;
    };
    let plan = match Plan::new(&definition, &trigger.name) {
        Ok(plan) => plan,
        Err(error) => return fail(store, claim, None, error.to_string()).await,
    };

    let workflow = store.workflow(scope, &run.workflow).await?;
    let exprs = JsExpressions::new(RunContext {
        execution_id: run.id.to_string(),
        workflow_id: run.workflow.to_string(),
        workflow_name: workflow.name,
        vars: serde_json::Map::new(),
        env: serde_json::Map::new(),
        node_outputs: HashMap::new(),
    });

    // The trigger is settled by the plan, not executed: its output is the run's input.
    exprs.record_node_output(&trigger.name, input_items(&run.input));

    // Resume from what earlier claims recorded.
    let mut state = RunState::new(input_items(&run.input));
    let mut attempts: HashMap<String, i64> = HashMap::new();
    // When each activation was first started: where a `wait` counts its duration from.
    let mut first_seen: HashMap<String, i64> = HashMap::new();
    for step in store.recorded_steps(scope, &run.id).await? {
        let latest = attempts.entry(step.activation.clone()).or_default();
        *latest = (*latest).max(step.attempt);
        let seen = first_seen.entry(step.activation.clone()).or_insert(step.started_at);
        *seen = (*seen).min(step.started_at);
        if step.status != StepStatus::Succeeded {
            continue;
        }
        if let (Ok(key), Some(output)) = (serde_json::from_str::<ActivationKey>(&step.activation), step.output) {
            let outputs: Vec<Vec<Item>> = serde_json::from_value(output).unwrap_or_default();
            exprs.record_node_output(&key.node, outputs.first().cloned().unwrap_or_default());
            state.record(key, outputs);
        }
    }

    let deadline = definition.settings.timeout_ms.map(|ms| run.started_at.unwrap_or_else(now_ms) + ms as i64);
    let heartbeat = Heartbeat::start(store, claim, lease, cancel);
    loop {
        if cancel.is_cancelled() {
            return store.finish_run(claim, RunEnd::Cancelled).await.map(drop);
        }
        match heartbeat.state() {
            Renewal::Held => {}
            Renewal::CancelRequested => return store.finish_run(claim, RunEnd::Cancelled).await.map(drop),
            Renewal::Lost => return Err(StoreError::LeaseLost),
        }
        if deadline.is_some_and(|deadline| now_ms() > deadline) {
            return store.finish_run(claim, RunEnd::TimedOut).await.map(drop);
        }
        let frontier = plan.frontier(&state);
        if frontier.ready.is_empty() {
            let output = run_output(&definition, &state);
            return store.finish_run(claim, RunEnd::Succeeded { output: &output }).await.map(drop);
        }
        for activation in frontier.ready {
            let node = &definition.nodes[activation.node];
            let key = serde_json::to_string(&activation.key).unwrap_or_else(|_| activation.key.to_string());
            let input = serde_json::to_value(&activation.inputs).unwrap_or(Value::Null);
            let mut attempt = attempts.get(&key).copied().unwrap_or(0);
            if activation.kind == NodeKind::Wait {
                let now = now_ms();
                let seen = first_seen.get(&key).copied().unwrap_or(now);
                match wait_until(node, &activation.inputs, &exprs, seen) {
                    Ok(due) if due > now => {
                        // One skipped attempt marks each release of the worker; the run sleeps
                        // without a lease until it is due.
                        let start =
                            StepStart { node: &node.name, activation: &key, attempt: attempt + 1, input: Some(&input) };
                        let step = store.start_step(claim, start).await?;
                        store.finish_step(claim, &step, StepOutcome::Skipped, None).await?;
                        return store.park_run(claim, due).await.map(drop);
                    }
                    Ok(_) => {}
                    Err(message) => return fail(store, claim, Some(&node.name), message).await,
                }
            }
            let outputs = loop {
                attempt += 1;
                let start = StepStart { node: &node.name, activation: &key, attempt, input: Some(&input) };
                let step = store.start_step(claim, start).await?;
                let executing = attempt_node(outbound, &exprs, node, activation.kind, &activation.inputs);
                let Some(Attempt { result, logs }) = cancel.run_until_cancelled(executing).await else {
                    let cancelled = json!({ "message": "the run was cancelled" });
                    store.finish_step(claim, &step, StepOutcome::Failed { error: &cancelled }, None).await?;
                    return store.finish_run(claim, RunEnd::Cancelled).await.map(drop);
                };
                match result {
                    Ok(outputs) => {
                        let output = serde_json::to_value(&outputs).unwrap_or(Value::Null);
                        let outcome = StepOutcome::Succeeded { output: &output };
                        store.finish_step(claim, &step, outcome, logs.as_ref()).await?;
                        break outputs;
                    }
                    Err(message) => {
                        let recorded = json!({ "message": message });
                        store
                            .finish_step(claim, &step, StepOutcome::Failed { error: &recorded }, logs.as_ref())
                            .await?;
                        if let Some(retry) = &node.retry
                            && attempt < i64::from(retry.max_attempts)
                        {
                            tokio::time::sleep(backoff(retry, u32::try_from(attempt).unwrap_or(u32::MAX))).await;
                            continue;
                        }
                        match node.on_error {
                            OnError::Stop => return fail(store, claim, Some(&node.name), message).await,
                            // The input goes on as the node's output, as in n8n.
                            OnError::Continue => break vec![activation.inputs.first().cloned().unwrap_or_default()],
                            OnError::ErrorOutput => {
                                let width = node_outputs(node).map_or(1, |outputs| outputs.len());
                                let mut outputs = vec![Vec::new(); width];
                                let failed = activation.inputs.first().cloned().unwrap_or_default().into_iter().map(
                                    |mut item| {
                                        item.json.insert("error".into(), json!({ "message": message }));
                                        item
                                    },
                                );
                                outputs[width - 1] = failed.collect();
                                break outputs;
                            }
                        }
                    }
                }
            };
            attempts.insert(key, attempt);
            exprs.record_node_output(&node.name, outputs.first().cloned().unwrap_or_default());
            state.record(activation.key, outputs);
        }
    }
}

#[cfg(test)]
mod tests {
    use weft_engine::definition::Backoff;

    use super::*;

    #[test]
    fn backoff_is_fixed_or_doubles_up_to_its_cap() {
        let policy = |kind| RetryPolicy { max_attempts: 5, backoff: Backoff { kind, initial_ms: 100, max_ms: 350 } };
        let delays: Vec<u128> = (1..=4).map(|n| backoff(&policy(BackoffKind::Exponential), n).as_millis()).collect();
        assert_eq!(delays, [100, 200, 350, 350]);
        assert_eq!(backoff(&policy(BackoffKind::Fixed), 3).as_millis(), 100);
    }

    #[test]
    fn run_input_becomes_items() {
        assert_eq!(input_items(&json!({"a": 1})).len(), 1);
        assert_eq!(input_items(&json!([{"a": 1}, {"a": 2}])).len(), 2);
        assert_eq!(input_items(&Value::Null), vec![Item::default()]);
    }
}
