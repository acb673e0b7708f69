use serde_json::{Value, json};

use super::*;
use crate::definition::parse;
use crate::validate::validate;

/// An n8n export of one manual trigger feeding `node` (or beside it, if it is a trigger).
fn workflow(node: Value) -> Value {
    let name = node["name"].clone();
    let n8n_type = node["type"].as_str().unwrap_or_default();
    let trigger = n8n_type.ends_with("Trigger") || n8n_type.ends_with(".cron") || n8n_type.ends_with(".webhook");
    let targets = if trigger { json!([]) } else { json!([{"node": name, "type": "main", "index": 0}]) };
    json!({
        "name": "Test",
        "nodes": [{"name": "Start", "type": "n8n-nodes-base.manualTrigger", "typeVersion": 1, "position": [0, 0], "parameters": {}}, node],
        "connections": {"Start": {"main": [targets]}}
    })
}

fn n8n_node(n8n_type: &str, version: f64, parameters: Value) -> Value {
    let version = if version.fract() == 0.0 { json!(version as i64) } else { json!(version) };
    json!({"name": "N", "type": format!("n8n-nodes-base.{n8n_type}"), "typeVersion": version, "position": [200, 0], "parameters": parameters})
}

/// The imported Weft node for one n8n node, checked to validate and to survive a round trip.
fn imported(n8n_type: &str, version: f64, parameters: Value) -> (Value, ImportReport) {
    let first = import_workflow(&workflow(n8n_node(n8n_type, version, parameters))).expect("imports");
    let exported = export_workflow(&first.workflow).expect("exports");
    let second = import_workflow(&exported).expect("imports again");
    assert_eq!(second.workflow, first.workflow, "round trip");
    (first.workflow["nodes"][1].clone(), first.report)
}

fn problems(workflow: &Value) -> Vec<String> {
    let mut definition = workflow.clone();
    for key in ["name", "description", "tags"] {
        definition.as_object_mut().map(|members| members.remove(key));
    }
    validate(&parse(&definition).expect("parses")).into_iter().map(|p| format!("{} {}", p.pointer, p.detail)).collect()
}

fn supported(n8n_type: &str, version: f64, parameters: Value) -> Value {
    let (node, report) = imported(n8n_type, version, parameters.clone());
    assert!(report.unsupported.is_empty(), "{n8n_type}: {:?}", report.unsupported);
    let found = problems(&import_workflow(&workflow(n8n_node(n8n_type, version, parameters))).unwrap().workflow);
    assert!(found.is_empty(), "{n8n_type}: {found:?}");
    node
}

#[test]
fn input_that_is_not_a_workflow_is_refused_clearly() {
    assert_eq!(import_workflow(&json!([1])), Err(ImportError::NotAWorkflow("an array")));
    let error = import_workflow(&json!({"name": "x"})).unwrap_err();
    assert!(error.to_string().contains("`nodes` array"), "{error}");
    assert!(import_workflow(&json!({"nodes": [], "connections": []})).is_err());
    assert!(import_workflow(&json!({"nodes": []})).is_ok());
}

#[test]
fn if_v1_conditions_map_in_n8n_type_order_with_defaults() {
    let node = supported(
        "if",
        1.0,
        json!({"conditions": {
            "string": [{"value1": "={{ $json.name }}", "operation": "startsWith", "value2": "A"}],
            "number": [{"value1": "={{ $json.n }}", "value2": 5}],
            "boolean": [{"value1": "={{ $json.ok }}", "value2": true}]
        }, "combineOperation": "any"}),
    );
    assert_eq!(node["type"], "if");
    assert_eq!(node["params"]["combine"], "any");
    let conditions = &node["params"]["conditions"];
    assert_eq!(conditions[0], json!({"left": "{{ $json.ok }}", "operator": "equals", "right": true}));
    assert_eq!(conditions[1], json!({"left": "{{ $json.n }}", "operator": "lt", "right": 5}));
    assert_eq!(conditions[2]["left"], "{{ String(($json.name)).startsWith(\"A\") }}");
}

#[test]
fn if_v2_conditions_map_onto_operators() {
    let node = supported(
        "if",
        2.2,
        json!({"conditions": {"options": {"caseSensitive": true, "typeValidation": "strict"}, "combinator": "and", "conditions": [
            {"id": "1", "leftValue": "={{ $json.a }}", "rightValue": 3, "operator": {"type": "number", "operation": "gte"}},
            {"id": "2", "leftValue": "={{ $json.b }}", "rightValue": "", "operator": {"type": "string", "operation": "notEmpty", "singleValue": true}},
            {"id": "3", "leftValue": "={{ $json.c }}", "rightValue": "", "operator": {"type": "boolean", "operation": "true", "singleValue": true}}
        ]}, "options": {}}),
    );
    let conditions = &node["params"]["conditions"];
    assert_eq!(conditions[0], json!({"left": "{{ $json.a }}", "operator": "gte", "right": 3}));
    assert!(conditions[1]["left"].as_str().unwrap().starts_with("{{ !((v) =>"), "{}", conditions[1]);
    assert_eq!(conditions[2], json!({"left": "{{ $json.c }}", "operator": "equals", "right": true}));
    assert_eq!(node["params"]["combine"], "all");
}

#[test]
fn switch_v3_rules_keep_their_outputs_and_the_extra_fallback() {
    let rule = |value: &str, key: &str| {
        json!({"renameOutput": true, "outputKey": key, "conditions": {"combinator": "and", "conditions": [
            {"leftValue": "={{ $json.kind }}", "rightValue": value, "operator": {"type": "string", "operation": "equals"}}
        ]}})
    };
    let n8n = json!({
        "nodes": [
            {"name": "Start", "type": "n8n-nodes-base.manualTrigger", "typeVersion": 1, "position": [0, 0], "parameters": {}},
            {"name": "S", "type": "n8n-nodes-base.switch", "typeVersion": 3.2, "position": [1, 0], "parameters": {
                "rules": {"values": [rule("a", "A"), rule("b", "B")]}, "options": {"fallbackOutput": "extra"}}},
            {"name": "X", "type": "n8n-nodes-base.noOp", "typeVersion": 1, "position": [2, 0], "parameters": {}},
            {"name": "Y", "type": "n8n-nodes-base.noOp", "typeVersion": 1, "position": [2, 1], "parameters": {}}
        ],
        "connections": {
            "Start": {"main": [[{"node": "S", "type": "main", "index": 0}]]},
            "S": {"main": [[{"node": "X", "type": "main", "index": 0}], [], [{"node": "Y", "type": "main", "index": 0}]]}
        }
    });
    let imported = import_workflow(&n8n).unwrap().workflow;
    assert_eq!(imported["nodes"][1]["params"]["rules"][1]["name"], "B");
    assert_eq!(
        imported["connections"],
        json!([{"from": "Start", "output": 0, "to": "S", "input": 0},
               {"from": "S", "output": 0, "to": "X", "input": 0},
               {"from": "S", "output": 2, "to": "Y", "input": 0}])
    );
    assert!(problems(&imported).is_empty(), "{:?}", problems(&imported));
}

#[test]
fn switch_v1_rules_route_to_their_numbered_outputs_and_the_fallback() {
    let n8n = json!({
        "nodes": [
            {"name": "Start", "type": "n8n-nodes-base.manualTrigger", "typeVersion": 1, "position": [0, 0], "parameters": {}},
            {"name": "S", "type": "n8n-nodes-base.switch", "typeVersion": 1, "position": [1, 0], "parameters": {
                "dataType": "string", "value1": "={{ $json.kind }}",
                "rules": {"rules": [{"value2": "a"}, {"value2": "b", "output": 0}, {"value2": "c", "output": 1}]},
                "fallbackOutput": 3}},
            {"name": "X", "type": "n8n-nodes-base.noOp", "typeVersion": 1, "position": [2, 0], "parameters": {}},
            {"name": "Y", "type": "n8n-nodes-base.noOp", "typeVersion": 1, "position": [2, 1], "parameters": {}}
        ],
        "connections": {
            "S": {"main": [[{"node": "X", "type": "main", "index": 0}], [], [], [{"node": "Y", "type": "main", "index": 0}]]}
        }
    });
    let imported = import_workflow(&n8n).unwrap().workflow;
    let outputs: Vec<_> =
        imported["connections"].as_array().unwrap().iter().map(|c| (c["output"].clone(), c["to"].clone())).collect();
    assert_eq!(outputs, [(json!(0), json!("X")), (json!(1), json!("X")), (json!(3), json!("Y"))]);
}

#[test]
fn http_request_v1_shapes() {
    let node = supported(
        "httpRequest",
        1.0,
        json!({"url": "=https://api.example/{{ $json.id }}", "requestMethod": "POST", "responseFormat": "string",
               "queryParametersUi": {"parameter": [{"name": "page", "value": "2"}, {"name": "tag", "value": "a"}, {"name": "tag", "value": "b"}]},
               "bodyParametersUi": {"parameter": [{"name": "name", "value": "={{ $json.name }}"}]},
               "options": {"timeout": 5000}}),
    );
    assert_eq!(
        node["params"],
        json!({"method": "POST", "url": "https://api.example/{{ $json.id }}", "query": {"page": "2", "tag": ["a", "b"]},
               "body": {"json": {"name": "{{ $json.name }}"}}, "response": "text", "output": "body"})
    );
    assert_eq!(node["timeout_ms"], 5000);
}

