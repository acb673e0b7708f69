//! Planning: readiness through chains, branches, merges, disabled nodes, loops and triggers.
//! Each test drives a plan the way a worker would: execute what is ready, record it, ask again.

use serde_json::{Value, json};
use weft_engine::{Activation, ActivationKey, Frontier, Item, Plan, PlanError, RunState, parse};

fn item(json: Value) -> Item {
    Item::new(json.as_object().expect("an object").clone())
}

fn items(count: usize) -> Vec<Item> {
    (0..count).map(|n| item(json!({ "n": n }))).collect()
}

fn plan(definition: Value, trigger: &str) -> Plan {
    Plan::new(&parse(&definition).expect("parses"), trigger).expect("plans")
}

fn node(name: &str, node_type: &str) -> Value {
    json!({"name": name, "type": node_type})
}

fn edge(from: &str, to: &str) -> Value {
    json!({"from": from, "to": to})
}

fn edge_from(from: &str, output: usize, to: &str, input: usize) -> Value {
    json!({"from": from, "output": output, "to": to, "input": input})
}

fn keys(activations: &[Activation]) -> Vec<String> {
    activations.iter().map(|activation| activation.key.to_string()).collect()
}

fn shown(keys: &[ActivationKey]) -> Vec<String> {
    keys.iter().map(ActivationKey::to_string).collect()
}

/// Every item of input 0, tagged with the node that passed it on.
fn pass_on(activation: &Activation) -> Vec<Vec<Item>> {
    let mut out = activation.inputs.first().cloned().unwrap_or_default();
    for item in &mut out {
        item.json.insert(activation.key.node.clone(), json!(true));
    }
    vec![out]
}

/// Executes ready activations until the run finishes; returns what ran, in order, and the state.
fn run(
    plan: &Plan,
    input: Vec<Item>,
    execute: impl Fn(&Activation) -> Vec<Vec<Item>>,
) -> (Vec<String>, RunState, Frontier) {
    let mut state = RunState::new(input);
    let mut ran = Vec::new();
    for _ in 0..1000 {
        let frontier = plan.frontier(&state);
        if frontier.is_finished() {
            return (ran, state, frontier);
        }
        for activation in frontier.ready {
            ran.push(activation.key.to_string());
            state.record(activation.key.clone(), execute(&activation));
        }
    }
    panic!("the run did not finish; ran {ran:?}");
}

fn chain() -> Value {
    json!({
        "nodes": [node("Start", "manual_trigger"), node("A", "no_op"), node("B", "no_op"), node("C", "no_op")],
        "connections": [edge("Start", "A"), edge("A", "B"), edge("B", "C")]
    })
}

#[test]
fn a_chain_runs_each_node_once_in_order() {
    let plan = plan(chain(), "Start");
    let first = plan.frontier(&RunState::new(items(2)));
    assert_eq!(keys(&first.ready), ["A"]);
    assert_eq!(first.ready[0].inputs, vec![items(2)]);
    assert_eq!(first.ready[0].node, 1);

    let (ran, state, last) = run(&plan, items(2), pass_on);
    assert_eq!(ran, ["A", "B", "C"]);
    assert!(last.skipped.is_empty());
    let out = &state.outputs(&ActivationKey::once("C")).expect("C recorded")[0];
    assert_eq!(out.len(), 2);
    assert_eq!(out[1].json["B"], json!(true));
}

#[test]
fn a_node_offered_once_is_not_offered_again_while_it_runs() {
    let plan = plan(chain(), "Start");
    let mut state = RunState::new(items(1));
    state.mark_running(ActivationKey::once("A"));
    let frontier = plan.frontier(&state);
    assert!(frontier.ready.is_empty());
    assert_eq!(shown(&frontier.running), ["A"]);
    assert!(!frontier.is_finished());

    state.record(ActivationKey::once("A"), vec![items(1)]);
    let frontier = plan.frontier(&state);
    assert_eq!(keys(&frontier.ready), ["B"]);
    assert!(frontier.running.is_empty());
}

