"""The PDF printer reaches nothing but the app's print assets (docs/SECURITY.md "PDF documents"):
``file:`` paths, other hosts (a cloud metadata address, a local server that would redirect to
loopback), ``data:`` and path tricks are refused without being opened, and a document whose HTML
carries such links prints without a single request or file read leaving the fetcher."""

from __future__ import annotations

import http.server
import subprocess
import threading
from pathlib import Path

import pytest

from app.services.documents.fetcher import ASSET_BASE, AssetFetcher, RefusedURL
from app.services.documents.rendering import pdf_from_html

ASSETS = Path(__file__).resolve().parents[2] / "app" / "static" / "print"


@pytest.fixture
def fetcher() -> AssetFetcher:
    return AssetFetcher(ASSETS)


def test_serves_the_print_stylesheet(fetcher):
    response = fetcher.fetch(ASSET_BASE + "print.css")
    assert response.content_type == "text/css"
    assert b"@page" in response.read()


@pytest.mark.parametrize("url", [
    "file:///etc/passwd",
    "FILE:///etc/passwd",
    "file://localhost/etc/passwd",
    "/etc/passwd",
    "http://169.254.169.254/latest/meta-data/",
    "http://127.0.0.1:1/redirect-to-loopback",
    "https://example.com/logo.png",
    "ftp://example.com/x.css",
    "data:text/css,body{}",
    ASSET_BASE + "../../../../etc/passwd",
    ASSET_BASE + "%2e%2e/%2e%2e/config.py",
    ASSET_BASE + "..%2f..%2fapp.css",
    ASSET_BASE + "./print.css",
    ASSET_BASE + "sub/../print.css",
    ASSET_BASE + "print.css?x=1",
    ASSET_BASE + "print.css#x",
    ASSET_BASE + "missing.css",
    ASSET_BASE + "print.py",
    ASSET_BASE.replace("https://", "https://user:pw@") + "print.css",
    ASSET_BASE.replace(".invalid/", ".invalid:8443/") + "print.css",
    "https://print-assets.portal.invalid.evil.example/static/print/print.css",
])
def test_refuses_everything_else(fetcher, url):
    with pytest.raises(RefusedURL):
        fetcher.fetch(url)
    assert fetcher.refused == [url]


def test_the_urllib_entry_point_opens_nothing(fetcher):
    with pytest.raises(RefusedURL):
        fetcher.open("file:///etc/passwd")


class _Counting(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802 (the stdlib's name)
        self.hits.append(self.path)
        self.send_response(302)
        self.send_header("Location", "http://127.0.0.1/")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def listening_server():
    """A local HTTP server that counts requests (and would redirect each to loopback)."""
    _Counting.hits = []
    server = http.server.HTTPServer(("127.0.0.1", 0), _Counting)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Counting.hits
    server.shutdown()
    server.server_close()


def _text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "out.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def test_a_document_with_hostile_links_prints_without_reaching_anything(listening_server, tmp_path):
    base, hits = listening_server
    html = f"""<!doctype html><html><head><link rel="stylesheet" href="print.css">
      <link rel="stylesheet" href="{base}/evil.css"><style>@import url("file:///etc/hostname");
      body {{ background: url("{base}/bg.png"); }}</style></head><body>
      <p>公司名称 Company</p>
      <img src="file:///etc/passwd"><img src="{base}/pixel.png"><img src="http://169.254.169.254/x.png">
      <iframe src="file:///etc/passwd"></iframe><object data="file:///etc/passwd"></object>
      <svg><image href="file:///etc/passwd" width="10" height="10"/></svg>
      <script>document.write("ran")</script></body></html>"""
    fetcher = AssetFetcher(ASSETS)
    pdf = pdf_from_html(html, fetcher)
    assert pdf.startswith(b"%PDF-")
    assert hits == []  # not one request left the fetcher
    assert fetcher.requested[0] == ASSET_BASE + "print.css"
    assert set(fetcher.requested) - set(fetcher.refused) == {ASSET_BASE + "print.css"}
    assert "file:///etc/passwd" in fetcher.refused and f"{base}/pixel.png" in fetcher.refused
    text = _text(pdf, tmp_path)
    assert "公司名称" in text
    assert "root:" not in text and "ran" not in text  # no file content, no script ran
