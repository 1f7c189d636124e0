// The outlier list (widgets/outlier_list.py): the pairs in view ranked by low pair cosine, low image
// or text conformity, high text conformity (vague captions) or the largest image/text conformity
// difference, the kernel's top `outlier_k` listed as "value #pair caption". The select sets
// `outlier_by`, the number `outlier_k` (1..50); the kernel answers with `outlier_entries` /
// `outlier_info` / `outlier_error`. A click on an entry shows that pair in every view of the link
// group: {kind: "focus", pair} then a hover {items: [image, text], origin: "outliers"} on the bus, and
// the `hover` trait (session.hover: the geometry panel marks it too).
import { h, fmt } from "./dom.js";
import { publish } from "./bus.js";
import { createDisposer, listen, onModel } from "./live.js";

export const MAX_OUTLIERS = 50;

export function createOutlierList(model, { group, source }) {
  const life = createDisposer();
  if (model.get("outlier_entries") === undefined) return { el: null, destroy: () => life.dispose() }; // no outlier traits
  const by = h("select", { "data-amumo": "outlier-by", title: "what makes a pair an outlier" });
  const k = h("input", { type: "number", "data-amumo": "outlier-k", min: 1, max: MAX_OUTLIERS, value: model.get("outlier_k") || 10,
    title: `entries listed (1–${MAX_OUTLIERS})` });
  const status = h("div", { class: "amumo-muted amumo-line", "data-amumo": "outlier-status" });
  const list = h("div", { class: "amumo-outlier-entries", "data-amumo": "outlier-entries" });
  const el = h("div", { class: "amumo-prompt amumo-outliers", "data-amumo": "outlier-list" }, [
    h("div", { class: "amumo-side-title", text: "outliers" }),
    h("div", { class: "amumo-prompt-row" }, [by, k]), status, list]);
  const set = (name, value) => { model.set(name, value); model.save_changes(); };

  let options = "";
  function fillOptions() {
    const o = model.get("outlier_options") || [];
    const s = JSON.stringify(o);
    if (s !== options) {
      options = s;
      by.replaceChildren(...o.map(([value, label]) => h("option", { value, text: label })));
    }
    by.value = model.get("outlier_by");
  }

  function render() {
    fillOptions();
    if (document.activeElement !== k) k.value = model.get("outlier_k");
    const entries = model.get("outlier_entries") || [];
    const info = model.get("outlier_info") || {};
    const error = model.get("outlier_error") || "";
    el.setAttribute("data-entries", String(entries.length));
    el.setAttribute("data-by", model.get("outlier_by") || "");
    list.replaceChildren(...entries.map((e, i) => h("div", {
      class: "amumo-prompt-hit amumo-outlier-entry", "data-amumo": "outlier-entry", "data-pair": e.pair, "data-rank": i + 1,
      title: `#${i + 1}: pair ${e.pair}, ${info.statistic || "value"} ${fmt(e.value, 4)} — ${e.caption}` }, [
      h("span", { style: "font-variant-numeric:tabular-nums", text: fmt(e.value, 3) }),
      h("span", { class: "amumo-muted", text: `#${e.pair}` }),
      h("span", { class: "amumo-ellipsis", text: e.caption })])));
    const text = error || (info.pending ? `computing the statistics of ${info.n} pairs…`
      : `top ${entries.length} of ${info.ranked} pairs in view · value: ${info.statistic || ""}`);
    el.setAttribute("data-pending", info.pending ? "true" : "false");
    status.textContent = text;
    status.title = error || `${info.description || ""}; ${info.statistic} of all ${info.n} pairs (raw vectors), ${text}`;
    by.title = info.description || "what makes a pair an outlier";
    status.className = `${error ? "amumo-error" : "amumo-muted"} amumo-line`;
    status.setAttribute("data-error", error ? "true" : "false");
  }

  const sendK = () => {
    const v = Math.round(Number(k.value));
    if (!(v >= 1 && v <= MAX_OUTLIERS)) { k.value = model.get("outlier_k"); return; }
    if (v !== model.get("outlier_k")) set("outlier_k", v);
  };
  life.add(listen(by, "change", () => set("outlier_by", by.value)));
  life.add(listen(k, "change", sendK));
  life.add(listen(k, "keydown", (ev) => { if (ev.key === "Enter") sendK(); ev.stopPropagation(); }));
  life.add(listen(list, "click", (ev) => {
    const row = ev.target.closest('[data-amumo="outlier-entry"]');
    if (!row) return;
    const pair = Number(row.getAttribute("data-pair"));
    list.querySelectorAll(".amumo-active-entry").forEach((r) => r.classList.remove("amumo-active-entry"));
    row.classList.add("amumo-active-entry");
    el.setAttribute("data-clicked", String(pair));
    publish(group, { kind: "focus", pair, source });
    publish(group, { kind: "hover", source, origin: "outliers", items: [{ pair, modality: "image" }, { pair, modality: "text" }] });
    set("hover", pair);
  }));
  life.add(onModel(model, "change:outlier_entries change:outlier_info change:outlier_error change:outlier_by " +
    "change:outlier_k change:outlier_options", render));
  render();
  return { el, destroy: () => life.dispose() };
}
