//! Workflows and versions over HTTP: drafts, versions, publish and rollback, clone, export and
//! re-import, search and tag filters.

use serde_json::{Value, json};
use weft_http::Problem;
use weft_http::api::page::PageOut;
use weft_http::api::workflows::{VersionOut, WorkflowExport, WorkflowOut, WorkflowWithVersionOut};
use weft_testkit::{TestApp, TestWorkspace, backend_test, expect_status};

fn hello_world(name: &str) -> Value {
    json!({
        "name": name,
        "description": "says hello",
        "tags": ["Demo", "demo", " greetings "],
        "nodes": [
            {"name": "Start", "type": "manual_trigger", "position": [0.0, 0.0]},
            {"name": "Greet", "type": "set", "params": {"assignments": [{"name": "greeting", "value": "hello"}]}},
        ],
        "connections": [{"from": "Start", "to": "Greet"}],
    })
}

async fn create(app: &TestApp, ws: &TestWorkspace, body: &Value) -> WorkflowWithVersionOut {
    expect_status(app.post(&ws.path("/workflows"), Some(&ws.owner.access_token), body).await, 201).await
}

fn pointers(problem: &Problem) -> Vec<&str> {
    problem.errors.iter().map(|e| e.pointer.as_str()).collect()
}

backend_test! {
    async fn a_created_workflow_has_a_first_version_and_no_published_one(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        let created = create(&app, &ws, &hello_world("Hello")).await;
        assert!(created.workflow.id.starts_with("wf_"));
        assert_eq!(created.workflow.tags, ["demo", "greetings"], "tags are trimmed, lower-cased and unique");
        assert_eq!((created.workflow.latest_version, created.workflow.published_version), (1, None));
        assert_eq!(created.version.version, 1);
        assert!(created.version.problems.is_empty(), "{:?}", created.version.problems);
        assert_eq!(created.version.definition.nodes.len(), 2);
        assert!(created.version.created_by.starts_with("user:usr_"));

        let token = Some(ws.owner.access_token.as_str());
        let path = ws.path(&format!("/workflows/{}", created.workflow.id));
        let read: WorkflowWithVersionOut = expect_status(app.get(&path, token).await, 200).await;
        assert_eq!(read.workflow.name, "Hello");
        assert_eq!(read.version.definition.connections, created.version.definition.connections);
    }
}

backend_test! {
    async fn a_body_that_is_no_workflow_is_refused_with_pointers(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        let token = Some(ws.owner.access_token.as_str());
        let cases = [
            (json!({"name": "x", "nodes": "not a list"}), "/nodes"),
            (json!({"name": "x", "nodes": [{"name": 1, "type": "set"}]}), "/nodes/0/name"),
            (json!({"name": "x", "nodes": [], "extra": true}), ""),
            (json!({"name": "", "nodes": []}), "/name"),
        ];
        for (body, pointer) in cases {
            let problem: Problem = expect_status(app.post(&ws.path("/workflows"), token, &body).await, 422).await;
            assert!(pointers(&problem).iter().any(|p| p.starts_with(pointer)), "{body}: {problem:?}");
        }
    }
}

backend_test! {
    async fn versions_accumulate_and_publishing_needs_a_valid_one(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        let token = Some(ws.owner.access_token.as_str());
        let id = create(&app, &ws, &hello_world("Flow")).await.workflow.id;
        let versions = ws.path(&format!("/workflows/{id}/versions"));

        // A draft without a trigger saves, but says why it cannot be published.
        let draft: VersionOut =
            expect_status(app.post(&versions, token, &json!({"nodes": [], "connections": []})).await, 201).await;
        assert_eq!(draft.version, 2);
        assert!(pointers_of(&draft).contains(&"/nodes"), "{:?}", draft.problems);

        let publish = ws.path(&format!("/workflows/{id}/publish"));
        let refused: Problem = expect_status(app.post(&publish, token, &json!({"version": 2})).await, 422).await;
        assert!(pointers(&refused).contains(&"/nodes"), "{refused:?}");
        let missing: Problem = expect_status(app.post(&publish, token, &json!({"version": 9})).await, 422).await;
        assert_eq!(pointers(&missing), ["/version"]);

        let published: WorkflowOut = expect_status(app.post(&publish, token, &json!({"version": 1})).await, 200).await;
        assert_eq!((published.latest_version, published.published_version), (2, Some(1)));

        let third = hello_world("ignored");
        let third = json!({"nodes": third["nodes"], "connections": third["connections"], "settings": {"timeout_ms": 5000}});
        let v3: VersionOut = expect_status(app.post(&versions, token, &third).await, 201).await;
        assert_eq!(v3.version, 3);
        let now: WorkflowOut = expect_status(app.post(&publish, token, &json!({"version": 3})).await, 200).await;
        assert_eq!(now.published_version, Some(3));
        // Rollback is publishing an older version.
        let back: WorkflowOut = expect_status(app.post(&publish, token, &json!({"version": 1})).await, 200).await;
        assert_eq!(back.published_version, Some(1));

        let page: PageOut<VersionOut> = expect_status(app.get(&format!("{versions}?limit=2"), token).await, 200).await;
        assert_eq!(page.items.iter().map(|v| v.version).collect::<Vec<_>>(), [3, 2]);
        let cursor = page.next_cursor.expect("a second page");
        let rest: PageOut<VersionOut> =
            expect_status(app.get(&format!("{versions}?limit=2&cursor={cursor}"), token).await, 200).await;
        assert_eq!(rest.items.iter().map(|v| v.version).collect::<Vec<_>>(), [1]);

        let one: VersionOut = expect_status(app.get(&format!("{versions}/3"), token).await, 200).await;
        assert_eq!(one.definition.settings, Some(json!({"timeout_ms": 5000})));
        for missing in ["4", "0", "x"] {
            assert_eq!(app.get(&format!("{versions}/{missing}"), token).await.status(), 404, "{missing}");
        }
    }
}

