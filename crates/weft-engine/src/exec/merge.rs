//! The node types with several inputs: `merge` combines them, `compare_datasets` pairs input
//! A's items with input B's and sorts them by whether they differ.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::NodeError;
use super::compare::{Key, same};
use super::expression::Resolver;
use super::path;
use crate::item::Item;
use crate::params::{
    Chosen, Clash, CompareDatasetsParams, Join, MatchFields, MergeMode, MergeParams, OutputFrom, WhenDifferent,
};
use crate::pointer::Pointer;

/// n8n's Merge: see docs/workflow-format.md for what each mode sends out. Missing inputs count
/// as empty.
pub(super) fn merge(
    params: MergeParams,
    mut inputs: Vec<Vec<Item>>,
    resolver: &Resolver<'_>,
) -> Result<Vec<Vec<Item>>, NodeError> {
    let count = usize::try_from(params.inputs).unwrap_or(2).max(2);
    inputs.resize_with(count.max(inputs.len()), Vec::new);
    let combiner = Combiner::new(&params);
    let merged = match params.mode {
        MergeMode::Append | MergeMode::WaitBoth => inputs.into_iter().flatten().collect(),
        MergeMode::ChooseBranch => match params.choose {
            Some(Chosen::Empty(_)) => vec![Item::default()],
            Some(Chosen::Input(input)) => {
                usize::try_from(input).ok().and_then(|input| inputs.get(input).cloned()).unwrap_or_default()
            }
            None => inputs.swap_remove(0),
        },
        MergeMode::CrossJoin => {
            let (left, right, combiner) = (&inputs[0], &inputs[1], &combiner);
            left.iter().flat_map(|a| right.iter().map(move |b| combiner.combine(&[(0, a), (1, b)]))).collect()
        }
        MergeMode::ByPosition => {
            let lengths = inputs.iter().map(Vec::len);
            let rows = if params.include_unpaired { lengths.max() } else { lengths.min() }.unwrap_or_default();
            (0..rows)
                .map(|row| {
                    let parts: Vec<(usize, &Item)> =
                        inputs.iter().enumerate().filter_map(|(input, items)| Some((input, items.get(row)?))).collect();
                    combiner.combine(&parts)
                })
                .collect()
        }
        MergeMode::ByKey => {
            let pairs = match (&params.key, params.fields.as_slice()) {
                (Some(key), _) => vec![MatchFields { a: key.clone(), b: key.clone() }],
                (None, []) => {
                    let at = Pointer::root().key("params");
                    return Err(resolver.param_error(&at, "`by_key` needs `key` or `fields`, the fields to match on"));
                }
                (None, fields) => fields.to_vec(),
            };
            let right = inputs.swap_remove(1);
            let left = inputs.swap_remove(0);
            by_key(&params, &pairs, left, right, &combiner)
        }
    };
    Ok(vec![merged])
}

