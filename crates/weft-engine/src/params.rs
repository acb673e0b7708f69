//! Typed params of each built-in node type, and the rules they must follow beyond their shape.
//!
//! Validation reads a node's params into its type's struct (unknown fields refused) and then
//! checks the rules; the worker reads the same structs to execute the node, so what validation
//! accepts is exactly what execution understands.
//!
//! A string containing `{{` is an expression evaluated at run time. Where a number or a boolean
//! is expected, [`ParamValue`] accepts such a string in its place. Params that decide the shape
//! of the graph or the plan (operators, modes, switch rules, a loop's batch size) must be
//! literal: they are needed before any item exists. So must field names, which say where to read
//! or write for every item alike.

use std::collections::BTreeMap;

use regex::Regex;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::definition::{DefinitionProblem, read};
use crate::formats::{is_expression, is_header_name, is_rfc3339, is_workflow_id};
use crate::pointer::Pointer;

/// A param that is either a literal of its type or an expression producing one at run time.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue<T> {
    Literal(T),
    Expression(String),
}

impl<T: Default> Default for ParamValue<T> {
    fn default() -> Self {
        ParamValue::Literal(T::default())
    }
}

impl<T> ParamValue<T> {
    /// The literal, if this is one; expressions are only known at run time.
    pub fn literal(&self) -> Option<&T> {
        match self {
            ParamValue::Literal(value) => Some(value),
            ParamValue::Expression(_) => None,
        }
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for ParamValue<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        if let Value::String(text) = &value
            && is_expression(text)
        {
            return Ok(ParamValue::Expression(text.clone()));
        }
        T::deserialize(value)
            .map(ParamValue::Literal)
            .map_err(|error| serde::de::Error::custom(format!("{error}, or a {{{{ … }}}} expression")))
    }
}

/// Rules a node's params follow once they have the right shape.
pub(crate) trait ParamRules: DeserializeOwned {
    fn check(&self, at: &Pointer, problems: &mut Vec<DefinitionProblem>);
}

/// Reads `params` as `P` and checks its rules; problems are located below `at`.
pub(crate) fn check_as<P: ParamRules>(
    params: &Map<String, Value>,
    at: &Pointer,
    problems: &mut Vec<DefinitionProblem>,
) {
    match read::<P>(&Value::Object(params.clone()), at) {
        Ok(typed) => typed.check(at, problems),
        Err(problem) => problems.push(problem),
    }
}

/// What is wrong with a field name, if anything. Fields are named by dot paths (`address.city`
/// is `city` inside `address`), and literally: a name says where to read or write, for every
/// item alike, so an expression there is refused rather than taken as a strange field name.
fn field_path_problem(path: &str) -> Option<&'static str> {
    if is_expression(path) {
        Some("names a field, so it cannot be an expression")
    } else if path.split('.').any(str::is_empty) {
        Some("has an empty part between dots (`a.b` is the field `b` inside `a`)")
    } else {
        None
    }
}

/// For node types that take no params (`manual_trigger`, `no_op`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}

impl ParamRules for NoParams {
    fn check(&self, _: &Pointer, _: &mut Vec<DefinitionProblem>) {}
}

/// `set`: assigns fields on every item.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetParams {
    #[serde(default)]
    pub assignments: Vec<Assignment>,
    /// Instead of assignments, an object whose members are all assigned: JSON text with
    /// expressions spliced in, or one expression giving an object (n8n's JSON output mode).
    #[serde(default)]
    pub json_output: Option<String>,
    /// Drop every field that is not assigned here (`keep: none`, spelt as before `keep` was).
    #[serde(default)]
    pub keep_only: ParamValue<bool>,
    /// Which of the item's fields are kept besides the assigned ones; default all.
    #[serde(default)]
    pub keep: Option<Keep>,
}

/// The input fields a `set` keeps besides those it assigns.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Keep {
    All,
    None,
    /// These fields (dot paths) alone.
    Only(Vec<String>),
    /// Every field but these.
    Except(Vec<String>),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Assignment {
    /// A field name; dots reach into nested objects (`address.city`).
    pub name: String,
    /// Any JSON value; strings may hold expressions, and a string that is exactly one expression
    /// takes the type of its result.
    pub value: Value,
}

impl ParamRules for SetParams {
    fn check(&self, at: &Pointer, problems: &mut Vec<DefinitionProblem>) {
        if self.keep.is_some() && self.keep_only != ParamValue::Literal(false) {
            problems.push(at.key("keep_only").problem("give `keep` or `keep_only`, not both"));
        }
        if let Some(Keep::Only(fields) | Keep::Except(fields)) = &self.keep {
            let variant = if matches!(self.keep, Some(Keep::Only(_))) { "only" } else { "except" };
            for (index, field) in fields.iter().enumerate() {
                let problem = if field.trim().is_empty() { Some("cannot be empty") } else { field_path_problem(field) };
                if let Some(problem) = problem {
                    problems.push(at.key("keep").key(variant).index(index).problem(problem));
                }
            }
        }
        if let Some(text) = &self.json_output {
            if !self.assignments.is_empty() {
                problems.push(at.key("json_output").problem("give `assignments` or `json_output`, not both"));
            } else if !is_expression(text) && !matches!(serde_json::from_str(text), Ok(Value::Object(_))) {
                problems.push(
                    at.key("json_output").problem("must be a JSON object, or text or an expression that gives one"),
                );
            }
        }
        let at = at.key("assignments");
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        for (index, assignment) in self.assignments.iter().enumerate() {
            let name_at = at.index(index).key("name");
            if assignment.name.trim().is_empty() {
                problems.push(name_at.problem("an assignment needs a field name"));
            } else if let Some(problem) = field_path_problem(&assignment.name) {
                problems.push(name_at.problem(problem));
            } else if let Some(first) = seen.insert(&assignment.name, index) {
                seen.insert(&assignment.name, first);
                problems
                    .push(name_at.problem(format!("`{}` is already assigned by assignment {first}", assignment.name)));
            }
        }
    }
}

/// How an `if`, `filter` or switch rule compares a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operator {
    Equals,
    NotEquals,
    /// A string contains a substring, or an array contains an element.
    Contains,
    Gt,
    Gte,
    Lt,
    Lte,
    /// The value is present and not null.
    Exists,
    /// Null, missing, `""`, `[]` or `{}`.
    IsEmpty,
    /// `left` matches the regular expression in `right`.
    Regex,
}

impl Operator {
    /// Whether the operator compares `left` with a `right`.
    pub fn takes_right(self) -> bool {
        !matches!(self, Operator::Exists | Operator::IsEmpty)
    }

    fn name(self) -> &'static str {
        match self {
            Operator::Equals => "equals",
            Operator::NotEquals => "not_equals",
            Operator::Contains => "contains",
            Operator::Gt => "gt",
            Operator::Gte => "gte",
            Operator::Lt => "lt",
            Operator::Lte => "lte",
            Operator::Exists => "exists",
            Operator::IsEmpty => "is_empty",
            Operator::Regex => "regex",
        }
    }
}

/// `{left, operator, right?}`; `left` is usually an expression such as `{{ $json.status }}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    pub left: Value,
    pub operator: Operator,
    /// What `left` is compared with; `null` counts as absent.
    #[serde(default)]
    pub right: Option<Value>,
}

/// Whether every condition must hold, or one is enough.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Combine {
    #[default]
    All,
    Any,
}

/// `if` (outputs `true` and `false`) and `filter` (keeps the items that match).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionParams {
    pub conditions: Vec<Condition>,
    #[serde(default)]
    pub combine: Combine,
}

impl ParamRules for ConditionParams {
    fn check(&self, at: &Pointer, problems: &mut Vec<DefinitionProblem>) {
        check_conditions(&self.conditions, &at.key("conditions"), problems);
    }
}

fn check_conditions(conditions: &[Condition], at: &Pointer, problems: &mut Vec<DefinitionProblem>) {
    if conditions.is_empty() {
        problems.push(at.problem("needs at least one condition"));
    }
    for (index, condition) in conditions.iter().enumerate() {
        let at = at.index(index);
        let operator = condition.operator.name();
        match (&condition.right, condition.operator) {
            (None, op) if op.takes_right() => {
                problems.push(at.problem(format!("`{operator}` compares `left` with `right`, which is missing")));
            }
            (Some(_), op) if !op.takes_right() => {
                problems.push(at.key("right").problem(format!("`{operator}` takes no `right`")));
            }
            (Some(right), Operator::Gt | Operator::Gte | Operator::Lt | Operator::Lte)
                if !(right.is_number() || right.is_string()) =>
            {
                problems.push(at.key("right").problem(format!("`{operator}` compares with a number or a string")));
            }
            (Some(right), Operator::Regex) => match right {
                Value::String(pattern) if is_expression(pattern) => {}
                Value::String(pattern) => {
                    if let Err(error) = Regex::new(pattern) {
                        problems.push(at.key("right").problem(format!("is not a valid regular expression: {error}")));
                    }
                }
                _ => problems.push(at.key("right").problem("`regex` needs the pattern as a string")),
            },
            _ => {}
        }
    }
}

/// `switch`: routes each item to the output of the first rule it matches (or of every rule it
/// matches, with `all_matches`); items matching none go to the last output, `fallback`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SwitchParams {
    pub rules: Vec<SwitchRule>,
    #[serde(default)]
    pub all_matches: ParamValue<bool>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SwitchRule {
    /// The output's name; `rule_<index>` when absent.
    #[serde(default)]
    pub name: Option<String>,
    pub conditions: Vec<Condition>,
    #[serde(default)]
    pub combine: Combine,
}

