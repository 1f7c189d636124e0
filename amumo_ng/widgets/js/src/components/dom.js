// Tiny DOM helpers. Data (captions, model names, messages) only ever goes through textContent.
export function h(tag, attrs = {}, children = []) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "style") el.style.cssText = v;
    else if (k === "text") el.textContent = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of [].concat(children)) if (c != null) el.append(c);
  return el;
}

export function fmt(x, digits = 4) {
  return x == null || Number.isNaN(x) ? "n/a" : Number(x).toFixed(digits);
}

export const COLORS = { image: "#1f77b4", text: "#ff7f0e" };

// The one device-pixel ratio of the views' own canvases (overlays): the screen's, capped at 2
// (a 3x or 4x screen would multiply the pixels drawn per frame for no visible gain).
export const MAX_PIXEL_RATIO = 2;
export function pixelRatio() {
  return Math.min(window.devicePixelRatio || 1, MAX_PIXEL_RATIO);
}
