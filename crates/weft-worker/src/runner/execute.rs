//! Executing one claimed run: rebuild its state from the recorded steps, then ask the plan what
//! is ready, execute it, record it, and repeat until nothing is ready.
//!
//! Every write goes through the claim, so a worker that lost its lease can no longer change the
//! run: the store answers `LeaseLost` and this worker stops. A step that was in flight when a
//! worker died is not recorded as done, so the next owner runs it again with the next attempt
//! number (`run:activation:attempt` is unique).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use serde_json::{Value, json};
use weft_engine::definition::{BackoffKind, OnError, RetryPolicy};
use weft_engine::exec::{Expressions, ItemContext, execute, resolve_params};
use weft_engine::params::{CodeParams, WaitParams, graphql_as_http};
use weft_engine::trigger_params::{ResponseData, ResponseMode, WebhookTriggerParams};
use weft_sandbox::{CodeOutput, Interrupter, JsExpressions, RunContext};

use super::definitions::Definitions;
use super::linked::{CHILD_TRIGGER, ERROR_TRIGGER, RunRequest, child_request, child_result, error_run};
use super::run_store::RunStore;
use super::{Effects, dedupe_node, email_node, http_node, respond};
use weft_domain::RunId;
use weft_engine::{Activation, ActivationKey, Item, NodeDef, NodeKind, Plan, RunState, WorkflowDef, node_outputs};
use weft_store::{
    Checkpoint, ClaimedRun, NewRun, QueuedRun, Renewal, Run, RunEnd, RunStatus, Step, StepOutcome, StepStart,
    StepStatus, Store, StoreError, now_ms,
};

type Result<T, E = StoreError> = std::result::Result<T, E>;

/// What bounds a run's execution.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    /// The claim's lease, renewed by the heartbeat.
    pub lease: Duration,
    /// Items a node may emit on one output.
    pub max_items_per_output: usize,
}

/// Executes the claimed run until it ends, parks, or loses its lease. Cancelling `cancel` (the
/// runner does when the run's cancel is signalled) ends it as cancelled, interrupting the node
/// in flight.
pub(super) async fn execute_run(
    store: &Store,
    effects: &Effects,
    definitions: &Definitions,
    claim: ClaimedRun,
    limits: Limits,
    cancel: CancellationToken,
) {
    let run = claim.run().id.clone();
    match drive(store, effects, definitions, &claim, limits, &cancel).await {
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

/// The trigger node a run starts from: the one it names, else (manual runs, sub-workflow and
/// error-workflow runs) the first manual trigger.
fn trigger_node<'a>(definition: &'a WorkflowDef, run: &Run) -> Option<&'a NodeDef> {
    match &run.trigger_node {
        Some(name) => definition.nodes.iter().find(|node| &node.name == name),
        None => definition
            .nodes
            .iter()
            .find(|node| NodeKind::from_type_name(&node.node_type) == Some(NodeKind::ManualTrigger)),
    }
}

fn backoff(retry: &RetryPolicy, failed_attempt: u32) -> Duration {
    let initial = retry.backoff.initial_ms;
    let delay = match retry.backoff.kind {
        BackoffKind::Fixed => initial,
        BackoffKind::Exponential => initial.saturating_mul(1u64 << (failed_attempt.saturating_sub(1)).min(32)),
    };
    Duration::from_millis(delay.min(retry.backoff.max_ms))
}

/// What the nodes that end a branch emitted on their first output, by node name (inside loop
/// bodies, over all iterations).
fn run_output(definition: &WorkflowDef, state: &RunState) -> Value {
    let mut output = serde_json::Map::new();
    for node in &definition.nodes {
        let ends_branch = !definition.connections.iter().any(|c| c.from == node.name);
        let activations = state.activations(&node.name);
        if ends_branch && !activations.is_empty() {
            // Inside a loop body, every iteration's items, in order.
            let items: Vec<&serde_json::Map<String, Value>> = activations
                .iter()
                .flat_map(|(_, outputs)| outputs.first().into_iter().flatten().map(|item| &item.json))
                .collect();
            output.insert(node.name.clone(), json!(items));
        }
    }
    Value::Object(output)
}

