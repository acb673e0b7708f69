//! Conditions, shared by `if`, `filter` and `switch`, and those three node types.
//!
//! A condition about data that does not fit it (a string compared with `gt` to a number, a
//! regular expression tested on a number, a missing field) simply does not hold: items differ,
//! and one odd item should take the `false` branch rather than fail the run. Only the params
//! themselves can be wrong (a `regex` pattern that does not compile), and that is an error.

use regex::Regex;
use serde_json::Value;

use super::expression::{ItemContext, Resolver};
use super::{NodeError, compare, first_input};
use crate::formats::is_expression;
use crate::item::Item;
use crate::params::{Combine, Condition, ConditionParams, Operator, SwitchParams};
use crate::pointer::Pointer;

/// A list of conditions ready to test items: pointers built and literal patterns compiled once
/// per activation rather than per item.
struct Conditions<'p> {
    tests: Vec<Test<'p>>,
    combine: Combine,
}

struct Test<'p> {
    condition: &'p Condition,
    left_at: Pointer,
    right_at: Pointer,
    /// The compiled `right` of a `regex` condition whose pattern is literal.
    pattern: Option<Regex>,
}

impl<'p> Conditions<'p> {
    /// `at` locates the list, e.g. `/params/conditions`.
    fn new(
        conditions: &'p [Condition],
        combine: Combine,
        at: &Pointer,
        resolver: &Resolver<'_>,
    ) -> Result<Self, NodeError> {
        let tests = conditions
            .iter()
            .enumerate()
            .map(|(index, condition)| {
                let at = at.index(index);
                let right_at = at.key("right");
                let pattern = match (&condition.operator, &condition.right) {
                    (Operator::Regex, Some(Value::String(pattern))) if !is_expression(pattern) => {
                        Some(compile(pattern, &right_at, resolver)?)
                    }
                    _ => None,
                };
                Ok(Test { condition, left_at: at.key("left"), right_at, pattern })
            })
            .collect::<Result<_, NodeError>>()?;
        Ok(Conditions { tests, combine })
    }

    /// Whether the item satisfies the conditions. Evaluation stops as soon as the answer is
    /// known, as `&&` and `||` do, so a later condition's expression may rely on an earlier one
    /// (`exists` before a comparison).
    fn hold(&self, resolver: &Resolver<'_>, context: &ItemContext<'_>) -> Result<bool, NodeError> {
        let decisive = self.combine == Combine::Any;
        for test in &self.tests {
            if test.holds(resolver, context)? == decisive {
                return Ok(decisive);
            }
        }
        Ok(!decisive)
    }
}

impl Test<'_> {
    fn holds(&self, resolver: &Resolver<'_>, context: &ItemContext<'_>) -> Result<bool, NodeError> {
        let left = resolver.value(&self.condition.left, &self.left_at, context)?;
        let right = match &self.condition.right {
            Some(right) => Some(resolver.value(right, &self.right_at, context)?),
            None => None,
        };
        let right = right.as_deref();
        Ok(match self.condition.operator {
            Operator::Equals => right.is_some_and(|right| compare::same(&left, right)),
            Operator::NotEquals => !right.is_some_and(|right| compare::same(&left, right)),
            Operator::Contains => match (&*left, right) {
                (Value::String(text), Some(Value::String(part))) => text.contains(part.as_str()),
                (Value::Array(values), Some(right)) => values.iter().any(|value| compare::same(value, right)),
                _ => false,
            },
            operator @ (Operator::Gt | Operator::Gte | Operator::Lt | Operator::Lte) => {
                let order = right.and_then(|right| compare::compare_scalars(&left, right));
                order.is_some_and(|order| match operator {
                    Operator::Gt => order.is_gt(),
                    Operator::Gte => order.is_ge(),
                    Operator::Lt => order.is_lt(),
                    _ => order.is_le(),
                })
            }
            Operator::Exists => !left.is_null(),
            Operator::IsEmpty => match &*left {
                Value::Null => true,
                Value::String(text) => text.is_empty(),
                Value::Array(values) => values.is_empty(),
                Value::Object(members) => members.is_empty(),
                Value::Bool(_) | Value::Number(_) => false,
            },
            Operator::Regex => {
                let Value::String(text) = &*left else { return Ok(false) };
                match (&self.pattern, right) {
                    (Some(pattern), _) => pattern.is_match(text),
                    (None, Some(Value::String(pattern))) => compile(pattern, &self.right_at, resolver)?.is_match(text),
                    (None, other) => {
                        let found = other.map_or("nothing", super::path::kind);
                        return Err(resolver.param_error(
                            &self.right_at,
                            format!(
                                "`regex` needs a pattern string, but `right` gave {found} on item {}",
                                context.index
                            ),
                        ));
                    }
                }
            }
        })
    }
}