#[test]
fn a_run_with_no_items_skips_everything_and_finishes() {
    let plan = plan(chain(), "Start");
    let frontier = plan.frontier(&RunState::new(Vec::new()));
    assert!(frontier.is_finished());
    assert_eq!(shown(&frontier.skipped), ["A", "B", "C"]);
}

fn branching() -> Value {
    json!({
        "nodes": [
            node("Start", "manual_trigger"),
            {"name": "If", "type": "if", "params": {"conditions": [{"left": "{{ $json.ok }}", "operator": "equals", "right": true}]}},
            node("Yes", "no_op"), node("After yes", "no_op"), node("No", "no_op"), node("After no", "no_op")
        ],
        "connections": [
            edge("Start", "If"),
            edge_from("If", 0, "Yes", 0), edge("Yes", "After yes"),
            edge_from("If", 1, "No", 0), edge("No", "After no")
        ]
    })
}

/// Sends every item to the `true` output, or every item to `false`.
fn route(to_true: bool) -> impl Fn(&Activation) -> Vec<Vec<Item>> {
    move |activation| match activation.key.node.as_str() {
        "If" if to_true => vec![activation.inputs[0].clone(), Vec::new()],
        "If" => vec![Vec::new(), activation.inputs[0].clone()],
        _ => pass_on(activation),
    }
}

#[test]
fn the_branch_taken_runs_and_the_other_is_skipped_through() {
    let plan = plan(branching(), "Start");
    let (ran, _, last) = run(&plan, items(1), route(true));
    assert_eq!(ran, ["If", "Yes", "After yes"]);
    assert_eq!(shown(&last.skipped), ["No", "After no"]);

    let (ran, _, last) = run(&plan, items(1), route(false));
    assert_eq!(ran, ["If", "No", "After no"]);
    assert_eq!(shown(&last.skipped), ["Yes", "After yes"]);
}

#[test]
fn a_skip_is_known_as_soon_as_the_branch_is_decided() {
    let plan = plan(branching(), "Start");
    let mut state = RunState::new(items(1));
    state.record(ActivationKey::once("If"), vec![items(1), Vec::new()]);
    let frontier = plan.frontier(&state);
    assert_eq!(keys(&frontier.ready), ["Yes"]);
    assert_eq!(shown(&frontier.skipped), ["No", "After no"]);
}

#[test]
fn an_error_output_routes_failed_items_and_skips_the_main_path() {
    let definition = json!({
        "nodes": [node("Start", "manual_trigger"), {"name": "Call", "type": "http_request", "on_error": "error_output",
            "params": {"url": "https://api.example"}}, node("Use", "no_op"), node("Report", "no_op")],
        "connections": [edge("Start", "Call"), edge_from("Call", 0, "Use", 0), edge_from("Call", 1, "Report", 0)]
    });
    let plan = plan(definition, "Start");
    let (ran, _, last) = run(&plan, items(1), |activation| match activation.key.node.as_str() {
        "Call" => vec![Vec::new(), vec![item(json!({"error": "timed out"}))]],
        _ => pass_on(activation),
    });
    assert_eq!(ran, ["Call", "Report"]);
    assert_eq!(shown(&last.skipped), ["Use"]);
}

fn merging(mode: &str) -> Value {
    json!({
        "nodes": [node("Start", "manual_trigger"), node("A", "no_op"), node("B", "no_op"),
            {"name": "M", "type": "merge", "params": {"mode": mode}}, node("After", "no_op")],
        "connections": [edge("Start", "A"), edge("Start", "B"), edge_from("A", 0, "M", 0), edge_from("B", 0, "M", 1),
            edge("M", "After")]
    })
}

