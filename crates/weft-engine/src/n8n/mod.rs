//! n8n import and export. [`import_workflow`] turns an n8n export into the body that creates a
//! Weft workflow, with a report of what could not be carried over; [`export_workflow`] turns a
//! Weft definition back into an n8n export. `docs/n8n.md` lists what maps to what.
//!
//! Nothing inside a workflow makes an import fail: a node type Weft does not implement becomes
//! an `n8n_unsupported` placeholder that keeps the original for export and that validation
//! refuses; an option Weft has no equivalent for is dropped with a warning.

mod cycles;
mod export;
mod expr;
mod nodes;

use expr::inline_n8n_params;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::catalog::NodeKind;
use crate::definition::{
    Backoff, BackoffKind, Connection, CredentialSlot, ExecutionOrder, NodeDef, OnError, RetryPolicy, Settings,
    WorkflowDef,
};
use crate::validate::{MAX_ATTEMPTS, MAX_RUN_TIMEOUT_MS};

pub use export::export_workflow;

/// The type of n8n's sticky notes, which become the workflow's description.
const STICKY_NOTE: &str = "n8n-nodes-base.stickyNote";
/// The longest description the API accepts.
const DESCRIPTION_MAX: usize = 10_000;

/// An imported workflow: the API's create body and what the import could not carry over.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Imported {
    /// `{name, description?, tags?, nodes, connections, settings?}`.
    pub workflow: Value,
    pub report: ImportReport,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ImportReport {
    /// Nodes kept as `n8n_unsupported` placeholders.
    pub unsupported: Vec<UnsupportedNode>,
    /// Credential slots the nodes need filled in.
    pub credentials: Vec<CredentialUse>,
    /// How many sticky notes went into the description.
    pub sticky_notes: usize,
    /// Nodes with pinned sample data (kept in `settings.pin_data`).
    pub pinned_nodes: Vec<String>,
    /// Options dropped and behaviour that differs, each naming its node.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnsupportedNode {
    pub node: String,
    pub n8n_type: String,
    pub type_version: Value,
    /// Why a type Weft knows stayed a placeholder (Python code, an unsupported mode).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CredentialUse {
    pub node: String,
    /// n8n's credential type, e.g. `slackApi`.
    pub slot: String,
    pub name: Option<String>,
}

/// The input is not an n8n workflow at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error("an n8n workflow is a JSON object with a `nodes` array; this is {0}")]
    NotAWorkflow(&'static str),
    #[error("an n8n workflow's `{0}` must be {1}")]
    BadField(&'static str, &'static str),
}

/// What the import of one node decided, for connecting it afterwards.
struct Placed {
    /// The Weft outputs each n8n main output becomes; `None` when the same.
    outputs: Option<Vec<Vec<usize>>>,
    n8n_outputs: usize,
    weft_outputs: usize,
    error_output: bool,
    placeholder: bool,
}

