// The hover panel's interpolation actions: pin the item shown, "set as start" / "set as end" of the
// session's interpolation, and the ends set now (the kernel's `path_ends`).
//
// The item is the first of the hover message shown: the point under the pointer in the scatter, the
// row of the heatmap cell (its image or text), the image of a joint point. "set as start/end" sends
// {"type": "set_path_end", which, modality, pair}; the kernel answers by changing `path_ends`.
// Pinned, the panel keeps its item while the pointer travels to these buttons over other points;
// a click on a scatter point or heatmap cell pins (bus message {kind: "pin", source}), the same
// button ("unpin") releases it, and a new view (order, model) unpins.
import { h } from "./dom.js";
import { createDisposer, listen, onModel } from "./live.js";
import { isViewDestroyed } from "./rpc.js";

// A single click on `el` (not part of a double-click: the heatmap resets its zoom on one, the scatter
// deselects) calls fn(ev) once the double-click interval has passed; `accept(ev)` decides at the press.
// Returns the remover (listeners and a pending timer).
export const SINGLE_CLICK_MS = 300;
export function onSingleClick(el, fn, accept = () => true) {
  let timer = 0;
  const cancel = () => { clearTimeout(timer); timer = 0; };
  const offClick = listen(el, "click", (ev) => {
    cancel();
    if (ev.detail > 1 || !accept(ev)) return;
    timer = setTimeout(() => { timer = 0; fn(ev); }, SINGLE_CLICK_MS);
  });
  const offDbl = listen(el, "dblclick", cancel);
  return () => { cancel(); offClick(); offDbl(); };
}

export function createHoverActions(model, { rpc, onPin }) {
  const life = createDisposer();
  const hasEnds = model.get("path_ends") !== undefined; // an Explorer (the standalone widgets have none)
  const pin = h("button", { "data-amumo": "hover-pin", title: "keep this item in the panel (a click on a point or cell pins too)", text: "pin" });
  const start = h("button", { "data-amumo": "set-path-start", title: "start of the interpolation (an InterpolationStrip on this session)", text: "set as start" });
  const end = h("button", { "data-amumo": "set-path-end", title: "end of the interpolation (an InterpolationStrip on this session)", text: "set as end" });
  const message = h("span", { class: "amumo-muted", "data-amumo": "hover-action-message", style: "font-size:11px" });
  const ends = h("div", { class: "amumo-muted amumo-line", "data-amumo": "path-ends" });
  const el = h("div", { class: "amumo-hover-actions", "data-amumo": "hover-actions" },
    [h("div", { class: "amumo-hover-buttons" }, [pin, hasEnds ? start : null, hasEnds ? end : null, message]), hasEnds ? ends : null]);
  let item = null;   // {pair, modality} the buttons act on
  let pinned = false;

  function sync() {
    const none = !item || item.pair == null || item.pair < 0;
    pin.disabled = none && !pinned;
    start.disabled = end.disabled = none;
    pin.textContent = pinned ? "unpin" : "pin";
    pin.classList.toggle("amumo-active", pinned);
    el.setAttribute("data-pinned", pinned ? "true" : "false");
    const what = none ? "" : `${item.modality === "text" ? "caption" : "image"} ${item.pair}`;
    start.title = what ? `set ${what} as the start of the interpolation` : "hover an item first";
    end.title = what ? `set ${what} as the end of the interpolation` : "hover an item first";
    el.setAttribute("data-item", what);
  }

  function showEnds() {
    const e = model.get("path_ends") || {};
    const text = `path: ${e.start || "—"} → ${e.end || "—"}`;
    ends.textContent = text;
    ends.title = text;
  }

  let seq = 0;
  function setEnd(which) {
    if (!item) return;
    const mine = ++seq;
    const modality = item.modality === "text" ? "text" : "image";
    message.textContent = "";
    rpc.request("set_path_end", { which, modality, pair: item.pair }).then(() => {
      if (mine === seq && !life.disposed) message.textContent = `${which} set`;
    }, (err) => {
      if (!isViewDestroyed(err) && mine === seq && !life.disposed) message.textContent = err.message;
    });
  }

  life.add(listen(pin, "click", () => { setPinned(!pinned); }));
  life.add(listen(start, "click", () => setEnd("start")));
  life.add(listen(end, "click", () => setEnd("end")));
  if (hasEnds) { life.add(onModel(model, "change:path_ends", showEnds)); showEnds(); }

  function setPinned(on) {
    pinned = !!on && !!item;
    sync();
    if (onPin) onPin(pinned);
  }
  sync();

  return {
    el,
    get pinned() { return pinned; },
    setPinned,
    // the panel shows a new item (null: nothing)
    setItem(it) { item = it && it.pair != null && it.pair >= 0 ? { pair: it.pair, modality: it.modality } : null; message.textContent = ""; sync(); },
    destroy: () => life.dispose(),
  };
}
