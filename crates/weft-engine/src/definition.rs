//! The workflow definition: nodes, connections and settings, as stored in a version.
//!
//! The types here only describe the *shape* of a definition, which [`parse`] checks: a draft
//! that breaks rules (an unknown node type, bad params, a cycle) still parses, so it can be saved
//! and fixed later. The rules are [`crate::validate`]'s business. Node params stay a JSON object
//! here because their shape depends on the node's type; the catalogue checks them.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::pointer::Pointer;

/// One problem in a definition, located by a JSON pointer relative to the definition's root
/// (e.g. `/nodes/2/params/url`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefinitionProblem {
    pub pointer: String,
    pub detail: String,
}

/// A whole definition. What a version stores is `serde_json::to_value` of this, which parses
/// back to an equal value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowDef {
    #[serde(default)]
    pub nodes: Vec<NodeDef>,
    #[serde(default)]
    pub connections: Vec<Connection>,
    #[serde(default, skip_serializing_if = "Settings::is_empty")]
    pub settings: Settings,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeDef {
    /// Unique within the definition: connections and expressions (`$('Name')`) refer to it.
    pub name: String,
    /// A catalogue type name such as `http_request`. Kept as a string so that a draft with an
    /// unknown type still parses and validation can say which types exist.
    #[serde(rename = "type")]
    pub node_type: String,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub params: Map<String, Value>,
    /// Where the editor draws the node; the engine ignores it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<[f64; 2]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryPolicy>,
    /// How long one attempt may take.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "OnError::is_stop")]
    pub on_error: OnError,
    /// A disabled node does not run: it hands its first input on as its first output.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
    /// The node runs on the first item of each input only (n8n's "execute once").
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub execute_once: bool,
    /// When a run of the node emits no item at all, its first output gets one empty item
    /// (n8n's "always output data"), so that what follows still runs.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub always_output: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// Named credential slots (an imported n8n node's credential references, by credential
    /// type), kept so that an export restores them; Weft fills them in later.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub credentials: BTreeMap<String, CredentialSlot>,
}

/// A credential the node needs, as its source named it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialSlot {
    /// The credential's name where the workflow came from (`Slack account`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The id n8n gave the credential, so that an export back to n8n finds it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n8n_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryPolicy {
    /// Attempts in all, the first one included: 1 means no retry.
    pub max_attempts: u32,
    pub backoff: Backoff,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Backoff {
    pub kind: BackoffKind,
    /// The delay before the first retry.
    pub initial_ms: u64,
    /// The longest delay between attempts, whatever the kind.
    pub max_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackoffKind {
    /// Every retry waits `initial_ms`.
    Fixed,
    /// Retry `n` (from 1) waits `initial_ms * 2^(n-1)`, capped at `max_ms`.
    Exponential,
}

/// What a failure of the node (after its retries) does to the run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnError {
    /// The run fails.
    #[default]
    Stop,
    /// The run goes on; the node's output carries the error instead of results.
    Continue,
    /// The node gets one more output, `error`, which receives the failed items.
    ErrorOutput,
}

impl OnError {
    fn is_stop(&self) -> bool {
        *self == OnError::Stop
    }
}

/// An edge from one node's output to another node's input, both counted from 0.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Connection {
    pub from: String,
    #[serde(default)]
    pub output: usize,
    pub to: String,
    #[serde(default)]
    pub input: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// How long a whole run may take, waits included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// The workflow (`wf_…`) started with a summary when a run of this one fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_workflow: Option<String>,
    /// How many of one run's nodes may execute at the same time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrency: Option<u32>,
    /// n8n's `settings.executionOrder` of an imported workflow: its nodes then run one at a
    /// time, in the order n8n would run them (see [`crate::Plan`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_order: Option<ExecutionOrder>,
    /// Sample items by node name (n8n's `pinData`), kept as test input: a list of items
    /// (`{"json": …}`) per node.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pin_data: BTreeMap<String, Vec<Value>>,
}