impl ParamRules for SwitchParams {
    fn check(&self, at: &Pointer, problems: &mut Vec<DefinitionProblem>) {
        let at = at.key("rules");
        if self.rules.is_empty() {
            problems.push(at.problem("needs at least one rule (items that match no rule go to `fallback`)"));
        }
        for (index, rule) in self.rules.iter().enumerate() {
            let at = at.index(index);
            if rule.name.as_deref().is_some_and(|name| name.trim().is_empty()) {
                problems.push(at.key("name").problem("a rule's name may be left out but not empty"));
            }
            check_conditions(&rule.conditions, &at.key("conditions"), problems);
        }
    }
}

/// The most inputs a `merge` takes (n8n's Merge also stops at 10).
pub const MAX_MERGE_INPUTS: u64 = 10;

/// `merge`: combines its inputs (two unless `inputs` says more).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MergeParams {
    #[serde(default)]
    pub mode: MergeMode,
    /// How many inputs the node has, 2 to [`MAX_MERGE_INPUTS`]; more than 2 only for `append`,
    /// `wait_both`, `by_position` and `choose_branch`.
    #[serde(default = "two_inputs")]
    pub inputs: u64,
    /// `by_key`: the field (dot path) matched between the inputs, when it has the same name on
    /// both sides; otherwise `fields`.
    #[serde(default)]
    pub key: Option<String>,
    /// `by_key`: pairs of fields (`a` in input 0, `b` in input 1) that must all hold equal values.
    #[serde(default)]
    pub fields: Vec<MatchFields>,
    /// `by_key`: which items go out.
    #[serde(default)]
    pub join: Join,
    /// `by_key` with `join` inner or unmatched: whose items go out.
    #[serde(default)]
    pub output_from: OutputFrom,
    /// `by_key`: an item pairs with every item it matches (default), or with the first only.
    #[serde(default = "yes")]
    pub all_matches: bool,
    /// Which input's value a field takes when combined items both have it. By default the last
    /// input's, but for `join: right` input 0's (n8n's defaults).
    #[serde(default)]
    pub clash: Option<Clash>,
    /// Combine objects inside fields too (n8n's deep merge), rather than taking the winner's
    /// whole value.
    #[serde(default)]
    pub deep: bool,
    /// `by_position`: go on to the longest input, combining what items there are, rather than
    /// stopping at the shortest.
    #[serde(default)]
    pub include_unpaired: bool,
    /// `choose_branch`: the input whose items go out (default 0), or `"empty"` for one empty item.
    #[serde(default)]
    pub choose: Option<Chosen>,
}

fn two_inputs() -> u64 {
    2
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MergeMode {
    /// Every input's items, input by input. Runs when any input has items.
    #[default]
    Append,
    /// Pairs items whose key fields are equal (`key` or `fields`), as `join` says.
    ByKey,
    /// Combines the n-th item of every input.
    ByPosition,
    /// Like `append`, but runs only if every input has items; otherwise it is skipped.
    WaitBoth,
    /// Every pairing of an input 0 item with an input 1 item (n8n's multiplex / all
    /// combinations), combined; nothing if either is empty.
    CrossJoin,
    /// Waits for every input to have items, then passes one input's items on unchanged (or a
    /// single empty item); skipped otherwise.
    ChooseBranch,
}

/// Which items a `by_key` merge sends out, in SQL's words (n8n's output types in brackets).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Join {
    /// Matched pairs, combined (keep matches).
    #[default]
    Inner,
    /// Every input 0 item, combined with its matches (enrich input 1).
    Left,
    /// Every input 1 item, combined with its matches (enrich input 2).
    Right,
    /// Matched pairs combined, then the unmatched items of input 0, then of input 1 (keep
    /// everything).
    Outer,
    /// Only the items that matched nothing (keep non-matches).
    Unmatched,
}

/// Whose items an `inner` or `unmatched` join sends out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputFrom {
    /// `inner`: each pair combined; `unmatched`: both inputs' items, each with `_source`
    /// (`input1` or `input2`, n8n's names).
    #[default]
    Both,
    /// Input 0's items (once each, however many items they matched).
    Left,
    /// Input 1's items.
    Right,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Clash {
    /// Input 0's value wins.
    PreferFirst,
    /// The last input's value wins.
    PreferLast,
    /// No clash at all: every field of input k is renamed `<field>_<k + 1>` (n8n's input
    /// numbers) before the items are combined.
    AddSuffix,
}

/// What a `choose_branch` merge sends out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Chosen {
    /// The items of this input.
    Input(u64),
    /// One item with no fields.
    Empty(EmptyItem),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmptyItem {
    Empty,
}

impl ParamRules for MergeParams {
    fn check(&self, at: &Pointer, problems: &mut Vec<DefinitionProblem>) {
        let mode = self.mode;
        let by_key = mode == MergeMode::ByKey;
        if !(2..=MAX_MERGE_INPUTS).contains(&self.inputs) {
            problems.push(at.key("inputs").problem(format!("must be 2 to {MAX_MERGE_INPUTS}")));
        } else if self.inputs > 2 && matches!(mode, MergeMode::ByKey | MergeMode::CrossJoin) {
            problems.push(at.key("inputs").problem("`by_key` and `cross_join` combine exactly two inputs"));
        }
        match (&self.key, self.fields.is_empty()) {
            (None, true) if by_key => {
                problems.push(at.problem("`by_key` needs `key` or `fields`, the fields to match on"));
            }
            (Some(_), false) => problems.push(at.key("fields").problem("give `key` or `fields`, not both")),
            _ => {}
        }
        if let Some(key) = &self.key {
            if !by_key {
                problems.push(at.key("key").problem("only `by_key` uses `key`"));
            } else if key.trim().is_empty() {
                problems.push(at.key("key").problem("`key` names the field to match on and cannot be empty"));
            } else if let Some(problem) = field_path_problem(key) {
                problems.push(at.key("key").problem(problem));
            }
        }
        if !self.fields.is_empty() && !by_key {
            problems.push(at.key("fields").problem("only `by_key` uses `fields`"));
        }
        for (index, pair) in self.fields.iter().enumerate() {
            for (side, field) in [("a", &pair.a), ("b", &pair.b)] {
                let problem = if field.trim().is_empty() { Some("cannot be empty") } else { field_path_problem(field) };
                if let Some(problem) = problem {
                    problems.push(at.key("fields").index(index).key(side).problem(problem));
                }
            }
        }
        if !by_key {
            let unused = [
                ("join", self.join != Join::default()),
                ("output_from", self.output_from != OutputFrom::default()),
                ("all_matches", !self.all_matches),
            ];
            for (name, _) in unused.iter().filter(|(_, set)| *set) {
                problems.push(at.key(name).problem("only `by_key` uses it"));
            }
        } else if self.output_from != OutputFrom::Both && !matches!(self.join, Join::Inner | Join::Unmatched) {
            problems.push(at.key("output_from").problem("only `join` inner and unmatched use it"));
        }
        let combines = matches!(mode, MergeMode::ByKey | MergeMode::ByPosition | MergeMode::CrossJoin);
        if !combines {
            for (name, set) in [("clash", self.clash.is_some()), ("deep", self.deep)] {
                if set {
                    problems.push(at.key(name).problem("only modes that combine items use it"));
                }
            }
        }
        if self.include_unpaired && mode != MergeMode::ByPosition {
            problems.push(at.key("include_unpaired").problem("only `by_position` uses it"));
        }
        match self.choose {
            Some(_) if mode != MergeMode::ChooseBranch => {
                problems.push(at.key("choose").problem("only `choose_branch` uses it"));
            }
            Some(Chosen::Input(input)) if input >= self.inputs => {
                problems.push(at.key("choose").problem(format!("the node has inputs 0 to {}", self.inputs - 1)));
            }
            _ => {}
        }
    }
}

/// `code`: JavaScript run in the sandbox, n8n-style (`return items`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeParams {
    #[serde(default)]
    pub mode: CodeMode,
    /// The source. It is never read as an expression: `{{` is ordinary JavaScript here.
    pub code: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodeMode {
    /// Once for the whole input, with `items`.
    #[default]
    AllItems,
    /// Once per item, with `item` (and `$json`).
    EachItem,
}

impl ParamRules for CodeParams {
    fn check(&self, at: &Pointer, problems: &mut Vec<DefinitionProblem>) {
        if self.code.trim().is_empty() {
            problems.push(at.key("code").problem("needs code to run"));
        }
    }
}

/// `http_request`: one request per item through the SSRF-guarded client. The node's own
/// `timeout_ms` bounds each request.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpRequestParams {
    #[serde(default)]
    pub method: ParamValue<Method>,
    pub url: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Query parameters; an array value repeats the parameter.
    #[serde(default)]
    pub query: BTreeMap<String, Value>,
    #[serde(default)]
    pub body: Option<HttpBody>,
    #[serde(default)]
    pub response: ResponseFormat,
    #[serde(default)]
    pub output: HttpOutput,
    /// With `response: file`: the name of the attachment the body becomes (default `data`).
    #[serde(default)]
    pub output_field: Option<String>,
    /// Treat a status outside 2xx as a failure (and so retry it, or route it to `error`).
    #[serde(default = "literal_true")]
    pub fail_on_non_2xx: ParamValue<bool>,
    /// Fetch further pages after the first. Its expressions are evaluated after each page, with
    /// `$response` and `$pageCount`, so they are not resolved with the rest of the params.
    #[serde(default)]
    pub pagination: Option<HttpPagination>,
}

/// The attachment a downloaded file goes to when `output_field` does not say.
pub const DEFAULT_BINARY_FIELD: &str = "data";

/// Pages fetched for one item at most, whatever `max_requests` says: a loop that never
/// completes must still end.
pub const MAX_PAGES: u64 = 100;

/// Longest pause between two pages.
pub const MAX_PAGE_INTERVAL_MS: u64 = 60_000;

