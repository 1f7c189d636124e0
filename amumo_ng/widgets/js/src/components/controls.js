// The Explorer's controls, in three labelled groups that each stay on one row or wrap as a unit:
//   data       model, caption filter (+ regex) with "k of n pairs", a slot for the search box,
//              a fixed-height line below the filter for its full error message (or a hint), and
//              the augmentation control (augment.js: kind, pair, steps, apply, status);
//   geometry   close the gap (+ over which pairs), cluster (+ quadrant, leaf order), the heatmap's
//              sort by conformity (order_by), colour scale, heatmap of the selection only;
//   projection method, fitted on which pairs, a slot for the colour-by control, pair lines.
// Plus the gap readout (a small table; the Explorer places it in its side panel).
import { h, fmt } from "./dom.js";
import { createDisposer, listen, onModel } from "./live.js";
import { createAugmentControl } from "./augment.js";

const LEAF_ORDERS = [["dendrogram", "dendrogram"], ["amumo-argsort", "Amumo (argsort)"]];
const COLOR_SCALES = [["view", "per view"], ["fixed", "fixed [−1, 1]"], ["locked", "locked"]];
const FILTER_HINTS = { plain: "plain text, any case", regex: "regular expression, any case" };
// after sending a pattern, the count waits this long at most for the kernel's answer (a pattern
// that changes nothing in view changes no trait, so no answer comes: the count was right)
const ANSWER_WAIT_MS = 1500;

// (re)fill a <select> with [value, label] options, keeping `keep` selected when it is one of them
function setOptions(el, options, keep) {
  el.replaceChildren(...options.map(([value, label]) => h("option", { value, text: label })));
  if (keep != null) el.value = keep;
}

// every listener of the controls is counted (live.js) and removed with them: `life`
function select(life, attr, options, onChange) {
  const el = h("select", { "data-amumo": attr });
  setOptions(el, options);
  life.add(listen(el, "change", () => onChange(el.value)));
  return el;
}

// a select whose [value, label] options come from a trait (filled again when it changes)
function traitSelect(life, model, attr, trait, fallback, onChange) {
  const options = () => { const o = model.get(trait); return Array.isArray(o) && o.length ? o : fallback; };
  const el = select(life, attr, options(), onChange);
  let seen = JSON.stringify(options());
  return { el, refresh(keep) { const s = JSON.stringify(options()); if (s !== seen) { seen = s; setOptions(el, options(), keep); } } };
}

const pairs = (n) => (n == null ? "? pairs" : n === 1 ? "1 pair" : `${n} pairs`);

// a unit: label and its controls never split across rows
const unit = (title, children) => h("span", { class: "amumo-unit", title }, children);
const group = (name, children) => h("div", { class: "amumo-group", "data-amumo": `group-${name}` },
  [h("span", { class: "amumo-group-label", text: name }), ...children]);

