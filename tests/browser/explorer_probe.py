"""Probe cells appended to the notebook under test, and a stand-in notebook built from arrays.

The *facts* cell finds the last ``amumo_ng.Explorer`` the notebook created and prints one line
``AMUMO_FACTS=<json>`` computed with plain numpy from the explorer's raw embeddings (not through the
widget code), so the browser tests compare what the page shows with values obtained independently:

- ``n``: pairs of the current model; ``captions``: its captions in pair order;
- ``cross``: cosine similarity of image i with text j for i, j < 16 (a nested list);
- ``gap``: ‖Δ‖, Δ = mean(normalised images) − mean(normalised texts) (the modality gap distance);
- ``gap_closed``: the same distance after Amumo's "close the gap" (each image minus Δ/2, each
  text plus Δ/2, both re-normalised).

The *selection* cell prints ``AMUMO_SELECTION=<json list>`` of ``explorer.selection``; the lasso
test re-runs it after drawing a lasso.

Five *toggle* cells do nothing when Run All passes them; each later run switches a test setup on
(odd runs) or off (even runs), printing ``AMUMO_TOGGLE=<name>:on|off``:

- *slow values*: the explorer's heatmap on a 64-cell grid (block means) and exact-value replies
  delayed by 1.5 s, no local view vectors (``vector_budget = 0``; the pending-value test);
- *block means*: the explorer's heatmap on a 64-cell grid with its view vectors (local exact values);
- *hostile captions*: a second, small Explorer (in that cell's output) whose captions are HTML/script
  and whose images 0 and 2 are files missing on disk;
- *comparison*: ``Explorer.compare`` of the explorer's first two models in that cell's output, and a
  line ``AMUMO_COMPARE=<json>`` with both models' names and image-text cosines for i, j < 16;
- *standalone*: a ``SimilarityHeatmap`` and a ``Scatter`` sharing one new session on the explorer's
  current model, and an Explorer of pair 0 alone.

Later runs of the facts cell describe the same explorer (its current model), whatever was displayed since.
"""
from __future__ import annotations

from pathlib import Path

FACTS_PREFIX = "AMUMO_FACTS="
SELECTION_PREFIX = "AMUMO_SELECTION="
FACTS_MARKER = "# amumo-browser-probe: facts"
SELECTION_MARKER = "# amumo-browser-probe: selection"

FACTS_CELL = FACTS_MARKER + '''
import json as _amumo_json
import numpy as _amumo_np
import amumo_ng as _amumo
if "_amumo_ex" not in globals():  # first run: the notebook's last Explorer; later runs keep it
    _amumo_explorers = [v for v in list(globals().values()) if isinstance(v, _amumo.Explorer)]
    assert _amumo_explorers, "the notebook created no amumo_ng.Explorer"
    _amumo_ex = _amumo_explorers[-1]
_amumo_emb = _amumo_ex.session.embeddings
_amumo_i = _amumo_np.asarray(_amumo_emb.image, dtype=_amumo_np.float64)
_amumo_t = _amumo_np.asarray(_amumo_emb.text, dtype=_amumo_np.float64)
_amumo_i /= _amumo_np.linalg.norm(_amumo_i, axis=1, keepdims=True)
_amumo_t /= _amumo_np.linalg.norm(_amumo_t, axis=1, keepdims=True)
_amumo_delta = _amumo_i.mean(axis=0) - _amumo_t.mean(axis=0)
_amumo_ic = _amumo_i - _amumo_delta / 2
_amumo_tc = _amumo_t + _amumo_delta / 2
_amumo_ic /= _amumo_np.linalg.norm(_amumo_ic, axis=1, keepdims=True)
_amumo_tc /= _amumo_np.linalg.norm(_amumo_tc, axis=1, keepdims=True)
print("''' + FACTS_PREFIX + '''" + _amumo_json.dumps({
    "n": int(_amumo_i.shape[0]),
    "captions": [str(c) for c in _amumo_emb.meta["caption"]],
    "cross": (_amumo_i[:16] @ _amumo_t[:16].T).tolist(),
    "gap": float(_amumo_np.linalg.norm(_amumo_delta)),
    "gap_closed": float(_amumo_np.linalg.norm(_amumo_ic.mean(axis=0) - _amumo_tc.mean(axis=0))),
}))'''

