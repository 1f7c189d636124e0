// A density picture of every point, drawn at once on the scatter's own 2D canvas while
// regl-scatterplot builds its rows, state texture and spatial index for a large draw (1.5 s for
// 2M points here), and a software WebGL (SwiftShader) renders its first frame (1.5-2 s more).
// regl-scatterplot's first frame replaces the picture: it copies its whole framebuffer (opaque
// background) into this canvas.
//
// Each point counts in the pixel its centre falls in, with the colour the WebGL draw gives it
// (its code's palette colour, the dimmed one when faded; hidden points are left out). A pixel of
// n points of mean colour c shows white·(1 − A) + c·A with A = 1 − (1 − opacity)^n, the
// coverage of n overlapping points drawn at `opacity`. The view is regl-scatterplot's initial
// camera: data x maps to x / aspect in clip space (aspect = width / height), y to y.

//: From this many points a new set of positions is first painted as a density (below, the WebGL
//: draw is quick enough).
export const DENSITY_FIRST_POINTS = 200000;

// [r, g, b] in 0..255 of a CSS colour: #rgb, #rrggbb, rgb()/rgba(), else what a canvas makes of it
export function cssRgb(color, probe) {
  let c = String(color).trim();
  if (!/^#|^rgb/i.test(c) && probe) { probe.fillStyle = "#000"; probe.fillStyle = c; c = String(probe.fillStyle); }
  let m = /^#([0-9a-f])([0-9a-f])([0-9a-f])$/i.exec(c);
  if (m) return [1, 2, 3].map((i) => parseInt(m[i] + m[i], 16));
  m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})/i.exec(c);
  if (m) return [1, 2, 3].map((i) => parseInt(m[i], 16));
  m = /^rgba?\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)/i.exec(c);
  if (m) return [1, 2, 3].map((i) => Math.round(Number(m[i])));
  return [128, 128, 128];
}

// Paint the density of points `xy` (Float32Array [2m]) on `canvas` (its 2D context, its pixel size).
// codes: the colour code of each point (palette index); vis: Uint8Array [m] (1 = in view) or null;
// fade: out-of-view points are drawn dimmed (palette[code + dimOffset]) instead of hidden.
// Returns the number of points painted.
export function paintDensity(canvas, { xy, m, codes, vis, fade, palette, dimOffset, opacity = 0.85 }) {
  const W = canvas.width, H = canvas.height;
  const ctx = canvas.getContext("2d");
  if (!ctx || !W || !H) return 0;
  const rgb = new Uint8Array(3 * palette.length);
  palette.forEach((c, i) => rgb.set(cssRgb(c, ctx), 3 * i));
  const count = new Uint32Array(W * H);
  const sum = new Float32Array(3 * W * H);
  const sx = H / 2, ox = W / 2, sy = H / 2; // clip x = x / (W / H): pixel = (x·H/W + 1)·W/2
  let painted = 0;
  for (let p = 0; p < m; p++) {
    const inView = !vis || vis[p] === 1;
    if (!inView && !fade) continue;
    const px = Math.floor(ox + xy[2 * p] * sx), py = Math.floor(sy - xy[2 * p + 1] * sy);
    if (px < 0 || py < 0 || px >= W || py >= H) continue;
    const k = py * W + px;
    const c = 3 * (codes[p] + (inView ? 0 : dimOffset));
    count[k] += 1;
    sum[3 * k] += rgb[c]; sum[3 * k + 1] += rgb[c + 1]; sum[3 * k + 2] += rgb[c + 2];
    painted += 1;
  }
  const image = ctx.createImageData(W, H);
  const px = image.data;
  const keep = 1 - opacity;
  for (let k = 0; k < W * H; k++) {
    const n = count[k];
    const o = 4 * k;
    px[o + 3] = 255;
    if (!n) { px[o] = px[o + 1] = px[o + 2] = 255; continue; }
    const a = 1 - Math.pow(keep, n);
    px[o] = Math.round(255 * (1 - a) + (sum[3 * k] / n) * a);
    px[o + 1] = Math.round(255 * (1 - a) + (sum[3 * k + 1] / n) * a);
    px[o + 2] = Math.round(255 * (1 - a) + (sum[3 * k + 2] / n) * a);
  }
  ctx.putImageData(image, 0, 0);
  return painted;
}
