// The strip's busy row: while the kernel decodes (`strip_busy`), a progress bar (`strip_progress`, 0..1;
// indeterminate below 0) and a cancel button, which asks the kernel to stop ({type: "cancel"}; the frames
// shown stay). The row keeps its height when idle (hidden, not removed), so the strip never jumps.
import { h } from "./dom.js";
import { isViewDestroyed } from "./rpc.js";
import { listen } from "./live.js";

// rpc: the strip's kernel-request channel; onError(message): show a failed cancel
export function createStripBusy(model, rpc, onError) {
  const bar = h("progress", { class: "amumo-strip-progress", "data-amumo": "strip-progress", max: 1 });
  const cancel = h("button", { class: "amumo-strip-cancel", "data-amumo": "strip-cancel", text: "cancel",
    title: "stop decoding (the frames shown stay)" });
  const el = h("div", { class: "amumo-strip-busy", "data-amumo": "strip-busy", "data-busy": "false" }, [bar, cancel]);
  let destroyed = false;

  const offClick = listen(cancel, "click", () => {
    if (cancel.disabled) return;
    cancel.disabled = true;
    cancel.textContent = "cancelling…";
    // the kernel's new state (not busy, the status saying so) arrives before the reply
    rpc.request("cancel").catch((err) => {
      if (destroyed || isViewDestroyed(err)) return;
      onError(`cancel failed: ${err.message}`);
    }).finally(() => {
      if (destroyed) return;
      cancel.disabled = false;
      cancel.textContent = "cancel";
    });
  });

  function render() {
    const busy = !!model.get("strip_busy");
    el.setAttribute("data-busy", busy ? "true" : "false");
    el.style.visibility = busy ? "visible" : "hidden";
    const p = model.get("strip_progress");
    if (busy && p != null && p >= 0) bar.value = Math.min(p, 1);
    else bar.removeAttribute("value"); // indeterminate
  }

  return { el, render, destroy() { destroyed = true; offClick(); } };
}
