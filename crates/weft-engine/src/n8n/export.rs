//! Weft definitions → n8n exports. Each Weft type is written as the n8n type and typeVersion
//! whose parameters express it (the current versions: set 3.4, if 2.2, httpRequest 4.2, …), so
//! that importing the export gives back the same definition.

use serde_json::{Map, Value, json};

use super::STICKY_NOTE;
use super::cycles::unwrap_repeats;
use super::expr::{condition_to_n8n, js_of, single_expression, string_to_n8n, to_n8n};
use super::nodes::GRAPHQL_VARIABLES_PARSE;
use crate::catalog::NodeKind;
use crate::definition::{DefinitionProblem, ExecutionOrder, NodeDef, OnError, parse};

/// Converts a Weft definition (optionally with the workflow's `name`, `description` and
/// `tags` beside it, as the API's export body has them) into an n8n export. Fails only when the
/// definition does not parse.
pub fn export_workflow(weft: &Value) -> Result<Value, Vec<DefinitionProblem>> {
    let mut definition = weft.clone();
    let mut about = Map::new();
    if let Value::Object(members) = &mut definition {
        for key in ["name", "description", "tags"] {
            if let Some(value) = members.remove(key) {
                about.insert(key.to_string(), value);
            }
        }
    }
    let mut definition = parse(&definition)?;
    unwrap_repeats(&mut definition);
    let mut nodes = Vec::new();
    let mut timezone = None;
    for (index, node) in definition.nodes.iter().enumerate() {
        // A date_time node's zone is the workflow's in n8n (but for the current date's own option).
        let zoned = node.node_type == NodeKind::ScheduleTrigger.type_name()
            || (node.node_type == NodeKind::DateTime.type_name()
                && node.params.get("operation") != Some(&json!("current_date")));
        if zoned && let Some(Value::String(zone)) = node.params.get("timezone") {
            timezone.get_or_insert_with(|| zone.clone());
        }
        nodes.push(export_node(node, index));
    }
    if let Some(Value::String(description)) = about.get("description")
        && !description.trim().is_empty()
    {
        let mut name = "Sticky Note".to_string();
        while definition.nodes.iter().any(|node| node.name == name) {
            name.push('_');
        }
        nodes.push(json!({
            "id": node_id(&name), "name": name, "type": STICKY_NOTE, "typeVersion": 1,
            "position": [-480, -240], "parameters": {"content": description, "width": 400, "height": 320}
        }));
    }

    let mut connections = Map::new();
    for connection in &definition.connections {
        let entry = connections.entry(connection.from.clone()).or_insert_with(|| json!({"main": []}));
        let Some(Value::Array(main)) = entry.get_mut("main") else { continue };
        while main.len() <= connection.output {
            main.push(json!([]));
        }
        if let Value::Array(targets) = &mut main[connection.output] {
            targets.push(json!({"node": connection.to, "type": "main", "index": connection.input}));
        }
    }
    for node in &definition.nodes {
        if let Some(Value::Object(stash)) = node.params.get("connections")
            && node.node_type == NodeKind::N8nUnsupported.type_name()
        {
            let entry = connections.entry(node.name.clone()).or_insert_with(|| json!({}));
            for (kind, outputs) in stash {
                entry[kind] = outputs.clone();
            }
        }
    }

    let mut settings = Map::new();
    match definition.settings.execution_order {
        Some(ExecutionOrder::V0) => settings.insert("executionOrder".into(), json!("v0")),
        Some(ExecutionOrder::V1) => settings.insert("executionOrder".into(), json!("v1")),
        None => None,
    };
    if let Some(timeout) = definition.settings.timeout_ms {
        settings.insert("executionTimeout".into(), json!(timeout.div_ceil(1000)));
    }
    if let Some(zone) = timezone {
        settings.insert("timezone".into(), json!(zone));
    }
    let mut export = json!({
        "name": about.get("name").cloned().unwrap_or(json!("Weft workflow")),
        "nodes": nodes,
        "connections": connections,
        "settings": settings,
        "pinData": definition.settings.pin_data,
        "active": false
    });
    if let Some(Value::Array(tags)) = about.get("tags") {
        export["tags"] = tags.iter().filter_map(Value::as_str).map(|tag| json!({"name": tag})).collect();
    }
    Ok(export)
}

/// A stable uuid-shaped id for a node, from its name: n8n wants one, and the same definition
/// should export the same way every time.
fn node_id(name: &str) -> String {
    let hash =
        |seed: u64| name.bytes().fold(seed, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3));
    let hex = format!("{:016x}{:016x}", hash(0xcbf2_9ce4_8422_2325), hash(0x8422_2325_cbf2_9ce4));
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

fn number(value: f64) -> Value {
    if value.fract() == 0.0 && value.abs() < 9e15 { json!(value as i64) } else { json!(value) }
}

