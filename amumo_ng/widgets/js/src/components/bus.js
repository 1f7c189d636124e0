// A window-level event bus: views of one link group (one Explorer, or the two sides of a
// Comparison, or standalone widgets sharing a Session) exchange hover/highlight messages
// without a kernel round trip.
import { hold } from "./live.js";

const KEY = "__amumoNgBus";

function registry() {
  if (!globalThis[KEY]) globalThis[KEY] = new Map();
  return globalThis[KEY];
}

export function subscribe(group, listener) {
  const reg = registry();
  if (!reg.has(group)) reg.set(group, new Set());
  // a Set holds a listener once: a wrapper per subscription, so two subscriptions are two entries
  const entry = (msg) => listener(msg);
  reg.get(group).add(entry);
  const release = hold("bus");
  return () => {
    release();
    const set = reg.get(group);
    if (set) {
      set.delete(entry);
      if (set.size === 0) reg.delete(group);
    }
  };
}

// msg: { kind: "hover", source, items: [{pair, modality}], origin, value? } or { kind: "hover-out", source },
// { kind: "value", source, row, col, value } (exact value of a hovered cell), { kind: "hover-left", source,
// origin: "heatmap" } (the pointer left the heatmap: a pending value will not come), { kind: "view-changed",
// source } (new order/pixels/model: what was hovered is stale)
export function publish(group, msg) {
  const set = registry().get(group);
  if (!set) return;
  for (const listener of [...set]) {
    try {
      listener(msg);
    } catch (err) {
      console.error("amumo-ng bus listener failed", err);
    }
  }
}
