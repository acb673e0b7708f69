//! Params of the trigger node types that start runs from outside (webhooks, schedules, events)
//! and of `respond_to_webhook`, which shapes a webhook's answer.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;
use weft_domain::{EventType, Schedule, ScheduleError};

use crate::definition::DefinitionProblem;
use crate::formats::{is_expression, is_header_name};
use crate::params::{Method, ParamRules, ParamValue};
use crate::pointer::Pointer;

/// `webhook_trigger`: a request to `/hooks/{hook_id}` starts a run with the request as its item.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookTriggerParams {
    /// The methods the hook answers; others get 405. Default: `POST`.
    #[serde(default = "default_methods")]
    pub methods: Vec<Method>,
    #[serde(default)]
    pub response_mode: ResponseMode,
    /// What `last_node` answers with.
    #[serde(default)]
    pub response_data: ResponseData,
    /// With `response_data: first_binary`: the attachment answered with, default `data`.
    #[serde(default)]
    pub response_field: Option<String>,
    #[serde(default)]
    pub auth: HookAuth,
}

fn default_methods() -> Vec<Method> {
    vec![Method::Post]
}

/// When a webhook request is answered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseMode {
    /// At once, 202 with the run id: the run is queued durably, nothing else is awaited.
    #[default]
    Accepted,
    /// When the run ends, with the items of the last node that ended a branch.
    LastNode,
    /// When a `respond_to_webhook` node runs, with the status, headers and body it sets.
    RespondNode,
}

/// What a `last_node` answer carries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseData {
    /// The first item's JSON (an empty object when there is none).
    #[default]
    FirstEntry,
    /// Every item's JSON, as an array.
    AllEntries,
    /// An empty 200.
    NoData,
    /// The first item's attachment `response_field`, its bytes as they are, with its type.
    FirstBinary,
}

/// How a webhook request proves where it comes from. Secrets are in the definition, so anyone
/// who can read the workflow can read them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum HookAuth {
    #[default]
    None,
    /// A header that must carry exactly this value.
    Header { name: String, value: String },
    /// HTTP Basic authentication.
    Basic { username: String, password: String },
    /// Standard Webhooks: `webhook-id`, `webhook-timestamp` (within 5 minutes) and a
    /// `webhook-signature` made with this `whsec_…` secret.
    StandardWebhooks { secret: String },
    /// `sha256=<hex HMAC-SHA256 of the raw body>` in `header` (GitHub's is
    /// `X-Hub-Signature-256`), keyed with the secret's UTF-8 bytes.
    HmacSha256 {
        #[serde(default = "default_signature_header")]
        header: String,
        secret: String,
    },
}

fn default_signature_header() -> String {
    "X-Hub-Signature-256".to_string()
}

impl ParamRules for WebhookTriggerParams {
    fn check(&self, at: &Pointer, problems: &mut Vec<DefinitionProblem>) {
        if self.methods.is_empty() {
            problems.push(at.key("methods").problem("needs at least one method"));
        }
        if self.response_field.is_some() && self.response_data != ResponseData::FirstBinary {
            problems.push(at.key("response_field").problem("only `response_data: first_binary` takes a field"));
        }
        if let Some(index) = self.methods.iter().position(|method| *method == Method::Options) {
            problems.push(at.key("methods").index(index).problem("OPTIONS is answered by Weft itself (CORS)"));
        }
        let at = at.key("auth");
        let mut required = |field: &str, value: &str| {
            if value.is_empty() {
                problems.push(at.key(field).problem("must not be empty"));
            } else if is_expression(value) {
                problems
                    .push(at.key(field).problem("is checked before any item exists, so it cannot be an expression"));
            }
        };
        match &self.auth {
            HookAuth::None => {}
            HookAuth::Header { name, value } => {
                required("name", name);
                required("value", value);
                if !name.is_empty() && !is_header_name(name) {
                    problems.push(at.key("name").problem("is not a valid header name"));
                }
            }
            HookAuth::Basic { username, password } => {
                required("username", username);
                required("password", password);
            }
            HookAuth::StandardWebhooks { secret } => {
                if let Err(error) = weft_domain::webhook_signature::SigningSecret::parse(secret) {
                    problems.push(at.key("secret").problem(error.to_string()));
                }
            }
            HookAuth::HmacSha256 { header, secret } => {
                required("secret", secret);
                if !is_header_name(header) {
                    problems.push(at.key("header").problem("is not a valid header name"));
                }
            }
        }
    }
}

/// `respond_to_webhook`: sets the answer of the webhook request that started the run (when its
/// trigger's `response_mode` is `respond_node`), and passes its items on.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RespondToWebhookParams {
    #[serde(default = "default_status")]
    pub status: ParamValue<u16>,
    /// Header values: strings, numbers or booleans (what an expression gives is sent as text).
    #[serde(default)]
    pub headers: BTreeMap<String, Value>,
    #[serde(default)]
    pub respond_with: RespondWith,
    /// With `respond_with: body`: a JSON value, or a string sent as text.
    #[serde(default)]
    pub body: Option<Value>,
    /// With `respond_with: binary`: the first item's attachment to answer with, default `data`.
    #[serde(default)]
    pub field: Option<String>,
}

fn default_status() -> ParamValue<u16> {
    ParamValue::Literal(200)
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RespondWith {
    /// The first incoming item's JSON.
    #[default]
    FirstItem,
    /// Every incoming item's JSON, as an array.
    AllItems,
    /// `body`, evaluated against the first item.
    Body,
    /// No body.
    NoData,
    /// The first incoming item's attachment `field`, its bytes as they are, with its type.
    Binary,
}

impl ParamRules for RespondToWebhookParams {
    fn check(&self, at: &Pointer, problems: &mut Vec<DefinitionProblem>) {
        if let Some(status) = self.status.literal()
            && !(100..=599).contains(status)
        {
            problems.push(at.key("status").problem("must be an HTTP status, 100 to 599"));
        }
        for (name, value) in &self.headers {
            if !is_header_name(name) {
                problems.push(at.key("headers").key(name).problem("is not a valid header name"));
            } else if !matches!(value, Value::String(_) | Value::Number(_) | Value::Bool(_)) {
                problems.push(at.key("headers").key(name).problem("must be a string, number or boolean"));
            }
        }
        match (self.respond_with, &self.body) {
            (RespondWith::Body, None) => problems.push(at.key("body").problem("`respond_with: body` needs a body")),
            (RespondWith::FirstItem | RespondWith::AllItems | RespondWith::NoData | RespondWith::Binary, Some(_)) => {
                problems.push(at.key("body").problem("only `respond_with: body` takes a body"))
            }
            _ => {}
        }
        if self.field.is_some() && self.respond_with != RespondWith::Binary {
            problems.push(at.key("field").problem("only `respond_with: binary` takes a field"));
        }
    }
}

/// `event_trigger`: starts a run for each workspace event of the listed types, with the event
/// `{id, type, timestamp, data}` as its item.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventTriggerParams {
    pub events: Vec<String>,
}

impl ParamRules for EventTriggerParams {
    fn check(&self, at: &Pointer, problems: &mut Vec<DefinitionProblem>) {
        if self.events.is_empty() {
            problems.push(at.key("events").problem("needs at least one event type"));
        }
        for (index, name) in self.events.iter().enumerate() {
            if EventType::parse(name).is_none() {
                let known: Vec<_> = EventType::ALL.map(EventType::as_str).into();
                let message = format!("`{name}` is not an event type; known: {}", known.join(", "));
                problems.push(at.key("events").index(index).problem(message));
            }
        }
    }
}

/// `schedule_trigger`: starts runs on a cron schedule or at a fixed interval, in a time zone.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleTriggerParams {
    /// Five fields (minute hour day-of-month month day-of-week) or six (seconds first).
    #[serde(default)]
    pub cron: Option<String>,
    /// Seconds between firings, counted from publication.
    #[serde(default)]
    pub interval_secs: Option<u64>,
    /// An IANA time zone name (`Europe/Paris`); cron fields are read in it.
    #[serde(default = "default_timezone")]
    pub timezone: String,
    /// What happens to firings missed while no scheduler ran.
    #[serde(default)]
    pub catch_up: CatchUp,
}

