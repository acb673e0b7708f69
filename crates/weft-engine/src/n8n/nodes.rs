//! n8n node types → Weft node types, one function per n8n type. Each reads n8n's parameters
//! (which an export leaves out when they hold their default, so every default is spelled out
//! here, by typeVersion) and either builds Weft params or says why the node stays a placeholder.

use serde_json::{Map, Value, json};

use crate::params::XML_DEFAULT_ROOT;

use super::expr::{compare, condition, js_of, single_expression, string_to_weft, to_weft};
use crate::params::{DEFAULT_BINARY_FIELD, MAX_PAGE_INTERVAL_MS, MAX_PAGES};

/// What an import of one node needs besides its parameters.
pub(super) struct Ctx<'a> {
    pub node: &'a str,
    pub version: f64,
    pub params: &'a Map<String, Value>,
    pub timezone: Option<&'a str>,
    pub warnings: &'a mut Vec<String>,
}

/// A node Weft can run: its type and params, and how n8n's main output indices map onto it.
pub(super) struct Mapped {
    pub node_type: &'static str,
    pub params: Map<String, Value>,
    /// For each n8n main output, the Weft outputs it becomes; `None` when they are the same.
    pub outputs: Option<Vec<Vec<usize>>>,
    /// How many main outputs the n8n node has (its error output comes after them).
    pub n8n_outputs: usize,
    pub timeout_ms: Option<u64>,
}

impl Mapped {
    fn new(node_type: &'static str, params: Value) -> Self {
        let params = match params {
            Value::Object(members) => members,
            _ => Map::new(),
        };
        Mapped { node_type, params, outputs: None, n8n_outputs: 1, timeout_ms: None }
    }
}

/// Why a known n8n type stays a placeholder (`None` for a type Weft has no kind for).
pub(super) type Refusal = Option<String>;

fn refuse<T>(reason: impl Into<String>) -> Result<T, Refusal> {
    Err(Some(reason.into()))
}

impl Ctx<'_> {
    fn get(&self, key: &str) -> Option<&Value> {
        self.params.get(key)
    }

    fn text(&self, key: &str, default: &str) -> String {
        match self.get(key) {
            Some(Value::String(text)) => text.clone(),
            _ => default.to_string(),
        }
    }

    fn flag(&self, key: &str, default: bool) -> bool {
        self.get(key).and_then(Value::as_bool).unwrap_or(default)
    }

    fn warn(&mut self, message: impl AsRef<str>) {
        self.warnings.push(format!("node `{}`: {}", self.node, message.as_ref()));
    }

    fn dropped(&mut self, option: &str) {
        self.warn(format!("option `{option}` has no Weft equivalent and was dropped"));
    }

    /// Warns about each member of `options` other than `handled`.
    fn drop_options(&mut self, handled: &[&str]) {
        let keys: Vec<String> = match self.get("options") {
            Some(Value::Object(options)) => {
                options.keys().filter(|key| !handled.contains(&key.as_str())).cloned().collect()
            }
            _ => Vec::new(),
        };
        for key in keys {
            self.dropped(&format!("options.{key}"));
        }
    }

    fn option(&self, key: &str) -> Option<&Value> {
        self.get("options").and_then(|options| options.get(key))
    }
}

/// The list under `outer.inner` (n8n's fixed collections: `{"parameters": [{…}]}`).
fn collection<'a>(params: &'a Map<String, Value>, outer: &str, inner: &str) -> &'a [Value] {
    params
        .get(outer)
        .and_then(|value| value.get(inner))
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

fn number(value: Option<&Value>, default: f64) -> f64 {
    value.and_then(Value::as_f64).unwrap_or(default)
}

/// Imports one node of an n8n type that has a Weft kind.
pub(super) fn import(n8n_type: &str, ctx: &mut Ctx) -> Result<Mapped, Refusal> {
    let short = n8n_type.strip_prefix("n8n-nodes-base.").ok_or(None)?;
    match short {
        "manualTrigger" => Ok(Mapped::new("manual_trigger", json!({}))),
        "executeWorkflowTrigger" | "errorTrigger" => {
            if short == "executeWorkflowTrigger"
                && ctx.params.keys().any(|key| key != "inputSource" || ctx.text(key, "") != "passthrough")
            {
                ctx.warn(
                    "the declared sub-workflow inputs were dropped: a Weft sub-workflow run gets its caller's items",
                );
            }
            Ok(Mapped::new("manual_trigger", json!({})))
        }
        "noOp" => Ok(Mapped::new("no_op", json!({}))),
        "scheduleTrigger" => schedule(ctx),
        "cron" => cron(ctx),
        "interval" => interval(ctx),
        "webhook" => webhook(ctx),
        "respondToWebhook" => respond(ctx),
        "set" => set(ctx),
        "if" => conditions_node("if", ctx),
        "filter" => conditions_node("filter", ctx),
        "switch" => switch(ctx),
        "merge" => merge(ctx),
        "code" => code(ctx),
        "function" => Ok(Mapped::new("code", json!({"mode": "all_items", "code": ctx.text("functionCode", "")}))),
        "functionItem" => {
            let body = ctx.text("functionCode", "");
            let code = format!("return {{ json: ((item) => {{\n{body}\n}})($json) }};");
            Ok(Mapped::new("code", json!({"mode": "each_item", "code": code})))
        }
        "httpRequest" => http(ctx),
        "graphql" => graphql(ctx),
        "wait" => wait(ctx),
        "splitInBatches" => split_in_batches(ctx),
        "aggregate" => aggregate(ctx),
        "sort" => sort(ctx),
        "limit" => Ok(limit(ctx)),
        "removeDuplicates" => match ctx.text("operation", "removeDuplicateInputItems").as_str() {
            "removeDuplicateInputItems" => remove_duplicates(ctx),
            "removeItemsSeenInPreviousExecutions" => remove_seen_before(ctx),
            other => refuse(format!("operation `{other}` is not supported yet")),
        },
        "itemLists" => item_lists(ctx),
        "start" => Ok(Mapped::new("manual_trigger", json!({}))),
        "emailSend" => email_send(ctx),
        "splitOut" => split_out(ctx),
        "html" => html(ctx),
        "htmlExtract" => html_extract_legacy(ctx),
        "markdown" => markdown(ctx),
        "xml" => xml(ctx),
        "renameKeys" => rename_keys(ctx),
        "crypto" => crypto(ctx),
        "dateTime" => date_time(ctx),
        "summarize" => summarize(ctx),
        "compareDatasets" => compare_datasets(ctx),
        "stopAndError" => {
            if ctx.text("errorType", "errorMessage") != "errorMessage" {
                return refuse("an error object cannot be thrown yet, only a message");
            }
            let message = ctx.get("errorMessage").cloned().unwrap_or(json!(""));
            let message = to_weft(&message);
            Ok(Mapped::new("stop_and_error", json!({"message": message})))
        }
        "executeWorkflow" => execute_workflow(ctx),
        _ => Err(None),
    }
}

fn schedule(ctx: &mut Ctx) -> Result<Mapped, Refusal> {
    let rules = collection(ctx.params, "rule", "interval").to_vec();
    let rules = if rules.is_empty() { vec![json!({})] } else { rules };
    if rules.len() > 1 {
        ctx.warn("only the first of several schedule rules was kept; add a schedule trigger per rule");
    }
    let rule = rules[0].as_object().cloned().unwrap_or_default();
    let n = |key: &str, default: f64| number(rule.get(key), default) as u64;
    let at_minute = n("triggerAtMinute", 0.0);
    let at_hour = n("triggerAtHour", 0.0);
    let field = rule.get("field").and_then(Value::as_str).unwrap_or("days");
    let recurrence = match field {
        "seconds" => return Ok(schedule_node(ctx, json!({"interval_secs": n("secondsInterval", 30.0).max(1)}))),
        "minutes" => {
            let every = n("minutesInterval", 5.0).max(1);
            if every >= 60 {
                return Ok(schedule_node(ctx, json!({"interval_secs": every * 60})));
            }
            format!("*/{every} * * * *")
        }
        "hours" => format!("{at_minute} */{} * * *", n("hoursInterval", 1.0).max(1)),
        "days" => match n("daysInterval", 1.0).max(1) {
            1 => format!("{at_minute} {at_hour} * * *"),
            every => format!("{at_minute} {at_hour} */{every} * *"),
        },
        "weeks" => {
            if n("weeksInterval", 1.0) > 1 {
                ctx.warn("a schedule every few weeks runs every week in Weft");
            }
            let days: Vec<String> = match rule.get("triggerAtDay").and_then(Value::as_array) {
                Some(days) if !days.is_empty() => {
                    days.iter().map(|day| day.to_string().trim_matches('"').to_string()).collect()
                }
                _ => vec!["0".to_string()],
            };
            format!("{at_minute} {at_hour} * * {}", days.join(","))
        }
        "months" => {
            format!(
                "{at_minute} {at_hour} {} */{} *",
                n("triggerAtDayOfMonth", 1.0).max(1),
                n("monthsInterval", 1.0).max(1)
            )
        }
        "cronExpression" => rule.get("expression").and_then(Value::as_str).unwrap_or_default().trim().to_string(),
        other => return refuse(format!("schedule rule `{other}` is not known")),
    };
    Ok(schedule_node(ctx, json!({"cron": recurrence})))
}

fn schedule_node(ctx: &Ctx, mut params: Value) -> Mapped {
    if let Some(zone) = ctx.timezone {
        params["timezone"] = json!(zone);
    }
    Mapped::new("schedule_trigger", params)
}

fn cron(ctx: &mut Ctx) -> Result<Mapped, Refusal> {
    let items = collection(ctx.params, "triggerTimes", "item").to_vec();
    if items.len() > 1 {
        ctx.warn("only the first of several trigger times was kept; add a schedule trigger per time");
    }
    let Some(item) = items.first() else {
        return refuse("a cron node without trigger times never fires");
    };
    let n = |key: &str, default: f64| number(item.get(key), default) as u64;
    let text = |key: &str, default: &str| item.get(key).and_then(Value::as_str).unwrap_or(default).to_string();
    let (minute, hour) = (n("minute", 0.0), n("hour", 14.0));
    let expression = match text("mode", "everyDay").as_str() {
        "everyMinute" => "* * * * *".to_string(),
        "everyHour" => format!("{minute} * * * *"),
        "everyDay" => format!("{minute} {hour} * * *"),
        "everyWeek" => format!("{minute} {hour} * * {}", text("weekday", "1")),
        "everyMonth" => format!("{minute} {hour} {} * *", n("dayOfMonth", 1.0)),
        "everyX" if text("unit", "hours") == "minutes" => format!("*/{} * * * *", n("value", 2.0).max(1)),
        "everyX" => format!("0 */{} * * *", n("value", 2.0).max(1)),
        "custom" => text("cronExpression", "* * * * * *"),
        other => return refuse(format!("cron mode `{other}` is not known")),
    };
    Ok(schedule_node(ctx, json!({"cron": expression})))
}

fn interval(ctx: &mut Ctx) -> Result<Mapped, Refusal> {
    let unit = match ctx.text("unit", "seconds").as_str() {
        "minutes" => 60.0,
        "hours" => 3600.0,
        _ => 1.0,
    };
    let seconds = (number(ctx.get("interval"), 1.0) * unit).round().max(1.0) as u64;
    Ok(Mapped::new("schedule_trigger", json!({"interval_secs": seconds})))
}

