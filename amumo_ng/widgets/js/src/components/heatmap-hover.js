// Heatmap hover and values: the pointer -> stacked (row, col) cell, its exact value (from the
// image's float values, from the view's unit vectors, or asked from the kernel), the bus
// messages to the hover panel and the other views, and highlights from those views.
import { publish, subscribe } from "./bus.js";
import { isViewDestroyed } from "./rpc.js";
import { viewRect, curCoversView } from "./heatmap-render.js";

const QUADRANT = { "image,image": "image–image", "image,text": "image–text", "text,image": "text–image", "text,text": "text–text" };

// CSS px inside the canvas -> {row, col, cell} (cell: index into st.cur's pixels/values when the
// image covers the view, else -1)
export function locate(st, x, y) {
  const v = viewRect(st), cur = st.cur, size = st.size;
  const fx = Math.min(Math.max(x / size, 0), 0.999999), fy = Math.min(Math.max(y / size, 0), 0.999999);
  if (curCoversView(st)) {
    const ri = Math.floor(fy * cur.rows), cj = Math.floor(fx * cur.cols);
    const pick = (edges, i, f, cells) => {
      const a = edges[i], b = edges[i + 1];
      return Math.min(b - 1, a + Math.floor((f * cells - i) * (b - a)));
    };
    return { row: pick(cur.rowEdges, ri, fy, cur.rows), col: pick(cur.colEdges, cj, fx, cur.cols), cell: ri * cur.cols + cj };
  }
  return { row: v.r0 + Math.floor(fy * (v.r1 - v.r0)), col: v.c0 + Math.floor(fx * (v.c1 - v.c0)), cell: -1 };
}

function dotRows(st, a, b) {
  const { vectors, dims } = st;
  let dot = 0;
  for (let i = a * dims, j = b * dims, end = i + dims; i < end; i++, j++) dot += vectors[i] * vectors[j];
  return Math.fround(Math.min(1, Math.max(-1, dot)));
}

// exact S[row, col] from the view's unit vectors (float32, as the kernel's tile), or null when
// the kernel did not send them (over its vector budget). Difference mode: D[row, col] of pair
// positions, Î_row·Î_col − T̂_row·T̂_col (localParts gives the two cosines).
export function localValue(st, row, col) {
  const parts = localParts(st, row, col);
  if (!parts) return null;
  return st.diff ? Math.fround(parts[0] - parts[1]) : parts[0];
}

// [S[row, col]] or, in difference mode, [image–image cosine, text–text cosine]; null without vectors
export function localParts(st, row, col) {
  const { vectors, K } = st;
  const side = st.diff ? K : 2 * K;
  if (!vectors || row < 0 || col < 0 || row >= side || col >= side) return null;
  return st.diff ? [dotRows(st, row, col), dotRows(st, K + row, K + col)] : [dotRows(st, row, col)];
}

