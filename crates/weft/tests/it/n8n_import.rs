//! n8n import and export over HTTP: JSON and multipart uploads of corpus files, arrays created
//! all or none, inputs that are no n8n workflow, and the n8n export that imports back to the
//! same definition.

use reqwest::Method;
use serde_json::{Value, json};
use weft_http::Problem;
use weft_http::api::n8n::ImportedOut;
use weft_http::api::page::PageOut;
use weft_http::api::workflows::{WorkflowOut, WorkflowWithVersionOut};
use weft_testkit::{TestApp, TestWorkspace, backend_test, expect_status};

/// A corpus workflow every node of which Weft implements.
const SUPPORTED: &str = "1884_Manual_Stickynote_Import_Webhook.json";
/// A corpus workflow with nodes Weft does not implement.
const PARTLY_SUPPORTED: &str = "0012_Manual_Copper_Automate_Triggered.json";

fn corpus_text(file: &str) -> String {
    let path = format!("{}/../weft-engine/tests/corpus/n8n/{file}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn corpus(file: &str) -> Value {
    serde_json::from_str(&corpus_text(file)).expect("corpus JSON")
}

/// The name the converter gives a corpus workflow.
fn name_of(file: &str) -> String {
    let imported = weft_engine::n8n::import_workflow(&corpus(file)).expect("an n8n workflow");
    imported.workflow["name"].as_str().expect("a name").to_owned()
}

async fn import(app: &TestApp, ws: &TestWorkspace, workflow: Value) -> ImportedOut {
    let body = json!({"format": "n8n", "workflow": workflow});
    expect_status(app.post(&ws.path("/workflows/import"), Some(&ws.owner.access_token), &body).await, 201).await
}

/// A multipart/form-data body with one `file` field.
fn multipart(file_name: &str, content: &str) -> (String, String) {
    let boundary = "weft-test-boundary-7d2f";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"format\"\r\n\r\nn8n\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
         Content-Type: application/json\r\n\r\n{content}\r\n--{boundary}--\r\n"
    );
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn upload(app: &TestApp, ws: &TestWorkspace, file_name: &str, content: &str) -> reqwest::Response {
    let (content_type, body) = multipart(file_name, content);
    app.request(Method::POST, &ws.path("/workflows/import"), Some(&ws.owner.access_token))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("upload")
}

async fn read(app: &TestApp, ws: &TestWorkspace, id: &str) -> WorkflowWithVersionOut {
    expect_status(app.get(&ws.path(&format!("/workflows/{id}")), Some(&ws.owner.access_token)).await, 200).await
}

async fn count(app: &TestApp, ws: &TestWorkspace) -> usize {
    let page: PageOut<WorkflowOut> =
        expect_status(app.get(&ws.path("/workflows"), Some(&ws.owner.access_token)).await, 200).await;
    page.items.len()
}

backend_test! {
    async fn a_corpus_file_imports_as_a_draft_through_json_and_multipart(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        let n8n = corpus(SUPPORTED);
        let imported = import(&app, &ws, n8n.clone()).await;
        let [item] = imported.items.as_slice() else { panic!("one workflow: {imported:?}") };
        assert_eq!(item.name, name_of(SUPPORTED));
        assert_eq!(item.latest_version, 1);
        assert!(item.problems.is_empty(), "fully supported: {:?}", item.problems);
        assert_eq!(item.report["unsupported"], json!([]));
        let stored = read(&app, &ws, &item.id).await;
        assert_eq!(stored.workflow.published_version, None, "never published");
        let expected = weft_engine::n8n::import_workflow(&n8n).unwrap().workflow;
        assert_eq!(serde_json::to_value(&stored.version.definition).unwrap()["nodes"], expected["nodes"]);

        let response = upload(&app, &ws, PARTLY_SUPPORTED, &corpus_text(PARTLY_SUPPORTED)).await;
        let uploaded: ImportedOut = expect_status(response, 201).await;
        let [item] = uploaded.items.as_slice() else { panic!("one workflow: {uploaded:?}") };
        let unsupported = item.report["unsupported"].as_array().unwrap();
        assert!(!unsupported.is_empty());
        assert!(unsupported.iter().all(|node| node["n8n_type"].is_string() && !node["type_version"].is_null()));
        assert!(
            item.problems.iter().any(|p| p.detail.contains("unsupported n8n node type")),
            "the placeholder blocks publishing: {:?}",
            item.problems
        );
        let stored = read(&app, &ws, &item.id).await;
        assert_eq!(stored.workflow.name, item.name);
        assert_eq!(count(&app, &ws).await, 2);
    }
}

backend_test! {
    async fn an_array_imports_every_workflow_or_none(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        let imported = import(&app, &ws, json!([corpus(SUPPORTED), corpus(PARTLY_SUPPORTED)])).await;
        assert_eq!(imported.items.len(), 2);
        assert_eq!(imported.items[0].name, name_of(SUPPORTED));
        assert_eq!(imported.items[1].name, name_of(PARTLY_SUPPORTED));
        assert_eq!(count(&app, &ws).await, 2);

        let file = serde_json::to_string(&json!([corpus(SUPPORTED), corpus(SUPPORTED)])).unwrap();
        let uploaded: ImportedOut = expect_status(upload(&app, &ws, "two.json", &file).await, 201).await;
        assert_eq!(uploaded.items.len(), 2);
        assert_eq!(count(&app, &ws).await, 4);
    }
}

backend_test! {
    async fn an_input_that_is_no_n8n_workflow_is_refused_naming_its_index(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        let token = Some(ws.owner.access_token.as_str());
        let path = ws.path("/workflows/import");
        let body = json!({"format": "n8n", "workflow": [corpus(SUPPORTED), {"name": "weft", "steps": []}]});
        let problem: Problem = expect_status(app.post(&path, token, &body).await, 422).await;
        assert_eq!(problem.errors[0].pointer, "/workflow/1", "{problem:?}");
        assert!(problem.errors[0].detail.contains("nodes"), "{problem:?}");
        assert_eq!(count(&app, &ws).await, 0, "none of the array was created");

        let body = json!({"format": "n8n", "workflow": {"nodes": [], "connections": []}});
        let problem: Problem = expect_status(app.post(&path, token, &body).await, 422).await;
        assert_eq!(problem.errors[0].pointer, "/workflow");
        let body = json!({"format": "zapier", "workflow": corpus(SUPPORTED)});
        let problem: Problem = expect_status(app.post(&path, token, &body).await, 422).await;
        assert_eq!(problem.errors[0].pointer, "/format");
        let problem: Problem = expect_status(upload(&app, &ws, "notes.txt", "not json").await, 422).await;
        assert_eq!(problem.errors[0].pointer, "/file");
        let problem: Problem = expect_status(upload(&app, &ws, "many.json", "[{}, 3]").await, 422).await;
        let pointers: Vec<&str> = problem.errors.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(pointers, ["/file/0", "/file/1"]);
        assert_eq!(count(&app, &ws).await, 0);
    }
}

backend_test! {
    async fn the_n8n_export_imports_back_to_the_same_definition(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        let token = Some(ws.owner.access_token.as_str());
        for file in [SUPPORTED, PARTLY_SUPPORTED] {
            let first = import(&app, &ws, corpus(file)).await.items.remove(0);
            let response = app.get(&ws.path(&format!("/workflows/{}/export?format=n8n", first.id)), token).await;
            let disposition = response.headers()["content-disposition"].to_str().unwrap().to_owned();
            assert!(disposition.starts_with("attachment") && disposition.contains(&first.id), "{disposition}");
            let n8n: Value = expect_status(response, 200).await;
            assert!(n8n["nodes"].as_array().unwrap().iter().all(|node| node["typeVersion"].is_number()));
            assert!(n8n["connections"].is_object());
            let again = import(&app, &ws, n8n).await.items.remove(0);
            let (first, again) = (read(&app, &ws, &first.id).await, read(&app, &ws, &again.id).await);
            assert_eq!(again.workflow.name, first.workflow.name);
            assert_eq!(
                serde_json::to_value(&again.version.definition).unwrap(),
                serde_json::to_value(&first.version.definition).unwrap(),
                "{file}"
            );
        }
        let some = import(&app, &ws, corpus(SUPPORTED)).await.items.remove(0).id;
        let weft = app.get(&ws.path(&format!("/workflows/{some}/export?format=weft&version=1")), token).await;
        let weft: Value = expect_status(weft, 200).await;
        assert!(weft["nodes"][0]["type"].as_str().is_some_and(|t| !t.starts_with("n8n-nodes-base.")));
        let bad = app.get(&ws.path(&format!("/workflows/{some}/export?format=zapier")), token).await;
        assert_eq!(bad.status(), 422);
    }
}

backend_test! {
    async fn another_workspace_can_neither_import_nor_export(backend) {
        let app = TestApp::spawn(backend).await;
        let a = app.new_workspace("ada@example.com").await;
        let b = app.new_workspace("bob@example.com").await;
        let imported = import(&app, &a, corpus(SUPPORTED)).await.items.remove(0);
        let b_token = Some(b.owner.access_token.as_str());
        let body = json!({"format": "n8n", "workflow": corpus(SUPPORTED)});
        assert_eq!(app.post(&a.path("/workflows/import"), b_token, &body).await.status(), 404);
        let export = format!("/workflows/{}/export?format=n8n", imported.id);
        assert_eq!(app.get(&a.path(&export), b_token).await.status(), 404);
        assert_eq!(app.get(&b.path(&export), b_token).await.status(), 404);
        assert_eq!(count(&app, &a).await, 1);
        assert_eq!(count(&app, &b).await, 0);
    }
}

/// A directory with a supported and a partly supported corpus file, and a file that is JSON but
/// no n8n workflow.
fn small_corpus() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for file in [SUPPORTED, PARTLY_SUPPORTED] {
        std::fs::write(dir.path().join(file), corpus_text(file)).unwrap();
    }
    std::fs::write(dir.path().join("not-a-workflow.json"), r#"{"steps": []}"#).unwrap();
    std::fs::write(dir.path().join("readme.txt"), "not read").unwrap();
    dir
}

#[tokio::test]
async fn the_cli_reports_support_for_a_directory_without_a_database() {
    let files = small_corpus();
    let scratch = tempfile::tempdir().unwrap();
    let output =
        crate::cli::weft(scratch.path()).args(["import", "n8n", "--report"]).arg(files.path()).output().await.unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("files read:       3"), "{stdout}");
    assert!(stdout.contains("imported:         2"), "{stdout}");
    assert!(stdout.contains("not n8n workflows: 1"), "{stdout}");
    assert!(stdout.contains("fully supported:  1 (50.0 %)"), "{stdout}");
    assert!(stdout.contains("n8n-nodes-base.copper"), "{stdout}");
    assert!(stdout.contains("expression functions and globals the evaluator lacks"), "{stdout}");
    assert!(!scratch.path().join("weft-data").exists(), "no database was created");
}

