// Answers of a kernel-free HTML export (amumo_ng/widgets/export_html.py) to the widget's custom
// requests, from what the file carries: "region" from the levels of detail (the whole view plus
// finer whole-matrix levels, each uint8 colour indices with block edges) or, when the view's unit
// vectors are carried and the rectangle fits the grid, exact values computed here as the kernel's
// tile does; "value" from the vectors; "thumb" from the carried thumbnails; "find" on the
// captions. Anything else needs the kernel and is answered with an error saying so.
import { typed } from "./rpc.js";

export const NEEDS_KERNEL = "needs the kernel: not in this export";

// index of the cell of `edges` (int32 [cells + 1], increasing) that holds stacked row r
function cellOf(edges, r) {
  let lo = 0, hi = edges.length - 2;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (edges[mid] <= r) lo = mid; else hi = mid - 1;
  }
  return lo;
}

// float32 values -> uint8 colour indices as amumo_ng.widgets.colormap.quantize does
function quantize(values, vmin, vmax) {
  const out = new Uint8Array(values.length);
  if (!(vmax > vmin)) { out.fill(128); return out; }
  const lo = Math.fround(vmin), k = Math.fround(255 / (vmax - vmin));
  for (let i = 0; i < values.length; i++) {
    const s = Math.fround(Math.fround(values[i] - lo) * k);
    out[i] = Math.min(255, Math.max(0, Math.round(s)));
  }
  return out;
}

function dot(vectors, dims, a, b) {
  let s = 0;
  for (let i = a * dims, j = b * dims, end = i + dims; i < end; i++, j++) s += vectors[i] * vectors[j];
  return s;
}

// the colour range of a region as the kernel's region_view / difference_region_view widen it
function widened(state, values, diff) {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < values.length; i++) { const v = values[i]; if (v < lo) lo = v; if (v > hi) hi = v; }
  if (state.color_scale !== "view") return [state.vmin, state.vmax];
  if (diff) {
    const m = Math.max(-state.vmin, state.vmax, Math.abs(lo), Math.abs(hi), 1e-3);
    return [-m, m];
  }
  if (!(hi > lo)) { lo -= 0.5; hi += 0.5; }
  return [Math.min(state.vmin, lo), Math.max(state.vmax, hi)];
}

