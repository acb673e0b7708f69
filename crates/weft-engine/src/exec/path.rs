//! Fields named by dot paths: `address.city` is the `city` member of the `address` object. Every
//! param that names a field reads it this way, so a path written for `set` finds the same field
//! in `sort` or `merge`. A field whose own name holds a dot cannot be reached.

use serde_json::{Map, Value};

/// The value at `path`, if every object along it exists.
pub(super) fn get<'v>(json: &'v Map<String, Value>, path: &str) -> Option<&'v Value> {
    let mut segments = path.split('.');
    let first = json.get(segments.next()?)?;
    segments.try_fold(first, |value, segment| value.as_object()?.get(segment))
}

/// The value at `path` unless it is missing or `null`, which fields treat alike.
pub(super) fn present<'v>(json: &'v Map<String, Value>, path: &str) -> Option<&'v Value> {
    get(json, path).filter(|value| !value.is_null())
}

/// Puts `value` at `path`, creating the objects along it where they are missing or `null`.
/// Fails where a member along the path holds something other than an object: overwriting it
/// would silently lose data. Nothing has changed then, since objects are only created below the
/// point where the path leaves the existing ones.
pub(super) fn set(json: &mut Map<String, Value>, path: &str, value: Value) -> Result<(), NotAnObject> {
    let (parents, last) = match path.rsplit_once('.') {
        Some((parents, last)) => (Some(parents), last),
        None => (None, path),
    };
    let mut target = json;
    for (end, segment) in parents.into_iter().flat_map(segment_ends) {
        let slot = target.entry(segment).or_insert(Value::Null);
        if slot.is_null() {
            *slot = Value::Object(Map::new());
        }
        match slot {
            Value::Object(members) => target = members,
            other => return Err(NotAnObject { path: path[..end].to_string(), found: kind(other) }),
        }
    }
    target.insert(last.to_string(), value);
    Ok(())
}

/// Removes the value at `path`, if every object along it exists; gives it back.
pub(super) fn remove(json: &mut Map<String, Value>, path: &str) -> Option<Value> {
    match path.split_once('.') {
        Some((first, rest)) => remove(json.get_mut(first)?.as_object_mut()?, rest),
        None => json.remove(path),
    }
}

/// Each segment of a dot path with the byte offset where it ends.
fn segment_ends(path: &str) -> impl Iterator<Item = (usize, &str)> {
    path.split('.').scan(0, |start, segment| {
        let end = *start + segment.len();
        *start = end + 1;
        Some((end, segment))
    })
}

/// A new object holding only `value` at `path`.
pub(super) fn nest(path: &str, value: Value) -> Map<String, Value> {
    let mut json = Map::new();
    match path.split_once('.') {
        Some((first, rest)) => json.insert(first.to_string(), Value::Object(nest(rest, value))),
        None => json.insert(path.to_string(), value),
    };
    json
}

/// A member along a path holds a value that is not an object, so nothing can be put inside it.
#[derive(Debug, PartialEq)]
pub(super) struct NotAnObject {
    /// The path to that member.
    pub(super) path: String,
    pub(super) found: &'static str,
}

/// The kind of a JSON value, for messages.
pub(super) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn get_follows_objects_along_the_path() {
        let json = object(json!({"a": {"b": {"c": 1}}, "list": [1], "n": null}));
        assert_eq!(get(&json, "a.b.c"), Some(&json!(1)));
        assert_eq!(get(&json, "a.b"), Some(&json!({"c": 1})));
        assert_eq!(get(&json, "a.x.c"), None);
        assert_eq!(get(&json, "list.0"), None);
        assert_eq!(get(&json, "n"), Some(&Value::Null));
        assert_eq!(present(&json, "n"), None);
    }

    #[test]
    fn set_creates_missing_and_null_parents() {
        let mut json = object(json!({"a": {"keep": true}, "n": null}));
        set(&mut json, "a.b.c", json!(1)).unwrap();
        set(&mut json, "n.x", json!(2)).unwrap();
        set(&mut json, "top", json!(3)).unwrap();
        assert_eq!(Value::Object(json), json!({"a": {"keep": true, "b": {"c": 1}}, "n": {"x": 2}, "top": 3}));
    }

    #[test]
    fn set_refuses_to_reach_into_a_non_object_and_changes_nothing() {
        let mut json = object(json!({"a": {"b": "text"}}));
        let before = json.clone();
        assert_eq!(
            set(&mut json, "a.b.c.d", json!(1)),
            Err(NotAnObject { path: "a.b".to_string(), found: "a string" })
        );
        assert_eq!(json, before);
    }

    #[test]
    fn remove_takes_out_the_value_at_the_path_only() {
        let mut json = object(json!({"a": {"b": 1, "c": 2}, "d": 3}));
        assert_eq!(remove(&mut json, "a.b"), Some(json!(1)));
        assert_eq!(remove(&mut json, "d.x"), None);
        assert_eq!(remove(&mut json, "zz"), None);
        assert_eq!(Value::Object(json), json!({"a": {"c": 2}, "d": 3}));
    }

    #[test]
    fn nest_builds_the_objects_of_a_path() {
        assert_eq!(Value::Object(nest("a.b", json!([1]))), json!({"a": {"b": [1]}}));
        assert_eq!(Value::Object(nest("a", json!(1))), json!({"a": 1}));
    }
}
