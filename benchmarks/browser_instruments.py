"""In-page instruments of the browser benchmarks (bench_browser.py): first paint, hover latency,
frame times, websocket bytes, and the kernel's peak memory, driven through the test harness.

First paint (ms) is measured from Shift+Enter on the cell to two animation frames after
- a DOM mark appears (``Bench.first_paint``: our heatmap's ``data-rows``, a plotly heatmap's image), or
- a WebGL ``drawArrays`` of at least M vertices was issued (``Bench.first_gl_paint``: the first draw
  of all points, the same hook for our scatter and jupyter-scatter, both regl-scatterplot);
the two frames include the software-WebGL render and its copy to the page.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "browser"))

import lab_harness as H  # noqa: E402

INSTALL = """() => {
  if (window.__amumoBench) return;
  const B = window.__amumoBench = {t0: null, tPaint: null, hv: null};
  window.addEventListener('keydown', e => {
    if (e.key === 'Enter' && e.shiftKey && B.armed) { B.t0 = performance.now(); B.armed = false; }
  }, true);
  // pointermove precedes mousemove, and the views listen to pointer events
  // event.timeStamp: when the input was created (same clock as performance.now()), so the
  // wait until chromium dispatches the rAF-aligned pointer event is included
  const moved = (e) => { if (B.hv && B.hv.tEvent === null) B.hv.tEvent = e.timeStamp; };
  window.addEventListener('pointermove', moved, true);
  window.addEventListener('mousemove', moved, true);
}"""

ARM_PAINT = """([idx, sel]) => {
  const B = window.__amumoBench;
  B.t0 = null; B.tPaint = null; B.armed = true;
  const find = () => document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell')[idx]?.querySelector(sel);
  const mo = new MutationObserver(() => {
    if (B.tPaint !== null || !find()) return;
    mo.disconnect();
    requestAnimationFrame(() => requestAnimationFrame(() => { B.tPaint = performance.now(); }));
  });
  mo.observe(document.body, {subtree: true, childList: true, attributes: true});
}"""

ARM_HOVER = """(root) => {
  const B = window.__amumoBench;
  const scope = document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell')[root];
  const caps = () => [...scope.querySelectorAll('[data-amumo="hover-caption"]')].map(e => e.textContent);
  const val = () => scope.querySelector('[data-amumo="hover-value"]')?.textContent || '';
  // tPanel: the panel shows this hover (its value line names the new cell; captions present);
  // tExact: the exact value is shown ("cos = x", not the block mean "cos ≈ …" still loading)
  const hv = B.hv = {tEvent: null, tPanel: null, tExact: null, val0: val()};
  if (B.mo) B.mo.disconnect();
  B.mo = new MutationObserver(() => {
    if (hv.tEvent === null) return;
    const v = val();
    if (hv.tPanel === null && v !== hv.val0 && caps().length > 0) {
      hv.tPanel = -1; requestAnimationFrame(() => { hv.tPanel = performance.now(); });
    }
    if (hv.tExact === null && v !== hv.val0 && /cos = -?[0-9]/.test(v)) {
      hv.tExact = -1; requestAnimationFrame(() => { hv.tExact = performance.now(); });
    }
  });
  B.mo.observe(scope, {subtree: true, childList: true, characterData: true, attributes: true});
}"""

FRAMES_START = """() => {
  const F = window.__amumoFrames = {t: [], on: true};
  const tick = (ts) => { F.t.push(ts); if (F.on) requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
}"""

FRAMES_STOP = """() => { const F = window.__amumoFrames; F.on = false;
  const d = []; for (let i = 1; i < F.t.length; i++) d.push(F.t[i] - F.t[i - 1]); return d; }"""



ARM_GL = """([M, idx, sel]) => {
  const B = window.__amumoBench;
  B.t0 = null; B.tPaint = null; B.tGL = null; B.tDom = null; B.armed = true; B.M = M;
  if (!window.__amumoGLHook) {
    window.__amumoGLHook = true;
    for (const P of [WebGLRenderingContext.prototype, WebGL2RenderingContext.prototype]) {
      const draw = P.drawArrays;
      P.drawArrays = function (mode, first, count) {
        const r = draw.call(this, mode, first, count);
        const b = window.__amumoBench;
        if (b && b.t0 !== null && b.tGL === null && count >= b.M) {
          b.tGL = performance.now();
          requestAnimationFrame(() => requestAnimationFrame(() => { b.tGLPaint = performance.now(); b.check(); }));
        }
        return r;
      };
    }
  }
  B.tGLPaint = null; B.tDensity = null;
  // with a DOM mark too (an Explorer: the heatmap's data-rows), paint = both done
  const cell = () => document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell')[idx];
  const find = () => !sel || cell()?.querySelector(sel);
  B.check = () => { if (B.tPaint === null && B.tGLPaint !== null && B.tDom !== null) B.tPaint = Math.max(B.tGLPaint, B.tDom); };
  // our scatter's density picture of all points (a 2D canvas, data-paint="density"): on screen in
  // the frame after it was put (the first animation frame after the mark)
  const density = new MutationObserver(() => {
    if (B.tDensity !== null || !cell()?.querySelector('[data-amumo="scatter"][data-paint="density"]')) return;
    density.disconnect();
    requestAnimationFrame(() => { B.tDensity = performance.now(); });
  });
  density.observe(document.body, {subtree: true, attributes: true, attributeFilter: ['data-paint']});
  if (!sel) { B.tDom = 0; return; }
  const mo = new MutationObserver(() => {
    if (B.tDom !== null || !find()) return;
    mo.disconnect();
    requestAnimationFrame(() => requestAnimationFrame(() => { B.tDom = performance.now(); B.check(); }));
  });
  mo.observe(document.body, {subtree: true, childList: true, attributes: true});
}"""

#: Counts the bytes of every websocket message the page receives, in the page (installed before the
#: page's scripts run). Playwright's own frame events would copy each frame's payload out of the
#: browser (base64 over the DevTools protocol), which slowed an 18 MB state message from 0.25 s to
#: 0.8 s in a probe, and so every large first paint by seconds.
WS_COUNTER = """(() => {
  const WS = window.WebSocket;
  if (!WS || WS.__amumoCounted) return;
  window.__amumoWsBytes = 0;
  const size = (d) => typeof d === 'string' ? d.length : (d.byteLength ?? d.size ?? 0);
  class Counted extends WS {
    constructor(...args) { super(...args); this.addEventListener('message', (e) => { window.__amumoWsBytes += size(e.data); }); }
  }
  Counted.__amumoCounted = true;
  window.WebSocket = Counted;
})();"""


class Bench:
    def __init__(self, page):
        """Count the page's websocket bytes (in the page); call before the notebook is opened."""
        self.page = page
        page.add_init_script(WS_COUNTER)

    @property
    def ws_bytes(self) -> int:
        """Bytes of the websocket messages the page received so far."""
        return int(self.page.evaluate("() => window.__amumoWsBytes || 0"))

    def install(self) -> None:
        """Install the in-page instruments (after the notebook page loaded)."""
        self.page.evaluate(INSTALL)

    def cell_index(self, marker: str) -> int:
        idx = self.page.eval_on_selector_all(
            ".jp-NotebookPanel .jp-CodeCell",
            "(cells, m) => cells.findIndex(c => (c.querySelector('.jp-InputArea-editor')?.textContent || '').includes(m))",
            marker)
        if idx < 0:
            raise RuntimeError(f"no cell contains {marker!r}")
        return idx

    def cell(self, marker: str):
        return self.page.locator(".jp-NotebookPanel .jp-CodeCell").nth(self.cell_index(marker))

    def run(self, marker: str, timeout_ms: int = 300_000) -> str:
        """Run one cell and wait for its execution count; returns its output text."""
        return H.run_cell_containing(self.page, marker, timeout_ms=timeout_ms)

    def first_paint(self, marker: str, selector: str, timeout_ms: int = 300_000) -> tuple[float, int]:
        """(ms from Shift+Enter to two frames after ``selector`` appeared in the cell, ws bytes)."""
        idx = self.cell_index(marker)
        cell = self.page.locator(".jp-NotebookPanel .jp-CodeCell").nth(idx)
        cell.scroll_into_view_if_needed()
        cell.locator(".jp-InputArea-prompt").click()
        self.page.evaluate(ARM_PAINT, [idx, selector])
        ws0 = self.ws_bytes
        self.page.keyboard.press("Shift+Enter")
        self.page.wait_for_function("() => window.__amumoBench.tPaint !== null", timeout=timeout_ms,
                                    polling=50)
        t = self.page.evaluate("() => window.__amumoBench.tPaint - window.__amumoBench.t0")
        H.wait_kernel_idle(self.page, timeout_ms=timeout_ms)
        return float(t), self.ws_bytes - ws0

    def first_gl_paint(self, marker: str, vertices: int, selector: str = "", timeout_ms: int = 600_000) -> dict:
        """Run cell ``marker``; ms to the first drawArrays of >= ``vertices`` (``gl``), to two frames
        after it (``gl_paint``; and after ``selector`` appeared, when given), to the frame showing our
        scatter's density picture of all points (``density``, when it painted one before the WebGL
        draw; and ``selector``), ``paint`` = the first of the two, and the ws bytes."""
        idx = self.cell_index(marker)
        cell = self.page.locator(".jp-NotebookPanel .jp-CodeCell").nth(idx)
        cell.scroll_into_view_if_needed()
        cell.locator(".jp-InputArea-prompt").click()
        self.page.evaluate(ARM_GL, [int(vertices), idx, selector])
        ws0 = self.ws_bytes
        self.page.keyboard.press("Shift+Enter")
        self.page.wait_for_function("() => window.__amumoBench.tPaint !== null", timeout=timeout_ms, polling=50)
        t = self.page.evaluate("""() => { const B = window.__amumoBench;
            const density = B.tDensity !== null && B.tDensity <= B.tGLPaint ? Math.max(B.tDensity, B.tDom) - B.t0 : null;
            return {gl: B.tGL - B.t0, gl_paint: B.tPaint - B.t0, density, paint: (density ?? B.tPaint - B.t0)}; }""")
        return {**t, "ws": self.ws_bytes - ws0}

    def wait_attr(self, marker: str, selector: str, attr: str, value: str, timeout_ms: int = 600_000) -> float:
        """ms from the last Shift+Enter until ``selector`` in cell ``marker`` has ``attr == value``."""
        idx = self.cell_index(marker)
        self.page.wait_for_function(
            "([i, s, a, v]) => document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell')[i]?.querySelector(s)"
            "?.getAttribute(a) === v", arg=[idx, selector, attr, value], timeout=timeout_ms, polling=50)
        return float(self.page.evaluate("() => performance.now() - window.__amumoBench.t0"))

    def payload(self, marker: str) -> dict:
        out = self.run(marker)
        line = next(l for l in out.splitlines() if l.startswith("AMUMO_PAYLOAD="))
        return json.loads(line[len("AMUMO_PAYLOAD="):])

    def hover_latency(self, marker: str, count: int = 20) -> dict:
        """Hover ``count`` heatmap cells of the explorer output in cell ``marker``."""
        idx = self.cell_index(marker)
        cell = self.page.locator(".jp-NotebookPanel .jp-CodeCell").nth(idx)
        canvas = cell.locator('canvas[data-amumo="heatmap-canvas"]')
        # whole canvas in the viewport (scroll_into_view_if_needed may leave its bottom rows outside,
        # where a mouse move hovers nothing)
        canvas.evaluate("c => c.scrollIntoView({block: 'center'})")
        self.page.wait_for_timeout(300)
        box = canvas.bounding_box()
        # cells on a coarse diagonal walk, each far from the previous one
        fr = [((7 * k) % count + 0.5) / count for k in range(count)]
        fc = [((11 * k + 3) % count + 0.5) / count for k in range(count)]
        panel_ms, exact_ms, ws0 = [], [], self.ws_bytes
        for r, c in zip(fr, fc):
            box = canvas.bounding_box()  # the page may have moved (outputs above changing size)
            self.page.evaluate(ARM_HOVER, idx)
            self.page.mouse.move(box["x"] + c * box["width"], box["y"] + r * box["height"])
            try:
                self.page.wait_for_function(
                    "() => { const h = window.__amumoBench.hv; return h.tPanel > 0 && h.tExact > 0; }",
                    timeout=10_000, polling=10)
            except Exception:
                pass
            hv = self.page.evaluate("() => window.__amumoBench.hv")
            if hv["tEvent"] is not None and (hv["tPanel"] or 0) > 0:
                panel_ms.append(hv["tPanel"] - hv["tEvent"])
            if hv["tEvent"] is not None and (hv["tExact"] or 0) > 0:
                exact_ms.append(hv["tExact"] - hv["tEvent"])
        self.page.mouse.move(1, 1)
        return {"panel": panel_ms, "exact value": exact_ms,
                "ws_per_hover": (self.ws_bytes - ws0) / count, "count": count}

    def frame_times(self, marker: str, seconds: float = 2.0) -> list[float]:
        """rAF intervals (ms) while dragging across the scatter canvas of cell ``marker``."""
        cell = self.cell(marker)
        canvas = cell.locator('canvas[data-amumo="scatter-canvas"]').first
        canvas.scroll_into_view_if_needed()
        box = canvas.bounding_box()
        cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        r = min(box["width"], box["height"]) / 5
        self.page.evaluate(FRAMES_START)
        t_end = time.monotonic() + seconds
        k = 0
        while time.monotonic() < t_end:
            self.page.mouse.move(cx, cy)
            self.page.mouse.down()
            for step in range(12):
                sgn = 1 if k % 2 == 0 else -1
                self.page.mouse.move(cx + sgn * r * (step + 1) / 12, cy + sgn * r * (step + 1) / 24)
            self.page.mouse.up()
            k += 1
        return self.page.evaluate(FRAMES_STOP)

    def clear_outputs(self) -> None:
        """Edit → Clear Outputs of All Cells (drops the earlier widgets' views from the page)."""
        self.page.evaluate("() => window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs')")
        self.page.wait_for_timeout(500)


def pct(values, q):
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(round(q * (len(v) - 1))))]


def fmt_bytes(b) -> str:
    return f"{b / 1e6:.2f} MB" if b >= 1e6 else f"{b / 1e3:.1f} kB"


