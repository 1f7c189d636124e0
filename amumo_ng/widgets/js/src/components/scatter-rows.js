// The points as regl-scatterplot draws them, and the frames a draw waits for.
import { DIM_OFFSET, NO_CATEGORY } from "./scatter-legend.js";
import { FADED_OFFSET } from "./scatter-line-colors.js";

// Whether the `points` trait belongs to the model shown now: the kernel sends a model's points
// (with `points_model`) after its captions and n_total, and the browser may already have switched
// `model` itself, so for a while the points are another model's. {ok, m, n, kind, expected}
export function pointsFit(model, xy) {
  const kind = model.get("point_kind");
  const n = model.get("n_total");
  const m = Math.floor(xy.length / 2);
  const expected = kind === "pair" ? n : 2 * n;
  const ok = m > 0 && model.get("points_model") === model.get("model") && m === expected;
  return { ok, m, n, kind, expected };
}

// A promise of the animation frame in which the set() calls made before it have asked for their redraw
// (requestAnimationFrame runs callbacks in the order they were requested)
export const settled = () => new Promise((resolve) => requestAnimationFrame(() => resolve()));
// A promise of the moment after the next frame was painted
export const afterPaint = () => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));

// Array-oriented rows [x, y, z, w(, line)] of m points (what regl-scatterplot works on, so it makes
// no second conversion): z the colour code (+ DIM_OFFSET when faded), w the line's colour index when
// lines are coloured by cosine (+ FADED_OFFSET when faded), line the pair (GPU lines only).
// xy: Float32Array [2m]; codes [m]; vis: Uint8Array [m] (1 = in view) or null (all); cosine: the
// pairs' line codes or null. Returns {rows, back, front: points out of / in view (when vis), hasNone}.
export function pointRows({ xy, m, n, codes, vis, fade, gpuLines, cosine }) {
  const rows = new Array(m);
  const back = [], front = []; // faded ones are drawn first, under the others
  let hasNone = false;
  for (let p = 0; p < m; p++) {
    const code = codes[p];
    const inView = !vis || vis[p];
    const z = code + (fade && !inView ? DIM_OFFSET : 0);
    if (vis) { if (inView) front.push(p); else back.push(p); }
    if (code === NO_CATEGORY && inView) hasNone = true;
    const w = gpuLines && cosine ? cosine[p % n] + (fade && !inView ? FADED_OFFSET : 0) : 0;
    rows[p] = gpuLines ? [xy[2 * p], xy[2 * p + 1], z, w, p % n] : [xy[2 * p], xy[2 * p + 1], z, 0];
  }
  return { rows, back, front, hasNone };
}

// Uint8Array [m] of the m points (pairs, or n images then n texts when `kind` is "modality"), 1
// where the point's pair is in `order` (Int32Array of the pairs in view); null when every pair is
export function pairsInView(order, n, m, kind) {
  if (order.length === n) return null;
  const vis = new Uint8Array(m);
  for (const pair of order) {
    if (pair < 0 || pair >= n) continue;
    vis[pair] = 1;
    if (kind === "modality") vis[n + pair] = 1;
  }
  return vis;
}

// {promise, done}: resolves (done = true) a frame after the canvas's first layout, or after 1 s.
// regl-scatterplot renders again when its canvas is first sized (its ResizeObserver), so points
// drawn before that are rendered twice, a second full software-WebGL frame (seconds at a million
// points). Once laid out, a draw starts synchronously again (a model switch clears stale points at
// once). `life`: the scatter's disposer (observer and timer go with it).
export function firstLayout(canvas, life) {
  const state = { done: false, promise: null };
  state.promise = new Promise((resolve) => {
    const finish = () => { state.done = true; resolve(); };
    const ro = new ResizeObserver(() => { ro.disconnect(); requestAnimationFrame(finish); });
    ro.observe(canvas);
    const t = setTimeout(() => { ro.disconnect(); finish(); }, 1000);
    life.add(() => { clearTimeout(t); ro.disconnect(); });
  });
  return state;
}