fn pointers_of(version: &VersionOut) -> Vec<&str> {
    version.problems.iter().map(|p| p.pointer.as_str()).collect()
}

backend_test! {
    async fn an_export_creates_the_same_workflow_again(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        let token = Some(ws.owner.access_token.as_str());
        let original = create(&app, &ws, &hello_world("Round trip")).await;
        let response = app.get(&ws.path(&format!("/workflows/{}/export", original.workflow.id)), token).await;
        assert!(
            response.headers()["content-disposition"].to_str().unwrap().contains(&original.workflow.id),
            "downloaded as a file"
        );
        let export: WorkflowExport = expect_status(response, 200).await;
        assert_eq!(export.name, "Round trip");
        let again = create(&app, &ws, &serde_json::to_value(&export).unwrap()).await;
        assert_ne!(again.workflow.id, original.workflow.id);
        assert_eq!(again.workflow.tags, original.workflow.tags);
        assert_eq!(
            serde_json::to_value(&again.version.definition).unwrap(),
            serde_json::to_value(&original.version.definition).unwrap()
        );
        let old = app.get(&ws.path(&format!("/workflows/{}/export?version=7", original.workflow.id)), token).await;
        assert_eq!(old.status(), 404);
    }
}

backend_test! {
    async fn a_clone_copies_the_latest_version_unpublished(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        let token = Some(ws.owner.access_token.as_str());
        let source = create(&app, &ws, &hello_world("Source")).await.workflow;
        let publish = ws.path(&format!("/workflows/{}/publish", source.id));
        let _: WorkflowOut = expect_status(app.post(&publish, token, &json!({"version": 1})).await, 200).await;
        let clone_path = ws.path(&format!("/workflows/{}/clone", source.id));
        let copy: WorkflowWithVersionOut = expect_status(app.post(&clone_path, token, &json!({})).await, 201).await;
        assert_eq!(copy.workflow.name, "Source (copy)");
        assert_eq!(copy.workflow.published_version, None);
        assert_eq!(copy.version.definition.nodes.len(), 2);
        let named: WorkflowWithVersionOut =
            expect_status(app.post(&clone_path, token, &json!({"name": "Mine"})).await, 201).await;
        assert_eq!(named.workflow.name, "Mine");
    }
}

/// The names a workflow list answers with, sorted.
async fn names(app: &TestApp, ws: &TestWorkspace, query: &str) -> Vec<String> {
    let path = ws.path(&format!("/workflows{query}"));
    let page: PageOut<WorkflowOut> = expect_status(app.get(&path, Some(&ws.owner.access_token)).await, 200).await;
    let mut names: Vec<String> = page.items.into_iter().map(|w| w.name).collect();
    names.sort();
    names
}

backend_test! {
    async fn workflows_are_searched_by_name_and_filtered_by_tag_page_by_page(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        let token = Some(ws.owner.access_token.as_str());
        for (name, tag) in [("Invoice sync", "billing"), ("Invoice reminder", "billing"), ("Slack digest", "chat"), ("100%_done", "chat")] {
            let mut body = hello_world(name);
            body["tags"] = json!([tag]);
            create(&app, &ws, &body).await;
        }
        assert_eq!(names(&app, &ws, "?q=INVOICE").await, ["Invoice reminder", "Invoice sync"]);
        assert_eq!(names(&app, &ws, "?tag=chat").await, ["100%_done", "Slack digest"]);
        assert_eq!(names(&app, &ws, "?q=invoice&tag=chat").await, Vec::<String>::new());
        assert_eq!(names(&app, &ws, "?q=%25_").await, ["100%_done"], "wildcards in the search are literal");
        assert_eq!(names(&app, &ws, "").await.len(), 4);

        let first: PageOut<WorkflowOut> = expect_status(app.get(&ws.path("/workflows?limit=3"), token).await, 200).await;
        let cursor = first.next_cursor.expect("more");
        let second: PageOut<WorkflowOut> =
            expect_status(app.get(&ws.path(&format!("/workflows?limit=3&cursor={cursor}")), token).await, 200).await;
        assert_eq!(first.items.len() + second.items.len(), 4);
        assert!(second.next_cursor.is_none());
    }
}

