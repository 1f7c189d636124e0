// The scatter's colours and their legend: per-point colour codes from the kernel (`point_colors`,
// `color_kind`, `color_legend`, `category_colors`, `colormap`, `color_range`, `color_title`), the
// palette handed to regl-scatterplot, the colour-by <select>, and a legend that says what is drawn.
// Widgets without colour-by traits (the standalone Scatter) are coloured by modality.
import { h, fmt, COLORS } from "./dom.js";
import { typed } from "./rpc.js";
import { createDisposer, listen, onModel } from "./live.js";

export const NO_CATEGORY = 255;
export const DIM_OFFSET = 256;       // palette[code + DIM_OFFSET]: the code's colour, dimmed
const DIM_STRENGTH = 0.22;           // a dimmed point: its colour at this strength over white
export const LEGEND_HEIGHT = 40;     // CSS px: fixed, however many entries (they scroll)

const CSS = `
.amumo-ng .amumo-scatter-legend { height: ${LEGEND_HEIGHT}px; overflow-y: auto; box-sizing: border-box;
  display: flex; flex-wrap: wrap; align-content: flex-start; gap: 2px 10px; font-size: 11px; padding: 3px 2px 0; }
.amumo-ng .amumo-scatter-legend .amumo-legend-title { font-weight: 600; color: #444; }
.amumo-ng .amumo-scatter-legend [data-amumo="legend-entry"], .amumo-ng .amumo-scatter-legend .amumo-legend-extra {
  display: inline-flex; align-items: center; white-space: nowrap; max-width: 100%; overflow: hidden; text-overflow: ellipsis; }
.amumo-ng .amumo-scatter-legend .amumo-legend-ring { display: inline-block; width: 7px; height: 7px; border-radius: 50%;
  border: 1.5px solid #333; margin-right: 3px; box-sizing: border-box; }
.amumo-ng .amumo-legend-ramp { width: 110px; height: 9px; image-rendering: pixelated; border: 1px solid #ccc; margin: 0 3px; }
`;

export function injectLegendStyle() {
  if (document.getElementById("amumo-ng-scatter-legend-style")) return;
  const style = document.createElement("style");
  style.id = "amumo-ng-scatter-legend-style";
  style.textContent = CSS;
  document.head.append(style);
}

