"""Neural MDS: a network g: R^D → R^D′ trained so that distances between reduced vectors match the
distances between the originals, d(i, j) ≈ e(g(i), g(j)), in torch on the CPU.

Both distances are cosine distances, 1 − cos (retrieval ranks by cosine). Two objectives:

- **isometric** (metric MDS): the normalised stress Σ (e_ij − d_ij)² / Σ d_ij² over the pairs of
  a batch; the reduced distances should equal the original ones.
- **isotonic** (non-metric MDS, Kruskal): only the rank order of the distances is to be kept. Each
  batch's disparities d̂ are the isotonic (monotone non-decreasing) regression of e on the order of d,
  and the loss is Kruskal's stress-1 squared, Σ (e_ij − d̂_ij)² / Σ e_ij², with d̂ held fixed.

Rows of a batch are drawn from the stacked unit training rows [Î; T̂], so image–image, text–text and
image–text distances are all fitted. The network is ``g(x) = (x − m) P + MLP(x)`` with P [D, D′]
started at the PCA axes of the training rows and the MLP's last layer at zero, so training starts
from PCA (plain MDS papers start from random weights; this start makes a few CPU epochs enough).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .reduction_methods import _stacked_units, check_dim, fit_pca
from .reduction_torch import TRAIN_THREADS, torch_threads
from .validation import EmbeddingError, as_matrix, l2_normalize, row_chunks

__all__ = ["NeuralMDSReduction", "fit_neural_mds", "cosine_distances", "isometric_stress",
           "isotonic_disparities", "isotonic_stress", "MDS_KINDS"]

MDS_KINDS = ("isometric", "isotonic")


def cosine_distances(z):
    """1 − cos between the rows of ``z`` (a torch tensor [b, k]): [b, b]."""
    unit = z / z.norm(dim=1, keepdim=True).clamp_min(1e-12)
    return 1.0 - unit @ unit.T


def _upper(matrix):
    import torch

    rows, cols = torch.triu_indices(matrix.shape[0], matrix.shape[1], offset=1)
    return matrix[rows, cols]


def isometric_stress(d_in, d_out):
    """Normalised metric stress Σ_{i<j} (d_out − d_in)² / Σ_{i<j} d_in² of two [b, b] torch distance
    matrices (only the strict upper triangles are read)."""
    target, got = _upper(d_in), _upper(d_out)
    return ((got - target) ** 2).sum() / (target ** 2).sum().clamp_min(1e-12)


def isotonic_disparities(d_in: np.ndarray, d_out: np.ndarray) -> np.ndarray:
    """Kruskal's disparities: the least-squares non-decreasing fit of ``d_out`` [m] as a function
    of the rank of ``d_in`` [m] (pool-adjacent-violators, scikit-learn), in the original order."""
    from sklearn.isotonic import isotonic_regression

    order = np.argsort(np.asarray(d_in), kind="stable")
    fitted = isotonic_regression(np.asarray(d_out, dtype=np.float64)[order], increasing=True)
    out = np.empty_like(fitted)
    out[order] = fitted
    return out


def isotonic_stress(d_in, d_out):
    """Kruskal's stress-1 squared Σ_{i<j} (d_out − d̂)² / Σ_{i<j} d_out² of two [b, b] torch distance
    matrices, d̂ the :func:`isotonic_disparities` (held constant: no gradient flows through them)."""
    import torch

    target, got = _upper(d_in), _upper(d_out)
    hat = torch.from_numpy(isotonic_disparities(target.detach().numpy(), got.detach().numpy())).to(got.dtype)
    return ((got - hat) ** 2).sum() / (got ** 2).sum().clamp_min(1e-12)


def _network(d: int, dim: int, hidden: int, pca):
    import torch
    from torch import nn

    class _MDSNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("mean", torch.from_numpy(pca.mean.copy()))
            self.linear = nn.Linear(d, dim, bias=False)
            self.mlp = nn.Sequential(nn.Linear(d, hidden), nn.GELU(), nn.Linear(hidden, dim))
            with torch.no_grad():
                self.linear.weight.copy_(torch.from_numpy(pca.components.T.copy()))
                self.mlp[2].weight.zero_()
                self.mlp[2].bias.zero_()

        def forward(self, x):
            return self.linear(x - self.mean) + self.mlp(x)

    return _MDSNet()


@dataclass(frozen=True, eq=False)
class NeuralMDSReduction:
    """A trained neural MDS map. ``method``: "nmds-isometric" or "nmds-isotonic"; ``net``: the torch
    module; ``losses``: float [epochs], the mean training stress of each epoch."""

    method: str
    net: Any
    losses: np.ndarray
    input_dim: int
    dim: int

    def transform(self, x) -> np.ndarray:
        """Reduce ``x`` [n, D] (raw or unit; rows are L2-normalised first) to float32 [n, D′]."""
        import torch

        x = as_matrix(x, "vectors to reduce")
        if x.shape[1] != self.input_dim:
            raise EmbeddingError(f"this {self.method} map reduces D = {self.input_dim} vectors, got D = {x.shape[1]}")
        out = np.empty((x.shape[0], self.dim), dtype=np.float32)
        with torch.no_grad():
            for start, stop in row_chunks(*x.shape):
                out[start:stop] = self.net(torch.from_numpy(l2_normalize(x[start:stop]))).numpy()
        return out


def fit_neural_mds(image, text, dim: int, kind: str = "isometric", *, hidden: int = 256, epochs: int = 30,
                   batch_size: int = 256, lr: float = 1e-3, seed: int = 0,
                   threads: int = TRAIN_THREADS) -> NeuralMDSReduction:
    """Train a neural MDS map D → ``dim`` on the stacked unit training rows [Î; T̂] (see the module).

    ``kind``: "isometric" (metric stress) or "isotonic" (Kruskal's non-metric stress); ``hidden``:
    width of the MLP; ``epochs`` passes of shuffled batches of ``batch_size`` rows (each batch gives
    b(b−1)/2 distance pairs); Adam with ``lr``; torch's generator and the network's initialisation
    seeded by ``seed`` (deterministic on the CPU); ``threads``: torch intra-op threads while it trains. Returns :class:`NeuralMDSReduction`.
    """
    import torch

    if kind not in MDS_KINDS:
        raise EmbeddingError(f"unknown neural MDS kind {kind!r}; choose one of {', '.join(MDS_KINDS)}")
    rows = _stacked_units(image, text)
    if rows.shape[0] < 3:
        raise EmbeddingError(f"neural MDS needs at least 3 training rows, got {rows.shape[0]}")
    dim = check_dim(dim, rows.shape[1])
    stress = isometric_stress if kind == "isometric" else isotonic_stress
    with torch.random.fork_rng(devices=[]):  # seeded initial weights; the global generator is restored after
        torch.manual_seed(int(seed))
        net = _network(rows.shape[1], dim, int(hidden), fit_pca(image, text, dim))
    generator = torch.Generator().manual_seed(int(seed))
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    data = torch.from_numpy(rows)
    losses = []
    with torch_threads(threads):
        for _ in range(int(epochs)):
            order = torch.randperm(data.shape[0], generator=generator)
            total, batches = 0.0, 0
            for s in range(0, data.shape[0], int(batch_size)):
                batch = data[order[s:s + int(batch_size)]]
                if batch.shape[0] < 3:
                    continue
                loss = stress(cosine_distances(batch), cosine_distances(net(batch)))
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total, batches = total + float(loss.detach()), batches + 1
            losses.append(total / max(1, batches))
    net.eval()
    return NeuralMDSReduction(f"nmds-{kind}", net, np.asarray(losses, dtype=np.float64), rows.shape[1], dim)
