"""Browser benchmarks: first paint, memory and payload of the views at scale, each beside a baseline
measured in the same run, in headless Debian chromium through JupyterLab.

Run by hand (about 10 minutes on 2 cores; jupyter-scatter comes from ``make bench-deps``)::

    .venv/bin/python benchmarks/bench_browser.py                         # the whole table
    .venv/bin/python benchmarks/bench_browser.py --only scatter --points 100000

Every row runs in a FRESH notebook and kernel on one JupyterLab server; the vectors are generated
in an untimed cell before the timed one (random clustered pairs, ``Embeddings.from_arrays``; d = 64
for the heatmap and the Explorer, d = 8 for the scatter). Figures:

- **first paint** (ms): Shift+Enter on the timed cell until two animation frames after the first
  WebGL draw of all points (drawArrays of >= m vertices) and, for a heatmap, after its cells are
  drawn (ours: ``data-rows``; plotly: the heatmap image in its SVG); see browser_instruments.py.
  ``gl`` is the moment the draw was issued (before the software render). From 200,000 points our
  scatter first paints a density picture of every point on its 2D canvas (scatter-density.js) and
  the WebGL points replace it: the first paint is then the frame showing that picture, and the
  note gives the WebGL points' paint too.
- **readout** (ms): until the Explorer's gap readout stops being pending (losses done); **gap
  distances**: until it shows the gap distances (``data-gap-ready``, before the losses).
- **kernel peak** (GB): rise of the kernel's peak resident memory (VmHWM, reset before the timed
  cell) until the readout is done; for memory-mapped input it includes the mapped pages read.
- **ws** : websocket bytes the page received from Shift+Enter to first paint.
- **clustering 100k**: the cluster toggle clicked on a painted 100k Explorer until the heatmap
  shows the clustered order, and the bytes sent meanwhile (the view once, not twice).
- **pan frame** (scatter rows): median requestAnimationFrame interval while dragging for 2 s;
  **hover** (Explorer rows up to 100k): median ms from a mouse move onto a heatmap cell to its
  exact value in the hover panel (12 cells).

Baselines: a plotly ``FigureWidget`` heatmap of the same stacked cosine matrix (the technology of
Amumo) at 100/300/1,000 pairs; jupyter-scatter at the same number of points; an empty anywidget.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import browser_instruments as I  # noqa: E402
from browser_instruments import H  # noqa: E402

SETUP = '''# bench: setup
import json, os, numpy as np, anywidget
import amumo_ng
from amumo_ng.store.embeddings import Embeddings

def make(n, d=64, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(20, d)).astype(np.float32)
    lab = rng.integers(0, 20, n)
    img = centres[lab] + 0.8 * rng.standard_normal((n, d), dtype=np.float32) + 1.0
    txt = centres[lab] + 0.8 * rng.standard_normal((n, d), dtype=np.float32) - 1.0
    return Embeddings.from_arrays(img, txt, captions=[f"pair {i} cluster {l}" for i, l in enumerate(lab)])

def rss_gb():
    return int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e9

def reset_peak():
    global RSS0
    open("/proc/self/clear_refs", "w").write("5")
    RSS0 = rss_gb()

def peak_gb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM"):
            return int(line.split()[1]) / 1e6 - RSS0

class Empty(anywidget.AnyWidget):
    _esm = """export default { render({ el }) { const d = document.createElement('div');
        d.dataset.amumo = 'empty'; d.textContent = 'empty widget'; el.append(d); } };"""
print("ready")'''

PEAK = '# bench: peak\n{wait}print("AMUMO_PEAK=" + json.dumps({{"peak": peak_gb(), "raw": RAW}}))'


def row_cells(kind: str, n: int) -> tuple[list[str], str]:
    """(cells after SETUP, what the timed cell shows) of one benchmark row."""
    raw = f"RAW = 2 * {n} * 64 * 4 / 1e9"
    if kind == "empty":
        return ["# bench: data\nRAW = 0\nreset_peak()", "# bench: show\nEmpty()", PEAK.format(wait="")], "empty"
    if kind in ("plotly", "heatmap"):
        data = (f"# bench: data\nemb = make({n})\n{raw}\n"
                "u = lambda x: x / np.linalg.norm(x, axis=1, keepdims=True)\n"
                "S = np.vstack([u(emb.image), u(emb.text)]) @ np.vstack([u(emb.image), u(emb.text)]).T\n"
                + ("import plotly.graph_objects as go\n" if kind == "plotly" else "") + "reset_peak()")
        show = ("# bench: show\ngo.FigureWidget(go.Heatmap(z=S, colorscale='Viridis'), layout=dict(width=600, height=600))"
                if kind == "plotly" else "# bench: show\nfrom amumo_ng.widgets import SimilarityHeatmap\nSimilarityHeatmap(emb)")
        return [data, show, PEAK.format(wait="")], kind
    if kind in ("jscatter", "scatter"):
        data = f"# bench: data\nemb = make({n // 2}, d=8, seed=1)\nRAW = 2 * {n // 2} * 8 * 4 / 1e9\n"
        if kind == "jscatter":
            data += (f"import jscatter, pandas as pd\nxy = np.random.default_rng(0).normal(size=({n}, 2)).astype(np.float32)\n"
                     "df = pd.DataFrame(xy, columns=['x', 'y'])\n")
            show = "# bench: show\nsc = jscatter.Scatter(x='x', y='y', data=df)\nsc.show()"
        else:
            show = "# bench: show\nfrom amumo_ng.widgets import Scatter\nsc = Scatter(emb)\nsc"
        return [data + "reset_peak()", show, PEAK.format(wait="")], kind
    if kind in ("explorer", "mmap"):
        if kind == "mmap":  # written to the cache untimed; the timed cell loads it memory-mapped
            data = (f"# bench: data\nimport tempfile\nfrom amumo_ng.store.cache import EmbeddingCache\n"
                    f"cache = EmbeddingCache(tempfile.mkdtemp())\nsrc = make({n})\n"
                    "cache.write('bench', src.image, src.text, src.meta, {'logit_scale': 100.0, 'model_id': 'bench', "
                    "'dataset_id': 'bench'})\ndel src\n" + raw + "\nreset_peak()")
            show = "# bench: show\nemb = cache.load('bench')\nex = amumo_ng.Explorer(emb)\nex"
        else:
            data = f"# bench: data\nemb = make({n})\n{raw}\nreset_peak()"
            show = "# bench: show\nex = amumo_ng.Explorer(emb)\nex"
        cells = [data, show, PEAK.format(wait="ex.wait_readout(600)\n")]
        return cells, kind
    raise ValueError(kind)


def run_row(browser, server, work: Path, kind: str, n: int, label: str) -> dict:
    """Open a fresh notebook for one row, time its show cell, read the kernel's peak memory."""
    cells, _ = row_cells(kind, n)
    name = f"row_{kind}_{n}.ipynb"
    H.write_notebook(work / name, [SETUP] + cells)
    page = browser.context.new_page()
    b = I.Bench(page)
    out: dict = {"label": label}
    try:
        H.open_notebook(page, server, name)
        b.install()
        b.run("# bench: setup")
        b.run("# bench: data", timeout_ms=600_000)
        if kind == "empty":
            ms, ws = b.first_paint("# bench: show", '[data-amumo="empty"]')
            out.update(paint=ms, ws=ws)
        elif kind == "plotly":
            ms, ws = b.first_paint("# bench: show", ".js-plotly-plot .heatmaplayer image")
            out.update(paint=ms, ws=ws)
        elif kind == "heatmap":
            ms, ws = b.first_paint("# bench: show", '[data-amumo="heatmap"][data-rows]')
            out.update(paint=ms, ws=ws)
        elif kind in ("jscatter", "scatter"):
            out.update(b.first_gl_paint("# bench: show", n))
        else:
            out.update(b.first_gl_paint("# bench: show", 2 * n, '[data-amumo="heatmap"][data-rows]'))
            out["gap"] = b.wait_attr("# bench: show", '[data-amumo="gap-readout"]', "data-gap-ready", "true")
            out["readout"] = b.wait_attr("# bench: show", '[data-amumo="gap-readout"]', "data-pending", "false")
        H.wait_kernel_idle(page, timeout_ms=600_000)
        text = b.run("# bench: peak", timeout_ms=600_000)
        peak = json.loads(next(line for line in text.splitlines() if line.startswith("AMUMO_PEAK="))[11:])
        out.update(peak=peak["peak"], raw=peak["raw"])
        if kind == "scatter":  # pan frames of the painted plot (16.7 ms is the 60 Hz cap)
            frames = b.frame_times("# bench: show")
            out["frame_ms"] = statistics.median(frames) if frames else float("nan")
        if kind == "explorer" and n <= 100_000:  # hover -> panel with the exact value
            hover = b.hover_latency("# bench: show", count=12)["exact value"]
            out["hover_ms"] = statistics.median(hover) if hover else float("nan")
        if kind == "explorer" and n == 100_000:
            out["cluster"] = clustering(page, b)
        H.save_screenshot(b.cell("# bench: show"), f"bench_{kind}_{n}")
    finally:
        page.close()
        for session in server.api("sessions") or []:  # the next row starts with a fresh kernel
            server.api(f"sessions/{session['id']}", method="DELETE")
    return out


