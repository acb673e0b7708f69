//! Params at run time: `{{ … }}` expressions evaluated for each item.
//!
//! The engine splits a param's strings into text and expressions and decides what the results
//! become; the JavaScript itself is evaluated behind [`Expressions`], which the worker implements
//! with the sandbox. Keeping the split here means every node type treats a param the same way,
//! and the engine's tests can run with a fake evaluator.

use std::borrow::Cow;

use serde_json::{Map, Number, Value};

use super::NodeError;
use crate::formats::is_expression;
use crate::item::Item;
use crate::params::ParamValue;
use crate::pointer::Pointer;

/// Evaluates the JavaScript of expressions.
///
/// An implementation holds what a whole run shares (`$('Node')`, `$vars`, `$execution`,
/// `$workflow`, `$now`, `$env`); [`ItemContext`] brings what changes from item to item.
pub trait Expressions {
    /// Evaluates `expression`, the JavaScript between `{{` and `}}` with the surrounding spaces
    /// trimmed, for one item. JavaScript's `undefined` comes back as `null`.
    fn evaluate(&self, expression: &str, context: &ItemContext<'_>) -> Result<Value, ExpressionError>;

    /// Says that evaluations whose context's `inputs` is this very slice, until
    /// [`Expressions::end_activation`], are for one activation, and that the slice stays as it is
    /// until then; an implementation may then convert each input once rather than per item.
    fn begin_activation(&self, _inputs: &[Vec<Item>]) {}

    /// Ends what [`Expressions::begin_activation`] began: its inputs may change or go after this.
    fn end_activation(&self) {}

    /// Evaluates like [`Expressions::evaluate`] with `globals` (name → value) defined for this
    /// evaluation only: for the few params n8n evaluates with more in scope than the item, such
    /// as an HTTP request's pagination with `$response` and `$pageCount`. An evaluator without
    /// them fails.
    fn evaluate_with_globals(
        &self,
        _expression: &str,
        _context: &ItemContext<'_>,
        globals: &Map<String, Value>,
    ) -> Result<Value, ExpressionError> {
        let names: Vec<&str> = globals.keys().map(String::as_str).collect();
        Err(ExpressionError::new(format!("this evaluator cannot provide {}", names.join(", "))))
    }
}

/// An evaluator that evaluates every expression with `globals` defined as well (see
/// [`Expressions::evaluate_with_globals`]).
pub struct WithGlobals<'a> {
    pub exprs: &'a dyn Expressions,
    pub globals: &'a Map<String, Value>,
}

impl Expressions for WithGlobals<'_> {
    fn evaluate(&self, expression: &str, context: &ItemContext<'_>) -> Result<Value, ExpressionError> {
        self.exprs.evaluate_with_globals(expression, context, self.globals)
    }
}

/// What an expression sees of the item it is evaluated for: n8n's `$json`, `$binary`,
/// `$itemIndex` and `$input`.
#[derive(Debug, Clone, Copy)]
pub struct ItemContext<'a> {
    /// The executing node's name.
    pub node: &'a str,
    /// The item: `$json` is its `json`, `$binary` its attachments, `$input.item` the item itself.
    pub item: &'a Item,
    /// The item's position in its input: `$itemIndex`.
    pub index: usize,
    /// The input the item arrived on (0, except for a `merge`'s second input).
    pub input: usize,
    /// Every input's items: `$input.all()`, `first()` and `last()` read `inputs[input]`.
    pub inputs: &'a [Vec<Item>],
}

/// Why an expression could not be evaluated, in words for the workflow's author.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ExpressionError {
    pub message: String,
}

impl ExpressionError {
    pub fn new(message: impl Into<String>) -> Self {
        ExpressionError { message: message.into() }
    }
}

/// The evaluator to use until the sandbox exists: literal params work, and every expression
/// fails with a message that says why.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoExpressions;

impl Expressions for NoExpressions {
    fn evaluate(&self, _: &str, _: &ItemContext<'_>) -> Result<Value, ExpressionError> {
        Err(ExpressionError::new("expressions need the JavaScript sandbox, which is not built yet"))
    }
}

/// Evaluates one node's params for its items, locating failures by the param's pointer.
pub(super) struct Resolver<'a> {
    pub(super) node: &'a str,
    exprs: &'a dyn Expressions,
}

impl<'a> Resolver<'a> {
    pub(super) fn new(node: &'a str, exprs: &'a dyn Expressions) -> Self {
        Resolver { node, exprs }
    }