fn export_node(node: &NodeDef, index: usize) -> Value {
    let (n8n_type, version, parameters) = export_params(node);
    let position = match node.position {
        Some([x, y]) => json!([number(x), number(y)]),
        None => json!([index as i64 * 220, 0]),
    };
    let mut out = json!({
        "id": node_id(&node.name),
        "name": node.name,
        "type": n8n_type,
        "typeVersion": version,
        "position": position,
        "parameters": parameters
    });
    if node.node_type == NodeKind::WebhookTrigger.type_name() {
        out["webhookId"] = json!(node_id(&node.name));
    }
    if node.disabled {
        out["disabled"] = json!(true);
    }
    if node.execute_once {
        out["executeOnce"] = json!(true);
    }
    if node.always_output {
        out["alwaysOutputData"] = json!(true);
    }
    if let Some(notes) = &node.notes {
        out["notes"] = json!(notes);
    }
    if !node.credentials.is_empty() {
        let credentials: Map<String, Value> = node
            .credentials
            .iter()
            .map(|(slot, credential)| {
                let mut reference = Map::new();
                if let Some(id) = &credential.n8n_id {
                    reference.insert("id".into(), json!(id));
                }
                if let Some(name) = &credential.name {
                    reference.insert("name".into(), json!(name));
                }
                (slot.clone(), Value::Object(reference))
            })
            .collect();
        out["credentials"] = Value::Object(credentials);
    }
    match node.on_error {
        OnError::Stop => {}
        OnError::Continue => out["onError"] = json!("continueRegularOutput"),
        OnError::ErrorOutput => out["onError"] = json!("continueErrorOutput"),
    }
    if let Some(retry) = &node.retry {
        out["retryOnFail"] = json!(true);
        out["maxTries"] = json!(retry.max_attempts);
        out["waitBetweenTries"] = json!(retry.backoff.initial_ms);
    }
    out
}

fn param<'a>(node: &'a NodeDef, key: &str) -> Option<&'a Value> {
    node.params.get(key)
}

fn conditions_to_n8n(node: &str, conditions: Option<&Value>, combine: Option<&Value>) -> Value {
    let list: Vec<Value> = conditions
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(index, condition)| condition_to_n8n(condition, node_id(&format!("{node}/{index}"))))
        .collect();
    let combinator = if combine == Some(&json!("any")) { "or" } else { "and" };
    json!({
        "options": {"caseSensitive": true, "leftValue": "", "typeValidation": "strict", "version": 2},
        "conditions": list,
        "combinator": combinator
    })
}

/// `{parameters: [{name, value}]}` from a Weft object; list values repeat the name.
fn keypairs(values: Option<&Value>) -> Value {
    let mut pairs = Vec::new();
    for (name, value) in values.and_then(Value::as_object).into_iter().flatten() {
        match value {
            Value::Array(values) => pairs.extend(values.iter().map(|v| json!({"name": name, "value": to_n8n(v)}))),
            value => pairs.push(json!({"name": name, "value": to_n8n(value)})),
        }
    }
    json!({"parameters": pairs})
}