fn webhook(ctx: &mut Ctx) -> Result<Mapped, Refusal> {
    let methods = match ctx.get("httpMethod") {
        Some(Value::Array(methods)) => methods.clone(),
        Some(method @ Value::String(_)) => vec![method.clone()],
        _ => vec![json!("GET")],
    };
    let response_mode = match ctx.text("responseMode", "onReceived").as_str() {
        "onReceived" => "accepted",
        "lastNode" => "last_node",
        "responseNode" => "respond_node",
        other => return refuse(format!("response mode `{other}` is not supported")),
    };
    let response_data = match ctx.text("responseData", "firstEntryJson").as_str() {
        "allEntries" => "all_entries",
        "noData" => "no_data",
        "firstEntryJson" => "first_entry",
        "firstEntryBinary" => "first_binary",
        other => return refuse(format!("response data `{other}` is not supported")),
    };
    let response_field = ctx.text("responseBinaryPropertyName", "data");
    let auth = match ctx.text("authentication", "none").as_str() {
        "none" => json!({"type": "none"}),
        "basicAuth" => json!({"type": "basic", "username": "", "password": ""}),
        "headerAuth" => json!({"type": "header", "name": "", "value": ""}),
        other => return refuse(format!("webhook authentication `{other}` is not supported")),
    };
    if auth["type"] != "none" {
        ctx.warn("the webhook's credential must be entered again: its username/password or header fields are empty");
    }
    let path = ctx.text("path", "");
    if !path.is_empty() {
        ctx.warn(format!("the webhook path `{path}` is not kept: Weft gives each webhook trigger its own URL"));
    }
    ctx.drop_options(&[]);
    let mut params =
        json!({"methods": methods, "response_mode": response_mode, "response_data": response_data, "auth": auth});
    if response_data == "first_binary" && response_field != "data" {
        params["response_field"] = json!(response_field);
    }
    Ok(Mapped::new("webhook_trigger", params))
}

