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

/// One item, even from no items. With `field`, values that are missing or `null` add nothing
/// (as with n8n's default), and the list is put at the same path (`customer.email` gives
/// `{"customer": {"email": […]}}`) so that later nodes find it where the field was. Attachments
/// are not carried over: which item's would win is anyone's guess.
pub(super) fn aggregate(params: AggregateParams, inputs: Vec<Vec<Item>>) -> Vec<Vec<Item>> {
    let items = first_input(inputs);
    let json = match &params.field {
        Some(field) => {
            let values = items.iter().filter_map(|item| path::present(&item.json, field)).cloned().collect();
            path::nest(field, Value::Array(values))
        }
        None => {
            let all = items.into_iter().map(|item| Value::Object(item.json)).collect();
            Map::from_iter([("items".to_string(), Value::Array(all))])
        }
    };
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