/// The longest pause between renewals: it is also how soon a running run sees a cancel whose
/// signal was lost.
const HEARTBEAT: Duration = Duration::from_secs(1);

/// Renews the run's lease every second (or third of the lease, if shorter) for as long as the
/// run executes — through nodes that take long, too — and publishes what the last renewal said.
/// A renewal that reports a cancel request also cancels the run's token, so a lost cancel signal
/// still stops the run. When the run must stop (its token cancelled, or the lease lost), it
/// interrupts the run's sandbox, so a script in a loop stops at once rather than at its
/// deadline. Stops when dropped.
struct Heartbeat {
    renewal: watch::Receiver<Renewal>,
    task: JoinHandle<()>,
}

impl Heartbeat {
    fn start(
        store: &Store,
        claim: &ClaimedRun,
        lease: Duration,
        cancel: &CancellationToken,
        sandbox: Interrupter,
    ) -> Heartbeat {
        let (sender, renewal) = watch::channel(Renewal::Held);
        let (store, claim, cancel) = (store.clone(), claim.clone(), cancel.clone());
        let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = tokio::time::sleep(HEARTBEAT.min(lease / 3)) => {}
                    () = cancel.cancelled(), if !sandbox.is_interrupted() => {
                        sandbox.interrupt();
                        continue;
                    }
                }
                match store.renew_lease(&claim, lease_ms).await {
                    Ok(state) => {
                        let _ = sender.send(state);
                        match state {
                            Renewal::Held => {}
                            Renewal::CancelRequested => {
                                cancel.cancel();
                                sandbox.interrupt();
                            }
                            Renewal::Lost => {
                                sandbox.interrupt();
                                return;
                            }
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

/// What one attempt produced: its outputs or its error message, and the lines it logged.
struct Attempt {
    result: std::result::Result<Vec<Vec<Item>>, String>,
    logs: Option<Value>,
}

/// Executes one attempt of an activation: the worker's own I/O nodes here, the rest in the engine.
/// `attempt_key` (`run:activation:attempt`) is the idempotency key nodes with effects send.
async fn attempt_node(
    effects: &Effects,
    run_store: RunStore<'_>,
    exprs: &Arc<JsExpressions>,
    node: &NodeDef,
    activation: &Activation,
    attempt_key: &str,
) -> Attempt {
    let (kind, inputs) = (activation.kind, activation.inputs.as_slice());
    if kind == NodeKind::Code {
        let (result, logs) = match run_code(exprs, node, inputs).await {
            Ok(output) => (Ok(with_error_output(node, vec![output.items])), output.logs),
            Err((message, logs)) => (Err(message), logs),
        };
        return Attempt {
            result: result.map(|outputs| always_output(node, outputs)),
            logs: (!logs.is_empty()).then(|| json!(logs)),
        };
    }
    let result = run_node(effects, run_store, exprs, node, kind, inputs, attempt_key).await;
    Attempt { result: result.map(|outputs| always_output(node, outputs)), logs: None }
}

/// Runs a `code` node's script on the blocking pool: a script may take its whole deadline, and
/// must not hold up the tasks sharing this thread meanwhile.
async fn run_code(
    exprs: &Arc<JsExpressions>,
    node: &NodeDef,
    inputs: &[Vec<Item>],
) -> std::result::Result<CodeOutput, (String, Vec<String>)> {
    let params = resolve_code(node)?;
    let items = inputs.first().cloned().unwrap_or_default();
    let deadline = node.timeout_ms.map(Duration::from_millis);
    let exprs = Arc::clone(exprs);
    tokio::task::spawn_blocking(move || exprs.run_code(&params.code, params.mode, &items, deadline))
        .await
        .map_err(|error| (format!("the code node's script stopped abnormally: {error}"), Vec::new()))?
        .map_err(|error| (error.message, error.logs))
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

/// Gives an `always_output` node that emitted no item at all one empty item on its first output.
fn always_output(node: &NodeDef, mut outputs: Vec<Vec<Item>>) -> Vec<Vec<Item>> {
    if node.always_output && outputs.iter().all(Vec::is_empty) {
        match outputs.first_mut() {
            Some(first) => first.push(Item::default()),
            None => outputs.push(vec![Item::default()]),
        }
    }
    outputs
}

async fn run_node(
    effects: &Effects,
    run_store: RunStore<'_>,
    exprs: &JsExpressions,
    node: &NodeDef,
    kind: NodeKind,
    inputs: &[Vec<Item>],
    attempt_key: &str,
) -> std::result::Result<Vec<Vec<Item>>, String> {
    let outputs = match kind {
        NodeKind::HttpRequest => {
            let prepared = http_node::prepare(node, inputs, exprs as &dyn Expressions, attempt_key)?;
            let sender = http_node::Sender { client: &effects.outbound, run_store, exprs, node: &node.name, inputs };
            sender.send_all(prepared).await?
        }
        NodeKind::Graphql => {
            let http = NodeDef { params: graphql_as_http(&node.params), ..node.clone() };
            let prepared = http_node::prepare(&http, inputs, exprs as &dyn Expressions, attempt_key)?;
            let sender = http_node::Sender { client: &effects.outbound, run_store, exprs, node: &node.name, inputs };
            let outputs = sender.send_all(prepared).await?;
            if let Some(errors) =
                outputs.iter().flatten().find_map(|item| item.json.get("errors").filter(|e| !e.is_null()))
            {
                return Err(graphql_errors(errors));
            }
            outputs
        }
        NodeKind::SendEmail => {
            let messages = email_node::prepare(node, inputs, exprs as &dyn Expressions, attempt_key)?;
            email_node::send_all(&effects.mailer, messages).await?
        }
        NodeKind::RemoveDuplicates if node.params.contains_key("across_runs") => {
            let lookup = dedupe_node::lookup(node, inputs, exprs as &dyn Expressions, attempt_key)?;
            dedupe_node::let_through_new(lookup, inputs, run_store).await?
        }
        // Reached only once the wait is over (see `drive`): the items go on. A webhook answer
        // is taken from the activation once it succeeded (see `drive`).
        NodeKind::Wait | NodeKind::RespondToWebhook => vec![inputs.first().cloned().unwrap_or_default()],
        _ => return execute(node, kind, inputs.to_vec(), exprs).map_err(|error| error.to_string()),
    };
    Ok(with_error_output(node, outputs))
}

/// Whether an attempt can act on the world. Such an attempt is recorded as started before it
/// runs, so a successor that finds it in flight runs it again with the next attempt number (the
/// node's idempotency key changes with it). Every other node only computes: its attempts are
/// recorded once they are over, and one lost in a crash is simply computed again.
fn has_effects(kind: NodeKind) -> bool {
    matches!(kind, NodeKind::HttpRequest | NodeKind::Graphql | NodeKind::SendEmail)
}

/// A GraphQL answer's `errors` as one message: theirs, joined, as n8n words it.
fn graphql_errors(errors: &Value) -> String {
    let messages: Vec<&str> =
        errors.as_array().into_iter().flatten().filter_map(|error| error.get("message")?.as_str()).collect();
    if messages.is_empty() {
        "the GraphQL answer has errors".to_owned()
    } else {
        format!("the GraphQL answer has errors: {}", messages.join(", "))
    }
}

/// How long attempts recorded-when-over may stay unwritten; then they are checkpointed, so a
/// long chain shows its progress and a crash repeats little of it.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// Activations with effects executing at once when the workflow does not say.
const DEFAULT_MAX_CONCURRENCY: usize = 8;

/// The error a failed run records.
fn failure(node: Option<&str>, message: &str) -> Value {
    json!({ "node": node, "message": message })
}

/// The outputs of a node with `on_error: error_output` whose attempts all failed: its input
/// items, each with the error, on its last output (the error output).
fn error_outputs(node: &NodeDef, inputs: &[Vec<Item>], message: &str) -> Vec<Vec<Item>> {
    let width = node_outputs(node).map_or(1, |outputs| outputs.len());
    let mut outputs = vec![Vec::new(); width];
    outputs[width - 1] = inputs
        .first()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|mut item| {
            item.json.insert("error".into(), json!({ "message": message }));
            item
        })
        .collect();
    outputs
}

/// An attempt's result as its step records it: the outputs, or the error.
enum Recorded {
    Output(Value),
    Error(Value),
}

impl Recorded {
    fn of(result: &std::result::Result<Vec<Vec<Item>>, String>) -> Recorded {
        match result {
            Ok(outputs) => Recorded::Output(serde_json::to_value(outputs).unwrap_or(Value::Null)),
            Err(message) => Recorded::Error(json!({ "message": message })),
        }
    }

    fn outcome(&self) -> StepOutcome<'_> {
        match self {
            Recorded::Output(output) => StepOutcome::Succeeded { output },
            Recorded::Error(error) => StepOutcome::Failed { error },
        }
    }
}

/// How an activation ended after its attempts.
enum Settled {
    /// Its outputs: its successors' inputs.
    Outputs(Vec<Vec<Item>>),
    /// It failed and its node stops the run (`on_error: stop`), with this message.
    Stop(String),
    /// The run was told to stop while it executed: cancelled, or its lease lost.
    Interrupted,
}

/// What executing one run needs throughout.
struct Execution<'a> {
    store: &'a Store,
    effects: &'a Effects,
    claim: &'a ClaimedRun,
    definition: &'a WorkflowDef,
    exprs: Arc<JsExpressions>,
    cancel: &'a CancellationToken,
    max_items_per_output: usize,
}

impl Execution<'_> {
    /// Attempts `activation` until an attempt succeeds, its retries run out, or its node's
    /// `on_error` settles the failure; the attempts after `attempt` are recorded into `log`.
    /// Returns the last attempt's number with the outcome.
    async fn settle(
        &self,
        activation: &Activation,
        key: &str,
        mut attempt: i64,
        log: &mut Checkpoint,
    ) -> Result<(i64, Settled)> {
        let node = &self.definition.nodes[activation.node];
        let input = serde_json::to_value(&activation.inputs).unwrap_or(Value::Null);
        loop {
            attempt += 1;
            let step = StepStart { node: &node.name, activation: key, attempt, input: Some(&input) };
            let started_at = now_ms();
            let in_flight = if has_effects(activation.kind) {
                // Written with what is still pending, so no earlier attempt stays in flight.
                let mut checkpoint = std::mem::take(log);
                let id = checkpoint.start(step);
                self.store.checkpoint(self.claim, checkpoint).await?;
                Some(id)
            } else {
                None
            };
            let attempt_key = format!("{}:{}:{attempt}", self.claim.run().id, activation.key);
            let run_store = RunStore::of(self.store, self.claim);
            let executing = attempt_node(self.effects, run_store, &self.exprs, node, activation, &attempt_key);
            let Attempt { result, logs } = self
                .cancel
                .run_until_cancelled(executing)
                .await
                .unwrap_or_else(|| Attempt { result: Err("the run was cancelled".to_owned()), logs: None });
            let result = result.and_then(|outputs| within_item_limit(outputs, self.max_items_per_output));
            let recorded = Recorded::of(&result);
            let outcome = recorded.outcome();
            match &in_flight {
                Some(id) => log.finish(id, outcome, logs.as_ref()),
                None => log.record(step, started_at, outcome, logs.as_ref()),
            }
            let message = match result {
                Ok(outputs) => return Ok((attempt, Settled::Outputs(outputs))),
                Err(_) if self.cancel.is_cancelled() || self.exprs.interrupter().is_interrupted() => {
                    return Ok((attempt, Settled::Interrupted));
                }
                Err(message) => message,
            };
            if let Some(retry) = &node.retry
                && attempt < i64::from(retry.max_attempts)
            {
                tokio::time::sleep(backoff(retry, u32::try_from(attempt).unwrap_or(u32::MAX))).await;
                continue;
            }
            return Ok((attempt, settle_failure(node, activation, message)));
        }
    }
}

/// The outputs, or the failure of a node that emitted more items on one output than allowed
/// (every item of a run is kept in memory and recorded in its step).
fn within_item_limit(outputs: Vec<Vec<Item>>, limit: usize) -> std::result::Result<Vec<Vec<Item>>, String> {
    match outputs.iter().enumerate().find(|(_, items)| items.len() > limit) {
        Some((index, items)) => Err(format!(
            "the node emitted {} items on output {index}; at most {limit} are allowed (`max_items_per_output`)",
            items.len()
        )),
        None => Ok(outputs),
    }
}

/// What a node's `on_error` makes of its last attempt's failure.
fn settle_failure(node: &NodeDef, activation: &Activation, message: String) -> Settled {
    match node.on_error {
        OnError::Stop => Settled::Stop(message),
        // The input goes on as the node's output, as in n8n.
        OnError::Continue => Settled::Outputs(vec![activation.inputs.first().cloned().unwrap_or_default()]),
        OnError::ErrorOutput => Settled::Outputs(error_outputs(node, &activation.inputs, &message)),
    }
}

/// What the run has done so far: the planner's state, and per activation its latest attempt
/// and when it was first started (where a `wait` counts its duration from).
struct Progress {
    state: RunState,
    attempts: HashMap<String, i64>,
    first_seen: HashMap<String, i64>,
    /// The child run an `execute_workflow` activation started and waits for.
    children: HashMap<String, RunId>,
    /// The main output of the activation that finished last: a `last_node` webhook's answer.
    last_output: Vec<Item>,
}

impl Progress {
    /// Rebuilds the progress earlier claims recorded.
    fn resume(input: Vec<Item>, steps: Vec<Step>, exprs: &JsExpressions) -> Progress {
        let mut progress = Progress {
            state: RunState::new(input),
            attempts: HashMap::new(),
            first_seen: HashMap::new(),
            children: HashMap::new(),
            last_output: Vec::new(),
        };
        for step in steps {
            let latest = progress.attempts.entry(step.activation.clone()).or_default();
            *latest = (*latest).max(step.attempt);
            let seen = progress.first_seen.entry(step.activation.clone()).or_insert(step.started_at);
            *seen = (*seen).min(step.started_at);
            let child = step.output.as_ref().and_then(|note| note[CHILD_RUN].as_str()?.parse::<RunId>().ok());
            if let (StepStatus::Skipped, Some(child)) = (step.status, child) {
                progress.children.insert(step.activation.clone(), child);
            }
            if step.status != StepStatus::Succeeded {
                continue;
            }
            if let (Ok(key), Some(output)) = (serde_json::from_str::<ActivationKey>(&step.activation), step.output) {
                let outputs: Vec<Vec<Item>> = serde_json::from_value(output).unwrap_or_default();
                exprs.record_node_output(&key.node, outputs.first().cloned().unwrap_or_default());
                progress.state.record(key, outputs);
            }
        }
        progress
    }

