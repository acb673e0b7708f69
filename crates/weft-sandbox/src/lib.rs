//! Weft's sandboxes: n8n-style `{{ … }}` expressions evaluated in QuickJS, behind
//! `weft_engine`'s [`Expressions`] trait, and `code` nodes' JavaScript in the same runtime.
//!
//! [`JsExpressions`] is made for one run (or one activation) with what the whole run shares, a
//! [`RunContext`]; each evaluation brings its item through [`ItemContext`]. One QuickJS runtime
//! and context serve every evaluation of the evaluator, and each distinct expression is compiled
//! once, into a function that takes the item's globals as arguments. Only the globals an
//! expression mentions are converted for it (`$json`, `$binary`, `$input`), and node outputs for
//! `$('Node')` are converted the first time an expression asks for them.
//!
//! An evaluation of `$json.a + 1` takes about 1 µs (release build). An expression that mentions
//! `$input` needs the whole input converted. An [`ItemContext`] borrows its input only for the
//! call, so the caller says when calls belong together: between
//! [`Expressions::begin_activation`] and [`Expressions::end_activation`] (`weft_engine::execute`
//! calls them around each activation) the input is converted for the first item that reads it and
//! kept for the others, so `$input.all()` over n items converts n items, not n². An evaluation
//! outside an announced activation, or whose context points elsewhere, converts it afresh.
//!
//! Building the engine, on an evaluator's first evaluation, costs about 0.9 ms (release build):
//! about 0.65 ms compiling the prelude that defines the globals, 0.15 ms for the context and
//! its intrinsics, 0.02 ms for the runtime (`where_building_an_engine_goes` and
//! `what_an_evaluator_costs`, both ignored tests, print the figures). The date and extension
//! library costs about 8 ms more (debug build), paid only by a run whose expressions use it. Engines are not pooled
//! between runs all the same: a script can change the intrinsics (`Array.prototype.map = …`)
//! as well as define globals, so no reset short of a fresh context keeps one run's state from
//! the next run, maybe another workspace's. Checking every intrinsic for changes took 7 ms
//! here, and freezing them breaks ordinary code (`this.name = …` in an `Error` subclass).
//!
//! # What expressions see
//! - `$json`, `$binary` (attachment references with Weft's field names: `key`, `mime_type`,
//!   `size`, `file_name`), `$itemIndex`.
//! - `$input.item`, `$input.all()`, `$input.first()`, `$input.last()`: items are `{json, binary}`.
//! - `$('Node').all()`, `.first()`, `.last()`, `.item`, `.itemMatching(i)` and `.isExecuted`,
//!   from the node's recorded first output; `$items('Node')` as `.all()`. `.item` approximates
//!   n8n's paired item by position: it is the item at the same index as the one being
//!   evaluated, which is right for nodes that map items one to one.
//! - `$node["Node"].json` and `.binary`: the node's first item.
//! - `$prevNode` (`name`, `outputIndex`, `runIndex`), from [`RunContext::previous_nodes`], and
//!   `$runIndex`, always 0.
//! - `$now`, `$today`, `DateTime` and `Duration`: a subset of Luxon written for the sandbox
//!   (luxon.js), in [`RunContext::timezone`]; n8n's extension methods on strings, arrays,
//!   numbers, objects and dates (extensions.js); `$jmespath` (jmespath.js); `$if`, `$ifEmpty`,
//!   `$max`, `$min`. docs/expressions.md lists what each covers. The library is compiled when an
//!   evaluation first needs it (a date, or a call of an extension method), as it costs several
//!   times what the rest of an engine does.
//! - `$vars`, `$env` (exactly the allow-listed values given), `$execution.id`, `.mode`,
//!   `$workflow.id`, `.name`, `.active`. These, node outputs and `$input`'s items are frozen (one
//!   item's expression must not change what the next one reads): `[...$input.all()].sort()`, not
//!   `.sort()` in place.
//!
//! Nothing of a host is there: no `require`, `process`, modules, `console`, `fetch`, timers or
//! file access. Expressions run in strict mode. Globals an expression assigns survive into later
//! evaluations of the same evaluator (one run, one workflow), until a limit rebuilds the engine.
//!
//! # Code nodes
//! [`JsExpressions::run_code`] runs a `code` node's JavaScript in the same runtime, with the same
//! globals and limits, plus `items` or `item`, and a `console` whose lines come back with the
//! result. Its deadline is the node's own when it has one.
//!
//! # Limits
//! Each evaluation has a deadline ([`Limits::deadline`], 5 s by default), enforced by QuickJS's
//! interrupt handler, which stops even `while (true) {}` inside `try`/`catch`. The runtime has a
//! memory limit ([`Limits::memory_bytes`], 64 MB by default) covering everything it holds. After
//! either limit stops an evaluation the runtime is discarded and the next evaluation starts on a
//! fresh one, so a script that filled memory cannot fail the ones after it.
//!
//! # Cancelling
//! [`JsExpressions::interrupter`] gives an [`Interrupter`] for the task that learns of a run's
//! cancel. Its `interrupt()` stops the running evaluation through the same interrupt handler as
//! the deadline, `while (true) {}` in `try`/`catch` included (0.3 to 9 ms later, measured in a
//! debug build on a busy machine), and every later evaluation of the evaluator fails at once;
//! both with "the run was cancelled", which a code node's [`CodeError`] marks as
//! [`CodeErrorKind::Cancelled`]. The runtime is discarded, as after a limit.