backend_test! {
    async fn the_cli_imports_files_into_a_workspace_as_weft(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        let files = small_corpus();
        std::fs::remove_file(files.path().join("not-a-workflow.json")).unwrap();
        let scratch = tempfile::tempdir().unwrap();
        let url = app.config.database_url.as_ref().expect("a database URL").expose().to_owned();
        let run = |workspace: &str| {
            let mut command = crate::cli::weft(scratch.path());
            command.args(["--database-url", &url, "import", "n8n", "--workspace", workspace]).arg(files.path());
            command.output()
        };
        let output = run(&ws.slug).await.unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
        assert!(stdout.contains("imported 2 workflow(s) from 2 file(s)"), "{stdout}");
        assert_eq!(count(&app, &ws).await, 2);
        let audit: Value =
            expect_status(app.get(&ws.path("/audit-log"), Some(&ws.owner.access_token)).await, 200).await;
        let created: Vec<&Value> =
            audit["items"].as_array().unwrap().iter().filter(|e| e["action"] == "workflow.created").collect();
        assert_eq!(created.len(), 2);
        assert!(created.iter().all(|entry| entry["actor_type"] == "system"), "{created:?}");

        let unknown = run("no-such-workspace").await.unwrap();
        assert!(!unknown.status.success());
        assert!(String::from_utf8_lossy(&unknown.stderr).contains("no workspace no-such-workspace"));
        assert_eq!(count(&app, &ws).await, 2);
    }
}