fn export_params(node: &NodeDef) -> (String, Value, Value) {
    let base =
        |short: &str, version: Value, parameters: Value| (format!("n8n-nodes-base.{short}"), version, parameters);
    let Some(kind) = NodeKind::from_type_name(&node.node_type) else {
        return (format!("weft.{}", node.node_type), json!(1), Value::Object(node.params.clone()));
    };
    match kind {
        NodeKind::ManualTrigger => base("manualTrigger", json!(1), json!({})),
        NodeKind::NoOp => base("noOp", json!(1), json!({})),
        NodeKind::ScheduleTrigger => {
            let rule = match (param(node, "cron"), param(node, "interval_secs")) {
                (Some(cron), _) => json!({"field": "cronExpression", "expression": cron}),
                (_, Some(seconds)) => json!({"field": "seconds", "secondsInterval": seconds}),
                _ => json!({}),
            };
            base("scheduleTrigger", json!(1.2), json!({"rule": {"interval": [rule]}}))
        }
        NodeKind::WebhookTrigger => {
            let methods = param(node, "methods").cloned().unwrap_or(json!(["POST"]));
            let mut parameters = json!({"path": node_id(&node.name), "options": {}});
            match methods.as_array().map(Vec::as_slice) {
                Some([single]) => parameters["httpMethod"] = single.clone(),
                _ => {
                    parameters["multipleMethods"] = json!(true);
                    parameters["httpMethod"] = methods.clone();
                }
            }
            let mode = match param(node, "response_mode").and_then(Value::as_str) {
                Some("last_node") => "lastNode",
                Some("respond_node") => "responseNode",
                _ => "onReceived",
            };
            parameters["responseMode"] = json!(mode);
            let data = match param(node, "response_data").and_then(Value::as_str) {
                Some("all_entries") => "allEntries",
                Some("no_data") => "noData",
                Some("first_binary") => {
                    parameters["responseBinaryPropertyName"] =
                        param(node, "response_field").cloned().unwrap_or(json!("data"));
                    "firstEntryBinary"
                }
                _ => "firstEntryJson",
            };
            parameters["responseData"] = json!(data);
            let auth = match param(node, "auth").and_then(|auth| auth.get("type")).and_then(Value::as_str) {
                Some("basic") => "basicAuth",
                Some("header") => "headerAuth",
                _ => "none",
            };
            parameters["authentication"] = json!(auth);
            base("webhook", json!(2), parameters)
        }
        NodeKind::RespondToWebhook => {
            let mut options = Map::new();
            options.insert("responseCode".into(), to_n8n(param(node, "status").unwrap_or(&json!(200))));
            if let Some(Value::Object(headers)) = param(node, "headers") {
                let entries: Vec<Value> =
                    headers.iter().map(|(name, value)| json!({"name": name, "value": to_n8n(value)})).collect();
                options.insert("responseHeaders".into(), json!({"entries": entries}));
            }
            let mut parameters = json!({});
            let respond_with = match (param(node, "respond_with").and_then(Value::as_str), param(node, "body")) {
                (Some("all_items"), _) => "allIncomingItems",
                (Some("no_data"), _) => "noData",
                (Some("binary"), _) => {
                    parameters["responseDataSource"] = json!("set");
                    parameters["inputFieldName"] = param(node, "field").cloned().unwrap_or(json!("data"));
                    "binary"
                }
                (Some("body"), Some(Value::String(text))) => {
                    parameters["responseBody"] = json!(string_to_n8n(text));
                    "text"
                }
                (Some("body"), Some(body)) => {
                    parameters["responseBody"] = json!(body.to_string());
                    "json"
                }
                _ => "firstIncomingItem",
            };
            parameters["respondWith"] = json!(respond_with);
            parameters["options"] = Value::Object(options);
            base("respondToWebhook", json!(1.1), parameters)
        }
        NodeKind::Set => {
            let assignments: Vec<Value> = param(node, "assignments")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
                .map(|(index, assignment)| {
                    let value = assignment.get("value").cloned().unwrap_or(Value::Null);
                    let kind = match value {
                        Value::Number(_) => "number",
                        Value::Bool(_) => "boolean",
                        Value::Array(_) => "array",
                        Value::Object(_) => "object",
                        _ => "string",
                    };
                    json!({
                        "id": node_id(&format!("{}/{index}", node.name)),
                        "name": assignment.get("name").cloned().unwrap_or(json!("")),
                        "value": to_n8n(&value),
                        "type": kind
                    })
                })
                .collect();
            let mut parameters = match param(node, "json_output") {
                Some(Value::String(template)) => json!({"mode": "raw", "jsonOutput": string_to_n8n(template)}),
                _ => json!({"mode": "manual", "assignments": {"assignments": assignments}}),
            };
            let names = |fields: &Value| {
                let names: Vec<&str> = fields.as_array().into_iter().flatten().filter_map(Value::as_str).collect();
                json!(names.join(","))
            };
            let keep_only = param(node, "keep_only") == Some(&json!(true));
            parameters["includeOtherFields"] = json!(!keep_only);
            match param(node, "keep") {
                Some(Value::String(keep)) => parameters["includeOtherFields"] = json!(keep == "all"),
                Some(Value::Object(keep)) => {
                    if let Some(fields) = keep.get("only") {
                        parameters["include"] = json!("selected");
                        parameters["includeFields"] = names(fields);
                    } else if let Some(fields) = keep.get("except") {
                        parameters["include"] = json!("except");
                        parameters["excludeFields"] = names(fields);
                    }
                }
                _ => {}
            }
            parameters["options"] = json!({});
            base("set", json!(3.4), parameters)
        }
        NodeKind::If | NodeKind::Filter => {
            let short = if kind == NodeKind::If { "if" } else { "filter" };
            let conditions = conditions_to_n8n(&node.name, param(node, "conditions"), param(node, "combine"));
            base(short, json!(2.2), json!({"conditions": conditions, "options": {}}))
        }
        NodeKind::Switch => {
            let rules: Vec<Value> = param(node, "rules")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
                .map(|(index, rule)| {
                    let name = format!("{}/rule{index}", node.name);
                    let mut out =
                        json!({"conditions": conditions_to_n8n(&name, rule.get("conditions"), rule.get("combine"))});
                    if let Some(Value::String(key)) = rule.get("name") {
                        out["renameOutput"] = json!(true);
                        out["outputKey"] = json!(key);
                    }
                    out
                })
                .collect();
            let mut options = json!({"fallbackOutput": "extra"});
            if let Some(all) = param(node, "all_matches") {
                options["allMatchingOutputs"] = to_n8n(all);
            }
            base("switch", json!(3.2), json!({"rules": {"values": rules}, "options": options}))
        }
        NodeKind::Merge => export_merge(node),
        NodeKind::Code => {
            let mode = if param(node, "mode") == Some(&json!("each_item")) {
                "runOnceForEachItem"
            } else {
                "runOnceForAllItems"
            };
            base("code", json!(2), json!({"mode": mode, "jsCode": param(node, "code")}))
        }
        NodeKind::HttpRequest => export_http(node),
        NodeKind::Graphql => {
            let text =
                |name: &str, default: &str| param(node, name).and_then(Value::as_str).unwrap_or(default).to_owned();
            let mut parameters = json!({
                "requestMethod": text("method", "POST"),
                "endpoint": to_n8n(param(node, "endpoint").unwrap_or(&json!(""))),
                "query": to_n8n(param(node, "query").unwrap_or(&json!(""))),
                "requestFormat": text("format", "json"),
            });
            match param(node, "variables") {
                Some(Value::String(expression)) => {
                    let body = single_expression(expression).unwrap_or(expression);
                    let unwrapped = body
                        .strip_prefix(GRAPHQL_VARIABLES_PARSE)
                        .and_then(|rest| rest.strip_prefix('('))
                        .and_then(|rest| rest.strip_suffix(')'))
                        .unwrap_or(body);
                    parameters["variables"] = json!(format!("={{{{ {unwrapped} }}}}"));
                }
                Some(variables) if variables.to_string().contains("{{") => {
                    parameters["variables"] = json!(format!("={variables}"));
                }
                Some(variables) => parameters["variables"] = json!(variables.to_string()),
                None => {}
            }
            if let Some(operation) = param(node, "operation_name") {
                parameters["operationName"] = to_n8n(operation);
            }
            if let Some(Value::Object(headers)) = param(node, "headers") {
                let headers: Vec<Value> =
                    headers.iter().map(|(name, value)| json!({"name": name, "value": to_n8n(value)})).collect();
                parameters["headerParametersUi"] = json!({ "parameter": headers });
            }
            if text("response", "json") == "text" {
                parameters["responseFormat"] = json!("string");
            }
            base("graphql", json!(1), parameters)
        }
        NodeKind::Wait => {
            let parameters = match (param(node, "duration_ms"), param(node, "until")) {
                (_, Some(until)) => json!({"resume": "specificTime", "dateTime": to_n8n(until)}),
                (Some(Value::Number(ms)), _) => {
                    json!({"resume": "timeInterval", "amount": number(ms.as_f64().unwrap_or(1.0) / 1000.0), "unit": "seconds"})
                }
                (Some(Value::String(text)), _) => {
                    let amount = single_expression(text)
                        .and_then(|body| body.strip_prefix("Math.round((")?.strip_suffix(") * 1000)"))
                        .map_or_else(
                            || format!("={{{{ {} / 1000 }}}}", js_of(&json!(text))),
                            |inner| format!("={{{{ {inner} }}}}"),
                        );
                    json!({"resume": "timeInterval", "amount": amount, "unit": "seconds"})
                }
                _ => json!({}),
            };
            base("wait", json!(1.1), parameters)
        }
        NodeKind::Loop => {
            let batch = param(node, "batch_size").cloned().unwrap_or(json!(1));
            base("splitInBatches", json!(3), json!({"batchSize": batch, "options": {}}))
        }
        NodeKind::Aggregate => {
            let mut options = Map::new();
            for (param_name, option) in [("keep_missing", "keepMissing"), ("merge_lists", "mergeLists")] {
                if param(node, param_name) == Some(&json!(true)) {
                    options.insert(option.into(), json!(true));
                }
            }
            // A dotted field without `output` keeps its path, which n8n says by renaming to it.
            let field = |field: &Value, output: Option<&Value>| match output
                .or(field.as_str().is_some_and(|name| name.contains('.')).then_some(field))
            {
                Some(output) => json!({"fieldToAggregate": field, "renameField": true, "outputFieldName": output}),
                None => json!({"fieldToAggregate": field}),
            };
            let fields: Vec<Value> = match (param(node, "field"), param(node, "fields")) {
                (Some(single), _) => vec![field(single, None)],
                (None, Some(Value::Array(several))) => several
                    .iter()
                    .map(|entry| field(entry.get("field").unwrap_or(&Value::Null), entry.get("output")))
                    .collect(),
                _ => Vec::new(),
            };
            let parameters = if fields.is_empty() {
                let destination = param(node, "destination").cloned().unwrap_or(json!("items"));
                json!({"aggregate": "aggregateAllItemData", "destinationFieldName": destination, "options": options})
            } else {
                json!({"fieldsToAggregate": {"fieldToAggregate": fields}, "options": options})
            };
            base("aggregate", json!(1), parameters)
        }
        NodeKind::Sort => {
            let fields: Vec<Value> = param(node, "fields")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|field| {
                    let order = if field.get("order") == Some(&json!("desc")) { "descending" } else { "ascending" };
                    json!({"fieldName": field.get("field"), "order": order})
                })
                .collect();
            base("sort", json!(1), json!({"sortFieldsUi": {"sortField": fields}, "options": {}}))
        }
        NodeKind::Limit => {
            let keep = if param(node, "keep") == Some(&json!("last")) { "lastItems" } else { "firstItems" };
            base(
                "limit",
                json!(1),
                json!({"maxItems": to_n8n(param(node, "max_items").unwrap_or(&json!(1))), "keep": keep}),
            )
        }
        NodeKind::RemoveDuplicates => {
            let parameters = match param(node, "fields").and_then(Value::as_array) {
                _ if param(node, "across_runs").is_some() => export_seen_before(node),
                Some(fields) => {
                    let list: Vec<&str> = fields.iter().filter_map(Value::as_str).collect();
                    json!({"compare": "selectedFields", "fieldsToCompare": list.join(","), "options": {}})
                }
                None => json!({"options": {}}),
            };
            base("removeDuplicates", json!(2), parameters)
        }
        NodeKind::RenameKeys => {
            let keys: Vec<Value> = param(node, "keys")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|key| json!({"currentKey": key.get("from"), "newKey": key.get("to")}))
                .collect();
            base("renameKeys", json!(1), json!({"keys": {"key": keys}, "additionalOptions": {}}))
        }
        NodeKind::DateTime => export_date_time(node),
        NodeKind::Crypto => {
            let mut parameters = json!({"action": param(node, "action"), "dataPropertyName": param(node, "field").cloned().unwrap_or(json!("data"))});
            if param(node, "action") == Some(&json!("generate")) {
                parameters["encodingType"] = param(node, "encoding").cloned().unwrap_or(json!("uuid"));
                if let Some(length) = param(node, "length") {
                    parameters["stringLength"] = to_n8n(length);
                }
            } else {
                let algorithm = param(node, "algorithm").and_then(Value::as_str).unwrap_or("md5");
                parameters["type"] = json!(algorithm.to_uppercase());
                parameters["value"] = to_n8n(param(node, "value").unwrap_or(&json!("")));
                parameters["encoding"] = param(node, "encoding").cloned().unwrap_or(json!("hex"));
                if let Some(secret) = param(node, "secret") {
                    parameters["secret"] = to_n8n(secret);
                }
            }
            base("crypto", json!(1), parameters)
        }
        NodeKind::HtmlExtract => export_html_extract(node),
        NodeKind::HtmlTable => export_html_table(node),
        NodeKind::Markdown => export_markdown(node),
        NodeKind::Xml => export_xml(node),
        NodeKind::CompareDatasets => {
            let values: Vec<Value> = param(node, "fields")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|pair| json!({"field1": pair.get("a"), "field2": pair.get("b")}))
                .collect();
            let resolve = match param(node, "when_different").and_then(Value::as_str) {
                Some("prefer_a") => "preferInput1",
                Some("prefer_b") => "preferInput2",
                _ => "includeBoth",
            };
            let mut options = Map::new();
            let skip: Vec<&str> = param(node, "skip_fields")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            if !skip.is_empty() {
                options.insert("skipFields".into(), json!(skip.join(", ")));
            }
            if param(node, "all_matches") == Some(&json!(true)) {
                options.insert("multipleMatches".into(), json!("all"));
            }
            let parameters = json!({"mergeByFields": {"values": values}, "resolve": resolve, "options": options});
            base("compareDatasets", json!(2.3), parameters)
        }
        NodeKind::Summarize => {
            let values: Vec<Value> = param(node, "fields")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|field| {
                    let aggregation = match field.get("aggregation").and_then(Value::as_str) {
                        Some("count_unique") => json!("countUnique"),
                        other => json!(other),
                    };
                    let mut value = json!({"aggregation": aggregation, "field": field.get("field")});
                    if field.get("include_empty") == Some(&json!(true)) {
                        value["includeEmpty"] = json!(true);
                    }
                    match field.get("separator").and_then(Value::as_str) {
                        Some(separator @ ("," | ", " | "\n" | "" | " ")) => value["separateBy"] = json!(separator),
                        Some(separator) => {
                            value["separateBy"] = json!("other");
                            value["customSeparator"] = json!(separator);
                        }
                        None => {}
                    }
                    value
                })
                .collect();
            let split_by: Vec<&str> = param(node, "split_by")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let mut options = Map::new();
            if param(node, "skip_empty_groups") == Some(&json!(true)) {
                options.insert("skipEmptySplitFields".into(), json!(true));
            }
            let parameters = json!({
                "fieldsToSummarize": {"values": values},
                "fieldsToSplitBy": split_by.join(", "),
                "options": options,
            });
            base("summarize", json!(1.1), parameters)
        }
        NodeKind::SplitOut => {
            let fields = param(node, "fields").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
            let text = |key: &str| -> Vec<&str> {
                fields.iter().map(|field| field.get(key).and_then(Value::as_str).unwrap_or_default()).collect()
            };
            let mut options = Map::new();
            let destinations = text("destination");
            if destinations.iter().any(|name| !name.is_empty()) {
                options.insert("destinationFieldName".into(), json!(destinations.join(",")));
            }
            if param(node, "include_binary") == Some(&json!(true)) {
                options.insert("includeBinary".into(), json!(true));
            }
            let mut parameters = json!({"fieldToSplitOut": text("field").join(","), "options": options});
            match param(node, "include").and_then(Value::as_str) {
                Some("all") => parameters["include"] = json!("allOtherFields"),
                Some("selected") => {
                    parameters["include"] = json!("selectedOtherFields");
                    let names: Vec<&str> = param(node, "include_fields")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .collect();
                    parameters["fieldsToInclude"] = json!(names.join(","));
                }
                _ => {}
            }
            base("splitOut", json!(1), parameters)
        }
        NodeKind::StopAndError => base(
            "stopAndError",
            json!(1),
            json!({"errorMessage": to_n8n(param(node, "message").unwrap_or(&json!("")))}),
        ),
        NodeKind::ExecuteWorkflow => {
            let id = to_n8n(param(node, "workflow_id").unwrap_or(&json!("")));
            base(
                "executeWorkflow",
                json!(1.1),
                json!({"source": "database", "workflowId": {"__rl": true, "mode": "id", "value": id}, "options": {}}),
            )
        }
        NodeKind::SendEmail => export_send_email(node),
        NodeKind::N8nUnsupported => (
            param(node, "n8n_type").and_then(Value::as_str).unwrap_or_default().to_string(),
            param(node, "type_version").cloned().unwrap_or(json!(1)),
            param(node, "parameters").cloned().unwrap_or(json!({})),
        ),
        NodeKind::EventTrigger => ("weft.event_trigger".to_string(), json!(1), Value::Object(node.params.clone())),
    }
}

