use serde_json::json;

use crate::Activation;

#[test]
fn results_keep_their_json_type() {
    let activation = Activation::single(json!({"a": 1, "f": 2.5, "ok": true, "list": [1, "x"], "nested": {"k": null}}));
    assert_eq!(activation.value("$json.a"), json!(1));
    assert_eq!(activation.value("$json.a + 1"), json!(2));
    assert_eq!(activation.value("$json.f"), json!(2.5));
    assert_eq!(activation.value("$json.f * 2"), json!(5));
    assert_eq!(activation.value("$json.ok"), json!(true));
    assert_eq!(activation.value("!$json.ok"), json!(false));
    assert_eq!(activation.value("$json.nested"), json!({"k": null}));
    assert_eq!(activation.value("$json.list"), json!([1, "x"]));
    assert_eq!(activation.value("$json.nested.k"), json!(null));
    assert_eq!(activation.value("'total: ' + $json.a"), json!("total: 1"));
    assert_eq!(activation.value("({a: [1, {b: 'c'}], d: 1.5})"), json!({"a": [1, {"b": "c"}], "d": 1.5}));
}

#[test]
fn large_and_fractional_numbers_survive() {
    let activation = Activation::single(json!({"big": 4_000_000_000_i64, "neg": -3}));
    assert_eq!(activation.value("$json.big"), json!(4_000_000_000_i64));
    assert_eq!(activation.value("$json.big * 1000"), json!(4_000_000_000_000_i64));
    assert_eq!(activation.value("$json.neg / 2"), json!(-1.5));
    assert_eq!(activation.value("0.1 + 0.2"), json!(0.30000000000000004));
}

#[test]
fn undefined_and_non_finite_numbers_become_null() {
    let activation = Activation::single(json!({}));
    assert_eq!(activation.value("$json.missing"), json!(null));
    assert_eq!(activation.value("undefined"), json!(null));
    assert_eq!(activation.value("0 / 0"), json!(null));
    assert_eq!(activation.value("1 / 0"), json!(null));
    assert_eq!(activation.value("[NaN, undefined, -Infinity]"), json!([null, null, null]));
    assert_eq!(activation.value("({a: undefined, b: 1})"), json!({"b": 1}));
}

#[test]
fn a_date_result_is_its_iso_string() {
    let activation = Activation::single(json!({}));
    assert_eq!(activation.value("new Date(0)"), json!("1970-01-01T00:00:00.000Z"));
}

#[test]
fn a_function_result_is_an_error() {
    let activation = Activation::single(json!({}));
    assert!(activation.error("() => 1").contains("function"));
    assert!(activation.error("Symbol('x')").contains("symbol"));
    assert!(activation.error("10n").contains("BigInt"));
}

#[test]
fn a_cyclic_result_is_an_error() {
    let message = Activation::single(json!({})).error("(() => { const a = {}; a.self = a; return a })()");
    assert!(message.starts_with("TypeError"), "{message}");
}

#[test]
fn a_thrown_error_gives_its_name_and_message() {
    let activation = Activation::single(json!({}));
    assert_eq!(activation.error("(() => { throw new RangeError('too far') })()"), "RangeError: too far");
    assert_eq!(activation.error("(() => { throw 'plain text' })()"), "plain text");
    let message = activation.error("$json.missing.field");
    assert!(message.starts_with("TypeError: ") && message.contains("field"), "{message}");
    assert!(activation.error("notDefined + 1").starts_with("ReferenceError: "));
}

#[test]
fn a_syntax_error_is_reported_for_every_item() {
    let activation = Activation::single(json!({}));
    for _ in 0..2 {
        let message = activation.error("$json.a +");
        assert!(message.starts_with("SyntaxError: "), "{message}");
    }
    assert!(activation.error("").starts_with("SyntaxError: "));
    // The wrapper cannot be closed from inside: the statement after it is a syntax error too.
    assert!(activation.error("1 }); globalThis.x = (1").starts_with("SyntaxError: "));
}

#[test]
fn a_trailing_comment_is_allowed() {
    assert_eq!(Activation::single(json!({"a": 2})).value("$json.a // the amount"), json!(2));
}

#[test]
fn the_same_expression_serves_every_item() {
    let activation = crate::Activation::new(
        weft_sandbox::JsExpressions::new(Default::default()),
        crate::items((0..50).map(|n| json!({"n": n}))),
    );
    for index in 0..50 {
        assert_eq!(activation.eval_at(index, "$json.n * 2").unwrap(), json!(index * 2));
    }
}