fn compile(pattern: &str, at: &Pointer, resolver: &Resolver<'_>) -> Result<Regex, NodeError> {
    Regex::new(pattern)
        .map_err(|error| resolver.param_error(at, format!("`{pattern}` is not a valid regular expression: {error}")))
}

/// `if`: outputs `true` and `false`.
pub(super) fn route_if(
    params: ConditionParams,
    inputs: Vec<Vec<Item>>,
    resolver: &Resolver<'_>,
) -> Result<Vec<Vec<Item>>, NodeError> {
    let matched = decide(&params, &inputs, resolver)?;
    let (mut yes, mut no) = (Vec::new(), Vec::new());
    for (item, matched) in first_input(inputs).into_iter().zip(matched) {
        if matched { &mut yes } else { &mut no }.push(item);
    }
    Ok(vec![yes, no])
}

/// `filter`: output `main`, the items that match.
pub(super) fn filter(
    params: ConditionParams,
    inputs: Vec<Vec<Item>>,
    resolver: &Resolver<'_>,
) -> Result<Vec<Vec<Item>>, NodeError> {
    let matched = decide(&params, &inputs, resolver)?;
    let kept = first_input(inputs).into_iter().zip(matched).filter_map(|(item, matched)| matched.then_some(item));
    Ok(vec![kept.collect()])
}

fn decide(params: &ConditionParams, inputs: &[Vec<Item>], resolver: &Resolver<'_>) -> Result<Vec<bool>, NodeError> {
    let at = Pointer::root().key("params").key("conditions");
    let conditions = Conditions::new(&params.conditions, params.combine, &at, resolver)?;
    resolver.each(inputs, 0).map(|context| conditions.hold(resolver, &context)).collect()
}

/// `switch`: one output per rule, then `fallback`.
pub(super) fn switch(
    params: SwitchParams,
    inputs: Vec<Vec<Item>>,
    resolver: &Resolver<'_>,
) -> Result<Vec<Vec<Item>>, NodeError> {
    let at = Pointer::root().key("params");
    let all_matches_at = at.key("all_matches");
    let rules = params
        .rules
        .iter()
        .enumerate()
        .map(|(index, rule)| {
            Conditions::new(&rule.conditions, rule.combine, &at.key("rules").index(index).key("conditions"), resolver)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let fallback = rules.len();
    let mut routes = Vec::new();
    for context in resolver.each(&inputs, 0) {
        let all_matches = resolver.typed(&params.all_matches, &all_matches_at, &context)?;
        let mut matched = Vec::new();
        for (output, rule) in rules.iter().enumerate() {
            if rule.hold(resolver, &context)? {
                matched.push(output);
                if !all_matches {
                    break;
                }
            }
        }
        if matched.is_empty() {
            matched.push(fallback);
        }
        routes.push(matched);
    }
    let mut outputs = vec![Vec::new(); fallback + 1];
    for (item, matched) in first_input(inputs).into_iter().zip(routes) {
        if let Some((&last, others)) = matched.split_last() {
            for &output in others {
                outputs[output].push(item.clone());
            }
            outputs[last].push(item);
        }
    }
    Ok(outputs)
}
