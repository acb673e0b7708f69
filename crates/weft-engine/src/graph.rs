//! The connection graph and the loop structure that validation checks and planning relies on.
//!
//! A `loop` node's *body* is every node reachable from its `loop` output without passing through
//! the loop node itself. Connections from the body back into the loop node are its *back
//! edges*; every other connection is a *forward edge*. A sound definition has:
//! - a body entered only through its loop's `loop` output, so that body nodes run once per batch;
//! - loops that nest (one body inside the other) rather than overlap;
//! - no cycle among forward edges, so that everything outside loop iterations runs once.

use std::collections::{BTreeSet, HashMap, VecDeque};

use crate::catalog::{LOOP_BODY, NodeKind, node_outputs};
use crate::definition::WorkflowDef;

/// A connection whose ends exist and whose output and input indices exist on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Edge {
    /// Its index in the definition's `connections`.
    pub connection: usize,
    pub from: usize,
    pub output: usize,
    pub to: usize,
    pub input: usize,
    /// Whether it leads from a loop's body back into the loop node.
    pub back: bool,
}

/// A cycle among forward edges: the first connection (by index) on it, and its nodes in order,
/// the first node repeated at the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cycle {
    pub connection: usize,
    pub nodes: Vec<usize>,
}

pub(crate) struct Graph {
    node_count: usize,
    /// In connection order.
    edges: Vec<Edge>,
    /// Each loop node with the membership (by node index) of its body.
    bodies: Vec<(usize, Vec<bool>)>,
}

impl Graph {
    /// Builds the graph of `definition`'s usable connections. A node name used twice refers to
    /// its first node; connections that validation rejects for other reasons are left out so
    /// that they do not also show up as cycles or loop problems.
    pub(crate) fn new(definition: &WorkflowDef) -> Graph {
        let mut by_name = HashMap::new();
        for (index, node) in definition.nodes.iter().enumerate() {
            by_name.entry(node.name.as_str()).or_insert(index);
        }
        let kinds: Vec<_> = definition.nodes.iter().map(|node| NodeKind::from_type_name(&node.node_type)).collect();
        let input_counts: Vec<_> = definition
            .nodes
            .iter()
            .zip(&kinds)
            .map(|(node, kind)| kind.map(|kind| kind.input_count(&node.params)))
            .collect();
        let output_counts: Vec<_> = definition.nodes.iter().map(|node| node_outputs(node).map(|o| o.len())).collect();
        let edges = definition
            .connections
            .iter()
            .enumerate()
            .filter_map(|(connection, c)| {
                let (from, to) = (*by_name.get(c.from.as_str())?, *by_name.get(c.to.as_str())?);
                let output_exists = output_counts[from].is_none_or(|count| c.output < count);
                let input_exists = input_counts[to].is_none_or(|count| c.input < count);
                let edge = Edge { connection, from, output: c.output, to, input: c.input, back: false };
                (output_exists && input_exists).then_some(edge)
            })
            .collect();
        let mut graph = Graph { node_count: definition.nodes.len(), edges, bodies: Vec::new() };
        graph.bodies = (0..graph.node_count)
            .filter(|node| kinds[*node] == Some(NodeKind::Loop))
            .map(|looping| (looping, graph.body_of(looping)))
            .collect();
        for index in 0..graph.edges.len() {
            let Edge { from, to, .. } = graph.edges[index];
            graph.edges[index].back = graph.bodies.iter().any(|(looping, body)| *looping == to && body[from]);
        }
        graph
    }

    fn body_of(&self, looping: usize) -> Vec<bool> {
        let mut inside = vec![false; self.node_count];
        let mut queue: VecDeque<usize> =
            self.edges.iter().filter(|e| e.from == looping && e.output == LOOP_BODY).map(|e| e.to).collect();
        while let Some(node) = queue.pop_front() {
            if node == looping || inside[node] {
                continue;
            }
            inside[node] = true;
            queue.extend(self.edges.iter().filter(|e| e.from == node).map(|e| e.to));
        }
        inside
    }

    pub(crate) fn edges(&self) -> &[Edge] {
        &self.edges
    }

