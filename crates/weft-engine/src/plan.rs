//! Planning a run: given a definition and what a run has recorded so far, which node
//! activations are ready to execute, and with which input items.
//!
//! Planning is pure and deterministic. The only state it needs is the run's input and the
//! outputs of the activations the worker executed ([`RunState`]); everything else (skips,
//! disabled nodes, loop batches) is derived again on every call. A worker that resumes a run
//! after a crash rebuilds the state from the recorded steps and gets the same answer.
//!
//! # Semantics
//!
//! - A run starts at one trigger, whose output is the run's input items. Other triggers, and
//!   every node that cannot be reached from the started trigger, never run; a node fed both from
//!   reachable and unreachable nodes waits for the reachable ones only.
//! - An *activation* is one execution of a node, identified by an [`ActivationKey`]: the node's
//!   name and, inside loop bodies, the iteration of each enclosing loop (outermost first). A node
//!   outside any loop has exactly one activation; a body node has one per batch.
//! - A node's activation is *ready* once every node feeding it is *settled* for the same
//!   iterations: executed and recorded, or skipped. Each input then receives the items of every
//!   connection into it, concatenated in connection order.
//! - A ready node runs if at least one of its inputs received an item. Otherwise it is
//!   *skipped*: it emits nothing, so nodes that depend only on it are skipped too. A `merge` in
//!   `wait_both` or `choose_branch` mode runs only if every input received items.
//! - A node with `execute_once` receives the first item of each input only. One with
//!   `always_output` that emits nothing at all emits one empty item on its first output instead
//!   (the worker sees to it for the nodes it executes, the plan for loops).
//! - A disabled node does not run: its first input becomes its first output, its other outputs
//!   stay empty.
//! - A `loop` node is settled by the plan itself. It splits the items of its entry connections
//!   into batches of `batch_size` and runs its body once per batch, in order: iteration `k` gets
//!   batch `k` on the `loop` output, and iteration `k + 1` starts only when every node of
//!   iteration `k` has settled. The items the body sends back into the loop node are collected;
//!   when the batches run out they are emitted, all together, on `done`. A loop whose input is
//!   empty is skipped.
//! - A `loop` in mode `repeat` runs its body on the items of its entry connections, then again
//!   on the items the body sent back, pass after pass, until a pass sends nothing back. Its
//!   `done` is then empty; if `max_passes` ran out first, `done` carries what the last pass sent
//!   back. This is how an n8n cycle (poll, check, wait, poll again) runs.
//! - The run is finished when nothing is ready and nothing is running.
//! - An imported n8n workflow whose settings name an `execution_order` runs one activation at
//!   a time, in the order n8n would run its nodes: `v1` goes down each branch to its end before
//!   the next, branches taken top to bottom and then left to right by their canvas position;
//!   `v0` runs the first node of every branch, then the second of every branch, and so on,
//!   branches taken in connection order. Without it, every ready activation is offered at once.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::catalog::NodeKind;
use crate::definition::{DefinitionProblem, ExecutionOrder, WorkflowDef, read};
use crate::graph::Graph;
use crate::item::Item;
use crate::params::{LoopMode, LoopParams, MergeMode, MergeParams};
use crate::pointer::Pointer;
use crate::validate::validate;

/// What a node with `always_output` emits when it would emit nothing.
static EMPTY_ITEM: LazyLock<Item> = LazyLock::new(Item::default);

/// Why a plan cannot be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    #[error("the definition has {} problem(s)", .0.len())]
    Invalid(Vec<DefinitionProblem>),
    #[error("no node is named `{0}`")]
    NoSuchTrigger(String),
    #[error("`{0}` is not a trigger")]
    NotATrigger(String),
    #[error("trigger `{0}` is disabled")]
    TriggerDisabled(String),
}

/// Identifies one activation of a node: its name and, inside loop bodies, the iteration of each
/// enclosing loop, outermost first. Stable across resumptions, so it can key step records and
/// idempotency keys (`run:key:attempt`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ActivationKey {
    pub node: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub iterations: Vec<usize>,
}

impl ActivationKey {
    /// The single activation of a node outside any loop.
    pub fn once(node: impl Into<String>) -> Self {
        ActivationKey { node: node.into(), iterations: Vec::new() }
    }
}

