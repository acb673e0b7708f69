//! The catalogue of built-in node types: for each, whether it starts runs, how many inputs it
//! takes, which outputs it has, and how its params are checked.
//!
//! Outputs are named for people (messages, the editor) but connections address them by index,
//! n8n-style: `if` is `[true, false]`, so `output: 1` is the false branch. A node whose
//! `on_error` is `error_output` gets one more output, `error`, after its type's own.

use serde_json::{Map, Value};

use crate::definition::{DefinitionProblem, NodeDef, OnError};
use crate::formats::unclosed_expression;
use crate::params::{
    AggregateParams, CodeParams, CompareDatasetsParams, ConditionParams, CryptoParams, DateTimeParams,
    ExecuteWorkflowParams, GraphqlParams, HtmlExtractParams, HtmlTableParams, HttpRequestParams, LimitParams,
    LoopParams, MAX_MERGE_INPUTS, MarkdownParams, MergeParams, N8nPlaceholderParams, NoParams, RemoveDuplicatesParams,
    RenameKeysParams, SendEmailParams, SetParams, SortParams, SplitOutParams, StopAndErrorParams, SummarizeParams,
    SwitchParams, WaitParams, XmlParams, check_as,
};
use crate::pointer::Pointer;
use crate::trigger_params::{EventTriggerParams, RespondToWebhookParams, ScheduleTriggerParams, WebhookTriggerParams};

/// The index of a `loop` node's `done` output: every item that came back, once batches run out.
pub const LOOP_DONE: usize = 0;
/// The index of a `loop` node's `loop` output: the current batch, into the loop's body.
pub const LOOP_BODY: usize = 1;
/// How many inputs an `n8n_unsupported` placeholder accepts: enough for any n8n node, so that
/// the imported connections are kept as they were.
pub const PLACEHOLDER_INPUTS: usize = 10;
/// The most outputs an `n8n_unsupported` placeholder declares.
pub const PLACEHOLDER_OUTPUTS: u64 = 64;

/// A built-in node type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NodeKind {
    ManualTrigger,
    WebhookTrigger,
    ScheduleTrigger,
    EventTrigger,
    RespondToWebhook,
    Set,
    If,
    Switch,
    Merge,
    Code,
    HttpRequest,
    Graphql,
    Wait,
    Loop,
    Filter,
    Aggregate,
    Sort,
    Limit,
    RemoveDuplicates,
    SplitOut,
    RenameKeys,
    Crypto,
    HtmlExtract,
    HtmlTable,
    Markdown,
    Xml,
    DateTime,
    Summarize,
    CompareDatasets,
    NoOp,
    StopAndError,
    ExecuteWorkflow,
    SendEmail,
    /// An imported n8n node whose type Weft does not implement: it keeps the original so that an
    /// export restores it, and validation refuses it until it is replaced.
    N8nUnsupported,
}

impl NodeKind {
    pub const ALL: [NodeKind; 34] = [
        NodeKind::ManualTrigger,
        NodeKind::WebhookTrigger,
        NodeKind::ScheduleTrigger,
        NodeKind::EventTrigger,
        NodeKind::RespondToWebhook,
        NodeKind::Set,
        NodeKind::If,
        NodeKind::Switch,
        NodeKind::Merge,
        NodeKind::Code,
        NodeKind::HttpRequest,
        NodeKind::Graphql,
        NodeKind::Wait,
        NodeKind::Loop,
        NodeKind::Filter,
        NodeKind::Aggregate,
        NodeKind::Sort,
        NodeKind::Limit,
        NodeKind::RemoveDuplicates,
        NodeKind::SplitOut,
        NodeKind::RenameKeys,
        NodeKind::Crypto,
        NodeKind::HtmlExtract,
        NodeKind::HtmlTable,
        NodeKind::Markdown,
        NodeKind::Xml,
        NodeKind::DateTime,
        NodeKind::Summarize,
        NodeKind::CompareDatasets,
        NodeKind::NoOp,
        NodeKind::StopAndError,
        NodeKind::ExecuteWorkflow,
        NodeKind::SendEmail,
        NodeKind::N8nUnsupported,
    ];

    /// The kind a definition's `type` names, if it is a built-in one.
    pub fn from_type_name(name: &str) -> Option<NodeKind> {
        NodeKind::ALL.into_iter().find(|kind| kind.type_name() == name)
    }