fn respond(ctx: &mut Ctx) -> Result<Mapped, Refusal> {
    let mut headers = Map::new();
    for entry in ctx
        .option("responseHeaders")
        .and_then(|h| h.get("entries"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
    {
        if let (Some(Value::String(name)), Some(value)) = (entry.get("name"), entry.get("value")) {
            let value = to_weft(value);
            headers.insert(name.clone(), value);
        }
    }
    let mut status = ctx.option("responseCode").cloned().map(|code| to_weft(&code));
    let mut field_param = None;
    let (respond_with, body) = match ctx.text("respondWith", "firstIncomingItem").as_str() {
        "firstIncomingItem" => ("first_item", None),
        "allIncomingItems" => ("all_items", None),
        "noData" => ("no_data", None),
        "text" => {
            let body = ctx.get("responseBody").cloned().unwrap_or(json!(""));
            ("body", Some(to_weft(&body)))
        }
        "json" => {
            let text = ctx.text("responseBody", "");
            let body = json_text(&text);
            if let Value::String(_) = body
                && single_expression(&string_to_weft(&text)).is_none()
                && !headers.keys().any(|name| name.eq_ignore_ascii_case("content-type"))
            {
                headers.insert("Content-Type".into(), json!("application/json"));
            }
            ("body", Some(body))
        }
        "binary" => {
            let field = match ctx.text("responseDataSource", "automatically").as_str() {
                "set" => ctx.text("inputFieldName", "data"),
                _ => {
                    ctx.warn("answers with the attachment `data` (n8n would take the item's only attachment, whatever its name)");
                    "data".to_owned()
                }
            };
            if field != "data" {
                field_param = Some(json!(field));
            }
            ("binary", None)
        }
        "redirect" => {
            let location = ctx.get("redirectURL").cloned().unwrap_or(json!(""));
            headers.insert("Location".into(), to_weft(&location));
            status.get_or_insert(json!(307));
            ("no_data", None)
        }
        other => return refuse(format!("responding with `{other}` is not supported")),
    };
    ctx.drop_options(&["responseCode", "responseHeaders"]);
    let mut params = json!({"respond_with": respond_with, "status": status.unwrap_or(json!(200))});
    if !headers.is_empty() {
        params["headers"] = Value::Object(headers);
    }
    if let Some(body) = body {
        params["body"] = body;
    }
    if let Some(field) = field_param {
        params["field"] = field;
    }
    Ok(Mapped::new("respond_to_webhook", params))
}

/// n8n's JSON-as-text parameters: a literal is parsed (left as text if it is not JSON), an
/// expression stays a Weft expression string.
fn json_text(text: &str) -> Value {
    if text.starts_with('=') && text.contains("{{") {
        return json!(string_to_weft(text));
    }
    let literal = string_to_weft(text);
    serde_json::from_str(&literal).unwrap_or(Value::String(literal))
}

/// A value of n8n's typed assignments (`type` = string, number, boolean, array, object).
fn typed(value: &Value, kind: &str) -> Value {
    let value = to_weft(value);
    let Value::String(text) = &value else { return value };
    if text.contains("{{") {
        return value;
    }
    let parsed = match kind {
        "number" | "numberValue" => {
            text.trim().parse::<f64>().ok().and_then(serde_json::Number::from_f64).map(Value::Number)
        }
        "boolean" | "booleanValue" => match text.trim() {
            "true" => Some(json!(true)),
            "false" => Some(json!(false)),
            _ => None,
        },
        "array" | "object" | "arrayValue" | "objectValue" => serde_json::from_str(text).ok(),
        _ => return value,
    };
    parsed
        .map(|parsed| match parsed {
            Value::Number(n) if n.as_f64().is_some_and(|f| f.fract() == 0.0 && f.abs() < 9e15) => {
                json!(n.as_f64().unwrap_or_default() as i64)
            }
            other => other,
        })
        .unwrap_or(value)
}

fn set(ctx: &mut Ctx) -> Result<Mapped, Refusal> {
    let mut assignments = Vec::new();
    let keep_only;
    let mut keep = None;
    if ctx.version < 3.0 {
        for kind in ["boolean", "number", "string"] {
            let default = match kind {
                "boolean" => json!(false),
                "number" => json!(0),
                _ => json!(""),
            };
            for entry in collection(ctx.params, "values", kind).to_vec() {
                let name = entry.get("name").and_then(Value::as_str).unwrap_or("propertyName").to_string();
                let value = entry.get("value").cloned().unwrap_or(default.clone());
                assignments.push(json!({"name": name, "value": to_weft(&value)}));
            }
        }
        keep_only = ctx.flag("keepOnlySet", false);
    } else {
        let include = ctx.text("include", "all");
        keep_only = if ctx.version >= 3.3 {
            !ctx.flag("includeOtherFields", false) || include == "none"
        } else {
            include == "none"
        };
        keep = match include.as_str() {
            "selected" if !keep_only => Some(json!({"only": field_list(ctx, "includeFields")?})),
            "except" if !keep_only => Some(json!({"except": field_list(ctx, "excludeFields")?})),
            _ => None,
        };
        if ctx.text("mode", "manual") == "raw" {
            let text = ctx.text("jsonOutput", "{}");
            match json_text(&text) {
                Value::Object(members) => {
                    for (name, value) in members {
                        assignments.push(json!({"name": name, "value": value}));
                    }
                }
                Value::String(template) if template.contains("{{") => {
                    ctx.drop_options(&["dotNotation", "ignoreConversionErrors"]);
                    return Ok(Mapped::new("set", set_params("json_output", json!(template), keep_only, keep)));
                }
                _ => return refuse("the JSON output is not a JSON object"),
            }
        } else {
            // Set 3.3 has typed `assignments`; 3.0 to 3.2 had `fields`, each value under its type.
            let typed_assignments = ctx.version >= 3.3;
            let (list, entries, default_kind) = if typed_assignments {
                ("assignments", "assignments", "string")
            } else {
                ("fields", "values", "stringValue")
            };
            for entry in collection(ctx.params, list, entries).to_vec() {
                let name = entry.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
                if name.is_empty() {
                    // A row added in n8n's editor and never filled in; n8n sets a field named "".
                    ctx.warn("an assignment without a field name was left out");
                    continue;
                }
                let kind = entry.get("type").and_then(Value::as_str).unwrap_or(default_kind).to_string();
                let value_at = if typed_assignments { "value" } else { kind.as_str() };
                let value = typed(entry.get(value_at).unwrap_or(&json!("")), &kind);
                assignments.push(json!({"name": string_to_weft(&name), "value": value}));
            }
        }
    }
    if ctx.option("dotNotation") == Some(&json!(false)) {
        ctx.warn("field names with dots are read as paths in Weft (n8n's dot notation was off)");
    }
    ctx.drop_options(&["dotNotation", "ignoreConversionErrors"]);
    Ok(Mapped::new("set", set_params("assignments", json!(assignments), keep_only, keep)))
}

/// A `set`'s params: what it assigns, and the input fields it keeps (`keep` when only some or
/// all but some are, else `keep_only`).
fn set_params(what: &str, assigned: Value, keep_only: bool, keep: Option<Value>) -> Value {
    let mut params = json!({what: assigned});
    match keep {
        Some(keep) => params["keep"] = keep,
        None => params["keep_only"] = json!(keep_only),
    }
    params
}

/// n8n's v1 conditions (`{string: [{value1, operation, value2}], number: […], …}`), in the
/// order n8n evaluates their types.
fn conditions_v1(conditions: &Value) -> Result<Vec<Value>, Refusal> {
    let mut found = Vec::new();
    for (kind, default_op, default_right) in [
        ("boolean", "equal", json!(false)),
        ("dateTime", "after", json!("")),
        ("number", "smaller", json!(0)),
        ("string", "equal", json!("")),
    ] {
        for entry in conditions.get(kind).and_then(Value::as_array).cloned().unwrap_or_default() {
            let left = to_weft(entry.get("value1").unwrap_or(&default_right));
            let right = to_weft(entry.get("value2").unwrap_or(&default_right));
            let operation = entry.get("operation").and_then(Value::as_str).unwrap_or(default_op);
            match compare(left, operation, right, kind) {
                Some(condition) => found.push(condition),
                None => return refuse(format!("the {kind} operation `{operation}` is not supported")),
            }
        }
    }
    Ok(found)
}

/// n8n's v2 filter (`{conditions: [{leftValue, rightValue, operator}], combinator, options}`).
fn conditions_v2(ctx: &mut Ctx, filter: &Value) -> Result<(Vec<Value>, &'static str), Refusal> {
    let options = filter.get("options");
    if options.and_then(|o| o.get("caseSensitive")) == Some(&json!(false))
        || ctx.option("ignoreCase") == Some(&json!(true))
    {
        ctx.warn("comparisons ignored case in n8n; Weft's are case-sensitive");
    }
    if options.and_then(|o| o.get("typeValidation")) == Some(&json!("loose")) || ctx.flag("looseTypeValidation", false)
    {
        ctx.warn("n8n converted value types loosely; Weft compares them strictly");
    }
    let mut found = Vec::new();
    for entry in filter.get("conditions").and_then(Value::as_array).cloned().unwrap_or_default() {
        let operator = entry.get("operator").cloned().unwrap_or(json!({}));
        let kind = operator.get("type").and_then(Value::as_str).unwrap_or("string");
        let operation = operator.get("operation").and_then(Value::as_str).unwrap_or("equals");
        let left = to_weft(entry.get("leftValue").unwrap_or(&json!("")));
        let right = to_weft(entry.get("rightValue").unwrap_or(&json!("")));
        match compare(left, operation, right, kind) {
            Some(condition) => found.push(condition),
            None => return refuse(format!("the {kind} operation `{operation}` is not supported")),
        }
    }
    let combine = if filter.get("combinator").and_then(Value::as_str) == Some("or") { "any" } else { "all" };
    Ok((found, combine))
}

fn conditions_node(node_type: &'static str, ctx: &mut Ctx) -> Result<Mapped, Refusal> {
    let conditions = ctx.get("conditions").cloned().unwrap_or(json!({}));
    let (found, combine) = if ctx.version < 2.0 {
        let combine = if ctx.text("combineOperation", "all") == "any" { "any" } else { "all" };
        (conditions_v1(&conditions)?, combine)
    } else {
        conditions_v2(ctx, &conditions)?
    };
    ctx.drop_options(&["ignoreCase", "looseTypeValidation"]);
    let mut mapped = Mapped::new(node_type, json!({"conditions": found, "combine": combine}));
    mapped.n8n_outputs = if node_type == "if" { 2 } else { 1 };
    Ok(mapped)
}

fn switch(ctx: &mut Ctx) -> Result<Mapped, Refusal> {
    let mut rules = Vec::new();
    // For each Weft rule, the n8n output it feeds.
    let mut targets = Vec::new();
    let fallback;
    let n8n_outputs;
    let expression_mode = ctx.text("mode", "rules") == "expression";
    if expression_mode {
        let output = ctx.get("output").cloned().unwrap_or(json!(""));
        let output = to_weft(&output);
        let count = if ctx.version >= 3.0 {
            number(ctx.get("numberOutputs"), 4.0)
        } else {
            number(ctx.get("outputsAmount"), 4.0)
        } as usize;
        for index in 0..count {
            rules.push(
                json!({"conditions": [condition(output.clone(), "equals", Some(json!(index)))], "combine": "all"}),
            );
            targets.push(index);
        }
        n8n_outputs = count;
        fallback = None;
    } else if ctx.version >= 3.0 {
        for (index, rule) in collection(ctx.params, "rules", "values").to_vec().iter().enumerate() {
            let (conditions, combine) = conditions_v2(ctx, rule.get("conditions").unwrap_or(&json!({})))?;
            let mut weft = json!({"conditions": conditions, "combine": combine});
            let key = rule.get("outputKey").and_then(Value::as_str).unwrap_or_default();
            if rule.get("renameOutput") == Some(&json!(true)) && !key.trim().is_empty() {
                weft["name"] = json!(key);
            }
            rules.push(weft);
            targets.push(index);
        }
        fallback = match ctx.option("fallbackOutput") {
            Some(Value::String(extra)) if extra == "extra" => Some(rules.len()),
            Some(Value::Number(index)) => index.as_u64().map(|index| index as usize),
            _ => None,
        };
        n8n_outputs = rules.len() + usize::from(fallback == Some(rules.len()));
    } else {
        let kind = ctx.text("dataType", "number");
        let (default_op, default_right) = match kind.as_str() {
            "number" => ("smaller", json!(0)),
            "boolean" => ("equal", json!(false)),
            "dateTime" => ("after", json!("")),
            _ => ("equal", json!("")),
        };
        let left = ctx.get("value1").cloned().unwrap_or(default_right.clone());
        let left = to_weft(&left);
        for (index, rule) in collection(ctx.params, "rules", "rules").to_vec().iter().enumerate() {
            let operation = rule.get("operation").and_then(Value::as_str).unwrap_or(default_op);
            let right = to_weft(rule.get("value2").unwrap_or(&default_right));
            let Some(condition) = compare(left.clone(), operation, right, &kind) else {
                return refuse(format!("the {kind} operation `{operation}` is not supported"));
            };
            let mut weft = json!({"conditions": [condition], "combine": "all"});
            if let Some(Value::String(key)) = rule.get("outputKey")
                && !key.trim().is_empty()
            {
                weft["name"] = json!(key);
            }
            rules.push(weft);
            let output = if ctx.version >= 2.0 { index } else { number(rule.get("output"), 0.0) as usize };
            targets.push(output);
        }
        fallback = match ctx.get("fallbackOutput") {
            Some(Value::Number(index)) => index.as_u64().map(|index| index as usize),
            Some(Value::String(extra)) if extra == "extra" => Some(rules.len()),
            _ => None,
        };
        n8n_outputs = if ctx.version >= 2.0 { rules.len() + usize::from(fallback == Some(rules.len())) } else { 4 };
    }
    let all_matches = ctx.option("allMatchingOutputs").cloned().unwrap_or(json!(false));
    let all_matches = to_weft(&all_matches);
    ctx.drop_options(&[
        "fallbackOutput",
        "allMatchingOutputs",
        "ignoreCase",
        "renameFallbackOutput",
        "looseTypeValidation",
    ]);
    let fallback_index = rules.len();
    let mut table = vec![Vec::new(); n8n_outputs.max(targets.iter().map(|t| t + 1).max().unwrap_or(0))];
    for (rule, target) in targets.iter().enumerate() {
        table[*target].push(rule);
    }
    if let Some(target) = fallback {
        if target >= table.len() {
            table.resize(target + 1, Vec::new());
        }
        table[target].push(fallback_index);
    }
    let mut mapped = Mapped::new("switch", json!({"rules": rules, "all_matches": all_matches}));
    mapped.outputs = Some(table);
    mapped.n8n_outputs = n8n_outputs;
    Ok(mapped)
}

/// n8n's Merge. Version 1's modes keep their old mapping; from 2 on every mode but SQL maps,
/// with n8n's defaults: join by fields keeps matches, pairs every match, and combining merges
/// nested objects deeply with the last input winning (input 1 when enriching input 2).
fn merge(ctx: &mut Ctx) -> Result<Mapped, Refusal> {
    let inputs = number(ctx.get("numberInputs"), 2.0) as u64;
    let mode = ctx.text("mode", "append");
    let mut params = match (mode.as_str(), ctx.version) {
        ("append", _) => json!({"mode": "append"}),
        ("mergeByIndex", version) if version < 2.0 && ctx.text("join", "inner") == "inner" => {
            json!({"mode": "by_position"})
        }
        ("chooseBranch", version) => {
            let waits = if version >= 3.0 { "waitForAll" } else { "waitForBoth" };
            if ctx.text("chooseBranchMode", waits) != waits {
                return refuse(format!("choosing a branch by `{}` is not supported", ctx.text("chooseBranchMode", "")));
            }
            let chosen = match ctx.text("output", if version >= 3.0 { "specifiedInput" } else { "input1" }).as_str() {
                "empty" => json!("empty"),
                "input2" => json!(1),
                "specifiedInput" => match ctx.get("useDataOfInput") {
                    Some(Value::String(_)) => {
                        return refuse("the input to use given by an expression is not supported");
                    }
                    input => json!((number(input, 1.0) as u64).max(1) - 1),
                },
                _ => json!(0),
            };
            json!({"mode": "choose_branch", "choose": chosen})
        }
        ("combine", version) if version >= 2.0 => {
            let by = if version >= 3.0 {
                ctx.text("combineBy", "combineByFields")
            } else {
                match ctx.text("combinationMode", "mergeByFields").as_str() {
                    "mergeByFields" => "combineByFields".to_string(),
                    "mergeByPosition" => "combineByPosition".to_string(),
                    other => other.to_string(),
                }
            };
            let mut params = match by.as_str() {
                "combineByPosition" => {
                    json!({"mode": "by_position", "include_unpaired": ctx.option("includeUnpaired") == Some(&json!(true))})
                }
                "multiplex" | "combineAll" => json!({"mode": "cross_join"}),
                "combineByFields" => merge_by_fields(ctx)?,
                other => return refuse(format!("combining by `{other}` is not supported")),
            };
            merge_clash(ctx, inputs, &mut params)?;
            params
        }
        (other, _) => return refuse(format!("merge mode `{other}` is not supported")),
    };
    if inputs > 2 {
        if matches!(params["mode"].as_str(), Some("by_key" | "cross_join")) {
            return refuse("matching fields or combining all pairs of more than two inputs is not supported");
        }
        params["inputs"] = json!(inputs.min(crate::params::MAX_MERGE_INPUTS));
    }
    if params.get("include_unpaired") == Some(&json!(false)) {
        params.as_object_mut().map(|members| members.remove("include_unpaired"));
    }
    ctx.drop_options(&["includeUnpaired", "clashHandling", "multipleMatches", "disableDotNotation", "fuzzyCompare"]);
    Ok(Mapped::new("merge", params))
}

/// "Combine by matching fields": the pairs of fields, the output type and multiple matches.
fn merge_by_fields(ctx: &mut Ctx) -> Result<Value, Refusal> {
    let named_alike = ctx.version >= 3.0 && !ctx.flag("advanced", false);
    let pairs: Vec<(String, String)> = if named_alike {
        let text = ctx.text("fieldsToMatchString", "");
        text.split(',').map(|field| (field.trim().to_string(), field.trim().to_string())).collect()
    } else {
        collection(ctx.params, "mergeByFields", "values")
            .iter()
            .map(|pair| {
                let text = |key: &str| pair.get(key).and_then(Value::as_str).unwrap_or_default().trim().to_string();
                (text("field1"), text("field2"))
            })
            .collect()
    };
    for (a, b) in &pairs {
        if [a, b].iter().any(|field| field.contains("{{") || field.starts_with('=') || field.contains('[')) {
            return refuse("a field to match given by an expression or with brackets is not supported");
        }
        if a.is_empty() || b.is_empty() {
            return refuse("a pair of fields to match lacks a field");
        }
        if ctx.option("disableDotNotation") == Some(&json!(true)) && (a.contains('.') || b.contains('.')) {
            return refuse("a field name holding a dot (dot notation disabled) cannot be reached");
        }
    }
    if ctx.option("fuzzyCompare") == Some(&json!(true)) {
        return refuse("fuzzy comparison is not supported");
    }
    let join = match ctx.text("joinMode", "keepMatches").as_str() {
        "keepMatches" => "inner",
        "keepNonMatches" => "unmatched",
        "keepEverything" => "outer",
        "enrichInput1" => "left",
        "enrichInput2" => "right",
        other => return refuse(format!("the output type `{other}` is not supported")),
    };
    let mut params = match pairs.as_slice() {
        [] => return refuse("no fields to match"),
        [(a, b)] if a == b => json!({"mode": "by_key", "key": a}),
        pairs => {
            let fields: Vec<Value> = pairs.iter().map(|(a, b)| json!({"a": a, "b": b})).collect();
            json!({"mode": "by_key", "fields": fields})
        }
    };
    if join != "inner" {
        params["join"] = json!(join);
    }
    if matches!(join, "inner" | "unmatched") {
        match ctx.text("outputDataFrom", "both").as_str() {
            "both" => {}
            "input1" => params["output_from"] = json!("left"),
            "input2" => params["output_from"] = json!("right"),
            other => return refuse(format!("output data from `{other}` is not supported")),
        }
    }
    if ctx.option("multipleMatches").and_then(Value::as_str) == Some("first") {
        params["all_matches"] = json!(false);
    }
    Ok(params)
}

/// n8n's clash handling for the modes that combine items. Without it n8n merges deeply and the
/// last input wins (input 1 when enriching input 2), which is Weft's default `clash` too.
fn merge_clash(ctx: &Ctx, inputs: u64, params: &mut Value) -> Result<(), Refusal> {
    let values = ctx.option("clashHandling").and_then(|clash| clash.get("values"));
    let text = |key: &str| values.and_then(|v| v.get(key)).and_then(Value::as_str).unwrap_or_default();
    if values.and_then(|v| v.get("overrideEmpty")) == Some(&json!(true)) {
        return refuse("keeping the non-empty value of a clashing field is not supported");
    }
    let clash = match text("resolveClash") {
        "" => None,
        "addSuffix" => Some("add_suffix"),
        "preferInput1" => Some("prefer_first"),
        "preferLast" => Some("prefer_last"),
        other if other == format!("preferInput{inputs}") => Some("prefer_last"),
        other => return refuse(format!("resolving clashes by `{other}` is not supported")),
    };
    let default = if params.get("join") == Some(&json!("right")) { "prefer_first" } else { "prefer_last" };
    if let Some(clash) = clash.filter(|clash| *clash != default) {
        params["clash"] = json!(clash);
    }
    if text("mergeMode") != "shallowMerge" {
        params["deep"] = json!(true);
    }
    Ok(())
}

fn code(ctx: &mut Ctx) -> Result<Mapped, Refusal> {
    if ctx.text("language", "javaScript") != "javaScript" {
        return refuse("Python is not supported yet");
    }
    let mode = if ctx.text("mode", "runOnceForAllItems") == "runOnceForEachItem" { "each_item" } else { "all_items" };
    Ok(Mapped::new("code", json!({"mode": mode, "code": ctx.text("jsCode", "")})))
}

/// `{name, value}` pairs of a keypair list, by name; repeated names become lists.
fn pairs(list: &[Value]) -> Map<String, Value> {
    let mut found = Map::new();
    for pair in list {
        let Some(name) = pair.get("name").and_then(Value::as_str).filter(|name| !name.is_empty()) else { continue };
        let value = to_weft(pair.get("value").unwrap_or(&json!("")));
        match found.get_mut(name) {
            Some(Value::Array(values)) => values.push(value),
            Some(first) => *first = json!([first.clone(), value]),
            None => {
                found.insert(name.to_string(), value);
            }
        }
    }
    found
}

fn object_of(ctx: &mut Ctx, text: &str, what: &str) -> Result<Map<String, Value>, Refusal> {
    // An empty expression (`=`) gives nothing, as it does in n8n.
    if string_to_weft(text).trim().is_empty() {
        return Ok(Map::new());
    }
    match json_text(text) {
        Value::Object(members) => Ok(members.into_iter().map(|(k, v)| (k, to_weft(&v))).collect()),
        _ => {
            ctx.warn(format!("the {what} were given as JSON Weft cannot read before the run"));
            refuse(format!("{what} given by an expression are not supported"))
        }
    }
}

fn headers_of(ctx: &mut Ctx, headers: Map<String, Value>) -> Map<String, Value> {
    let mut found = Map::new();
    for (name, value) in headers {
        let value = match value {
            Value::String(text) => Value::String(text),
            Value::Array(_) => {
                ctx.warn(format!("header `{name}` was given several times; Weft keeps the last"));
                match value.as_array().and_then(|v| v.last()) {
                    Some(Value::String(text)) => json!(text),
                    Some(other) => json!(other.to_string()),
                    None => json!(""),
                }
            }
            other => json!(other.to_string()),
        };
        found.insert(name, value);
    }
    found
}

/// n8n's GraphQL node: typeVersion 1 posts the raw query by default, 1.1 JSON.
fn graphql(ctx: &mut Ctx) -> Result<Mapped, Refusal> {
    let mut params = Map::new();
    let endpoint = ctx.get("endpoint").cloned().unwrap_or(json!(""));
    params.insert("endpoint".into(), to_weft(&endpoint));
    let method = ctx.text("requestMethod", "POST");
    params.insert("method".into(), json!(method));
    let query = ctx.get("query").cloned().unwrap_or(json!(""));
    params.insert("query".into(), to_weft(&query));
    let format = ctx.text("requestFormat", if ctx.version < 1.1 { "graphql" } else { "json" });
    if method == "POST" {
        params.insert("format".into(), json!(format));
    }
    if method == "POST" && format == "json" {
        match ctx.get("variables").cloned() {
            None => {}
            Some(Value::String(text)) if text.trim().is_empty() => {}
            Some(Value::String(text)) if text.starts_with('=') => {
                params.insert("variables".into(), json!(graphql_variables(&string_to_weft(&text))?));
            }
            Some(Value::String(text)) => match serde_json::from_str::<Value>(&text) {
                Ok(variables @ Value::Object(_)) => {
                    params.insert("variables".into(), variables);
                }
                _ => return refuse("the variables are not a JSON object"),
            },
            Some(variables @ Value::Object(_)) => {
                params.insert("variables".into(), to_weft(&variables));
            }
            Some(_) => return refuse("the variables are not a JSON object"),
        }
        let operation = ctx.text("operationName", "");
        if !operation.is_empty() {
            params.insert("operation_name".into(), json!(string_to_weft(&operation)));
        }
    }
    let headers: Map<String, Value> = collection(ctx.params, "headerParametersUi", "parameter")
        .iter()
        .filter_map(|header| {
            Some((header.get("name")?.as_str()?.to_owned(), header.get("value").cloned().unwrap_or(json!(""))))
        })
        .map(|(name, value)| (name, to_weft(&value)))
        .collect();
    let headers = headers_of(ctx, headers);
    if !headers.is_empty() {
        params.insert("headers".into(), Value::Object(headers));
    }
    if ctx.text("responseFormat", "json") == "string" {
        if ctx.text("dataPropertyName", "data") != "data" {
            return refuse("a text answer under a name other than `data` is not supported");
        }
        params.insert("response".into(), json!("text"));
    }
    if ctx.flag("allowUnauthorizedCerts", false) {
        ctx.warn("certificates are always checked in Weft (n8n's \"ignore SSL issues\" was on)");
    }
    let authentication = ctx.text("authentication", "none");
    if authentication != "none" {
        ctx.warn(format!(
            "authentication `{authentication}` is kept as a credential slot but not applied by Weft's graphql yet"
        ));
    }
    Ok(Mapped::new("graphql", Value::Object(params)))
}

/// n8n parses variables given by an expression when they come out as JSON text; the Weft
/// expression does the same.
fn graphql_variables(text: &str) -> Result<String, Refusal> {
    let js = match single_expression(text) {
        Some(body) => body.to_owned(),
        None => js_of(&json!(text)),
    };
    if js.contains("}}") {
        return refuse("the variables' expression holds `}}`, which would end a Weft expression early");
    }
    Ok(format!("{{{{ {GRAPHQL_VARIABLES_PARSE}({js}) }}}}"))
}

/// Applied to the variables an expression gives, as n8n does: JSON text is parsed.
pub(super) const GRAPHQL_VARIABLES_PARSE: &str = "(v => typeof v === 'string' ? JSON.parse(v || '{}') : v)";

fn http(ctx: &mut Ctx) -> Result<Mapped, Refusal> {
    let mut params = Map::new();
    let legacy = ctx.version < 3.0;
    let method = if legacy { ctx.text("requestMethod", "GET") } else { ctx.text("method", "GET") };
    params.insert("method".into(), json!(string_to_weft(&method)));
    let url = ctx.get("url").cloned().unwrap_or(json!(""));
    params.insert("url".into(), to_weft(&url));
    let (query, headers, body) = if legacy { http_v1_parts(ctx)? } else { http_v3_parts(ctx)? };
    if !query.is_empty() {
        params.insert("query".into(), Value::Object(query));
    }
    let headers = headers_of(ctx, headers);
    if !headers.is_empty() {
        params.insert("headers".into(), Value::Object(headers));
    }
    if let Some(body) = body {
        params.insert("body".into(), body);
    }
    let format = if legacy {
        ctx.text("responseFormat", "json")
    } else {
        ctx.option("response")
            .and_then(|r| r.get("response"))
            .and_then(|r| r.get("responseFormat"))
            .and_then(Value::as_str)
            .unwrap_or("autodetect")
            .to_string()
    };
    match format.as_str() {
        // Autodetect downloads a file when the answer is neither JSON nor text.
        format @ ("file" | "autodetect") => {
            params.insert("response".into(), json!(if format == "file" { "file" } else { "auto" }));
            let field = if legacy {
                ctx.text("dataPropertyName", DEFAULT_BINARY_FIELD)
            } else {
                let field =
                    ctx.option("response").and_then(|r| r.get("response")).and_then(|r| r.get("outputPropertyName"));
                field.and_then(Value::as_str).unwrap_or(DEFAULT_BINARY_FIELD).to_string()
            };
            let field = attachment_name(&field, "the file's property name")?;
            if field != DEFAULT_BINARY_FIELD {
                params.insert("output_field".into(), json!(field));
            }
        }
        "text" | "string" => {
            params.insert("response".into(), json!("text"));
        }
        _ => {}
    }
    let full_response = if legacy {
        ctx.option("fullResponse")
    } else {
        ctx.option("response").and_then(|r| r.get("response")).and_then(|r| r.get("fullResponse"))
    };
    if full_response == Some(&json!(true)) {
        ctx.warn("the full response is Weft's `{status, headers, body}`, not n8n's `{statusCode, headers, body}`");
    } else {
        params.insert("output".into(), json!("body"));
    }
    let never_error = if legacy {
        ctx.option("ignoreResponseCode")
    } else {
        ctx.option("response").and_then(|r| r.get("response")).and_then(|r| r.get("neverError"))
    };
    if never_error == Some(&json!(true)) {
        params.insert("fail_on_non_2xx".into(), json!(false));
    }
    let authentication = ctx.text("authentication", "none");
    if authentication != "none" {
        ctx.warn(format!(
            "authentication `{authentication}` is kept as a credential slot but not applied by Weft's http_request yet"
        ));
    }
    if let Some(pagination) = http_pagination(ctx)? {
        params.insert("pagination".into(), pagination);
    }
    let mut mapped = Mapped::new("http_request", Value::Object(params));
    mapped.timeout_ms =
        ctx.option("timeout").and_then(Value::as_u64).map(|ms| ms.clamp(1, crate::validate::MAX_NODE_TIMEOUT_MS));
    ctx.drop_options(&["timeout", "response", "ignoreResponseCode", "fullResponse", "bodyContentType", "pagination"]);
    Ok(mapped)
}

/// An attachment named by an n8n parameter: Weft names attachments literally.
fn attachment_name(name: &str, what: &str) -> Result<String, Refusal> {
    let name = string_to_weft(name);
    if name.contains("{{") {
        return refuse(format!("{what} given by an expression is not supported"));
    }
    if name.trim().is_empty() {
        return refuse(format!("{what} is empty"));
    }
    Ok(name.trim().to_string())
}

/// n8n 4.x's `options.pagination.pagination` (from httpRequest 4.0 on), with its defaults:
/// update a parameter, complete when the response is empty, no page limit (Weft's cap of
/// [`MAX_PAGES`] pages then), no interval.
fn http_pagination(ctx: &mut Ctx) -> Result<Option<Value>, Refusal> {
    let Some(settings) = ctx.option("pagination").and_then(|p| p.get("pagination")).cloned() else {
        return Ok(None);
    };
    let text = |key: &str, default: &str| settings.get(key).and_then(Value::as_str).unwrap_or(default).to_string();
    let mut pagination = Map::new();
    match text("paginationMode", "updateAParameterInEachRequest").as_str() {
        "off" => return Ok(None),
        "responseContainsNextURL" => {
            pagination.insert("mode".into(), json!("next_url"));
            let next = settings.get("nextURL").cloned().unwrap_or(json!(""));
            pagination.insert("next_url".into(), to_weft(&next));
        }
        "updateAParameterInEachRequest" => {
            pagination.insert("mode".into(), json!("update_params"));
            let mut params = Vec::new();
            for param in collection(settings.as_object().unwrap_or(&Map::new()), "parameters", "parameters") {
                let target = match param.get("type").and_then(Value::as_str).unwrap_or("qs") {
                    "qs" => "query",
                    "headers" => "headers",
                    "body" => "body",
                    other => return refuse(format!("a pagination parameter of type `{other}` is not supported")),
                };
                let name = param.get("name").and_then(Value::as_str).unwrap_or_default();
                let value = to_weft(param.get("value").unwrap_or(&json!("")));
                params.push(json!({"target": target, "name": string_to_weft(name), "value": value}));
            }
            pagination.insert("params".into(), Value::Array(params));
        }
        other => return refuse(format!("pagination mode `{other}` is not supported")),
    }
    match text("paginationCompleteWhen", "responseIsEmpty").as_str() {
        "responseIsEmpty" => {}
        "receiveSpecificStatusCodes" => {
            let codes = text("statusCodesWhenComplete", "");
            let codes: Result<Vec<u16>, _> = codes.split(',').map(|code| code.trim().parse::<u16>()).collect();
            let Ok(codes) = codes else {
                return refuse("the pagination's completion status codes are not a comma-separated list of codes");
            };
            pagination.insert("complete_when".into(), json!("status_codes"));
            pagination.insert("status_codes".into(), json!(codes));
        }
        "other" => {
            let expression = settings.get("completeExpression").cloned().unwrap_or(json!(""));
            pagination.insert("complete_when".into(), json!("expression"));
            pagination.insert("complete_expression".into(), to_weft(&expression));
        }
        other => return refuse(format!("completing pagination on `{other}` is not supported")),
    }
    if settings.get("limitPagesFetched").and_then(Value::as_bool).unwrap_or(false) {
        let max = match settings.get("maxRequests").unwrap_or(&json!(100)) {
            Value::Number(max) if max.as_u64().is_some_and(|max| max > MAX_PAGES) => {
                ctx.warn(format!("Weft fetches at most {MAX_PAGES} pages, not {max}"));
                json!(MAX_PAGES)
            }
            other => to_weft(other),
        };
        pagination.insert("max_requests".into(), max);
    }
    match settings.get("requestInterval") {
        None => {}
        Some(Value::Number(ms)) => {
            let ms = ms.as_f64().unwrap_or_default().max(0.0) as u64;
            if ms > MAX_PAGE_INTERVAL_MS {
                ctx.warn(format!("the interval between pages is shortened to {MAX_PAGE_INTERVAL_MS} ms"));
            }
            if ms > 0 {
                pagination.insert("interval_ms".into(), json!(ms.min(MAX_PAGE_INTERVAL_MS)));
            }
        }
        Some(_) => return refuse("an interval between pages given by an expression is not supported"),
    }
    Ok(Some(Value::Object(pagination)))
}

type HttpParts = (Map<String, Value>, Map<String, Value>, Option<Value>);

fn http_v1_parts(ctx: &mut Ctx) -> Result<HttpParts, Refusal> {
    let method = ctx.text("requestMethod", "GET");
    let content = ctx.option("bodyContentType").and_then(Value::as_str).unwrap_or("json").to_string();
    let (query, headers, body) = if ctx.flag("jsonParameters", false) {
        let query = object_of(ctx, &ctx.text("queryParametersJson", "{}"), "query parameters")?;
        let headers = object_of(ctx, &ctx.text("headerParametersJson", "{}"), "headers")?;
        let body = json_text(&ctx.text("bodyParametersJson", ""));
        (query, headers, (body != json!("")).then_some(body))
    } else {
        let query = pairs(collection(ctx.params, "queryParametersUi", "parameter"));
        let headers = pairs(collection(ctx.params, "headerParametersUi", "parameter"));
        let body = pairs(collection(ctx.params, "bodyParametersUi", "parameter"));
        (query, headers, (!body.is_empty()).then_some(Value::Object(body)))
    };
    let sends_binary = ctx.flag("jsonParameters", false)
        && ctx.flag("sendBinaryData", false)
        && matches!(method.as_str(), "POST" | "PATCH" | "PUT");
    if sends_binary {
        return Ok((query, headers, Some(http_v1_binary_body(ctx, &content, body)?)));
    }
    let body = match (body, content.as_str()) {
        (None, _) => None,
        (Some(_), _) if matches!(method.as_str(), "GET" | "HEAD") => None,
        (Some(Value::Object(form)), "form-urlencoded") => Some(json!({"form": form})),
        (Some(Value::Object(fields)), "multipart-form-data") => Some(json!({"multipart": text_parts(fields)})),
        (Some(json), "json") => Some(json_body(json)),
        (Some(_), other) => return refuse(format!("a `{other}` body is not supported")),
    };
    Ok((query, headers, body))
}

/// httpRequest 1–2's "send binary data": the attachment `binaryPropertyName` as the raw body,
/// or as multipart files (`field:attachment` pairs, comma-separated; a lone name is the field
/// `file`), as n8n sends them. The JSON body parameters are not sent then, as in n8n.
fn http_v1_binary_body(ctx: &mut Ctx, content: &str, body: Option<Value>) -> Result<Value, Refusal> {
    let names = ctx.text("binaryPropertyName", DEFAULT_BINARY_FIELD);
    if body.is_some() {
        ctx.warn("the JSON body parameters are not sent with binary data, as in n8n");
    }
    match content {
        "raw" => Ok(json!({"binary": attachment_name(&names, "the binary property")?})),
        "multipart-form-data" => {
            let names: Vec<&str> = names.split(',').map(str::trim).collect();
            let mut parts = Vec::new();
            for entry in &names {
                let (field, attachment) = match entry.split_once(':') {
                    Some((field, attachment)) => (field, attachment),
                    None if names.len() == 1 => ("file", *entry),
                    None => return refuse("several binary properties must each be given as `field:property`"),
                };
                parts.push(json!({"name": field, "binary": attachment_name(attachment, "the binary property")?}));
            }
            Ok(json!({"multipart": parts}))
        }
        _ => refuse(
            "sending binary data needs the body content type RAW/CUSTOM or FORM-DATA/MULTIPART (n8n refuses it too)",
        ),
    }
}

/// Multipart text fields from `{name: value}` (a list value repeats the field).
fn text_parts(fields: Map<String, Value>) -> Vec<Value> {
    let mut parts = Vec::new();
    for (name, value) in fields {
        match value {
            Value::Array(values) => parts.extend(values.into_iter().map(|value| json!({"name": name, "value": value}))),
            value => parts.push(json!({"name": name, "value": value})),
        }
    }
    parts
}

/// httpRequest 3+'s multipart body parameters, in order: `formData` fields and
/// `formBinaryData` attachments (`inputDataFieldName`).
fn multipart_parts(ctx: &mut Ctx) -> Result<Vec<Value>, Refusal> {
    let mut parts = Vec::new();
    for parameter in collection(ctx.params, "bodyParameters", "parameters").to_vec() {
        let Some(name) = parameter.get("name").and_then(Value::as_str).filter(|name| !name.is_empty()) else {
            continue;
        };
        let kind = parameter.get("parameterType").and_then(Value::as_str).unwrap_or("formData");
        parts.push(if kind == "formBinaryData" {
            let attachment = parameter.get("inputDataFieldName").and_then(Value::as_str).unwrap_or_default();
            json!({"name": name, "binary": attachment_name(attachment, "the binary field")?})
        } else {
            json!({"name": name, "value": to_weft(parameter.get("value").unwrap_or(&json!("")))})
        });
    }
    Ok(parts)
}

/// A JSON body: a template with expressions spliced into JSON text is sent as raw JSON text.
fn json_body(json: Value) -> Value {
    match json {
        Value::String(text) if text.contains("{{") && single_expression(&text).is_none() => {
            json!({"raw": text, "content_type": "application/json"})
        }
        other => json!({"json": other}),
    }
}

fn http_v3_parts(ctx: &mut Ctx) -> Result<HttpParts, Refusal> {
    let keypair = |ctx: &Ctx, key: &str| ctx.text(key, "keypair") == "keypair";
    let mut query = Map::new();
    if ctx.flag("sendQuery", false) {
        query = if keypair(ctx, "specifyQuery") {
            pairs(collection(ctx.params, "queryParameters", "parameters"))
        } else {
            object_of(ctx, &ctx.text("jsonQuery", "{}"), "query parameters")?
        };
    }
    let mut headers = Map::new();
    if ctx.flag("sendHeaders", false) {
        headers = if keypair(ctx, "specifyHeaders") {
            pairs(collection(ctx.params, "headerParameters", "parameters"))
        } else {
            object_of(ctx, &ctx.text("jsonHeaders", "{}"), "headers")?
        };
    }
    let mut body = None;
    if ctx.flag("sendBody", false) {
        let content = ctx.text("contentType", "json");
        body = Some(match content.as_str() {
            "json" if keypair(ctx, "specifyBody") => {
                json!({"json": pairs(collection(ctx.params, "bodyParameters", "parameters"))})
            }
            "json" => json_body(json_text(&ctx.text("jsonBody", ""))),
            "form-urlencoded" if keypair(ctx, "specifyBody") => {
                json!({"form": pairs(collection(ctx.params, "bodyParameters", "parameters"))})
            }
            "form-urlencoded" => json!({"form": object_of(ctx, &ctx.text("body", "{}"), "form fields")?}),
            "raw" => {
                let raw = ctx.get("body").cloned().unwrap_or(json!(""));
                let raw = to_weft(&raw);
                let mut body = json!({"raw": raw});
                if let Some(Value::String(kind)) = ctx.get("rawContentType") {
                    body["content_type"] = json!(string_to_weft(kind));
                }
                body
            }
            "multipart-form-data" => json!({"multipart": multipart_parts(ctx)?}),
            "binaryData" => {
                let attachment = ctx.text("inputDataFieldName", DEFAULT_BINARY_FIELD);
                json!({"binary": attachment_name(&attachment, "the binary field")?})
            }
            other => return refuse(format!("a `{other}` body is not supported yet")),
        });
    }
    Ok((query, headers, body))
}

fn wait(ctx: &mut Ctx) -> Result<Mapped, Refusal> {
    match ctx.text("resume", "timeInterval").as_str() {
        "timeInterval" => {}
        "specificTime" => {
            let until = ctx.get("dateTime").cloned().unwrap_or(json!(""));
            return Ok(Mapped::new("wait", json!({"until": to_weft(&until)})));
        }
        other => return refuse(format!("resuming on `{other}` is not supported yet")),
    }
    let (default_amount, default_unit) = if ctx.version < 1.1 { (1.0, "hours") } else { (5.0, "seconds") };
    let unit_ms = match ctx.text("unit", default_unit).as_str() {
        "minutes" => 60_000.0,
        "hours" => 3_600_000.0,
        "days" => 86_400_000.0,
        _ => 1000.0,
    };
    let duration = match ctx.get("amount") {
        Some(Value::String(text)) if text.contains("{{") => match single_expression(&string_to_weft(text)) {
            Some(body) => json!(format!("{{{{ Math.round(({body}) * {unit_ms}) }}}}")),
            None => return refuse("a wait amount given by a text template is not supported"),
        },
        amount => {
            let ms = (number(amount, default_amount) * unit_ms).round();
            if ms < 1.0 {
                ctx.warn("a wait of no time waits one millisecond in Weft");
            }
            json!(ms.max(1.0) as u64)
        }
    };
    Ok(Mapped::new("wait", json!({"duration_ms": duration})))
}

fn split_in_batches(ctx: &mut Ctx) -> Result<Mapped, Refusal> {
    let default = if ctx.version < 3.0 { 10.0 } else { 1.0 };
    let batch = match ctx.get("batchSize") {
        Some(Value::String(_)) => return refuse("a batch size given by an expression is not supported"),
        size => number(size, default).max(1.0) as u64,
    };
    ctx.drop_options(&[]);
    let mut mapped = Mapped::new("loop", json!({"batch_size": batch}));
    if ctx.version < 3.0 {
        ctx.warn("splitInBatches before v3 has one output, mapped onto the loop's `loop` output; the `done` output is left unconnected");
        mapped.outputs = Some(vec![vec![crate::catalog::LOOP_BODY]]);
    } else {
        mapped.n8n_outputs = 2;
    }
    Ok(mapped)
}

fn aggregate(ctx: &mut Ctx) -> Result<Mapped, Refusal> {
    ctx.drop_options(&["include", "keepMissing", "mergeLists", "disableDotNotation"]);
    if ctx.option("disableDotNotation") == Some(&json!(true)) {
        ctx.warn("field names with dots are read as paths in Weft (n8n's dot notation was off)");
    }
    if ctx.text("aggregate", "aggregateIndividualFields") == "aggregateAllItemData" {
        if ctx.option("include").and_then(Value::as_str).is_some_and(|include| include != "allFields") {
            return refuse("aggregating only some fields of whole items is not supported");
        }
        let destination = ctx.text("destinationFieldName", "data");
        if destination.contains("{{") {
            return refuse("a destination field given by an expression is not supported");
        }
        let params = if destination == "items" { json!({}) } else { json!({"destination": destination}) };
        return Ok(Mapped::new("aggregate", params));
    }
    let mut fields = Vec::new();
    for entry in collection(ctx.params, "fieldsToAggregate", "fieldToAggregate") {
        let field = entry.get("fieldToAggregate").and_then(Value::as_str).unwrap_or_default().trim();
        if field.is_empty() {
            continue;
        }
        let renamed = entry.get("renameField") == Some(&json!(true));
        let output = match entry.get("outputFieldName").and_then(Value::as_str) {
            Some(output) if renamed && !output.is_empty() => output,
            // n8n names the list after the last part of a dotted field.
            _ => field.rsplit('.').next().unwrap_or(field),
        };
        if field.contains("{{") || output.contains("{{") {
            return refuse("a field given by an expression is not supported");
        }
        fields.push(if output == field { json!({"field": field}) } else { json!({"field": field, "output": output}) });
    }
    let mut params = match fields.as_slice() {
        [] => return refuse("no field to aggregate"),
        [only] if only.get("output").is_none() => json!({"field": only["field"]}),
        _ => json!({"fields": fields}),
    };
    for (option, param) in [("keepMissing", "keep_missing"), ("mergeLists", "merge_lists")] {
        if ctx.option(option) == Some(&json!(true)) {
            params[param] = json!(true);
        }
    }
    Ok(Mapped::new("aggregate", params))
}

/// A list of field names as n8n's text parameters give them: comma-separated, each perhaps
/// with a `$json.` prefix or lodash brackets (`['a b']`), which become Weft dot paths.
fn field_list(ctx: &Ctx, key: &str) -> Result<Vec<String>, Refusal> {
    let text = ctx.text(key, "");
    if text.contains("{{") {
        return refuse(format!("`{key}` given by an expression is not supported"));
    }
    let text = string_to_weft(&text);
    let mut fields = Vec::new();
    for field in text.split(',').map(str::trim).filter(|field| !field.is_empty()) {
        let field = field.strip_prefix("$json.").unwrap_or(field);
        let mut path = String::new();
        let mut rest = field;
        while !rest.is_empty() {
            if let Some(inner) = rest.strip_prefix("['").or_else(|| rest.strip_prefix("[\"")) {
                let Some(end) = inner.find(['\'', '"']) else {
                    return refuse(format!("the field `{field}` is not a path"));
                };
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&inner[..end]);
                rest = inner[end + 1..].strip_prefix(']').unwrap_or_default();
                rest = rest.strip_prefix('.').unwrap_or(rest);
            } else {
                let end = rest.find(['.', '[']).unwrap_or(rest.len());
                if end == 0 {
                    return refuse(format!("the field `{field}` indexes a list, which Weft's field paths cannot"));
                }
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&rest[..end]);
                rest = &rest[end..];
                rest = rest.strip_prefix('.').unwrap_or(rest);
            }
        }
        fields.push(path);
    }
    Ok(fields)
}

