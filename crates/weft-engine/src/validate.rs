//! The rules a parsed definition must follow before it can be published. Every problem is
//! reported at once, each with a pointer, so an editor can mark them all in one pass. Disabled
//! nodes are checked like any other: enabling one must not reveal new problems.

use std::collections::HashMap;

use crate::catalog::{LOOP_BODY, NodeKind, known_type_names, node_outputs};
use crate::definition::{BackoffKind, DefinitionProblem, NodeDef, RetryPolicy, Settings, WorkflowDef};
use crate::formats::is_workflow_id;
use crate::graph::Graph;
use crate::pointer::Pointer;

/// The most attempts a node may make. Each attempt is a recorded step; past a couple of dozen,
/// retrying hides a broken integration rather than riding out a blip.
pub const MAX_ATTEMPTS: u32 = 25;
/// The longest wait between attempts. Waiting releases the worker, so long backoffs cost little,
/// but a run that sleeps longer than a day looks stuck to whoever is watching it.
pub const MAX_BACKOFF_MS: u64 = 24 * 60 * 60 * 1000;
/// The longest a node attempt may take: an attempt holds a worker slot (and perhaps a sandbox)
/// all along. Longer work belongs in a `wait` or a sub-workflow.
pub const MAX_NODE_TIMEOUT_MS: u64 = 60 * 60 * 1000;
/// The longest a run may take, its waits included.
pub const MAX_RUN_TIMEOUT_MS: u64 = 30 * 24 * 60 * 60 * 1000;

/// Every rule the definition breaks, all at once. An empty list means it can be published.
pub fn validate(definition: &WorkflowDef) -> Vec<DefinitionProblem> {
    let mut problems = Vec::new();
    let nodes = Pointer::root().key("nodes");
    let mut first_named: HashMap<&str, usize> = HashMap::new();
    for (index, node) in definition.nodes.iter().enumerate() {
        let at = nodes.index(index);
        if node.name.trim().is_empty() {
            problems.push(at.key("name").problem("a node needs a name"));
        } else if let Some(first) = first_named.get(node.name.as_str()) {
            problems.push(at.key("name").problem(format!(
                "node {first} is already named `{}`; names are unique because connections and expressions refer to nodes by name",
                node.name
            )));
        } else {
            first_named.insert(&node.name, index);
        }
        check_node(node, &at, &mut problems);
    }
    check_settings(&definition.settings, &Pointer::root().key("settings"), &mut problems);
    check_connections(definition, &first_named, &mut problems);
    let has_trigger =
        definition.nodes.iter().any(|node| NodeKind::from_type_name(&node.node_type).is_some_and(NodeKind::is_trigger));
    if !has_trigger {
        let triggers: Vec<_> =
            NodeKind::ALL.into_iter().filter(|kind| kind.is_trigger()).map(NodeKind::type_name).collect();
        problems.push(nodes.problem(format!("a workflow needs a trigger to start it ({})", triggers.join(", "))));
    }
    check_graph(definition, &mut problems);
    problems
}

fn check_node(node: &NodeDef, at: &Pointer, problems: &mut Vec<DefinitionProblem>) {
    match NodeKind::from_type_name(&node.node_type) {
        Some(kind) => kind.check_params(&node.params, &at.key("params"), problems),
        None => problems.push(at.key("type").problem(format!(
            "unknown node type `{}`; known types: {}",
            node.node_type,
            known_type_names()
        ))),
    }
    if let Some(retry) = &node.retry {
        check_retry(retry, &at.key("retry"), problems);
    }
    if let Some(timeout) = node.timeout_ms {
        check_range(timeout, 1, MAX_NODE_TIMEOUT_MS, &at.key("timeout_ms"), problems);
    }
}

