// The Explorer's control bar: model, caption filter (+ regex) with "k of n pairs", gap toggle
// and readout, clustering toggle and quadrant, projection, heatmap-by-selection.
import { h, fmt } from "./dom.js";
import { onModel } from "./live.js";

// (re)fill a <select> with [value, label] options, keeping `keep` selected when it is one of them
function setOptions(el, options, keep) {
  el.replaceChildren(...options.map(([value, label]) => h("option", { value, text: label })));
  if (keep != null) el.value = keep;
}

function select(attr, options, onChange) {
  const el = h("select", { "data-amumo": attr });
  setOptions(el, options);
  el.addEventListener("change", () => onChange(el.value));
  return el;
}

export function createControls(model) {
  const set = (name, value) => { model.set(name, value); model.save_changes(); };

  const modelOptions = () => (model.get("models") || []).map((m) => [m, m]);
  const modelSel = select("model", modelOptions(), (v) => set("model", v));
  let modelNames = JSON.stringify(model.get("models") || []);
  const filterInput = h("input", { type: "text", "data-amumo": "filter-input", placeholder: "filter captions…", spellcheck: "false" });
  const regex = h("input", { type: "checkbox", "data-amumo": "filter-regex" });
  const count = h("span", { "data-amumo": "filter-count", class: "amumo-muted" });
  // a fixed slot: a long regex error is cut with an ellipsis (full text in the tooltip) and never
  // pushes the controls after it onto a new line
  const error = h("span", { "data-amumo": "filter-error", class: "amumo-error amumo-filter-error" });
  const gap = h("input", { type: "checkbox", "data-amumo": "gap-toggle" });
  const readout = h("span", { "data-amumo": "gap-readout", class: "amumo-muted" });
  const cluster = h("input", { type: "checkbox", "data-amumo": "cluster-toggle" });
  const quadrant = select("cluster-quadrant", model.get("quadrants") || [], (v) => set("cluster_quadrant", v));
  const projection = select("projection", model.get("projections") || [], (v) => set("projection", v));
  const selFilter = h("input", { type: "checkbox", "data-amumo": "selection-filter" });

  let timer = 0;
  let typed = null; // text typed but not yet sent (debounced): never overwritten by an echo
  const sendFilter = () => { clearTimeout(timer); if (typed !== null) { const v = typed; typed = null; set("filter_pattern", v); } };
  filterInput.addEventListener("input", () => {
    typed = filterInput.value;
    clearTimeout(timer);
    timer = setTimeout(sendFilter, 250);
  });
  filterInput.addEventListener("keydown", (ev) => { if (ev.key === "Enter") sendFilter(); });
  filterInput.addEventListener("blur", sendFilter);
  regex.addEventListener("change", () => set("filter_regex", regex.checked));
  gap.addEventListener("change", () => set("gap_closed", gap.checked));
  cluster.addEventListener("change", () => set("cluster", cluster.checked));
  selFilter.addEventListener("change", () => set("selection_filter", selFilter.checked));

  const modelLabel = h("label", {}, ["model ", modelSel]);
  const root = h("div", { class: "amumo-controls", "data-amumo": "controls" }, [
    modelLabel,
    h("span", { class: "amumo-filter" }, [filterInput, " ", h("label", { title: "treat the filter as a regular expression" }, [regex, "regex"]), " ", count, " ", error]),
    h("label", { title: "shift both modalities by half the gap vector (Amumo)" }, [gap, "close modality gap"]), readout,
    h("label", {}, [cluster, "cluster by similarity"]), h("label", {}, ["of ", quadrant]),
    h("label", {}, ["projection ", projection]),
    h("label", { title: "show only the lasso-selected pairs in the heatmap" }, [selFilter, "heatmap: selection only"]),
  ]);

  function sync() {
    const names = JSON.stringify(model.get("models") || []);
    if (names !== modelNames) { modelNames = names; setOptions(modelSel, modelOptions(), model.get("model")); }
    modelLabel.style.display = (model.get("models") || []).length > 1 ? "" : "none";
    modelSel.value = model.get("model");
    if (typed === null && document.activeElement !== filterInput && filterInput.value !== model.get("filter_pattern")) filterInput.value = model.get("filter_pattern");
    regex.checked = model.get("filter_regex");
    count.textContent = `${model.get("n_view")} of ${model.get("n_total")} pairs`;
    error.textContent = model.get("filter_error");
    error.title = model.get("filter_error");
    gap.checked = model.get("gap_closed");
    const r = model.get("gap_readout") || {};
    readout.setAttribute("data-pending", r.pending ? "true" : "false");
    if (r.pending) { readout.textContent = `gap ‖Δ‖ and loss over ${r.n} pairs: computing…`; }
    const closed = model.get("gap_closed");
    const now = closed ? r.distance_after : r.distance_before;
    const loss = closed ? r.loss_after : r.loss_before;
    const compat = closed ? r.loss_compat_after : r.loss_compat_before;
    if (!r.pending) readout.textContent = `gap ‖Δ‖ = ${fmt(now)} · loss ${fmt(loss, 3)} (compat ${fmt(compat, 3)})` +
      ` · open→closed: ‖Δ‖ ${fmt(r.distance_before, 3)}→${fmt(r.distance_after, 3)},` +
      ` loss ${fmt(r.loss_before, 3)}→${fmt(r.loss_after, 3)}, compat ${fmt(r.loss_compat_before, 3)}→${fmt(r.loss_compat_after, 3)}`;
    readout.title = `gap distance (Euclidean norm of the difference of the modality means of unit vectors) and the symmetric contrastive loss over ${r.n} pairs` +
      (r.loss_batch_size ? ` in batches of ${r.loss_batch_size}` : "") + "; compat = Amumo's published procedure (batches of 50)";
    cluster.checked = model.get("cluster");
    quadrant.value = model.get("cluster_quadrant");
    quadrant.disabled = !model.get("cluster");
    projection.value = model.get("projection");
    selFilter.checked = model.get("selection_filter");
  }
  const events = "change:model change:models change:filter_pattern change:filter_regex change:n_view change:n_total change:filter_error " +
    "change:gap_closed change:gap_readout change:cluster change:cluster_quadrant change:projection change:selection_filter";
  const off = onModel(model, events, sync);
  sync();
  return { el: root, destroy() { off(); clearTimeout(timer); } };
}