    /// The contexts of every item of input `input`, in order.
    pub(super) fn each<'i>(&self, inputs: &'i [Vec<Item>], input: usize) -> impl Iterator<Item = ItemContext<'i>>
    where
        'a: 'i,
    {
        let node = self.node;
        let items = inputs.get(input).map(Vec::as_slice).unwrap_or_default();
        items.iter().enumerate().map(move |(index, item)| ItemContext { node, item, index, input, inputs })
    }

    /// The context of input 0's first item, with which params that concern the whole list
    /// (`limit.max_items`) are evaluated, as n8n does.
    pub(super) fn first<'i>(&self, inputs: &'i [Vec<Item>]) -> Option<ItemContext<'i>>
    where
        'a: 'i,
    {
        self.each(inputs, 0).next()
    }

    /// `value` with every expression in its strings (at any depth) evaluated. Borrowed when it
    /// holds none, so literal params cost nothing per item.
    pub(super) fn value<'v>(
        &self,
        value: &'v Value,
        at: &Pointer,
        context: &ItemContext<'_>,
    ) -> Result<Cow<'v, Value>, NodeError> {
        let resolved = match value {
            Value::String(text) if is_expression(text) => self.template(text, at, context)?,
            Value::Array(values) if values.iter().any(holds_expression) => Value::Array(
                values
                    .iter()
                    .enumerate()
                    .map(|(index, value)| Ok(self.value(value, &at.index(index), context)?.into_owned()))
                    .collect::<Result<_, NodeError>>()?,
            ),
            Value::Object(members) if members.values().any(holds_expression) => Value::Object(
                members
                    .iter()
                    .map(|(key, value)| Ok((key.clone(), self.value(value, &at.key(key), context)?.into_owned())))
                    .collect::<Result<_, NodeError>>()?,
            ),
            _ => return Ok(Cow::Borrowed(value)),
        };
        Ok(Cow::Owned(resolved))
    }

    /// A param typed as a number or a boolean: the literal, or what its expression gave, which
    /// must then be of the type.
    pub(super) fn typed<T: Evaluated>(
        &self,
        param: &ParamValue<T>,
        at: &Pointer,
        context: &ItemContext<'_>,
    ) -> Result<T, NodeError> {
        match param {
            ParamValue::Literal(value) => Ok(*value),
            ParamValue::Expression(text) => {
                let value = self.template(text, at, context)?;
                T::from_value(&value).ok_or_else(|| {
                    self.param_error(
                        at,
                        format!("`{text}` gave {value} on item {}, which is not {}", context.index, T::EXPECTED),
                    )
                })
            }
        }
    }

    /// A text param (a message): expressions are spliced in, and a lone expression's result is
    /// written out as text too.
    pub(super) fn text(&self, text: &str, at: &Pointer, context: &ItemContext<'_>) -> Result<String, NodeError> {
        if !is_expression(text) {
            return Ok(text.to_string());
        }
        Ok(match self.template(text, at, context)? {
            Value::String(text) => text,
            other => {
                let mut text = String::new();
                splice(&mut text, &other);
                text
            }
        })
    }

    /// Sets `path` in an item's JSON to `value`; a value on the way that is not an object fails
    /// the param at `at`, naming item `index`.
    pub(super) fn set_path(
        &self,
        json: &mut Map<String, Value>,
        path: &str,
        value: Value,
        at: &Pointer,
        index: usize,
    ) -> Result<(), NodeError> {
        super::path::set(json, path, value).map_err(|blocked| {
            let found = format!("`{}` is {}, not an object", blocked.path, blocked.found);
            self.param_error(at, format!("cannot set `{path}` on item {index}: {found}"))
        })
    }

    pub(super) fn param_error(&self, at: &Pointer, message: impl Into<String>) -> NodeError {
        NodeError::Param { node: self.node.to_string(), pointer: at.as_str().to_string(), message: message.into() }
    }

    /// A string holding expressions: exactly one expression keeps its result's type; anything
    /// else is text with the results spliced in.
    fn template(&self, text: &str, at: &Pointer, context: &ItemContext<'_>) -> Result<Value, NodeError> {
        let mut parts = Parts { rest: text };
        if let (Some(Part::Expression { written, source }), None) = (parts.next(), parts.next()) {
            return self.evaluate(written, source, at, context);
        }
        let mut spliced = String::with_capacity(text.len());
        for part in (Parts { rest: text }) {
            match part {
                Part::Text(text) => spliced.push_str(text),
                Part::Expression { written, source } => {
                    splice(&mut spliced, &self.evaluate(written, source, at, context)?)
                }
            }
        }
        Ok(Value::String(spliced))
    }

    fn evaluate(
        &self,
        written: &str,
        source: &str,
        at: &Pointer,
        context: &ItemContext<'_>,
    ) -> Result<Value, NodeError> {
        self.exprs.evaluate(source, context).map_err(|error| NodeError::Expression {
            node: self.node.to_string(),
            pointer: at.as_str().to_string(),
            expression: written.to_string(),
            item: context.index,
            error,
        })
    }
}

/// A param type an expression may stand in for.
pub(super) trait Evaluated: Copy {
    /// What the expression should have given, for the message when it did not.
    const EXPECTED: &'static str;
    fn from_value(value: &Value) -> Option<Self>;
}