// ui: the heatmap's canvas part (heatmap-render.js); life: the heatmap's disposer
export function createHeatmapHover(model, st, ui, { group, source, rpc, life }) {
  const { root, canvas } = ui;
  let lastCell = "";
  let lastPointer = null; // {clientX, clientY} of the pointer while it is over the canvas
  let valueSeq = 0;       // id of the latest exact-value request; older replies are dropped
  let valueRequests = 0;
  const valueCache = new Map();

  // name of the cluster holding stacked row `row` ("" when not clustered)
  function clusterOf(row) {
    const bounds = model.get("cluster_bounds") || [], names = model.get("cluster_names") || [];
    const pos = st.diff || row < st.K ? row : row - st.K;
    for (let c = 0; c + 1 < bounds.length; c++) {
      if (pos >= bounds[c] && pos < bounds[c + 1]) return names[c] ? `cluster ${c + 1}: ${names[c]}` : `cluster ${c + 1}`;
    }
    return "";
  }

  // difference mode: a row is a pair (both modalities); the panel shows its image and caption
  function item(row) {
    const K = st.K;
    if (st.diff) return { pair: st.order[row], modality: "image" };
    return { pair: st.order[row < K ? row : row - K], modality: row < K ? "image" : "text" };
  }
  const quadrantOf = (a, b) => (st.diff ? "difference Î·Îᵀ − T̂·T̂ᵀ" : QUADRANT[`${a.modality},${b.modality}`]);

  function onMove(ev) {
    if (!st.cur) return;
    lastPointer = { clientX: ev.clientX, clientY: ev.clientY };
    if (st.box) return; // a zoom box is being dragged (heatmap-zoom.js)
    const rect = canvas.getBoundingClientRect();
    const { row, col, cell } = locate(st, ev.clientX - rect.left, ev.clientY - rect.top);
    const key = `${row},${col}`;
    if (key === lastCell) return;
    lastCell = key;
    root.setAttribute("data-hover-row", String(row));
    root.setAttribute("data-hover-col", String(col));
    const a = item(row), b = item(col), cur = st.cur;
    ui.setHighlight({ row, col });
    const exactHere = cur.exact && cur.values && cell >= 0;
    const parts = st.diff ? localParts(st, row, col) : null;
    let value = exactHere ? cur.values[cell] : localValue(st, row, col);
    if (st.diff && exactHere && !parts) value = null; // the two cosines come from the kernel with it
    const approx = !exactHere && cell >= 0 ? cur.vmin + (cur.pixels[cell] / 255) * (cur.vmax - cur.vmin) : null;
    const orderHash = model.get("order_hash");
    publish(group, {
      kind: "hover", source, origin: "heatmap", items: [a, b], row, col, clusters: [clusterOf(row), clusterOf(col)],
      quadrant: quadrantOf(a, b), value, approx, exact: value != null, parts, difference: st.diff,
      blockMean: !cur.exact && cell >= 0,
    });
    if (value == null) requestValue(row, col, orderHash);
  }

  function requestValue(row, col, orderHash) {
    const key = `${orderHash}:${row}:${col}`;
    const seq = ++valueSeq;
    const send = ({ value, parts }) => {
      // a reply for a cell the pointer left, or for a view that changed meanwhile, is stale
      if (seq !== valueSeq || lastCell !== `${row},${col}` || model.get("order_hash") !== orderHash) return;
      publish(group, { kind: "value", source, row, col, value, parts: parts || null });
    };
    if (valueCache.has(key)) { send(valueCache.get(key)); return; }
    root.setAttribute("data-value-requests", String(++valueRequests)); // kernel round trips so far
    rpc.request("value", { row, col }).then(({ msg }) => {
      if (msg.order_hash !== orderHash || life.disposed) return;
      const answer = { value: msg.value, parts: msg.parts || null };
      valueCache.set(key, answer);
      send(answer);
    }).catch((err) => { if (!isViewDestroyed(err)) console.warn("amumo-ng: value request failed", err); });
  }

  function forgetCell() {
    lastCell = "";
    valueSeq++; // an answer still on its way is for a cell no longer hovered
    root.removeAttribute("data-hover-row");
    root.removeAttribute("data-hover-col");
  }

  function onLeave() {
    lastPointer = null;
    forgetCell();
    publish(group, { kind: "hover-left", source, origin: "heatmap" });
    if (st.box) return;
    ui.setHighlight(null);
    publish(group, { kind: "hover-out", source });
  }

  // the draw order or the pixels changed: what was hovered (row/col, value) means nothing now.
  // Tell the hover panel, then resolve the pointer again if it is still over the canvas.
  function viewChanged() {
    valueCache.clear();
    forgetCell();
    ui.setHighlight(null);
    publish(group, { kind: "view-changed", source });
    if (lastPointer && st.cur) onMove(lastPointer);
  }

  // another view (scatter, or the other side of a comparison): highlight the item's row
  function onBus(msg) {
    if (msg.source === source && msg.origin === "heatmap") return;
    if (msg.kind === "hover-out") { if (msg.source !== source) ui.setHighlight(null); return; }
    if (msg.kind !== "hover" || msg.echo) return;
    const K = st.K, posOf = st.posOf;
    const rowOf = (it) => {
      if (!it || it.pair >= posOf.length || posOf[it.pair] < 0) return null;
      return it.modality === "text" && !st.diff ? K + posOf[it.pair] : posOf[it.pair];
    };
    const row = rowOf(msg.items[0]);
    const col = msg.items.length > 1 ? rowOf(msg.items[1]) : row;
    ui.setHighlight(row == null && col == null ? null : { row, col });
    if (msg.origin === "heatmap" && row != null && col != null) {
      // a cell hovered in another explorer: describe the same two items in THIS view
      // (own value, own clusters) for this explorer's hover panel
      const orderHash = model.get("order_hash");
      const local = localValue(st, row, col);
      lastCell = `${row},${col}`;
      publish(group, {
        kind: "hover", source, origin: "heatmap", echo: true, items: msg.items, row, col,
        clusters: [clusterOf(row), clusterOf(col)], quadrant: st.diff ? quadrantOf() : msg.quadrant, value: local,
        approx: null, exact: local != null, parts: st.diff ? localParts(st, row, col) : null, difference: st.diff,
      });
      if (local == null) requestValue(row, col, orderHash);
    }
  }

  // pointer events carry fractional CSS px, so every row is reachable even with > 1 row per px
  canvas.addEventListener("pointermove", onMove);
  canvas.addEventListener("pointerleave", onLeave);
  life.add(subscribe(group, onBus));
  life.add(() => { valueSeq++; lastPointer = null; });

  return { viewChanged, leave: onLeave };
}
