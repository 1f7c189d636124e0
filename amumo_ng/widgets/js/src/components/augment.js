// The augmentation control (the Amumo article's augmentation dropdown), one unit of the data group:
// a kind (or "none" = the dataset), the pair whose image is transformed (typed, or "hovered": the
// last pair hovered in a view of the link group, the first lasso-selected pair when there is a
// selection), the number of steps, "apply", "back to the dataset" and a status line saying what is
// shown ("rotate of pair 3, 100 steps"), what is being encoded, or why it failed / cannot work.
//
// The kernel: {"type": "augment", kind, pair, steps} -> {started: true} (encoding runs in a worker
// thread, the session's `status` says so; the `augmentation` trait changes when the set is shown),
// kind "none" -> {restored: true}; {error} otherwise. `augment_disabled` ("" or why) disables it.
//
// Everything here has a fixed size (the status line is a box of two lines that scrolls), so what it
// says never moves the views; the unit wraps inside itself only when the Explorer is narrow.
import { h } from "./dom.js";
import { subscribe } from "./bus.js";
import { createRpc, isViewDestroyed } from "./rpc.js";
import { createDisposer, listen, onModel } from "./live.js";

export const DEFAULT_STEPS = 100;
export const MIN_STEPS = 2, MAX_STEPS = 2000;

const BUTTON = "font-size:12px;line-height:16px;padding:1px 6px";
// the status line takes the rest of the control's row (at least 260 px): its size comes from the
// Explorer's width, never from what it says; two lines, scrolled when a message is longer
const STATUS = "flex:1 1 260px;min-width:0;box-sizing:border-box;height:28px;overflow-y:auto;display:flex;" +
  "align-items:safe center;white-space:normal;overflow-wrap:anywhere;font-size:11px;line-height:14px";
const WORKING = /^augmenting\b/i;
const FAILED = /^augmentation failed:\s*/i;
// "EmbeddingError: pair 99 does not exist…" -> "pair 99 does not exist…"
const plain = (message) => String(message || "").replace(/^[A-Za-z]*Error:\s*/, "");

// what an augmented set is, in words: "rotate of pair 3, 100 steps"
export function describeAugmentation(a) {
  return `${a.kind} of pair ${a.pair}, ${a.steps} steps`;
}

const unit = (title, children) => h("span", { class: "amumo-unit", title }, children);

