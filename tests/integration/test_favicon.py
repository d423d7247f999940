"""``/favicon.ico`` on the portal and on the sandbox gateway: an icon (not a 404 in every browser
tab's first request). The portal's pages name it with ``<link rel="icon">``; the sandbox's pay page
names no asset at all (tests/sandbox), so browsers ask for ``/favicon.ico`` by themselves."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sandbox.app import create_sandbox_app

ROOT = Path(__file__).resolve().parents[2]
ICO_MAGIC = b"\x00\x00\x01\x00"  # ICONDIR: reserved 0, type 1 (icon)


def assert_icon(response, vendored: Path) -> None:
    with response:  # a file response: closed, or its file stays open
        assert response.status_code == 200
        assert response.mimetype.startswith("image/"), response.mimetype
        assert response.data == vendored.read_bytes()
        assert response.data.startswith(ICO_MAGIC)


def icon_href(html: str) -> str:
    match = re.search(r'<link rel="icon" href="([^"]+)"', html)
    assert match, html[:600]
    return match.group(1)


def test_the_portal_answers_its_favicon(client):
    response = client.get("/favicon.ico")
    assert "max-age=604800" in response.headers["Cache-Control"]
    assert_icon(response, ROOT / "app" / "static" / "favicon.ico")


def test_the_portals_pages_link_their_icon(client):
    page = client.get("/login")
    assert page.status_code == 200
    assert_icon(client.get(icon_href(page.get_data(as_text=True))), ROOT / "app" / "static" / "favicon.ico")


@pytest.fixture
def sandbox_client(tmp_path):
    app = create_sandbox_app({"db_path": str(tmp_path / "sandbox.db")})
    yield app.test_client()
    app.extensions["sandbox"].close()


def test_the_sandbox_answers_its_favicon(sandbox_client):
    assert_icon(sandbox_client.get("/favicon.ico"), ROOT / "sandbox" / "static" / "favicon.ico")
