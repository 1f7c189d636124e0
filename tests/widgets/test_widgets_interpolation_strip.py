"""InterpolationStrip (kernel side): frames against a brute-force nearest neighbour, path_xy against a
numpy PCA, every refused input leaves the frames, background decoding and its cancellation."""
from __future__ import annotations

import io
import threading

import numpy as np
import pytest
from PIL import Image

import amumo_ng
from amumo_ng.analysis.interpolation_paths import interpolation_path
from amumo_ng.decoders import DecoderCancelled, RetrievalDecoder
from amumo_ng.session import Session
from amumo_ng.widgets import InterpolationStrip
from amumo_ng.widgets.interpolation_strip import format_spec, parse_spec
from amumo_ng.widgets.thumbnails import thumbnail


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    """200 shapes pairs embedded with toy-clip (its encoder attached, so prompts work)."""
    ds = amumo_ng.datasets.load("shapes", n=200, seed=0)
    return amumo_ng.embed(ds, "toy-clip", cache_dir=tmp_path_factory.mktemp("cache"), progress=False)


def unit(x):
    x = np.asarray(x, dtype=np.float64)
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def numpy_slerp(a, b, steps):
    """Great circle between the directions of a and b, written out (rows [steps, d])."""
    a, b = unit(a), unit(b)
    theta = np.arccos(np.clip(a @ b, -1, 1))
    t = np.linspace(0, 1, steps)[:, None]
    return (np.sin((1 - t) * theta) * a + np.sin(t * theta) * b) / np.sin(theta)


def brute_nearest(queries, rows):
    """(index, cosine) of the nearest row of each query, by an explicit loop over the rows."""
    rows_u, out = unit(rows), []
    for q in unit(queries):
        best, best_sim = -1, -np.inf
        for i, r in enumerate(rows_u):
            sim = float(np.dot(q, r))
            if sim > best_sim:
                best, best_sim = i, sim
        out.append((best, best_sim))
    return out


def assert_frames_match(strip, emb, path, image_queries=None):
    frames = strip.frames
    assert len(frames) == len(path)
    captions = brute_nearest(path, emb.text)
    images = brute_nearest(path if image_queries is None else image_queries, emb.image)
    text_u, image_u = unit(emb.text), unit(emb.image)
    for j, (f, (ci, cs), (ii, is_)) in enumerate(zip(frames, captions, images)):
        assert f["t"] == pytest.approx(j / (len(path) - 1))
        # duplicate captions have identical vectors: any of the tied rows is right
        assert f["caption"] == emb.captions[ci] and f["caption_similarity"] == pytest.approx(cs, abs=1e-5)
        assert float(unit(path[j]) @ text_u[f["caption_index"]]) == pytest.approx(cs, abs=1e-5)
        assert f["image_similarity"] == pytest.approx(is_, abs=1e-5)
        q = unit(path[j] if image_queries is None else image_queries[j])
        assert float(q @ image_u[f["image_index"]]) == pytest.approx(is_, abs=1e-5)
        assert f["image_caption"] == emb.captions[f["image_index"]]


def thumbs(strip):
    off = np.frombuffer(strip.frame_image_offsets, np.uint32)
    return [strip.frame_images[a:b] for a, b in zip(off[:-1], off[1:])]


def test_slerp_between_two_captions_is_the_brute_force_nearest_neighbour(shapes):
    strip = InterpolationStrip(shapes, start="#3", end={"caption": 150}, steps=12)
    assert strip.strip_error == "" and strip.start_spec == {"caption": 3}
    assert_frames_match(strip, shapes, numpy_slerp(shapes.text[3], shapes.text[150], 12))
    assert strip.frames[0]["caption"] == shapes.captions[3] and strip.frames[-1]["caption"] == shapes.captions[150]
    # the thumbnails: one PNG per frame, the nearest image's
    blobs = thumbs(strip)
    assert len(blobs) == 12
    for f, blob in zip(strip.frames, blobs):
        assert blob == thumbnail(shapes, f["image_index"], 128).data and f["image_mime"] == "image/png"
        assert Image.open(io.BytesIO(blob)).size[0] <= 128
    assert strip.strip_info["start_label"].startswith("caption 3") and strip.strip_info["steps"] == 12