fn split_out(ctx: &mut Ctx) -> Result<Mapped, Refusal> {
    let fields = field_list(ctx, "fieldToSplitOut")?;
    if fields.is_empty() {
        return refuse("no field to split out");
    }
    if ctx.option("disableDotNotation") == Some(&json!(true)) && fields.iter().any(|field| field.contains('.')) {
        return refuse("a field name holding a dot (dot notation disabled) cannot be reached");
    }
    if fields.iter().any(|field| field == "$binary") {
        return refuse("splitting binary data is not supported");
    }
    let destinations: Vec<String> = match ctx.option("destinationFieldName") {
        Some(Value::String(names)) => names.split(',').map(|name| name.trim().to_string()).collect(),
        _ => Vec::new(),
    };
    let fields: Vec<Value> = fields
        .iter()
        .enumerate()
        .map(|(index, field)| match destinations.get(index).filter(|name| !name.is_empty()) {
            Some(destination) => json!({"field": field, "destination": destination}),
            None => json!({"field": field}),
        })
        .collect();
    let mut params = json!({"fields": fields});
    match ctx.text("include", "noOtherFields").as_str() {
        "noOtherFields" => {}
        "allOtherFields" => params["include"] = json!("all"),
        "selectedOtherFields" => {
            params["include"] = json!("selected");
            params["include_fields"] = json!(field_list(ctx, "fieldsToInclude")?);
        }
        other => return refuse(format!("including `{other}` is not supported")),
    }
    if ctx.option("includeBinary") == Some(&json!(true)) {
        params["include_binary"] = json!(true);
    }
    ctx.drop_options(&["destinationFieldName", "includeBinary", "disableDotNotation"]);
    Ok(Mapped::new("split_out", params))
}