backend_test! {
    async fn metadata_changes_and_deletion(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        let viewer = app.add_member(&ws, "vera@example.com", "viewer").await;
        let token = Some(ws.owner.access_token.as_str());
        let id = create(&app, &ws, &hello_world("Old")).await.workflow.id;
        let path = ws.path(&format!("/workflows/{id}"));

        let patch = json!({"name": "New", "tags": ["x"]});
        let changed: WorkflowOut = expect_status(app.patch(&path, token, &patch).await, 200).await;
        assert_eq!((changed.name.as_str(), changed.tags.as_slice(), changed.latest_version), ("New", &["x".to_owned()][..], 1));
        let empty: Problem = expect_status(app.patch(&path, token, &json!({})).await, 422).await;
        assert_eq!(pointers(&empty), [""]);
        let refused: Problem = expect_status(app.patch(&path, Some(&viewer.access_token), &patch).await, 403).await;
        assert!(refused.detail.contains("workflows:write"), "{}", refused.detail);
        let read: WorkflowWithVersionOut = expect_status(app.get(&path, Some(&viewer.access_token)).await, 200).await;
        assert_eq!(read.workflow.name, "New");

        assert_eq!(app.delete(&path, token).await.status(), 204);
        assert_eq!(app.get(&path, token).await.status(), 404);
        assert_eq!(app.delete(&path, token).await.status(), 404);
        assert_eq!(app.get(&ws.path("/workflows/wf_nonsense"), token).await.status(), 404);
    }
}

backend_test! {
    async fn a_draft_reports_every_rule_it_breaks_and_cannot_be_published(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        let token = Some(ws.owner.access_token.as_str());
        let draft = json!({
            "name": "Draft",
            "nodes": [
                {"name": "Start", "type": "manual_trigger"},
                {"name": "Mystery", "type": "teleport"},
                {"name": "Start", "type": "no_op"},
            ],
            "connections": [{"from": "Start", "to": "Nowhere"}],
        });
        let created = create(&app, &ws, &draft).await;
        let found = pointers_of(&created.version);
        for expected in ["/nodes/1/type", "/nodes/2/name", "/connections/0/to"] {
            assert!(found.contains(&expected), "{expected} missing from {:?}", created.version.problems);
        }
        let publish = ws.path(&format!("/workflows/{}/publish", created.workflow.id));
        let refused: Problem = expect_status(app.post(&publish, token, &json!({"version": 1})).await, 422).await;
        assert_eq!(refused.errors.len(), created.version.problems.len(), "the same problems, all at once");
    }
}

backend_test! {
    async fn a_workflow_can_be_written_in_yaml_and_bad_yaml_is_a_problem(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        let token = Some(ws.owner.access_token.as_str());
        let send = |content_type: &'static str, body: &'static str| {
            app.request(reqwest::Method::POST, &ws.path("/workflows"), token).header("content-type", content_type).body(body).send()
        };
        let yaml = "name: From YAML\ntags: [ops]\nnodes:\n  - name: Start\n    type: manual_trigger\n  - name: Greet\n    type: set\n    params:\n      assignments:\n        - {name: greeting, value: hello}\nconnections:\n  - {from: Start, to: Greet}\n";
        let created: WorkflowWithVersionOut = expect_status(send("application/yaml", yaml).await.unwrap(), 201).await;
        assert_eq!(created.workflow.name, "From YAML");
        assert_eq!(created.version.problems, [], "the definition is valid");
        let export: Value = expect_status(app.get(&ws.path(&format!("/workflows/{}/export", created.workflow.id)), token).await, 200).await;
        assert_eq!(export["nodes"][1]["params"]["assignments"][0]["value"], "hello");

        let broken: Problem = expect_status(send("text/yaml", "name: [unclosed\n").await.unwrap(), 400).await;
        assert_eq!(broken.type_uri, "https://weft.dev/problems/malformed-yaml");
        let wrong_field: Problem = expect_status(send("application/x-yaml", "name: Fine\nnodes: 3\n").await.unwrap(), 422).await;
        assert!(wrong_field.errors.iter().any(|error| error.pointer == "/nodes"), "{wrong_field:?}");
        let refused: Problem = expect_status(send("text/plain", "name: x").await.unwrap(), 415).await;
        assert!(refused.detail.contains("application/yaml"), "{refused:?}");
    }
}