fn literal_true() -> ParamValue<bool> {
    ParamValue::Literal(true)
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    #[default]
    Get,
    Post,
    Put,
    Patch,
    Delete,
    Head,
    Options,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Head => "HEAD",
            Method::Options => "OPTIONS",
        }
    }
}

/// The request body: exactly one of `json`, `form`, `raw`, `binary` or `multipart`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpBody {
    #[serde(default)]
    pub json: Option<Value>,
    /// Sent as `application/x-www-form-urlencoded`.
    #[serde(default)]
    pub form: Option<BTreeMap<String, Value>>,
    #[serde(default)]
    pub raw: Option<String>,
    /// The `Content-Type` of a `raw` body (default `text/plain`).
    #[serde(default)]
    pub content_type: Option<String>,
    /// The name of one of the item's attachments, sent as it is with its MIME type.
    #[serde(default)]
    pub binary: Option<String>,
    /// Sent as `multipart/form-data`, the parts in order.
    #[serde(default)]
    pub multipart: Option<Vec<MultipartPart>>,
}

/// One part of a `multipart/form-data` body: a text `value`, or the item's attachment `binary`
/// (sent with its file name and MIME type).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MultipartPart {
    pub name: String,
    #[serde(default)]
    pub value: Option<Value>,
    #[serde(default)]
    pub binary: Option<String>,
}

/// `graphql`: one GraphQL request per item, sent as `http_request` would send what
/// [`graphql_as_http`] makes of it; an answer with `errors` fails the node with their messages.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GraphqlParams {
    pub endpoint: String,
    #[serde(default)]
    pub method: GraphqlMethod,
    /// How a POST carries the query: `json` (`{query, variables, operationName}`, the default)
    /// or `graphql` (the query alone, `application/graphql`).
    #[serde(default)]
    pub format: GraphqlFormat,
    pub query: String,
    /// With `format: json`: an object, or an expression giving one.
    #[serde(default)]
    pub variables: Option<Value>,
    #[serde(default)]
    pub operation_name: Option<String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// `json` (default): the answer is the item; `text`: `{data: …}`.
    #[serde(default)]
    pub response: ResponseFormat,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum GraphqlMethod {
    #[default]
    Post,
    /// The query goes in the URL's `query` parameter.
    Get,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GraphqlFormat {
    #[default]
    Json,
    Graphql,
}

impl ParamRules for GraphqlParams {
    fn check(&self, at: &Pointer, problems: &mut Vec<DefinitionProblem>) {
        check_url(&self.endpoint, at.key("endpoint"), problems);
        check_header_names(self.headers.keys(), at, problems);
        if self.query.trim().is_empty() {
            problems.push(at.key("query").problem("needs a query"));
        }
        let json_body = self.method == GraphqlMethod::Post && self.format == GraphqlFormat::Json;
        for (name, given) in
            [("variables", self.variables.is_some()), ("operation_name", self.operation_name.is_some())]
        {
            if given && !json_body {
                problems.push(at.key(name).problem("only a POST in format `json` sends it"));
            }
        }
        match &self.variables {
            None | Some(Value::Object(_)) => {}
            Some(Value::String(text)) if is_expression(text) => {}
            Some(_) => problems.push(at.key("variables").problem("must be an object, or an expression giving one")),
        }
        if !matches!(self.response, ResponseFormat::Json | ResponseFormat::Text) {
            problems.push(at.key("response").problem("must be `json` or `text`"));
        }
    }
}

/// The `http_request` params that send a `graphql` node's request (its params as written,
/// expressions still in them): a JSON or `application/graphql` POST, or a GET with `?query=`;
/// the answer's body is the item, and an HTTP error status does not fail it, as in n8n.
pub fn graphql_as_http(graphql: &Map<String, Value>) -> Map<String, Value> {
    let text = |key: &str, default: &str| graphql.get(key).and_then(Value::as_str).unwrap_or(default).to_owned();
    let query = graphql.get("query").cloned().unwrap_or(Value::Null);
    let mut http = Map::new();
    http.insert("url".into(), graphql.get("endpoint").cloned().unwrap_or(Value::Null));
    http.insert("method".into(), Value::String(text("method", "POST")));
    if let Some(headers) = graphql.get("headers") {
        http.insert("headers".into(), headers.clone());
    }
    if text("method", "POST") == "GET" {
        http.insert("query".into(), serde_json::json!({ "query": query }));
    } else if text("format", "json") == "graphql" {
        http.insert("body".into(), serde_json::json!({"raw": query, "content_type": "application/graphql"}));
    } else {
        let variables = graphql.get("variables").cloned().unwrap_or_else(|| serde_json::json!({}));
        let operation = graphql.get("operation_name").cloned().unwrap_or(Value::Null);
        let body = serde_json::json!({"query": query, "variables": variables, "operationName": operation});
        http.insert("body".into(), serde_json::json!({ "json": body }));
    }
    http.insert("response".into(), Value::String(text("response", "json")));
    http.insert("output".into(), Value::String("body".into()));
    http.insert("fail_on_non_2xx".into(), Value::Bool(false));
    http
}

/// How the response body becomes the output item's `body` field, or an attachment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseFormat {
    #[default]
    Json,
    Text,
    /// By the answer's `Content-Type`, as n8n's "autodetect": JSON for `application/json` and
    /// `…+json`, text otherwise.
    Auto,
    /// The body is stored as an attachment (`output_field`), as n8n's file response.
    File,
}

/// n8n's pagination: after each page, either the next URL or some request parameters are
/// computed from `$response` (`{body, headers, statusCode}`) and `$pageCount` (pages fetched so
/// far), until the completion rule holds or `max_requests` pages were fetched.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpPagination {
    pub mode: PaginationMode,
    /// With `next_url`: the next page's URL (an expression; relative to the page it follows).
    #[serde(default)]
    pub next_url: Option<String>,
    /// With `update_params`: what each further request sets.
    #[serde(default)]
    pub params: Vec<PageParam>,
    #[serde(default)]
    pub complete_when: PageCompletion,
    /// With `complete_when: expression`: true once the last page was fetched.
    #[serde(default)]
    pub complete_expression: Option<Value>,
    /// With `complete_when: status_codes`: statuses that mean there are no more pages.
    #[serde(default)]
    pub status_codes: Vec<u16>,
    /// Pages fetched at most, up to [`MAX_PAGES`] (the default). `null` (JavaScript's
    /// `Infinity` gives it) means the default too.
    #[serde(default)]
    pub max_requests: Option<ParamValue<u64>>,
    /// The pause between two pages.
    #[serde(default)]
    pub interval_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaginationMode {
    NextUrl,
    UpdateParams,
}

/// A request parameter set for each further page.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageParam {
    pub target: PageParamTarget,
    pub name: String,
    /// Usually an expression of `$response` or `$pageCount`.
    pub value: Value,
}

/// Where a page parameter goes: the query, a header, or a member of the `json` or `form` body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PageParamTarget {
    Query,
    Headers,
    Body,
}

/// When no more pages are fetched.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PageCompletion {
    /// The body is empty: as JavaScript's truthiness has it, or an empty array.
    #[default]
    ResponseIsEmpty,
    StatusCodes,
    Expression,
}

/// What an `http_request` node's items hold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HttpOutput {
    /// One item per request: `{status, headers, body}`.
    #[default]
    Full,
    /// The body alone, as n8n's node gives it: a JSON object is the item, a JSON array one item
    /// per element, anything else `{data: …}`.
    Body,
}

fn is_scalar(value: &Value) -> bool {
    matches!(value, Value::String(_) | Value::Number(_) | Value::Bool(_))
}

/// A URL param that must be an http(s) URL with a host, unless an expression gives it.
fn check_url(url: &str, at: Pointer, problems: &mut Vec<DefinitionProblem>) {
    let url = url.trim();
    if url.is_empty() {
        problems.push(at.problem("needs a URL"));
    } else if !is_expression(url) {
        let host = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
        if host.is_none_or(|rest| rest.is_empty() || rest.starts_with('/')) {
            problems.push(at.problem("must be an http:// or https:// URL with a host"));
        }
    }
}

fn check_header_names<'h>(
    names: impl Iterator<Item = &'h String>,
    at: &Pointer,
    problems: &mut Vec<DefinitionProblem>,
) {
    for name in names.filter(|name| !is_header_name(name)) {
        problems.push(at.key("headers").key(name).problem("is not a valid header name"));
    }
}

impl ParamRules for HttpRequestParams {
    fn check(&self, at: &Pointer, problems: &mut Vec<DefinitionProblem>) {
        check_url(&self.url, at.key("url"), problems);
        check_header_names(self.headers.keys(), at, problems);
        for (name, value) in &self.query {
            let fine = is_scalar(value) || value.as_array().is_some_and(|values| values.iter().all(is_scalar));
            if !fine {
                problems
                    .push(at.key("query").key(name).problem("must be a string, number or boolean, or a list of those"));
            }
        }
        if let Some(body) = &self.body {
            body.check(&at.key("body"), problems);
        }
        match (&self.output_field, self.response) {
            (Some(field), ResponseFormat::File | ResponseFormat::Auto) => {
                check_attachment_name(field, &at.key("output_field"), problems)
            }
            (Some(_), _) => {
                problems.push(at.key("output_field").problem("only `response: file` or `auto` takes an output field"))
            }
            (None, _) => {}
        }
        if let Some(pagination) = &self.pagination {
            pagination.check(self.body.as_ref(), &at.key("pagination"), problems);
        }
    }
}

/// An attachment name says which attachment to read or write for every item alike.
fn check_attachment_name(name: &str, at: &Pointer, problems: &mut Vec<DefinitionProblem>) {
    if name.trim().is_empty() {
        problems.push(at.problem("must name an attachment"));
    } else if is_expression(name) {
        problems.push(at.problem("names an attachment, so it cannot be an expression"));
    }
}

