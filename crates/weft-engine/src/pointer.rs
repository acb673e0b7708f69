//! RFC 6901 JSON pointers: every problem in a definition is located by one, relative to the
//! definition's root, so an editor can put the message next to the field that caused it.

use serde_path_to_error::{Path, Segment};

use crate::definition::DefinitionProblem;

/// A pointer built token by token. The empty pointer designates the whole definition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Pointer(String);

impl Pointer {
    pub(crate) fn root() -> Self {
        Pointer(String::new())
    }

    /// The pointer one object member deeper; `~` and `/` in the key are escaped as RFC 6901 says.
    pub(crate) fn key(&self, key: &str) -> Self {
        let mut pointer = self.0.clone();
        pointer.push('/');
        for ch in key.chars() {
            match ch {
                '~' => pointer.push_str("~0"),
                '/' => pointer.push_str("~1"),
                other => pointer.push(other),
            }
        }
        Pointer(pointer)
    }

    /// The pointer one array element deeper.
    pub(crate) fn index(&self, index: usize) -> Self {
        Pointer(format!("{}/{index}", self.0))
    }

    /// Extends the pointer by the path serde had walked when deserialisation failed.
    pub(crate) fn join(&self, path: &Path) -> Self {
        path.iter().fold(self.clone(), |pointer, segment| match segment {
            Segment::Seq { index } => pointer.index(*index),
            Segment::Map { key } => pointer.key(key),
            Segment::Enum { variant } => pointer.key(variant),
            Segment::Unknown => pointer,
        })
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn problem(&self, detail: impl Into<String>) -> DefinitionProblem {
        DefinitionProblem { pointer: self.0.clone(), detail: detail.into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_with_tilde_and_slash_are_escaped() {
        let pointer = Pointer::root().key("params").key("a/b~c").index(3);
        assert_eq!(pointer.problem("x").pointer, "/params/a~1b~0c/3");
    }

    #[test]
    fn root_is_the_empty_string() {
        assert_eq!(Pointer::root().problem("x").pointer, "");
    }
}
