"""The self-contained HTML export at scale: file size, export time and time to first paint from
``file://`` (headless Debian chromium, no server), each beside a 1,000-pair baseline measured in the
same run.

Run by hand (a few minutes on 2 cores)::

    .venv/bin/python benchmarks/bench_export.py                 # 1,000 (baseline), 10,000, 100,000 pairs
    .venv/bin/python benchmarks/bench_export.py --pairs 10000 --max-mb 32

Vectors are synthetic (random clustered pairs, d = 64, ``Embeddings.from_arrays``, no images).
Figures:

- **export s**: ``Explorer.to_html`` (after the Explorer is built and its background work is done).
- **MiB**: size of the HTML file; **carried**: vectors or not, the levels of detail (cells a side).
- **paint ms**: ``page.goto(file://...)`` until the heatmap has drawn its cells (``data-rows``),
  read as ``performance.now()`` (ms since navigation start), median of 3 fresh pages.
- **x base**: the ratio to the 1,000-pair row of the same run.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "browser"))


def synthetic(n: int, d: int = 64, seed: int = 0):
    """n clustered image/text pairs with a modality gap (float32 [n, d] each) and captions."""
    from amumo_ng.store import Embeddings

    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(16, d)).astype(np.float32) * 2
    labels = rng.integers(0, 16, size=n)
    img = centers[labels] + 0.5 * rng.normal(size=(n, d)).astype(np.float32)
    txt = centers[labels] + 0.5 * rng.normal(size=(n, d)).astype(np.float32)
    img[:, 0] += 1.0
    txt[:, 0] -= 1.0
    captions = [f"cluster {c} item {i}" for i, c in enumerate(labels)]
    return Embeddings.from_arrays(img, txt, captions=captions, model_id="synthetic", logit_scale=50.0)


def export(n: int, folder: Path, max_mb: float):
    from amumo_ng.widgets import Explorer

    ex = Explorer(synthetic(n), title=f"{n} synthetic pairs")
    start = time.perf_counter()
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # what was dropped is printed from the report
        report = ex.to_html(folder / f"export-{n}.html", max_bytes=int(max_mb * 2**20))
    return report, time.perf_counter() - start


def first_paint_ms(browser, path: Path, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        page = browser.context.new_page()
        bad = []
        page.on("request", lambda r: bad.append(r.url) if r.url.split(":", 1)[0] not in ("file", "data", "blob") else None)
        page.goto(path.as_uri())
        page.wait_for_selector('[data-amumo="heatmap"][data-rows]', timeout=300_000)
        times.append(float(page.evaluate("performance.now()")))
        page.close()
        if bad:
            raise SystemExit(f"the page requested {bad[:3]}: not offline")
    return statistics.median(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--baseline", type=int, default=1_000)
    parser.add_argument("--max-mb", type=float, default=64.0)
    args = parser.parse_args(argv)
    from lab_harness import launch_chromium

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        browser = launch_chromium(viewport=(1400, 1000))
        try:
            for n in [args.baseline, *args.pairs]:
                report, seconds = export(n, Path(tmp), args.max_mb)
                paint = first_paint_ms(browser, report.path)
                rows.append((n, report, seconds, paint))
                print(f"  {n:>7} pairs: {report}", flush=True)
        finally:
            browser.close()
    base = rows[0]
    print(f"\nHTML export (budget {args.max_mb:g} MiB), baseline {base[0]:,} pairs in the same run")
    print(f"{'pairs':>8} {'MiB':>7} {'x base':>7} {'export s':>9} {'x base':>7} {'paint ms':>9} {'x base':>7}  carried")
    for n, report, seconds, paint in rows:
        mib = report.bytes / 2**20
        carried = f"vectors {'yes' if report.vectors else 'no'}, levels {'/'.join(map(str, report.levels))}"
        print(f"{n:>8,} {mib:>7.2f} {mib / (base[1].bytes / 2**20):>7.1f} {seconds:>9.2f} {seconds / base[2]:>7.1f} "
              f"{paint:>9.0f} {paint / base[3]:>7.1f}  {carried}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