#[test]
fn http_request_v4_shapes() {
    let node = supported(
        "httpRequest",
        4.2,
        json!({"method": "POST", "url": "https://api.example/items", "sendHeaders": true,
               "headerParameters": {"parameters": [{"name": "X-Key", "value": "={{ $json.key }}"}]},
               "sendBody": true, "specifyBody": "json", "jsonBody": "={\n \"id\": \"{{ $json.id }}\"\n}",
               "options": {"response": {"response": {"neverError": true}}}}),
    );
    assert_eq!(node["params"]["headers"], json!({"X-Key": "{{ $json.key }}"}));
    assert_eq!(
        node["params"]["body"],
        json!({"raw": "{\n \"id\": \"{{ $json.id }}\"\n}", "content_type": "application/json"})
    );
    assert_eq!(node["params"]["fail_on_non_2xx"], false);
    assert_eq!(node["params"]["output"], "body", "n8n's node gives the body alone");
    let (full, report) = imported(
        "httpRequest",
        4.2,
        json!({"url": "https://api.example", "options": {"response": {"response": {"fullResponse": true}}}}),
    );
    assert_eq!(full["params"].get("output"), None, "Weft's full response");
    assert!(report.warnings.iter().any(|w| w.contains("full response")), "{:?}", report.warnings);
    let node = supported(
        "httpRequest",
        4.1,
        json!({"url": "https://api.example", "sendBody": true, "contentType": "form-urlencoded",
               "bodyParameters": {"parameters": [{"name": "a", "value": "1"}]}, "sendQuery": true, "specifyQuery": "json", "jsonQuery": "{\"q\": 1}"}),
    );
    assert_eq!(node["params"]["body"], json!({"form": {"a": "1"}}));
    assert_eq!(node["params"]["query"], json!({"q": 1}));
}

#[test]
fn http_request_v1_and_v2_file_downloads() {
    let node = supported(
        "httpRequest",
        1.0,
        json!({"url": "https://n8n.io/n8n-logo.png", "options": {}, "responseFormat": "file", "dataPropertyName": "logo"}),
    );
    assert_eq!(
        node["params"],
        json!({"method": "GET", "url": "https://n8n.io/n8n-logo.png", "response": "file", "output_field": "logo", "output": "body"})
    );
    let node =
        supported("httpRequest", 2.0, json!({"url": "={{ $json.photos[0].src.landscape }}", "responseFormat": "file"}));
    assert_eq!(node["params"]["response"], "file");
    assert_eq!(node["params"].get("output_field"), None, "n8n's default property is Weft's default attachment");
}

#[test]
fn http_request_v1_binary_data_goes_raw_or_as_multipart_files() {
    let v1 = |content: Option<&str>, names: &str| {
        let mut parameters = json!({"url": "https://api.example/upload", "requestMethod": "POST", "jsonParameters": true,
                                    "sendBinaryData": true, "binaryPropertyName": names, "options": {}});
        if let Some(content) = content {
            parameters["options"]["bodyContentType"] = json!(content);
        }
        parameters
    };
    let node = supported("httpRequest", 1.0, v1(Some("raw"), "data"));
    assert_eq!(node["params"]["body"], json!({"binary": "data"}));
    let node = supported("httpRequest", 1.0, v1(Some("multipart-form-data"), "banner:data, logo:image"));
    assert_eq!(
        node["params"]["body"],
        json!({"multipart": [{"name": "banner", "binary": "data"}, {"name": "logo", "binary": "image"}]})
    );
    let node = supported("httpRequest", 1.0, v1(Some("multipart-form-data"), "data"));
    assert_eq!(node["params"]["body"], json!({"multipart": [{"name": "file", "binary": "data"}]}));
    // n8n itself refuses binary data with its default JSON body (0131's banner upload).
    let (node, report) = imported("httpRequest", 1.0, v1(None, "banner:data"));
    assert_eq!(node["type"], "n8n_unsupported");
    assert!(report.unsupported[0].reason.as_deref().unwrap().contains("RAW/CUSTOM or FORM-DATA/MULTIPART"));
    let node = supported(
        "httpRequest",
        1.0,
        json!({"url": "https://a.example", "requestMethod": "POST", "options": {"bodyContentType": "multipart-form-data"},
               "bodyParametersUi": {"parameter": [{"name": "a", "value": "1"}, {"name": "a", "value": "2"}]}}),
    );
    assert_eq!(
        node["params"]["body"],
        json!({"multipart": [{"name": "a", "value": "1"}, {"name": "a", "value": "2"}]})
    );
    let node = supported(
        "httpRequest",
        1.0,
        json!({"url": "https://a.example", "jsonParameters": true, "queryParametersJson": "=", "options": {}}),
    );
    assert_eq!(node["params"].get("query"), None, "an empty expression is no parameters (0706)");
}

#[test]
fn http_request_v4_multipart_binary_bodies_and_files() {
    // 1702's transcription: a file part and a text part, in order.
    let node = supported(
        "httpRequest",
        4.1,
        json!({"url": "https://api.openai.com/v1/audio/transcriptions", "method": "POST", "sendBody": true,
        "contentType": "multipart-form-data", "options": {},
        "bodyParameters": {"parameters": [
            {"name": "file", "parameterType": "formBinaryData", "inputDataFieldName": "data"},
            {"name": "model", "value": "whisper-1"},
            {}
        ]}}),
    );
    assert_eq!(
        node["params"]["body"],
        json!({"multipart": [{"name": "file", "binary": "data"}, {"name": "model", "value": "whisper-1"}]})
    );
    // 0509's conversion: a text part holding an expression, and the answer as a file.
    let node = supported(
        "httpRequest",
        4.2,
        json!({"url": "https://v2.convertapi.com/convert/docx/to/pdf", "method": "POST", "sendBody": true,
               "contentType": "multipart-form-data",
               "bodyParameters": {"parameters": [{"name": "file", "value": "={{ $json.url_to_file }}"}]},
               "options": {"response": {"response": {"responseFormat": "file", "outputPropertyName": "pdf"}}}}),
    );
    assert_eq!(node["params"]["body"], json!({"multipart": [{"name": "file", "value": "{{ $json.url_to_file }}"}]}));
    assert_eq!((&node["params"]["response"], &node["params"]["output_field"]), (&json!("file"), &json!("pdf")));
    // 1876's upload: the attachment named by `=data`, a literal.
    let node = supported(
        "httpRequest",
        4.2,
        json!({"url": "https://up.example/files", "method": "POST", "sendBody": true, "contentType": "binaryData",
               "inputDataFieldName": "=data", "options": {}}),
    );
    assert_eq!(node["params"]["body"], json!({"binary": "data"}));
    let (node, report) = imported(
        "httpRequest",
        4.2,
        json!({"url": "https://up.example", "method": "POST", "sendBody": true, "contentType": "binaryData",
               "inputDataFieldName": "={{ $json.field }}"}),
    );
    assert_eq!(node["type"], "n8n_unsupported");
    assert!(report.unsupported[0].reason.as_deref().unwrap().contains("expression"));
}

#[test]
fn http_request_v4_pagination_with_n8n_defaults() {
    // 1824's Squarespace orders: a cursor parameter, completion by expression, a page limit.
    let node = supported(
        "httpRequest",
        4.2,
        json!({"url": "https://api.example/orders", "options": {"pagination": {"pagination": {
            "parameters": {"parameters": [{"name": "cursor", "value": "={{ $response.body.pagination.nextPageCursor }}"}]},
            "maxRequests": "={{ $json.maxPage === -1 ? Infinity : $json.maxPage }}", "limitPagesFetched": true,
            "completeExpression": "={{ !$response.body.pagination.nextPageCursor }}", "paginationCompleteWhen": "other"
        }}}}),
    );
    assert_eq!(
        node["params"]["pagination"],
        json!({
            "mode": "update_params",
            "params": [{"target": "query", "name": "cursor", "value": "{{ $response.body.pagination.nextPageCursor }}"}],
            "complete_when": "expression",
            "complete_expression": "{{ !$response.body.pagination.nextPageCursor }}",
            "max_requests": "{{ $json.maxPage === -1 ? Infinity : $json.maxPage }}"
        })
    );
    let (node, report) = imported(
        "httpRequest",
        4.1,
        json!({"url": "https://api.example/items", "options": {"pagination": {"pagination": {
            "paginationMode": "responseContainsNextURL", "nextURL": "={{ $response.body.links.next }}",
            "paginationCompleteWhen": "receiveSpecificStatusCodes", "statusCodesWhenComplete": "404, 410",
            "limitPagesFetched": true, "maxRequests": 500, "requestInterval": 250
        }}}}),
    );
    assert_eq!(
        node["params"]["pagination"],
        json!({"mode": "next_url", "next_url": "{{ $response.body.links.next }}", "complete_when": "status_codes",
               "status_codes": [404, 410], "max_requests": 100, "interval_ms": 250})
    );
    assert!(report.warnings.iter().any(|w| w.contains("at most 100 pages")), "{:?}", report.warnings);
    assert!(!report.warnings.iter().any(|w| w.contains("pagination")), "{:?}", report.warnings);
    let node = supported(
        "httpRequest",
        4.2,
        json!({"url": "https://api.example/items", "options": {"pagination": {"pagination": {
            "parameters": {"parameters": [{"type": "body", "name": "page", "value": "={{ $pageCount + 1 }}"}]}
        }}}, "method": "POST", "sendBody": true, "bodyParameters": {"parameters": [{"name": "q", "value": "x"}]}}),
    );
    assert_eq!(node["params"]["pagination"]["params"][0]["target"], "body");
    assert_eq!(node["params"]["pagination"].get("complete_when"), None, "responseIsEmpty is Weft's default too");
    let node = supported(
        "httpRequest",
        4.2,
        json!({"url": "https://a.example", "options": {"pagination": {"pagination": {"paginationMode": "off"}}}}),
    );
    assert_eq!(node["params"].get("pagination"), None);
}

#[test]
fn set_v1_and_v3_4() {
    let node = supported(
        "set",
        1.0,
        json!({"keepOnlySet": true, "values": {"string": [{"name": "a", "value": "={{ $json.x }}"}], "number": [{"name": "n"}]}}),
    );
    assert_eq!(
        node["params"],
        json!({"assignments": [{"name": "n", "value": 0}, {"name": "a", "value": "{{ $json.x }}"}], "keep_only": true})
    );
    let node = supported(
        "set",
        3.4,
        json!({"assignments": {"assignments": [
            {"id": "1", "name": "n", "value": "42", "type": "number"},
            {"id": "2", "name": "ok", "value": "true", "type": "boolean"},
            {"id": "3", "name": "s", "value": "=Hi {{ $json.name }}", "type": "string"}
        ]}, "includeOtherFields": true, "options": {}}),
    );
    assert_eq!(
        node["params"],
        json!({"assignments": [{"name": "n", "value": 42}, {"name": "ok", "value": true}, {"name": "s", "value": "Hi {{ $json.name }}"}], "keep_only": false})
    );
    assert_eq!(supported("set", 3.4, json!({"assignments": {"assignments": []}}))["params"]["keep_only"], true);
}

