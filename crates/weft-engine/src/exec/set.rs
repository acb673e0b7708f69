//! `set`: assigns fields on each item.

use serde_json::Map;

use super::expression::Resolver;
use super::{NodeError, path};
use crate::item::Item;
use crate::params::SetParams;
use crate::pointer::Pointer;

/// Every value is evaluated against the item as it arrived, not as earlier assignments left it,
/// so the order of assignments never changes what an expression sees. Binary attachments are
/// kept, `keep_only` included: it is about fields.
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
        let mut json = if keep_only { Map::new() } else { context.item.json.clone() };
        for (assignment, name_at, value_at) in &assignments {
            let value = resolver.value(&assignment.value, value_at, &context)?.into_owned();
            path::set(&mut json, &assignment.name, value).map_err(|blocked| {
                resolver.param_error(
                    name_at,
                    format!(
                        "cannot set `{}` on item {}: `{}` is {}, not an object",
                        assignment.name, context.index, blocked.path, blocked.found
                    ),
                )
            })?;
        }
        output.push(Item { json, binary: context.item.binary.clone() });
    }
    Ok(vec![output])
}
