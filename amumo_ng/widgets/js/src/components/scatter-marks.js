// Marks over the scatter's points, drawn on a canvas of their own: the interpolation path a strip
// shows (`path_xy`, float32 [k, 2] in the points' own coordinates: a polyline, a dot per frame, the
// start ringed and the end squared), the typed prompt (`prompt_xy`, a star) and its nearest images
// and texts (`prompt_hits`, rings on their points). A note says why a mark cannot be drawn
// (`path_note`, `prompt_note`: t-SNE cannot place new vectors, another model's path, ...).
// A single click on a point pins the hover panel (bus {kind: "pin"}). Redrawn after every frame of the
// plot (its "draw" event: pan, zoom, new points), so the marks move with the points.
//
// Test hooks on the plot's box: data-path-points (frames drawn), data-path-seq (the kernel's
// path_info.seq drawn), data-path-draws (how many different paths were drawn), data-path-start-px /
// data-path-end-px ("x,y" CSS px in the canvas), data-prompt-hits (rings drawn), data-prompt-px.
import { h, pixelRatio } from "./dom.js";
import { publish } from "./bus.js";
import { typed } from "./rpc.js";
import { createDisposer, onModel } from "./live.js";
import { onSingleClick } from "./hover-actions.js";

const PATH = "#2ca02c", PROMPT = "#9400d3";

// model: the Explorer's (a standalone Scatter has no path traits: nothing is mounted)
export function mountScatterMarks(model, box, scatterplot, { width, height, group, source }) {
  if (model.get("path_xy") === undefined) return () => {};
  const life = createDisposer();
  const dpr = pixelRatio();
  const canvas = h("canvas", { class: "amumo-overlay", "data-amumo": "scatter-marks",
    style: `width:${width}px;height:${height}px;position:absolute;left:0;top:0;pointer-events:none` });
  canvas.width = Math.round(width * dpr); canvas.height = Math.round(height * dpr);
  const note = h("div", { class: "amumo-marks-note", "data-amumo": "scatter-marks-note" });
  box.append(canvas, note);
  life.add(() => { canvas.remove(); note.remove(); });
  let draws = 0, seqDrawn = null;

  // data coordinates -> CSS px in the plot (regl-scatterplot's getScreenPosition, for any point)
  function toScreen(x, y) {
    const m = scatterplot.get("cameraView");
    const cx = (m[0] * x + m[4] * y + m[12]) / (width / height), cy = m[1] * x + m[5] * y + m[13];
    return [width * (cx + 1) / 2, height * (0.5 - cy / 2)];
  }
  const pointAt = (p) => { try { return scatterplot.getScreenPosition(p) || null; } catch (_err) { return null; } };

  function drawPath(ctx) {
    const xy = typed(Float32Array, model.get("path_xy"));
    const k = Math.floor(xy.length / 2);
    const info = model.get("path_info") || {};
    box.setAttribute("data-path-points", String(k));
    if (k < 1) { box.removeAttribute("data-path-start-px"); box.removeAttribute("data-path-end-px"); return; }
    if (info.seq !== seqDrawn) { seqDrawn = info.seq; draws += 1; }
    box.setAttribute("data-path-seq", String(info.seq));
    box.setAttribute("data-path-draws", String(draws));
    const pts = [];
    for (let i = 0; i < k; i++) pts.push(toScreen(xy[2 * i], xy[2 * i + 1]));
    ctx.strokeStyle = PATH; ctx.lineWidth = 2; ctx.globalAlpha = 0.9;
    ctx.beginPath();
    pts.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
    ctx.stroke();
    ctx.fillStyle = PATH;
    for (const [x, y] of pts) { ctx.beginPath(); ctx.arc(x, y, 2, 0, 2 * Math.PI); ctx.fill(); }
    const [s, e] = [pts[0], pts[k - 1]];
    ctx.globalAlpha = 1; ctx.lineWidth = 2.5;
    ctx.beginPath(); ctx.arc(s[0], s[1], 7, 0, 2 * Math.PI); ctx.stroke();
    ctx.strokeRect(e[0] - 6, e[1] - 6, 12, 12);
    ctx.font = "bold 11px system-ui, sans-serif";
    ctx.fillText("start", s[0] + 9, s[1] - 7);
    ctx.fillText("end", e[0] + 9, e[1] - 7);
    box.setAttribute("data-path-start-px", `${s[0].toFixed(1)},${s[1].toFixed(1)}`);
    box.setAttribute("data-path-end-px", `${e[0].toFixed(1)},${e[1].toFixed(1)}`);
  }

  function drawPrompt(ctx) {
    const result = model.get("prompt_result") || {};
    const hits = typed(Int32Array, model.get("prompt_hits"));
    const kImages = result.k_images || 0;
    const n = model.get("n_total") || 0, pairKind = model.get("point_kind") === "pair";
    let rings = 0;
    ctx.lineWidth = 2; ctx.strokeStyle = PROMPT; ctx.globalAlpha = 1;
    for (let i = 0; i < hits.length; i++) {
      const pair = hits[i];
      if (!(pair >= 0 && pair < n)) continue;
      const q = pointAt(pairKind ? pair : (i < kImages ? pair : n + pair));
      if (!q) continue;
      ctx.beginPath(); ctx.arc(q[0], q[1], 5.5, 0, 2 * Math.PI); ctx.stroke();
      rings += 1;
    }
    box.setAttribute("data-prompt-hits", String(rings));
    const xy = typed(Float32Array, model.get("prompt_xy"));
    if (xy.length < 2 || !result.prompt) { box.removeAttribute("data-prompt-px"); return; }
    const [x, y] = toScreen(xy[0], xy[1]);
    ctx.fillStyle = PROMPT;
    ctx.beginPath();
    for (let j = 0; j < 10; j++) {
      const r = j % 2 ? 3.5 : 9, a = -Math.PI / 2 + j * Math.PI / 5;
      (j ? ctx.lineTo : ctx.moveTo).call(ctx, x + r * Math.cos(a), y + r * Math.sin(a));
    }
    ctx.closePath(); ctx.fill();
    ctx.font = "bold 11px system-ui, sans-serif";
    ctx.fillText(`“${result.prompt.length > 28 ? result.prompt.slice(0, 27) + "…" : result.prompt}”`, x + 10, y + 4);
    box.setAttribute("data-prompt-px", `${x.toFixed(1)},${y.toFixed(1)}`);
  }

  function draw() {
    if (life.disposed) return;
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const drawn = box.getAttribute("data-points") && box.getAttribute("data-points") !== "0";
    if (drawn) { drawPath(ctx); drawPrompt(ctx); }
    const text = [model.get("path_note"), model.get("prompt_note")].filter(Boolean).join(" · ");
    note.textContent = text;
    note.title = text;
    note.style.display = text ? "" : "none";
  }

  let frame = 0;
  const request = () => {
    if (frame || life.disposed) return;
    frame = requestAnimationFrame(() => { frame = 0; draw(); });
  };
  life.add(() => { if (frame) cancelAnimationFrame(frame); frame = 0; });
  const handle = scatterplot.subscribe("draw", request);
  life.add(() => scatterplot.unsubscribe(handle));
  life.add(onModel(model, "change:path_xy change:path_info change:path_note change:prompt_xy change:prompt_hits " +
    "change:prompt_result change:prompt_note change:point_kind", request));
  // a click on a point keeps the hover panel on it (the scatter's own capture handler stops a lasso's click)
  life.add(onSingleClick(box, () => publish(group, { kind: "pin", source }), () => box.getAttribute("data-hover-point") != null));
  request();
  return () => life.dispose();
}
