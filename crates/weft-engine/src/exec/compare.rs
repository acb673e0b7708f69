//! How node types compare JSON values. One notion of equality serves conditions, `merge.by_key`
//! and `remove_duplicates`: JSON equality, except that numbers are equal by value (`1` and
//! `1.0` alike, as they are in JavaScript) and an object's member order does not count. Types
//! are never converted: `"1"` is not `1`.

use std::cmp::Ordering;
use std::hash::{DefaultHasher, Hash, Hasher};

use serde_json::{Map, Number, Value};

pub(super) fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(a), Value::Number(b)) => compare_numbers(a, b) == Ordering::Equal,
        (Value::Array(a), Value::Array(b)) => a.len() == b.len() && a.iter().zip(b).all(|(a, b)| same(a, b)),
        (Value::Object(a), Value::Object(b)) => same_members(a, b),
        _ => a == b,
    }
}

fn same_members(a: &Map<String, Value>, b: &Map<String, Value>) -> bool {
    a.len() == b.len() && a.iter().all(|(key, value)| b.get(key).is_some_and(|other| same(value, other)))
}

/// Integers exactly; any other pair as floating-point numbers.
pub(super) fn compare_numbers(a: &Number, b: &Number) -> Ordering {
    if let (Some(a), Some(b)) = (a.as_i64(), b.as_i64()) {
        return a.cmp(&b);
    }
    if let (Some(a), Some(b)) = (a.as_u64(), b.as_u64()) {
        return a.cmp(&b);
    }
    let (a, b) = (a.as_f64().unwrap_or_default(), b.as_f64().unwrap_or_default());
    a.partial_cmp(&b).unwrap_or(Ordering::Equal)
}

/// How `gt`, `gte`, `lt` and `lte` order two values: numbers by value, strings in code-point
/// order (which is UTF-8 byte order). Other pairs have no order, so those conditions fail.
pub(super) fn compare_scalars(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(a), Value::Number(b)) => Some(compare_numbers(a, b)),
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        _ => None,
    }
}

/// The ascending order of `sort`, total over every kind of value: numbers, then strings, then
/// booleans (`false` first), then arrays, then objects. Arrays and objects keep their input order
/// among themselves (the sort is stable). Missing values and `null` are placed by the caller.
pub(super) fn sort_order(a: &Value, b: &Value) -> Ordering {
    fn rank(value: &Value) -> u8 {
        match value {
            Value::Number(_) => 0,
            Value::String(_) => 1,
            Value::Bool(_) => 2,
            Value::Array(_) => 3,
            Value::Object(_) => 4,
            Value::Null => 5,
        }
    }
    match (a, b) {
        (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
        _ => compare_scalars(a, b).unwrap_or_else(|| rank(a).cmp(&rank(b))),
    }
}

/// A value as a hash key, equal as [`same`] says.
pub(super) struct Key<'v>(pub(super) &'v Value);

impl PartialEq for Key<'_> {
    fn eq(&self, other: &Self) -> bool {
        same(self.0, other.0)
    }
}

impl Eq for Key<'_> {}

impl Hash for Key<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_value(self.0, state);
    }
}

/// An item's whole `json` as a hash key, equal as [`same`] says.
pub(super) struct Members<'v>(pub(super) &'v Map<String, Value>);

impl PartialEq for Members<'_> {
    fn eq(&self, other: &Self) -> bool {
        same_members(self.0, other.0)
    }
}

impl Eq for Members<'_> {}

impl Hash for Members<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_members(self.0, state);
    }
}

