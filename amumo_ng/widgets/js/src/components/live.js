// Live resources of the amumo-ng views, counted so a test can see that a destroyed view let go of
// everything it held. One registry per page (globalThis), shared by the explorer, heatmap and
// scatter bundles; always on (a few integer additions per resource, no debug flag).
//
//   globalThis.__amumoNgLiveCounts() -> { views, listeners, modelListeners, bus, requests, objectURLs, webgl }
//
// views: rendered views not yet destroyed; listeners: window/document event listeners;
// modelListeners: model.on(...) registrations; bus: link-group bus subscriptions; requests: kernel
// requests awaiting their reply; objectURLs: thumbnail object URLs not yet revoked; webgl: WebGL
// contexts (the scatter's renderer) not yet released.
const KEY = "__amumoNgLive";
const KINDS = ["views", "listeners", "modelListeners", "bus", "requests", "objectURLs", "webgl"];

function registry() {
  let reg = globalThis[KEY];
  if (!reg) {
    reg = Object.fromEntries(KINDS.map((k) => [k, 0]));
    globalThis[KEY] = reg;
  }
  return reg;
}

registry();
if (typeof globalThis.__amumoNgLiveCounts !== "function") {
  globalThis.__amumoNgLiveCounts = () => ({ ...registry() });
}

export function track(kind, delta) {
  const reg = registry();
  reg[kind] = (reg[kind] || 0) + delta;
}

// count one `kind` now; the returned function gives it back (once, however often it is called)
export function hold(kind) {
  track(kind, 1);
  let held = true;
  return () => {
    if (held) { held = false; track(kind, -1); }
  };
}

// addEventListener on window/document (or any target outliving the view); returns the remover
export function listen(target, type, fn, options) {
  target.addEventListener(type, fn, options);
  const release = hold("listeners");
  return () => { target.removeEventListener(type, fn, options); release(); };
}

// model.on(events, fn); returns the matching model.off
export function onModel(model, events, fn) {
  model.on(events, fn);
  const release = hold("modelListeners");
  return () => { model.off(events, fn); release(); };
}

export function createObjectURL(blob) {
  const url = URL.createObjectURL(blob);
  track("objectURLs", 1);
  return url;
}

// revoke a URL made by createObjectURL above (exactly once per URL)
export function revokeObjectURL(url) {
  URL.revokeObjectURL(url);
  track("objectURLs", -1);
}

// Collects the undo functions of a view; dispose() runs them newest first, once.
export function createDisposer() {
  const undo = [];
  let disposed = false;
  return {
    add(fn) { if (disposed) fn(); else undo.push(fn); return fn; },
    get disposed() { return disposed; },
    dispose() {
      if (disposed) return;
      disposed = true;
      while (undo.length) {
        const fn = undo.pop();
        try { fn(); } catch (err) { console.error("amumo-ng: cleanup failed", err); }
      }
    },
  };
}
