//! `date_time`: n8n's Date & Time (v2), with jiff's time zone database.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{RoundMode, Span, Timestamp, Unit, Zoned, ZonedDifference, ZonedRound};
use serde_json::{Map, Number, Value, json};

use super::NodeError;
use super::expression::{ItemContext, Resolver};
use crate::item::Item;
use crate::params::{
    DateOperation, DateTimeParams, DateToken, DateUnit, ParamValue, RoundDirection, date_format_tokens,
};
use crate::pointer::Pointer;

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const WEEKDAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

/// Each item gives one item holding the result in its field (with the input's fields too when
/// `include_input_fields`), as n8n's node does.
pub(super) fn date_time(
    params: DateTimeParams,
    inputs: Vec<Vec<Item>>,
    resolver: &Resolver<'_>,
) -> Result<Vec<Vec<Item>>, NodeError> {
    let at = Pointer::root().key("params");
    let zone = match &params.timezone {
        Some(name) => TimeZone::get(name)
            .map_err(|_| resolver.param_error(&at.key("timezone"), format!("`{name}` is not an IANA time zone")))?,
        None => TimeZone::UTC,
    };
    let field = params.field.clone().unwrap_or_else(|| params.operation.default_field().to_string());
    let mut output = Vec::with_capacity(inputs.first().map_or(0, Vec::len));
    for context in resolver.each(&inputs, 0) {
        let op = Operation { params: &params, zone: &zone, resolver, context: &context, at: &at };
        let value = op.result()?;
        let (mut json, binary) = if params.include_input_fields {
            (context.item.json.clone(), context.item.binary.clone())
        } else {
            (Map::new(), None)
        };
        resolver.set_path(&mut json, &field, value, &at.key("field"), context.index)?;
        output.push(Item { json, binary });
    }
    Ok(vec![output])
}

/// One item's work.
struct Operation<'p, 'r, 'c> {
    params: &'p DateTimeParams,
    zone: &'p TimeZone,
    resolver: &'p Resolver<'r>,
    context: &'p ItemContext<'c>,
    at: &'p Pointer,
}

