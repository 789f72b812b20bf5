// Installed in every fresh isolate before the tenant's code (see code_sandbox_child.py).
// Placeholders (percent-style) are filled in by Python; a literal percent sign must be doubled.
(function () {
  "use strict";
  const stringify = JSON.stringify, isArray = Array.isArray, getProto = Object.getPrototypeOf;
  const objectProto = Object.prototype, keys = Object.keys, DateCtor = Date, isFinite = Number.isFinite;
  // Builtins the harness calls after the tenant's code ran, taken now: code that replaces
  // Array.prototype.push or JSON.stringify must not break the output check or the console.
  const apply = Reflect.apply, toText = String, push = Array.prototype.push, pop = Array.prototype.pop;
  const includes = Array.prototype.includes, slice = String.prototype.slice;
  const PromiseCtor = Promise, resolve = Promise.resolve, then = Promise.prototype.then;
  const parse = JSON.parse, freeze = Object.freeze;
  const state = { lines: [], chars: 0, dropped: 0 };
  const show = (value) => {
    if (typeof value === "string") return value;
    try { const text = stringify(value); return text === undefined ? toText(value) : text; }
    catch (e) { return toText(value); }
  };
  const writer = (level) => (...args) => {
    let text = "";
    for (let i = 0; i < args.length; i++) text += (i ? " " : "") + show(args[i]);
    if (state.lines.length >= %(max_lines)d || state.chars + text.length > %(max_chars)d) { state.dropped++; return; }
    state.chars += text.length;
    state.lines[state.lines.length] = [level, text];
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
    if (apply(includes, seen, [value])) problem(path, "a cycle is not JSON");
    apply(push, seen, [value]);
    if (isArray(value)) {
      for (let i = 0; i < value.length; i++) check(value[i], `${path}/${i}`, seen);
    } else {
      const proto = getProto(value);
      if (proto !== objectProto && proto !== null) problem(path, `a ${(value.constructor && value.constructor.name) || "non-plain object"} is not a JSON object`);
      for (const key of keys(value)) { if (value[key] !== undefined) check(value[key], `${path}/${key}`, seen); }
    }
    apply(pop, seen, []);
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
    const message = e && e.message !== undefined ? toText(e.message) : toText(e);
    const stack = toText((e && e.stack) || "");
    return report(false, { name: toText(name), message: apply(slice, message, [0, 2000]),
                           stack: apply(slice, stack, [0, 4000]) });
  };
  // A promise result: its report is kept here once it settles, for the settle probe
  // (the Python side queues "__stepline.settled()" behind the execution).
  let settledReport = "";
  const settle = (value) => {
    const promise = apply(resolve, PromiseCtor, [value]);
    apply(then, promise, [
      (v) => { try { settledReport = report(true, { output: finish(v) }); } catch (e) { settledReport = failure(e); } },
      (e) => { settledReport = failure(e); },
    ]);
  };
  // One execution (runner.js calls it): build the default export, call it, check the result.
  // Answers the report, or "" when the code returned a promise (settled() answers it later).
  const run = (load, payloadText, contextText) => {
    try {
      const main = load();
      if (typeof main !== "function") throw new TypeError("the code must 'export default' a function (payload, ctx) => ({ ... })");
      const result = main(parse(payloadText), freeze(parse(contextText)));
      if (result !== null && typeof result === "object" && typeof result.then === "function") {
        settle(result);
        return "";
      }
      return report(true, { output: finish(result) });
    } catch (e) {
      return failure(e);
    }
  };
  const settled = () => settledReport;
  Object.defineProperty(globalThis, "__stepline", { value: freeze({ run, settled }) });
})();
//# sourceURL=stepline-sandbox.js
