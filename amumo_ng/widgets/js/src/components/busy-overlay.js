// A status layer drawn ON a view (the heatmap's matrix, the scatter's plot): while the view is
// busy a banner across its top says what is computed, with a progress bar (indeterminate when
// the progress is unknown) and, where the work can be stopped, a cancel button; the rest of the
// view is dimmed but still takes the pointer. A remark that is not work in progress (a note such
// as "one pair: nothing to project", or a failure) is a quiet line at the bottom of the view.
// The overlay never takes space of its own: the view's slot keeps its size whatever it says.
import { h } from "./dom.js";
import { isViewDestroyed } from "./rpc.js";
import { hold, listen, onModel } from "./live.js";

// name: "heatmap" | "scatter" (data-amumo="<name>-busy", "<name>-note", "<name>-cancel")
// onCancel: () => Promise (a kernel request), or null for work that cannot be cancelled
export function createBusyOverlay(name, { onCancel = null } = {}) {
  const text = h("span", { class: "amumo-busy-text", "data-amumo": `${name}-busy-text` });
  const bar = h("progress", { class: "amumo-busy-progress", max: 1 });
  const cancel = h("button", { class: "amumo-busy-cancel", "data-amumo": `${name}-cancel`, text: "cancel" });
  const banner = h("div", { class: "amumo-busy-banner" }, [text, bar, onCancel ? cancel : null]);
  const dim = h("div", { class: "amumo-busy-dim" });
  const note = h("div", { class: "amumo-view-note", "data-amumo": `${name}-note` });
  const el = h("div", { class: "amumo-busy", "data-amumo": `${name}-busy`, "data-busy": "false" }, [dim, banner, note]);
  let destroyed = false;
  let cancelling = false;
  let last = { busy: false };
  let offClick = () => {};

  if (onCancel) {
    offClick = listen(cancel, "click", () => {
      if (cancelling) return;
      cancelling = true;
      cancel.disabled = true;
      cancel.textContent = "cancelling…";
      // the banner ends with the kernel's new status (its state message comes before the reply)
      Promise.resolve().then(onCancel).catch((err) => {
        if (destroyed || isViewDestroyed(err)) return;
        cancelling = false;
        cancel.disabled = false;
        cancel.textContent = "cancel";
        set({ ...last, error: `cancel failed: ${err.message}` });
      });
    });
  }

  // {busy, text, progress (0..1, or null: unknown), note, error}
  function set(state) {
    if (destroyed) return;
    last = state;
    const busy = !!state.busy;
    el.setAttribute("data-busy", busy ? "true" : "false");
    el.classList.toggle("amumo-busy-on", busy);
    text.textContent = busy ? state.text || "working…" : "";
    text.title = text.textContent;
    if (busy && state.progress != null && state.progress > 0) bar.value = Math.min(Math.max(state.progress, 0), 1);
    else bar.removeAttribute("value"); // indeterminate
    if (!busy) { cancelling = false; cancel.disabled = false; cancel.textContent = "cancel"; }
    const remark = state.error || (busy ? "" : state.note || "");
    note.textContent = remark;
    note.title = remark;
    note.classList.toggle("amumo-error", !!state.error);
    note.style.display = remark ? "" : "none";
  }
  set(last);

  return { el, set, destroy() { destroyed = true; offClick(); } };
}

// A note from the kernel that is not work in progress, or a failure, is never "busy".
const FAILED = /\bfailed\b/i;

// The heatmap's overlay: the session's background work (clustering) from the `status` trait.
// area: the element the matrix is drawn in (position: relative). Returns a disposer.
export function mountHeatmapBusy(model, area) {
  const overlay = createBusyOverlay("heatmap");
  area.append(overlay.el);
  const sync = () => {
    const status = model.get("status") || "";
    const failed = FAILED.test(status);
    overlay.set({ busy: !!status && !failed, text: status, progress: null, error: failed ? status : "" });
  };
  const off = onModel(model, "change:status", sync);
  sync();
  return () => { off(); overlay.destroy(); overlay.el.remove(); };
}

// The scatter's overlay: the projection job (`projection_status`, `projection_progress`, a quiet
// `projection_note`) and points that are not the current model's yet (the plot's data-stale).
// rpc: the view's request channel (cancel button), or null. Returns a disposer.
//
// The layer is the plot's next sibling, laid over it, not its child: the plot captures the
// pointer on a press inside it (pan, lasso), which would take the cancel button's click.
export function mountScatterBusy(model, box, { rpc = null } = {}) {
  const onCancel = rpc ? () => rpc.request("cancel_projection") : null;
  const overlay = createBusyOverlay("scatter", { onCancel });
  overlay.el.classList.add("amumo-busy-over");
  overlay.el.style.cssText = `left:1px;top:1px;width:${box.style.width};height:${box.style.height}`; // inside its border
  if (box.parentElement) box.parentElement.style.position = "relative";
  box.after(overlay.el);
  const sync = () => {
    const status = model.get("projection_status") || "";
    const progress = Number(model.get("projection_progress"));
    const note = model.get("projection_note");
    const stale = box.getAttribute("data-stale") === "true";
    const failed = FAILED.test(status);
    // a status with the job done (progress 1) is a remark, not work: e.g. "one pair: nothing to project"
    const working = !!status && !failed && !(progress >= 1);
    overlay.set({
      busy: working || stale, text: working ? status : "computing…",
      progress: working && progress > 0 ? progress : null,
      note: (typeof note === "string" && note) || (!working && !failed ? status : ""),
      error: failed ? status : "",
    });
  };
  const off = onModel(model, "change:projection_status change:projection_progress change:projection_note", sync);
  // the plot marks points of another model (nothing drawn, "computing…") on its own element
  const watch = new MutationObserver(sync);
  watch.observe(box, { attributes: true, attributeFilter: ["data-stale"] });
  const release = hold("listeners");
  sync();
  return () => { off(); watch.disconnect(); release(); overlay.destroy(); overlay.el.remove(); };
}