fn check_retry(retry: &RetryPolicy, at: &Pointer, problems: &mut Vec<DefinitionProblem>) {
    check_range(u64::from(retry.max_attempts), 1, u64::from(MAX_ATTEMPTS), &at.key("max_attempts"), problems);
    let backoff = &retry.backoff;
    let at = at.key("backoff");
    if backoff.initial_ms > backoff.max_ms {
        problems.push(at.key("initial_ms").problem(format!("cannot exceed `max_ms` ({})", backoff.max_ms)));
    } else if backoff.kind == BackoffKind::Exponential && backoff.initial_ms == 0 {
        problems.push(at.key("initial_ms").problem("an exponential backoff from 0 never grows; start at 1 or more"));
    }
    check_range(backoff.max_ms, 0, MAX_BACKOFF_MS, &at.key("max_ms"), problems);
}

fn check_range(value: u64, min: u64, max: u64, at: &Pointer, problems: &mut Vec<DefinitionProblem>) {
    if value < min {
        problems.push(at.problem(format!("must be at least {min}")));
    } else if value > max {
        problems.push(at.problem(format!("must be at most {max}")));
    }
}

fn check_settings(settings: &Settings, at: &Pointer, problems: &mut Vec<DefinitionProblem>) {
    if let Some(timeout) = settings.timeout_ms {
        check_range(timeout, 1, MAX_RUN_TIMEOUT_MS, &at.key("timeout_ms"), problems);
    }
    if let Some(workflow) = &settings.error_workflow
        && !is_workflow_id(workflow)
    {
        problems.push(at.key("error_workflow").problem("must be a workflow id (`wf_` and 26 characters)"));
    }
    if settings.max_concurrency == Some(0) {
        problems.push(at.key("max_concurrency").problem("must be at least 1"));
    }
}

fn check_connections(definition: &WorkflowDef, by_name: &HashMap<&str, usize>, problems: &mut Vec<DefinitionProblem>) {
    let connections = Pointer::root().key("connections");
    for (index, connection) in definition.connections.iter().enumerate() {
        let at = connections.index(index);
        if let Some(earlier) = definition.connections[..index].iter().position(|other| other == connection) {
            problems.push(at.problem(format!("repeats connection {earlier}, which would deliver every item twice")));
            continue;
        }
        match by_name.get(connection.from.as_str()) {
            None => problems.push(at.key("from").problem(format!("no node is named `{}`", connection.from))),
            Some(&from) => {
                let node = &definition.nodes[from];
                if let Some(outputs) = node_outputs(node)
                    && connection.output >= outputs.len()
                {
                    let listed: Vec<_> =
                        outputs.iter().enumerate().map(|(i, name)| format!("{i} (`{name}`)")).collect();
                    let detail = match listed.as_slice() {
                        [] => format!("`{}` has no outputs", node.name),
                        _ => format!("`{}` has outputs {}", node.name, listed.join(", ")),
                    };
                    problems.push(at.key("output").problem(detail));
                }
            }
        }
        match by_name.get(connection.to.as_str()) {
            None => problems.push(at.key("to").problem(format!("no node is named `{}`", connection.to))),
            Some(&to) => {
                let node = &definition.nodes[to];
                match NodeKind::from_type_name(&node.node_type) {
                    Some(kind) if kind.is_trigger() => {
                        problems.push(
                            at.key("to").problem(format!("`{}` is a trigger; triggers take no input", node.name)),
                        );
                    }
                    Some(kind) if connection.input >= kind.input_count(&node.params) => {
                        let detail = match kind.input_count(&node.params) {
                            1 => format!("`{}` has one input, 0", node.name),
                            count => format!("`{}` has inputs 0 to {}", node.name, count - 1),
                        };
                        problems.push(at.key("input").problem(detail));
                    }
                    _ => {}
                }
            }
        }
    }
}