fn export_http(node: &NodeDef) -> (String, Value, Value) {
    let mut parameters = json!({
        "method": to_n8n(param(node, "method").unwrap_or(&json!("GET"))),
        "url": to_n8n(param(node, "url").unwrap_or(&json!("")))
    });
    if let Some(query) = param(node, "query") {
        parameters["sendQuery"] = json!(true);
        parameters["queryParameters"] = keypairs(Some(query));
    }
    if let Some(headers) = param(node, "headers") {
        parameters["sendHeaders"] = json!(true);
        parameters["headerParameters"] = keypairs(Some(headers));
    }
    if let Some(body) = param(node, "body") {
        parameters["sendBody"] = json!(true);
        if let Some(json) = body.get("json") {
            match json {
                Value::Object(_) => parameters["bodyParameters"] = keypairs(Some(json)),
                Value::String(text) if text.contains("{{") => {
                    parameters["specifyBody"] = json!("json");
                    parameters["jsonBody"] = json!(string_to_n8n(text));
                }
                other => {
                    parameters["specifyBody"] = json!("json");
                    parameters["jsonBody"] = json!(other.to_string());
                }
            }
        } else if let Some(form) = body.get("form") {
            parameters["contentType"] = json!("form-urlencoded");
            parameters["bodyParameters"] = keypairs(Some(form));
        } else if let Some(raw) = body.get("raw") {
            parameters["contentType"] = json!("raw");
            parameters["body"] = to_n8n(raw);
            if let Some(kind) = body.get("content_type") {
                parameters["rawContentType"] = to_n8n(kind);
            }
        } else if let Some(attachment) = body.get("binary") {
            parameters["contentType"] = json!("binaryData");
            parameters["inputDataFieldName"] = attachment.clone();
        } else if let Some(parts) = body.get("multipart").and_then(Value::as_array) {
            parameters["contentType"] = json!("multipart-form-data");
            let parts: Vec<Value> = parts
                .iter()
                .map(|part| match part.get("binary") {
                    Some(attachment) => json!({
                        "parameterType": "formBinaryData", "name": part["name"], "inputDataFieldName": attachment
                    }),
                    None => json!({"name": part["name"], "value": to_n8n(&part["value"])}),
                })
                .collect();
            parameters["bodyParameters"] = json!({"parameters": parts});
        }
    }
    let mut response = Map::new();
    // n8n's default is autodetect, Weft's `json`.
    match param(node, "response").and_then(Value::as_str) {
        Some(format @ ("text" | "file")) => {
            response.insert("responseFormat".into(), json!(format));
        }
        Some("auto") => {}
        _ => {
            response.insert("responseFormat".into(), json!("json"));
        }
    }
    if let Some(field) = param(node, "output_field") {
        response.insert("outputPropertyName".into(), field.clone());
    }
    if param(node, "fail_on_non_2xx") == Some(&json!(false)) {
        response.insert("neverError".into(), json!(true));
    }
    if param(node, "output") != Some(&json!("body")) {
        response.insert("fullResponse".into(), json!(true));
    }
    let mut options = Map::new();
    if !response.is_empty() {
        options.insert("response".into(), json!({"response": response}));
    }
    if let Some(timeout) = node.timeout_ms {
        options.insert("timeout".into(), json!(timeout));
    }
    if let Some(pagination) = param(node, "pagination") {
        options.insert("pagination".into(), json!({"pagination": pagination_to_n8n(pagination)}));
    }
    parameters["options"] = Value::Object(options);
    ("n8n-nodes-base.httpRequest".to_string(), json!(4.2), parameters)
}

