"""GeometryPanel: its figures hold the analysis functions' output, follow the model, and hovering a
per-sample point hovers that pair in the session."""
from __future__ import annotations

import numpy as np
import pytest

from amumo_ng import analysis as A
from amumo_ng.session import Session
from amumo_ng.widgets.geometry_data import density_histogram, drawn_pairs, geometry_data, joint_edges
from amumo_ng.widgets.geometry_panel import GeometryPanel

from helpers_widgets import make_embeddings

ALPHAS = [-1.0, -0.5, 0.0, 0.5, 1.0]


@pytest.fixture(scope="module")
def models():
    return {"gap": make_embeddings(n=60, d=8, seed=0, shift=2.0), "near": make_embeddings(n=40, d=8, seed=1, shift=0.2)}


def traces(fig, name=None, col=None):
    out = []
    for trace in fig.data:
        axis = trace.xaxis or "x"
        if (name is None or trace.name == name) and (col is None or axis == ("x" if col == 1 else f"x{col}")):
            out.append(trace)
    return out


def test_figures_hold_the_analysis_output(models):
    s = Session(models)
    panel = GeometryPanel(s, top_k=2, alphas=ALPHAS, bins=10)
    emb = models["gap"]
    sep = A.feature_separability(emb.image, emb.text)
    # separability sorted
    (line,) = panel.figures["separability"].data
    np.testing.assert_allclose(line.y, sep.sep[sep.order])
    np.testing.assert_array_equal(line.customdata, sep.order)
    # feature histograms of the top 2 features: densities over the joint range
    f0 = int(sep.order[0])
    bars = traces(panel.figures["features"], "image", col=1)[0]
    centres, density = density_histogram(emb.image[:, f0], joint_edges(emb.image[:, f0], emb.text[:, f0]))
    np.testing.assert_allclose(bars.x, centres)
    np.testing.assert_allclose(bars.y, density)
    # the SVM scatter and its line
    svm = A.separating_svm(emb.image, emb.text)
    images = traces(panel.figures["features"], "images")[0]
    np.testing.assert_allclose(images.x, emb.image[:, svm.features[0]])
    np.testing.assert_allclose(images.y, emb.image[:, svm.features[1]])
    svm_line = traces(panel.figures["features"], "SVM decision line")[0]
    np.testing.assert_allclose(svm_line.y, svm.line_y(np.asarray(svm_line.x)))
    assert f"accuracy {svm.accuracy:.1%}" in panel.figures["features"].layout.title.text
    # C vs C-hat with a, b, Pearson in the legend
    est = A.estimated_conformity(emb.image)
    scatter = panel.figures["conformity"].data[0]
    np.testing.assert_allclose(scatter.y, est.conformity, rtol=1e-6)
    np.testing.assert_allclose(scatter.x, est.estimate, rtol=1e-6)
    assert f"a = {est.a:.3f}, b = {est.b:.3f}, Pearson {est.pearson:.4f}" in scatter.name
    # loss vs alpha, both panels
    curve = A.mean_shift_loss(emb.image, emb.text, emb.logit_scale, alphas=ALPHAS)
    loss = panel.figures["loss"]
    np.testing.assert_allclose(traces(loss, "uniformity")[0].y, curve.uniformity)
    np.testing.assert_allclose(traces(loss, "alignment")[0].y, curve.alignment)
    np.testing.assert_allclose(traces(loss, "misclassified")[0].y, curve.misclassified, equal_nan=True)
    np.testing.assert_allclose(traces(loss, "correct")[0].y, curve.correct, equal_nan=True)
    # KL vs alpha
    kl = A.conformity_kl_curve(emb.image, emb.text, alphas=ALPHAS, bins=10)
    np.testing.assert_allclose(panel.figures["kl"].data[0].y, kl.kl)
    # norms raw and mean-subtracted, ODD profile
    norms = A.sample_norms(emb.text)
    centred = traces(panel.figures["norms"], "text", col=2)[0]
    edges = joint_edges(A.sample_norms(emb.image).centered, norms.centered)
    np.testing.assert_allclose(centred.y, density_histogram(norms.centered, edges)[1])
    odd_i = A.off_diagonal_dominance(emb.image)
    odd_trace = traces(panel.figures["odd"], "image", col=2)[0]
    np.testing.assert_allclose(odd_trace.y, np.sort(odd_i.odd)[::-1])
    assert "60 pairs × 8" in panel.status.value and "all pairs drawn" in panel.status.value


