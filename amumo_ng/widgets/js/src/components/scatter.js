// The projection scatter plot (regl-scatterplot, WebGL): points coloured by the kernel's colour-by
// (modality, a meta column, cluster, pair cosine) with a legend of what is drawn, the pairs out of
// view faded (projection fitted on all pairs) or hidden (re-projected on the view), clamped
// outliers ringed, optional lines joining each pair (grey, or by the pair's cosine), hover -> bus,
// highlight / focus <- bus, lasso -> selection. A `plot_title` (standalone Scatter) shows above the plot. In an Explorer it also makes the jump-to-pair search box (search.js).
import createScatterplot, { createRenderer } from "regl-scatterplot";
import { h, pixelRatio } from "./dom.js";
import { publish, subscribe } from "./bus.js";
import { typed } from "./rpc.js";
import { createDisposer, hold, onModel } from "./live.js";
import { mountScatterBusy } from "./busy-overlay.js";
import { createColorBy, createScatterLegend, pointColorState, DIM_OFFSET } from "./scatter-legend.js";
import { createSearch, mountInControls } from "./search.js";
import { mountScatterMarks } from "./scatter-marks.js";
import { LINES_LIMIT, OVERLAY_LINES, extremeAnchors, overlayPairs, strokePairLines } from "./scatter-lines.js";
import { guardPointer } from "./scatter-pointer.js";
import { clearedContext, overlayCanvas, strokeClampRings, strokeHover } from "./scatter-rings.js";
import { DENSITY_FIRST_POINTS, paintDensity } from "./scatter-density.js";
import { afterPaint, firstLayout, pairsInView, pointRows, pointsFit, settled } from "./scatter-rows.js";
import { createLineColorSelect, lineColorState, lutRgb, setLineStyle } from "./scatter-line-colors.js";

export { LINES_LIMIT, OVERLAY_LINES };

export const MAX_CLAMP_RINGS = 300; // clamped outliers ringed on the overlay, at most
// pair lines by the code of their first point: 256 greys, then 256 pale ones (faded pairs)
const LINE_COLORS = [...new Array(256).fill([0.5, 0.5, 0.5, 0.35]), ...new Array(256).fill([0.88, 0.88, 0.88, 0.35])];

const COLOR_TRAITS = "change:point_colors change:color_kind change:color_legend change:category_colors " +
  "change:colormap change:color_range change:color_title change:color_error";
const LINE_TRAITS = "change:line_color change:line_color_range change:line_colormap change:pair_cosines";

