"""The operator console shell and staff roles without a browser: pages, assets, CSP, whoami, 401/403."""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assistant.web.routes import ADMIN_DIR

ADMIN = "admin-key-0123456789"
EDITOR = "editor-key-0123456789"
REVIEWER = "reviewer-key-0123456789"
KIOSK = "kiosk-key-0123456789"


@pytest.fixture
def staff_client(make_api_client: Callable[..., TestClient]) -> TestClient:
    return make_api_client(
        admin_keys=[ADMIN], editor_keys=[EDITOR], reviewer_keys=[REVIEWER], kiosk_keys=[KIOSK]
    )


def test_admin_opens_on_the_documents_page(api_client: TestClient) -> None:
    res = api_client.get("/admin", follow_redirects=False)
    assert res.status_code == 307 and res.headers["location"] == "/admin/documents"


@pytest.mark.parametrize("page", ["documents", "index", "screening"])
def test_console_pages_are_served_with_a_strict_csp(api_client: TestClient, page: str) -> None:
    res = api_client.get(f"/admin/{page}")
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/html")
    csp = res.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert 'src="/admin/assets/common.js"' in res.text and f'data-page="{page}"' in res.text


@pytest.mark.parametrize(
    "bad",
    [
        "/admin/nope",
        "/admin/Documents",
        "/admin/assets/documents.html",
        "/widget/admin/common.js",
        "/admin/assets/",
    ],
)
def test_only_console_pages_and_assets_are_served(api_client: TestClient, bad: str) -> None:
    assert api_client.get(bad).status_code == 404


def test_console_assets_are_served_revalidated(api_client: TestClient) -> None:
    res = api_client.get("/admin/assets/common.js")
    assert res.status_code == 200 and res.headers["cache-control"] == "no-cache"
    assert (
        api_client.get("/admin/assets/common.js", headers={"If-None-Match": res.headers["etag"]}).status_code
        == 304
    )
    assert "--red" in api_client.get("/admin/assets/admin.css").text


def test_the_key_never_travels_in_a_url_or_cookie() -> None:
    """The login keeps the key in sessionStorage and sends it as a header only."""
    text = (ADMIN_DIR / "common.js").read_text(encoding="utf-8")
    assert "sessionStorage" in text and '"X-API-Key"' in text
    assert "document.cookie" not in text and "localStorage" not in text
    assert not re.search(r"[?&]key=", text)


def test_console_pages_have_no_inline_script_or_style_and_fit_a_budget() -> None:
    for page in ADMIN_DIR.glob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), page.name
        assert not re.search(r"<style|\sstyle=", text), page.name
    total = sum(
        len(gzip.compress(p.read_bytes(), 9)) for p in ADMIN_DIR.iterdir() if p.suffix in (".js", ".css")
    )
    assert total < 80 * 1024, f"{total} bytes gzipped"


@pytest.mark.parametrize(("key", "role"), [(ADMIN, "admin"), (EDITOR, "editor"), (REVIEWER, "reviewer")])
def test_whoami_tells_the_role_of_a_staff_key(staff_client: TestClient, key: str, role: str) -> None:
    for headers in ({"X-API-Key": key}, {"Authorization": f"Bearer {key}"}):
        res = staff_client.get("/v1/admin/whoami", headers=headers)
        assert res.status_code == 200, res.text
        assert res.json()["role"] == role and res.json()["keys_configured"] is True
        assert key not in res.text


def test_no_key_is_401_and_a_non_staff_key_is_403(staff_client: TestClient) -> None:
    assert staff_client.get("/v1/admin/whoami").status_code == 401
    assert (
        staff_client.get("/v1/admin/whoami", headers={"X-API-Key": "wrong-key-0123456789"}).status_code == 401
    )
    res = staff_client.get("/v1/admin/whoami", headers={"X-API-Key": KIOSK})
    assert res.status_code == 403 and res.json()["error"]["code"] == "forbidden"


def test_without_keys_the_loopback_operator_is_admin(api_client: TestClient) -> None:
    res = api_client.get("/v1/admin/whoami")
    assert res.status_code == 200 and res.json() == {"role": "admin", "key_id": "", "keys_configured": False}


def test_short_staff_keys_stop_start_up(tmp_path: Path) -> None:
    from assistant.config import APISettings

    with pytest.raises(ValueError, match="editor_keys"):
        APISettings(editor_keys=["short"])
    with pytest.raises(ValueError, match="reviewer_keys"):
        APISettings(reviewer_keys=[" spaced-key-0123456789"])