/// n8n's HTML node: generating from a template is a `set` of `html` alone (n8n's output item is
/// `{html}`, the template with each `{{ … }}` evaluated); extracting content is `html_extract`,
/// converting to a table `html_table`.
fn html(ctx: &mut Ctx) -> Result<Mapped, Refusal> {
    match ctx.text("operation", "generateHtmlTemplate").as_str() {
        "generateHtmlTemplate" => {
            let Some(template) = ctx.get("html") else {
                return refuse(
                    "n8n's sample template (the `html` parameter was left at its default) is not carried over",
                );
            };
            // n8n fills in this template's `{{ }}` even without the leading `=`.
            let template = template.as_str().map_or_else(|| to_weft(template), |text| json!(string_to_weft(text)));
            ctx.drop_options(&[]);
            Ok(Mapped::new("set", json!({"assignments": [{"name": "html", "value": template}], "keep_only": true})))
        }
        "extractHtmlContent" => {
            // From 1.2 on, text is laid out by html-to-text and skip selectors apply; before, it
            // is the raw text. The options apply only when given (their defaults are not read).
            let laid_out = ctx.version >= 1.2;
            let trim = ctx.option("trimValues") == Some(&json!(true));
            let clean_up = ctx.option("cleanUpText") == Some(&json!(true));
            ctx.drop_options(&["trimValues", "cleanUpText"]);
            html_extract(ctx, laid_out, trim, clean_up)
        }
        "convertToHtmlTable" => html_table(ctx),
        other => refuse(format!("the `{other}` operation is not known")),
    }
}

