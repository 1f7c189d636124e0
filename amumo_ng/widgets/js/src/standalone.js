// Entry of the kernel-free HTML export (amumo_ng/widgets/export_html.py): the Explorer's own
// render() driven by a model that lives in the page. The page carries the widget's synced state
// as JSON ({state, binary: {trait: base64}, levels, thumbs}) in <script id="amumo-export">; binary
// traits become DataViews as anywidget delivers them, and custom requests are answered locally
// (components/standalone-answers.js). Controls that need the kernel (filter, clustering, new
// projections, colour by, augmentation, prompt search, interpolation ends) are disabled with a note.
import explorer from "./explorer.js";
import { packedStrings } from "./components/rpc.js";
import { publish, subscribe } from "./components/bus.js";
import { createAnswers, NEEDS_KERNEL } from "./components/standalone-answers.js";

const B64 = new Uint8Array(128);
"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".split("").forEach((c, i) => { B64[c.charCodeAt(0)] = i; });

// base64 text -> Uint8Array (no atob: one pass, no intermediate string of bytes)
export function decodeBase64(text) {
  let len = text.length;
  while (len && text[len - 1] === "=") len--;
  const out = new Uint8Array((len * 3) >> 2);
  let o = 0, i = 0;
  for (; i + 4 <= len; i += 4) {
    const n = (B64[text.charCodeAt(i)] << 18) | (B64[text.charCodeAt(i + 1)] << 12) | (B64[text.charCodeAt(i + 2)] << 6) | B64[text.charCodeAt(i + 3)];
    out[o++] = n >> 16; out[o++] = (n >> 8) & 255; out[o++] = n & 255;
  }
  const rest = len - i;
  if (rest >= 2) {
    const n = (B64[text.charCodeAt(i)] << 18) | (B64[text.charCodeAt(i + 1)] << 12) | (rest === 3 ? B64[text.charCodeAt(i + 2)] << 6 : 0);
    out[o++] = n >> 16;
    if (rest === 3) out[o++] = (n >> 8) & 255;
  }
  return out;
}

const view = (bytes) => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

// the page's data -> {state (binary traits as DataViews), extras (levels, thumbs)}
export function readExport(data) {
  const state = { ...data.state };
  for (const [name, text] of Object.entries(data.binary || {})) state[name] = view(decodeBase64(text));
  const levels = (data.levels || []).map((lv) => ({
    ...lv, edges: new Int32Array(decodeBase64(lv.edges).buffer), pixels: decodeBase64(lv.pixels),
  }));
  const thumbs = {};
  for (const [pair, t] of Object.entries(data.thumbs || {})) thumbs[pair] = { mime: t.mime, bytes: decodeBase64(t.data) };
  return { state, extras: { levels, thumbs } };
}

// a model with anywidget's API (get/set/save_changes/on/off/send) over `state`
export function createStandaloneModel(state, extras) {
  const listeners = new Map();
  const each = (events, fn) => String(events).split(/\s+/).filter(Boolean).forEach(fn);
  const emit = (event, ...args) => { for (const fn of [...(listeners.get(event) || [])]) fn(...args); };
  const answers = createAnswers(state, extras);
  let captions = null;
  // without the vectors a block mean's exact value cannot be had: the hover panel is told the
  // hover settled (it then shows "cos ≈ … (block mean)", not a "loading" that never ends)
  let heatmapSource = null;
  subscribe(state.link_group, (m) => { if (m.kind === "hover" && m.origin === "heatmap" && !m.echo) heatmapSource = m.source; });
  const settleValue = () => { if (heatmapSource) publish(state.link_group, { kind: "hover-left", source: heatmapSource, origin: "heatmap" }); };
  const model = {
    get: (name) => state[name],
    set(name, value) {
      const old = state[name];
      state[name] = value;
      if (old !== value) { emit(`change:${name}`, model, value); emit("change", model); }
    },
    save_changes() {},
    on(events, fn) { each(events, (e) => { if (!listeners.has(e)) listeners.set(e, new Set()); listeners.get(e).add(fn); }); },
    off(events, fn) { each(events, (e) => { if (fn) listeners.get(e)?.delete(fn); else listeners.delete(e); }); },
    send(msg) {
      const { type, req } = msg || {};
      let reply;
      try {
        const jump = (pair) => { model.set("focus_pair", pair); model.set("focus_seq", (state.focus_seq || 0) + 1); };
        if (type === "find") captions = captions || packedStrings(state.captions_utf8, state.caption_offsets);
        const answer = type === "find" ? answers.find(msg, captions, jump) : answers[type] && ["region", "value", "thumb"].includes(type) ? answers[type](msg) : null;
        reply = answer ? { msg: { ...answer.msg, type, req }, buffers: answer.buffers } : { msg: { type, req, error: `${type}: ${NEEDS_KERNEL}` }, buffers: [] };
      } catch (err) {
        reply = { msg: { type, req, error: String(err.message || err) }, buffers: [] };
      }
      setTimeout(() => {
        emit("msg:custom", reply.msg, reply.buffers.map(view));
        if (type === "value" && reply.msg.error) settleValue();
      }, 0);
    },
    answers,
  };
  return model;
}

// what stays usable without a kernel (everything else in these parts is disabled)
const KEEP = new Set(["lines-toggle", "search-input", "hover-pin", "selection-clear"]);
const PARTS = '[data-amumo="controls"], [data-amumo="prompt-box"], [data-amumo="outlier-list"], [data-amumo="hover-actions"]';

function disableKernelControls(el) {
  for (const part of el.querySelectorAll(PARTS)) {
    for (const c of part.querySelectorAll("input, select, button, textarea")) {
      if (KEEP.has(c.getAttribute("data-amumo")) || c.disabled && c.hasAttribute("data-kernel-free")) continue;
      c.disabled = true;
      c.setAttribute("data-kernel-free", "disabled");
      c.title = `${NEEDS_KERNEL} (a kernel-free HTML export)`;
    }
  }
}

// mount the Explorer of the page's export into `el`; returns {model, dispose}
export function mount(el, data) {
  const { state, extras } = readExport(data);
  state.kernel_free = true;
  const model = createStandaloneModel(state, extras);
  const note = document.createElement("div");
  note.setAttribute("data-amumo", "kernel-free-note");
  note.style.cssText = "font:12px system-ui,sans-serif;color:#555;background:#f6f6f2;border:1px solid #ddd;padding:4px 8px;margin:0 0 6px 0";
  note.textContent = (data.note || "Kernel-free export: hover, zoom and pan work from what this file carries.") +
    ` Filtering, clustering, new projections, colour by, encoding (augmentation, prompt search): ${NEEDS_KERNEL}.`;
  const host = document.createElement("div");
  el.append(note, host);
  const dispose = explorer.render({ model, el: host });
  disableKernelControls(host);
  const observer = new MutationObserver(() => disableKernelControls(host));
  observer.observe(host, { childList: true, subtree: true });
  return { model, dispose: () => { observer.disconnect(); if (typeof dispose === "function") dispose(); } };
}

globalThis.amumoStandalone = { mount, readExport, decodeBase64 };
