// `$jmespath(value, expression)`: JMESPath (https://jmespath.org/specification.html) written
// here: identifiers, sub-expressions, indexes, slices, projections (`[*]`, `*`, `[]`),
// filters with comparisons and `&&`, `||`, `!`, pipes, multi-select lists and hashes, literals
// and the specification's built-in functions.
(function () {
  "use strict";

  const fail = (message) => {
    throw new Error(`JMESPath: ${message}`);
  };

  // Tokens: `{type, value}`.
  const SIMPLE = { ".": "Dot", "*": "Star", ",": "Comma", ":": "Colon", "{": "Lbrace", "}": "Rbrace", "]": "Rbracket", "(": "Lparen", ")": "Rparen", "@": "Current" };
  const lex = (text) => {
    const tokens = [];
    let i = 0;
    while (i < text.length) {
      const char = text[i];
      const rest = text.slice(i);
      let match;
      if (/\s/.test(char)) {
        i++;
      } else if ((match = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest))) {
        tokens.push({ type: "Unquoted", value: match[0] });
        i += match[0].length;
      } else if ((match = /^-?\d+/.exec(rest))) {
        tokens.push({ type: "Number", value: Number(match[0]) });
        i += match[0].length;
      } else if (char === "[") {
        const type = rest.startsWith("[?") ? "Filter" : rest.startsWith("[]") ? "Flatten" : "Lbracket";
        tokens.push({ type });
        i += type === "Lbracket" ? 1 : 2;
      } else if (char === '"' || char === "'" || char === "`") {
        let end = i + 1;
        while (end < text.length && text[end] !== char) end += text[end] === "\\" ? 2 : 1;
        if (end >= text.length) fail(`unclosed ${char} at ${i}`);
        const body = text.slice(i + 1, end);
        if (char === '"') tokens.push({ type: "Quoted", value: JSON.parse(text.slice(i, end + 1)) });
        else if (char === "'") tokens.push({ type: "Literal", value: body.replace(/\\'/g, "'") });
        else {
          const json = body.replace(/\\`/g, "`");
          let value;
          try {
            value = JSON.parse(json);
          } catch {
            value = JSON.parse(`"${json}"`);
          }
          tokens.push({ type: "Literal", value });
        }
        i = end + 1;
      } else if ((match = /^(==|!=|<=|>=|<|>|&&|\|\||!|\||&)/.exec(rest))) {
        const types = { "==": "EQ", "!=": "NE", "<=": "LTE", ">=": "GTE", "<": "LT", ">": "GT", "&&": "And", "||": "Or", "!": "Not", "|": "Pipe", "&": "Expref" };
        tokens.push({ type: types[match[0]] });
        i += match[0].length;
      } else if (SIMPLE[char] !== undefined) {
        tokens.push({ type: SIMPLE[char] });
        i++;
      } else {
        fail(`unexpected character ${char} at ${i}`);
      }
    }
    tokens.push({ type: "EOF" });
    return tokens;
  };

  const POWER = { Pipe: 1, Or: 2, And: 3, EQ: 5, NE: 5, LT: 5, LTE: 5, GT: 5, GTE: 5, Flatten: 9, Star: 20, Filter: 21, Dot: 40, Not: 45, Lbrace: 50, Lbracket: 55, Lparen: 60 };
  const power = (type) => POWER[type] ?? 0;

  const parse = (text) => {
    const tokens = lex(text);
    let at = 0;
    const peek = (n = 0) => tokens[at + n].type;
    const next = () => tokens[at++];
    const expect = (type) => {
      if (peek() !== type) fail(`expected ${type}, found ${peek()} in ${text}`);
      return next();
    };
    const IDENTITY = { type: "Identity" };

    const expression = (rbp) => {
      let left = nud(next());
      while (rbp < power(peek())) left = led(next(), left);
      return left;
    };
    const nud = (token) => {
      switch (token.type) {
        case "Literal": return { type: "Literal", value: token.value };
        case "Unquoted": return { type: "Field", name: token.value };
        case "Quoted":
          if (peek() === "Lparen") fail("a quoted identifier cannot be a function name");
          return { type: "Field", name: token.value };
        case "Not": return { type: "Not", child: expression(POWER.Not) };
        case "Star": return { type: "ValueProjection", left: IDENTITY, right: peek() === "Rbracket" ? IDENTITY : projectionRhs(POWER.Star) };
        case "Filter": return filter(IDENTITY);
        case "Lbrace": return hash();
        case "Flatten": return { type: "Projection", left: { type: "Flatten", child: IDENTITY }, right: projectionRhs(POWER.Flatten) };
        case "Lbracket":
          if (peek() === "Number" || peek() === "Colon") return projectIfSlice(IDENTITY, index());
          if (peek() === "Star" && peek(1) === "Rbracket") {
            at += 2;
            return { type: "Projection", left: IDENTITY, right: projectionRhs(POWER.Star) };
          }
          return list();
        case "Current": return { type: "Current" };
        case "Expref": return { type: "Expref", child: expression(0) };
        case "Lparen": {
          const inner = expression(0);
          expect("Rparen");
          return inner;
        }
        default: return fail(`unexpected ${token.type} in ${text}`);
      }
    };
    const led = (token, left) => {
      switch (token.type) {
        case "Dot":
          if (peek() !== "Star") return { type: "Subexpression", left, right: dotRhs(POWER.Dot) };
          next();
          return { type: "ValueProjection", left, right: projectionRhs(POWER.Dot) };
        case "Pipe": return { type: "Pipe", left, right: expression(POWER.Pipe) };
        case "Or": return { type: "Or", left, right: expression(POWER.Or) };
        case "And": return { type: "And", left, right: expression(POWER.And) };
        case "Lparen": {
          const args = [];
          while (peek() !== "Rparen") {
            args.push(expression(0));
            if (peek() === "Comma") next();
          }
          expect("Rparen");
          return { type: "Function", name: left.name, args };
        }
        case "Filter": return filter(left);
        case "Flatten": return { type: "Projection", left: { type: "Flatten", child: left }, right: projectionRhs(POWER.Flatten) };
        case "EQ": case "NE": case "LT": case "LTE": case "GT": case "GTE":
          return { type: "Comparator", op: token.type, left, right: expression(POWER[token.type]) };
        case "Lbracket":
          if (peek() === "Number" || peek() === "Colon") return projectIfSlice(left, index());
          expect("Star");
          expect("Rbracket");
          return { type: "Projection", left, right: projectionRhs(POWER.Star) };
        default: return fail(`unexpected ${token.type} in ${text}`);
      }
    };
    const filter = (left) => {
      const condition = expression(0);
      expect("Rbracket");
      const right = peek() === "Flatten" ? IDENTITY : projectionRhs(POWER.Filter);
      return { type: "FilterProjection", left, right, condition };
    };
    const dotRhs = (rbp) => {
      const type = peek();
      if (type === "Unquoted" || type === "Quoted" || type === "Star") return expression(rbp);
      if (type === "Lbracket") {
        next();
        return list();
      }
      if (type === "Lbrace") {
        next();
        return hash();
      }
      return fail(`unexpected ${type} after a dot in ${text}`);
    };
    const projectionRhs = (rbp) => {
      const type = peek();
      if (power(type) < 10) return IDENTITY;
      if (type === "Lbracket" || type === "Filter") return expression(rbp);
      if (type === "Dot") {
        next();
        return dotRhs(rbp);
      }
      return fail(`unexpected ${type} after a projection in ${text}`);
    };
    const index = () => {
      if (peek() === "Colon" || peek(1) === "Colon") {
        const parts = [null, null, null];
        let part = 0;
        while (peek() !== "Rbracket") {
          if (peek() === "Colon") {
            part++;
            next();
          } else {
            parts[part] = expect("Number").value;
          }
        }
        next();
        return { type: "Slice", parts };
      }
      const value = next().value;
      expect("Rbracket");
      return { type: "Index", value };
    };
    const projectIfSlice = (left, right) => {
      const node = { type: "IndexExpression", left, right };
      return right.type === "Slice" ? { type: "Projection", left: node, right: projectionRhs(POWER.Star) } : node;
    };
    const list = () => {
      const items = [];
      while (peek() !== "Rbracket") {
        items.push(expression(0));
        if (peek() === "Comma") next();
      }
      next();
      return { type: "List", items };
    };
    const hash = () => {
      const pairs = [];
      while (peek() !== "Rbrace") {
        const key = next();
        if (key.type !== "Unquoted" && key.type !== "Quoted") fail(`expected a key in ${text}`);
        expect("Colon");
        pairs.push([key.value, expression(0)]);
        if (peek() === "Comma") next();
      }
      next();
      return { type: "Hash", pairs };
    };

    const tree = expression(0);
    if (peek() !== "EOF") fail(`unexpected ${peek()} in ${text}`);
    return tree;
  };

  const isObject = (value) => value !== null && typeof value === "object" && !Array.isArray(value);
  const isFalse = (value) => value === null || value === undefined || value === false || value === "" || (Array.isArray(value) && value.length === 0) || (isObject(value) && Object.keys(value).length === 0);
  const equal = (a, b) => JSON.stringify(a) === JSON.stringify(b) || a === b;
  const typeOf = (value) => (value === null || value === undefined ? "null" : Array.isArray(value) ? "array" : value?.expref ? "expref" : typeof value);

  const slice = (array, [start, stop, step]) => {
    const by = step ?? 1;
    if (by === 0) fail("a slice step cannot be 0");
    const clamp = (value, fallback) => {
      if (value === null) return fallback;
      if (value < 0) return Math.max(by < 0 ? -1 : 0, array.length + value);
      return Math.min(value, by < 0 ? array.length - 1 : array.length);
    };
    const from = clamp(start, by < 0 ? array.length - 1 : 0);
    const to = clamp(stop, by < 0 ? -1 : array.length);
    const out = [];
    for (let i = from; by > 0 ? i < to : i > to; i += by) out.push(array[i]);
    return out;
  };

  const visit = (node, value) => {
    switch (node.type) {
      case "Field": return isObject(value) ? value[node.name] ?? null : null;
      case "Subexpression":
      case "IndexExpression":
      case "Pipe": return visit(node.right, visit(node.left, value));
      case "Index": {
        if (!Array.isArray(value)) return null;
        return value[node.value < 0 ? value.length + node.value : node.value] ?? null;
      }
      case "Slice": return Array.isArray(value) ? slice(value, node.parts) : null;
      case "Projection": {
        const base = visit(node.left, value);
        if (!Array.isArray(base)) return null;
        return base.map((each) => visit(node.right, each)).filter((each) => each !== null && each !== undefined);
      }
      case "ValueProjection": {
        const base = visit(node.left, value);
        if (!isObject(base)) return null;
        return Object.values(base).map((each) => visit(node.right, each)).filter((each) => each !== null && each !== undefined);
      }
      case "FilterProjection": {
        const base = visit(node.left, value);
        if (!Array.isArray(base)) return null;
        return base.filter((each) => !isFalse(visit(node.condition, each))).map((each) => visit(node.right, each)).filter((each) => each !== null && each !== undefined);
      }
      case "Flatten": {
        const base = visit(node.child, value);
        return Array.isArray(base) ? base.flatMap((each) => (Array.isArray(each) ? each : [each])) : null;
      }
      case "Identity":
      case "Current": return value;
      case "List": return value === null || value === undefined ? null : node.items.map((item) => visit(item, value));
      case "Hash": return value === null || value === undefined ? null : Object.fromEntries(node.pairs.map(([key, item]) => [key, visit(item, value)]));
      case "Or": {
        const left = visit(node.left, value);
        return isFalse(left) ? visit(node.right, value) : left;
      }
      case "And": {
        const left = visit(node.left, value);
        return isFalse(left) ? left : visit(node.right, value);
      }
      case "Not": return isFalse(visit(node.child, value));
      case "Literal": return node.value;
      case "Comparator": {
        const left = visit(node.left, value);
        const right = visit(node.right, value);
        if (node.op === "EQ") return equal(left, right);
        if (node.op === "NE") return !equal(left, right);
        if (typeof left !== "number" || typeof right !== "number") return null;
        return { LT: left < right, LTE: left <= right, GT: left > right, GTE: left >= right }[node.op];
      }
      case "Expref": return { expref: node.child };
      case "Function": {
        const fn = FUNCTIONS[node.name];
        if (fn === undefined) fail(`unknown function ${node.name}()`);
        return fn(...node.args.map((arg) => visit(arg, value)));
      }
      default: return fail(`cannot evaluate ${node.type}`);
    }
  };

  const byKey = (array, expref) => array.map((each) => [visit(expref.expref, each), each]);
  const FUNCTIONS = {
    abs: (n) => Math.abs(n),
    avg: (a) => (a.length === 0 ? null : a.reduce((s, n) => s + n, 0) / a.length),
    ceil: (n) => Math.ceil(n),
    contains: (subject, search) => (Array.isArray(subject) ? subject.some((each) => equal(each, search)) : String(subject).includes(search)),
    ends_with: (s, suffix) => s.endsWith(suffix),
    floor: (n) => Math.floor(n),
    join: (glue, a) => a.join(glue),
    keys: (o) => Object.keys(o),
    length: (v) => (isObject(v) ? Object.keys(v).length : v.length),
    map: (expref, a) => a.map((each) => visit(expref.expref, each)),
    max: (a) => (a.length === 0 ? null : a.reduce((m, v) => (v > m ? v : m))),
    max_by: (a, expref) => (a.length === 0 ? null : byKey(a, expref).reduce((m, v) => (v[0] > m[0] ? v : m))[1]),
    merge: (...objects) => Object.assign({}, ...objects),
    min: (a) => (a.length === 0 ? null : a.reduce((m, v) => (v < m ? v : m))),
    min_by: (a, expref) => (a.length === 0 ? null : byKey(a, expref).reduce((m, v) => (v[0] < m[0] ? v : m))[1]),
    not_null: (...values) => values.find((v) => v !== null && v !== undefined) ?? null,
    reverse: (v) => (Array.isArray(v) ? [...v].reverse() : [...v].reverse().join("")),
    sort: (a) => [...a].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)),
    sort_by: (a, expref) => byKey(a, expref).sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0)).map((pair) => pair[1]),
    starts_with: (s, prefix) => s.startsWith(prefix),
    sum: (a) => a.reduce((s, n) => s + n, 0),
    to_array: (v) => (Array.isArray(v) ? v : [v]),
    to_number: (v) => (typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" && !Number.isNaN(Number(v)) ? Number(v) : null),
    to_string: (v) => (typeof v === "string" ? v : JSON.stringify(v)),
    type: (v) => (typeOf(v) === "object" ? "object" : typeOf(v)),
    values: (o) => Object.values(o),
  };

  const parsed = new Map();
  return (value, expression) => {
    const text = String(expression);
    let tree = parsed.get(text);
    if (tree === undefined) {
      tree = parse(text);
      parsed.set(text, tree);
    }
    return visit(tree, value === undefined ? null : value);
  };
});
