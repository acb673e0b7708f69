//! One QuickJS runtime and context with the n8n globals defined, and the expressions compiled in
//! it so far. [`crate::JsExpressions`] keeps one and evaluates every expression of its run in it;
//! when a limit stops an evaluation it throws the engine away, since a script that ran out of
//! memory may have left garbage reachable from a global, and builds a fresh one for the next.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use rquickjs::context::intrinsic::{Date, Eval, Json, MapSet, Promise, Proxy, RegExp, RegExpCompiler, TypedArrays};
use rquickjs::convert::Coerced;
use rquickjs::function::Opt;
use rquickjs::{Context, Ctx, FromJs, Function, Object, Runtime, Value as JsValue};
use serde_json::{Map, Value};
use weft_engine::{Item, ItemContext};

use crate::code::Logs;
use crate::convert::{self, ResultError};
use crate::{Interrupter, Limits};

const PRELUDE: &str = include_str!("prelude.js");
/// Luxon's `DateTime` and `Duration`, written for the sandbox; see the file. This and the two
/// below make up the library the prelude compiles on first use.
const LUXON: &str = include_str!("luxon.js");
/// n8n's extension methods (`"a@b.io".extractDomain()`), on this realm's prototypes.
const EXTENSIONS: &str = include_str!("extensions.js");
const JMESPATH: &str = include_str!("jmespath.js");

/// The methods extensions.js installs, sorted: a source that calls one (`.name(`) needs the
/// library loaded first. A test checks the list against the file.
const EXTENSION_METHODS: &[&str] = &[
    "abs",
    "append",
    "average",
    "base64Decode",
    "base64Encode",
    "beginningOf",
    "ceil",
    "chunk",
    "compact",
    "diffTo",
    "diffToNow",
    "difference",
    "endOfMonth",
    "extract",
    "extractDomain",
    "extractEmail",
    "extractUrl",
    "extractUrlPath",
    "first",
    "floor",
    "format",
    "fromBase64",
    "fromJson",
    "hasField",
    "hash",
    "intersection",
    "isBetween",
    "isBlank",
    "isDomain",
    "isDst",
    "isEmail",
    "isEmpty",
    "isEven",
    "isInLast",
    "isInteger",
    "isNotBlank",
    "isNotEmpty",
    "isNumeric",
    "isOdd",
    "isUrl",
    "isWeekend",
    "keepFieldsContaining",
    "keys",
    "last",
    "max",
    "merge",
    "min",
    "minus",
    "parseJson",
    "pluck",
    "plus",
    "quote",
    "randomItem",
    "removeDuplicates",
    "removeField",
    "removeFieldsContaining",
    "removeMarkdown",
    "removeTags",
    "renameKeys",
    "replaceSpecialChars",
    "round",
    "smartJoin",
    "sum",
    "toBase64",
    "toBoolean",
    "toDate",
    "toDateTime",
    "toDecimalNumber",
    "toFloat",
    "toInt",
    "toJsonString",
    "toNumber",
    "toSentenceCase",
    "toSnakeCase",
    "toTitleCase",
    "toWholeNumber",
    "union",
    "unique",
    "urlDecode",
    "urlEncode",
    "values",
];

/// Whether `source` calls a method that extensions.js installs.
fn calls_extension(source: &str) -> bool {
    source.match_indices('.').any(|(dot, _)| {
        let rest = &source[dot + 1..];
        let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '$')).unwrap_or(rest.len());
        let (name, after) = rest.split_at(end);
        after.trim_start().starts_with('(') && EXTENSION_METHODS.binary_search(&name).is_ok()
    })
}

/// The JavaScript a context offers: the language's own objects and nothing of a host. There is
/// no `std` or `os` module, no loader, no `console`, no `fetch`, no timers; `performance` is
/// left out too, as expressions have no use for a fine clock.
type Intrinsics = (Date, Eval, RegExpCompiler, RegExp, Json, Proxy, MapSet, TypedArrays, Promise);

/// Past this many distinct expressions the engine is rebuilt, which bounds what one long-lived
/// evaluator can hold; a workflow has far fewer.
const MAX_COMPILED: usize = 10_000;