// search: make the search box when the model has focus traits (an Explorer)
export function createScatter(model, { group, source, width = 460, height = 460, search = true, rpc = null }) {
  const life = createDisposer();
  const canvas = h("canvas", { "data-amumo": "scatter-canvas", style: `width:${width}px;height:${height}px` });
  // the overlay in two layers: the pair lines (up to 100k segments: redrawn when the camera, the
  // points or the selection change) under the rings (clamped outliers, the hovered pair: on hover)
  const dpr = pixelRatio();
  const lineLayer = overlayCanvas("scatter-line-layer", width, height, dpr);
  const overlay = overlayCanvas(null, width, height, dpr);
  const status = h("span", { "data-amumo": "projection-status", class: "amumo-muted" });
  const note = h("span", { "data-amumo": "projection-note", class: "amumo-muted" });
  const progress = h("progress", { class: "amumo-progress", max: 1, value: 0 });
  const lasso = h("button", { "data-amumo": "lasso", title: "lasso selection (or shift+drag)", text: "lasso" });
  const lines = h("input", { type: "checkbox", "data-amumo": "lines-toggle" });
  const selInfo = h("span", { "data-amumo": "selection-count", class: "amumo-muted" });
  const linesNote = h("span", { "data-amumo": "lines-note", class: "amumo-muted" });
  const clear = h("button", { "data-amumo": "selection-clear", text: "clear selection" });
  const clampedInfo = h("span", { "data-amumo": "scatter-clamped", class: "amumo-muted", title: "outliers outside the robust box of the points, drawn at its edge (ringed)" });
  const colorBy = createColorBy(model);
  life.add(colorBy.destroy);
  const lineColor = createLineColorSelect(model); // inside the lines label: it moves with it (Explorer controls)
  life.add(lineColor.destroy);
  const legend = createScatterLegend(model);
  const bar = h("div", { class: "amumo-scatter-bar" }, [
    colorBy.el, h("label", {}, [lines, " pair lines ", lineColor.el]), linesNote, lasso, selInfo, clear, clampedInfo, note, status, progress,
  ]);
  const box = h("div", { class: "amumo-scatter", "data-amumo": "scatter", style: `width:${width}px;height:${height}px` }, [canvas, lineLayer, overlay]);
  const title = model.get("plot_title") === undefined ? null
    : h("div", { class: "amumo-scatter-title", "data-amumo": "scatter-title", style: "font-weight:600;font-size:12px;min-height:16px;margin:0 0 3px" });
  // as wide as the plot (and its 1 px border): the legend and the bar wrap below it, so two
  // standalone scatters fit side by side (an Explorer's slot has this width already)
  const root = h("div", { class: "amumo-scatter-view", style: `max-width:${width + 2}px` }, [title, box, legend.el, bar]);
  life.add(mountScatterBusy(model, box, { rpc })); // projection status, progress, cancel: on the plot
  // the layout may have slots for these in the controls (else: search leads the controls, colour-by stays here)
  life.add(mountInControls(root, colorBy.el, "colorby-slot", { fallback: "stay" }));
  if (search && model.get("focus_seq") !== undefined) {
    const s = createSearch(model, { group, rpc, source }); // (no rpc given: one of its own)
    life.add(s.destroy);
    life.add(mountInControls(root, s.el, "search-slot"));
  }

  // A renderer of the plot's own size. regl-scatterplot's default renderer draws a float
  // framebuffer as large as the window every frame and copies the plot's part out of it, which
  // costs ~12x the pixels of a 400 px plot (seen as most of the first-paint and pan frame time
  // under a software WebGL such as SwiftShader). regl-scatterplot sizes the plot's canvas from
  // the screen's own devicePixelRatio and copies the centre of the renderer's canvas into it, so
  // the renderer is sized by the library too (renderer.resize), never by a ratio of ours.
  const rendererCanvas = document.createElement("canvas");
  rendererCanvas.width = 1; rendererCanvas.height = 1;
  const renderer = createRenderer({ canvas: rendererCanvas });
  renderer.resize(width, height);
  const gl = rendererCanvas.getContext("webgl"); // the renderer's context (the same object)
  life.add(hold("webgl"));
  life.add(() => {
    renderer.destroy(); // ours: scatterplot.destroy() leaves a renderer it was given
    // regl.destroy() frees buffers and textures but keeps the context until the canvas is
    // collected; the page may only hold ~16 of them, so hand it back now
    const lose = gl && gl.getExtension("WEBGL_lose_context");
    if (lose) lose.loseContext();
  });
  const scatterplot = createScatterplot({
    renderer, canvas, width, height, pointSize: 3, pointSizeSelected: 2, pointOutlineWidth: 2,
    colorBy: "valueA", pointColor: ["#1f77b4", "#ff7f0e", "#555555"],
    opacity: 0.85, lassoColor: [0.1, 0.1, 0.1, 0.6], backgroundColor: [1, 1, 1, 1],
    // a pair's line takes the colour of its image point's code: grey, or pale for a faded pair
    pointConnectionColorBy: "valueA", pointConnectionColor: LINE_COLORS, pointConnectionOpacity: 0.35, pointConnectionSize: 1,
    showReticle: false,
    // the spatial index (KDBush) built on the main thread: for over a million points regl-scatterplot would
    // post every point (an array each) to a worker, and that copy costs more than the build
    spatialIndexUseWorker: false,
    // Escape anywhere in the window (e.g. leaving a notebook cell's edit mode) must not empty
    // the selection; the "clear selection" button does that
    deselectOnEscape: false,
  });
  life.add(() => scatterplot.destroy());

  let n = 0;          // pairs
  let kind = "modality";
  let drawn = false;
  let hovered = [];   // point indices ringed on the overlay
  let xyDrawn = null; // Float32Array [2m] of the positions drawn
  let pointsDrawn = null; // the `points` trait value drawn (the same value again: the spatial index is kept)
  let clampedRing = []; // clamped points shown (ringed, at most MAX_CLAMP_RINGS)
  let visDrawn = null;  // the visibleMask() drawn
  let anchors = null;   // [min x, max x, max y] point indices of xyDrawn (the overlay's affine map)
  let drawnInputs = null;  // the traits the points on screen were drawn from
  let paletteSet = "";     // JSON of the point colours set on the scatterplot
  let linesShown = false; // regl-scatterplot's point connections are on
  let orderSet = false;   // a pointOrder (faded pairs first) is set
  let overlayLines = false; // pair lines drawn on the overlay (above LINES_LIMIT pairs)
  let lineState = lineColorState(model, 0); // the pair lines' colouring drawn
  let lineStyleSet = null;   // the line colouring set on the scatterplot (see setLineStyle)

  const pointOf = (pair, modality) => (kind === "pair" ? pair : (modality === "text" ? n + pair : pair));
  const itemOf = (p) => (kind === "pair" ? { pair: p, modality: "pair" } : { pair: p % n, modality: p < n ? "image" : "text" });
  const fading = () => model.get("projection_scope") !== "view"; // fitted on all pairs: fade, don't hide

  const visibleMask = (m) => pairsInView(typed(Int32Array, model.get("order")), n, m, kind);

  let stale = false;  // points that are not the current model's: nothing drawn, "computing…"
  async function drawPoints() { // only through requestDraw()
    if (life.disposed) return;
    const value = model.get("points");
    const xy = typed(Float32Array, value);
    const fit = pointsFit(model, xy);
    if (!fit.ok) {
      // never another model's points with this model's count (or pairs): keep nothing on screen
      stale = fit.m > 0 || model.get("n_total") > 0;
      drawn = false;
      hovered = [];
      clampedRing = [];
      pointsDrawn = null;
      drawnInputs = null;
      scatterplot.clear();
      box.setAttribute("data-points", "0");
      box.setAttribute("data-points-model", "");
      drawOverlay();
      syncBar();
      return;
    }
    stale = false;
    // one state message fires several changes (points, colours, order, ...): a draw with exactly
    // the inputs of the one on screen is skipped (each draw is a full render of every point)
    const inputs = [value, model.get("point_colors"), model.get("color_kind"), model.get("color_legend"),
      model.get("category_colors"), model.get("colormap"), model.get("order"), model.get("projection_scope"),
      model.get("show_lines"), model.get("point_clamped"), model.get("points_model"), model.get("color_error"),
      model.get("color_range"), model.get("color_title"), model.get("n_total"), model.get("point_kind"),
      model.get("line_color"), model.get("line_color_range"), model.get("line_colormap"), model.get("pair_cosines")];
    if (drawn && drawnInputs && inputs.every((v, i) => v === drawnInputs[i])) return;
    drawnInputs = inputs;
    const sameXY = drawn && value === pointsDrawn && fit.kind === kind && fit.m === xyDrawn.length / 2;
    kind = fit.kind;
    n = fit.n;
    const m = fit.m;
    const vis = visibleMask(m);
    const fade = fading() && vis;
    const colors = pointColorState(model, { kind, n, m });
    // pair lines: regl-scatterplot's (one per pair) up to LINES_LIMIT pairs; above, the overlay
    // draws the lines of the pairs in view (when few enough) or of the selection (drawOverlay)
    const want = kind === "modality" && model.get("show_lines");
    const gpuLines = want && n <= LINES_LIMIT;
    lineState = lineColorState(model, n);
    const cosine = lineState.mode === "cosine" ? lineState.codes : null; // the map index of each pair's line
    // a large set of new positions: its density at once, then the WebGL points (scatter-density.js)
    if (!sameXY && m >= DENSITY_FIRST_POINTS) {
      const painted = paintDensity(canvas, { xy, m, codes: colors.codes, vis, fade, palette: colors.palette, dimOffset: DIM_OFFSET });
      box.setAttribute("data-density-points", String(painted));
      box.setAttribute("data-paint", "density");
      await afterPaint(); // the picture reaches the screen before the seconds of work below
      if (life.disposed) return;
    }
    const { rows, back, front, hasNone } = pointRows({ xy, m, n, codes: colors.codes, vis, fade, gpuLines, cosine });
    const filter = vis && !fade ? front : null;
    // everything that changes the picture is set BEFORE the draw, and only when it changes. Each
    // set() of regl-scatterplot asks for a redraw in an animation frame of its own: issued with the
    // draw, that frame comes after the draw's render and renders every point a second time (2 s
    // for 2M points on a software WebGL). So the draw waits for the sets' frame (one frame, about
    // 16 ms), and the first paint is one render.
    const sets = [];
    const size = m > 50000 ? 1.5 : m > 5000 ? 2.5 : 4;
    if (scatterplot.get("pointSize") !== size) sets.push(scatterplot.set({ pointSize: size }));
    const palette = JSON.stringify(colors.palette);
    if (palette !== paletteSet) { sets.push(scatterplot.set({ pointColor: colors.palette })); paletteSet = palette; }
    if (linesShown) { sets.push(scatterplot.set({ showPointConnections: false })); linesShown = false; }
    const styled = setLineStyle(scatterplot, gpuLines && cosine ? lineState : null, model.get("line_colormap"), lineStyleSet, LINE_COLORS);
    if (styled !== lineStyleSet) { sets.push(settled()); lineStyleSet = styled; }
    if (sets.length) await Promise.all(sets);
    if (life.disposed) return;
    const spatialIndex = sameXY ? scatterplot.get("spatialIndex") : undefined;
    await scatterplot.draw(rows, { zDataType: "categorical", ...(gpuLines && cosine ? { wDataType: "categorical" } : {}), ...(filter ? { filter } : {}), ...(spatialIndex ? { spatialIndex } : {}) });
    if (life.disposed) return;
    const faded = fade ? back.length : 0;
    const order = faded ? back.concat(front) : null;
    if (order || orderSet) { scatterplot.set({ pointOrder: order }); orderSet = !!order; }
    drawn = true;
    box.setAttribute("data-paint", "points");
    xyDrawn = xy.slice(0, 2 * m);
    anchors = extremeAnchors(xyDrawn, m);
    visDrawn = vis;
    pointsDrawn = value;
    // overlay lines follow the points' first paint (two frames later): 100k segments take a while
    overlayLines = false;
    if (want && !gpuLines) {
      const token = pointsDrawn;
      requestAnimationFrame(() => requestAnimationFrame(() => {
        if (life.disposed || pointsDrawn !== token) return;
        overlayLines = true; drawOverlay(); syncBar();
      }));
    }
    box.setAttribute("data-lines", gpuLines ? "gpu" : want ? "overlay" : "off");
    box.setAttribute("data-line-color", want ? lineState.mode : "off");
    box.setAttribute("data-line-range", lineState.mode === "cosine" ? `${lineState.lo},${lineState.hi}` : "");
    // the lines come after the points' first paint (their curves are computed off the main thread)
    if (gpuLines) { scatterplot.set({ showPointConnections: true }); linesShown = true; }
    // clamped outliers among the pairs in view (faded ones lie outside the box fitted to the view)
    const clamped = typed(Uint8Array, model.get("point_clamped"));
    const shownClamped = [];
    if (clamped.length === m) for (let p = 0; p < m; p++) if (clamped[p] && (!vis || vis[p])) shownClamped.push(p);
    clampedRing = shownClamped.slice(0, MAX_CLAMP_RINGS);
    clampedInfo.textContent = shownClamped.length ? `${shownClamped.length} point${shownClamped.length === 1 ? "" : "s"} clamped to the edge` : "";
    box.setAttribute("data-points", String(m));
    box.setAttribute("data-points-model", model.get("points_model"));
    box.setAttribute("data-dimmed", String(faded));
    box.setAttribute("data-filtered", String(filter ? filter.length : m));
    box.setAttribute("data-clamped", String(shownClamped.length));
    box.setAttribute("data-color-by", colors.fallback ? "modality" : (model.get("color_by") || "modality"));
    legend.update({ legend: colors.legend, hasNone, dimmedCount: faded, clampedCount: shownClamped.length, error: model.get("color_error") || "",
      lines: want ? lineState : null });
    drawOverlay();
    syncBar();
  }

  const at = (p) => scatterplot.getScreenPosition(p);
  function drawOverlay() { drawLineLayer(); drawRings(); }

  let lineLayerDraws = 0; // times the line layer was drawn (a hover must not redraw it)
  function drawLineLayer() {
    const ctx = clearedContext(lineLayer, dpr);
    box.setAttribute("data-line-layer-draws", String(++lineLayerDraws));
    if (drawn && overlayLines) drawOverlayLines(ctx);
  }

  function drawRings() {
    const ctx = clearedContext(overlay, dpr);
    box.setAttribute("data-hover-ring", drawn ? hovered.join(",") : "");
    if (!drawn) return;
    strokeClampRings(ctx, clampedRing.map(at), scatterplot.get("pointSize") / 2 + 2.5);
    strokeHover(ctx, hovered.map(at));
  }

  function drawOverlayLines(ctx) {
    const { pairs, why } = overlayPairs(typed(Int32Array, model.get("order")), model.get("selection") || [], !!visDrawn);
    const count = strokePairLines(ctx, xyDrawn, n, pairs, at, anchors, lineState.mode === "cosine" ? lineState : null);
    box.setAttribute("data-overlay-lines", String(count));
    linesNote.textContent = pairs.length ? `lines: ${pairs.length.toLocaleString()} pairs ${why}`
      : `lines: filter to ≤ ${OVERLAY_LINES.toLocaleString()} pairs or select some`;
  }

  // centre the camera on a pair's points, zoomed so both show with room around them
  function centreOn(pair) {
    if (!drawn || !(pair >= 0) || pair >= n) return;
    const pts = kind === "pair" ? [pair] : [pair, n + pair];
    const xs = pts.map((p) => xyDrawn[2 * p]), ys = pts.map((p) => xyDrawn[2 * p + 1]);
    const cx = (Math.min(...xs) + Math.max(...xs)) / 2, cy = (Math.min(...ys) + Math.max(...ys)) / 2;
    const half = Math.max(Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys)) / 2;
    const distance = Math.min(1, Math.max(0.35, 1.4 * half + 0.1));
    scatterplot.zoomToLocation([cx, cy], distance).then(() => { if (!life.disposed) drawOverlay(); }, () => {});
  }

  box.amumoScatterplot = scatterplot; // the regl-scatterplot instance (scripts, debugging)
  // [r, g, b] the line of a pair is drawn in when lines are coloured by cosine (null when grey)
  box.amumoLineColor = (pair) => (lineState.mode === "cosine" && pair >= 0 && pair < lineState.codes.length
    ? lutRgb(lineState.lut, lineState.codes[pair]) : null);
  life.add(mountScatterMarks(model, box, scatterplot, { width, height, group, source })); // path, prompt, hits
  // a test (or a user script) can find where point i of a modality is drawn
  box.amumoPointToClient = (i, modality = "image") => {
    const p = scatterplot.getScreenPosition(pointOf(i, modality));
    if (!p) return null;
    const rect = canvas.getBoundingClientRect();
    return [rect.left + p[0], rect.top + p[1]];
  };

  scatterplot.subscribe("pointOver", (p) => {
    if (!drawn) return;
    const it = itemOf(p);
    const partner = kind === "modality" ? pointOf(it.pair, it.modality === "image" ? "text" : "image") : null;
    hovered = partner == null ? [p] : [p, partner];
    drawRings();
    box.setAttribute("data-hover-point", String(p));
    // the hovered point first, then its partner: the heatmap lights the row of the first, the column of the other
    const other = it.modality === "image" ? "text" : "image";
    const items = kind === "pair" ? [{ pair: it.pair, modality: "image" }, { pair: it.pair, modality: "text" }]
      : [it, { pair: it.pair, modality: other }];
    publish(group, { kind: "hover", source, origin: "scatter", items, point: kind === "pair" ? "pair" : it.modality });
  });
  scatterplot.subscribe("pointOut", () => {
    hovered = []; drawRings();
    box.removeAttribute("data-hover-point");
    publish(group, { kind: "hover-out", source });
  });
  scatterplot.subscribe("select", ({ points }) => {
    if (!drawn) return;
    const pairs = [...new Set(points.map((p) => (kind === "pair" ? p : p % n)))].sort((a, b) => a - b);
    model.set("selection", pairs);
    model.save_changes();
  });
  scatterplot.subscribe("deselect", () => { model.set("selection", []); model.save_changes(); });
  let overlayFrame = 0; // one overlay redraw per animation frame while the camera moves
  scatterplot.subscribe("view", () => {
    if (overlayFrame) return;
    overlayFrame = requestAnimationFrame(() => { overlayFrame = 0; if (!life.disposed) drawOverlay(); });
  });
  life.add(() => cancelAnimationFrame(overlayFrame));

  const releasePointer = guardPointer(box, canvas, scatterplot); // lasso clicks, captured presses
  lasso.addEventListener("click", () => {
    const on = scatterplot.get("mouseMode") !== "lasso";
    // a fixed camera: a plain drag draws the lasso instead of panning the view
    scatterplot.set({ mouseMode: on ? "lasso" : "panZoom", cameraIsFixed: on });
    lasso.classList.toggle("amumo-active", on);
    box.setAttribute("data-mode", on ? "lasso" : "panZoom");
  });
  box.setAttribute("data-mode", "panZoom");
  lines.addEventListener("change", () => { model.set("show_lines", lines.checked); model.save_changes(); });
  clear.addEventListener("click", () => { scatterplot.deselect({ preventEvent: true }); model.set("selection", []); model.save_changes(); });

  life.add(subscribe(group, (msg) => {
    if (msg.kind === "focus") { centreOn(msg.pair); return; }
    if (msg.source === source && msg.origin === "scatter") return;
    if (msg.kind === "hover-out") { hovered = []; drawRings(); return; }
    if (msg.kind !== "hover" || !drawn) return;
    hovered = msg.items.filter((it) => it.pair < n).map((it) => pointOf(it.pair, it.modality));
    hovered = [...new Set(hovered)];
    drawRings();
  }));

  function syncBar() {
    lines.checked = model.get("show_lines");
    if (!overlayLines) linesNote.textContent = "";
    const sel = model.get("selection") || [];
    selInfo.textContent = sel.length ? `${sel.length} selected` : "no selection";
    clear.disabled = !sel.length;
    const st = model.get("projection_status") || (stale ? "computing…" : "");
    status.textContent = st;
    note.textContent = model.get("projection_note") || "";
    progress.style.display = st && model.get("projection_progress") < 1 ? "" : "none";
    progress.value = model.get("projection_progress");
    box.setAttribute("data-projection", model.get("projection") || "");
    box.setAttribute("data-busy", st ? "true" : "false");
    box.setAttribute("data-stale", stale ? "true" : "false");
    if (title) { title.textContent = model.get("plot_title") || ""; title.style.display = model.get("plot_title") ? "" : "none"; }
  }
  // One draw at a time: regl-scatterplot refuses a draw() while the previous one is running, and
  // one state message may change several traits (points, point_kind, colours, ...), each firing a
  // change. A change that arrives during a draw is drawn, with the latest state, right after it.
  let drawing = null;
  let redraw = false;
  const layout = firstLayout(canvas, life); // the first draw waits for it (scatter-rows.js)
  function requestDraw() {
    if (drawing) { redraw = true; return drawing; }
    drawing = (async () => {
      try {
        if (!layout.done) await layout.promise;
        do { redraw = false; await drawPoints(); } while (redraw);
      } finally {
        drawing = null;
      }
    })();
    return drawing;
  }
  const onPoints = () => requestDraw().catch((err) => { status.textContent = `scatter failed: ${err.message}`; });
  // points_model / model / n_total: the points may stop (or start) fitting the model shown
  life.add(onModel(model, "change:points change:point_kind change:show_lines change:points_model change:model change:n_total " +
    `change:point_clamped change:projection_scope ${COLOR_TRAITS} ${LINE_TRAITS}`, onPoints));
  // a new view: redrawn when it shows other pairs (faded or hidden), not for a new order of the same ones
  const sameMask = (a, b) => (a === null || b === null ? a === b : a.length === b.length && a.every((v, i) => v === b[i]));
  life.add(onModel(model, "change:order", () => { if (!drawn || !sameMask(visibleMask(xyDrawn.length / 2), visDrawn)) onPoints(); }));
  life.add(onModel(model, "change:selection", () => { if (overlayLines) drawOverlay(); }));
  life.add(onModel(model, "change:selection change:projection_status change:projection_progress change:projection_note " +
    "change:show_lines change:projection change:plot_title", syncBar));
  life.add(() => { releasePointer(); drawn = false; });
  syncBar();
  onPoints();

  return { el: root, destroy: () => life.dispose() };
}
