"""The two towers of crowsonkb/cloob-training (the CLOOB ViT-B/16 on LAION-400M) as torch modules.

A port of its haiku model (``cloob_training/model.py``), layer for layer, so the published JAX
parameters load one to one (:mod:`.cloob_checkpoint` maps the names):

- pre-LayerNorm transformer layers (LayerNorm eps 1e-5, haiku's), ``x + attn(ln(x))`` then
  ``x + ff(ln(x))``, no final LayerNorm; multi-head attention with biased query/key/value/output
  projections; the feed-forward ``linear_0`` -> GELU (tanh approximation, ``jax.nn.gelu``'s
  default) -> ``linear_1``, ``d_ff = 4 * config d_model``;
- the image tower: a bias-free patch convolution, a class token, learned positions; the output
  is the class token through ``proj``;
- the text tower: token embeddings of width ``d_embed`` (haiku's ``hk.Embed(embed_dim=d_embed)``:
  the text transformer is ``d_embed`` wide; the config's text ``d_model`` only sets ``d_ff``),
  learned positions, and the output is the FIRST token (start of text) through ``proj``. The
  padding mask keeps the tokens up to and including the first end-of-text token (id
  ``vocab_size - 1``) and, as in the original, masks attention *queries* (the masked rows attend
  uniformly), not keys.

Both ``forward`` methods return the RAW projections (float32 [batch, d_embed]); the original
model L2-normalises them afterwards.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

LAYER_NORM_EPS = 1e-5  # haiku.LayerNorm's default


class SelfAttention(nn.Module):
    """``LayerNorm`` then multi-head self-attention of ``width`` with ``n_heads`` heads."""

    def __init__(self, width: int, n_heads: int):
        super().__init__()
        self.n_heads = n_heads
        self.norm = nn.LayerNorm(width, eps=LAYER_NORM_EPS)
        self.query = nn.Linear(width, width)
        self.key = nn.Linear(width, width)
        self.value = nn.Linear(width, width)
        self.out = nn.Linear(width, width)

    def forward(self, x: torch.Tensor, query_mask: torch.Tensor | None = None) -> torch.Tensor:
        """x: [B, T, width]; query_mask: bool [B, T] (False: that query's logits are all -1e30)."""
        b, t, width = x.shape
        head = width // self.n_heads
        x = self.norm(x)
        q = self.query(x).view(b, t, self.n_heads, head)
        k = self.key(x).view(b, t, self.n_heads, head)
        v = self.value(x).view(b, t, self.n_heads, head)
        logits = torch.einsum("bthd,bThd->bhtT", q, k) / head ** 0.5
        if query_mask is not None:
            logits = torch.where(query_mask[:, None, :, None], logits, logits.new_tensor(-1e30))
        weights = logits.softmax(dim=-1)
        attended = torch.einsum("bhtT,bThd->bthd", weights, v).reshape(b, t, width)
        return self.out(attended)


class FeedForward(nn.Module):
    """``LayerNorm`` -> ``linear_0`` (width -> d_ff) -> tanh-GELU -> ``linear_1`` (d_ff -> width)."""

    def __init__(self, width: int, d_ff: int):
        super().__init__()
        self.norm = nn.LayerNorm(width, eps=LAYER_NORM_EPS)
        self.linear_0 = nn.Linear(width, d_ff)
        self.linear_1 = nn.Linear(d_ff, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear_1(F.gelu(self.linear_0(self.norm(x)), approximate="tanh"))


class EncoderLayer(nn.Module):
    def __init__(self, width: int, d_ff: int, n_heads: int):
        super().__init__()
        self.attn = SelfAttention(width, n_heads)
        self.ff = FeedForward(width, d_ff)

    def forward(self, x: torch.Tensor, query_mask: torch.Tensor | None = None) -> torch.Tensor:
        x = x + self.attn(x, query_mask)
        return x + self.ff(x)


class CLOOBImageTower(nn.Module):
    """ViT: images float [B, C, S, S] (normalised) -> raw embeddings [B, d_embed]."""

    def __init__(self, d_embed: int, n_layers: int, width: int, n_heads: int, patch_size: int,
                 image_size: int, input_channels: int = 3):
        super().__init__()
        tokens = (image_size // patch_size) ** 2 + 1
        self.embed = nn.Conv2d(input_channels, width, patch_size, stride=patch_size, bias=False)
        self.class_embed = nn.Parameter(torch.zeros(width))
        self.pos_embed = nn.Parameter(torch.zeros(tokens, width))
        self.layers = nn.ModuleList([EncoderLayer(width, 4 * width, n_heads) for _ in range(n_layers)])
        self.proj = nn.Linear(width, d_embed)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = self.embed(images).flatten(2).transpose(1, 2)  # [B, patches, width], row-major patches
        cls = self.class_embed.expand(x.shape[0], 1, -1)
        x = torch.cat([cls, x], dim=1) + self.pos_embed
        for layer in self.layers:
            x = layer(x)
        return self.proj(x[:, 0])


class CLOOBTextTower(nn.Module):
    """Transformer: token ids long [B, text_size] -> raw embeddings [B, d_embed]."""

    def __init__(self, d_embed: int, n_layers: int, d_model: int, n_heads: int, vocab_size: int, text_size: int):
        super().__init__()
        self.eot_token = vocab_size - 1
        self.embed = nn.Embedding(vocab_size, d_embed)
        self.pos_embed = nn.Parameter(torch.zeros(text_size, d_embed))
        self.layers = nn.ModuleList([EncoderLayer(d_embed, 4 * d_model, n_heads) for _ in range(n_layers)])
        self.proj = nn.Linear(d_embed, d_embed)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        eot = tokens == self.eot_token
        # up to and including the first end-of-text token (the original's `cumsum == 0 | eot`,
        # which Python parses as `cumsum == (0 | eot)`)
        query_mask = torch.cumsum(eot.long(), dim=-1) == eot.long()
        x = self.embed(tokens) + self.pos_embed
        for layer in self.layers:
            x = layer(x, query_mask)
        return self.proj(x[:, 0])


def build_towers(config: dict) -> tuple[CLOOBImageTower, CLOOBTextTower]:
    """Both towers (random weights) of a cloob-training model config (its JSON as a dict)."""
    img, txt = config["image_encoder"], config["text_encoder"]
    d_embed = int(config["d_embed"])
    image = CLOOBImageTower(d_embed, int(img["n_layers"]), int(img["d_model"]), int(img["n_heads"]),
                            int(img["patch_size"]), int(img["image_size"]), int(img.get("input_channels", 3)))
    text = CLOOBTextTower(d_embed, int(txt["n_layers"]), int(txt["d_model"]), int(txt["n_heads"]),
                          int(txt["vocab_size"]), int(txt["text_size"]))
    return image, text
