"""Tiny diffusers pipelines with RANDOM weights, built offline from configs (no download).

For tests, benchmarks and offline demos of the decoder plumbing only: the pictures they paint are
noise, but every shape, dtype, seed and code path is that of the real pipelines. Sizes (defaults):

- text encoder: a 1-layer ``CLIPTextModel`` of width ``width`` (32), 77 tokens, over a small
  byte-level BPE vocabulary (every printable byte, each with and without ``</w>``, plus a few merges
  and the two special tokens), so any prompt tokenises;
- UNet: ``UNet2DConditionModel`` with blocks (8, 16), sample size 8 → 16 × 16 pixel images through a
  2-block VAE (scale factor 2), 4 latent channels;
- scheduler: DDIM (deterministic for eta = 0).

:func:`tiny_stable_unclip` adds a 1-layer ``CLIPVisionModelWithProjection`` (image embeddings of size
``width``), a ``StableUnCLIPImageNormalizer``, the image-noising DDPM scheduler and a UNet whose class
embedding takes ``2 × width`` inputs (image embedding + noise-level embedding).

Weights are drawn with ``torch.manual_seed(seed)``, so one seed always builds the same pipeline.
Everything heavy is imported inside the functions.
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

__all__ = ["tiny_tokenizer", "tiny_stable_diffusion", "tiny_stable_unclip"]

#: Merges of the tiny vocabulary (pairs of symbols, the last with the end-of-word suffix).
_MERGES = ("r e", "re d</w>", "c i", "ci r", "cir c", "circ l", "circl e</w>", "b l", "bl u", "blu e</w>",
           "s q", "sq u", "squ a", "squa r", "squar e</w>", "t h", "th e</w>")


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2/CLIP's reversible byte → printable-character map (256 entries)."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    chars = keep[:]
    extra = 0
    for b in range(256):
        if b not in keep:
            keep.append(b)
            chars.append(256 + extra)
            extra += 1
    return dict(zip(keep, map(chr, chars)))


def tiny_tokenizer():
    """A ``CLIPTokenizer`` over a ~530-token byte-level vocabulary, max length 77 (written to and read
    back from a temporary folder, which works with every transformers version)."""
    from transformers import CLIPTokenizer

    symbols = list(_bytes_to_unicode().values())
    vocab_list = symbols + [s + "</w>" for s in symbols]
    for merge in _MERGES:
        merged = merge.replace(" ", "")
        if merged not in vocab_list:
            vocab_list.append(merged)
    vocab_list += ["<|startoftext|>", "<|endoftext|>"]
    vocab = {token: i for i, token in enumerate(vocab_list)}
    with tempfile.TemporaryDirectory(prefix="amumo-tiny-tokenizer-") as folder:
        root = Path(folder)
        (root / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
        (root / "merges.txt").write_text("#version: 0.2\n" + "\n".join(_MERGES) + "\n", encoding="utf-8")
        return CLIPTokenizer.from_pretrained(folder, model_max_length=77, local_files_only=True)


def _text_encoder(vocab_size: int, width: int):
    from transformers import CLIPTextConfig, CLIPTextModel

    return CLIPTextModel(CLIPTextConfig(
        vocab_size=vocab_size, hidden_size=width, intermediate_size=2 * width, projection_dim=width,
        num_hidden_layers=1, num_attention_heads=4, max_position_embeddings=77,
        bos_token_id=vocab_size - 2, eos_token_id=vocab_size - 1, pad_token_id=vocab_size - 1,
    )).eval()


def _unet(width: int, class_embed_dim: int | None = None):
    from diffusers import UNet2DConditionModel

    extra = {}
    if class_embed_dim is not None:
        extra = dict(class_embed_type="projection", projection_class_embeddings_input_dim=class_embed_dim)
    return UNet2DConditionModel(
        sample_size=8, in_channels=4, out_channels=4, layers_per_block=1, block_out_channels=(8, 16),
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=width, attention_head_dim=2, norm_num_groups=4, **extra,
    ).eval()


def _vae():
    from diffusers import AutoencoderKL

    return AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(8, 16), layers_per_block=1,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"), norm_num_groups=4, sample_size=16,
    ).eval()


def _scheduler():
    from diffusers import DDIMScheduler

    return DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
                         set_alpha_to_one=False, steps_offset=1)


def tiny_stable_diffusion(seed: int = 0, width: int = 32):
    """A random-weight ``StableDiffusionPipeline`` (16 × 16 px images, text width ``width``), CPU, fp32."""
    import torch
    from diffusers import StableDiffusionPipeline

    tokenizer = tiny_tokenizer()
    torch.manual_seed(seed)
    text_encoder = _text_encoder(len(tokenizer), width)
    unet = _unet(width)
    vae = _vae()
    pipe = StableDiffusionPipeline(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet,
                                   scheduler=_scheduler(), safety_checker=None, feature_extractor=None,
                                   requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def tiny_stable_unclip(seed: int = 0, width: int = 32):
    """A random-weight ``StableUnCLIPImg2ImgPipeline``: image embeddings of size ``width``, 16 × 16 px."""
    import torch
    from diffusers import DDPMScheduler, StableUnCLIPImg2ImgPipeline
    from diffusers.pipelines.stable_diffusion.stable_unclip_image_normalizer import StableUnCLIPImageNormalizer
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

    tokenizer = tiny_tokenizer()
    torch.manual_seed(seed)
    image_encoder = CLIPVisionModelWithProjection(CLIPVisionConfig(
        hidden_size=width, projection_dim=width, num_hidden_layers=1, num_attention_heads=4,
        intermediate_size=2 * width, image_size=32, patch_size=8,
    )).eval()
    text_encoder = _text_encoder(len(tokenizer), width)
    unet = _unet(width, class_embed_dim=2 * width)
    vae = _vae()
    pipe = StableUnCLIPImg2ImgPipeline(
        feature_extractor=CLIPImageProcessor(crop_size=32, size=32),
        image_encoder=image_encoder,
        image_normalizer=StableUnCLIPImageNormalizer(embedding_dim=width),
        image_noising_scheduler=DDPMScheduler(beta_schedule="squaredcos_cap_v2"),
        tokenizer=tokenizer, text_encoder=text_encoder, unet=unet, scheduler=_scheduler(), vae=vae,
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe
