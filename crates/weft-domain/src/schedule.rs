//! When a schedule fires: cron expressions and fixed intervals, read in an IANA time zone.
//!
//! Cron: five fields (minute, hour, day of month, month, day of week) or six with seconds first;
//! each a `*`, a value, a range `a-b`, a step `*/n`, `a-b/n` or `a/n` (from `a` to the field's
//! end), or a comma list of those. Months and weekdays also take names (`JAN`, `MON-FRI`), and
//! Sunday is 0 or 7. `@yearly`, `@monthly`, `@weekly`, `@daily` (`@midnight`) and `@hourly` stand
//! for their usual expressions. As in Vixie cron, when both day fields are restricted (neither
//! starts with `*` or `?`) a day matches if either matches: `0 0 1 * MON` fires on the first of
//! the month and on every Monday.
//!
//! Cron times are wall-clock times in the zone. Across daylight-saving transitions:
//! - a local time that does not exist (clocks spring forward over it) fires at the first instant
//!   after the gap, once, however many of its times the expression names;
//! - a local time that occurs twice (clocks fall back) fires once, at its first occurrence.
//!
//! Intervals count elapsed time and ignore the zone.

use std::collections::VecDeque;
use std::time::Duration;

use jiff::civil::{Date, DateTime};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Timestamp};

/// Why a schedule cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error(
        "a cron expression has 5 fields (minute hour day-of-month month day-of-week) or 6 (seconds first), not {0}"
    )]
    FieldCount(usize),
    #[error("`{0}` is not a cron macro; known: @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly")]
    UnknownMacro(String),
    #[error("the {field} field `{text}`: {reason}")]
    Field { field: &'static str, text: String, reason: String },
    #[error("the expression never fires: no month has the days it names")]
    NeverFires,
    #[error("`{0}` is not a known IANA time zone (e.g. `Europe/Berlin`, `UTC`)")]
    UnknownTimeZone(String),
    #[error("must be at least 1")]
    ZeroInterval,
    #[error("needs exactly one of `cron` and `interval_secs`")]
    NeedsOneRecurrence,
}

/// A schedule: when it fires, and the zone its wall-clock times are read in.
#[derive(Debug, Clone)]
pub struct Schedule {
    recurrence: Recurrence,
    zone: TimeZone,
}

#[derive(Debug, Clone)]
enum Recurrence {
    Cron(Cron),
    Every(SignedDuration),
}

/// The firings [`Schedule::due`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    /// The latest due firings, oldest first.
    pub firings: Vec<Timestamp>,
    /// The first firing after the instant asked about; `None` if there is none.
    pub next: Option<Timestamp>,
}

impl Schedule {
    /// A cron schedule in the zone named `timezone`.
    pub fn cron(expression: &str, timezone: &str) -> Result<Schedule, ScheduleError> {
        Ok(Schedule { recurrence: Recurrence::Cron(Cron::parse(expression)?), zone: zone(timezone)? })
    }

    /// A schedule firing every `seconds`.
    pub fn every(seconds: u64, timezone: &str) -> Result<Schedule, ScheduleError> {
        if seconds == 0 {
            return Err(ScheduleError::ZeroInterval);
        }
        let every = SignedDuration::try_from(Duration::from_secs(seconds)).map_err(|_| ScheduleError::ZeroInterval)?;
        Ok(Schedule { recurrence: Recurrence::Every(every), zone: zone(timezone)? })
    }

    /// The first firing strictly after `instant`. An interval's first firing is one interval
    /// after it; later ones count from there (see [`Schedule::due`]).
    pub fn next_after(&self, instant: Timestamp) -> Option<Timestamp> {
        match &self.recurrence {
            Recurrence::Cron(cron) => cron.next_after(&self.zone, instant),
            Recurrence::Every(every) => instant.checked_add(*every).ok(),
        }
    }

