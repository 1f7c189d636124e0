// anywidget entry: amumo_ng.Explorer
//
// Layout: the title, the controls (three groups), then the views: the heatmap and the scatter,
// each in a slot of fixed CSS size, and a side panel (gap readout, hover panel) RIGHT of them
// when there is room and BELOW when not. What fits is decided from the Explorer's own width
// (a ResizeObserver on its root), never from the window's, so it behaves the same in JupyterLab,
// Notebook 7, Voilà and VS Code and side by side in a Comparison: the views take the view_size
// they are given, or less when the container is narrower, and are stacked when even two small
// views do not fit. Nothing the views show (status, info lines, long messages) changes a slot's
// size; only the container's width does, and what cannot fit scrolls (overflow: auto).
import { h } from "./components/dom.js";
import { injectStyle } from "./components/style.js";
import { createRpc } from "./components/rpc.js";
import { hold } from "./components/live.js";
import { createControls } from "./components/controls.js";
import { createHeatmap } from "./components/heatmap.js";
import { HEATMAP_CHROME } from "./components/heatmap-render.js";
import { createScatter } from "./components/scatter.js";
import { createHoverPanel } from "./components/hoverpanel.js";
import { createPromptBox } from "./components/prompt-box.js";
import { createOutlierList } from "./components/outlier-list.js";

const MIN_VIEW = 220;       // CSS px: the smallest view worth drawing side by side
const GAP = 14;             // between the slots and before the side panel
const SIDE_MIN = 250, SIDE_MAX = 340, SIDE_BELOW_H = 190; // the gap table needs ~240 px
const SLACK = 16;           // room left for a scrollbar of the container appearing later
const SCATTER_BORDER = 2;
const SETTLE_MS = 120;      // the width must hold still this long before the views are (re)built
const SHRINK_TO_FIT_SIDE = 0.85; // views may shrink this much to keep the side panel beside them
const RESIZE_STEP = 16;     // CSS px: smaller changes of the planned size keep the views built

// CSS px below the scatter plot: its border, legend (what the colours mean) and bar (lasso,
// selection), each of a fixed height (style.js)
const SCATTER_LEGEND_H = 40, SCATTER_BAR_H = 46;
const SCATTER_BELOW = SCATTER_BORDER + SCATTER_LEGEND_H + 2 + SCATTER_BAR_H;

const rowWidth = (size) => HEATMAP_CHROME.left + size + GAP + size + SCATTER_BORDER;
// the height of the views' row: the taller of the two slots
const slotHeight = (size) => HEATMAP_CHROME.top + size + Math.max(HEATMAP_CHROME.bottom, SCATTER_BELOW);

// width (CSS px of the Explorer) -> {size, stack, side: "right"|"below", sideWidth}
export function planLayout(width, pref) {
  const w = width - SLACK;
  let size = Math.min(pref, Math.floor((w - HEATMAP_CHROME.left - SCATTER_BORDER - GAP) / 2));
  let stack = false;
  if (size < MIN_VIEW) { // two views do not fit: one above the other
    stack = true;
    size = Math.max(Math.min(pref, w - HEATMAP_CHROME.left - SCATTER_BORDER), 160);
  }
  return { size, stack, ...placeSide(width, size, stack) };
}

// with views of `size`: whether they stack, and where the side panel goes
function placeSide(width, size, stack) {
  const w = width - SLACK;
  const views = stack ? HEATMAP_CHROME.left + size : rowWidth(size);
  const room = w - views - GAP;
  if (room >= SIDE_MIN) return { side: "right", sideWidth: Math.min(room, SIDE_MAX) };
  return { side: "below", sideWidth: 0 };
}

// a plan that keeps the side panel beside the views when that costs them little
function planWithSide(width, pref) {
  const p = planLayout(width, pref);
  if (p.stack || p.side === "right") return p;
  const w = width - SLACK;
  const smaller = Math.floor((w - GAP - SIDE_MIN - HEATMAP_CHROME.left - SCATTER_BORDER - GAP) / 2);
  if (smaller >= MIN_VIEW && smaller >= SHRINK_TO_FIT_SIDE * p.size) return { ...p, size: smaller, ...placeSide(width, smaller, false) };
  return p;
}

