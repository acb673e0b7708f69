//! String formats a definition is checked against without pulling in a parser for each: workflow
//! ids, RFC 3339 timestamps and HTTP header names. Each check is about shape only; whether the
//! workflow exists or the instant is in the future is decided when the run gets there.

/// Whether `text` holds a `{{ … }}` expression, evaluated at run time.
pub(crate) fn is_expression(text: &str) -> bool {
    text.contains("{{")
}

/// The byte offset of the first `{{` that no `}}` closes, if any.
pub(crate) fn unclosed_expression(text: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(open) = text[from..].find("{{").map(|at| from + at) {
        match text[open + 2..].find("}}") {
            Some(close) => from = open + 2 + close + 2,
            None => return Some(open),
        }
    }
    None
}

/// A workflow id as the domain mints them: `wf_` and a 26-character ULID (Crockford base32,
/// either case; the first character at most `7`, or the 128 bits would overflow).
pub(crate) fn is_workflow_id(text: &str) -> bool {
    let Some(ulid) = text.strip_prefix("wf_") else {
        return false;
    };
    let crockford = |b: &u8| b.is_ascii_digit() || (b.is_ascii_alphabetic() && !b"iIlLoOuU".contains(b));
    ulid.len() == 26 && ulid.as_bytes().iter().all(crockford) && ulid.as_bytes()[0] <= b'7'
}

/// `2026-05-01T09:30:00Z`, `2026-05-01t09:30:00.250+02:00` and the like: date, time, optional
/// fraction, and a zone (`Z` or an offset), which is required so that "until" means one instant.
pub(crate) fn is_rfc3339(text: &str) -> bool {
    let b = text.as_bytes();
    let number = |range: std::ops::Range<usize>, max: u32| -> Option<u32> {
        let digits = b.get(range)?;
        if !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let value = digits.iter().fold(0, |acc, d| acc * 10 + u32::from(d - b'0'));
        (value <= max).then_some(value)
    };
    let date_time = number(0..4, 9999).is_some()
        && b.get(4) == Some(&b'-')
        && number(5..7, 12).is_some_and(|month| month >= 1)
        && b.get(7) == Some(&b'-')
        && number(8..10, 31).is_some_and(|day| day >= 1)
        && matches!(b.get(10), Some(b'T' | b't'))
        && number(11..13, 23).is_some()
        && b.get(13) == Some(&b':')
        && number(14..16, 59).is_some()
        && b.get(16) == Some(&b':')
        && number(17..19, 60).is_some();
    if !date_time {
        return false;
    }
    let mut rest = &b[19..];
    if let Some(fraction) = rest.strip_prefix(b".") {
        let digits = fraction.iter().take_while(|d| d.is_ascii_digit()).count();
        if digits == 0 {
            return false;
        }
        rest = &fraction[digits..];
    }
    match rest {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => {
            [h1, h2, m1, m2].iter().all(|d| d.is_ascii_digit()) && (h1 - b'0') * 10 + (h2 - b'0') <= 23 && *m1 <= b'5'
        }
        _ => false,
    }
}

/// An HTTP field name: one or more `tchar`s (RFC 9110 §5.1).
pub(crate) fn is_header_name(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unclosed_expressions_are_found() {
        assert_eq!(unclosed_expression("plain"), None);
        assert_eq!(unclosed_expression("{{ $json.a }} and {{ $json.b }}"), None);
        assert_eq!(unclosed_expression("{{ $json.a }} and {{ $json.b"), Some(18));
        assert_eq!(unclosed_expression("{{"), Some(0));
    }

    #[test]
    fn workflow_ids_need_the_prefix_and_a_ulid() {
        assert!(is_workflow_id("wf_01jabcdefghjkmnpqrstvwxyz0"));
        assert!(is_workflow_id("wf_01JABCDEFGHJKMNPQRSTVWXYZ0"));
        assert!(!is_workflow_id("01jabcdefghjkmnpqrstvwxyz0"));
        assert!(!is_workflow_id("wf_01jabcdefghjkmnpqrstvwxyz"));
        assert!(!is_workflow_id("wf_81jabcdefghjkmnpqrstvwxyz0"));
        assert!(!is_workflow_id("wf_01jabcdefghjkmnpqrstvwxyzu"));
    }

    #[test]
    fn timestamps_need_a_zone() {
        assert!(is_rfc3339("2026-05-01T09:30:00Z"));
        assert!(is_rfc3339("2026-05-01t09:30:00.250+02:00"));
        assert!(is_rfc3339("2026-12-31T23:59:60-11:30"));
        assert!(!is_rfc3339("2026-05-01T09:30:00"));
        assert!(!is_rfc3339("2026-13-01T09:30:00Z"));
        assert!(!is_rfc3339("2026-05-01 09:30:00Z"));
        assert!(!is_rfc3339("2026-05-01T09:30:00.Z"));
        assert!(!is_rfc3339("2026-05-01T09:30:00+2:00"));
        assert!(!is_rfc3339("tomorrow"));
    }

    #[test]
    fn header_names_are_tokens() {
        assert!(is_header_name("X-Request-Id"));
        assert!(!is_header_name("Bad Header"));
        assert!(!is_header_name("a:b"));
        assert!(!is_header_name(""));
    }
}
