"""Old binary Office formats (.doc, .wps, .xls, .et) via LibreOffice headless, when it is installed.

The file is converted into a temporary folder (``soffice --convert-to docx|xlsx``) and read by the
.docx / .xlsx loader; ids and ``source`` stay those of the original file. Without LibreOffice the file
is skipped with a reason that says what to do ("convert it to DOCX"), never a crash. LibreOffice is
optional (Debian ``libreoffice-writer-nogui`` + ``libreoffice-calc-nogui``; ``make office`` as root).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from ...errors import LoaderError
from ...types import Document
from .office import load_docx
from .sheets import load_xlsx

CONVERT_SECONDS = 120
TARGET = {".doc": "docx", ".wps": "docx", ".xls": "xlsx", ".et": "xlsx"}


def soffice() -> str | None:
    """Path of the LibreOffice binary, or None."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def load_legacy(path: Path, root: Path) -> list[Document]:
    """Convert with LibreOffice, then load as .docx / .xlsx under the original file's id and source."""
    target = TARGET[path.suffix.lower()]
    binary = soffice()
    if binary is None:
        raise LoaderError(
            str(path),
            f"{path.suffix} needs LibreOffice to read (not installed): convert it to {target.upper()} "
            f"and put that in the knowledge folder, or install LibreOffice (make office)",
        )
    with tempfile.TemporaryDirectory(prefix="zhengwu-convert-") as tmp:
        out = Path(tmp)
        # a private profile: a second soffice (or the user's own) holding the default one blocks conversion
        cmd = [binary, f"-env:UserInstallation=file://{out}/profile", "--headless", "--norestore"]
        cmd += ["--convert-to", target, "--outdir", str(out), str(path.resolve())]
        try:
            done = subprocess.run(
                cmd,
                capture_output=True,
                timeout=CONVERT_SECONDS,
                env={**os.environ, "HOME": tmp},
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise LoaderError(str(path), f"LibreOffice took over {CONVERT_SECONDS} s to convert it") from exc
        converted = out / f"{path.stem}.{target}"
        if done.returncode != 0 or not converted.exists():
            why = (done.stderr or done.stdout).decode("utf-8", "replace").strip().splitlines()[-1:] or [
                "no output"
            ]
            raise LoaderError(str(path), f"LibreOffice could not convert it to {target.upper()}: {why[0]}")
        # load under a twin path inside the temp dir, then give the documents the original identity
        twin_root = out / "root"
        twin = twin_root / path.relative_to(root).with_suffix(f".{target}")
        twin.parent.mkdir(parents=True, exist_ok=True)
        converted.replace(twin)
        docs = (load_docx if target == "docx" else load_xlsx)(twin, twin_root)
    rel = path.relative_to(root).as_posix()
    for d in docs:
        d.source = rel
        if d.title == twin.stem:
            d.title = path.stem
    return docs