impl Operation<'_, '_, '_> {
    fn result(&self) -> Result<Value, NodeError> {
        let params = self.params;
        let unit = params.unit.unwrap_or(DateUnit::Days);
        let date_at = self.at.key("date");
        let fail = |at: &Pointer, error: jiff::Error| {
            self.resolver.param_error(at, format!("on item {}: {error}", self.context.index))
        };
        Ok(match params.operation {
            DateOperation::CurrentDate => {
                let now = Zoned::now().with_time_zone(self.zone.clone());
                let now = if params.include_time.unwrap_or(true) {
                    now
                } else {
                    now.start_of_day().map_err(|error| fail(&self.at.key("include_time"), error))?
                };
                json!(iso(&now))
            }
            DateOperation::Add | DateOperation::Subtract => {
                let date = self.date("date", params.date.as_ref())?;
                let amount_at = self.at.key("amount");
                let amount = params.amount.clone().unwrap_or(ParamValue::Literal(0));
                let amount = self.resolver.typed(&amount, &amount_at, self.context)?;
                let amount = i64::try_from(amount).unwrap_or(i64::MAX);
                let amount = if params.operation == DateOperation::Subtract { -amount } else { amount };
                let moved = span(unit, amount).and_then(|span| date.checked_add(span));
                json!(iso(&moved.map_err(|error| fail(&amount_at, error))?))
            }
            DateOperation::Format => {
                let date = self.date("date", params.date.as_ref())?;
                let format_at = self.at.key("format");
                let format =
                    self.resolver.text(params.format.as_deref().unwrap_or_default(), &format_at, self.context)?;
                let tokens = date_format_tokens(&format).map_err(|problem| {
                    self.resolver
                        .param_error(&format_at, format!("`{format}` on item {}: {problem}", self.context.index))
                })?;
                json!(format_date(&date, &tokens))
            }
            DateOperation::Extract => {
                let date = self.date("date", params.date.as_ref())?;
                json!(match unit {
                    DateUnit::Years => i64::from(date.year()),
                    DateUnit::Months | DateUnit::Quarters => i64::from(date.month()),
                    DateUnit::Weeks => i64::from(date.date().iso_week_date().week()),
                    DateUnit::Days => i64::from(date.day()),
                    DateUnit::Hours => i64::from(date.hour()),
                    DateUnit::Minutes => i64::from(date.minute()),
                    DateUnit::Seconds | DateUnit::Milliseconds => i64::from(date.second()),
                })
            }
            DateOperation::Round => {
                let date = self.date("date", params.date.as_ref())?;
                let rounded = match params.direction.unwrap_or(RoundDirection::Down) {
                    RoundDirection::Down => start_of(&date, unit),
                    // n8n adds one unit, then goes to its start: a date already on a boundary moves too.
                    RoundDirection::Up => {
                        span(unit, 1).and_then(|span| date.checked_add(span)).and_then(|next| start_of(&next, unit))
                    }
                };
                json!(iso(&rounded.map_err(|error| fail(&date_at, error))?))
            }
            DateOperation::Between => {
                let start = self.date("date", params.date.as_ref())?;
                let end = self.date("end_date", params.end_date.as_ref())?;
                let parts =
                    between(&start, &end, &params.units).map_err(|error| fail(&self.at.key("end_date"), error))?;
                if params.iso_duration {
                    json!(iso_duration(&parts))
                } else {
                    Value::Object(
                        parts.into_iter().map(|(unit, amount)| (unit_name(unit).to_string(), number(amount))).collect(),
                    )
                }
            }
        })
    }

    /// A date param read as n8n reads it: a number (or numeric text) is epoch seconds with
    /// fewer than 12 digits and milliseconds otherwise (a fraction: seconds); text is ISO 8601,
    /// in `timezone` when it names no offset.
    fn date(&self, key: &str, param: Option<&Value>) -> Result<Zoned, NodeError> {
        let at = self.at.key(key);
        let value = self.resolver.value(param.unwrap_or(&Value::Null), &at, self.context)?;
        let bad = || {
            self.resolver
                .param_error(&at, format!("gave {} on item {}, which is not a date", value, self.context.index))
        };
        let numeric = match value.as_ref() {
            Value::Number(number) => number.as_f64(),
            Value::String(text) => {
                text.trim().parse::<f64>().ok().filter(|number| number.is_finite() && !text.trim().is_empty())
            }
            _ => return Err(bad()),
        };
        let timestamp = if let Some(number) = numeric {
            let millis =
                if number.fract() != 0.0 || format!("{}", number.abs()).len() < 12 { number * 1000.0 } else { number };
            Timestamp::from_millisecond(millis.round() as i64).map_err(|_| bad())?
        } else {
            let text = value.as_str().unwrap_or_default().trim();
            match text.parse::<Timestamp>() {
                Ok(timestamp) => timestamp,
                Err(_) => {
                    let civil = text.parse::<jiff::civil::DateTime>().map_err(|_| bad())?;
                    civil.to_zoned(self.zone.clone()).map_err(|_| bad())?.timestamp()
                }
            }
        };
        Ok(timestamp.to_zoned(self.zone.clone()))
    }
}

/// How Luxon writes a date: milliseconds and the offset always.
fn iso(date: &Zoned) -> String {
    date.strftime("%Y-%m-%dT%H:%M:%S%.3f%:z").to_string()
}

