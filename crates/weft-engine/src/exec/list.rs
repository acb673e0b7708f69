//! Node types that work on the item list as a whole rather than item by item: `sort`, `limit`,
//! `aggregate` and `remove_duplicates`.

use std::cmp::Ordering;
use std::collections::HashSet;

use serde_json::{Map, Value};

use super::compare::{self, Key, Members};
use super::expression::Resolver;
use super::{NodeError, first_input, path};
use crate::item::Item;
use crate::params::{AggregateParams, LimitKeep, LimitParams, RemoveDuplicatesParams, SortOrder, SortParams};
use crate::pointer::Pointer;

/// Stands in for a missing field where missing and `null` are the same.
static NULL: Value = Value::Null;

/// Stable: items that compare equal on every field keep their input order. Items whose field is
/// missing or `null` go last in either order, so "newest first" does not start with the items
/// that have no date.
pub(super) fn sort(params: SortParams, inputs: Vec<Vec<Item>>) -> Vec<Vec<Item>> {
    let mut items = first_input(inputs);
    items.sort_by(|a, b| {
        params.fields.iter().fold(Ordering::Equal, |order, field| {
            order.then_with(|| match (path::present(&a.json, &field.field), path::present(&b.json, &field.field)) {
                (Some(a), Some(b)) => match field.order {
                    SortOrder::Asc => compare::sort_order(a, b),
                    SortOrder::Desc => compare::sort_order(b, a),
                },
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            })
        })
    });
    vec![items]
}

/// `max_items`, when an expression, is evaluated once, for the first item.
pub(super) fn limit(
    params: LimitParams,
    inputs: Vec<Vec<Item>>,
    resolver: &Resolver<'_>,
) -> Result<Vec<Vec<Item>>, NodeError> {
    let Some(context) = resolver.first(&inputs) else {
        return Ok(vec![Vec::new()]);
    };
    let at = Pointer::root().key("params").key("max_items");
    let max_items = resolver.typed(&params.max_items, &at, &context)?;
    if max_items == 0 {
        return Err(resolver.param_error(&at, "must be at least 1, not 0"));
    }
    let max_items = usize::try_from(max_items).unwrap_or(usize::MAX);
    let mut items = first_input(inputs);
    match params.keep {
        LimitKeep::First => items.truncate(max_items),
        LimitKeep::Last => drop(items.drain(..items.len().saturating_sub(max_items))),
    }
    Ok(vec![items])
}

/// One item, even from no items, as n8n's Aggregate: with `field` (or each of `fields`), values
/// that are missing or `null` add nothing unless `keep_missing` (and `null`s inside a list are
/// left out with them), and the list is put at the same path (`customer.email` gives
/// `{"customer": {"email": […]}}`) or at the field's `output`. Attachments are not carried
/// over: which item's would win is anyone's guess.
pub(super) fn aggregate(params: AggregateParams, inputs: Vec<Vec<Item>>) -> Vec<Vec<Item>> {
    let items = first_input(inputs);
    let single = params.field.iter().map(|field| (field.as_str(), field.as_str()));
    let several = params
        .fields
        .iter()
        .flatten()
        .map(|field| (field.field.as_str(), field.output.as_deref().unwrap_or(&field.field)));
    let wanted: Vec<(&str, &str)> = single.chain(several).collect();
    if wanted.is_empty() {
        let destination = params.destination.as_deref().unwrap_or("items");
        let all = items.into_iter().map(|item| Value::Object(item.json)).collect();
        return vec![vec![Item::new(path::nest(destination, Value::Array(all)))]];
    }
    let mut json = Map::new();
    for (field, output) in wanted {
        let mut values = Vec::new();
        for item in &items {
            let value = path::get(&item.json, field);
            let value = match value {
                Some(Value::Array(list)) if !params.keep_missing => {
                    Value::Array(list.iter().filter(|value| !value.is_null()).cloned().collect())
                }
                None | Some(Value::Null) if !params.keep_missing => continue,
                value => value.cloned().unwrap_or(Value::Null),
            };
            match value {
                Value::Array(list) if params.merge_lists => values.extend(list),
                value => values.push(value),
            }
        }
        // Outputs are checked paths; one blocked by an earlier list is left as that list.
        let _ = path::set(&mut json, output, Value::Array(values));
    }
    vec![vec![Item::new(json)]]
}

/// Keeps the first of each group of equal items, comparing only `json`. A missing field counts
/// as `null`, so items that all lack it are duplicates of one another.
pub(super) fn remove_duplicates(params: RemoveDuplicatesParams, inputs: Vec<Vec<Item>>) -> Vec<Vec<Item>> {
    let items = first_input(inputs);
    let first_seen: Vec<bool> = match &params.fields {
        Some(fields) => {
            let mut seen = HashSet::new();
            items
                .iter()
                .map(|item| {
                    let key: Vec<_> =
                        fields.iter().map(|field| Key(path::get(&item.json, field).unwrap_or(&NULL))).collect();
                    seen.insert(key)
                })
                .collect()
        }
        None => {
            let mut seen = HashSet::new();
            items.iter().map(|item| seen.insert(Members(&item.json))).collect()
        }
    };
    vec![items.into_iter().zip(first_seen).filter_map(|(item, first)| first.then_some(item)).collect()]
}