/// Converts an n8n export into the body that creates a Weft workflow.
pub fn import_workflow(n8n: &Value) -> Result<Imported, ImportError> {
    let Value::Object(top) = n8n else {
        return Err(ImportError::NotAWorkflow(kind_of(n8n)));
    };
    let Some(Value::Array(n8n_nodes)) = top.get("nodes") else {
        return Err(ImportError::NotAWorkflow("an object without a `nodes` array"));
    };
    let n8n_connections = match top.get("connections") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(connections)) => connections.clone(),
        Some(_) => return Err(ImportError::BadField("connections", "an object keyed by node name")),
    };
    let n8n_settings = top.get("settings").and_then(Value::as_object).cloned().unwrap_or_default();
    let mut report = ImportReport::default();
    let timezone = n8n_settings.get("timezone").and_then(Value::as_str).filter(|zone| *zone != "DEFAULT");

    let mut notes = Vec::new();
    let mut nodes = Vec::new();
    let mut placed: HashMap<String, Placed> = HashMap::new();
    let mut n8n_params: HashMap<String, Value> = HashMap::new();
    for (index, raw) in n8n_nodes.iter().enumerate() {
        let Value::Object(raw) = raw else {
            report.warnings.push(format!("nodes[{index}] is not an object and was skipped"));
            continue;
        };
        let n8n_type = raw.get("type").and_then(Value::as_str).unwrap_or_default();
        if n8n_type == STICKY_NOTE {
            report.sticky_notes += 1;
            let content =
                raw.get("parameters").and_then(|p| p.get("content")).and_then(Value::as_str).unwrap_or_default();
            if !content.trim().is_empty() {
                notes.push(content.trim().to_string());
            }
            continue;
        }
        let name = match raw.get("name").and_then(Value::as_str) {
            Some(name) if !name.is_empty() => name.to_string(),
            _ => format!("Node {index}"),
        };
        if placed.contains_key(&name) {
            report.warnings.push(format!("a second node named `{name}` was skipped"));
            continue;
        }
        let (node, place) = import_node(&name, raw, timezone, &mut report);
        n8n_params.insert(name.clone(), raw.get("parameters").cloned().unwrap_or_else(|| json!({})));
        placed.insert(name, place);
        nodes.push(node);
    }

    inline_n8n_params_of(&mut nodes, &n8n_params, &mut report);
    let connections = import_connections(&n8n_connections, &mut nodes, &placed, &mut report);
    let settings = import_settings(top, &n8n_settings, &nodes, &mut report);
    let mut definition = WorkflowDef { nodes, connections, settings };
    cycles::repeat_cycles(&mut definition, &mut report);

    let mut workflow = Map::new();
    let name = top.get("name").and_then(Value::as_str).map(str::trim).filter(|name| !name.is_empty());
    workflow.insert("name".into(), json!(name.unwrap_or("Imported n8n workflow")));
    let mut description = notes.join("\n\n");
    if description.chars().count() > DESCRIPTION_MAX {
        report.warnings.push(format!("the sticky notes were cut to {DESCRIPTION_MAX} characters for the description"));
        description = description.chars().take(DESCRIPTION_MAX).collect();
    }
    if !description.is_empty() {
        workflow.insert("description".into(), json!(description));
    }
    let tags: Vec<Value> = top
        .get("tags")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|tag| tag.as_str().or_else(|| tag.get("name").and_then(Value::as_str)))
        .map(|tag| json!(tag))
        .collect();
    if !tags.is_empty() {
        workflow.insert("tags".into(), Value::Array(tags));
    }
    if let Ok(Value::Object(members)) = serde_json::to_value(&definition) {
        workflow.extend(members);
    }
    Ok(Imported { workflow: Value::Object(workflow), report })
}