def test_image_to_prompt_path_and_close_gap(shapes):
    strip = InterpolationStrip(shapes, start={"image": 7}, end="a blue circle", steps=9)
    prompt = shapes.encoder.encode_texts(["a blue circle"])[0]
    path = numpy_slerp(shapes.image[7], prompt, 9)
    assert_frames_match(strip, shapes, path)
    assert strip.frames[0]["image_index"] == 7 and strip.frames[0]["image_similarity"] == pytest.approx(1.0, abs=1e-5)
    # close the gap: images of the frames' text share, shifted by the gap vector of all pairs
    strip.close_gap = True
    gap = unit(shapes.image).mean(0) - unit(shapes.text).mean(0)
    w = np.linspace(0, 1, 9)[:, None]  # image end (0) -> text end (1)
    assert_frames_match(strip, shapes, path, image_queries=unit(unit(path) + w * gap))
    assert strip.strip_info["close_gap"] is True


def test_path_xy_is_the_numpy_pca_of_the_path(shapes):
    strip = InterpolationStrip(shapes, start="a red circle", end={"image": 11}, steps=7)
    # the vectors the session projects: the unit rows of every pair, images then texts
    rows = np.vstack([unit(shapes.image), unit(shapes.text)])
    mean = rows.mean(0)
    _, _, vt = np.linalg.svd(rows - mean, full_matrices=False)
    comps = vt[:2].T
    comps *= np.sign(comps[np.abs(comps).argmax(0), [0, 1]])  # the session's sign rule: largest loading > 0
    proj = strip.session.compute_projection("pca")
    assert np.allclose(proj.image_xy, (rows[:200] - mean) @ comps, atol=1e-4)
    path = numpy_slerp(shapes.encoder.encode_texts(["a red circle"])[0], shapes.image[11], 7)
    xy = strip.path_xy()
    assert xy.shape == (7, 2) and xy.dtype == np.float32
    assert np.allclose(xy, (path - mean) @ comps, atol=1e-4)
    assert np.allclose(xy[-1], proj.image_xy[11], atol=1e-4)  # the image end lands on its point
    strip.session.projection = "tsne"
    with pytest.raises(ValueError, match="t-SNE has no transform"):
        strip.path_xy()
    assert np.array_equal(strip.path_xy("pca"), xy)


def _library_message(fn):
    with pytest.raises(Exception) as info:
        fn()
    return str(info.value)


def test_each_bad_input_sets_strip_error_and_keeps_the_frames(shapes):
    strip = InterpolationStrip(shapes, start={"caption": 3}, end={"caption": 150}, steps=6)
    before = (list(strip.frames), strip.frame_images, strip.frame_image_offsets, dict(strip.strip_info),
              strip.strip_status)
    v = np.asarray(shapes.text[3], np.float64)
    decoder = RetrievalDecoder(shapes)
    cases = [
        ({"end_spec": {"caption": 3}}, lambda: interpolation_path(shapes.text[3], shapes.text[3], 6)),
        ({"end_spec": {"vector": (-v).tolist()}}, lambda: interpolation_path(v, -v, 6)),
        ({"steps": 1}, lambda: interpolation_path(v, -v + 1, 1)),
        ({"steps": 513}, lambda: interpolation_path(v, -v + 1, 513)),
        ({"end_spec": {"text": ""}}, lambda: amumo_ng.analysis.interpolation_paths.path_endpoints(
            shapes, {"caption": 3}, {"text": ""})),
        ({"end_spec": {"vector": [1.0] * 5}}, lambda: interpolation_path(v, np.ones(5), 6)),
        ({"start_spec": {"vector": [1.0] * 5}, "end_spec": {"vector": [2.0, 1, 1, 1, 1]}},
         lambda: decoder.check(np.ones((6, 5)))),
        ({"method": "cubic"}, lambda: interpolation_path(v, -v + 1, 6, "cubic")),
        ({"end_spec": {"caption": 999}}, lambda: amumo_ng.analysis.interpolation_paths.path_endpoints(
            shapes, {"caption": 3}, {"caption": 999})),
    ]
    for change, library in cases:
        expected = _library_message(library)
        with strip.hold_trait_notifications():
            for name, value in change.items():
                setattr(strip, name, value)
        assert strip.strip_error == expected, change
        assert (strip.frames, strip.frame_images, strip.frame_image_offsets, strip.strip_info,
                strip.strip_status) == before, change
        assert not strip.strip_busy
        # back to the good input: the error goes, the same frames come back
        with strip.hold_trait_notifications():
            strip.start_spec, strip.end_spec, strip.steps, strip.method = {"caption": 3}, {"caption": 150}, 6, "slerp"
        assert strip.strip_error == "" and strip.frames == before[0]