/// An `http_request`'s pagination as n8n 4.x's `options.pagination.pagination`.
fn pagination_to_n8n(pagination: &Value) -> Value {
    let mut out = Map::new();
    if pagination["mode"] == "next_url" {
        out.insert("paginationMode".into(), json!("responseContainsNextURL"));
        out.insert("nextURL".into(), to_n8n(&pagination["next_url"]));
    } else {
        out.insert("paginationMode".into(), json!("updateAParameterInEachRequest"));
        let params: Vec<Value> = pagination["params"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|param| {
                let kind = match param["target"].as_str() {
                    Some("headers") => "headers",
                    Some("body") => "body",
                    _ => "qs",
                };
                json!({"type": kind, "name": param["name"], "value": to_n8n(&param["value"])})
            })
            .collect();
        out.insert("parameters".into(), json!({"parameters": params}));
    }
    match pagination["complete_when"].as_str() {
        Some("status_codes") => {
            let codes: Vec<String> =
                pagination["status_codes"].as_array().into_iter().flatten().map(Value::to_string).collect();
            out.insert("paginationCompleteWhen".into(), json!("receiveSpecificStatusCodes"));
            out.insert("statusCodesWhenComplete".into(), json!(codes.join(",")));
        }
        Some("expression") => {
            out.insert("paginationCompleteWhen".into(), json!("other"));
            out.insert("completeExpression".into(), to_n8n(&pagination["complete_expression"]));
        }
        _ => {}
    }
    if let Some(max) = pagination.get("max_requests") {
        out.insert("limitPagesFetched".into(), json!(true));
        out.insert("maxRequests".into(), to_n8n(max));
    }
    if let Some(interval) = pagination.get("interval_ms") {
        out.insert("requestInterval".into(), interval.clone());
    }
    Value::Object(out)
}