def clustering(page, b) -> dict:
    """Click the cluster toggle of the painted Explorer: ms until the heatmap shows clustered bands
    (its order changed and it is not busy), and the websocket bytes received meanwhile."""
    cell = b.cell("# bench: show")
    # the outlier statistics follow the readout in the background: let them land first
    page.wait_for_function("() => document.querySelector('[data-amumo=\"outlier-list\"]')"
                           "?.getAttribute('data-pending') !== 'true'", timeout=600_000)
    heat = cell.locator('[data-amumo="heatmap"]')
    order0 = heat.get_attribute("data-order")
    page.evaluate("() => { window.__amumoBench.t0 = performance.now(); }")
    ws0 = b.ws_bytes
    cell.locator('[data-amumo="cluster-toggle"]').click()
    page.wait_for_function(
        "([o]) => { const h = document.querySelector('[data-amumo=\"heatmap\"]');"
        " return h && h.getAttribute('data-order') !== o && h.getAttribute('data-busy') !== 'true'; }",
        arg=[order0], timeout=600_000, polling=50)
    ms = page.evaluate("() => performance.now() - window.__amumoBench.t0")
    page.wait_for_timeout(500)
    return {"ms": ms, "ws": b.ws_bytes - ws0}


PLAN = {
    "heatmap": [("plotly", n, f"plotly FigureWidget heatmap, {n:,} pairs") for n in (100, 300, 1000)]
    + [("heatmap", n, f"amumo heatmap, {n:,} pairs") for n in (100, 300, 1000)],
    "scatter": [],  # filled from --points
    "explorer": [],  # filled from --pairs
}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", default="heatmap,scatter,explorer", help="row groups, comma separated")
    ap.add_argument("--points", default="100000,1000000", help="scatter points per row")
    ap.add_argument("--pairs", default="10000,100000,1000000", help="Explorer pairs per row")
    args = ap.parse_args(argv)
    groups = [g for g in args.only.split(",") if g]
    rows = [("empty", 0, "empty anywidget (baseline)")]
    if "heatmap" in groups:
        rows += PLAN["heatmap"]
    if "scatter" in groups:
        for m in [int(p) for p in args.points.split(",") if p]:
            rows += [("jscatter", m, f"jupyter-scatter, {m:,} points"), ("scatter", m, f"amumo Scatter, {m:,} points")]
    if "explorer" in groups:
        for n in [int(p) for p in args.pairs.split(",") if p]:
            rows.append(("explorer", n, f"amumo Explorer, {n:,} pairs"))
        if 1_000_000 in [int(p) for p in args.pairs.split(",") if p]:
            rows.append(("mmap", 1_000_000, "amumo Explorer, 1,000,000 pairs memory-mapped from the cache"))
    work = Path(tempfile.mkdtemp(prefix="amumo-bench-"))
    server = H.start_lab({})
    browser = H.launch_chromium(viewport=(1600, 1200))
    results = []
    try:
        for kind, n, label in rows:
            r = run_row(browser, server, Path(server.root), kind, n, label)
            results.append((kind, n, r))
            print(json.dumps(r), flush=True)
    finally:
        browser.close()
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    print_table(results)
    # numpy's huge-page hint changes first-touch costs several-fold on some VMs (../shared/notes/fresh-memory.md)
    print(f"(kernels ran with NUMPY_MADVISE_HUGEPAGE={os.environ.get('NUMPY_MADVISE_HUGEPAGE', 'unset: numpy default')})")
    return 0


