// Pair lines of the scatter above what regl-scatterplot's curves can take: straight segments on
// the overlay canvas, drawn as a line density.
//
// Up to LINES_LIMIT pairs the lines are regl-scatterplot's (WebGL curves, one per pair: their set-up
// costs seconds of CPU per 10k lines, so no more). Above, the overlay draws segments for the pairs
// in view (all pairs up to OVERLAY_LINES of them), else for the selection (at most OVERLAY_LINES),
// so a million pairs still show their lines where asked.
import { binPairs } from "./scatter-line-colors.js";

export const LINES_LIMIT = 20000;
export const OVERLAY_LINES = 100000;
const LINE_BATCH = 200; // segments per stroke (see strokePairLines)

// {pairs, why}: the pairs whose lines the overlay draws: those in view (`order`, int32 [k]) when at
// most OVERLAY_LINES, else the selection's first OVERLAY_LINES; `filtered`: not every pair is in view
export function overlayPairs(order, selection, filtered) {
  if (order.length <= OVERLAY_LINES) return { pairs: order, why: filtered ? "in view" : "(all)" };
  return { pairs: selection.slice(0, OVERLAY_LINES), why: "selected" };
}

// point indices [min x, max x, max y] of the m points of xy (Float32Array [2m]): three points that
// span the layout, from which the camera's affine map is solved
export function extremeAnchors(xy, m) {
  let i0 = 0, i1 = 0, i2 = 0;
  for (let p = 1; p < m; p++) {
    const x = xy[2 * p], y = xy[2 * p + 1];
    if (x < xy[2 * i0]) i0 = p;
    if (x > xy[2 * i1]) i1 = p;
    if (y > xy[2 * i2 + 1]) i2 = p;
  }
  return [i0, i1, i2];
}

// The camera maps data to screen affinely: solved from the screen positions `at(point)` of the
// three anchors, so 100k segments cost no per-point matrix products. Null when the anchors are
// collinear (then every point goes through `at`).
export function affineScreenMap(xy, anchors, at) {
  if (!anchors) return null;
  const d = anchors.map((i) => [xy[2 * i], xy[2 * i + 1]]);
  const q = anchors.map(at);
  if (q.some((v) => !v)) return null;
  const a = d[1][0] - d[0][0], b = d[2][0] - d[0][0], c = d[1][1] - d[0][1], e = d[2][1] - d[0][1];
  const det = a * e - b * c;
  if (Math.abs(det) < 1e-12) return null;
  const sx1 = q[1][0] - q[0][0], sx2 = q[2][0] - q[0][0], sy1 = q[1][1] - q[0][1], sy2 = q[2][1] - q[0][1];
  const m00 = (sx1 * e - sx2 * c) / det, m01 = (sx2 * a - sx1 * b) / det;
  const m10 = (sy1 * e - sy2 * c) / det, m11 = (sy2 * a - sy1 * b) / det;
  const t0 = q[0][0] - m00 * d[0][0] - m01 * d[0][1], t1 = q[0][1] - m10 * d[0][0] - m11 * d[0][1];
  return (x, y) => [m00 * x + m01 * y + t0, m10 * x + m11 * y + t1];
}

// Stroke the image–text segment of each pair (image point p, text point n + p of xy) on ctx, as a
// line density: strokes of LINE_BATCH segments, each at an opacity that falls with the number of
// lines, so where many pairs cross it darkens and sparse lines stay visible (one path of 100k
// segments would be one flat grey: segments of one stroke do not add up). Returns the pairs drawn.
// `colors` ({codes: Uint8Array [n], lut}, optional): lines by pair cosine, in LINE_BINS colour steps
// (scatter-line-colors.js); where lines of several cosines cross, their colours blend.
export function strokePairLines(ctx, xy, n, pairs, at, anchors, colors = null) {
  const map = affineScreenMap(xy, anchors, at);
  const pos = (p) => (map ? map(xy[2 * p], xy[2 * p + 1]) : (at(p) || [NaN, NaN]));
  const valid = [];
  for (const pair of pairs) if (pair >= 0 && pair < n) valid.push(pair);
  const alpha = Math.max(colors ? 0.05 : 0.02, Math.min(colors ? 0.6 : 0.3, 600 / Math.max(1, valid.length)));
  ctx.lineWidth = 1;
  const groups = colors ? binPairs(valid, colors.codes, colors.lut) : { bins: [valid], colors: [[90, 90, 90]] };
  groups.bins.forEach((bin, b) => {
    if (!bin.length) return;
    const [r, g, bl] = groups.colors[b];
    ctx.strokeStyle = `rgba(${r},${g},${bl},${alpha.toFixed(3)})`;
    ctx.beginPath();
    bin.forEach((pair, i) => {
      const [ax, ay] = pos(pair), [bx, by] = pos(n + pair);
      if (ax === ax && bx === bx) { ctx.moveTo(ax, ay); ctx.lineTo(bx, by); }
      if ((i + 1) % LINE_BATCH === 0) { ctx.stroke(); ctx.beginPath(); }
    });
    ctx.stroke();
  });
  return valid.length;
}
