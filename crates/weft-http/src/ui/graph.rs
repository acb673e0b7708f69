//! A workflow's graph drawn by the server as inline SVG, so pages need no drawing script and
//! the picture is the same everywhere (CSP allows no inline styles: classes and presentation
//! attributes only).
//!
//! Layout is layered, left to right: each node's column is the longest path to it from a root
//! (edges that close a cycle, like a loop's body returning to the loop, are left out of that),
//! and nodes within a column are ordered by the barycentre of their neighbours, a few sweeps
//! each way, which removes most crossings. Everything is ordered by definition index, so the
//! same definition always gives the same picture.

use std::collections::HashMap;
use std::fmt::Write;

use weft_engine::WorkflowDef;
use weft_store::StepStatus;

const NODE_WIDTH: f64 = 180.0;
const NODE_HEIGHT: f64 = 56.0;
const GAP_X: f64 = 90.0;
const GAP_Y: f64 = 32.0;
const PAD: f64 = 20.0;
/// Names longer than this are cut in the box; the full name is in its tooltip.
const NAME_CHARS: usize = 22;
/// Barycentre sweeps (down and up count as one).
const SWEEPS: usize = 4;

/// An edge between node indexes, with the output and input it joins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Edge {
    from: usize,
    output: usize,
    to: usize,
    input: usize,
}

/// Where each node goes: its column (layer) and its row within the column.
#[derive(Debug, PartialEq, Eq)]
struct Layout {
    layer: Vec<usize>,
    row: Vec<usize>,
    /// Rows per column.
    heights: Vec<usize>,
}