def test_model_switch_redraws_and_switching_back_uses_the_cache(models):
    s = Session(models)
    panel = GeometryPanel(s, alphas=ALPHAS, bins=10)
    first = panel.data
    s.model = "near"
    emb = models["near"]
    assert panel.data.model == "near" and panel.data.n == 40
    est = A.estimated_conformity(emb.text)
    np.testing.assert_allclose(panel.figures["conformity"].data[3].y, est.conformity, rtol=1e-6)
    assert "<b>near</b>" in panel.status.value
    s.model = "gap"
    assert panel.data is first
    panel.close()
    s.model = "near"
    assert panel.data is first  # no longer following


def test_hover_sets_the_session_hover_and_marks_the_pair(models):
    from amumo_ng.widgets import GeometryPanel as exported

    assert exported is GeometryPanel
    s = Session(models)
    panel = GeometryPanel(s, alphas=ALPHAS, bins=10, max_points=25)
    texts = traces(panel.figures["conformity"], "texts: " + panel.figures["conformity"].data[3].name[7:])[0]
    assert texts.customdata.size == 25
    panel.hover_point(texts, 7)
    assert s.hover == int(texts.customdata[7])
    pair = s.hover
    mark = [t for t in panel.figures["conformity"].data if t.name == "hovered pair"][1]
    est = panel.data.estimate[1]
    assert list(mark.x) == [pytest.approx(est.estimate[pair])] and list(mark.y) == [pytest.approx(est.conformity[pair])]
    images = traces(panel.figures["features"], "images")[0]
    panel.hover_point(images, 3)
    assert s.hover == int(images.customdata[3])
    s.hover = -1
    assert all(len(t.x) == 0 for t in panel.figures["features"].data if t.name == "hovered pair")


def test_large_sets_subsample_the_drawing_only():
    idx = drawn_pairs(10_000, 500)
    assert idx.size == 500 and np.all(np.diff(idx) > 0) and np.array_equal(idx, drawn_pairs(10_000, 500))
    emb = make_embeddings(n=300, d=6, seed=2)
    data = geometry_data("m", emb, alphas=[0.0], bins=8, max_points=50, loss_batch_limit=100)
    assert data.drawn.size == 50 and data.loss_batch == 100 and data.loss.batch_size == 100
    # statistics use every pair
    assert data.estimate[0].conformity.size == 300
    np.testing.assert_allclose(data.estimate[0].conformity, A.conformity(emb.image), rtol=1e-6)
    s = Session(emb)
    panel = GeometryPanel(s, alphas=[0.0], bins=8, max_points=50)
    assert "50 of 300 pairs drawn" in panel.status.value


def test_a_piece_that_fails_says_why_and_the_others_draw():
    from amumo_ng.store import Embeddings

    rng = np.random.default_rng(0)
    image = np.tile(rng.normal(size=(1, 5)), (20, 1))  # a constant image modality
    text = rng.normal(size=(20, 5)) + 1.0
    s = Session(Embeddings.from_arrays(image, text, captions=[f"c{i}" for i in range(20)], logit_scale=10.0))
    panel = GeometryPanel(s, alphas=[0.0, 0.5], bins=8)
    assert "estimate" in panel.data.errors and "constant" in panel.status.value
    assert panel.figures["conformity"].data == () and "conformity:" in panel.figures["conformity"].layout.title.text
    assert len(panel.figures["separability"].data) == 1 and len(panel.figures["kl"].data) == 2
