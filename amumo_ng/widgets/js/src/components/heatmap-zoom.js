// Heatmap zoom and regions: the wheel zooms about the pointer, a dragged box zooms to the box,
// a double-click resets. The part of the old image under the new rectangle is stretched as a
// placeholder until the kernel sends the region (exact values when it is small enough).
// focus(pos): a jump to a pair (search box, explorer.jump_to) zooms to a window around it.
//
// The box drag holds a pointer capture on the canvas (no window listener): moves outside the
// canvas still reach it, a release anywhere (outside the window too) ends the box, and a lost
// capture or a cancelled pointer drops it.
import { typed, isViewDestroyed } from "./rpc.js";
import { viewRect, matrixSide } from "./heatmap-render.js";
import { locate } from "./heatmap-hover.js";

const MIN_BOX_PX = 5;      // a smaller drag is a click, not a box
const REGION_DELAY_MS = 90; // wheel steps closer than this ask the kernel once
export const FOCUS_ROWS = 32; // rows (and cols) of the window a jump to a pair zooms to

export function createHeatmapZoom(model, st, ui, { rpc, life, hover }) {
  const { canvas, root, info } = ui;
  const size = st.size;
  let regionTimer = 0;
  let regionSeq = 0;
  let dragId = null; // pointerId of the box drag

  function setView(next) {
    const R = matrixSide(st);
    regionSeq++; // a region still on its way is for another rectangle
    clearTimeout(regionTimer);
    if (!next || (next.r1 - next.r0 >= R && next.c1 - next.c0 >= R)) {
      st.view = null;
      st.cur = st.full;
      ui.draw();
      return;
    }
    const prev = st.cur;
    const prevRect = viewRect(st);
    st.view = next;
    if (prev) {
      const sx = (r) => (r - prevRect.c0) / (prevRect.c1 - prevRect.c0) * canvas.width;
      const sy = (r) => (r - prevRect.r0) / (prevRect.r1 - prevRect.r0) * canvas.height;
      ui.draw({ src: canvas, rect: { x: sx(next.c0), y: sy(next.r0), w: sx(next.c1) - sx(next.c0), h: sy(next.r1) - sy(next.r0) } });
    }
    const seq = regionSeq;
    const orderHash = model.get("order_hash");
    regionTimer = setTimeout(() => {
      rpc.request("region", next).then(({ msg, buffers }) => {
        if (seq !== regionSeq || msg.order_hash !== orderHash || life.disposed) return;
        st.cur = {
          r0: msg.r0, r1: msg.r1, c0: msg.c0, c1: msg.c1, rows: msg.rows, cols: msg.cols,
          pixels: typed(Uint8Array, buffers[0]), rowEdges: typed(Int32Array, buffers[1]),
          colEdges: typed(Int32Array, buffers[2]), values: msg.has_values ? typed(Float32Array, buffers[3]) : null,
          exact: msg.exact, vmin: msg.vmin, vmax: msg.vmax,
        };
        ui.draw();
      }).catch((err) => { if (!isViewDestroyed(err)) info.textContent = `zoom failed: ${err.message}`; });
    }, REGION_DELAY_MS);
  }

  function onWheel(ev) {
    if (!st.cur) return;
    ev.preventDefault();
    const rect = canvas.getBoundingClientRect();
    const fx = (ev.clientX - rect.left) / size, fy = (ev.clientY - rect.top) / size;
    const v = viewRect(st);
    const R = matrixSide(st);
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

  // client px -> CSS px inside the canvas, clamped to its edges
  function inside(ev) {
    const rect = canvas.getBoundingClientRect();
    const clamp = (p) => Math.min(Math.max(p, 0), size);
    return [clamp(ev.clientX - rect.left), clamp(ev.clientY - rect.top)];
  }

  function over(ev) {
    const rect = canvas.getBoundingClientRect();
    return ev.clientX >= rect.left && ev.clientX < rect.right && ev.clientY >= rect.top && ev.clientY < rect.bottom;
  }

  function onDown(ev) {
    if (!st.cur || ev.button !== 0) return;
    if (dragId !== null) endDrag(null, false); // a box whose end never came (no capture): a new press drops it
    const [x, y] = inside(ev);
    try { canvas.setPointerCapture(ev.pointerId); } catch (_err) { /* a pointer that is not active: no capture */ }
    dragId = ev.pointerId;
    st.box = { x0: x, y0: y, x1: x, y1: y };
    root.setAttribute("data-box", "true");
  }

  function onDragMove(ev) {
    if (ev.pointerId !== dragId || !st.box) return;
    [st.box.x1, st.box.y1] = inside(ev);
    ui.drawOverlay();
  }

  // apply: zoom to the box (a release); otherwise only drop it (cancel, lost capture, destroy)
  function endDrag(ev, apply) {
    if (dragId === null || (ev && ev.pointerId !== dragId)) return;
    const id = dragId;
    dragId = null;
    const b = st.box;
    st.box = null;
    root.removeAttribute("data-box");
    if (apply && ev) [b.x1, b.y1] = inside(ev);
    try { if (canvas.hasPointerCapture(id)) canvas.releasePointerCapture(id); } catch (_err) { /* already released */ }
    ui.drawOverlay();
    if (ev && (ev.type !== "pointerup" || !over(ev))) hover.leave(); // it ended elsewhere: nothing hovered
    if (!apply || !b || Math.abs(b.x1 - b.x0) < MIN_BOX_PX || Math.abs(b.y1 - b.y0) < MIN_BOX_PX) return;
    const p = locate(st, Math.min(b.x0, b.x1), Math.min(b.y0, b.y1));
    const q = locate(st, Math.max(b.x0, b.x1) - 0.01, Math.max(b.y0, b.y1) - 0.01);
    setView({ r0: p.row, r1: q.row + 1, c0: p.col, c1: q.col + 1 });
  }

  const onUp = (ev) => endDrag(ev, true);
  const onCancel = (ev) => endDrag(ev, false);
  const onDblClick = () => setView(null);
  canvas.addEventListener("wheel", onWheel, { passive: false });
  canvas.addEventListener("pointerdown", onDown);
  canvas.addEventListener("pointermove", onDragMove);
  canvas.addEventListener("pointerup", onUp);
  canvas.addEventListener("pointercancel", onCancel);
  canvas.addEventListener("lostpointercapture", onCancel);
  canvas.addEventListener("dblclick", onDblClick);
  life.add(() => { endDrag(null, false); regionSeq++; clearTimeout(regionTimer); });

  return {
    // a new whole-view image: the zoom is dropped (and a region on its way is stale)
    reset() { regionSeq++; clearTimeout(regionTimer); st.view = null; st.cur = st.full; },
    // a jump to the pair at draw position `pos`: the FOCUS_ROWS-row window of the image block
    // around its image row against the same window of the text block (its text column), so the
    // pair's own cell lies on the window's diagonal; small enough for exact values
    focus(pos) {
      const K = st.K;
      if (!st.full || !(pos >= 0) || pos >= K) return;
      const w = Math.min(FOCUS_ROWS, K);
      const a = Math.max(0, Math.min(pos - Math.floor(w / 2), K - w));
      if (dragId !== null) endDrag(null, false);
      // the pair's image-text block (its own row and column in the difference view)
      setView(st.diff ? { r0: a, r1: a + w, c0: a, c1: a + w } : { r0: a, r1: a + w, c0: K + a, c1: K + a + w });
    },
  };
}