#![forbid(unsafe_code)]

mod activation;
mod code;
mod convert;
mod engine;
mod interrupt;
pub mod n8n_surface;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::Duration;

use serde_json::{Map, Value, json};
use weft_engine::definition::Connection;
use weft_engine::params::CodeMode;
use weft_engine::{ExpressionError, Expressions, Item, ItemContext, LoopPass};

use crate::activation::Announced;
use crate::code::Logs;
pub use crate::code::{CodeError, CodeErrorKind, CodeOutput, LOG_TRUNCATED};
use crate::engine::{Engine, Failure, NodeRecord, Outputs, Pass};
pub use crate::interrupt::Interrupter;

/// What every expression of a run may read besides its item.
#[derive(Debug, Clone, Default)]
pub struct RunContext {
    /// `$execution.id`.
    pub execution_id: String,
    /// `$execution.mode`: `test` for a manual run, `production` otherwise, as n8n names them.
    pub execution_mode: String,
    /// `$workflow.id`.
    pub workflow_id: String,
    /// `$workflow.name`.
    pub workflow_name: String,
    /// `$workflow.active`: whether the workflow is published.
    pub workflow_active: bool,
    /// `$vars`.
    pub vars: Map<String, Value>,
    /// `$env`: only the values the operator allow-listed, never the process environment.
    pub env: Map<String, Value>,
    /// The first output of each node that has run, by node name, for `$('Node')` and `$node`.
    /// More can be added with [`JsExpressions::record_node_output`].
    pub node_outputs: HashMap<String, Vec<Item>>,
    /// For `$prevNode`: by node name, the node and output that feed each of its inputs
    /// ([`RunContext::previous_nodes`] reads them from a definition's connections).
    pub previous_nodes: HashMap<String, Vec<Option<PreviousNode>>>,
    /// The IANA zone (or `UTC`, or an offset such as `+02:00`) of `$now`, `$today` and of
    /// times read without an offset; UTC when empty.
    pub timezone: String,
    /// A fixed time for `$now` and `DateTime.now()`, in milliseconds since the epoch; the clock
    /// when `None`. For tests.
    pub now: Option<i64>,
}

/// The node, and which of its outputs, that feeds an input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviousNode {
    pub name: String,
    pub output: usize,
}

impl RunContext {
    /// [`RunContext::previous_nodes`] from a definition's connections: for an input fed by
    /// several connections, the first.
    pub fn previous_nodes(connections: &[Connection]) -> HashMap<String, Vec<Option<PreviousNode>>> {
        let mut previous: HashMap<String, Vec<Option<PreviousNode>>> = HashMap::new();
        for connection in connections {
            let inputs = previous.entry(connection.to.clone()).or_default();
            if inputs.len() <= connection.input {
                inputs.resize(connection.input + 1, None);
            }
            inputs[connection.input]
                .get_or_insert_with(|| PreviousNode { name: connection.from.clone(), output: connection.output });
        }
        previous
    }
}

/// Resource limits of an evaluator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most memory the evaluator's QuickJS runtime may hold, compiled expressions and
    /// converted node outputs included.
    pub memory_bytes: usize,
    /// How long one evaluation may run.
    pub deadline: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { memory_bytes: 64 * 1024 * 1024, deadline: Duration::from_secs(5) }
    }
}

/// Evaluates expressions in QuickJS, one runtime per evaluator; see the crate's documentation.
///
/// `Send` and `Sync`: evaluations are serialised by a lock, so share one evaluator per run
/// rather than between concurrent activations that should run in parallel.
pub struct JsExpressions {
    limits: Limits,
    /// The object the prelude reads `$execution`, `$workflow`, `$vars` and `$env` from.
    run: Value,
    outputs: Outputs,
    slot: Mutex<Slot>,
    interrupter: Interrupter,
}