#[test]
fn set_rows_without_a_field_name_are_left_out_with_a_warning() {
    let unnamed = json!({"id": "2", "name": "", "value": "", "type": "string"});
    let parameters =
        json!({"assignments": {"assignments": [{"id": "1", "name": "a", "value": "x", "type": "string"}, unnamed]}});
    let (node, report) = imported("set", 3.4, parameters.clone());
    assert_eq!(node["params"]["assignments"], json!([{"name": "a", "value": "x"}]));
    assert!(report.warnings.iter().any(|w| w.contains("without a field name")), "{report:?}");
    supported("set", 3.4, parameters);
    let fields =
        json!({"fields": {"values": [{"name": "", "stringValue": "lost"}, {"name": "b", "stringValue": "kept"}]}});
    assert_eq!(supported("set", 3.0, fields)["params"]["assignments"], json!([{"name": "b", "value": "kept"}]));
}

#[test]
fn set_keeping_selected_or_all_but_some_input_fields_maps_onto_keep() {
    let fields = json!({"values": [{"name": "OrgID", "stringValue": "={{ $json.id }}"}]});
    let node = supported(
        "set",
        3.2,
        json!({"fields": fields, "include": "selected", "includeFields": "name, $json.address.city"}),
    );
    assert_eq!(
        node["params"],
        json!({"assignments": [{"name": "OrgID", "value": "{{ $json.id }}"}], "keep": {"only": ["name", "address.city"]}})
    );
    assert_eq!(
        supported("set", 3.2, json!({"fields": fields, "include": "selected"}))["params"]["keep"],
        json!({"only": []})
    );
    let except = json!({"includeOtherFields": true, "include": "except", "excludeFields": "secret", "assignments": {"assignments": []}});
    assert_eq!(supported("set", 3.4, except)["params"]["keep"], json!({"except": ["secret"]}));
    // Without includeOtherFields, 3.3 and later keep nothing, whatever `include` says.
    let none = json!({"include": "selected", "includeFields": "a", "assignments": {"assignments": []}});
    assert_eq!(supported("set", 3.4, none)["params"]["keep_only"], true);
}

#[test]
fn item_lists_operations_map_as_their_own_nodes_do() {
    assert_eq!(
        supported("itemLists", 3.0, json!({"options": {"destinationFieldName": "Link"}, "fieldToSplitOut": "data"}))["params"],
        json!({"fields": [{"field": "data", "destination": "Link"}]})
    );
    let (node, _) = imported("itemLists", 1.0, json!({"fieldToSplitOut": "a"}));
    assert_eq!(node["type"], "split_out");
    let aggregate =
        json!({"operation": "aggregateItems", "fieldsToAggregate": {"fieldToAggregate": [{"fieldToAggregate": "id"}]}});
    assert_eq!(supported("itemLists", 2.0, aggregate)["params"], json!({"field": "id"}));
    let concatenate = json!({"operation": "concatenateItems", "aggregate": "aggregateAllItemData"});
    assert_eq!(supported("itemLists", 3.0, concatenate)["params"], json!({"destination": "data"}));
    let sort = json!({"operation": "sort", "sortFieldsUi": {"sortField": [{"fieldName": "n", "order": "descending"}]}});
    assert_eq!(supported("itemLists", 3.0, sort)["params"], json!({"fields": [{"field": "n", "order": "desc"}]}));
    assert_eq!(
        supported("itemLists", 3.0, json!({"operation": "limit", "maxItems": 5}))["params"],
        json!({"max_items": 5, "keep": "first"})
    );
    let dedupe = json!({"operation": "removeDuplicates", "compare": "selectedFields", "fieldsToCompare": "email"});
    assert_eq!(supported("itemLists", 3.0, dedupe)["params"], json!({"fields": ["email"]}));
    let legacy = json!({"operation": "removeDuplicates", "compare": "selectedFields", "fieldsToCompare": {"fields": [{"fieldName": "id"}]}});
    assert_eq!(supported("itemLists", 1.0, legacy)["params"], json!({"fields": ["id"]}));
    let summarize =
        json!({"operation": "summarize", "fieldsToSummarize": {"values": [{"field": "n", "aggregation": "sum"}]}});
    assert_eq!(
        supported("itemLists", 3.0, summarize)["params"],
        json!({"fields": [{"field": "n", "aggregation": "sum"}]})
    );
    for refused in [
        json!({"operation": "sort", "type": "random"}),
        json!({"operation": "removeDuplicates", "compare": "allFieldsExcept", "fieldsToExclude": "id"}),
        json!({"fieldToSplitOut": "a", "include": "selectedOtherFields", "fieldsToInclude": {"fields": [{"fieldName": "b"}]}}),
    ] {
        assert_eq!(imported("itemLists", 1.0, refused.clone()).0["type"], "n8n_unsupported", "{refused}");
    }
}

#[test]
fn the_legacy_start_node_is_a_manual_trigger() {
    let n8n = json!({
        "nodes": [{"name": "Start", "type": "n8n-nodes-base.start", "typeVersion": 1, "position": [0, 0], "parameters": {}}],
        "connections": {}
    });
    let imported = import_workflow(&n8n).unwrap();
    assert_eq!(imported.workflow["nodes"][0]["type"], "manual_trigger");
    assert!(imported.report.unsupported.is_empty());
}

#[test]
fn email_send_maps_recipients_bodies_and_the_sender_onto_reply_to() {
    let (node, report) = imported(
        "emailSend",
        2.1,
        json!({"html": "={{ $json.html }}", "options": {"ccEmail": "cc@example.com"}, "subject": "Hi",
            "toEmail": "={{ $json.email }}", "fromEmail": "Elay's AI Assistant <elay@example.com>"}),
    );
    assert_eq!(
        node["params"],
        json!({"to": "{{ $json.email }}", "cc": "cc@example.com", "subject": "Hi", "html": "{{ $json.html }}",
            "from_name": "Elay's AI Assistant", "reply_to": "elay@example.com"})
    );
    assert!(
        report.warnings.iter().any(|w| w.contains("`elay@example.com` became the reply-to address")),
        "{:?}",
        report.warnings
    );
    let v2 = supported(
        "emailSend",
        2.0,
        json!({"toEmail": "a@example.com", "text": "t", "options": {"replyTo": "r@example.com"}, "fromEmail": "f@example.com"}),
    );
    assert_eq!(v2["params"], json!({"to": "a@example.com", "subject": "", "text": "t", "reply_to": "r@example.com"}));
    let v1 = supported(
        "emailSend",
        1.0,
        json!({"toEmail": "a@example.com", "text": "=", "html": "=<b>{{ $json.x }}</b>", "fromEmail": ""}),
    );
    assert_eq!(v1["params"], json!({"to": "a@example.com", "subject": "", "html": "<b>{{ $json.x }}</b>"}));
    let both = supported(
        "emailSend",
        2.1,
        json!({"toEmail": "a@example.com", "emailFormat": "both", "text": "t", "html": "h"}),
    );
    assert_eq!((both["params"]["text"].clone(), both["params"]["html"].clone()), (json!("t"), json!("h")));
    let (empty, _) = imported("emailSend", 1.0, json!({"toEmail": ""}));
    assert_eq!(empty["type"], "send_email");
    assert_eq!(
        imported("emailSend", 2.1, json!({"toEmail": "a@example.com", "options": {"attachments": "data"}})).0["type"],
        "n8n_unsupported"
    );
    assert_eq!(
        imported("emailSend", 1.0, json!({"toEmail": "a@example.com", "attachments": "data"})).0["type"],
        "n8n_unsupported"
    );
}

#[test]
fn merge_modes() {
    assert_eq!(supported("merge", 3.0, json!({}))["params"], json!({"mode": "append"}));
    assert_eq!(
        supported("merge", 3.0, json!({"mode": "combine", "combineBy": "combineByPosition"}))["params"],
        json!({"mode": "by_position", "deep": true})
    );
    assert_eq!(
        supported("merge", 3.1, json!({"mode": "combine", "fieldsToMatchString": "email"}))["params"],
        json!({"mode": "by_key", "key": "email", "deep": true})
    );
    assert_eq!(
        supported(
            "merge",
            2.1,
            json!({"mode": "combine", "mergeByFields": {"values": [{"field1": "id", "field2": "id"}]}})
        )["params"],
        json!({"mode": "by_key", "key": "id", "deep": true})
    );
    let (node, report) = imported("merge", 3.0, json!({"mode": "combineBySql"}));
    assert_eq!(node["type"], "n8n_unsupported");
    assert!(report.unsupported[0].reason.as_deref().unwrap().contains("combineBySql"));
}

