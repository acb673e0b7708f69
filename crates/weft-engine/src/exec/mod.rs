//! Executing the node types that need neither I/O nor the sandbox: given one activation's input
//! items, what goes out on each output.
//!
//! The worker calls [`execute`] for each ready activation, with an [`Expressions`] evaluator for
//! the run. Everything else a node does (retries, timeouts, `on_error`, recording the step) is
//! the worker's; here a failure is simply an `Err`. `docs/workflow-format.md` describes what each
//! node type does.

mod compare;
mod condition;
mod crypto;
mod date_time;
mod expression;
mod html;
mod list;
mod markdown;
mod merge;
mod path;
mod reshape;
mod set;
mod summarize;
mod xml;

use serde::de::DeserializeOwned;
use serde_json::Value;

use self::expression::Resolver;
pub use self::expression::{ExpressionError, Expressions, ItemContext, NoExpressions, WithGlobals};
use crate::catalog::NodeKind;
use crate::definition::{NodeDef, OnError, read};
use crate::item::Item;
use crate::params::{RemoveDuplicatesParams, StopAndErrorParams};
use crate::pointer::Pointer;

/// Why an activation failed. Each message is written for the workflow's author and, but for a
/// `stop_and_error`'s own message, names the node; errors about a param carry its pointer,
/// relative to the node (`/params/…`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NodeError {
    /// An expression in a param failed to evaluate.
    #[error("`{node}`: the expression `{expression}` at {pointer} failed on item {item}: {error}")]
    Expression {
        node: String,
        pointer: String,
        /// As written in the param, `{{ … }}` included.
        expression: String,
        /// The item's index in its input.
        item: usize,
        /// Shown in the message, so not also given as the error's source.
        error: ExpressionError,
    },
    /// A param is unusable: it does not have its type's shape, or an expression gave a value
    /// of the wrong kind, or a pattern does not compile.
    #[error("`{node}`: {pointer}: {message}")]
    Param { node: String, pointer: String, message: String },
    /// A `stop_and_error` node stopped with its message.
    #[error("{message}")]
    Stopped { node: String, message: String },
    /// Triggers and loops are settled by the run's planner and never executed.
    #[error("`{node}` is a `{}` node, which the run's planner settles; it is never executed", .kind.type_name())]
    NotExecutable { node: String, kind: NodeKind },
    /// The node type needs what only the worker has (`needs`: its sandbox, its HTTP client…).
    #[error("`{node}` is a `{}` node, which runs in the worker with its {needs}; that part of the worker is not built yet", .kind.type_name())]
    Unsupported { node: String, kind: NodeKind, needs: &'static str },
}

impl NodeError {
    /// The name of the node that failed.
    pub fn node(&self) -> &str {
        match self {
            NodeError::Expression { node, .. }
            | NodeError::Param { node, .. }
            | NodeError::Stopped { node, .. }
            | NodeError::NotExecutable { node, .. }
            | NodeError::Unsupported { node, .. } => node,
        }
    }

    /// The failing param's JSON pointer, relative to the node (`/params/assignments/0/value`).
    pub fn pointer(&self) -> Option<&str> {
        match self {
            NodeError::Expression { pointer, .. } | NodeError::Param { pointer, .. } => Some(pointer),
            NodeError::Stopped { .. } | NodeError::NotExecutable { .. } | NodeError::Unsupported { .. } => None,
        }
    }
}

/// Executes one activation of `node`, whose type is `kind`: `inputs` holds its items per input,
/// and the result one list of items per output, as many as [`crate::node_outputs`] names (with
/// `on_error: error_output`, the `error` output comes last, empty: routing failures there is
/// the worker's business). The node's params must have passed validation; params that do not
/// read give [`NodeError::Param`] rather than a panic.
pub fn execute(
    node: &NodeDef,
    kind: NodeKind,
    inputs: Vec<Vec<Item>>,
    exprs: &dyn Expressions,
) -> Result<Vec<Vec<Item>>, NodeError> {
    // Moving `inputs` keeps its items where they are, so the contexts point into the slice.
    exprs.begin_activation(&inputs);
    let executed = execute_activation(node, kind, inputs, exprs);
    exprs.end_activation();
    executed
}