/// n8n's Date & Time v2; the zone travels as the workflow's (see [`export_workflow`]).
fn export_date_time(node: &NodeDef) -> (String, Value, Value) {
    let text = |key: &str| param(node, key).and_then(Value::as_str).unwrap_or_default();
    let value = |key: &str| to_n8n(param(node, key).unwrap_or(&json!("")));
    let singular = |unit: &str| unit.strip_suffix('s').unwrap_or(unit).to_string();
    let mut options = Map::new();
    if param(node, "include_input_fields") == Some(&json!(true)) {
        options.insert("includeInputFields".into(), json!(true));
    }
    let mut parameters = match text("operation") {
        "current_date" => {
            if let Some(zone) = param(node, "timezone") {
                options.insert("timezone".into(), zone.clone());
            }
            json!({"operation": "getCurrentDate", "includeTime": param(node, "include_time").cloned().unwrap_or(json!(true))})
        }
        operation @ ("add" | "subtract") => json!({
            "operation": if operation == "add" { "addToDate" } else { "subtractFromDate" },
            "magnitude": value("date"),
            "timeUnit": param(node, "unit"),
            "duration": to_n8n(param(node, "amount").unwrap_or(&json!(0))),
        }),
        "format" => {
            if param(node, "timezone").is_some() {
                options.insert("timezone".into(), json!(true));
            }
            json!({"operation": "formatDate", "date": value("date"), "format": "custom", "customFormat": value("format")})
        }
        "extract" => json!({"operation": "extractDate", "date": value("date"), "part": singular(text("unit"))}),
        "round" => {
            if text("direction") == "up" {
                json!({"operation": "roundDate", "date": value("date"), "mode": "roundUp", "to": singular(text("unit"))})
            } else {
                json!({"operation": "roundDate", "date": value("date"), "mode": "roundDown", "toNearest": singular(text("unit"))})
            }
        }
        _ => {
            if param(node, "iso_duration") == Some(&json!(true)) {
                options.insert("isoString".into(), json!(true));
            }
            let units: Vec<Value> = param(node, "units")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|unit| json!(singular(unit.as_str().unwrap_or_default())))
                .collect();
            json!({"operation": "getTimeBetweenDates", "startDate": value("date"), "endDate": value("end_date"), "units": units})
        }
    };
    if let Some(field) = param(node, "field") {
        parameters["outputFieldName"] = field.clone();
    }
    parameters["options"] = Value::Object(options);
    ("n8n-nodes-base.dateTime".to_string(), json!(2), parameters)
}

