//! `summarize`: n8n's Summarize, aggregations over the items, per group.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Number, Value};

use super::compare::{self, Key};
use super::expression::javascript_number;
use super::{first_input, path};
use crate::item::Item;
use crate::params::{Aggregation, SummarizeField, SummarizeParams};

/// One item per group, groups in the order their values first appear (nested: the groups of
/// the second field within each group of the first, as n8n nests them). Without `split_by`,
/// one item even for no items at all; with it, none. Each item holds the group's values (a
/// missing one as `null`) and then each aggregation, named as n8n names them. Attachments are
/// not carried over.
pub(super) fn summarize(params: SummarizeParams, inputs: Vec<Vec<Item>>) -> Vec<Vec<Item>> {
    let items = first_input(inputs);
    let all: Vec<&Item> = items.iter().collect();
    let groups = if params.split_by.is_empty() {
        vec![(Vec::new(), all)]
    } else {
        group(all, &params.split_by, params.skip_empty_groups)
    };
    let output = groups
        .into_iter()
        .map(|(values, members)| {
            let mut json = Map::new();
            for (field, value) in params.split_by.iter().zip(values) {
                json.insert(output_name(field), value);
            }
            for field in &params.fields {
                json.insert(
                    output_name(&format!("{}{}", field.aggregation.prefix(), field.field)),
                    aggregate(field, &members),
                );
            }
            Item::new(json)
        })
        .collect();
    vec![output]
}

/// Stands in for a missing group field.
static NULL: Value = Value::Null;

/// A group's values, one per `split_by` field, and its items.
type Group<'i> = (Vec<Value>, Vec<&'i Item>);

fn group<'i>(items: Vec<&'i Item>, split_by: &[String], skip_empty: bool) -> Vec<Group<'i>> {
    let Some((field, rest)) = split_by.split_first() else {
        return vec![(Vec::new(), items)];
    };
    let mut groups: Vec<(&Value, Vec<&Item>)> = Vec::new();
    let mut index_of: HashMap<Key<'_>, usize> = HashMap::new();
    for item in items {
        let value = path::get(&item.json, field).unwrap_or(&NULL);
        if skip_empty && (matches!(value, Value::Null | Value::Bool(false)) || value.as_str() == Some("")) {
            continue;
        }
        match index_of.get(&Key(value)) {
            Some(&index) => groups[index].1.push(item),
            None => {
                index_of.insert(Key(value), groups.len());
                groups.push((value, vec![item]));
            }
        }
    }
    let mut nested = Vec::new();
    for (value, members) in groups {
        for (mut values, members) in group(members, rest, skip_empty) {
            values.insert(0, value.clone());
            nested.push((values, members));
        }
    }
    nested
}

/// n8n's result names: quotes and brackets dropped, dots and spaces made underscores.
fn output_name(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, '[' | ']' | '"'))
        .map(|c| if matches!(c, '.' | ' ') { '_' } else { c })
        .collect()
}

/// Missing, `null` and `""` are n8n's empty values.
fn is_empty(value: Option<&Value>) -> bool {
    matches!(value, None | Some(Value::Null)) || value.and_then(Value::as_str) == Some("")
}

fn aggregate(field: &SummarizeField, items: &[&Item]) -> Value {
    let values = items.iter().map(|item| path::get(&item.json, &field.field));
    let kept: Vec<Option<&Value>> = values.filter(|value| field.include_empty || !is_empty(*value)).collect();
    let numbers = || kept.iter().filter_map(|value| value.and_then(Value::as_f64));
    match field.aggregation {
        Aggregation::Count => Value::from(kept.len()),
        Aggregation::CountUnique => Value::from(kept.iter().map(|value| value.map(Key)).collect::<HashSet<_>>().len()),
        Aggregation::Sum => number(numbers().sum()),
        Aggregation::Average => {
            let count = numbers().count();
            if count == 0 { Value::Null } else { number(numbers().sum::<f64>() / count as f64) }
        }
        Aggregation::Min => {
            kept.iter().flatten().min_by(|a, b| compare::sort_order(a, b)).map_or(Value::Null, |v| (*v).clone())
        }
        Aggregation::Max => {
            kept.iter().flatten().max_by(|a, b| compare::sort_order(a, b)).map_or(Value::Null, |v| (*v).clone())
        }
        Aggregation::Concatenate => {
            let texts: Vec<String> = kept.iter().map(|value| text(*value)).collect();
            Value::String(texts.join(field.separator.as_deref().unwrap_or(",")))
        }
        Aggregation::Append => Value::Array(kept.iter().map(|value| value.cloned().unwrap_or(Value::Null)).collect()),
    }
}

/// A value joined into text as JavaScript would: objects, lists and `null` as JSON, a missing
/// value as `undefined`.
fn text(value: Option<&Value>) -> String {
    match value {
        None => "undefined".to_string(),
        Some(Value::String(text)) => text.clone(),
        Some(Value::Number(number)) => javascript_number(number),
        Some(other) => other.to_string(),
    }
}

/// A sum or average as JSON: a whole number without a fraction, as JavaScript writes it.
fn number(value: f64) -> Value {
    const EXACT: f64 = 9_007_199_254_740_992.0;
    if value.fract() == 0.0 && value.abs() < EXACT {
        Value::from(value as i64)
    } else {
        Number::from_f64(value).map_or(Value::Null, Value::Number)
    }
}