impl HttpBody {
    fn check(&self, at: &Pointer, problems: &mut Vec<DefinitionProblem>) {
        let kinds = [
            self.json.is_some(),
            self.form.is_some(),
            self.raw.is_some(),
            self.binary.is_some(),
            self.multipart.is_some(),
        ];
        if kinds.iter().filter(|present| **present).count() != 1 {
            problems.push(at.problem("needs exactly one of `json`, `form`, `raw`, `binary` or `multipart`"));
        }
        if self.content_type.is_some() && self.raw.is_none() {
            problems.push(at.key("content_type").problem("only a `raw` body takes a content type"));
        }
        for (name, value) in self.form.iter().flatten() {
            if !is_scalar(value) {
                problems.push(at.key("form").key(name).problem("must be a string, number or boolean"));
            }
        }
        if let Some(field) = &self.binary {
            check_attachment_name(field, &at.key("binary"), problems);
        }
        for (index, part) in self.multipart.iter().flatten().enumerate() {
            let at = at.key("multipart").index(index);
            if part.name.is_empty() {
                problems.push(at.key("name").problem("must not be empty"));
            }
            match (&part.value, &part.binary) {
                (Some(value), None) if !is_scalar(value) => {
                    problems.push(at.key("value").problem("must be a string, number or boolean"));
                }
                (Some(_), None) => {}
                (None, Some(field)) => check_attachment_name(field, &at.key("binary"), problems),
                _ => problems.push(at.problem("needs exactly one of `value` or `binary`")),
            }
        }
    }
}

impl HttpPagination {
    fn check(&self, body: Option<&HttpBody>, at: &Pointer, problems: &mut Vec<DefinitionProblem>) {
        match self.mode {
            PaginationMode::NextUrl => {
                if self.next_url.as_deref().is_none_or(|url| url.trim().is_empty()) {
                    problems.push(at.key("next_url").problem("`next_url` mode needs the next page's URL"));
                }
                if !self.params.is_empty() {
                    problems.push(at.key("params").problem("only `update_params` mode takes params"));
                }
            }
            PaginationMode::UpdateParams => {
                if self.params.is_empty() {
                    problems.push(at.key("params").problem("`update_params` mode needs at least one param"));
                }
                if self.next_url.is_some() {
                    problems.push(at.key("next_url").problem("only `next_url` mode takes a next URL"));
                }
            }
        }
        let body_takes_params = body.is_some_and(|body| body.form.is_some() || body.json.is_some());
        for (index, param) in self.params.iter().enumerate() {
            let at = at.key("params").index(index);
            if param.name.trim().is_empty() {
                problems.push(at.key("name").problem("must not be empty"));
            } else if param.target == PageParamTarget::Headers && !is_header_name(&param.name) {
                problems.push(at.key("name").problem("is not a valid header name"));
            }
            if param.target == PageParamTarget::Body && !body_takes_params {
                problems.push(at.key("target").problem("a body param needs a `json` or `form` body"));
            }
            if param.value.as_str().is_some_and(str::is_empty) || param.value.is_null() {
                problems.push(at.key("value").problem("needs a value, or every page would be the same"));
            }
        }
        let complete_expression = self.complete_expression.as_ref();
        match self.complete_when {
            PageCompletion::Expression if !complete_expression.and_then(Value::as_str).is_some_and(is_expression) => {
                problems.push(at.key("complete_expression").problem("`complete_when: expression` needs an expression"));
            }
            PageCompletion::Expression => {}
            _ if complete_expression.is_some() => problems
                .push(at.key("complete_expression").problem("only `complete_when: expression` takes an expression")),
            _ => {}
        }
        match self.complete_when {
            PageCompletion::StatusCodes if self.status_codes.is_empty() => {
                problems.push(at.key("status_codes").problem("`complete_when: status_codes` needs status codes"));
            }
            PageCompletion::StatusCodes => {}
            _ if !self.status_codes.is_empty() => {
                problems.push(at.key("status_codes").problem("only `complete_when: status_codes` takes status codes"))
            }
            _ => {}
        }
        for (index, code) in self.status_codes.iter().enumerate() {
            if !(100..=599).contains(code) {
                problems.push(at.key("status_codes").index(index).problem("must be an HTTP status, 100 to 599"));
            }
        }
        if let Some(ParamValue::Literal(max)) = self.max_requests
            && !(1..=MAX_PAGES).contains(&max)
        {
            problems.push(at.key("max_requests").problem(format!("must be 1 to {MAX_PAGES}")));
        }
        if self.interval_ms > MAX_PAGE_INTERVAL_MS {
            problems.push(at.key("interval_ms").problem(format!("must be at most {MAX_PAGE_INTERVAL_MS}")));
        }
    }
}

/// `wait`: holds the items for a duration or until an instant, without holding a worker.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaitParams {
    #[serde(default)]
    pub duration_ms: Option<ParamValue<u64>>,
    /// An RFC 3339 instant with a zone.
    #[serde(default)]
    pub until: Option<String>,
}

impl ParamRules for WaitParams {
    fn check(&self, at: &Pointer, problems: &mut Vec<DefinitionProblem>) {
        match (&self.duration_ms, &self.until) {
            (Some(_), Some(_)) | (None, None) => {
                problems.push(at.problem("needs exactly one of `duration_ms` (how long) or `until` (an instant)"));
            }
            (Some(ParamValue::Literal(0)), None) => {
                problems.push(at.key("duration_ms").problem("must be at least 1"));
            }
            (None, Some(until)) if !is_expression(until) && !is_rfc3339(until) => {
                problems.push(
                    at.key("until").problem("must be an RFC 3339 instant with a zone, e.g. `2026-05-01T09:30:00Z`"),
                );
            }
            _ => {}
        }
    }
}

/// `loop`: runs its body once per batch of its input (`batches`), or on its input and then
/// again on whatever the body sends back, until nothing comes back (`repeat`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoopParams {
    #[serde(default)]
    pub mode: LoopMode,
    /// `batches`: items per batch, default 1.
    #[serde(default)]
    pub batch_size: Option<ParamValue<u64>>,
    /// `repeat`: passes at most, default [`DEFAULT_LOOP_PASSES`].
    #[serde(default)]
    pub max_passes: Option<ParamValue<u64>>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoopMode {
    #[default]
    Batches,
    Repeat,
}

/// Passes a `repeat` loop makes at most when `max_passes` is not given: enough for a poll every
/// few seconds to wait for an hour.
pub const DEFAULT_LOOP_PASSES: u64 = 1000;
/// The most passes a `repeat` loop may be allowed: each pass is recorded with the run.
pub const MAX_LOOP_PASSES: u64 = 10_000;

impl LoopParams {
    /// The batch size of a `batches` loop; meaningless for `repeat`.
    pub fn batch_size(&self) -> usize {
        self.batch_size.as_ref().and_then(ParamValue::literal).map_or(1, |size| usize::try_from(*size).unwrap_or(1))
    }

    /// The passes a `repeat` loop makes at most; meaningless for `batches`.
    pub fn max_passes(&self) -> usize {
        let passes = self.max_passes.as_ref().and_then(ParamValue::literal).copied().unwrap_or(DEFAULT_LOOP_PASSES);
        usize::try_from(passes).unwrap_or(1)
    }
}

impl ParamRules for LoopParams {
    fn check(&self, at: &Pointer, problems: &mut Vec<DefinitionProblem>) {
        let (count, most, other) = match self.mode {
            LoopMode::Batches => {
                (("batch_size", &self.batch_size), u64::MAX, ("max_passes", &self.max_passes, "repeat"))
            }
            LoopMode::Repeat => {
                (("max_passes", &self.max_passes), MAX_LOOP_PASSES, ("batch_size", &self.batch_size, "batches"))
            }
        };
        if other.1.is_some() {
            problems.push(at.key(other.0).problem(format!("applies only to mode `{}`", other.2)));
        }
        match count.1 {
            Some(ParamValue::Expression(_)) => problems.push(
                at.key(count.0).problem("must be a number: a loop's passes are planned before any expression runs"),
            ),
            Some(ParamValue::Literal(0)) => problems.push(at.key(count.0).problem("must be at least 1")),
            Some(ParamValue::Literal(n)) if *n > most => {
                problems.push(at.key(count.0).problem(format!("must be at most {most}")))
            }
            _ => {}
        }
    }
}

/// `aggregate`: turns all input items into one.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AggregateParams {
    /// Collect this field's values into a list under the same name.
    #[serde(default)]
    pub field: Option<String>,
    /// Collect several fields' values, each into its own list.
    #[serde(default)]
    pub fields: Option<Vec<AggregateField>>,
    /// Without `field` or `fields`, the items' JSON is collected in a list under this key
    /// (default `items`).
    #[serde(default)]
    pub destination: Option<String>,
    /// Keep missing and `null` values (as `null`) instead of leaving them out.
    #[serde(default)]
    pub keep_missing: bool,
    /// A value that is a list adds its elements rather than itself.
    #[serde(default)]
    pub merge_lists: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AggregateField {
    pub field: String,
    /// Where the list goes (a dot path); without it, at `field`'s own path.
    #[serde(default)]
    pub output: Option<String>,
}

