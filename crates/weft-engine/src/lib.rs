//! Weft's workflow model: the definition format, its validation, the catalogue of node types and
//! the planning of a run (which nodes are ready, given what has completed). Nothing here performs
//! I/O; executing nodes belongs to the worker. `docs/workflow-format.md` describes the format.
#![forbid(unsafe_code)]

pub mod catalog;
pub mod definition;
mod formats;
mod graph;
pub mod item;
pub mod params;
pub mod plan;
mod pointer;
pub mod validate;

pub use catalog::{NodeKind, node_outputs};
pub use definition::{DefinitionProblem, NodeDef, WorkflowDef, parse};
pub use item::{BinaryRef, Item};
pub use plan::{Activation, ActivationKey, Frontier, Plan, PlanError, RunState};
pub use validate::validate;
