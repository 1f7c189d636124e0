"""Browser benchmarks of the Explorer widgets, in headless Debian chromium through JupyterLab.

Run by hand (takes a few minutes on 2 cores)::

    .venv/bin/python benchmarks/bench_browser.py                 # everything
    .venv/bin/python benchmarks/bench_browser.py --sizes 100,1000 --points 100000

Figures (all timed inside the page with ``performance.now()``):

- **first paint** (ms): Shift+Enter on the cell that displays ``Explorer(emb)`` until two animation
  frames after the heatmap has its ``data-rows`` (the matrix image drawn). Kernel time (Session,
  level of detail, PCA) is included: it is what the user waits for. Baseline: the same measure
  for an empty anywidget (a div) in the same run.
- **hover → panel** (ms): a trusted mouse move onto a heatmap cell (from the pointer event's
  ``timeStamp``, i.e. including chromium's alignment of pointer events to frames) until the next
  animation frame after the hover panel's captions changed (``caption``) and after its value changed (``value``;
  a kernel round trip when the view is a block-mean level of detail). Median and 95th percentile
  of 20 hovers over cells far apart. Target: <= 50 ms.
- **payload** (bytes): the widget state as sent to the browser (JSON of the traits without the
  ESM bundle, binary buffers, and the ESM bundle itself), computed in the kernel with ipywidgets'
  own buffer split; and the websocket bytes the page received from Shift+Enter to first paint.
- **scatter frame** (ms): the standalone ``Scatter`` with m points (m/2 pairs, pair lines as the
  widget sets them for that size), alone on the page (earlier outputs cleared), panned by mouse drags for ~2 s; mean,
  median and 95th percentile of ``requestAnimationFrame`` intervals during the drags (16.7 ms is
  the 60 Hz cap). Baseline: the same at 1,000 points.

Embeddings are random (``Embeddings.from_arrays``, d = 64 for the Explorer, d = 8 for the
scatter), so no model is needed. Vectors are generated in the kernel before the timed cell.
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "browser"))

import lab_harness as H  # noqa: E402

SETUP = '''# bench: setup
import json, numpy as np, anywidget, traitlets
import amumo_ng
from amumo_ng.store.embeddings import Embeddings
from amumo_ng.widgets import Scatter
from ipywidgets.widgets.widget import _remove_buffers

def make(n, d=64, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(20, d))
    lab = rng.integers(0, 20, n)
    img = centres[lab] + 0.8 * rng.normal(size=(n, d)) + 1.0
    txt = centres[lab] + 0.8 * rng.normal(size=(n, d)) - 1.0
    return Embeddings.from_arrays(img.astype(np.float32), txt.astype(np.float32),
                                  captions=[f"pair {i} cluster {l}" for i, l in enumerate(lab)])

def payload(w):
    state, _paths, buffers = _remove_buffers(w.get_state())
    esm = state.pop("_esm", "") or ""
    return {"json": len(json.dumps(state).encode()),
            "buffers": sum(memoryview(b).nbytes for b in buffers),
            "esm": len(esm.encode())}

class Empty(anywidget.AnyWidget):
    _esm = """export default { render({ el }) {
        const d = document.createElement('div'); d.dataset.amumo = 'empty';
        d.textContent = 'empty widget'; el.append(d); } };"""
print("ready")'''


def explorer_cells(n: int) -> list[str]:
    return [
        f"# bench: data [{n}]\nemb_{n} = make({n})",
        f"# bench: explorer [{n}]\nex_{n} = amumo_ng.Explorer(emb_{n})\nex_{n}",
        f'# bench: payload [{n}]\nprint("AMUMO_PAYLOAD=" + json.dumps(payload(ex_{n})))',
    ]


def scatter_cells(m: int) -> list[str]:
    return [
        f"# bench: sdata [{m}]\nsemb_{m} = make({m // 2}, d=8, seed=1)",
        f"# bench: scatter [{m}]\nsc_{m} = Scatter(semb_{m})\nsc_{m}",
        f'# bench: spayload [{m}]\nprint("AMUMO_PAYLOAD=" + json.dumps(payload(sc_{m})))',
    ]


def write_notebook(path: Path, sizes, points) -> None:
    import nbformat

    cells = [SETUP, "# bench: baseline\nEmpty()", "# bench: data [50]\nemb_50 = make(50)",
             "# bench: explorer [50]\nex_50 = amumo_ng.Explorer(emb_50)\nex_50"]
    for n in sizes:
        cells += explorer_cells(n)
    cells += ["# bench: sdata [1000]\nsemb_1000 = make(500, d=8, seed=1)",
              "# bench: scatter [1000]\nsc_1000 = Scatter(semb_1000)\nsc_1000"]
    for m in points:
        cells += scatter_cells(m)
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nbformat.write(nb, str(path))


# -- in-page instruments ---------------------------------------------------------------------------

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


class Bench:
    def __init__(self, page):
        """Listen to the page's websockets; call before the notebook is opened."""
        self.page = page
        self.ws_bytes = 0
        page.on("websocket", self._on_ws)

    def install(self) -> None:
        """Install the in-page instruments (after the notebook page loaded)."""
        self.page.evaluate(INSTALL)

    def _on_ws(self, ws):
        def count(payload):
            self.ws_bytes += len(payload) if payload is not None else 0
        ws.on("framereceived", count)

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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="100,1000,10000", help="pairs per Explorer, comma separated")
    ap.add_argument("--points", default="100000,1000000", help="scatter points, comma separated ('' to skip)")
    ap.add_argument("--hovers", type=int, default=20)
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    points = [int(s) for s in args.points.split(",") if s]

    work = Path(tempfile.mkdtemp(prefix="amumo-bench-"))
    nb = work / "bench.ipynb"
    write_notebook(nb, sizes, points)
    server = H.start_lab({"bench.ipynb": nb})
    browser = H.launch_chromium(viewport=(1600, 1200))
    rows = []

    def note(*row):
        rows.append(row)
        print(" | ".join(str(x) for x in row if x), flush=True)

    try:
        page = browser.context.new_page()
        b = Bench(page)
        H.open_notebook(page, server, "bench.ipynb")
        b.install()
        print("notebook open", flush=True)
        b.run("# bench: setup")
        print("setup ran", flush=True)
        base_ms, _ = b.first_paint("# bench: baseline", '[data-amumo="empty"]')
        note(*("first paint, empty anywidget (baseline)", f"{base_ms:.0f} ms", "", ""))
        b.run("# bench: data [50]")
        warm_ms, _ = b.first_paint("# bench: explorer [50]", '[data-amumo="heatmap"][data-rows]')
        note(*("first paint, Explorer n=50 (warm-up: loads the bundle)", f"{warm_ms:.0f} ms",
                     f"x{warm_ms / base_ms:.1f}", ""))
        for n in sizes:
            b.run(f"# bench: data [{n}]")
            ms, ws = b.first_paint(f"# bench: explorer [{n}]", '[data-amumo="heatmap"][data-rows]')
            target = "≤ 1500 ms" + (" OK" if ms <= 1500 else " MISSED") if n == 10000 else ""
            note(*(f"first paint, Explorer n={n}", f"{ms:.0f} ms", f"x{ms / base_ms:.1f}", target))
            p = b.payload(f"# bench: payload [{n}]")
            note(*(f"payload n={n}: state JSON / buffers / ESM bundle",
                         f"{fmt_bytes(p['json'])} / {fmt_bytes(p['buffers'])} / {fmt_bytes(p['esm'])}",
                         "", f"ws received {fmt_bytes(ws)}"))
            h = b.hover_latency(f"# bench: explorer [{n}]", count=args.hovers)
            for key in ("panel", "exact value"):
                vals = h[key]
                med = statistics.median(vals) if vals else float("nan")
                note(*(f"hover → panel {key}, n={n} (median / p95, {len(vals)}/{h['count']})",
                             f"{med:.1f} / {pct(vals, 0.95):.1f} ms", "",
                             "≤ 50 ms" + (" OK" if med <= 50 else " MISSED")))
            note(*(f"ws bytes per hover, n={n}", fmt_bytes(h["ws_per_hover"]), "", ""))
            H.save_screenshot(b.cell(f"# bench: explorer [{n}]"), f"bench_explorer_{n}")
        if points:
            # one scatter on the page at a time: earlier views would share the compositor's work
            b.clear_outputs()
            b.run("# bench: sdata [1000]")
            b.first_paint("# bench: scatter [1000]", '[data-amumo="scatter"][data-points]')
            page.wait_for_timeout(500)
            base_frames = b.frame_times("# bench: scatter [1000]")
            base_f = statistics.fmean(base_frames)
            note(*("scatter frame while panning, 1,000 points (baseline; mean / median / p95)",
                   f"{base_f:.1f} / {statistics.median(base_frames):.1f} / {pct(base_frames, 0.95):.1f} ms",
                   "", f"{len(base_frames)} frames"))
            for m in points:
                b.clear_outputs()
                b.run(f"# bench: sdata [{m}]")
                ms, ws = b.first_paint(f"# bench: scatter [{m}]", '[data-amumo="scatter"][data-points]',
                                       timeout_ms=600_000)
                page.wait_for_timeout(1000)
                frames = b.frame_times(f"# bench: scatter [{m}]")
                f = statistics.fmean(frames)
                note(*(f"scatter frame while panning, {m:,} points (mean / median / p95)",
                       f"{f:.1f} / {statistics.median(frames):.1f} / {pct(frames, 0.95):.1f} ms",
                       f"x{f / base_f:.1f}",
                       f"{len(frames)} frames; first paint {ms:.0f} ms; ws {fmt_bytes(ws)}"))
                H.save_screenshot(b.cell(f"# bench: scatter [{m}]"), f"bench_scatter_{m}")
                p = b.payload(f"# bench: spayload [{m}]")
                note(*(f"payload scatter {m:,}: state JSON / buffers",
                       f"{fmt_bytes(p['json'])} / {fmt_bytes(p['buffers'])}", "", ""))
    except BaseException:
        try:
            H.save_screenshot(page, "bench_failure")
            print(f"screenshot: {H.ARTIFACTS / 'bench_failure.png'}", flush=True)
        except Exception:
            pass
        raise
    finally:
        browser.close()
        server.stop()
        shutil.rmtree(work, ignore_errors=True)

    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    print(f"\n{'figure'.ljust(w0)}  {'measured'.ljust(w1)}  {'vs baseline':11}  note")
    for name, value, ratio, note in rows:
        print(f"{name.ljust(w0)}  {value.ljust(w1)}  {ratio:11}  {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