impl ParamRules for AggregateParams {
    fn check(&self, at: &Pointer, problems: &mut Vec<DefinitionProblem>) {
        match (&self.field, &self.fields) {
            (Some(_), Some(_)) => problems.push(at.problem("give `field` or `fields`, not both")),
            (Some(field), None) if field.trim().is_empty() => {
                problems.push(at.key("field").problem("leave `field` out to collect whole items; it cannot be empty"));
            }
            (Some(field), None) => check_field_name(field, &at.key("field"), problems),
            (None, Some(fields)) => {
                let fields_at = at.key("fields");
                if fields.is_empty() {
                    problems.push(fields_at.problem("leave `fields` out to collect whole items; it cannot be empty"));
                }
                for (index, field) in fields.iter().enumerate() {
                    check_field_name(&field.field, &fields_at.index(index).key("field"), problems);
                    if let Some(output) = &field.output {
                        check_field_name(output, &fields_at.index(index).key("output"), problems);
                    }
                }
            }
            (None, None) => {
                if self.keep_missing || self.merge_lists {
                    problems.push(
                        at.problem("`keep_missing` and `merge_lists` are about fields; whole items take neither"),
                    );
                }
            }
        }
        if let Some(destination) = &self.destination {
            if self.field.is_some() || self.fields.is_some() {
                problems.push(
                    at.key("destination").problem("only whole items (no `field` or `fields`) take a destination"),
                );
            } else {
                check_field_name(destination, &at.key("destination"), problems);
            }
        }
    }
}

/// `rename_keys`: moves fields to new names on every item.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenameKeysParams {
    pub keys: Vec<RenameKey>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenameKey {
    /// The field's dot path now.
    pub from: String,
    /// Its dot path afterwards.
    pub to: String,
}

impl ParamRules for RenameKeysParams {
    fn check(&self, at: &Pointer, problems: &mut Vec<DefinitionProblem>) {
        let at = at.key("keys");
        if self.keys.is_empty() {
            problems.push(at.problem("needs at least one key to rename"));
        }
        for (index, key) in self.keys.iter().enumerate() {
            check_field_name(&key.from, &at.index(index).key("from"), problems);
            check_field_name(&key.to, &at.index(index).key("to"), problems);
        }
    }
}

/// `summarize`: n8n's Summarize, one item per group of items (or one for all), holding each
/// aggregation under the name n8n gives it (`sum_amount`, `unique_count_id`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SummarizeParams {
    pub fields: Vec<SummarizeField>,
    /// Group the items by these fields' values, in order; default: one group of all items.
    #[serde(default)]
    pub split_by: Vec<String>,
    /// Leave out items whose group field is missing, `null`, `""` or `false`.
    #[serde(default)]
    pub skip_empty_groups: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SummarizeField {
    pub field: String,
    pub aggregation: Aggregation,
    /// Count, collect or join missing, `null` and `""` values too.
    #[serde(default)]
    pub include_empty: bool,
    /// With `concatenate`: put between values; default `,`.
    #[serde(default)]
    pub separator: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregation {
    Count,
    CountUnique,
    Sum,
    Average,
    Min,
    Max,
    Concatenate,
    Append,
}

impl Aggregation {
    /// What n8n puts before the field's name to name the result.
    pub fn prefix(self) -> &'static str {
        match self {
            Aggregation::Count => "count_",
            Aggregation::CountUnique => "unique_count_",
            Aggregation::Sum => "sum_",
            Aggregation::Average => "average_",
            Aggregation::Min => "min_",
            Aggregation::Max => "max_",
            Aggregation::Concatenate => "concatenated_",
            Aggregation::Append => "appended_",
        }
    }
}

impl ParamRules for SummarizeParams {
    fn check(&self, at: &Pointer, problems: &mut Vec<DefinitionProblem>) {
        let fields_at = at.key("fields");
        if self.fields.is_empty() {
            problems.push(fields_at.problem("needs at least one field to summarize"));
        }
        for (index, field) in self.fields.iter().enumerate() {
            let at = fields_at.index(index);
            check_field_name(&field.field, &at.key("field"), problems);
            if field.separator.is_some() && field.aggregation != Aggregation::Concatenate {
                problems.push(at.key("separator").problem("only `concatenate` takes a separator"));
            }
            let counts_empty = !matches!(
                field.aggregation,
                Aggregation::Sum | Aggregation::Average | Aggregation::Min | Aggregation::Max
            );
            if field.include_empty && !counts_empty {
                problems.push(at.key("include_empty").problem("sum, average, min and max always skip empty values"));
            }
        }
        for (index, field) in self.split_by.iter().enumerate() {
            check_field_name(field, &at.key("split_by").index(index), problems);
        }
        if self.skip_empty_groups && self.split_by.is_empty() {
            problems.push(at.key("skip_empty_groups").problem("is about `split_by`, which is empty"));
        }
    }
}

/// `compare_datasets`: n8n's Compare Datasets, pairing input A's items with input B's by
/// fields and sorting them into in A only, same, different and in B only.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompareDatasetsParams {
    /// The fields that pair items: A's item and B's item pair when every pair of fields holds
    /// equal values.
    pub fields: Vec<MatchFields>,
    /// What goes out on `different`.
    #[serde(default)]
    pub when_different: WhenDifferent,
    /// Fields left out when deciding whether paired items are the same.
    #[serde(default)]
    pub skip_fields: Vec<String>,
    /// Pair an A item with every B item it matches, not only the first.
    #[serde(default)]
    pub all_matches: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchFields {
    /// The field's dot path in input A's items (a `merge`'s input 0).
    pub a: String,
    /// The field's dot path in input B's items (a `merge`'s input 1).
    pub b: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WhenDifferent {
    /// `{keys, same, different: {field: {inputA, inputB}}}`, as n8n's "Include Both Versions".
    #[default]
    IncludeBoth,
    /// A's item.
    PreferA,
    /// B's item.
    PreferB,
}

impl ParamRules for CompareDatasetsParams {
    fn check(&self, at: &Pointer, problems: &mut Vec<DefinitionProblem>) {
        let fields_at = at.key("fields");
        if self.fields.is_empty() {
            problems.push(fields_at.problem("needs at least one pair of fields to match"));
        }
        for (index, pair) in self.fields.iter().enumerate() {
            check_field_name(&pair.a, &fields_at.index(index).key("a"), problems);
            check_field_name(&pair.b, &fields_at.index(index).key("b"), problems);
        }
        for (index, field) in self.skip_fields.iter().enumerate() {
            check_field_name(field, &at.key("skip_fields").index(index), problems);
        }
    }
}

/// `crypto`: writes a digest, a keyed digest or a random value into a field of every item,
/// as n8n's Crypto node does.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CryptoParams {
    pub action: CryptoAction,
    /// With `hash` and `hmac`: the digest algorithm.
    #[serde(default)]
    pub algorithm: Option<DigestAlgorithm>,
    /// With `hash` and `hmac`: the text digested; may hold expressions.
    #[serde(default)]
    pub value: Option<String>,
    /// With `hmac`: the key; may hold expressions.
    #[serde(default)]
    pub secret: Option<String>,
    /// How the result is written: `hex` (the default) or `base64`; `generate` also takes `uuid`,
    /// its default.
    #[serde(default)]
    pub encoding: Option<CryptoEncoding>,
    /// With `generate` in `hex` or `base64`: the number of characters, default 32.
    #[serde(default)]
    pub length: Option<ParamValue<u64>>,
    /// The field written (a dot path); default `data`.
    #[serde(default = "data_field")]
    pub field: String,
}