    /// The firings from `first` (itself a firing) to `now`, both included — only the latest
    /// `limit` of them, oldest first — and the first firing after `now`.
    pub fn due(&self, first: Timestamp, now: Timestamp, limit: usize) -> Due {
        match &self.recurrence {
            Recurrence::Every(every) => every_due(*every, first, now, limit),
            Recurrence::Cron(cron) => Due {
                firings: self.latest_cron_firings(cron, first, now, limit),
                next: if first > now { Some(first) } else { cron.next_after(&self.zone, now) },
            },
        }
    }

    /// Looks back from `now` over a window that grows until it holds `limit` firings or reaches
    /// `first`, so a long downtime of a frequent schedule costs no more than `limit` firings.
    fn latest_cron_firings(&self, cron: &Cron, first: Timestamp, now: Timestamp, limit: usize) -> Vec<Timestamp> {
        if first > now || limit == 0 {
            return Vec::new();
        }
        let mut window = SignedDuration::from_mins(1);
        loop {
            let start = now.checked_sub(window).map_or(first, |start| start.max(first));
            let mut found = VecDeque::with_capacity(limit);
            // `first` is a firing; any later window start is found by searching from just before it.
            let mut next = if start == first { Some(first) } else { cron.next_after(&self.zone, start - ONE_SECOND) };
            while let Some(firing) = next.filter(|firing| *firing <= now) {
                if found.len() == limit {
                    found.pop_front();
                }
                found.push_back(firing);
                next = cron.next_after(&self.zone, firing);
            }
            if found.len() == limit || start == first {
                return found.into();
            }
            window = window.saturating_mul(8);
        }
    }
}

const ONE_SECOND: SignedDuration = SignedDuration::from_secs(1);

fn every_due(every: SignedDuration, first: Timestamp, now: Timestamp, limit: usize) -> Due {
    if first > now {
        return Due { firings: Vec::new(), next: Some(first) };
    }
    let step = every.as_millis().max(1);
    let last = (now.duration_since(first).as_millis() / step) as i64;
    let at = |k: i64| Timestamp::from_millisecond(first.as_millisecond().saturating_add(k.saturating_mul(step as i64)));
    let oldest = last.saturating_sub(limit as i64 - 1).max(0);
    let firings = if limit == 0 { Vec::new() } else { (oldest..=last).filter_map(|k| at(k).ok()).collect() };
    Due { firings, next: at(last + 1).ok() }
}

fn zone(name: &str) -> Result<TimeZone, ScheduleError> {
    TimeZone::get(name).map_err(|_| ScheduleError::UnknownTimeZone(name.to_owned()))
}

/// A set of small values (0..64) as bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Bits(u64);

impl Bits {
    fn has(self, value: i8) -> bool {
        (0..64).contains(&value) && self.0 & (1 << value) != 0
    }

    /// The smallest member at or above `value`.
    fn next_from(self, value: i8) -> Option<i8> {
        if !(0..64).contains(&value) {
            return None;
        }
        let above = self.0 >> value;
        (above != 0).then(|| value + above.trailing_zeros() as i8)
    }

    fn first(self) -> Option<i8> {
        self.next_from(0)
    }
}

/// A parsed cron expression.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Cron {
    seconds: Bits,
    minutes: Bits,
    hours: Bits,
    days: Bits,
    months: Bits,
    /// 0 = Sunday.
    weekdays: Bits,
    /// Vixie cron's rule: with both day fields restricted, either may match.
    either_day: bool,
}

struct FieldSpec {
    name: &'static str,
    min: i8,
    max: i8,
    names: &'static [&'static str],
}

