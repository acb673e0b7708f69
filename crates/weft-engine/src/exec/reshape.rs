//! Node types that change the shape of items: `split_out` and `rename_keys`.

use serde_json::{Map, Value};

use super::expression::Resolver;
use super::{NodeError, first_input, path};
use crate::item::Item;
use crate::params::{RenameKeysParams, SplitInclude, SplitOutParams};
use crate::pointer::Pointer;

/// n8n's Split Out, item by item: a missing field splits into nothing, an object into its
/// values, any other value (`null` included) into itself. The new items carry the input
/// item's other fields as `include` says.
pub(super) fn split_out(params: SplitOutParams, inputs: Vec<Vec<Item>>) -> Vec<Vec<Item>> {
    let several = params.fields.len() > 1;
    let mut output = Vec::new();
    for item in first_input(inputs) {
        let mut entries: Vec<Map<String, Value>> = Vec::new();
        for split in &params.fields {
            let elements: Vec<Value> = match path::get(&item.json, &split.field) {
                None => Vec::new(),
                Some(Value::Array(list)) => list.clone(),
                Some(Value::Object(members)) => members.values().cloned().collect(),
                Some(other) => vec![other.clone()],
            };
            if entries.len() < elements.len() {
                entries.resize_with(elements.len(), Map::new);
            }
            let name = split.destination.as_deref().unwrap_or(&split.field);
            let spread = params.include == SplitInclude::None && split.destination.is_none() && !several;
            for (entry, element) in entries.iter_mut().zip(elements) {
                match element {
                    Value::Object(members) if spread => entry.extend(members),
                    element => {
                        entry.insert(name.to_string(), element);
                    }
                }
            }
        }
        for entry in entries {
            let mut json = match params.include {
                SplitInclude::None => Map::new(),
                SplitInclude::All => {
                    let mut rest = item.json.clone();
                    for split in &params.fields {
                        path::remove(&mut rest, &split.field);
                    }
                    rest
                }
                SplitInclude::Selected => params
                    .include_fields
                    .iter()
                    .flatten()
                    .filter(|name| !params.fields.iter().any(|split| &split.field == *name))
                    .filter_map(|name| Some((name.clone(), path::get(&item.json, name)?.clone())))
                    .collect(),
            };
            json.extend(entry);
            let binary = if params.include_binary { item.binary.clone() } else { None };
            output.push(Item { json, binary });
        }
    }
    vec![output]
}

/// n8n's Rename Keys: renames apply in order, each value read from the item as it arrived; a
/// field the item lacks is not renamed. Attachments are kept.
pub(super) fn rename_keys(
    params: RenameKeysParams,
    inputs: Vec<Vec<Item>>,
    resolver: &Resolver<'_>,
) -> Result<Vec<Vec<Item>>, NodeError> {
    let mut output = Vec::new();
    for (index, item) in first_input(inputs).into_iter().enumerate() {
        let mut json = item.json.clone();
        for (key_index, key) in params.keys.iter().enumerate() {
            let Some(value) = path::get(&item.json, &key.from) else { continue };
            path::remove(&mut json, &key.from);
            let at = Pointer::root().key("params").key("keys").index(key_index).key("to");
            resolver.set_path(&mut json, &key.to, value.clone(), &at, index)?;
        }
        output.push(Item { json, binary: item.binary });
    }
    Ok(vec![output])
}
