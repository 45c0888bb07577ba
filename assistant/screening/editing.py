"""Operator edits of the lexicons: which lists exist, reading and validating an operator file, writing it.

A *list* is named by the stem of a shipped file (``fraud``, ``crime`` …, and ``allow`` for the
allow-list). Its operator file is ``<screening.lexicon_dir>/<name>.txt``, read after the shipped
one, so it may add entries and remove shipped ones (``-word``). The console edits only operator files;
shipped lists are read-only (they change with releases). Writes are atomic (temporary file + rename),
so a screener polling the folder never reads half a file.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConflictError, InvalidInputError, NotFoundError
from .lexicon import SHIPPED_DIR, parse_lines

MAX_BYTES = 256 * 1024  # one operator file
MAX_LINES = 5000
MAX_LINE_CHARS = 200
ALLOW = "allow"


@dataclass(frozen=True)
class ListInfo:
    """One list: its name, the category its entries get by default, entry counts and file paths."""

    name: str
    category: str
    shipped_entries: int
    operator_entries: int
    shipped_path: str
    operator_path: str
    operator_exists: bool


def list_names() -> list[str]:
    """The known list names: the shipped files' stems."""
    return sorted(p.stem for p in SHIPPED_DIR.glob("*.txt") if p.is_file())


def _check_name(name: str) -> None:
    if name not in list_names():
        raise NotFoundError(f"unknown lexicon {name!r}; known: {', '.join(list_names())}")


def _default_category(name: str) -> str:
    if name == ALLOW:
        return "允许"
    for line in (SHIPPED_DIR / f"{name}.txt").read_text(encoding="utf-8").splitlines():
        if line.startswith("@category"):
            return line.removeprefix("@category").split("#", 1)[0].strip() or name
    return name


def _count(path: Path) -> int:
    if not path.is_file():
        return 0
    return _count_text(path.read_text(encoding="utf-8"), path.stem)


def _count_text(text: str, name: str) -> int:
    lines = text.splitlines()
    if name == ALLOW:
        return sum(1 for line in lines if line.split("#", 1)[0].strip())
    return len(parse_lines(lines, name, name)[0])


def operator_file(lexicon_dir: Path | None, name: str) -> Path:
    """``<lexicon_dir>/<name>.txt`` for a known list name."""
    _check_name(name)
    if lexicon_dir is None:
        raise ConflictError("screening.lexicon_dir is not set: operator lexicons cannot be edited")
    return Path(lexicon_dir) / f"{name}.txt"


def lists(lexicon_dir: Path | None) -> list[ListInfo]:
    """Every list with its shipped and operator entry counts."""
    out = []
    for name in list_names():
        shipped = SHIPPED_DIR / f"{name}.txt"
        op = Path(lexicon_dir) / f"{name}.txt" if lexicon_dir is not None else None
        out.append(
            ListInfo(
                name=name,
                category=_default_category(name),
                shipped_entries=_count(shipped),
                operator_entries=_count(op) if op is not None else 0,
                shipped_path=str(shipped),
                operator_path=str(op) if op is not None else "",
                operator_exists=op is not None and op.is_file(),
            )
        )
    return out


def read_operator(lexicon_dir: Path | None, name: str) -> str:
    """The operator file's text ('' when it does not exist yet)."""
    path = operator_file(lexicon_dir, name)
    return path.read_text(encoding="utf-8") if path.is_file() else ""


def shipped_lines(name: str) -> list[str]:
    """The shipped file's non-blank lines, as written (read-only in the console)."""
    _check_name(name)
    lines = (SHIPPED_DIR / f"{name}.txt").read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip()]


def validate(name: str, text: str) -> str:
    """The text normalised (``\\n`` line ends, final newline) or ``InvalidInputError`` naming the line."""
    _check_name(name)
    if len(text.encode("utf-8")) > MAX_BYTES:
        raise InvalidInputError(f"lexicon file larger than {MAX_BYTES} bytes")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    if len(lines) > MAX_LINES:
        raise InvalidInputError(f"lexicon file has more than {MAX_LINES} lines")
    for n, raw in enumerate(lines, 1):
        if len(raw) > MAX_LINE_CHARS:
            raise InvalidInputError(f"line {n}: longer than {MAX_LINE_CHARS} characters")
        if any(ord(c) < 32 and c != "\t" for c in raw):
            raise InvalidInputError(f"line {n}: control character")
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if name == ALLOW:
            if len(line) < 2:
                raise InvalidInputError(f"line {n}: an allowed term needs at least 2 characters: {line!r}")
            continue
        if line.startswith("@category"):
            if not line.removeprefix("@category").strip():
                raise InvalidInputError(f"line {n}: @category needs a name")
            continue
        if line.startswith("-"):
            if not line[1:].strip():
                raise InvalidInputError(f"line {n}: '-' needs the entry to remove")
            continue
        if not parse_lines([raw], name, name)[0]:
            raise InvalidInputError(f"line {n}: empty entry or empty part (check | and &): {raw.strip()!r}")
        words = line.split()
        if len(words) == 1 and words[0] in ("~", "in", "out"):
            raise InvalidInputError(f"line {n}: a flag without an entry: {raw.strip()!r}")
    return "\n".join(lines) + "\n" if lines else ""


def write_operator(lexicon_dir: Path | None, name: str, text: str) -> tuple[str, str]:
    """Validate and write the operator file atomically; returns (before, after) texts."""
    path = operator_file(lexicon_dir, name)
    after = validate(name, text)
    before = path.read_text(encoding="utf-8") if path.is_file() else ""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(after)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return before, after