const SECOND: FieldSpec = FieldSpec { name: "second", min: 0, max: 59, names: &[] };
const MINUTE: FieldSpec = FieldSpec { name: "minute", min: 0, max: 59, names: &[] };
const HOUR: FieldSpec = FieldSpec { name: "hour", min: 0, max: 23, names: &[] };
const DAY: FieldSpec = FieldSpec { name: "day-of-month", min: 1, max: 31, names: &[] };
const MONTH: FieldSpec = FieldSpec {
    name: "month",
    min: 1,
    max: 12,
    names: &["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"],
};
/// 7 is Sunday too.
const WEEKDAY: FieldSpec =
    FieldSpec { name: "day-of-week", min: 0, max: 7, names: &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"] };

impl FieldSpec {
    fn error(&self, text: &str, reason: impl Into<String>) -> ScheduleError {
        ScheduleError::Field { field: self.name, text: text.to_owned(), reason: reason.into() }
    }

    fn value(&self, field: &str, text: &str) -> Result<i8, ScheduleError> {
        let value = match self.names.iter().position(|name| name.eq_ignore_ascii_case(text)) {
            Some(index) => index as i8 + self.min,
            None => text.parse::<i8>().map_err(|_| {
                let names = if self.names.is_empty() { String::new() } else { " or a name".to_owned() };
                self.error(field, format!("`{text}` is not a number{names}"))
            })?,
        };
        if !(self.min..=self.max).contains(&value) {
            return Err(self.error(field, format!("{value} is out of range {}-{}", self.min, self.max)));
        }
        Ok(value)
    }

    fn parse(&self, field: &str) -> Result<Bits, ScheduleError> {
        let mut bits = 0u64;
        for part in field.split(',') {
            let (range, step) = match part.split_once('/') {
                Some((range, step)) => {
                    let step: i8 =
                        step.parse().map_err(|_| self.error(field, format!("step `{step}` is not a number")))?;
                    if step < 1 {
                        return Err(self.error(field, "a step must be at least 1"));
                    }
                    (range, Some(step))
                }
                None => (part, None),
            };
            let (start, end) = match range {
                "*" | "?" => (self.min, self.max),
                "" => return Err(self.error(field, "has an empty part")),
                _ => match range.split_once('-') {
                    Some((start, end)) => (self.value(field, start)?, self.value(field, end)?),
                    // `a/n` runs from `a` to the field's end.
                    None if step.is_some() => (self.value(field, range)?, self.max),
                    None => {
                        let value = self.value(field, range)?;
                        (value, value)
                    }
                },
            };
            if start > end {
                return Err(self.error(field, format!("the range {start}-{end} runs backwards")));
            }
            for value in (start..=end).step_by(step.unwrap_or(1) as usize) {
                bits |= 1 << value;
            }
        }
        Ok(Bits(bits))
    }
}

fn is_unrestricted(field: &str) -> bool {
    field.starts_with('*') || field.starts_with('?')
}

impl Cron {
    fn parse(expression: &str) -> Result<Cron, ScheduleError> {
        let expression = expression.trim();
        let expanded = match expression.to_ascii_lowercase().as_str() {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" | "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            _ if expression.starts_with('@') => return Err(ScheduleError::UnknownMacro(expression.to_owned())),
            _ => expression,
        };
        let fields: Vec<&str> = expanded.split_whitespace().collect();
        let (seconds, rest) = match fields.len() {
            5 => ("0", &fields[..]),
            6 => (fields[0], &fields[1..]),
            count => return Err(ScheduleError::FieldCount(count)),
        };
        let mut weekdays = WEEKDAY.parse(rest[4])?;
        if weekdays.has(7) {
            weekdays = Bits((weekdays.0 & !(1 << 7)) | 1);
        }
        let cron = Cron {
            seconds: SECOND.parse(seconds)?,
            minutes: MINUTE.parse(rest[0])?,
            hours: HOUR.parse(rest[1])?,
            days: DAY.parse(rest[2])?,
            months: MONTH.parse(rest[3])?,
            weekdays,
            either_day: !is_unrestricted(rest[2]) && !is_unrestricted(rest[4]),
        };
        if !cron.ever_fires() {
            return Err(ScheduleError::NeverFires);
        }
        Ok(cron)
    }

    /// Whether some month has one of the named days (February counting 29). The weekday field
    /// alone always matches some day, so it only matters when it does not count.
    fn ever_fires(&self) -> bool {
        if self.either_day {
            return true;
        }
        const LONGEST: [i8; 12] = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
        (1..=12)
            .filter(|&month| self.months.has(month))
            .any(|month| self.days.next_from(1).is_some_and(|day| day <= LONGEST[month as usize - 1]))
    }

    fn day_matches(&self, date: Date) -> bool {
        let by_day = self.days.has(date.day());
        let by_weekday = self.weekdays.has(date.weekday().to_sunday_zero_offset());
        if self.either_day { by_day || by_weekday } else { by_day && by_weekday }
    }

    /// The first wall-clock time strictly after `after` that the expression names, searching
    /// ten years ahead (a 29 February can be eight years away).
    fn next_local(&self, after: DateTime) -> Option<DateTime> {
        let last_year = after.year().saturating_add(10);
        let mut date = after.date();
        // (hour, minute, second) to search from on `date`.
        let mut from = (after.hour(), after.minute(), after.second() + 1);
        loop {
            if date.year() > last_year {
                return None;
            }
            if !self.months.has(date.month()) {
                date = match self.months.next_from(date.month() + 1) {
                    Some(month) => Date::new(date.year(), month, 1).ok()?,
                    None => Date::new(date.year() + 1, self.months.first()?, 1).ok()?,
                };
                from = (0, 0, 0);
                continue;
            }
            if self.day_matches(date)
                && let Some(time) = self.time_from(from)
            {
                return Some(date.at(time.0, time.1, time.2, 0));
            }
            date = date.tomorrow().ok()?;
            from = (0, 0, 0);
        }
    }

    /// The first (hour, minute, second) at or after `from` on one day; `None` if the day has none
    /// left.
    fn time_from(&self, (hour, minute, second): (i8, i8, i8)) -> Option<(i8, i8, i8)> {
        let (mut hour, mut minute, mut second) = (hour, minute, second);
        loop {
            if second > 59 {
                (minute, second) = (minute + 1, 0);
            }
            if minute > 59 {
                (hour, minute, second) = (hour + 1, 0, 0);
            }
            let next_hour = self.hours.next_from(hour).filter(|&h| h <= 23)?;
            if next_hour != hour {
                (hour, minute, second) = (next_hour, 0, 0);
            }
            let Some(next_minute) = self.minutes.next_from(minute).filter(|&m| m <= 59) else {
                (hour, minute, second) = (hour + 1, 0, 0);
                continue;
            };
            if next_minute != minute {
                (minute, second) = (next_minute, 0);
            }
            match self.seconds.next_from(second).filter(|&s| s <= 59) {
                Some(next_second) => return Some((hour, minute, next_second)),
                None => (minute, second) = (minute + 1, 0),
            }
        }
    }

    /// The first instant strictly after `instant` whose wall-clock time in `zone` the expression
    /// names, with the daylight-saving rules of the module documentation.
    fn next_after(&self, zone: &TimeZone, instant: Timestamp) -> Option<Timestamp> {
        let mut local = zone.to_datetime(instant);
        loop {
            local = self.next_local(local)?;
            let fires_at = match zone.to_ambiguous_timestamp(local).offset() {
                AmbiguousOffset::Unambiguous { offset } => offset.to_timestamp(local).ok()?,
                // Clocks fell back: the first occurrence; the second is passed over below.
                AmbiguousOffset::Fold { before, .. } => before.to_timestamp(local).ok()?,
                // Clocks sprang forward over this time: the transition itself.
                AmbiguousOffset::Gap { after, .. } => {
                    let before_gap = after.to_timestamp(local).ok()?;
                    zone.following(before_gap).next()?.timestamp()
                }
            };
            if fires_at > instant {
                return Some(fires_at);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    /// The next `count` firings after `start`, as RFC 3339 UTC instants.
    fn firings(expression: &str, zone: &str, start: &str, count: usize) -> Vec<String> {
        let schedule = Schedule::cron(expression, zone).unwrap();
        let mut instant = at(start);
        (0..count)
            .map(|_| {
                instant = schedule.next_after(instant).unwrap();
                instant.to_string()
            })
            .collect()
    }

    fn error(expression: &str) -> String {
        Schedule::cron(expression, "UTC").unwrap_err().to_string()
    }

    #[test]
    fn every_minute_fires_at_each_minute_start() {
        assert_eq!(
            firings("* * * * *", "UTC", "2025-01-01T00:00:30Z", 3),
            ["2025-01-01T00:01:00Z", "2025-01-01T00:02:00Z", "2025-01-01T00:03:00Z"]
        );
    }

    #[test]
    fn next_is_strictly_after_a_firing() {
        assert_eq!(firings("0 * * * *", "UTC", "2025-01-01T05:00:00Z", 1), ["2025-01-01T06:00:00Z"]);
    }

    #[test]
    fn steps_ranges_and_lists() {
        assert_eq!(
            firings("*/15 9-10 * * *", "UTC", "2025-01-01T10:40:00Z", 3),
            ["2025-01-01T10:45:00Z", "2025-01-02T09:00:00Z", "2025-01-02T09:15:00Z"]
        );
        assert_eq!(
            firings("5,10-20/5 0 * * *", "UTC", "2025-01-01T00:00:00Z", 4),
            ["2025-01-01T00:05:00Z", "2025-01-01T00:10:00Z", "2025-01-01T00:15:00Z", "2025-01-01T00:20:00Z"]
        );
        assert_eq!(
            firings("50/5 0 * * *", "UTC", "2025-01-01T00:00:00Z", 3),
            ["2025-01-01T00:50:00Z", "2025-01-01T00:55:00Z", "2025-01-02T00:50:00Z"]
        );
    }

    #[test]
    fn a_sixth_field_is_seconds() {
        assert_eq!(
            firings("*/20 * * * * *", "UTC", "2025-01-01T00:00:00Z", 4),
            ["2025-01-01T00:00:20Z", "2025-01-01T00:00:40Z", "2025-01-01T00:01:00Z", "2025-01-01T00:01:20Z"]
        );
    }

    #[test]
    fn month_and_weekday_names() {
        // 2025-01-03 is a Friday.
        assert_eq!(
            firings("0 12 * jan-feb MON-fri", "UTC", "2025-01-03T13:00:00Z", 2),
            ["2025-01-06T12:00:00Z", "2025-01-07T12:00:00Z"]
        );
        assert_eq!(firings("0 0 1 DEC *", "UTC", "2025-01-01T00:00:00Z", 1), ["2025-12-01T00:00:00Z"]);
    }

    #[test]
    fn sunday_is_zero_or_seven() {
        // 2025-01-05 is a Sunday.
        let expected = ["2025-01-05T00:00:00Z"];
        assert_eq!(firings("0 0 * * 0", "UTC", "2025-01-01T00:00:00Z", 1), expected);
        assert_eq!(firings("0 0 * * 7", "UTC", "2025-01-01T00:00:00Z", 1), expected);
        assert_eq!(firings("0 0 * * 5-7", "UTC", "2025-01-04T12:00:00Z", 1), expected);
    }

    #[test]
    fn both_day_fields_restricted_match_either() {
        // The 1st, or any Monday: Monday 2025-01-06, then Monday the 13th.
        assert_eq!(
            firings("0 0 1 * MON", "UTC", "2025-01-01T12:00:00Z", 3),
            ["2025-01-06T00:00:00Z", "2025-01-13T00:00:00Z", "2025-01-20T00:00:00Z"]
        );
        // A starred weekday field leaves the day-of-month alone.
        assert_eq!(firings("0 0 1 * */1", "UTC", "2025-01-01T12:00:00Z", 1), ["2025-02-01T00:00:00Z"]);
    }

    #[test]
    fn macros() {
        assert_eq!(firings("@hourly", "UTC", "2025-01-01T00:30:00Z", 1), ["2025-01-01T01:00:00Z"]);
        assert_eq!(firings("@daily", "UTC", "2025-01-01T00:30:00Z", 1), ["2025-01-02T00:00:00Z"]);
        assert_eq!(firings("@weekly", "UTC", "2025-01-01T00:30:00Z", 1), ["2025-01-05T00:00:00Z"]);
        assert_eq!(firings("@monthly", "UTC", "2025-01-01T00:30:00Z", 1), ["2025-02-01T00:00:00Z"]);
        assert_eq!(firings("@Yearly", "UTC", "2025-01-01T00:30:00Z", 1), ["2026-01-01T00:00:00Z"]);
    }

    #[test]
    fn the_31st_skips_short_months() {
        assert_eq!(
            firings("0 0 31 * *", "UTC", "2025-01-31T00:00:00Z", 4),
            ["2025-03-31T00:00:00Z", "2025-05-31T00:00:00Z", "2025-07-31T00:00:00Z", "2025-08-31T00:00:00Z"]
        );
    }

    #[test]
    fn leap_days_fire_in_leap_years_only() {
        assert_eq!(
            firings("0 0 29 2 *", "UTC", "2024-03-01T00:00:00Z", 2),
            ["2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"]
        );
        // 2100 is not a leap year: eight years from 2096 to 2104.
        assert_eq!(firings("0 0 29 2 *", "UTC", "2096-03-01T00:00:00Z", 1), ["2104-02-29T00:00:00Z"]);
    }

    #[test]
    fn zones_shift_wall_clock_times() {
        assert_eq!(firings("0 9 * * *", "Asia/Tokyo", "2025-01-01T00:00:00Z", 1), ["2025-01-02T00:00:00Z"]);
        assert_eq!(firings("0 9 * * *", "America/New_York", "2025-01-01T00:00:00Z", 1), ["2025-01-01T14:00:00Z"]);
    }

    #[test]
    fn berlin_spring_forward_fires_a_missing_time_at_the_end_of_the_gap() {
        // 2025-03-30: 02:00 CET becomes 03:00 CEST (01:00 UTC); 02:30 does not exist that day.
        assert_eq!(
            firings("30 2 * * *", "Europe/Berlin", "2025-03-29T12:00:00Z", 3),
            ["2025-03-30T01:00:00Z", "2025-03-31T00:30:00Z", "2025-04-01T00:30:00Z"]
        );
        // Every quarter hour of the missing hour collapses into one firing.
        assert_eq!(
            firings("*/15 * * * *", "Europe/Berlin", "2025-03-30T00:30:00Z", 4),
            ["2025-03-30T00:45:00Z", "2025-03-30T01:00:00Z", "2025-03-30T01:15:00Z", "2025-03-30T01:30:00Z"]
        );
    }

    #[test]
    fn berlin_fall_back_fires_a_repeated_time_once() {
        // 2025-10-26: 03:00 CEST becomes 02:00 CET (01:00 UTC); 02:30 happens twice.
        assert_eq!(
            firings("30 2 * * *", "Europe/Berlin", "2025-10-25T12:00:00Z", 2),
            ["2025-10-26T00:30:00Z", "2025-10-27T01:30:00Z"]
        );
        // Hourly: 02:00 CEST, then not 02:00 CET, then 03:00 CET.
        assert_eq!(
            firings("0 * * * *", "Europe/Berlin", "2025-10-25T23:30:00Z", 3),
            ["2025-10-26T00:00:00Z", "2025-10-26T02:00:00Z", "2025-10-26T03:00:00Z"]
        );
    }

    #[test]
    fn new_york_transitions_both_ways() {
        // 2025-03-09: 02:00 EST becomes 03:00 EDT (07:00 UTC).
        assert_eq!(
            firings("30 2 * * *", "America/New_York", "2025-03-08T12:00:00Z", 2),
            ["2025-03-09T07:00:00Z", "2025-03-10T06:30:00Z"]
        );
        // 2025-11-02: 02:00 EDT becomes 01:00 EST (06:00 UTC); 01:30 happens twice.
        assert_eq!(
            firings("30 1 * * *", "America/New_York", "2025-11-01T12:00:00Z", 2),
            ["2025-11-02T05:30:00Z", "2025-11-03T06:30:00Z"]
        );
    }

    #[test]
    fn bad_expressions_say_what_is_wrong() {
        assert!(error("* * * *").contains("5 fields"), "{}", error("* * * *"));
        assert!(error("* * * * * * *").contains("not 7"));
        assert_eq!(error("60 * * * *"), "the minute field `60`: 60 is out of range 0-59");
        assert_eq!(error("* 24 * * *"), "the hour field `24`: 24 is out of range 0-23");
        assert_eq!(error("* * 0 * *"), "the day-of-month field `0`: 0 is out of range 1-31");
        assert_eq!(error("* * * 13 *"), "the month field `13`: 13 is out of range 1-12");
        assert_eq!(error("* * * * 8"), "the day-of-week field `8`: 8 is out of range 0-7");
        assert_eq!(error("* * * FOO *"), "the month field `FOO`: `FOO` is not a number or a name");
        assert_eq!(error("*/0 * * * *"), "the minute field `*/0`: a step must be at least 1");
        assert_eq!(error("*/x * * * *"), "the minute field `*/x`: step `x` is not a number");
        assert_eq!(error("30-10 * * * *"), "the minute field `30-10`: the range 30-10 runs backwards");
        assert_eq!(error("1,,2 * * * *"), "the minute field `1,,2`: has an empty part");
        assert!(error("@reboot").contains("not a cron macro"));
        assert_eq!(error("0 0 30 2 *"), "the expression never fires: no month has the days it names");
        assert_eq!(error("0 0 31 4,6 *"), "the expression never fires: no month has the days it names");
    }

    #[test]
    fn unknown_zones_and_zero_intervals_are_refused() {
        let unknown = Schedule::cron("* * * * *", "Mars/Olympus").unwrap_err();
        assert_eq!(unknown, ScheduleError::UnknownTimeZone("Mars/Olympus".into()));
        assert_eq!(Schedule::every(0, "UTC").unwrap_err(), ScheduleError::ZeroInterval);
    }

    #[test]
    fn intervals_count_from_their_first_firing() {
        let schedule = Schedule::every(90, "Europe/Berlin").unwrap();
        assert_eq!(schedule.next_after(at("2025-01-01T00:00:10Z")), Some(at("2025-01-01T00:01:40Z")));
        let due = schedule.due(at("2025-01-01T00:01:40Z"), at("2025-01-01T00:06:00Z"), 2);
        assert_eq!(due.firings, [at("2025-01-01T00:03:10Z"), at("2025-01-01T00:04:40Z")]);
        assert_eq!(due.next, Some(at("2025-01-01T00:06:10Z")));
    }

    #[test]
    fn due_keeps_the_latest_firings_oldest_first() {
        let schedule = Schedule::cron("*/15 * * * *", "UTC").unwrap();
        let first = at("2025-01-01T00:15:00Z");
        let now = at("2025-01-01T03:07:30Z");
        let all = schedule.due(first, now, 100);
        assert_eq!(all.firings.len(), 12);
        assert_eq!(all.firings.first(), Some(&first));
        assert_eq!(all.firings.last(), Some(&at("2025-01-01T03:00:00Z")));
        assert_eq!(all.next, Some(at("2025-01-01T03:15:00Z")));
        let latest = schedule.due(first, now, 2);
        assert_eq!(latest.firings, [at("2025-01-01T02:45:00Z"), at("2025-01-01T03:00:00Z")]);
        // A year of per-second firings costs only the window that holds the last three.
        let every_second = Schedule::cron("* * * * * *", "UTC").unwrap();
        let due = every_second.due(at("2024-01-01T00:00:00Z"), at("2025-01-01T00:00:00Z"), 3);
        assert_eq!(due.firings[0], at("2024-12-31T23:59:58Z"));
        assert_eq!(due.firings.len(), 3);
    }

    #[test]
    fn nothing_is_due_before_the_first_firing() {
        let schedule = Schedule::cron("0 * * * *", "UTC").unwrap();
        let due = schedule.due(at("2025-01-01T01:00:00Z"), at("2025-01-01T00:30:00Z"), 100);
        assert_eq!(due, Due { firings: Vec::new(), next: Some(at("2025-01-01T01:00:00Z")) });
    }
}