export function createControls(model) {
  const life = createDisposer();
  const set = (name, value) => { model.set(name, value); model.save_changes(); };

  // -- data
  const modelOptions = () => (model.get("models") || []).map((m) => [m, m]);
  const modelSel = select(life, "model", modelOptions(), (v) => set("model", v));
  let modelNames = JSON.stringify(model.get("models") || []);
  const filterInput = h("input", { type: "text", "data-amumo": "filter-input", placeholder: "filter captions…", spellcheck: "false" });
  const regex = h("input", { type: "checkbox", "data-amumo": "filter-regex" });
  const count = h("span", { "data-amumo": "filter-count", class: "amumo-muted amumo-count" });
  // the full message of a pattern that does not compile, in a slot of fixed height below the
  // filter (wrapped, scrolled when long): it never pushes the views or the other controls
  const error = h("span", { "data-amumo": "filter-error", class: "amumo-error" });
  const hint = h("span", { "data-amumo": "filter-hint", class: "amumo-muted" });
  const message = h("div", { class: "amumo-filter-msg", "data-amumo": "filter-message" }, [error, hint]);
  const searchSlot = h("span", { "data-amumo": "search-slot", class: "amumo-slot" });
  const modelUnit = unit("", [h("label", {}, ["model ", modelSel])]);
  const augment = createAugmentControl(model);
  life.add(() => augment.destroy());

  // -- geometry
  const gap = h("input", { type: "checkbox", "data-amumo": "gap-toggle" });
  const gapScope = traitSelect(life, model, "gap-scope", "gap_scopes", [["view", "pairs in view"], ["all", "all pairs"]], (v) => set("gap_scope", v));
  const cluster = h("input", { type: "checkbox", "data-amumo": "cluster-toggle" });
  const quadrant = traitSelect(life, model, "cluster-quadrant", "quadrants", [], (v) => set("cluster_quadrant", v));
  const leafOrder = select(life, "cluster-leaf-order", LEAF_ORDERS, (v) => set("cluster_leaf_order", v));
  const orderBy = traitSelect(life, model, "heatmap-order", "order_options", [["none", "index / clusters"]], (v) => set("order_by", v));
  const colorScale = select(life, "color-scale", COLOR_SCALES, (v) => set("color_scale", v));
  const heatMode = traitSelect(life, model, "heatmap-mode", "heat_modes", [["similarity", "similarity (stacked)"]], (v) => set("heat_mode", v));
  const selFilter = h("input", { type: "checkbox", "data-amumo": "selection-filter" });

  // -- projection
  const projection = traitSelect(life, model, "projection", "projections", [], (v) => set("projection", v));
  const projScope = traitSelect(life, model, "projection-scope", "projection_scopes", [["all", "fit all pairs"], ["view", "re-project pairs in view"]], (v) => set("projection_scope", v));
  const colorBySlot = h("span", { "data-amumo": "colorby-slot", class: "amumo-slot" });
  const linesSlot = h("span", { "data-amumo": "lines-slot", class: "amumo-slot" });

  const root = h("div", { class: "amumo-controls", "data-amumo": "controls" }, [
    group("data", [
      modelUnit,
      unit("", [filterInput, h("label", { title: "treat the filter as a regular expression" }, [regex, "regex"]), count]),
      searchSlot,
      message,
      augment.el,
    ]),
    group("geometry", [
      unit("shift both modalities by half the gap vector (Amumo); the gap is measured on the pairs chosen here",
        [h("label", {}, [gap, "close gap"]), h("label", {}, ["of ", gapScope.el])]),
      unit("reorder the heatmap by a hierarchical clustering of one quadrant",
        [h("label", {}, [cluster, "cluster"]), h("label", {}, ["by ", quadrant.el])]),
      unit("order of the rows within the clustering: dendrogram leaves, or Amumo's argsort of the flat cluster ids",
        [h("label", {}, ["order ", leafOrder])]),
      model.get("order_by") === undefined ? null : unit("sort the heatmap's pairs by a conformity (raw vectors, within all pairs), " +
        "lowest first; within each cluster when clustering", [h("label", {}, ["sort ", orderBy.el])]),
      model.get("heat_mode") === undefined ? null : unit("what the heatmap draws: the stacked cosine similarities, or CyCLIP's " +
        "in-modal difference Î·Îᵀ − T̂·T̂ᵀ on a diverging scale (white: both modalities agree)", [h("label", {}, ["heatmap ", heatMode.el])]),
      unit("colour range of the heatmap: each view's own, fixed [−1, 1], or locked to the range shown when locking",
        [h("label", {}, ["scale ", colorScale])]),
      unit("show only the lasso-selected pairs in the heatmap", [h("label", {}, [selFilter, "heatmap: selection only"])]),
    ]),
    group("projection", [
      unit("", [h("label", {}, ["method ", projection.el])]),
      unit("fit the projection on all pairs (pairs not in view dimmed) or re-project the pairs in view",
        [h("label", {}, ["fit ", projScope.el])]),
      colorBySlot,
      linesSlot,
    ]),
  ]);

  // -- the gap readout: rows before/after closing, columns ‖Δ‖, loss, compat loss
  const cells = {};
  const row = (key, label) => {
    const tr = h("tr", { "data-gap": key }, [h("th", { scope: "row", text: label })]);
    for (const col of ["distance", "loss", "compat"]) tr.append(cells[`${key}:${col}`] = h("td", { "data-col": col }));
    tr.append(cells[`${key}:mark`] = h("td", { class: "amumo-mark", title: "shown now" }));
    return tr;
  };
  const captionText = h("span", { "data-amumo": "gap-caption-text" });
  const readoutProgress = h("progress", { class: "amumo-progress", max: 1, value: 0, "data-amumo": "gap-progress" });
  // a readout of many pairs runs in the kernel's background: "stop" cancels it (custom message)
  const stopReadout = h("button", { "data-amumo": "gap-cancel", text: "stop", title: "stop computing the loss" });
  stopReadout.addEventListener("click", () => model.send({ type: "cancel_readout", req: 0 }));
  const caption = h("caption", { "data-amumo": "gap-caption" }, [captionText, readoutProgress, stopReadout]);
  const rows = { open: row("open", "before closing"), closed: row("closed", "after closing") };
  const readout = h("table", { class: "amumo-readout", "data-amumo": "gap-readout" }, [
    caption,
    h("thead", {}, [h("tr", {}, [h("th", { text: "gap" }), h("th", { text: "‖Δ‖", title: "distance of the modality means (unit vectors)" }),
      h("th", { text: "loss", title: "symmetric contrastive loss" }),
      h("th", { text: "compat", title: "the loss by Amumo's published procedure (batches of 50)" }), h("th")])]),
    h("tbody", {}, [rows.open, rows.closed]),
  ]);

  function syncReadout() {
    const r = model.get("gap_readout") || {};
    const pending = !!r.pending;
    readout.setAttribute("data-pending", pending ? "true" : "false");
    // the gap distances come first (O(n·d)), the losses after them batch by batch
    readout.setAttribute("data-gap-ready", r.distance_before != null ? "true" : "false");
    const nTotal = r.n_total != null ? r.n_total : model.get("n_total");
    let text = r.scope === "all" ? `all ${nTotal} pairs` : `${pairs(r.n)} in view of ${nTotal}`;
    if (r.cancelled) text += " · loss not computed (stopped)";
    else if (pending) text += r.progress != null && r.distance_before != null
      ? ` · computing the loss… ${Math.round(100 * r.progress)}%` : " · computing…";
    else if (r.n === 0) text = "no pairs in view: nothing to measure";
    if (!pending && !r.cancelled && r.loss_batch_size) text += ` · loss in batches of ${r.loss_batch_size}`;
    captionText.textContent = text;
    readoutProgress.style.display = pending ? "" : "none";
    readoutProgress.value = r.progress || 0;
    stopReadout.style.display = pending ? "" : "none";
    readout.title = `modality gap and contrastive loss of ${text}`;
    const values = {
      open: [r.distance_before, r.loss_before, r.loss_compat_before],
      closed: [r.distance_after, r.loss_after, r.loss_compat_after],
    };
    const current = model.get("gap_closed") ? "closed" : "open";
    // a shift chosen on the gap-shift chart: the second row is the loss at that shift δ
    const partial = r.fraction != null && Math.abs(r.fraction - 1) > 1e-9;
    const label = partial ? `shift δ = ${fmt(r.shift, 3)}` : "after closing";
    const th = rows.closed.firstChild;
    if (th.textContent !== label) th.textContent = label;
    th.title = partial ? `both modalities moved by δ/2 = ${fmt(r.shift / 2, 3)} along the gap direction (${fmt(r.fraction, 3)} of the closing)` : "";
    rows.closed.setAttribute("data-shift", r.shift != null ? String(r.shift) : "");
    for (const key of ["open", "closed"]) {
      ["distance", "loss", "compat"].forEach((col, i) => {
        const v = values[key][i]; // a pending readout shows what it has (the distances come first)
        cells[`${key}:${col}`].textContent = v == null && (pending || r.cancelled) ? (pending ? "…" : "–")
          : fmt(v, col === "distance" ? 4 : 3);
      });
      const shown = key === current;
      rows[key].classList.toggle("amumo-current", shown);
      rows[key].setAttribute("data-current", shown ? "true" : "false");
      cells[`${key}:mark`].textContent = shown ? "◀" : "";
    }
  }

  // -- the filter: what the count says always describes the text in the box
  let timer = 0, answerTimer = 0;
  let typed = null;       // text typed but not yet sent (debounced): never overwritten by an echo
  let awaiting = false;   // a pattern was sent and the kernel has not answered yet
  const sendFilter = () => {
    clearTimeout(timer);
    if (typed === null) return;
    const v = typed;
    typed = null;
    if (v !== model.get("filter_pattern")) { expectAnswer(); set("filter_pattern", v); }
    syncFilter();
  };
  function expectAnswer() {
    awaiting = true;
    clearTimeout(answerTimer);
    answerTimer = setTimeout(() => { awaiting = false; syncFilter(); }, ANSWER_WAIT_MS);
  }
  const answered = () => { if (awaiting) { awaiting = false; clearTimeout(answerTimer); } syncFilter(); };
  life.add(listen(filterInput, "input", () => {
    typed = filterInput.value;
    clearTimeout(timer);
    timer = setTimeout(sendFilter, 250);
    syncFilter();
  }));
  life.add(listen(filterInput, "keydown", (ev) => { if (ev.key === "Enter") sendFilter(); }));
  life.add(listen(filterInput, "blur", sendFilter));

  function syncFilter() {
    const err = model.get("filter_error") || "";
    const pending = typed !== null || awaiting || filterInput.value !== model.get("filter_pattern");
    let state = "ok";
    if (pending) { count.textContent = "…"; state = "pending"; }
    else if (err) { count.textContent = "invalid pattern"; state = "invalid"; }
    else count.textContent = `${model.get("n_view")} of ${model.get("n_total")} pairs`;
    count.setAttribute("data-state", state);
    count.title = state === "pending" ? "waiting for the filter to be applied" : "";
    error.textContent = err;
    error.title = err;
    message.classList.toggle("amumo-stale", pending && !!err); // the message of the pattern before
    hint.textContent = err ? "" : FILTER_HINTS[regex.checked ? "regex" : "plain"];
  }

  life.add(listen(regex, "change", () => { expectAnswer(); set("filter_regex", regex.checked); syncFilter(); }));
  life.add(listen(gap, "change", () => set("gap_closed", gap.checked)));
  life.add(listen(cluster, "change", () => set("cluster", cluster.checked)));
  life.add(listen(selFilter, "change", () => set("selection_filter", selFilter.checked)));

  const pick = (el, value) => { if (value != null) el.value = value; };
  function sync() {
    const names = JSON.stringify(model.get("models") || []);
    if (names !== modelNames) { modelNames = names; setOptions(modelSel, modelOptions(), model.get("model")); }
    modelUnit.style.display = (model.get("models") || []).length > 1 ? "" : "none";
    modelSel.value = model.get("model");
    if (typed === null && document.activeElement !== filterInput && filterInput.value !== model.get("filter_pattern")) filterInput.value = model.get("filter_pattern");
    regex.checked = model.get("filter_regex");
    gap.checked = model.get("gap_closed");
    gapScope.refresh(model.get("gap_scope"));
    pick(gapScope.el, model.get("gap_scope"));
    cluster.checked = model.get("cluster");
    quadrant.refresh(model.get("cluster_quadrant"));
    quadrant.el.value = model.get("cluster_quadrant");
    pick(leafOrder, model.get("cluster_leaf_order"));
    quadrant.el.disabled = leafOrder.disabled = !model.get("cluster");
    orderBy.refresh(model.get("order_by"));
    pick(orderBy.el, model.get("order_by"));
    pick(colorScale, model.get("color_scale"));
    heatMode.refresh(model.get("heat_mode"));
    pick(heatMode.el, model.get("heat_mode"));
    projection.refresh(model.get("projection"));
    projection.el.value = model.get("projection");
    projScope.refresh(model.get("projection_scope"));
    pick(projScope.el, model.get("projection_scope"));
    selFilter.checked = model.get("selection_filter");
    syncReadout();
    syncFilter();
  }
  const events = "change:model change:models change:filter_pattern change:filter_regex change:n_total " +
    "change:gap_closed change:gap_scope change:gap_scopes change:gap_readout change:cluster change:cluster_quadrant " +
    "change:quadrants change:cluster_leaf_order change:order_by change:order_options change:color_scale change:heat_mode change:heat_modes change:projection change:projections " +
    "change:projection_scope change:projection_scopes change:selection_filter";
  life.add(onModel(model, events, sync));
  life.add(onModel(model, "change:n_view change:order_hash change:filter_error", answered));
  life.add(() => { clearTimeout(timer); clearTimeout(answerTimer); });
  sync();
  return { el: root, readout, slots: { search: searchSlot, colorBy: colorBySlot, lines: linesSlot }, destroy: () => life.dispose() };
}