fn span(unit: DateUnit, amount: i64) -> Result<Span, jiff::Error> {
    let span = Span::new();
    match unit {
        DateUnit::Years => span.try_years(amount),
        DateUnit::Quarters => span.try_months(amount.saturating_mul(3)),
        DateUnit::Months => span.try_months(amount),
        DateUnit::Weeks => span.try_weeks(amount),
        DateUnit::Days => span.try_days(amount),
        DateUnit::Hours => span.try_hours(amount),
        DateUnit::Minutes => span.try_minutes(amount),
        DateUnit::Seconds => span.try_seconds(amount),
        DateUnit::Milliseconds => span.try_milliseconds(amount),
    }
}

/// Luxon's `startOf`: weeks start on Monday.
fn start_of(date: &Zoned, unit: DateUnit) -> Result<Zoned, jiff::Error> {
    let day = date.date();
    let first_day = match unit {
        DateUnit::Years => Some(Date::new(day.year(), 1, 1)?),
        DateUnit::Quarters => Some(Date::new(day.year(), (day.month() - 1) / 3 * 3 + 1, 1)?),
        DateUnit::Months => Some(day.first_of_month()),
        DateUnit::Weeks => Some(day.checked_sub(Span::new().days(i64::from(day.weekday().to_monday_zero_offset())))?),
        DateUnit::Days => Some(day),
        DateUnit::Hours | DateUnit::Minutes | DateUnit::Seconds | DateUnit::Milliseconds => None,
    };
    if let Some(first_day) = first_day {
        return first_day.to_zoned(date.time_zone().clone());
    }
    let smallest = match unit {
        DateUnit::Hours => Unit::Hour,
        DateUnit::Minutes => Unit::Minute,
        DateUnit::Seconds => Unit::Second,
        _ => Unit::Millisecond,
    };
    date.round(ZonedRound::new().smallest(smallest).mode(RoundMode::Trunc))
}

/// Luxon's `diff` in several units: whole numbers of each but the smallest, which takes the
/// rest as a fraction.
fn between(start: &Zoned, end: &Zoned, units: &[DateUnit]) -> Result<Vec<(DateUnit, f64)>, jiff::Error> {
    let mut units = units.to_vec();
    units.sort();
    units.dedup();
    let mut cursor = start.clone();
    let mut parts = Vec::with_capacity(units.len());
    for (index, &unit) in units.iter().enumerate() {
        let (jiff_unit, per) = match unit {
            DateUnit::Years => (Unit::Year, 1.0),
            DateUnit::Quarters => (Unit::Month, 3.0),
            DateUnit::Months => (Unit::Month, 1.0),
            DateUnit::Weeks => (Unit::Week, 1.0),
            DateUnit::Days => (Unit::Day, 1.0),
            DateUnit::Hours => (Unit::Hour, 1.0),
            DateUnit::Minutes => (Unit::Minute, 1.0),
            DateUnit::Seconds => (Unit::Second, 1.0),
            DateUnit::Milliseconds => (Unit::Millisecond, 1.0),
        };
        if index + 1 == units.len() {
            let rest = cursor.until(ZonedDifference::new(end).largest(Unit::Year))?;
            parts.push((unit, rest.total((jiff_unit, &cursor))? / per));
        } else {
            let whole = cursor.until(ZonedDifference::new(end).largest(jiff_unit).smallest(jiff_unit))?;
            let count = (whole.total((jiff_unit, &cursor))? / per).trunc();
            cursor = cursor.checked_add(span(unit, count as i64)?)?;
            parts.push((unit, count));
        }
    }
    Ok(parts)
}

fn unit_name(unit: DateUnit) -> &'static str {
    match unit {
        DateUnit::Years => "years",
        DateUnit::Quarters => "quarters",
        DateUnit::Months => "months",
        DateUnit::Weeks => "weeks",
        DateUnit::Days => "days",
        DateUnit::Hours => "hours",
        DateUnit::Minutes => "minutes",
        DateUnit::Seconds => "seconds",
        DateUnit::Milliseconds => "milliseconds",
    }
}

/// A whole number as an integer, as JavaScript writes it.
fn number(amount: f64) -> Value {
    if amount.fract() == 0.0 && amount.abs() < 9e15 {
        json!(amount as i64)
    } else {
        Number::from_f64(amount).map_or(Value::Null, Value::Number)
    }
}

