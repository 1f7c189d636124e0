// Rings the scatter draws on its overlay canvas: clamped outliers, and the hovered pair; the
// overlay's canvases themselves.
import { h } from "./dom.js";

// A transparent canvas of CSS size width x height laid over the plot (pointer events pass
// through), `dpr` device pixels per CSS px; `name`: its data-amumo (none when null)
export function overlayCanvas(name, width, height, dpr) {
  const c = h("canvas", { class: "amumo-overlay", ...(name ? { "data-amumo": name } : {}),
    style: `width:${width}px;height:${height}px;position:absolute;left:0;top:0;pointer-events:none` });
  c.width = Math.round(width * dpr); c.height = Math.round(height * dpr);
  return c;
}

// The canvas's 2D context, emptied, drawing in CSS px
export function clearedContext(canvas, dpr) {
  const ctx = canvas.getContext("2d");
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return ctx;
}

// A thin dark ring of radius r (CSS px) around each screen position of `positions` ([x, y] or null)
export function strokeClampRings(ctx, positions, r) {
  if (!positions.length) return;
  ctx.strokeStyle = "rgba(40,40,40,0.75)"; ctx.lineWidth = 1;
  ctx.beginPath();
  for (const q of positions) {
    if (q) { ctx.moveTo(q[0] + r, q[1]); ctx.arc(q[0], q[1], r, 0, 2 * Math.PI); }
  }
  ctx.stroke();
}

// The hovered point(s) ringed; a pair's two points (`positions` of length 2) also joined by a line
export function strokeHover(ctx, positions) {
  const pos = positions.filter(Boolean);
  if (!pos.length) return;
  if (pos.length === 2) {
    ctx.strokeStyle = "rgba(220,0,80,0.8)"; ctx.lineWidth = 1.5;
    ctx.beginPath(); ctx.moveTo(pos[0][0], pos[0][1]); ctx.lineTo(pos[1][0], pos[1][1]); ctx.stroke();
  }
  ctx.strokeStyle = "#dc0050"; ctx.lineWidth = 2;
  for (const [px, py] of pos) { ctx.beginPath(); ctx.arc(px, py, 7, 0, 2 * Math.PI); ctx.stroke(); }
}