#[test]
fn a_merge_waits_for_both_inputs() {
    let plan = plan(merging("wait_both"), "Start");
    let mut state = RunState::new(items(1));
    assert_eq!(keys(&plan.frontier(&state).ready), ["A", "B"]);

    state.record(ActivationKey::once("A"), vec![vec![item(json!({"from": "a"}))]]);
    assert_eq!(keys(&plan.frontier(&state).ready), ["B"]);

    state.record(ActivationKey::once("B"), vec![vec![item(json!({"from": "b"}))]]);
    let frontier = plan.frontier(&state);
    assert_eq!(keys(&frontier.ready), ["M"]);
    assert_eq!(frontier.ready[0].inputs, vec![vec![item(json!({"from": "a"}))], vec![item(json!({"from": "b"}))]]);
}

#[test]
fn a_merge_waiting_for_both_or_choosing_a_branch_is_skipped_when_one_side_is_empty() {
    for mode in ["wait_both", "choose_branch"] {
        let plan = plan(merging(mode), "Start");
        let mut state = RunState::new(items(1));
        state.record(ActivationKey::once("A"), vec![items(1)]);
        state.record(ActivationKey::once("B"), vec![Vec::new()]);
        let frontier = plan.frontier(&state);
        assert!(frontier.is_finished());
        assert_eq!(shown(&frontier.skipped), ["M", "After"]);
    }
}

#[test]
fn a_merge_of_three_inputs_gets_the_items_of_its_third() {
    let definition = json!({
        "nodes": [node("Start", "manual_trigger"), node("A", "no_op"),
            {"name": "M", "type": "merge", "params": {"inputs": 3}}],
        "connections": [edge("Start", "A"), edge_from("A", 0, "M", 2)]
    });
    let plan = plan(definition, "Start");
    let mut state = RunState::new(items(1));
    state.record(ActivationKey::once("A"), vec![items(2)]);
    let frontier = plan.frontier(&state);
    assert_eq!(frontier.ready[0].inputs.iter().map(Vec::len).collect::<Vec<_>>(), [0, 0, 2]);
}

#[test]
fn an_appending_merge_runs_with_one_empty_side() {
    let plan = plan(merging("append"), "Start");
    let mut state = RunState::new(items(1));
    state.record(ActivationKey::once("A"), vec![items(2)]);
    state.record(ActivationKey::once("B"), vec![Vec::new()]);
    let frontier = plan.frontier(&state);
    assert_eq!(keys(&frontier.ready), ["M"]);
    assert_eq!(frontier.ready[0].inputs, vec![items(2), Vec::new()]);
}

#[test]
fn a_disabled_node_passes_its_first_input_through_without_running() {
    let definition = json!({
        "nodes": [node("Start", "manual_trigger"),
            {"name": "Off", "type": "set", "disabled": true, "params": {"assignments": [{"name": "x", "value": 1}]}},
            node("After", "no_op")],
        "connections": [edge("Start", "Off"), edge("Off", "After")]
    });
    let plan = plan(definition, "Start");
    let frontier = plan.frontier(&RunState::new(items(3)));
    assert_eq!(keys(&frontier.ready), ["After"]);
    assert_eq!(frontier.ready[0].inputs, vec![items(3)]);
}

#[test]
fn a_disabled_merge_passes_only_its_first_input() {
    let mut definition = merging("append");
    definition["nodes"][3]["disabled"] = json!(true);
    let plan = plan(definition, "Start");
    let mut state = RunState::new(items(1));
    state.record(ActivationKey::once("A"), vec![vec![item(json!({"from": "a"}))]]);
    state.record(ActivationKey::once("B"), vec![vec![item(json!({"from": "b"}))]]);
    let frontier = plan.frontier(&state);
    assert_eq!(keys(&frontier.ready), ["After"]);
    assert_eq!(frontier.ready[0].inputs, vec![vec![item(json!({"from": "a"}))]]);
}