fn default_timezone() -> String {
    "UTC".to_string()
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CatchUp {
    /// Missed firings are dropped; the next one is in the future.
    #[default]
    Skip,
    /// The missed firings become one run, at the latest of them.
    One,
    /// Each missed firing runs (at most 100).
    All,
}

impl ScheduleTriggerParams {
    /// The schedule these params describe, by the rules of [`weft_domain::schedule`].
    pub fn schedule(&self) -> Result<Schedule, ScheduleError> {
        match (&self.cron, self.interval_secs) {
            (Some(cron), None) => Schedule::cron(cron, &self.timezone),
            (None, Some(seconds)) => Schedule::every(seconds, &self.timezone),
            _ => Err(ScheduleError::NeedsOneRecurrence),
        }
    }
}

impl ParamRules for ScheduleTriggerParams {
    fn check(&self, at: &Pointer, problems: &mut Vec<DefinitionProblem>) {
        let Err(error) = self.schedule() else { return };
        let at = match error {
            ScheduleError::FieldCount(_)
            | ScheduleError::UnknownMacro(_)
            | ScheduleError::Field { .. }
            | ScheduleError::NeverFires => at.key("cron"),
            ScheduleError::UnknownTimeZone(_) => at.key("timezone"),
            ScheduleError::ZeroInterval => at.key("interval_secs"),
            ScheduleError::NeedsOneRecurrence => at.clone(),
        };
        problems.push(at.problem(error.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn problems_of<P: ParamRules>(params: Value) -> Vec<(String, String)> {
        let params: P = serde_json::from_value(params).expect("has the params' shape");
        let mut problems = Vec::new();
        params.check(&Pointer::root().key("params"), &mut problems);
        problems.into_iter().map(|problem| (problem.pointer, problem.detail)).collect()
    }

    fn schedule_problems(params: Value) -> Vec<(String, String)> {
        problems_of::<ScheduleTriggerParams>(params)
    }

    fn pointers<P: ParamRules>(params: Value) -> Vec<String> {
        problems_of::<P>(params).into_iter().map(|(pointer, _)| pointer).collect()
    }

    #[test]
    fn webhook_params_refuse_what_cannot_be_served_or_checked() {
        assert_eq!(pointers::<WebhookTriggerParams>(json!({})), Vec::<String>::new());
        assert_eq!(pointers::<WebhookTriggerParams>(json!({"methods": []})), ["/params/methods"]);
        assert_eq!(pointers::<WebhookTriggerParams>(json!({"methods": ["GET", "OPTIONS"]})), ["/params/methods/1"]);
        let auth = |auth: Value| pointers::<WebhookTriggerParams>(json!({ "auth": auth }));
        assert_eq!(auth(json!({"type": "header", "name": "bad name", "value": "x"})), ["/params/auth/name"]);
        assert_eq!(
            auth(json!({"type": "header", "name": "X-Token", "value": "{{ $json.a }}"})),
            ["/params/auth/value"]
        );
        assert_eq!(auth(json!({"type": "basic", "username": "", "password": "p"})), ["/params/auth/username"]);
        assert_eq!(auth(json!({"type": "standard_webhooks", "secret": "not-a-secret"})), ["/params/auth/secret"]);
        assert_eq!(auth(json!({"type": "hmac_sha256", "secret": "s"})), Vec::<String>::new());
    }

    #[test]
    fn respond_and_event_params_follow_their_rules() {
        assert_eq!(pointers::<RespondToWebhookParams>(json!({"status": 700})), ["/params/status"]);
        assert_eq!(pointers::<RespondToWebhookParams>(json!({"respond_with": "body"})), ["/params/body"]);
        assert_eq!(pointers::<RespondToWebhookParams>(json!({"body": "hi"})), ["/params/body"]);
        assert_eq!(pointers::<RespondToWebhookParams>(json!({"headers": {"X-A": {"b": 1}}})), ["/params/headers/X-A"]);
        assert_eq!(pointers::<EventTriggerParams>(json!({"events": ["run.failed"]})), Vec::<String>::new());
        assert_eq!(pointers::<EventTriggerParams>(json!({"events": []})), ["/params/events"]);
        assert_eq!(
            pointers::<EventTriggerParams>(json!({"events": ["run.failed", "run.exploded"]})),
            ["/params/events/1"]
        );
    }

    #[test]
    fn schedule_params_name_the_field_at_fault() {
        assert_eq!(schedule_problems(json!({"cron": "*/5 * * * *", "timezone": "Europe/Berlin"})), []);
        assert_eq!(schedule_problems(json!({"interval_secs": 30})), []);
        let wrong = |field: &str, detail: &str| vec![(format!("/params{field}"), detail.to_owned())];
        assert_eq!(
            schedule_problems(json!({"cron": "61 * * * *"})),
            wrong("/cron", "the minute field `61`: 61 is out of range 0-59")
        );
        assert_eq!(
            schedule_problems(json!({"cron": "@daily", "timezone": "Europe/Berln"})),
            wrong("/timezone", "`Europe/Berln` is not a known IANA time zone (e.g. `Europe/Berlin`, `UTC`)")
        );
        assert_eq!(schedule_problems(json!({"interval_secs": 0})), wrong("/interval_secs", "must be at least 1"));
        let one_of = wrong("", "needs exactly one of `cron` and `interval_secs`");
        assert_eq!(schedule_problems(json!({})), one_of);
        assert_eq!(schedule_problems(json!({"cron": "@daily", "interval_secs": 5})), one_of);
    }
}
