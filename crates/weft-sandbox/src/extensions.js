// n8n's data transformation functions ("extension methods": `"a@b.io".extractDomain()`,
// `[1, 2].sum()`, `$now.format('yyyy')`), as methods on the prototypes of this realm only.
// n8n rewrites expressions to call them; here they are ordinary methods, so code nodes see them
// too. They are defined non-enumerable and writable, so that `for … in`, JSON and an object's
// own field of the same name are unaffected. Behaviour follows n8n's documentation.
// `digest(algorithm, text)` is Rust's hex digest (md5, sha1, sha224 … sha512), or `undefined`.
(function (DateTime, digest) {
  "use strict";

  const fail = (message) => {
    throw new Error(message);
  };
  // Every name installed, which `engine.rs` must know to load this file when a call needs it.
  const installed = new Set();
  const install = (prototype, methods) => {
    for (const [name, method] of Object.entries(methods)) {
      installed.add(name);
      Object.defineProperty(prototype, name, { value: method, writable: true, enumerable: false, configurable: true });
    }
  };
  const isPlainObject = (value) => value !== null && typeof value === "object" && !Array.isArray(value);

  const EMAIL = /(([^<>()[\]\\.,;:\s@"]+(\.[^<>()[\]\\.,;:\s@"]+)*)|(".+"))@((\[[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}])|(([a-zA-Z\-0-9]+\.)+[a-zA-Z]{2,}))/;
  const HOST = "(?:(?:[-\\w]+\\.)+(?:[a-zA-Z]{2,}|xn--[a-zA-Z0-9]+)|localhost|\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3})";
  const URL_IN_TEXT = new RegExp(`(?:(?:https?|ftp)://)(?:www\\.)?(${HOST})(?::\\d+)?(?:/[^\\s?#]*)?(?:\\?[^\\s#]*)?#?[^\\s]*`, "i");
  const URL_EXACT = new RegExp(`^${URL_IN_TEXT.source}$`, "i");
  const DOMAIN = new RegExp(`^(?:www\\.)?(${HOST})(?::\\d+)?(?:/[^\\s?]*)?(?:\\?[^\\s#]*)?(?:#[^\\s]*)?$`, "i");
  const DOMAIN_IN_URL = new RegExp(`^(?:(?:https?|ftp)://)?(?:mailto:)?(?://)?((?:www\\.)?${HOST})(?::\\d+)?(?:/[^\\s?]*)?(?:\\?[^\\s#]*)?(?:#[^\\s]*)?$`, "i");
  const CURRENCY = /[$€£¥₹₩₽¢]/gu;
  const SMALL_WORDS = new Set(["a", "an", "and", "as", "at", "but", "by", "for", "in", "nor", "of", "on", "or", "so", "the", "to", "up", "yet", "vs"]);

  // Base64 of text as UTF-8, and back; QuickJS has no `btoa`.
  const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const utf8 = (text) => Array.from(unescape(encodeURIComponent(text)), (char) => char.charCodeAt(0));
  const base64Encode = (text) => {
    const bytes = utf8(text);
    let out = "";
    for (let i = 0; i < bytes.length; i += 3) {
      const [a, b = 0, c = 0] = [bytes[i], bytes[i + 1], bytes[i + 2]];
      const n = (a << 16) | (b << 8) | c;
      out += ALPHABET[(n >> 18) & 63] + ALPHABET[(n >> 12) & 63];
      out += i + 1 < bytes.length ? ALPHABET[(n >> 6) & 63] : "=";
      out += i + 2 < bytes.length ? ALPHABET[n & 63] : "=";
    }
    return out;
  };
  const base64Decode = (text) => {
    const clean = String(text).replace(/[\s=]/g, "").replace(/-/g, "+").replace(/_/g, "/");
    let bits = 0;
    let value = 0;
    let binary = "";
    for (const char of clean) {
      const index = ALPHABET.indexOf(char);
      if (index < 0) fail("the string is not base64");
      value = (value << 6) | index;
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        binary += String.fromCharCode((value >> bits) & 255);
      }
    }
    try {
      return decodeURIComponent(escape(binary));
    } catch {
      return binary;
    }
  };

  // What `toDateTime()` reads from a string: ISO 8601, RFC 2822 / HTTP, SQL, or milliseconds.
  const parseDateTime = (text) => {
    for (const read of [DateTime.fromISO, DateTime.fromRFC2822, DateTime.fromSQL]) {
      const dt = read(text);
      if (dt.isValid) return dt;
    }
    if (/^-?\d{10,}$/.test(text)) return DateTime.fromMillis(Number(text));
    const millis = Date.parse(text);
    return Number.isNaN(millis) ? fail("cannot convert to Luxon DateTime") : DateTime.fromMillis(millis);
  };
  const numberToDateTime = (number, format = "ms") => {
    switch (format) {
      case "ms": return DateTime.fromMillis(number);
      case "s": return DateTime.fromSeconds(number);
      case "us": return DateTime.fromMillis(number / 1000);
      // Days since 1899-12-30, as spreadsheets count them.
      case "excel": return DateTime.fromMillis((number - 25569) * 86_400_000, { zone: "UTC" });
      default: return fail(`unknown format ${format}: use ms, s, us or excel`);
    }
  };

  install(String.prototype, {
    isEmpty() { return this.length === 0; },
    isNotEmpty() { return this.length > 0; },
    isBlank() { return this.trim() === ""; },
    isNotBlank() { return this.trim() !== ""; },
    isEmail() { return EMAIL.test(this) && !this.includes(" "); },
    isUrl() { return URL_EXACT.test(this); },
    isDomain() { return DOMAIN.test(this); },
    isNumeric() { return !this.includes(" ") && !Number.isNaN(Number(this)) && !Number.isNaN(parseFloat(this)); },
    extractEmail() { return EMAIL.exec(this)?.[0]; },
    extractUrl() { return URL_IN_TEXT.exec(this)?.[0]; },
    extractDomain() {
      const text = String(this);
      if (EMAIL.test(text) && !text.includes(" ")) return EMAIL.exec(text)[5];
      return DOMAIN_IN_URL.exec(text)?.[1];
    },
    extractUrlPath() {
      const match = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*([^?#]*)/i.exec(this);
      return match ? match[1] || "/" : undefined;
    },
    toJsonString() { return JSON.stringify(String(this)); },
    parseJson() {
      try {
        return JSON.parse(this);
      } catch {
        return fail(this.includes("'") ? "Parsing failed. Check you're using double quotes" : "Parsing failed");
      }
    },
    toBoolean() {
      const lower = this.toLowerCase();
      return lower.length > 0 && !["false", "no", "0"].includes(lower);
    },
    toNumber() {
      const number = Number(this.replace(CURRENCY, ""));
      return Number.isNaN(number) ? fail("cannot convert to number") : number;
    },
    toInt(radix) {
      const number = parseInt(this.replace(CURRENCY, ""), radix);
      return Number.isNaN(number) ? fail("cannot convert to integer") : number;
    },
    toFloat() {
      if (this.includes(",")) fail("cannot convert to float, expected . as decimal separator");
      const number = parseFloat(this.replace(CURRENCY, ""));
      return Number.isNaN(number) ? fail("cannot convert to float") : number;
    },
    toDateTime(format) {
      const text = String(this);
      if (format === "ms" || format === "s" || format === "us" || format === "excel") return numberToDateTime(Number(text), format);
      if (format) return DateTime.fromFormat(text, format);
      return parseDateTime(text);
    },
    toDate() {
      const date = new Date(Date.parse(this));
      if (Number.isNaN(date.getTime())) fail("cannot convert to date");
      if (!this.includes(":")) date.setUTCHours(0, 0, 0, 0);
      return date;
    },
    toSentenceCase() {
      let rest = this.toLowerCase();
      let out = "";
      while (/\p{L}/u.test(rest)) {
        const at = rest.search(/\p{L}/u);
        rest = rest.slice(0, at) + rest[at].toUpperCase() + rest.slice(at + 1);
        const stop = rest.search(/[!?.]/);
        if (stop === -1) return out + rest;
        out += rest.slice(0, stop + 1);
        rest = rest.slice(stop + 1);
      }
      return out + rest;
    },
    toTitleCase() {
      return this.replace(/[^\s]+/g, (word, offset) =>
        offset > 0 && SMALL_WORDS.has(word.toLowerCase()) ? word : word[0].toUpperCase() + word.slice(1).toLowerCase(),
      );
    },
    toSnakeCase() {
      return this.toLowerCase().replace(/[ -]/g, "_").replace(/[\u2000-\u206F\u2E00-\u2E7F\\'!"#$%&()*+,./:;<=>?@[\]^`{|}~]/g, "");
    },
    urlEncode(entire = false) { return entire ? encodeURI(this) : encodeURIComponent(this); },
    urlDecode(entire = false) { return entire ? decodeURI(this) : decodeURIComponent(this); },
    base64Encode() { return base64Encode(String(this)); },
    base64Decode() { return base64Decode(String(this)); },
    removeTags() { return this.replace(/<[^>]*>?/gm, ""); },
    removeMarkdown() {
      return this.replace(/^([\s\t]*)([*\-+]|\d\.)\s+/gm, "$1")
        .replace(/\n={2,}/g, "\n")
        .replace(/~~/g, "")
        .replace(/`{3}.*\n/g, "")
        .replace(/<[^>]+>/g, "")
        .replace(/!\[(.*?)\][[(].*?[\])]/g, "")
        .replace(/\[(.*?)\][[(].*?[\])]/g, "$1")
        .replace(/^>\s?/gm, "")
        .replace(/^#{1,6}\s*([^#]*)\s*(#{1,6})?/gm, "$1")
        .replace(/([*_]{1,3})(\S.*?\S|\S)\1/g, "$2")
        .replace(/`(.+?)`/g, "$1")
        .replace(/\n{2,}/g, "\n\n");
    },
    hash(algorithm = "md5") {
      const name = String(algorithm).toLowerCase();
      if (name === "base64") return base64Encode(String(this));
      return digest(name, String(this)) ?? fail(`Unknown algorithm ${algorithm}. Available algorithms are: md5, sha1, sha224, sha256, sha384, sha512, and base64.`);
    },
    quote(mark = '"') { return `${mark}${this.replace(/\\/g, "\\\\").split(mark).join(`\\${mark}`)}${mark}`; },
    replaceSpecialChars() { return this.normalize("NFD").replace(/[\u0300-\u036f]/g, ""); },
  });
  for (const [alias, name] of [["toBase64", "base64Encode"], ["fromBase64", "base64Decode"], ["toWholeNumber", "toInt"], ["toDecimalNumber", "toFloat"], ["fromJson", "parseJson"]]) {
    install(String.prototype, { [alias]: String.prototype[name] });
  }

  const numbers = (array) => array.map((value) => (typeof value === "number" ? value : fail(`${JSON.stringify(value)} is not a number`)));
  const sameValue = (a, b) => a === b || (typeof a === "object" && typeof b === "object" && JSON.stringify(a) === JSON.stringify(b));
  install(Array.prototype, {
    isEmpty() { return this.length === 0; },
    isNotEmpty() { return this.length > 0; },
    first() { return this[0]; },
    last() { return this[this.length - 1]; },
    sum() { return numbers(this).reduce((sum, value) => sum + value, 0); },
    average() { return this.length === 0 ? fail("cannot average an empty array") : this.sum() / this.length; },
    max() { return Math.max(...numbers(this)); },
    min() { return Math.min(...numbers(this)); },
    // The values of `fields` from each object: the values themselves for one field, else
    // objects of those fields. Items without any of them are left out.
    pluck(...fields) {
      if (fields.length === 0) return [...this];
      return this.filter(isPlainObject).flatMap((object) => {
        if (fields.length === 1) return object[fields[0]] === undefined ? [] : [object[fields[0]]];
        const picked = Object.fromEntries(fields.filter((field) => field in object).map((field) => [field, object[field]]));
        return Object.keys(picked).length === 0 ? [] : [picked];
      });
    },
    // Without repeats; objects compare by the given fields, or by all of them.
    removeDuplicates(...fields) {
      const seen = [];
      return this.filter((value) => {
        const key = fields.length > 0 && isPlainObject(value) ? JSON.stringify(fields.map((field) => value[field])) : value;
        if (seen.some((other) => sameValue(other, key))) return false;
        seen.push(key);
        return true;
      });
    },
    compact() { return this.filter((value) => value !== null && value !== undefined && value !== ""); },
    chunk(size) {
      const chunks = [];
      for (let i = 0; i < this.length; i += Math.max(1, size)) chunks.push(this.slice(i, i + Math.max(1, size)));
      return chunks;
    },
    difference(other) { return this.filter((value) => !other.some((o) => sameValue(o, value))); },
    intersection(other) { return this.filter((value) => other.some((o) => sameValue(o, value))).removeDuplicates(); },
    union(other) { return [...this, ...other].removeDuplicates(); },
    append(...values) { return [...this, ...values]; },
    randomItem() { return this[Math.floor(Math.random() * this.length)]; },
    toJsonString() { return JSON.stringify(this); },
    // The objects merged into one, earlier ones winning.
    merge(...others) { return [...this, ...others.flat()].filter(isPlainObject).reduceRight((merged, object) => ({ ...merged, ...object }), {}); },
    // `[{name: 'a', value: 1}].smartJoin('name', 'value')` gives `{a: 1}`.
    smartJoin(keyField, valueField) { return Object.fromEntries(this.filter(isPlainObject).map((object) => [object[keyField], object[valueField]])); },
    renameKeys(...pairs) {
      return this.map((value) => (isPlainObject(value) ? renameKeys(value, pairs) : value));
    },
  });
  install(Array.prototype, { unique: Array.prototype.removeDuplicates });
  const renameKeys = (object, pairs) => {
    const renamed = { ...object };
    for (let i = 0; i + 1 < pairs.length; i += 2) {
      if (pairs[i] in renamed) {
        renamed[pairs[i + 1]] = renamed[pairs[i]];
        delete renamed[pairs[i]];
      }
    }
    return renamed;
  };

  install(Number.prototype, {
    round(decimals = 0) { const factor = 10 ** decimals; return Math.round(this * factor) / factor; },
    floor() { return Math.floor(this); },
    ceil() { return Math.ceil(this); },
    abs() { return Math.abs(this); },
    isEven() { return Number.isInteger(Number(this)) ? this % 2 === 0 : fail("isEven() needs a whole number"); },
    isOdd() { return Number.isInteger(Number(this)) ? Math.abs(this % 2) === 1 : fail("isOdd() needs a whole number"); },
    isInteger() { return Number.isInteger(Number(this)); },
    toBoolean() { return Number(this) !== 0; },
    toInt() { return Math.trunc(this); },
    toFloat() { return Number(this); },
    toDateTime(format) { return numberToDateTime(Number(this), format); },
    // Thousands grouped as en-US writes them; QuickJS has no Intl for other locales.
    format() {
      const [whole, fraction] = String(Math.abs(this)).split(".");
      return `${this < 0 ? "-" : ""}${whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",")}${fraction ? "." + fraction.slice(0, 3) : ""}`;
    },
  });
  install(Boolean.prototype, {
    toNumber() { return this ? 1 : 0; },
    toInt() { return this ? 1 : 0; },
  });

  install(Object.prototype, {
    isEmpty() { return Object.keys(this).length === 0; },
    isNotEmpty() { return Object.keys(this).length > 0; },
    hasField(name) { return Object.prototype.hasOwnProperty.call(this, name); },
    removeField(name) { const { [name]: _removed, ...rest } = this; return rest; },
    removeFieldsContaining(text) { return Object.fromEntries(Object.entries(this).filter(([, value]) => !(typeof value === "string" && value.includes(text)))); },
    keepFieldsContaining(text) { return Object.fromEntries(Object.entries(this).filter(([, value]) => typeof value === "string" && value.includes(text))); },
    compact() { return Object.fromEntries(Object.entries(this).filter(([, value]) => value !== null && value !== undefined && value !== "")); },
    // Fields of `other` are added where this object has none.
    merge(other) { return { ...other, ...this }; },
    toJsonString() { return JSON.stringify(this); },
    // Arrays, maps and sets keep their own `keys()` and `values()`.
    keys() { return Object.keys(this); },
    values() { return Object.values(this); },
    urlEncode() { return Object.entries(this).map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`).join("&"); },
  });

  // Date methods n8n adds, on Luxon DateTimes and on JavaScript Dates (as DateTimes).
  const dateMethods = {
    format(format) { return this.toFormat(format); },
    toDateTime() { return this; },
    beginningOf(unit = "week") { return this.startOf(unit); },
    endOfMonth() { return this.endOf("month"); },
    isWeekend() { return this.weekday >= 6; },
    isDst() { return this.isInDST; },
    isBetween(start, end) {
      const [a, b] = [toDateTime(start), toDateTime(end)].sort((x, y) => x - y);
      return a < this && this < b;
    },
    isInLast(count = 0, unit = "minutes") { return this >= DateTime.now().minus({ [unit]: count }) && this <= DateTime.now(); },
    extract(unit = "week") { return unit === "week" || unit === "weekNumber" ? this.weekNumber : unit === "yearDayNumber" ? this.ordinal : this.get(String(unit).replace(/s$/, "")); },
    // `this` minus `other` in `unit`, or an object of several units.
    diffTo(other, unit = "days") {
      const units = Array.isArray(unit) && unit.length > 0 ? unit : Array.isArray(unit) ? ["days"] : [unit];
      const difference = this.diff(toDateTime(other), units);
      return units.length > 1 ? difference.toObject() : difference.as(units[0]);
    },
    diffToNow(unit = "days") { return DateTime.now().diffTo(this, unit); },
    toInt() { return this.toMillis(); },
  };
  const toDateTime = (value) => {
    if (DateTime.isDateTime(value)) return value;
    if (value instanceof Date) return DateTime.fromJSDate(value);
    if (typeof value === "number") return DateTime.fromMillis(value);
    return parseDateTime(String(value));
  };
  // n8n's `plus(5, 'days')` beside Luxon's `plus({days: 5})` and `plus(millis)`.
  const shift = (original) =>
    function (amount, unit) {
      return original.call(this, typeof amount === "number" && unit !== undefined ? { [unit]: amount } : amount);
    };
  install(DateTime.prototype, {
    ...dateMethods,
    plus: shift(DateTime.prototype.plus),
    minus: shift(DateTime.prototype.minus),
  });
  // On a JavaScript Date, methods that give a date give a Date, as in n8n.
  const onDate = (name, givesDate) =>
    function (...args) {
      const result = DateTime.prototype[name].apply(DateTime.fromJSDate(this), args);
      return givesDate ? result.toJSDate() : result;
    };
  install(Date.prototype, {
    ...Object.fromEntries(["format", "isWeekend", "isDst", "isBetween", "isInLast", "extract", "diffTo", "diffToNow", "toInt"].map((name) => [name, onDate(name, false)])),
    ...Object.fromEntries(["beginningOf", "endOfMonth", "plus", "minus"].map((name) => [name, onDate(name, true)])),
    toDateTime() { return DateTime.fromJSDate(this); },
  });

  return [...installed].sort();
});
