//! `set`: assigns fields on each item.

use serde_json::{Map, Value};

use super::expression::Resolver;
use super::{NodeError, path};
use crate::item::Item;
use crate::params::{Keep, SetParams};
use crate::pointer::Pointer;

/// Every value is evaluated against the item as it arrived, not as earlier assignments left it,
/// so the order of assignments never changes what an expression sees. Binary attachments are
/// kept, whatever `keep` says: it is about fields.
pub(super) fn set(
    params: SetParams,
    inputs: Vec<Vec<Item>>,
    resolver: &Resolver<'_>,
) -> Result<Vec<Vec<Item>>, NodeError> {
    let at = Pointer::root().key("params");
    let keep_only_at = at.key("keep_only");
    let assignments: Vec<_> = params
        .assignments
        .iter()
        .enumerate()
        .map(|(index, assignment)| {
            let at = at.key("assignments").index(index);
            (assignment, at.key("name"), at.key("value"))
        })
        .collect();
    let mut output = Vec::with_capacity(inputs.first().map_or(0, Vec::len));
    for context in resolver.each(&inputs, 0) {
        let keep_only = resolver.typed(&params.keep_only, &keep_only_at, &context)?;
        let mut json = if keep_only { Map::new() } else { kept(&context.item.json, params.keep.as_ref()) };
        for (assignment, name_at, value_at) in &assignments {
            let value = resolver.value(&assignment.value, value_at, &context)?.into_owned();
            resolver.set_path(&mut json, &assignment.name, value, name_at, context.index)?;
        }
        if let Some(text) = &params.json_output {
            let at = at.key("json_output");
            let members = match resolver.value(&Value::String(text.clone()), &at, &context)?.into_owned() {
                Value::Object(members) => members,
                Value::String(text) => match serde_json::from_str(&text) {
                    Ok(Value::Object(members)) => members,
                    _ => {
                        return Err(resolver.param_error(
                            &at,
                            format!("gave `{text}` on item {}, which is not a JSON object", context.index),
                        ));
                    }
                },
                other => {
                    return Err(resolver.param_error(
                        &at,
                        format!("gave {} on item {}, not an object", path::kind(&other), context.index),
                    ));
                }
            };
            for (name, value) in members {
                // A member's name is a path, as in n8n; one that is not a path is a plain key.
                if name.split('.').any(str::is_empty) {
                    json.insert(name, value);
                } else {
                    resolver.set_path(&mut json, &name, value, &at, context.index)?;
                }
            }
        }
        output.push(Item { json, binary: context.item.binary.clone() });
    }
    Ok(vec![output])
}

/// The item's fields that `keep` keeps, before anything is assigned.
fn kept(json: &Map<String, Value>, keep: Option<&Keep>) -> Map<String, Value> {
    match keep {
        None | Some(Keep::All) => json.clone(),
        Some(Keep::None) => Map::new(),
        Some(Keep::Only(fields)) => {
            let mut kept = Map::new();
            for field in fields {
                if let Some(value) = path::get(json, field) {
                    // Every object on the way was one in `json`, so there is nothing to block it.
                    let _ = path::set(&mut kept, field, value.clone());
                }
            }
            kept
        }
        Some(Keep::Except(fields)) => {
            let mut kept = json.clone();
            for field in fields {
                path::remove(&mut kept, field);
            }
            kept
        }
    }
}