#[test]
fn merge_joins_by_fields_map_every_output_type_with_n8n_defaults() {
    let pairs = json!({"values": [{"field1": "NetworkID", "field2": "networkId"}]});
    assert_eq!(
        supported("merge", 2.1, json!({"mode": "combine", "joinMode": "enrichInput1", "mergeByFields": pairs}))["params"],
        json!({"mode": "by_key", "fields": [{"a": "NetworkID", "b": "networkId"}], "join": "left", "deep": true})
    );
    let same = json!({"values": [{"field1": "name", "field2": "name"}]});
    assert_eq!(
        supported(
            "merge",
            2.1,
            json!({"mode": "combine", "joinMode": "keepNonMatches", "mergeByFields": same, "outputDataFrom": "input2"})
        )["params"],
        json!({"mode": "by_key", "key": "name", "join": "unmatched", "output_from": "right", "deep": true})
    );
    assert_eq!(
        supported(
            "merge",
            3.1,
            json!({"mode": "combine", "joinMode": "keepEverything", "fieldsToMatchString": "email"})
        )["params"],
        json!({"mode": "by_key", "key": "email", "join": "outer", "deep": true})
    );
    let enrich_second = json!({"mode": "combine", "options": {"multipleMatches": "first", "clashHandling": {"values": {"resolveClash": "addSuffix", "mergeMode": "shallowMerge"}}},
        "advanced": true, "joinMode": "enrichInput2", "mergeByFields": {"values": [{"field1": "Subject", "field2": "content"}, {"field1": "a.b", "field2": "c"}]}});
    assert_eq!(
        supported("merge", 3.1, enrich_second)["params"],
        json!({"mode": "by_key", "fields": [{"a": "Subject", "b": "content"}, {"a": "a.b", "b": "c"}], "join": "right",
            "all_matches": false, "clash": "add_suffix"})
    );
    for refused in [
        json!({"mode": "combine", "fieldsToMatchString": "a", "options": {"fuzzyCompare": true}}),
        json!({"mode": "combine", "fieldsToMatchString": "={{ $json.f }}"}),
        json!({"mode": "combine", "fieldsToMatchString": "a", "options": {"clashHandling": {"values": {"overrideEmpty": true}}}}),
        json!({"mode": "combine", "combineBy": "combineAll", "numberInputs": 3}),
    ] {
        assert_eq!(imported("merge", 3.0, refused.clone()).0["type"], "n8n_unsupported", "{refused}");
    }
}

#[test]
fn merge_of_many_inputs_unpaired_items_and_chosen_branches_map() {
    assert_eq!(supported("merge", 3.0, json!({"numberInputs": 3}))["params"], json!({"mode": "append", "inputs": 3}));
    assert_eq!(
        supported(
            "merge",
            3.0,
            json!({"mode": "combine", "options": {"includeUnpaired": true}, "combineBy": "combineByPosition"})
        )["params"],
        json!({"mode": "by_position", "include_unpaired": true, "deep": true})
    );
    assert_eq!(
        supported("merge", 3.0, json!({"mode": "chooseBranch", "numberInputs": 4}))["params"],
        json!({"mode": "choose_branch", "choose": 0, "inputs": 4})
    );
    assert_eq!(
        supported("merge", 3.0, json!({"mode": "chooseBranch", "useDataOfInput": 2}))["params"],
        json!({"mode": "choose_branch", "choose": 1})
    );
    assert_eq!(supported("merge", 2.1, json!({"mode": "chooseBranch", "output": "input2"}))["params"]["choose"], 1);
    assert_eq!(
        supported("merge", 2.1, json!({"mode": "chooseBranch", "output": "empty"}))["params"]["choose"],
        "empty"
    );
    let wide = json!({
        "nodes": [
            {"name": "Start", "type": "n8n-nodes-base.manualTrigger", "typeVersion": 1, "position": [0, 0], "parameters": {}},
            {"name": "M", "type": "n8n-nodes-base.merge", "typeVersion": 3, "position": [1, 0], "parameters": {"numberInputs": 3}}
        ],
        "connections": {"Start": {"main": [[{"node": "M", "type": "main", "index": 2}]]}}
    });
    assert!(problems(&import_workflow(&wide).unwrap().workflow).is_empty());
}

#[test]
fn merge_input_indices_are_kept() {
    let n8n = json!({
        "nodes": [
            {"name": "Start", "type": "n8n-nodes-base.manualTrigger", "typeVersion": 1, "position": [0, 0], "parameters": {}},
            {"name": "M", "type": "n8n-nodes-base.merge", "typeVersion": 3, "position": [1, 0], "parameters": {}}
        ],
        "connections": {"Start": {"main": [[{"node": "M", "type": "main", "index": 0}, {"node": "M", "type": "main", "index": 1}]]}}
    });
    let connections = import_workflow(&n8n).unwrap().workflow["connections"].clone();
    assert_eq!(connections[1], json!({"from": "Start", "output": 0, "to": "M", "input": 1}));
}

#[test]
fn split_in_batches_v3_keeps_done_then_loop_and_v1_feeds_the_loop_output() {
    let n8n = |version: f64| {
        json!({
            "nodes": [
                {"name": "Start", "type": "n8n-nodes-base.manualTrigger", "typeVersion": 1, "position": [0, 0], "parameters": {}},
                {"name": "Batches", "type": "n8n-nodes-base.splitInBatches", "typeVersion": version, "position": [1, 0], "parameters": {"batchSize": 2}},
                {"name": "Body", "type": "n8n-nodes-base.noOp", "typeVersion": 1, "position": [2, 0], "parameters": {}},
                {"name": "After", "type": "n8n-nodes-base.noOp", "typeVersion": 1, "position": [2, 1], "parameters": {}}
            ],
            "connections": {
                "Start": {"main": [[{"node": "Batches", "type": "main", "index": 0}]]},
                "Batches": {"main": [[{"node": "After", "type": "main", "index": 0}], [{"node": "Body", "type": "main", "index": 0}]]},
                "Body": {"main": [[{"node": "Batches", "type": "main", "index": 0}]]}
            }
        })
    };
    let v3 = import_workflow(&n8n(3.0)).unwrap().workflow;
    assert_eq!(v3["nodes"][1]["params"], json!({"batch_size": 2}));
    assert_eq!(v3["connections"][1], json!({"from": "Batches", "output": 0, "to": "After", "input": 0}));
    assert_eq!(v3["connections"][2], json!({"from": "Batches", "output": 1, "to": "Body", "input": 0}));
    assert!(problems(&v3).is_empty(), "{:?}", problems(&v3));
    let mut v1 = n8n(1.0);
    v1["connections"]["Batches"] = json!({"main": [[{"node": "Body", "type": "main", "index": 0}]]});
    let v1 = import_workflow(&v1).unwrap().workflow;
    assert_eq!(v1["connections"][1], json!({"from": "Batches", "output": 1, "to": "Body", "input": 0}));
}

#[test]
fn error_settings_map_onto_retry_and_on_error() {
    let mut node = n8n_node("noOp", 1.0, json!({}));
    node["retryOnFail"] = json!(true);
    node["maxTries"] = json!(4);
    node["waitBetweenTries"] = json!(2000);
    node["onError"] = json!("continueErrorOutput");
    node["disabled"] = json!(true);
    node["executeOnce"] = json!(true);
    node["alwaysOutputData"] = json!(true);
    let imported = import_workflow(&workflow(node)).unwrap().workflow;
    let node = &imported["nodes"][1];
    assert_eq!((&node["execute_once"], &node["always_output"]), (&json!(true), &json!(true)));
    assert_eq!(
        node["retry"],
        json!({"max_attempts": 4, "backoff": {"kind": "fixed", "initial_ms": 2000, "max_ms": 2000}})
    );
    assert_eq!(node["on_error"], "error_output");
    assert_eq!(node["disabled"], true);
    let mut legacy = n8n_node("noOp", 1.0, json!({}));
    legacy["continueOnFail"] = json!(true);
    assert_eq!(import_workflow(&workflow(legacy)).unwrap().workflow["nodes"][1]["on_error"], "continue");
    let back = export_workflow(&imported).unwrap();
    assert_eq!(back["nodes"][1]["onError"], "continueErrorOutput");
    assert_eq!(back["nodes"][1]["maxTries"], 4);
    assert_eq!((&back["nodes"][1]["executeOnce"], &back["nodes"][1]["alwaysOutputData"]), (&json!(true), &json!(true)));
}

#[test]
fn sticky_notes_become_the_description_and_pin_data_is_kept() {
    let mut n8n = workflow(n8n_node("noOp", 1.0, json!({})));
    n8n["nodes"].as_array_mut().unwrap().push(json!({
        "name": "Sticky Note", "type": "n8n-nodes-base.stickyNote", "typeVersion": 1, "position": [0, 0],
        "parameters": {"content": "## How it works\nIt does things."}
    }));
    n8n["pinData"] = json!({"Start": [{"json": {"a": 1}}, {"b": 2}]});
    n8n["settings"] = json!({"executionOrder": "v1", "executionTimeout": 60, "saveManualExecutions": true});
    let imported = import_workflow(&n8n).unwrap();
    assert_eq!(imported.workflow["description"], "## How it works\nIt does things.");
    assert_eq!(imported.workflow["nodes"].as_array().unwrap().len(), 2);
    assert_eq!(
        imported.workflow["settings"],
        json!({"execution_order": "v1", "timeout_ms": 60000, "pin_data": {"Start": [{"json": {"a": 1}}, {"json": {"b": 2}}]}})
    );
    assert_eq!(imported.report.sticky_notes, 1);
    assert_eq!(imported.report.pinned_nodes, ["Start"]);
    let exported = export_workflow(&imported.workflow).unwrap();
    assert_eq!(exported["settings"], json!({"executionOrder": "v1", "executionTimeout": 60}));
    assert_eq!(import_workflow(&exported).unwrap().workflow, imported.workflow);
}

#[test]
fn credentials_become_named_slots_that_export_restores() {
    let mut node = n8n_node(
        "httpRequest",
        4.2,
        json!({"url": "https://a.example", "authentication": "predefinedCredentialType", "nodeCredentialType": "notionApi"}),
    );
    node["credentials"] = json!({"notionApi": {"id": "7", "name": "Notion account"}});
    let imported = import_workflow(&workflow(node)).unwrap();
    assert_eq!(
        imported.workflow["nodes"][1]["credentials"],
        json!({"notionApi": {"name": "Notion account", "n8n_id": "7"}})
    );
    assert_eq!(imported.report.credentials[0].slot, "notionApi");
    assert!(imported.report.warnings.iter().any(|w| w.contains("authentication")), "{:?}", imported.report.warnings);
    let exported = export_workflow(&imported.workflow).unwrap();
    assert_eq!(exported["nodes"][1]["credentials"], json!({"notionApi": {"id": "7", "name": "Notion account"}}));
}