/// n8n's "combine by matching fields". When either input is empty, n8n passes on what there is
/// (both inputs appended) unless the join has nothing to keep. Items missing a field, or
/// holding `null` in it, match nothing, as `NULL` matches nothing in SQL.
fn by_key(
    params: &MergeParams,
    pairs: &[MatchFields],
    left: Vec<Item>,
    right: Vec<Item>,
    combiner: &Combiner,
) -> Vec<Item> {
    let (join, from) = (params.join, params.output_from);
    if left.is_empty() || right.is_empty() {
        let nothing = match join {
            Join::Inner => true,
            Join::Left => left.is_empty(),
            Join::Right => right.is_empty(),
            Join::Unmatched => {
                (from == OutputFrom::Left && left.is_empty()) || (from == OutputFrom::Right && right.is_empty())
            }
            Join::Outer => false,
        };
        return if nothing { Vec::new() } else { left.into_iter().chain(right).collect() };
    }
    let mut by_value: HashMap<Vec<Key<'_>>, Vec<usize>> = HashMap::new();
    for (index, item) in right.iter().enumerate() {
        if let Some(key) = key_of(item, pairs, |pair| &pair.b) {
            by_value.entry(key).or_default().push(index);
        }
    }
    let mut matched: Vec<(usize, &[usize])> = Vec::new();
    let (mut unmatched_left, mut matched_right) = (Vec::new(), HashSet::new());
    for (index, item) in left.iter().enumerate() {
        let partners = key_of(item, pairs, |pair| &pair.a).and_then(|key| by_value.get(&key));
        match partners {
            Some(partners) => {
                let partners = if params.all_matches { partners.as_slice() } else { &partners[..1] };
                matched_right.extend(partners.iter().copied());
                matched.push((index, partners));
            }
            None => unmatched_left.push(index),
        }
    }
    let unmatched_right: Vec<usize> = (0..right.len()).filter(|index| !matched_right.contains(index)).collect();
    let pairs = || {
        matched
            .iter()
            .flat_map(|(l, partners)| partners.iter().map(|r| combiner.combine(&[(0, &left[*l]), (1, &right[*r])])))
    };
    let unpaired = |items: &[Item], indices: &[usize], input: usize| {
        indices.iter().map(|index| combiner.alone(input, &items[*index])).collect::<Vec<_>>()
    };
    match (join, from) {
        (Join::Inner | Join::Outer, _) => {
            let mut out: Vec<Item> = match from {
                OutputFrom::Both => pairs().collect(),
                OutputFrom::Left => matched.iter().map(|(l, _)| left[*l].clone()).collect(),
                OutputFrom::Right => {
                    (0..right.len()).filter(|r| matched_right.contains(r)).map(|r| right[r].clone()).collect()
                }
            };
            if join == Join::Outer {
                out.extend(unpaired(&left, &unmatched_left, 0));
                out.extend(unpaired(&right, &unmatched_right, 1));
            }
            out
        }
        (Join::Left, _) => pairs().chain(unpaired(&left, &unmatched_left, 0)).collect(),
        (Join::Right, _) => pairs().chain(unpaired(&right, &unmatched_right, 1)).collect(),
        (Join::Unmatched, OutputFrom::Left) => unmatched_left.iter().map(|l| left[*l].clone()).collect(),
        (Join::Unmatched, OutputFrom::Right) => unmatched_right.iter().map(|r| right[*r].clone()).collect(),
        (Join::Unmatched, OutputFrom::Both) => {
            let sourced = |item: &Item, source: &str| {
                let mut item = item.clone();
                item.json.insert("_source".into(), Value::String(source.into()));
                item
            };
            let lefts = unmatched_left.iter().map(|l| sourced(&left[*l], "input1"));
            lefts.chain(unmatched_right.iter().map(|r| sourced(&right[*r], "input2"))).collect()
        }
    }
}

/// An item's values of the fields it is matched on (`side` picks `a` or `b`), if it has them all.
fn key_of<'i>(item: &'i Item, pairs: &[MatchFields], side: fn(&MatchFields) -> &String) -> Option<Vec<Key<'i>>> {
    pairs.iter().map(|pair| path::present(&item.json, side(pair)).map(Key)).collect()
}

/// How items from several inputs become one: the preferred input's fields win, or every field
/// is suffixed with its input's number; shallowly or, with `deep`, into nested objects.
struct Combiner {
    clash: Clash,
    deep: bool,
}

impl Combiner {
    fn new(params: &MergeParams) -> Self {
        let default = if params.join == Join::Right { Clash::PreferFirst } else { Clash::PreferLast };
        Combiner { clash: params.clash.unwrap_or(default), deep: params.deep }
    }

    /// An item that found no partner, as `add_suffix` renames its fields all the same.
    fn alone(&self, input: usize, item: &Item) -> Item {
        self.combine(&[(input, item)])
    }

    /// One item from `parts` (input index, item), given in input order. The preferred input's
    /// item is applied last, so its fields and attachments win.
    fn combine(&self, parts: &[(usize, &Item)]) -> Item {
        let mut ordered = parts.to_vec();
        if self.clash == Clash::PreferFirst {
            ordered.sort_by_key(|(input, _)| *input == 0);
        }
        let mut combined = Item::default();
        for (input, item) in ordered {
            for (key, value) in &item.json {
                let key = if self.clash == Clash::AddSuffix { format!("{key}_{}", input + 1) } else { key.clone() };
                match combined.json.get_mut(&key) {
                    Some(existing) if self.deep => deep_merge(existing, value),
                    _ => {
                        combined.json.insert(key, value.clone());
                    }
                }
            }
            if let Some(attachments) = &item.binary {
                let binary = combined.binary.get_or_insert_default();
                binary.extend(attachments.iter().map(|(name, blob)| (name.clone(), blob.clone())));
            }
        }
        combined
    }
}

/// lodash's `merge`, which n8n's deep merge is: objects are merged member by member and lists
/// element by element; any other value replaces what was there.
fn deep_merge(target: &mut Value, source: &Value) {
    match (target, source) {
        (Value::Object(target), Value::Object(source)) => {
            for (key, value) in source {
                match target.get_mut(key) {
                    Some(existing) => deep_merge(existing, value),
                    None => {
                        target.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (Value::Array(target), Value::Array(source)) => {
            for (index, value) in source.iter().enumerate() {
                match target.get_mut(index) {
                    Some(existing) => deep_merge(existing, value),
                    None => target.push(value.clone()),
                }
            }
        }
        (target, source) => *target = source.clone(),
    }
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