/// HTML's extractHtmlContent: 1.2, whose text is laid out; 1.1 when every text is raw (a node
/// mixing both is written as 1.2, its raw texts as laid-out ones).
fn export_html_extract(node: &NodeDef) -> (String, Value, Value) {
    let entries = param(node, "extract").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let returns = |entry: &Value| entry.get("return").and_then(Value::as_str).unwrap_or("text").to_string();
    let raw = entries.iter().any(|entry| returns(entry) == "raw_text")
        && !entries.iter().any(|entry| returns(entry) == "text");
    let values: Vec<Value> = entries
        .iter()
        .map(|entry| {
            let kind = returns(entry);
            let mut value = json!({
                "key": entry.get("key"),
                "cssSelector": to_n8n(entry.get("selector").unwrap_or(&json!(""))),
                "returnValue": if kind == "raw_text" { "text" } else { kind.as_str() },
                "returnArray": entry.get("all") == Some(&json!(true)),
            });
            if let Some(attribute) = entry.get("attribute") {
                value["attribute"] = to_n8n(attribute);
            }
            let skip: Vec<&str> =
                entry.get("skip").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
            if !skip.is_empty() {
                value["skipSelectors"] = json!(string_to_n8n(&skip.join(", ")));
            }
            value
        })
        .collect();
    let mut options = Map::new();
    for (key, option) in [("trim", "trimValues"), ("clean_up", "cleanUpText")] {
        if param(node, key) == Some(&json!(true)) {
            options.insert(option.into(), json!(true));
        }
    }
    let parameters = json!({
        "operation": "extractHtmlContent",
        "sourceData": "json",
        "dataPropertyName": param(node, "source_field").cloned().unwrap_or(json!("data")),
        "extractionValues": {"values": values},
        "options": options,
    });
    ("n8n-nodes-base.html".to_string(), if raw { json!(1.1) } else { json!(1.2) }, parameters)
}

fn export_html_table(node: &NodeDef) -> (String, Value, Value) {
    let mut options = Map::new();
    for (key, option) in [
        ("caption", "caption"),
        ("table_attributes", "tableAttributes"),
        ("header_attributes", "headerAttributes"),
        ("row_attributes", "rowAttributes"),
        ("cell_attributes", "cellAttributes"),
    ] {
        if let Some(value) = param(node, key) {
            options.insert(option.into(), to_n8n(value));
        }
    }
    if param(node, "capitalize_headers") == Some(&json!(true)) {
        options.insert("capitalize".into(), json!(true));
    }
    if param(node, "default_style") == Some(&json!(false)) {
        options.insert("customStyling".into(), json!(true));
    }
    let parameters = json!({"operation": "convertToHtmlTable", "options": options});
    ("n8n-nodes-base.html".to_string(), json!(1.2), parameters)
}

fn export_markdown(node: &NodeDef) -> (String, Value, Value) {
    let to_html = param(node, "mode") == Some(&json!("to_html"));
    let mut options = Map::new();
    let renames: &[(&str, &str)] = if to_html {
        &[
            ("tables", "tables"),
            ("strikethrough", "strikethrough"),
            ("task_lists", "tasklists"),
            ("line_breaks", "simpleLineBreaks"),
        ]
    } else {
        &[
            ("bullet", "bulletMarker"),
            ("code_fence", "codeFence"),
            ("em_delimiter", "emDelimiter"),
            ("strong_delimiter", "strongDelimiter"),
            ("keep_data_images", "keepDataImages"),
        ]
    };
    for (key, option) in renames {
        if let Some(value) = param(node, key) {
            options.insert(option.to_string(), value.clone());
        }
    }
    if param(node, "heading_ids") == Some(&json!(false)) {
        options.insert("noHeaderId".into(), json!(true));
    }
    if param(node, "code_blocks") == Some(&json!("indented")) {
        options.insert("codeBlockStyle".into(), json!("indented"));
    }
    if let Some(Value::Array(ignore)) = param(node, "ignore") {
        let names: Vec<&str> = ignore.iter().filter_map(Value::as_str).collect();
        options.insert("ignore".into(), json!(names.join(", ")));
    }
    let value = to_n8n(param(node, "value").unwrap_or(&json!("")));
    let mut parameters = json!({
        "mode": if to_html { "markdownToHtml" } else { "htmlToMarkdown" },
        "destinationKey": param(node, "field").cloned().unwrap_or(json!("data")),
        "options": options,
    });
    parameters[if to_html { "markdown" } else { "html" }] = value;
    ("n8n-nodes-base.markdown".to_string(), json!(1), parameters)
}

/// n8n's XML node 1; each Weft param has its xml2js option.
fn export_xml(node: &NodeDef) -> (String, Value, Value) {
    let mut options = Map::new();
    for (key, option) in [
        ("attribute_key", "attrkey"),
        ("text_key", "charkey"),
        ("explicit_array", "explicitArray"),
        ("explicit_root", "explicitRoot"),
        ("ignore_attributes", "ignoreAttrs"),
        ("merge_attributes", "mergeAttrs"),
        ("normalize", "normalize"),
        ("lowercase_tags", "normalizeTags"),
        ("trim", "trim"),
        ("root_name", "rootName"),
        ("headless", "headless"),
        ("cdata", "cdata"),
    ] {
        if let Some(value) = param(node, key) {
            options.insert(option.into(), value.clone());
        }
    }
    let mode = if param(node, "mode") == Some(&json!("to_xml")) { "jsonToxml" } else { "xmlToJson" };
    let parameters = json!({
        "mode": mode,
        "dataPropertyName": param(node, "field").cloned().unwrap_or(json!("data")),
        "options": options,
    });
    ("n8n-nodes-base.xml".to_string(), json!(1), parameters)
}

