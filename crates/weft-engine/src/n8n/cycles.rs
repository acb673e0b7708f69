//! n8n lets a connection lead back to an earlier node: a workflow polls a service by asking,
//! checking the answer and waiting, then asking again. Weft runs nodes again only in a loop's
//! body, so the import puts a `loop` in mode `repeat` in front of the node where such a cycle
//! is entered; the connections that closed the cycle then lead back into the loop, which runs
//! its body again on what they bring. The export takes every `repeat` loop out again.

use std::collections::HashSet;

use serde_json::json;

use super::ImportReport;
use crate::catalog::{LOOP_BODY, NodeKind};
use crate::definition::{Connection, NodeDef, WorkflowDef};
use crate::graph::Graph;
use crate::params::DEFAULT_LOOP_PASSES;

/// Puts a `repeat` loop in front of every cycle that is entered at one node only, through its
/// first input; the cycles entered otherwise stay, and validation refuses them.
pub(super) fn repeat_cycles(definition: &mut WorkflowDef, report: &mut ImportReport) {
    let mut refused = HashSet::new();
    // Each round takes one cycle away (a cycle inside another becomes its own group once the
    // outer one leads back into its loop), so there are at most as many rounds as nodes.
    for _ in 0..definition.nodes.len() {
        let graph = Graph::new(definition);
        let name = |node: usize| definition.nodes[node].name.clone();
        let next = graph.cyclic_groups().into_iter().find(|group| !refused.contains(&name(group[0])));
        let Some(group) = next else { break };
        let entered: Vec<usize> = group
            .iter()
            .copied()
            .filter(|member| graph.forward_edges().any(|edge| edge.to == *member && !group.contains(&edge.from)))
            .collect();
        let listed = group.iter().map(|member| format!("`{}`", name(*member))).collect::<Vec<_>>().join(", ");
        let [header] = entered[..] else {
            refused.insert(name(group[0]));
            if !entered.is_empty() {
                report.warnings.push(format!(
                    "the cycle through {listed} is entered at more than one node; Weft repeats a cycle only \
                     from the one node where it is entered"
                ));
            }
            continue;
        };
        let mut wrapped = definition.clone();
        let repeat = wrap(&mut wrapped, header);
        let through_first_input = graph.edges().iter().filter(|edge| edge.to == header).all(|edge| edge.input == 0);
        let after = Graph::new(&wrapped);
        let entered_aside = after.body_entries().iter().any(|(_, looping)| *looping == repeat)
            || after.overlapping_loops().iter().any(|(first, second)| *first == repeat || *second == repeat);
        if !through_first_input || entered_aside {
            refused.insert(name(group[0]));
            report.warnings.push(format!(
                "the cycle through {listed} cannot be repeated by Weft: {}",
                if through_first_input {
                    "a node after it is also fed from before it"
                } else {
                    "it comes back into a node's second input"
                }
            ));
            continue;
        }
        report.warnings.push(format!(
            "node `{}`: the cycle through {listed} runs in Weft as the `repeat` loop `{}` in front of it, \
             which stops after {DEFAULT_LOOP_PASSES} passes",
            name(header),
            wrapped.nodes[repeat].name
        ));
        *definition = wrapped;
    }
}

/// Puts a `repeat` loop in front of `header`: every connection into it leads into the loop
/// instead, and the loop's `loop` output into it. Returns the loop's index.
fn wrap(definition: &mut WorkflowDef, header: usize) -> usize {
    let header_name = definition.nodes[header].name.clone();
    let mut name = format!("{header_name} (repeat)");
    while definition.nodes.iter().any(|node| node.name == name) {
        name.push('_');
    }
    definition.nodes.push(NodeDef {
        name: name.clone(),
        node_type: NodeKind::Loop.type_name().to_string(),
        params: json!({"mode": "repeat"}).as_object().cloned().unwrap_or_default(),
        // Level with the node and just left of it: n8n's v1 order ranks siblings by position.
        position: definition.nodes[header].position.map(|[x, y]| [x - 100.0, y]),
        notes: Some(format!(
            "Added by the n8n import: runs `{header_name}` and what follows again on what the cycle brings back."
        )),
        ..NodeDef::default()
    });
    for connection in definition.connections.iter_mut().filter(|connection| connection.to == header_name) {
        connection.to = name.clone();
    }
    definition.connections.push(Connection { from: name, output: LOOP_BODY, to: header_name, input: 0 });
    definition.nodes.len() - 1
}

/// Takes every `repeat` loop out, connecting what led into it straight to what its `loop`
/// output fed: n8n runs such a cycle again by itself. What followed its `done` output is cut
/// off, as n8n has no pass limit.
pub(super) fn unwrap_repeats(definition: &mut WorkflowDef) {
    let repeats: HashSet<String> = definition
        .nodes
        .iter()
        .filter(|node| {
            node.node_type == NodeKind::Loop.type_name() && node.params.get("mode") == Some(&json!("repeat"))
        })
        .map(|node| node.name.clone())
        .collect();
    if repeats.is_empty() {
        return;
    }
    let mut connections = Vec::with_capacity(definition.connections.len());
    for connection in &definition.connections {
        if repeats.contains(&connection.from) {
            continue;
        }
        // A loop's `loop` output may feed another loop directly; follow it to real nodes.
        let mut targets = vec![(connection.to.clone(), connection.input)];
        for _ in 0..=repeats.len() {
            if !targets.iter().any(|(to, _)| repeats.contains(to)) {
                break;
            }
            targets = targets
                .into_iter()
                .flat_map(|(to, input)| {
                    if !repeats.contains(&to) {
                        return vec![(to, input)];
                    }
                    let body = definition.connections.iter().filter(|c| c.from == to && c.output == LOOP_BODY);
                    body.map(|c| (c.to.clone(), c.input)).collect()
                })
                .collect();
        }
        for (to, input) in targets.into_iter().filter(|(to, _)| !repeats.contains(to)) {
            let unwrapped = Connection { from: connection.from.clone(), output: connection.output, to, input };
            if !connections.contains(&unwrapped) {
                connections.push(unwrapped);
            }
        }
    }
    definition.connections = connections;
    definition.nodes.retain(|node| !repeats.contains(&node.name));
}