def test_background_decoding_and_cancel_by_a_new_change(shapes):
    strip = InterpolationStrip(shapes, start={"caption": 3}, end={"image": 40}, steps=5)
    real, gate, outcomes = strip._decode, [threading.Event()], []

    def gated(plan, cancel, report=None):  # a 300-frame decoding waits for the test to let it go on
        if plan.steps == 300:
            assert gate[0].wait(10)
        try:
            result = real(plan, cancel, report)
        except DecoderCancelled:
            outcomes.append("cancelled")
            raise
        outcomes.append(len(result["frames"]))
        return result

    strip._decode = gated
    strip.steps = 300  # > 50 steps: a worker thread
    assert strip.strip_busy and strip.strip_status.startswith("decoding 300 frames against 200 pairs")
    worker = strip._job[0]
    strip.steps = 8  # a new change cancels it; the stale result never lands
    assert len(strip.frames) == 8 and not strip.strip_busy and strip.strip_error == ""
    gate[0].set()
    worker.join(10)
    assert outcomes == [8, "cancelled"] and len(strip.frames) == 8
    gate[0] = threading.Event()
    strip.steps = 300
    worker = strip._job[0]
    strip.steps = 0  # a refused input cancels the decoding too; the 8 frames stay, and what they are
    gate[0].set()
    worker.join(10)
    assert outcomes[-1] == "cancelled" and len(strip.frames) == 8 and strip.strip_status.startswith("8 frames")
    assert not strip.strip_busy and strip.strip_error.startswith("steps must be between 2 and 512")
    strip.steps = 120
    assert strip.wait(30) and len(strip.frames) == 120 and len(thumbs(strip)) == 120
    assert strip.strip_status.startswith("120 frames")
    assert_frames_match(strip, shapes, numpy_slerp(shapes.text[3], shapes.image[40], 120))


def test_vslerp_and_lerp_paths_and_a_model_switch(shapes):
    from amumo_ng.analysis.interpolation_paths import modality_mean

    strip = InterpolationStrip(shapes, start={"image": 1}, end={"image": 2}, steps=5, method="vslerp", alpha=0.5)
    path = interpolation_path(shapes.image[1], shapes.image[2], 5, "vslerp", mean=modality_mean(shapes, "image"),
                              alpha=0.5)
    assert_frames_match(strip, shapes, path.vectors)
    strip.method = "lerp"  # alpha is vSLERP's only: ignored, not an error
    assert strip.strip_error == ""
    assert_frames_match(strip, shapes, interpolation_path(shapes.image[1], shapes.image[2], 5, "lerp").vectors)
    # another model of the session: the path is rebuilt in its space
    other = amumo_ng.store.Embeddings.from_arrays(shapes.image[:, :16], shapes.text[:, :16], shapes.captions,
                                                 model_id="cut")
    session = Session({"clip": shapes, "cut": other})
    strip2 = InterpolationStrip(session=session, start={"caption": 0}, end={"caption": 9}, steps=4)
    session.model = "cut"
    assert strip2.strip_info["model"] == "cut"
    assert_frames_match(strip2, other, numpy_slerp(other.text[0], other.text[9], 4))
    assert thumbs(strip2) == [b""] * 4  # no images attached


def test_parse_and_format_spec():
    assert parse_spec("#12") == {"caption": 12} and parse_spec(" i7 ") == {"image": 7}
    assert parse_spec("a red circle") == {"text": "a red circle"} and parse_spec("#x") == {"text": "#x"}
    for spec in ({"caption": 3}, {"image": 4}, {"text": "a blue circle"}):
        assert parse_spec(format_spec(spec)) == spec


def test_a_closed_strip_stops_following_the_session(shapes):
    session = Session(shapes)
    open_, closed = (InterpolationStrip(session=session, start={"caption": 3}, end={"caption": 150}, steps=4,
                                        close_gap=True) for _ in range(2))
    calls = {"open": 0, "closed": 0}
    for name, strip in (("open", open_), ("closed", closed)):
        strip.compute = lambda name=name, **_: calls.__setitem__(name, calls[name] + 1)
    closed.close()
    closed.close()  # twice is fine
    session.filter_pattern = "circle"  # the gap vector of the view changes: a strip closing the gap recomputes
    session.model = session.model
    assert calls == {"open": 1, "closed": 0}
