"""Contrastive losses against plain-Python loops (math.exp / math.log), gradients, bad input."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from amumo_ng.analysis.losses import (
    clip_loss,
    cloob_loss,
    contrastive_loss,
    cyclip_loss,
    hopfield_retrieval,
    info_loob,
)
from amumo_ng.analysis.validation import EmbeddingError


# -- brute-force references (lists of floats, no numpy maths) ---------------------------
def unit(rows):
    out = []
    for r in rows:
        norm = math.sqrt(sum(v * v for v in r))
        out.append([v / norm for v in r])
    return out


def dot(a, b):
    return sum(x * y for x, y in zip(a, b))


def ce_rows(logits):
    """Sum over rows i of -log softmax(row i)[i]."""
    total = 0.0
    for i, row in enumerate(logits):
        total += -(row[i] - math.log(sum(math.exp(v) for v in row)))
    return total


def brute_infonce(img, txt, s):
    """Mean of the i->t and t->i cross-entropies of s * <I_i, T_j> (rows normalised here)."""
    I, T = unit(img), unit(txt)
    n = len(I)
    L = [[s * dot(I[i], T[j]) for j in range(n)] for i in range(n)]
    Lt = [[L[j][i] for j in range(n)] for i in range(n)]
    return 0.5 * (ce_rows(L) + ce_rows(Lt)) / n


def brute_cyclip(img, txt, s, l_in, l_cross):
    I, T = unit(img), unit(txt)
    n = len(I)
    in_modal = sum((dot(I[j], I[k]) - dot(T[j], T[k])) ** 2 for j in range(n) for k in range(n)) / n
    cross = sum((dot(I[j], T[k]) - dot(I[k], T[j])) ** 2 for j in range(n) for k in range(n)) / n
    return brute_infonce(img, txt, s) + l_in * in_modal + l_cross * cross


def brute_hopfield(state, memory, beta):
    X, M = unit(state), unit(memory)
    out = []
    for x in X:
        weights = [math.exp(beta * dot(x, m)) for m in M]
        z = sum(weights)
        out.append([sum(w / z * m[c] for w, m in zip(weights, M)) for c in range(len(x))])
    return unit(out)


def brute_info_loob(anchor, other, inv_tau):
    """tau * mean_i [log sum_{j != i} exp(inv_tau <A_i, B_j>) - inv_tau <A_i, B_i>], tau = 1 / inv_tau."""
    A, B = unit(anchor), unit(other)
    n = len(A)
    total = 0.0
    for i in range(n):
        pos = inv_tau * dot(A[i], B[i])
        neg = math.log(sum(math.exp(inv_tau * dot(A[i], B[j])) for j in range(n) if j != i))
        total += neg - pos
    return (1.0 / inv_tau) * total / n


def reference_info_loob(x, y, inv_tau):
    """Transcription of infoLOOB_loss in ml-jku/cloob src/training/methods.py (x, y: unit rows)."""
    x, y = torch.tensor(x, dtype=torch.float64), torch.tensor(y, dtype=torch.float64)
    i = torch.eye(x.shape[0], dtype=torch.float64)
    tau = 1 / inv_tau
    k = x @ y.T / tau
    positives = -torch.mean(torch.sum(k * i, dim=1))
    large_neg = -1000.0
    arg_lse = k * torch.logical_not(i) + i * large_neg
    negatives = torch.mean(torch.logsumexp(arg_lse, dim=1))
    return float(tau * (positives + negatives))


def brute_cloob(img, txt, inv_tau, beta):
    u_x, u_y = brute_hopfield(img, img, beta), brute_hopfield(txt, img, beta)
    v_x, v_y = brute_hopfield(img, txt, beta), brute_hopfield(txt, txt, beta)
    return brute_info_loob(u_x, u_y, inv_tau) + brute_info_loob(v_y, v_x, inv_tau)


def pairs(n=9, d=5, seed=0, noise=0.8):
    rng = np.random.default_rng(seed)
    img = rng.normal(size=(n, d)) * rng.uniform(0.5, 3.0, size=(n, 1))  # raw: unequal norms
    txt = img + noise * rng.normal(size=(n, d))
    return img, txt


# -- training objectives ------------------------------------------------------------------
@pytest.mark.parametrize("seed,scale", [(0, 1.0), (1, 14.3), (2, 100.0)])
def test_clip_loss_matches_loops(seed, scale):
    img, txt = pairs(seed=seed)
    expected = brute_infonce(img.tolist(), txt.tolist(), scale)
    assert clip_loss(img, txt, scale) == pytest.approx(expected, rel=1e-9)
    got = clip_loss(torch.tensor(img), torch.tensor(txt), torch.tensor(scale, dtype=torch.float64))
    assert float(got) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("l_in,l_cross", [(0.25, 0.25), (1.0, 0.0), (0.0, 2.0)])
def test_cyclip_loss_matches_loops(l_in, l_cross):
    img, txt = pairs(seed=3)
    expected = brute_cyclip(img.tolist(), txt.tolist(), 20.0, l_in, l_cross)
    assert cyclip_loss(img, txt, 20.0, l_in, l_cross) == pytest.approx(expected, rel=1e-9)


def test_cyclip_regularisers_vanish_for_identical_modalities():
    img, _ = pairs(seed=4)
    assert cyclip_loss(img, img, 10.0) == pytest.approx(clip_loss(img, img, 10.0), rel=1e-12)


def test_hopfield_retrieval_matches_loops():
    state, _ = pairs(n=6, seed=5)
    memory, _ = pairs(n=8, seed=6)  # a memory of another size
    got = hopfield_retrieval(state, memory, 8.0)
    np.testing.assert_allclose(got, brute_hopfield(state.tolist(), memory.tolist(), 8.0), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, rtol=1e-12)


def test_info_loob_leaves_the_positive_out():
    img, txt = pairs(seed=7)
    assert info_loob(img, txt, 30.0) == pytest.approx(brute_info_loob(img.tolist(), txt.tolist(), 30.0), rel=1e-9)
    # two pairs: the denominator holds exactly the one other candidate
    a = np.array([[1.0, 0.0], [0.0, 1.0]])
    b = np.array([[1.0, 0.0], [0.6, 0.8]])
    expected = 0.5 * ((2 * 0.6 - 2 * 1.0) + (2 * 0.0 - 2 * 0.8)) / 2.0  # scaled by tau = 1/2
    assert info_loob(a, b, 2.0) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("inv_tau", [1.0, 14.3, 30.0])
def test_info_loob_matches_the_cloob_reference_including_tau(inv_tau):
    img, txt = pairs(seed=18)
    reference = reference_info_loob(unit(img.tolist()), unit(txt.tolist()), inv_tau)
    assert info_loob(img, txt, inv_tau) == pytest.approx(reference, rel=1e-9)
    # the pre-fix value was inv_tau times larger
    unscaled = sum(math.log(sum(math.exp(inv_tau * dot(a, b)) for j, b in enumerate(unit(txt.tolist())) if j != i))
                   - inv_tau * dot(a, unit(txt.tolist())[i]) for i, a in enumerate(unit(img.tolist()))) / len(img)
    assert info_loob(img, txt, inv_tau) == pytest.approx(unscaled / inv_tau, rel=1e-9)


def test_cloob_loss_is_the_sum_of_both_reference_directions():
    img, txt = pairs(n=6, seed=19)
    inv_tau, beta = 30.0, 8.0
    u_x, u_y = brute_hopfield(img.tolist(), img.tolist(), beta), brute_hopfield(txt.tolist(), img.tolist(), beta)
    v_x, v_y = brute_hopfield(img.tolist(), txt.tolist(), beta), brute_hopfield(txt.tolist(), txt.tolist(), beta)
    # reference cloob(): loss_img = infoLOOB(p_xx, p_xy), loss_txt = infoLOOB(p_yy, p_yx); returns their sum
    expected = reference_info_loob(u_x, u_y, inv_tau) + reference_info_loob(v_y, v_x, inv_tau)
    assert cloob_loss(img, txt, inv_tau, beta) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("inv_tau,beta", [(30.0, 8.0), (10.0, 2.0)])
def test_cloob_loss_matches_loops(inv_tau, beta):
    img, txt = pairs(n=7, seed=8)
    expected = brute_cloob(img.tolist(), txt.tolist(), inv_tau, beta)
    assert cloob_loss(img, txt, inv_tau, beta) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("fn", [
    lambda i, t: clip_loss(i, t, 7.0),
    lambda i, t: cyclip_loss(i, t, 7.0),
    lambda i, t: cloob_loss(i, t, 5.0, 3.0),
])
def test_torch_losses_are_differentiable(fn):
    img, txt = pairs(n=5, d=4, seed=9)
    ti = torch.tensor(img, requires_grad=True)
    tt = torch.tensor(txt, requires_grad=True)
    assert torch.autograd.gradcheck(fn, (ti, tt))


def test_learnable_scale_gets_a_gradient():
    img, txt = pairs(seed=10)
    log_scale = torch.tensor(math.log(10.0), dtype=torch.float64, requires_grad=True)
    loss = clip_loss(torch.tensor(img), torch.tensor(txt), log_scale.exp())
    loss.backward()
    assert log_scale.grad is not None and log_scale.grad != 0


def test_better_alignment_lowers_every_loss():
    img, txt_close = pairs(seed=11, noise=0.05)
    _, txt_far = pairs(seed=11, noise=3.0)
    for fn in (lambda t: clip_loss(img, t, 10.0), lambda t: cyclip_loss(img, t, 10.0), lambda t: cloob_loss(img, t)):
        assert fn(txt_close) < fn(txt_far)


# -- evaluation figure ----------------------------------------------------------------
def test_contrastive_loss_whole_set_equals_clip_loss():
    img, txt = pairs(n=12, seed=12)
    expected = brute_infonce(img.tolist(), txt.tolist(), 50.0)
    assert contrastive_loss(img.astype(np.float32), txt.astype(np.float32), 50.0) == pytest.approx(expected, rel=1e-5)


def test_contrastive_loss_batched_averages_over_pairs():
    img, txt = pairs(n=11, seed=13)
    s, bs = 30.0, 4  # batches of 4, 4, 3
    expected = sum(len(range(a, min(a + bs, 11))) * brute_infonce(img[a:a + bs].tolist(), txt[a:a + bs].tolist(), s)
                   for a in range(0, 11, bs)) / 11
    assert contrastive_loss(img, txt, s, batch_size=bs) == pytest.approx(expected, rel=1e-5)


def published_amumo_loss(image, text, logit_scale, batch_size=50):
    """From-scratch reimplementation of the published Amumo / Liang et al. procedure (torch)."""
    import torch.nn.functional as F

    image = torch.tensor(np.asarray(image, dtype=np.float64))
    text = torch.tensor(np.asarray(text, dtype=np.float64))
    image = image / image.norm(dim=-1, keepdim=True)
    text = text / text.norm(dim=-1, keepdim=True)
    losses = []
    for b in range(len(image) // batch_size):
        img_b = image[b * batch_size:(b + 1) * batch_size]
        txt_b = text[b * batch_size:(b + 1) * batch_size]
        logits_per_image = logit_scale * img_b @ txt_b.t()
        logits_per_text = logit_scale * txt_b @ img_b.t()
        ground_truth = torch.arange(len(img_b))
        total_loss = (F.cross_entropy(logits_per_image, ground_truth)
                      + F.cross_entropy(logits_per_text.t(), ground_truth)) / 2
        losses.append(total_loss.item())
    return float(np.mean(losses))


@pytest.mark.parametrize("n,bs", [(130, None), (100, 50), (57, 10)])
def test_compat_amumo_reproduces_the_published_procedure(n, bs):
    img, txt = pairs(n=n, d=6, seed=14)
    expected = published_amumo_loss(img, txt, 100.0, 50 if bs is None else bs)
    assert contrastive_loss(img, txt, 100.0, batch_size=bs, compat="amumo") == pytest.approx(expected, rel=1e-5)


def test_compat_amumo_counts_image_to_text_twice():
    # asymmetric case: image->text and text->image cross-entropies differ
    img, txt = pairs(n=50, d=6, seed=15, noise=1.5)
    I, T = unit(img.tolist()), unit(txt.tolist())
    L = [[20.0 * dot(I[i], T[j]) for j in range(50)] for i in range(50)]
    i2t = ce_rows(L) / 50
    t2i = ce_rows([[L[j][i] for j in range(50)] for i in range(50)]) / 50
    assert abs(i2t - t2i) > 0.05
    assert contrastive_loss(img, txt, 20.0, compat="amumo") == pytest.approx(i2t, rel=1e-5)
    assert contrastive_loss(img, txt, 20.0) == pytest.approx(0.5 * (i2t + t2i), rel=1e-5)


def test_compat_drops_the_remainder():
    img, txt = pairs(n=75, seed=16)
    whole = contrastive_loss(img[:50], txt[:50], 10.0, compat="amumo")
    assert contrastive_loss(img, txt, 10.0, compat="amumo") == pytest.approx(whole, rel=1e-12)


# -- bad input -----------------------------------------------------------------------------
def test_bad_inputs_raise_clear_errors():
    img, txt = pairs(n=10, seed=17)
    with pytest.raises(EmbeddingError, match="batches of 50"):
        contrastive_loss(img, txt, 10.0, compat="amumo")
    with pytest.raises(EmbeddingError, match="compat"):
        contrastive_loss(img, txt, 10.0, compat="liang")
    with pytest.raises(EmbeddingError, match="batch_size"):
        contrastive_loss(img, txt, 10.0, batch_size=0)
    with pytest.raises(EmbeddingError, match="scale"):
        contrastive_loss(img, txt, -1.0)
    with pytest.raises(EmbeddingError, match="logit_scale"):
        clip_loss(img, txt, float("nan"))
    bad = img.copy()
    bad[3, 1] = np.nan
    for fn in (lambda: clip_loss(bad, txt, 1.0), lambda: cyclip_loss(bad, txt, 1.0),
               lambda: cloob_loss(bad, txt), lambda: contrastive_loss(bad, txt, 1.0)):
        with pytest.raises(EmbeddingError, match="NaN"):
            fn()
    with pytest.raises(EmbeddingError, match="counts differ"):
        clip_loss(img, txt[:9], 1.0)
    with pytest.raises(EmbeddingError, match="dimension"):
        cloob_loss(img, txt[:, :3])
    with pytest.raises(EmbeddingError, match="counts differ"):
        clip_loss(torch.tensor(img), torch.tensor(txt[:9]), 1.0)
    with pytest.raises(EmbeddingError, match="at least 2"):
        info_loob(img[:1], txt[:1], 30.0)
    with pytest.raises(EmbeddingError, match="beta"):
        hopfield_retrieval(img, txt, 0.0)
    zero = img.copy()
    zero[0] = 0
    with pytest.raises(EmbeddingError, match="all-zero"):
        contrastive_loss(zero, txt, 1.0)