#[test]
fn unknown_types_become_placeholders_that_validation_refuses() {
    let mut n8n = workflow(n8n_node("slack", 2.1, json!({"text": "={{ $json.msg }}"})));
    n8n["nodes"][1]["type"] = json!("n8n-nodes-base.slack");
    let imported = import_workflow(&n8n).unwrap();
    let node = &imported.workflow["nodes"][1];
    assert_eq!(node["type"], "n8n_unsupported");
    assert_eq!(node["params"]["parameters"], json!({"text": "={{ $json.msg }}"}));
    assert_eq!(
        problems(&imported.workflow),
        ["/nodes/1/params/n8n_type unsupported n8n node type n8n-nodes-base.slack (typeVersion 2.1)"]
    );
    let exported = export_workflow(&imported.workflow).unwrap();
    assert_eq!(exported["nodes"][1]["type"], "n8n-nodes-base.slack");
    assert_eq!(exported["nodes"][1]["typeVersion"], 2.1);
    assert_eq!(exported["nodes"][1]["parameters"], json!({"text": "={{ $json.msg }}"}));
}

#[test]
fn python_code_is_a_placeholder_with_its_reason() {
    let (node, report) = imported("code", 2.0, json!({"language": "python", "pythonCode": "return items"}));
    assert_eq!(node["type"], "n8n_unsupported");
    assert_eq!(report.unsupported[0].reason.as_deref(), Some("Python is not supported yet"));
    let found =
        problems(&import_workflow(&workflow(n8n_node("code", 2.0, json!({"language": "python"})))).unwrap().workflow);
    assert!(found[0].ends_with("(typeVersion 2): Python is not supported yet"), "{found:?}");
    let node = supported("code", 2.0, json!({"mode": "runOnceForEachItem", "jsCode": "return $json;"}));
    assert_eq!(node["params"], json!({"mode": "each_item", "code": "return $json;"}));
}

#[test]
fn ai_connections_stay_on_their_placeholder() {
    let n8n = json!({
        "nodes": [
            {"name": "Chat", "type": "@n8n/n8n-nodes-langchain.chatTrigger", "typeVersion": 1.1, "position": [0, 0], "parameters": {}},
            {"name": "Agent", "type": "@n8n/n8n-nodes-langchain.agent", "typeVersion": 1.7, "position": [1, 0], "parameters": {}},
            {"name": "Model", "type": "@n8n/n8n-nodes-langchain.lmChatOpenAi", "typeVersion": 1, "position": [1, 1], "parameters": {}}
        ],
        "connections": {
            "Chat": {"main": [[{"node": "Agent", "type": "main", "index": 0}]]},
            "Model": {"ai_languageModel": [[{"node": "Agent", "type": "ai_languageModel", "index": 0}]]}
        }
    });
    let imported = import_workflow(&n8n).unwrap();
    assert_eq!(imported.report.unsupported.len(), 3);
    let exported = export_workflow(&imported.workflow).unwrap();
    assert_eq!(exported["connections"]["Model"], n8n["connections"]["Model"]);
    assert_eq!(import_workflow(&exported).unwrap().workflow, imported.workflow);
}

#[test]
fn schedules_become_cron_or_intervals() {
    let cron = |parameters: Value| supported("scheduleTrigger", 1.2, parameters)["params"].clone();
    assert_eq!(cron(json!({"rule": {"interval": [{}]}})), json!({"cron": "0 0 * * *"}));
    assert_eq!(
        cron(json!({"rule": {"interval": [{"field": "hours", "hoursInterval": 6}]}})),
        json!({"cron": "0 */6 * * *"})
    );
    assert_eq!(
        cron(json!({"rule": {"interval": [{"field": "seconds", "secondsInterval": 45}]}})),
        json!({"interval_secs": 45})
    );
    assert_eq!(
        cron(json!({"rule": {"interval": [{"field": "cronExpression", "expression": "*/5 8-16 * * 1-5"}]}})),
        json!({"cron": "*/5 8-16 * * 1-5"})
    );
    assert_eq!(
        supported("cron", 1.0, json!({"triggerTimes": {"item": [{"hour": 8}]}}))["params"],
        json!({"cron": "0 8 * * *"})
    );
}

#[test]
fn webhook_and_respond_to_webhook() {
    let (node, report) = imported(
        "webhook",
        2.0,
        json!({"path": "abc", "httpMethod": "POST", "responseMode": "responseNode", "authentication": "headerAuth"}),
    );
    assert_eq!(
        node["params"],
        json!({"methods": ["POST"], "response_mode": "respond_node", "response_data": "first_entry", "auth": {"type": "header", "name": "", "value": ""}})
    );
    assert!(report.warnings.iter().any(|w| w.contains("path `abc`")), "{:?}", report.warnings);
    let node = supported(
        "respondToWebhook",
        1.1,
        json!({"respondWith": "json", "responseBody": "{\"ok\": true}", "options": {"responseCode": 201}}),
    );
    assert_eq!(node["params"], json!({"respond_with": "body", "status": 201, "body": {"ok": true}}));
}

#[test]
fn webhooks_answer_with_an_attachment() {
    let params =
        json!({"responseMode": "lastNode", "responseData": "firstEntryBinary", "responseBinaryPropertyName": "image"});
    let node = supported("webhook", 1.0, params);
    assert_eq!(
        (&node["params"]["response_data"], &node["params"]["response_field"]),
        (&json!("first_binary"), &json!("image"))
    );
    let node = supported("webhook", 1.0, json!({"responseMode": "lastNode", "responseData": "firstEntryBinary"}));
    assert_eq!(node["params"].get("response_field"), None, "`data` is the default");
    let set = json!({"respondWith": "binary", "responseDataSource": "set", "inputFieldName": "pdf"});
    assert_eq!(
        supported("respondToWebhook", 1.1, set)["params"],
        json!({"respond_with": "binary", "status": 200, "field": "pdf"})
    );
    let (node, report) = imported("respondToWebhook", 1.1, json!({"respondWith": "binary"}));
    assert_eq!(node["params"], json!({"respond_with": "binary", "status": 200}));
    assert!(report.warnings.iter().any(|w| w.contains("attachment `data`")), "{report:?}");
}

#[test]
fn the_smaller_nodes_map() {
    assert_eq!(
        supported("wait", 1.1, json!({"amount": 2, "unit": "minutes"}))["params"],
        json!({"duration_ms": 120000})
    );
    assert_eq!(supported("wait", 1.0, json!({}))["params"], json!({"duration_ms": 3600000}));
    assert_eq!(
        supported("limit", 1.0, json!({"keep": "lastItems"}))["params"],
        json!({"max_items": 1, "keep": "last"})
    );
    assert_eq!(
        supported("sort", 1.0, json!({"sortFieldsUi": {"sortField": [{"fieldName": "at", "order": "descending"}]}}))["params"],
        json!({"fields": [{"field": "at", "order": "desc"}]})
    );
    assert_eq!(
        supported("removeDuplicates", 1.1, json!({"compare": "selectedFields", "fieldsToCompare": "a, b"}))["params"],
        json!({"fields": ["a", "b"]})
    );
    assert_eq!(
        supported(
            "aggregate",
            1.0,
            json!({"fieldsToAggregate": {"fieldToAggregate": [{"fieldToAggregate": "email"}]}})
        )["params"],
        json!({"field": "email"})
    );
    assert_eq!(supported("stopAndError", 1.0, json!({"errorMessage": "bad"}))["params"], json!({"message": "bad"}));
    let node = supported("functionItem", 1.0, json!({"functionCode": "item.a = 1;\nreturn item;"}));
    assert_eq!(node["params"]["mode"], "each_item");
    assert!(node["params"]["code"].as_str().unwrap().contains("item.a = 1;"));
}

#[test]
fn split_out_maps_fields_destinations_and_what_is_included() {
    assert_eq!(
        supported("splitOut", 1.0, json!({"fieldToSplitOut": "data.issues", "options": {}}))["params"],
        json!({"fields": [{"field": "data.issues"}]})
    );
    assert_eq!(
        supported(
            "splitOut",
            1.0,
            json!({"fieldToSplitOut": "['text anchors']", "options": {"destinationFieldName": ""}})
        )["params"],
        json!({"fields": [{"field": "text anchors"}]})
    );
    assert_eq!(
        supported(
            "splitOut",
            1.0,
            json!({"fieldToSplitOut": "name, $json.uri", "include": "selectedOtherFields", "fieldsToInclude": "id",
                   "options": {"destinationFieldName": ",link", "includeBinary": true}})
        )["params"],
        json!({"fields": [{"field": "name"}, {"field": "uri", "destination": "link"}], "include": "selected",
               "include_fields": ["id"], "include_binary": true})
    );
    assert_eq!(
        supported(
            "splitOut",
            1.0,
            json!({"fieldToSplitOut": "crops", "include": "allOtherFields",
                                            "options": {"destinationFieldName": "crop"}})
        )["params"],
        json!({"fields": [{"field": "crops", "destination": "crop"}], "include": "all"})
    );
    let (_, report) = imported("splitOut", 1.0, json!({"fieldToSplitOut": "={{ $json.f }}"}));
    assert_eq!(report.unsupported.len(), 1);
}

#[test]
fn aggregate_maps_renamed_and_several_fields_and_whole_items_under_a_name() {
    assert_eq!(
        supported("aggregate", 1.0, json!({"aggregate": "aggregateAllItemData"}))["params"],
        json!({"destination": "data"})
    );
    assert_eq!(
        supported("aggregate", 1.0, json!({"aggregate": "aggregateAllItemData", "destinationFieldName": "items"}))["params"],
        Value::Null
    );
    assert_eq!(
        supported(
            "aggregate",
            1.0,
            json!({"fieldsToAggregate": {"fieldToAggregate": [
                {"fieldToAggregate": "name", "outputFieldName": "labels", "renameField": true},
                {"fieldToAggregate": "image.file.url"}
            ]}, "options": {"mergeLists": true}})
        )["params"],
        json!({"fields": [{"field": "name", "output": "labels"}, {"field": "image.file.url", "output": "url"}], "merge_lists": true})
    );
    let (_, report) = imported(
        "aggregate",
        1.0,
        json!({"aggregate": "aggregateAllItemData", "options": {"include": "specifiedFields", "fieldsToInclude": "a"}}),
    );
    assert_eq!(report.unsupported.len(), 1);
}

