use std::thread;
use std::time::{Duration, Instant};

use serde_json::json;
use weft_engine::params::CodeMode;
use weft_sandbox::{CodeError, CodeErrorKind, Interrupter, JsExpressions, RunContext};

use crate::{Activation, items};

/// How long after `interrupt()` a looping evaluation may still run: 100 ms is the aim, and
/// a debug build on a busy machine gets some slack.
const PROMPTLY: Duration = Duration::from_millis(300);

/// Runs `code` on another thread and interrupts it 50 ms later; gives its error and how long
/// after the interrupt it returned.
fn interrupted_code(code: &str) -> (CodeError, Duration) {
    let sandbox = JsExpressions::new(RunContext::default());
    // The engine is built first, so that the interrupt finds the loop running.
    sandbox.run_code("return []", CodeMode::AllItems, &[], None).expect("a trivial run succeeds");
    let input = items([json!({"n": 1})]);
    thread::scope(|scope| {
        let running = scope.spawn(|| (sandbox.run_code(code, CodeMode::AllItems, &input, None), Instant::now()));
        thread::sleep(Duration::from_millis(50));
        let interrupted = Instant::now();
        sandbox.interrupter().interrupt();
        let (outcome, returned) = running.join().expect("the running thread does not panic");
        let took = returned.saturating_duration_since(interrupted);
        println!("`{code}` returned {took:?} after the interrupt");
        (outcome.expect_err("an interrupted loop fails"), took)
    })
}

#[test]
fn an_infinite_loop_in_code_stops_soon_after_an_interrupt() {
    let (error, took) = interrupted_code("console.log('looping');\nwhile (true) {}");
    assert_eq!(error.kind, CodeErrorKind::Cancelled);
    assert_eq!(error.message, "the run was cancelled");
    assert_eq!(error.logs, ["looping"]);
    assert!(took < PROMPTLY, "stopped {took:?} after the interrupt");
}

#[test]
fn an_infinite_loop_inside_try_catch_stops_soon_after_an_interrupt() {
    let (error, took) = interrupted_code("for (;;) { try { while (true) {} } catch (e) {} finally { continue } }");
    assert_eq!(error.kind, CodeErrorKind::Cancelled);
    assert!(took < PROMPTLY, "stopped {took:?} after the interrupt");
}

#[test]
fn an_expression_stops_soon_after_an_interrupt_sent_from_another_thread() {
    let activation = Activation::single(json!({}));
    assert_eq!(activation.value("1"), json!(1));
    let interrupter = activation.exprs.interrupter();
    let interrupting = thread::spawn(move || {
        thread::sleep(Duration::from_millis(50));
        interrupter.interrupt();
        Instant::now()
    });
    let outcome = activation.eval("(() => { while (true) {} })()");
    let returned = Instant::now();
    let interrupted = interrupting.join().expect("the interrupting thread does not panic");
    let took = returned.saturating_duration_since(interrupted);
    println!("the expression returned {took:?} after the interrupt");
    assert_eq!(outcome.expect_err("an interrupted loop fails").message, "the run was cancelled");
    assert!(took < PROMPTLY, "stopped {took:?} after the interrupt");
}

#[test]
fn an_interrupted_evaluator_reports_cancellation_for_later_calls() {
    let (error, _) = interrupted_code("while (true) {}");
    assert_eq!(error.kind, CodeErrorKind::Cancelled);

    let activation = Activation::single(json!({"a": 1}));
    activation.exprs.interrupter().interrupt();
    assert_eq!(activation.error("$json.a"), "the run was cancelled");
    let error = activation.exprs.run_code("return items", CodeMode::AllItems, &[], None).unwrap_err();
    assert_eq!((error.kind, error.message.as_str()), (CodeErrorKind::Cancelled, "the run was cancelled"));
    assert_eq!(activation.error("$json.a"), "the run was cancelled");
}

#[test]
fn an_interrupt_stops_only_its_own_evaluator() {
    let stopped = Activation::single(json!({"a": 1}));
    let running = Activation::single(json!({"a": 1}));
    let interrupter: Interrupter = stopped.exprs.interrupter();
    interrupter.clone().interrupt();
    assert!(interrupter.is_interrupted());
    assert!(!running.exprs.interrupter().is_interrupted());
    assert_eq!(running.value("$json.a"), json!(1));
    assert_eq!(stopped.error("$json.a"), "the run was cancelled");
}

#[test]
fn other_failures_are_not_taken_for_a_cancel() {
    let sandbox = JsExpressions::new(RunContext::default());
    let error = sandbox.run_code("throw new Error('no')", CodeMode::AllItems, &[], None).unwrap_err();
    assert_eq!(error.kind, CodeErrorKind::Script);
    let error =
        sandbox.run_code("while (true) {}", CodeMode::AllItems, &[], Some(Duration::from_millis(50))).unwrap_err();
    assert_eq!(error.kind, CodeErrorKind::Timeout);
}
