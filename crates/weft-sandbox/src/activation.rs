//! Which evaluations are for the activation a caller announced with
//! [`weft_engine::Expressions::begin_activation`], whose inputs the engine may then convert once
//! and keep, rather than convert for each item.

use weft_engine::{Item, ItemContext};

/// Where a slice is: its address and length, compared but never followed.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Span {
    address: usize,
    len: usize,
}

impl Span {
    fn of<T>(slice: &[T]) -> Self {
        Span { address: slice.as_ptr().addr(), len: slice.len() }
    }
}

/// The inputs of the announced activation. The caller promised they stay as they are until it
/// ends the activation, so a context pointing at the same slices reads the same items.
pub(crate) struct Announced {
    inputs: Span,
    each: Vec<Span>,
}

impl Announced {
    pub(crate) fn new(inputs: &[Vec<Item>]) -> Self {
        Announced { inputs: Span::of(inputs), each: inputs.iter().map(|items| Span::of(items)).collect() }
    }

    /// Whether `context` reads its input from this activation's inputs.
    pub(crate) fn holds(&self, context: &ItemContext<'_>) -> bool {
        Span::of(context.inputs) == self.inputs
            && context.inputs.get(context.input).map(|items| Span::of(items)) == self.each.get(context.input).copied()
    }
}