/// A parameter naming a field or key: a literal (a leading `=` without `{{` is one).
fn literal_name(ctx: &Ctx, key: &str, default: &str) -> Result<String, Refusal> {
    let name = string_to_weft(&ctx.text(key, default));
    if name.contains("{{") {
        return refuse(format!("`{key}` given by an expression is not supported"));
    }
    Ok(name)
}

/// HTML's extractHtmlContent and the legacy HTML Extract node (which always trims unless told
/// not to, and reads raw text).
fn html_extract(ctx: &mut Ctx, laid_out: bool, trim: bool, clean_up: bool) -> Result<Mapped, Refusal> {
    if ctx.text("sourceData", "json") == "binary" {
        return refuse("extracting from binary data is not supported");
    }
    let source = literal_name(ctx, "dataPropertyName", "data")?;
    let mut extract = Vec::new();
    for value in collection(ctx.params, "extractionValues", "values") {
        let text = |key: &str, default: &str| value.get(key).and_then(Value::as_str).unwrap_or(default).to_string();
        let key = string_to_weft(&text("key", ""));
        if key.contains("{{") {
            return refuse("a key given by an expression is not supported");
        }
        let returns = match text("returnValue", "text").as_str() {
            "text" if laid_out => "text",
            "text" => "raw_text",
            "html" => "html",
            "attribute" => "attribute",
            "value" => "value",
            other => return refuse(format!("returning `{other}` is not supported")),
        };
        let mut entry = json!({"key": key, "selector": to_weft(&json!(text("cssSelector", ""))), "return": returns});
        if returns == "attribute" {
            entry["attribute"] = to_weft(&json!(text("attribute", "")));
        }
        if value.get("returnArray") == Some(&json!(true)) {
            entry["all"] = json!(true);
        }
        let skip: Vec<Value> = text("skipSelectors", "")
            .split(',')
            .map(str::trim)
            .filter(|selector| !selector.is_empty())
            .map(|selector| to_weft(&json!(selector)))
            .collect();
        if returns == "text" && !skip.is_empty() {
            entry["skip"] = json!(skip);
        }
        extract.push(entry);
    }
    if extract.is_empty() {
        return refuse("no values to extract are given");
    }
    let mut params = json!({"source_field": source, "extract": extract});
    for (key, on) in [("trim", trim), ("clean_up", clean_up)] {
        if on {
            params[key] = json!(true);
        }
    }
    Ok(Mapped::new("html_extract", params))
}

/// The legacy HTML Extract node (1): trims unless `trimValues` is false.
fn html_extract_legacy(ctx: &mut Ctx) -> Result<Mapped, Refusal> {
    let trim = ctx.option("trimValues") != Some(&json!(false));
    ctx.drop_options(&["trimValues"]);
    html_extract(ctx, false, trim, false)
}

fn html_table(ctx: &mut Ctx) -> Result<Mapped, Refusal> {
    let mut params = json!({});
    for (option, key) in [
        ("caption", "caption"),
        ("tableAttributes", "table_attributes"),
        ("headerAttributes", "header_attributes"),
        ("rowAttributes", "row_attributes"),
        ("cellAttributes", "cell_attributes"),
    ] {
        if let Some(value @ Value::String(text)) = ctx.option(option)
            && !text.is_empty()
        {
            params[key] = to_weft(value);
        }
    }
    if ctx.option("capitalize") == Some(&json!(true)) {
        params["capitalize_headers"] = json!(true);
    }
    if ctx.option("customStyling") == Some(&json!(true)) {
        params["default_style"] = json!(false);
    }
    ctx.drop_options(&[
        "caption",
        "tableAttributes",
        "headerAttributes",
        "rowAttributes",
        "cellAttributes",
        "capitalize",
        "customStyling",
    ]);
    Ok(Mapped::new("html_table", params))
}

/// n8n's Markdown node: htmlToMarkdown (node-html-markdown) or markdownToHtml (showdown), with
/// the options Weft has; n8n ignores options given empty or false, and so does the import.
fn markdown(ctx: &mut Ctx) -> Result<Mapped, Refusal> {
    let field = literal_name(ctx, "destinationKey", "data")?;
    let to_html = match ctx.text("mode", "htmlToMarkdown").as_str() {
        "markdownToHtml" => true,
        "htmlToMarkdown" => false,
        other => return refuse(format!("the `{other}` mode is not known")),
    };
    let source = ctx.get(if to_html { "markdown" } else { "html" }).cloned().unwrap_or(json!(""));
    let mut params =
        json!({"mode": if to_html { "to_html" } else { "to_markdown" }, "value": to_weft(&source), "field": field});
    let on = |ctx: &Ctx, option: &str| ctx.option(option) == Some(&json!(true));
    if to_html {
        for (option, key) in [
            ("tables", "tables"),
            ("strikethrough", "strikethrough"),
            ("tasklists", "task_lists"),
            ("simpleLineBreaks", "line_breaks"),
        ] {
            if on(ctx, option) {
                params[key] = json!(true);
            }
        }
        if on(ctx, "noHeaderId") {
            params["heading_ids"] = json!(false);
        }
        ctx.drop_options(&["tables", "strikethrough", "tasklists", "simpleLineBreaks", "noHeaderId"]);
    } else {
        for (option, key) in [
            ("bulletMarker", "bullet"),
            ("codeFence", "code_fence"),
            ("emDelimiter", "em_delimiter"),
            ("strongDelimiter", "strong_delimiter"),
        ] {
            if let Some(Value::String(text)) = ctx.option(option)
                && !text.is_empty()
            {
                params[key] = json!(text);
            }
        }
        if ctx.option("codeBlockStyle") == Some(&json!("indented")) {
            params["code_blocks"] = json!("indented");
        }
        if let Some(Value::String(ignore)) = ctx.option("ignore") {
            let elements: Vec<&str> = ignore.split(',').map(str::trim).filter(|name| !name.is_empty()).collect();
            if !elements.is_empty() {
                params["ignore"] = json!(elements);
            }
        }
        if on(ctx, "keepDataImages") {
            params["keep_data_images"] = json!(true);
        }
        ctx.drop_options(&[
            "bulletMarker",
            "codeFence",
            "emDelimiter",
            "strongDelimiter",
            "codeBlockStyle",
            "ignore",
            "keepDataImages",
        ]);
    }
    Ok(Mapped::new("markdown", params))
}

