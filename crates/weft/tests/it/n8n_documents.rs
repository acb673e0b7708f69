//! n8n's document nodes (HTML extraction and tables, Markdown, XML) imported through the API and
//! run by the worker: the outputs are the ones n8n gives.

use serde_json::{Value, json};
use weft_http::api::n8n::ImportedOut;
use weft_testkit::{TestApp, TestWorkspace, backend_test, expect_status};

use crate::runs::finished;

/// A manual trigger feeding the n8n nodes given, in a chain.
fn chain(nodes: Value) -> Value {
    let mut all = vec![
        json!({"name": "Start", "type": "n8n-nodes-base.manualTrigger", "typeVersion": 1, "position": [0, 0], "parameters": {}}),
    ];
    all.extend(nodes.as_array().unwrap().iter().cloned());
    let mut connections = serde_json::Map::new();
    for pair in all.windows(2) {
        connections.insert(
            pair[0]["name"].as_str().unwrap().to_owned(),
            json!({"main": [[{"node": pair[1]["name"], "type": "main", "index": 0}]]}),
        );
    }
    json!({"name": "Documents", "nodes": all, "connections": connections})
}

/// Imports the n8n workflow, runs it with `input` and gives its output (node name → items).
async fn import_and_run(app: &TestApp, ws: &TestWorkspace, n8n: Value, input: Value) -> Value {
    let token = Some(ws.owner.access_token.as_str());
    let body = json!({"format": "n8n", "workflow": n8n});
    let imported: ImportedOut = expect_status(app.post(&ws.path("/workflows/import"), token, &body).await, 201).await;
    let item = &imported.items[0];
    assert!(item.problems.is_empty(), "{:?}", item.problems);
    let path = ws.path(&format!("/workflows/{}/runs", item.id));
    let started: Value = expect_status(app.post(&path, token, &json!({"version": 1, "input": input})).await, 202).await;
    let out = finished(app, ws, started["run_id"].as_str().unwrap()).await;
    assert_eq!(out.status, "succeeded", "{:?}", out.error);
    out.output.unwrap_or_default()
}

backend_test! {
    async fn an_n8n_html_extraction_and_table_run_as_in_n8n(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        let n8n = chain(json!([
            {"name": "Extract", "type": "n8n-nodes-base.html", "typeVersion": 1.2, "position": [200, 0], "parameters": {
                "operation": "extractHtmlContent", "dataPropertyName": "page", "options": {"trimValues": true},
                "extractionValues": {"values": [
                    {"key": "title", "cssSelector": "h1"},
                    {"key": "links", "cssSelector": "a", "returnValue": "attribute", "attribute": "href", "returnArray": true},
                    {"key": "price", "cssSelector": ".price", "skipSelectors": ".currency"}
                ]}
            }},
            {"name": "Table", "type": "n8n-nodes-base.html", "typeVersion": 1.2, "position": [400, 0], "parameters": {
                "operation": "convertToHtmlTable", "options": {"customStyling": true, "capitalize": true}
            }}
        ]));
        let page = "<html><body><h1> Pens </h1><p class=\"price\"><span class=\"currency\">EUR</span> 4.50</p>\
                    <a href=\"/a\">A</a><a href=\"/b\">B &amp; C</a></body></html>";
        let output = import_and_run(&app, &ws, n8n, json!([{"page": page}])).await;
        assert_eq!(
            output["Table"][0]["table"],
            "<table  ><thead  ><tr><th>Links</th><th>Price</th><th>Title</th></tr></thead><tbody>\
             <tr  ><td  >[&quot;/a&quot;,&quot;/b&quot;]</td><td  >4.50</td><td  >Pens</td></tr></tbody></table>",
            "{output}"
        );
    }
}

backend_test! {
    async fn an_n8n_xml_round_trip_runs_as_in_n8n(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        // As corpus 0153 does: XML to JSON (the defaults), then back to XML.
        let n8n = chain(json!([
            {"name": "To JSON", "type": "n8n-nodes-base.xml", "typeVersion": 1, "position": [200, 0], "parameters": {"options": {}}},
            {"name": "Keep", "type": "n8n-nodes-base.noOp", "typeVersion": 1, "position": [400, 0], "parameters": {}},
            {"name": "To XML", "type": "n8n-nodes-base.xml", "typeVersion": 1, "position": [600, 0], "parameters": {"mode": "jsonToxml", "options": {"headless": true}}}
        ]));
        let xml = "<?xml version=\"1.0\"?><feed lang=\"en\"><entry id=\"1\">First</entry><entry id=\"2\">Second</entry><title>News</title></feed>";
        let output = import_and_run(&app, &ws, n8n, json!([{"data": xml}])).await;
        assert_eq!(
            output["To XML"][0]["data"],
            // Merged attributes come back as elements; each entry's text is its `_`.
            "<feed>\n  <entry>\n    First\n    <id>1</id>\n  </entry>\n  <entry>\n    Second\n    <id>2</id>\n  </entry>\n  <lang>en</lang>\n  <title>News</title>\n</feed>",
            "{output}"
        );
    }
}

backend_test! {
    async fn n8n_markdown_conversions_run_both_ways(backend) {
        let app = TestApp::spawn(backend).await;
        let ws = app.new_workspace("ada@example.com").await;
        // As corpus 1386 and 1551 do: the text from an expression, into a named key.
        let n8n = chain(json!([
            {"name": "To HTML", "type": "n8n-nodes-base.markdown", "typeVersion": 1, "position": [200, 0], "parameters": {
                "mode": "markdownToHtml", "markdown": "={{ $json.response }}", "destinationKey": "html", "options": {"simpleLineBreaks": false}
            }},
            {"name": "Back", "type": "n8n-nodes-base.markdown", "typeVersion": 1, "position": [400, 0], "parameters": {
                "html": "={{ $json.html }}", "destinationKey": "markdown", "options": {"bulletMarker": "-"}
            }}
        ]));
        let markdown = "# Weekly report\n\n- **3** new customers\n- see [the board](https://board.example)";
        let output = import_and_run(&app, &ws, n8n, json!([{"response": markdown}])).await;
        let item = &output["Back"][0];
        assert_eq!(
            item["html"],
            "<h1 id=\"weeklyreport\">Weekly report</h1>\n<ul>\n<li><strong>3</strong> new customers</li>\n<li>see <a href=\"https://board.example\">the board</a></li>\n</ul>",
            "{output}"
        );
        assert_eq!(item["markdown"], "# Weekly report\n\n- **3** new customers\n- see [the board](https://board.example)");
        assert_eq!(item["response"], markdown, "the item keeps its fields");
    }
}