/// Luxon's `Duration.toISO`: quarters count as three months, milliseconds as seconds.
fn iso_duration(parts: &[(DateUnit, f64)]) -> String {
    let get =
        |wanted: DateUnit| parts.iter().filter(|(unit, _)| *unit == wanted).map(|(_, amount)| *amount).sum::<f64>();
    let text = |amount: f64| match number(amount) {
        Value::Number(number) => number.to_string(),
        _ => "0".to_string(),
    };
    let mut out = String::from("P");
    let months = get(DateUnit::Months) + 3.0 * get(DateUnit::Quarters);
    for (amount, letter) in
        [(get(DateUnit::Years), 'Y'), (months, 'M'), (get(DateUnit::Weeks), 'W'), (get(DateUnit::Days), 'D')]
    {
        if amount != 0.0 {
            out.push_str(&format!("{}{letter}", text(amount)));
        }
    }
    let seconds = get(DateUnit::Seconds) + get(DateUnit::Milliseconds) / 1000.0;
    let times = [(get(DateUnit::Hours), 'H'), (get(DateUnit::Minutes), 'M'), (seconds, 'S')];
    if times.iter().any(|(amount, _)| *amount != 0.0) {
        out.push('T');
        for (amount, letter) in times {
            if amount != 0.0 {
                out.push_str(&format!("{}{letter}", text(amount)));
            }
        }
    }
    if out == "P" { "PT0S".to_string() } else { out }
}

fn format_date(date: &Zoned, tokens: &[DateToken<'_>]) -> String {
    let mut out = String::new();
    for token in tokens {
        let field = match token {
            DateToken::Text(text) => {
                out.push_str(text);
                continue;
            }
            DateToken::Field(field) => *field,
        };
        let hour12 = match date.hour() % 12 {
            0 => 12,
            hour => hour,
        };
        let offset = date.offset().seconds();
        let sign = if offset < 0 { '-' } else { '+' };
        let (hours, minutes) = (offset.abs() / 3600, offset.abs() % 3600 / 60);
        let month = MONTHS[usize::try_from(date.month() - 1).unwrap_or_default()];
        let weekday = WEEKDAYS[usize::from(date.weekday().to_monday_zero_offset().unsigned_abs())];
        let piece = match field {
            "yyyy" => format!("{:04}", date.year()),
            "yy" => format!("{:02}", date.year().rem_euclid(100)),
            "MMMM" => month.to_string(),
            "MMM" => month[..3].to_string(),
            "MM" => format!("{:02}", date.month()),
            "M" => date.month().to_string(),
            "dd" => format!("{:02}", date.day()),
            "d" => date.day().to_string(),
            "EEEE" => weekday.to_string(),
            "EEE" => weekday[..3].to_string(),
            "HH" => format!("{:02}", date.hour()),
            "H" => date.hour().to_string(),
            "hh" => format!("{hour12:02}"),
            "h" => hour12.to_string(),
            "mm" => format!("{:02}", date.minute()),
            "m" => date.minute().to_string(),
            "ss" => format!("{:02}", date.second()),
            "s" => date.second().to_string(),
            "SSS" => format!("{:03}", date.millisecond()),
            "a" => (if date.hour() < 12 { "AM" } else { "PM" }).to_string(),
            "X" => date.timestamp().as_second().to_string(),
            "x" => date.timestamp().as_millisecond().to_string(),
            "ZZ" => format!("{sign}{hours:02}:{minutes:02}"),
            "Z" if minutes == 0 => format!("{sign}{hours}"),
            "Z" => format!("{sign}{hours}:{minutes:02}"),
            "WW" => format!("{:02}", date.date().iso_week_date().week()),
            other => other.to_string(),
        };
        out.push_str(&piece);
    }
    out
}
