// The typed prompt's hits on the heatmap: the rows of its nearest images (image block) and nearest
// texts (text block) of `prompt_hits` are banded in the prompt's colour across the matrix, with a
// tick at the left edge, in the zoomed view too. A single click on a cell (not a zoom drag, not a
// double-click) pins the hover panel on its row's item (bus {kind: "pin"}).
//
// Test hook on the heatmap root: data-prompt-rows (rows banded now).
import { h, pixelRatio } from "./dom.js";
import { publish } from "./bus.js";
import { typed } from "./rpc.js";
import { listen, onModel } from "./live.js";
import { onSingleClick } from "./hover-actions.js";
import { curCoversView, searchEdges, viewRect } from "./heatmap-render.js";

const CLICK_PX = 5; // a press that moves less than this before its click is a click, not a zoom box

// st / ui: the heatmap's shared state and drawing (heatmap.js); life: its disposer
export function mountHeatmapMarks(model, st, ui, { group, source, life }) {
  const size = st.size, dpr = pixelRatio();
  const marks = model.get("prompt_hits") !== undefined;
  const canvas = h("canvas", { class: "amumo-overlay", "data-amumo": "heatmap-marks", style: `width:${size}px;height:${size}px` });
  canvas.width = Math.round(size * dpr); canvas.height = Math.round(size * dpr);
  if (marks) { ui.area.append(canvas); life.add(() => canvas.remove()); }

  // stacked row r -> {pos, width} CSS px of its cell, or null when it is outside the view (zoomed)
  function rowPx(r) {
    const v = viewRect(st), cur = st.cur;
    if (r < v.r0 || r >= v.r1) return null;
    if (curCoversView(st)) {
      const cells = cur.rowEdges.length - 1;
      return { pos: (searchEdges(cur.rowEdges, r) + 0.5) / cells * size, width: size / cells };
    }
    return { pos: (r - v.r0 + 0.5) / (v.r1 - v.r0) * size, width: size / (v.r1 - v.r0) };
  }

  function draw() {
    if (!marks || life.disposed) return;
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, size, size);
    const hits = typed(Int32Array, model.get("prompt_hits"));
    const kImages = (model.get("prompt_result") || {}).k_images || 0;
    let rows = 0;
    if (st.cur && hits.length) {
      for (let i = 0; i < hits.length; i++) {
        const pos = hits[i] >= 0 && hits[i] < st.posOf.length ? st.posOf[hits[i]] : -1;
        if (pos < 0) continue;
        const p = rowPx(i < kImages || st.diff ? pos : st.K + pos);
        if (!p) continue;
        const w = Math.max(p.width, 2);
        ctx.fillStyle = "rgba(148,0,211,0.28)";
        ctx.fillRect(0, p.pos - w / 2, size, w);
        ctx.fillStyle = "#9400d3";
        ctx.fillRect(0, p.pos - Math.max(w, 3) / 2, 6, Math.max(w, 3));
        rows += 1;
      }
    }
    ui.root.setAttribute("data-prompt-rows", String(rows));
  }

  // every redraw of the matrix (new view, zoom) redraws the bands
  for (const name of ["draw", "drawOverlay"]) {
    const base = ui[name];
    ui[name] = (...args) => { base(...args); draw(); };
    life.add(() => { ui[name] = base; });
  }
  if (marks) life.add(onModel(model, "change:prompt_hits change:prompt_result", draw));

  let press = null;
  life.add(listen(ui.canvas, "mousedown", (ev) => { press = { x: ev.clientX, y: ev.clientY }; }));
  life.add(onSingleClick(ui.canvas, () => publish(group, { kind: "pin", source }), (ev) => {
    const p = press;
    press = null;
    return !!p && Math.hypot(ev.clientX - p.x, ev.clientY - p.y) < CLICK_PX;
  }));
  draw();
}
