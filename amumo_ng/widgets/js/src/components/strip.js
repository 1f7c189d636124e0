// The interpolation strip (amumo_ng.widgets.InterpolationStrip): what lies between two embeddings.
//
// Controls: start and end text boxes (a typed prompt, or "#12" / "i12" for the caption / the image of
// pair 12; Enter or leaving the box applies), steps, method (lerp / slerp / vslerp), α (shown for
// vslerp only), the decoder (`decoders`: retrieval, the toy unCLIP, pipelines, the user's) and "close gap
// before decoding". Each sets its trait; the kernel builds and decodes the path and sends `frames` (t,
// nearest caption and its cosine, nearest image pair, `generated`) and `frame_images` (pictures
// concatenated, `frame_image_offsets` uint32 [k + 1]), drawn by strip-frames.js. Below: the sideways
// strip of fixed-width frames, the busy row (progress + cancel, strip-busy.js), the error slot
// (`strip_error`, the kernel's message) and the status line (`strip_status`). Every listener goes
// through live.js and is released by destroy().
import { h } from "./dom.js";
import { createDisposer, listen, onModel } from "./live.js";
import { createRpc } from "./rpc.js";
import { createStripBusy } from "./strip-busy.js";
import { FRAME_WIDTH, THUMB, createStripFrames } from "./strip-frames.js";

export { FRAME_WIDTH };
const CSS = `
.amumo-ng.amumo-strip { display: flex; flex-direction: column; gap: 6px; max-width: 100%; box-sizing: border-box; }
.amumo-ng .amumo-strip-controls { display: flex; flex-wrap: wrap; gap: 4px 10px; align-items: center; }
.amumo-ng .amumo-strip-controls label { display: inline-flex; align-items: center; gap: 4px; white-space: nowrap; }
.amumo-ng .amumo-strip-controls input[type=text] { width: 180px; padding: 2px 4px; }
.amumo-ng .amumo-strip-controls select[data-amumo=strip-decoder] { max-width: 200px; }
.amumo-ng .amumo-strip-frames { display: flex; flex-direction: row; gap: 6px; overflow-x: auto; overflow-y: hidden;
  padding-bottom: 4px; min-height: ${THUMB + 64}px; transition: opacity 0.2s; }
.amumo-ng.amumo-strip[data-busy=true] .amumo-strip-frames { opacity: 0.55; }
.amumo-ng .amumo-strip-frame { flex: none; width: ${FRAME_WIDTH}px; box-sizing: border-box; border: 1px solid #e2e2e2;
  border-radius: 4px; padding: 3px; background: #fcfcfc; font-size: 11px; line-height: 14px; }
.amumo-ng .amumo-strip-frame img, .amumo-ng .amumo-strip-frame .amumo-strip-noimg { display: block; width: ${THUMB}px;
  height: ${THUMB}px; object-fit: contain; background: #f2f2f2; margin: 0 auto 2px; }
.amumo-ng .amumo-strip-frame[data-generated=true] { border-color: #9cc3e6; }
.amumo-ng .amumo-strip-caption { height: 28px; overflow: hidden; overflow-wrap: anywhere; }
.amumo-ng .amumo-strip-msg { min-height: 15px; font-size: 11px; line-height: 15px; overflow-wrap: anywhere; }
.amumo-ng .amumo-strip-busy { display: flex; align-items: center; gap: 8px; height: 18px; }
.amumo-ng .amumo-strip-progress { width: 240px; height: 10px; }
.amumo-ng button.amumo-strip-cancel { font-size: 11px; padding: 0 6px; line-height: 16px; }
`;

function injectStripStyle() {
  const old = document.getElementById("amumo-ng-strip-style");
  if (old && old.textContent === CSS) return;
  if (old) old.remove(); // an older bundle's style (a rebuilt widget in the same page)
  document.head.append(h("style", { id: "amumo-ng-strip-style", text: CSS }));
}

// "#12" -> {caption: 12}, "i12" -> {image: 12}, other text -> {text}; the same rule as Python's parse_spec
export function parseSpec(value) {
  const s = String(value);
  let m = /^\s*#\s*(\d+)\s*$/.exec(s);
  if (m) return { caption: Number(m[1]) };
  m = /^\s*[iI]\s*(\d+)\s*$/.exec(s);
  if (m) return { image: Number(m[1]) };
  return { text: s };
}

export function formatSpec(spec) {
  if (!spec) return "";
  if (spec.caption != null) return `#${spec.caption}`;
  if (spec.image != null) return `i${spec.image}`;
  if (spec.text != null) return String(spec.text);
  return "(vector)";
}

const sameSpec = (a, b) => JSON.stringify(a || {}) === JSON.stringify(b || {});