/// What evaluations take turns with.
#[derive(Default)]
struct Slot {
    /// Built on first use, and again after a limit stopped an evaluation.
    engine: Option<Engine>,
    /// The activation under way, if the caller announced one.
    activation: Option<Announced>,
}

impl JsExpressions {
    /// An evaluator with the default [`Limits`].
    pub fn new(run: RunContext) -> Self {
        JsExpressions::with_limits(run, Limits::default())
    }

    pub fn with_limits(run: RunContext, limits: Limits) -> Self {
        let RunContext {
            execution_id,
            execution_mode,
            workflow_id,
            workflow_name,
            workflow_active,
            vars,
            env,
            node_outputs,
            previous_nodes,
            timezone,
            now,
        } = run;
        let previous: Map<String, Value> = previous_nodes
            .into_iter()
            .map(|(node, inputs)| {
                let inputs = inputs
                    .into_iter()
                    .map(|feed| feed.map_or(Value::Null, |feed| json!({"name": feed.name, "outputIndex": feed.output})))
                    .collect();
                (node, Value::Array(inputs))
            })
            .collect();
        let run = json!({
            "executionId": execution_id,
            "executionMode": execution_mode,
            "workflowId": workflow_id,
            "workflowName": workflow_name,
            "workflowActive": workflow_active,
            "vars": vars,
            "env": env,
            "previous": previous,
            "zone": if timezone.is_empty() { "UTC".to_string() } else { timezone },
            "now": now,
        });
        JsExpressions {
            limits,
            run,
            outputs: Arc::new(RwLock::new(
                node_outputs.into_iter().map(|(name, items)| (name, NodeRecord { items, context: None })).collect(),
            )),
            slot: Mutex::default(),
            interrupter: Interrupter::default(),
        }
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// What stops this evaluator from another thread or task, when its run is cancelled.
    pub fn interrupter(&self) -> Interrupter {
        self.interrupter.clone()
    }

    /// Records (or replaces) `node`'s first output, which later `$('node')` calls then read.
    pub fn record_node_output(&self, node: &str, items: Vec<Item>) {
        self.record(node, NodeRecord { items, context: None });
    }

    /// Records the pass a loop is on for the expressions of its body: `$('Loop')` reads the
    /// batch, and `$node["Loop"].context` n8n's `{noItemsLeft, currentRunIndex}`.
    pub fn record_loop_pass(&self, pass: &LoopPass) {
        let context = json!({"noItemsLeft": pass.last, "currentRunIndex": pass.iteration});
        self.record(&pass.node, NodeRecord { items: pass.batch.clone(), context: Some(context) });
    }

    fn record(&self, node: &str, record: NodeRecord) {
        self.outputs.write().unwrap_or_else(PoisonError::into_inner).insert(node.to_string(), record);
        let mut slot = self.slot();
        if slot.engine.as_ref().is_some_and(|engine| !engine.forget(node)) {
            slot.engine = None;
        }
    }

    /// Runs a `code` node's JavaScript over its first input, n8n-style, in this evaluator's
    /// runtime (so with `$('Node')`, `$node`, `$vars`, `$env`, `$execution`, `$workflow`, `$now`
    /// and `$today` as expressions see them) and within its memory limit. `deadline` bounds
    /// the whole run (the node's `timeout_ms`); without one, [`Limits::deadline`] does.
    ///
    /// The source is a function body, run in sloppy mode as n8n's is:
    /// - [`CodeMode::AllItems`]: once, with `items` (and `$input.all()`, `.first()`, `.last()`),
    ///   each `{json, binary}`. It returns an array of items (`{json, binary?}`) or of plain
    ///   objects (each becomes an item's json), or one of either.
    /// - [`CodeMode::EachItem`]: once per item, with `item`, `$json`, `$binary`, `$itemIndex`
    ///   and `$input.item`. It returns an item, an object, an array of them, or `null` or
    ///   nothing to drop the item. `$('Node').item` is the node's item at the same index.
    ///
    /// `console.log`, `info`, `warn`, `error` and `debug` write one line each: the arguments
    /// joined by spaces, objects as JSON. At most 1,000 lines and 64 KB are kept, then a last
    /// [`LOG_TRUNCATED`] line. An error carries the lines written before it.
    pub fn run_code(
        &self,
        code: &str,
        mode: CodeMode,
        input: &[Item],
        deadline: Option<Duration>,
    ) -> Result<CodeOutput, CodeError> {
        let deadline = deadline.unwrap_or(self.limits.deadline);
        let pass = match mode {
            CodeMode::AllItems => Pass::All,
            CodeMode::EachItem => Pass::Each,
        };
        let logs = Arc::new(Mutex::new(Logs::default()));
        let outcome = self.with_engine(|engine, _| engine.run_code(code, pass, input, deadline, &logs));
        // The console's function may still hold the log until QuickJS collects it.
        let logs = std::mem::take(&mut *logs.lock().unwrap_or_else(PoisonError::into_inner)).into_lines();
        match outcome {
            Ok(items) => Ok(CodeOutput { items, logs }),
            Err(failure) => {
                let kind = match failure {
                    Failure::Timeout => CodeErrorKind::Timeout,
                    Failure::OutOfMemory => CodeErrorKind::OutOfMemory,
                    Failure::Cancelled => CodeErrorKind::Cancelled,
                    Failure::Script(_) => CodeErrorKind::Script,
                };
                Err(CodeError { kind, message: self.message(failure, "code", deadline), logs })
            }
        }
    }

    fn slot(&self) -> MutexGuard<'_, Slot> {
        // A panic while the lock was held may have left the engine mid-evaluation: start afresh.
        self.slot.lock().unwrap_or_else(|poisoned| {
            let mut slot = poisoned.into_inner();
            slot.engine = None;
            self.slot.clear_poison();
            slot
        })
    }