#[test]
fn a_weft_aggregate_of_a_dotted_field_survives_an_export() {
    let weft = json!({"nodes": [
        {"name": "Start", "type": "manual_trigger"},
        {"name": "A", "type": "aggregate", "params": {"field": "customer.email"}}
    ], "connections": [{"from": "Start", "to": "A"}]});
    let back = import_workflow(&export_workflow(&weft).unwrap()).unwrap();
    assert_eq!(back.workflow["nodes"][1]["params"], json!({"field": "customer.email"}));
}

#[test]
fn set_json_output_templates_and_merge_multiplex_map() {
    let node = supported(
        "set",
        3.4,
        json!({"mode": "raw", "jsonOutput": "={\n  \"to\": \"{{ $json.email }}\"\n}", "includeOtherFields": true}),
    );
    assert_eq!(node["params"], json!({"json_output": "{\n  \"to\": \"{{ $json.email }}\"\n}", "keep_only": false}));
    assert_eq!(
        supported("set", 3.3, json!({"mode": "raw", "jsonOutput": "={{ $json.data }}"}))["params"]["json_output"],
        "{{ $json.data }}"
    );
    assert_eq!(
        supported("merge", 2.1, json!({"mode": "combine", "combinationMode": "multiplex", "options": {}}))["params"],
        json!({"mode": "cross_join", "deep": true})
    );
    assert_eq!(
        supported("merge", 3.0, json!({"mode": "combine", "combineBy": "combineAll", "options": {}}))["params"],
        json!({"mode": "cross_join", "deep": true})
    );
}

#[test]
fn an_html_template_becomes_a_set_of_html_alone() {
    assert_eq!(
        supported("html", 1.2, json!({"html": "<p>Hello {{ $json.name }}</p>"}))["params"],
        json!({"assignments": [{"name": "html", "value": "<p>Hello {{ $json.name }}</p>"}], "keep_only": true})
    );
}

#[test]
fn html_extract_content_maps_by_version() {
    // 1.2 (corpus 0679): laid-out text, skip selectors, an `=` key that is a literal.
    assert_eq!(
        supported(
            "html",
            1.2,
            json!({"options": {}, "operation": "extractHtmlContent", "extractionValues": {"values": [
                {"key": "=headlines", "cssSelector": ".titleline", "returnArray": true, "skipSelectors": "span, .ad"},
                {"key": "date", "cssSelector": ".pagetop > font"}
            ]}})
        )["params"],
        json!({"source_field": "data", "extract": [
            {"key": "headlines", "selector": ".titleline", "return": "text", "all": true, "skip": ["span", ".ad"]},
            {"key": "date", "selector": ".pagetop > font", "return": "text"}
        ]})
    );
    // 1 (corpus 1647): raw text; attributes; options given.
    assert_eq!(
        supported(
            "html",
            1.0,
            json!({"options": {"trimValues": true, "cleanUpText": true}, "operation": "extractHtmlContent", "dataPropertyName": "=page", "extractionValues": {"values": [
                {"key": "essay", "attribute": "href", "cssSelector": "table table a", "returnArray": true, "returnValue": "attribute"},
                {"key": "title", "cssSelector": "title"},
                {"key": "body", "cssSelector": "={{ $json.selector }}", "returnValue": "html"}
            ]}})
        )["params"],
        json!({"source_field": "page", "trim": true, "clean_up": true, "extract": [
            {"key": "essay", "selector": "table table a", "return": "attribute", "attribute": "href", "all": true},
            {"key": "title", "selector": "title", "return": "raw_text"},
            {"key": "body", "selector": "{{ $json.selector }}", "return": "html"}
        ]})
    );
    for parameters in [
        json!({"operation": "extractHtmlContent", "sourceData": "binary", "extractionValues": {"values": [{"key": "a", "cssSelector": "a"}]}}),
        json!({"operation": "extractHtmlContent", "dataPropertyName": "={{ $json.f }}", "extractionValues": {"values": [{"key": "a", "cssSelector": "a"}]}}),
        json!({"operation": "extractHtmlContent", "extractionValues": {"values": [{"key": "a", "cssSelector": "a", "returnValue": "htmlOuter"}]}}),
        json!({"operation": "extractHtmlContent"}),
    ] {
        let (_, report) = imported("html", 1.2, parameters);
        assert_eq!(report.unsupported.len(), 1);
    }
}

#[test]
fn legacy_html_extract_trims_unless_told_not_to() {
    // Corpus 1157: a selector given by an expression.
    assert_eq!(
        supported(
            "htmlExtract",
            1.0,
            json!({"options": {}, "extractionValues": {"values": [{"key": "price", "cssSelector": "={{$json[\"selector\"]}}"}]}})
        )["params"],
        json!({"source_field": "data", "trim": true, "extract": [{"key": "price", "selector": "{{$json[\"selector\"]}}", "return": "raw_text"}]})
    );
    let node = supported(
        "htmlExtract",
        1.0,
        json!({"options": {"trimValues": false}, "extractionValues": {"values": [{"key": "p", "cssSelector": "p"}]}}),
    );
    assert_eq!(node["params"].get("trim"), None);
}

#[test]
fn html_tables_map_their_options() {
    // No params at all: n8n's defaults are Weft's.
    assert_eq!(supported("html", 1.0, json!({"options": {}, "operation": "convertToHtmlTable"})).get("params"), None);
    assert_eq!(
        supported(
            "html",
            1.2,
            json!({"operation": "convertToHtmlTable", "options": {"capitalize": true, "customStyling": true, "caption": "=Orders {{ $now }}", "tableAttributes": "class=\"t\"", "rowAttributes": "", "cellAttributes": "style=\"padding:4px\""}})
        )["params"],
        json!({"capitalize_headers": true, "default_style": false, "caption": "Orders {{ $now }}", "table_attributes": "class=\"t\"", "cell_attributes": "style=\"padding:4px\""})
    );
}

#[test]
fn markdown_maps_both_modes_and_their_options() {
    // Corpus 1551: the default mode, HTML to Markdown, into `data`.
    assert_eq!(
        supported("markdown", 1.0, json!({"html": "={{ $json.body.content }}", "options": {}}))["params"],
        json!({"mode": "to_markdown", "value": "{{ $json.body.content }}", "field": "data"})
    );
    // Corpus 1386: Markdown to HTML with an option at its default.
    assert_eq!(
        supported(
            "markdown",
            1.0,
            json!({"mode": "markdownToHtml", "options": {"simpleLineBreaks": false, "tables": true, "noHeaderId": true}, "markdown": "={{ $json.response }}", "destinationKey": "response"})
        )["params"],
        json!({"mode": "to_html", "value": "{{ $json.response }}", "field": "response", "tables": true, "heading_ids": false})
    );
    assert_eq!(
        supported(
            "markdown",
            1.0,
            json!({"html": "<p>x</p>", "destinationKey": "md.text", "options": {"bulletMarker": "-", "codeBlockStyle": "indented", "ignore": "nav, footer", "strongDelimiter": "", "keepDataImages": true}})
        )["params"],
        json!({"mode": "to_markdown", "value": "<p>x</p>", "field": "md.text", "bullet": "-", "code_blocks": "indented", "ignore": ["nav", "footer"], "keep_data_images": true})
    );
    let (_, report) = imported("markdown", 1.0, json!({"html": "x", "options": {"useLinkReferenceDefinitions": true}}));
    assert!(
        report.warnings.iter().any(|warning| warning.contains("useLinkReferenceDefinitions")),
        "{:?}",
        report.warnings
    );
    let (_, report) = imported("markdown", 1.0, json!({"html": "x", "destinationKey": "={{ $json.key }}"}));
    assert_eq!(report.unsupported.len(), 1);
}

#[test]
fn xml_maps_both_modes_with_n8n_defaults() {
    // Corpus 0153: both modes, options left at their defaults.
    assert_eq!(supported("xml", 1.0, json!({"options": {}}))["params"], json!({"mode": "to_json", "field": "data"}));
    assert_eq!(
        supported("xml", 1.0, json!({"mode": "jsonToxml", "options": {}}))["params"],
        json!({"mode": "to_xml", "field": "data"})
    );
    assert_eq!(
        supported(
            "xml",
            1.0,
            json!({"dataPropertyName": "body", "options": {"mergeAttrs": false, "explicitArray": true, "explicitRoot": true, "attrkey": "@", "normalizeTags": true, "trim": true}})
        )["params"],
        json!({"mode": "to_json", "field": "body", "merge_attributes": false, "explicit_array": true, "attribute_key": "@", "lowercase_tags": true, "trim": true})
    );
    assert_eq!(
        supported(
            "xml",
            1.0,
            json!({"mode": "jsonToxml", "dataPropertyName": "xml", "options": {"rootName": "doc", "headless": true, "cdata": true, "charkey": "#", "allowSurrogateChars": true}})
        )["params"],
        json!({"mode": "to_xml", "field": "xml", "root_name": "doc", "headless": true, "cdata": true, "text_key": "#"})
    );
}

#[test]
fn weft_document_nodes_export_to_the_n8n_versions_that_express_them() {
    let definition = json!({"nodes": [
        {"name": "Start", "type": "manual_trigger"},
        {"name": "Raw", "type": "html_extract", "params": {"source_field": "data", "extract": [{"key": "t", "selector": "h1", "return": "raw_text"}]}},
        {"name": "Laid out", "type": "html_extract", "params": {"source_field": "data", "extract": [{"key": "t", "selector": "h1", "return": "text"}]}},
        {"name": "Table", "type": "html_table", "params": {"caption": "{{ $json.c }}"}},
        {"name": "Md", "type": "markdown", "params": {"mode": "to_html", "value": "{{ $json.md }}", "field": "data", "line_breaks": true}},
        {"name": "Xml", "type": "xml", "params": {"mode": "to_xml", "field": "data", "root_name": "doc"}}
    ], "connections": []});
    let export = export_workflow(&definition).unwrap();
    let node =
        |name: &str| export["nodes"].as_array().unwrap().iter().find(|node| node["name"] == name).unwrap().clone();
    assert_eq!(
        (node("Raw")["type"].clone(), node("Raw")["typeVersion"].clone()),
        (json!("n8n-nodes-base.html"), json!(1.1))
    );
    assert_eq!(node("Laid out")["typeVersion"], json!(1.2));
    assert_eq!(
        node("Table")["parameters"],
        json!({"operation": "convertToHtmlTable", "options": {"caption": "={{ $json.c }}"}})
    );
    assert_eq!(
        node("Md")["parameters"],
        json!({"mode": "markdownToHtml", "markdown": "={{ $json.md }}", "destinationKey": "data", "options": {"simpleLineBreaks": true}})
    );
    assert_eq!(
        node("Xml")["parameters"],
        json!({"mode": "jsonToxml", "dataPropertyName": "data", "options": {"rootName": "doc"}})
    );
    let again = import_workflow(&export).unwrap();
    let shapes = |nodes: &Value| -> Vec<(Value, Value)> {
        nodes.as_array().unwrap().iter().map(|node| (node["type"].clone(), node["params"].clone())).collect()
    };
    assert_eq!(shapes(&again.workflow["nodes"]), shapes(&definition["nodes"]));
}

