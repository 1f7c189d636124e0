// Rings the scatter draws on its overlay canvas: clamped outliers, and the hovered pair.

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
