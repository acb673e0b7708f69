//! Weft's workflow model: the definition format, its validation, the catalogue of node types, the
//! planning of a run (which nodes are ready, given what has completed) and the execution of the
//! node types that need no I/O. Nothing here performs I/O: the worker executes the other node
//! types and evaluates expressions. `docs/workflow-format.md` describes the format.
#![forbid(unsafe_code)]

pub mod catalog;
pub mod definition;
pub mod digest;
pub mod exec;
mod formats;
mod graph;
pub mod item;
pub mod n8n;
pub mod params;
pub mod plan;
mod pointer;
pub mod trigger_params;
pub mod validate;

pub use catalog::{NodeKind, node_outputs};
pub use definition::{DefinitionProblem, NodeDef, WorkflowDef, parse};
pub use exec::{ExpressionError, Expressions, ItemContext, NoExpressions, NodeError, execute};
pub use item::{BinaryRef, Item};
pub use plan::{Activation, ActivationKey, Frontier, LoopPass, Plan, PlanError, RunState};
pub use validate::validate;
