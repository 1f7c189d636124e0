// The stacked similarity heatmap: uint8 colour-index image on a canvas (one pixel per cell),
// block-mean level of detail for large views, zoom (wheel / drag a box / double-click resets)
// fetching the visible region from the kernel, hover -> bus, highlight <- bus.
import { h, fmt } from "./dom.js";
import { publish, subscribe } from "./bus.js";
import { typed } from "./rpc.js";

const QUADRANT = { "image,image": "image–image", "image,text": "image–text", "text,image": "text–image", "text,text": "text–text" };

function searchEdges(edges, r) {
  // index of the cell holding stacked row r: edges[i] <= r < edges[i+1]
  let lo = 0, hi = edges.length - 2;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (edges[mid] <= r) lo = mid; else hi = mid - 1;
  }
  return lo;
}

export function createHeatmap(model, { group, source, rpc, size = 460 }) {
  const dpr = Math.min(window.devicePixelRatio || 1, 2);
  const canvas = h("canvas", { class: "amumo-heat", "data-amumo": "heatmap-canvas", style: `width:${size}px;height:${size}px` });
  const overlay = h("canvas", { class: "amumo-overlay", style: `width:${size}px;height:${size}px` });
  overlay.width = Math.round(size * dpr);
  overlay.height = Math.round(size * dpr);
  const empty = h("div", { class: "amumo-empty", "data-amumo": "heatmap-empty", text: "No pairs match the filter." });
  empty.style.display = "none";
  const topImg = h("span", { class: "amumo-axis", text: "images" });
  const topTxt = h("span", { class: "amumo-axis", text: "texts" });
  const leftImg = h("span", { class: "amumo-axis", text: "images" });
  const leftTxt = h("span", { class: "amumo-axis", text: "texts" });
  const topBar = h("div", { style: `position:relative;height:16px;width:${size}px;margin-left:18px` }, [topImg, topTxt]);
  const leftBar = h("div", { style: `position:relative;width:18px;height:${size}px;flex:none` }, [leftImg, leftTxt]);
  const area = h("div", { class: "amumo-heatmap-area", style: `width:${size}px;height:${size}px` }, [canvas, overlay, empty]);
  const legendCanvas = h("canvas", { width: 256, height: 1, style: "width:160px;height:10px;image-rendering:pixelated;border:1px solid #ccc" });
  const vminLabel = h("span");
  const vmaxLabel = h("span");
  const info = h("div", { class: "amumo-muted", style: "font-size:11px", "data-amumo": "heatmap-info" });
  const status = h("div", { class: "amumo-muted", style: "font-size:11px;font-style:italic", "data-amumo": "heatmap-status" });
  const legend = h("div", { class: "amumo-legend", "data-amumo": "heatmap-legend" },
    [h("span", { text: "cosine similarity" }), vminLabel, legendCanvas, vmaxLabel]);
  const root = h("div", { class: "amumo-heatmap", "data-amumo": "heatmap" },
    [topBar, h("div", { style: "display:flex" }, [leftBar, area]), legend, info, status]);
  const onStatus = () => {
    status.textContent = model.get("status") || "";
    root.setAttribute("data-busy", model.get("status") ? "true" : "false");
  };
  model.on("change:status", onStatus);
  onStatus();

  let full = null;      // the whole-view image from the traits
  let cur = null;       // the image drawn now (full or a region)
  let view = null;      // {r0,r1,c0,c1} zoom rectangle or null (whole view)
  let order = new Int32Array(0);
  let posOf = new Int32Array(0);
  let K = 0;
  let lut = new Uint8Array(768);
  let highlight = null; // {row, col}
  let box = null;       // drag rectangle in CSS px
  let lastCell = "";
  let lastPointer = null; // {clientX, clientY} of the pointer while it is over the canvas
  let valueSeq = 0;       // id of the latest exact-value request; older replies are dropped
  let regionTimer = 0;
  let regionSeq = 0;
  const valueCache = new Map();
  let vectors = null;     // float32 [2K, dims] unit vectors in draw order (heat_vectors), or null
  let dims = 0;
  let valueRequests = 0;

  function readTraits() {
    K = model.get("n_view");
    order = typed(Int32Array, model.get("order"));
    const n = model.get("n_total");
    posOf = new Int32Array(n).fill(-1);
    for (let p = 0; p < order.length; p++) posOf[order[p]] = p;
    lut = typed(Uint8Array, model.get("colormap"));
    const rows = model.get("heat_rows");
    const values = typed(Float32Array, model.get("heat_values"));
    const edges = typed(Int32Array, model.get("heat_edges"));
    full = rows === 0 ? null : {
      r0: 0, r1: 2 * K, c0: 0, c1: 2 * K, rows, cols: rows, rowEdges: edges, colEdges: edges,
      pixels: typed(Uint8Array, model.get("heat_pixels")), values: values.length ? values : null,
      exact: model.get("heat_exact"), vmin: model.get("vmin"), vmax: model.get("vmax"),
    };
    dims = model.get("heat_dims") || 0;
    const vec = typed(Float32Array, model.get("heat_vectors"));
    vectors = dims > 0 && vec.length === 2 * K * dims ? vec : null;
    valueCache.clear();
    view = null;
    cur = full;
    root.setAttribute("data-n", String(K));
    root.setAttribute("data-order", model.get("order_hash"));
    draw();
    resetHover();
  }

  // the draw order or the pixels changed: what was hovered (row/col, value) means nothing now.
  // Tell the hover panel, then resolve the pointer again if it is still over the canvas.
  function resetHover() {
    lastCell = "";
    valueSeq++;
    root.removeAttribute("data-hover-row");
    root.removeAttribute("data-hover-col");
    setHighlight(null);
    publish(group, { kind: "view-changed", source });
    if (lastPointer && cur) onMove(lastPointer);
  }

  function drawLegend() {
    const ctx = legendCanvas.getContext("2d");
    const img = ctx.createImageData(256, 1);
    for (let i = 0; i < 256; i++) {
      img.data[4 * i] = lut[3 * i]; img.data[4 * i + 1] = lut[3 * i + 1]; img.data[4 * i + 2] = lut[3 * i + 2]; img.data[4 * i + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
    // the range of the image drawn now: a zoomed region may span more than the whole view's block means
    vminLabel.textContent = cur ? fmt(cur.vmin, 2) : "";
    vmaxLabel.textContent = cur ? fmt(cur.vmax, 2) : "";
  }

  function viewRect() {
    return view || { r0: 0, r1: 2 * K, c0: 0, c1: 2 * K };
  }

  function draw(placeholderFrom = null) {
    drawLegend();
    if (!cur) {
      empty.style.display = "flex";
      canvas.width = 1; canvas.height = 1;
      root.setAttribute("data-rows", "0");
      info.textContent = "";
      drawOverlay();
      return;
    }
    empty.style.display = "none";
    const ctx = canvas.getContext("2d");
    if (placeholderFrom) {
      // stretch the part of the previous image that covers the new view until the kernel answers
      const { src, rect } = placeholderFrom;
      const tmp = document.createElement("canvas");
      tmp.width = src.width; tmp.height = src.height;
      tmp.getContext("2d").drawImage(src, 0, 0);
      ctx.imageSmoothingEnabled = false;
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      ctx.drawImage(tmp, rect.x, rect.y, Math.max(rect.w, 1e-3), Math.max(rect.h, 1e-3), 0, 0, canvas.width, canvas.height);
    } else {
      canvas.width = cur.cols;
      canvas.height = cur.rows;
      const img = ctx.createImageData(cur.cols, cur.rows);
      const px = cur.pixels, out = img.data;
      for (let i = 0, j = 0; i < px.length; i++, j += 4) {
        const c = 3 * px[i];
        out[j] = lut[c]; out[j + 1] = lut[c + 1]; out[j + 2] = lut[c + 2]; out[j + 3] = 255;
      }
      ctx.putImageData(img, 0, 0);
      root.setAttribute("data-rows", String(cur.rows));
    }
    const v = viewRect();
    const kind = cur.exact ? "exact values" : `block means of ~${Math.ceil((v.r1 - v.r0) / cur.rows)}×${Math.ceil((v.c1 - v.c0) / cur.cols)} cells`;
    info.textContent = `${K} pairs · rows ${v.r0}–${v.r1 - 1}, cols ${v.c0}–${v.c1 - 1} · ${kind}` +
      (view ? " · double-click to reset zoom" : " · wheel or drag to zoom");
    placeAxisLabels();
    drawOverlay();
  }

  function placeAxisLabels() {
    const v = viewRect();
    const place = (span, a, b, start, stop, vertical) => {
      const lo = Math.max(a, start), hi = Math.min(b, stop);
      if (hi <= lo) { span.style.display = "none"; return; }
      span.style.display = "";
      const mid = ((lo + hi) / 2 - start) / (stop - start) * size;
      if (vertical) {
        span.style.top = `${mid}px`; span.style.left = "0px";
        span.style.transform = "translate(0,-50%) rotate(-90deg) translate(-50%, 0)";
        span.style.transformOrigin = "0 0";
        span.style.top = `${mid + 20}px`;
      } else {
        span.style.left = `${mid}px`; span.style.transform = "translateX(-50%)";
      }
    };
    place(topImg, 0, K, v.c0, v.c1, false);
    place(topTxt, K, 2 * K, v.c0, v.c1, false);
    place(leftImg, 0, K, v.r0, v.r1, true);
    place(leftTxt, K, 2 * K, v.r0, v.r1, true);
  }

  // stacked row -> CSS px of its cell centre (y), or null when outside the view
  function rowToPx(r, axis) {
    const v = viewRect();
    const a = axis === "row" ? v.r0 : v.c0, b = axis === "row" ? v.r1 : v.c1;
    if (r < a || r >= b) return null;
    if (cur && cur.r0 === v.r0 && cur.r1 === v.r1 && cur.c0 === v.c0 && cur.c1 === v.c1) {
      const edges = axis === "row" ? cur.rowEdges : cur.colEdges;
      const cell = searchEdges(edges, r);
      const cells = edges.length - 1;
      return { pos: (cell + 0.5) / cells * size, width: size / cells };
    }
    return { pos: (r - a + 0.5) / (b - a) * size, width: size / (b - a) };
  }

  function drawOverlay() {
    const ctx = overlay.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, size, size);
    if (!cur) return;
    const v = viewRect();
    const line = (r, color, width, axis) => {
      const yr = axis !== "col" ? rowToPx(r, "row") : null;
      const xc = axis !== "row" ? rowToPx(r, "col") : null;
      ctx.strokeStyle = color; ctx.lineWidth = width;
      // a separator sits at the top/left edge of row r
      if (yr) { const y = yr.pos - yr.width / 2; ctx.beginPath(); ctx.moveTo(0, y); ctx.lineTo(size, y); ctx.stroke(); }
      if (xc) { const x = xc.pos - xc.width / 2; ctx.beginPath(); ctx.moveTo(x, 0); ctx.lineTo(x, size); ctx.stroke(); }
    };
    for (const b of model.get("cluster_bounds") || []) {
      if (b > 0 && b < K) { line(b, "rgba(255,255,255,0.55)", 1); line(K + b, "rgba(255,255,255,0.55)", 1); }
    }
    if (K > 0 && v.r0 < K && K < v.r1) line(K, "#fff", 2, "row");
    if (K > 0 && v.c0 < K && K < v.c1) line(K, "#fff", 2, "col");
    if (highlight) {
      ctx.fillStyle = "rgba(255,0,80,0.35)";
      const yr = highlight.row != null ? rowToPx(highlight.row, "row") : null;
      const xc = highlight.col != null ? rowToPx(highlight.col, "col") : null;
      const w = (p) => Math.max(p.width, 2);
      if (yr) ctx.fillRect(0, yr.pos - w(yr) / 2, size, w(yr));
      if (xc) ctx.fillRect(xc.pos - w(xc) / 2, 0, w(xc), size);
    }
    if (box) {
      ctx.strokeStyle = "#e00"; ctx.lineWidth = 1; ctx.setLineDash([4, 3]);
      ctx.strokeRect(box.x0, box.y0, box.x1 - box.x0, box.y1 - box.y0);
      ctx.setLineDash([]);
    }
  }

  function setHighlight(hl) {
    highlight = hl;
    if (hl && hl.row != null) root.setAttribute("data-highlight-row", String(hl.row));
    else root.removeAttribute("data-highlight-row");
    if (hl && hl.col != null) root.setAttribute("data-highlight-col", String(hl.col));
    else root.removeAttribute("data-highlight-col");
    drawOverlay();
  }

  // name of the cluster holding stacked row `row` ("" when not clustered)
  function clusterOf(row) {
    const bounds = model.get("cluster_bounds") || [], names = model.get("cluster_names") || [];
    const pos = row < K ? row : row - K;
    for (let c = 0; c + 1 < bounds.length; c++) {
      if (pos >= bounds[c] && pos < bounds[c + 1]) return names[c] ? `cluster ${c + 1}: ${names[c]}` : `cluster ${c + 1}`;
    }
    return "";
  }

  function item(row) {
    const modality = row < K ? "image" : "text";
    return { pair: order[row < K ? row : row - K], modality };
  }

  // CSS px inside the canvas -> {row, col, cell} (cell: index into cur.values when cur covers the view)
  function locate(x, y) {
    const v = viewRect();
    const fx = Math.min(Math.max(x / size, 0), 0.999999), fy = Math.min(Math.max(y / size, 0), 0.999999);
    if (cur && cur.r0 === v.r0 && cur.r1 === v.r1 && cur.c0 === v.c0 && cur.c1 === v.c1) {
      const ri = Math.floor(fy * cur.rows), cj = Math.floor(fx * cur.cols);
      const pick = (edges, i, f, cells) => {
        const a = edges[i], b = edges[i + 1];
        return Math.min(b - 1, a + Math.floor((f * cells - i) * (b - a)));
      };
      return { row: pick(cur.rowEdges, ri, fy, cur.rows), col: pick(cur.colEdges, cj, fx, cur.cols), cell: ri * cur.cols + cj };
    }
    return { row: v.r0 + Math.floor(fy * (v.r1 - v.r0)), col: v.c0 + Math.floor(fx * (v.c1 - v.c0)), cell: -1 };
  }

  // exact S[row, col] from the view's unit vectors (float32, as the kernel's tile), or null
  // when the kernel did not send them (over its vector budget)
  function localValue(row, col) {
    if (!vectors || row < 0 || col < 0 || row >= 2 * K || col >= 2 * K) return null;
    let dot = 0;
    for (let i = row * dims, j = col * dims, end = i + dims; i < end; i++, j++) dot += vectors[i] * vectors[j];
    return Math.fround(Math.min(1, Math.max(-1, dot)));
  }

  function onMove(ev) {
    if (!cur) return;
    const rect = canvas.getBoundingClientRect();
    lastPointer = { clientX: ev.clientX, clientY: ev.clientY };
    const x = ev.clientX - rect.left, y = ev.clientY - rect.top;
    if (box) { box.x1 = Math.min(Math.max(x, 0), size); box.y1 = Math.min(Math.max(y, 0), size); drawOverlay(); return; }
    const { row, col, cell } = locate(x, y);
    const key = `${row},${col}`;
    if (key === lastCell) return;
    lastCell = key;
    root.setAttribute("data-hover-row", String(row));
    root.setAttribute("data-hover-col", String(col));
    const a = item(row), b = item(col);
    setHighlight({ row, col });
    const exactHere = cur.exact && cur.values && cell >= 0;
    const value = exactHere ? cur.values[cell] : localValue(row, col);
    const approx = !exactHere && cell >= 0 ? cur.vmin + (cur.pixels[cell] / 255) * (cur.vmax - cur.vmin) : null;
    const orderHash = model.get("order_hash");
    const clusters = [clusterOf(row), clusterOf(col)];
    publish(group, {
      kind: "hover", source, origin: "heatmap", items: [a, b], row, col, clusters,
      quadrant: QUADRANT[`${a.modality},${b.modality}`], value, approx, exact: value != null,
      blockMean: !cur.exact && cell >= 0,
    });
    if (value == null) requestValue(row, col, orderHash);
  }

  function requestValue(row, col, orderHash) {
    const key = `${orderHash}:${row}:${col}`;
    const seq = ++valueSeq;
    const send = (value) => {
      // a reply for a cell the pointer left, or for a view that changed meanwhile, is stale
      if (seq !== valueSeq || lastCell !== `${row},${col}` || model.get("order_hash") !== orderHash) return;
      publish(group, { kind: "value", source, row, col, value });
    };
    if (valueCache.has(key)) { send(valueCache.get(key)); return; }
    root.setAttribute("data-value-requests", String(++valueRequests)); // kernel round trips so far
    rpc.request("value", { row, col }).then(({ msg }) => {
      if (msg.order_hash !== orderHash) return;
      valueCache.set(key, msg.value);
      send(msg.value);
    }).catch((err) => console.warn("amumo-ng: value request failed", err));
  }

  function onLeave() {
    lastCell = "";
    lastPointer = null;
    valueSeq++; // an answer still on its way is for a cell no longer hovered
    publish(group, { kind: "hover-left", source, origin: "heatmap" });
    root.removeAttribute("data-hover-row");
    root.removeAttribute("data-hover-col");
    if (box) return;
    setHighlight(null);
    publish(group, { kind: "hover-out", source });
  }

  function setView(next) {
    const R = 2 * K;
    if (!next || (next.r1 - next.r0 >= R && next.c1 - next.c0 >= R)) {
      view = null;
      cur = full;
      draw();
      return;
    }
    const prev = cur;
    const prevRect = viewRect();
    view = next;
    // placeholder: the part of the old image under the new rectangle
    if (prev) {
      const sx = (r) => (r - prevRect.c0) / (prevRect.c1 - prevRect.c0) * canvas.width;
      const sy = (r) => (r - prevRect.r0) / (prevRect.r1 - prevRect.r0) * canvas.height;
      draw({ src: canvas, rect: { x: sx(next.c0), y: sy(next.r0), w: sx(next.c1) - sx(next.c0), h: sy(next.r1) - sy(next.r0) } });
    }
    clearTimeout(regionTimer);
    const seq = ++regionSeq;
    const orderHash = model.get("order_hash");
    regionTimer = setTimeout(() => {
      rpc.request("region", next).then(({ msg, buffers }) => {
        if (seq !== regionSeq || msg.order_hash !== orderHash) return;
        cur = {
          r0: msg.r0, r1: msg.r1, c0: msg.c0, c1: msg.c1, rows: msg.rows, cols: msg.cols,
          pixels: typed(Uint8Array, buffers[0]), rowEdges: typed(Int32Array, buffers[1]),
          colEdges: typed(Int32Array, buffers[2]), values: msg.has_values ? typed(Float32Array, buffers[3]) : null,
          exact: msg.exact, vmin: msg.vmin, vmax: msg.vmax,
        };
        draw();
      }).catch((err) => { info.textContent = `zoom failed: ${err.message}`; });
    }, 90);
  }

  function onWheel(ev) {
    if (!cur) return;
    ev.preventDefault();
    const rect = canvas.getBoundingClientRect();
    const fx = (ev.clientX - rect.left) / size, fy = (ev.clientY - rect.top) / size;
    const v = viewRect();
    const R = 2 * K;
    const factor = ev.deltaY < 0 ? 1 / 1.3 : 1.3;
    const zoomAxis = (a, b, f) => {
      const len = Math.min(R, Math.max(4, (b - a) * factor));
      const centre = a + f * (b - a);
      let na = Math.round(centre - f * len);
      na = Math.max(0, Math.min(na, R - Math.round(len)));
      return [na, Math.min(R, na + Math.round(len))];
    };
    const [r0, r1] = zoomAxis(v.r0, v.r1, fy);
    const [c0, c1] = zoomAxis(v.c0, v.c1, fx);
    setView({ r0, r1, c0, c1 });
  }

  function onDown(ev) {
    if (!cur || ev.button !== 0) return;
    const rect = canvas.getBoundingClientRect();
    const x = ev.clientX - rect.left, y = ev.clientY - rect.top;
    box = { x0: x, y0: y, x1: x, y1: y };
    const up = () => {
      window.removeEventListener("pointerup", up);
      const b = box;
      box = null;
      drawOverlay();
      if (!b || Math.abs(b.x1 - b.x0) < 5 || Math.abs(b.y1 - b.y0) < 5) return;
      const p = locate(Math.min(b.x0, b.x1), Math.min(b.y0, b.y1));
      const q = locate(Math.max(b.x0, b.x1) - 0.01, Math.max(b.y0, b.y1) - 0.01);
      setView({ r0: p.row, r1: q.row + 1, c0: p.col, c1: q.col + 1 });
    };
    window.addEventListener("pointerup", up);
  }

  // pointer events carry fractional CSS px, so every row is reachable even with > 1 row per px
  canvas.addEventListener("pointermove", onMove);
  canvas.addEventListener("pointerleave", onLeave);
  canvas.addEventListener("wheel", onWheel, { passive: false });
  canvas.addEventListener("pointerdown", onDown);
  canvas.addEventListener("dblclick", () => setView(null));

  const unsubscribe = subscribe(group, (msg) => {
    if (msg.source === source && msg.origin === "heatmap") return;
    if (msg.kind === "hover-out") { if (msg.source !== source) setHighlight(null); return; }
    if (msg.kind !== "hover" || msg.echo) return;
    // another view (scatter, or the other side of a comparison): highlight the item's row
    const rowOf = (it) => {
      if (!it || it.pair >= posOf.length || posOf[it.pair] < 0) return null;
      return it.modality === "text" ? K + posOf[it.pair] : posOf[it.pair];
    };
    const row = rowOf(msg.items[0]);
    const col = msg.items.length > 1 ? rowOf(msg.items[1]) : row;
    setHighlight(row == null && col == null ? null : { row, col });
    if (msg.origin === "heatmap" && row != null && col != null) {
      // a cell hovered in another explorer: describe the same two items in THIS view
      // (own value, own clusters) for this explorer's hover panel
      const orderHash = model.get("order_hash");
      const local = localValue(row, col);
      lastCell = `${row},${col}`;
      publish(group, {
        kind: "hover", source, origin: "heatmap", echo: true, items: msg.items, row, col,
        clusters: [clusterOf(row), clusterOf(col)], quadrant: msg.quadrant, value: local, approx: null, exact: local != null,
      });
      if (local == null) requestValue(row, col, orderHash);
    }
  });

  const traits = "change:heat_pixels change:heat_rows change:order change:order_hash change:heat_values change:heat_vectors change:heat_dims change:vmin change:vmax change:cluster_bounds";
  let queued = false;
  const onTraits = () => {  // one redraw per kernel update, however many traits it changed
    if (queued) return;
    queued = true;
    queueMicrotask(() => { queued = false; readTraits(); });
  };
  model.on(traits, onTraits);
  readTraits();

  return {
    el: root,
    destroy() { unsubscribe(); model.off(traits, onTraits); model.off("change:status", onStatus); clearTimeout(regionTimer); },
  };
}