#[test]
fn a_diamond_joins_once_after_both_sides() {
    let definition = json!({
        "nodes": [node("Start", "manual_trigger"), node("A", "no_op"), node("B", "no_op"), node("C", "no_op"),
            node("D", "no_op")],
        "connections": [edge("Start", "A"), edge("A", "B"), edge("A", "C"), edge("B", "D"), edge("C", "D")]
    });
    let plan = plan(definition, "Start");
    let mut state = RunState::new(items(1));
    state.record(ActivationKey::once("A"), vec![items(1)]);
    state.record(ActivationKey::once("B"), vec![vec![item(json!({"side": "b"}))]]);
    assert_eq!(keys(&plan.frontier(&state).ready), ["C"]);
    state.record(ActivationKey::once("C"), vec![vec![item(json!({"side": "c"}))]]);
    let frontier = plan.frontier(&state);
    assert_eq!(keys(&frontier.ready), ["D"]);
    // One input fed by two connections: their items in connection order.
    assert_eq!(frontier.ready[0].inputs, vec![vec![item(json!({"side": "b"})), item(json!({"side": "c"}))]]);

    let (ran, _, _) = run(&plan, items(1), pass_on);
    assert_eq!(ran, ["A", "B", "C", "D"]);
}

#[test]
fn a_diamond_through_an_if_joins_with_the_branch_taken() {
    let mut definition = branching();
    definition["nodes"].as_array_mut().unwrap().push(node("Join", "no_op"));
    definition["connections"].as_array_mut().unwrap().extend([edge("After yes", "Join"), edge("After no", "Join")]);
    let plan = plan(definition, "Start");
    let (ran, state, _) = run(&plan, items(2), route(false));
    assert_eq!(ran, ["If", "No", "After no", "Join"]);
    assert_eq!(state.outputs(&ActivationKey::once("Join")).unwrap()[0].len(), 2);
}

fn looping(batch_size: usize) -> Value {
    json!({
        "nodes": [node("Start", "manual_trigger"), {"name": "Loop", "type": "loop", "params": {"batch_size": batch_size}},
            node("Body", "no_op"), node("After", "no_op")],
        "connections": [edge("Start", "Loop"), edge_from("Loop", 1, "Body", 0), edge("Body", "Loop"),
            edge_from("Loop", 0, "After", 0)]
    })
}

#[test]
fn a_loop_runs_its_body_once_per_batch_then_emits_everything_on_done() {
    let plan = plan(looping(2), "Start");
    let mut state = RunState::new(items(5));
    let mut batches = Vec::new();
    loop {
        let frontier = plan.frontier(&state);
        let [activation] = frontier.ready.as_slice() else { panic!("one at a time: {:?}", keys(&frontier.ready)) };
        if activation.key.node == "After" {
            assert_eq!(activation.inputs[0].len(), 5);
            assert!(activation.inputs[0].iter().all(|item| item.json["Body"] == json!(true)));
            break;
        }
        batches.push((activation.key.to_string(), activation.inputs[0].len()));
        state.record(activation.key.clone(), pass_on(activation));
    }
    assert_eq!(batches, [("Body#0".to_string(), 2), ("Body#1".to_string(), 2), ("Body#2".to_string(), 1)]);
}

#[test]
fn a_loop_over_nothing_is_skipped() {
    let plan = plan(looping(2), "Start");
    let frontier = plan.frontier(&RunState::new(Vec::new()));
    assert!(frontier.is_finished());
    assert_eq!(shown(&frontier.skipped), ["Loop", "After"]);
}

#[test]
fn an_iteration_whose_items_do_not_come_back_still_moves_the_loop_on() {
    let definition = json!({
        "nodes": [node("Start", "manual_trigger"), {"name": "Loop", "type": "loop", "params": {"batch_size": 1}},
            {"name": "Keep?", "type": "if", "params": {"conditions": [{"left": "{{ $json.n }}", "operator": "gt", "right": 0}]}},
            node("Kept", "no_op"), node("Dropped", "no_op"), node("After", "no_op")],
        "connections": [edge("Start", "Loop"), edge_from("Loop", 1, "Keep?", 0), edge_from("Keep?", 0, "Kept", 0),
            edge_from("Keep?", 1, "Dropped", 0), edge("Kept", "Loop"), edge_from("Loop", 0, "After", 0)]
    });
    let plan = plan(definition, "Start");
    let (ran, state, last) = run(&plan, items(3), |activation| match activation.key.node.as_str() {
        "Keep?" if activation.inputs[0][0].json["n"] == json!(0) => vec![Vec::new(), activation.inputs[0].clone()],
        "Keep?" => vec![activation.inputs[0].clone(), Vec::new()],
        _ => pass_on(activation),
    });
    assert_eq!(ran, ["Keep?#0", "Dropped#0", "Keep?#1", "Kept#1", "Keep?#2", "Kept#2", "After"]);
    assert_eq!(shown(&last.skipped), ["Kept#0", "Dropped#1", "Dropped#2"]);
    assert_eq!(state.outputs(&ActivationKey::once("After")).unwrap()[0].len(), 2);
}

#[test]
fn nested_loops_key_activations_by_both_iterations() {
    let definition = json!({
        "nodes": [node("Start", "manual_trigger"),
            {"name": "Outer", "type": "loop", "params": {"batch_size": 2}},
            {"name": "Inner", "type": "loop", "params": {"batch_size": 1}},
            node("Work", "no_op"), node("Batch done", "no_op"), node("End", "no_op")],
        "connections": [edge("Start", "Outer"), edge_from("Outer", 1, "Inner", 0), edge_from("Inner", 1, "Work", 0),
            edge("Work", "Inner"), edge_from("Inner", 0, "Batch done", 0), edge("Batch done", "Outer"),
            edge_from("Outer", 0, "End", 0)]
    });
    let plan = plan(definition, "Start");
    let (ran, state, _) = run(&plan, items(4), pass_on);
    assert_eq!(ran, ["Work#0.0", "Work#0.1", "Batch done#0", "Work#1.0", "Work#1.1", "Batch done#1", "End"]);
    let end = &state.outputs(&ActivationKey::once("End")).unwrap()[0];
    assert_eq!(end.len(), 4);
    assert!(end.iter().all(|item| item.json["Work"] == json!(true) && item.json["Batch done"] == json!(true)));
    // The second outer batch (items 2 and 3), first inner batch: item 2.
    let key = ActivationKey { node: "Work".into(), iterations: vec![1, 0] };
    let work = &state.outputs(&key).expect("Work#1.0 recorded")[0];
    assert_eq!(work.len(), 1);
    assert_eq!(work[0].json["n"], json!(2));
}

/// A poll: `Check` runs each pass, `Done?` sends what is not done back through `Pause`.
fn polling(max_passes: usize) -> Value {
    json!({
        "nodes": [node("Start", "manual_trigger"),
            {"name": "Poll", "type": "loop", "params": {"mode": "repeat", "max_passes": max_passes}},
            node("Check", "no_op"),
            {"name": "Done?", "type": "if", "params": {"conditions": [{"left": "{{ $json.n }}", "operator": "gt", "right": 0}]}},
            node("Use", "no_op"), node("Pause", "no_op"), node("Gave up", "no_op")],
        "connections": [edge("Start", "Poll"), edge_from("Poll", 1, "Check", 0), edge("Check", "Done?"),
            edge_from("Done?", 0, "Use", 0), edge_from("Done?", 1, "Pause", 0), edge("Pause", "Poll"),
            edge_from("Poll", 0, "Gave up", 0)]
    })
}

/// `Check` counts its passes in `n`; `Done?` is true once `n` reaches `ready_at`.
fn poll_until(ready_at: i64) -> impl Fn(&Activation) -> Vec<Vec<Item>> {
    move |activation| match activation.key.node.as_str() {
        "Check" => {
            let mut items = activation.inputs[0].clone();
            for item in &mut items {
                let n = item.json["n"].as_i64().unwrap_or(0) + 1;
                item.json.insert("n".into(), json!(n));
            }
            vec![items]
        }
        "Done?" => {
            let (done, not_yet) =
                activation.inputs[0].iter().cloned().partition(|item| item.json["n"] == json!(ready_at));
            vec![done, not_yet]
        }
        _ => pass_on(activation),
    }
}