impl Evaluated for bool {
    const EXPECTED: &'static str = "true or false";

    fn from_value(value: &Value) -> Option<Self> {
        value.as_bool()
    }
}

impl Evaluated for u64 {
    const EXPECTED: &'static str = "a whole number";

    /// JavaScript has only floating-point numbers, so `5.0` is as good as `5`.
    fn from_value(value: &Value) -> Option<Self> {
        value.as_u64().or_else(|| {
            let float = value.as_f64()?;
            // The cast saturates, so the bound check must come first.
            (float.fract() == 0.0 && (0.0..u64::MAX as f64).contains(&float)).then_some(float as u64)
        })
    }
}

fn holds_expression(value: &Value) -> bool {
    match value {
        Value::String(text) => is_expression(text),
        Value::Array(values) => values.iter().any(holds_expression),
        Value::Object(members) => members.values().any(holds_expression),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

/// Appends an expression's result to text: strings as they are, `null` (and so `undefined`) as
/// nothing, as n8n does, numbers as JavaScript writes them, arrays and objects as JSON.
fn splice(text: &mut String, value: &Value) {
    match value {
        Value::Null => {}
        Value::String(value) => text.push_str(value),
        Value::Number(number) => text.push_str(&javascript_number(number)),
        other => text.push_str(&other.to_string()),
    }
}

/// `2` rather than serde's `2.0` for an integral float: an evaluator's numbers are JavaScript's,
/// where the two are the same.
pub(super) fn javascript_number(number: &Number) -> String {
    match number.as_f64() {
        Some(float) if number.is_f64() && float.fract() == 0.0 && float.abs() < 1e21 => format!("{float:.0}"),
        _ => number.to_string(),
    }
}

/// A piece of a param string.
#[derive(Debug, PartialEq)]
enum Part<'t> {
    Text(&'t str),
    /// `written` is `{{ … }}` as in the param; `source` the JavaScript inside, trimmed.
    Expression {
        written: &'t str,
        source: &'t str,
    },
}

/// Splits a string into text and expressions. An expression ends at the first `}}` after its
/// `{{`, as validation reads it; an unclosed `{{` (which validation refuses) stays text.
struct Parts<'t> {
    rest: &'t str,
}

impl<'t> Iterator for Parts<'t> {
    type Item = Part<'t>;

    fn next(&mut self) -> Option<Part<'t>> {
        if self.rest.is_empty() {
            return None;
        }
        let end = match self.rest.find("{{") {
            Some(0) => match self.rest[2..].find("}}") {
                Some(close) => {
                    let written = &self.rest[..close + 4];
                    self.rest = &self.rest[close + 4..];
                    return Some(Part::Expression { written, source: written[2..close + 2].trim() });
                }
                None => self.rest.len(),
            },
            Some(open) => open,
            None => self.rest.len(),
        };
        let (text, rest) = self.rest.split_at(end);
        self.rest = rest;
        Some(Part::Text(text))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parts(text: &str) -> Vec<Part<'_>> {
        Parts { rest: text }.collect()
    }

    #[test]
    fn text_and_expressions_are_split_apart() {
        assert_eq!(
            parts("order {{ $json.id }}: {{$json.total}}"),
            [
                Part::Text("order "),
                Part::Expression { written: "{{ $json.id }}", source: "$json.id" },
                Part::Text(": "),
                Part::Expression { written: "{{$json.total}}", source: "$json.total" },
            ]
        );
        assert_eq!(parts("plain"), [Part::Text("plain")]);
        assert_eq!(parts(""), []);
    }

    #[test]
    fn an_unclosed_expression_stays_text() {
        assert_eq!(parts("a {{ b"), [Part::Text("a "), Part::Text("{{ b")]);
    }

    #[test]
    fn spliced_values_read_as_javascript_writes_them() {
        let spliced = |value: Value| {
            let mut text = String::new();
            splice(&mut text, &value);
            text
        };
        assert_eq!(spliced(json!(null)), "");
        assert_eq!(spliced(json!("x")), "x");
        assert_eq!(spliced(json!(2.0)), "2");
        assert_eq!(spliced(json!(-2.5)), "-2.5");
        assert_eq!(spliced(json!(7)), "7");
        assert_eq!(spliced(json!(true)), "true");
        assert_eq!(spliced(json!({"a": [1]})), r#"{"a":[1]}"#);
    }

    #[test]
    fn whole_numbers_come_from_integers_or_integral_floats() {
        assert_eq!(u64::from_value(&json!(5)), Some(5));
        assert_eq!(u64::from_value(&json!(5.0)), Some(5));
        assert_eq!(u64::from_value(&json!(5.5)), None);
        assert_eq!(u64::from_value(&json!(-1)), None);
        assert_eq!(u64::from_value(&json!(1e30)), None);
        assert_eq!(u64::from_value(&json!("5")), None);
        assert_eq!(bool::from_value(&json!("true")), None);
    }
}
