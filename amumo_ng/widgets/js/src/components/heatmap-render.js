// The heatmap's drawing: the DOM of the view, the uint8 colour-index image on its canvas (one
// pixel per cell), the legend (colour range and scale label), the block names and the row/col
// ticks on the edges, the cluster bands, and the overlay (modality and cluster separators,
// highlighted row/col, the zoom box).
//
// The view is a slot of fixed CSS size (HEATMAP_CHROME around the size x size matrix): every
// part sits at a fixed place inside it and text lines are cut with an ellipsis (full text in the
// tooltip), so nothing the view says can move the views next to it.
import { h, fmt, pixelRatio, COLORS } from "./dom.js";
import { onModel } from "./live.js";

// CSS px of the slot around the matrix: block names, ticks and the cluster band on the left and
// on top; the legend and the info line below
const NAMES_W = 16, TICKS_W = 30, BAND = 5, NAMES_H = 15, TICKS_H = 13, LEGEND_H = 16, SCALE_H = 15, INFO_H = 15;
export const HEATMAP_CHROME = {
  left: NAMES_W + TICKS_W + BAND + 1, top: NAMES_H + TICKS_H + BAND + 1, bottom: 4 + LEGEND_H + SCALE_H + INFO_H,
};
// cluster colours when the model has no `category_colors` (the standalone heatmap): Tableau 10
const FALLBACK_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
  "#7f7f7f", "#bcbd22", "#17becf", "#d0d0d0"];

// index of the cell holding stacked row r: edges[i] <= r < edges[i+1]
export function searchEdges(edges, r) {
  let lo = 0, hi = edges.length - 2;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (edges[mid] <= r) lo = mid; else hi = mid - 1;
  }
  return lo;
}

// rows (= cols) of the whole matrix: 2K stacked rows, or K pair positions in difference mode
export const matrixSide = (st) => (st.diff ? st.K : 2 * st.K);

// the stacked rows/cols in view: the zoom rectangle, or the whole matrix
export function viewRect(st) {
  const side = matrixSide(st);
  return st.view || { r0: 0, r1: side, c0: 0, c1: side };
}

// whether the image drawn now covers exactly the rectangle in view (not a stretched placeholder)
export function curCoversView(st) {
  const v = viewRect(st), cur = st.cur;
  return !!cur && cur.r0 === v.r0 && cur.r1 === v.r1 && cur.c0 === v.c0 && cur.c1 === v.c1;
}

const abs = (left, top, width, height, extra = "") =>
  `position:absolute;left:${left}px;top:${top}px;width:${width}px;height:${height}px;${extra}`;