/// Loop bodies and cycles; see [`crate::graph`] for what is checked and why.
fn check_graph(definition: &WorkflowDef, problems: &mut Vec<DefinitionProblem>) {
    let graph = Graph::new(definition);
    let name = |node: usize| definition.nodes[node].name.as_str();
    let connections = Pointer::root().key("connections");
    for (edge, looping) in graph.body_entries() {
        let detail = format!(
            "`{}` → `{}` enters the body of loop `{}`, which only its `loop` output ({LOOP_BODY}) may enter: body nodes run once per batch",
            name(edge.from),
            name(edge.to),
            name(looping)
        );
        problems.push(connections.index(edge.connection).problem(detail));
    }
    for (first, second) in graph.overlapping_loops() {
        let detail =
            format!("loops `{}` and `{}` are each inside the other's body; loops must nest", name(first), name(second));
        problems.push(Pointer::root().key("nodes").index(second).problem(detail));
    }
    for cycle in graph.cycles() {
        let path: Vec<_> = cycle.nodes.iter().map(|node| format!("`{}`", name(*node))).collect();
        let detail = format!(
            "the cycle {} does not pass through a loop node's `loop` output; only a loop may run nodes again",
            path.join(" → ")
        );
        problems.push(connections.index(cycle.connection).problem(detail));
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::definition::parse;

    fn problems(value: Value) -> Vec<(String, String)> {
        validate(&parse(&value).expect("parses")).into_iter().map(|p| (p.pointer, p.detail)).collect()
    }

    fn pointers(value: Value) -> Vec<String> {
        problems(value).into_iter().map(|(pointer, _)| pointer).collect()
    }

    fn trigger() -> Value {
        json!({"name": "Start", "type": "manual_trigger"})
    }

    fn no_op(name: &str) -> Value {
        json!({"name": name, "type": "no_op"})
    }

    fn edge(from: &str, to: &str) -> Value {
        json!({"from": from, "to": to})
    }

    #[test]
    fn a_sound_definition_has_no_problems() {
        let value = json!({
            "nodes": [trigger(), no_op("A"), {"name": "If", "type": "if", "params": {"conditions": [
                {"left": "{{ $json.ok }}", "operator": "equals", "right": true}
            ]}}, no_op("Yes"), no_op("No")],
            "connections": [edge("Start", "A"), edge("A", "If"),
                {"from": "If", "output": 0, "to": "Yes"}, {"from": "If", "output": 1, "to": "No"}]
        });
        assert_eq!(problems(value), []);
    }

    #[test]
    fn an_empty_definition_needs_a_trigger() {
        assert_eq!(pointers(json!({})), ["/nodes"]);
        assert_eq!(pointers(json!({"nodes": [no_op("A")]})), ["/nodes"]);
    }

    #[test]
    fn several_triggers_are_allowed() {
        let value = json!({"nodes": [trigger(), {"name": "Again", "type": "manual_trigger"}]});
        assert_eq!(problems(value), []);
    }

    #[test]
    fn names_must_be_present_and_unique() {
        let value = json!({"nodes": [trigger(), no_op(""), no_op("A"), no_op("A"), no_op("Start")]});
        let found = problems(value);
        let pointers: Vec<_> = found.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(pointers, ["/nodes/1/name", "/nodes/3/name", "/nodes/4/name"]);
        assert!(found[1].1.contains("node 2"), "{}", found[1].1);
    }

    #[test]
    fn an_unknown_type_lists_the_known_ones() {
        let found = problems(json!({"nodes": [trigger(), {"name": "X", "type": "n8n-nodes-base.slack"}]}));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, "/nodes/1/type");
        assert!(found[0].1.contains("http_request") && found[0].1.contains("manual_trigger"), "{}", found[0].1);
    }

    #[test]
    fn bad_params_are_located_inside_the_node() {
        let value = json!({"nodes": [trigger(), {"name": "Get", "type": "http_request", "params": {"url": 3}}]});
        assert_eq!(pointers(value), ["/nodes/1/params/url"]);
    }

    #[test]
    fn disabled_nodes_are_still_validated() {
        let value = json!({"nodes": [trigger(), {"name": "Off", "type": "limit", "disabled": true, "params": {}}]});
        assert_eq!(pointers(value), ["/nodes/1/params"]);
    }

    #[test]
    fn retries_and_timeouts_must_be_in_range() {
        let backoff = |kind: &str, initial: u64, max: u64| json!({"kind": kind, "initial_ms": initial, "max_ms": max});
        let value = json!({"nodes": [
            trigger(),
            {"name": "A", "type": "no_op", "retry": {"max_attempts": 0, "backoff": backoff("fixed", 10, 10)}},
            {"name": "B", "type": "no_op", "retry": {"max_attempts": 26, "backoff": backoff("fixed", 10, 5)}},
            {"name": "C", "type": "no_op", "retry": {"max_attempts": 3, "backoff": backoff("exponential", 0, 100)}},
            {"name": "D", "type": "no_op", "retry": {"max_attempts": 3, "backoff": backoff("fixed", 10, MAX_BACKOFF_MS + 1)}},
            {"name": "E", "type": "no_op", "timeout_ms": 0},
            {"name": "F", "type": "no_op", "timeout_ms": MAX_NODE_TIMEOUT_MS + 1},
            {"name": "G", "type": "no_op", "timeout_ms": 1000, "retry": {"max_attempts": 25, "backoff": backoff("exponential", 1, 1000)}}
        ]});
        assert_eq!(
            pointers(value),
            [
                "/nodes/1/retry/max_attempts",
                "/nodes/2/retry/max_attempts",
                "/nodes/2/retry/backoff/initial_ms",
                "/nodes/3/retry/backoff/initial_ms",
                "/nodes/4/retry/backoff/max_ms",
                "/nodes/5/timeout_ms",
                "/nodes/6/timeout_ms"
            ]
        );
    }

    #[test]
    fn settings_are_checked() {
        let value = json!({"nodes": [trigger()], "settings": {"timeout_ms": 0, "error_workflow": "on-failure", "max_concurrency": 0}});
        assert_eq!(pointers(value), ["/settings/timeout_ms", "/settings/error_workflow", "/settings/max_concurrency"]);
        let value = json!({"nodes": [trigger()], "settings": {
            "timeout_ms": MAX_RUN_TIMEOUT_MS, "error_workflow": "wf_01jabcdefghjkmnpqrstvwxyz0", "max_concurrency": 8
        }});
        assert_eq!(problems(value), []);
    }

    #[test]
    fn connections_must_join_existing_nodes() {
        let value = json!({"nodes": [trigger(), no_op("A")], "connections": [edge("Start", "B"), edge("Nobody", "A")]});
        assert_eq!(pointers(value), ["/connections/0/to", "/connections/1/from"]);
    }

    #[test]
    fn connections_must_use_existing_outputs_and_inputs() {
        let value = json!({
            "nodes": [trigger(), {"name": "If", "type": "if", "params": {"conditions": [{"left": 1, "operator": "exists"}]}},
                no_op("A"), {"name": "M", "type": "merge"}, {"name": "Fail", "type": "stop_and_error", "params": {"message": "no"}}],
            "connections": [
                edge("Start", "If"),
                {"from": "If", "output": 2, "to": "A"},
                {"from": "If", "output": 1, "to": "M", "input": 1},
                {"from": "A", "to": "M", "input": 2},
                {"from": "If", "to": "A", "input": 1},
                edge("Fail", "A")
            ]
        });
        let found = problems(value);
        let pointers: Vec<_> = found.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            pointers,
            ["/connections/1/output", "/connections/3/input", "/connections/4/input", "/connections/5/output"]
        );
        assert!(found[0].1.contains("0 (`true`), 1 (`false`)"), "{}", found[0].1);
        assert!(found[1].1.contains("inputs 0 to 1"), "{}", found[1].1);
        assert!(found[3].1.contains("no outputs"), "{}", found[3].1);
    }

    #[test]
    fn the_error_output_exists_only_with_on_error_error_output() {
        let nodes =
            |on_error: &str| json!([trigger(), {"name": "A", "type": "no_op", "on_error": on_error}, no_op("B")]);
        let connections = json!([edge("Start", "A"), {"from": "A", "output": 1, "to": "B"}]);
        assert_eq!(pointers(json!({"nodes": nodes("error_output"), "connections": connections})), Vec::<String>::new());
        assert_eq!(
            pointers(json!({"nodes": nodes("continue"), "connections": connections})),
            ["/connections/1/output"]
        );
    }

    #[test]
    fn a_trigger_takes_no_incoming_connection() {
        let value = json!({"nodes": [trigger(), no_op("A")], "connections": [edge("Start", "A"), edge("A", "Start")]});
        assert_eq!(pointers(value), ["/connections/1/to"]);
    }

    #[test]
    fn a_repeated_connection_is_reported_once() {
        let value = json!({"nodes": [trigger(), no_op("A")], "connections": [edge("Start", "A"), edge("Start", "A")]});
        assert_eq!(pointers(value), ["/connections/1"]);
    }

    #[test]
    fn a_cycle_without_a_loop_names_its_nodes() {
        let value = json!({
            "nodes": [trigger(), no_op("A"), no_op("B"), no_op("C")],
            "connections": [edge("Start", "A"), edge("A", "B"), edge("B", "C"), edge("C", "A")]
        });
        let found = problems(value);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, "/connections/1");
        assert!(found[0].1.contains("`A` → `B` → `C` → `A`"), "{}", found[0].1);
    }

    #[test]
    fn a_node_feeding_itself_is_a_cycle() {
        let value = json!({"nodes": [trigger(), no_op("A")], "connections": [edge("Start", "A"), edge("A", "A")]});
        let found = problems(value);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, "/connections/1");
        assert!(found[0].1.contains("`A` → `A`"), "{}", found[0].1);
    }

    fn looping() -> Value {
        json!({"name": "Loop", "type": "loop", "params": {"batch_size": 2}})
    }

    #[test]
    fn a_cycle_through_a_loops_body_is_fine() {
        let value = json!({
            "nodes": [trigger(), looping(), no_op("Body"), no_op("After")],
            "connections": [edge("Start", "Loop"), {"from": "Loop", "output": 1, "to": "Body"}, edge("Body", "Loop"),
                {"from": "Loop", "output": 0, "to": "After"}]
        });
        assert_eq!(problems(value), []);
    }

    #[test]
    fn a_cycle_through_a_loops_done_output_is_not() {
        let value = json!({
            "nodes": [trigger(), looping(), no_op("After")],
            "connections": [edge("Start", "Loop"), {"from": "Loop", "output": 0, "to": "After"}, edge("After", "Loop")]
        });
        let found = problems(value);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, "/connections/1");
        assert!(found[0].1.contains("`Loop` → `After` → `Loop`"), "{}", found[0].1);
    }

    #[test]
    fn a_loop_body_is_entered_only_from_the_loop_output() {
        let value = json!({
            "nodes": [trigger(), looping(), no_op("Body"), no_op("Side")],
            "connections": [edge("Start", "Loop"), {"from": "Loop", "output": 1, "to": "Body"}, edge("Body", "Loop"),
                edge("Start", "Side"), edge("Side", "Body")]
        });
        let found = problems(value);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, "/connections/4");
        assert!(found[0].1.contains("`Side` → `Body` enters the body of loop `Loop`"), "{}", found[0].1);
    }

    #[test]
    fn overlapping_loops_are_refused() {
        let value = json!({
            "nodes": [trigger(), {"name": "L1", "type": "loop"}, {"name": "L2", "type": "loop"}],
            "connections": [{"from": "L1", "output": 1, "to": "L2"}, {"from": "L2", "output": 1, "to": "L1"}]
        });
        assert_eq!(pointers(value), ["/nodes/2"]);
    }
}