/// n8n's XML node: xml2js with n8n's defaults (`mergeAttrs: true`, `explicitArray: false`);
/// only options that differ from them are written.
fn xml(ctx: &mut Ctx) -> Result<Mapped, Refusal> {
    let field = literal_name(ctx, "dataPropertyName", "data")?;
    let to_json = match ctx.text("mode", "xmlToJson").as_str() {
        "xmlToJson" => true,
        "jsonToxml" => false,
        other => return refuse(format!("the `{other}` mode is not known")),
    };
    let mut params = json!({"mode": if to_json { "to_json" } else { "to_xml" }, "field": field});
    for (option, key, default) in [("attrkey", "attribute_key", "$"), ("charkey", "text_key", "_")] {
        match ctx.option(option) {
            Some(Value::String(name)) if name.contains("{{") || name.starts_with('=') => {
                return refuse(format!("`{option}` given by an expression is not supported"));
            }
            Some(Value::String(name)) if name != default => params[key] = json!(name),
            _ => {}
        }
    }
    let flag = |ctx: &Ctx, option: &str| ctx.option(option).and_then(Value::as_bool);
    if to_json {
        for (option, key, default) in [
            ("explicitArray", "explicit_array", false),
            ("explicitRoot", "explicit_root", true),
            ("ignoreAttrs", "ignore_attributes", false),
            ("mergeAttrs", "merge_attributes", true),
            ("normalize", "normalize", false),
            ("normalizeTags", "lowercase_tags", false),
            ("trim", "trim", false),
        ] {
            if let Some(given) = flag(ctx, option)
                && given != default
            {
                params[key] = json!(given);
            }
        }
        ctx.drop_options(&[
            "attrkey",
            "charkey",
            "explicitArray",
            "explicitRoot",
            "ignoreAttrs",
            "mergeAttrs",
            "normalize",
            "normalizeTags",
            "trim",
        ]);
    } else {
        for (option, key) in [("headless", "headless"), ("cdata", "cdata")] {
            if flag(ctx, option) == Some(true) {
                params[key] = json!(true);
            }
        }
        if let Some(Value::String(root)) = ctx.option("rootName")
            && !root.is_empty()
            && root != XML_DEFAULT_ROOT
        {
            params["root_name"] = json!(string_to_weft(root));
        }
        // Weft's writer never refuses surrogate characters, so `allowSurrogateChars` is moot.
        ctx.drop_options(&["attrkey", "charkey", "headless", "cdata", "rootName", "allowSurrogateChars"]);
    }
    Ok(Mapped::new("xml", params))
}

fn rename_keys(ctx: &mut Ctx) -> Result<Mapped, Refusal> {
    if ctx.get("additionalOptions").and_then(|options| options.get("regexReplacement")).is_some() {
        return refuse("renaming by regular expression is not supported");
    }
    let mut keys = Vec::new();
    for key in collection(ctx.params, "keys", "key") {
        let text = |name: &str| key.get(name).and_then(Value::as_str).unwrap_or_default().trim().to_string();
        let (from, to) = (text("currentKey"), text("newKey"));
        if from.contains("{{") || to.contains("{{") || from.starts_with('=') || to.starts_with('=') {
            return refuse("a key given by an expression is not supported");
        }
        // n8n skips a rename with either name empty or both the same.
        if !from.is_empty() && !to.is_empty() && from != to {
            keys.push(json!({"from": from, "to": to}));
        }
    }
    Ok(Mapped::new("rename_keys", json!({"keys": keys})))
}

/// n8n's Date & Time v2. Dates are read in the workflow's zone, as n8n does (formatting only
/// with its "use workflow timezone" option, else in UTC).
fn date_time(ctx: &mut Ctx) -> Result<Mapped, Refusal> {
    if ctx.version < 2.0 {
        return refuse("Date & Time v1 (moment formats and conversions) is not supported");
    }
    if ctx.option("fromFormat").is_some() {
        return refuse("reading a date in a custom format is not supported");
    }
    let plural = |unit: String| if unit.ends_with('s') { unit } else { format!("{unit}s") };
    let mut zone = ctx.timezone.map(str::to_string);
    let value = |ctx: &mut Ctx, key: &str| {
        let raw = ctx.get(key).cloned().unwrap_or(json!(""));
        to_weft(&raw)
    };
    let operation = ctx.text("operation", "getCurrentDate");
    let mut params = match operation.as_str() {
        "getCurrentDate" => {
            if let Some(Value::String(own)) = ctx.option("timezone")
                && !own.is_empty()
            {
                zone = Some(own.clone());
            }
            json!({"operation": "current_date", "include_time": ctx.flag("includeTime", true)})
        }
        "addToDate" | "subtractFromDate" => {
            let date = value(ctx, "magnitude");
            let amount = ctx.get("duration").cloned().unwrap_or(json!(0));
            let amount = to_weft(&amount);
            if amount.as_f64().is_some_and(|amount| amount < 0.0 || amount.fract() != 0.0) {
                return refuse("a negative or fractional duration is not supported");
            }
            let unit = ctx.text("timeUnit", "days");
            let operation = if operation == "addToDate" { "add" } else { "subtract" };
            json!({"operation": operation, "date": date, "unit": unit, "amount": amount})
        }
        "formatDate" => {
            if ctx.option("timezone") != Some(&json!(true)) {
                zone = None;
            }
            let format = match ctx.text("format", "MM/dd/yyyy").as_str() {
                "custom" => value(ctx, "customFormat"),
                named => json!(named),
            };
            json!({"operation": "format", "date": value(ctx, "date"), "format": format})
        }
        "extractDate" => {
            let part = ctx.text("part", "month");
            json!({"operation": "extract", "date": value(ctx, "date"), "unit": plural(part)})
        }
        "roundDate" => {
            let (direction, unit) = if ctx.text("mode", "roundDown") == "roundUp" {
                ("up", ctx.text("to", "month"))
            } else {
                ("down", ctx.text("toNearest", "month"))
            };
            json!({"operation": "round", "date": value(ctx, "date"), "unit": plural(unit), "direction": direction})
        }
        "getTimeBetweenDates" => {
            let units: Vec<Value> = match ctx.get("units") {
                Some(Value::Array(units)) => {
                    units.iter().filter_map(Value::as_str).map(|unit| json!(plural(unit.to_string()))).collect()
                }
                _ => vec![json!("days")],
            };
            let iso = ctx.option("isoString") == Some(&json!(true));
            json!({"operation": "between", "date": value(ctx, "startDate"), "end_date": value(ctx, "endDate"), "units": units, "iso_duration": iso})
        }
        other => return refuse(format!("the `{other}` operation is not known")),
    };
    let field = ctx.text("outputFieldName", "");
    if field.starts_with('=') {
        return refuse("an output field given by an expression is not supported");
    }
    if !field.is_empty() {
        params["field"] = json!(field);
    }
    if let Some(zone) = zone {
        params["timezone"] = json!(zone);
    }
    if ctx.option("includeInputFields") == Some(&json!(true)) {
        params["include_input_fields"] = json!(true);
    }
    ctx.drop_options(&["timezone", "includeInputFields", "isoString"]);
    Ok(Mapped::new("date_time", params))
}

fn crypto(ctx: &mut Ctx) -> Result<Mapped, Refusal> {
    let field = ctx.text("dataPropertyName", "data");
    if field.starts_with('=') {
        return refuse("a property name given by an expression is not supported");
    }
    let action = ctx.text("action", "hash");
    let mut params = json!({"action": action, "field": field});
    match action.as_str() {
        "hash" | "hmac" => {
            if ctx.flag("binaryData", false) {
                return refuse("digesting binary data is not supported");
            }
            let algorithm = match ctx.text("type", "MD5").as_str() {
                "MD5" => "md5",
                "SHA1" => "sha1",
                "SHA256" => "sha256",
                "SHA384" => "sha384",
                "SHA512" => "sha512",
                other => return refuse(format!("the {other} algorithm is not supported")),
            };
            let encoding = ctx.text("encoding", "hex");
            if encoding != "hex" && encoding != "base64" {
                return refuse(format!("the `{encoding}` encoding is not supported"));
            }
            let value = ctx.get("value").cloned().unwrap_or(json!(""));
            params["algorithm"] = json!(algorithm);
            params["value"] = to_weft(&value);
            params["encoding"] = json!(encoding);
            if action == "hmac" {
                let secret = ctx.get("secret").cloned().unwrap_or(json!(""));
                params["secret"] = to_weft(&secret);
            }
        }
        "generate" => {
            let encoding = ctx.text("encodingType", "uuid");
            match encoding.as_str() {
                "uuid" => {}
                "hex" | "base64" => {
                    let length = ctx.get("stringLength").cloned().unwrap_or(json!(32));
                    params["length"] = to_weft(&length);
                }
                other => return refuse(format!("generating `{other}` text is not supported")),
            }
            params["encoding"] = json!(encoding);
        }
        other => return refuse(format!("the `{other}` action is not supported")),
    }
    Ok(Mapped::new("crypto", params))
}

fn summarize(ctx: &mut Ctx) -> Result<Mapped, Refusal> {
    if ctx.option("outputFormat").and_then(Value::as_str) == Some("singleItem") {
        return refuse("all groups in a single item is not supported");
    }
    let dots_disabled = ctx.option("disableDotNotation") == Some(&json!(true));
    let split_by = field_list(ctx, "fieldsToSplitBy")?;
    let mut fields = Vec::new();
    for entry in collection(ctx.params, "fieldsToSummarize", "values") {
        let text = |name: &str| entry.get(name).and_then(Value::as_str).map(str::to_string);
        let field = text("field").unwrap_or_default().trim().to_string();
        if field.is_empty() {
            continue;
        }
        if field.contains("{{") || field.starts_with('=') || field.contains('[') {
            return refuse("a field given by an expression or with brackets is not supported");
        }
        let aggregation = text("aggregation").unwrap_or_else(|| "count".to_string());
        let aggregation = match aggregation.as_str() {
            "count" => "count",
            "countUnique" => "count_unique",
            "sum" => "sum",
            "average" => "average",
            "min" => "min",
            "max" => "max",
            "concatenate" => "concatenate",
            "append" => "append",
            other => return refuse(format!("the aggregation `{other}` is not supported")),
        };
        let mut mapped = json!({"field": field, "aggregation": aggregation});
        let counts_empty = matches!(aggregation, "count" | "count_unique" | "concatenate" | "append");
        if counts_empty && entry.get("includeEmpty") == Some(&json!(true)) {
            mapped["include_empty"] = json!(true);
        }
        if aggregation == "concatenate" {
            let separator = match text("separateBy").as_deref() {
                Some("other") => text("customSeparator").unwrap_or_default(),
                Some(separator) => separator.to_string(),
                None => ",".to_string(),
            };
            mapped["separator"] = json!(separator);
        }
        fields.push(mapped);
    }
    if fields.is_empty() {
        return refuse("no field to summarize");
    }
    let dotted = |field: &str| field.contains('.');
    if dots_disabled
        && (split_by.iter().any(|field| dotted(field))
            || fields.iter().any(|field| field["field"].as_str().is_some_and(dotted)))
    {
        return refuse("a field name holding a dot (dot notation disabled) cannot be reached");
    }
    let mut params = json!({"fields": fields});
    if !split_by.is_empty() {
        if ctx.option("skipEmptySplitFields") == Some(&json!(true)) {
            params["skip_empty_groups"] = json!(true);
        }
        params["split_by"] = json!(split_by);
    }
    // Weft never fails for a field no item has, as n8n 1.1 does not.
    ctx.drop_options(&["outputFormat", "disableDotNotation", "skipEmptySplitFields", "continueIfFieldNotFound"]);
    Ok(Mapped::new("summarize", params))
}