/// `Name` outside loops, `Name#2` in iteration 2, `Name#2.0` in a nested loop. For reading: a
/// name may itself contain `#`, so store the key's fields, not this text.
impl fmt::Display for ActivationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.node)?;
        for (position, iteration) in self.iterations.iter().enumerate() {
            write!(f, "{}{iteration}", if position == 0 { '#' } else { '.' })?;
        }
        Ok(())
    }
}

/// An activation that is ready to execute.
#[derive(Debug, Clone, PartialEq)]
pub struct Activation {
    /// The node's index in the definition's `nodes`.
    pub node: usize,
    pub kind: NodeKind,
    pub key: ActivationKey,
    /// Items per input, in input order.
    pub inputs: Vec<Vec<Item>>,
    /// Inside loop bodies, the pass of each enclosing loop, outermost first: what expressions
    /// see as the loop node's output and `context`.
    pub loops: Vec<LoopPass>,
}

/// One pass of a loop, as the nodes of its body see it.
#[derive(Debug, Clone, PartialEq)]
pub struct LoopPass {
    /// The loop node's name.
    pub node: String,
    /// The batch this pass works on.
    pub batch: Vec<Item>,
    /// Counting from 0 (n8n's `currentRunIndex`).
    pub iteration: usize,
    /// Whether this is the last batch (n8n's `noItemsLeft`).
    pub last: bool,
}

/// What a run has recorded: its input, the outputs of executed activations, and which
/// activations are executing now. Rebuild it from stored steps with [`RunState::new`] and
/// [`RunState::record`]; steps that were in flight when a worker died are simply not recorded,
/// so they become ready again.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunState {
    input: Vec<Item>,
    /// Outputs by node name, then by iteration path: looked up without building a key.
    outputs: HashMap<String, HashMap<Vec<usize>, Vec<Vec<Item>>>>,
    running: HashSet<ActivationKey>,
}

impl RunState {
    pub fn new(input: Vec<Item>) -> Self {
        RunState { input, ..RunState::default() }
    }

    /// Notes that an activation is executing, so that it is no longer offered as ready.
    pub fn mark_running(&mut self, key: ActivationKey) {
        self.running.insert(key);
    }

    /// Records an executed activation's items, per output in the node's output order (for
    /// `on_error: error_output`, the `error` output last). Missing trailing outputs count as empty.
    pub fn record(&mut self, key: ActivationKey, outputs: Vec<Vec<Item>>) {
        self.running.remove(&key);
        self.outputs.entry(key.node).or_default().insert(key.iterations, outputs);
    }

    /// What an executed activation emitted, per output.
    pub fn outputs(&self, key: &ActivationKey) -> Option<&[Vec<Item>]> {
        self.recorded(&key.node, &key.iterations)
    }

    /// Every recorded activation of a node, with its outputs: one outside loops, one per
    /// iteration inside them, in iteration order.
    pub fn activations(&self, node: &str) -> Vec<(&[usize], &[Vec<Item>])> {
        let mut all: Vec<_> =
            self.outputs.get(node).into_iter().flatten().map(|(at, out)| (&at[..], &out[..])).collect();
        all.sort_unstable_by_key(|(iterations, _)| *iterations);
        all
    }

    fn recorded(&self, node: &str, iterations: &[usize]) -> Option<&[Vec<Item>]> {
        self.outputs.get(node)?.get(iterations).map(Vec::as_slice)
    }
}

/// Where a run stands, as far as planning can tell.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Frontier {
    /// Activations to execute now, in a deterministic order (upstream first); with an n8n
    /// execution order, only the one n8n would run next.
    pub ready: Vec<Activation>,
    /// Activations marked running and not yet recorded.
    pub running: Vec<ActivationKey>,
    /// Activations settled without running because no input received items.
    pub skipped: Vec<ActivationKey>,
}

impl Frontier {
    pub fn is_finished(&self) -> bool {
        self.ready.is_empty() && self.running.is_empty()
    }
}

/// The plan of runs started at one trigger of one definition. Build it once per published
/// version and trigger, then ask it about any number of runs.
#[derive(Debug, Clone)]
pub struct Plan {
    nodes: Vec<Step>,
    trigger: usize,
    /// The nodes outside every loop body, in topological order.
    top: Vec<usize>,
    /// Each node's index in the list of its level (`top` or its innermost loop's `body`).
    position: Vec<usize>,
    /// With an n8n execution order, each node's place in it: ready activations are offered one
    /// at a time, lowest place first.
    rank: Option<Vec<usize>>,
}