function render({ model, el }) {
  injectStyle();
  const group = model.get("link_group");
  const source = `${model.get("widget_id")}-${Math.random().toString(36).slice(2, 8)}`;
  const pref = Math.max(model.get("view_size") || 400, 120);
  const rpc = createRpc(model);
  const controls = createControls(model);
  const panel = createHoverPanel(model, { group, rpc, source, hasHeatmap: true });
  const title = h("div", { class: "amumo-title", text: model.get("title") });
  if (!model.get("title")) title.style.display = "none";
  const heatSlot = h("div", { class: "amumo-slot-view", "data-amumo": "heatmap-slot" });
  const scatterSlot = h("div", { class: "amumo-slot-view amumo-scatter-slot", "data-amumo": "scatter-slot" });
  const views = h("div", { class: "amumo-viewrow", "data-amumo": "views" }, [heatSlot, scatterSlot]);
  const readoutBox = h("div", { class: "amumo-side-readout" }, [h("div", { class: "amumo-side-title", text: "modality gap" }), controls.readout]);
  const prompt = createPromptBox(model, { group, rpc, source }); // typed prompt search (CLIP retrieval)
  const outliers = createOutlierList(model, { group, source }); // pairs ranked by pair cosine / conformity
  const side = h("div", { class: "amumo-side", "data-amumo": "side-panel" }, [readoutBox, prompt.el, outliers.el, panel.el]);
  const main = h("div", { class: "amumo-main" }, [views, side]);
  const root = h("div", { class: "amumo-ng amumo-explorer", "data-amumo": "explorer", "data-widget-id": model.get("widget_id") },
    [title, controls.el, main]);
  el.classList.add("amumo-host");
  el.append(root);
  const releaseView = hold("views");
  // the kernel holds its first background readout until a view has painted (first_paint.py), so
  // the readout does not take the CPU from the relay and the drawing of the views: painted = the
  // heatmap's cells and the scatter's points are on screen (its density picture or the WebGL points)
  const announce = (type) => rpc.request(type).catch(() => {}); // (a kernel-free export: no such request)
  announce("view_rendering");
  const painted = (sel, attr) => { const v = root.querySelector(sel)?.getAttribute(attr); return !!v && v !== "0"; };
  const paintWatch = new MutationObserver(() => {
    if (!painted('[data-amumo="heatmap"]', "data-rows") || !painted('[data-amumo="scatter"]', "data-paint")) return;
    paintWatch.disconnect();
    announce("view_painted");
  });
  paintWatch.observe(root, { subtree: true, attributes: true, attributeFilter: ["data-rows", "data-paint"] });

  let heatmap = null, scatter = null, built = null, settleTimer = 0, destroyed = false;

  function dropViews() {
    if (heatmap) { heatmap.destroy(); heatmap = null; }
    if (scatter) { scatter.destroy(); scatter = null; }
    heatSlot.replaceChildren();
    scatterSlot.replaceChildren();
    // what the scatter put into the controls (search box, colour-by, pair lines) went with it
    for (const slot of Object.values(controls.slots)) slot.replaceChildren();
  }

  function build(plan) {
    dropViews();
    const size = plan.size;
    heatmap = createHeatmap(model, { group, source, rpc, size });
    scatter = createScatter(model, { group, source, rpc, width: size, height: size });
    heatSlot.append(heatmap.el);
    scatterSlot.append(scatter.el);
    heatSlot.style.width = `${HEATMAP_CHROME.left + size}px`;
    heatSlot.style.height = `${slotHeight(size)}px`;
    // the plot level with the matrix; below it the scatter's legend and bar, of fixed heights
    scatterSlot.style.width = `${size + SCATTER_BORDER}px`;
    scatterSlot.style.paddingTop = `${HEATMAP_CHROME.top}px`;
    scatterSlot.style.height = `${size + SCATTER_BELOW}px`;
    // the scatter's pair-lines toggle belongs to the projection controls
    const lines = scatter.el.querySelector('[data-amumo="lines-toggle"]');
    const label = lines && lines.closest("label");
    if (label) controls.slots.lines.append(label);
    built = { size };
    root.setAttribute("data-view-size", String(size));
    place(plan);
  }

  function place(plan) {
    views.setAttribute("data-stack", plan.stack ? "true" : "false");
    views.classList.toggle("amumo-stacked", plan.stack);
    main.setAttribute("data-side", plan.side);
    side.setAttribute("data-place", plan.side);
    main.classList.toggle("amumo-side-below", plan.side === "below");
    if (plan.side === "right") {
      side.style.width = `${plan.sideWidth}px`;
      side.style.height = built ? `${plan.stack ? 2 * slotHeight(built.size) + GAP : slotHeight(built.size)}px` : "";
    } else {
      side.style.width = "";
      side.style.height = `${SIDE_BELOW_H}px`;
    }
  }

  // the Explorer's own width changed (first layout, container resized): place the side panel
  // and stack the views again; new views only when the built ones no longer fit or the size
  // they should have differs by RESIZE_STEP or more (a rebuilt view starts unzoomed)
  let lastWidth = 0;
  function onWidth(width) {
    if (destroyed || width <= 0) return;
    const plan = planWithSide(width, pref);
    if (!built) { build(plan); return; }
    const s = built.size;
    if (rowWidth(s) > width) {
      if (!plan.stack || HEATMAP_CHROME.left + s + SCATTER_BORDER > width) build(plan);
      else place({ stack: true, ...placeSide(width, s, true) });
    } else if (Math.abs(plan.size - s) >= RESIZE_STEP) build(plan);
    else place({ stack: false, ...placeSide(width, s, false) });
  }
  const observer = new ResizeObserver((entries) => {
    const width = Math.floor(entries[entries.length - 1].contentRect.width);
    if (width === lastWidth) return; // height changes are the Explorer's own content
    lastWidth = width;
    clearTimeout(settleTimer);
    // never change the layout inside the observer's callback (a resize loop); wait until the
    // width holds still (a Comparison's two sides are attached one after the other)
    settleTimer = setTimeout(() => onWidth(lastWidth), built ? SETTLE_MS * 2 : SETTLE_MS);
  });
  observer.observe(root);
  const releaseObserver = hold("listeners");

  // the kernel requests last: pending ones are rejected (ViewDestroyedError) once nobody listens
  return () => {
    destroyed = true;
    paintWatch.disconnect();
    clearTimeout(settleTimer);
    observer.disconnect();
    releaseObserver();
    controls.destroy(); dropViews(); prompt.destroy(); outliers.destroy(); panel.destroy(); rpc.destroy(); releaseView();
  };
}

export default { render };
