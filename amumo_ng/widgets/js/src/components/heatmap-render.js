// The heatmap's drawing: the DOM of the view, the uint8 colour-index image on its canvas (one
// pixel per cell), the legend (colour range and scale label), the axis labels and the overlay
// (modality and cluster separators, highlighted row/col, the zoom box).
import { h, fmt, pixelRatio } from "./dom.js";
import { onModel } from "./live.js";

// index of the cell holding stacked row r: edges[i] <= r < edges[i+1]
export function searchEdges(edges, r) {
  let lo = 0, hi = edges.length - 2;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (edges[mid] <= r) lo = mid; else hi = mid - 1;
  }
  return lo;
}

// the stacked rows/cols in view: the zoom rectangle, or the whole 2K x 2K view
export function viewRect(st) {
  return st.view || { r0: 0, r1: 2 * st.K, c0: 0, c1: 2 * st.K };
}

// whether the image drawn now covers exactly the rectangle in view (not a stretched placeholder)
export function curCoversView(st) {
  const v = viewRect(st), cur = st.cur;
  return !!cur && cur.r0 === v.r0 && cur.r1 === v.r1 && cur.c0 === v.c0 && cur.c1 === v.c1;
}

// st: the heatmap's shared state (see heatmap.js); life: its disposer
export function createHeatmapCanvas(model, st, life) {
  const size = st.size;
  const dpr = pixelRatio();
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
  const scaleLabel = h("span", { class: "amumo-muted", "data-amumo": "heatmap-scale" });
  const info = h("div", { class: "amumo-muted", style: "font-size:11px", "data-amumo": "heatmap-info" });
  const status = h("div", { class: "amumo-muted", style: "font-size:11px;font-style:italic", "data-amumo": "heatmap-status" });
  const legend = h("div", { class: "amumo-legend", "data-amumo": "heatmap-legend" },
    [h("span", { text: "cosine similarity" }), vminLabel, legendCanvas, vmaxLabel, scaleLabel]);
  const root = h("div", { class: "amumo-heatmap", "data-amumo": "heatmap" },
    [topBar, h("div", { style: "display:flex" }, [leftBar, area]), legend, info, status]);

  // "scale: per view" / "scale: shared with comparison" (a trait older kernels do not have)
  const onScaleLabel = () => {
    const label = model.get("color_scale_label");
    scaleLabel.textContent = typeof label === "string" ? label : "";
    scaleLabel.style.display = scaleLabel.textContent ? "" : "none";
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
    vminLabel.textContent = st.cur ? fmt(st.cur.vmin, 2) : "";
    vmaxLabel.textContent = st.cur ? fmt(st.cur.vmax, 2) : "";
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
      info.textContent = "";
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
    info.textContent = `${st.K} pairs · rows ${v.r0}–${v.r1 - 1}, cols ${v.c0}–${v.c1 - 1} · ${kind}` +
      (st.view ? " · double-click to reset zoom" : " · wheel or drag to zoom");
    placeAxisLabels();
    drawOverlay();
  }

  function placeAxisLabels() {
    const v = viewRect(st), K = st.K;
    const place = (span, a, b, start, stop, vertical) => {
      const lo = Math.max(a, start), hi = Math.min(b, stop);
      if (hi <= lo) { span.style.display = "none"; return; }
      span.style.display = "";
      const mid = ((lo + hi) / 2 - start) / (stop - start) * size;
      if (vertical) {
        span.style.left = "0px";
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
      if (b > 0 && b < K) { line(b, "rgba(255,255,255,0.55)", 1); line(K + b, "rgba(255,255,255,0.55)", 1); }
    }
    if (K > 0 && v.r0 < K && K < v.r1) line(K, "#fff", 2, "row");
    if (K > 0 && v.c0 < K && K < v.c1) line(K, "#fff", 2, "col");
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

  return { root, canvas, overlay, info, status, draw, drawOverlay, setHighlight };
}