    /// Runs `job` on the engine, building one first if there is none, with the activation under
    /// way; discards the engine after a failure that spoils it.
    fn with_engine<T>(
        &self,
        job: impl FnOnce(&mut Engine, Option<&Announced>) -> Result<T, Failure>,
    ) -> Result<T, Failure> {
        let mut slot = self.slot();
        let Slot { engine: built, activation } = &mut *slot;
        if self.interrupter.is_interrupted() {
            *built = None;
            return Err(Failure::Cancelled);
        }
        if built.as_ref().is_some_and(Engine::is_full) {
            *built = None;
        }
        let engine = match built {
            Some(engine) => engine,
            None => {
                built.insert(Engine::new(&self.limits, &self.run, Arc::clone(&self.outputs), self.interrupter.clone())?)
            }
        };
        job(engine, activation.as_ref()).inspect_err(|failure| {
            if failure.spoils_engine() {
                *built = None;
            }
        })
    }

    /// Makes `activation` the one under way, and lets the engine drop the inputs it kept for
    /// the one before.
    fn announce(&self, activation: Option<Announced>) {
        let mut slot = self.slot();
        slot.activation = activation;
        if slot.engine.as_ref().is_some_and(|engine| !engine.forget_inputs()) {
            slot.engine = None;
        }
    }

    /// The text of a failure of `what` ("expression" or "code") that had `deadline`.
    fn message(&self, failure: Failure, what: &str, deadline: Duration) -> String {
        match failure {
            Failure::Timeout => format!("the {what} took longer than {} ms and was stopped", deadline.as_millis()),
            Failure::OutOfMemory => format!(
                "the {what} ran out of memory (the limit is {} MB)",
                self.limits.memory_bytes.div_ceil(1024 * 1024)
            ),
            Failure::Cancelled => "the run was cancelled".to_string(),
            Failure::Script(message) => message,
        }
    }
}

impl Expressions for JsExpressions {
    fn evaluate(&self, expression: &str, context: &ItemContext<'_>) -> Result<Value, ExpressionError> {
        self.evaluate_with_globals(expression, context, &Map::new())
    }

    fn evaluate_with_globals(
        &self,
        expression: &str,
        context: &ItemContext<'_>,
        globals: &Map<String, Value>,
    ) -> Result<Value, ExpressionError> {
        self.with_engine(|engine, activation| {
            let keep = activation.is_some_and(|activation| activation.holds(context));
            engine.evaluate(expression, context, self.limits.deadline, keep, globals)
        })
        .map_err(|failure| ExpressionError::new(self.message(failure, "expression", self.limits.deadline)))
    }

    /// Until [`Expressions::end_activation`], an expression that mentions `$input` reads the
    /// input converted for the first item that needed it rather than converting it again.
    fn begin_activation(&self, inputs: &[Vec<Item>]) {
        self.announce(Some(Announced::new(inputs)));
    }

    fn end_activation(&self) {
        self.announce(None);
    }
}

impl fmt::Debug for JsExpressions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsExpressions").field("limits", &self.limits).finish_non_exhaustive()
    }
}
