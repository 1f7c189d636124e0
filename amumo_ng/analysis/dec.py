"""Deep embedded clustering (DEC; Xie, Girshick & Farhadi, 2016) in torch on the CPU.

DEC learns an encoder f and k centroids μ_j jointly:

1. an autoencoder x → z = f(x) → x̃ is trained on the reconstruction error (here end to end with the
   mean squared error; the paper pretrains a stacked *denoising* autoencoder layer by layer first);
2. the centroids start at k-means of the codes z (scikit-learn, ``n_init`` restarts);
3. soft assignments use a Student-t kernel, q_ij ∝ (1 + ‖z_i − μ_j‖²/α)^(−(α+1)/2) (α = 1);
4. the target distribution sharpens q, p_ij ∝ q_ij² / f_j with f_j = Σ_i q_ij (cluster frequencies);
5. the encoder and the centroids minimise KL(P ‖ Q) = Σ_ij p_ij log(p_ij / q_ij) by Adam, P being
   recomputed every ``update_interval`` steps and held fixed in between, until fewer than ``tol``
   of the hard labels argmax_j q_ij change between two updates.

Inputs are the rows to cluster [n, D] (e.g. unit image vectors); the decoder is discarded after step 1.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .reduction_torch import TRAIN_THREADS, torch_threads
from .validation import EmbeddingError, as_matrix

__all__ = ["student_t_assignment", "target_distribution", "fit_dec", "DECResult"]


def student_t_assignment(z, centroids, alpha: float = 1.0):
    """Soft assignments q [n, k] of codes ``z`` [n, c] to ``centroids`` [k, c] by a Student-t kernel
    with ``alpha`` degrees of freedom: q_ij = (1 + ‖z_i − μ_j‖²/α)^(−(α+1)/2), rows summed to 1.
    torch tensors in, a tensor out (differentiable); numpy in, float64 numpy out."""
    import torch

    was_numpy = not isinstance(z, torch.Tensor)
    z_t = torch.as_tensor(np.asarray(z, dtype=np.float64)) if was_numpy else z
    mu = torch.as_tensor(np.asarray(centroids, dtype=np.float64)) if was_numpy else centroids
    squared = ((z_t[:, None, :] - mu[None, :, :]) ** 2).sum(dim=2)
    kernel = (1.0 + squared / alpha) ** (-(alpha + 1.0) / 2.0)
    q = kernel / kernel.sum(dim=1, keepdim=True)
    return q.numpy() if was_numpy else q


def target_distribution(q):
    """DEC's target p_ij = (q_ij² / f_j) / Σ_j' (q_ij'² / f_j'), f_j = Σ_i q_ij, of soft assignments
    ``q`` [n, k] (torch or numpy; the same type back)."""
    weight = q ** 2 / q.sum(0)
    return weight / weight.sum(1, keepdims=True) if isinstance(q, np.ndarray) else weight / weight.sum(1, keepdim=True)


@dataclass(frozen=True)
class DECResult:
    """``labels`` int64 [n] (argmax of q); ``q`` float32 [n, k]; ``centroids`` float32 [k, c] and
    ``codes`` float32 [n, c] in the encoder's space; ``initial_labels``: the k-means labels DEC
    started from; ``iterations``: KL steps taken; ``converged``: the label change fell below ``tol``;
    ``reconstruction_loss``: float [pretrain epochs]; ``kl``: float [target updates]."""

    labels: np.ndarray
    q: np.ndarray
    centroids: np.ndarray
    codes: np.ndarray
    initial_labels: np.ndarray
    iterations: int
    converged: bool
    reconstruction_loss: np.ndarray
    kl: np.ndarray


def _autoencoder(d: int, hidden: tuple, latent: int):
    from torch import nn

    sizes = [d, *hidden, latent]
    enc, dec = [], []
    for a, b in zip(sizes[:-1], sizes[1:]):
        enc += [nn.Linear(a, b), nn.ReLU()]
    for a, b in zip(sizes[::-1][:-1], sizes[::-1][1:]):
        dec += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*enc[:-1]), nn.Sequential(*dec[:-1])  # linear code and linear reconstruction


def fit_dec(x, k: int, *, latent_dim: int = 10, hidden: tuple = (256, 128), pretrain_epochs: int = 60,
            max_iterations: int = 2000, update_interval: int = 50, tol: float = 0.001, batch_size: int = 256,
            lr: float = 1e-3, alpha: float = 1.0, n_init: int = 10, seed: int = 0,
            threads: int = TRAIN_THREADS) -> DECResult:
    """DEC of the rows ``x`` [n, D] into ``k`` clusters (see the module for the steps).

    ``latent_dim``/``hidden``: the autoencoder D → hidden… → latent_dim (ReLU between layers);
    ``pretrain_epochs`` of MSE over shuffled batches; then at most ``max_iterations`` KL steps on
    batches of ``batch_size`` rows, the target recomputed every ``update_interval`` steps; stop when
    the share of changed labels < ``tol``. Adam with ``lr`` in both phases. Deterministic for a ``seed``
    (torch's global generator is restored afterwards); ``threads``: torch intra-op threads while it runs
    (:func:`~.reduction_torch.torch_threads`). Raises :class:`EmbeddingError` for k > n or k < 1.
    """
    x = as_matrix(x, "vectors to cluster", allow_zero_rows=True)
    with torch_threads(threads):
        return _fit_dec(x, k, latent_dim, hidden, pretrain_epochs, max_iterations, update_interval, tol, batch_size,
                        lr, alpha, n_init, seed)


def _fit_dec(x, k, latent_dim, hidden, pretrain_epochs, max_iterations, update_interval, tol, batch_size, lr, alpha,
             n_init, seed) -> DECResult:
    import torch
    from sklearn.cluster import KMeans

    n = x.shape[0]
    if isinstance(k, bool) or int(k) != k or not 1 <= int(k) <= n:
        raise EmbeddingError(f"k must be an integer in 1..n = {n}, got {k!r}")
    k = int(k)
    data = torch.from_numpy(x)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        encoder, decoder = _autoencoder(x.shape[1], tuple(int(h) for h in hidden), int(latent_dim))
    generator = torch.Generator().manual_seed(int(seed))
    optimizer = torch.optim.Adam([*encoder.parameters(), *decoder.parameters()], lr=lr)
    rec_losses = []
    for _ in range(int(pretrain_epochs)):
        order, total = torch.randperm(n, generator=generator), 0.0
        for s in range(0, n, int(batch_size)):
            batch = data[order[s:s + int(batch_size)]]
            loss = ((decoder(encoder(batch)) - batch) ** 2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * batch.shape[0]
        rec_losses.append(total / n)
    with torch.no_grad():
        codes = encoder(data)
    kmeans = KMeans(n_clusters=k, n_init=int(n_init), random_state=int(seed)).fit(codes.numpy().astype(np.float64))
    initial = kmeans.labels_.astype(np.int64)
    centroids = torch.nn.Parameter(torch.from_numpy(kmeans.cluster_centers_.astype(np.float32)))
    optimizer = torch.optim.Adam([*encoder.parameters(), centroids], lr=lr)
    labels, kls, converged, step = initial.copy(), [], False, 0
    target = None
    while step < int(max_iterations):
        if step % int(update_interval) == 0:
            with torch.no_grad():
                q_all = student_t_assignment(encoder(data), centroids, alpha)
                target = target_distribution(q_all)
                kls.append(float((target * (target.clamp_min(1e-12).log() - q_all.clamp_min(1e-12).log())).sum() / n))
            new_labels = q_all.argmax(1).numpy().astype(np.int64)
            changed = float(np.mean(new_labels != labels))
            labels = new_labels
            if step > 0 and changed < tol:
                converged = True
                break
        batch = torch.randint(0, n, (min(int(batch_size), n),), generator=generator)
        q = student_t_assignment(encoder(data[batch]), centroids, alpha)
        p = target[batch]
        loss = (p * (p.clamp_min(1e-12).log() - q.clamp_min(1e-12).log())).sum() / batch.numel()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        step += 1
    with torch.no_grad():
        codes = encoder(data)
        q_all = student_t_assignment(codes, centroids, alpha)
    return DECResult(labels=q_all.argmax(1).numpy().astype(np.int64), q=q_all.numpy().astype(np.float32),
                     centroids=centroids.detach().numpy().astype(np.float32), codes=codes.numpy().astype(np.float32),
                     initial_labels=initial, iterations=step, converged=converged,
                     reconstruction_loss=np.asarray(rec_losses), kl=np.asarray(kls))