#[test]
fn a_repeat_loop_runs_its_body_again_on_what_comes_back_until_nothing_does() {
    let plan = plan(polling(10), "Start");
    let (ran, state, last) = run(&plan, vec![item(json!({"n": 0}))], poll_until(3));
    assert_eq!(ran, ["Check#0", "Done?#0", "Pause#0", "Check#1", "Done?#1", "Pause#1", "Check#2", "Done?#2", "Use#2"]);
    assert_eq!(shown(&last.skipped), ["Use#0", "Use#1", "Pause#2", "Gave up"]);
    let used = ActivationKey { node: "Use".into(), iterations: vec![2] };
    assert_eq!(state.outputs(&used).unwrap()[0][0].json["n"], json!(3));
}

#[test]
fn a_repeat_loop_that_runs_out_of_passes_hands_what_came_back_to_done() {
    let plan = plan(polling(2), "Start");
    let (ran, state, _) = run(&plan, vec![item(json!({"n": 0}))], poll_until(3));
    assert_eq!(ran, ["Check#0", "Done?#0", "Pause#0", "Check#1", "Done?#1", "Pause#1", "Gave up"]);
    let gave_up = &state.outputs(&ActivationKey::once("Gave up")).unwrap()[0];
    assert_eq!(gave_up.len(), 1);
    assert_eq!(gave_up[0].json["n"], json!(2));
}

#[test]
fn a_repeat_loop_passes_each_item_on_only_while_it_comes_back() {
    let plan = plan(polling(10), "Start");
    // Two polls at once: one is done at its first check, the other after two.
    let input = vec![item(json!({"n": 2})), item(json!({"n": 1}))];
    let (ran, state, _) = run(&plan, input, poll_until(3));
    assert_eq!(ran, ["Check#0", "Done?#0", "Use#0", "Pause#0", "Check#1", "Done?#1", "Use#1"]);
    let second = ActivationKey { node: "Check".into(), iterations: vec![1] };
    assert_eq!(state.outputs(&second).unwrap()[0].len(), 1);
}

#[test]
fn execute_once_hands_a_node_the_first_item_of_each_input() {
    let mut definition = chain();
    definition["nodes"][2]["execute_once"] = json!(true);
    let plan = plan(definition, "Start");
    let (ran, state, _) = run(&plan, items(3), pass_on);
    assert_eq!(ran, ["A", "B", "C"]);
    assert_eq!(state.outputs(&ActivationKey::once("A")).unwrap()[0].len(), 3);
    let b = &state.outputs(&ActivationKey::once("B")).unwrap()[0];
    assert_eq!(b.iter().map(|item| item.json["n"].clone()).collect::<Vec<_>>(), [json!(0)]);
}

#[test]
fn a_loop_with_always_output_that_brings_nothing_back_emits_an_empty_item() {
    let mut definition = looping(2);
    definition["nodes"][1]["always_output"] = json!(true);
    let plan = plan(definition, "Start");
    let (ran, state, _) = run(&plan, items(3), |activation| match activation.key.node.as_str() {
        "Body" => vec![Vec::new()],
        _ => pass_on(activation),
    });
    assert_eq!(ran, ["Body#0", "Body#1", "After"]);
    let after = &state.outputs(&ActivationKey::once("After")).unwrap()[0];
    assert_eq!(after.len(), 1);
    assert!(after[0].json.contains_key("After") && after[0].json.len() == 1, "{after:?}");
}

