"""Decoders that paint with diffusers pipelines: Stable Diffusion (per-token text states) and
Stable unCLIP (image embeddings).

- :class:`StableDiffusionDecoder` drives ``StableDiffusionPipeline`` through ``prompt_embeds``: its
  vectors are the per-token hidden states [77, width] of the pipeline's OWN CLIP text encoder (not a
  pooled vector of another model). :meth:`~StableDiffusionDecoder.decode_prompts` is the
  latent-space study's strip: both prompts encoded, their states interpolated token by token,
  each frame rendered from the same initial latents with a fixed seed.
- :class:`StableUnCLIPDecoder` drives ``StableUnCLIPImg2ImgPipeline`` through ``image_embeds``
  (``noise_level`` 0): vectors [dim] in the space of the pipeline's image encoder, e.g. a vSLERP path
  between two of its image embeddings (:meth:`~StableUnCLIPDecoder.encode_images`).

Both render one image per vector, from the SAME initial latents (drawn once per call with a CPU
``torch.Generator`` seeded with ``seed``) and a generator reseeded per frame, so equal inputs give
identical pixels and frames differ only by their embedding. Progress is reported per image and
``cancel`` is checked between images. ``from_pretrained`` loads a local folder offline and probes
the hub (about 2 s) before fetching a hub id. torch/diffusers are imported inside the functions.
"""
from __future__ import annotations

from pathlib import Path as _FsPath
from typing import Optional, Sequence

import numpy as np

from .base import DecodedFrame, Decoder, DecoderError, OFFLINE_DECODERS, Progress, check_cancel, frame_progress

__all__ = ["StableDiffusionDecoder", "StableUnCLIPDecoder", "load_pipeline", "STATE_METHODS"]

#: Token-wise interpolation methods of :meth:`StableDiffusionDecoder.decode_prompts`.
STATE_METHODS = ("slerp", "lerp")


def _device_dtype(device=None, dtype=None):
    """(torch.device, torch.dtype): CUDA when available, fp16 there and fp32 on CPU, unless given."""
    import torch

    dev = torch.device(device if device is not None else ("cuda" if torch.cuda.is_available() else "cpu"))
    if dtype is None:
        dtype = torch.float16 if dev.type == "cuda" else torch.float32
    return dev, dtype


def _dtype_keyword() -> str:
    """``from_pretrained``'s dtype keyword: ``dtype`` since diffusers deprecated ``torch_dtype`` (0.42), else ``torch_dtype``."""
    try:
        from diffusers.utils import deprecation_utils
    except ImportError:  # pragma: no cover - older layouts
        return "torch_dtype"
    return "dtype" if hasattr(deprecation_utils, "_TORCH_DTYPE_DEPRECATION_MESSAGE") else "torch_dtype"


def load_pipeline(pipeline_class: str, source, local_files_only: Optional[bool] = None, *, device=None, dtype=None,
                  **kwargs):
    """A diffusers pipeline (``pipeline_class`` of ``diffusers``) from a local folder or a hub id.

    A folder loads with ``local_files_only=True``. A hub id is fetched only after
    :func:`amumo_ng.network.require_online` answers (within about 2 s); offline, a copy already in
    the Hugging Face cache is used, else :class:`DecoderError` naming the offline decoders is raised.
    ``local_files_only=True`` with a hub id uses the cache only. Moved to ``device`` in ``dtype``
    (default: CUDA + fp16 when available, else CPU + fp32); ``kwargs`` go to ``from_pretrained``.
    """
    from ..network import hf_endpoint, require_online

    text = str(source)
    folder = _FsPath(text).expanduser()
    if folder.is_dir():
        location, local = str(folder), True if local_files_only is None else bool(local_files_only)
    elif folder.exists() or text.startswith((".", "/", "~")) or text.count("/") > 1:
        raise DecoderError(f"{text!r} is not a pipeline folder (no such directory) nor a hub id 'owner/name'")
    else:
        location, local = text, bool(local_files_only)
        if not local:
            try:
                require_online(f"{hf_endpoint()}/api/models/{text}", f"the diffusion pipeline {text!r}",
                               OFFLINE_DECODERS, DecoderError)
            except DecoderError:
                from huggingface_hub import try_to_load_from_cache

                if not isinstance(try_to_load_from_cache(text, "model_index.json"), str):
                    raise
                local = True  # offline, but already in the Hugging Face cache
    dev, torch_dtype = _device_dtype(device, dtype)
    import diffusers

    cls = getattr(diffusers, pipeline_class)
    kwargs.setdefault(_dtype_keyword(), torch_dtype)
    try:
        pipe = cls.from_pretrained(location, local_files_only=local, **kwargs)
    except Exception as exc:
        raise DecoderError(f"cannot load {pipeline_class} from {location!r}: {exc}. {OFFLINE_DECODERS}") from exc
    pipe = pipe.to(dev)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _pipeline_id(pipeline, component: str, model_id: Optional[str]) -> Optional[str]:
    if model_id is not None:
        return str(model_id)
    source = getattr(pipeline, "name_or_path", None)
    return f"diffusers:{source}#{component}" if source else None


