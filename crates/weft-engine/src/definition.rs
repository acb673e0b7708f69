//! The workflow definition: nodes, connections and settings, as stored in a version.

use serde::{Deserialize, Serialize};

/// One problem in a definition, located by a JSON pointer relative to the definition's root
/// (e.g. `/nodes/2/params/url`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefinitionProblem {
    pub pointer: String,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowDef {
    #[serde(default)]
    pub nodes: Vec<serde_json::Value>,
    #[serde(default)]
    pub connections: Vec<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<serde_json::Value>,
}

/// Reads a definition. Fails when the value does not have the definition's shape (a wrong type,
/// an unknown field); the first such problem is reported with its pointer.
pub fn parse(value: &serde_json::Value) -> Result<WorkflowDef, Vec<DefinitionProblem>> {
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        let pointer = if path == "." { String::new() } else { format!("/{}", path.replace('.', "/")) };
        vec![DefinitionProblem { pointer, detail: error.into_inner().to_string() }]
    })
}

/// Every rule the definition breaks, all at once. An empty list means it can be published.
pub fn validate(definition: &WorkflowDef) -> Vec<DefinitionProblem> {
    if definition.nodes.is_empty() {
        return vec![DefinitionProblem {
            pointer: "/nodes".into(),
            detail: "a workflow needs at least a trigger".into(),
        }];
    }
    Vec::new()
}