#[test]
fn a_resumed_run_gets_the_same_answer_from_its_recorded_steps() {
    let plan = plan(looping(2), "Start");
    let mut live = RunState::new(items(5));
    let mut recorded = Vec::new();
    for _ in 0..2 {
        let frontier = plan.frontier(&live);
        for activation in frontier.ready {
            let outputs = pass_on(&activation);
            recorded.push((serde_json::to_value(&activation.key).unwrap(), outputs.clone()));
            live.record(activation.key, outputs);
        }
    }
    // A running step that was lost with its worker is simply not recorded.
    live.mark_running(ActivationKey { node: "Body".into(), iterations: vec![2] });

    let mut resumed = RunState::new(items(5));
    for (key, outputs) in recorded {
        resumed.record(serde_json::from_value(key).unwrap(), outputs);
    }
    let frontier = plan.frontier(&resumed);
    assert_eq!(keys(&frontier.ready), ["Body#2"]);
    assert_eq!(shown(&plan.frontier(&live).running), ["Body#2"]);
}

#[test]
fn nodes_that_the_trigger_does_not_reach_never_run() {
    let definition = json!({
        "nodes": [node("Start", "manual_trigger"), node("A", "no_op"), node("Island", "no_op"), node("After island", "no_op")],
        "connections": [edge("Start", "A"), edge("Island", "After island")]
    });
    let plan = plan(definition, "Start");
    let (ran, _, last) = run(&plan, items(1), pass_on);
    assert_eq!(ran, ["A"]);
    assert!(last.skipped.is_empty());
}

#[test]
fn each_trigger_starts_its_own_part_and_shared_nodes_wait_only_for_what_it_reaches() {
    let definition = json!({
        "nodes": [node("Manual", "manual_trigger"), node("Other", "manual_trigger"), node("A", "no_op"), node("B", "no_op"),
            {"name": "M", "type": "merge"}],
        "connections": [edge("Manual", "A"), edge("Other", "B"), edge_from("A", 0, "M", 0), edge_from("B", 0, "M", 1)]
    });
    let from_manual = plan(definition.clone(), "Manual");
    let (ran, state, _) = run(&from_manual, items(1), pass_on);
    assert_eq!(ran, ["A", "M"]);
    assert_eq!(state.outputs(&ActivationKey::once("M")).unwrap()[0][0].json["A"], json!(true));

    let from_other = plan(definition, "Other");
    let (ran, _, _) = run(&from_other, items(1), pass_on);
    assert_eq!(ran, ["B", "M"]);
}

#[test]
fn a_plan_starts_only_at_an_enabled_trigger_of_a_valid_definition() {
    let definition = parse(&json!({
        "nodes": [node("Start", "manual_trigger"), {"name": "Off", "type": "manual_trigger", "disabled": true},
            node("A", "no_op")],
        "connections": [edge("Start", "A")]
    }))
    .unwrap();
    assert_eq!(Plan::new(&definition, "Nope").unwrap_err(), PlanError::NoSuchTrigger("Nope".into()));
    assert_eq!(Plan::new(&definition, "A").unwrap_err(), PlanError::NotATrigger("A".into()));
    assert_eq!(Plan::new(&definition, "Off").unwrap_err(), PlanError::TriggerDisabled("Off".into()));

    let broken = parse(&json!({"nodes": [node("Start", "manual_trigger"), node("A", "teleport")]})).unwrap();
    let Err(PlanError::Invalid(problems)) = Plan::new(&broken, "Start") else { panic!("should be invalid") };
    assert_eq!(problems[0].pointer, "/nodes/1/type");
}

#[test]
fn activation_keys_read_as_node_and_iterations() {
    assert_eq!(ActivationKey::once("Fetch").to_string(), "Fetch");
    assert_eq!(ActivationKey { node: "Work".into(), iterations: vec![3, 1] }.to_string(), "Work#3.1");
    assert_eq!(serde_json::to_value(ActivationKey::once("Fetch")).unwrap(), json!({"node": "Fetch"}));
}