class _PipelineDecoder(Decoder):
    """What both diffusion decoders share: seed, image size, initial latents, the frame loop."""

    def __init__(self, pipeline, *, seed: int, num_inference_steps: int, guidance_scale: float,
                 height: Optional[int], width: Optional[int]):
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise DecoderError(f"seed must be an integer, got {seed!r}")
        if isinstance(num_inference_steps, bool) or not isinstance(num_inference_steps, (int, np.integer)) \
                or num_inference_steps < 1:
            raise DecoderError(f"num_inference_steps must be a positive integer, got {num_inference_steps!r}")
        self.pipeline = pipeline
        self.seed = int(seed)
        self.num_inference_steps = int(num_inference_steps)
        self.guidance_scale = float(guidance_scale)
        size = pipeline.unet.config.sample_size * pipeline.vae_scale_factor
        self.height = int(height or size)
        self.width = int(width or size)
        if self.height % 8 or self.width % 8:
            raise DecoderError(f"height and width must be multiples of 8, got {self.height} × {self.width}")
        pipeline.set_progress_bar_config(disable=True)

    @property
    def device(self):
        """Where the pipeline computes (its execution device, which differs from ``device`` under CPU offload)."""
        return getattr(self.pipeline, "_execution_device", None) or self.pipeline.device

    @property
    def dtype(self):
        return self.pipeline.unet.dtype

    def initial_latents(self):
        """The initial latents of every frame: torch [1, C, H/f, W/f] (f = the VAE's scale factor),
        standard normal drawn on the CPU from ``torch.Generator().manual_seed(seed)`` in float32,
        then moved to the pipeline's device and dtype (unscaled by the scheduler's ``init_noise_sigma``)."""
        import torch

        factor = self.pipeline.vae_scale_factor
        shape = (1, self.pipeline.unet.config.in_channels, self.height // factor, self.width // factor)
        noise = torch.randn(shape, generator=torch.Generator("cpu").manual_seed(self.seed), dtype=torch.float32)
        return noise.to(self.device, self.dtype)

    def _run(self, conditions: np.ndarray, render, progress: Progress, cancel, desc: str,
             extra_info: Optional[Sequence[dict]] = None) -> list[DecodedFrame]:
        """``render(condition [1, ...] torch, latents, generator) -> PIL`` for each row, same latents."""
        import torch

        total = conditions.shape[0]
        latents = self.initial_latents()
        frames: list[DecodedFrame] = []
        with frame_progress(total, progress, desc) as advance, torch.inference_mode():
            for j in range(total):
                check_cancel(cancel, j, total)
                condition = torch.from_numpy(conditions[j:j + 1]).to(self.device, self.dtype)
                image = render(condition, latents.clone(), torch.Generator("cpu").manual_seed(self.seed))
                info = {"index": j, "seed": self.seed, "steps": self.num_inference_steps}
                if extra_info is not None:
                    info.update(extra_info[j])
                frames.append(DecodedFrame(image=image, info=info))
                advance(1)
        return frames


class StableDiffusionDecoder(_PipelineDecoder):
    """Decode per-token text states [k, 77, width] of a ``StableDiffusionPipeline``'s own text encoder.

    Parameters
    ----------
    pipeline : diffusers.StableDiffusionPipeline
        Used as is (device, dtype); :meth:`from_pretrained` loads one.
    seed : int
        Seed of the initial latents (shared by every frame) and of the scheduler's noise.
    num_inference_steps, guidance_scale : int, float
        Denoising steps and classifier-free guidance (guidance ≤ 1 turns it off).
    height, width : int, optional
        Pixels (multiples of 8); default ``unet.sample_size × vae_scale_factor``.
    negative_prompt : str
        The unconditional prompt of the guidance ("" by default).
    model_id : str, optional
        Id of the space decoded; default ``"diffusers:<name_or_path>#text_encoder"`` (None: any).
    """

    modality = "text"

    def __init__(self, pipeline, *, seed: int = 0, num_inference_steps: int = 25, guidance_scale: float = 7.5,
                 height: Optional[int] = None, width: Optional[int] = None, negative_prompt: str = "",
                 model_id: Optional[str] = None, name: Optional[str] = None):
        super().__init__(pipeline, seed=seed, num_inference_steps=num_inference_steps, guidance_scale=guidance_scale,
                         height=height, width=width)
        self.dim = int(pipeline.text_encoder.config.hidden_size)
        self.max_length = int(pipeline.tokenizer.model_max_length)
        self.negative_prompt = str(negative_prompt)
        self.model_id = _pipeline_id(pipeline, "text_encoder", model_id)
        self.name = name or "stable diffusion"

    @classmethod
    def from_pretrained(cls, path_or_hub_id, local_files_only: Optional[bool] = None, *, device=None, dtype=None,
                        pipeline_kwargs: Optional[dict] = None, **decoder_kwargs) -> "StableDiffusionDecoder":
        """Load a ``StableDiffusionPipeline`` (see :func:`load_pipeline`) and wrap it."""
        pipe = load_pipeline("StableDiffusionPipeline", path_or_hub_id, local_files_only, device=device, dtype=dtype,
                             **(pipeline_kwargs or {}))
        return cls(pipe, **decoder_kwargs)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (self.max_length, self.dim)

    def encode_prompts(self, prompts: Sequence[str]) -> np.ndarray:
        """Per-token states float32 [len(prompts), 77, width] of the pipeline's tokenizer + text encoder
        (``encode_prompt``: padded to the tokenizer's max length, last hidden layer)."""
        import torch

        if isinstance(prompts, str):
            prompts = [prompts]
        with torch.inference_mode():
            states = self.pipeline.encode_prompt(list(prompts), self.device, 1, False)[0]
        return states.float().cpu().numpy()

    def interpolate_states(self, start: np.ndarray, end: np.ndarray, t, method: str = "slerp") -> np.ndarray:
        """Token-wise interpolation float32 [k, 77, width] of two states [77, width] at ``t`` [k].

        ``"slerp"``: per token l, ``sin((1−t)ω_l)/sin ω_l · a_l + sin(t·ω_l)/sin ω_l · b_l`` with ω_l the
        angle between the raw token states a_l, b_l (the α = 0 case of vSLERP; linear below 1e-4 rad,
        so tokens equal in both prompts stay put). ``"lerp"``: ``(1 − t)·a + t·b``.
        """
        from ..analysis.interpolation import lerp, vslerp

        if method not in STATE_METHODS:
            raise DecoderError(f"method must be one of {STATE_METHODS}, got {method!r}")
        a, b = np.asarray(start, dtype=np.float64), np.asarray(end, dtype=np.float64)
        if a.shape != self.input_shape or b.shape != self.input_shape:
            raise DecoderError(f"states must be of shape {self.input_shape}, got {a.shape} and {b.shape}")
        w = np.atleast_1d(np.asarray(t, dtype=np.float64))
        if w.ndim != 1 or w.size == 0 or not np.all(np.isfinite(w)):
            raise DecoderError("t must be a non-empty 1-D array of finite numbers")
        zero = np.zeros(self.dim)
        out = np.empty((w.size, *self.input_shape), dtype=np.float32)
        for tok in range(self.max_length):
            if method == "lerp":
                out[:, tok] = lerp(a[tok], b[tok], w)
            else:
                out[:, tok] = vslerp(a[tok], b[tok], w, mean=zero, alpha=0.0)
        return out

    def decode_prompts(self, prompt_a: str, prompt_b: str, t, method: str = "slerp", *,
                       progress: Progress = None, cancel=None) -> list[DecodedFrame]:
        """The study's strip: one image per t [k] between ``prompt_a`` (t = 0) and ``prompt_b`` (t = 1).

        Both prompts are encoded (:meth:`encode_prompts`), interpolated token-wise
        (:meth:`interpolate_states`) and rendered (:meth:`decode`); ``info`` adds ``t`` and ``method``.
        """
        for prompt, which in ((prompt_a, "prompt_a"), (prompt_b, "prompt_b")):
            if not isinstance(prompt, str) or not prompt.strip():
                raise DecoderError(f"{which} is empty: type a prompt")
        states = self.encode_prompts([prompt_a, prompt_b])
        w = np.atleast_1d(np.asarray(t, dtype=np.float64))
        path = self.interpolate_states(states[0], states[1], w, method)
        return self._decode(self.check(path), progress, cancel, [{"t": float(x), "method": method} for x in w])

    def decode(self, vectors, *, progress: Progress = None, cancel=None) -> list[DecodedFrame]:
        """One image per per-token state [k, 77, width], all from :meth:`initial_latents`."""
        return self._decode(self.check(vectors), progress, cancel, None)

    def _decode(self, states: np.ndarray, progress: Progress, cancel, info) -> list[DecodedFrame]:
        negative = None
        if self.guidance_scale > 1.0:
            import torch

            with torch.inference_mode():
                negative = self.pipeline.encode_prompt([self.negative_prompt], self.device, 1, False)[0]

        def render(condition, latents, generator):
            return self.pipeline(prompt_embeds=condition, negative_prompt_embeds=negative, latents=latents,
                                 generator=generator, num_inference_steps=self.num_inference_steps,
                                 guidance_scale=self.guidance_scale, height=self.height, width=self.width,
                                 output_type="pil").images[0]

        return self._run(states, render, progress, cancel, self.name, info)


class StableUnCLIPDecoder(_PipelineDecoder):
    """Decode image embeddings [k, dim] with a ``StableUnCLIPImg2ImgPipeline`` (``image_embeds``).

    ``dim`` is the pipeline's image-embedding size (its image encoder's projection size). Feed RAW
    embeddings of that encoder (lerp / vSLERP paths; :meth:`encode_images` makes them), not unit
    vectors. ``prompt`` (default "") also conditions the UNet; ``noise_level`` 0 adds no noise to the
    embedding's schedule. Other parameters as :class:`StableDiffusionDecoder` (defaults: 20 steps,
    guidance 10, the pipeline's own). ``model_id`` default: ``"diffusers:<name_or_path>#image_encoder"``.
    """

    modality = "image"

    def __init__(self, pipeline, *, seed: int = 0, num_inference_steps: int = 20, guidance_scale: float = 10.0,
                 height: Optional[int] = None, width: Optional[int] = None, prompt: str = "", noise_level: int = 0,
                 model_id: Optional[str] = None, name: Optional[str] = None):
        super().__init__(pipeline, seed=seed, num_inference_steps=num_inference_steps, guidance_scale=guidance_scale,
                         height=height, width=width)
        encoder = getattr(pipeline, "image_encoder", None)
        if encoder is not None:
            self.dim = int(encoder.config.projection_dim)
        else:
            self.dim = int(pipeline.unet.config.projection_class_embeddings_input_dim) // 2
        self.prompt = str(prompt)
        self.noise_level = int(noise_level)
        self.model_id = _pipeline_id(pipeline, "image_encoder", model_id)
        self.name = name or "stable unCLIP"

    @classmethod
    def from_pretrained(cls, path_or_hub_id, local_files_only: Optional[bool] = None, *, device=None, dtype=None,
                        pipeline_kwargs: Optional[dict] = None, **decoder_kwargs) -> "StableUnCLIPDecoder":
        """Load a ``StableUnCLIPImg2ImgPipeline`` (see :func:`load_pipeline`) and wrap it."""
        pipe = load_pipeline("StableUnCLIPImg2ImgPipeline", path_or_hub_id, local_files_only, device=device,
                             dtype=dtype, **(pipeline_kwargs or {}))
        return cls(pipe, **decoder_kwargs)

    def encode_images(self, images) -> np.ndarray:
        """Raw image embeddings float32 [len(images), dim] of PIL images by the pipeline's own image encoder."""
        import torch

        encoder = getattr(self.pipeline, "image_encoder", None)
        if encoder is None:
            raise DecoderError("this pipeline has no image encoder")
        pixels = self.pipeline.feature_extractor(images=list(images), return_tensors="pt").pixel_values
        with torch.inference_mode():
            embeds = encoder(pixels.to(self.device, encoder.dtype)).image_embeds
        return embeds.float().cpu().numpy()

    def decode(self, vectors, *, progress: Progress = None, cancel=None) -> list[DecodedFrame]:
        """One image per embedding [k, dim], all from :meth:`initial_latents` (× ``init_noise_sigma``:
        this pipeline uses given latents as they are)."""
        embeds = self.check(vectors)
        sigma = float(self.pipeline.scheduler.init_noise_sigma)

        def render(condition, latents, generator):
            return self.pipeline(image_embeds=condition, prompt=self.prompt, latents=latents * sigma,
                                 generator=generator, noise_level=self.noise_level,
                                 num_inference_steps=self.num_inference_steps, guidance_scale=self.guidance_scale,
                                 height=self.height, width=self.width, output_type="pil").images[0]

        return self._run(embeds, render, progress, cancel, self.name)