#[derive(Debug, Clone)]
struct Step {
    name: String,
    kind: NodeKind,
    disabled: bool,
    /// Runs on the first item of each input only.
    execute_once: bool,
    /// Emits one empty item on its first output when it would emit nothing.
    always_output: bool,
    /// A `merge` that runs only when every input received items.
    wait_all: bool,
    /// Per input, the reachable outputs feeding it, in connection order. Back edges excluded.
    inputs: Vec<Vec<Source>>,
    looping: Option<Looping>,
}

#[derive(Debug, Clone)]
struct Looping {
    passes: Passes,
    /// The nodes directly in this loop's body (not in a nested loop's), in topological order.
    body: Vec<usize>,
    /// The body outputs connected back into the loop node.
    returns: Vec<Source>,
}

/// What a loop's passes work on.
#[derive(Debug, Clone, Copy)]
enum Passes {
    /// One pass per batch of this many of the items from outside.
    Batches(usize),
    /// A pass on the items from outside, then one on what each pass sent back, at most this many.
    Repeat(usize),
}

#[derive(Debug, Clone, Copy)]
struct Source {
    node: usize,
    output: usize,
}

/// An activation's items per output, borrowed from the run state.
type Outputs<'s> = Vec<Vec<&'s Item>>;

impl Plan {
    /// Plans runs of `definition` started at the trigger named `trigger`. The definition must
    /// pass validation.
    pub fn new(definition: &WorkflowDef, trigger: &str) -> Result<Plan, PlanError> {
        let problems = validate(definition);
        if !problems.is_empty() {
            return Err(PlanError::Invalid(problems));
        }
        let start = definition
            .nodes
            .iter()
            .position(|node| node.name == trigger)
            .ok_or_else(|| PlanError::NoSuchTrigger(trigger.to_string()))?;
        let kinds = definition
            .nodes
            .iter()
            .enumerate()
            .map(|(index, node)| {
                NodeKind::from_type_name(&node.node_type).ok_or_else(|| {
                    invalid(Pointer::root().key("nodes").index(index).key("type").problem("unknown type"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if !kinds[start].is_trigger() {
            return Err(PlanError::NotATrigger(trigger.to_string()));
        }
        if definition.nodes[start].disabled {
            return Err(PlanError::TriggerDisabled(trigger.to_string()));
        }

        let graph = Graph::new(definition);
        let mut reachable = vec![false; definition.nodes.len()];
        let mut pending = vec![start];
        while let Some(node) = pending.pop() {
            if !std::mem::replace(&mut reachable[node], true) {
                pending.extend(graph.edges().iter().filter(|edge| edge.from == node).map(|edge| edge.to));
            }
        }

        let mut nodes = Vec::with_capacity(definition.nodes.len());
        for (index, node) in definition.nodes.iter().enumerate() {
            let params = Value::Object(node.params.clone());
            let at = Pointer::root().key("nodes").index(index).key("params");
            let wait_all = kinds[index] == NodeKind::Merge
                && matches!(
                    read::<MergeParams>(&params, &at).map_err(invalid)?.mode,
                    MergeMode::WaitBoth | MergeMode::ChooseBranch
                );
            let mut inputs = vec![Vec::new(); kinds[index].input_count(&node.params)];
            for edge in graph.edges().iter().filter(|edge| edge.to == index && !edge.back && reachable[edge.from]) {
                inputs[edge.input].push(Source { node: edge.from, output: edge.output });
            }
            let looping = if kinds[index] == NodeKind::Loop {
                let loop_params = read::<LoopParams>(&params, &at).map_err(invalid)?;
                let passes = match loop_params.mode {
                    LoopMode::Batches => Passes::Batches(loop_params.batch_size().max(1)),
                    LoopMode::Repeat => Passes::Repeat(loop_params.max_passes().max(1)),
                };
                let returns = graph
                    .edges()
                    .iter()
                    .filter(|edge| edge.to == index && edge.back)
                    .map(|edge| Source { node: edge.from, output: edge.output })
                    .collect();
                Some(Looping { passes, body: Vec::new(), returns })
            } else {
                None
            };
            nodes.push(Step {
                name: node.name.clone(),
                kind: kinds[index],
                disabled: node.disabled,
                execute_once: node.execute_once,
                always_output: node.always_output,
                wait_all,
                inputs,
                looping,
            });
        }

        let mut top = Vec::new();
        let mut position = vec![0; nodes.len()];
        for node in graph.topological_order().into_iter().filter(|node| reachable[*node]) {
            let level = match graph.innermost_loop(node) {
                Some(looping) => match &mut nodes[looping].looping {
                    Some(looping) => &mut looping.body,
                    None => &mut top,
                },
                None => &mut top,
            };
            position[node] = level.len();
            level.push(node);
        }
        let rank = definition.settings.execution_order.map(|order| n8n_rank(definition, &graph, start, order));
        Ok(Plan { nodes, trigger: start, top, position, rank })
    }

    /// What is ready, running and skipped, given what `state` has recorded.
    pub fn frontier(&self, state: &RunState) -> Frontier {
        let mut walk = Walk { plan: self, state, iterations: Vec::new(), frontier: Frontier::default() };
        walk.level(&self.top, &[]);
        let mut frontier = walk.frontier;
        if let Some(rank) = &self.rank {
            // Earlier iterations of a loop body come first, as their batches did.
            frontier.ready.sort_by(|a, b| (rank[a.node], &a.key.iterations).cmp(&(rank[b.node], &b.key.iterations)));
            frontier.ready.truncate(1);
        }
        frontier
    }
}

/// Each node's place in the order n8n runs a workflow's nodes from `start` (nodes it never
/// reaches come last). n8n keeps a stack of nodes to run: `v0` appends a node's children after
/// everything already waiting, so branches advance a node at a time (breadth first); `v1` puts
/// them in front, sorted by canvas position, so each branch runs to its end (depth first).
fn n8n_rank(definition: &WorkflowDef, graph: &Graph, start: usize, order: ExecutionOrder) -> Vec<usize> {
    let children = |node: usize| {
        let mut children: Vec<usize> =
            graph.edges().iter().filter(|edge| edge.from == node && !edge.back).map(|edge| edge.to).collect();
        if order == ExecutionOrder::V1 {
            let place = |node: usize| definition.nodes[node].position.unwrap_or_default();
            // Top to bottom, then left to right; the sort is stable, so ties keep connection order.
            children.sort_by(|a, b| {
                let ([ax, ay], [bx, by]) = (place(*a), place(*b));
                ay.total_cmp(&by).then(ax.total_cmp(&bx))
            });
        }
        children
    };
    let mut rank = vec![usize::MAX; definition.nodes.len()];
    let mut next = 0;
    let mut waiting = VecDeque::from([start]);
    while let Some(node) = waiting.pop_front() {
        if rank[node] != usize::MAX {
            continue;
        }
        rank[node] = next;
        next += 1;
        match order {
            ExecutionOrder::V0 => waiting.extend(children(node)),
            ExecutionOrder::V1 => {
                for child in children(node).into_iter().rev() {
                    waiting.push_front(child);
                }
            }
        }
    }
    rank
}

fn invalid(problem: DefinitionProblem) -> PlanError {
    PlanError::Invalid(vec![problem])
}

/// One evaluation of a plan against a run state.
struct Walk<'p, 's> {
    plan: &'p Plan,
    state: &'s RunState,
    /// The iterations of the loops around the level being walked.
    iterations: Vec<usize>,
    frontier: Frontier,
}

/// A pass of a loop around the level being walked: the loop node, its batch, and whether the
/// batch is the last. Borrowed; cloned into a [`LoopPass`] only for activations made ready.
#[derive(Clone, Copy)]
struct Pass<'b, 's> {
    node: usize,
    batch: &'b [&'s Item],
    last: bool,
}

impl<'p, 's> Walk<'p, 's> {
    /// Walks the nodes of one level (the top, or one iteration of a loop body, the last of
    /// `passes`) in topological order. Returns every node's outputs if all settled.
    fn level(&mut self, order: &[usize], passes: &[Pass<'_, 's>]) -> Option<Vec<Outputs<'s>>> {
        let mut settled: Vec<Option<Outputs<'s>>> = Vec::with_capacity(order.len());
        for &node in order {
            let outputs = self.settle(node, &settled, passes);
            settled.push(outputs);
        }
        settled.into_iter().collect()
    }

    /// The outputs of `node` if it is settled; otherwise notes it as ready or running.
    fn settle(&mut self, node: usize, settled: &[Option<Outputs<'s>>], passes: &[Pass<'_, 's>]) -> Option<Outputs<'s>> {
        let plan = self.plan;
        let step = &plan.nodes[node];
        if node == plan.trigger {
            return Some(vec![self.state.input.iter().collect()]);
        }
        let mut inputs: Outputs<'s> = vec![Vec::new(); step.inputs.len()];
        for (input, sources) in step.inputs.iter().enumerate() {
            for source in sources {
                let items = match passes.last() {
                    Some(pass) if pass.node == source.node => pass.batch,
                    _ => {
                        let outputs = settled.get(plan.position[source.node])?.as_ref()?;
                        outputs.get(source.output).map_or(&[][..], Vec::as_slice)
                    }
                };
                inputs[input].extend_from_slice(items);
            }
        }
        if step.disabled {
            return Some(inputs.into_iter().take(1).collect());
        }
        let starved = if step.wait_all { inputs.iter().any(Vec::is_empty) } else { inputs.iter().all(Vec::is_empty) };
        if starved {
            self.frontier.skipped.push(self.key(step));
            return Some(Vec::new());
        }
        if step.execute_once {
            inputs.iter_mut().for_each(|items| items.truncate(1));
        }
        if let Some(looping) = &step.looping {
            let mut outputs = self.run_loop(node, looping, inputs.swap_remove(0), passes)?;
            if step.always_output && outputs.iter().all(Vec::is_empty) {
                outputs[0].push(&*EMPTY_ITEM);
            }
            return Some(outputs);
        }
        if let Some(outputs) = self.state.recorded(&step.name, &self.iterations) {
            return Some(outputs.iter().map(|items| items.iter().collect()).collect());
        }
        let key = self.key(step);
        if self.state.running.contains(&key) {
            self.frontier.running.push(key);
        } else {
            let inputs = inputs.into_iter().map(|items| items.into_iter().cloned().collect()).collect();
            let loops = passes.iter().zip(&self.iterations).map(|(pass, iteration)| LoopPass {
                node: plan.nodes[pass.node].name.clone(),
                batch: pass.batch.iter().map(|item| (*item).clone()).collect(),
                iteration: *iteration,
                last: pass.last,
            });
            let loops = loops.collect();
            self.frontier.ready.push(Activation { node, kind: step.kind, key, inputs, loops });
        }
        None
    }

    /// Runs a loop's passes one after the other: over the batches of `items`, or on `items` and
    /// then on what each pass sent back. Settled once the last pass has settled: a `batches`
    /// loop with everything that came back on `done`; a `repeat` loop with `done` empty, or
    /// holding what the last allowed pass still sent back.
    fn run_loop(
        &mut self,
        node: usize,
        looping: &'p Looping,
        items: Vec<&'s Item>,
        outer: &[Pass<'_, 's>],
    ) -> Option<Outputs<'s>> {
        match looping.passes {
            Passes::Batches(size) => {
                let mut returned = Vec::new();
                let batches = items.len().div_ceil(size);
                for (iteration, batch) in items.chunks(size).enumerate() {
                    let last = iteration + 1 == batches;
                    returned.extend(self.pass(looping, outer, Pass { node, batch, last }, iteration)?);
                }
                Some(vec![returned, Vec::new()])
            }
            Passes::Repeat(most) => {
                let mut batch = items;
                for iteration in 0..most {
                    batch = self.pass(looping, outer, Pass { node, batch: &batch, last: false }, iteration)?;
                    if batch.is_empty() {
                        break;
                    }
                }
                Some(vec![batch, Vec::new()])
            }
        }
    }

    /// Walks one pass of a loop's body. Returns what it sent back into the loop node once every
    /// body node has settled.
    fn pass(
        &mut self,
        looping: &'p Looping,
        outer: &[Pass<'_, 's>],
        pass: Pass<'_, 's>,
        iteration: usize,
    ) -> Option<Vec<&'s Item>> {
        let mut passes = outer.to_vec();
        passes.push(pass);
        self.iterations.push(iteration);
        let body = self.level(&looping.body, &passes);
        self.iterations.pop();
        let body = body?;
        let mut returned = Vec::new();
        for source in &looping.returns {
            let outputs = &body[self.plan.position[source.node]];
            returned.extend_from_slice(outputs.get(source.output).map_or(&[][..], Vec::as_slice));
        }
        Some(returned)
    }

    fn key(&self, step: &Step) -> ActivationKey {
        ActivationKey { node: step.name.clone(), iterations: self.iterations.clone() }
    }
}
