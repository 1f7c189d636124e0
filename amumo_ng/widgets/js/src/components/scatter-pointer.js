// Pointer handling of the scatter plot that regl-scatterplot leaves to its host.

// guardPointer(box, canvas, scatterplot) -> release(): installs the listeners below on the plot's
// box and canvas; release() ends a press still held (the listeners go with the elements).
export function guardPointer(box, canvas, scatterplot) {
  // A lasso released where it started ends with a click on the canvas, which regl-scatterplot
  // turns into "select the point under the pointer", replacing the lasso's selection. A drag
  // that drew a lasso of any extent is a lasso: its click is stopped before it reaches the canvas.
  //
  // A press on the plot holds a pointer capture on its canvas (no window listener of ours): the
  // moves and the release reach the canvas wherever they happen, outside the window too. When the
  // capture ends without a release (pointercancel, lost capture) regl-scatterplot is sent the
  // mouseup it would otherwise wait for, so no lasso or pan is left hanging on the pointer.
  const LASSO_MIN_EXTENT = 3; // CSS px the pointer must travel for a drag to count as a lasso
  let drag = null; // {x, y, lasso, extent} of the pointer press on the canvas
  let press = null; // {id, released} of the captured pointer
  box.addEventListener("mousedown", (ev) => {
    const lassoing = scatterplot.get("mouseMode") === "lasso" || ev.shiftKey;
    drag = { x: ev.clientX, y: ev.clientY, lasso: lassoing, extent: 0 };
  }, true);
  box.addEventListener("pointerdown", (ev) => {
    if (ev.button !== 0) return;
    if (press) endPress(null); // a press whose end never came: finish it before the new one
    try { canvas.setPointerCapture(ev.pointerId); } catch (_err) { return; } // not an active pointer
    press = { id: ev.pointerId, released: false, x: ev.clientX, y: ev.clientY };
  }, true);
  box.addEventListener("pointermove", (ev) => {
    if (press && ev.pointerId === press.id) { press.x = ev.clientX; press.y = ev.clientY; }
    if (drag) drag.extent = Math.max(drag.extent, Math.hypot(ev.clientX - drag.x, ev.clientY - drag.y));
  }, true);
  box.addEventListener("pointerup", (ev) => { if (press && ev.pointerId === press.id) press.released = true; }, true);
  const endPress = (ev) => {
    if (!press || (ev && ev.pointerId !== press.id)) return;
    const p = press;
    press = null;
    try { if (canvas.hasPointerCapture(p.id)) canvas.releasePointerCapture(p.id); } catch (_err) { /* gone */ }
    if (!p.released) {
      drag = null;
      window.dispatchEvent(new MouseEvent("mouseup", { clientX: p.x, clientY: p.y, button: 0, buttons: 0 }));
    }
  };
  canvas.addEventListener("pointercancel", endPress);
  canvas.addEventListener("lostpointercapture", endPress);
  box.addEventListener("click", (ev) => {
    const d = drag;
    drag = null;
    if (d && d.lasso && d.extent >= LASSO_MIN_EXTENT) { ev.stopPropagation(); ev.preventDefault(); }
  }, true);

  return () => endPress(null);
}