/// What each node that ran left, by node name, shared with the lookups JavaScript calls.
pub(crate) type Outputs = Arc<RwLock<HashMap<String, NodeRecord>>>;

/// A node's first output, for `$('Node')`, and its `context` (a loop's pass), for
/// `$node["Node"].context`.
#[derive(Debug, Clone, Default)]
pub(crate) struct NodeRecord {
    pub items: Vec<Item>,
    pub context: Option<Value>,
}

/// Why an evaluation failed.
pub(crate) enum Failure {
    /// The deadline passed and the interrupt handler stopped the script.
    Timeout,
    /// The memory limit was reached and the script did not recover.
    OutOfMemory,
    /// The evaluator's [`Interrupter`] was used: during this evaluation or before it.
    Cancelled,
    /// The script threw, or did not compile, or gave something that is not a value.
    Script(String),
}

impl Failure {
    /// Whether the engine must be rebuilt before the next evaluation.
    pub(crate) fn spoils_engine(&self) -> bool {
        matches!(self, Failure::Timeout | Failure::OutOfMemory | Failure::Cancelled)
    }
}

/// What the interrupt handler checks: the deadline, and the evaluator's [`Interrupter`]. QuickJS
/// calls the handler every few thousand operations, including inside `try` blocks, and the
/// interruption it raises cannot be caught.
struct Watch {
    base: Instant,
    /// Nanoseconds after `base`; `u64::MAX` when no evaluation is running.
    deadline: AtomicU64,
    fired: AtomicBool,
    interrupter: Interrupter,
}

impl Watch {
    fn new(interrupter: Interrupter) -> Self {
        Watch { base: Instant::now(), deadline: AtomicU64::new(u64::MAX), fired: AtomicBool::new(false), interrupter }
    }

    /// Whether the running script must stop.
    fn stops(&self) -> bool {
        self.interrupter.is_interrupted() || self.expired()
    }

    fn now(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    fn arm(&self, within: Duration) {
        let within = u64::try_from(within.as_nanos()).unwrap_or(u64::MAX);
        self.deadline.store(self.now().saturating_add(within), Ordering::Relaxed);
        self.fired.store(false, Ordering::Relaxed);
    }

    fn expired(&self) -> bool {
        let expired = self.now() > self.deadline.load(Ordering::Relaxed);
        if expired {
            self.fired.store(true, Ordering::Relaxed);
        }
        expired
    }

    /// Ends an evaluation. When the handler stopped it, its error is the cancel or the deadline
    /// rather than the uncatchable exception QuickJS raised.
    fn disarm<T>(&self, outcome: Result<T, Failure>) -> Result<T, Failure> {
        self.deadline.store(u64::MAX, Ordering::Relaxed);
        match outcome {
            Err(_) if self.interrupter.is_interrupted() => Err(Failure::Cancelled),
            Err(_) if self.fired.load(Ordering::Relaxed) => Err(Failure::Timeout),
            outcome => outcome,
        }
    }
}

/// A compiled expression: its place in the driver's list, and which per-item globals it reads,
/// so that an evaluation converts only those.
#[derive(Clone, Copy)]
struct Compiled {
    index: i32,
    json: bool,
    binary: bool,
    input: bool,
    prev_node: bool,
    /// It calls an extension method, so the library must be loaded before it runs.
    extensions: bool,
}

impl Compiled {
    /// `$input.all()` needs the whole input converted, so it is done only for expressions that
    /// mention `$input`; one that reaches it some other way (`globalThis["$in" + "put"]`) finds
    /// it undefined. The same holds for `$json` and `$binary`.
    fn reads(source: &str, index: i32) -> Self {
        Compiled {
            index,
            json: source.contains("$json"),
            binary: source.contains("$binary"),
            input: source.contains("$input"),
            prev_node: source.contains("$prevNode"),
            extensions: calls_extension(source),
        }
    }
}

pub(crate) struct Engine {
    // The context must be dropped before its runtime, and fields drop in order.
    context: Context,
    _runtime: Runtime,
    watch: Arc<Watch>,
    /// By source; a source that does not compile keeps its message, so a syntax error is
    /// reported for every item without compiling again.
    compiled: HashMap<String, Result<Compiled, String>>,
    /// Whether the prelude's library (dates, extension methods, JMESPath) is loaded.
    library: bool,
}

impl Engine {
    /// `run` is the object the prelude reads: `executionId`, `executionMode`, `workflowId`,
    /// `workflowName`, `workflowActive`, `vars`, `env`, `previous`, and for the dates `zone` and
    /// `now`.
    pub(crate) fn new(
        limits: &Limits,
        run: &Value,
        outputs: Outputs,
        interrupter: Interrupter,
    ) -> Result<Self, Failure> {
        let runtime = Runtime::new().map_err(|error| Failure::Script(format!("QuickJS did not start: {error}")))?;
        runtime.set_memory_limit(limits.memory_bytes);
        let watch = Arc::new(Watch::new(interrupter));
        let handler = Arc::clone(&watch);
        runtime.set_interrupt_handler(Some(Box::new(move || handler.stops())));
        let context = Context::custom::<Intrinsics>(&runtime)
            .map_err(|error| Failure::Script(format!("QuickJS did not start: {error}")))?;
        context
            .with(|ctx| {
                let prelude: Function = ctx.eval(PRELUDE)?;
                let run = convert::json_to_js(&ctx, run)?;
                let sources = Function::new(ctx.clone(), || [LUXON, EXTENSIONS, JMESPATH].to_vec())?;
                prelude.call::<_, ()>((nodes(&ctx, outputs)?, run, zone_offset(&ctx)?, bytes(&ctx)?, sources))
            })
            .map_err(|error| match error {
                _ if watch.interrupter.is_interrupted() => Failure::Cancelled,
                rquickjs::Error::Allocation => Failure::OutOfMemory,
                // Else only a memory limit too small for the prelude itself makes it throw.
                error => Failure::Script(format!("the expression globals could not be defined: {error}")),
            })?;
        Ok(Engine { context, _runtime: runtime, watch, compiled: HashMap::new(), library: false })
    }