def print_table(results) -> None:
    base = {(k, n): r for k, n, r in results}
    lines = [("figure", "first paint", "ratio", "kernel peak", "note")]
    for kind, n, r in results:
        ratio = ""
        partner = {"heatmap": "plotly", "scatter": "jscatter"}.get(kind)
        if partner and (partner, n) in base:
            ratio = f"x{r['paint'] / base[(partner, n)]['paint']:.2f} of {partner}"
        elif kind in ("explorer", "mmap") and ("empty", 0) in base:
            ratio = f"x{r['paint'] / base[('empty', 0)]['paint']:.1f} of empty"
        gl = f"gl {r['gl']:.0f} ms; " if "gl" in r else ""
        if r.get("density") is not None:  # the density picture came first: when the WebGL points followed
            gl += f"WebGL points {r['gl_paint']:.0f} ms; "
        note = gl + f"ws {I.fmt_bytes(r['ws'])}"
        if "readout" in r:
            note += (f"; gap distances {r['gap'] / 1000:.1f} s" if "gap" in r else "") + f"; readout {r['readout'] / 1000:.1f} s"
        if "frame_ms" in r:
            note += f"; pan frame median {r['frame_ms']:.0f} ms"
        if "hover_ms" in r:
            note += f"; hover -> exact value median {r['hover_ms']:.0f} ms"
        if "cluster" in r:
            note += f"; clustering {r['cluster']['ms'] / 1000:.2f} s, ws {I.fmt_bytes(r['cluster']['ws'])}"
        peak = f"{r['peak']:+.2f} GB" + (f" (raw {r['raw']:.2f} GB)" if r.get("raw") else "")
        lines.append((r["label"], f"{r['paint']:.0f} ms", ratio, peak, note))
    widths = [max(len(str(row[i])) for row in lines) for i in range(4)]
    for row in lines:
        print("  ".join(str(row[i]).ljust(widths[i]) for i in range(4)) + "  " + row[4])


if __name__ == "__main__":
    sys.exit(main())
