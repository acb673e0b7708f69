//! Stopping an evaluator from outside: a run's cancel reaches a `code` node that is looping.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Stops a [`crate::JsExpressions`] from any thread: the evaluation running on it fails within
/// a few milliseconds, and so does every later one, each with "the run was cancelled".
///
/// Cheap to clone; every clone stops the same evaluator. QuickJS's interrupt handler reads the
/// flag as it reads the deadline, so even `while (true) {}` inside `try`/`catch` stops.
#[derive(Debug, Clone, Default)]
pub struct Interrupter(Arc<AtomicBool>);

impl Interrupter {
    /// Stops the evaluator for good; calling it again does nothing more.
    pub fn interrupt(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub fn is_interrupted(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}
