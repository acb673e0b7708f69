//! Weft's workflow model: the definition format, its validation, the catalogue of node types and
//! the planning of a run (which nodes are ready, given what has completed). Nothing here performs
//! I/O; executing nodes belongs to the worker.
#![forbid(unsafe_code)]

pub mod definition;

pub use definition::{DefinitionProblem, WorkflowDef, parse, validate};