    pub(crate) fn is_full(&self) -> bool {
        self.compiled.len() >= MAX_COMPILED
    }

    /// Makes `$('node')` read the node's output again, after it was recorded anew. `false` if
    /// that failed (only memory can run out here), and the engine must not be used again.
    pub(crate) fn forget(&self, node: &str) -> bool {
        self.context
            .with(|ctx| {
                let driver: Object = ctx.globals().get("__weft")?;
                driver.get::<_, Function>("forget")?.call::<_, ()>((node,))
            })
            .is_ok()
    }

    /// Lets go of the inputs kept for an activation. `false` if that failed (only memory can run
    /// out here), and the engine must not be used again.
    pub(crate) fn forget_inputs(&self) -> bool {
        self.context
            .with(|ctx| {
                let driver: Object = ctx.globals().get("__weft")?;
                driver.get::<_, Function>("forgetInputs")?.call::<_, ()>(())
            })
            .is_ok()
    }

    /// Evaluates `source` for `context`'s item. With `keep`, the context's input is the announced
    /// activation's, which is converted once and kept for the evaluations after this one.
    /// Evaluates `source` for one item, with `globals` defined as globals for this evaluation
    /// only (removed afterwards, whatever the outcome).
    pub(crate) fn evaluate(
        &mut self,
        source: &str,
        context: &ItemContext<'_>,
        deadline: Duration,
        keep: bool,
        globals: &Map<String, Value>,
    ) -> Result<Value, Failure> {
        let Engine { context: js, watch, compiled, library, .. } = self;
        watch.arm(deadline);
        let outcome = js.with(|ctx| {
            let driver: Object = ctx.globals().get("__weft").map_err(|error| thrown(&ctx, error))?;
            let expression = match compiled.get(source) {
                Some(Ok(expression)) => *expression,
                Some(Err(message)) => return Err(Failure::Script(message.clone())),
                None => match compile(&ctx, &driver, source) {
                    Ok(expression) => {
                        compiled.insert(source.to_string(), Ok(expression));
                        expression
                    }
                    Err(Failure::Script(message)) => {
                        compiled.insert(source.to_string(), Err(message.clone()));
                        return Err(Failure::Script(message));
                    }
                    Err(failure) => return Err(failure),
                },
            };
            if expression.extensions && !*library {
                load_library(&driver).map_err(|error| thrown(&ctx, error))?;
                *library = true;
            }
            if globals.is_empty() {
                return run(&ctx, &driver, expression, context, keep);
            }
            let scope = ctx.globals();
            for (name, value) in globals {
                let value = convert::json_to_js(&ctx, value).map_err(|error| thrown(&ctx, error))?;
                scope.set(name.as_str(), value).map_err(|error| thrown(&ctx, error))?;
            }
            let outcome = run(&ctx, &driver, expression, context, keep);
            for name in globals.keys() {
                scope.remove(name.as_str()).map_err(|error| thrown(&ctx, error))?;
            }
            outcome
        });
        watch.disarm(outcome)
    }
}

/// How a code node's items are given to its source.
#[derive(Clone, Copy)]
pub(crate) enum Pass {
    /// Once, as `items`.
    All,
    /// Once per item, as `item`.
    Each,
}

impl Engine {
    /// Runs a code node's source over `input`; see [`crate::JsExpressions::run_code`]. Console
    /// lines go to `logs`, also when the code fails.
    pub(crate) fn run_code(
        &mut self,
        source: &str,
        pass: Pass,
        input: &[Item],
        deadline: Duration,
        logs: &Arc<Mutex<Logs>>,
    ) -> Result<Vec<Item>, Failure> {
        let Engine { context: js, watch, library, .. } = self;
        watch.arm(deadline);
        let outcome = js.with(|ctx| {
            if calls_extension(source) && !*library {
                let driver: Object = ctx.globals().get("__weft").map_err(|error| thrown(&ctx, error))?;
                load_library(&driver).map_err(|error| thrown(&ctx, error))?;
                *library = true;
            }
            let sink = Arc::clone(logs);
            let log = Function::new(ctx.clone(), move |line: String| {
                sink.lock().unwrap_or_else(PoisonError::into_inner).push(line)
            })
            .map_err(|error| code_thrown(&ctx, error))?;
            let result: Object = ctx
                .globals()
                .get::<_, Object>("__weft")
                .and_then(|driver| driver.get::<_, Function>("code"))
                .and_then(|code| {
                    let each = matches!(pass, Pass::Each);
                    code.call((source, each, convert::items_to_js(&ctx, input)?, log))
                })
                .map_err(|error| code_thrown(&ctx, error))?;
            if let Some(problem) = result.get::<_, Option<String>>("problem").map_err(|error| thrown(&ctx, error))? {
                return Err(Failure::Script(problem));
            }
            let items = result.get::<_, JsValue>("items").map_err(|error| thrown(&ctx, error))?;
            let items = convert::js_to_json(&ctx, items).map_err(|error| match error {
                ResultError::Script(message) => Failure::Script(message),
                ResultError::Thrown(error) => code_thrown(&ctx, error),
            })?;
            convert::json_to_items(items).map_err(Failure::Script)
        });
        watch.disarm(outcome)
    }
}

fn load_library(driver: &Object<'_>) -> rquickjs::Result<()> {
    driver.get::<_, Function>("library")?.call(())
}

/// Luxon's zones ask this for an IANA zone's offset from UTC, in minutes, at an instant given
/// in milliseconds; `undefined` for a name the tz database does not know.
fn zone_offset<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Function<'js>> {
    Function::new(ctx.clone(), |name: String, millis: f64| -> Option<i32> {
        let zone = jiff::tz::TimeZone::get(&name).ok()?;
        let instant = jiff::Timestamp::from_millisecond(millis as i64).ok()?;
        Some(zone.to_offset(instant).seconds() / 60)
    })
}

