"""Precompute engines: what encodes the shards of :func:`amumo_ng.store.cache.embed`.

An engine has three steps, called by ``embed`` in this order:

- ``start()``: get ready before anything is written (the Ray engine connects here, or starts a
  local cluster; an address that does not answer fails here, within seconds);
- ``encode(plan, dataset, encoder, progress)``: encode ``plan.todo()`` and ``plan.save`` each
  finished shard; return the model's logit scale when the workers read it, else None;
- ``stop()``: release what ``start`` took.

``"local"`` encodes in this process, shard after shard; ``"ray"`` is
:class:`amumo_ng.store.ray_engine.RayEngine` (Ray Data, an actor pool).
"""
from __future__ import annotations

from typing import Optional

from .shards import ShardPlan, encode_shard

ENGINES = ("local", "ray")


class EngineError(RuntimeError):
    """A precompute engine cannot be used (Ray missing, a cluster that does not answer, a failed run)."""


class LocalEngine:
    """Encode the shards in this process, in dataset order, one after the other."""

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def encode(self, plan: ShardPlan, dataset, encoder, progress: bool = True) -> Optional[float]:
        from tqdm.auto import tqdm

        todo = plan.todo()
        captions = dataset.captions
        with tqdm(total=plan.n, initial=plan.pairs_done, unit="pair", desc=f"embed {dataset.id} with {encoder.id}",
                  disable=not progress or not todo) as bar:
            for shard in todo:
                img, txt = encode_shard(dataset, encoder, shard.start, shard.stop, captions)
                plan.save(shard, img, txt)
                bar.update(shard.size)
        return None


def make_engine(engine, *, address: Optional[str] = None, actors: Optional[int] = None):
    """The engine named ``engine`` ("local" or "ray"), or ``engine`` itself when it already is one.

    ``address`` (a Ray cluster, e.g. ``"10.0.0.5:6379"``, ``"ray://head:10001"`` or ``"auto"``) and
    ``actors`` (encoder actors) apply to the Ray engine only. Nothing connects here: see ``start``.
    """
    if not isinstance(engine, str):
        if all(callable(getattr(engine, m, None)) for m in ("start", "encode", "stop")):
            return engine
        raise TypeError(f"engine must be one of {ENGINES} or an engine object, got {type(engine).__name__}")
    if engine == "local":
        if address is not None or actors is not None:
            raise ValueError("address= and actors= apply to engine='ray' only")
        return LocalEngine()
    if engine == "ray":
        from .ray_engine import RayEngine

        return RayEngine(address=address, actors=actors)
    raise ValueError(f"unknown engine {engine!r}; use one of {', '.join(ENGINES)}")
