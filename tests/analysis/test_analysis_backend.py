"""The torch array path (amumo_ng.analysis.backend): device selection, and torch == numpy.

Every torch kernel runs here on the CPU (device="cpu", the same torch code CUDA runs) and is
compared with the numpy path to float32 tolerance (rtol 1e-5; atol 1e-6 for values near zero),
on odd sizes and with chunk sizes patched small so chunk boundaries fall inside bins and batches;
small cases are also checked against brute force. "auto" is checked to resolve to numpy without
CUDA, and to route to "cuda" when torch reports CUDA (patched; the kernels are then replaced by
recorders that run on the CPU, so nothing touches a GPU). The last test runs the CUDA path for
real and is skipped without a GPU.
"""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from amumo_ng.analysis import backend, conformity_stats, losses, outliers, similarity  # noqa: E402
from amumo_ng.analysis.backend import AUTO_MIN_ELEMENTS, array_device  # noqa: E402
from amumo_ng.analysis.validation import EmbeddingError  # noqa: E402
from amumo_ng.session import readouts  # noqa: E402

from conftest import make_pairs  # noqa: E402

RTOL, ATOL = 1e-5, 1e-6


def _units(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture
def no_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


@pytest.fixture
def fake_cuda(monkeypatch):
    """torch reports CUDA (and a driver is 'present'); nothing is run on it."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(backend, "_nvidia_driver_present", lambda: True)


# -- device selection -----------------------------------------------------------------------------
@pytest.mark.parametrize("name", [None, "numpy", "np"])
def test_numpy_names_select_numpy(name, fake_cuda):
    assert array_device(name) is None


def test_auto_is_numpy_without_cuda(no_cuda):
    assert array_device("auto") is None
    assert array_device("auto", elements=10 * AUTO_MIN_ELEMENTS) is None


def test_auto_picks_cuda_when_torch_reports_it(fake_cuda):
    assert array_device("auto") == "cuda"
    assert array_device("AUTO", elements=AUTO_MIN_ELEMENTS) == "cuda"
    assert array_device("auto", elements=AUTO_MIN_ELEMENTS - 1) is None  # small work stays in numpy
    assert array_device("cuda") == "cuda"
    assert array_device("cuda:1") == "cuda:1"


def test_cpu_is_the_torch_path_and_needs_torch(monkeypatch):
    assert array_device("cpu") == "cpu"
    monkeypatch.setattr(backend.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(EmbeddingError, match="needs torch"):
        array_device("cpu")


def test_cuda_without_cuda_is_a_clear_error(no_cuda):
    with pytest.raises(EmbeddingError, match="CUDA is not available"):
        array_device("cuda")


@pytest.mark.parametrize("bad", ["gpu", "cuda:x", "", 3, ["cuda"]])
def test_unknown_device_is_rejected(bad):
    with pytest.raises(EmbeddingError, match="device must be"):
        array_device(bad)


def test_public_functions_reject_a_bad_device():
    img, txt = make_pairs(20, 5)
    with pytest.raises(EmbeddingError, match="device must be"):
        similarity.block_mean_similarity(img, txt, 8, device="tpu")
    with pytest.raises(EmbeddingError, match="device must be"):
        conformity_stats.conformity(img, device="tpu")


@pytest.mark.skipif(backend._nvidia_driver_present(), reason="an NVIDIA driver is present here")
def test_auto_imports_no_torch_without_a_driver():
    code = ("import sys; from amumo_ng.analysis.backend import array_device; "
            "print(array_device('auto'), 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["None", "False"]


# -- block-mean levels of detail ------------------------------------------------------------------
def _brute_block_means(img, txt, row_edges, col_edges):
    s = _units(np.concatenate([img, txt])).astype(np.float64)
    full = s @ s.T
    return np.array([[full[r0:r1, c0:c1].mean() for c0, c1 in zip(col_edges[:-1], col_edges[1:])]
                     for r0, r1 in zip(row_edges[:-1], row_edges[1:])])


@pytest.mark.parametrize("n, d, grid", [(1, 3, 2), (3, 5, 2), (13, 7, 9), (101, 33, 16), (257, 17, 64)])
@pytest.mark.parametrize("unit", [False, True])
def test_block_means_torch_equal_numpy_across_chunk_boundaries(monkeypatch, n, d, grid, unit):
    img, txt = make_pairs(n, d, seed=n)
    if unit:
        img, txt = _units(img), _units(txt)
    monkeypatch.setattr(similarity, "_CHUNK_BYTES", 4 * d * 5)  # 5 rows per chunk: bins are cut across chunks
    ref = similarity.block_mean_similarity(img, txt, grid, unit=unit, device=None)
    got = similarity.block_mean_similarity(img, txt, grid, unit=unit, device="cpu")
    assert got.values.dtype == np.float32 and got.values.shape == ref.values.shape
    np.testing.assert_array_equal(got.edges, ref.edges)
    np.testing.assert_allclose(got.values, ref.values, rtol=RTOL, atol=ATOL)
    if n <= 101:
        brute = _brute_block_means(img, txt, got.edges, got.col_edges)
        np.testing.assert_allclose(got.values, brute, rtol=RTOL, atol=ATOL)
    assert got.exact == ref.exact


@pytest.mark.parametrize("rows, cols, grid", [((0, 7), (3, 200), 5), ((95, 130), (95, 130), 8),
                                               ((150, 201), (0, 202), 13), ((40, 41), (0, 202), 3)])
def test_level_of_detail_tiles_torch_equal_numpy(monkeypatch, rows, cols, grid):
    img, txt = make_pairs(101, 19, seed=3)
    monkeypatch.setattr(similarity, "_CHUNK_BYTES", 4 * 19 * 3)
    ref = similarity.level_of_detail_tile(img, txt, rows, cols, grid, device=None)
    got = similarity.level_of_detail_tile(img, txt, rows, cols, grid, device="cpu")
    np.testing.assert_array_equal(got.col_edges, ref.col_edges)
    np.testing.assert_allclose(got.values, ref.values, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(got.values, _brute_block_means(img, txt, got.edges, got.col_edges),
                               rtol=RTOL, atol=ATOL)


def test_bin_sums_equal_a_loop():
    rows = np.random.default_rng(1).normal(size=(23, 4)).astype(np.float32)
    bounds = np.array([0, 1, 1, 9, 22, 23])  # an empty bin and a one-row bin
    want = np.stack([rows[a:b].sum(axis=0, dtype=np.float64) for a, b in zip(bounds[:-1], bounds[1:])])
    np.testing.assert_allclose(backend.bin_sums(rows, bounds, "cpu"), want, rtol=RTOL, atol=ATOL)


# -- conformity and outlier statistics ------------------------------------------------------------
@pytest.mark.parametrize("n, d", [(2, 3), (9, 4), (103, 31)])
def test_conformity_torch_equals_numpy_and_the_definition(monkeypatch, n, d):
    x = make_pairs(n, d, seed=d)[0]
    monkeypatch.setattr(conformity_stats, "_CHUNK_ROWS", 4)
    got = conformity_stats.conformity(x, device="cpu")
    np.testing.assert_allclose(got, conformity_stats.conformity(x, device=None), rtol=RTOL, atol=ATOL)
    u = _units(x).astype(np.float64)
    brute = [(u[j] @ u.sum(axis=0) - 1.0) / (n - 1) for j in range(n)]  # mean over k != j of cos
    np.testing.assert_allclose(got, brute, rtol=RTOL, atol=ATOL)
    assert got.dtype == np.float32


def test_pair_statistics_torch_equal_numpy(monkeypatch):
    img, txt = make_pairs(57, 11, seed=5)
    monkeypatch.setattr(outliers, "_CHUNK_ROWS", 6)
    monkeypatch.setattr(conformity_stats, "_CHUNK_ROWS", 5)
    ref = outliers.pair_statistics(img, txt, device=None)
    got = outliers.pair_statistics(img, txt, device="cpu")
    assert set(got) == set(ref) == {"pair_cosine", "image_conformity", "text_conformity"}
    for key in ref:
        assert got[key].dtype == np.float32
        np.testing.assert_allclose(got[key], ref[key], rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(got["pair_cosine"], np.sum(_units(img) * _units(txt), axis=1), rtol=RTOL, atol=ATOL)


# -- losses ---------------------------------------------------------------------------------------
def _brute_lse(image_unit, text_unit, scale):
    logits = scale * image_unit.astype(np.float64) @ text_unit.astype(np.float64).T
    row = np.log(np.exp(logits - logits.max(1, keepdims=True)).sum(1)) + logits.max(1)
    col = np.log(np.exp(logits - logits.max(0, keepdims=True)).sum(0)) + logits.max(0)
    return np.diagonal(logits), row, col


@pytest.mark.parametrize("scale", [1.0, 100.0, 2000.0])  # 2000: columns far below the row maxima
@pytest.mark.parametrize("n, max_cells", [(1, 1), (7, 10), (130, 1000)])
def test_symmetric_lse_torch_equals_numpy_and_brute_force(n, max_cells, scale):
    img, txt = make_pairs(n, 9, seed=n)
    iu, tu = _units(img), _units(txt)
    ref = losses.symmetric_lse(iu, tu, scale, max_cells=max_cells)
    got = losses.symmetric_lse(iu, tu, scale, max_cells=max_cells, device="cpu")
    brute = _brute_lse(iu, tu, scale)
    for g, r, b in zip(got, ref, brute):
        assert g.dtype == np.float64 and g.shape == (n,)
        np.testing.assert_allclose(g, r, rtol=RTOL, atol=ATOL * scale)
        np.testing.assert_allclose(g, b, rtol=RTOL, atol=ATOL * scale)
    sums = losses._symmetric_ce_sums(iu, tu, scale, max_cells=max_cells, device="cpu")
    assert all(type(v) is float for v in sums)
    np.testing.assert_allclose(sums, losses._symmetric_ce_sums(iu, tu, scale, max_cells=max_cells),
                               rtol=RTOL, atol=ATOL * scale * n)


def test_readout_losses_torch_equal_numpy_over_batches(monkeypatch):
    img, txt = make_pairs(301, 12, seed=8)
    monkeypatch.setattr(readouts, "LOSS_FULL_BATCH_LIMIT", 64)  # 5 batches, the last one short
    ref = readouts.gap_readout(img, txt, 50.0, device=None)
    got = readouts.gap_readout(img, txt, 50.0, device="cpu")
    assert got["loss_batch_size"] == 64
    for key in ("loss_before", "loss_after", "loss_compat_before", "distance_before", "distance_after"):
        assert type(got[key]) is float
        assert got[key] == pytest.approx(ref[key], rel=RTOL)
    whole = losses.contrastive_loss(img, txt, 50.0, batch_size=64)  # the same batches, independently
    assert got["loss_before"] == pytest.approx(whole, rel=RTOL)


# -- auto routes the public functions to CUDA when present (recorded, run on the CPU) -------------
def test_auto_routes_every_function_to_cuda_when_present(monkeypatch, fake_cuda):
    seen = []

    def recorder(name):
        original = getattr(backend, name)

        def run(*args):
            args = list(args)
            at = next(i for i, a in enumerate(args) if isinstance(a, str))  # the device argument
            seen.append((name, args[at]))
            args[at] = "cpu"
            return original(*args)
        monkeypatch.setattr(backend, name, run)

    for name in ("bin_sums", "clipped_product", "unit_sum", "dot_units", "pair_cosines", "symmetric_lse"):
        recorder(name)
    n, d = 2100, 512  # n·d >= AUTO_MIN_ELEMENTS
    img, txt = make_pairs(n, d, seed=2)
    lod = similarity.block_mean_similarity(img, txt, 32)
    np.testing.assert_allclose(lod.values, similarity.block_mean_similarity(img, txt, 32, device=None).values,
                               rtol=RTOL, atol=ATOL)
    outliers.pair_statistics(img, txt)
    readouts.gap_readout(img, txt, 30.0)
    names = {name for name, _ in seen}
    assert names == {"bin_sums", "clipped_product", "unit_sum", "dot_units", "pair_cosines", "symmetric_lse"}
    assert {device for _, device in seen} == {"cuda"}
    seen.clear()
    small = make_pairs(20, 5)
    similarity.block_mean_similarity(*small, 8)  # small work stays in numpy even with CUDA
    conformity_stats.conformity(small[0])
    assert seen == []


def test_encoders_pick_cuda_when_present_and_return_float32_numpy(monkeypatch):
    from amumo_ng.models.function_encoder import FunctionEncoder
    from amumo_ng.models.open_clip_encoder import pick_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert pick_device(None) == "cuda" and pick_device("cpu") == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert pick_device(None) == "cpu"
    enc = FunctionEncoder(lambda ims: torch.ones(len(ims), 3, dtype=torch.float64),
                          lambda txts: torch.arange(2 * len(txts), dtype=torch.float16).reshape(-1, 2), id="t")
    out = enc.encode_texts(["a", "b"])
    assert out.dtype == np.float32 and isinstance(out, np.ndarray)
    np.testing.assert_array_equal(out, [[0, 1], [2, 3]])


# -- the real CUDA path (skipped without a GPU) ---------------------------------------------------
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_path_equals_numpy():
    img, txt = make_pairs(3001, 64, seed=11)
    for grid in (7, 256):
        ref = similarity.block_mean_similarity(img, txt, grid, device=None)
        got = similarity.block_mean_similarity(img, txt, grid, device="cuda")
        np.testing.assert_allclose(got.values, ref.values, rtol=RTOL, atol=ATOL)
    tile = dict(row_range=(100, 4000), col_range=(2000, 6002), grid=33)
    np.testing.assert_allclose(similarity.level_of_detail_tile(img, txt, device="cuda", **tile).values,
                               similarity.level_of_detail_tile(img, txt, device=None, **tile).values,
                               rtol=RTOL, atol=ATOL)
    ref_stats, got_stats = outliers.pair_statistics(img, txt, None), outliers.pair_statistics(img, txt, "cuda")
    for key in ref_stats:
        np.testing.assert_allclose(got_stats[key], ref_stats[key], rtol=RTOL, atol=ATOL)
    iu, tu = _units(img), _units(txt)
    for scale in (1.0, 100.0, 2000.0):
        for g, r in zip(losses.symmetric_lse(iu, tu, scale, device="cuda"), losses.symmetric_lse(iu, tu, scale)):
            np.testing.assert_allclose(g, r, rtol=RTOL, atol=ATOL * scale)
    ref_read, got_read = readouts.gap_readout(img, txt, 50.0, device=None), readouts.gap_readout(img, txt, 50.0, device="cuda")
    assert got_read["loss_before"] == pytest.approx(ref_read["loss_before"], rel=RTOL)
    assert got_read["loss_after"] == pytest.approx(ref_read["loss_after"], rel=RTOL)