fn data_field() -> String {
    "data".to_string()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CryptoAction {
    Hash,
    Hmac,
    Generate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DigestAlgorithm {
    Md5,
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CryptoEncoding {
    Hex,
    Base64,
    Uuid,
}

/// The longest random text `crypto` generates, so a typo cannot fill the item store.
pub const CRYPTO_MAX_LENGTH: u64 = 65_536;

impl ParamRules for CryptoParams {
    fn check(&self, at: &Pointer, problems: &mut Vec<DefinitionProblem>) {
        check_field_name(&self.field, &at.key("field"), problems);
        let digest = self.action != CryptoAction::Generate;
        if digest {
            if self.algorithm.is_none() {
                problems.push(
                    at.key("algorithm").problem("hash and hmac need an algorithm: md5, sha1, sha256, sha384 or sha512"),
                );
            }
            if self.value.is_none() {
                problems.push(at.key("value").problem("hash and hmac need the value to digest"));
            }
            if self.encoding == Some(CryptoEncoding::Uuid) {
                problems.push(at.key("encoding").problem("a digest is written as hex or base64"));
            }
            if self.length.is_some() {
                problems.push(at.key("length").problem("only generate takes a length"));
            }
        } else {
            for (key, given) in [
                ("algorithm", self.algorithm.is_some()),
                ("value", self.value.is_some()),
                ("secret", self.secret.is_some()),
            ] {
                if given {
                    problems.push(at.key(key).problem("generate takes no such param"));
                }
            }
            if matches!(self.encoding, None | Some(CryptoEncoding::Uuid)) && self.length.is_some() {
                problems.push(at.key("length").problem("a UUID has no length; generate hex or base64 for one"));
            }
            if let Some(&length) = self.length.as_ref().and_then(ParamValue::literal)
                && !(1..=CRYPTO_MAX_LENGTH).contains(&length)
            {
                problems.push(at.key("length").problem(format!("must be from 1 to {CRYPTO_MAX_LENGTH}")));
            }
        }
        match (self.action, &self.secret) {
            (CryptoAction::Hmac, None) => problems.push(at.key("secret").problem("hmac needs a secret")),
            (CryptoAction::Hash, Some(_)) => problems.push(at.key("secret").problem("only hmac takes a secret")),
            _ => {}
        }
    }
}

/// `html_extract`: values picked out of the HTML held in a field by CSS selectors, as n8n's HTML
/// node extracts content. Each HTML text gives one item holding the extracted keys alone.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HtmlExtractParams {
    /// The field (a dot path) holding the HTML: a text, or a list of texts (an item each).
    #[serde(default = "data_field")]
    pub source_field: String,
    pub extract: Vec<Extraction>,
    /// Trim whitespace at both ends of each value.
    #[serde(default)]
    pub trim: bool,
    /// Trim, remove line breaks and collapse whitespace runs into one space (n8n's "clean up text").
    #[serde(default)]
    pub clean_up: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Extraction {
    /// The output key (a plain name, dots included).
    pub key: String,
    /// A CSS selector; may hold expressions.
    pub selector: String,
    #[serde(default, rename = "return")]
    pub returns: ExtractReturn,
    /// With `return: attribute`: the attribute's name; may hold expressions.
    #[serde(default)]
    pub attribute: Option<String>,
    /// A list of the value of every match, instead of the first match's.
    #[serde(default)]
    pub all: bool,
    /// With `return: text`: selectors of descendants whose text is left out.
    #[serde(default)]
    pub skip: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExtractReturn {
    /// The text laid out in lines, as n8n (1.2 on) does with html-to-text.
    #[default]
    Text,
    /// The text nodes as they stand; without `all`, of every match joined (n8n 1–1.1).
    RawText,
    /// The inner HTML.
    Html,
    Attribute,
    /// A form control's value.
    Value,
}

/// A literal CSS selector must parse; an expression is checked when it runs.
fn check_css_selector(selector: &str, at: &Pointer, problems: &mut Vec<DefinitionProblem>) {
    if !is_expression(selector)
        && let Err(error) = scraper::Selector::parse(selector)
    {
        problems.push(at.problem(format!("is not a CSS selector Weft understands: {error}")));
    }
}

impl ParamRules for HtmlExtractParams {
    fn check(&self, at: &Pointer, problems: &mut Vec<DefinitionProblem>) {
        check_field_name(&self.source_field, &at.key("source_field"), problems);
        let at = at.key("extract");
        if self.extract.is_empty() {
            problems.push(at.problem("needs at least one value to extract"));
        }
        let mut keys = Vec::new();
        for (index, extraction) in self.extract.iter().enumerate() {
            let at = at.index(index);
            if extraction.key.trim().is_empty() {
                problems.push(at.key("key").problem("needs a key"));
            } else if is_expression(&extraction.key) {
                problems.push(at.key("key").problem("names the output key, so it cannot be an expression"));
            } else if keys.contains(&&extraction.key) {
                problems.push(at.key("key").problem("is extracted twice"));
            }
            keys.push(&extraction.key);
            check_css_selector(&extraction.selector, &at.key("selector"), problems);
            for (index, skip) in extraction.skip.iter().enumerate() {
                check_css_selector(skip, &at.key("skip").index(index), problems);
            }
            match (extraction.returns, &extraction.attribute) {
                (ExtractReturn::Attribute, None) => {
                    problems.push(at.key("attribute").problem("`return: attribute` needs the attribute's name"))
                }
                (ExtractReturn::Attribute, Some(_)) | (_, None) => {}
                (_, Some(_)) => problems.push(at.key("attribute").problem("only `return: attribute` takes one")),
            }
            if extraction.returns != ExtractReturn::Text && !extraction.skip.is_empty() {
                problems.push(at.key("skip").problem("only `return: text` skips descendants"));
            }
        }
    }
}

/// `html_table`: all the items as one HTML table (n8n's HTML "convert to HTML table"), a
/// column per key.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HtmlTableParams {
    /// A `<caption>`; HTML, may hold expressions (evaluated for the first item).
    #[serde(default)]
    pub caption: Option<String>,
    /// `first_name` heads its column as `First Name`.
    #[serde(default)]
    pub capitalize_headers: bool,
    /// n8n's inline styles on the table, header and cells; false leaves them out.
    #[serde(default = "yes")]
    pub default_style: bool,
    /// Attributes written into the tags, e.g. `class="report"`; may hold expressions (the table's
    /// and header's for the first item, a row's and its cells' for the row's item).
    #[serde(default)]
    pub table_attributes: Option<String>,
    #[serde(default)]
    pub header_attributes: Option<String>,
    #[serde(default)]
    pub row_attributes: Option<String>,
    #[serde(default)]
    pub cell_attributes: Option<String>,
}

impl ParamRules for HtmlTableParams {
    fn check(&self, _: &Pointer, _: &mut Vec<DefinitionProblem>) {}
}

/// `markdown`: Markdown to HTML or HTML to Markdown, written into a field of each item (n8n's
/// Markdown node).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarkdownParams {
    pub mode: MarkdownMode,
    /// The text converted; usually an expression.
    pub value: String,
    /// The field written (a dot path); default `data`.
    #[serde(default = "data_field")]
    pub field: String,
    /// `to_html`: GitHub tables.
    #[serde(default)]
    pub tables: Option<bool>,
    /// `to_html`: `~~struck~~`.
    #[serde(default)]
    pub strikethrough: Option<bool>,
    /// `to_html`: `- [x]` task list items.
    #[serde(default)]
    pub task_lists: Option<bool>,
    /// `to_html`: every line break is a `<br />`.
    #[serde(default)]
    pub line_breaks: Option<bool>,
    /// `to_html`: headings get an `id` made of their text; default true.
    #[serde(default)]
    pub heading_ids: Option<bool>,
    /// `to_markdown`: the list item marker; default `*`.
    #[serde(default)]
    pub bullet: Option<String>,
    /// `to_markdown`: `fenced` (default) or `indented` code blocks.
    #[serde(default)]
    pub code_blocks: Option<CodeBlockStyle>,
    /// `to_markdown`: the fence of fenced code blocks; default three backticks.
    #[serde(default)]
    pub code_fence: Option<String>,
    /// `to_markdown`: emphasis delimiter; default `_`.
    #[serde(default)]
    pub em_delimiter: Option<String>,
    /// `to_markdown`: strong delimiter; default `**`.
    #[serde(default)]
    pub strong_delimiter: Option<String>,
    /// `to_markdown`: elements left out, content and all (`nav`, `footer`…).
    #[serde(default)]
    pub ignore: Option<Vec<String>>,
    /// `to_markdown`: keep images whose source is a `data:` URI; default false.
    #[serde(default)]
    pub keep_data_images: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MarkdownMode {
    ToHtml,
    ToMarkdown,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodeBlockStyle {
    #[default]
    Fenced,
    Indented,
}

impl ParamRules for MarkdownParams {
    fn check(&self, at: &Pointer, problems: &mut Vec<DefinitionProblem>) {
        check_field_name(&self.field, &at.key("field"), problems);
        let (other, other_mode): (&[(&str, bool)], _) = match self.mode {
            MarkdownMode::ToHtml => (
                &[
                    ("bullet", self.bullet.is_some()),
                    ("code_blocks", self.code_blocks.is_some()),
                    ("code_fence", self.code_fence.is_some()),
                    ("em_delimiter", self.em_delimiter.is_some()),
                    ("strong_delimiter", self.strong_delimiter.is_some()),
                    ("ignore", self.ignore.is_some()),
                    ("keep_data_images", self.keep_data_images.is_some()),
                ],
                "to_markdown",
            ),
            MarkdownMode::ToMarkdown => (
                &[
                    ("tables", self.tables.is_some()),
                    ("strikethrough", self.strikethrough.is_some()),
                    ("task_lists", self.task_lists.is_some()),
                    ("line_breaks", self.line_breaks.is_some()),
                    ("heading_ids", self.heading_ids.is_some()),
                ],
                "to_html",
            ),
        };
        refuse_other_mode(other, other_mode, at, problems);
        for (key, delimiter) in [
            ("bullet", &self.bullet),
            ("code_fence", &self.code_fence),
            ("em_delimiter", &self.em_delimiter),
            ("strong_delimiter", &self.strong_delimiter),
        ] {
            if delimiter.as_deref().is_some_and(|text| text.trim().is_empty() || is_expression(text)) {
                problems.push(at.key(key).problem("needs literal, non-blank text"));
            }
        }
        for (index, element) in self.ignore.iter().flatten().enumerate() {
            if element.is_empty() || !element.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                problems.push(at.key("ignore").index(index).problem("must be an element name, such as `nav`"));
            }
        }
    }
}

/// `xml`: XML text in a field to JSON, or each item's JSON to XML text, as n8n's XML node does
/// with xml2js's defaults.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XmlParams {
    pub mode: XmlMode,
    /// `to_json`: the field (a dot path) holding the XML; `to_xml`: the field written. Default `data`.
    #[serde(default = "data_field")]
    pub field: String,
    /// The key of an element's attributes (when not merged); default `$`.
    #[serde(default = "attribute_key")]
    pub attribute_key: String,
    /// The key of an element's text beside attributes or children; default `_`.
    #[serde(default = "text_key")]
    pub text_key: String,
    /// `to_json`: every child element in a list, even alone; default false.
    #[serde(default)]
    pub explicit_array: Option<bool>,
    /// `to_json`: keep the root element as the object's one key; default true.
    #[serde(default)]
    pub explicit_root: Option<bool>,
    /// `to_json`: leave attributes out; default false.
    #[serde(default)]
    pub ignore_attributes: Option<bool>,
    /// `to_json`: attributes as members beside the children; default true.
    #[serde(default)]
    pub merge_attributes: Option<bool>,
    /// `to_json`: trim texts and collapse their whitespace runs; default false.
    #[serde(default)]
    pub normalize: Option<bool>,
    /// `to_json`: element names in lower case; default false.
    #[serde(default)]
    pub lowercase_tags: Option<bool>,
    /// `to_json`: trim texts; default false.
    #[serde(default)]
    pub trim: Option<bool>,
    /// `to_xml`: the root element's name; default `root`, when the item's one key does not name it.
    #[serde(default)]
    pub root_name: Option<String>,
    /// `to_xml`: leave out the `<?xml …?>` declaration; default false.
    #[serde(default)]
    pub headless: Option<bool>,
    /// `to_xml`: write texts holding `&`, `<` or `>` as CDATA instead of escaping them; default false.
    #[serde(default)]
    pub cdata: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum XmlMode {
    ToJson,
    ToXml,
}

fn attribute_key() -> String {
    "$".to_string()
}

fn text_key() -> String {
    "_".to_string()
}

/// The root element's name when `to_xml` is given none.
pub const XML_DEFAULT_ROOT: &str = "root";

impl ParamRules for XmlParams {
    fn check(&self, at: &Pointer, problems: &mut Vec<DefinitionProblem>) {
        check_field_name(&self.field, &at.key("field"), problems);
        for (key, name) in [("attribute_key", &self.attribute_key), ("text_key", &self.text_key)] {
            if name.is_empty() || is_expression(name) {
                problems.push(at.key(key).problem("needs a literal, non-empty key"));
            }
        }
        if self.attribute_key == self.text_key {
            problems.push(at.key("text_key").problem("must differ from `attribute_key`"));
        }
        let (other, other_mode): (&[(&str, bool)], _) = match self.mode {
            XmlMode::ToJson => (
                &[
                    ("root_name", self.root_name.is_some()),
                    ("headless", self.headless.is_some()),
                    ("cdata", self.cdata.is_some()),
                ],
                "to_xml",
            ),
            XmlMode::ToXml => (
                &[
                    ("explicit_array", self.explicit_array.is_some()),
                    ("explicit_root", self.explicit_root.is_some()),
                    ("ignore_attributes", self.ignore_attributes.is_some()),
                    ("merge_attributes", self.merge_attributes.is_some()),
                    ("normalize", self.normalize.is_some()),
                    ("lowercase_tags", self.lowercase_tags.is_some()),
                    ("trim", self.trim.is_some()),
                ],
                "to_json",
            ),
        };
        refuse_other_mode(other, other_mode, at, problems);
        if let Some(root) = &self.root_name
            && !is_xml_name(root)
        {
            problems.push(at.key("root_name").problem("must be an XML element name"));
        }
    }
}

/// An XML name as element names are written: a letter or `_` first, then letters, digits, `_`,
/// `-`, `.` or `:`.
pub(crate) fn is_xml_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|first| first.is_alphabetic() || first == '_')
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
}

/// Problems for the params given (`true`) that only the other mode takes.
fn refuse_other_mode(params: &[(&str, bool)], other_mode: &str, at: &Pointer, problems: &mut Vec<DefinitionProblem>) {
    for (key, given) in params {
        if *given {
            problems.push(at.key(key).problem(format!("only `mode: {other_mode}` takes it")));
        }
    }
}

/// `date_time`: n8n's Date & Time (v2): the current date, date arithmetic, formatting, parts,
/// rounding and the time between two dates, written into a field.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DateTimeParams {
    pub operation: DateOperation,
    /// The date worked on (the start, for `between`): ISO 8601 text, or epoch seconds or
    /// milliseconds; usually an expression.
    #[serde(default)]
    pub date: Option<Value>,
    /// With `between`: the end date.
    #[serde(default)]
    pub end_date: Option<Value>,
    /// With `add` and `subtract`: how many `unit`s.
    #[serde(default)]
    pub amount: Option<ParamValue<u64>>,
    /// `add`/`subtract`/`extract`/`round`: the unit; `between` takes `units`.
    #[serde(default)]
    pub unit: Option<DateUnit>,
    /// With `between`: the units the difference is given in.
    #[serde(default)]
    pub units: Vec<DateUnit>,
    /// With `round`: `down` (the default) or `up`.
    #[serde(default)]
    pub direction: Option<RoundDirection>,
    /// With `format`: Luxon-style tokens (`yyyy-MM-dd HH:mm`).
    #[serde(default)]
    pub format: Option<String>,
    /// With `current_date`: false gives the start of the day; default true.
    #[serde(default)]
    pub include_time: Option<bool>,
    /// With `between`: an ISO 8601 duration instead of an object of units.
    #[serde(default)]
    pub iso_duration: bool,
    /// The IANA time zone dates are read and written in; default UTC.
    #[serde(default)]
    pub timezone: Option<String>,
    /// The field written (a dot path); n8n's default name for the operation otherwise.
    #[serde(default)]
    pub field: Option<String>,
    /// Keep the input item's fields; n8n's default is an item holding the result alone.
    #[serde(default)]
    pub include_input_fields: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DateOperation {
    CurrentDate,
    Add,
    Subtract,
    Format,
    Extract,
    Round,
    Between,
}

impl DateOperation {
    /// n8n's default output field for the operation.
    pub fn default_field(self) -> &'static str {
        match self {
            DateOperation::CurrentDate => "currentDate",
            DateOperation::Add | DateOperation::Subtract => "newDate",
            DateOperation::Format => "formattedDate",
            DateOperation::Extract => "datePart",
            DateOperation::Round => "roundedDate",
            DateOperation::Between => "timeDifference",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DateUnit {
    Years,
    Quarters,
    Months,
    Weeks,
    Days,
    Hours,
    Minutes,
    Seconds,
    Milliseconds,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoundDirection {
    Down,
    Up,
}

/// The letters a `date_time` format may use, each repeated as Luxon allows; quoted text is
/// literal.
pub const DATE_FORMAT_TOKENS: [&str; 25] = [
    "yyyy", "yy", "MMMM", "MMM", "MM", "M", "dd", "d", "EEEE", "EEE", "HH", "H", "hh", "h", "mm", "m", "ss", "s",
    "SSS", "a", "X", "x", "ZZ", "Z", "WW",
];

/// The tokens of a format, or the first letters that are not one.
pub fn date_format_tokens(format: &str) -> Result<Vec<DateToken<'_>>, String> {
    let mut tokens = Vec::new();
    let mut rest = format;
    while let Some(first) = rest.chars().next() {
        if first == '\'' {
            let body = &rest[1..];
            let end = body.find('\'').ok_or("has an unclosed quote")?;
            tokens.push(DateToken::Text(&body[..end]));
            rest = &body[end + 1..];
        } else if first.is_ascii_alphabetic() {
            let run = rest.len() - rest.trim_start_matches(first).len();
            let letters = &rest[..run];
            if !DATE_FORMAT_TOKENS.contains(&letters) {
                return Err(format!("has `{letters}`, which is not a supported token"));
            }
            tokens.push(DateToken::Field(letters));
            rest = &rest[run..];
        } else {
            let len = first.len_utf8();
            tokens.push(DateToken::Text(&rest[..len]));
            rest = &rest[len..];
        }
    }
    Ok(tokens)
}

/// A piece of a `date_time` format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateToken<'f> {
    Field(&'f str),
    Text(&'f str),
}

impl ParamRules for DateTimeParams {
    fn check(&self, at: &Pointer, problems: &mut Vec<DefinitionProblem>) {
        use DateOperation as Op;
        let op = self.operation;
        if let Some(field) = &self.field {
            check_field_name(field, &at.key("field"), problems);
        }
        if let Some(zone) = &self.timezone
            && jiff::tz::TimeZone::get(zone).is_err()
        {
            problems.push(at.key("timezone").problem(format!("`{zone}` is not an IANA time zone")));
        }
        let needs = |key: &str, given: bool, wanted: bool, problems: &mut Vec<DefinitionProblem>| {
            if given && !wanted {
                problems.push(at.key(key).problem(format!("is not a param of {}", op_name(op))));
            } else if wanted && !given {
                problems.push(at.key(key).problem(format!("is needed by {}", op_name(op))));
            }
        };
        needs("date", self.date.is_some(), op != Op::CurrentDate, problems);
        needs("end_date", self.end_date.is_some(), op == Op::Between, problems);
        needs("amount", self.amount.is_some(), matches!(op, Op::Add | Op::Subtract), problems);
        needs("unit", self.unit.is_some(), matches!(op, Op::Add | Op::Subtract | Op::Extract | Op::Round), problems);
        needs("format", self.format.is_some(), op == Op::Format, problems);
        if !self.units.is_empty() && op != Op::Between {
            problems.push(at.key("units").problem(format!("is not a param of {}", op_name(op))));
        }
        if op == Op::Between && self.units.is_empty() {
            problems.push(at.key("units").problem("needs at least one unit"));
        }
        if self.direction.is_some() && op != Op::Round {
            problems.push(at.key("direction").problem("only round takes a direction"));
        }
        if self.include_time.is_some() && op != Op::CurrentDate {
            problems.push(at.key("include_time").problem("only current_date takes include_time"));
        }
        if self.iso_duration && op != Op::Between {
            problems.push(at.key("iso_duration").problem("only between gives a duration"));
        }
        if let Some(unit) = self.unit {
            let fits = match op {
                Op::Extract | Op::Round => !matches!(unit, DateUnit::Quarters | DateUnit::Milliseconds),
                _ => true,
            };
            if !fits {
                problems.push(at.key("unit").problem(format!(
                    "{} works in years, months, weeks, days, hours, minutes or seconds",
                    op_name(op)
                )));
            }
        }
        if let Some(format) = &self.format
            && !is_expression(format)
            && let Err(problem) = date_format_tokens(format)
        {
            problems.push(at.key("format").problem(problem));
        }
    }
}

fn op_name(op: DateOperation) -> &'static str {
    match op {
        DateOperation::CurrentDate => "current_date",
        DateOperation::Add => "add",
        DateOperation::Subtract => "subtract",
        DateOperation::Format => "format",
        DateOperation::Extract => "extract",
        DateOperation::Round => "round",
        DateOperation::Between => "between",
    }
}

/// `split_out`: turns the list in a field of each item into one item per element, as n8n's
/// Split Out does. Several fields are split side by side: the n-th item takes the n-th element
/// of each.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitOutParams {
    pub fields: Vec<SplitField>,
    /// Which of the item's other fields each new item carries.
    #[serde(default)]
    pub include: SplitInclude,
    /// The fields carried with `include: selected`.
    #[serde(default)]
    pub include_fields: Option<Vec<String>>,
    /// Copy the item's binary attachments onto each item split from it.
    #[serde(default)]
    pub include_binary: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitField {
    /// A dot path to the list (an object splits into its values, any other value into itself).
    pub field: String,
    /// The key each element goes under; without it, an object element's own fields make the
    /// item (when it is the only field split and no other field is included) and any other
    /// element goes under the field's name as written.
    #[serde(default)]
    pub destination: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SplitInclude {
    /// Only the split elements.
    #[default]
    None,
    /// Every other field of the item (the split fields are removed).
    All,
    /// The fields named in `include_fields`.
    Selected,
}

impl ParamRules for SplitOutParams {
    fn check(&self, at: &Pointer, problems: &mut Vec<DefinitionProblem>) {
        let fields_at = at.key("fields");
        if self.fields.is_empty() {
            problems.push(fields_at.problem("needs at least one field to split"));
        }
        for (index, field) in self.fields.iter().enumerate() {
            let at = fields_at.index(index);
            check_field_name(&field.field, &at.key("field"), problems);
            if let Some(destination) = &field.destination {
                if destination.trim().is_empty() {
                    problems.push(at.key("destination").problem("leave `destination` out to keep the field's name"));
                } else if is_expression(destination) {
                    problems.push(at.key("destination").problem("names a field, so it cannot be an expression"));
                }
            }
        }
        match (self.include, &self.include_fields) {
            (SplitInclude::Selected, None) => {
                problems.push(at.problem("`include: selected` needs `include_fields`, the fields to carry"))
            }
            (SplitInclude::Selected, Some(fields)) => check_field_list(fields, &at.key("include_fields"), problems),
            (_, Some(_)) => problems.push(at.key("include_fields").problem("only `include: selected` uses it")),
            (_, None) => {}
        }
    }
}

/// A required field name: present, and a valid dot path.
fn check_field_name(field: &str, at: &Pointer, problems: &mut Vec<DefinitionProblem>) {
    if field.trim().is_empty() {
        problems.push(at.problem("needs a field name"));
    } else if let Some(problem) = field_path_problem(field) {
        problems.push(at.problem(problem));
    }
}

/// A list of at least one field name.
fn check_field_list(fields: &[String], at: &Pointer, problems: &mut Vec<DefinitionProblem>) {
    if fields.is_empty() {
        problems.push(at.problem("needs at least one field"));
    }
    for (index, field) in fields.iter().enumerate() {
        check_field_name(field, &at.index(index), problems);
    }
}

/// `sort`: orders items by one or more fields.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SortParams {
    pub fields: Vec<SortField>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SortField {
    pub field: String,
    #[serde(default)]
    pub order: SortOrder,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortOrder {
    #[default]
    Asc,
    Desc,
}

impl ParamRules for SortParams {
    fn check(&self, at: &Pointer, problems: &mut Vec<DefinitionProblem>) {
        let at = at.key("fields");
        if self.fields.is_empty() {
            problems.push(at.problem("needs at least one field to sort by"));
        }
        for (index, field) in self.fields.iter().enumerate() {
            let at = at.index(index).key("field");
            if field.field.trim().is_empty() {
                problems.push(at.problem("needs a field name"));
            } else if let Some(problem) = field_path_problem(&field.field) {
                problems.push(at.problem(problem));
            }
        }
    }
}

/// `limit`: keeps the first (or last) `max_items` items.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitParams {
    pub max_items: ParamValue<u64>,
    #[serde(default)]
    pub keep: LimitKeep,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitKeep {
    #[default]
    First,
    Last,
}

impl ParamRules for LimitParams {
    fn check(&self, at: &Pointer, problems: &mut Vec<DefinitionProblem>) {
        if self.max_items == ParamValue::Literal(0) {
            problems.push(at.key("max_items").problem("must be at least 1"));
        }
    }
}

/// `remove_duplicates`: keeps the first item of each group of equal ones; with `across_runs`,
/// the items whose value no earlier run let through.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoveDuplicatesParams {
    /// The fields that make items equal; without it, the whole JSON is compared.
    #[serde(default)]
    pub fields: Option<Vec<String>>,
    #[serde(default)]
    pub across_runs: Option<AcrossRuns>,
}

/// n8n's "remove items seen in previous executions": a history of values kept across the
/// workflow's runs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcrossRuns {
    /// What identifies an item, usually an expression; text as it is, other values as JSON.
    pub value: Value,
    #[serde(default)]
    pub history: DedupeScope,
    /// How many values the history keeps, the newest.
    #[serde(default = "default_dedupe_keep")]
    pub keep: u64,
}

/// Whose history a node reads and adds to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DedupeScope {
    /// The node's own.
    #[default]
    Node,
    /// One shared by the workflow's nodes.
    Workflow,
}

/// n8n's default history size.
pub const DEFAULT_DEDUPE_KEEP: u64 = 10_000;
/// The most values one history keeps.
pub const MAX_DEDUPE_KEEP: u64 = 1_000_000;

fn default_dedupe_keep() -> u64 {
    DEFAULT_DEDUPE_KEEP
}

impl ParamRules for RemoveDuplicatesParams {
    fn check(&self, at: &Pointer, problems: &mut Vec<DefinitionProblem>) {
        if let Some(across) = &self.across_runs {
            let at = at.key("across_runs");
            if self.fields.is_some() {
                problems.push(at.problem("compares a value across runs; leave `fields` out"));
            }
            if across.value.as_str().is_some_and(|text| text.trim().is_empty()) || across.value.is_null() {
                problems.push(at.key("value").problem("needs the value that identifies an item"));
            }
            if !(1..=MAX_DEDUPE_KEEP).contains(&across.keep) {
                problems.push(at.key("keep").problem(format!("must be from 1 to {MAX_DEDUPE_KEEP}")));
            }
        }
        let Some(fields) = &self.fields else { return };
        let at = at.key("fields");
        if fields.is_empty() {
            problems.push(at.problem("leave `fields` out to compare whole items; the list cannot be empty"));
        }
        for (index, field) in fields.iter().enumerate() {
            if field.trim().is_empty() {
                problems.push(at.index(index).problem("needs a field name"));
            } else if let Some(problem) = field_path_problem(field) {
                problems.push(at.index(index).problem(problem));
            }
        }
    }
}

/// `stop_and_error`: fails with this message (routed like any failure, by `on_error`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StopAndErrorParams {
    pub message: String,
}

impl ParamRules for StopAndErrorParams {
    fn check(&self, at: &Pointer, problems: &mut Vec<DefinitionProblem>) {
        if self.message.trim().is_empty() {
            problems.push(at.key("message").problem("needs a message"));
        }
    }
}

/// `execute_workflow`: runs a workflow of the same workspace with the input items and waits for
/// its result.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecuteWorkflowParams {
    /// `wf_…`, or an expression producing one.
    pub workflow_id: String,
}

impl ParamRules for ExecuteWorkflowParams {
    fn check(&self, at: &Pointer, problems: &mut Vec<DefinitionProblem>) {
        if !is_expression(&self.workflow_id) && !is_workflow_id(&self.workflow_id) {
            problems.push(at.key("workflow_id").problem("must be a workflow id (`wf_…`) or an expression"));
        }
    }
}

/// The most recipients (`to`, `cc` and `bcc` together) one `send_email` message may have.
pub const MAX_EMAIL_RECIPIENTS: usize = 50;

/// `send_email`: one message per item, from the instance's sender address. Addresses are
/// comma-separated (`Ada <ada@example.com>, bob@example.com`) and checked when the node runs,
/// since expressions give most of them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendEmailParams {
    pub to: String,
    #[serde(default)]
    pub cc: Option<String>,
    #[serde(default)]
    pub bcc: Option<String>,
    /// Where replies go; the sender itself is always the instance's address.
    #[serde(default)]
    pub reply_to: Option<String>,
    #[serde(default)]
    pub subject: String,
    /// The plain-text body; with `html`, the message carries both.
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub html: Option<String>,
    /// The name shown beside the instance's sender address.
    #[serde(default)]
    pub from_name: Option<String>,
}

impl ParamRules for SendEmailParams {
    fn check(&self, at: &Pointer, problems: &mut Vec<DefinitionProblem>) {
        if self.to.trim().is_empty() {
            problems.push(at.key("to").problem("needs at least one recipient"));
        }
    }
}

