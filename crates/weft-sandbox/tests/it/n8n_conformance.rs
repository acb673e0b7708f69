//! n8n's expression surface, row by row: each expression with the result n8n documents for it
//! (n8n's expression and data transformation function docs, Luxon's docs and JMESPath's
//! specification). Rows run against one fixture run (below) with the clock fixed at
//! 2024-03-10T12:30:45.123Z, a Sunday, in UTC unless a row's table says otherwise.

use std::collections::HashMap;

use serde_json::{Value, json};
use weft_engine::{Expressions, ItemContext};
use weft_sandbox::{JsExpressions, PreviousNode, RunContext};

use crate::{item, items, map};

/// One row: the expression, the JSON of the item it is evaluated for (empty for [`ITEM`]), and
/// the expected result as JSON.
struct Row {
    expression: &'static str,
    item: &'static str,
    expected: &'static str,
}

const fn row(expression: &'static str, expected: &'static str) -> Row {
    Row { expression, item: "", expected }
}

const fn row_with(item: &'static str, expression: &'static str, expected: &'static str) -> Row {
    Row { expression, item, expected }
}

/// The item most rows are evaluated for: the second of three input items.
const ITEM: &str = r#"{
    "n": 1, "name": "Ada Lovelace", "email": "ada@example.com", "total": 42.5, "tags": ["a", "b"],
    "empty": "", "nested": {"x": 1}, "when": "2024-03-01T09:00:00Z",
    "lines": [{"sku": "A1", "qty": 2, "price": 5}, {"sku": "B2", "qty": 1, "price": 20}, {"sku": "C3", "qty": 5, "price": 1}]
}"#;

/// 2024-03-10T12:30:45.123Z.
const NOW: i64 = 1_710_073_845_123;

/// The run: node `Set` is evaluated, fed by `Orders`' first output; `Customer` has run too.
fn run_context(timezone: &str) -> RunContext {
    RunContext {
        execution_id: "run_01".into(),
        execution_mode: "production".into(),
        workflow_id: "wf_01".into(),
        workflow_name: "Orders sync".into(),
        workflow_active: true,
        vars: map(json!({"region": "eu"})),
        env: map(json!({"API_BASE": "https://api.example.com"})),
        node_outputs: HashMap::from([
            ("Orders".to_string(), items([json!({"id": 10}), json!({"id": 11}), json!({"id": 12})])),
            ("Customer".to_string(), items([json!({"name": "Grace", "email": "grace@example.com"})])),
        ]),
        previous_nodes: HashMap::from([(
            "Set".to_string(),
            vec![Some(PreviousNode { name: "Orders".into(), output: 0 })],
        )]),
        timezone: timezone.into(),
        now: Some(NOW),
    }
}

/// Evaluates every row and lists the ones whose result differs.
fn mismatches(exprs: &JsExpressions, rows: &[Row]) -> Vec<String> {
    let mut wrong = Vec::new();
    for row in rows {
        let text = if row.item.is_empty() { ITEM } else { row.item };
        let current: Value = serde_json::from_str(text).expect("a row's item is JSON");
        let inputs = vec![vec![item(json!({"n": 0})), item(current), item(json!({"n": 2}))]];
        let context = ItemContext { node: "Set", item: &inputs[0][1], index: 1, input: 0, inputs: &inputs };
        let expected: Value = serde_json::from_str(row.expected)
            .unwrap_or_else(|error| panic!("`{}`: the expected value is not JSON: {error}", row.expression));
        match exprs.evaluate(row.expression, &context) {
            Ok(got) if same(&got, &expected) => {}
            Ok(got) => wrong.push(format!("`{}` gave {got}, expected {expected}", row.expression)),
            Err(error) => wrong.push(format!("`{}` failed: {error}, expected {expected}", row.expression)),
        }
    }
    wrong
}

/// Equal as JSON, numbers compared by value (`2` and `2.0` are one JavaScript number).
fn same(got: &Value, expected: &Value) -> bool {
    match (got, expected) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Value::Array(a), Value::Array(b)) => a.len() == b.len() && a.iter().zip(b).all(|(a, b)| same(a, b)),
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len() && a.iter().all(|(key, value)| b.get(key).is_some_and(|other| same(value, other)))
        }
        (a, b) => a == b,
    }
}