backend_test! {
    async fn pasting_an_n8n_export_in_the_ui_imports_it_and_the_editor_exports_it(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        let mut ui = weft_testkit::UiSession::sign_in(&app, "ada@example.com", weft_testkit::TEST_PASSWORD).await;
        let new = format!("/w/{}/workflows/new", ws.slug);
        let pasted = ui.submit(&new, &new, &[("name", ""), ("json", &corpus_text(PARTLY_SUPPORTED))]).await;
        assert_eq!(pasted.status, 303, "{}", pasted.body);
        let editor = pasted.location.expect("the editor");
        let page = ui.get(&editor).await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("imported from n8n as a draft"), "the flash: {}", page.body);
        assert!(page.body.contains("n8n-nodes-base.copper v1"), "the unsupported type in the flash");
        assert!(page.body.contains("Export to n8n"), "the export link");
        let id = editor.rsplit('/').next().unwrap();
        let stored = read(&app, &ws, id).await;
        assert_eq!(stored.workflow.name, name_of(PARTLY_SUPPORTED));
        assert_eq!(stored.workflow.published_version, None);

        let download = ui.get(&format!("{editor}/export?format=n8n")).await;
        assert_eq!(download.status, 200);
        let n8n: Value = serde_json::from_str(&download.body).expect("an n8n export");
        assert!(n8n["nodes"].as_array().unwrap().iter().any(|node| node["type"] == "n8n-nodes-base.copper"));

        // An array imports every workflow; the name field names a single one.
        let array = format!("[{}, {}]", corpus_text(SUPPORTED), corpus_text(SUPPORTED));
        let many = ui.submit(&new, &new, &[("name", ""), ("json", &array)]).await;
        assert_eq!(many.location.as_deref(), Some(format!("/w/{}/workflows", ws.slug).as_str()));
        assert!(ui.get(&format!("/w/{}/workflows", ws.slug)).await.body.contains("2 workflows imported from n8n"));
        let named = ui.submit(&new, &new, &[("name", "Renamed"), ("json", &corpus_text(SUPPORTED))]).await;
        let named = read(&app, &ws, named.location.expect("the editor").rsplit('/').next().unwrap()).await;
        assert_eq!(named.workflow.name, "Renamed");

        // A broken n8n paste is shown again with its problem.
        let broken = ui.submit(&new, &new, &[("name", ""), ("json", r#"[{"nodes": []}, {"connections": {}}]"#)]).await;
        assert_eq!(broken.status, 422, "{}", broken.body);
        assert!(broken.body.contains("/1"), "the index of the broken export: {}", broken.body);
        assert_eq!(count(&app, &ws).await, 4);

        // Another workspace's member gets the 404 page.
        let _other = app.new_workspace("bob@example.com").await;
        let mut bob = weft_testkit::UiSession::sign_in(&app, "bob@example.com", weft_testkit::TEST_PASSWORD).await;
        let theirs = bob.get(&format!("{editor}/export?format=n8n")).await;
        assert_eq!(theirs.status, 404);
    }
}