/// The byte work scripts ask Rust for, as one object: `digest(algorithm, text, key?)` is the hex
/// digest (with a key, the HMAC) of UTF-8 text, `undefined` for an unknown algorithm, for
/// `"text".hash()` and `require('crypto')`; `random(size)` is `size` random bytes in hex; and
/// `fromHex(hex, encoding)` re-encodes hex as `hex`, `base64` or `base64url` (`undefined` else).
fn bytes<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Object<'js>> {
    use base64::Engine as _;
    use weft_engine::digest::{Algorithm, random_bytes};
    let bytes = Object::new(ctx.clone())?;
    let digest = |algorithm: String, text: String, key: Opt<String>| -> Option<String> {
        let algorithm = Algorithm::from_name(&algorithm)?;
        Some(hex::encode(match key.0 {
            Some(key) => algorithm.hmac(key.as_bytes(), text.as_bytes()),
            None => algorithm.digest(text.as_bytes()),
        }))
    };
    bytes.set("digest", Function::new(ctx.clone(), digest)?)?;
    // At most 64 KiB at once, as Web Crypto's getRandomValues allows.
    let random = |size: usize| -> Option<String> { (size <= 65_536).then(|| hex::encode(random_bytes(size))) };
    bytes.set("random", Function::new(ctx.clone(), random)?)?;
    let from_hex = |text: String, encoding: String| -> Option<String> {
        let raw = hex::decode(&text).ok()?;
        Some(match encoding.as_str() {
            "hex" => text,
            "base64" => base64::engine::general_purpose::STANDARD.encode(raw),
            "base64url" => base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw),
            _ => return None,
        })
    };
    bytes.set("fromHex", Function::new(ctx.clone(), from_hex)?)?;
    Ok(bytes)
}