const GLOBALS: &[Row] = &[
    row("$json.name", r#""Ada Lovelace""#),
    row(r#"$json["total"] * 2"#, "85"),
    row("$json.tags.length", "2"),
    row("$json.missing", "null"),
    row("$json.nested.x", "1"),
    row("$itemIndex", "1"),
    row("$input.item.json.name", r#""Ada Lovelace""#),
    row("$input.first().json.n", "0"),
    row("$input.last().json.n", "2"),
    row("$input.all().length", "3"),
    row("$input.all().map(i => i.json.n)", "[0, 1, 2]"),
    row("$input.params", "{}"),
    row("$('Orders').first().json.id", "10"),
    row("$('Orders').last().json.id", "12"),
    row("$('Orders').all().length", "3"),
    row("$('Orders').item.json.id", "11"),
    row("$('Orders').itemMatching(2).json.id", "12"),
    row("$('Orders').isExecuted", "true"),
    row("$('Not run').isExecuted", "false"),
    row(r#"$node["Orders"].json.id"#, "10"),
    row("$node.Customer.json.email", r#""grace@example.com""#),
    row(r#"$items("Orders").length"#, "3"),
    row(r#"$items("Orders")[1].json.id"#, "11"),
    row(r#"$item("1").$node["Orders"].json["id"]"#, "11"),
    row("$runIndex", "0"),
    row("$prevNode.name", r#""Orders""#),
    row("$prevNode.outputIndex", "0"),
    row("$prevNode.runIndex", "0"),
    row("$execution.id", r#""run_01""#),
    row("$execution.mode", r#""production""#),
    row("$workflow.id", r#""wf_01""#),
    row("$workflow.name", r#""Orders sync""#),
    row("$workflow.active", "true"),
    row("$vars.region", r#""eu""#),
    row("$env.API_BASE", r#""https://api.example.com""#),
    row("$env.HOME", "null"),
    row("$if($json.total > 40, 'big', 'small')", r#""big""#),
    row("$if(false, 1, 2)", "2"),
    row("$ifEmpty($json.empty, 'fallback')", r#""fallback""#),
    row("$ifEmpty($json.name, 'fallback')", r#""Ada Lovelace""#),
    row("$ifEmpty([], 'none')", r#""none""#),
    row("$ifEmpty({}, 'none')", r#""none""#),
    row("$ifEmpty(0, 'none')", "0"),
    row("$ifEmpty(null, 'none')", r#""none""#),
    row_with(r#"{"price": "19.99"}"#, "$json.price.toNumber() * 2", "39.98"),
    row_with(r#"{"contact": "Contact: bob@corp.io"}"#, "$json.contact.extractEmail()", r#""bob@corp.io""#),
    row_with(r#"{"items": []}"#, "$ifEmpty($json.items, 'none')", r#""none""#),
    row_with(r#"{"date": "2024-12-25"}"#, "DateTime.fromISO($json.date).toFormat('EEEE')", r#""Wednesday""#),
    row("$max(1, 5, 3)", "5"),
    row("$min(4, 2, 8)", "2"),
];

const JMESPATH: &[Row] = &[
    row("$jmespath($json, 'nested.x')", "1"),
    row("$jmespath($json, 'tags[0]')", r#""a""#),
    row("$jmespath($json, 'lines[].sku')", r#"["A1", "B2", "C3"]"#),
    row("$jmespath($json, 'lines[*].sku')", r#"["A1", "B2", "C3"]"#),
    row("$jmespath($json, 'lines[?qty > `1`].sku')", r#"["A1", "C3"]"#),
    row("$jmespath($json, 'lines[*].qty | sum(@)')", "8"),
    row("$jmespath($json, 'length(lines)')", "3"),
    row("$jmespath($json, 'lines[-1].sku')", r#""C3""#),
    row("$jmespath($json, 'lines[0:2].sku')", r#"["A1", "B2"]"#),
    row("$jmespath($json, '{first: lines[0].sku, count: length(lines)}')", r#"{"first": "A1", "count": 3}"#),
    row(r#"$jmespath($json, "lines[?sku == 'B2'] | [0].price")"#, "20"),
    row("$jmespath($input.all(), '[].json.n')", "[0, 1, 2]"),
    row("$jmespath($json, 'sort_by(lines, &price)[0].sku')", r#""C3""#),
    row("$jmespath($json, 'max_by(lines, &qty).sku')", r#""C3""#),
    row("$jmespath($json, 'nested.*')", "[1]"),
    row("$jmespath($json, 'missing.deeper')", "null"),
    row("$jmespath([[1, 2], [3, [4]]], '[]')", "[1, 2, 3, [4]]"),
    row("$jmespath({a: 'x', b: null}, 'b || a')", r#""x""#),
    row(r#"$jmespath($json, "join(', ', tags)")"#, r#""a, b""#),
    row(r#"$jmespath($json, "contains(tags, 'b')")"#, "true"),
    row("$jmespath($json, 'lines[?qty > `1` && price > `2`].sku')", r#"["A1"]"#),
    row("$jmespath($json, '[name, total]')", r#"["Ada Lovelace", 42.5]"#),
    row("$jmespath({a: [1, 2, 3, 4]}, 'a[::-1]')", "[4, 3, 2, 1]"),
];

const LUXON: &[Row] = &[
    row("$now.toISO()", r#""2024-03-10T12:30:45.123Z""#),
    row("$now", r#""2024-03-10T12:30:45.123Z""#),
    row("`${$now}`", r#""2024-03-10T12:30:45.123Z""#),
    row("$today.toISO()", r#""2024-03-10T00:00:00.000Z""#),
    row("$now.toMillis()", "1710073845123"),
    row("$now.toSeconds()", "1710073845.123"),
    row("$now.toUnixInteger()", "1710073845"),
    row("$now.ts", "1710073845123"),
    row(
        "[$now.year, $now.month, $now.day, $now.hour, $now.minute, $now.second, $now.millisecond]",
        "[2024, 3, 10, 12, 30, 45, 123]",
    ),
    row("$now.weekday", "7"),
    row("$now.ordinal", "70"),
    row("$now.weekNumber", "10"),
    row("$now.quarter", "1"),
    row("$now.daysInMonth", "31"),
    row("$now.isInLeapYear", "true"),
    row("$now.monthLong", r#""March""#),
    row("$now.weekdayShort", r#""Sun""#),
    row("$now.zoneName", r#""UTC""#),
    row("$now.offset", "0"),
    row("$now.toISODate()", r#""2024-03-10""#),
    row("$now.toISOTime()", r#""12:30:45.123Z""#),
    row("$now.toISO({suppressMilliseconds: true})", r#""2024-03-10T12:30:45.123Z""#),
    row("$today.toISO({suppressMilliseconds: true})", r#""2024-03-10T00:00:00Z""#),
    row("$now.toFormat('yyyy-MM-dd')", r#""2024-03-10""#),
    row("$now.toFormat('dd/MM/yyyy HH:mm:ss.SSS')", r#""10/03/2024 12:30:45.123""#),
    row("$now.toFormat('LLL d, yyyy')", r#""Mar 10, 2024""#),
    row("$now.toFormat('LLLL')", r#""March""#),
    row("$now.toFormat('EEE')", r#""Sun""#),
    row("$now.toFormat('EEEE')", r#""Sunday""#),
    row("$now.toFormat('h:mm a')", r#""12:30 PM""#),
    row("$now.toFormat('yy')", r#""24""#),
    row("$now.toFormat('ZZ')", r#""+00:00""#),
    row("$now.toFormat('ZZZ')", r#""+0000""#),
    row("$now.toFormat(\"'Week' W 'of' kkkk\")", r#""Week 10 of 2024""#),
    row("$now.toFormat('q')", r#""1""#),
    row("$now.toFormat('X')", r#""1710073845""#),
    row("$now.toFormat('D')", r#""3/10/2024""#),
    row("$now.toFormat('DD')", r#""Mar 10, 2024""#),
    row("$now.toFormat('DDD')", r#""March 10, 2024""#),
    row("$now.toFormat('t')", r#""12:30 PM""#),
    row("$now.toFormat('T')", r#""12:30""#),
    row("$now.toFormat(\"HH 'hours and' mm 'minutes'\")", r#""12 hours and 30 minutes""#),
    // Luxon has no `YYYY` or `DD`-as-day tokens: unknown letters stay, `DD` is a date macro.
    row("$now.format('YYYY-MM-DD')", r#""YYYY-03-Mar 10, 2024""#),
    row("$now.format('yyyy')", r#""2024""#),
    row("$now.toLocaleString(DateTime.DATE_FULL)", r#""March 10, 2024""#),
    row("$now.toLocaleString(DateTime.DATETIME_MED)", r#""Mar 10, 2024, 12:30 PM""#),
    row("$now.toLocaleString(DateTime.DATETIME_FULL)", r#""March 10, 2024 at 12:30 PM UTC""#),
    row("$now.toLocaleString()", r#""3/10/2024""#),
    row("DateTime.fromISO($now).toLocaleString(DateTime.DATETIME_FULL)", r#""March 10, 2024 at 12:30 PM UTC""#),
    row("DateTime.fromISO('2024-03-10T12:30:00Z').format('EEE, dd MMM @ t')", r#""Sun, 10 Mar @ 12:30 PM""#),
    row("$now.plus({days: 1}).toISODate()", r#""2024-03-11""#),
    row("$now.plus({months: 1, days: 2}).toISODate()", r#""2024-04-12""#),
    row("$now.minus({days: 30}).toISODate()", r#""2024-02-09""#),
    row("$now.minus({weeks: 2}).toISODate()", r#""2024-02-25""#),
    row("$now.plus({hours: 12}).toISO()", r#""2024-03-11T00:30:45.123Z""#),
    row("$now.plus(30, 'minutes').toISO()", r#""2024-03-10T13:00:45.123Z""#),
    row("$now.minus(1, 'year').year", "2023"),
    row("$now.plus({years: 1}).toISODate()", r#""2025-03-10""#),
    row("$now.plus(1000).toISO()", r#""2024-03-10T12:30:46.123Z""#),
    row("DateTime.fromISO('2024-01-31').plus({months: 1}).toISODate()", r#""2024-02-29""#),
    row("'2024-03-30T18:49'.toDateTime().plus(7, 'days').toISO()", r#""2024-04-06T18:49:00.000Z""#),
    row("'2024-03-30T18:49'.toDateTime().plus(4, 'years').toISO()", r#""2028-03-30T18:49:00.000Z""#),
    row("$now.startOf('month').toISO()", r#""2024-03-01T00:00:00.000Z""#),
    row("$now.endOf('month').toISO()", r#""2024-03-31T23:59:59.999Z""#),
    row("$now.startOf('year').toISODate()", r#""2024-01-01""#),
    row("$now.startOf('week').toISODate()", r#""2024-03-04""#),
    row("$now.endOf('day').toISOTime()", r#""23:59:59.999Z""#),
    row("$now.startOf('hour').toISO()", r#""2024-03-10T12:00:00.000Z""#),
    row("$now.startOf('quarter').toISODate()", r#""2024-01-01""#),
    row("$now.set({hour: 8, minute: 0}).toISO()", r#""2024-03-10T08:00:45.123Z""#),
    row(
        "DateTime.fromISO('2024-03-10T12:30:00Z').diff(DateTime.fromISO('2024-03-01T00:00:00Z'), 'days').days",
        "9.520833333333334",
    ),
    row(
        "DateTime.fromISO('2024-03-10T12:30:00Z').diff(DateTime.fromISO('2024-03-01T00:00:00Z'), ['days', 'hours']).toObject()",
        r#"{"days": 9, "hours": 12.5}"#,
    ),
    row("DateTime.fromISO('2024-03-10').diff(DateTime.fromISO('2024-01-10'), 'months').months", "2"),
    row(
        "DateTime.fromISO('2024-03-10T12:00:00Z').diff(DateTime.fromISO('2024-03-10T10:30:00Z'), 'minutes').toObject()",
        r#"{"minutes": 90}"#,
    ),
    row(
        "DateTime.fromISO('2024-03-10T12:00:00Z').diff(DateTime.fromISO('2024-03-10T10:30:00Z')).milliseconds",
        "5400000",
    ),
    row(
        "DateTime.fromISO('2024-03-10T12:00:00Z').diff(DateTime.fromISO('2024-03-10T10:30:00Z'), 'hours').hours",
        "1.5",
    ),
    row("DateTime.fromISO('2024-01-01').diff(DateTime.fromISO('2024-01-03'), 'days').days", "-2"),
    row(
        "DateTime.fromISO('2024-03-10T12:00:00Z').diff(DateTime.fromISO('2024-03-10T11:00:00Z'), 'minutes').toObject()['minutes']",
        "60",
    ),
    row("DateTime.fromISO('2016-05-25T09:08:34.123').toISO()", r#""2016-05-25T09:08:34.123Z""#),
    row("DateTime.fromISO('2016-05-25').toISO()", r#""2016-05-25T00:00:00.000Z""#),
    row("DateTime.fromISO('2016-05-25T09:08:34.123+06:00').toISO()", r#""2016-05-25T03:08:34.123Z""#),
    row(
        "DateTime.fromISO('2016-05-25T09:08:34.123+06:00', {setZone: true}).toISO()",
        r#""2016-05-25T09:08:34.123+06:00""#,
    ),
    row("DateTime.fromISO('2016-05-25T09', {zone: 'America/New_York'}).toISO()", r#""2016-05-25T09:00:00.000-04:00""#),
    row("DateTime.fromISO('20160525').toISODate()", r#""2016-05-25""#),
    row("DateTime.fromISO('2016-05-25T09:08:34,5Z').millisecond", "500"),
    row("DateTime.fromISO('not a date').isValid", "false"),
    row("DateTime.fromISO('not a date').toISO()", "null"),
    row("DateTime.fromISO('2024-02-30').isValid", "false"),
    row("DateTime.fromISO('garbage').toString()", r#""Invalid DateTime""#),
    row("DateTime.fromFormat('05/25/1982', 'MM/dd/yyyy').toISODate()", r#""1982-05-25""#),
    row("DateTime.fromFormat('May 25 1982', 'LLLL dd yyyy').toISODate()", r#""1982-05-25""#),
    row("DateTime.fromFormat('2024-05-06 07:08:09', 'yyyy-MM-dd HH:mm:ss').toISO()", r#""2024-05-06T07:08:09.000Z""#),
    row("DateTime.fromFormat('2024-05-06 07:08:09', 'yyyy-MM-dd HH:mm:ss').ts", "1714979289000"),
    row("DateTime.fromFormat('6/1/2024 3:05 PM', 'M/d/yyyy h:mm a').toISO()", r#""2024-06-01T15:05:00.000Z""#),
    row("DateTime.fromFormat('2024-05-06', 'dd-MM-yyyy').isValid", "false"),
    row(
        "DateTime.fromFormat('2024-05-06 10:00 +02:00', 'yyyy-MM-dd HH:mm ZZ').toISO()",
        r#""2024-05-06T08:00:00.000Z""#,
    ),
    row("DateTime.fromMillis(0).toISO()", r#""1970-01-01T00:00:00.000Z""#),
    row("DateTime.fromSeconds(1700000000).toISO()", r#""2023-11-14T22:13:20.000Z""#),
    row("DateTime.fromJSDate(new Date(86400000)).toISODate()", r#""1970-01-02""#),
    row("DateTime.fromObject({year: 2024, month: 2, day: 29}).toISODate()", r#""2024-02-29""#),
    row("DateTime.utc(2024, 5, 6, 7, 8).toISO()", r#""2024-05-06T07:08:00.000Z""#),
    row("DateTime.local(2024, 5, 6).toISODate()", r#""2024-05-06""#),
    row("DateTime.now().toISO() === $now.toISO()", "true"),
    row("DateTime.fromSQL('2024-05-06 07:08:09').toISO()", r#""2024-05-06T07:08:09.000Z""#),
    row("DateTime.fromRFC2822('Tue, 01 Nov 2016 13:23:12 +0630').toISO()", r#""2016-11-01T06:53:12.000Z""#),
    row(
        "DateTime.fromISO('2024-03-10T12:30:00Z').setZone('Europe/Berlin').toISO()",
        r#""2024-03-10T13:30:00.000+01:00""#,
    ),
    row(
        "DateTime.fromISO('2024-03-10T12:30:00Z').setZone('America/New_York').toFormat('HH:mm ZZ')",
        r#""08:30 -04:00""#,
    ),
    row("DateTime.fromISO('2024-03-10T12:30:00Z').setZone('UTC+3').toISO()", r#""2024-03-10T15:30:00.000+03:00""#),
    row("DateTime.fromISO('2024-03-10T12:30:00Z').setZone('Asia/Kolkata').toFormat('HH:mm')", r#""18:00""#),
    row("DateTime.fromISO('2024-03-10T12:30:00Z').setZone('Mars/Olympus').isValid", "false"),
    row("DateTime.fromISO('2024-03-10T12:30:00Z').setZone('Europe/Berlin').zoneName", r#""Europe/Berlin""#),
    row("DateTime.fromISO('2024-03-10T12:30:00Z').setZone('Europe/Berlin').offset", "60"),
    row("DateTime.fromISO('2024-07-01T12:00:00Z').setZone('Europe/Berlin').isInDST", "true"),
    row("DateTime.fromISO('2024-01-01T12:00:00Z').setZone('Europe/Berlin').isInDST", "false"),
    row(
        "DateTime.fromISO('2024-03-31T02:30:00', {zone: 'Europe/Berlin'}).toISO()",
        r#""2024-03-31T03:30:00.000+02:00""#,
    ),
    row(
        "DateTime.fromISO('2024-03-30T12:00:00', {zone: 'Europe/Berlin'}).plus({days: 1}).toISO()",
        r#""2024-03-31T12:00:00.000+02:00""#,
    ),
    row(
        "DateTime.fromISO('2024-03-30T12:00:00', {zone: 'Europe/Berlin'}).plus({hours: 24}).toISO()",
        r#""2024-03-31T13:00:00.000+02:00""#,
    ),
    row(
        "DateTime.fromISO('2024-03-10T12:30:00Z').setZone('Europe/Berlin', {keepLocalTime: true}).toISO()",
        r#""2024-03-10T12:30:00.000+01:00""#,
    ),
    row("DateTime.fromISO('2024-03-10T12:30:00Z').setZone('Europe/Berlin').toFormat('z')", r#""Europe/Berlin""#),
    row("$now.setZone('Europe/Paris').format('dd LLL yyyy')", r#""10 Mar 2024""#),
    row("$now.toUTC().toISO()", r#""2024-03-10T12:30:45.123Z""#),
    row("DateTime.fromISO('2024-01-01') < DateTime.fromISO('2024-01-02')", "true"),
    row("+DateTime.fromISO('1970-01-01T00:00:01Z')", "1000"),
    row("DateTime.fromISO('2024-01-01').equals(DateTime.fromISO('2024-01-01T00:00:00Z'))", "true"),
    row("DateTime.fromISO('2024-01-01T10:00Z').hasSame(DateTime.fromISO('2024-01-01T22:00Z'), 'day')", "true"),
    row("DateTime.fromISO('2024-01-01T10:00Z').hasSame(DateTime.fromISO('2024-01-02T10:00Z'), 'day')", "false"),
    row("DateTime.max(DateTime.fromISO('2024-01-01'), DateTime.fromISO('2025-01-01')).year", "2025"),
    row("DateTime.fromISO('2024-01-01').toJSDate().getTime()", "1704067200000"),
    row(
        "DateTime.fromISO('2024-03-10T12:30:45Z').toObject()",
        r#"{"year": 2024, "month": 3, "day": 10, "hour": 12, "minute": 30, "second": 45, "millisecond": 0}"#,
    ),
    row(
        "DateTime.fromISO('2024-03-10T12:30:00Z').toRelative({base: DateTime.fromISO('2024-03-13T12:30:00Z')})",
        r#""3 days ago""#,
    ),
    row("DateTime.fromISO('2024-03-10T12:30:00Z').toSQL()", r#""2024-03-10 12:30:00.000 Z""#),
    row("DateTime.fromISO('2024-03-10T12:30:00Z').toHTTP()", r#""Sun, 10 Mar 2024 12:30:00 GMT""#),
    row("DateTime.fromISO('2024-03-10T12:30:00Z').toRFC2822()", r#""Sun, 10 Mar 2024 12:30:00 +0000""#),
    row("DateTime.isDateTime($now)", "true"),
    row("Duration.fromObject({hours: 2, minutes: 30}).as('minutes')", "150"),
    row("Duration.fromObject({hours: 1}).toISO()", r#""PT1H""#),
    row("Duration.fromMillis(90000).shiftTo('minutes').minutes", "1.5"),
    row("Duration.fromObject({days: 1, hours: 2}).toMillis()", "93600000"),
    row("Duration.fromISO('P1DT2H').toObject()", r#"{"days": 1, "hours": 2}"#),
];

const EXTENSIONS: &[Row] = &[
    row(r#""".isEmpty()"#, "true"),
    row(r#""hello".isEmpty()"#, "false"),
    row(r#""hello".isNotEmpty()"#, "true"),
    row(r#""   ".isBlank()"#, "true"),
    row(r#""  hello  ".isNotBlank()"#, "true"),
    row(r#""me@example.com".isEmail()"#, "true"),
    row(r#""It's me@example.com".isEmail()"#, "false"),
    row(r#""https://n8n.io".isUrl()"#, "true"),
    row(r#""n8n.io".isUrl()"#, "false"),
    row(r#""n8n.io".isDomain()"#, "true"),
    row(r#""http://n8n.io".isDomain()"#, "false"),
    row(r#""1.2234".isNumeric()"#, "true"),
    row(r#""hello".isNumeric()"#, "false"),
    row(r#""123E23".isNumeric()"#, "true"),
    row(r#""My email is me@example.com".extractEmail()"#, r#""me@example.com""#),
    row(r#""me@example.com".extractDomain()"#, r#""example.com""#),
    row(r#""http://n8n.io/workflows".extractDomain()"#, r#""n8n.io""#),
    row(r#""It's me@example.com".extractEmail().extractDomain()"#, r#""example.com""#),
    row(r#""Check out http://n8n.io".extractUrl()"#, r#""http://n8n.io""#),
    row(r#""http://n8n.io/workflows".extractUrlPath()"#, r#""/workflows""#),
    row(r#""name=Nathan Automat".urlEncode()"#, r#""name%3DNathan%20Automat""#),
    row(r#""name=Nathan Automat".urlEncode(true)"#, r#""name=Nathan%20Automat""#),
    row(r#""name%3DNathan%20Automat".urlDecode()"#, r#""name=Nathan Automat""#),
    row(r#""name%3DNathan%20Automat".urlDecode(true)"#, r#""name%3DNathan Automat""#),
    row(r#""hello".base64Encode()"#, r#""aGVsbG8=""#),
    row(r#""aGVsbG8=".base64Decode()"#, r#""hello""#),
    row(r#""héllo wörld".base64Encode().base64Decode()"#, r#""héllo wörld""#),
    row(r#""quick! brown FOX".toSentenceCase()"#, r#""Quick! Brown fox""#),
    row(r#""quick brown $FOX".toSnakeCase()"#, r#""quick_brown_fox""#),
    row(r#""quick a brown FOX".toTitleCase()"#, r#""Quick a Brown Fox""#),
    row(r#"'{"name":"Nathan"}'.parseJson()"#, r#"{"name": "Nathan"}"#),
    row(r#""true".toBoolean()"#, "true"),
    row(r#""false".toBoolean()"#, "false"),
    row(r#""0".toBoolean()"#, "false"),
    row(r#""hello".toBoolean()"#, "true"),
    row(r#""123".toNumber()"#, "123"),
    row(r#""1.23E10".toNumber()"#, "12300000000"),
    row(r#""42px".toInt()"#, "42"),
    row(r#"'Nathan says "hi"'.quote()"#, r#""\"Nathan says \\\"hi\\\"\"""#),
    row(r#""<b>bold</b>, <a>link</a>".removeTags()"#, r#""bold, link""#),
    row(r#""déjà".replaceSpecialChars()"#, r#""deja""#),
    row(r#""*bold*, [link]()".removeMarkdown()"#, r#""bold, link""#),
    row(r#""hello".hash()"#, r#""5d41402abc4b2a76b9719d911017c592""#),
    row(r#""hello".hash('sha256')"#, r#""2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824""#),
    row(r#""hello".hash('base64')"#, r#""aGVsbG8=""#),
    row("$json.nested.keys()", r#"["x"]"#),
    row("({a: 1, b: 2}).values()", "[1, 2]"),
    row("'foo'.toJsonString()", r#""\"foo\"""#),
    row("$json.tags.toJsonString()", r#""[\"a\",\"b\"]""#),
    row("$json.nested.toJsonString()", r#""{\"x\":1}""#),
    row("$('Orders').all().map(i => i.json).toJsonString()", r#""[{\"id\":10},{\"id\":11},{\"id\":12}]""#),
    row(r#""2024-03-29T18:06:31.798+01:00".toDateTime().toISO()"#, r#""2024-03-29T17:06:31.798Z""#),
    row(r#""Fri, 29 Mar 2024 18:08:01 +0100".toDateTime().toISO()"#, r#""2024-03-29T17:08:01.000Z""#),
    row(r#""20240329".toDateTime().toISODate()"#, r#""2024-03-29""#),
    row(r#""1711732132990".toDateTime("ms").toMillis()"#, "1711732132990"),
    row(r#""31-01-2024".toDateTime("dd-MM-yyyy").toISODate()"#, r#""2024-01-31""#),
    row(r#""2024-03-10 09:00:00".toDateTime().hour"#, "9"),
    row("$json.when.toDateTime().plus(30, 'minutes').toISO()", r#""2024-03-01T09:30:00.000Z""#),
    row("[1, 2, 3].sum()", "6"),
    row("[1, 2, 3, 4].average()", "2.5"),
    row("[1, 5, 3].max()", "5"),
    row("[1, 5, 3].min()", "1"),
    row("[1, 2].first()", "1"),
    row("[1, 2].last()", "2"),
    row("[].isEmpty()", "true"),
    row("[1].isNotEmpty()", "true"),
    row("[1, 2, 2, 3].removeDuplicates()", "[1, 2, 3]"),
    row("['a', 'b', 'a'].unique()", r#"["a", "b"]"#),
    row("[{a: 1, b: 1}, {a: 1, b: 2}].removeDuplicates('a')", r#"[{"a": 1, "b": 1}]"#),
    row("$json.lines.pluck('sku')", r#"["A1", "B2", "C3"]"#),
    row(
        "$json.lines.pluck('sku', 'qty')",
        r#"[{"sku": "A1", "qty": 2}, {"sku": "B2", "qty": 1}, {"sku": "C3", "qty": 5}]"#,
    ),
    row("$json.lines.pluck('price').sum()", "26"),
    row("[1, null, '', 2].compact()", "[1, 2]"),
    row("[1, 2, 3, 4, 5].chunk(2)", "[[1, 2], [3, 4], [5]]"),
    row("[1, 2, 3].difference([2])", "[1, 3]"),
    row("[1, 2, 3].intersection([2, 3, 4])", "[2, 3]"),
    row("[1, 2].union([2, 3])", "[1, 2, 3]"),
    row("[{name: 'a', value: 1}, {name: 'b', value: 2}].smartJoin('name', 'value')", r#"{"a": 1, "b": 2}"#),
    row("[{a: 1}, {b: 2}].merge()", r#"{"a": 1, "b": 2}"#),
    row("[{a: 1}].renameKeys('a', 'z')", r#"[{"z": 1}]"#),
    row("[1, 2].append(3)", "[1, 2, 3]"),
    row("(1.256).round(2)", "1.26"),
    row("(1.5).round()", "2"),
    row("(1.2).ceil()", "2"),
    row("(1.8).floor()", "1"),
    row("(4).isEven()", "true"),
    row("(3).isOdd()", "true"),
    row("(0).toBoolean()", "false"),
    row("(12).toBoolean()", "true"),
    row("(1710073845123).toDateTime().toISO()", r#""2024-03-10T12:30:45.123Z""#),
    row("(1710073845).toDateTime('s').toISO()", r#""2024-03-10T12:30:45.000Z""#),
    row("(45361).toDateTime('excel').toISODate()", r#""2024-03-10""#),
    row("(1234567.891).format()", r#""1,234,567.891""#),
    row("true.toNumber()", "1"),
    row("({}).isEmpty()", "true"),
    row("$json.nested.isNotEmpty()", "true"),
    row("$json.hasField('name')", "true"),
    row("$json.hasField('nope')", "false"),
    row("$json.nested.removeField('x')", "{}"),
    row("({a: 1, b: null, c: ''}).compact()", r#"{"a": 1}"#),
    row("({a: 1}).merge({a: 2, b: 3})", r#"{"a": 1, "b": 3}"#),
    row("({a: 'x y', b: 2}).urlEncode()", r#""a=x%20y&b=2""#),
    row("({a: 'foo', b: 'bar'}).removeFieldsContaining('fo')", r#"{"b": "bar"}"#),
    row("({a: 'foo', b: 'bar'}).keepFieldsContaining('fo')", r#"{"a": "foo"}"#),
    row("$now.isWeekend()", "true"),
    row("$now.beginningOf('month').toISODate()", r#""2024-03-01""#),
    row("$now.endOfMonth().toISODate()", r#""2024-03-31""#),
    row("'2024-03-30T18:49'.toDateTime().extract('month')", "3"),
    row("'2024-03-30T18:49'.toDateTime().extract('hour')", "18"),
    row("'2024-04-30T18:49'.toDateTime().format('dd/LL/yyyy')", r#""30/04/2024""#),
    row("'2024-04-30T18:49'.toDateTime().format('dd LLL yy')", r#""30 Apr 24""#),
    row("'2024-03-30T18:49'.toDateTime().isBetween('2020-06-01', '2025-06-01')", "true"),
    row("'2024-03-30T18:49'.toDateTime().isBetween('2020', '2025')", "true"),
    row("$now.minus(1, 'hour').isInLast(2, 'hours')", "true"),
    row("'2025-01-01'.toDateTime().diffTo('2024-12-30', 'days')", "2"),
    row(
        "'2025-01-01T00:00:00'.toDateTime().diffTo('2024-10-30T00:00:00', ['months', 'days'])",
        r#"{"months": 2, "days": 2}"#,
    ),
    row("new Date('2024-03-10T00:00:00Z').format('dd-MM-yyyy')", r#""10-03-2024""#),
    row("new Date('2024-03-30T18:49:00Z').toDateTime().plus(5, 'days').toISO()", r#""2024-04-04T18:49:00.000Z""#),
    row("new Date('2024-03-30T18:49:00Z').plus(1, 'day').toISOString()", r#""2024-03-31T18:49:00.000Z""#),
];

#[test]
fn the_conformance_table_has_at_least_150_rows() {
    let rows = GLOBALS.len() + JMESPATH.len() + LUXON.len() + EXTENSIONS.len() + IN_BERLIN.len();
    assert!(rows >= 150, "{rows} rows");
}

#[test]
fn globals_behave_as_in_n8n() {
    let wrong = mismatches(&JsExpressions::new(run_context("UTC")), GLOBALS);
    assert!(wrong.is_empty(), "{} of {} rows differ:\n{}", wrong.len(), GLOBALS.len(), wrong.join("\n"));
}

#[test]
fn jmespath_behaves_as_specified() {
    let wrong = mismatches(&JsExpressions::new(run_context("UTC")), JMESPATH);
    assert!(wrong.is_empty(), "{} of {} rows differ:\n{}", wrong.len(), JMESPATH.len(), wrong.join("\n"));
}

#[test]
fn dates_behave_as_luxon() {
    let wrong = mismatches(&JsExpressions::new(run_context("UTC")), LUXON);
    assert!(wrong.is_empty(), "{} of {} rows differ:\n{}", wrong.len(), LUXON.len(), wrong.join("\n"));
}

#[test]
fn extension_methods_behave_as_in_n8n() {
    let wrong = mismatches(&JsExpressions::new(run_context("UTC")), EXTENSIONS);
    assert!(wrong.is_empty(), "{} of {} rows differ:\n{}", wrong.len(), EXTENSIONS.len(), wrong.join("\n"));
}

/// The same clock in a run whose zone is Europe/Berlin (UTC+1 in March).
const IN_BERLIN: &[Row] = &[
    row("$now.toISO()", r#""2024-03-10T13:30:45.123+01:00""#),
    row("$today.toISO()", r#""2024-03-10T00:00:00.000+01:00""#),
    row("$now.zoneName", r#""Europe/Berlin""#),
    row("$now.hour", "13"),
    row("$now.toFormat('ZZZZ')", r#""GMT+1""#),
    row("DateTime.fromISO('2024-06-01T10:00:00').toISO()", r#""2024-06-01T10:00:00.000+02:00""#),
    row("DateTime.fromISO('2024-03-10T12:30:00Z').toISO()", r#""2024-03-10T13:30:00.000+01:00""#),
    row("$now.toUTC().toISO()", r#""2024-03-10T12:30:45.123Z""#),
    row("$now.setZone('local').zoneName", r#""Europe/Berlin""#),
    row("$now.endOf('day').toISO()", r#""2024-03-10T23:59:59.999+01:00""#),
];

#[test]
fn dates_follow_the_run_zone() {
    let wrong = mismatches(&JsExpressions::new(run_context("Europe/Berlin")), IN_BERLIN);
    assert!(wrong.is_empty(), "{} of {} rows differ:\n{}", wrong.len(), IN_BERLIN.len(), wrong.join("\n"));
}

#[test]
fn documented_failures_fail() {
    let exprs = JsExpressions::new(run_context("UTC"));
    let inputs = vec![vec![item(serde_json::from_str(ITEM).expect("JSON"))]];
    let context = ItemContext { node: "Set", item: &inputs[0][0], index: 0, input: 0, inputs: &inputs };
    for (expression, message) in [
        (r#""abc".toNumber()"#, "cannot convert to number"),
        (r#""abc".toInt()"#, "cannot convert to integer"),
        (r#""{'a': 1}".parseJson()"#, "Check you're using double quotes"),
        ("'garbage'.toDateTime()", "cannot convert to Luxon DateTime"),
        ("$('Nope').first()", "'Nope'"),
        ("$jmespath({}, 'a[')", "JMESPath"),
        ("$jmespath({}, 'nope(a)')", "unknown function nope()"),
        ("$now.plus(1, 'fortnight')", "Invalid unit fortnight"),
    ] {
        match exprs.evaluate(expression, &context) {
            Ok(value) => panic!("`{expression}` gave {value} rather than failing"),
            Err(error) => assert!(error.message.contains(message), "`{expression}`: {}", error.message),
        }
    }
}