#[test]
fn rename_keys_maps_its_pairs_and_skips_empty_ones() {
    assert_eq!(
        supported(
            "renameKeys",
            1.0,
            json!({"keys": {"key": [
            {"currentKey": "data", "newKey": "allCredentials"}, {"currentKey": "", "newKey": "x"}
        ]}, "additionalOptions": {}})
        )["params"],
        json!({"keys": [{"from": "data", "to": "allCredentials"}]})
    );
    let (_, report) =
        imported("renameKeys", 1.0, json!({"additionalOptions": {"regexReplacement": {"replacements": []}}}));
    assert_eq!(report.unsupported.len(), 1);
}

#[test]
fn crypto_maps_hash_hmac_and_generate() {
    assert_eq!(
        supported(
            "crypto",
            1.0,
            json!({"type": "SHA256", "value": "={{$json[\"query\"][\"crc_token\"]}}", "action": "hmac", "secret": "API KEY SECRET", "encoding": "base64"})
        )["params"],
        json!({"action": "hmac", "algorithm": "sha256", "value": "{{$json[\"query\"][\"crc_token\"]}}", "secret": "API KEY SECRET", "encoding": "base64", "field": "data"})
    );
    assert_eq!(
        supported("crypto", 1.0, json!({}))["params"],
        json!({"action": "hash", "algorithm": "md5", "value": "", "encoding": "hex", "field": "data"})
    );
    assert_eq!(
        supported("crypto", 1.0, json!({"action": "generate", "dataPropertyName": "uuid"}))["params"],
        json!({"action": "generate", "encoding": "uuid", "field": "uuid"})
    );
    assert_eq!(
        supported("crypto", 1.0, json!({"action": "generate", "encodingType": "hex", "stringLength": 10}))["params"],
        json!({"action": "generate", "encoding": "hex", "length": 10, "field": "data"})
    );
    for parameters in [
        json!({"type": "SHA3-256"}),
        json!({"binaryData": true}),
        json!({"action": "sign"}),
        json!({"action": "generate", "encodingType": "ascii"}),
    ] {
        let (_, report) = imported("crypto", 1.0, parameters);
        assert_eq!(report.unsupported.len(), 1);
    }
}

#[test]
fn date_time_v2_operations_map_onto_date_time() {
    assert_eq!(
        supported(
            "dateTime",
            2.0,
            json!({"options": {}, "duration": 5, "timeUnit": "minutes", "magnitude": "={{ $now.toUTC() }}", "operation": "subtractFromDate", "outputFieldName": "queryDate"})
        )["params"],
        json!({"operation": "subtract", "date": "{{ $now.toUTC() }}", "unit": "minutes", "amount": 5, "field": "queryDate"})
    );
    assert_eq!(
        supported("dateTime", 2.0, json!({"options": {"timezone": "Europe/Paris"}}))["params"],
        json!({"operation": "current_date", "include_time": true, "timezone": "Europe/Paris"})
    );
    assert_eq!(
        supported(
            "dateTime",
            2.0,
            json!({"operation": "formatDate", "date": "={{ $json.at }}", "format": "yyyy-MM-dd", "options": {"includeInputFields": true}})
        )["params"],
        json!({"operation": "format", "date": "{{ $json.at }}", "format": "yyyy-MM-dd", "include_input_fields": true})
    );
    assert_eq!(
        supported(
            "dateTime",
            2.0,
            json!({"operation": "roundDate", "date": "2026-12-05", "mode": "roundUp", "to": "week"})
        )["params"],
        json!({"operation": "round", "date": "2026-12-05", "unit": "weeks", "direction": "up"})
    );
    assert_eq!(
        supported(
            "dateTime",
            2.0,
            json!({"operation": "getTimeBetweenDates", "startDate": "a", "endDate": "b", "units": ["day", "hour"], "options": {"isoString": true}})
        )["params"],
        json!({"operation": "between", "date": "a", "end_date": "b", "units": ["days", "hours"], "iso_duration": true})
    );
    assert_eq!(
        supported("dateTime", 2.0, json!({"operation": "extractDate", "date": "x", "part": "week"}))["params"],
        json!({"operation": "extract", "date": "x", "unit": "weeks"})
    );
    for (version, parameters) in
        [(1.0, json!({})), (2.0, json!({"operation": "formatDate", "options": {"fromFormat": "yyyyMMdd"}}))]
    {
        let (_, report) = imported("dateTime", version, parameters);
        assert_eq!(report.unsupported.len(), 1);
    }
}

#[test]
fn summarize_maps_its_aggregations_separators_and_groups() {
    assert_eq!(
        supported(
            "summarize",
            1.0,
            json!({"options": {"skipEmptySplitFields": true}, "fieldsToSplitBy": "country, $json.city", "fieldsToSummarize": {"values": [
                {"field": "text", "separateBy": " ", "aggregation": "concatenate"},
                {"field": "tag", "separateBy": "other", "customSeparator": " | ", "aggregation": "concatenate", "includeEmpty": true},
                {"field": "id", "aggregation": "countUnique"},
                {"field": "amount", "aggregation": "sum"},
                {"field": ""}
            ]}})
        )["params"],
        json!({"fields": [
            {"field": "text", "aggregation": "concatenate", "separator": " "},
            {"field": "tag", "aggregation": "concatenate", "separator": " | ", "include_empty": true},
            {"field": "id", "aggregation": "count_unique"},
            {"field": "amount", "aggregation": "sum"}
        ], "split_by": ["country", "city"], "skip_empty_groups": true})
    );
    assert_eq!(
        supported("summarize", 1.1, json!({"fieldsToSummarize": {"values": [{"field": "id"}]}}))["params"],
        json!({"fields": [{"field": "id", "aggregation": "count"}]})
    );
    let (_, report) = imported(
        "summarize",
        1.1,
        json!({"options": {"outputFormat": "singleItem"}, "fieldsToSummarize": {"values": [{"field": "id"}]}}),
    );
    assert_eq!(report.unsupported.len(), 1);
}

#[test]
fn compare_datasets_maps_its_pairs_resolution_and_options_by_version() {
    let node = supported(
        "compareDatasets",
        2.3,
        json!({"options": {"skipFields": "title, artists,", "multipleMatches": "all"}, "mergeByFields": {"values": [{"field1": "track.id", "field2": "id"}]}}),
    );
    assert_eq!(
        node["params"],
        json!({"fields": [{"a": "track.id", "b": "id"}], "when_different": "include_both", "skip_fields": ["title", "artists"], "all_matches": true})
    );
    let node =
        supported("compareDatasets", 1.0, json!({"mergeByFields": {"values": [{"field1": "id", "field2": "id"}]}}));
    assert_eq!(node["params"]["when_different"], json!("prefer_b"));
    for refused in [
        json!({"resolve": "mix", "mergeByFields": {"values": [{"field1": "id", "field2": "id"}]}}),
        json!({"options": {"fuzzyCompare": true}, "mergeByFields": {"values": [{"field1": "id", "field2": "id"}]}}),
        json!({"mergeByFields": {"values": [{"field1": "id", "field2": ""}]}}),
    ] {
        assert_eq!(imported("compareDatasets", 2.3, refused).1.unsupported.len(), 1);
    }
}

#[test]
fn http_request_autodetect_reads_by_content_type_and_json_stays_json() {
    let autodetect = supported("httpRequest", 4.2, json!({"url": "https://a.example"}));
    assert_eq!(autodetect["params"]["response"], "auto", "n8n's default");
    let json_only =
        json!({"url": "https://a.example", "options": {"response": {"response": {"responseFormat": "json"}}}});
    assert_eq!(supported("httpRequest", 4.2, json_only)["params"].get("response"), None, "Weft's default");
    assert_eq!(supported("httpRequest", 1.0, json!({"url": "https://a.example"}))["params"].get("response"), None);

    let native = json!({"nodes": [{"name": "Start", "type": "manual_trigger"},
        {"name": "Get", "type": "http_request", "params": {"url": "https://a.example"}}], "connections": []});
    let exported = export_workflow(&native).unwrap();
    assert_eq!(exported["nodes"][1]["parameters"]["options"]["response"]["response"]["responseFormat"], "json");
}

#[test]
fn remove_duplicates_seen_in_previous_executions_keeps_a_history_across_runs() {
    // The corpus's shapes (0663, 0907): a template of two expressions, and one expression.
    let node = supported(
        "removeDuplicates",
        2.0,
        json!({"operation": "removeItemsSeenInPreviousExecutions", "dedupeValue": "={{ $json.id }}:{{ $json.at }}", "options": {}}),
    );
    assert_eq!(node["params"], json!({"across_runs": {"value": "{{ $json.id }}:{{ $json.at }}"}}));
    let node = supported(
        "removeDuplicates",
        2.0,
        json!({"operation": "removeItemsSeenInPreviousExecutions", "dedupeValue": "={{ $json.key }}",
               "options": {"scope": "workflow", "historySize": 500}}),
    );
    assert_eq!(
        node["params"],
        json!({"across_runs": {"value": "{{ $json.key }}", "history": "workflow", "keep": 500}})
    );
    let (node, report) = imported(
        "removeDuplicates",
        2.0,
        json!({"operation": "removeItemsSeenInPreviousExecutions", "logic": "removeItemsUpToStoredDate"}),
    );
    assert_eq!(node["type"], "n8n_unsupported");
    assert!(report.unsupported[0].reason.as_deref().unwrap().contains("removeItemsUpToStoredDate"));
}

