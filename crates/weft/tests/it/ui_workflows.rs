//! The workflow and run pages over HTTP: creating from JSON, problems by pointer, versions and
//! publishing, runs started from the editor, retry, isolation between workspaces and escaping.
//! The browser tests (`ui_browser_workflows`) drive the same pages in Chromium.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use weft_testkit::ui::csrf_of;
use weft_testkit::{TEST_PASSWORD, TestApp, TestWorkspace, UiSession, backend_test, expect_status};

/// The path a redirect leads to, which must exist.
fn location(page: &weft_testkit::ui::PageResponse) -> String {
    assert_eq!(page.status, 303, "expected a redirect: {}", page.body);
    page.location.clone().expect("a redirect's location")
}

/// Creates a workflow through the new-workflow form; returns the editor's path.
async fn created(ui: &mut UiSession<'_>, ws: &TestWorkspace, name: &str, json: &str) -> String {
    let new = format!("/w/{}/workflows/new", ws.slug);
    location(&ui.submit(&new, &new, &[("name", name), ("json", json)]).await)
}

/// Polls the run page until the run has finished.
async fn finished_page(ui: &mut UiSession<'_>, path: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let page = ui.get(path).await;
        assert_eq!(page.status, 200, "{}", page.body);
        if !page.body.contains("data-live=") {
            return page.body;
        }
        assert!(Instant::now() < deadline, "the run never finished: {}", page.body);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

const GREETER: &str = r#"{"tags": ["Demo"], "nodes": [
  {"name": "Start", "type": "manual_trigger"},
  {"name": "Greet", "type": "set", "params": {"assignments": [{"name": "greeting", "value": "Hello {{ $json.name }}"}]}}
], "connections": [{"from": "Start", "to": "Greet"}]}"#;

backend_test!(
    async fn workflows_are_created_from_json_listed_and_filtered(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("owner@example.com").await;
        let mut ui = UiSession::sign_in(&app, "owner@example.com", TEST_PASSWORD).await;
        let list = format!("/w/{}/workflows", ws.slug);
        let empty = ui.get(&list).await;
        assert_eq!(empty.status, 200);
        assert!(empty.body.contains("No workflows yet") && empty.body.contains("Create your first workflow"));

        let editor = created(&mut ui, &ws, "Greeter", GREETER).await;
        assert!(editor.starts_with(&format!("/w/{}/workflows/wf_", ws.slug)), "{editor}");
        let page = ui.get(&editor).await;
        assert!(page.body.contains("Workflow “Greeter” created."), "the flash");
        assert!(page.body.contains("<svg class=\"graph\""), "the graph");
        assert!(page.body.contains("manual_trigger") && page.body.contains("http_request"), "the node reference");
        let blank = created(&mut ui, &ws, "Blank one", "").await;
        assert!(ui.get(&blank).await.body.contains("No nodes yet."));
        let hooked = r#"{"nodes": [{"name": "Order in", "type": "webhook_trigger"}]}"#;
        let hooked = created(&mut ui, &ws, "Hooked", hooked).await;
        let hooked = ui.get(&hooked).await.body;
        assert!(hooked.contains("Order in") && hooked.contains("/hooks/") && hooked.contains("/hooks-test/"), "{hooked}");
        assert!(hooked.contains("data-copy-target=\"hook-1\""), "a copy button");

        let all = ui.get(&list).await.body;
        assert!(all.contains("Greeter") && all.contains("Blank one"), "{all}");
        let tagged = ui.get(&format!("{list}?tag=demo")).await.body;
        assert!(tagged.contains("Greeter") && !tagged.contains("Blank one"), "{tagged}");
        let searched = ui.get(&format!("{list}?q=blank")).await.body;
        assert!(searched.contains("Blank one") && !searched.contains("Greeter"), "{searched}");

        // 28 workflows: a full page of 25, then the rest.
        for n in 0..25 {
            app.new_workflow(&ws, &format!("Bulk {n:02}")).await;
        }
        let first = ui.get(&list).await.body;
        let next = first.split("class=\"pager\"").nth(1).and_then(|pager| pager.split("href=\"").nth(1));
        let next = next.and_then(|rest| rest.split('"').next()).expect("a next-page link").replace("&#38;", "&");
        let second = ui.get(&next).await;
        assert_eq!(second.status, 200, "{next}");
        assert_eq!(second.body.matches("<tr>").count() - 1, 3, "the header row and the last three: {}", second.body);
        let none = ui.get(&format!("{list}?q=nothing+like+it")).await.body;
        assert!(none.contains("No workflow matches"), "{none}");
    }
);