    /// The name used as `type` in definitions.
    pub fn type_name(self) -> &'static str {
        match self {
            NodeKind::ManualTrigger => "manual_trigger",
            NodeKind::WebhookTrigger => "webhook_trigger",
            NodeKind::ScheduleTrigger => "schedule_trigger",
            NodeKind::EventTrigger => "event_trigger",
            NodeKind::RespondToWebhook => "respond_to_webhook",
            NodeKind::Set => "set",
            NodeKind::If => "if",
            NodeKind::Switch => "switch",
            NodeKind::Merge => "merge",
            NodeKind::Code => "code",
            NodeKind::HttpRequest => "http_request",
            NodeKind::Graphql => "graphql",
            NodeKind::Wait => "wait",
            NodeKind::Loop => "loop",
            NodeKind::Filter => "filter",
            NodeKind::Aggregate => "aggregate",
            NodeKind::Sort => "sort",
            NodeKind::Limit => "limit",
            NodeKind::RemoveDuplicates => "remove_duplicates",
            NodeKind::SplitOut => "split_out",
            NodeKind::RenameKeys => "rename_keys",
            NodeKind::Crypto => "crypto",
            NodeKind::HtmlExtract => "html_extract",
            NodeKind::HtmlTable => "html_table",
            NodeKind::Markdown => "markdown",
            NodeKind::Xml => "xml",
            NodeKind::DateTime => "date_time",
            NodeKind::Summarize => "summarize",
            NodeKind::CompareDatasets => "compare_datasets",
            NodeKind::NoOp => "no_op",
            NodeKind::StopAndError => "stop_and_error",
            NodeKind::ExecuteWorkflow => "execute_workflow",
            NodeKind::SendEmail => "send_email",
            NodeKind::N8nUnsupported => "n8n_unsupported",
        }
    }

    /// One line about what the type does, for people choosing one (the editor's reference).
    pub fn summary(self) -> &'static str {
        match self {
            NodeKind::ManualTrigger => "Starts a run by hand or through the API; emits the run's input items.",
            NodeKind::WebhookTrigger => "Starts a run for each HTTP request to its URL.",
            NodeKind::ScheduleTrigger => "Starts a run on a cron schedule or at a fixed interval.",
            NodeKind::EventTrigger => "Starts a run for each workspace event of the listed types.",
            NodeKind::RespondToWebhook => "Sets the answer to the webhook request that started the run.",
            NodeKind::Set => "Assigns fields on each item.",
            NodeKind::If => "Routes each item to `true` or `false` by its conditions.",
            NodeKind::Switch => "Routes each item to the first rule it matches, else to `fallback`.",
            NodeKind::Merge => {
                "Combines the items of its inputs: appended, joined by fields or position, or one chosen."
            }
            NodeKind::Code => "Runs JavaScript in the sandbox; the code returns the output items.",
            NodeKind::HttpRequest => "Sends one HTTP request per item; the response becomes the item.",
            NodeKind::Graphql => "Sends one GraphQL request per item; the answer becomes the item.",
            NodeKind::Wait => "Holds the items for a while, then passes them on.",
            NodeKind::Loop => "Runs its body once per batch of its input items.",
            NodeKind::Filter => "Keeps the items that satisfy the conditions.",
            NodeKind::Aggregate => "Turns all its input items into one item.",
            NodeKind::Sort => "Sorts the items by fields.",
            NodeKind::Limit => "Keeps at most a number of items.",
            NodeKind::RemoveDuplicates => {
                "Keeps the first of each group of equal items, or the items no earlier run saw."
            }
            NodeKind::SplitOut => "Turns the list in a field of each item into one item per element.",
            NodeKind::RenameKeys => "Moves fields to new names on every item.",
            NodeKind::DateTime => {
                "Writes the current date, a date moved, formatted, rounded or in parts, or the time between two dates."
            }
            NodeKind::Crypto => "Writes a hash, an HMAC or a random value into a field of every item.",
            NodeKind::HtmlExtract => "Picks values out of the HTML in a field by CSS selectors.",
            NodeKind::HtmlTable => "Turns all its items into one HTML table.",
            NodeKind::Markdown => "Converts Markdown to HTML or HTML to Markdown into a field of each item.",
            NodeKind::Xml => "Converts the XML in a field to JSON, or each item to XML.",
            NodeKind::Summarize => "Counts, sums, averages… fields across the items, per group.",
            NodeKind::CompareDatasets => {
                "Pairs input A's items with input B's by fields: in A only, same, different, in B only."
            }
            NodeKind::NoOp => "Passes its items on unchanged.",
            NodeKind::StopAndError => "Fails the run with a message.",
            NodeKind::ExecuteWorkflow => "Runs another workflow's published version with the items, and waits for it.",
            NodeKind::SendEmail => "Sends one email per item through the instance's mailer.",
            NodeKind::N8nUnsupported => "An imported n8n node Weft does not implement; replace it before publishing.",
        }
    }

    /// The type's params, each with a short description (docs/workflow-format.md has the rules).
    pub fn params_reference(self) -> &'static [(&'static str, &'static str)] {
        const CONDITIONS: &[(&str, &str)] = &[
            (
                "conditions",
                "required: [{left, operator, right?}]; operators equals, not_equals, contains, gt, gte, lt, lte, exists, is_empty, regex",
            ),
            ("combine", "all (default) or any"),
        ];
        match self {
            NodeKind::ManualTrigger | NodeKind::NoOp => &[],
            NodeKind::WebhookTrigger => &[
                ("methods", "HTTP methods answered; default [\"POST\"]"),
                ("response_mode", "accepted (default), last_node or respond_node"),
                ("response_data", "for last_node: first_entry (default), all_entries, no_data or first_binary"),
                ("response_field", "for first_binary: the attachment answered with, default data"),
                ("auth", "{type: none | header | basic | standard_webhooks | hmac_sha256, …}"),
            ],
            NodeKind::ScheduleTrigger => &[
                ("cron", "a cron expression; exactly one of cron and interval_secs"),
                ("interval_secs", "seconds between firings, at least 1"),
                ("timezone", "an IANA time zone for cron; default UTC"),
                ("catch_up", "skip (default), one or all missed firings"),
            ],
            NodeKind::EventTrigger => &[("events", "required: a non-empty list of event types")],
            NodeKind::RespondToWebhook => &[
                ("status", "default 200"),
                ("headers", "name → text"),
                ("respond_with", "first_item (default), all_items, body, no_data or binary"),
                ("body", "with respond_with body: text or JSON"),
                ("field", "with respond_with binary: the first item's attachment, default data"),
            ],
            NodeKind::Set => &[
                ("assignments", "[{name, value}]; dotted names reach into objects"),
                ("json_output", "instead of assignments: JSON text or an expression giving an object to assign"),
                ("keep_only", "drop every field not assigned; default false"),
                ("keep", "instead of keep_only: all (default), none, {only: [fields]} or {except: [fields]}"),
            ],
            NodeKind::If | NodeKind::Filter => CONDITIONS,
            NodeKind::Switch => &[
                ("rules", "required: [{name?, conditions, combine?}]; one output per rule"),
                ("all_matches", "send an item out on every rule it matches; default false"),
            ],
            NodeKind::Merge => &[
                ("mode", "append (default), by_key, by_position, wait_both, cross_join or choose_branch"),
                ("inputs", "how many inputs, 2 (default) to 10; by_key and cross_join take 2"),
                ("key", "with by_key: the field matched between the inputs"),
                ("fields", "with by_key, instead of key: [{a, b}], input 0's field and input 1's"),
                ("join", "with by_key: inner (default), left, right, outer or unmatched"),
                ("output_from", "with join inner or unmatched: both (default), left or right"),
                ("all_matches", "with by_key: pair an item with every match (default) or only the first"),
                ("clash", "prefer_last (default; prefer_first for join right), prefer_first or add_suffix"),
                ("deep", "merge nested objects and lists too; default false"),
                ("include_unpaired", "with by_position: go on to the longest input; default false"),
                ("choose", "with choose_branch: the input sent on (default 0) or \"empty\""),
            ],
            NodeKind::Code => {
                &[("code", "required: JavaScript returning the items"), ("mode", "all_items (default) or each_item")]
            }
            NodeKind::HttpRequest => &[
                ("url", "required: http:// or https://"),
                ("method", "GET (default), POST, PUT, PATCH, DELETE, HEAD or OPTIONS"),
                ("headers", "name → text"),
                ("query", "name → value or list of values"),
                (
                    "body",
                    "{json} | {form} | {raw, content_type?} | {binary: attachment} | {multipart: [{name, value} | {name, binary: attachment}]}",
                ),
                (
                    "response",
                    "json (default), text, file: the body becomes an attachment, or auto: by the Content-Type, JSON, text or a file",
                ),
                ("output", "full (default): {status, headers, body}; body: the body alone, as n8n gives it"),
                ("output_field", "with response file (or auto): the attachment's name, default data"),
                ("fail_on_non_2xx", "default true"),
                (
                    "pagination",
                    "{mode: next_url | update_params, next_url?, params?: [{target: query | headers | body, name, value}], complete_when: response_is_empty (default) | status_codes | expression, status_codes?, complete_expression?, max_requests? (at most 100), interval_ms?}; its expressions see $response and $pageCount",
                ),
            ],
            NodeKind::Graphql => &[
                ("endpoint", "required: http:// or https://"),
                ("query", "required: the GraphQL document"),
                ("method", "POST (default) or GET: the query in ?query="),
                ("format", "for POST: json (default): {query, variables, operationName}; graphql: the query alone"),
                ("variables", "for json: an object, or an expression giving one"),
                ("operation_name", "for json: the operation to run"),
                ("headers", "name → text"),
                ("response", "json (default): the answer is the item; text: {data}"),
            ],
            NodeKind::Wait => {
                &[("duration_ms", "milliseconds, at least 1; or"), ("until", "an RFC 3339 instant with a zone")]
            }
            NodeKind::Loop => &[
                ("mode", "batches (default): a pass per batch; repeat: again on what the body sends back"),
                ("batch_size", "batches: items per batch, default 1"),
                ("max_passes", "repeat: passes at most, default 1000, at most 10000"),
            ],
            NodeKind::Aggregate => &[
                ("field", "collect this field's values; default: the whole items"),
                ("fields", "or several: [{field, output?}]"),
                ("destination", "for whole items: the key of their list, default items"),
                ("keep_missing", "keep missing and null values; default false"),
                ("merge_lists", "a list value adds its elements; default false"),
            ],
            NodeKind::Sort => &[("fields", "required: [{field, order?}]; order asc (default) or desc")],
            NodeKind::Limit => &[("max_items", "required: at least 1"), ("keep", "first (default) or last")],
            NodeKind::RemoveDuplicates => &[
                ("fields", "the fields that make items equal; default: the whole JSON"),
                (
                    "across_runs",
                    "instead: {value, history?: node | workflow, keep?}; drops items whose value an earlier run let through",
                ),
            ],
            NodeKind::SplitOut => &[
                ("fields", "required: [{field, destination?}]; the lists to split, side by side"),
                ("include", "other fields carried: none (default), all or selected"),
                ("include_fields", "with include selected: the fields carried"),
                ("include_binary", "copy attachments onto each new item; default false"),
            ],
            NodeKind::RenameKeys => &[("keys", "required: [{from, to}], dot paths")],
            NodeKind::DateTime => &[
                ("operation", "required: current_date, add, subtract, format, extract, round or between"),
                ("date", "the date (between: the start): ISO 8601 text or epoch seconds or milliseconds"),
                ("end_date", "with between: the end"),
                ("amount", "with add and subtract: how many units"),
                ("unit", "years, quarters, months, weeks, days, hours, minutes, seconds or milliseconds"),
                ("units", "with between: the units of the difference"),
                ("direction", "with round: down (default) or up"),
                ("format", "with format: tokens such as yyyy-MM-dd HH:mm:ss, or X / x for epoch seconds / ms"),
                ("include_time", "with current_date: false gives midnight; default true"),
                ("iso_duration", "with between: an ISO 8601 duration; default false"),
                ("timezone", "an IANA time zone; default UTC"),
                ("field", "the field written; default n8n's for the operation"),
                ("include_input_fields", "keep the item's fields; default false"),
            ],
            NodeKind::Crypto => &[
                ("action", "required: hash, hmac or generate"),
                ("algorithm", "with hash and hmac: md5, sha1, sha256, sha384 or sha512"),
                ("value", "with hash and hmac: the text digested"),
                ("secret", "with hmac: the key"),
                ("encoding", "hex (default) or base64; generate: uuid (default), hex or base64"),
                ("length", "with generate hex or base64: characters, default 32"),
                ("field", "the field written; default data"),
            ],
            NodeKind::HtmlExtract => &[
                ("source_field", "the field holding the HTML (a text or a list of texts); default data"),
                (
                    "extract",
                    "required: [{key, selector, return?, attribute?, all?, skip?}]; return text (default), raw_text, html, attribute or value",
                ),
                ("trim", "trim each value; default false"),
                ("clean_up", "trim, remove line breaks and collapse whitespace; default false"),
            ],
            NodeKind::HtmlTable => &[
                ("caption", "the table's caption (HTML)"),
                ("capitalize_headers", "first_name heads its column as First Name; default false"),
                ("default_style", "n8n's inline styles; default true"),
                ("table_attributes", "attributes of <table>, e.g. class=\"report\""),
                ("header_attributes", "attributes of <thead>"),
                ("row_attributes", "attributes of each <tr>"),
                ("cell_attributes", "attributes of each <td>"),
            ],
            NodeKind::Markdown => &[
                ("mode", "required: to_html or to_markdown"),
                ("value", "required: the text converted, usually an expression"),
                ("field", "the field written; default data"),
                ("tables", "to_html: GitHub tables; default false"),
                ("strikethrough", "to_html: ~~struck~~; default false"),
                ("task_lists", "to_html: - [x] items; default false"),
                ("line_breaks", "to_html: every line break is a <br />; default false"),
                ("heading_ids", "to_html: ids on headings; default true"),
                ("bullet", "to_markdown: list marker; default *"),
                ("code_blocks", "to_markdown: fenced (default) or indented"),
                ("code_fence", "to_markdown: default ```"),
                ("em_delimiter", "to_markdown: default _"),
                ("strong_delimiter", "to_markdown: default **"),
                ("ignore", "to_markdown: elements left out, e.g. [\"nav\"]"),
                ("keep_data_images", "to_markdown: keep images with data: URIs; default false"),
            ],
            NodeKind::Xml => &[
                ("mode", "required: to_json or to_xml"),
                ("field", "to_json: the field holding the XML; to_xml: the field written; default data"),
                ("attribute_key", "the key of attributes; default $"),
                ("text_key", "the key of text beside attributes or children; default _"),
                ("explicit_array", "to_json: children always in lists; default false"),
                ("explicit_root", "to_json: keep the root element's name; default true"),
                ("ignore_attributes", "to_json: default false"),
                ("merge_attributes", "to_json: attributes beside the children; default true"),
                ("normalize", "to_json: collapse whitespace in texts; default false"),
                ("lowercase_tags", "to_json: default false"),
                ("trim", "to_json: trim texts; default false"),
                ("root_name", "to_xml: the root element, when the item has not exactly one key; default root"),
                ("headless", "to_xml: no <?xml …?> declaration; default false"),
                ("cdata", "to_xml: texts with &, < or > as CDATA; default false"),
            ],
            NodeKind::Summarize => &[
                (
                    "fields",
                    "required: [{field, aggregation, include_empty?, separator?}]; aggregation count, count_unique, sum, average, min, max, concatenate or append",
                ),
                ("split_by", "fields whose values group the items; default: one group"),
                ("skip_empty_groups", "leave out items whose group field is empty; default false"),
            ],
            NodeKind::CompareDatasets => &[
                ("fields", "required: [{a, b}]; the fields that pair A's items with B's"),
                ("when_different", "include_both (default), prefer_a or prefer_b"),
                ("skip_fields", "fields not compared"),
                ("all_matches", "pair an A item with every matching B item; default false: the first"),
            ],
            NodeKind::StopAndError => &[("message", "required: the run's error message")],
            NodeKind::ExecuteWorkflow => &[("workflow_id", "required: wf_… or an expression")],
            NodeKind::SendEmail => &[
                ("to", "required: comma-separated addresses (Name <address> or address)"),
                ("cc", "comma-separated addresses"),
                ("bcc", "comma-separated addresses"),
                ("reply_to", "the address replies go to"),
                ("subject", "the subject line"),
                ("text", "the plain-text body"),
                ("html", "the HTML body; with text, the message has both"),
                ("from_name", "the name shown beside the instance's sender address"),
            ],
            NodeKind::N8nUnsupported => &[
                ("n8n_type", "the n8n type, e.g. n8n-nodes-base.slack"),
                ("type_version", "n8n's typeVersion"),
                ("parameters", "n8n's parameters, untouched"),
                ("outputs", "how many outputs the original had"),
            ],
        }
    }

    /// Triggers start runs: they take no input, and a run begins at exactly one of them.
    pub fn is_trigger(self) -> bool {
        matches!(
            self,
            NodeKind::ManualTrigger | NodeKind::WebhookTrigger | NodeKind::ScheduleTrigger | NodeKind::EventTrigger
        )
    }

    /// How many inputs the node has. Only `merge` depends on its params (`inputs`, 2 unless it
    /// says more; a value out of range counts as 2, which the params check reports).
    pub fn input_count(self, params: &Map<String, Value>) -> usize {
        match self {
            kind if kind.is_trigger() => 0,
            NodeKind::Merge => params
                .get("inputs")
                .and_then(Value::as_u64)
                .filter(|count| (2..=MAX_MERGE_INPUTS).contains(count))
                .map_or(2, |count| count as usize),
            NodeKind::CompareDatasets => 2,
            NodeKind::N8nUnsupported => PLACEHOLDER_INPUTS,
            _ => 1,
        }
    }

    /// The type's own outputs, before any `error` output. Only `switch` (one output per rule,
    /// then `fallback`; rules that are not a list count as none, which the params check reports)
    /// and `n8n_unsupported` (its `outputs` param) depend on their params.
    pub fn outputs(self, params: &Map<String, Value>) -> Vec<String> {
        let fixed = |names: &[&str]| names.iter().map(|name| name.to_string()).collect();
        match self {
            NodeKind::If => fixed(&["true", "false"]),
            NodeKind::Loop => fixed(&["done", "loop"]),
            NodeKind::CompareDatasets => fixed(&["in_a_only", "same", "different", "in_b_only"]),
            NodeKind::StopAndError => Vec::new(),
            NodeKind::N8nUnsupported => {
                let count = params.get("outputs").and_then(Value::as_u64).unwrap_or(1);
                (0..count.min(PLACEHOLDER_OUTPUTS)).map(|index| format!("output_{index}")).collect()
            }
            NodeKind::Switch => {
                let rules = params.get("rules").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
                let names = rules.iter().enumerate().map(|(index, rule)| match rule.get("name") {
                    Some(Value::String(name)) => name.clone(),
                    _ => format!("rule_{index}"),
                });
                names.chain(["fallback".to_string()]).collect()
            }
            _ => fixed(&["main"]),
        }
    }

    /// Checks a node's params: their shape for this type, the type's rules, and that every
    /// expression is closed. Problems are located below `at` (the params object).
    pub(crate) fn check_params(self, params: &Map<String, Value>, at: &Pointer, problems: &mut Vec<DefinitionProblem>) {
        for (key, value) in params {
            // A code node's source is JavaScript, where `{{` is not an expression.
            if !(self == NodeKind::Code && key == "code") {
                check_expressions_closed(value, &at.key(key), problems);
            }
        }
        match self {
            NodeKind::ManualTrigger | NodeKind::NoOp => check_as::<NoParams>(params, at, problems),
            NodeKind::WebhookTrigger => check_as::<WebhookTriggerParams>(params, at, problems),
            NodeKind::ScheduleTrigger => check_as::<ScheduleTriggerParams>(params, at, problems),
            NodeKind::EventTrigger => check_as::<EventTriggerParams>(params, at, problems),
            NodeKind::RespondToWebhook => check_as::<RespondToWebhookParams>(params, at, problems),
            NodeKind::Set => check_as::<SetParams>(params, at, problems),
            NodeKind::If | NodeKind::Filter => check_as::<ConditionParams>(params, at, problems),
            NodeKind::Switch => check_as::<SwitchParams>(params, at, problems),
            NodeKind::Merge => check_as::<MergeParams>(params, at, problems),
            NodeKind::Code => check_as::<CodeParams>(params, at, problems),
            NodeKind::HttpRequest => check_as::<HttpRequestParams>(params, at, problems),
            NodeKind::Graphql => check_as::<GraphqlParams>(params, at, problems),
            NodeKind::Wait => check_as::<WaitParams>(params, at, problems),
            NodeKind::Loop => check_as::<LoopParams>(params, at, problems),
            NodeKind::Aggregate => check_as::<AggregateParams>(params, at, problems),
            NodeKind::Sort => check_as::<SortParams>(params, at, problems),
            NodeKind::Limit => check_as::<LimitParams>(params, at, problems),
            NodeKind::RemoveDuplicates => check_as::<RemoveDuplicatesParams>(params, at, problems),
            NodeKind::SplitOut => check_as::<SplitOutParams>(params, at, problems),
            NodeKind::RenameKeys => check_as::<RenameKeysParams>(params, at, problems),
            NodeKind::Crypto => check_as::<CryptoParams>(params, at, problems),
            NodeKind::HtmlExtract => check_as::<HtmlExtractParams>(params, at, problems),
            NodeKind::HtmlTable => check_as::<HtmlTableParams>(params, at, problems),
            NodeKind::Markdown => check_as::<MarkdownParams>(params, at, problems),
            NodeKind::Xml => check_as::<XmlParams>(params, at, problems),
            NodeKind::DateTime => check_as::<DateTimeParams>(params, at, problems),
            NodeKind::Summarize => check_as::<SummarizeParams>(params, at, problems),
            NodeKind::CompareDatasets => check_as::<CompareDatasetsParams>(params, at, problems),
            NodeKind::StopAndError => check_as::<StopAndErrorParams>(params, at, problems),
            NodeKind::ExecuteWorkflow => check_as::<ExecuteWorkflowParams>(params, at, problems),
            NodeKind::SendEmail => check_as::<SendEmailParams>(params, at, problems),
            NodeKind::N8nUnsupported => check_as::<N8nPlaceholderParams>(params, at, problems),
        }
    }
}