SELECTION_CELL = SELECTION_MARKER + '''
print("''' + SELECTION_PREFIX + '''" + _amumo_json.dumps(sorted(int(i) for i in _amumo_ex.selection)))'''


TOGGLE_PREFIX = "AMUMO_TOGGLE="
SLOW_VALUES_MARKER = "# amumo-browser-probe: slow values"
BLOCK_MEANS_MARKER = "# amumo-browser-probe: block means"
HOSTILE_MARKER = "# amumo-browser-probe: hostile captions"
#: The caption the hostile explorer shows for pair 1 (as text: its handler must never run).
XSS_CAPTION = '<img src=x onerror="window.__amumo_xss=1">'

SLOW_VALUES_CELL = SLOW_VALUES_MARKER + '''
_amumo_slow_runs = globals().get("_amumo_slow_runs", -1) + 1
if _amumo_slow_runs % 2:
    import time as _amumo_time
    _amumo_grid0 = _amumo_ex.grid
    def _amumo_slow_value(content, _ex=_amumo_ex, _handle=type(_amumo_ex).handle_value):
        _amumo_time.sleep(1.5)
        return _handle(_ex, content)
    _amumo_ex.handle_value = _amumo_slow_value
    _amumo_budget0 = _amumo_ex.vector_budget
    _amumo_ex.vector_budget = 0  # no local vectors: every exact value is a (slow) kernel request
    _amumo_ex.grid = 64
elif _amumo_slow_runs:
    del _amumo_ex.handle_value
    _amumo_ex.vector_budget = _amumo_budget0
    _amumo_ex.grid = _amumo_grid0
print("''' + TOGGLE_PREFIX + '''slow-values:" + ("on" if _amumo_slow_runs % 2 else "off"))'''

BLOCK_MEANS_CELL = BLOCK_MEANS_MARKER + '''
_amumo_block_runs = globals().get("_amumo_block_runs", -1) + 1
if _amumo_block_runs % 2:
    _amumo_block_grid0 = _amumo_ex.grid
    _amumo_ex.grid = 64
elif _amumo_block_runs:
    _amumo_ex.grid = _amumo_block_grid0
print("''' + TOGGLE_PREFIX + '''block-means:" + ("on" if _amumo_block_runs % 2 else "off"))'''

HOSTILE_CELL = HOSTILE_MARKER + '''
_amumo_hostile_runs = globals().get("_amumo_hostile_runs", -1) + 1
print("''' + TOGGLE_PREFIX + '''hostile:" + ("on" if _amumo_hostile_runs % 2 else "off"))
if _amumo_hostile_runs % 2:
    import tempfile as _amumo_tempfile
    from pathlib import Path as _AmumoPath
    from PIL import Image as _AmumoImage
    from amumo_ng.store.embeddings import Embeddings as _AmumoEmbeddings
    _amumo_dir = _AmumoPath(_amumo_tempfile.mkdtemp())
    _amumo_paths = [str(_amumo_dir / f"img{i}.png") for i in range(4)]
    for _i in (1, 3):  # images 0 and 2 are never written: missing on disk
        _AmumoImage.new("RGB", (32, 32), (200, 40 * _i, 0)).save(_amumo_paths[_i])
    _amumo_rng = _amumo_np.random.default_rng(1)
    _amumo_hostile = _amumo.Explorer(_AmumoEmbeddings.from_arrays(
        _amumo_rng.normal(size=(4, 8)), _amumo_rng.normal(size=(4, 8)),
        captions=["<b>bold?</b>", ''' + repr(XSS_CAPTION) + ''', "<script>window.__amumo_xss=2</script>", "a & b < c"],
        images=_amumo_paths, model_id="hostile"))
    display(_amumo_hostile)'''


