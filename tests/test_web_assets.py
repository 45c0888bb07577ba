"""The web routes and static assets without a browser: budget, offline-ness, hooks, key injection."""

from __future__ import annotations

import gzip
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from assistant.web.routes import STATIC_DIR, install

HOOKS = {
    "widget-launcher": "embed.js",
    "widget-input": "panel.html",
    "widget-send": "panel.html",
    "widget-answer": "panel.js",
    "widget-citation": "panel.js",
    "widget-large-font": "panel.html",
    "kiosk-category": "kiosk.js",
    "kiosk-answer": "kiosk.html",
}


def client(widget_keys: list[str] | None = None, kiosk_keys: list[str] | None = None) -> TestClient:
    app = FastAPI()
    api = SimpleNamespace(widget_keys=widget_keys or [], kiosk_keys=kiosk_keys or [])
    app.state.settings = SimpleNamespace(api=api)
    install(app)
    return TestClient(app)


def test_js_and_css_fit_the_60kb_gzip_budget() -> None:
    """The citizen-facing widget and kiosk (the operator console has its own budget)."""
    assets = [p for p in STATIC_DIR.rglob("*") if p.suffix in (".js", ".css") and "admin" not in p.parts]
    assert {"embed.js", "panel.js", "panel.css", "kiosk.js", "kiosk.css"} <= {p.name for p in assets}
    total = sum(len(gzip.compress(p.read_bytes(), 9)) for p in assets)
    assert total < 60 * 1024, f"{total} bytes gzipped"


def test_no_asset_reaches_outside_the_server() -> None:
    """Intranet-safe: no CDN, web font or absolute URL to another host in any served file."""
    pattern = re.compile(
        r"""(?:src|href)\s*=\s*["'](?:https?:)?//|@import|url\(\s*["']?(?:https?:)?//|fonts\.googleapis"""
    )
    for path in STATIC_DIR.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            assert not pattern.search(text), f"{path.name} loads something from outside"


@pytest.mark.parametrize(("hook", "filename"), sorted(HOOKS.items()))
def test_stable_test_hooks_exist(hook: str, filename: str) -> None:
    text = (STATIC_DIR / filename).read_text(encoding="utf-8")
    assert re.search(r"""data-testid["']?\s*[=:,]\s*["']""" + hook + "[\"']", text), (
        f"{hook} missing from {filename}"
    )


@pytest.mark.parametrize(
    ("url", "media", "needle"),
    [
        ("/", "text/html", "XX市政务服务网"),
        ("/demo", "text/html", 'src="/widget/embed.js"'),
        ("/kiosk", "text/html", "请点击您要咨询的事项"),
        ("/widget/embed.js", "text/javascript", "widget-launcher"),
        ("/widget/panel.html", "text/html", 'role="dialog"'),
        ("/widget/panel.css", "text/css", "@media print"),
        ("/widget/panel.js", "text/javascript", "text/event-stream"),
        ("/widget/speak.js", "text/javascript", "/v1/speech"),
    ],
)
def test_pages_and_assets_are_served(url: str, media: str, needle: str) -> None:
    res = client().get(url)
    assert res.status_code == 200
    assert res.headers["content-type"].startswith(media)
    assert needle in res.text


def test_embed_js_is_loadable_from_other_origins_and_cacheable() -> None:
    c = client()
    res = c.get("/widget/embed.js")
    assert res.headers["access-control-allow-origin"] == "*"
    again = c.get("/widget/embed.js", headers={"If-None-Match": res.headers["etag"]})
    assert again.status_code == 304


@pytest.mark.parametrize(
    "bad", ["/widget/../routes.py", "/widget/%2e%2e/routes.py", "/widget/nope.js", "/widget/"]
)
def test_nothing_outside_static_is_served(bad: str) -> None:
    assert client().get(bad).status_code == 404


def test_public_widget_key_is_put_into_the_demo_page_escaped() -> None:
    c = client(widget_keys=['w"<key>'])
    demo = c.get("/").text
    assert 'data-api-key="w&quot;&lt;key&gt;"' in demo
    assert 'data-api-key=""' in client().get("/").text


def test_pages_work_without_settings_on_the_app() -> None:
    app = FastAPI()
    install(app)
    assert TestClient(app).get("/kiosk").status_code == 200


def test_the_wheel_ships_every_web_asset_and_resource_and_no_dev_tools(tmp_path: Path) -> None:
    """An installed wheel, not just a checkout, must serve the widget and load the bundled resources."""
    pytest.importorskip("setuptools")
    root = Path(__file__).resolve().parents[1]
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(root / name, src / name)
    for folder in ("assistant", "evals", "tools"):
        shutil.copytree(root / folder, src / folder, ignore=shutil.ignore_patterns("__pycache__"))
    pip = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index"]
    subprocess.run([*pip, "-w", str(tmp_path / "out"), str(src)], check=True, timeout=300)
    [wheel] = (tmp_path / "out").glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    data = {
        p.relative_to(root).as_posix()
        for folder in ("assistant/web/static", "assistant/web/templates", "assistant/resources")
        for p in (root / folder).rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert "assistant/web/static/embed.js" in data and not data - names
    assert "tools/gguf.py" not in names and "assistant/embedders.py" in names


def test_kiosk_allows_pinch_zoom() -> None:
    viewport = re.search(r'<meta name="viewport" content="([^"]*)"', client().get("/kiosk").text)
    assert viewport and "user-scalable=no" not in viewport[1] and "maximum-scale" not in viewport[1]


def test_pages_have_no_inline_scripts_or_styles() -> None:
    """Ready for a Content-Security-Policy without 'unsafe-inline'."""
    for name in ("demo.html", "panel.html", "kiosk.html"):
        text = (STATIC_DIR / name).read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), f"inline <script> in {name}"
        assert not re.search(r"<style|\sstyle=", text), f"inline style in {name}"