/// The SVG of `definition`; with `states` (a run's latest step state per node name), each
/// node is coloured by its state.
pub fn render(definition: &WorkflowDef, states: Option<&HashMap<String, StepStatus>>) -> String {
    if definition.nodes.is_empty() {
        return concat!(
            r#"<svg class="graph" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 360 60" role="img" aria-label="Workflow graph">"#,
            r#"<text class="edge-label" x="20" y="35">No nodes yet.</text></svg>"#
        )
        .to_owned();
    }
    let edges = edges_of(definition);
    let layout = layout(definition.nodes.len(), &edges);
    let tallest = layout.heights.iter().copied().max().unwrap_or(1) as f64;
    let columns = layout.heights.len() as f64;
    let width = PAD * 2.0 + columns * NODE_WIDTH + (columns - 1.0) * GAP_X;
    let height = PAD * 2.0 + tallest * NODE_HEIGHT + (tallest - 1.0) * GAP_Y;
    // Each column is centred vertically.
    let position = |node: usize| {
        let layer = layout.layer[node];
        let offset = (tallest - layout.heights[layer] as f64) * (NODE_HEIGHT + GAP_Y) / 2.0;
        let x = PAD + layer as f64 * (NODE_WIDTH + GAP_X);
        let y = PAD + offset + layout.row[node] as f64 * (NODE_HEIGHT + GAP_Y);
        (x, y)
    };
    let outputs: Vec<Vec<String>> =
        definition.nodes.iter().map(|n| weft_engine::node_outputs(n).unwrap_or_default()).collect();

    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="graph" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-label="Workflow graph">"#
    );
    for edge in &edges {
        let (fx, fy) = position(edge.from);
        let (tx, ty) = position(edge.to);
        let out_count = outputs[edge.from].len().max(edge.output + 1);
        let target = &definition.nodes[edge.to];
        let inputs =
            weft_engine::NodeKind::from_type_name(&target.node_type).map_or(1, |kind| kind.input_count(&target.params));
        let in_count = inputs.max(edge.input + 1);
        let (x1, y1) = (fx + NODE_WIDTH, fy + NODE_HEIGHT * (edge.output + 1) as f64 / (out_count + 1) as f64);
        let (x2, y2) = (tx - 8.0, ty + NODE_HEIGHT * (edge.input + 1) as f64 / (in_count + 1) as f64);
        // Backward edges (a loop's body returning) bow out further so they stay visible.
        let bend = if x2 > x1 { (x2 - x1) / 2.0 } else { NODE_WIDTH * 0.75 };
        let _ = write!(
            svg,
            r#"<path class="edge" d="M{x1:.1} {y1:.1} C{:.1} {y1:.1} {:.1} {y2:.1} {x2:.1} {y2:.1}"/>"#,
            x1 + bend,
            x2 - bend
        );
        let _ = write!(
            svg,
            r#"<polygon class="arrow" points="{:.1},{y2:.1} {x2:.1},{:.1} {x2:.1},{:.1}"/>"#,
            x2 + 8.0,
            y2 - 4.0,
            y2 + 4.0
        );
        if outputs[edge.from].len() > 1 {
            let label = outputs[edge.from].get(edge.output).cloned().unwrap_or_else(|| edge.output.to_string());
            let _ = write!(
                svg,
                r#"<text class="edge-label" x="{:.1}" y="{:.1}">{}</text>"#,
                x1 + 6.0,
                y1 - 4.0,
                escape(&label)
            );
        }
    }
    for (index, node) in definition.nodes.iter().enumerate() {
        let (x, y) = position(index);
        let state = states.and_then(|states| states.get(&node.name)).map(|status| status.as_str());
        let mut class = String::from("node");
        if let Some(state) = state {
            let _ = write!(class, " node-{state}");
        }
        if node.disabled {
            class.push_str(" node-disabled");
        }
        let title = match state {
            Some(state) => format!("{} ({}, {state})", node.name, node.node_type),
            None => format!("{} ({})", node.name, node.node_type),
        };
        let _ = write!(
            svg,
            r#"<g class="{class}" transform="translate({x:.1} {y:.1})"><title>{}</title><rect width="{NODE_WIDTH}" height="{NODE_HEIGHT}" rx="8"/><text x="12" y="24">{}</text><text class="kind" x="12" y="42">{}</text></g>"#,
            escape(&title),
            escape(&shorten(&node.name)),
            escape(&node.node_type)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// The connections whose both ends name nodes, as index pairs (the first node of a duplicated
/// name wins, as drafts may have them).
fn edges_of(definition: &WorkflowDef) -> Vec<Edge> {
    let mut index = HashMap::new();
    for (at, node) in definition.nodes.iter().enumerate() {
        index.entry(node.name.as_str()).or_insert(at);
    }
    definition
        .connections
        .iter()
        .filter_map(|c| {
            let (from, to) = (*index.get(c.from.as_str())?, *index.get(c.to.as_str())?);
            Some(Edge { from, output: c.output, to, input: c.input })
        })
        .collect()
}

/// Layers by longest path over the edges that close no cycle, then rows by barycentre sweeps.
fn layout(count: usize, edges: &[Edge]) -> Layout {
    let mut successors = vec![Vec::new(); count];
    let mut has_incoming = vec![false; count];
    for edge in edges {
        successors[edge.from].push(edge.to);
        has_incoming[edge.to] = true;
    }
    // Depth-first from the roots, then from whatever is left: edges to a node still on the
    // stack close a cycle.
    let mut forward = vec![Vec::new(); count];
    let mut state = vec![0u8; count]; // 0 unseen, 1 on the stack, 2 done
    let starts = (0..count).filter(|&n| !has_incoming[n]).chain(0..count);
    for start in starts.collect::<Vec<_>>() {
        if state[start] != 0 {
            continue;
        }
        let mut stack = vec![(start, 0usize)];
        state[start] = 1;
        while let Some(&(node, next)) = stack.last() {
            if let Some(&to) = successors[node].get(next) {
                if let Some(top) = stack.last_mut() {
                    top.1 += 1;
                }
                match state[to] {
                    0 => {
                        forward[node].push(to);
                        state[to] = 1;
                        stack.push((to, 0));
                    }
                    2 => forward[node].push(to),
                    _ => {} // closes a cycle
                }
            } else {
                state[node] = 2;
                stack.pop();
            }
        }
    }
    // Longest path, in topological order of the acyclic edges.
    let mut indegree = vec![0usize; count];
    for targets in &forward {
        for &to in targets {
            indegree[to] += 1;
        }
    }
    let mut layer = vec![0usize; count];
    let mut ready: Vec<usize> = (0..count).filter(|&n| indegree[n] == 0).rev().collect();
    while let Some(node) = ready.pop() {
        for &to in &forward[node] {
            layer[to] = layer[to].max(layer[node] + 1);
            indegree[to] -= 1;
            if indegree[to] == 0 {
                ready.push(to);
            }
        }
    }
    let columns = layer.iter().copied().max().unwrap_or(0) + 1;
    let mut by_layer: Vec<Vec<usize>> = vec![Vec::new(); columns];
    for node in 0..count {
        by_layer[layer[node]].push(node);
    }
    let mut row = vec![0usize; count];
    let renumber = |by_layer: &[Vec<usize>], row: &mut Vec<usize>| {
        for nodes in by_layer {
            for (at, &node) in nodes.iter().enumerate() {
                row[node] = at;
            }
        }
    };
    renumber(&by_layer, &mut row);
    let mut predecessors = vec![Vec::new(); count];
    for (from, targets) in forward.iter().enumerate() {
        for &to in targets {
            predecessors[to].push(from);
        }
    }
    for _ in 0..SWEEPS {
        for column in 1..columns {
            order_by_barycentre(&mut by_layer[column], &predecessors, &row);
            renumber(&by_layer, &mut row);
        }
        for column in (0..columns.saturating_sub(1)).rev() {
            order_by_barycentre(&mut by_layer[column], &forward, &row);
            renumber(&by_layer, &mut row);
        }
    }
    Layout { layer, row, heights: by_layer.iter().map(Vec::len).collect() }
}

/// Sorts a column by the mean row of each node's neighbours; a node without any keeps its row.
fn order_by_barycentre(nodes: &mut [usize], neighbours: &[Vec<usize>], row: &[usize]) {
    let key = |node: usize| {
        let around = &neighbours[node];
        if around.is_empty() {
            row[node] as f64
        } else {
            around.iter().map(|&n| row[n] as f64).sum::<f64>() / around.len() as f64
        }
    };
    nodes.sort_by(|&a, &b| key(a).total_cmp(&key(b)).then(row[a].cmp(&row[b])));
}

fn shorten(name: &str) -> String {
    if name.chars().count() <= NAME_CHARS {
        name.to_owned()
    } else {
        let cut: String = name.chars().take(NAME_CHARS - 1).collect();
        format!("{cut}…")
    }
}

/// Text and attribute values, escaped for XML.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn definition(value: serde_json::Value) -> WorkflowDef {
        weft_engine::parse(&value).expect("a definition that parses")
    }

    fn branching() -> WorkflowDef {
        definition(json!({
            "nodes": [
                {"name": "Start", "type": "manual_trigger"},
                {"name": "Big?", "type": "if", "params": {"conditions": [{"left": "{{ $json.n }}", "operator": "gt", "right": 1}]}},
                {"name": "Big", "type": "no_op"},
                {"name": "Small", "type": "no_op"},
                {"name": "Join", "type": "merge"},
            ],
            "connections": [
                {"from": "Start", "to": "Big?"},
                {"from": "Big?", "output": 0, "to": "Big"},
                {"from": "Big?", "output": 1, "to": "Small"},
                {"from": "Big", "to": "Join"},
                {"from": "Small", "to": "Join", "input": 1},
                {"from": "Start", "to": "Join"},
            ],
        }))
    }

    #[test]
    fn layers_are_longest_paths_from_the_roots_and_cycles_do_not_loop() {
        let def = branching();
        let edges = edges_of(&def);
        let placed = layout(def.nodes.len(), &edges);
        // Join is two steps after Big? even though Start feeds it directly.
        assert_eq!(placed.layer, [0, 1, 2, 2, 3]);
        assert_eq!(placed.heights, [1, 1, 2, 1]);

        let cyclic = [
            Edge { from: 0, output: 0, to: 1, input: 0 },
            Edge { from: 1, output: 1, to: 2, input: 0 },
            Edge { from: 2, output: 0, to: 1, input: 0 },
        ];
        assert_eq!(layout(3, &cyclic).layer, [0, 1, 2], "the loop's body comes back without moving the loop");
    }

    #[test]
    fn barycentres_uncross_edges() {
        // a→d and b→c drawn in definition order would cross; the sweep swaps c and d.
        let edges = [Edge { from: 0, output: 0, to: 3, input: 0 }, Edge { from: 1, output: 0, to: 2, input: 0 }];
        let placed = layout(4, &edges);
        assert!(placed.row[3] < placed.row[2], "{placed:?}");
    }

    #[test]
    fn names_are_escaped_and_outputs_labelled() {
        let def = definition(json!({
            "nodes": [
                {"name": "<script>alert(1)</script>", "type": "manual_trigger"},
                {"name": "Check \"this\" & that", "type": "if", "params": {"conditions": [{"left": "1", "operator": "exists"}]}},
            ],
            "connections": [{"from": "<script>alert(1)</script>", "to": "Check \"this\" & that"}],
        }));
        let svg = render(&def, None);
        assert!(!svg.contains("<script>"), "{svg}");
        assert!(svg.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{svg}");
        assert!(svg.contains("Check &quot;this&quot; &amp; that"), "{svg}");
        assert!(!svg.contains("style="), "CSP forbids inline styles");

        let svg = render(&branching(), None);
        assert!(svg.contains(">true</text>") && svg.contains(">false</text>"), "{svg}");
    }

    #[test]
    fn the_same_definition_and_states_draw_the_same_picture() {
        let def = branching();
        let mut states = HashMap::new();
        states.insert("Big?".to_owned(), StepStatus::Succeeded);
        states.insert("Small".to_owned(), StepStatus::Failed);
        let first = render(&def, Some(&states));
        assert_eq!(first, render(&def, Some(&states)));
        assert!(first.contains(r#"class="node node-failed""#), "{first}");
        assert!(first.contains(r#"class="node node-succeeded""#), "{first}");
        assert!(!render(&def, None).contains("node-failed"));
    }
}