export function createAnswers(state, extras) {
  const diff = state.heat_mode === "difference";
  const K = state.n_view;
  const side = diff ? K : 2 * K;
  const vectors = state.heat_vectors && state.heat_vectors.byteLength ? typed(Float32Array, state.heat_vectors) : null;
  const dims = state.heat_dims || 0;
  const grid = Math.max(2, state.grid || 1024);
  const floatLimit = state.float_limit || grid;
  const levels = [{
    edges: typed(Int32Array, state.heat_edges), pixels: typed(Uint8Array, state.heat_pixels),
    vmin: state.vmin, vmax: state.vmax, exact: state.heat_exact,
  }, ...(extras.levels || [])];

  function exactRegion(r0, r1, c0, c1) {
    const rows = r1 - r0, cols = c1 - c0, values = new Float32Array(rows * cols);
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) {
        const a = r0 + i, b = c0 + j;
        const v = diff ? dot(vectors, dims, a, b) - dot(vectors, dims, K + a, K + b) : Math.min(1, Math.max(-1, dot(vectors, dims, a, b)));
        values[i * cols + j] = v;
      }
    }
    const [vmin, vmax] = widened(state, values, diff);
    const edges = (a, n) => Int32Array.from({ length: n + 1 }, (_, i) => a + i);
    const small = rows * cols <= floatLimit * floatLimit;
    return {
      msg: { rows, cols, exact: true, has_values: small, vmin, vmax, level: "exact" },
      buffers: [quantize(values, vmin, vmax), edges(r0, rows), edges(c0, cols), ...(small ? [values] : [])],
    };
  }

  // the cells of a level over [a, b): their first/last cell and the edges clipped to [a, b]
  function span(edges, a, b) {
    const i0 = cellOf(edges, a), i1 = cellOf(edges, b - 1) + 1;
    const out = Int32Array.from(edges.subarray(i0, i1 + 1));
    out[0] = a; out[out.length - 1] = b;
    return { i0, i1, edges: out };
  }

  function levelRegion(r0, r1, c0, c1) {
    // the finest level that draws the rectangle on at most `grid` cells a side
    let pick = 0;
    levels.forEach((lv, i) => {
      const rs = span(lv.edges, r0, r1), cs = span(lv.edges, c0, c1);
      if (rs.i1 - rs.i0 <= grid && cs.i1 - cs.i0 <= grid) pick = i;
    });
    const lv = levels[pick];
    const n = lv.edges.length - 1;
    const rs = span(lv.edges, r0, r1), cs = span(lv.edges, c0, c1);
    const rows = rs.i1 - rs.i0, cols = cs.i1 - cs.i0;
    const pixels = new Uint8Array(rows * cols);
    for (let i = 0; i < rows; i++) pixels.set(lv.pixels.subarray((rs.i0 + i) * n + cs.i0, (rs.i0 + i) * n + cs.i1), i * cols);
    const exact = lv.exact && rows === r1 - r0 && cols === c1 - c0;
    return {
      msg: { rows, cols, exact, has_values: false, vmin: lv.vmin, vmax: lv.vmax, level: pick },
      buffers: [pixels, rs.edges, cs.edges],
    };
  }

  function region({ r0, r1, c0, c1 }) {
    [r0, r1, c0, c1] = [r0, r1, c0, c1].map((v) => Math.round(Number(v)));
    if (!(0 <= r0 && r0 < r1 && r1 <= side && 0 <= c0 && c0 < c1 && c1 <= side)) {
      throw new Error(`ValueError: region [${r0}:${r1}, ${c0}:${c1}] outside the ${side}x${side} matrix in view`);
    }
    const out = vectors && r1 - r0 <= grid && c1 - c0 <= grid ? exactRegion(r0, r1, c0, c1) : levelRegion(r0, r1, c0, c1);
    out.msg = { ...out.msg, r0, r1, c0, c1, order_hash: state.order_hash };
    return out;
  }

  const order = typed(Int32Array, state.order);
  function value({ row, col }) {
    if (!vectors) throw new Error(`exact values ${NEEDS_KERNEL} (the view's vectors were over its size budget)`);
    const item = (r) => (diff ? ["pair", order[r]] : r < K ? ["image", order[r]] : ["text", order[r - K]]);
    const base = { row, col, order_hash: state.order_hash, row_item: item(row), col_item: item(col) };
    if (diff) {
      const a = Math.fround(dot(vectors, dims, row, col)), b = Math.fround(dot(vectors, dims, K + row, K + col));
      return { msg: { ...base, value: Math.fround(a - b), parts: [a, b], mode: "difference" }, buffers: [] };
    }
    return { msg: { ...base, value: Math.fround(Math.min(1, Math.max(-1, dot(vectors, dims, row, col)))) }, buffers: [] };
  }

  const thumbs = extras.thumbs || {};
  function thumb({ pair }) {
    const t = thumbs[String(pair)];
    const base = { pair, model: state.model };
    if (!t) return { msg: { ...base, ok: false, mime: "", warning: `the thumbnail of pair ${pair} is not in this export (over its size budget)` }, buffers: [] };
    return { msg: { ...base, ok: true, mime: t.mime, warning: "" }, buffers: [t.bytes] };
  }

  // "find" as amumo_ng.widgets.search.find_pairs: "12" / "#12" is that pair, else caption text
  function find({ query }, captions, jump) {
    const q = String(query || "");
    if (!q.trim()) throw new Error("ValueError: type a pair index (e.g. 42 or #42) or words of a caption");
    const inView = new Set(order);
    let pairs = [];
    const m = /^\s*#?(\d+)\s*$/.exec(q);
    if (m) {
      const i = Number(m[1]);
      if (!(i < state.n_total)) throw new Error(`ValueError: pair ${i} does not exist: indices run from 0 to ${state.n_total - 1}`);
      pairs = [i];
    } else {
      const needle = q.trim().toLowerCase();
      for (let i = 0; i < captions.length; i++) if (captions.at(i).toLowerCase().includes(needle)) pairs.push(i);
    }
    const visible = pairs.filter((p) => inView.has(p));
    if (visible.length) jump(visible[0]);
    return { msg: { count: pairs.length, hidden: pairs.length - visible.length, pairs: visible.slice(0, 20) }, buffers: [] };
  }

  return { region, value, thumb, find, levels: levels.length, hasVectors: !!vectors };
}