fn execute_activation(
    node: &NodeDef,
    kind: NodeKind,
    inputs: Vec<Vec<Item>>,
    exprs: &dyn Expressions,
) -> Result<Vec<Vec<Item>>, NodeError> {
    let resolver = Resolver::new(&node.name, exprs);
    let mut outputs = match kind {
        NodeKind::Set => set::set(params(node)?, inputs, &resolver)?,
        NodeKind::If => condition::route_if(params(node)?, inputs, &resolver)?,
        NodeKind::Filter => condition::filter(params(node)?, inputs, &resolver)?,
        NodeKind::Switch => condition::switch(params(node)?, inputs, &resolver)?,
        NodeKind::Merge => merge::merge(params(node)?, inputs, &resolver)?,
        NodeKind::Sort => list::sort(params(node)?, inputs),
        NodeKind::Limit => list::limit(params(node)?, inputs, &resolver)?,
        NodeKind::Aggregate => list::aggregate(params(node)?, inputs),
        NodeKind::RemoveDuplicates => {
            let params: RemoveDuplicatesParams = params(node)?;
            if params.across_runs.is_some() {
                return Err(unsupported(node, kind, "history of earlier runs"));
            }
            list::remove_duplicates(params, inputs)
        }
        NodeKind::SplitOut => reshape::split_out(params(node)?, inputs),
        NodeKind::RenameKeys => reshape::rename_keys(params(node)?, inputs, &resolver)?,
        NodeKind::Crypto => crypto::crypto(params(node)?, inputs, &resolver)?,
        NodeKind::HtmlExtract => html::html_extract(params(node)?, inputs, &resolver)?,
        NodeKind::HtmlTable => html::html_table(params(node)?, inputs, &resolver)?,
        NodeKind::Markdown => markdown::markdown(params(node)?, inputs, &resolver)?,
        NodeKind::Xml => xml::xml(params(node)?, inputs, &resolver)?,
        NodeKind::DateTime => date_time::date_time(params(node)?, inputs, &resolver)?,
        NodeKind::Summarize => summarize::summarize(params(node)?, inputs),
        NodeKind::CompareDatasets => merge::compare_datasets(params(node)?, inputs, &resolver)?,
        NodeKind::NoOp => vec![first_input(inputs)],
        NodeKind::StopAndError => return Err(stop(params(node)?, &inputs, &resolver)),
        NodeKind::ManualTrigger
        | NodeKind::WebhookTrigger
        | NodeKind::ScheduleTrigger
        | NodeKind::EventTrigger
        | NodeKind::Loop
        | NodeKind::N8nUnsupported => {
            return Err(NodeError::NotExecutable { node: node.name.clone(), kind });
        }
        NodeKind::Code => return Err(unsupported(node, kind, "JavaScript sandbox")),
        NodeKind::HttpRequest | NodeKind::Graphql => return Err(unsupported(node, kind, "outbound HTTP client")),
        NodeKind::Wait => return Err(unsupported(node, kind, "wake-up scheduler")),
        NodeKind::ExecuteWorkflow => return Err(unsupported(node, kind, "sub-workflow runs")),
        NodeKind::SendEmail => return Err(unsupported(node, kind, "mailer")),
        NodeKind::RespondToWebhook => return Err(unsupported(node, kind, "webhook responses")),
    };
    if node.on_error == OnError::ErrorOutput {
        outputs.push(Vec::new());
    }
    Ok(outputs)
}

/// The node's params with every expression evaluated for one item, read as its type's struct:
/// how the node types the worker executes itself (they do I/O) read their params, item by item.
pub fn resolve_params<P: DeserializeOwned>(
    node: &NodeDef,
    context: &ItemContext<'_>,
    exprs: &dyn Expressions,
) -> Result<P, NodeError> {
    resolve_param(&node.name, &Value::Object(node.params.clone()), &[], context, exprs)
}

/// One param of node `node`, found at `params/<path…>`, with every expression evaluated for
/// one item, read as `P`: for params evaluated apart from the others (an HTTP request's
/// pagination, after each page). Failures are located at the param's pointer.
pub fn resolve_param<P: DeserializeOwned>(
    node: &str,
    raw: &Value,
    path: &[&str],
    context: &ItemContext<'_>,
    exprs: &dyn Expressions,
) -> Result<P, NodeError> {
    let at = path.iter().fold(Pointer::root().key("params"), |at, key| at.key(key));
    let resolved = Resolver::new(node, exprs).value(raw, &at, context)?;
    read(&resolved, &at).map_err(|problem| NodeError::Param {
        node: node.to_owned(),
        pointer: problem.pointer,
        message: problem.detail,
    })
}

fn unsupported(node: &NodeDef, kind: NodeKind, needs: &'static str) -> NodeError {
    NodeError::Unsupported { node: node.name.clone(), kind, needs }
}

/// The node's params read as its type's struct.
fn params<P: DeserializeOwned>(node: &NodeDef) -> Result<P, NodeError> {
    read(&Value::Object(node.params.clone()), &Pointer::root().key("params")).map_err(|problem| NodeError::Param {
        node: node.name.clone(),
        pointer: problem.pointer,
        message: problem.detail,
    })
}

/// The items of input 0, which every node type but `merge` reads alone.
fn first_input(inputs: Vec<Vec<Item>>) -> Vec<Item> {
    inputs.into_iter().next().unwrap_or_default()
}

/// `stop_and_error`'s message is evaluated for the first item, as n8n does (for no item at all,
/// an empty one).
fn stop(params: StopAndErrorParams, inputs: &[Vec<Item>], resolver: &Resolver<'_>) -> NodeError {
    let empty = Item::default();
    let context =
        resolver.first(inputs).unwrap_or(ItemContext { node: resolver.node, item: &empty, index: 0, input: 0, inputs });
    match resolver.text(&params.message, &Pointer::root().key("params").key("message"), &context) {
        Ok(message) => NodeError::Stopped { node: resolver.node.to_string(), message },
        Err(error) => error,
    }
}
