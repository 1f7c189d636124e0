// Pair-line colours of the scatter: grey, or each line by its pair's cosine (`line_color`).
//
// The kernel sends the pair cosines of the vectors shown (`pair_cosines`, float32 [n]; gap-closed
// when the gap is closed), the colour map (`line_colormap`, uint8 [256, 3]) and the cosines its
// ends stand for (`line_color_range`, over the pairs in view). A pair's map index is its cosine
// quantised over the range (as the kernel's colormap.quantize: low -> 0, high -> 255, clipped).
//
// Both line paths use it: regl-scatterplot's curves (up to LINES_LIMIT pairs) take the index as
// their points' valueB (+ FADED_OFFSET for a pair out of view, drawn pale), and the overlay's line
// density above it strokes its segments in LINE_BINS steps of the same map.
import { h } from "./dom.js";
import { typed } from "./rpc.js";
import { bindTraitSelect } from "./scatter-legend.js";

export const FADED_OFFSET = 256;   // palette index of a faded pair's line: its code + FADED_OFFSET
export const LINE_BINS = 16;       // colour steps of the overlay's line density
const LINE_ALPHA = 0.8;            // cosine lines: opaque enough that their colour reads
const FADED_ALPHA = 0.35;
const FADED_MIX = 0.22;            // a faded line: its colour at this strength over white

// {mode: "grey" | "cosine", codes: Uint8Array [n] | null, lut: Uint8Array [768], lo, hi}: the
// lines' colouring for n pairs; "grey" (codes null) unless every input for "cosine" is there
export function lineColorState(model, n) {
  const grey = { mode: "grey", codes: null, lut: null, lo: NaN, hi: NaN };
  if (model.get("line_color") !== "cosine") return grey;
  const cos = typed(Float32Array, model.get("pair_cosines"));
  const lut = typed(Uint8Array, model.get("line_colormap"));
  const range = model.get("line_color_range") || [];
  if (cos.length !== n || n === 0 || lut.length < 768 || range.length !== 2) return grey;
  const [lo, hi] = range;
  const codes = new Uint8Array(n);
  const scale = hi > lo ? 255 / (hi - lo) : 0;
  for (let i = 0; i < n; i++) {
    const v = cos[i];
    codes[i] = !(scale > 0) || !(v === v) ? 128 : Math.max(0, Math.min(255, Math.round((v - lo) * scale)));
  }
  return { mode: "cosine", codes, lut, lo, hi };
}

// [r, g, b] (0..255) of map index i
export const lutRgb = (lut, i) => [lut[3 * i], lut[3 * i + 1], lut[3 * i + 2]];

// regl-scatterplot's pointConnectionColor for cosine lines: 256 map colours, then their faded versions
export function cosineLinePalette(lut) {
  const out = new Array(2 * FADED_OFFSET);
  for (let i = 0; i < FADED_OFFSET; i++) {
    const [r, g, b] = lutRgb(lut, i);
    out[i] = [r / 255, g / 255, b / 255, LINE_ALPHA];
    const pale = (c) => (255 - FADED_MIX * (255 - c)) / 255;
    out[FADED_OFFSET + i] = [pale(r), pale(g), pale(b), FADED_ALPHA];
  }
  return out;
}

// Set regl-scatterplot's point connections to cosine colours (`state` from lineColorState, with
// `lutValue` the line_colormap trait it came from) or, when `state` is null, to the grey `greyColors`
// (by the points' valueA). `current` is what was set last (the return value of the previous call):
// nothing is set when it is unchanged (each set() schedules a render).
export function setLineStyle(scatterplot, state, lutValue, current, greyColors) {
  const key = state ? { lut: lutValue } : "grey";
  if (current === "grey" && key === "grey") return current;
  if (current && state && current.lut === lutValue) return current;
  scatterplot.set(state
    ? { pointConnectionColorBy: "valueB", pointConnectionColor: cosineLinePalette(state.lut), pointConnectionOpacity: LINE_ALPHA, pointConnectionSize: 1.5 }
    : { pointConnectionColorBy: "valueA", pointConnectionColor: greyColors, pointConnectionOpacity: 0.35, pointConnectionSize: 1 });
  return key;
}

// The overlay density's segments grouped by colour: LINE_BINS lists of pairs and their CSS colours
export function binPairs(pairs, codes, lut) {
  const bins = Array.from({ length: LINE_BINS }, () => []);
  const step = 256 / LINE_BINS;
  for (const pair of pairs) bins[Math.min(LINE_BINS - 1, Math.floor(codes[pair] / step))].push(pair);
  const colors = bins.map((_, b) => {
    const [r, g, b2] = lutRgb(lut, Math.min(255, Math.round((b + 0.5) * step)));
    return [r, g, b2];
  });
  return { bins, colors };
}

// The line colour <select> (data-amumo="line-color"), setting `line_color`; hidden when the
// widget has no line colour traits
export function createLineColorSelect(model) {
  const select = h("select", { "data-amumo": "line-color", title: "pair lines: grey, or coloured by the cosine of each pair's image and text" });
  const bound = bindTraitSelect(model, select, "line_color", "line_color_options");
  return { el: select, destroy: bound.destroy };
}
