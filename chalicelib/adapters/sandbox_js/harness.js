// Installed in every fresh isolate before the tenant's code (see code_sandbox_child.py).
// Placeholders (percent-style) are filled in by Python; a literal percent sign must be doubled.
(function () {
  "use strict";
  const stringify = JSON.stringify, isArray = Array.isArray, getProto = Object.getPrototypeOf;
  const objectProto = Object.prototype, keys = Object.keys, DateCtor = Date, isFinite = Number.isFinite;
  const state = { lines: [], chars: 0, dropped: 0 };
  const show = (value) => {
    if (typeof value === "string") return value;
    try { const text = stringify(value); return text === undefined ? String(value) : text; }
    catch (e) { return String(value); }
  };
  const writer = (level) => (...args) => {
    const text = args.map(show).join(" ");
    if (state.lines.length >= %(max_lines)d || state.chars + text.length > %(max_chars)d) { state.dropped++; return; }
    state.chars += text.length;
    state.lines.push([level, text]);
  };
  const console = Object.freeze({ log: writer("info"), info: writer("info"), debug: writer("debug"),
                                  warn: writer("warning"), error: writer("error"), trace: writer("debug") });
  for (const name of ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "__timer_manager",
                      "WebAssembly", "SharedArrayBuffer", "Atomics", "console"]) {
    try { delete globalThis[name]; } catch (e) {}
    // Global function declarations cannot be deleted; they can be emptied.
    try { if (name in globalThis) globalThis[name] = undefined; } catch (e) {}
  }
  Object.defineProperty(globalThis, "console", { value: console, writable: false, configurable: false });

  const problem = (path, what) => { const e = new TypeError(`${what} at ${path || "the top"}`); e.name = "OutputError"; throw e; };
  const check = (value, path, seen) => {
    switch (typeof value) {
      case "string": case "boolean": return;
      case "number": if (!isFinite(value)) problem(path, `${value} is not a JSON number`); return;
      case "undefined": problem(path, "undefined is not a JSON value"); return;
      case "function": case "symbol": case "bigint": problem(path, `a ${typeof value} is not a JSON value`); return;
    }
    if (value === null) return;
    if (value instanceof DateCtor) return;
    if (seen.includes(value)) problem(path, "a cycle is not JSON");
    seen.push(value);
    if (isArray(value)) {
      for (let i = 0; i < value.length; i++) check(value[i], `${path}/${i}`, seen);
    } else {
      const proto = getProto(value);
      if (proto !== objectProto && proto !== null) problem(path, `a ${(value.constructor && value.constructor.name) || "non-plain object"} is not a JSON object`);
      for (const key of keys(value)) { if (value[key] !== undefined) check(value[key], `${path}/${key}`, seen); }
    }
    seen.pop();
  };
  const finish = (value) => {
    if (value === null || typeof value !== "object" || isArray(value)) {
      const kind = value === null ? "null" : isArray(value) ? "an array" : typeof value;
      const e = new TypeError(`the default export must return an object, not ${kind}`); e.name = "OutputError"; throw e;
    }
    check(value, "", []);
    return stringify(value);
  };
  const report = (ok, body) => stringify({ ok, ...body, logs: state.lines, dropped: state.dropped });
  const failure = (e) => {
    const name = (e && e.name) || "Error";
    const message = e && e.message !== undefined ? String(e.message) : String(e);
    return report(false, { name, message: message.slice(0, 2000), stack: String((e && e.stack) || "").slice(0, 4000) });
  };
  Object.defineProperty(globalThis, "__stepline", { value: Object.freeze({ finish, report, failure }) });
})();
