// The hover panel: thumbnail and caption of the item(s) under the pointer in any linked view,
// plus the similarity value for a heatmap cell, or the pair's cosine for a point of the scatter
// (shown with its partner) and for a pair jumped to. Thumbnails are fetched lazily from the
// kernel (one custom message per pair) and cached as object URLs of the current model (bounded
// LRU); without images (`has_images` false) no thumbnail is asked for and one note says so.
// An augmented set (the augmentation control) gives each pair a note ("step 12 · rotate 43.2°",
// `pair_notes_utf8` / `pair_note_offsets`), shown under the caption; its thumbnails are the
// transformed images (the cache is keyed by the set shown, so pair i of the dataset is not reused).
// On top, the interpolation actions (hover-actions.js): pin the item, "set as start/end"; pinned,
// the panel ignores hovers until unpinned or the view changes.
import { h, fmt, COLORS } from "./dom.js";
import { subscribe } from "./bus.js";
import { packedStrings, typed } from "./rpc.js";
import { createDisposer, onModel } from "./live.js";
import { createThumbCache } from "./thumbcache.js";
import { createHoverActions } from "./hover-actions.js";

// `source`: the id of this widget's views; `hasHeatmap`: whether this widget draws a heatmap (then a
// cell hovered in another widget is shown through this widget's own heatmap echo, with its own values).
export function createHoverPanel(model, { group, rpc, source, hasHeatmap = false }) {
  const value = h("div", { "data-amumo": "hover-value", class: "amumo-muted" });
  const pairCos = h("div", { "data-amumo": "hover-pair-cosine", class: "amumo-muted", style: "font-size:12px" });
  const items = h("div");
  const warning = h("div", { class: "amumo-error", "data-amumo": "hover-warning", style: "font-size:11px" });
  const hint = h("div", { class: "amumo-muted", text: "Hover the heatmap or the scatter plot." });
  const noImages = h("div", { class: "amumo-muted", "data-amumo": "hover-no-images", style: "font-size:11px;font-style:italic", text: "no images attached" });
  const life = createDisposer();
  const actions = createHoverActions(model, { rpc });
  life.add(actions.destroy);
  const root = h("div", { class: "amumo-hover", "data-amumo": "hover-panel" }, [actions.el, hint, value, pairCos, items, warning]);
  const cache = createThumbCache(); // `${model}:${pair}` -> {url} | {missing}
  let current = null;
  let token = 0;
  let captions = null; // packed captions of the current model, decoded on demand
  let notes = null;    // packed pair notes of an augmented set (length 0 for the dataset), on demand
  let cosines = null;  // pair_cosines of the current model (float32 [n]), read on demand
  let inView = null;   // Uint8Array [n]: 1 = pair in view, read on demand
  const captionsOf = () => captions || (captions = packedStrings(model.get("captions_utf8"), model.get("caption_offsets")));
  const noteOf = (pair) => {
    if (!notes) notes = packedStrings(model.get("pair_notes_utf8"), model.get("pair_note_offsets"));
    return notes.length ? notes.at(pair) || "" : "";
  };
  const dataKey = () => JSON.stringify(model.get("augmentation") || {});
  const cosineOf = (pair) => {
    if (!cosines) cosines = typed(Float32Array, model.get("pair_cosines"));
    return pair >= 0 && pair < cosines.length ? cosines[pair] : null;
  };
  const isInView = (pair) => {
    if (!inView) {
      const order = typed(Int32Array, model.get("order"));
      inView = new Uint8Array(model.get("n_total") || 0);
      for (const p of order) if (p >= 0 && p < inView.length) inView[p] = 1;
    }
    return !!inView[pair];
  };
  const hasImages = () => model.get("has_images") !== false;
  // the note is in the panel only while the pairs have no images
  const onImages = () => { if (hasImages()) noImages.remove(); else if (!noImages.parentNode) root.append(noImages); };
  life.add(onModel(model, "change:captions_utf8 change:caption_offsets", () => { captions = null; }));
  life.add(onModel(model, "change:pair_notes_utf8 change:pair_note_offsets", () => { notes = null; }));
  life.add(onModel(model, "change:pair_cosines", () => { cosines = null; if (current) renderValue(current); }));
  life.add(onModel(model, "change:order change:n_total", () => { inView = null; }));
  life.add(onModel(model, "change:has_images", onImages));
  onImages();

  function thumb(pair) {
    return cache.get(`${model.get("model")}:${dataKey()}:${pair}`, () => rpc.request("thumb", { pair }).then(({ msg, buffers }) => {
      if (!msg.ok) return { missing: msg.warning || "image unavailable" };
      return { blob: new Blob([buffers[0]], { type: msg.mime }) };
    }).catch((err) => ({ missing: err.message }))); // (a destroyed view: nobody looks at it)
  }

  // the image and the text of one pair (a scatter point and its partner, a joint point, a jump)
  const onePair = (msg) => msg.origin !== "heatmap" && msg.items.length === 2 && msg.items[0].pair === msg.items[1].pair &&
    msg.items[0].modality !== msg.items[1].modality;

  function show(msg) {
    const texts = captionsOf();
    hint.style.display = "none";
    items.replaceChildren();
    warning.textContent = "";
    current = msg;
    actions.setItem(msg.items[0]);
    const mine = ++token;
    const seen = new Set();
    const pairView = onePair(msg);
    const images = hasImages();
    // a pair: its image (thumbnail) then its text (caption)
    const list = pairView ? [...msg.items].sort((a, b) => (a.modality === "image" ? -1 : 0) - (b.modality === "image" ? -1 : 0)) : msg.items;
    list.forEach((it) => {
      const idx = msg.items.indexOf(it);
      if (it.pair == null || it.pair < 0 || it.pair >= texts.length) return;
      const key = `${it.modality}:${it.pair}`;
      if (seen.has(key)) return;
      seen.add(key);
      if (pairView && !images && it.modality === "image") return; // no picture: the text row says both
      // in a pair view the image row shows the picture, the text row the caption
      const withThumb = images && (!pairView || it.modality === "image");
      const withCaption = !pairView || it.modality !== "image";
      const out = msg.origin !== "heatmap" && !isInView(it.pair);
      const label = h("div", { class: "amumo-muted", style: `font-size:11px;color:${COLORS[it.modality] || "#444"}`,
        text: `${pairView && !images ? "image + text" : it.modality} · pair ${it.pair}${out ? " · not in view" : ""}` });
      const caption = withCaption ? h("div", { class: "amumo-caption", "data-amumo": "hover-caption", text: texts.at(it.pair) }) : null;
      const noteText = withCaption ? noteOf(it.pair) : "";
      const note = noteText ? h("div", { class: "amumo-muted", style: "font-size:11px", "data-amumo": "hover-note", text: noteText }) : null;
      const cluster = msg.clusters && msg.clusters[idx] ? h("div", { class: "amumo-muted", style: "font-size:11px", "data-amumo": "hover-cluster", text: msg.clusters[idx] }) : null;
      const slot = withThumb ? h("div", { class: "amumo-thumb" }) : null;
      const row = h("div", { class: "amumo-hover-item", "data-amumo": "hover-item", "data-pair": it.pair, "data-modality": it.modality },
        [slot, h("div", {}, [label, caption, note, cluster])]);
      items.append(row);
      if (!slot) return;
      thumb(it.pair).then((res) => {
        if (token !== mine || life.disposed) return;
        if (res.url) {
          const img = h("img", { class: "amumo-thumb", alt: "", "data-amumo": "hover-thumb" });
          img.src = res.url;
          slot.replaceWith(img);
        } else {
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
    actions.setItem(null);
    actions.setPinned(false);
    items.replaceChildren();
    value.textContent = "";
    value.removeAttribute("data-pending");
    pairCos.textContent = "";
    warning.textContent = "";
    hint.style.display = "";
  }

  function renderValue(msg) {
    value.removeAttribute("data-pending");
    pairCos.textContent = "";
    if (msg.origin !== "heatmap") {
      const first = msg.items[0];
      if (!first) { value.textContent = ""; return; }
      if (msg.origin === "search") value.textContent = `pair ${first.pair} (jumped to)`;
      else if (msg.origin === "outliers") value.textContent = `pair ${first.pair} (outlier list)`;
      else if (msg.point === "pair") value.textContent = `joint point of pair ${first.pair}`;
      else value.textContent = `${first.modality} point of pair ${first.pair}`;
      const cos = onePair(msg) ? cosineOf(first.pair) : null;
      if (cos != null) {
        pairCos.textContent = `pair cosine = ${fmt(cos)}`;
        pairCos.title = "cosine similarity of the pair's image and text vectors as shown (gap-closed when the gap is closed)";
      }
      return;
    }
    const where = `${msg.quadrant} · row ${msg.row}, col ${msg.col}`;
    const name = msg.difference ? "Δ" : "cos";
    value.setAttribute("data-mode", msg.difference ? "difference" : "similarity");
    if (msg.value != null && msg.difference && msg.parts) {
      value.textContent = `Δ = ${fmt(msg.value)} = ${fmt(msg.parts[0])} (image–image) − ${fmt(msg.parts[1])} (text–text) · row ${msg.row}, col ${msg.col}`;
    } else if (msg.value != null) value.textContent = `${name} = ${fmt(msg.value)} (${where})`;
    else if (msg.settled) {
      // the pointer left before the kernel answered: no "loading" that never ends
      value.textContent = msg.approx != null
        ? `${name} ≈ ${fmt(msg.approx, 2)} (${msg.blockMean ? "block mean" : "approximate"}) (${where})`
        : `${name} = n/a (not loaded) (${where})`;
    } else {
      value.setAttribute("data-pending", "true");
      if (msg.approx != null) value.textContent = `${name} ≈ ${fmt(msg.approx, 2)} (${msg.blockMean ? "block mean; exact value loading" : "loading"}) (${where})`;
      else value.textContent = `${name} = … (${where})`;
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
    } else if (msg.kind === "pin") {
      if (!foreign && current) actions.setPinned(true);
    } else if (msg.kind === "hover") {
      if (actions.pinned) return; // the pinned item stays until unpinned
      if (foreign && hasHeatmap && msg.origin === "heatmap") return; // shown via our own echo
      if (!foreign || !msg.echo) show(msg);
    } else if (msg.kind === "value" && (!foreign || !hasHeatmap) && current && current.origin === "heatmap" && current.row === msg.row && current.col === msg.col) {
      current = { ...current, value: msg.value, parts: msg.parts || current.parts };
      renderValue(current);
    }
  }));
  const onModelChange = () => {
    cache.clear(); // revokes the URLs
    cosines = null;
    inView = null;
    clear(); // pair indices and captions of another model
  };
  life.add(onModel(model, "change:model", onModelChange));
  // another set of pairs (an augmentation shown or left): other images behind the same indices
  life.add(onModel(model, "change:augmentation", () => { cache.clear(); notes = null; }));
  life.add(onModelChange);

  return { el: root, destroy: () => life.dispose() };
}