// st: the heatmap's shared state (see heatmap.js); life: its disposer
export function createHeatmapCanvas(model, st, life) {
  const size = st.size;
  const dpr = pixelRatio();
  const L = HEATMAP_CHROME.left, T = HEATMAP_CHROME.top;
  const canvas = h("canvas", { class: "amumo-heat", "data-amumo": "heatmap-canvas", style: `width:${size}px;height:${size}px` });
  const overlay = h("canvas", { class: "amumo-overlay", style: `width:${size}px;height:${size}px` });
  overlay.width = Math.round(size * dpr);
  overlay.height = Math.round(size * dpr);
  const empty = h("div", { class: "amumo-empty", "data-amumo": "heatmap-empty", text: "No pairs match the filter." });
  empty.style.display = "none";
  const topImg = h("span", { class: "amumo-axis", text: "images" });
  const topTxt = h("span", { class: "amumo-axis", text: "texts" });
  const leftImg = h("span", { class: "amumo-axis amumo-axis-v", text: "images" });
  const leftTxt = h("span", { class: "amumo-axis amumo-axis-v", text: "texts" });
  const topNames = h("div", { style: abs(L, 0, size, NAMES_H) }, [topImg, topTxt]);
  const leftNames = h("div", { style: abs(0, T, NAMES_W, size) }, [leftImg, leftTxt]);
  const colTicks = h("div", { class: "amumo-ticks", "data-amumo": "heatmap-ticks-col", style: abs(L, NAMES_H, size, TICKS_H) });
  const rowTicks = h("div", { class: "amumo-ticks", "data-amumo": "heatmap-ticks-row", style: abs(NAMES_W, T, TICKS_W - 2, size) });
  const topBand = h("canvas", { class: "amumo-band", "data-amumo": "heatmap-band-top", style: abs(L, NAMES_H + TICKS_H, size, BAND) });
  const leftBand = h("canvas", { class: "amumo-band", "data-amumo": "heatmap-band-left", style: abs(NAMES_W + TICKS_W, T, BAND, size) });
  topBand.width = Math.round(size * dpr); topBand.height = Math.round(BAND * dpr);
  leftBand.width = Math.round(BAND * dpr); leftBand.height = Math.round(size * dpr);
  const area = h("div", { class: "amumo-heatmap-area", style: abs(L, T, size, size) }, [canvas, overlay, empty]);
  const legendCanvas = h("canvas", { class: "amumo-heat-ramp", width: 256, height: 1 });
  const vminLabel = h("span", { class: "amumo-legend-num" });
  const vmaxLabel = h("span", { class: "amumo-legend-num" });
  const scaleLabel = h("div", { class: "amumo-muted amumo-line", "data-amumo": "heatmap-scale", style: abs(0, T + size + 4 + LEGEND_H, L + size, SCALE_H) });
  const info = h("div", { class: "amumo-muted amumo-line", "data-amumo": "heatmap-info", style: abs(0, T + size + 4 + LEGEND_H + SCALE_H, L + size, INFO_H) });
  // the session's background work (clustering): shown on the matrix by the busy overlay
  // (busy-overlay.js); this element keeps the text for scripts and tests
  const status = h("div", { "data-amumo": "heatmap-status", hidden: true });
  const legend = h("div", { class: "amumo-legend", "data-amumo": "heatmap-legend", title: "cosine similarity",
    style: abs(0, T + size + 4, L + size, LEGEND_H) },
  [h("span", { class: "amumo-muted", "data-amumo": "heatmap-legend-name", text: "cosine" }), vminLabel, legendCanvas, vmaxLabel]);
  const legendName = legend.firstChild;
  const root = h("div", { class: "amumo-heatmap", "data-amumo": "heatmap",
    style: `width:${L + size}px;height:${T + size + HEATMAP_CHROME.bottom}px` },
  [topNames, colTicks, topBand, leftNames, rowTicks, leftBand, area, legend, scaleLabel, info, status]);

  // "scale: per view" / "scale: shared with comparison" (a trait older kernels do not have)
  const onScaleLabel = () => {
    const label = model.get("color_scale_label");
    scaleLabel.textContent = typeof label === "string" ? label : "";
    scaleLabel.title = scaleLabel.textContent;
  };
  life.add(onModel(model, "change:color_scale_label", onScaleLabel));
  onScaleLabel();

  function drawLegend() {
    const ctx = legendCanvas.getContext("2d");
    const img = ctx.createImageData(256, 1);
    const lut = st.lut;
    for (let i = 0; i < 256; i++) {
      img.data[4 * i] = lut[3 * i]; img.data[4 * i + 1] = lut[3 * i + 1]; img.data[4 * i + 2] = lut[3 * i + 2]; img.data[4 * i + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
    // the range of the image drawn now: a zoomed region may span more than the whole view's block means
    legendName.textContent = st.diff ? "Δ cos" : "cosine";
    legend.title = st.diff ? "in-modal difference: image–image cosine − text–text cosine (white: 0)" : "cosine similarity";
    vminLabel.textContent = st.cur ? fmt(st.cur.vmin, 2) : "";
    vmaxLabel.textContent = st.cur ? fmt(st.cur.vmax, 2) : "";
  }

  function setInfo(text) {
    info.textContent = text;
    info.title = text;
  }

  // placeholderFrom: {src: canvas, rect: {x, y, w, h}} stretches that part of the image drawn so
  // far over the canvas (a zoom waiting for the kernel); otherwise st.cur is drawn
  function draw(placeholderFrom = null) {
    drawLegend();
    const cur = st.cur;
    if (!cur) {
      empty.style.display = "flex";
      canvas.width = 1; canvas.height = 1;
      root.setAttribute("data-rows", "0");
      setInfo("");
      drawEdges();
      drawOverlay();
      return;
    }
    empty.style.display = "none";
    const ctx = canvas.getContext("2d");
    if (placeholderFrom) {
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
      const px = cur.pixels, out = img.data, lut = st.lut;
      for (let i = 0, j = 0; i < px.length; i++, j += 4) {
        const c = 3 * px[i];
        out[j] = lut[c]; out[j + 1] = lut[c + 1]; out[j + 2] = lut[c + 2]; out[j + 3] = 255;
      }
      ctx.putImageData(img, 0, 0);
      root.setAttribute("data-rows", String(cur.rows));
    }
    const v = viewRect(st);
    const kind = cur.exact ? "exact values" : `block means of ~${Math.ceil((v.r1 - v.r0) / cur.rows)}×${Math.ceil((v.c1 - v.c0) / cur.cols)} cells`;
    setInfo(`${st.K === 1 ? "1 pair" : `${st.K} pairs`} · rows ${v.r0}–${v.r1 - 1}, cols ${v.c0}–${v.c1 - 1} · ${kind}` +
      (st.view ? " · double-click to reset zoom" : " · wheel or drag to zoom"));
    drawEdges();
    drawOverlay();
  }

  function placeAxisLabels() {
    const v = viewRect(st), K = st.K;
    const place = (span, a, b, start, stop, vertical) => {
      const lo = Math.max(a, start), hi = Math.min(b, stop);
      if (!st.cur || hi <= lo) { span.style.display = "none"; return; }
      span.style.display = "";
      const mid = ((lo + hi) / 2 - start) / (stop - start) * size;
      if (vertical) span.style.top = `${mid}px`;
      else span.style.left = `${mid}px`;
    };
    const label = st.diff ? "pairs (Î·Îᵀ − T̂·T̂ᵀ)" : "images";
    if (topImg.textContent !== label) { topImg.textContent = label; leftImg.textContent = st.diff ? "pairs" : "images"; }
    place(topImg, 0, K, v.c0, v.c1, false);
    place(leftImg, 0, K, v.r0, v.r1, true);
    place(topTxt, K, st.diff ? K : 2 * K, v.c0, v.c1, false);
    place(leftTxt, K, st.diff ? K : 2 * K, v.r0, v.r1, true);
  }

  // the cells along one axis of the image drawn now: count, first stacked row of cell i, and the
  // CSS px where a stacked row edge r lies (cells have equal px; a block-mean cell holds
  // several rows)
  function axisCells(axis) {
    const v = viewRect(st), cur = st.cur;
    const a = axis === "row" ? v.r0 : v.c0, b = axis === "row" ? v.r1 : v.c1;
    if (cur && curCoversView(st)) {
      const edges = axis === "row" ? cur.rowEdges : cur.colEdges;
      const cells = edges.length - 1;
      return {
        cells, first: (i) => edges[i],
        edgePx: (r) => {
          if (r <= a) return 0;
          if (r >= b) return size;
          const i = searchEdges(edges, r);
          return (i + (r - edges[i]) / Math.max(edges[i + 1] - edges[i], 1)) / cells * size;
        },
      };
    }
    const cells = Math.max(b - a, 0);
    return { cells, first: (i) => a + i, edgePx: (r) => Math.min(Math.max((r - a) / Math.max(b - a, 1), 0), 1) * size };
  }

  // a few ticks per axis: evenly spaced cells, each labelled with the pair of its first stacked
  // row (coloured by the block: image / text); their positions are marked on the band
  function tickList(axis) {
    const { cells, first } = axisCells(axis);
    if (!st.cur || cells <= 0) return [];
    const want = Math.max(2, Math.floor(size / (axis === "col" ? 72 : 48)));
    const count = Math.min(want, cells);
    const out = [], seen = new Set();
    for (let j = 0; j < count; j++) {
      const i = count === 1 ? 0 : Math.round(j * (cells - 1) / (count - 1));
      if (seen.has(i)) continue;
      seen.add(i);
      const r = first(i), K = st.K;
      const image = st.diff || r < K;
      const pair = st.order[image ? r : r - K];
      if (pair == null) continue;
      out.push({ row: r, pair, modality: st.diff ? "pair" : image ? "image" : "text", pos: (i + 0.5) / cells * size });
    }
    return out;
  }

  function drawTicks(el, ticks, axis) {
    el.replaceChildren(...ticks.map((t, j) => {
      const span = h("span", {
        class: "amumo-tick", "data-amumo": "heatmap-tick", "data-row": t.row, "data-pair": t.pair, "data-modality": t.modality,
        text: String(t.pair), title: t.modality === "pair" ? `pair ${t.pair} (${axis} ${t.row})` : `${t.modality} of pair ${t.pair} (stacked ${axis} ${t.row})`,
      });
      span.style.color = COLORS[t.modality] || "#444";
      if (axis === "col") {
        span.style.left = `${t.pos}px`;
        // the first and the last label stay inside the matrix's width
        span.style.transform = j === 0 && ticks.length > 1 ? "translateX(-2px)" : j === ticks.length - 1 && ticks.length > 1 ? "translateX(-100%)" : "translateX(-50%)";
      } else {
        span.style.top = `${t.pos}px`;
        span.style.right = "0px";
        span.style.transform = j === 0 && ticks.length > 1 ? "translateY(-2px)" : j === ticks.length - 1 && ticks.length > 1 ? "translateY(-100%)" : "translateY(-50%)";
      }
      return span;
    }));
  }

  // the band along an edge: each cluster's rows (image block and text block) in its colour,
  // category_colors[c] for cluster c in draw order (the scatter's colour-by "cluster"), with
  // the ticks marked on it
  function drawBand(band, axis, ticks) {
    const ctx = band.getContext("2d");
    const horizontal = axis === "col";
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, horizontal ? size : BAND, horizontal ? BAND : size);
    const bounds = model.get("cluster_bounds") || [];
    const K = st.K;
    let clusters = 0;
    if (st.cur && bounds.length > 1) {
      const given = model.get("category_colors");
      const colors = Array.isArray(given) && given.length > 1 ? given : FALLBACK_COLORS;
      const { edgePx } = axisCells(axis);
      clusters = bounds.length - 1;
      for (let c = 0; c < clusters; c++) {
        ctx.fillStyle = colors[Math.min(c, colors.length - 2)];
        for (const off of st.diff ? [0] : [0, K]) {
          const p0 = edgePx(off + bounds[c]), p1 = edgePx(off + bounds[c + 1]);
          if (p1 <= p0) continue;
          if (horizontal) ctx.fillRect(p0, 0, Math.max(p1 - p0, 0.5), BAND);
          else ctx.fillRect(0, p0, BAND, Math.max(p1 - p0, 0.5));
        }
      }
    }
    ctx.fillStyle = "rgba(0,0,0,0.55)";
    for (const t of ticks) {
      if (horizontal) ctx.fillRect(t.pos - 0.5, 0, 1, 2);
      else ctx.fillRect(0, t.pos - 0.5, 2, 1);
    }
    band.setAttribute("data-clusters", String(clusters));
  }

  // block names, ticks and bands of the image drawn now
  function drawEdges() {
    placeAxisLabels();
    const cols = tickList("col"), rows = tickList("row");
    drawTicks(colTicks, cols, "col");
    drawTicks(rowTicks, rows, "row");
    drawBand(topBand, "col", cols);
    drawBand(leftBand, "row", rows);
  }
  life.add(onModel(model, "change:category_colors", drawEdges));

  // stacked row (axis "row") or col -> {pos, width} in CSS px of its cell, or null when outside the view
  function rowToPx(r, axis) {
    const v = viewRect(st), cur = st.cur;
    const a = axis === "row" ? v.r0 : v.c0, b = axis === "row" ? v.r1 : v.c1;
    if (r < a || r >= b) return null;
    if (curCoversView(st)) {
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
    if (!st.cur) return;
    const v = viewRect(st), K = st.K;
    const line = (r, color, width, axis) => {
      const yr = axis !== "col" ? rowToPx(r, "row") : null;
      const xc = axis !== "row" ? rowToPx(r, "col") : null;
      ctx.strokeStyle = color; ctx.lineWidth = width;
      // a separator sits at the top/left edge of row r
      if (yr) { const y = yr.pos - yr.width / 2; ctx.beginPath(); ctx.moveTo(0, y); ctx.lineTo(size, y); ctx.stroke(); }
      if (xc) { const x = xc.pos - xc.width / 2; ctx.beginPath(); ctx.moveTo(x, 0); ctx.lineTo(x, size); ctx.stroke(); }
    };
    for (const b of model.get("cluster_bounds") || []) {
      // on the diverging map white is 0: cluster separators are dark there
      if (b > 0 && b < K) line(b, st.diff ? "rgba(0,0,0,0.45)" : "rgba(255,255,255,0.55)", 1);
      if (b > 0 && b < K && !st.diff) line(K + b, "rgba(255,255,255,0.55)", 1);
    }
    if (!st.diff && K > 0 && v.r0 < K && K < v.r1) line(K, "#fff", 2, "row");
    if (!st.diff && K > 0 && v.c0 < K && K < v.c1) line(K, "#fff", 2, "col");
    const hl = st.highlight;
    if (hl) {
      ctx.fillStyle = "rgba(255,0,80,0.35)";
      const yr = hl.row != null ? rowToPx(hl.row, "row") : null;
      const xc = hl.col != null ? rowToPx(hl.col, "col") : null;
      const w = (p) => Math.max(p.width, 2);
      if (yr) ctx.fillRect(0, yr.pos - w(yr) / 2, size, w(yr));
      if (xc) ctx.fillRect(xc.pos - w(xc) / 2, 0, w(xc), size);
    }
    const box = st.box;
    if (box) {
      ctx.strokeStyle = "#e00"; ctx.lineWidth = 1; ctx.setLineDash([4, 3]);
      ctx.strokeRect(box.x0, box.y0, box.x1 - box.x0, box.y1 - box.y0);
      ctx.setLineDash([]);
    }
  }

  // hl: {row, col} (either may be null) or null
  function setHighlight(hl) {
    st.highlight = hl;
    if (hl && hl.row != null) root.setAttribute("data-highlight-row", String(hl.row));
    else root.removeAttribute("data-highlight-row");
    if (hl && hl.col != null) root.setAttribute("data-highlight-col", String(hl.col));
    else root.removeAttribute("data-highlight-col");
    drawOverlay();
  }

  return { root, area, canvas, overlay, info, status, draw, drawOverlay, setHighlight };
}
