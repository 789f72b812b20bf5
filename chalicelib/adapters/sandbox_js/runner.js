(function (stepline) {
  let main;
  try {
    main = %(script)s;
    if (typeof main !== "function") throw new TypeError("the code must 'export default' a function (payload, ctx) => ({ ... })");
    const payload = JSON.parse(%(payload)s);
    const ctx = Object.freeze(JSON.parse(%(context)s));
    const result = main(payload, ctx);
    if (result !== null && typeof result === "object" && typeof result.then === "function") {
      return Promise.resolve(result).then((v) => stepline.report(true, { output: stepline.finish(v) }), stepline.failure);
    }
    return stepline.report(true, { output: stepline.finish(result) });
  } catch (e) {
    return stepline.failure(e);
  }
})(globalThis.__stepline)