fn hash_value<H: Hasher>(value: &Value, state: &mut H) {
    match value {
        Value::Null => state.write_u8(0),
        Value::Bool(value) => {
            state.write_u8(1);
            value.hash(state);
        }
        Value::Number(number) => {
            state.write_u8(2);
            // Equal numbers have equal floating-point values, whatever their representation;
            // `-0.0` is folded into `0.0`, which it equals.
            let float = number.as_f64().unwrap_or_default();
            (if float == 0.0 { 0.0_f64 } else { float }).to_bits().hash(state);
        }
        Value::String(text) => {
            state.write_u8(3);
            text.hash(state);
        }
        Value::Array(values) => {
            state.write_u8(4);
            state.write_usize(values.len());
            for value in values {
                hash_value(value, state);
            }
        }
        Value::Object(members) => {
            state.write_u8(5);
            hash_members(members, state);
        }
    }
}

/// Member order may differ between equal objects (serde_json keeps insertion order when built
/// with `preserve_order`), so members are hashed one by one and summed, which ignores order.
fn hash_members<H: Hasher>(members: &Map<String, Value>, state: &mut H) {
    let sum = members.iter().fold(0_u64, |sum, (key, value)| {
        let mut member = DefaultHasher::new();
        key.hash(&mut member);
        hash_value(value, &mut member);
        sum.wrapping_add(member.finish())
    });
    state.write_usize(members.len());
    state.write_u64(sum);
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use serde_json::json;

    use super::*;

    #[test]
    fn numbers_are_equal_by_value_but_types_are_never_converted() {
        assert!(same(&json!(1), &json!(1.0)));
        assert!(same(&json!({"a": [1, {"b": 2}]}), &json!({"a": [1.0, {"b": 2.0}]})));
        assert!(!same(&json!(1), &json!("1")));
        assert!(!same(&json!(null), &json!(false)));
        assert!(!same(&json!([1, 2]), &json!([2, 1])));
        assert!(same(&json!(u64::MAX), &json!(u64::MAX)));
        assert!(!same(&json!(i64::MAX), &json!(i64::MAX - 1)));
    }

    #[test]
    fn equal_values_hash_alike() {
        let values =
            [json!(1), json!(1.0), json!(-0.0), json!(0), json!({"a": 1, "b": [2.0]}), json!({"b": [2], "a": 1.0})];
        let distinct: HashSet<Key<'_>> = values.iter().map(Key).collect();
        assert_eq!(distinct.len(), 3);
    }

    #[test]
    fn member_order_does_not_change_the_hash() {
        let mut first = Map::new();
        first.insert("a".into(), json!(1));
        first.insert("b".into(), json!(2));
        let mut second = Map::new();
        second.insert("b".into(), json!(2));
        second.insert("a".into(), json!(1));
        let distinct: HashSet<Members<'_>> = [Members(&first), Members(&second)].into_iter().collect();
        assert_eq!(distinct.len(), 1);
    }

    #[test]
    fn only_numbers_with_numbers_and_strings_with_strings_are_ordered() {
        assert_eq!(compare_scalars(&json!(2), &json!(10.5)), Some(Ordering::Less));
        assert_eq!(compare_scalars(&json!("b"), &json!("a")), Some(Ordering::Greater));
        assert_eq!(compare_scalars(&json!("Z"), &json!("a")), Some(Ordering::Less));
        assert_eq!(compare_scalars(&json!("10"), &json!(9)), None);
        assert_eq!(compare_scalars(&json!(true), &json!(false)), None);
        assert_eq!(compare_scalars(&json!(null), &json!(0)), None);
    }

    #[test]
    fn sort_order_ranks_kinds_then_values() {
        let mut values =
            vec![json!({"o": 1}), json!(true), json!("b"), json!([1]), json!(2), json!(false), json!("a"), json!(-1.5)];
        values.sort_by(sort_order);
        assert_eq!(
            values,
            [json!(-1.5), json!(2), json!("a"), json!("b"), json!(false), json!(true), json!([1]), json!({"o": 1})]
        );
    }

    #[test]
    fn large_integers_compare_exactly() {
        assert_eq!(compare_numbers(&Number::from(u64::MAX), &Number::from(u64::MAX - 1)), Ordering::Greater);
        assert_eq!(compare_numbers(&Number::from(-1), &Number::from(u64::MAX)), Ordering::Less);
    }
}