    pub(crate) fn forward_edges(&self) -> impl Iterator<Item = &Edge> + '_ {
        self.edges.iter().filter(|edge| !edge.back)
    }

    /// For each node, the targets of its forward edges.
    fn successors(&self) -> Vec<Vec<usize>> {
        let mut successors = vec![Vec::new(); self.node_count];
        for edge in self.forward_edges() {
            successors[edge.from].push(edge.to);
        }
        successors
    }

    /// Edges that enter a loop's body other than from the loop's `loop` output, each with the
    /// (first such) loop whose body it enters.
    pub(crate) fn body_entries(&self) -> Vec<(Edge, usize)> {
        self.edges
            .iter()
            .filter_map(|edge| {
                let (looping, _) = self.bodies.iter().find(|(looping, body)| {
                    body[edge.to] && !body[edge.from] && !(edge.from == *looping && edge.output == LOOP_BODY)
                })?;
                Some((*edge, *looping))
            })
            .collect()
    }

    /// Pairs of loops each inside the other's body.
    pub(crate) fn overlapping_loops(&self) -> Vec<(usize, usize)> {
        let mut pairs = Vec::new();
        for (i, (first, first_body)) in self.bodies.iter().enumerate() {
            for (second, second_body) in &self.bodies[i + 1..] {
                if first_body[*second] && second_body[*first] {
                    pairs.push((*first, *second));
                }
            }
        }
        pairs
    }

    /// The loop whose body most closely contains `node`, if any. Loops nest, so the smallest
    /// body containing the node is the innermost.
    pub(crate) fn innermost_loop(&self, node: usize) -> Option<usize> {
        self.bodies
            .iter()
            .filter(|(_, body)| body[node])
            .min_by_key(|(_, body)| body.iter().filter(|inside| **inside).count())
            .map(|(looping, _)| *looping)
    }

    /// Every cycle among forward edges, one per strongly connected group of nodes.
    pub(crate) fn cycles(&self) -> Vec<Cycle> {
        let component = self.components();
        let successors = self.successors();
        let mut cycles: Vec<Cycle> = Vec::new();
        let mut reported = BTreeSet::new();
        for edge in self.forward_edges() {
            if component[edge.from] != component[edge.to] || !reported.insert(component[edge.from]) {
                continue;
            }
            // The path from the edge's target back to its source closes the cycle.
            let group = component[edge.from];
            let mut previous = vec![None; self.node_count];
            let mut queue = VecDeque::from([edge.to]);
            let mut seen = vec![false; self.node_count];
            seen[edge.to] = true;
            while let Some(node) = queue.pop_front() {
                if node == edge.from {
                    break;
                }
                for &next in &successors[node] {
                    if component[next] == group && !seen[next] {
                        seen[next] = true;
                        previous[next] = Some(node);
                        queue.push_back(next);
                    }
                }
            }
            let mut back = vec![edge.from];
            let mut node = edge.from;
            while node != edge.to {
                let Some(before) = previous[node] else { break };
                back.push(before);
                node = before;
            }
            back.reverse();
            let mut nodes = vec![edge.from];
            nodes.extend(back);
            cycles.push(Cycle { connection: edge.connection, nodes });
        }
        cycles
    }

    /// The groups of nodes that forward edges join in a cycle, each in node order, the groups in
    /// the order of their first node.
    pub(crate) fn cyclic_groups(&self) -> Vec<Vec<usize>> {
        let component = self.components();
        let cyclic: BTreeSet<usize> = self
            .forward_edges()
            .filter(|edge| component[edge.from] == component[edge.to])
            .map(|edge| component[edge.from])
            .collect();
        let mut groups: Vec<(usize, Vec<usize>)> = Vec::new();
        for node in (0..self.node_count).filter(|node| cyclic.contains(&component[*node])) {
            match groups.iter_mut().find(|(number, _)| *number == component[node]) {
                Some((_, members)) => members.push(node),
                None => groups.push((component[node], vec![node])),
            }
        }
        groups.into_iter().map(|(_, members)| members).collect()
    }

    /// Strongly connected components of the forward edges (Kosaraju, iteratively so that a huge
    /// definition cannot exhaust the stack). Returns each node's component number.
    fn components(&self) -> Vec<usize> {
        let successors = self.successors();
        let mut predecessors = vec![Vec::new(); self.node_count];
        for edge in self.forward_edges() {
            predecessors[edge.to].push(edge.from);
        }
        let mut finished = Vec::with_capacity(self.node_count);
        let mut visited = vec![false; self.node_count];
        for start in 0..self.node_count {
            if visited[start] {
                continue;
            }
            visited[start] = true;
            let mut stack = vec![(start, 0)];
            while let Some((node, next)) = stack.pop() {
                if let Some(&successor) = successors[node].get(next) {
                    stack.push((node, next + 1));
                    if !visited[successor] {
                        visited[successor] = true;
                        stack.push((successor, 0));
                    }
                } else {
                    finished.push(node);
                }
            }
        }
        let mut component = vec![usize::MAX; self.node_count];
        for (number, &root) in finished.iter().rev().enumerate() {
            if component[root] != usize::MAX {
                continue;
            }
            component[root] = number;
            let mut stack = vec![root];
            while let Some(node) = stack.pop() {
                for &predecessor in &predecessors[node] {
                    if component[predecessor] == usize::MAX {
                        component[predecessor] = number;
                        stack.push(predecessor);
                    }
                }
            }
        }
        component
    }

    /// All nodes in an order where every forward edge goes from an earlier to a later node; ties
    /// go to the node defined first, so the order (and so the plan) is deterministic. Nodes on a
    /// cycle, which validation refuses, are left out.
    pub(crate) fn topological_order(&self) -> Vec<usize> {
        let successors = self.successors();
        let mut incoming = vec![0usize; self.node_count];
        for edge in self.forward_edges() {
            incoming[edge.to] += 1;
        }
        let mut free: BTreeSet<usize> = (0..self.node_count).filter(|node| incoming[*node] == 0).collect();
        let mut order = Vec::with_capacity(self.node_count);
        while let Some(node) = free.pop_first() {
            order.push(node);
            for &next in &successors[node] {
                incoming[next] -= 1;
                if incoming[next] == 0 {
                    free.insert(next);
                }
            }
        }
        order
    }
}