/// n8n 1 answers differences with input B's version and names the two versions `input1` and
/// `input2`; n8n 2 includes both, named `inputA` and `inputB`, as Weft does.
fn compare_datasets(ctx: &mut Ctx) -> Result<Mapped, Refusal> {
    let default_resolve = if ctx.version >= 2.0 { "includeBoth" } else { "preferInput2" };
    let when_different = match ctx.text("resolve", default_resolve).as_str() {
        "includeBoth" => "include_both",
        "preferInput1" => "prefer_a",
        "preferInput2" => "prefer_b",
        other => return refuse(format!("`{other}` when there are differences is not supported")),
    };
    if ctx.option("fuzzyCompare") == Some(&json!(true)) {
        return refuse("fuzzy comparison is not supported");
    }
    let mut fields = Vec::new();
    for pair in collection(ctx.params, "mergeByFields", "values") {
        let text = |name: &str| pair.get(name).and_then(Value::as_str).unwrap_or_default().trim().to_string();
        let (a, b) = (text("field1"), text("field2"));
        if [&a, &b].iter().any(|field| field.contains("{{") || field.starts_with('=') || field.contains('[')) {
            return refuse("a field to match given by an expression or with brackets is not supported");
        }
        if a.is_empty() || b.is_empty() {
            return refuse("a pair of fields to match lacks a field");
        }
        fields.push(json!({"a": a, "b": b}));
    }
    if fields.is_empty() {
        return refuse("no fields to match");
    }
    let skip_fields: Vec<String> = match ctx.option("skipFields") {
        Some(Value::String(names)) if names.contains("{{") => {
            return refuse("fields to skip given by an expression are not supported");
        }
        Some(Value::String(names)) => {
            names.split(',').map(str::trim).filter(|name| !name.is_empty()).map(str::to_string).collect()
        }
        _ => Vec::new(),
    };
    let names = fields.iter().flat_map(|pair| [&pair["a"], &pair["b"]]).filter_map(Value::as_str);
    let dotted = names.chain(skip_fields.iter().map(String::as_str)).any(|field| field.contains('.'));
    if ctx.option("disableDotNotation") == Some(&json!(true)) && dotted {
        return refuse("a field name holding a dot (dot notation disabled) cannot be reached");
    }
    if when_different == "include_both" && ctx.version < 2.0 {
        ctx.warn(
            "n8n 1 names the two versions of a differing field input1 and input2; Weft names them inputA and inputB",
        );
    }
    let mut params = json!({"fields": fields, "when_different": when_different});
    if !skip_fields.is_empty() {
        params["skip_fields"] = json!(skip_fields);
    }
    if ctx.option("multipleMatches").and_then(Value::as_str) == Some("all") {
        params["all_matches"] = json!(true);
    }
    ctx.drop_options(&["fuzzyCompare", "skipFields", "disableDotNotation", "multipleMatches"]);
    let mut mapped = Mapped::new("compare_datasets", params);
    mapped.n8n_outputs = 4;
    Ok(mapped)
}

fn sort(ctx: &mut Ctx) -> Result<Mapped, Refusal> {
    if ctx.text("type", "simple") != "simple" {
        return refuse(format!("sorting by `{}` is not supported", ctx.text("type", "simple")));
    }
    let fields: Vec<Value> = collection(ctx.params, "sortFieldsUi", "sortField")
        .iter()
        .map(|field| {
            let order = if field.get("order").and_then(Value::as_str) == Some("descending") { "desc" } else { "asc" };
            json!({"field": field.get("fieldName").and_then(Value::as_str).unwrap_or_default(), "order": order})
        })
        .collect();
    ctx.drop_options(&[]);
    Ok(Mapped::new("sort", json!({"fields": fields})))
}

fn limit(ctx: &mut Ctx) -> Mapped {
    let keep = if ctx.text("keep", "firstItems") == "lastItems" { "last" } else { "first" };
    let max = ctx.get("maxItems").cloned().unwrap_or(json!(1));
    let max = to_weft(&max);
    Mapped::new("limit", json!({"max_items": max, "keep": keep}))
}

/// n8n's Item Lists (1–3), whose operations became the Aggregate, Split Out, Sort, Limit,
/// Remove Duplicates and Summarize nodes with the same parameters: each maps as its node does.
fn item_lists(ctx: &mut Ctx) -> Result<Mapped, Refusal> {
    match ctx.text("operation", "splitOutItems").as_str() {
        "splitOutItems" => {
            if ctx.get("fieldsToInclude").is_some_and(Value::is_object) {
                return refuse("Item Lists 1's list of other fields to include is not supported");
            }
            split_out(ctx)
        }
        "aggregateItems" | "concatenateItems" => aggregate(ctx),
        "sort" => sort(ctx),
        "limit" => Ok(limit(ctx)),
        "removeDuplicates" => remove_duplicates(ctx),
        "summarize" => summarize(ctx),
        other => refuse(format!("the `{other}` operation is not supported")),
    }
}

fn remove_duplicates(ctx: &mut Ctx) -> Result<Mapped, Refusal> {
    ctx.drop_options(&[]);
    match ctx.text("compare", "allFields").as_str() {
        "allFields" => Ok(Mapped::new("remove_duplicates", json!({}))),
        "selectedFields" => {
            let fields: Vec<String> = match ctx.get("fieldsToCompare") {
                Some(Value::String(list)) => {
                    list.split(',').map(|f| f.trim().to_string()).filter(|f| !f.is_empty()).collect()
                }
                Some(other) => other
                    .get("fields")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|f| f.get("fieldName").and_then(Value::as_str).map(str::to_string))
                    .collect(),
                None => Vec::new(),
            };
            Ok(Mapped::new("remove_duplicates", json!({"fields": fields})))
        }
        other => refuse(format!("comparing `{other}` is not supported")),
    }
}

/// Remove Duplicates 2's "remove items seen in previous executions", by key value.
fn remove_seen_before(ctx: &mut Ctx) -> Result<Mapped, Refusal> {
    let logic = ctx.text("logic", "removeItemsWithAlreadySeenKeyValues");
    if logic != "removeItemsWithAlreadySeenKeyValues" {
        return refuse(format!("the `{logic}` logic is not supported"));
    }
    let value = ctx.get("dedupeValue").cloned().unwrap_or(json!(""));
    let mut across = json!({"value": to_weft(&value)});
    if ctx.option("scope").and_then(Value::as_str) == Some("workflow") {
        across["history"] = json!("workflow");
    }
    if let Some(size) = ctx.option("historySize").and_then(Value::as_u64) {
        across["keep"] = json!(size);
    }
    ctx.drop_options(&["scope", "historySize"]);
    Ok(Mapped::new("remove_duplicates", json!({"across_runs": across})))
}

fn execute_workflow(ctx: &mut Ctx) -> Result<Mapped, Refusal> {
    if ctx.text("source", "database") != "database" {
        return refuse("running a workflow from a file, a parameter or a URL is not supported");
    }
    let id = match ctx.get("workflowId") {
        Some(Value::Object(locator)) => locator.get("value").cloned().unwrap_or(json!("")),
        Some(other) => other.clone(),
        None => json!(""),
    };
    if ctx.text("mode", "once") == "each" {
        ctx.warn("n8n ran the sub-workflow once per item; Weft runs it once with all items");
    }
    if ctx.get("workflowInputs").is_some() {
        ctx.dropped("workflowInputs");
    }
    ctx.drop_options(&[]);
    let id = match to_weft(&id) {
        Value::String(text) => text,
        other => other.to_string(),
    };
    if !id.contains("{{") {
        ctx.warn("the sub-workflow id is n8n's; replace it with the Weft workflow's id (`wf_…`)");
    }
    Ok(Mapped::new("execute_workflow", json!({"workflow_id": id})))
}

/// n8n's Send Email 1 and 2–2.1. The sender is always the instance's address: n8n's
/// `fromEmail` gives the shown name, and its address becomes `reply_to` unless one is set.
/// Version 2 sends text by default, 2.1 HTML; version 1 whichever bodies are given.
fn email_send(ctx: &mut Ctx) -> Result<Mapped, Refusal> {
    if ctx.text("operation", "send") != "send" {
        return refuse(format!("the `{}` operation is not supported", ctx.text("operation", "")));
    }
    let legacy = ctx.version < 2.0;
    let attachments = if legacy { ctx.get("attachments") } else { ctx.option("attachments") };
    if attachments.and_then(Value::as_str).is_some_and(|names| !names.trim().is_empty()) {
        return refuse("attachments are not supported");
    }
    let field = |key: &str, value: Option<&Value>| -> Option<(String, Value)> {
        let value = to_weft(value?);
        (value != json!("")).then(|| (key.to_string(), value))
    };
    let mut params = Map::new();
    let to = ctx.get("toEmail").cloned().unwrap_or(json!(""));
    params.insert("to".into(), to_weft(&to));
    let (cc, bcc) = if legacy {
        (ctx.get("ccEmail").cloned(), ctx.get("bccEmail").cloned())
    } else {
        (ctx.option("ccEmail").cloned(), ctx.option("bccEmail").cloned())
    };
    params.extend(field("cc", cc.as_ref()));
    params.extend(field("bcc", bcc.as_ref()));
    let subject = ctx.get("subject").cloned().unwrap_or(json!(""));
    params.insert("subject".into(), to_weft(&subject));
    let format = match ctx.version {
        version if version < 2.0 => "legacy".to_string(),
        version if version < 2.1 => ctx.text("emailFormat", "text"),
        _ => ctx.text("emailFormat", "html"),
    };
    let (text, html) = (ctx.get("text").cloned(), ctx.get("html").cloned());
    match format.as_str() {
        "legacy" => {
            params.extend(field("text", text.as_ref()));
            params.extend(field("html", html.as_ref()));
            if !params.contains_key("html") {
                params.entry("text").or_insert(json!(""));
            }
        }
        "text" | "html" | "both" => {
            for (kind, body) in [("text", text), ("html", html)] {
                if format == kind || format == "both" {
                    let body = to_weft(&body.unwrap_or(json!("")));
                    params.insert(kind.into(), body);
                }
            }
        }
        other => return refuse(format!("the email format `{other}` is not known")),
    }
    let reply_to = if legacy { None } else { ctx.option("replyTo").cloned() };
    params.extend(field("reply_to", reply_to.as_ref()));
    let from = ctx.text("fromEmail", "");
    let (name, address) = match string_to_weft(&from) {
        from if from.contains("{{") => (String::new(), from),
        from => match from.trim().strip_suffix('>').and_then(|rest| rest.split_once('<')) {
            Some((name, address)) => (name.trim().trim_matches('"').to_string(), address.trim().to_string()),
            None => (String::new(), from.trim().to_string()),
        },
    };
    if !name.is_empty() {
        params.insert("from_name".into(), json!(name));
    }
    if !address.is_empty() && !params.contains_key("reply_to") {
        ctx.warn(format!(
            "mail is sent from the instance's address; the sender address `{address}` became the reply-to address"
        ));
        params.insert("reply_to".into(), json!(address));
    }
    ctx.drop_options(&["ccEmail", "bccEmail", "replyTo", "attachments", "appendAttribution", "allowUnauthorizedCerts"]);
    Ok(Mapped::new("send_email", Value::Object(params)))
}