COMPARE_PREFIX = "AMUMO_COMPARE="
COMPARISON_MARKER = "# amumo-browser-probe: comparison"
COMPARISON_CELL = COMPARISON_MARKER + '''
_amumo_cmp_runs = globals().get("_amumo_cmp_runs", -1) + 1
print("''' + TOGGLE_PREFIX + '''comparison:" + ("on" if _amumo_cmp_runs % 2 else "off"))
if _amumo_cmp_runs % 2:
    _amumo_names = _amumo_ex.session.models[:2]
    _amumo_cmp = _amumo.Explorer.compare({m: _amumo_ex.session.embeddings_of(m) for m in _amumo_names})
    def _amumo_unit(a):
        a = _amumo_np.asarray(a, dtype=_amumo_np.float64)
        return a / _amumo_np.linalg.norm(a, axis=1, keepdims=True)
    print("''' + COMPARE_PREFIX + '''" + _amumo_json.dumps({
        "models": list(_amumo_names),
        "cross": [(_amumo_unit(e.image[:16]) @ _amumo_unit(e.text[:16]).T).tolist()
                  for e in map(_amumo_ex.session.embeddings_of, _amumo_names)]}))
    display(_amumo_cmp)'''


STANDALONE_MARKER = "# amumo-browser-probe: standalone"
STANDALONE_CELL = STANDALONE_MARKER + '''
_amumo_alone_runs = globals().get("_amumo_alone_runs", -1) + 1
print("''' + TOGGLE_PREFIX + '''standalone:" + ("on" if _amumo_alone_runs % 2 else "off"))
if _amumo_alone_runs % 2:
    from amumo_ng.widgets import Scatter as _AmumoScatter, SimilarityHeatmap as _AmumoHeatmap
    _amumo_heat = _AmumoHeatmap(_amumo_ex.session.embeddings)
    _amumo_scatter = _AmumoScatter(session=_amumo_heat.session)  # one session: linked hover
    _amumo_one = _amumo.Explorer(_amumo_ex.session.embeddings.subset([0]))
    display(_amumo_heat, _amumo_scatter, _amumo_one)'''


def append_probe_cells(src: Path, dst: Path) -> None:
    """Copy notebook ``src`` to ``dst`` with the facts and selection cells appended (outputs cleared)."""
    import nbformat

    nb = nbformat.read(str(src), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nb.cells.append(nbformat.v4.new_code_cell(FACTS_CELL))
    nb.cells.append(nbformat.v4.new_code_cell(SELECTION_CELL))
    nb.cells.append(nbformat.v4.new_code_cell(SLOW_VALUES_CELL))
    nb.cells.append(nbformat.v4.new_code_cell(BLOCK_MEANS_CELL))
    nb.cells.append(nbformat.v4.new_code_cell(HOSTILE_CELL))
    nb.cells.append(nbformat.v4.new_code_cell(COMPARISON_CELL))
    nb.cells.append(nbformat.v4.new_code_cell(STANDALONE_CELL))
    nb.metadata.setdefault("kernelspec", {"name": "python3", "display_name": "Python 3", "language": "python"})
    nbformat.write(nb, str(dst))


ARRAYS_NOTEBOOK_CODE = '''import numpy as np
import amumo_ng
from amumo_ng.datasets.shapes import ShapesDataset
from amumo_ng.store.embeddings import Embeddings

n, d = {n}, 64
ds = ShapesDataset(n=n, seed=0)
meta = ds.meta
rng = np.random.default_rng(0)
# vectors that carry the captions' structure: one direction per shape and per colour, plus noise;
# texts are offset from images along a shared direction (a modality gap)
basis = rng.normal(size=(32, d))
codes = {{s: i for i, s in enumerate(sorted(set(meta["shape"])))}}
colours = {{c: 8 + i for i, c in enumerate(sorted(set(meta["colour"])))}}
latent = np.stack([basis[codes[s]] + 0.7 * basis[colours[c]] for s, c in zip(meta["shape"], meta["colour"])])
gap = rng.normal(size=d)
image = latent + 0.35 * rng.normal(size=(n, d)) + 1.5 * gap
text = latent + 0.35 * rng.normal(size=(n, d)) - 1.5 * gap
emb = Embeddings.from_arrays(image, text, meta=meta, images=ds, model_id="arrays-a")
emb_b = Embeddings.from_arrays(image + 0.5 * rng.normal(size=(n, d)), text, meta=meta, images=ds, model_id="arrays-b")
explorer = amumo_ng.Explorer({{"model A": emb, "model B": emb_b}})
explorer'''


def write_arrays_notebook(dst: Path, n: int = 500) -> Path:
    """A notebook that shows an Explorer on ``shapes`` captions with synthetic vectors (no model
    weights needed); used while the zoo models are not available."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(ARRAYS_NOTEBOOK_CODE.format(n=n))]
    nbformat.write(nb, str(dst))
    return Path(dst)
