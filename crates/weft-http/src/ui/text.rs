//! How pages write times and durations.

/// A time as pages show it: `2026-12-05 07:21 UTC`.
pub fn utc_minute(epoch_ms: i64) -> String {
    jiff::Timestamp::from_millisecond(epoch_ms)
        .map_or_else(|_| epoch_ms.to_string(), |time| time.strftime("%Y-%m-%d %H:%M UTC").to_string())
}

/// A duration as pages show it: `350 ms`, `4.2 s`, `3 min 7 s`, `2 h 5 min`.
pub fn duration_text(ms: i64) -> String {
    let seconds = ms / 1000;
    match ms {
        ..1_000 => format!("{} ms", ms.max(0)),
        1_000..60_000 => format!("{}.{} s", seconds, (ms % 1000) / 100),
        60_000..3_600_000 => format!("{} min {} s", seconds / 60, seconds % 60),
        _ => format!("{} h {} min", seconds / 3600, (seconds % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_times_read_naturally() {
        assert_eq!(duration_text(350), "350 ms");
        assert_eq!(duration_text(4_250), "4.2 s");
        assert_eq!(duration_text(187_000), "3 min 7 s");
        assert_eq!(duration_text(7_500_000), "2 h 5 min");
        assert_eq!(utc_minute(1_700_000_000_123), "2023-11-14 22:13 UTC");
    }
}
