//! Every ```json block of `docs/workflow-format.md` is a workflow, a node or an item, and each
//! must be accepted: a page that documents the format with examples the engine refuses would
//! teach the wrong thing. Illustrations that are not meant to be accepted are tagged `jsonc`.

use serde_json::{Value, json};
use weft_engine::{Item, NodeKind, Plan, parse, validate};

const FORMAT: &str = include_str!("../../../../docs/workflow-format.md");

fn json_blocks() -> Vec<(usize, Value)> {
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (number, line) in FORMAT.lines().enumerate() {
        match (&mut current, line.trim_end()) {
            (None, "```json") => current = Some((number + 1, String::new())),
            (Some((start, text)), "```") => {
                let value = serde_json::from_str(text).unwrap_or_else(|e| panic!("block at line {start}: {e}"));
                blocks.push((*start, value));
                current = None;
            }
            (Some((_, text)), line) => {
                text.push_str(line);
                text.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

fn assert_publishable(line: usize, definition: &Value) {
    let parsed = parse(definition).unwrap_or_else(|problems| panic!("block at line {line}: {problems:?}"));
    let stored = serde_json::to_value(&parsed).expect("serialises");
    assert_eq!(parse(&stored).as_ref(), Ok(&parsed), "block at line {line} does not round-trip");
    let problems = validate(&parsed);
    assert!(problems.is_empty(), "block at line {line}: {problems:?}");
    let triggers =
        parsed.nodes.iter().filter(|node| NodeKind::from_type_name(&node.node_type).is_some_and(NodeKind::is_trigger));
    for trigger in triggers {
        Plan::new(&parsed, &trigger.name).unwrap_or_else(|error| panic!("block at line {line}: {error}"));
    }
}

#[test]
fn every_example_in_the_format_page_is_accepted() {
    let blocks = json_blocks();
    let (mut workflows, mut nodes, mut items) = (0, 0, 0);
    for (line, block) in &blocks {
        if block.get("nodes").is_some() {
            assert_publishable(*line, block);
            workflows += 1;
        } else if block.get("type").is_some() {
            let wrapped = json!({"nodes": [{"name": "Doc example trigger", "type": "manual_trigger"}, block]});
            assert_publishable(*line, &wrapped);
            nodes += 1;
        } else if block.get("json").is_some() {
            serde_json::from_value::<Item>(block.clone()).unwrap_or_else(|e| panic!("block at line {line}: {e}"));
            items += 1;
        } else {
            panic!("block at line {line} is neither a workflow, a node nor an item; tag it `jsonc` if it is neither");
        }
    }
    assert!(workflows >= 3, "{workflows} workflows");
    assert!(items >= 1, "{items} items");
    // One example per node type, at least.
    let documented: Vec<_> = blocks.iter().filter_map(|(_, block)| block.get("type")?.as_str()).collect();
    // An `n8n_unsupported` placeholder never validates, by design, so its example is `jsonc`.
    let runnable = NodeKind::ALL.into_iter().filter(|kind| *kind != NodeKind::N8nUnsupported);
    for kind in runnable.clone() {
        assert!(documented.contains(&kind.type_name()), "no example of `{}`", kind.type_name());
    }
    assert!(nodes >= runnable.count());
    assert!(FORMAT.contains("### n8n_unsupported"), "the placeholder type is documented");
}
