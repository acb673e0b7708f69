//! `remove_duplicates` with `across_runs`: each item's value is looked up in a history kept
//! across the workflow's runs, and only the items whose value is new to it go on.

use serde_json::Value;
use sha2::{Digest, Sha256};
use weft_engine::exec::{Expressions, ItemContext, resolve_params};
use weft_engine::params::{DedupeScope, RemoveDuplicatesParams};
use weft_engine::{Item, NodeDef};

use super::run_store::RunStore;

/// What one activation looks up: the history's name and size, and each item's value digest,
/// for the activation `by` (`<run>:<activation>`).
pub(super) struct Lookup {
    history: String,
    keep: u64,
    by: String,
    digests: Vec<String>,
}

/// Evaluates every item's value. Synchronous, so that no evaluator is held across the store's
/// await.
/// `attempt_key` is `<run>:<activation>:<attempt>`.
pub(super) fn lookup(
    node: &NodeDef,
    inputs: &[Vec<Item>],
    exprs: &dyn Expressions,
    attempt_key: &str,
) -> Result<Lookup, String> {
    let items = inputs.first().map(Vec::as_slice).unwrap_or_default();
    let by = attempt_key.rsplit_once(':').map_or(attempt_key, |(activation, _)| activation).to_owned();
    let mut lookup = Lookup { history: node.name.clone(), keep: 0, by, digests: Vec::with_capacity(items.len()) };
    for (index, item) in items.iter().enumerate() {
        let context = ItemContext { node: &node.name, item, index, input: 0, inputs };
        let params: RemoveDuplicatesParams = resolve_params(node, &context, exprs).map_err(|e| e.to_string())?;
        let Some(across) = params.across_runs else { return Err(format!("`{}` has no `across_runs`", node.name)) };
        // Text as it is; any other value as its JSON.
        let value = match across.value {
            Value::String(text) => text,
            other => other.to_string(),
        };
        lookup.digests.push(hex::encode(Sha256::digest(value.as_bytes())));
        // Literals, the same for every item.
        if across.history == DedupeScope::Workflow {
            lookup.history.clear();
        }
        lookup.keep = across.keep;
    }
    Ok(lookup)
}

/// The items of input 0 whose value the history has not seen from another run.
pub(super) async fn let_through_new(
    lookup: Lookup,
    inputs: &[Vec<Item>],
    run_store: RunStore<'_>,
) -> Result<Vec<Vec<Item>>, String> {
    let items = inputs.first().map(Vec::as_slice).unwrap_or_default();
    if items.is_empty() {
        return Ok(vec![Vec::new()]);
    }
    let new = run_store.let_through_new(&lookup.history, lookup.keep, &lookup.by, &lookup.digests).await?;
    Ok(vec![items.iter().zip(new).filter(|(_, new)| *new).map(|(item, _)| item.clone()).collect()])
}