/// What scripts ask Rust about nodes, as one object: `output(name)` gives a node's items (the
/// first time an engine needs them), `context(name)` its context; `undefined` when it has none.
fn nodes<'js>(ctx: &Ctx<'js>, outputs: Outputs) -> rquickjs::Result<Object<'js>> {
    let nodes = Object::new(ctx.clone())?;
    let read = Arc::clone(&outputs);
    let output = move |ctx: Ctx<'js>, name: String| -> rquickjs::Result<JsValue<'js>> {
        match read.read().unwrap_or_else(PoisonError::into_inner).get(&name) {
            Some(record) => Ok(convert::items_to_js(&ctx, &record.items)?.into_value()),
            None => Ok(JsValue::new_undefined(ctx)),
        }
    };
    nodes.set("output", Function::new(ctx.clone(), output)?)?;
    let context = move |ctx: Ctx<'js>, name: String| -> rquickjs::Result<JsValue<'js>> {
        match outputs.read().unwrap_or_else(PoisonError::into_inner).get(&name).and_then(|r| r.context.as_ref()) {
            Some(context) => convert::json_to_js(&ctx, context),
            None => Ok(JsValue::new_undefined(ctx)),
        }
    };
    nodes.set("context", Function::new(ctx.clone(), context)?)?;
    Ok(nodes)
}

fn compile<'js>(ctx: &Ctx<'js>, driver: &Object<'js>, source: &str) -> Result<Compiled, Failure> {
    // The newline before `)` ends a trailing `//` comment.
    let wrapped = format!("(function ($json, $binary, $itemIndex, $input, $prevNode) {{ return (\n{source}\n); }})");
    let function: Function = ctx.eval(wrapped).map_err(|error| thrown(ctx, error))?;
    let index: i32 =
        driver.get::<_, Function>("add").and_then(|add| add.call((function,))).map_err(|error| thrown(ctx, error))?;
    Ok(Compiled::reads(source, index))
}