    fn attempts(&self, key: &str) -> i64 {
        self.attempts.get(key).copied().unwrap_or(0)
    }

    fn accept(
        &mut self,
        exprs: &JsExpressions,
        activation: Activation,
        key: String,
        attempt: i64,
        outputs: Vec<Vec<Item>>,
    ) {
        let node = &activation.key.node;
        self.last_output = outputs.first().cloned().unwrap_or_default();
        exprs.record_node_output(node, self.last_output.clone());
        self.attempts.insert(key, attempt);
        self.state.record(activation.key, outputs);
    }
}

/// Queues the workflow's error workflow, if it has one, with the checkpoint that ends the run.
async fn queue_error_run(
    store: &Store,
    claim: &ClaimedRun,
    definition: &WorkflowDef,
    status: RunStatus,
    error: Option<&Value>,
    pending: &mut Checkpoint,
) -> Result<()> {
    if let Some(RunRequest { workflow, version, input }) = error_run(store, claim, definition, status, error).await? {
        let new = NewRun { workflow: &workflow, version, input: &input, trigger: ERROR_TRIGGER, trigger_node: None };
        pending.enqueue(QueuedRun { new, child: false });
    }
    Ok(())
}

/// How the webhook request that started a run waits for its answer.
#[derive(Debug, Clone)]
struct WebhookAnswer {
    mode: ResponseMode,
    data: ResponseData,
    /// With `first_binary`: the attachment answered with.
    field: String,
}

/// The answer a run owes, if a webhook trigger started it and waits for more than the run id.
fn webhook_answer(trigger: &NodeDef) -> Option<WebhookAnswer> {
    if NodeKind::from_type_name(&trigger.node_type) != Some(NodeKind::WebhookTrigger) {
        return None;
    }
    let params: WebhookTriggerParams = serde_json::from_value(Value::Object(trigger.params.clone())).ok()?;
    (params.response_mode != ResponseMode::Accepted).then(|| WebhookAnswer {
        mode: params.response_mode,
        data: params.response_data,
        field: params.response_field.unwrap_or_else(|| respond::DEFAULT_FIELD.to_owned()),
    })
}

/// The field of a paused `execute_workflow` attempt's note naming the child run it waits for.
const CHILD_RUN: &str = "child_run";

/// How long a parent waits for its child when neither the node nor the workflow says.
const DEFAULT_CHILD_WAIT_MS: u64 = 24 * 60 * 60 * 1000;

/// The activation's key as steps record it.
fn step_key(activation: &Activation) -> String {
    serde_json::to_string(&activation.key).unwrap_or_else(|_| activation.key.to_string())
}

async fn drive(
    store: &Store,
    effects: &Effects,
    definitions: &Definitions,
    claim: &ClaimedRun,
    limits: Limits,
    cancel: &CancellationToken,
) -> Result<()> {
    let (run, scope) = (claim.run(), claim.scope());
    if run.cancel_requested {
        return store.finish_run(claim, RunEnd::Cancelled).await.map(drop);
    }
    let fail_early = |message: String| async move {
        let error = failure(None, &message);
        store.finish_run(claim, RunEnd::Failed { error: &error }).await.map(drop)
    };
    let definition = match definitions.get(store, claim).await? {
        Ok(definition) => definition,
        Err(message) => return fail_early(message).await,
    };
    let Some(trigger) = trigger_node(&definition, run) else {
        return fail_early(format!("the workflow has no trigger for a `{}` run", run.trigger)).await;
    };
    let plan = match Plan::new(&definition, &trigger.name) {
        Ok(plan) => plan,
        Err(error) => return fail_early(error.to_string()).await,
    };
    let answer = webhook_answer(trigger);
    // Only the first `respond_to_webhook` to run answers, as in n8n.
    let mut responded = run.response.is_some();

    let exprs = Arc::new(JsExpressions::new(RunContext {
        execution_id: run.id.to_string(),
        execution_mode: if run.trigger == "manual" { "test" } else { "production" }.to_string(),
        workflow_id: run.workflow.to_string(),
        workflow_name: claim.workflow_name().to_owned(),
        // Not known here yet; n8n's `$workflow.active` is rarely read.
        workflow_active: false,
        vars: serde_json::Map::new(),
        // No allow-list is configured yet, so `$env` is empty.
        env: serde_json::Map::new(),
        node_outputs: HashMap::new(),
        previous_nodes: RunContext::previous_nodes(&definition.connections),
        timezone: String::new(),
        now: None,
    }));
    // The trigger is settled by the plan, not executed: its output is the run's input.
    exprs.record_node_output(&trigger.name, input_items(&run.input));
    let recorded = if claim.may_have_steps() { store.recorded_steps(scope, &run.id).await? } else { Vec::new() };
    let mut progress = Progress::resume(input_items(&run.input), recorded, &exprs);

    let execution = Execution {
        store,
        effects,
        claim,
        definition: &definition,
        exprs: Arc::clone(&exprs),
        cancel,
        max_items_per_output: limits.max_items_per_output,
    };
    let max_concurrency =
        definition.settings.max_concurrency.map_or(DEFAULT_MAX_CONCURRENCY, |n| usize::try_from(n.max(1)).unwrap_or(1));
    let deadline = definition.settings.timeout_ms.map(|ms| run.started_at.unwrap_or_else(now_ms) + ms as i64);
    let heartbeat = Heartbeat::start(store, claim, limits.lease, cancel, exprs.interrupter());
    // Attempts recorded but not yet written, and when the last checkpoint was.
    let mut pending = Checkpoint::new();
    let mut checkpointed = Instant::now();
    loop {
        match heartbeat.state() {
            Renewal::Held => {}
            Renewal::CancelRequested => pending.end(RunEnd::Cancelled),
            Renewal::Lost => return Err(StoreError::LeaseLost),
        }
        if cancel.is_cancelled() {
            pending.end(RunEnd::Cancelled);
        }
        if deadline.is_some_and(|deadline| now_ms() > deadline) {
            queue_error_run(store, claim, &definition, RunStatus::TimedOut, None, &mut pending).await?;
            pending.end(RunEnd::TimedOut);
        }
        if pending.ends_run() {
            return store.checkpoint(claim, pending).await.map(drop);
        }
        let frontier = plan.frontier(&progress.state);
        if frontier.ready.is_empty() {
            let output = run_output(&definition, &progress.state);
            if let Some(WebhookAnswer { mode: ResponseMode::LastNode, data, field }) = &answer {
                pending.respond(&respond::last_node_response(*data, field, &progress.last_output));
            }
            pending.end(RunEnd::Succeeded { output: &output });
            return store.checkpoint(claim, pending).await.map(drop);
        }
        // Activations ready together are on the same pass of any loop they share.
        for pass in frontier.ready.iter().flat_map(|activation| &activation.loops) {
            exprs.record_loop_pass(pass);
        }
        let (with_effects, computed): (Vec<Activation>, Vec<Activation>) =
            frontier.ready.into_iter().partition(|activation| has_effects(activation.kind));

        let mut stopped = None;
        // The heartbeat interrupted the sandbox; the loop's next turn ends the run as it says.
        let mut interrupted = false;
        let mut flush_now = false;
        for activation in computed {
            let node = &definition.nodes[activation.node];
            let key = step_key(&activation);
            let attempt = progress.attempts(&key);
            if activation.kind == NodeKind::Wait {
                let now = now_ms();
                let seen = progress.first_seen.get(&key).copied().unwrap_or(now);
                match wait_until(node, &activation.inputs, exprs.as_ref(), seen) {
                    Ok(due) if due > now => {
                        // One skipped attempt marks each release of the worker; the run sleeps
                        // without a lease until it is due.
                        let input = serde_json::to_value(&activation.inputs).unwrap_or(Value::Null);
                        let step =
                            StepStart { node: &node.name, activation: &key, attempt: attempt + 1, input: Some(&input) };
                        pending.record(step, now, StepOutcome::Skipped, None);
                        pending.park(due);
                        return store.checkpoint(claim, pending).await.map(drop);
                    }
                    Ok(_) => {}
                    Err(message) => {
                        stopped = Some(failure(Some(&node.name), &message));
                        break;
                    }
                }
            }
            if activation.kind == NodeKind::ExecuteWorkflow {
                let wait_ms = node.timeout_ms.or(definition.settings.timeout_ms).unwrap_or(DEFAULT_CHILD_WAIT_MS);
                let first_seen = progress.first_seen.get(&key).copied().unwrap_or_else(now_ms);
                let due = first_seen.saturating_add(i64::try_from(wait_ms).unwrap_or(i64::MAX));
                let step = |attempt| StepStart { node: &node.name, activation: &key, attempt, input: None };
                let result = match progress.children.get(&key) {
                    None => match child_request(store, claim, node, &activation.inputs, exprs.as_ref()).await? {
                        Ok(RunRequest { workflow, version, input }) => {
                            let new = NewRun {
                                workflow: &workflow,
                                version,
                                input: &input,
                                trigger: CHILD_TRIGGER,
                                trigger_node: None,
                            };
                            let child = pending.enqueue(QueuedRun { new, child: true });
                            let note = json!({ CHILD_RUN: child });
                            pending.record(step(attempt + 1), now_ms(), StepOutcome::Paused { note: &note }, None);
                            pending.park(due);
                            return store.checkpoint(claim, pending).await.map(drop);
                        }
                        Err(message) => Err(message),
                    },
                    Some(child) => match child_result(&store.run(scope, child).await?) {
                        Some(result) => result.map(|outputs| always_output(node, outputs)),
                        None if now_ms() < due => {
                            // Woken early (a requeue): wait on.
                            pending.park(due);
                            return store.checkpoint(claim, pending).await.map(drop);
                        }
                        None => Err(format!("the sub-workflow run {child} did not end within {wait_ms} ms")),
                    },
                };
                pending.record(step(attempt + 1), first_seen, Recorded::of(&result).outcome(), None);
                let settled = match result {
                    Ok(outputs) => Settled::Outputs(outputs),
                    Err(message) => settle_failure(node, &activation, message),
                };
                match settled {
                    Settled::Outputs(outputs) => progress.accept(&exprs, activation, key, attempt + 1, outputs),
                    Settled::Stop(message) => {
                        stopped = Some(failure(Some(&node.name), &message));
                        break;
                    }
                    Settled::Interrupted => {
                        interrupted = true;
                        break;
                    }
                }
                continue;
            }
            match execution.settle(&activation, &key, attempt, &mut pending).await? {
                (attempt, Settled::Outputs(outputs)) => {
                    let answers = answer.as_ref().is_some_and(|answer| answer.mode == ResponseMode::RespondNode);
                    if activation.kind == NodeKind::RespondToWebhook && answers && !responded {
                        match respond::node_response(node, &activation.inputs, exprs.as_ref()) {
                            Ok(response) => {
                                pending.respond(&response);
                                responded = true;
                                // The request waits for this: write it now, not with the next checkpoint.
                                flush_now = true;
                            }
                            Err(message) => {
                                stopped = Some(failure(Some(&node.name), &message));
                                break;
                            }
                        }
                    }
                    progress.accept(&exprs, activation, key, attempt, outputs)
                }
                (_, Settled::Stop(message)) => {
                    stopped = Some(failure(Some(&node.name), &message));
                    break;
                }
                (_, Settled::Interrupted) => {
                    interrupted = true;
                    break;
                }
            }
        }

        if stopped.is_none() && !interrupted && !with_effects.is_empty() {
            let settled: Vec<_> = futures_util::stream::iter(with_effects.into_iter().map(|activation| {
                let execution = &execution;
                let key = step_key(&activation);
                let attempt = progress.attempts(&key);
                async move {
                    let mut log = Checkpoint::new();
                    let settled = execution.settle(&activation, &key, attempt, &mut log).await;
                    (activation, key, log, settled)
                }
            }))
            .buffered(max_concurrency)
            .collect()
            .await;
            for (activation, key, log, settled) in settled {
                pending.append(log);
                match settled? {
                    (attempt, Settled::Outputs(outputs)) => progress.accept(&exprs, activation, key, attempt, outputs),
                    (_, Settled::Stop(message)) => {
                        let node = &definition.nodes[activation.node].name;
                        stopped = stopped.or_else(|| Some(failure(Some(node), &message)));
                    }
                    // The next turn ends the run.
                    (_, Settled::Interrupted) => {}
                }
            }
        }

        if let Some(error) = stopped {
            queue_error_run(store, claim, &definition, RunStatus::Failed, Some(&error), &mut pending).await?;
            pending.end(RunEnd::Failed { error: &error });
            return store.checkpoint(claim, pending).await.map(drop);
        }
        if (flush_now || checkpointed.elapsed() >= CHECKPOINT_EVERY) && !pending.is_empty() {
            store.checkpoint(claim, std::mem::take(&mut pending)).await?;
            checkpointed = Instant::now();
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
