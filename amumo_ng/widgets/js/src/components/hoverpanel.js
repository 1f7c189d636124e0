// The hover panel: thumbnail and caption of the item(s) under the pointer in any linked view,
// plus the similarity value for a heatmap cell. Thumbnails are fetched lazily from the kernel
// (one custom message per pair) and cached as object URLs of the current model (bounded LRU).
import { h, fmt, COLORS } from "./dom.js";
import { subscribe } from "./bus.js";
import { packedStrings } from "./rpc.js";
import { createDisposer, onModel } from "./live.js";
import { createThumbCache } from "./thumbcache.js";

// `source`: the id of this widget's views; `hasHeatmap`: whether this widget draws a heatmap (then a
// cell hovered in another widget is shown through this widget's own heatmap echo, with its own values).
export function createHoverPanel(model, { group, rpc, source, hasHeatmap = false }) {
  const value = h("div", { "data-amumo": "hover-value", class: "amumo-muted" });
  const items = h("div");
  const warning = h("div", { class: "amumo-error", "data-amumo": "hover-warning", style: "font-size:11px" });
  const hint = h("div", { class: "amumo-muted", text: "Hover the heatmap or the scatter plot." });
  const root = h("div", { class: "amumo-hover", "data-amumo": "hover-panel" }, [hint, value, items, warning]);
  const life = createDisposer();
  const cache = createThumbCache(); // `${model}:${pair}` -> {url} | {missing}
  let current = null;
  let token = 0;
  let captions = null; // packed captions of the current model, decoded on demand
  const captionsOf = () => captions || (captions = packedStrings(model.get("captions_utf8"), model.get("caption_offsets")));
  const onCaptions = () => { captions = null; };
  life.add(onModel(model, "change:captions_utf8 change:caption_offsets", onCaptions));

  function thumb(pair) {
    return cache.get(`${model.get("model")}:${pair}`, () => rpc.request("thumb", { pair }).then(({ msg, buffers }) => {
      if (!msg.ok) return { missing: msg.warning || "image unavailable" };
      return { blob: new Blob([buffers[0]], { type: msg.mime }) };
    }).catch((err) => ({ missing: err.message }))); // (a destroyed view: nobody looks at it)
  }

  function show(msg) {
    const texts = captionsOf();
    hint.style.display = "none";
    items.replaceChildren();
    warning.textContent = "";
    current = msg;
    const mine = ++token;
    const seen = new Set();
    msg.items.forEach((it, idx) => {
      if (it.pair == null || it.pair < 0 || it.pair >= texts.length) return;
      const key = `${it.modality}:${it.pair}`;
      if (seen.has(key)) return;
      seen.add(key);
      const img = h("img", { class: "amumo-thumb", alt: "", "data-amumo": "hover-thumb" });
      const label = h("div", { class: "amumo-muted", style: `font-size:11px;color:${COLORS[it.modality] || "#444"}`, text: `${it.modality} · pair ${it.pair}` });
      const caption = h("div", { class: "amumo-caption", "data-amumo": "hover-caption", text: texts.at(it.pair) });
      const cluster = msg.clusters && msg.clusters[idx] ? h("div", { class: "amumo-muted", style: "font-size:11px", "data-amumo": "hover-cluster", text: msg.clusters[idx] }) : null;
      const slot = h("div", { class: "amumo-thumb" });
      const row = h("div", { class: "amumo-hover-item", "data-amumo": "hover-item", "data-pair": it.pair, "data-modality": it.modality },
        [slot, h("div", {}, [label, caption, cluster])]);
      items.append(row);
      thumb(it.pair).then((res) => {
        if (token !== mine || life.disposed) return;
        if (res.url) { img.src = res.url; slot.replaceWith(img); }
        else {
          slot.replaceWith(h("div", { class: "amumo-thumb-missing", "data-amumo": "hover-thumb-missing", text: "image unavailable" }));
          warning.textContent = res.missing;
        }
      });
    });
    renderValue(msg);
  }

  // the view this panel describes changed (new order, pixels or model): forget the item
  function clear() {
    token++;
    current = null;
    items.replaceChildren();
    value.textContent = "";
    value.removeAttribute("data-pending");
    warning.textContent = "";
    hint.style.display = "";
  }

  function renderValue(msg) {
    value.removeAttribute("data-pending");
    if (msg.origin !== "heatmap") {
      value.textContent = msg.items[0] ? `${msg.items[0].modality} point of pair ${msg.items[0].pair}` : "";
      return;
    }
    const where = `${msg.quadrant} · row ${msg.row}, col ${msg.col}`;
    if (msg.value != null) value.textContent = `cos = ${fmt(msg.value)} (${where})`;
    else if (msg.settled) {
      // the pointer left before the kernel answered: no "loading" that never ends
      value.textContent = msg.approx != null
        ? `cos ≈ ${fmt(msg.approx, 2)} (${msg.blockMean ? "block mean" : "approximate"}) (${where})`
        : `cos = n/a (not loaded) (${where})`;
    } else {
      value.setAttribute("data-pending", "true");
      if (msg.approx != null) value.textContent = `cos ≈ ${fmt(msg.approx, 2)} (${msg.blockMean ? "block mean; exact value loading" : "loading"}) (${where})`;
      else value.textContent = `cos = … (${where})`;
    }
  }

  life.add(subscribe(group, (msg) => {
    const foreign = msg.source !== source;
    if (msg.kind === "view-changed") {
      if (!foreign) clear();
    } else if (msg.kind === "hover-left") {
      if (!foreign && current && current.origin === "heatmap" && current.value == null) {
        current = { ...current, settled: true };
        renderValue(current);
      }
    } else if (msg.kind === "hover") {
      if (foreign && hasHeatmap && msg.origin === "heatmap") return; // shown via our own echo
      if (!foreign || !msg.echo) show(msg);
    } else if (msg.kind === "value" && (!foreign || !hasHeatmap) && current && current.origin === "heatmap" && current.row === msg.row && current.col === msg.col) {
      current = { ...current, value: msg.value };
      renderValue(current);
    }
  }));
  const onModelChange = () => {
    cache.clear(); // revokes the URLs
    clear(); // pair indices and captions of another model
  };
  life.add(onModel(model, "change:model", onModelChange));
  life.add(onModelChange);

  return { el: root, destroy: () => life.dispose() };
}
