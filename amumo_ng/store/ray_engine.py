"""Distributed precompute on Ray Data: the shards of :func:`amumo_ng.store.cache.embed` encoded by an actor pool.

``embed(dataset, encoder, engine="ray")`` (or ``amumo-ng precompute --engine ray``) turns the
shards still to do (:mod:`amumo_ng.store.shards`) into a Ray Dataset of one row per shard
(``start``, ``stop``) and runs ``map_batches`` over it with a fixed pool of actors
(:class:`ray.data.ActorPoolStrategy`). Each actor unpickles the dataset and the encoder once,
loads the model once (on its GPU when the cluster has GPUs: the actors then ask for one each, or a
share when there are more actors than GPUs) and encodes whole shards. The driver collects the
vectors as they stream back and writes each finished shard to the cache's ``.partial`` folder,
the very file the local engine writes; so a run that is interrupted (the driver killed, a failing
shard) resumes from its finished shards under either engine. An actor that dies mid-run is
restarted by Ray and its shard retried (Ray Data's actor pools default to ``max_restarts=-1`` and
``max_task_retries=-1``).

Workers need the images the dataset reads: the procedural ``shapes`` dataset renders them
anywhere; folder datasets need their paths on every node (a shared filesystem).
"""
from __future__ import annotations

import copy
import logging
import os
import socket
import sys
import threading
from contextlib import contextmanager
from typing import Callable, Optional

import numpy as np

from ..analysis.validation import EmbeddingError
from .engines import EngineError
from .shards import ShardPlan, encode_shard

INSTALL_HINT = "pip install 'amumo-ng[ray]'"


