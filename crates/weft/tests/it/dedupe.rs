//! `remove_duplicates` with `across_runs`: items whose value an earlier run of the workflow let
//! through are dropped, with a history per node or per workflow that keeps its newest values.

use serde_json::{Value, json};
use weft_domain::WorkflowId;
use weft_store::DedupeHistory;
use weft_testkit::{TestApp, TestWorkspace, backend_test};

use crate::runs::{finished, published, start};

/// Runs the workflow with `ids` as items; the ids that came out of `node`.
async fn run_ids(app: &TestApp, ws: &TestWorkspace, workflow: &str, ids: &[i64], node: &str) -> Vec<i64> {
    let input: Vec<Value> = ids.iter().map(|id| json!({ "id": id })).collect();
    let run = start(app, ws, workflow, json!(input)).await;
    let out = finished(app, ws, &run).await;
    assert_eq!(out.status, "succeeded", "{out:?}");
    let output = out.output.unwrap_or_default();
    output[node]
        .as_array()
        .map(|items| items.iter().filter_map(|item| item["id"].as_i64()).collect())
        .unwrap_or_default()
}

fn dedupe(name: &str, across_runs: Value) -> Value {
    json!({"name": name, "type": "remove_duplicates", "params": {"across_runs": across_runs}})
}

backend_test! {
    async fn later_runs_drop_items_an_earlier_run_let_through(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        let nodes = json!([{"name": "Start", "type": "manual_trigger"}, dedupe("New only", json!({"value": "{{ $json.id }}", "keep": 3}))]);
        let workflow = published(&app, &ws, nodes, json!([{"from": "Start", "to": "New only"}])).await;
        assert_eq!(run_ids(&app, &ws, &workflow, &[1, 2, 2], "New only").await, [1, 2], "duplicates within a run go too");
        assert_eq!(run_ids(&app, &ws, &workflow, &[2, 3], "New only").await, [3]);
        // The history keeps its 3 newest values: after this run 3, 4 and 5, so 1 is new again.
        assert_eq!(run_ids(&app, &ws, &workflow, &[4, 5], "New only").await, [4, 5]);
        assert_eq!(run_ids(&app, &ws, &workflow, &[1, 5], "New only").await, [1]);

        // Another workflow (of another workspace, too) has its own history.
        let other = app.new_workspace("bob@example.com").await;
        let nodes = json!([{"name": "Start", "type": "manual_trigger"}, dedupe("New only", json!({"value": "{{ $json.id }}"}))]);
        let elsewhere = published(&app, &other, nodes, json!([{"from": "Start", "to": "New only"}])).await;
        assert_eq!(run_ids(&app, &other, &elsewhere, &[1, 2, 3], "New only").await, [1, 2, 3]);
    }
}

backend_test! {
    async fn a_workflow_history_is_shared_by_its_nodes_and_a_node_history_is_not(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        let nodes = json!([
            {"name": "Start", "type": "manual_trigger"},
            dedupe("Shared A", json!({"value": "{{ $json.id }}", "history": "workflow"})),
            dedupe("Shared B", json!({"value": "{{ $json.id }}", "history": "workflow"})),
            dedupe("Own", json!({"value": "{{ $json.id }}"})),
        ]);
        let connections = json!([{"from": "Start", "to": "Shared A"}, {"from": "Shared A", "to": "Shared B"}, {"from": "Start", "to": "Own"}]);
        let workflow = published(&app, &ws, nodes, connections).await;
        let input: Vec<Value> = [7, 8].iter().map(|id| json!({ "id": id })).collect();
        let run = start(&app, &ws, &workflow, json!(input)).await;
        let out = finished(&app, &ws, &run).await;
        assert_eq!(out.status, "succeeded", "{out:?}");
        let output = out.output.unwrap();
        // `Shared A` let 7 and 8 through, so `Shared B`, on the same history, found them seen.
        assert_eq!(output["Shared B"], json!([]));
        assert_eq!(output["Own"], json!([{"id": 7}, {"id": 8}]));
    }
}

backend_test! {
    async fn the_activation_that_let_a_value_through_sees_it_as_new_again(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        let nodes = json!([{"name": "Start", "type": "manual_trigger"}, dedupe("New only", json!({"value": "{{ $json.id }}"}))]);
        let workflow = published(&app, &ws, nodes, json!([{"from": "Start", "to": "New only"}])).await;
        let (_, scope) = app.store.system_scope(&ws.id).await.unwrap();
        let workflow: WorkflowId = workflow.parse().unwrap();
        let history = |by| DedupeHistory { workflow: &workflow, name: "New only", by, keep: 100 };
        let values = ["a".to_string(), "b".to_string()];
        // A step repeated after a crash (the same activation) lets the same items through; another
        // activation, of the same run or another, does not.
        let first = history("run_1:{\"node\":\"New only\"}");
        assert_eq!(app.store.let_through_new(&scope, first, &values).await.unwrap(), [true, true]);
        assert_eq!(app.store.let_through_new(&scope, first, &values).await.unwrap(), [true, true]);
        let in_a_loop = history("run_1:{\"node\":\"New only\",\"iterations\":[1]}");
        assert_eq!(app.store.let_through_new(&scope, in_a_loop, &values).await.unwrap(), [false, false]);
        let later = history("run_2:{\"node\":\"New only\"}");
        assert_eq!(app.store.let_through_new(&scope, later, &values).await.unwrap(), [false, false]);
    }
}
