//! weft-engine's integration tests, one binary: planning and node execution through the public
//! API, and the examples of `docs/workflow-format.md`.

mod doc_examples;
mod n8n_corpus;
mod nodes;
mod planning;