/// n8n's two orders of running branches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExecutionOrder {
    /// n8n's legacy order: the first node of every branch, then the second of every branch…,
    /// branches in connection order.
    V0,
    /// n8n's order since 1.0: branches in canvas order, top to bottom, then left to right.
    V1,
}

impl Settings {
    fn is_empty(&self) -> bool {
        *self == Settings::default()
    }
}

/// Reads a definition. Fails when the value does not have the definition's shape (a wrong type,
/// an unknown or missing field). Each node, connection and the settings are read on their own,
/// so one mistake per element is reported rather than only the first in the document.
pub fn parse(value: &Value) -> Result<WorkflowDef, Vec<DefinitionProblem>> {
    let misplaced = arrays_for_objects(value);
    if !misplaced.is_empty() {
        return Err(misplaced);
    }
    match read::<WorkflowDef>(value, &Pointer::root()) {
        Ok(definition) => Ok(definition),
        Err(first) => {
            let mut problems = problems_by_element(value);
            if problems.is_empty() {
                problems.push(first);
            }
            Err(problems)
        }
    }
}

/// serde reads a struct from an array too, by position; a definition's objects are refused in
/// that form so that what is stored always reads the same way as what was sent.
fn arrays_for_objects(value: &Value) -> Vec<DefinitionProblem> {
    let mut problems = Vec::new();
    let mut expect_object = |value: Option<&Value>, at: Pointer| {
        if let Some(found @ (Value::Array(_) | Value::Bool(_) | Value::Number(_) | Value::String(_))) = value {
            let kind = match found {
                Value::Array(_) => "an array",
                Value::Bool(_) => "a boolean",
                Value::Number(_) => "a number",
                _ => "a string",
            };
            problems.push(at.problem(format!("expected an object, found {kind}")));
        }
    };
    let root = Pointer::root();
    expect_object(Some(value), root.clone());
    let elements = |key: &str| value.get(key).and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    for (index, node) in elements("nodes").iter().enumerate() {
        let at = root.key("nodes").index(index);
        expect_object(Some(node), at.clone());
        expect_object(node.get("retry"), at.key("retry"));
        expect_object(node.get("retry").and_then(|retry| retry.get("backoff")), at.key("retry").key("backoff"));
    }
    for (index, connection) in elements("connections").iter().enumerate() {
        expect_object(Some(connection), root.key("connections").index(index));
    }
    expect_object(value.get("settings"), root.key("settings"));
    problems
}

/// Deserialises `value`, locating a failure below `at`.
pub(crate) fn read<T: DeserializeOwned>(value: &Value, at: &Pointer) -> Result<T, DefinitionProblem> {
    serde_path_to_error::deserialize(value).map_err(|error| at.join(error.path()).problem(error.inner().to_string()))
}

/// The second, slower pass of [`parse`]: reads each element separately to find every bad one.
fn problems_by_element(value: &Value) -> Vec<DefinitionProblem> {
    let root = Pointer::root();
    let Value::Object(members) = value else {
        return Vec::new();
    };
    let mut problems = Vec::new();
    for (key, member) in members {
        let at = root.key(key);
        let result = match key.as_str() {
            "nodes" => read_each::<NodeDef>(member, &at, &mut problems),
            "connections" => read_each::<Connection>(member, &at, &mut problems),
            "settings" => read::<Settings>(member, &at).map(drop),
            _ => Err(at.problem(format!("unknown field `{key}`, expected `nodes`, `connections` or `settings`"))),
        };
        if let Err(problem) = result {
            problems.push(problem);
        }
    }
    problems
}

