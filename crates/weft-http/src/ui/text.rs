//! How pages write times, durations and sizes.

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

/// A size as pages show it: `812 B`, `4.2 KiB`, `3.0 MiB`, `1.5 GiB`.
pub fn size_text(bytes: u64) -> String {
    const UNITS: [&str; 3] = ["KiB", "MiB", "GiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut size = bytes as f64 / 1024.0;
    let mut unit = 0;
    while size >= 1024.0 && unit < UNITS.len() - 1 {
        size /= 1024.0;
        unit += 1;
    }
    format!("{size:.1} {}", UNITS[unit])
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
        assert_eq!(size_text(812), "812 B");
        assert_eq!(size_text(4_300), "4.2 KiB");
        assert_eq!(size_text(3 * 1024 * 1024), "3.0 MiB");
        assert_eq!(size_text(5 << 40), "5120.0 GiB");
    }
}