/// `n8n_unsupported`: an imported n8n node Weft cannot run, kept whole for export. Validation
/// always refuses it, so a workflow holding one saves as a draft but does not publish.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct N8nPlaceholderParams {
    /// The n8n type, e.g. `n8n-nodes-base.slack`.
    pub n8n_type: String,
    /// n8n's `typeVersion`, a number such as `1` or `2.1`.
    pub type_version: Value,
    /// n8n's `parameters`, untouched.
    #[serde(default)]
    pub parameters: Map<String, Value>,
    /// How many main outputs the n8n node has (connections use them by index).
    #[serde(default)]
    pub outputs: Option<u64>,
    /// n8n connections of other kinds than `main` that leave this node (`ai_languageModel`, …),
    /// in n8n's shape, so that an export restores them.
    #[serde(default)]
    pub connections: Map<String, Value>,
    /// Why the importer kept the node as a placeholder, when the type itself is known to Weft.
    #[serde(default)]
    pub reason: Option<String>,
}

impl ParamRules for N8nPlaceholderParams {
    fn check(&self, at: &Pointer, problems: &mut Vec<DefinitionProblem>) {
        let mut detail = format!("unsupported n8n node type {} (typeVersion {})", self.n8n_type, self.type_version);
        if let Some(reason) = &self.reason {
            detail.push_str(&format!(": {reason}"));
        }
        problems.push(at.key("n8n_type").problem(detail));
    }
}