export function createStrip(model) {
  injectStripStyle();
  const life = createDisposer();
  const rpc = createRpc(model);
  life.add(() => rpc.destroy());
  const busy = createStripBusy(model, rpc, (message) => { local = message; renderMessages(); });
  life.add(() => busy.destroy());
  const hint = 'a prompt, or #12 (caption of pair 12) / i12 (image of pair 12); Enter applies';
  const start = h("input", { type: "text", "data-amumo": "strip-start", title: hint });
  const end = h("input", { type: "text", "data-amumo": "strip-end", title: hint });
  const steps = h("input", { type: "number", "data-amumo": "strip-steps", min: 2, max: model.get("max_steps") || 512,
    step: 1, style: "width:60px", title: "frames, both ends included" });
  const method = h("select", { "data-amumo": "strip-method", title: "lerp: raw vectors; slerp: great circle of the directions; vslerp: slerp lifted by α × the modality mean" });
  const alpha = h("input", { type: "number", "data-amumo": "strip-alpha", step: 0.1, style: "width:60px" });
  const alphaUnit = h("label", { "data-amumo": "strip-alpha-unit" }, ["α ", alpha]);
  const decoder = h("select", { "data-amumo": "strip-decoder",
    title: "retrieval: the nearest dataset image; a generative decoder paints each frame" });
  const gap = h("input", { type: "checkbox", "data-amumo": "strip-close-gap" });
  const frames = h("div", { class: "amumo-strip-frames", "data-amumo": "strip-frames" });
  const error = h("div", { class: "amumo-strip-msg amumo-error", "data-amumo": "strip-error" });
  const status = h("div", { class: "amumo-strip-msg amumo-muted", "data-amumo": "strip-status" });
  const el = h("div", { class: "amumo-ng amumo-strip", "data-amumo": "strip" }, [
    h("div", { class: "amumo-strip-controls", "data-amumo": "strip-controls" }, [
      h("label", {}, ["from ", start]), h("label", {}, ["to ", end]), h("label", {}, ["steps ", steps]),
      h("label", {}, ["method ", method]), alphaUnit, h("label", {}, ["decoder ", decoder]),
      h("label", { "data-amumo": "strip-close-gap-label",
        title: "shift the text share of each frame by the gap vector (mean image − mean text) before finding " +
          "images or painting them with an image decoder" }, [gap, "close gap before decoding"]),
    ]),
    frames, busy.el, error, status,
  ]);
  let local = ""; // an input refused here (not a whole number, ...), shown until the next change

  function set(name, value) {
    local = "";
    model.set(name, value);
    model.save_changes();
    renderMessages();
  }

  function showInputs() {
    if (document.activeElement !== start) start.value = formatSpec(model.get("start_spec"));
    if (document.activeElement !== end) end.value = formatSpec(model.get("end_spec"));
    steps.value = String(model.get("steps"));
    const methods = model.get("methods") || ["lerp", "slerp", "vslerp"];
    if (method.options.length !== methods.length) method.replaceChildren(...methods.map((m) => h("option", { value: m, text: m })));
    method.value = model.get("method");
    alpha.value = String(model.get("alpha"));
    alphaUnit.style.display = model.get("method") === "vslerp" ? "" : "none";
    gap.checked = !!model.get("close_gap");
    const names = model.get("decoders") || ["retrieval"];
    const chosen = model.get("decoder");
    const offered = names.includes(chosen) ? names : [...names, chosen]; // an unknown name: the kernel says why
    const have = [...decoder.options].map((o) => o.value);
    if (JSON.stringify(have) !== JSON.stringify(offered)) {
      const label = (n) => (names.includes(n) ? n : `${n} (not offered)`);
      decoder.replaceChildren(...offered.map((n) => h("option", { value: n, text: label(n) })));
    }
    decoder.value = chosen;
  }

  function renderMessages() {
    const message = local || model.get("strip_error") || "";
    error.textContent = message;
    error.title = message;
    el.setAttribute("data-error", message ? "true" : "false");
    const s = model.get("strip_status") || "";
    status.textContent = s;
    status.title = s;
    el.setAttribute("data-busy", model.get("strip_busy") ? "true" : "false");
    busy.render();
  }

  const drawn = createStripFrames(frames);
  life.add(() => drawn.destroy());

  function renderFrames() {
    el.setAttribute("data-frames", String(drawn.render(model)));
  }

  const whole = (s) => (/^\s*\d+\s*$/.test(String(s)) ? Number(s) : NaN);

  for (const [box, name] of [[start, "start_spec"], [end, "end_spec"]]) {
    const apply = () => {
      const spec = parseSpec(box.value);
      if (!sameSpec(spec, model.get(name))) set(name, spec);
    };
    life.add(listen(box, "keydown", (ev) => {
      if (ev.key === "Enter") { ev.preventDefault(); apply(); }
      ev.stopPropagation(); // typing here is not a JupyterLab shortcut
    }));
    life.add(listen(box, "change", apply));
  }
  life.add(listen(steps, "keydown", (ev) => ev.stopPropagation()));
  life.add(listen(alpha, "keydown", (ev) => ev.stopPropagation()));
  life.add(listen(steps, "change", () => {
    const n = whole(steps.value);
    if (Number.isNaN(n)) { local = "steps must be a whole number"; renderMessages(); return; }
    if (n !== model.get("steps")) set("steps", n);
  }));
  life.add(listen(method, "change", () => { set("method", method.value); showInputs(); }));
  life.add(listen(alpha, "change", () => {
    const a = Number(alpha.value);
    if (alpha.value.trim() === "" || !Number.isFinite(a)) { local = "α must be a finite number"; renderMessages(); return; }
    if (a !== model.get("alpha")) set("alpha", a);
  }));
  life.add(listen(gap, "change", () => set("close_gap", gap.checked)));
  life.add(listen(decoder, "change", () => set("decoder", decoder.value)));

  life.add(onModel(model, "change:start_spec change:end_spec change:steps change:method change:alpha " +
    "change:close_gap change:methods change:decoder change:decoders", showInputs));
  // frames, images and offsets arrive in one state message (three change events): draw once
  let queued = false;
  const scheduleFrames = () => {
    if (queued) return;
    queued = true;
    queueMicrotask(() => { queued = false; if (!life.disposed) renderFrames(); });
  };
  life.add(onModel(model, "change:frames change:frame_images change:frame_image_offsets", scheduleFrames));
  life.add(onModel(model, "change:strip_error change:strip_status change:strip_busy change:strip_progress", renderMessages));

  showInputs();
  renderFrames();
  renderMessages();
  return { el, destroy: () => life.dispose() };
}