export function createAugmentControl(model) {
  const life = createDisposer();
  const rpc = createRpc(model);
  life.add(() => rpc.destroy());

  const kind = h("select", { "data-amumo": "augment-kind", title: "transform one pair's image over the steps (the caption stays); none: the dataset" });
  const pair = h("input", { type: "number", "data-amumo": "augment-pair", min: 0, step: 1, value: 0, style: "width:58px",
    title: "the pair (of the dataset) whose image is transformed" });
  const useHover = h("button", { "data-amumo": "augment-use-hover", text: "hovered", style: BUTTON });
  const steps = h("input", { type: "number", "data-amumo": "augment-steps", min: MIN_STEPS, max: MAX_STEPS, step: 1,
    value: DEFAULT_STEPS, style: "width:62px", title: `number of transformed copies (${MIN_STEPS}–${MAX_STEPS})` });
  const apply = h("button", { "data-amumo": "augment-apply", text: "apply", style: BUTTON,
    title: "show the augmented set in every view (kind none: the dataset)" });
  const back = h("button", { "data-amumo": "augment-none", text: "back to the dataset", style: BUTTON,
    title: "show the dataset again, with the filter and selection it had" });
  const status = h("span", { "data-amumo": "augment-status", class: "amumo-muted", style: STATUS });
  const el = h("span", {
    class: "amumo-augment", "data-amumo": "augment",
    style: "display:flex;flex:1 1 100%;flex-wrap:wrap;align-items:center;gap:4px 8px;min-width:0;max-width:100%",
  }, [
    unit("", [h("label", {}, ["augment ", kind])]),
    unit("", [h("label", {}, ["pair ", pair]), useHover]),
    unit("", [h("label", {}, ["steps ", steps])]),
    unit("", [apply, back]),
    status,
  ]);

  let pending = null;  // {req, kind, pair, steps, working}: asked for, not shown yet
  let error = "";      // the last request's failure (until something else is shown or asked)
  let lastHover = -1;  // pair index last hovered in a view of the link group (or the `hover` trait)
  let seq = 0;

  // -- the kind menu: "none" and the kernel's kinds
  let kindsSeen = "";
  function fillKinds() {
    const kinds = model.get("augment_kinds") || [];
    const key = JSON.stringify(kinds);
    if (key === kindsSeen) return;
    kindsSeen = key;
    const keep = kind.value;
    kind.replaceChildren(h("option", { value: "none", text: "none (dataset)" }), ...kinds.map((k) => h("option", { value: k, text: k })));
    kind.value = [...kind.options].some((o) => o.value === keep) ? keep : "none";
  }

  const shown = () => model.get("augmentation") || {};
  const isShown = (a) => a && a.kind != null && a.kind !== "";

  function render() {
    const why = model.get("augment_disabled") || "";
    const a = shown();
    const busy = !!pending;
    for (const c of [kind, pair, steps]) c.disabled = !!why || busy;
    apply.disabled = !!why || busy;
    back.disabled = !!why || busy || !isShown(a);
    // while an augmented set is shown, its pairs are steps: a hovered "pair" is not a dataset pair
    useHover.disabled = !!why || busy || isShown(a);
    useHover.title = isShown(a)
      ? `the pairs shown are the ${a.steps} steps of pair ${a.pair}: back to the dataset to pick a pair by hovering`
      : "the pair hovered last in the heatmap or the scatter (the first selected pair when there is a lasso selection)";
    let text, state;
    if (why) { text = why; state = "disabled"; }
    else if (busy) {
      const s = model.get("status") || "";
      text = WORKING.test(s) ? s : `starting ${describeAugmentation(pending)}…`;
      state = "pending";
    } else if (error) { text = error; state = "error"; }
    else if (isShown(a)) { text = `${describeAugmentation(a)}`; state = "augmented"; }
    else { text = "the dataset is shown"; state = "dataset"; }
    status.textContent = text;
    status.title = text;
    status.className = state === "error" || state === "disabled" ? "amumo-error" : "amumo-muted";
    status.setAttribute("data-state", state);
    el.setAttribute("data-state", state);
    el.title = why ? `augmentation unavailable: ${why}` : "";
  }

  // the fields show the set on screen (after it arrives, or when Python changed it)
  function showFields() {
    const a = shown();
    if (isShown(a)) {
      if ([...kind.options].some((o) => o.value === a.kind)) kind.value = a.kind;
      pair.value = String(a.pair);
      steps.value = String(a.steps);
    } else kind.value = "none";
  }

  const whole = (input) => {
    const s = String(input.value).trim();
    return /^\d+$/.test(s) ? Number(s) : NaN;
  };

  function send(content) {
    const req = ++seq;
    return rpc.request("augment", content).then(({ msg }) => {
      if (life.disposed || req !== seq) return;
      if (msg.restored && pending && pending.req === req) pending = null;
      render();
    }).catch((err) => {
      if (isViewDestroyed(err) || life.disposed || req !== seq) return;
      if (pending && pending.req === req) pending = null;
      error = plain(err.message || err);
      render();
    });
  }

  function submit(k = kind.value) {
    if (model.get("augment_disabled") || pending) return;
    error = "";
    if (k === "none") {
      pending = { req: seq + 1, kind: "none", pair: -1, steps: 0, working: false };
      render();
      send({ kind: "none" });
      return;
    }
    const p = whole(pair), n = whole(steps);
    if (!(p >= 0)) error = "the pair must be a whole number ≥ 0";
    else if (!(n >= MIN_STEPS && n <= MAX_STEPS)) error = `steps must be a whole number from ${MIN_STEPS} to ${MAX_STEPS}`;
    if (error) { render(); return; }
    pending = { req: seq + 1, kind: k, pair: p, steps: n, working: false };
    render();
    send({ kind: k, pair: p, steps: n });
  }

  life.add(listen(apply, "click", () => submit()));
  life.add(listen(back, "click", () => submit("none")));
  life.add(listen(useHover, "click", () => {
    const sel = model.get("selection") || [];
    const p = sel.length ? sel[0] : lastHover >= 0 ? lastHover : model.get("hover");
    if (p == null || p < 0) { error = "no pair hovered or selected yet"; render(); return; }
    error = "";
    pair.value = String(p);
    render();
  }));
  for (const input of [pair, steps]) {
    life.add(listen(input, "keydown", (ev) => {
      if (ev.key === "Enter") { ev.preventDefault(); submit(); }
      ev.stopPropagation(); // typing here is not a JupyterLab shortcut
    }));
  }
  life.add(listen(kind, "change", () => { if (error) { error = ""; render(); } }));

  // the last pair hovered in any view of the link group
  life.add(subscribe(model.get("link_group"), (msg) => {
    if (msg.kind !== "hover" || !msg.items || !msg.items.length || isShown(shown())) return;
    const p = msg.items[0].pair;
    if (p != null && p >= 0) lastHover = p;
  }));
  life.add(onModel(model, "change:hover", () => { const p = model.get("hover"); if (p >= 0 && !isShown(shown())) lastHover = p; }));

  life.add(onModel(model, "change:status", () => {
    const s = model.get("status") || "";
    if (pending && pending.kind !== "none") {
      if (FAILED.test(s)) { pending = null; error = plain(s.replace(FAILED, "")); }
      else if (WORKING.test(s)) pending.working = true;
      else if (!s && pending.working) pending = null; // done: the same set as before changes no trait
    }
    render();
  }));
  life.add(onModel(model, "change:augmentation", () => {
    const a = shown();
    if (pending && (pending.kind === "none" ? !isShown(a)
      : a.kind === pending.kind && a.pair === pending.pair && a.steps === pending.steps)) pending = null;
    if (!pending) error = "";
    lastHover = -1; // pair indices of another set
    showFields();
    render();
  }));
  life.add(onModel(model, "change:augment_kinds", () => { fillKinds(); showFields(); render(); }));
  life.add(onModel(model, "change:augment_disabled change:selection", render));

  fillKinds();
  showFields();
  render();
  return { el, destroy: () => life.dispose() };
}