/// n8n nodes by name, in a row, each connected to the next by `main` output 0 unless
/// `connections` (n8n's shape) says otherwise.
fn n8n_graph(nodes: &[(&str, &str, Value)], connections: Value) -> Value {
    let nodes: Vec<Value> = nodes
        .iter()
        .enumerate()
        .map(|(index, (name, n8n_type, parameters))| {
            json!({"name": name, "type": format!("n8n-nodes-base.{n8n_type}"), "typeVersion": 1,
                "position": [index as i64 * 200, 0], "parameters": parameters})
        })
        .collect();
    json!({"name": "Graph", "nodes": nodes, "connections": connections})
}

fn to(node: &str) -> Value {
    json!([{"node": node, "type": "main", "index": 0}])
}

/// Ask, check, wait, ask again: n8n's way of polling a job.
fn polling() -> Value {
    let done = json!({"conditions": {"string": [{"value1": "={{ $json.state }}", "value2": "done"}]}});
    n8n_graph(
        &[
            ("Start", "manualTrigger", json!({})),
            ("Submit", "noOp", json!({})),
            ("Ask", "noOp", json!({})),
            ("Done?", "if", done),
            ("Pause", "wait", json!({"amount": 5, "unit": "seconds"})),
            ("Use", "noOp", json!({})),
        ],
        json!({
            "Start": {"main": [to("Submit")]},
            "Submit": {"main": [to("Ask")]},
            "Ask": {"main": [to("Done?")]},
            "Done?": {"main": [to("Use"), to("Pause")]},
            "Pause": {"main": [to("Ask")]},
        }),
    )
}

#[test]
fn a_cycle_runs_as_a_repeat_loop_in_front_of_the_node_where_it_is_entered() {
    let imported = import_workflow(&polling()).unwrap();
    assert_eq!(problems(&imported.workflow), Vec::<String>::new());
    let repeat = imported.workflow["nodes"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(repeat["name"], "Ask (repeat)");
    assert_eq!(repeat["type"], "loop");
    assert_eq!(repeat["params"], json!({"mode": "repeat"}));
    assert_eq!(repeat["position"], json!([300.0, 0.0]));
    let connections = &imported.workflow["connections"];
    let into_ask: Vec<&Value> = connections.as_array().unwrap().iter().filter(|c| c["to"] == "Ask").collect();
    assert_eq!(into_ask, [&json!({"from": "Ask (repeat)", "output": 1, "to": "Ask", "input": 0})]);
    let into_repeat: Vec<&str> = connections
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["to"] == "Ask (repeat)")
        .map(|c| c["from"].as_str().unwrap())
        .collect();
    assert_eq!(into_repeat, ["Submit", "Pause"]);
    assert!(
        imported.report.warnings.iter().any(|w| w.contains("`repeat` loop `Ask (repeat)`")),
        "{:?}",
        imported.report
    );

    // The export takes the loop out and closes the cycle again, as n8n had it.
    let exported = export_workflow(&imported.workflow).unwrap();
    assert!(exported["nodes"].as_array().unwrap().iter().all(|node| node["name"] != "Ask (repeat)"));
    assert_eq!(exported["connections"]["Pause"]["main"], json!([to("Ask")]));
    assert_eq!(exported["connections"]["Submit"]["main"], json!([to("Ask")]));
    assert_eq!(import_workflow(&exported).unwrap().workflow["connections"], imported.workflow["connections"]);
}

#[test]
fn a_cycle_after_a_cycle_gets_a_loop_of_its_own_inside_the_first() {
    let mut n8n = polling();
    let nodes = n8n["nodes"].as_array_mut().unwrap();
    nodes.push(json!({"name": "Ask again", "type": "n8n-nodes-base.noOp", "typeVersion": 1, "position": [1200, 0], "parameters": {}}));
    n8n["connections"]["Use"] = json!({"main": [to("Ask again")]});
    n8n["connections"]["Ask again"] = json!({"main": [to("Ask again")]});
    let imported = import_workflow(&n8n).unwrap();
    let names: Vec<&str> =
        imported.workflow["nodes"].as_array().unwrap().iter().map(|node| node["name"].as_str().unwrap()).collect();
    assert_eq!(names[names.len() - 2..], ["Ask (repeat)", "Ask again (repeat)"]);
    assert_eq!(problems(&imported.workflow), Vec::<String>::new());
    let exported = export_workflow(&imported.workflow).unwrap();
    assert_eq!(exported["connections"]["Ask again"]["main"], json!([to("Ask again")]));
    assert_eq!(import_workflow(&exported).unwrap().workflow, imported.workflow);
}

#[test]
fn a_cycle_entered_at_two_nodes_stays_and_validation_names_it() {
    let mut n8n = polling();
    n8n["connections"]["Start"] = json!({"main": [[{"node": "Submit", "type": "main", "index": 0}, {"node": "Pause", "type": "main", "index": 0}]]});
    let imported = import_workflow(&n8n).unwrap();
    assert!(imported.workflow["nodes"].as_array().unwrap().iter().all(|node| node["type"] != "loop"));
    assert!(
        imported.report.warnings.iter().any(|w| w.contains("entered at more than one node")),
        "{:?}",
        imported.report
    );
    let found = problems(&imported.workflow);
    assert!(found.iter().any(|problem| problem.contains("does not pass through a loop node")), "{found:?}");
}

#[test]
fn a_cycle_whose_followers_are_also_fed_from_before_it_stays() {
    let mut n8n = polling();
    n8n["connections"]["Submit"] =
        json!({"main": [[{"node": "Ask", "type": "main", "index": 0}, {"node": "Use", "type": "main", "index": 0}]]});
    let imported = import_workflow(&n8n).unwrap();
    assert!(imported.workflow["nodes"].as_array().unwrap().iter().all(|node| node["type"] != "loop"));
    assert!(imported.report.warnings.iter().any(|w| w.contains("also fed from before it")), "{:?}", imported.report);
}

#[test]
fn references_to_a_nodes_n8n_parameters_become_a_copy_of_them() {
    let account = json!({"fields": {"values": [{"name": "id", "stringValue": "acc-1"}]}, "options": {}});
    let url = r#"=https://api.example/{{ $('Account').params["fields"]["values"][0]["stringValue"] }}/x"#;
    let n8n = n8n_graph(
        &[
            ("Start", "manualTrigger", json!({})),
            ("Account", "set", account),
            ("Call", "httpRequest", json!({"url": url})),
            ("Elsewhere", "someSaaS", json!({"note": "={{ $('Account').params.options }}"})),
        ],
        json!({"Start": {"main": [to("Account")]}, "Account": {"main": [to("Call")]}, "Call": {"main": [to("Elsewhere")]}}),
    );
    let imported = import_workflow(&n8n).unwrap();
    let call = imported.workflow["nodes"][2]["params"]["url"].as_str().unwrap().to_string();
    assert!(
        call.starts_with(
            r#"https://api.example/{{ ({ "fields": { "values": [{ "name": "id", "stringValue": "acc-1" }] }"#
        ),
        "{call}"
    );
    assert!(call.ends_with(r#"["fields"]["values"][0]["stringValue"] }}/x"#), "{call}");
    assert!(imported.report.warnings.iter().any(|w| w.starts_with("node `Call`: `$('Account').params` became a copy")));
    // A placeholder keeps its n8n parameters as they were, for the export.
    assert_eq!(imported.workflow["nodes"][3]["params"]["parameters"]["note"], "={{ $('Account').params.options }}");
    let exported = export_workflow(&imported.workflow).unwrap();
    assert_eq!(import_workflow(&exported).unwrap().workflow, imported.workflow);
}

#[test]
fn graphql_maps_by_version_with_variables_parsed_as_n8n_parses_them() {
    let node =
        supported("graphql", 1.0, json!({"endpoint": "https://api.example/graphql", "query": "{ launches { id } }"}));
    assert_eq!(
        node["params"],
        json!({"endpoint": "https://api.example/graphql", "method": "POST", "query": "{ launches { id } }", "format": "graphql"})
    );
    let literal = json!({"endpoint": "https://api.example/graphql", "requestFormat": "json", "query": "query ($n: Int) { a(n: $n) }",
        "variables": "{\"n\": 3}", "operationName": "Count", "responseFormat": "string",
        "headerParametersUi": {"parameter": [{"name": "X-Key", "value": "={{ $json.key }}"}]}});
    let node = supported("graphql", 1.0, literal)["params"].clone();
    assert_eq!(node["variables"], json!({"n": 3}));
    assert_eq!((&node["operation_name"], &node["response"]), (&json!("Count"), &json!("text")));
    assert_eq!(node["headers"], json!({"X-Key": "{{ $json.key }}"}));
    // A template: n8n fills it in, then parses the JSON text; so does the Weft expression.
    let template = json!({"endpoint": "https://api.example/graphql", "query": "mutation ($a: String) { b(a: $a) }",
        "variables": "={\"a\": \"{{ $json.name }}\"}"});
    let variables = supported("graphql", 1.1, template)["params"]["variables"].clone();
    assert_eq!(
        variables,
        json!(format!("{{{{ {}(`{{\"a\": \"${{$json.name}}\"}}`) }}}}", nodes::GRAPHQL_VARIABLES_PARSE))
    );
    let get = supported(
        "graphql",
        1.0,
        json!({"endpoint": "https://api.example/graphql", "requestMethod": "GET", "query": "{ a }"}),
    );
    assert_eq!(get["params"].get("format"), None, "a GET has no body");
    let (_, report) = imported(
        "graphql",
        1.0,
        json!({"endpoint": "https://a.example", "query": "{ a }", "variables": "not json", "requestFormat": "json"}),
    );
    assert!(report.unsupported[0].reason.as_deref().is_some_and(|why| why.contains("not a JSON object")), "{report:?}");
}
