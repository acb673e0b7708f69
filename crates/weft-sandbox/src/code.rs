//! What a code node's run gives back: its items and the lines it wrote to the console.

use std::fmt;

use weft_engine::Item;

/// The most console lines one run keeps.
const MAX_LOG_LINES: usize = 1_000;
/// The most bytes of console lines one run keeps.
const MAX_LOG_BYTES: usize = 64 * 1024;
/// The line that ends a log that reached a cap.
pub const LOG_TRUNCATED: &str = "… truncated";

/// A code node's output items, and what it wrote with `console.log` (and `info`, `warn`,
/// `error`, `debug`).
#[derive(Debug, Clone, PartialEq)]
pub struct CodeOutput {
    pub items: Vec<Item>,
    pub logs: Vec<String>,
}

/// Why a code node's run failed, and what it wrote to the console before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeError {
    pub kind: CodeErrorKind,
    /// `TypeError: … (line 3)`, a result that is not items, or a limit that stopped the code.
    pub message: String,
    pub logs: Vec<String>,
}

/// What stopped a code node's run, so that a cancel is not reported as the code's failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeErrorKind {
    /// The code threw, did not compile, or returned something that is not items.
    Script,
    /// The node's deadline passed.
    Timeout,
    /// The memory limit was reached.
    OutOfMemory,
    /// The evaluator's [`crate::Interrupter`] was used.
    Cancelled,
}

impl fmt::Display for CodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CodeError {}

/// Console lines, up to [`MAX_LOG_LINES`] lines and [`MAX_LOG_BYTES`] bytes; past either, a
/// last [`LOG_TRUNCATED`] line.
#[derive(Debug, Default)]
pub(crate) struct Logs {
    lines: Vec<String>,
    bytes: usize,
    truncated: bool,
}

impl Logs {
    /// Keeps `line`, or as much of it as fits; `false` once the log is full, so that the
    /// console stops formatting lines nobody keeps.
    pub(crate) fn push(&mut self, mut line: String) -> bool {
        if self.truncated {
            return false;
        }
        let room = MAX_LOG_BYTES - self.bytes;
        if self.lines.len() < MAX_LOG_LINES && line.len() <= room {
            self.bytes += line.len();
            self.lines.push(line);
            return true;
        }
        if self.lines.len() < MAX_LOG_LINES && room > 0 {
            line.truncate(line.floor_char_boundary(room));
            self.lines.push(line);
        }
        self.lines.push(LOG_TRUNCATED.to_string());
        self.truncated = true;
        false
    }

    pub(crate) fn into_lines(self) -> Vec<String> {
        self.lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_keeps_at_most_1000_lines() {
        let mut logs = Logs::default();
        assert!((0..1_000).all(|index| logs.push(format!("line {index}"))));
        assert!(!logs.push("one too many".to_string()));
        assert!(!logs.push("and another".to_string()));
        let lines = logs.into_lines();
        assert_eq!(lines.len(), 1_001);
        assert_eq!(lines[999], "line 999");
        assert_eq!(lines[1_000], LOG_TRUNCATED);
    }

    #[test]
    fn a_log_keeps_at_most_64_kb_cutting_a_line_between_characters() {
        let mut logs = Logs::default();
        assert!(logs.push("a".repeat(MAX_LOG_BYTES - 3)));
        assert!(!logs.push("éé".to_string()));
        let lines = logs.into_lines();
        assert_eq!(lines, ["a".repeat(MAX_LOG_BYTES - 3), "é".to_string(), LOG_TRUNCATED.to_string()]);
    }
}
