// The stacked similarity heatmap: uint8 colour-index image on a canvas (one pixel per cell),
// block-mean level of detail for large views, zoom (wheel / drag a box / double-click resets)
// fetching the visible region from the kernel, hover -> bus, highlight <- bus.
//
// Three parts share one state object `st`: heatmap-render.js (DOM, image, legend, axis labels,
// overlay), heatmap-zoom.js (wheel, box drag, regions, placeholder) and heatmap-hover.js (locate,
// local/exact values, value requests, bus messages). This file reads the traits into `st`.
import { typed } from "./rpc.js";
import { subscribe } from "./bus.js";
import { createDisposer, onModel } from "./live.js";
import { createHeatmapCanvas } from "./heatmap-render.js";
import { createHeatmapHover } from "./heatmap-hover.js";
import { createHeatmapZoom } from "./heatmap-zoom.js";
import { mountHeatmapBusy } from "./busy-overlay.js";
import { mountHeatmapMarks } from "./heatmap-marks.js";

const TRAITS = "change:heat_pixels change:heat_rows change:order change:order_hash change:heat_values change:heat_vectors " +
  "change:heat_dims change:vmin change:vmax change:cluster_bounds change:heat_mode";

export function createHeatmap(model, { group, source, rpc, size = 460 }) {
  const life = createDisposer();
  const st = {
    size,
    K: 0,                       // pairs in view
    diff: false,                // difference mode: the [K, K] matrix Î·Îᵀ − T̂·T̂ᵀ (pair positions), not [2K, 2K]
    order: new Int32Array(0),   // pair indices in draw order
    posOf: new Int32Array(0),   // pair index -> draw position (-1: not in view)
    lut: new Uint8Array(768),   // colour map, RGB x 256
    full: null,                 // the whole-view image from the traits
    cur: null,                  // the image drawn now (full or a region)
    view: null,                 // {r0,r1,c0,c1} zoom rectangle or null (whole view)
    vectors: null, dims: 0,     // float32 [2K, dims] unit vectors in draw order (heat_vectors), or null
    highlight: null,            // {row, col} lit on the overlay
    box: null,                  // zoom box being dragged, CSS px {x0, y0, x1, y1}
  };
  const ui = createHeatmapCanvas(model, st, life);
  const hover = createHeatmapHover(model, st, ui, { group, source, rpc, life });
  const zoom = createHeatmapZoom(model, st, ui, { rpc, life, hover });
  const { root, status } = ui;
  mountHeatmapMarks(model, st, ui, { group, source, life }); // the prompt's hits, click to pin
  life.add(mountHeatmapBusy(model, ui.area)); // background work (clustering): a status layer on the matrix

  const onStatus = () => {
    status.textContent = model.get("status") || "";
    root.setAttribute("data-busy", model.get("status") ? "true" : "false");
  };
  life.add(onModel(model, "change:status", onStatus));
  onStatus();

  function readTraits() {
    const K = st.K = model.get("n_view");
    st.diff = model.get("heat_mode") === "difference";
    const side = st.diff ? K : 2 * K;
    st.order = typed(Int32Array, model.get("order"));
    st.posOf = new Int32Array(model.get("n_total")).fill(-1);
    for (let p = 0; p < st.order.length; p++) st.posOf[st.order[p]] = p;
    st.lut = typed(Uint8Array, model.get(st.diff ? "diverging_colormap" : "colormap"));
    const rows = model.get("heat_rows");
    const values = typed(Float32Array, model.get("heat_values"));
    const edges = typed(Int32Array, model.get("heat_edges"));
    st.full = rows === 0 ? null : {
      r0: 0, r1: side, c0: 0, c1: side, rows, cols: rows, rowEdges: edges, colEdges: edges,
      pixels: typed(Uint8Array, model.get("heat_pixels")), values: values.length ? values : null,
      exact: model.get("heat_exact"), vmin: model.get("vmin"), vmax: model.get("vmax"),
    };
    const dims = st.dims = model.get("heat_dims") || 0;
    const vec = typed(Float32Array, model.get("heat_vectors"));
    st.vectors = dims > 0 && vec.length === 2 * K * dims ? vec : null;
    root.setAttribute("data-local-values", st.vectors ? "true" : "false"); // exact hover values without the kernel
    zoom.reset();
    root.setAttribute("data-n", String(K));
    root.setAttribute("data-mode", st.diff ? "difference" : "similarity");
    root.setAttribute("data-order", model.get("order_hash"));
    ui.draw();
    hover.viewChanged();
  }

  let queued = false;
  const onTraits = () => { // one redraw per kernel update, however many traits it changed
    if (queued) return;
    queued = true;
    queueMicrotask(() => { queued = false; if (!life.disposed) readTraits(); });
  };
  life.add(onModel(model, TRAITS, onTraits));
  readTraits();

  // a jump to a pair (search box, explorer.jump_to; any view of the link group): zoom to it
  life.add(subscribe(group, (msg) => {
    if (msg.kind !== "focus" || !(msg.pair >= 0) || msg.pair >= st.posOf.length || st.posOf[msg.pair] < 0) return;
    zoom.focus(st.posOf[msg.pair]);
  }));

  return { el: root, destroy: () => life.dispose() };
}