const hex2 = (v) => Math.max(0, Math.min(255, Math.round(v))).toString(16).padStart(2, "0");
const rgbHex = (r, g, b) => `#${hex2(r)}${hex2(g)}${hex2(b)}`;
function parseHex(color) {
  const m = /^#?([0-9a-f]{6})$/i.exec(String(color || "").trim());
  if (!m) return [128, 128, 128];
  const v = parseInt(m[1], 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}
export function dimmed(color) {
  const [r, g, b] = parseHex(color);
  const mix = (c) => 255 - DIM_STRENGTH * (255 - c);
  return rgbHex(mix(r), mix(g), mix(b));
}

// What the points of the current layout are coloured by. kind: "modality" (2n points) or "pair" (n);
// m: points drawn. Returns {codes: Uint8Array [m], palette: 512 hex colours (code, then code + 256
// dimmed), legend: {kind, title, entries: [[label, colour]], ramp?: {lut, vmin, vmax}}, fallback}.
export function pointColorState(model, { kind, n, m }) {
  const codes = typed(Uint8Array, model.get("point_colors"));
  const colorKind = model.get("color_kind");
  const ok = codes.length === m && m > 0 && (colorKind === "categorical" || colorKind === "numeric");
  let base, legend;
  if (!ok) {
    // no colour-by traits (or not yet those of this layout): by modality, as the kernel would
    const own = new Uint8Array(m);
    if (kind !== "pair") own.fill(1, n);
    const entries = kind === "pair" ? [["pair (image ⊕ text)", "#555555"]] : [["image", COLORS.image], ["text", COLORS.text]];
    base = paletteOf(entries.map((e) => e[1]), ["#d0d0d0"]);
    return { codes: own, palette: withDimmed(base), legend: { kind: "categorical", title: kind === "pair" ? "joint point of each pair" : "modality", entries }, fallback: true };
  }
  const title = model.get("color_title") || "";
  if (colorKind === "numeric") {
    const lut = typed(Uint8Array, model.get("colormap"));
    base = new Array(256);
    for (let i = 0; i < 256; i++) base[i] = lut.length >= 768 ? rgbHex(lut[3 * i], lut[3 * i + 1], lut[3 * i + 2]) : rgbHex(i, i, i);
    const range = model.get("color_range") || [];
    legend = { kind: "numeric", title, entries: [], ramp: { lut, vmin: range[0], vmax: range[1] } };
  } else {
    const entries = (model.get("color_legend") || []).map(([label, color]) => [String(label), String(color)]);
    base = paletteOf(entries.map((e) => e[1]), model.get("category_colors") || []);
    legend = { kind: "categorical", title, entries };
  }
  return { codes, palette: withDimmed(base), legend, fallback: false };
}

// 256 colours: code i -> the legend's colour i, else category_colors[i]; 255 (and codes past the
// palette) -> the last entry of category_colors ("no category")
function paletteOf(legendColors, categoryColors) {
  const cats = categoryColors.length ? categoryColors : ["#d0d0d0"];
  const none = cats[cats.length - 1];
  const out = new Array(256);
  for (let i = 0; i < 256; i++) {
    if (i < legendColors.length && i !== NO_CATEGORY) out[i] = legendColors[i];
    else if (i < cats.length - 1) out[i] = cats[i];
    else out[i] = none;
  }
  return out;
}

const withDimmed = (base) => base.concat(base.map(dimmed));

// A <select> bound to a trait: options [value, label] from `optionsTrait`, value `valueTrait`
// (set on change). `shown` (default: the select) is hidden while the widget has no options.
// Returns {select, sync, destroy}.
export function bindTraitSelect(model, select, valueTrait, optionsTrait, shown = select) {
  const life = createDisposer();
  let key = "";
  function sync() {
    const options = model.get(optionsTrait);
    if (!Array.isArray(options) || !options.length) { shown.style.display = "none"; return; }
    shown.style.display = "";
    const now = JSON.stringify(options);
    if (now !== key) {
      key = now;
      select.replaceChildren(...options.map(([value, label]) => h("option", { value, text: label })));
    }
    select.value = model.get(valueTrait);
  }
  life.add(listen(select, "change", () => { model.set(valueTrait, select.value); model.save_changes(); }));
  life.add(onModel(model, `change:${optionsTrait} change:${valueTrait}`, sync));
  sync();
  return { select, sync, destroy: () => life.dispose() };
}

// The colour-by <select> (data-amumo="color-by") from `color_options`, setting `color_by`; hidden
// when the widget has no colour-by traits.
export function createColorBy(model) {
  const select = h("select", { "data-amumo": "color-by", title: "what the scatter's points are coloured by" });
  const el = h("label", { class: "amumo-colorby", "data-amumo": "color-by-label" }, ["colour by ", select]);
  const bound = bindTraitSelect(model, select, "color_by", "color_options", el);
  return { el, select, destroy: bound.destroy };
}

// A 256 x 1 canvas of a uint8 [768] RGB lookup table (a grey ramp when it is shorter), styled as a legend ramp
function rampCanvas(lut, name) {
  const ramp = h("canvas", { class: "amumo-legend-ramp", "data-amumo": name, width: 256, height: 1 });
  const ctx = ramp.getContext("2d");
  const img = ctx.createImageData(256, 1);
  const ok = lut && lut.length >= 768;
  for (let i = 0; i < 256; i++) {
    img.data[4 * i] = ok ? lut[3 * i] : i; img.data[4 * i + 1] = ok ? lut[3 * i + 1] : i;
    img.data[4 * i + 2] = ok ? lut[3 * i + 2] : i; img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
  return ramp;
}

// The legend area (fixed height). update({legend, hasNone, dimmedCount, clampedCount, error, lines}) redraws it.
export function createScatterLegend(model) {
  injectLegendStyle();
  const el = h("div", { class: "amumo-scatter-legend", "data-amumo": "scatter-legend" });
  const swatch = (color, extra = "") => h("span", { class: "amumo-swatch", style: `background:${color}${extra}` });
  // lines: the pair lines' colouring (scatter-line-colors.js lineColorState), a ramp entry when by cosine
  function update({ legend, hasNone, dimmedCount = 0, clampedCount = 0, error = "", lines = null }) {
    const kids = [];
    if (legend.title) kids.push(h("span", { class: "amumo-legend-title", "data-amumo": "scatter-legend-title", text: legend.title }));
    if (legend.kind === "numeric") {
      const { lut, vmin, vmax } = legend.ramp;
      kids.push(h("span", { class: "amumo-legend-extra", "data-amumo": "legend-range" },
        [h("span", { "data-amumo": "legend-vmin", text: fmt(vmin, 2) }), rampCanvas(lut, "legend-ramp"), h("span", { "data-amumo": "legend-vmax", text: fmt(vmax, 2) })]));
    } else {
      legend.entries.forEach(([label, color], i) => {
        kids.push(h("span", { "data-amumo": "legend-entry", "data-color": color, "data-code": i, title: label }, [swatch(color), label]));
      });
      if (hasNone) {
        const none = (model.get("category_colors") || ["#d0d0d0"]).slice(-1)[0];
        kids.push(h("span", { "data-amumo": "legend-entry", "data-color": none, "data-code": NO_CATEGORY, "data-none": "true" }, [swatch(none), "no category"]));
      }
    }
    if (lines && lines.mode === "cosine") {
      kids.push(h("span", { class: "amumo-legend-extra", "data-amumo": "legend-lines", style: "gap:3px",
        title: "pair lines coloured by the cosine of each pair's image and text (the vectors shown); beyond the ends: the end colours" },
      [h("span", { class: "amumo-legend-title", text: "pair cosine:" }), h("span", { text: "low" }),
        h("span", { "data-amumo": "legend-lines-low", text: fmt(lines.lo, 2) }), rampCanvas(lines.lut, "legend-lines-ramp"),
        h("span", { "data-amumo": "legend-lines-high", text: fmt(lines.hi, 2) }), h("span", { text: "high" })]));
    }
    if (dimmedCount) {
      kids.push(h("span", { class: "amumo-legend-extra", "data-amumo": "legend-dimmed", title: "the projection is fitted on all pairs; the pairs the filter hides are drawn faded" },
        [swatch(dimmed("#555555")), `${dimmedCount} not in view (faded)`]));
    }
    if (clampedCount) {
      kids.push(h("span", { class: "amumo-legend-extra", "data-amumo": "legend-clamped", title: "outliers drawn at the edge of the plot" },
        [h("span", { class: "amumo-legend-ring" }), "clamped to the edge"]));
    }
    if (error) kids.push(h("span", { class: "amumo-error", "data-amumo": "color-error", text: error, title: error }));
    el.replaceChildren(...kids);
  }
  return { el, update };
}
