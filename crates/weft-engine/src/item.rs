//! The data that flows between nodes: n8n's item model, so that workflows and code written for
//! n8n (`items[0].json.x`, `$json`, `$binary`) carry over. A node receives a list of items on each
//! input and emits a list of items on each output.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One item: a JSON object plus, optionally, named binary attachments.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    pub json: Map<String, Value>,
    /// Attachments by name (`data`, `attachment_0`, …). Only references travel with the item;
    /// the bytes stay in the blob store so that large files never pass through run state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary: Option<BTreeMap<String, BinaryRef>>,
}

impl Item {
    pub fn new(json: Map<String, Value>) -> Self {
        Item { json, binary: None }
    }
}

/// A reference to bytes held in the blob store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BinaryRef {
    /// The blob store's key for the bytes.
    pub key: String,
    pub mime_type: String,
    /// Length in bytes.
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_item_with_binary_round_trips() {
        let value = json!({
            "json": {"id": 1},
            "binary": {"data": {"key": "blob/abc", "mime_type": "image/png", "size": 42, "file_name": "a.png"}}
        });
        let item: Item = serde_json::from_value(value.clone()).unwrap();
        assert_eq!(item.binary.as_ref().unwrap()["data"].size, 42);
        assert_eq!(serde_json::to_value(&item).unwrap(), value);
    }

    #[test]
    fn a_plain_item_has_no_binary_member() {
        let item = Item::new(json!({"a": true}).as_object().unwrap().clone());
        assert_eq!(serde_json::to_value(&item).unwrap(), json!({"json": {"a": true}}));
    }
}