fn read_each<T: DeserializeOwned>(
    list: &Value,
    at: &Pointer,
    problems: &mut Vec<DefinitionProblem>,
) -> Result<(), DefinitionProblem> {
    let Value::Array(elements) = list else {
        return read::<Vec<T>>(list, at).map(drop);
    };
    for (index, element) in elements.iter().enumerate() {
        if let Err(problem) = read::<T>(element, &at.index(index)) {
            problems.push(problem);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn pointers(value: Value) -> Vec<String> {
        parse(&value).expect_err("should not parse").into_iter().map(|p| p.pointer).collect()
    }

    #[test]
    fn a_full_definition_round_trips_through_json() {
        let value = json!({
            "nodes": [
                {"name": "Start", "type": "manual_trigger", "position": [100.5, -20.0]},
                {
                    "name": "Fetch", "type": "http_request", "params": {"url": "https://example.com"},
                    "retry": {"max_attempts": 3, "backoff": {"kind": "exponential", "initial_ms": 100, "max_ms": 1000}},
                    "timeout_ms": 5000, "on_error": "error_output", "disabled": true, "notes": "why"
                }
            ],
            "connections": [{"from": "Start", "to": "Fetch"}],
            "settings": {"timeout_ms": 60000, "error_workflow": "wf_01jabcdefghjkmnpqrstvwxyz0", "max_concurrency": 4}
        });
        let definition = parse(&value).unwrap();
        let stored = serde_json::to_value(&definition).unwrap();
        assert_eq!(parse(&stored).unwrap(), definition);
        assert_eq!(definition.connections[0].output, 0);
        assert_eq!(definition.nodes[1].on_error, OnError::ErrorOutput);
    }

    #[test]
    fn defaults_are_left_out_of_the_stored_form() {
        let definition = parse(&json!({"nodes": [{"name": "Start", "type": "manual_trigger"}]})).unwrap();
        assert_eq!(
            serde_json::to_value(&definition).unwrap(),
            json!({"nodes": [{"name": "Start", "type": "manual_trigger"}], "connections": []})
        );
    }

    #[test]
    fn a_wrong_type_deep_inside_is_located_by_its_pointer() {
        let value = json!({"nodes": [
            {"name": "A", "type": "no_op"},
            {"name": "B", "type": "no_op", "retry": {
                "max_attempts": "3", "backoff": {"kind": "fixed", "initial_ms": 1, "max_ms": 1}
            }}
        ]});
        assert_eq!(pointers(value), ["/nodes/1/retry/max_attempts"]);
    }

    #[test]
    fn every_bad_element_is_reported() {
        let value = json!({
            "nodes": [{"name": "A", "type": "no_op", "colour": "red"}, {"name": "B"}],
            "connections": [{"from": "A", "to": "B", "output": -1}],
            "settings": {"timeout_ms": true},
            "name": "not here"
        });
        let mut found = pointers(value);
        found.sort();
        assert_eq!(found, ["/connections/0/output", "/name", "/nodes/0/colour", "/nodes/1", "/settings/timeout_ms"]);
    }

    #[test]
    fn a_definition_that_is_not_an_object_is_one_problem_at_the_root() {
        assert_eq!(pointers(json!([1, 2])), [""]);
        assert_eq!(pointers(json!("nodes")), [""]);
        assert_eq!(pointers(json!({"nodes": {}})), ["/nodes"]);
    }

    #[test]
    fn objects_given_as_arrays_are_refused() {
        let value = json!({
            "nodes": [["Start", "manual_trigger"], {"name": "A", "type": "no_op", "retry": {"max_attempts": 2, "backoff": [0]}}],
            "connections": [["Start", 0, "A"]]
        });
        assert_eq!(pointers(value), ["/nodes/0", "/nodes/1/retry/backoff", "/connections/0"]);
    }

    #[test]
    fn on_error_and_backoff_kinds_are_closed_lists() {
        let value = json!({"nodes": [{"name": "A", "type": "no_op", "on_error": "ignore"}]});
        assert_eq!(pointers(value), ["/nodes/0/on_error"]);
    }
}
