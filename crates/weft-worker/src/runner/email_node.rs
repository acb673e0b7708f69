//! The `send_email` node: one message per item through the instance's mailer, from its sender
//! address. Every item's message is built, and every address checked, before any is sent, so a
//! bad address fails the step without a message going out and a retry sends each once.

use lettre::message::Mailbox;
use serde_json::{Map, json};
use sha2::{Digest, Sha256};
use weft_engine::exec::{Expressions, ItemContext, resolve_params};
use weft_engine::params::{MAX_EMAIL_RECIPIENTS, SendEmailParams};
use weft_engine::{Item, NodeDef};

use crate::{Mailer, WorkflowEmail};

/// Builds every item's message. `attempt_key` is `run:activation:attempt`; each message's
/// Message-ID is derived from the run, the activation and the item alone, so a copy that an
/// attempt repeated after a crash sends again carries the same Message-ID as the first.
pub(super) fn prepare(
    node: &NodeDef,
    inputs: &[Vec<Item>],
    exprs: &dyn Expressions,
    attempt_key: &str,
) -> Result<Vec<WorkflowEmail>, String> {
    let activation = attempt_key.rsplit_once(':').map_or(attempt_key, |(activation, _)| activation);
    let items = inputs.first().map(Vec::as_slice).unwrap_or_default();
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let context = ItemContext { node: &node.name, item, index, input: 0, inputs };
            let params: SendEmailParams = resolve_params(node, &context, exprs).map_err(|e| e.to_string())?;
            let fail = |message: String| format!("`{}`: item {index}: {message}", node.name);
            let to = mailboxes("to", &params.to).map_err(fail)?;
            let cc = mailboxes("cc", params.cc.as_deref().unwrap_or_default()).map_err(fail)?;
            let bcc = mailboxes("bcc", params.bcc.as_deref().unwrap_or_default()).map_err(fail)?;
            if to.is_empty() {
                return Err(fail("`to` holds no address".into()));
            }
            let count = to.len() + cc.len() + bcc.len();
            if count > MAX_EMAIL_RECIPIENTS {
                return Err(fail(format!(
                    "{count} recipients, more than the {MAX_EMAIL_RECIPIENTS} a message may have"
                )));
            }
            let reply_to = match params.reply_to.as_deref().map(str::trim).filter(|text| !text.is_empty()) {
                Some(text) => Some(mailbox("reply_to", text).map_err(fail)?),
                None => None,
            };
            let digest = Sha256::digest(format!("{activation}:{index}"));
            Ok(WorkflowEmail {
                to,
                cc,
                bcc,
                reply_to,
                from_name: params.from_name.filter(|name| !name.trim().is_empty()),
                subject: params.subject,
                text: params.text,
                html: params.html,
                message_id: format!("{}@weft", hex::encode(&digest[..16])),
            })
        })
        .collect()
}

/// The comma-separated addresses of `param`.
fn mailboxes(param: &str, list: &str) -> Result<Vec<Mailbox>, String> {
    list.split(',').map(str::trim).filter(|text| !text.is_empty()).map(|text| mailbox(param, text)).collect()
}

fn mailbox(param: &str, text: &str) -> Result<Mailbox, String> {
    text.parse().map_err(|_| format!("`{param}` holds `{text}`, which is not an email address"))
}

/// Sends the messages in order; each item becomes what n8n's node gives:
/// `{accepted, rejected, envelope: {from, to}, messageId}`.
pub(super) async fn send_all(mailer: &Mailer, messages: Vec<WorkflowEmail>) -> Result<Vec<Vec<Item>>, String> {
    let mut items = Vec::with_capacity(messages.len());
    for message in messages {
        let message_id = format!("<{}>", message.message_id);
        let envelope = mailer.send_workflow_email(message).await.map_err(|error| {
            let chain = std::iter::successors(Some(&error as &dyn std::error::Error), |cause| cause.source());
            let chain: Vec<String> = chain.map(ToString::to_string).collect();
            format!("sending the email failed: {}", chain.join(": "))
        })?;
        let mut json = Map::new();
        json.insert("accepted".into(), json!(envelope.to));
        json.insert("rejected".into(), json!([]));
        json.insert("envelope".into(), json!({"from": envelope.from, "to": envelope.to}));
        json.insert("messageId".into(), json!(message_id));
        items.push(Item::new(json));
    }
    Ok(vec![items])
}
