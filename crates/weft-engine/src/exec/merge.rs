//! `merge`: combines input 0 and input 1.

use std::collections::HashMap;

use super::NodeError;
use super::compare::Key;
use super::expression::Resolver;
use super::path;
use crate::item::Item;
use crate::params::{MergeMode, MergeParams};
use crate::pointer::Pointer;

/// The pairing modes are inner joins, as n8n's defaults are: an item without a partner is left
/// out. `by_key` pairs every match, so a key found twice on each side gives four items.
pub(super) fn merge(
    params: MergeParams,
    inputs: Vec<Vec<Item>>,
    resolver: &Resolver<'_>,
) -> Result<Vec<Vec<Item>>, NodeError> {
    let mut inputs = inputs.into_iter();
    let (first, second) = (inputs.next().unwrap_or_default(), inputs.next().unwrap_or_default());
    let merged = match params.mode {
        MergeMode::Append | MergeMode::WaitBoth => {
            let mut all = first;
            all.extend(second);
            all
        }
        MergeMode::CrossJoin => {
            first.iter().flat_map(|item| second.iter().map(|other| combine(item.clone(), other))).collect()
        }
        MergeMode::ByPosition => first.into_iter().zip(&second).map(|(item, other)| combine(item, other)).collect(),
        MergeMode::ByKey => {
            let Some(key) = &params.key else {
                return Err(
                    resolver.param_error(&Pointer::root().key("params"), "`by_key` needs `key`, the field to match on")
                );
            };
            by_key(first, &second, key)
        }
    };
    Ok(vec![merged])
}

/// Items whose key is missing or `null` match nothing, as `NULL` matches nothing in SQL: two
/// items that both lack the field are not about the same thing.
fn by_key(first: Vec<Item>, second: &[Item], key: &str) -> Vec<Item> {
    let mut by_value: HashMap<Key<'_>, Vec<&Item>> = HashMap::new();
    for item in second {
        if let Some(value) = path::present(&item.json, key) {
            by_value.entry(Key(value)).or_default().push(item);
        }
    }
    let mut merged = Vec::new();
    for item in first {
        let partners = path::present(&item.json, key).and_then(|value| by_value.get(&Key(value)));
        for other in partners.into_iter().flatten() {
            merged.push(combine(item.clone(), other));
        }
    }
    merged
}

/// `item` with `other`'s fields and attachments added; `other`'s win where both have one. The
/// merge is shallow: a field holding an object is replaced, not merged into.
fn combine(mut item: Item, other: &Item) -> Item {
    item.json.extend(other.json.iter().map(|(key, value)| (key.clone(), value.clone())));
    if let Some(attachments) = &other.binary {
        item.binary.get_or_insert_default().extend(attachments.iter().map(|(name, blob)| (name.clone(), blob.clone())));
    }
    item
}
