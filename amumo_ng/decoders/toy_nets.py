"""The two small networks of the toy unCLIP (torch modules; imported only when a toy decoder is built).

- :class:`EmbeddingImageDecoder`: a unit image embedding e [B, d] → an RGB picture [B, 3, S, S] in [0, 1].
  A *direct* decoder (one forward pass), not a diffusion model: a linear map of e to a 4×4 feature
  grid, then ``log2(S/4)`` upsampling blocks (nearest ×2, two 3×3 convolutions with GroupNorm and SiLU),
  each modulated by e (FiLM: a per-channel scale and shift computed from e). unCLIP's decoder is a
  diffusion UNet conditioned on the CLIP image embedding; a diffusion decoder needs far more training
  and a denoising loop per picture than the toy zoo's CPU budget (about 15 CPU-minutes per model) allows
  (it was not tried), so the toy decoder regresses the picture directly (the model cards say what it reaches).
- :class:`RegressionPrior`: a unit text embedding t [B, d] → a unit image embedding [B, d]. unCLIP's
  prior is a diffusion (or autoregressive) model that *samples* an image embedding; this one is a
  residual MLP trained with a cosine loss, so it returns one point, close to the mean image embedding of
  the pictures a caption fits (a caption that leaves an attribute open decodes to an average of it).
"""
from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["EmbeddingImageDecoder", "RegressionPrior", "DECODER_CHANNELS"]

#: Channels of the 4×4 grid and of each upsampling block's output (4 blocks: 4 → 64 px).
DECODER_CHANNELS = (192, 128, 64, 32, 16)


class _FiLMBlock(nn.Module):
    """Nearest ×2 upsampling, conv3×3, GroupNorm modulated by e (scale and shift), SiLU."""

    def __init__(self, c_in: int, c_out: int, dim: int):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.norm = nn.GroupNorm(min(8, c_out), c_out)
        self.film = nn.Linear(dim, 2 * c_out)
        self.act = nn.SiLU()

    def forward(self, x: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        x = nn.functional.interpolate(x, scale_factor=2, mode="nearest")
        scale, shift = self.film(e).chunk(2, dim=1)
        return self.act(self.norm(self.conv(x)) * (1 + scale[:, :, None, None]) + shift[:, :, None, None])


class EmbeddingImageDecoder(nn.Module):
    """Unit embedding [B, dim] → RGB [B, 3, image_size, image_size], values in [0, 1] (sigmoid)."""

    def __init__(self, dim: int, image_size: int = 64, channels=DECODER_CHANNELS):
        super().__init__()
        blocks = int(round(math.log2(image_size / 4)))
        if 4 * 2 ** blocks != image_size or blocks < 1:
            raise ValueError(f"image_size must be 4·2^k (8, 16, 32, 64, ...), got {image_size}")
        channels = tuple(channels)[: blocks + 1]
        if len(channels) < blocks + 1:
            channels = channels + (channels[-1],) * (blocks + 1 - len(channels))
        self.dim, self.image_size, self.channels = int(dim), int(image_size), channels
        self.project = nn.Linear(dim, channels[0] * 16)
        self.blocks = nn.ModuleList(_FiLMBlock(channels[i], channels[i + 1], dim) for i in range(blocks))
        self.to_rgb = nn.Conv2d(channels[-1], 3, 3, padding=1)

    def forward(self, e: torch.Tensor) -> torch.Tensor:
        x = self.project(e).view(e.shape[0], self.channels[0], 4, 4)
        for block in self.blocks:
            x = block(x, e)
        return torch.sigmoid(self.to_rgb(x))


class RegressionPrior(nn.Module):
    """Unit text embedding [B, dim] → unit image embedding [B, dim]: t + MLP(t), renormalised."""

    def __init__(self, dim: int, hidden: int = 512, layers: int = 2):
        super().__init__()
        self.dim = int(dim)
        mods: list[nn.Module] = []
        width = dim
        for _ in range(layers):
            mods += [nn.Linear(width, hidden), nn.GELU()]
            width = hidden
        mods.append(nn.Linear(width, dim))
        self.mlp = nn.Sequential(*mods)

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        return nn.functional.normalize(t + self.mlp(t), dim=1)