def import_ray():
    """The ``ray`` module with Ray Data, or :class:`EngineError` naming the extra to install."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as exc:
        raise EngineError(f"engine='ray' needs Ray Data, which is not installed: {INSTALL_HINT}") from exc
    return ray


def split_address(address: str) -> Optional[tuple[str, int]]:
    """``(host, port)`` of a Ray address (``"host:port"``, ``"ray://host:port"``), None for ``"auto"``.

    Raises :class:`EngineError` for an address of another form.
    """
    text = str(address).strip()
    if text in ("auto", "local"):
        return None
    rest = text[len("ray://"):] if text.startswith("ray://") else text
    host, sep, port = rest.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise EngineError(f"cannot read the Ray address {address!r}: expected HOST:PORT, ray://HOST:PORT or auto")
    return host.strip("[]"), int(port)


def check_reachable(address: str, timeout_s: float = 3.0) -> None:
    """Raise :class:`EngineError` unless something accepts a TCP connection at ``address`` within ``timeout_s``.

    Ray itself retries an address that does not answer for minutes; this check makes it seconds.
    """
    target = split_address(address)
    if target is None:
        return
    try:
        with socket.create_connection(target, timeout=timeout_s):
            pass
    except OSError as exc:
        raise EngineError(
            f"the Ray cluster at {address} does not answer ({exc.strerror or exc}; waited {timeout_s:g} s). "
            "Start one there with `ray start --head`, pass the right --address, or give no address to run "
            "on a local Ray cluster"
        ) from exc


def portable_encoder(encoder):
    """What travels to the actors for ``encoder``: a copy without its loaded weights when it can reload them.

    An open_clip encoder with a checkpoint file or a hub tag is sent unloaded (a few hundred bytes):
    each actor loads the weights once itself, on its own device (CUDA when it has a GPU and the
    encoder was not pinned to a device). Other encoders are sent as they are (pickled).
    """
    from ..models.open_clip_encoder import OpenCLIPEncoder

    if isinstance(encoder, OpenCLIPEncoder) and encoder._model is not None and (
        encoder._checkpoint is not None or encoder._tag is not None
    ):
        clone = copy.copy(encoder)
        clone._model = clone._preprocess = clone._tokenizer = None
        clone.__dict__.pop("_torch_device", None)
        return clone
    return encoder


def on_this_device(encoder):
    """``encoder`` with an already loaded, unpinned open_clip model moved to this process's device (CUDA
    when present): what an actor does with an encoder that travelled with its weights (a CyCLIP or
    CLOOB checkpoint wrapped by ``OpenCLIPEncoder.from_model``)."""
    from ..models.open_clip_encoder import OpenCLIPEncoder, pick_device

    if isinstance(encoder, OpenCLIPEncoder) and encoder._model is not None and encoder._device is None:
        import torch

        device = torch.device(pick_device(None))
        if getattr(encoder, "_torch_device", None) != device:
            encoder._model = encoder._model.to(device)
            encoder._torch_device = device
    return encoder


class ShardEncoder:
    """The Ray Data UDF, one instance per actor: the encoder is loaded once here, then whole shards encoded.

    Input batches hold ``start``/``stop`` of shards; the output has one row per pair: ``index``
    (int64), ``image`` and ``text`` (raw float32 [d]), ``logit_scale`` (the model's, as read here).
    """

    def __init__(self, dataset, encoder):
        from ..models.configs import register_toy_configs

        register_toy_configs()  # open_clip learns the shipped architectures per process (also inside wrappers)
        self.dataset = dataset
        self.encoder = on_this_device(encoder)
        self.captions = dataset.captions
        self.logit_scale = float(encoder.logit_scale)  # open_clip encoders load their weights here, once

    def __call__(self, batch: dict) -> dict:
        index, images, texts = [], [], []
        for start, stop in zip(batch["start"], batch["stop"]):
            img, txt = encode_shard(self.dataset, self.encoder, int(start), int(stop), self.captions)
            index.append(np.arange(int(start), int(stop), dtype=np.int64))
            images.append(img)
            texts.append(txt)
        index = np.concatenate(index)
        return {"index": index, "image": np.concatenate(images), "text": np.concatenate(texts),
                "logit_scale": np.full(index.size, self.logit_scale)}


class ShardCollector:
    """Gathers the rows streaming back from the actors into shards and saves each shard once it is complete.

    Rows may arrive in any order and, after a retried task, twice (the same values): a shard is
    saved when every one of its pairs has arrived, and later rows of a saved shard are ignored.
    """

    def __init__(self, plan: ShardPlan):
        self.plan = plan
        self.waiting = {s.index: s for s in plan.todo()}
        self.buffers: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self.logit_scale: Optional[float] = None

    def add(self, batch: dict) -> int:
        """Take one batch of rows; return how many pairs of newly completed shards it saved."""
        index = np.asarray(batch["index"], dtype=np.int64)
        if index.size == 0:
            return 0
        image, text = np.asarray(batch["image"]), np.asarray(batch["text"])
        self.logit_scale = float(np.asarray(batch["logit_scale"])[0])
        owners = index // self.plan.chunk_size
        saved = 0
        for shard_no in np.unique(owners):
            shard = self.waiting.get(int(shard_no))
            if shard is None:
                continue
            rows = owners == shard_no
            if int(shard_no) not in self.buffers:
                d = image.shape[1]
                self.buffers[int(shard_no)] = (np.empty((shard.size, d), np.float32),
                                               np.empty((shard.size, d), np.float32), np.zeros(shard.size, bool))
            img, txt, seen = self.buffers[int(shard_no)]
            if img.shape[1] != image.shape[1]:
                raise EmbeddingError(f"shard {shard.start}..{shard.stop - 1}: vectors of dimension "
                                     f"{image.shape[1]} and {img.shape[1]} arrived")
            at = index[rows] - shard.start
            img[at], txt[at], seen[at] = image[rows], text[rows], True
            if seen.all():
                self.plan.save(shard, img, txt)
                del self.buffers[int(shard_no)], self.waiting[int(shard_no)]
                saved += shard.size
        return saved


@contextmanager
def _quiet_ray_data(ray):
    """Ray Data without its own progress bars and INFO log lines (a tqdm bar of pairs stands for them),
    raising a UDF's own exception (an :class:`EmbeddingError` ...) rather than wrapping it."""
    ctx = ray.data.DataContext.get_current()
    wanted = {"enable_progress_bars": False, "print_on_execution_start": False, "raise_original_map_exception": True}
    saved = {name: getattr(ctx, name) for name in wanted if hasattr(ctx, name)}
    for name in saved:
        setattr(ctx, name, wanted[name])
    loggers = {logging.getLogger("ray.data"): logging.WARNING,  # "starting execution ..."
               logging.getLogger("ray.data._internal.progress"): logging.ERROR}  # "progress bars disabled"
    levels = {logger: logger.level for logger in loggers}
    for logger, level in loggers.items():
        logger.setLevel(level)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(ctx, name, value)
        for logger, level in levels.items():
            logger.setLevel(level)


def _user_error(exc: BaseException) -> Optional[BaseException]:
    """The amumo-ng error (bad embeddings, a model or dataset problem) inside a Ray exception chain, if any."""
    from ..datasets.base import DatasetError
    from ..models.base import ModelError

    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        cause = getattr(exc, "cause", None)  # a RayTaskError carries the worker's exception here
        if isinstance(exc, (EmbeddingError, ModelError, DatasetError)) and not isinstance(cause, BaseException):
            return exc
        exc = cause if isinstance(cause, BaseException) else exc.__cause__
    return None


class RayEngine:
    """Encode a precompute's shards with a Ray Data actor pool (see the module docstring).

    Parameters
    ----------
    address : str, optional
        The Ray cluster (``"HOST:PORT"``, ``"ray://HOST:PORT"``, ``"auto"``). Default: the Ray
        session this process already has, else ``$RAY_ADDRESS``, else a local cluster started for
        the run (announced on stderr, stopped at the end; call ``ray.init()`` yourself to keep one
        between runs).
    actors : int, optional
        Encoder actors. Default: one per GPU of the cluster, else one per ``cpus_per_actor`` CPUs;
        never more than there are shards to do.
    cpus_per_actor : float
        CPUs each actor reserves (its torch threads follow it).
    connect_timeout_s : float
        How long an ``address`` may take to accept a connection before :class:`EngineError`.
    join_timeout_s : float
        How long joining the cluster at an address that accepts connections may take (something
        that is not Ray may listen there).
    local_cpus : int, optional
        CPUs of a local cluster started here (default: all of this machine's).
    announce : callable, optional
        Receives the line saying that a local cluster is started (default: printed to stderr).
    """

    def __init__(self, address: Optional[str] = None, actors: Optional[int] = None, *, cpus_per_actor: float = 1.0,
                 connect_timeout_s: float = 3.0, join_timeout_s: float = 60.0, local_cpus: Optional[int] = None,
                 announce: Optional[Callable[[str], None]] = None):
        if actors is not None and (int(actors) != actors or actors < 1):
            raise ValueError(f"actors must be a positive integer, got {actors!r}")
        if cpus_per_actor <= 0:
            raise ValueError(f"cpus_per_actor must be > 0, got {cpus_per_actor}")
        if address is not None:
            split_address(address)  # a malformed address fails now, before anything else
        self.address = address
        self.actors = None if actors is None else int(actors)
        self.cpus_per_actor = float(cpus_per_actor)
        self.connect_timeout_s = float(connect_timeout_s)
        self.join_timeout_s = float(join_timeout_s)
        self.local_cpus = local_cpus
        self.announce = announce or (lambda line: print(line, file=sys.stderr, flush=True))
        self._owned = False

    # -- the cluster ---------------------------------------------------------------------
    def start(self) -> None:
        """Use this process's Ray session, or connect to ``address``, or start a local cluster."""
        ray = import_ray()
        if ray.is_initialized():
            self._check_same_cluster(ray)
            return
        if self.address is None and os.environ.get("RAY_ADDRESS"):  # where ray.init() would go anyway
            self.address = os.environ["RAY_ADDRESS"]
            self.announce(f"amumo-ng: using the Ray cluster at RAY_ADDRESS={self.address}")
        if self.address is not None:
            check_reachable(self.address, self.connect_timeout_s)
            self._connect(ray)
        else:
            cpus = self.local_cpus
            self.announce(f"amumo-ng: no Ray address given: starting a local Ray cluster on this machine "
                          f"({cpus or 'all'} CPUs) for this run; it stops when the run ends")
            try:
                ray.init(num_cpus=cpus, include_dashboard=False, logging_level=logging.WARNING)
            except Exception as exc:
                ray.shutdown()
                raise EngineError(f"could not start a local Ray cluster: {exc}") from exc
        self._owned = True

    def _check_same_cluster(self, ray) -> None:
        """An ``address`` other than the cluster this process is already connected to is an error."""
        target = None if self.address is None else split_address(self.address)
        current = ray.get_runtime_context().gcs_address
        if target is not None and str(current).rpartition(":")[2] != str(target[1]):
            raise EngineError(f"this process is already connected to the Ray cluster at {current}, not {self.address}; "
                              "call ray.shutdown() first, or pass no address to use that cluster")

    def _connect(self, ray) -> None:
        """``ray.init(address)`` within a deadline: something may answer at the address without being Ray."""
        outcome: dict = {}

        def connect():
            try:
                ray.init(address=self.address, logging_level=logging.WARNING)
                outcome["ok"] = True
            except BaseException as exc:  # handed to the caller below
                outcome["error"] = exc

        thread = threading.Thread(target=connect, daemon=True, name="amumo-ray-connect")
        thread.start()
        thread.join(self.join_timeout_s)
        if "error" in outcome:
            raise EngineError(f"could not join the Ray cluster at {self.address}: {outcome['error']}") from outcome["error"]
        if "ok" not in outcome:
            raise EngineError(f"{self.address} accepts connections but did not answer as a Ray cluster within "
                              f"{self.join_timeout_s:g} s (is it the head node's GCS port, 6379 by default?)")

    def stop(self) -> None:
        """Leave the cluster (stopping it when it was started here); a session found running is left alone."""
        if self._owned:
            import ray

            ray.shutdown()
            self._owned = False

    def pool(self, shards_todo: int) -> tuple[int, float]:
        """``(actors, gpus_per_actor)`` for a run of ``shards_todo`` shards on the connected cluster."""
        import ray

        resources = ray.cluster_resources()
        gpus = float(resources.get("GPU", 0.0))
        cpus = float(resources.get("CPU", 1.0))
        actors = self.actors or (max(1, int(gpus)) if gpus >= 1 else max(1, int(cpus // self.cpus_per_actor)))
        actors = max(1, min(actors, shards_todo))
        return actors, (min(1.0, gpus / actors) if gpus > 0 else 0.0)

    # -- the run ---------------------------------------------------------------------------
    def encode(self, plan: ShardPlan, dataset, encoder, progress: bool = True) -> Optional[float]:
        """Encode ``plan.todo()`` on the actor pool, saving shards as they complete; the model's logit scale
        as the actors read it (None when nothing was left to do)."""
        todo = plan.todo()
        if not todo:
            return None
        ray = import_ray()
        from tqdm.auto import tqdm

        actors, gpus_each = self.pool(len(todo))
        gpu_args = {"num_gpus": gpus_each} if gpus_each > 0 else {}
        rows = [{"start": s.start, "stop": s.stop} for s in todo]
        collector = ShardCollector(plan)
        with _quiet_ray_data(ray), tqdm(total=plan.n, initial=plan.pairs_done, unit="pair",
                                        desc=f"embed {dataset.id} with {encoder.id} on Ray ({actors} actors)",
                                        disable=not progress) as bar:
            try:
                shards = ray.data.from_items(rows, override_num_blocks=len(rows))
            except TypeError:  # Ray < 2.10 names it parallelism
                shards = ray.data.from_items(rows, parallelism=len(rows))
            encoded = shards.map_batches(
                ShardEncoder,
                fn_constructor_kwargs={"dataset": dataset, "encoder": portable_encoder(encoder)},
                batch_size=1,
                batch_format="numpy",
                compute=ray.data.ActorPoolStrategy(size=actors),
                num_cpus=self.cpus_per_actor,
                **gpu_args,
            )
            try:
                for batch in encoded.iter_batches(batch_size=None, batch_format="numpy"):
                    bar.update(collector.add(batch))
            except Exception as exc:
                user = _user_error(exc)
                if user is not None:
                    if user.args and isinstance(user.args[0], str):  # without Ray Data's note on retries
                        user.args = (user.args[0].split("\nFailed to apply UDF transform")[0], *user.args[1:])
                    raise user.with_traceback(None) from exc
                raise EngineError(f"the Ray run failed: {exc}") from exc
        if collector.waiting:
            first = min(collector.waiting.values(), key=lambda s: s.start)
            raise EngineError(f"the Ray run ended with {len(collector.waiting)} shards incomplete "
                              f"(first: pairs {first.start}..{first.stop - 1}); run again to resume")
        return collector.logit_scale