fn run<'js>(
    ctx: &Ctx<'js>,
    driver: &Object<'js>,
    expression: Compiled,
    context: &ItemContext<'_>,
    keep: bool,
) -> Result<Value, Failure> {
    let undefined = || JsValue::new_undefined(ctx.clone());
    let call = || -> rquickjs::Result<JsValue<'js>> {
        let run: Function = driver.get("run")?;
        let index = JsValue::new_number(ctx.clone(), context.index as f64);
        let (node, input) = match expression.prev_node {
            true => (
                rquickjs::String::from_str(ctx.clone(), context.node)?.into_value(),
                JsValue::new_number(ctx.clone(), context.input as f64),
            ),
            false => (undefined(), undefined()),
        };
        if expression.input {
            let fresh = |items: &[Item]| -> rquickjs::Result<JsValue<'js>> {
                driver.get::<_, Function>("freeze")?.call((convert::items_to_js(ctx, items)?,))
            };
            let (items, index) = match context.inputs.get(context.input) {
                Some(items) if context.index < items.len() && keep => {
                    (kept_input(ctx, driver, context.input, items)?, index)
                }
                Some(items) if context.index < items.len() => (fresh(items)?, index),
                // The engine's contexts always point into their input; a hand-made one that
                // does not gets an input of just its item.
                _ => (fresh(std::slice::from_ref(context.item))?, JsValue::new_int(ctx.clone(), 0)),
            };
            return run.call((expression.index, undefined(), undefined(), index, items, node, input));
        }
        let json = match expression.json {
            true => convert::object_to_js(ctx, &context.item.json)?.into_value(),
            false => undefined(),
        };
        let binary = match expression.binary {
            true => convert::binary_to_js(ctx, context.item)?.into_value(),
            false => undefined(),
        };
        run.call((expression.index, json, binary, index, undefined(), node, input))
    };
    let result = call().map_err(|error| thrown(ctx, error))?;
    convert::js_to_json(ctx, result).map_err(|error| match error {
        ResultError::Script(message) => Failure::Script(message),
        ResultError::Thrown(error) => thrown(ctx, error),
    })
}

/// Input `input` of the announced activation, `items`, as JavaScript: converted on the first
/// evaluation that reads it, then kept by the driver until the activation ends.
fn kept_input<'js>(
    ctx: &Ctx<'js>,
    driver: &Object<'js>,
    input: usize,
    items: &[Item],
) -> rquickjs::Result<JsValue<'js>> {
    let input = JsValue::new_number(ctx.clone(), input as f64);
    let kept: JsValue = driver.get::<_, Function>("keptInput")?.call((input.clone(),))?;
    if !kept.is_undefined() {
        return Ok(kept);
    }
    driver.get::<_, Function>("keepInput")?.call((input, convert::items_to_js(ctx, items)?))
}

/// The failure an rquickjs error stands for; for a JavaScript exception, its name and message
/// (`TypeError: cannot read property 'a' of undefined`).
fn thrown(ctx: &Ctx<'_>, error: rquickjs::Error) -> Failure {
    match error {
        rquickjs::Error::Exception => match ctx.catch() {
            exception if exception.is_null() => Failure::OutOfMemory,
            exception => exception_failure(exception_message(ctx, exception)),
        },
        rquickjs::Error::Allocation => Failure::OutOfMemory,
        error => exception_failure(error.to_string()),
    }
}

/// As [`thrown`], for a code node's source, adding the line of the source where the exception
/// was thrown when its stack tells.
fn code_thrown(ctx: &Ctx<'_>, error: rquickjs::Error) -> Failure {
    let rquickjs::Error::Exception = error else { return thrown(ctx, error) };
    let exception = ctx.catch();
    if exception.is_null() {
        return Failure::OutOfMemory;
    }
    let stack = exception.as_object().and_then(|object| object.get::<_, Option<String>>("stack").ok().flatten());
    match (exception_failure(exception_message(ctx, exception)), stack.as_deref().and_then(code_line)) {
        (Failure::Script(message), Some(line)) => Failure::Script(format!("{message} (line {line})")),
        (failure, _) => failure,
    }
}

/// The line of a code node's source in the innermost frame of `stack` that is in it. QuickJS
/// names source compiled by `new Function` `<input>`, and the function it makes starts with two
/// lines of its own before the body.
fn code_line(stack: &str) -> Option<u32> {
    let (_, after) = stack.split_once("<input>:")?;
    let digits = after.find(|c: char| !c.is_ascii_digit()).map_or(after, |end| &after[..end]);
    digits.parse::<u32>().ok()?.checked_sub(2).filter(|line| *line > 0)
}

