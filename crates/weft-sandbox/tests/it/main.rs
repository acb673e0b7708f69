//! Integration tests of the expression sandbox, in one binary so that it links once.

mod cancel;
mod code;
mod corpus;
mod cost;
mod globals;
mod inputs;
mod isolation;
mod limits;
mod n8n_conformance;
mod values;

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use weft_engine::{BinaryRef, ExpressionError, Expressions, Item, ItemContext};
use weft_sandbox::{JsExpressions, RunContext};

pub fn item(json: Value) -> Item {
    match json {
        Value::Object(members) => Item::new(members),
        other => panic!("an item's json must be an object, not {other}"),
    }
}

pub fn items(values: impl IntoIterator<Item = Value>) -> Vec<Item> {
    values.into_iter().map(item).collect()
}

pub fn map(value: Value) -> Map<String, Value> {
    value.as_object().cloned().expect("an object")
}

pub fn with_attachment(mut item: Item) -> Item {
    let reference =
        BinaryRef { key: "blob/abc".into(), mime_type: "image/png".into(), size: 42, file_name: Some("a.png".into()) };
    item.binary = Some(BTreeMap::from([("data".to_string(), reference)]));
    item
}

/// The items an activation received on its inputs, and the evaluator to evaluate against them.
pub struct Activation {
    pub exprs: JsExpressions,
    pub inputs: Vec<Vec<Item>>,
}

impl Activation {
    pub fn new(exprs: JsExpressions, input: Vec<Item>) -> Self {
        Activation { exprs, inputs: vec![input] }
    }

    /// One input holding `json` as its only item, and an evaluator for an empty run.
    pub fn single(json: Value) -> Self {
        Activation::new(JsExpressions::new(RunContext::default()), vec![item(json)])
    }

    pub fn eval_at(&self, index: usize, expression: &str) -> Result<Value, ExpressionError> {
        let context = ItemContext { node: "Node", item: &self.inputs[0][index], index, input: 0, inputs: &self.inputs };
        self.exprs.evaluate(expression, &context)
    }

    pub fn eval(&self, expression: &str) -> Result<Value, ExpressionError> {
        self.eval_at(0, expression)
    }

    pub fn value(&self, expression: &str) -> Value {
        self.eval(expression).unwrap_or_else(|error| panic!("`{expression}` failed: {error}"))
    }

    pub fn error(&self, expression: &str) -> String {
        match self.eval(expression) {
            Ok(value) => panic!("`{expression}` gave {value} rather than failing"),
            Err(error) => error.message,
        }
    }
}

/// An empty object, for tests that need no item data.
pub fn empty() -> Value {
    json!({})
}
