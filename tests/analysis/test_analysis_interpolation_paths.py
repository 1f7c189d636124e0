"""interpolation_path / path_endpoints / modality_mean against formulas computed here in float64."""
from __future__ import annotations

import math

import numpy as np
import pytest

from amumo_ng.analysis import EmbeddingError, interpolation_path, modality_mean, path_endpoints
from amumo_ng.analysis.interpolation_paths import InterpolationPath, Path
from amumo_ng.store import Embeddings


def _vectors(d=6, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=d).astype(np.float32) * 3, rng.normal(size=d).astype(np.float32)


def _norm(v):
    return math.sqrt(sum(float(x) * float(x) for x in v))


def test_lerp_path_matches_the_formula_and_reproduces_the_study_spacing():
    a, b = _vectors()
    path = interpolation_path(a, b, steps=50, method="lerp")
    assert isinstance(path, InterpolationPath) and Path is InterpolationPath
    assert path.t.dtype == np.float64 and path.vectors.dtype == np.float32
    assert path.vectors.shape == (50, 6) and path.steps == 50 and path.dim == 6
    assert not path.unit and path.method == "lerp" and path.mean is None and path.alpha == 0.0
    # 48 in-betweens strictly inside (0, 1) plus the two ends, evenly spaced by 1/49
    assert path.t[0] == 0.0 and path.t[-1] == 1.0
    assert np.sum((path.t > 0) & (path.t < 1)) == 48
    np.testing.assert_allclose(np.diff(path.t), 1 / 49, rtol=1e-12)
    for i in (0, 1, 24, 49):
        t = i / 49
        expected = [(1 - t) * float(x) + t * float(y) for x, y in zip(a, b)]
        np.testing.assert_allclose(path.vectors[i], expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(path.start, a)
    np.testing.assert_array_equal(path.end, b)


def test_default_is_ten_slerp_steps_of_unit_vectors_at_constant_angular_speed():
    a, b = _vectors(seed=1)
    path = interpolation_path(a, b)
    assert path.steps == 10 and path.method == "slerp" and path.unit
    norms = np.linalg.norm(path.vectors.astype(np.float64), axis=1)
    np.testing.assert_allclose(norms, 1.0, atol=1e-6)
    a_hat = [float(x) / _norm(a) for x in a]
    b_hat = [float(x) / _norm(b) for x in b]
    omega = math.acos(sum(p * q for p, q in zip(a_hat, b_hat)))
    for i, t in enumerate(path.t):
        # angle to â grows as t·ω and the vector stays in the plane of â, b̂
        cos_to_a = sum(float(v) * p for v, p in zip(path.vectors[i], a_hat))
        assert cos_to_a == pytest.approx(math.cos(t * omega), abs=1e-5)
        expected = [(math.sin((1 - t) * omega) * p + math.sin(t * omega) * q) / math.sin(omega)
                    for p, q in zip(a_hat, b_hat)]
        np.testing.assert_allclose(path.vectors[i], expected, atol=1e-5)


def test_vslerp_path_is_the_published_formula_with_the_mean_lift():
    a, b = _vectors(seed=2)
    mean = np.array([0.5, -1.0, 2.0, 0.0, 0.3, 1.0], dtype=np.float32)
    alpha = 1.5
    path = interpolation_path(a, b, steps=7, method="vslerp", mean=mean, alpha=alpha)
    assert not path.unit and path.alpha == alpha
    np.testing.assert_array_equal(path.mean, mean)
    low = [float(x) - alpha * float(m) for x, m in zip(a, mean)]
    high = [float(x) - alpha * float(m) for x, m in zip(b, mean)]
    omega = math.acos(sum(p * q for p, q in zip(low, high)) / (_norm(low) * _norm(high)))
    for i, t in enumerate(path.t):
        expected = [(math.sin((1 - t) * omega) * p + math.sin(t * omega) * q) / math.sin(omega) + alpha * float(m)
                    for p, q, m in zip(low, high, mean)]
        np.testing.assert_allclose(path.vectors[i], expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(path.vectors[0], a, atol=1e-5)
    np.testing.assert_allclose(path.vectors[-1], b, atol=1e-5)


@pytest.mark.parametrize("steps", [1, 0, -3, 513, 2.5, True, "10"])
def test_steps_out_of_range_are_refused(steps):
    a, b = _vectors()
    with pytest.raises(EmbeddingError, match="steps must be"):
        interpolation_path(a, b, steps=steps)


def test_bounds_of_steps_are_accepted():
    a, b = _vectors()
    assert interpolation_path(a, b, steps=2, method="lerp").steps == 2
    assert interpolation_path(a, b, steps=512, method="lerp").steps == 512


def test_bad_inputs_get_clear_messages():
    a, b = _vectors()
    with pytest.raises(EmbeddingError, match="same vector"):
        interpolation_path(a, a.copy(), method="lerp")
    with pytest.raises(EmbeddingError, match="same direction"):
        interpolation_path(a, 2 * a, method="slerp")
    assert interpolation_path(a, 2 * a, method="lerp").steps == 10  # lengths differ: a real lerp path
    with pytest.raises(EmbeddingError, match="opposite directions"):
        interpolation_path(a, -a, method="slerp")
    with pytest.raises(EmbeddingError, match="differ in dimension: 6 vs 5"):
        interpolation_path(a, b[:5])
    with pytest.raises(EmbeddingError, match="method must be one of"):
        interpolation_path(a, b, method="cubic")
    with pytest.raises(EmbeddingError, match="needs mean="):
        interpolation_path(a, b, method="vslerp", alpha=1.0)
    with pytest.raises(EmbeddingError, match="vslerp.* only"):
        interpolation_path(a, b, method="lerp", mean=np.zeros(6))
    with pytest.raises(EmbeddingError, match="vslerp.* only"):
        interpolation_path(a, b, method="slerp", alpha=0.5)
    bad = a.copy()
    bad[0] = np.nan
    with pytest.raises(EmbeddingError, match="NaN"):
        interpolation_path(bad, b)
    with pytest.raises(EmbeddingError, match="1-D"):
        interpolation_path(a[None], b[None])


class _StubEncoder:
    """Text i of a prompt → a fixed vector made from its characters (computed independently below)."""

    id = "stub-encoder"

    def __init__(self):
        self.calls = []

    def encode_texts(self, texts):
        self.calls.append(list(texts))
        return np.array([[len(t), t.count("r"), 1.0, ord(t[0])] for t in texts], dtype=np.float32)

    def encode_images(self, images):
        return np.ones((len(images), 4), dtype=np.float32)


def _embeddings(encoder=None):
    rng = np.random.default_rng(5)
    image = rng.normal(size=(8, 4)).astype(np.float32) + 2
    text = rng.normal(size=(8, 4)).astype(np.float32) - 2
    return Embeddings.from_arrays(image, text, captions=[f"caption {i}" for i in range(8)], encoder=encoder,
                                  model_id="stub-model")


def test_path_endpoints_resolve_prompts_captions_and_images():
    encoder = _StubEncoder()
    emb = _embeddings(encoder)
    ends = path_endpoints(emb, {"text": "a red circle"}, {"image": 3})
    np.testing.assert_array_equal(ends.start, [12, 2, 1, ord("a")])
    assert encoder.calls == [["a red circle"]]
    np.testing.assert_array_equal(ends.end, emb.image[3])
    assert (ends.start_modality, ends.end_modality, ends.modality) == ("text", "image", "mixed")
    assert ends.model_id == "stub-model" and "a red circle" in ends.start_label and ends.end_label == "image 3"
    ends = path_endpoints(emb, {"caption": 1}, {"caption": np.int64(6)})
    np.testing.assert_array_equal(ends.start, emb.text[1])
    np.testing.assert_array_equal(ends.end, emb.text[6])
    assert ends.modality == "text" and ends.start_label == "caption 1: caption 1"
    assert ends.start.dtype == np.float32


def test_path_endpoints_refuse_bad_specs():
    emb = _embeddings(_StubEncoder())
    with pytest.raises(EmbeddingError, match="prompt is empty"):
        path_endpoints(emb, {"text": "   "}, {"image": 0})
    with pytest.raises(EmbeddingError, match="out of range"):
        path_endpoints(emb, {"caption": 8}, {"image": 0})
    with pytest.raises(EmbeddingError, match="out of range"):
        path_endpoints(emb, {"caption": -1}, {"image": 0})
    with pytest.raises(EmbeddingError, match="integer pair index"):
        path_endpoints(emb, {"image": 1.0}, {"image": 0})
    with pytest.raises(EmbeddingError, match="expected one of"):
        path_endpoints(emb, {"sound": 1}, {"image": 0})
    with pytest.raises(EmbeddingError, match="expected one of"):
        path_endpoints(emb, {"image": 1, "caption": 2}, {"image": 0})
    with pytest.raises(EmbeddingError, match="no encoder"):
        path_endpoints(_embeddings(None), {"text": "a red circle"}, {"image": 0})
    with pytest.raises(EmbeddingError, match="RAW"):
        path_endpoints(emb.normalized(), {"image": 1}, {"image": 0})


def test_modality_mean_is_the_raw_row_mean():
    emb = _embeddings()
    for modality in ("image", "text"):
        rows = getattr(emb, modality)
        expected = [sum(float(rows[i, j]) for i in range(emb.n)) / emb.n for j in range(emb.dim)]
        mean = modality_mean(emb, modality)
        assert mean.dtype == np.float32 and mean.shape == (4,)
        np.testing.assert_allclose(mean, expected, rtol=1e-6)
    with pytest.raises(EmbeddingError, match="'image' or 'text'"):
        modality_mean(emb, "audio")
    with pytest.raises(EmbeddingError, match="normalised"):
        modality_mean(emb.normalized(), "image")


def test_endpoints_feed_a_vslerp_path_with_the_modality_mean():
    emb = _embeddings()
    ends = path_endpoints(emb, {"image": 0}, {"image": 5})
    path = interpolation_path(ends.start, ends.end, steps=5, method="vslerp", mean=modality_mean(emb, "image"),
                              alpha=1.0)
    np.testing.assert_allclose(path.vectors[0], emb.image[0], atol=1e-5)
    np.testing.assert_allclose(path.vectors[-1], emb.image[5], atol=1e-5)