/// Two branches out of Start, each two nodes long, drawn with the second-connected branch
/// (`Low`) below the first (`High`) unless `low_on_top`; `order` is the n8n execution order.
fn two_branches(order: Option<&str>, low_on_top: bool) -> Value {
    let at = |name: &str, x: f64, y: f64| json!({"name": name, "type": "no_op", "position": [x, y]});
    let (high_y, low_y) = if low_on_top { (400.0, 100.0) } else { (100.0, 400.0) };
    let mut definition = json!({
        "nodes": [
            node("Start", "manual_trigger"),
            at("High", 200.0, high_y), at("High 2", 400.0, high_y), at("Low", 200.0, low_y), at("Low 2", 400.0, low_y)
        ],
        "connections": [edge("Start", "High"), edge("Start", "Low"), edge("High", "High 2"), edge("Low", "Low 2")]
    });
    if let Some(order) = order {
        definition["settings"] = json!({ "execution_order": order });
    }
    definition
}

#[test]
fn without_an_execution_order_every_ready_branch_is_offered_at_once() {
    let plan = plan(two_branches(None, true), "Start");
    let first = plan.frontier(&RunState::new(items(1)));
    assert_eq!(keys(&first.ready), ["High", "Low"]);
}

#[test]
fn n8n_v1_runs_each_branch_to_its_end_topmost_first() {
    let (ran, _, _) = run(&plan(two_branches(Some("v1"), false), "Start"), items(1), pass_on);
    assert_eq!(ran, ["High", "High 2", "Low", "Low 2"]);
    let (ran, _, _) = run(&plan(two_branches(Some("v1"), true), "Start"), items(1), pass_on);
    assert_eq!(ran, ["Low", "Low 2", "High", "High 2"]);
}

#[test]
fn n8n_v1_breaks_a_tie_in_height_by_the_leftmost_branch() {
    let mut definition = two_branches(Some("v1"), false);
    definition["nodes"][1]["position"] = json!([900.0, 250.0]);
    definition["nodes"][3]["position"] = json!([100.0, 250.0]);
    let (ran, _, _) = run(&plan(definition, "Start"), items(1), pass_on);
    assert_eq!(ran, ["Low", "Low 2", "High", "High 2"]);
}

#[test]
fn n8n_v0_advances_every_branch_a_node_at_a_time_in_connection_order() {
    // Canvas positions do not matter to v0: `Low` is drawn on top but connected second.
    let plan = plan(two_branches(Some("v0"), true), "Start");
    let first = plan.frontier(&RunState::new(items(1)));
    assert_eq!(keys(&first.ready), ["High"], "one activation at a time");
    let (ran, _, _) = run(&plan, items(1), pass_on);
    assert_eq!(ran, ["High", "Low", "High 2", "Low 2"]);
}

#[test]
fn n8n_v1_runs_a_loop_body_batch_by_batch_before_what_follows_the_loop() {
    let mut definition = looping(1);
    definition["settings"] = json!({"execution_order": "v1"});
    let (ran, _, _) = run(&plan(definition, "Start"), items(2), pass_on);
    assert_eq!(ran, ["Body#0", "Body#1", "After"]);
}

#[test]
fn a_body_activation_knows_its_loop_pass() {
    let plan = plan(looping(2), "Start");
    let mut state = RunState::new(items(3));
    let mut seen = Vec::new();
    loop {
        let frontier = plan.frontier(&state);
        let Some(activation) = frontier.ready.into_iter().next() else { break };
        let passes: Vec<_> = activation
            .loops
            .iter()
            .map(|pass| (pass.node.clone(), pass.iteration, pass.last, pass.batch.len()))
            .collect();
        seen.push((activation.key.to_string(), passes));
        let outputs = pass_on(&activation);
        state.record(activation.key, outputs);
    }
    assert_eq!(
        seen,
        [
            ("Body#0".to_string(), vec![("Loop".to_string(), 0, false, 2)]),
            ("Body#1".to_string(), vec![("Loop".to_string(), 1, true, 1)]),
            ("After".to_string(), vec![]),
        ]
    );
}
