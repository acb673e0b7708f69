//! The node types with two inputs: `merge` combines input 0 and input 1, `compare_datasets`
//! pairs their items and sorts them by whether they differ.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::NodeError;
use super::compare::{Key, same};
use super::expression::Resolver;
use super::path;
use crate::item::Item;
use crate::params::{CompareDatasetsParams, MergeMode, MergeParams, WhenDifferent};
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

/// n8n's Compare Datasets. Items whose JSON is empty are left out of both inputs, and a field to
/// match that no item of a (non-empty) input has is an error, as in n8n. An A item lacking one of
/// its fields, or matching no B item, is in A only; a B item no A item matched is in B only.
/// Paired items are the same when their JSON, less `skip_fields`, is equal: A's item goes out on
/// `same`, once however many B items it matched. Otherwise each pair goes out on `different`,
/// shaped by `when_different`.
pub(super) fn compare_datasets(
    params: CompareDatasetsParams,
    inputs: Vec<Vec<Item>>,
    resolver: &Resolver<'_>,
) -> Result<Vec<Vec<Item>>, NodeError> {
    let mut inputs = inputs.into_iter().map(|items| items.into_iter().filter(|item| !item.json.is_empty()));
    let (a_items, b_items): (Vec<Item>, Vec<Item>) = (
        inputs.next().map(Iterator::collect).unwrap_or_default(),
        inputs.next().map(Iterator::collect).unwrap_or_default(),
    );
    for (index, pair) in params.fields.iter().enumerate() {
        for (items, field, side, label) in [(&a_items, &pair.a, "a", "A"), (&b_items, &pair.b, "b", "B")] {
            if !items.is_empty() && items.iter().all(|item| path::get(&item.json, field).is_none()) {
                let at = Pointer::root().key("params").key("fields").index(index).key(side);
                return Err(resolver.param_error(&at, format!("no item of input {label} has the field `{field}`")));
            }
        }
    }
    let (mut in_a_only, mut same_items, mut different) = (Vec::new(), Vec::new(), Vec::new());
    let mut matched_in_b = HashSet::new();
    for a in &a_items {
        let wanted: Option<Vec<&Value>> = params.fields.iter().map(|pair| path::get(&a.json, &pair.a)).collect();
        let Some(wanted) = wanted else {
            in_a_only.push(a.clone());
            continue;
        };
        let pairs_with = |b: &Item| {
            params
                .fields
                .iter()
                .zip(&wanted)
                .all(|(pair, value)| path::get(&b.json, &pair.b).is_some_and(|v| same(v, value)))
        };
        let mut matches = b_items.iter().enumerate().filter(|(_, b)| pairs_with(b));
        let matches: Vec<(usize, &Item)> =
            if params.all_matches { matches.collect() } else { matches.next().into_iter().collect() };
        if matches.is_empty() {
            in_a_only.push(a.clone());
            continue;
        }
        let mut is_same = false;
        for (index, b) in matches {
            matched_in_b.insert(index);
            if same_without(&a.json, &b.json, &params.skip_fields) {
                is_same = true;
                continue;
            }
            different.push(match params.when_different {
                WhenDifferent::PreferA => a.clone(),
                WhenDifferent::PreferB => b.clone(),
                WhenDifferent::IncludeBoth => Item::new(both_versions(a, b, &params)),
            });
        }
        if is_same {
            same_items.push(a.clone());
        }
    }
    let in_b_only =
        b_items.into_iter().enumerate().filter(|(index, _)| !matched_in_b.contains(index)).map(|(_, b)| b).collect();
    Ok(vec![in_a_only, same_items, different, in_b_only])
}

fn same_without(a: &Map<String, Value>, b: &Map<String, Value>, skip_fields: &[String]) -> bool {
    let (mut a, mut b) = (a.clone(), b.clone());
    for field in skip_fields {
        path::remove(&mut a, field);
        path::remove(&mut b, field);
    }
    same(&Value::Object(a), &Value::Object(b))
}

/// n8n's "Include Both Versions": `keys` holds A's values of the fields matched on (under A's
/// names), `same` the top-level fields both have equal, `different` every other field as
/// `{inputA, inputB}` (`null` for the side lacking it), and `skipped`, when there is one, the
/// skipped fields that differ.
fn both_versions(a: &Item, b: &Item, params: &CompareDatasetsParams) -> Map<String, Value> {
    let mut keys = Map::new();
    for pair in &params.fields {
        if let Some(value) = path::get(&a.json, &pair.a) {
            keys.insert(pair.a.clone(), value.clone());
        }
    }
    let mut equal = Map::new();
    let (mut different, mut skipped) = (Map::new(), Map::new());
    for field in a.json.keys().chain(b.json.keys().filter(|field| !a.json.contains_key(*field))) {
        let (in_a, in_b) = (a.json.get(field), b.json.get(field));
        match (in_a, in_b) {
            (Some(in_a), Some(in_b)) if same(in_a, in_b) => {
                equal.insert(field.clone(), in_a.clone());
            }
            _ => {
                let both =
                    serde_json::json!({"inputA": in_a.unwrap_or(&Value::Null), "inputB": in_b.unwrap_or(&Value::Null)});
                let target = if params.skip_fields.contains(field) { &mut skipped } else { &mut different };
                target.insert(field.clone(), both);
            }
        }
    }
    let mut json = Map::new();
    json.insert("keys".into(), Value::Object(keys));
    json.insert("same".into(), Value::Object(equal));
    json.insert("different".into(), Value::Object(different));
    if !skipped.is_empty() {
        json.insert("skipped".into(), Value::Object(skipped));
    }
    json
}