/// The outputs of a node as placed in a definition: its type's, plus `error` when `on_error` is
/// `error_output`. `None` when the type is not in the catalogue.
pub fn node_outputs(node: &NodeDef) -> Option<Vec<String>> {
    let mut outputs = NodeKind::from_type_name(&node.node_type)?.outputs(&node.params);
    if node.on_error == OnError::ErrorOutput {
        outputs.push("error".to_string());
    }
    Some(outputs)
}

/// The list of type names, for messages about unknown types.
pub(crate) fn known_type_names() -> String {
    NodeKind::ALL.map(NodeKind::type_name).join(", ")
}

fn check_expressions_closed(value: &Value, at: &Pointer, problems: &mut Vec<DefinitionProblem>) {
    match value {
        Value::String(text) => {
            if let Some(offset) = unclosed_expression(text) {
                problems.push(at.problem(format!("the `{{{{` at byte {offset} is not closed by `}}}}`")));
            }
        }
        Value::Array(values) => {
            for (index, value) in values.iter().enumerate() {
                check_expressions_closed(value, &at.index(index), problems);
            }
        }
        Value::Object(members) => {
            for (key, value) in members {
                check_expressions_closed(value, &at.key(key), problems);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_reference_lists_params_the_format_documents() {
        let docs = include_str!("../../../docs/workflow-format.md");
        for kind in NodeKind::ALL {
            let section = format!("### {}\n", kind.type_name());
            let start = docs.find(&section).unwrap_or_else(|| panic!("docs/workflow-format.md has no {section}"));
            let body = &docs[start + section.len()..];
            let body = &body[..body.find("\n### ").or_else(|| body.find("\n## ")).unwrap_or(body.len())];
            assert!(!kind.summary().is_empty());
            for (param, _) in kind.params_reference() {
                let documented = body.contains(&format!("`{param}`")) || docs.contains(&format!("| `{param}` |"));
                assert!(documented, "{}'s param `{param}` is not in its section of the docs", kind.type_name());
            }
        }
    }

    fn node(value: Value) -> NodeDef {
        serde_json::from_value(value).unwrap()
    }

    fn outputs(value: Value) -> Vec<String> {
        node_outputs(&node(value)).unwrap()
    }

    fn problems(kind: NodeKind, params: Value) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        let at = Pointer::root().key("nodes").index(4).key("params");
        kind.check_params(params.as_object().unwrap(), &at, &mut problems);
        problems.into_iter().map(|p| (p.pointer, p.detail)).collect()
    }

    fn pointers(kind: NodeKind, params: Value) -> Vec<String> {
        problems(kind, params).into_iter().map(|(pointer, _)| pointer).collect()
    }

    #[test]
    fn every_kind_is_found_by_its_type_name() {
        for kind in NodeKind::ALL {
            assert_eq!(NodeKind::from_type_name(kind.type_name()), Some(kind));
        }
        assert_eq!(NodeKind::from_type_name("n8n-nodes-base.if"), None);
    }

    #[test]
    fn triggers_take_no_input_merge_takes_two_or_its_inputs_the_rest_one() {
        let none = Map::new();
        let params = |value: Value| value.as_object().cloned().unwrap_or_default();
        assert!(NodeKind::ManualTrigger.is_trigger());
        assert_eq!(NodeKind::ManualTrigger.input_count(&none), 0);
        assert_eq!(NodeKind::Merge.input_count(&none), 2);
        assert_eq!(NodeKind::Merge.input_count(&params(json!({"inputs": 4}))), 4);
        assert_eq!(NodeKind::Merge.input_count(&params(json!({"inputs": 11}))), 2);
        assert_eq!(NodeKind::CompareDatasets.input_count(&none), 2);
        assert!(
            NodeKind::ALL
                .iter()
                .filter(|kind| {
                    !kind.is_trigger()
                        && !matches!(kind, NodeKind::Merge | NodeKind::CompareDatasets | NodeKind::N8nUnsupported)
                })
                .all(|kind| kind.input_count(&none) == 1)
        );
    }

    #[test]
    fn if_has_true_and_false() {
        assert_eq!(outputs(json!({"name": "If", "type": "if"})), ["true", "false"]);
    }

    #[test]
    fn switch_has_one_output_per_rule_then_fallback() {
        let switch = json!({"name": "S", "type": "switch", "params": {"rules": [
            {"name": "big", "conditions": []}, {"conditions": []}
        ]}});
        assert_eq!(outputs(switch), ["big", "rule_1", "fallback"]);
        assert_eq!(outputs(json!({"name": "S", "type": "switch"})), ["fallback"]);
    }

    #[test]
    fn loop_has_done_then_loop() {
        let outputs = outputs(json!({"name": "L", "type": "loop"}));
        assert_eq!(outputs, ["done", "loop"]);
        assert_eq!(outputs[LOOP_DONE], "done");
        assert_eq!(outputs[LOOP_BODY], "loop");
    }

    #[test]
    fn error_output_adds_error_after_the_types_outputs() {
        assert_eq!(
            outputs(json!({"name": "If", "type": "if", "on_error": "error_output"})),
            ["true", "false", "error"]
        );
        assert_eq!(outputs(json!({"name": "C", "type": "code", "on_error": "error_output"})), ["main", "error"]);
        assert_eq!(outputs(json!({"name": "C", "type": "code", "on_error": "continue"})), ["main"]);
        assert_eq!(outputs(json!({"name": "X", "type": "stop_and_error", "on_error": "error_output"})), ["error"]);
    }

    #[test]
    fn unknown_types_have_no_outputs() {
        assert_eq!(node_outputs(&node(json!({"name": "X", "type": "telepathy"}))), None);
    }

    #[test]
    fn http_request_method_must_be_known_and_url_present() {
        assert_eq!(
            pointers(NodeKind::HttpRequest, json!({"method": "FETCH", "url": "https://a.example"})),
            ["/nodes/4/params/method"]
        );
        assert_eq!(pointers(NodeKind::HttpRequest, json!({"method": "POST"})), ["/nodes/4/params"]);
        assert_eq!(pointers(NodeKind::HttpRequest, json!({"url": "ftp://a.example"})), ["/nodes/4/params/url"]);
        assert_eq!(pointers(NodeKind::HttpRequest, json!({"url": "https://"})), ["/nodes/4/params/url"]);
        assert!(
            pointers(NodeKind::HttpRequest, json!({"url": "{{ $json.next }}", "method": "{{ $json.m }}"})).is_empty()
        );
    }

    #[test]
    fn http_request_headers_query_and_body_are_checked() {
        let params = json!({
            "url": "https://api.example/items",
            "headers": {"Bad Name": "x", "X-Ok": "{{ $json.token }}"},
            "query": {"page": 2, "tags": ["a", "b"], "filter": {"a": 1}},
            "body": {"json": {"a": 1}, "raw": "x"}
        });
        assert_eq!(
            pointers(NodeKind::HttpRequest, params),
            ["/nodes/4/params/headers/Bad Name", "/nodes/4/params/query/filter", "/nodes/4/params/body"]
        );
        let params = json!({"url": "https://a.example", "body": {"form": {"a": [1]}, "content_type": "text/csv"}});
        assert_eq!(
            pointers(NodeKind::HttpRequest, params),
            ["/nodes/4/params/body/content_type", "/nodes/4/params/body/form/a"]
        );
    }

    #[test]
    fn http_request_binary_bodies_and_file_responses_are_checked() {
        let params = json!({
            "url": "https://a.example",
            "body": {"multipart": [
                {"name": "file", "binary": "data"},
                {"name": "model", "value": "whisper-1"},
                {"name": "", "value": {"a": 1}},
                {"name": "both", "value": "x", "binary": "data"},
                {"name": "late", "binary": "{{ $json.field }}"}
            ]},
            "response": "file",
            "output_field": "pdf"
        });
        assert_eq!(
            pointers(NodeKind::HttpRequest, params),
            [
                "/nodes/4/params/body/multipart/2/name",
                "/nodes/4/params/body/multipart/2/value",
                "/nodes/4/params/body/multipart/3",
                "/nodes/4/params/body/multipart/4/binary"
            ]
        );
        assert!(
            pointers(NodeKind::HttpRequest, json!({"url": "https://a.example", "body": {"binary": "data"}})).is_empty()
        );
        assert_eq!(
            pointers(NodeKind::HttpRequest, json!({"url": "https://a.example", "body": {"binary": "a", "raw": "b"}})),
            ["/nodes/4/params/body"]
        );
        assert_eq!(
            pointers(NodeKind::HttpRequest, json!({"url": "https://a.example", "output_field": "pdf"})),
            ["/nodes/4/params/output_field"],
            "an output field without a file response"
        );
    }

    #[test]
    fn http_request_pagination_is_checked() {
        let paged = |pagination: Value| {
            pointers(NodeKind::HttpRequest, json!({"url": "https://a.example", "pagination": pagination}))
        };
        assert!(paged(json!({"mode": "next_url", "next_url": "{{ $response.body.next }}"})).is_empty());
        assert!(
            paged(json!({
                "mode": "update_params",
                "params": [{"target": "query", "name": "page", "value": "{{ $pageCount + 1 }}"}],
                "complete_when": "status_codes", "status_codes": [404],
                "max_requests": "{{ $json.pages }}", "interval_ms": 10
            }))
            .is_empty()
        );
        assert_eq!(
            paged(json!({"mode": "next_url", "params": [{"target": "headers", "name": "Bad Name", "value": ""}]})),
            [
                "/nodes/4/params/pagination/next_url",
                "/nodes/4/params/pagination/params",
                "/nodes/4/params/pagination/params/0/name",
                "/nodes/4/params/pagination/params/0/value"
            ]
        );
        assert_eq!(
            paged(json!({
                "mode": "update_params",
                "params": [{"target": "body", "name": "page", "value": 2}],
                "complete_when": "expression", "complete_expression": "true",
                "status_codes": [99], "max_requests": 101, "interval_ms": 60001
            })),
            [
                "/nodes/4/params/pagination/params/0/target",
                "/nodes/4/params/pagination/complete_expression",
                "/nodes/4/params/pagination/status_codes",
                "/nodes/4/params/pagination/status_codes/0",
                "/nodes/4/params/pagination/max_requests",
                "/nodes/4/params/pagination/interval_ms"
            ]
        );
        assert_eq!(paged(json!({"mode": "update_params", "params": []})), ["/nodes/4/params/pagination/params"]);
        assert_eq!(
            paged(
                json!({"mode": "next_url", "next_url": "{{ $response.body.next }}", "complete_when": "status_codes"})
            ),
            ["/nodes/4/params/pagination/status_codes"]
        );
    }

    #[test]
    fn expressions_stand_in_for_numbers_and_booleans() {
        assert!(pointers(NodeKind::Limit, json!({"max_items": "{{ $json.n }}"})).is_empty());
        assert!(pointers(NodeKind::Set, json!({"assignments": [], "keep_only": "{{ $json.strict }}"})).is_empty());
        let found = problems(NodeKind::Limit, json!({"max_items": "ten"}));
        assert_eq!(found[0].0, "/nodes/4/params/max_items");
        assert!(found[0].1.contains("expression"), "{}", found[0].1);
    }

    #[test]
    fn unclosed_expressions_are_reported_where_they_are() {
        let params = json!({"assignments": [{"name": "a", "value": {"deep": ["{{ $json.x"]}}]});
        assert_eq!(pointers(NodeKind::Set, params), ["/nodes/4/params/assignments/0/value/deep/0"]);
        assert!(pointers(NodeKind::Code, json!({"code": "if (a) {{ b() }"})).is_empty());
    }

    #[test]
    fn code_mode_is_all_items_or_each_item() {
        assert!(pointers(NodeKind::Code, json!({"mode": "each_item", "code": "return item"})).is_empty());
        assert_eq!(pointers(NodeKind::Code, json!({"mode": "sometimes", "code": "x"})), ["/nodes/4/params/mode"]);
        assert_eq!(pointers(NodeKind::Code, json!({"code": "  "})), ["/nodes/4/params/code"]);
        assert_eq!(pointers(NodeKind::Code, json!({"code": 5})), ["/nodes/4/params/code"]);
    }

    #[test]
    fn wait_needs_exactly_one_of_duration_or_until() {
        assert!(pointers(NodeKind::Wait, json!({"duration_ms": 1000})).is_empty());
        assert!(pointers(NodeKind::Wait, json!({"until": "2026-05-01T09:30:00Z"})).is_empty());
        assert!(pointers(NodeKind::Wait, json!({"until": "{{ $json.due }}"})).is_empty());
        assert_eq!(pointers(NodeKind::Wait, json!({})), ["/nodes/4/params"]);
        assert_eq!(
            pointers(NodeKind::Wait, json!({"duration_ms": 5, "until": "2026-05-01T09:30:00Z"})),
            ["/nodes/4/params"]
        );
        assert_eq!(pointers(NodeKind::Wait, json!({"until": "next tuesday"})), ["/nodes/4/params/until"]);
        assert_eq!(pointers(NodeKind::Wait, json!({"duration_ms": 0})), ["/nodes/4/params/duration_ms"]);
    }

    #[test]
    fn conditions_check_operators_and_operands() {
        let params = json!({"combine": "any", "conditions": [
            {"left": "{{ $json.a }}", "operator": "equals", "right": 1},
            {"left": "{{ $json.a }}", "operator": "gt"},
            {"left": "{{ $json.a }}", "operator": "exists", "right": 1},
            {"left": "{{ $json.a }}", "operator": "lte", "right": [1]},
            {"left": "{{ $json.a }}", "operator": "regex", "right": 3},
            {"left": "{{ $json.a }}", "operator": "is_empty"},
            {"left": "{{ $json.a }}", "operator": "contains", "right": "x"},
            {"left": "{{ $json.a }}", "operator": "not_equals", "right": "{{ $json.b }}"},
            {"left": "{{ $json.a }}", "operator": "gte", "right": 2},
            {"left": "{{ $json.a }}", "operator": "lt", "right": "2026-01-01"}
        ]});
        assert_eq!(
            pointers(NodeKind::If, params),
            [
                "/nodes/4/params/conditions/1",
                "/nodes/4/params/conditions/2/right",
                "/nodes/4/params/conditions/3/right",
                "/nodes/4/params/conditions/4/right"
            ]
        );
        assert_eq!(pointers(NodeKind::Filter, json!({"conditions": []})), ["/nodes/4/params/conditions"]);
        assert_eq!(
            pointers(NodeKind::If, json!({"conditions": [{"left": 1, "operator": "like", "right": 1}]})),
            ["/nodes/4/params/conditions/0/operator"]
        );
        assert_eq!(
            pointers(NodeKind::If, json!({"conditions": [{"left": 1, "operator": "exists"}], "combine": "most"})),
            ["/nodes/4/params/combine"]
        );
    }

    #[test]
    fn switch_rules_are_checked_one_by_one() {
        let params = json!({"rules": [
            {"name": "", "conditions": [{"left": 1, "operator": "exists"}]},
            {"conditions": []}
        ]});
        assert_eq!(
            pointers(NodeKind::Switch, params),
            ["/nodes/4/params/rules/0/name", "/nodes/4/params/rules/1/conditions"]
        );
        assert_eq!(pointers(NodeKind::Switch, json!({"rules": []})), ["/nodes/4/params/rules"]);
    }

    #[test]
    fn set_needs_named_distinct_assignments() {
        let params = json!({"assignments": [
            {"name": "a", "value": 1}, {"name": " ", "value": 2}, {"name": "a", "value": 3}
        ], "keep_only": true});
        assert_eq!(
            pointers(NodeKind::Set, params),
            ["/nodes/4/params/assignments/1/name", "/nodes/4/params/assignments/2/name"]
        );
        assert_eq!(pointers(NodeKind::Set, json!({"assignments": [{"name": "a"}]})), ["/nodes/4/params/assignments/0"]);
    }

    #[test]
    fn literal_regex_patterns_must_compile() {
        let params = json!({"conditions": [
            {"left": "{{ $json.a }}", "operator": "regex", "right": "^(na|sa)$"},
            {"left": "{{ $json.a }}", "operator": "regex", "right": "(unclosed"},
            {"left": "{{ $json.a }}", "operator": "regex", "right": "{{ $json.pattern }}"}
        ]});
        let found = problems(NodeKind::Filter, params);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, "/nodes/4/params/conditions/1/right");
        assert!(found[0].1.contains("not a valid regular expression"), "{}", found[0].1);
    }

    #[test]
    fn field_names_are_literal_dot_paths() {
        let params = json!({"assignments": [
            {"name": "address.city", "value": 1}, {"name": "a..b", "value": 2}, {"name": "{{ $json.k }}", "value": 3}
        ]});
        assert_eq!(
            pointers(NodeKind::Set, params),
            ["/nodes/4/params/assignments/1/name", "/nodes/4/params/assignments/2/name"]
        );
        assert_eq!(
            pointers(NodeKind::Merge, json!({"mode": "by_key", "key": "{{ $json.k }}"})),
            ["/nodes/4/params/key"]
        );
        assert!(pointers(NodeKind::Merge, json!({"mode": "by_key", "key": "customer.id"})).is_empty());
        assert_eq!(
            pointers(NodeKind::Sort, json!({"fields": [{"field": ".a"}, {"field": "a.b"}]})),
            ["/nodes/4/params/fields/0/field"]
        );
        assert_eq!(pointers(NodeKind::Aggregate, json!({"field": "a."})), ["/nodes/4/params/field"]);
        assert_eq!(
            pointers(NodeKind::RemoveDuplicates, json!({"fields": ["email", "{{ $json.f }}"]})),
            ["/nodes/4/params/fields/1"]
        );
    }

    #[test]
    fn merge_by_key_needs_a_key_and_only_it() {
        assert!(pointers(NodeKind::Merge, json!({})).is_empty());
        assert!(pointers(NodeKind::Merge, json!({"mode": "by_key", "key": "id"})).is_empty());
        assert_eq!(pointers(NodeKind::Merge, json!({"mode": "by_key"})), ["/nodes/4/params"]);
        assert_eq!(pointers(NodeKind::Merge, json!({"mode": "wait_both", "key": "id"})), ["/nodes/4/params/key"]);
        assert_eq!(pointers(NodeKind::Merge, json!({"mode": "zip"})), ["/nodes/4/params/mode"]);
        let both = json!({"mode": "by_key", "key": "id", "fields": [{"a": "id", "b": "id"}]});
        assert_eq!(pointers(NodeKind::Merge, both), ["/nodes/4/params/fields"]);
        let empty_field = json!({"mode": "by_key", "fields": [{"a": "id", "b": " "}]});
        assert_eq!(pointers(NodeKind::Merge, empty_field), ["/nodes/4/params/fields/0/b"]);
    }

    #[test]
    fn set_keeps_by_keep_or_keep_only_not_both() {
        assert!(pointers(NodeKind::Set, json!({"keep": {"only": ["a.b"]}})).is_empty());
        assert!(pointers(NodeKind::Set, json!({"keep": "none", "keep_only": false})).is_empty());
        assert_eq!(pointers(NodeKind::Set, json!({"keep": "all", "keep_only": true})), ["/nodes/4/params/keep_only"]);
        assert_eq!(
            pointers(NodeKind::Set, json!({"keep": {"except": ["a", "b."]}})),
            ["/nodes/4/params/keep/except/1"]
        );
        assert_eq!(pointers(NodeKind::Set, json!({"keep": "some"})), ["/nodes/4/params/keep"]);
    }

    #[test]
    fn send_email_needs_a_recipient() {
        assert!(pointers(NodeKind::SendEmail, json!({"to": "{{ $json.email }}", "subject": "Hi"})).is_empty());
        assert_eq!(pointers(NodeKind::SendEmail, json!({"to": " "})), ["/nodes/4/params/to"]);
        assert_eq!(
            pointers(NodeKind::SendEmail, json!({"to": "a@example.com", "from": "x"})),
            ["/nodes/4/params/from"]
        );
    }

    #[test]
    fn merge_params_belong_to_their_modes() {
        let at = |params: Value| pointers(NodeKind::Merge, params);
        assert!(at(json!({"mode": "by_key", "fields": [{"a": "x", "b": "y"}], "join": "unmatched", "output_from": "right", "clash": "add_suffix", "deep": true, "all_matches": false})).is_empty());
        assert!(at(json!({"mode": "choose_branch", "inputs": 4, "choose": 3})).is_empty());
        assert!(at(json!({"mode": "choose_branch", "choose": "empty"})).is_empty());
        assert_eq!(at(json!({"mode": "choose_branch", "choose": 2})), ["/nodes/4/params/choose"]);
        assert_eq!(at(json!({"mode": "append", "choose": 0})), ["/nodes/4/params/choose"]);
        assert_eq!(at(json!({"mode": "append", "inputs": 11})), ["/nodes/4/params/inputs"]);
        assert_eq!(at(json!({"mode": "cross_join", "inputs": 3})), ["/nodes/4/params/inputs"]);
        assert_eq!(at(json!({"mode": "append", "deep": true})), ["/nodes/4/params/deep"]);
        assert_eq!(at(json!({"mode": "by_position", "join": "left"})), ["/nodes/4/params/join"]);
        assert_eq!(
            at(json!({"mode": "by_key", "key": "k", "join": "left", "output_from": "left"})),
            ["/nodes/4/params/output_from"]
        );
        assert_eq!(at(json!({"mode": "cross_join", "include_unpaired": true})), ["/nodes/4/params/include_unpaired"]);
    }

    #[test]
    fn loop_batch_size_is_a_positive_literal() {
        assert!(pointers(NodeKind::Loop, json!({})).is_empty());
        assert!(pointers(NodeKind::Loop, json!({"batch_size": 10})).is_empty());
        assert_eq!(pointers(NodeKind::Loop, json!({"batch_size": 0})), ["/nodes/4/params/batch_size"]);
        assert_eq!(pointers(NodeKind::Loop, json!({"batch_size": "{{ $json.n }}"})), ["/nodes/4/params/batch_size"]);
        assert_eq!(pointers(NodeKind::Loop, json!({"max_passes": 3})), ["/nodes/4/params/max_passes"]);
    }

    #[test]
    fn graphql_needs_an_endpoint_and_a_query_and_sends_variables_only_in_json() {
        let base = || json!({"endpoint": "https://api.example/graphql", "query": "{ a }"});
        assert!(pointers(NodeKind::Graphql, base()).is_empty());
        assert_eq!(
            pointers(NodeKind::Graphql, json!({"endpoint": "ftp://x", "query": " "})),
            ["/nodes/4/params/endpoint", "/nodes/4/params/query"]
        );
        let mut get = base();
        get["method"] = json!("GET");
        get["variables"] = json!({"a": 1});
        assert_eq!(pointers(NodeKind::Graphql, get), ["/nodes/4/params/variables"]);
        let mut listed = base();
        listed["variables"] = json!([1]);
        assert_eq!(pointers(NodeKind::Graphql, listed), ["/nodes/4/params/variables"]);
        let mut file = base();
        file["response"] = json!("file");
        assert_eq!(pointers(NodeKind::Graphql, file), ["/nodes/4/params/response"]);
    }

    #[test]
    fn graphql_is_sent_as_an_http_request() {
        use crate::params::graphql_as_http;
        let params = |value: Value| value.as_object().unwrap().clone();
        let json_post =
            graphql_as_http(&params(json!({"endpoint": "https://g.example", "query": "{ a }", "headers": {"X": "1"}})));
        assert_eq!(
            Value::Object(json_post),
            json!({"url": "https://g.example", "method": "POST", "headers": {"X": "1"},
                "body": {"json": {"query": "{ a }", "variables": {}, "operationName": null}},
                "response": "json", "output": "body", "fail_on_non_2xx": false})
        );
        let raw =
            graphql_as_http(&params(json!({"endpoint": "https://g.example", "query": "{ a }", "format": "graphql"})));
        assert_eq!(raw["body"], json!({"raw": "{ a }", "content_type": "application/graphql"}));
        let get = graphql_as_http(&params(json!({"endpoint": "https://g.example", "query": "{ a }", "method": "GET"})));
        assert_eq!((get.get("body"), &get["query"]), (None, &json!({"query": "{ a }"})));
    }

    #[test]
    fn a_repeat_loop_takes_a_bounded_number_of_passes() {
        assert!(pointers(NodeKind::Loop, json!({"mode": "repeat"})).is_empty());
        assert!(pointers(NodeKind::Loop, json!({"mode": "repeat", "max_passes": 10_000})).is_empty());
        assert_eq!(
            pointers(NodeKind::Loop, json!({"mode": "repeat", "max_passes": 0})),
            ["/nodes/4/params/max_passes"]
        );
        assert_eq!(
            pointers(NodeKind::Loop, json!({"mode": "repeat", "max_passes": 10_001})),
            ["/nodes/4/params/max_passes"]
        );
        assert_eq!(
            pointers(NodeKind::Loop, json!({"mode": "repeat", "batch_size": 2})),
            ["/nodes/4/params/batch_size"]
        );
        assert_eq!(pointers(NodeKind::Loop, json!({"mode": "forever"})), ["/nodes/4/params/mode"]);
    }

    #[test]
    fn aggregate_takes_a_field_or_fields_or_a_destination() {
        assert!(
            pointers(NodeKind::Aggregate, json!({"fields": [{"field": "a.b", "output": "bs"}], "merge_lists": true}))
                .is_empty()
        );
        assert!(pointers(NodeKind::Aggregate, json!({"destination": "data"})).is_empty());
        assert_eq!(pointers(NodeKind::Aggregate, json!({"field": "a", "fields": []})), ["/nodes/4/params"]);
        assert_eq!(pointers(NodeKind::Aggregate, json!({"fields": []})), ["/nodes/4/params/fields"]);
        assert_eq!(
            pointers(NodeKind::Aggregate, json!({"fields": [{"field": "a", "output": "b..c"}]})),
            ["/nodes/4/params/fields/0/output"]
        );
        assert_eq!(
            pointers(NodeKind::Aggregate, json!({"field": "a", "destination": "d"})),
            ["/nodes/4/params/destination"]
        );
        assert_eq!(pointers(NodeKind::Aggregate, json!({"keep_missing": true})), ["/nodes/4/params"]);
    }

    #[test]
    fn set_json_output_is_an_object_or_an_expression_and_alone() {
        assert!(pointers(NodeKind::Set, json!({"json_output": "{\"a\": \"{{ $json.b }}\"}"})).is_empty());
        assert!(pointers(NodeKind::Set, json!({"json_output": "{\"a\": 1}"})).is_empty());
        assert_eq!(pointers(NodeKind::Set, json!({"json_output": "[1]"})), ["/nodes/4/params/json_output"]);
        assert_eq!(
            pointers(NodeKind::Set, json!({"json_output": "{}", "assignments": [{"name": "a", "value": 1}]})),
            ["/nodes/4/params/json_output"]
        );
    }

    #[test]
    fn date_time_params_fit_their_operation() {
        assert!(
            pointers(NodeKind::DateTime, json!({"operation": "current_date", "timezone": "Europe/Paris"})).is_empty()
        );
        assert!(
            pointers(
                NodeKind::DateTime,
                json!({"operation": "format", "date": "{{ $json.at }}", "format": "yyyy-MM-dd 'at' HH:mm"})
            )
            .is_empty()
        );
        assert_eq!(
            pointers(
                NodeKind::DateTime,
                json!({"operation": "add", "date": 1, "unit": "days", "timezone": "Mars/Olympus"})
            ),
            ["/nodes/4/params/timezone", "/nodes/4/params/amount"]
        );
        assert_eq!(
            pointers(NodeKind::DateTime, json!({"operation": "format", "date": "x", "format": "yyyy-QQ"})),
            ["/nodes/4/params/format"]
        );
        assert_eq!(
            pointers(
                NodeKind::DateTime,
                json!({"operation": "between", "date": "x", "end_date": "y", "direction": "up"})
            ),
            ["/nodes/4/params/units", "/nodes/4/params/direction"]
        );
        assert_eq!(
            pointers(NodeKind::DateTime, json!({"operation": "round", "date": "x", "unit": "milliseconds"})),
            ["/nodes/4/params/unit"]
        );
    }

    #[test]
    fn crypto_params_fit_their_action() {
        assert!(
            pointers(NodeKind::Crypto, json!({"action": "hash", "algorithm": "sha1", "value": "{{ $json.a }}"}))
                .is_empty()
        );
        assert!(pointers(NodeKind::Crypto, json!({"action": "generate", "encoding": "hex", "length": 8})).is_empty());
        assert_eq!(
            pointers(NodeKind::Crypto, json!({"action": "hmac", "value": "x", "length": 3, "field": "a..b"})),
            ["/nodes/4/params/field", "/nodes/4/params/algorithm", "/nodes/4/params/length", "/nodes/4/params/secret"]
        );
        assert_eq!(
            pointers(NodeKind::Crypto, json!({"action": "generate", "value": "x", "length": 0, "encoding": "base64"})),
            ["/nodes/4/params/value", "/nodes/4/params/length"]
        );
        assert_eq!(pointers(NodeKind::Crypto, json!({"action": "generate", "length": 5})), ["/nodes/4/params/length"]);
    }

    #[test]
    fn html_extract_checks_selectors_keys_and_what_each_return_takes() {
        let params = json!({"source_field": "page.html", "extract": [
            {"key": "t", "selector": "h1 > a.title", "skip": ["span"]},
            {"key": "h", "selector": "a", "return": "attribute", "attribute": "href", "all": true},
            {"key": "s", "selector": "{{ $json.selector }}", "return": "raw_text"}
        ]});
        assert!(pointers(NodeKind::HtmlExtract, params).is_empty());
        assert_eq!(pointers(NodeKind::HtmlExtract, json!({"extract": []})), ["/nodes/4/params/extract"]);
        let params = json!({"source_field": "a..b", "extract": [
            {"key": "", "selector": "h1[["},
            {"key": "x", "selector": "a", "return": "attribute"},
            {"key": "x", "selector": "a", "return": "html", "attribute": "href", "skip": ["p"]},
            {"key": "{{ $json.k }}", "selector": "a", "skip": ["::nope("]}
        ]});
        assert_eq!(
            pointers(NodeKind::HtmlExtract, params),
            [
                "/nodes/4/params/source_field",
                "/nodes/4/params/extract/0/key",
                "/nodes/4/params/extract/0/selector",
                "/nodes/4/params/extract/1/attribute",
                "/nodes/4/params/extract/2/key",
                "/nodes/4/params/extract/2/attribute",
                "/nodes/4/params/extract/2/skip",
                "/nodes/4/params/extract/3/key",
                "/nodes/4/params/extract/3/skip/0"
            ]
        );
        assert!(pointers(NodeKind::HtmlTable, json!({"caption": "{{ $json.c }}", "default_style": false})).is_empty());
        assert_eq!(pointers(NodeKind::HtmlTable, json!({"style": "x"})), ["/nodes/4/params/style"]);
    }

    #[test]
    fn markdown_and_xml_options_belong_to_their_mode() {
        assert!(pointers(NodeKind::Markdown, json!({"mode": "to_html", "value": "x", "tables": true})).is_empty());
        assert_eq!(
            pointers(
                NodeKind::Markdown,
                json!({"mode": "to_markdown", "value": "x", "tables": true, "bullet": " ", "ignore": ["nav", "a b"]})
            ),
            ["/nodes/4/params/tables", "/nodes/4/params/bullet", "/nodes/4/params/ignore/1"]
        );
        assert_eq!(
            pointers(NodeKind::Markdown, json!({"mode": "to_html", "value": "x", "code_fence": "~~~", "field": ""})),
            ["/nodes/4/params/field", "/nodes/4/params/code_fence"]
        );
        assert!(pointers(NodeKind::Xml, json!({"mode": "to_xml", "root_name": "doc", "cdata": true})).is_empty());
        assert_eq!(
            pointers(NodeKind::Xml, json!({"mode": "to_json", "root_name": "doc", "attribute_key": "_"})),
            ["/nodes/4/params/text_key", "/nodes/4/params/root_name"]
        );
        assert_eq!(
            pointers(NodeKind::Xml, json!({"mode": "to_xml", "trim": true, "root_name": "1doc"})),
            ["/nodes/4/params/trim", "/nodes/4/params/root_name"]
        );
    }

    #[test]
    fn rename_keys_needs_paths_both_ways() {
        assert!(pointers(NodeKind::RenameKeys, json!({"keys": [{"from": "a.b", "to": "c"}]})).is_empty());
        assert_eq!(pointers(NodeKind::RenameKeys, json!({"keys": []})), ["/nodes/4/params/keys"]);
        assert_eq!(
            pointers(NodeKind::RenameKeys, json!({"keys": [{"from": "", "to": "{{ $json.k }}"}]})),
            ["/nodes/4/params/keys/0/from", "/nodes/4/params/keys/0/to"]
        );
    }

    #[test]
    fn summarize_checks_its_fields_and_what_each_aggregation_takes() {
        let count = json!({"field": "id", "aggregation": "count"});
        assert!(pointers(NodeKind::Summarize, json!({"fields": [count], "split_by": ["a.b"]})).is_empty());
        assert_eq!(pointers(NodeKind::Summarize, json!({"fields": []})), ["/nodes/4/params/fields"]);
        assert_eq!(
            pointers(
                NodeKind::Summarize,
                json!({"fields": [
                    {"field": "n", "aggregation": "sum", "separator": ",", "include_empty": true}, {"field": "", "aggregation": "max"}
                ], "skip_empty_groups": true})
            ),
            [
                "/nodes/4/params/fields/0/separator",
                "/nodes/4/params/fields/0/include_empty",
                "/nodes/4/params/fields/1/field",
                "/nodes/4/params/skip_empty_groups"
            ]
        );
        assert_eq!(
            pointers(NodeKind::Summarize, json!({"fields": [{"field": "n", "aggregation": "median"}]})).len(),
            1
        );
    }

    #[test]
    fn compare_datasets_takes_two_inputs_and_pairs_of_fields() {
        assert_eq!(NodeKind::CompareDatasets.outputs(&Map::new()), ["in_a_only", "same", "different", "in_b_only"]);
        assert!(pointers(NodeKind::CompareDatasets, json!({"fields": [{"a": "id", "b": "user.id"}]})).is_empty());
        assert_eq!(pointers(NodeKind::CompareDatasets, json!({"fields": []})), ["/nodes/4/params/fields"]);
        assert_eq!(
            pointers(
                NodeKind::CompareDatasets,
                json!({"fields": [{"a": "", "b": "id"}], "skip_fields": ["{{ $json.x }}"], "when_different": "include_both"})
            ),
            ["/nodes/4/params/fields/0/a", "/nodes/4/params/skip_fields/0"]
        );
        assert_eq!(
            pointers(NodeKind::CompareDatasets, json!({"fields": [{"a": "id", "b": "id"}], "when_different": "mix"}))
                .len(),
            1
        );
    }

    #[test]
    fn split_out_checks_its_fields_and_what_it_includes() {
        assert!(pointers(NodeKind::SplitOut, json!({"fields": [{"field": "rows", "destination": "row"}]})).is_empty());
        assert_eq!(pointers(NodeKind::SplitOut, json!({"fields": []})), ["/nodes/4/params/fields"]);
        assert_eq!(
            pointers(NodeKind::SplitOut, json!({"fields": [{"field": "a..b"}, {"field": "c", "destination": ""}]})),
            ["/nodes/4/params/fields/0/field", "/nodes/4/params/fields/1/destination"]
        );
        assert_eq!(
            pointers(NodeKind::SplitOut, json!({"fields": [{"field": "a"}], "include": "selected"})),
            ["/nodes/4/params"]
        );
        assert_eq!(
            pointers(
                NodeKind::SplitOut,
                json!({"fields": [{"field": "a"}], "include": "all", "include_fields": ["b"]})
            ),
            ["/nodes/4/params/include_fields"]
        );
        assert_eq!(
            pointers(
                NodeKind::SplitOut,
                json!({"fields": [{"field": "a"}], "include": "selected", "include_fields": [""]})
            ),
            ["/nodes/4/params/include_fields/0"]
        );
    }

    #[test]
    fn the_smaller_nodes_check_their_fields() {
        assert_eq!(
            pointers(NodeKind::Sort, json!({"fields": [{"field": "a", "order": "up"}]})),
            ["/nodes/4/params/fields/0/order"]
        );
        assert_eq!(pointers(NodeKind::Sort, json!({"fields": [{"field": ""}]})), ["/nodes/4/params/fields/0/field"]);
        assert_eq!(pointers(NodeKind::Sort, json!({"fields": []})), ["/nodes/4/params/fields"]);
        assert_eq!(pointers(NodeKind::Limit, json!({"max_items": 0})), ["/nodes/4/params/max_items"]);
        assert!(pointers(NodeKind::Limit, json!({"max_items": 3, "keep": "last"})).is_empty());
        assert_eq!(pointers(NodeKind::RemoveDuplicates, json!({"fields": []})), ["/nodes/4/params/fields"]);
        assert!(pointers(NodeKind::RemoveDuplicates, json!({})).is_empty());
        assert!(pointers(NodeKind::RemoveDuplicates, json!({"across_runs": {"value": "{{ $json.id }}"}})).is_empty());
        assert_eq!(
            pointers(NodeKind::RemoveDuplicates, json!({"fields": ["a"], "across_runs": {"value": " ", "keep": 0}})),
            ["/nodes/4/params/across_runs", "/nodes/4/params/across_runs/value", "/nodes/4/params/across_runs/keep"]
        );
        assert_eq!(pointers(NodeKind::Aggregate, json!({"field": ""})), ["/nodes/4/params/field"]);
        assert_eq!(pointers(NodeKind::StopAndError, json!({})), ["/nodes/4/params"]);
        assert_eq!(pointers(NodeKind::StopAndError, json!({"message": ""})), ["/nodes/4/params/message"]);
        assert_eq!(pointers(NodeKind::NoOp, json!({"anything": 1})), ["/nodes/4/params/anything"]);
        assert_eq!(
            pointers(NodeKind::ExecuteWorkflow, json!({"workflow_id": "orders"})),
            ["/nodes/4/params/workflow_id"]
        );
        assert!(
            pointers(NodeKind::ExecuteWorkflow, json!({"workflow_id": "wf_01jabcdefghjkmnpqrstvwxyz0"})).is_empty()
        );
    }
}
