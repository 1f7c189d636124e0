"""How the lab's small torch trainings (contrastive map, neural MDS, DEC) use the CPU.

Their batches are small (a few hundred rows of at most a few hundred dimensions), where torch's
intra-op threads cost more in hand-offs than they gain; on a shared machine they can slow a fit down
by an order of magnitude (measured here: DEC of 600 × 32 rows, 2.3 s with one thread, 26 s with two
on two busy cores). :func:`torch_threads` runs a block with a given number of threads and restores
the previous setting afterwards (no lasting global change).
"""
from __future__ import annotations

from contextlib import contextmanager

__all__ = ["torch_threads", "TRAIN_THREADS"]

#: Intra-op threads of the lab's fits (their ``threads`` argument's default).
TRAIN_THREADS = 1


@contextmanager
def torch_threads(threads: int = TRAIN_THREADS):
    """Run the block with ``threads`` torch intra-op threads (>= 1), then restore the previous number."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(max(1, int(threads)))
    try:
        yield
    finally:
        torch.set_num_threads(previous)