/// n8n's Merge 3. Combining modes always write their clash handling, so that a shallow merge
/// (Weft's default, n8n's option) stays one.
fn export_merge(node: &NodeDef) -> (String, Value, Value) {
    let text = |key: &str| param(node, key).and_then(Value::as_str).unwrap_or_default();
    let mut options = Map::new();
    let mut parameters = match text("mode") {
        "by_position" => {
            if param(node, "include_unpaired") == Some(&json!(true)) {
                options.insert("includeUnpaired".into(), json!(true));
            }
            json!({"mode": "combine", "combineBy": "combineByPosition"})
        }
        "cross_join" => json!({"mode": "combine", "combineBy": "combineAll"}),
        "by_key" => {
            let mut parameters = json!({"mode": "combine", "combineBy": "combineByFields"});
            match (param(node, "key"), param(node, "fields")) {
                (Some(key), _) => parameters["fieldsToMatchString"] = key.clone(),
                (None, Some(Value::Array(fields))) => {
                    let values: Vec<Value> =
                        fields.iter().map(|pair| json!({"field1": pair.get("a"), "field2": pair.get("b")})).collect();
                    parameters["advanced"] = json!(true);
                    parameters["mergeByFields"] = json!({"values": values});
                }
                _ => {}
            }
            let join = match text("join") {
                "left" => "enrichInput1",
                "right" => "enrichInput2",
                "outer" => "keepEverything",
                "unmatched" => "keepNonMatches",
                _ => "keepMatches",
            };
            parameters["joinMode"] = json!(join);
            match text("output_from") {
                "left" => parameters["outputDataFrom"] = json!("input1"),
                "right" => parameters["outputDataFrom"] = json!("input2"),
                _ => {}
            }
            if param(node, "all_matches") == Some(&json!(false)) {
                options.insert("multipleMatches".into(), json!("first"));
            }
            parameters
        }
        "choose_branch" => match param(node, "choose") {
            Some(Value::String(_)) => {
                json!({"mode": "chooseBranch", "chooseBranchMode": "waitForAll", "output": "empty"})
            }
            chosen => json!({
                "mode": "chooseBranch",
                "chooseBranchMode": "waitForAll",
                "output": "specifiedInput",
                "useDataOfInput": chosen.and_then(Value::as_u64).unwrap_or_default() + 1,
            }),
        },
        _ => json!({"mode": "append"}),
    };
    if matches!(text("mode"), "by_position" | "cross_join" | "by_key") {
        let resolve = match text("clash") {
            "add_suffix" => "addSuffix",
            "prefer_first" => "preferInput1",
            "prefer_last" => "preferLast",
            _ if text("join") == "right" => "preferInput1",
            _ => "preferLast",
        };
        let nested = if param(node, "deep") == Some(&json!(true)) { "deepMerge" } else { "shallowMerge" };
        options.insert("clashHandling".into(), json!({"values": {"resolveClash": resolve, "mergeMode": nested}}));
    }
    if let Some(inputs) = param(node, "inputs") {
        parameters["numberInputs"] = inputs.clone();
    }
    parameters["options"] = Value::Object(options);
    ("n8n-nodes-base.merge".to_string(), json!(3), parameters)
}

/// Remove Duplicates 2's "remove items seen in previous executions".
fn export_seen_before(node: &NodeDef) -> Value {
    let across = param(node, "across_runs").cloned().unwrap_or_default();
    let mut options = Map::new();
    if across.get("history") == Some(&json!("workflow")) {
        options.insert("scope".into(), json!("workflow"));
    }
    if let Some(keep) = across.get("keep") {
        options.insert("historySize".into(), keep.clone());
    }
    json!({
        "operation": "removeItemsSeenInPreviousExecutions",
        "dedupeValue": to_n8n(across.get("value").unwrap_or(&json!(""))),
        "options": options,
    })
}

/// n8n's Send Email 2.1. The reply-to address is also written as the sender (with the shown
/// name), which is where an import takes it from when n8n has no reply-to of its own.
fn export_send_email(node: &NodeDef) -> (String, Value, Value) {
    let value = |key: &str| param(node, key).map(to_n8n);
    let reply_to = param(node, "reply_to").and_then(Value::as_str).unwrap_or_default();
    let from = match param(node, "from_name").and_then(Value::as_str) {
        Some(name) => format!("{name} <{reply_to}>"),
        None => reply_to.to_string(),
    };
    let format = match (param(node, "text"), param(node, "html")) {
        (Some(_), Some(_)) => "both",
        (Some(_), None) => "text",
        _ => "html",
    };
    let mut options = Map::new();
    for (key, option) in [("cc", "ccEmail"), ("bcc", "bccEmail"), ("reply_to", "replyTo")] {
        if let Some(value) = value(key) {
            options.insert(option.into(), value);
        }
    }
    options.insert("appendAttribution".into(), json!(false));
    let mut parameters = json!({
        "fromEmail": to_n8n(&json!(from)),
        "toEmail": value("to"),
        "subject": value("subject").unwrap_or(json!("")),
        "emailFormat": format,
        "options": options,
    });
    for key in ["text", "html"] {
        if let Some(body) = value(key) {
            parameters[key] = body;
        }
    }
    ("n8n-nodes-base.emailSend".to_string(), json!(2.1), parameters)
}