/// QuickJS reports reaching the memory limit as `InternalError: out of memory` or, when even
/// that error cannot be allocated, by throwing `null` ([`thrown`] and [`code_thrown`] read a
/// thrown `null` so; a script's own `throw null` reads the same, which scripts do not do).
fn exception_failure(message: String) -> Failure {
    if message.contains("out of memory") { Failure::OutOfMemory } else { Failure::Script(message) }
}

fn exception_message<'js>(ctx: &Ctx<'js>, value: JsValue<'js>) -> String {
    if value.is_error()
        && let Some(object) = value.as_object()
    {
        let name = object.get::<_, Option<String>>("name").ok().flatten();
        let message = object.get::<_, Option<String>>("message").ok().flatten().filter(|message| !message.is_empty());
        return match (name, message) {
            (Some(name), Some(message)) => format!("{name}: {message}"),
            (None, Some(text)) | (Some(text), None) => text,
            (None, None) => "an error without a message was thrown".to_string(),
        };
    }
    Coerced::<String>::from_js(ctx, value)
        .map(|Coerced(text)| text)
        .unwrap_or_else(|_| "a value that cannot be written as text was thrown".to_string())
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    #[test]
    fn the_extension_list_is_what_extensions_js_installs() {
        let mut sorted = EXTENSION_METHODS.to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, EXTENSION_METHODS, "EXTENSION_METHODS must stay sorted for its binary search");
        let runtime = Runtime::new().expect("a runtime");
        let context = Context::custom::<Intrinsics>(&runtime).expect("a context");
        let installed: Vec<String> = context
            .with(|ctx| {
                let luxon: Object =
                    ctx.eval::<Function, _>(LUXON)?.call((JsValue::new_undefined(ctx.clone()), "UTC"))?;
                let digest = Function::new(ctx.clone(), || ())?;
                ctx.eval::<Function, _>(EXTENSIONS)?.call((luxon.get::<_, JsValue>("DateTime")?, digest))
            })
            .expect("extensions.js runs");
        assert_eq!(installed, EXTENSION_METHODS);
    }

    #[test]
    fn extension_calls_are_found_in_sources() {
        assert!(calls_extension("$json.email.extractDomain()"));
        assert!(calls_extension("$json.tags .unique ()"));
        assert!(calls_extension("$json.x?.toBoolean()"));
        assert!(!calls_extension("$json.unique"));
        assert!(!calls_extension("$json.name.toUpperCase()"));
        // A name JavaScript has too loads the library all the same, which costs time only.
        assert!(calls_extension("Math.max(1, 2)"));
    }

    /// Where building an engine's time goes, printed rather than asserted:
    /// `cargo test -p weft-sandbox --release -- --ignored --nocapture`.
    #[test]
    #[ignore = "a measurement: run it in release with --ignored --nocapture"]
    fn where_building_an_engine_goes() {
        let steps =
            ["runtime", "context with the intrinsics", "compiling the prelude", "a whole engine", "dropping it"];
        let mut took: Vec<Vec<Duration>> = vec![Vec::new(); steps.len()];
        for _ in 0..200 {
            let started = Instant::now();
            let runtime = Runtime::new().expect("a runtime");
            took[0].push(started.elapsed());
            let started = Instant::now();
            let context = Context::custom::<Intrinsics>(&runtime).expect("a context");
            took[1].push(started.elapsed());
            let started = Instant::now();
            context.with(|ctx| ctx.eval::<Function, _>(PRELUDE).map(drop)).expect("the prelude compiles");
            took[2].push(started.elapsed());
            let started = Instant::now();
            let run = serde_json::json!({"vars": {}, "env": {}});
            let engine = Engine::new(&Limits::default(), &run, Outputs::default(), Interrupter::default());
            took[3].push(started.elapsed());
            assert!(engine.is_ok(), "the engine builds");
            let started = Instant::now();
            drop(engine);
            took[4].push(started.elapsed());
        }
        for (step, took) in steps.iter().zip(&mut took) {
            took.sort();
            println!("{step}: median {:?}", took[took.len() / 2]);
        }
    }
}
