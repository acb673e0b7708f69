// Evaluated once per QuickJS context. Defines the run-wide globals of n8n's expressions and
// `__weft`, the driver that `engine.rs` calls for each evaluation. `nodes.output(name)` asks Rust
// for a node's recorded output (an array of `{json, binary}`, or `undefined`), and
// `nodes.context(name)` for its context (a loop's pass, or `undefined`); `run` holds the run's
// ids, mode, `$vars`, `$env`, zone, clock and which node feeds each node's inputs.
//
// The date and extension library (luxon.js and extensions.js; with jmespath.js, the sources
// `librarySources()` gives) is compiled only when first needed: compiling it costs several times
// what the rest of an engine does, and most runs never use it. `DateTime`, `$now` and `$today`
// load it when read; Rust loads it (`__weft.library()`) before an expression that
// calls an extension method such as `"a@b.io".extractDomain()`. `zoneOffset` and `bytes`
// (digests, random bytes, encodings) are the Rust functions the library and `require('crypto')`
// use.
(function (nodes, run, zoneOffset, bytes, librarySources) {
  const lookup = nodes.output;
  "use strict";

  const indirectEval = globalThis.eval;
  let library;
  const loadLibrary = () => {
    if (library === undefined) {
      const [luxonSource, extensionsSource] = librarySources();
      const luxon = indirectEval(luxonSource)(zoneOffset, run.zone, run.now);
      indirectEval(extensionsSource)(luxon.DateTime, bytes.digest);
      library = Object.freeze({ DateTime: luxon.DateTime, Duration: luxon.Duration });
    }
    return library;
  };
  // JMESPath is compiled on the first `$jmespath` call, on its own.
  let jmespath;
  const loadJmespath = () => {
    jmespath ??= indirectEval(librarySources()[2])();
    return jmespath;
  };

  // Values shared by every evaluation are frozen, so that one item's expression cannot change
  // what the next one reads.
  const freeze = (value) => {
    if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
      Object.freeze(value);
      for (const key of Object.keys(value)) freeze(value[key]);
    }
    return value;
  };
  const define = (name, value) =>
    Object.defineProperty(globalThis, name, { value, writable: false, enumerable: false, configurable: false });
  const defineGetter = (name, get) =>
    Object.defineProperty(globalThis, name, { get, enumerable: false, configurable: false });

  // The index of the item being evaluated, for `$('Node').item`.
  let current = 0;

  const outputs = new Map();
  const outputOf = (name) => {
    let items = outputs.get(name);
    if (items === undefined) {
      items = lookup(name);
      if (items === undefined) {
        throw new Error(`no output of a node named '${name}' is available: it does not exist or has not run yet`);
      }
      outputs.set(name, freeze(items));
    }
    return items;
  };

  // `$('Node')`. `item` stands for n8n's paired item: the item at the same index as the one
  // being evaluated, which is what pairing gives for nodes that map items one to one. The
  // output is read when first used, so that `isExecuted` can say a node has not run.
  class NodeOutput {
    #name;
    constructor(name) {
      this.#name = name;
    }
    get isExecuted() {
      return outputs.has(this.#name) || lookup(this.#name) !== undefined;
    }
    all() {
      return outputOf(this.#name);
    }
    first() {
      return outputOf(this.#name)[0];
    }
    last() {
      const items = outputOf(this.#name);
      return items[items.length - 1];
    }
    get item() {
      return outputOf(this.#name)[current];
    }
    // n8n's `itemMatching(i)`: the item paired with input item `i`, which is item `i` here.
    itemMatching(index) {
      return outputOf(this.#name)[index];
    }
    pairedItem(index = current) {
      return outputOf(this.#name)[index];
    }
    get params() {
      return Object.freeze({});
    }
  }
  define("$", (name) => new NodeOutput(String(name)));
  // `$node["Node"]`: the node's first item, as `json` and `binary`, and its `context` (for a
  // loop, `{noItemsLeft, currentRunIndex}` of the pass the body is on; else empty).
  define(
    "$node",
    new Proxy(Object.freeze({}), {
      get(_, name) {
        if (typeof name !== "string") return undefined;
        const first = outputOf(name)[0];
        const context = freeze(nodes.context(name) ?? {});
        return Object.freeze({ json: first?.json, binary: first?.binary, isExecuted: true, context });
      },
    }),
  );
  // `$item(i).$node["Node"].json`: n8n's older form of `$('Node').all()[i].json`.
  define("$item", (index) =>
    Object.freeze({
      $node: new Proxy(Object.freeze({}), {
        get(_, name) {
          if (typeof name !== "string") return undefined;
          const found = outputOf(name)[Number(index)];
          return Object.freeze({ json: found?.json, binary: found?.binary });
        },
      }),
    }),
  );
  // `$items("Node")`: the node's items; n8n's older form of `$('Node').all()`.
  define("$items", (name) => outputOf(String(name)));

  define("$vars", freeze(run.vars));
  define("$env", freeze(run.env));
  define("$execution", freeze({ id: run.executionId, mode: run.executionMode, customData: {} }));
  define("$workflow", freeze({ id: run.workflowId, name: run.workflowName, active: run.workflowActive }));
  // Weft runs each node once per run (a loop's passes are one activation each, not runs).
  define("$runIndex", 0);

  // `$now` and `$today` are Luxon DateTimes in the run's zone (luxon.js); written out, ISO 8601.
  defineGetter("DateTime", () => loadLibrary().DateTime);
  defineGetter("Duration", () => loadLibrary().Duration);
  defineGetter("$now", () => loadLibrary().DateTime.now());
  defineGetter("$today", () => loadLibrary().DateTime.now().startOf("day"));

  define("$jmespath", (value, expression) => loadJmespath()(value, expression));
  // n8n's helpers: `$if(condition, then, else)`, `$ifEmpty(value, fallback)`, `$max`, `$min`.
  define("$if", (condition, then, otherwise) => (condition ? then : otherwise));
  const empty = (value) =>
    value === undefined || value === null || value === "" ||
    (Array.isArray(value) && value.length === 0) ||
    (typeof value === "object" && !Array.isArray(value) && Object.keys(value).length === 0 && !(value instanceof Date) && !library?.DateTime.isDateTime(value));
  define("$ifEmpty", (value, fallback) => (empty(value) ? fallback : value));
  define("$max", (...values) => Math.max(...values));
  define("$min", (...values) => Math.min(...values));

  // `$prevNode` for the node `node`'s input `input`: the node that feeds it.
  const previous = new Map();
  const previousNode = (node, input) => {
    const key = `${input}:${node}`;
    if (!previous.has(key)) {
      const found = run.previous?.[node]?.[input];
      previous.set(key, freeze(found ? { name: found.name, outputIndex: found.outputIndex, runIndex: 0 } : { name: undefined, outputIndex: 0, runIndex: 0 }));
    }
    return previous.get(key);
  };

  // `$input`, made for evaluations whose expression mentions it.
  class Input {
    #items;
    #index;
    constructor(items, index) {
      this.#items = items;
      this.#index = index;
    }
    all() {
      return this.#items;
    }
    first() {
      return this.#items[0];
    }
    last() {
      return this.#items[this.#items.length - 1];
    }
    get item() {
      return this.#items[this.#index];
    }
    get params() {
      return Object.freeze({});
    }
  }

  // What a code node's `console.log(…)` writes for each argument.
  const show = (value) => {
    if (typeof value === "string") return value;
    if (value instanceof Error) return `${value.name}: ${value.message}`;
    if (value !== null && typeof value === "object") {
      try {
        const text = JSON.stringify(value);
        if (text !== undefined) return text;
      } catch {
        // A cycle or a BigInt inside: fall back to the value's own text.
      }
    }
    return String(value);
  };
  const shape = (value) => (value === null ? "null" : Array.isArray(value) ? "array" : typeof value);
  const isObject = (value) => value !== null && typeof value === "object" && !Array.isArray(value);

  // A code node's result as items `{json, binary?}`: an item is kept, a plain object becomes
  // an item's json. Gives a problem's text instead when something else is there.
  const toItems = (values, out) => {
    for (const value of values) {
      const at = `item ${out.length}`;
      if (!isObject(value)) return `${at} of the result is ${shape(value)}, not an item or an object`;
      if (!("json" in value)) {
        out.push({ json: value });
        continue;
      }
      if (!isObject(value.json)) return `${at} of the result has a json that is ${shape(value.json)}, not an object`;
      const unknown = Object.keys(value).find((key) => !["json", "binary", "pairedItem"].includes(key));
      if (unknown !== undefined) return `${at} of the result has an unknown key '${unknown}' beside json`;
      out.push(value.binary == null ? { json: value.json } : { json: value.json, binary: value.binary });
    }
  };

  // `require` in code nodes, as n8n allows for Node's built-in `crypto`: hashes, HMACs and
  // random values. There is no `Buffer`, so results are text in an encoding the call names.
  const ENCODINGS = ["hex", "base64", "base64url"];
  const encoded = (hex, encoding, call) => {
    if (!ENCODINGS.includes(encoding)) {
      throw new Error(`${call}: the code sandbox has no Buffer; name an encoding: ${ENCODINGS.join(", ")}`);
    }
    return bytes.fromHex(hex, encoding);
  };
  class Hash {
    #algorithm;
    #key;
    #data = "";
    #done = false;
    constructor(algorithm, key) {
      if (bytes.digest(String(algorithm), "") === undefined) throw new Error(`Digest method not supported: ${algorithm}`);
      this.#algorithm = String(algorithm);
      this.#key = key;
    }
    update(data) {
      if (this.#done) throw new Error("Digest already called");
      if (typeof data !== "string") throw new TypeError(`update() takes a string in the code sandbox; got ${shape(data)}`);
      this.#data += data;
      return this;
    }
    digest(encoding) {
      if (this.#done) throw new Error("Digest already called");
      this.#done = true;
      const hex = this.#key === undefined
        ? bytes.digest(this.#algorithm, this.#data)
        : bytes.digest(this.#algorithm, this.#data, this.#key);
      return encoded(hex, encoding, `digest(${encoding === undefined ? "" : JSON.stringify(encoding)})`);
    }
  }
  const randomHex = (size) => {
    if (!Number.isInteger(size) || size < 0) throw new RangeError(`randomBytes takes a whole number of bytes; got ${size}`);
    const hex = bytes.random(size);
    if (hex === undefined) throw new RangeError(`randomBytes(${size}): at most 65536 bytes at once`);
    return hex;
  };
  const nodeCrypto = Object.freeze({
    createHash: (algorithm) => new Hash(algorithm),
    createHmac: (algorithm, key) => new Hash(algorithm, String(key)),
    randomBytes: (size) => {
      const hex = randomHex(size);
      return Object.freeze({ length: size, toString: (encoding) => encoded(hex, encoding, `toString(${encoding ?? ""})`) });
    },
    randomUUID: () => {
      const hex = randomHex(16).split("");
      hex[12] = "4";
      hex[16] = "89ab"[parseInt(hex[16], 16) & 3];
      const text = hex.join("");
      return `${text.slice(0, 8)}-${text.slice(8, 12)}-${text.slice(12, 16)}-${text.slice(16, 20)}-${text.slice(20)}`;
    },
  });
  const require = (name) => {
    if (name === "crypto" || name === "node:crypto") return nodeCrypto;
    throw new Error(`Cannot find module '${name}': the code sandbox provides only 'crypto'`);
  };

  // The prototype of every `$binary` entry: n8n's names for what Weft's fields hold. They are
  // getters on the prototype, so an entry written back as an item keeps Weft's fields only.
  const prettyBytes = (size) => {
    const units = ["B", "kB", "MB", "GB", "TB", "PB"];
    let unit = 0;
    while (size >= 1000 && unit < units.length - 1) {
      size /= 1000;
      unit++;
    }
    return `${unit === 0 ? size : Number(size.toPrecision(3))} ${units[unit]}`;
  };
  const binaryPrototype = Object.freeze({
    get mimeType() {
      return this.mime_type;
    },
    get fileName() {
      return this.file_name;
    },
    get fileExtension() {
      const dot = this.file_name?.lastIndexOf(".") ?? -1;
      return dot > 0 ? this.file_name.slice(dot + 1) : this.mime_type?.split("/")[1]?.split(/[+;]/)[0];
    },
    get fileSize() {
      return prettyBytes(this.size);
    },
    get fileType() {
      const mime = this.mime_type ?? "";
      if (mime === "application/json") return "json";
      if (mime === "application/pdf") return "pdf";
      if (mime === "text/html") return "html";
      const top = mime.split("/")[0];
      return ["image", "audio", "video", "text"].includes(top) ? top : undefined;
    },
  });

  const compiled = [];
  // The announced activation's inputs, by input, once an expression that mentions `$input` has
  // read them; until the activation ends.
  const keptInputs = new Map();
  // The driver, for Rust only; under a name no n8n expression uses.
  define(
    "__weft",
    Object.freeze({
      add(expression) {
        compiled.push(expression);
        return compiled.length - 1;
      },
      library() {
        loadLibrary();
      },
      binaryPrototype,
      forget(name) {
        outputs.delete(name);
      },
      keptInput(input) {
        return keptInputs.get(input);
      },
      keepInput(input, items) {
        keptInputs.set(input, freeze(items));
        return items;
      },
      // An input read by one evaluation only is frozen too, so that `$input` behaves the same
      // whether it is kept or not.
      freeze,
      forgetInputs() {
        keptInputs.clear();
      },
      // Runs a code node's source, a function body, over `items`: once with all of them, or
      // once per item. `log(line)` keeps a console line and says whether it wants more. Gives
      // `{items}` or, when the code returned something that is not items, `{problem}`.
      code(source, eachItem, items, log) {
        const body = new Function("items", "item", "$json", "$binary", "$itemIndex", "$input", "console", "require", source);
        let full = false;
        const write = (...values) => {
          if (!full) full = !log(values.map(show).join(" "));
        };
        const console = Object.freeze({ log: write, info: write, warn: write, error: write, debug: write });
        const out = [];
        if (!eachItem) {
          current = 0;
          const result = body(items, undefined, undefined, undefined, undefined, new Input(items, 0), console, require);
          if (!isObject(result) && !Array.isArray(result)) {
            return { problem: `the code must return an array of items or objects; got ${shape(result)}` };
          }
          const problem = toItems(Array.isArray(result) ? result : [result], out);
          return problem === undefined ? { items: out } : { problem };
        }
        for (let index = 0; index < items.length; index++) {
          current = index;
          const item = items[index];
          const result = body(undefined, item, item.json, item.binary, index, new Input(items, index), console, require);
          if (result == null) continue;
          if (!isObject(result) && !Array.isArray(result)) {
            return {
              problem: `the code must return an item, an object, an array of them, or nothing; got ${shape(result)} for item ${index}`,
            };
          }
          const problem = toItems(Array.isArray(result) ? result : [result], out);
          if (problem !== undefined) return { problem: `${problem} (for input item ${index})` };
        }
        return { items: out };
      },
      // `items` is the whole input, frozen, when the expression mentions `$input`; then `$json`
      // and `$binary` are read from it rather than passed.
      // `node` and `input` are given when the expression mentions `$prevNode`.
      run(index, json, binary, itemIndex, items, node, input) {
        current = itemIndex;
        const prevNode = node === undefined ? undefined : previousNode(node, input);
        if (items === undefined) return compiled[index](json, binary, itemIndex, undefined, prevNode);
        const item = items[itemIndex];
        return compiled[index](item.json, item.binary, itemIndex, new Input(items, itemIndex), prevNode);
      },
    }),
  );
});
