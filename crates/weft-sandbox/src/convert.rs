//! Values across the boundary: JSON and items into JavaScript, results back into JSON.
//!
//! Inputs are built value by value rather than serialised and parsed again, which saves a string
//! per item. Results that are primitives are read directly; objects and arrays go through
//! QuickJS's own `JSON.stringify`, so `toJSON` (a `Date` becomes its ISO string), dropped
//! `undefined` members and cycles behave exactly as JavaScript authors expect.

use rquickjs::{Array, Ctx, Object, Type, Value as JsValue};
use serde_json::{Map, Number, Value};
use weft_engine::Item;

/// The largest integer a JavaScript number holds exactly (2^53).
const SAFE_INTEGER: f64 = 9_007_199_254_740_992.0;

pub(crate) fn json_to_js<'js>(ctx: &Ctx<'js>, value: &Value) -> rquickjs::Result<JsValue<'js>> {
    Ok(match value {
        Value::Null => JsValue::new_null(ctx.clone()),
        Value::Bool(value) => JsValue::new_bool(ctx.clone(), *value),
        Value::Number(number) => match number.as_i64().and_then(|int| i32::try_from(int).ok()) {
            Some(int) => JsValue::new_int(ctx.clone(), int),
            // Integers beyond 2^53 lose precision, as they do in any JavaScript.
            None => JsValue::new_float(ctx.clone(), number.as_f64().unwrap_or_default()),
        },
        Value::String(text) => rquickjs::String::from_str(ctx.clone(), text)?.into_value(),
        Value::Array(values) => {
            let array = Array::new(ctx.clone())?;
            for (index, value) in values.iter().enumerate() {
                array.set(index, json_to_js(ctx, value)?)?;
            }
            array.into_value()
        }
        Value::Object(members) => object_to_js(ctx, members)?.into_value(),
    })
}

pub(crate) fn object_to_js<'js>(ctx: &Ctx<'js>, members: &Map<String, Value>) -> rquickjs::Result<Object<'js>> {
    let object = Object::new(ctx.clone())?;
    for (key, value) in members {
        object.set(key.as_str(), json_to_js(ctx, value)?)?;
    }
    Ok(object)
}

/// An item's attachments as `$binary` sees them: by name, each reference with Weft's own field
/// names (`key`, `mime_type`, `size`, `file_name`), and n8n's (`mimeType`, `fileName`,
/// `fileExtension`, `fileSize`, `fileType`) from the prelude's prototype. An item without
/// attachments gives `{}`.
pub(crate) fn binary_to_js<'js>(ctx: &Ctx<'js>, item: &Item) -> rquickjs::Result<Object<'js>> {
    let object = Object::new(ctx.clone())?;
    let Some(binary) = item.binary.as_ref().filter(|binary| !binary.is_empty()) else { return Ok(object) };
    let prototype: Object = ctx.globals().get::<_, Object>("__weft")?.get("binaryPrototype")?;
    for (name, reference) in binary {
        let entry = Object::new(ctx.clone())?;
        entry.set_prototype(Some(&prototype))?;
        entry.set("key", reference.key.as_str())?;
        entry.set("mime_type", reference.mime_type.as_str())?;
        // Sizes beyond 2^53 bytes do not occur.
        entry.set("size", reference.size as f64)?;
        if let Some(file_name) = &reference.file_name {
            entry.set("file_name", file_name.as_str())?;
        }
        object.set(name.as_str(), entry)?;
    }
    Ok(object)
}

/// An item as `$input.item` and `$('Node').item` see it: `{json, binary}`.
pub(crate) fn item_to_js<'js>(ctx: &Ctx<'js>, item: &Item) -> rquickjs::Result<Object<'js>> {
    let object = Object::new(ctx.clone())?;
    object.set("json", object_to_js(ctx, &item.json)?)?;
    object.set("binary", binary_to_js(ctx, item)?)?;
    Ok(object)
}