/// n8n's `$('Node').params` reads a node's raw n8n parameters, which the imported node no longer
/// has: each reference becomes a copy of them. Placeholders keep their parameters as they were.
fn inline_n8n_params_of(nodes: &mut [NodeDef], n8n_params: &HashMap<String, Value>, report: &mut ImportReport) {
    fn inline(value: &mut Value, n8n_params: &HashMap<String, Value>, named: &mut BTreeSet<String>) {
        match value {
            Value::String(text) => {
                if let Some((inlined, names)) = inline_n8n_params(text, |name| n8n_params.get(name)) {
                    *text = inlined;
                    named.extend(names);
                }
            }
            Value::Array(values) => values.iter_mut().for_each(|value| inline(value, n8n_params, named)),
            Value::Object(members) => members.values_mut().for_each(|value| inline(value, n8n_params, named)),
            _ => {}
        }
    }
    for node in nodes.iter_mut().filter(|node| node.node_type != NodeKind::N8nUnsupported.type_name()) {
        let mut named = BTreeSet::new();
        node.params.values_mut().for_each(|value| inline(value, n8n_params, &mut named));
        for source in named {
            report.warnings.push(format!(
                "node `{}`: `$('{source}').params` became a copy of `{source}`'s n8n parameters, which later edits do not change",
                node.name
            ));
        }
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn import_node(
    name: &str,
    raw: &Map<String, Value>,
    timezone: Option<&str>,
    report: &mut ImportReport,
) -> (NodeDef, Placed) {
    let n8n_type = raw.get("type").and_then(Value::as_str).unwrap_or_default().to_string();
    let type_version = raw.get("typeVersion").cloned().unwrap_or(json!(1));
    let parameters = raw.get("parameters").and_then(Value::as_object).cloned().unwrap_or_default();
    let mut ctx = nodes::Ctx {
        node: name,
        version: type_version.as_f64().unwrap_or(1.0),
        params: &parameters,
        timezone,
        warnings: &mut report.warnings,
    };
    let imported = nodes::import(&n8n_type, &mut ctx);
    let mut node = NodeDef {
        name: name.to_string(),
        node_type: String::new(),
        params: Map::new(),
        position: position_of(raw.get("position")),
        retry: None,
        timeout_ms: None,
        on_error: OnError::Stop,
        disabled: raw.get("disabled").and_then(Value::as_bool).unwrap_or(false),
        execute_once: raw.get("executeOnce").and_then(Value::as_bool).unwrap_or(false),
        always_output: raw.get("alwaysOutputData").and_then(Value::as_bool).unwrap_or(false),
        notes: raw.get("notes").and_then(Value::as_str).filter(|notes| !notes.is_empty()).map(str::to_string),
        credentials: BTreeMap::new(),
    };
    let place = match imported {
        Ok(mapped) => {
            node.node_type = mapped.node_type.to_string();
            node.params = mapped.params;
            node.timeout_ms = mapped.timeout_ms;
            let weft_outputs =
                NodeKind::from_type_name(&node.node_type).map_or(1, |kind| kind.outputs(&node.params).len());
            Placed {
                outputs: mapped.outputs,
                n8n_outputs: mapped.n8n_outputs,
                weft_outputs,
                error_output: false,
                placeholder: false,
            }
        }
        Err(reason) => {
            report.unsupported.push(UnsupportedNode {
                node: name.to_string(),
                n8n_type: n8n_type.clone(),
                type_version: type_version.clone(),
                reason: reason.clone(),
            });
            node.node_type = NodeKind::N8nUnsupported.type_name().to_string();
            node.params.insert("n8n_type".into(), json!(n8n_type));
            node.params.insert("type_version".into(), type_version);
            node.params.insert("parameters".into(), Value::Object(parameters.clone()));
            if let Some(reason) = reason {
                node.params.insert("reason".into(), json!(reason));
            }
            Placed { outputs: None, n8n_outputs: 1, weft_outputs: 1, error_output: false, placeholder: true }
        }
    };
    let mut place = place;
    import_error_handling(raw, &mut node, &mut place, report);
    import_credentials(raw, &mut node, report);
    (node, place)
}

fn position_of(value: Option<&Value>) -> Option<[f64; 2]> {
    let pair = value?.as_array()?;
    match pair.as_slice() {
        [x, y] => Some([x.as_f64()?, y.as_f64()?]),
        _ => None,
    }
}

/// `onError`/`continueOnFail` and `retryOnFail`/`maxTries`/`waitBetweenTries`.
fn import_error_handling(raw: &Map<String, Value>, node: &mut NodeDef, place: &mut Placed, report: &mut ImportReport) {
    let on_error = raw.get("onError").and_then(Value::as_str);
    node.on_error = match on_error {
        Some("continueRegularOutput") => OnError::Continue,
        Some("continueErrorOutput") => OnError::ErrorOutput,
        _ if raw.get("continueOnFail") == Some(&json!(true)) => OnError::Continue,
        _ => OnError::Stop,
    };
    place.error_output = node.on_error == OnError::ErrorOutput;
    if raw.get("retryOnFail") == Some(&json!(true)) {
        let tries = number_as_u64(raw.get("maxTries")).unwrap_or(3).clamp(1, u64::from(MAX_ATTEMPTS));
        let wait = number_as_u64(raw.get("waitBetweenTries")).unwrap_or(1000);
        node.retry = Some(RetryPolicy {
            max_attempts: tries as u32,
            backoff: Backoff { kind: BackoffKind::Fixed, initial_ms: wait, max_ms: wait },
        });
    } else if raw.contains_key("maxTries") || raw.contains_key("waitBetweenTries") {
        report.warnings.push(format!("node `{}`: retry settings without `retryOnFail` were dropped", node.name));
    }
}

fn number_as_u64(value: Option<&Value>) -> Option<u64> {
    match value? {
        Value::Number(n) => n.as_f64().map(|f| f.max(0.0) as u64),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

fn import_credentials(raw: &Map<String, Value>, node: &mut NodeDef, report: &mut ImportReport) {
    let Some(Value::Object(credentials)) = raw.get("credentials") else { return };
    for (slot, reference) in credentials {
        let text = |key: &str| match reference.get(key) {
            Some(Value::String(text)) => Some(text.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        let credential = match reference {
            Value::String(name) => CredentialSlot { name: Some(name.clone()), n8n_id: None },
            _ => CredentialSlot { name: text("name"), n8n_id: text("id") },
        };
        report.credentials.push(CredentialUse {
            node: node.name.clone(),
            slot: slot.clone(),
            name: credential.name.clone(),
        });
        node.credentials.insert(slot.clone(), credential);
    }
}

/// n8n's `{source: {main: [[{node, type, index}], …], ai_tool: …}}` as Weft connections. Other
/// kinds than `main` leave from AI nodes, which are placeholders: they keep them for export.
fn import_connections(
    n8n: &Map<String, Value>,
    nodes: &mut [NodeDef],
    placed: &HashMap<String, Placed>,
    report: &mut ImportReport,
) -> Vec<Connection> {
    let index_of: HashMap<String, usize> = nodes.iter().enumerate().map(|(i, node)| (node.name.clone(), i)).collect();
    let mut connections: Vec<(usize, Connection)> = Vec::new();
    let mut placeholder_outputs: HashMap<usize, usize> = HashMap::new();
    for (from, kinds) in n8n {
        let (Some(&from_index), Some(place)) = (index_of.get(from), placed.get(from)) else {
            if kinds.as_object().is_some_and(|k| k.values().any(|v| v.as_array().is_some_and(|a| !a.is_empty()))) {
                report.warnings.push(format!("connections from `{from}`, which is not a node, were dropped"));
            }
            continue;
        };
        let Some(kinds) = kinds.as_object() else { continue };
        for (kind, outputs) in kinds {
            if kind != "main" {
                if place.placeholder {
                    if let Some(Value::Object(stash)) = nodes[from_index].params.get_mut("connections") {
                        stash.insert(kind.clone(), outputs.clone());
                    } else {
                        nodes[from_index].params.insert("connections".into(), json!({kind.clone(): outputs.clone()}));
                    }
                } else {
                    report
                        .warnings
                        .push(format!("node `{from}`: `{kind}` connections have no Weft equivalent and were dropped"));
                }
                continue;
            }
            for (output, targets) in outputs.as_array().into_iter().flatten().enumerate() {
                let weft_outputs: Vec<usize> = if place.error_output && output == place.n8n_outputs {
                    vec![place.weft_outputs]
                } else {
                    match &place.outputs {
                        Some(table) => table.get(output).cloned().unwrap_or_default(),
                        None => vec![output],
                    }
                };
                for target in targets.as_array().into_iter().flatten() {
                    let to = target.get("node").and_then(Value::as_str).unwrap_or_default();
                    if !index_of.contains_key(to) {
                        report
                            .warnings
                            .push(format!("a connection from `{from}` to `{to}`, which is not a node, was dropped"));
                        continue;
                    }
                    let input = number_as_u64(target.get("index")).unwrap_or(0) as usize;
                    for &weft_output in &weft_outputs {
                        if place.placeholder {
                            let count = placeholder_outputs.entry(from_index).or_insert(1);
                            *count = (*count).max(weft_output + 1);
                        }
                        let connection =
                            Connection { from: from.clone(), output: weft_output, to: to.to_string(), input };
                        if !connections.iter().any(|(_, c)| *c == connection) {
                            connections.push((from_index, connection));
                        }
                    }
                }
            }
        }
    }
    for (index, count) in placeholder_outputs {
        if count > 1 {
            nodes[index].params.insert("outputs".into(), json!(count));
        }
    }
    connections.sort_by_key(|(from, connection)| (*from, connection.output));
    connections.into_iter().map(|(_, connection)| connection).collect()
}

/// Silently dropped: these only say what n8n stores about its own executions.
const EXECUTION_DATA_SETTINGS: [&str; 7] = [
    "saveManualExecutions",
    "saveDataErrorExecution",
    "saveDataSuccessExecution",
    "saveExecutionProgress",
    "callerPolicy",
    "callerIds",
    "timeSavedPerExecution",
];

fn import_settings(
    top: &Map<String, Value>,
    n8n: &Map<String, Value>,
    nodes: &[NodeDef],
    report: &mut ImportReport,
) -> Settings {
    let mut settings = Settings::default();
    for (key, value) in n8n {
        match key.as_str() {
            "executionOrder" => match value.as_str() {
                Some("v0") => settings.execution_order = Some(ExecutionOrder::V0),
                Some("v1") => settings.execution_order = Some(ExecutionOrder::V1),
                _ => report.warnings.push(format!("settings: execution order {value} is not known and was dropped")),
            },
            "executionTimeout" => {
                if let Some(seconds) = value.as_f64().filter(|seconds| *seconds > 0.0) {
                    settings.timeout_ms = Some(((seconds * 1000.0) as u64).min(MAX_RUN_TIMEOUT_MS));
                }
            }
            "timezone" => {}
            "errorWorkflow" if value.as_str().is_some_and(|id| !id.is_empty()) => report.warnings.push(format!(
                "settings: the error workflow {value} is n8n's; set `error_workflow` to the Weft workflow's id"
            )),
            key if EXECUTION_DATA_SETTINGS.contains(&key) || value.is_null() || value == "" => {}
            _ => report.warnings.push(format!("settings: `{key}` has no Weft equivalent and was dropped")),
        }
    }
    if let Some(Value::Object(pins)) = top.get("pinData") {
        for (node, items) in pins {
            let items: Vec<Value> = items
                .as_array()
                .into_iter()
                .flatten()
                .map(|item| match item {
                    Value::Object(members) if members.contains_key("json") => item.clone(),
                    other => json!({"json": other}),
                })
                .collect();
            if !nodes.iter().any(|n| &n.name == node) {
                report.warnings.push(format!("pinned data for `{node}`, which is not a node, is kept anyway"));
            }
            report.pinned_nodes.push(node.clone());
            settings.pin_data.insert(node.clone(), items);
        }
    }
    settings
}

#[cfg(test)]
mod tests;