backend_test!(
    async fn invalid_json_and_definition_problems_are_shown_by_pointer(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("owner@example.com").await;
        let mut ui = UiSession::sign_in(&app, "owner@example.com", TEST_PASSWORD).await;
        let new = format!("/w/{}/workflows/new", ws.slug);

        let broken = ui.submit(&new, &new, &[("name", "Broken"), ("json", "{\"nodes\": [")]).await;
        assert_eq!(broken.status, 400, "{}", broken.body);
        assert!(broken.body.contains("EOF while parsing"), "{}", broken.body);
        assert!(broken.body.contains("{&#34;nodes&#34;: ["), "the typed JSON is kept");

        let unnamed = ui.submit(&new, &new, &[("name", ""), ("json", "{\"nodes\": []}")]).await;
        assert_eq!(unnamed.status, 422);
        assert!(unnamed.body.contains("id=\"name-error\""), "{}", unnamed.body);

        let shapeless = r#"{"nodes": [{"name": "Start", "type": "manual_trigger"}, {"name": "Fetch"}]}"#;
        let refused = ui.submit(&new, &new, &[("name", "Shapeless"), ("json", shapeless)]).await;
        assert_eq!(refused.status, 422, "{}", refused.body);
        let pointed = "<code class=\"pointer\">/nodes/1</code> <span class=\"muted\">line 7</span>: missing field `type`";
        assert!(refused.body.contains(pointed), "{}", refused.body);

        // A draft with problems is saved; the editor lists them by pointer, with their line.
        let editor = created(&mut ui, &ws, "Draft", GREETER).await;
        let id = editor.rsplit('/').next().unwrap().to_owned();
        let draft = json!({
            "nodes": [
                {"name": "Start", "type": "manual_trigger"},
                {"name": "Fetch", "type": "http_request", "params": {"url": "ftp://example.com"}},
            ],
            "connections": [{"from": "Start", "to": "Fetch"}],
        });
        let versions = format!("{editor}/versions");
        let saved = ui.submit(&editor, &versions, &[("definition", &draft.to_string())]).await;
        assert_eq!(location(&saved), editor);
        let page = ui.get(&editor).await.body;
        assert!(page.contains("Saved version 2 as a draft: 1 problem"), "{page}");
        assert!(page.contains("<code class=\"pointer\">/nodes/1/params/url</code> <span class=\"muted\">line "), "{page}");

        // A shape error refuses the text, shown again with its problems.
        let wrong = ui.submit(&editor, &versions, &[("definition", r#"{"nodes": [{"name": 5, "type": "set"}]}"#)]).await;
        assert_eq!(wrong.status, 422, "{}", wrong.body);
        assert!(wrong.body.contains("This JSON was not saved"), "{}", wrong.body);
        assert!(wrong.body.contains("<code class=\"pointer\">/nodes/0/name</code> <span class=\"muted\">line 4</span>"), "{}", wrong.body);
        let api: Value = expect_status(app.get(&ws.path(&format!("/workflows/{id}")), Some(&ws.owner.access_token)).await, 200).await;
        assert_eq!(api["latest_version"], 2, "nothing more was saved");

        // Publishing the draft is refused, and the version page says why.
        let refused = ui.submit(&editor, &format!("{editor}/publish"), &[("version", "2")]).await;
        let shown = ui.get(&location(&refused)).await.body;
        assert!(shown.contains("Version 2 was not published") && shown.contains("/nodes/1/params/url"), "{shown}");
    }
);

backend_test!(
    async fn versions_are_published_rolled_back_and_unpublished(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("owner@example.com").await;
        let mut ui = UiSession::sign_in(&app, "owner@example.com", TEST_PASSWORD).await;
        let editor = created(&mut ui, &ws, "Greeter", GREETER).await;
        let versions = format!("{editor}/versions");
        let published = ui.submit(&versions, &format!("{editor}/publish"), &[("version", "1")]).await;
        assert_eq!(location(&published), versions);
        let page = ui.get(&versions).await.body;
        assert!(page.contains("Published version 1") && page.contains("Triggers run version 1"), "{page}");

        let definition = r#"{"nodes": [{"name": "Start", "type": "manual_trigger"}], "connections": []}"#;
        location(&ui.submit(&editor, &versions, &[("definition", definition)]).await);
        location(&ui.submit(&versions, &format!("{editor}/publish"), &[("version", "2")]).await);
        let page = ui.get(&versions).await.body;
        assert!(page.contains("Roll back to this"), "{page}");
        location(&ui.submit(&versions, &format!("{editor}/publish"), &[("version", "1")]).await);
        let page = ui.get(&versions).await.body;
        assert!(page.contains("Rolled back to version 1."), "{page}");

        let viewed = ui.get(&format!("{versions}/2")).await;
        assert_eq!(viewed.status, 200);
        assert!(viewed.body.contains("Publish this version") && viewed.body.contains("&#34;manual_trigger&#34;"));
        assert_eq!(ui.get(&format!("{versions}/9")).await.status, 404);
        assert_eq!(ui.get(&format!("{versions}/nope")).await.status, 404);

        location(&ui.submit(&versions, &format!("{editor}/unpublish"), &[]).await);
        let page = ui.get(&versions).await.body;
        assert!(page.contains("Nothing is published"), "{page}");
    }
);

backend_test!(
    async fn a_run_started_from_the_editor_shows_its_steps_and_can_be_retried(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("owner@example.com").await;
        let mut ui = UiSession::sign_in(&app, "owner@example.com", TEST_PASSWORD).await;
        let editor = created(&mut ui, &ws, "Greeter", GREETER).await;
        let runs = format!("{editor}/runs");

        let refused = ui.submit(&editor, &runs, &[("version", "1"), ("input", "[1, 2]")]).await;
        assert_eq!(refused.status, 422);
        assert!(refused.body.contains("must be an object or an array of objects"), "{}", refused.body);
        assert!(refused.body.contains(">[1, 2]</textarea>"), "the typed input is kept");

        let started = ui.submit(&editor, &runs, &[("version", "1"), ("input", r#"{"name": "Ada"}"#)]).await;
        let run_page = location(&started);
        assert!(run_page.starts_with(&format!("/w/{}/runs/run_", ws.slug)), "{run_page}");
        let body = finished_page(&mut ui, &run_page).await;
        assert!(body.contains("badge-succeeded") && body.contains("Greet"), "{body}");
        assert!(body.contains("Hello Ada"), "the step's output: {body}");
        assert!(body.contains("node node-succeeded"), "the graph is coloured");
        assert!(body.contains(">Greeter</a>") && body.contains(">version 1</a>"), "the workflow and version links");

        let retried = ui.submit(&run_page, &format!("{run_page}/retry"), &[("from", "start")]).await;
        let retry_page = location(&retried);
        assert_ne!(retry_page, run_page);
        let body = finished_page(&mut ui, &retry_page).await;
        assert!(body.contains("retry of"), "{body}");

        let cancel = ui.submit(&retry_page, &format!("{retry_page}/cancel"), &[]).await;
        let shown = ui.get(&location(&cancel)).await.body;
        assert!(shown.contains("flash-error"), "a finished run cannot be cancelled: {shown}");

        // The live feed of a finished run says so and ends.
        let live = ui.get(&format!("{run_page}/live")).await;
        assert_eq!(live.status, 200);
        assert!(live.body.contains("event: html") && live.body.contains("event: done"), "{}", live.body);
    }
);

backend_test!(
    async fn the_run_form_starts_from_the_triggers_pinned_sample_items(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("owner@example.com").await;
        let mut ui = UiSession::sign_in(&app, "owner@example.com", TEST_PASSWORD).await;
        let plain = created(&mut ui, &ws, "Plain", GREETER).await;
        let body = ui.get(&plain).await.body;
        assert!(body.contains(">{}</textarea>") && !body.contains("pinned sample items"), "{body}");

        let mut pinned: Value = serde_json::from_str(GREETER).unwrap();
        pinned["settings"] = json!({"pin_data": {"Start": [{"json": {"name": "Grace"}}]}});
        let editor = created(&mut ui, &ws, "Pinned", &pinned.to_string()).await;
        let body = ui.get(&editor).await.body;
        assert!(body.contains("Filled in with the trigger's pinned sample items."), "{body}");
        let start = body.find("id=\"run-input\"").expect("the run input");
        let shown = &body[start..body[start..].find("</textarea>").unwrap() + start];
        assert!(shown.contains("&#34;name&#34;: &#34;Grace&#34;"), "the pinned items, escaped: {shown}");

        // Submitted as shown, the run greets the pinned person.
        let input = serde_json::to_string(&json!([{"name": "Grace"}])).unwrap();
        let started = ui.submit(&editor, &format!("{editor}/runs"), &[("version", "1"), ("input", &input)]).await;
        let body = finished_page(&mut ui, &location(&started)).await;
        assert!(body.contains("Hello Grace"), "{body}");
    }
);

backend_test!(
    async fn another_workspaces_workflows_and_runs_are_not_found_pages(backend) {
        let app = TestApp::spawn(backend).await;
        let theirs = app.new_workspace("theirs@example.com").await;
        let ours = app.new_workspace("ours@example.com").await;
        let workflow = app.new_workflow(&theirs, "Their secret flow").await;
        let run: Value = expect_status(
            app.post(
                &theirs.path(&format!("/workflows/{workflow}/runs")),
                Some(&theirs.owner.access_token),
                &json!({"version": 1}),
            )
            .await,
            202,
        )
        .await;
        let run = run["run_id"].as_str().unwrap().to_owned();

        let mut ui = UiSession::sign_in(&app, "ours@example.com", TEST_PASSWORD).await;
        let csrf = csrf_of(&ui.get(&format!("/w/{}", ours.slug)).await.body).expect("a form token");
        // Their ids under our workspace, and their workspace itself.
        for ws in [&ours.slug, &theirs.slug] {
            for path in [
                format!("/w/{ws}/workflows/{workflow}"),
                format!("/w/{ws}/workflows/{workflow}/versions"),
                format!("/w/{ws}/workflows/{workflow}/versions/1"),
                format!("/w/{ws}/runs/{run}"),
                format!("/w/{ws}/runs/{run}/live"),
            ] {
                let page = ui.get(&path).await;
                assert_eq!(page.status, 404, "{path}");
                assert!(!page.body.contains("Their secret flow"), "{path} leaks the name");
            }
            for path in [
                format!("/w/{ws}/workflows/{workflow}/publish"),
                format!("/w/{ws}/workflows/{workflow}/delete"),
                format!("/w/{ws}/workflows/{workflow}/runs"),
                format!("/w/{ws}/runs/{run}/retry"),
                format!("/w/{ws}/runs/{run}/cancel"),
            ] {
                assert_eq!(ui.post_form(&path, &csrf, &[("version", "1")]).await.status, 404, "{path}");
            }
        }
        let mine = ui.get(&format!("/w/{}/workflows", ours.slug)).await.body;
        assert!(!mine.contains("Their secret flow"));
    }
);

backend_test!(
    async fn a_workflow_named_like_a_script_renders_inert(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("owner@example.com").await;
        let mut ui = UiSession::sign_in(&app, "owner@example.com", TEST_PASSWORD).await;
        let hostile = "<script>alert(1)</script>";
        let definition = json!({
            "nodes": [{"name": hostile, "type": "manual_trigger"}, {"name": "Next", "type": "no_op"}],
            "connections": [{"from": hostile, "to": "Next"}],
        });
        let editor = created(&mut ui, &ws, hostile, &definition.to_string()).await;
        for path in [format!("/w/{}/workflows", ws.slug), editor.clone(), format!("{editor}/versions/1")] {
            let page = ui.get(&path).await;
            assert_eq!(page.status, 200, "{path}");
            assert!(!page.body.contains(hostile), "{path} renders the name as markup");
            assert!(page.body.contains("&#60;script&#62;alert(1)&#60;/script&#62;"), "{path} shows the name as text");
        }
        let graph = ui.get(&editor).await.body;
        let svg = &graph[graph.find("<svg class=\"graph\"").expect("the graph")..];
        assert!(svg.contains("<title>&lt;script&gt;alert(1)&lt;/script&gt; (manual_trigger)</title>"), "{svg}");
    }
);