pub(crate) fn items_to_js<'js>(ctx: &Ctx<'js>, items: &[Item]) -> rquickjs::Result<Array<'js>> {
    let array = Array::new(ctx.clone())?;
    for (index, item) in items.iter().enumerate() {
        array.set(index, item_to_js(ctx, item)?)?;
    }
    Ok(array)
}

/// Why a result cannot become JSON. `Script` carries a message for the workflow's author;
/// `Thrown` means JavaScript threw while stringifying (a cycle, a `BigInt` inside, a throwing
/// `toJSON`), and the caller reads the exception.
pub(crate) enum ResultError {
    Script(String),
    Thrown(rquickjs::Error),
}

/// The result of an expression as JSON: `undefined` is `null`, as are `NaN` and the infinities
/// (as `JSON.stringify` writes them). Integral numbers come back as integers, since JavaScript
/// does not tell `2` from `2.0`.
pub(crate) fn js_to_json<'js>(ctx: &Ctx<'js>, value: JsValue<'js>) -> Result<Value, ResultError> {
    Ok(match value.type_of() {
        Type::Uninitialized | Type::Undefined | Type::Null => Value::Null,
        Type::Bool => Value::Bool(value.as_bool().unwrap_or_default()),
        Type::Int => Value::from(value.as_int().unwrap_or_default()),
        Type::Float => number(value.as_float().unwrap_or_default()),
        Type::String => Value::String(
            value
                .as_string()
                .map(|text| text.to_string())
                .transpose()
                .map_err(ResultError::Thrown)?
                .unwrap_or_default(),
        ),
        Type::Function | Type::Constructor => {
            return Err(ResultError::Script("the expression gave a function, which is not a value".into()));
        }
        Type::Symbol => return Err(ResultError::Script("the expression gave a symbol, which is not a value".into())),
        Type::BigInt => {
            return Err(ResultError::Script(
                "the expression gave a BigInt, which JSON cannot hold; use Number(…)".into(),
            ));
        }
        Type::Array | Type::Object | Type::Exception | Type::Promise | Type::Proxy => {
            match ctx.json_stringify(value).map_err(ResultError::Thrown)? {
                Some(text) => {
                    let text = text.to_string().map_err(ResultError::Thrown)?;
                    serde_json::from_str(&text).map_err(|error| {
                        ResultError::Script(format!("the expression's result could not be read as JSON: {error}"))
                    })?
                }
                None => Value::Null,
            }
        }
        Type::Module | Type::Unknown => {
            return Err(ResultError::Script(format!(
                "the expression gave a {}, which is not a value",
                value.type_name()
            )));
        }
    })
}

/// A code node's result, already shaped as `[{json, binary?}]` by the prelude, as items. An
/// empty `binary` is none, so that passing an input item on keeps it as it was.
pub(crate) fn json_to_items(value: Value) -> Result<Vec<Item>, String> {
    let Value::Array(values) = value else { return Err("the code's items could not be read".to_string()) };
    values
        .into_iter()
        .enumerate()
        .map(|(index, value)| {
            let mut item: Item = serde_json::from_value(value)
                .map_err(|error| format!("item {index} of the result is not a valid item: {error}"))?;
            if item.binary.as_ref().is_some_and(|binary| binary.is_empty()) {
                item.binary = None;
            }
            Ok(item)
        })
        .collect()
}

fn number(float: f64) -> Value {
    if !float.is_finite() {
        return Value::Null;
    }
    if float.fract() == 0.0 && float.abs() <= SAFE_INTEGER {
        // Exact: the value is integral and within the range where every integer is a float.
        return Value::from(float as i64);
    }
    Number::from_f64(float).map_or(Value::Null, Value::Number)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn integral_floats_become_integers_and_non_finite_ones_null() {
        assert_eq!(number(2.0), json!(2));
        assert_eq!(number(-0.0), json!(0));
        assert_eq!(number(2.5), json!(2.5));
        assert_eq!(number(1e300), json!(1e300));
        assert_eq!(number(f64::NAN), json!(null));
        assert_eq!(number(f64::INFINITY), json!(null));
    }
}
