// The part of Luxon (https://moment.github.io/luxon) that n8n workflows use: `DateTime` and
// `Duration`, written here rather than bundled. QuickJS has no `Intl`, so:
// - time zones are UTC, fixed offsets (`UTC+2`, `+05:30`) and IANA names, whose offsets Rust
//   reads from its copy of the tz database through `zoneOffset(name, millis)` (minutes east of
//   UTC, or `undefined` for an unknown name);
// - the only locale is English (`en-US`): month and weekday names, `toLocaleString` presets,
//   and zone abbreviations written as `UTC` or `GMT+2`.
// `defaultZoneName` is the zone of `$now` and of times read without an offset; `fixedNow`,
// when a number, is the time `now()` reads (milliseconds), so that tests can fix the clock.
(function (zoneOffset, defaultZoneName, fixedNow) {
  "use strict";

  const clock = () => (typeof fixedNow === "number" ? fixedNow : Date.now());

  const MINUTE = 60_000;
  const HOUR = 3_600_000;
  const DAY = 86_400_000;

  const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
  const WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

  const pad = (value, length = 2) => {
    const sign = value < 0 ? "-" : "";
    return sign + String(Math.abs(Math.trunc(value))).padStart(length, "0");
  };
  const isLeapYear = (year) => year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const daysInMonth = (year, month) => {
    const fixed = ((month - 1) % 12 + 12) % 12 + 1;
    const whole = year + Math.floor((month - 1) / 12);
    return fixed === 2 ? (isLeapYear(whole) ? 29 : 28) : [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][fixed - 1];
  };
  // Wall-clock fields as if in UTC, in milliseconds; years below 100 are years, not 19xx.
  const fieldsToMillis = (c) => {
    const date = new Date(Date.UTC(2000, 0, 1, c.hour, c.minute, c.second, c.millisecond));
    date.setUTCFullYear(c.year, c.month - 1, c.day);
    return date.getTime();
  };
  const millisToFields = (millis) => {
    const date = new Date(millis);
    return {
      year: date.getUTCFullYear(),
      month: date.getUTCMonth() + 1,
      day: date.getUTCDate(),
      hour: date.getUTCHours(),
      minute: date.getUTCMinutes(),
      second: date.getUTCSeconds(),
      millisecond: date.getUTCMilliseconds(),
    };
  };

  // Zones: `name`, whether the offset is `fixed`, and `offset(millis)` in minutes.
  const fixedZone = (minutes) => ({
    name: minutes === 0 ? "UTC" : `UTC${minutes > 0 ? "+" : "-"}${Math.floor(Math.abs(minutes) / 60)}${Math.abs(minutes) % 60 ? ":" + pad(Math.abs(minutes) % 60) : ""}`,
    fixed: true,
    offset: () => minutes,
  });
  const UTC = fixedZone(0);
  const offsetMinutes = (sign, hours, minutes) => (sign === "-" ? -1 : 1) * (Number(hours) * 60 + Number(minutes || 0));
  const zoneCache = new Map();
  // A zone from what Luxon accepts: a zone, a name, or a number of minutes. `undefined` for a
  // zone that does not exist.
  const findZone = (input) => {
    if (input === undefined || input === null) return defaultZone;
    if (typeof input === "object" && typeof input.offset === "function") return input;
    if (typeof input === "number") return fixedZone(input);
    const text = String(input);
    const lower = text.toLowerCase();
    if (lower === "local" || lower === "system" || lower === "default") return defaultZone;
    if (lower === "utc" || lower === "gmt" || lower === "z") return UTC;
    const fixed = /^(?:utc|gmt)?([+-])(\d{1,2})(?::?(\d{2}))?$/i.exec(text);
    if (fixed) return fixedZone(offsetMinutes(fixed[1], fixed[2], fixed[3]));
    if (zoneCache.has(text)) return zoneCache.get(text);
    if (zoneOffset(text, 0) === undefined) return undefined;
    const zone = { name: text, fixed: false, offset: (millis) => zoneOffset(text, millis) ?? 0 };
    zoneCache.set(text, zone);
    return zone;
  };
  const defaultZone = findZone(defaultZoneName || "UTC") ?? UTC;

  // The instant whose wall clock in `zone` reads `local` (milliseconds as if UTC), and its
  // offset; in a gap or an overlap of daylight saving, the one Luxon picks.
  const fromLocal = (local, zone, guess = zone.offset(local)) => {
    let utc = local - guess * MINUTE;
    const second = zone.offset(utc);
    if (guess === second) return [utc, guess];
    utc -= (second - guess) * MINUTE;
    const third = zone.offset(utc);
    if (second === third) return [utc, second];
    return [local - Math.min(second, third) * MINUTE, Math.max(second, third)];
  };

  const UNITS = ["years", "quarters", "months", "weeks", "days", "hours", "minutes", "seconds", "milliseconds"];
  const unitName = (unit) => {
    const text = String(unit);
    const lower = text.toLowerCase();
    const singular = { year: "years", quarter: "quarters", month: "months", week: "weeks", day: "days", hour: "hours", minute: "minutes", second: "seconds", millisecond: "milliseconds" };
    const short = { y: "years", q: "quarters", M: "months", w: "weeks", d: "days", h: "hours", hr: "hours", hrs: "hours", m: "minutes", min: "minutes", mins: "minutes", s: "seconds", sec: "seconds", secs: "seconds", ms: "milliseconds" };
    const name = UNITS.includes(lower) ? lower : singular[lower] ?? short[text];
    if (name === undefined) throw new Error(`Invalid unit ${text}`);
    return name;
  };
  // How long each unit is when it must be counted in milliseconds ("casual" in Luxon).
  const UNIT_MILLIS = {
    years: 365 * DAY,
    quarters: 91 * DAY,
    months: 30 * DAY,
    weeks: 7 * DAY,
    days: DAY,
    hours: HOUR,
    minutes: MINUTE,
    seconds: 1000,
    milliseconds: 1,
  };

  class Duration {
    #values;
    constructor(values) {
      this.#values = values;
      Object.freeze(this);
    }
    static fromObject(object) {
      if (Duration.isDuration(object)) return object;
      const values = {};
      for (const [unit, value] of Object.entries(object ?? {})) values[unitName(unit)] = Number(value);
      return new Duration(values);
    }
    static fromMillis(millis) {
      return new Duration({ milliseconds: Number(millis) });
    }
    static fromISO(text) {
      const match = /^([+-])?P(?:(-?[\d.]+)Y)?(?:(-?[\d.]+)M)?(?:(-?[\d.]+)W)?(?:(-?[\d.]+)D)?(?:T(?:(-?[\d.]+)H)?(?:(-?[\d.]+)M)?(?:(-?[\d.]+)S)?)?$/.exec(String(text));
      if (!match) return Duration.invalid("unparsable");
      const sign = match[1] === "-" ? -1 : 1;
      const values = {};
      ["years", "months", "weeks", "days", "hours", "minutes", "seconds"].forEach((unit, index) => {
        if (match[index + 2] !== undefined) values[unit] = sign * Number(match[index + 2]);
      });
      return new Duration(values);
    }
    static invalid(reason) {
      return new Duration({ invalid: reason });
    }
    static isDuration(value) {
      return value instanceof Duration;
    }
    get isValid() {
      return this.#values.invalid === undefined;
    }
    get invalidReason() {
      return this.#values.invalid ?? null;
    }
    get years() { return this.#values.years ?? 0; }
    get quarters() { return this.#values.quarters ?? 0; }
    get months() { return this.#values.months ?? 0; }
    get weeks() { return this.#values.weeks ?? 0; }
    get days() { return this.#values.days ?? 0; }
    get hours() { return this.#values.hours ?? 0; }
    get minutes() { return this.#values.minutes ?? 0; }
    get seconds() { return this.#values.seconds ?? 0; }
    get milliseconds() { return this.#values.milliseconds ?? 0; }
    get(unit) {
      return this[unitName(unit)];
    }
    toObject() {
      return this.isValid ? { ...this.#values } : {};
    }
    toMillis() {
      if (!this.isValid) return NaN;
      return UNITS.reduce((sum, unit) => sum + (this.#values[unit] ?? 0) * UNIT_MILLIS[unit], 0);
    }
    valueOf() {
      return this.toMillis();
    }
    as(unit) {
      return this.toMillis() / UNIT_MILLIS[unitName(unit)];
    }
    // The same length in `units`, the largest first; the last one takes the fraction.
    shiftTo(...units) {
      if (!this.isValid) return this;
      const wanted = UNITS.filter((unit) => units.map(unitName).includes(unit));
      if (wanted.length === 0) return this;
      let rest = this.toMillis();
      const values = {};
      wanted.forEach((unit, index) => {
        const whole = index === wanted.length - 1 ? rest / UNIT_MILLIS[unit] : Math.trunc(rest / UNIT_MILLIS[unit]);
        values[unit] = whole;
        rest -= whole * UNIT_MILLIS[unit];
      });
      return new Duration(values);
    }
    plus(other) {
      const add = Duration.fromObject(typeof other === "number" ? { milliseconds: other } : other);
      const mine = this.toObject();
      const theirs = add.toObject();
      const values = {};
      for (const unit of UNITS) {
        if (mine[unit] !== undefined || theirs[unit] !== undefined) values[unit] = (mine[unit] ?? 0) + (theirs[unit] ?? 0);
      }
      return new Duration(values);
    }
    minus(other) {
      return this.plus(Duration.fromObject(typeof other === "number" ? { milliseconds: other } : other).negate());
    }
    negate() {
      const values = {};
      for (const [unit, value] of Object.entries(this.#values)) values[unit] = unit === "invalid" ? value : value === 0 ? 0 : -value;
      return new Duration(values);
    }
    toISO() {
      if (!this.isValid) return null;
      const v = this.#values;
      let text = "P";
      if (v.years) text += `${v.years}Y`;
      if (v.months || v.quarters) text += `${(v.months ?? 0) + (v.quarters ?? 0) * 3}M`;
      if (v.weeks) text += `${v.weeks}W`;
      if (v.days) text += `${v.days}D`;
      if (v.hours || v.minutes || v.seconds || v.milliseconds) text += "T";
      if (v.hours) text += `${v.hours}H`;
      if (v.minutes) text += `${v.minutes}M`;
      if (v.seconds || v.milliseconds) text += `${Math.round(((v.seconds ?? 0) + (v.milliseconds ?? 0) / 1000) * 1000) / 1000}S`;
      return text === "P" ? "PT0S" : text;
    }
    toJSON() {
      return this.toISO();
    }
    toString() {
      return this.isValid ? this.toISO() : "Invalid Duration";
    }
  }

  // Tokens of a format string: runs of one letter, quoted text as a literal.
  const tokenize = (format) => {
    const tokens = [];
    let literal = false;
    let current = "";
    const push = (value, isLiteral) => {
      if (value.length > 0) tokens.push({ value, literal: isLiteral });
    };
    for (const char of String(format)) {
      if (char === "'") {
        if (literal) push(current, true);
        else push(current, /^[^A-Za-z]/.test(current) || current === "");
        current = "";
        literal = !literal;
      } else if (literal) {
        current += char;
      } else if (char === current[0]) {
        current += char;
      } else {
        push(current, !/^[A-Za-z]/.test(current));
        current = char;
      }
    }
    push(current, literal || !/^[A-Za-z]/.test(current));
    return tokens;
  };

  // Luxon's English presets, for `toLocaleString` and the `D`, `t`, `f` macro tokens.
  const PRESETS = {
    DATE_SHORT: "M/d/yyyy",
    DATE_MED: "LLL d, yyyy",
    DATE_MED_WITH_WEEKDAY: "EEE, LLL d, yyyy",
    DATE_FULL: "LLLL d, yyyy",
    DATE_HUGE: "EEEE, LLLL d, yyyy",
    TIME_SIMPLE: "h:mm a",
    TIME_WITH_SECONDS: "h:mm:ss a",
    TIME_WITH_SHORT_OFFSET: "h:mm:ss a ZZZZ",
    TIME_WITH_LONG_OFFSET: "h:mm:ss a ZZZZZ",
    TIME_24_SIMPLE: "HH:mm",
    TIME_24_WITH_SECONDS: "HH:mm:ss",
    TIME_24_WITH_SHORT_OFFSET: "HH:mm:ss ZZZZ",
    TIME_24_WITH_LONG_OFFSET: "HH:mm:ss ZZZZZ",
    DATETIME_SHORT: "M/d/yyyy, h:mm a",
    DATETIME_SHORT_WITH_SECONDS: "M/d/yyyy, h:mm:ss a",
    DATETIME_MED: "LLL d, yyyy, h:mm a",
    DATETIME_MED_WITH_SECONDS: "LLL d, yyyy, h:mm:ss a",
    DATETIME_MED_WITH_WEEKDAY: "EEE, LLL d, yyyy, h:mm a",
    DATETIME_FULL: "LLLL d, yyyy 'at' h:mm a ZZZZ",
    DATETIME_FULL_WITH_SECONDS: "LLLL d, yyyy 'at' h:mm:ss a ZZZZ",
    DATETIME_HUGE: "EEEE, LLLL d, yyyy 'at' h:mm a ZZZZZ",
    DATETIME_HUGE_WITH_SECONDS: "EEEE, LLLL d, yyyy 'at' h:mm:ss a ZZZZZ",
  };
  const MACROS = {
    D: PRESETS.DATE_SHORT,
    DD: PRESETS.DATE_MED,
    DDD: PRESETS.DATE_FULL,
    DDDD: PRESETS.DATE_HUGE,
    t: PRESETS.TIME_SIMPLE,
    tt: PRESETS.TIME_WITH_SECONDS,
    ttt: PRESETS.TIME_WITH_SHORT_OFFSET,
    tttt: PRESETS.TIME_WITH_LONG_OFFSET,
    T: PRESETS.TIME_24_SIMPLE,
    TT: PRESETS.TIME_24_WITH_SECONDS,
    TTT: PRESETS.TIME_24_WITH_SHORT_OFFSET,
    TTTT: PRESETS.TIME_24_WITH_LONG_OFFSET,
    f: PRESETS.DATETIME_SHORT,
    ff: PRESETS.DATETIME_MED,
    fff: PRESETS.DATETIME_FULL,
    ffff: PRESETS.DATETIME_HUGE,
    F: PRESETS.DATETIME_SHORT_WITH_SECONDS,
    FF: PRESETS.DATETIME_MED_WITH_SECONDS,
    FFF: PRESETS.DATETIME_FULL_WITH_SECONDS,
    FFFF: PRESETS.DATETIME_HUGE_WITH_SECONDS,
  };

  const offsetText = (minutes, style) => {
    const sign = minutes < 0 ? "-" : "+";
    const hours = Math.trunc(Math.abs(minutes) / 60);
    const rest = Math.abs(minutes) % 60;
    if (style === "narrow") return `${sign}${hours}${rest ? ":" + pad(rest) : ""}`;
    if (style === "techie") return `${sign}${pad(hours)}${pad(rest)}`;
    return `${sign}${pad(hours)}:${pad(rest)}`;
  };
  // `ZZZZ`: without Intl's names, UTC or the offset as `GMT+2`.
  const zoneAbbreviation = (dt) => (dt.offset === 0 ? "UTC" : `GMT${offsetText(dt.offset, "narrow")}`);

  // ISO week-numbering fields.
  const isoWeek = (c) => {
    const ordinal = dayOfYear(c);
    const weekday = weekdayOf(c);
    let week = Math.floor((ordinal - weekday + 10) / 7);
    let weekYear = c.year;
    if (week < 1) {
      weekYear -= 1;
      week = weeksInYear(weekYear);
    } else if (week > weeksInYear(c.year)) {
      weekYear += 1;
      week = 1;
    }
    return { week, weekYear };
  };
  const weeksInYear = (year) => {
    const p = (y) => (y + Math.floor(y / 4) - Math.floor(y / 100) + Math.floor(y / 400)) % 7;
    return p(year) === 4 || p(year - 1) === 3 ? 53 : 52;
  };
  const dayOfYear = (c) => Math.round((fieldsToMillis({ ...c, hour: 0, minute: 0, second: 0, millisecond: 0 }) - fieldsToMillis({ year: c.year, month: 1, day: 1, hour: 0, minute: 0, second: 0, millisecond: 0 })) / DAY) + 1;
  // 1 (Monday) to 7 (Sunday).
  const weekdayOf = (c) => new Date(fieldsToMillis({ ...c, hour: 0, minute: 0, second: 0, millisecond: 0 })).getUTCDay() || 7;

  const formatToken = (dt, token) => {
    const c = dt.c;
    switch (token) {
      case "S": return String(c.millisecond);
      case "u":
      case "SSS": return pad(c.millisecond, 3);
      case "uu": return pad(Math.floor(c.millisecond / 10), 2);
      case "uuu": return String(Math.floor(c.millisecond / 100));
      case "s": return String(c.second);
      case "ss": return pad(c.second);
      case "m": return String(c.minute);
      case "mm": return pad(c.minute);
      case "h": return String(c.hour % 12 === 0 ? 12 : c.hour % 12);
      case "hh": return pad(c.hour % 12 === 0 ? 12 : c.hour % 12);
      case "H": return String(c.hour);
      case "HH": return pad(c.hour);
      case "Z": return offsetText(dt.offset, "narrow");
      case "ZZ": return offsetText(dt.offset, "short");
      case "ZZZ": return offsetText(dt.offset, "techie");
      case "ZZZZ": return zoneAbbreviation(dt);
      case "ZZZZZ": return dt.zone.fixed ? zoneAbbreviation(dt) : dt.zoneName;
      case "z": return dt.zoneName;
      case "a": return c.hour < 12 ? "AM" : "PM";
      case "d": return String(c.day);
      case "dd": return pad(c.day);
      case "c":
      case "E": return String(dt.weekday);
      case "ccc":
      case "EEE": return WEEKDAYS[dt.weekday - 1].slice(0, 3);
      case "cccc":
      case "EEEE": return WEEKDAYS[dt.weekday - 1];
      case "ccccc":
      case "EEEEE": return WEEKDAYS[dt.weekday - 1][0];
      case "L":
      case "M": return String(c.month);
      case "LL":
      case "MM": return pad(c.month);
      case "LLL":
      case "MMM": return MONTHS[c.month - 1].slice(0, 3);
      case "LLLL":
      case "MMMM": return MONTHS[c.month - 1];
      case "LLLLL":
      case "MMMMM": return MONTHS[c.month - 1][0];
      case "y": return String(c.year);
      case "yy": return pad(c.year % 100, 2);
      case "yyyy": return pad(c.year, 4);
      case "yyyyyy": return pad(c.year, 6);
      case "G": return c.year > 0 ? "AD" : "BC";
      case "GG": return c.year > 0 ? "Anno Domini" : "Before Christ";
      case "kk": return pad(dt.weekYear % 100, 2);
      case "kkkk": return pad(dt.weekYear, 4);
      case "W": return String(dt.weekNumber);
      case "WW": return pad(dt.weekNumber);
      case "o": return String(dt.ordinal);
      case "ooo": return pad(dt.ordinal, 3);
      case "q": return String(dt.quarter);
      case "qq": return pad(dt.quarter);
      case "X": return String(Math.floor(dt.ts / 1000));
      case "x": return String(dt.ts);
      default:
        return MACROS[token] === undefined ? token : formatWith(dt, MACROS[token]);
    }
  };
  const formatWith = (dt, format) =>
    tokenize(format)
      .map((token) => (token.literal ? token.value : formatToken(dt, token.value)))
      .join("");

  // `fromFormat`: each token as a regular expression and how its match sets the fields.
  const monthIndex = (names, text) => names.findIndex((name) => name.toLowerCase() === text.toLowerCase()) + 1;
  const PARSERS = {
    yyyy: ["(\\d{4})", (f, v) => (f.year = Number(v))],
    yyyyy: ["(\\d{4,6})", (f, v) => (f.year = Number(v))],
    yyyyyy: ["(\\d{6})", (f, v) => (f.year = Number(v))],
    yy: ["(\\d{2})", (f, v) => (f.year = 2000 + Number(v) > 2060 ? 1900 + Number(v) : 2000 + Number(v))],
    y: ["(\\d{1,6})", (f, v) => (f.year = Number(v))],
    M: ["(\\d{1,2})", (f, v) => (f.month = Number(v))],
    MM: ["(\\d{2})", (f, v) => (f.month = Number(v))],
    MMM: ["([A-Za-z]{3})", (f, v) => (f.month = monthIndex(MONTHS.map((m) => m.slice(0, 3)), v))],
    MMMM: ["([A-Za-z]+)", (f, v) => (f.month = monthIndex(MONTHS, v))],
    d: ["(\\d{1,2})", (f, v) => (f.day = Number(v))],
    dd: ["(\\d{2})", (f, v) => (f.day = Number(v))],
    H: ["(\\d{1,2})", (f, v) => (f.hour = Number(v))],
    HH: ["(\\d{2})", (f, v) => (f.hour = Number(v))],
    h: ["(\\d{1,2})", (f, v) => (f.hour12 = Number(v))],
    hh: ["(\\d{2})", (f, v) => (f.hour12 = Number(v))],
    m: ["(\\d{1,2})", (f, v) => (f.minute = Number(v))],
    mm: ["(\\d{2})", (f, v) => (f.minute = Number(v))],
    s: ["(\\d{1,2})", (f, v) => (f.second = Number(v))],
    ss: ["(\\d{2})", (f, v) => (f.second = Number(v))],
    S: ["(\\d{1,3})", (f, v) => (f.millisecond = Number(v))],
    SSS: ["(\\d{3})", (f, v) => (f.millisecond = Number(v))],
    u: ["(\\d+)", (f, v) => (f.millisecond = Math.round(Number(`0.${v}`) * 1000))],
    a: ["(AM|PM|am|pm)", (f, v) => (f.pm = v.toUpperCase() === "PM")],
    E: ["([1-7])", () => {}],
    EEE: ["([A-Za-z]{3})", () => {}],
    EEEE: ["([A-Za-z]+)", () => {}],
    Z: ["([+-]\\d{1,2}(?::?\\d{2})?|Z)", (f, v) => (f.offset = v)],
    ZZ: ["([+-]\\d{2}:\\d{2}|Z)", (f, v) => (f.offset = v)],
    ZZZ: ["([+-]\\d{4}|Z)", (f, v) => (f.offset = v)],
    z: ["([A-Za-z_]+(?:/[A-Za-z0-9_+-]+)*)", (f, v) => (f.zone = v)],
    X: ["(-?\\d+)", (f, v) => (f.millis = Number(v) * 1000)],
    x: ["(-?\\d+)", (f, v) => (f.millis = Number(v))],
    o: ["(\\d{1,3})", (f, v) => (f.ordinal = Number(v))],
    ooo: ["(\\d{3})", (f, v) => (f.ordinal = Number(v))],
  };
  for (const [alias, token] of [["L", "M"], ["LL", "MM"], ["LLL", "MMM"], ["LLLL", "MMMM"], ["c", "E"], ["ccc", "EEE"], ["cccc", "EEEE"]]) {
    PARSERS[alias] = PARSERS[token];
  }
  const escapeRegExp = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

  const parseOffset = (text) => {
    if (text === "Z" || text === "z") return 0;
    const match = /^([+-])(\d{2}):?(\d{2})?$/.exec(text) ?? /^([+-])(\d{1,2})(?::(\d{2}))?$/.exec(text);
    return match ? offsetMinutes(match[1], match[2], match[3]) : undefined;
  };

  class DateTime {
    #ts;
    #zone;
    #offset;
    #c;
    #invalid;
    constructor(ts, zone, offset, invalid) {
      this.#invalid = invalid ?? (Number.isFinite(ts) && Math.abs(ts) <= 8.64e15 ? undefined : "unparsable");
      this.#ts = this.#invalid === undefined ? ts : NaN;
      this.#zone = zone;
      this.#offset = this.#invalid === undefined ? offset ?? zone.offset(ts) : NaN;
      this.#c = this.#invalid === undefined ? millisToFields(ts + this.#offset * MINUTE) : undefined;
      Object.freeze(this);
    }

    // Making them.
    static now() {
      return new DateTime(clock(), defaultZone);
    }
    static local(...fields) {
      return DateTime.#fromParts(fields, defaultZone);
    }
    static utc(...fields) {
      return DateTime.#fromParts(fields, UTC);
    }
    static #fromParts(fields, zone) {
      if (fields.length === 0) return new DateTime(clock(), zone);
      const [year, month = 1, day = 1, hour = 0, minute = 0, second = 0, millisecond = 0] = fields;
      return DateTime.fromObject({ year, month, day, hour, minute, second, millisecond }, { zone });
    }
    static invalid(reason) {
      return new DateTime(NaN, UTC, 0, String(reason ?? "invalid"));
    }
    static isDateTime(value) {
      return value instanceof DateTime;
    }
    static #zoneOf(options) {
      return findZone(options?.zone);
    }
    static fromMillis(millis, options) {
      const zone = DateTime.#zoneOf(options);
      if (zone === undefined) return DateTime.invalid("unsupported zone");
      if (typeof millis !== "number") throw new TypeError(`fromMillis requires a numerical input, but received a ${typeof millis} with value ${millis}`);
      return new DateTime(millis, zone);
    }
    static fromSeconds(seconds, options) {
      if (typeof seconds !== "number") throw new TypeError("fromSeconds requires a numerical input");
      return DateTime.fromMillis(seconds * 1000, options);
    }
    static fromJSDate(date, options) {
      const zone = DateTime.#zoneOf(options);
      if (zone === undefined) return DateTime.invalid("unsupported zone");
      const millis = date instanceof Date ? date.getTime() : NaN;
      return Number.isNaN(millis) ? DateTime.invalid("invalid input") : new DateTime(millis, zone);
    }
    // Fields not given default to the start of the unit above them, or to today's.
    static fromObject(object, options) {
      const zone = DateTime.#zoneOf(options);
      if (zone === undefined) return DateTime.invalid("unsupported zone");
      const values = {};
      for (const [unit, value] of Object.entries(object ?? {})) values[unitName(unit).replace(/s$/, "")] = Number(value);
      const today = new DateTime(clock(), zone).c;
      const order = ["year", "month", "day", "hour", "minute", "second", "millisecond"];
      const first = order.findIndex((unit) => values[unit] !== undefined);
      const c = {};
      order.forEach((unit, index) => {
        c[unit] = values[unit] ?? (first === -1 || index < first ? today[unit] : unit === "month" || unit === "day" ? 1 : 0);
      });
      return DateTime.#fromFields(c, zone);
    }
    static #fromFields(c, zone, offset) {
      const valid =
        Number.isInteger(c.year) && c.month >= 1 && c.month <= 12 && c.day >= 1 && c.day <= daysInMonth(c.year, c.month) &&
        c.hour >= 0 && c.hour <= 23 && c.minute >= 0 && c.minute <= 59 && c.second >= 0 && c.second <= 59 &&
        c.millisecond >= 0 && c.millisecond <= 999;
      if (!valid) return DateTime.invalid("unit out of range");
      const local = fieldsToMillis(c);
      if (offset !== undefined) return new DateTime(local - offset * MINUTE, zone);
      const [ts, found] = fromLocal(local, zone);
      return new DateTime(ts, zone, found);
    }
    // A time read in `zone`, or at `offset` when the text had one: kept in that offset with
    // `setZone`, else shown in `zone`.
    static #read(c, offset, options) {
      const zone = DateTime.#zoneOf(options);
      if (zone === undefined) return DateTime.invalid("unsupported zone");
      if (offset === undefined) return DateTime.#fromFields(c, zone);
      const read = DateTime.#fromFields(c, fixedZone(offset), offset);
      if (!read.isValid) return read;
      return options?.setZone ? read : read.setZone(zone);
    }
    static fromISO(text, options) {
      const match =
        /^([+-]\d{6}|\d{4})(?:-?(\d{2})(?:-?(\d{2}))?)?(?:[T ](\d{2})(?::?(\d{2})(?::?(\d{2})(?:[.,](\d{1,9}))?)?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?(?:\[([^\]]+)\])?$/.exec(String(text ?? ""));
      if (!match || (match[8] !== undefined && match[4] === undefined)) {
        const time = /^T?(\d{2}):?(\d{2})(?::?(\d{2})(?:[.,](\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/.exec(String(text ?? ""));
        if (!time) return DateTime.invalid("unparsable");
        const today = DateTime.now().setZone(DateTime.#zoneOf(options) ?? UTC).c;
        return DateTime.#read(
          { year: today.year, month: today.month, day: today.day, hour: Number(time[1]), minute: Number(time[2]), second: Number(time[3] ?? 0), millisecond: time[4] ? Math.floor(Number(`0.${time[4]}`) * 1000) : 0 },
          time[5] === undefined ? undefined : parseOffset(time[5]),
          options,
        );
      }
      const [, year, month, day, hour, minute, second, fraction, offset, zoneName] = match;
      const c = {
        year: Number(year),
        month: Number(month ?? 1),
        day: Number(day ?? 1),
        hour: Number(hour ?? 0),
        minute: Number(minute ?? 0),
        second: Number(second ?? 0),
        millisecond: fraction ? Math.floor(Number(`0.${fraction}`) * 1000) : 0,
      };
      if (zoneName !== undefined && offset === undefined) return DateTime.#read(c, undefined, { ...options, zone: zoneName });
      return DateTime.#read(c, offset === undefined ? undefined : parseOffset(offset), options);
    }
    static fromSQL(text, options) {
      return DateTime.fromISO(String(text ?? "").replace(" ", "T").replace(/ (?=[+-]\d|Z$)/, ""), options);
    }
    static fromRFC2822(text, options) {
      const match = /^(?:[A-Za-z]{3},\s*)?(\d{1,2})\s+([A-Za-z]{3})\s+(\d{2,4})\s+(\d{2}):(\d{2})(?::(\d{2}))?\s+([+-]\d{4}|UT|GMT|Z)$/.exec(String(text ?? "").trim());
      if (!match) return DateTime.invalid("unparsable");
      const month = monthIndex(MONTHS.map((m) => m.slice(0, 3)), match[2]);
      const year = Number(match[3]) < 100 ? 2000 + Number(match[3]) : Number(match[3]);
      const offset = /^[+-]/.test(match[7]) ? parseOffset(match[7]) : 0;
      return DateTime.#read({ year, month, day: Number(match[1]), hour: Number(match[4]), minute: Number(match[5]), second: Number(match[6] ?? 0), millisecond: 0 }, offset, options);
    }
    static fromHTTP(text, options) {
      return DateTime.fromRFC2822(text, options);
    }
    static fromFormat(text, format, options) {
      const parsers = [];
      let pattern = "";
      for (const token of tokenize(format)) {
        const expanded = !token.literal && MACROS[token.value] !== undefined ? tokenize(MACROS[token.value]) : [token];
        for (const part of expanded) {
          const parser = part.literal ? undefined : PARSERS[part.value];
          if (parser === undefined) {
            pattern += escapeRegExp(part.value);
          } else {
            pattern += parser[0];
            parsers.push(parser[1]);
          }
        }
      }
      const match = new RegExp(`^${pattern}$`, "i").exec(String(text ?? ""));
      if (!match) return DateTime.invalid("unparsable");
      const found = {};
      parsers.forEach((set, index) => set(found, match[index + 1]));
      if (found.millis !== undefined) return DateTime.fromMillis(found.millis, options);
      if (found.hour12 !== undefined) found.hour = (found.hour12 % 12) + (found.pm ? 12 : 0);
      else if (found.pm !== undefined && found.hour !== undefined) found.hour = (found.hour % 12) + (found.pm ? 12 : 0);
      const today = new DateTime(clock(), DateTime.#zoneOf(options) ?? UTC).c;
      const c = {
        year: found.year ?? today.year,
        month: found.month ?? 1,
        day: found.day ?? 1,
        hour: found.hour ?? 0,
        minute: found.minute ?? 0,
        second: found.second ?? 0,
        millisecond: found.millisecond ?? 0,
      };
      if (found.ordinal !== undefined) {
        const date = millisToFields(fieldsToMillis({ ...c, month: 1, day: 1 }) + (found.ordinal - 1) * DAY);
        c.month = date.month;
        c.day = date.day;
      }
      if (found.zone !== undefined) return DateTime.#read(c, undefined, { ...options, zone: found.zone, setZone: true });
      return DateTime.#read(c, found.offset === undefined ? undefined : parseOffset(found.offset), options);
    }
    static max(...dates) {
      return dates.length === 0 ? undefined : dates.reduce((a, b) => (b.valueOf() > a.valueOf() ? b : a));
    }
    static min(...dates) {
      return dates.length === 0 ? undefined : dates.reduce((a, b) => (b.valueOf() < a.valueOf() ? b : a));
    }

    // Reading them.
    get c() {
      return this.#c;
    }
    get isValid() {
      return this.#invalid === undefined;
    }
    get invalidReason() {
      return this.#invalid ?? null;
    }
    get ts() {
      return this.#ts;
    }
    get zone() {
      return this.#zone;
    }
    get zoneName() {
      return this.isValid ? this.#zone.name : null;
    }
    get offset() {
      return this.#offset;
    }
    get isOffsetFixed() {
      return this.#zone.fixed;
    }
    get isInDST() {
      if (!this.isValid || this.#zone.fixed) return false;
      const year = this.#c.year;
      const january = this.#zone.offset(Date.UTC(year, 0, 1));
      const july = this.#zone.offset(Date.UTC(year, 6, 1));
      return january !== july && this.#offset === Math.max(january, july);
    }
    get year() { return this.isValid ? this.#c.year : NaN; }
    get month() { return this.isValid ? this.#c.month : NaN; }
    get day() { return this.isValid ? this.#c.day : NaN; }
    get hour() { return this.isValid ? this.#c.hour : NaN; }
    get minute() { return this.isValid ? this.#c.minute : NaN; }
    get second() { return this.isValid ? this.#c.second : NaN; }
    get millisecond() { return this.isValid ? this.#c.millisecond : NaN; }
    get weekday() { return this.isValid ? weekdayOf(this.#c) : NaN; }
    get ordinal() { return this.isValid ? dayOfYear(this.#c) : NaN; }
    get quarter() { return this.isValid ? Math.ceil(this.#c.month / 3) : NaN; }
    get weekNumber() { return this.isValid ? isoWeek(this.#c).week : NaN; }
    get weekYear() { return this.isValid ? isoWeek(this.#c).weekYear : NaN; }
    get weeksInWeekYear() { return this.isValid ? weeksInYear(this.weekYear) : NaN; }
    get daysInMonth() { return this.isValid ? daysInMonth(this.#c.year, this.#c.month) : NaN; }
    get daysInYear() { return this.isValid ? (isLeapYear(this.#c.year) ? 366 : 365) : NaN; }
    get isInLeapYear() { return this.isValid && isLeapYear(this.#c.year); }
    get monthLong() { return this.isValid ? MONTHS[this.#c.month - 1] : null; }
    get monthShort() { return this.isValid ? MONTHS[this.#c.month - 1].slice(0, 3) : null; }
    get weekdayLong() { return this.isValid ? WEEKDAYS[this.weekday - 1] : null; }
    get weekdayShort() { return this.isValid ? WEEKDAYS[this.weekday - 1].slice(0, 3) : null; }
    get locale() { return "en-US"; }
    get(unit) {
      return this[unit];
    }

    // Writing them out.
    toMillis() {
      return this.#ts;
    }
    valueOf() {
      return this.#ts;
    }
    toSeconds() {
      return this.#ts / 1000;
    }
    toUnixInteger() {
      return Math.floor(this.#ts / 1000);
    }
    toJSDate() {
      return new Date(this.#ts);
    }
    toObject() {
      return this.isValid ? { ...this.#c } : {};
    }
    toISODate() {
      return this.isValid ? `${this.#c.year > 9999 || this.#c.year < 0 ? (this.#c.year < 0 ? "-" : "+") + pad(Math.abs(this.#c.year), 6) : pad(this.#c.year, 4)}-${pad(this.#c.month)}-${pad(this.#c.day)}` : null;
    }
    toISOTime(options = {}) {
      if (!this.isValid) return null;
      const c = this.#c;
      let text = `${pad(c.hour)}:${pad(c.minute)}`;
      if (!(options.suppressSeconds && c.second === 0 && c.millisecond === 0)) {
        text += `:${pad(c.second)}`;
        if (!(options.suppressMilliseconds && c.millisecond === 0)) text += `.${pad(c.millisecond, 3)}`;
      }
      if (options.includeOffset !== false) text += this.#zone.fixed && this.#offset === 0 ? "Z" : offsetText(this.#offset, "short");
      return text;
    }
    toISO(options = {}) {
      return this.isValid ? `${this.toISODate()}T${this.toISOTime(options)}` : null;
    }
    toJSON() {
      return this.toISO();
    }
    toString() {
      return this.isValid ? this.toISO() : "Invalid DateTime";
    }
    toSQLDate() {
      return this.toISODate();
    }
    toSQLTime(options = {}) {
      if (!this.isValid) return null;
      const c = this.#c;
      const offset = options.includeOffset === false ? "" : ` ${this.#zone.fixed && this.#offset === 0 ? "Z" : offsetText(this.#offset, "short")}`;
      return `${pad(c.hour)}:${pad(c.minute)}:${pad(c.second)}.${pad(c.millisecond, 3)}${offset}`;
    }
    toSQL(options) {
      return this.isValid ? `${this.toISODate()} ${this.toSQLTime(options)}` : null;
    }
    toRFC2822() {
      return this.isValid ? formatWith(this, "EEE, dd LLL yyyy HH:mm:ss ZZZ") : null;
    }
    toHTTP() {
      return this.isValid ? formatWith(this.toUTC(), "EEE, dd LLL yyyy HH:mm:ss 'GMT'") : null;
    }
    toFormat(format) {
      return this.isValid ? formatWith(this, format) : "Invalid DateTime";
    }
    // Presets are Luxon's `DateTime.DATE_SHORT` and the like, written as en-US writes them;
    // other option objects are read as their nearest preset.
    toLocaleString(preset = PRESETS.DATE_SHORT) {
      if (!this.isValid) return "Invalid DateTime";
      if (typeof preset === "string") return formatWith(this, preset);
      const o = preset ?? {};
      const date = o.month === "long" || o.month === "short" ? `${o.weekday ? "EEE, " : ""}${o.month === "long" ? "LLLL" : "LLL"} d, yyyy` : o.year || o.month || o.day ? "M/d/yyyy" : "";
      const time = o.hour ? `${o.hourCycle === "h23" || o.hour12 === false ? "HH" : "h"}:mm${o.second ? ":ss" : ""}${o.hourCycle === "h23" || o.hour12 === false ? "" : " a"}` : "";
      return formatWith(this, [date, time].filter(Boolean).join(", ") || PRESETS.DATE_SHORT);
    }
    toRelative(options = {}) {
      if (!this.isValid) return null;
      const base = options.base ?? DateTime.now();
      const units = ["years", "months", "days", "hours", "minutes", "seconds"];
      const chosen = options.unit ? [unitName(options.unit)] : units;
      const difference = this.diff(base, chosen).toObject();
      for (const unit of chosen) {
        const count = Math.trunc(difference[unit] ?? 0);
        if (count !== 0 || unit === chosen[chosen.length - 1]) {
          const name = Math.abs(count) === 1 ? unit.slice(0, -1) : unit;
          return count >= 0 ? `in ${count} ${name}` : `${-count} ${name} ago`;
        }
      }
      return null;
    }

    // Changing them; each gives a new DateTime.
    setZone(zone, options = {}) {
      const found = findZone(zone);
      if (found === undefined) return DateTime.invalid("unsupported zone");
      if (!this.isValid) return this;
      if (options.keepLocalTime || options.keepCalendarTime) return DateTime.#fromFields(this.#c, found);
      return new DateTime(this.#ts, found);
    }
    toUTC(offset = 0, options = {}) {
      return this.setZone(fixedZone(offset), options);
    }
    toLocal() {
      return this.setZone(defaultZone);
    }
    setLocale() {
      return this;
    }
    reconfigure() {
      return this;
    }
    set(values) {
      if (!this.isValid) return this;
      const c = { ...this.#c };
      for (const [unit, value] of Object.entries(values ?? {})) {
        const name = unit === "weekday" ? "weekday" : unitName(unit).replace(/s$/, "");
        if (name === "weekday") {
          const moved = millisToFields(fieldsToMillis(c) + (Number(value) - weekdayOf(c)) * DAY);
          Object.assign(c, { year: moved.year, month: moved.month, day: moved.day });
        } else {
          c[name] = Number(value);
        }
      }
      if (values?.year !== undefined || values?.month !== undefined) c.day = Math.min(c.day, daysInMonth(c.year, c.month));
      return DateTime.#fromFields(c, this.#zone);
    }
    plus(duration) {
      if (!this.isValid) return this;
      const d = Duration.fromObject(typeof duration === "number" ? { milliseconds: duration } : duration);
      const c = { ...this.#c };
      c.year += d.years;
      const months = c.month - 1 + d.months + d.quarters * 3;
      c.year += Math.floor(months / 12);
      c.month = ((months % 12) + 12) % 12 + 1;
      c.day = Math.min(c.day, daysInMonth(c.year, c.month));
      let local = fieldsToMillis(c) + (d.days + d.weeks * 7) * DAY;
      const [ts] = fromLocal(local, this.#zone, this.#offset);
      const exact = d.hours * HOUR + d.minutes * MINUTE + d.seconds * 1000 + d.milliseconds;
      return new DateTime(ts + exact, this.#zone);
    }
    minus(duration) {
      return this.plus(Duration.fromObject(typeof duration === "number" ? { milliseconds: duration } : duration).negate());
    }
    startOf(unit) {
      if (!this.isValid) return this;
      const name = unitName(unit);
      const c = { ...this.#c };
      const order = ["years", "quarters", "months", "weeks", "days", "hours", "minutes", "seconds"];
      const index = order.indexOf(name);
      if (index < 0) return this;
      if (name === "weeks") {
        const monday = millisToFields(fieldsToMillis(c) - (weekdayOf(c) - 1) * DAY);
        return DateTime.#fromFields({ ...monday, hour: 0, minute: 0, second: 0, millisecond: 0 }, this.#zone);
      }
      if (name === "years") c.month = 1;
      if (name === "quarters") c.month = (Math.ceil(c.month / 3) - 1) * 3 + 1;
      if (index <= 2) c.day = 1;
      if (index <= 4) c.hour = 0;
      if (index <= 5) c.minute = 0;
      if (index <= 6) c.second = 0;
      c.millisecond = 0;
      return DateTime.#fromFields(c, this.#zone);
    }
    endOf(unit) {
      if (!this.isValid) return this;
      return this.startOf(unit).plus({ [unitName(unit)]: 1 }).minus(1);
    }
    // `this` minus `other`, in `units` (milliseconds by default), as Luxon counts it: whole
    // calendar units first, the smallest unit asked for takes the fraction.
    diff(other, units = "milliseconds") {
      if (!this.isValid || !other?.isValid) return Duration.invalid("created by diffing an invalid DateTime");
      const wanted = UNITS.filter((unit) => (Array.isArray(units) ? units : [units]).map(unitName).includes(unit));
      const otherIsLater = other.valueOf() > this.valueOf();
      const earlier = otherIsLater ? this : other.setZone(this.#zone);
      const later = otherIsLater ? other.setZone(this.#zone) : this;
      const result = diffBetween(earlier, later, wanted);
      return otherIsLater ? result.negate() : result;
    }
    diffNow(units) {
      return this.diff(DateTime.now(), units);
    }
    hasSame(other, unit) {
      if (!this.isValid || !other?.isValid) return false;
      const adjusted = other.setZone(this.#zone, { keepLocalTime: false });
      return this.startOf(unit).valueOf() <= adjusted.valueOf() && adjusted.valueOf() <= this.endOf(unit).valueOf();
    }
    equals(other) {
      return DateTime.isDateTime(other) && this.valueOf() === other.valueOf() && this.zoneName === other.zoneName;
    }
  }
  for (const [name, format] of Object.entries(PRESETS)) {
    Object.defineProperty(DateTime, name, { value: format, enumerable: true });
  }

  const dayDiff = (earlier, later) => {
    const dayStart = (dt) => Date.UTC(dt.year, dt.month - 1, dt.day);
    return Math.floor((dayStart(later) - dayStart(earlier)) / DAY);
  };
  // Luxon's `diff`, from its source.
  const diffBetween = (earlier, later, units) => {
    const differs = [
      ["years", (a, b) => b.year - a.year],
      ["quarters", (a, b) => b.quarter - a.quarter + (b.year - a.year) * 4],
      ["months", (a, b) => b.month - a.month + (b.year - a.year) * 12],
      ["weeks", (a, b) => {
        const days = dayDiff(a, b);
        return (days - (days % 7)) / 7;
      }],
      ["days", dayDiff],
    ];
    const results = {};
    let cursor = earlier;
    let lowestOrder;
    let highWater;
    for (const [unit, differ] of differs) {
      if (!units.includes(unit)) continue;
      lowestOrder = unit;
      results[unit] = differ(cursor, later);
      highWater = earlier.plus(results);
      if (highWater > later) {
        results[unit]--;
        cursor = earlier.plus(results);
        if (cursor > later) {
          highWater = cursor;
          results[unit]--;
          cursor = earlier.plus(results);
        }
      } else {
        cursor = highWater;
      }
    }
    const remaining = later - cursor;
    const lower = units.filter((unit) => ["hours", "minutes", "seconds", "milliseconds"].includes(unit));
    if (lower.length === 0) {
      if (lowestOrder === undefined) return Duration.fromObject(results);
      if (highWater < later) highWater = cursor.plus({ [lowestOrder]: 1 });
      if (highWater.valueOf() !== cursor.valueOf()) results[lowestOrder] = (results[lowestOrder] || 0) + remaining / (highWater - cursor);
      return Duration.fromObject(results);
    }
    return Duration.fromMillis(remaining).shiftTo(...lower).plus(Duration.fromObject(results));
  };

  return { DateTime, Duration };
});
