"""The only way a document being printed reaches anything outside its HTML (docs/SECURITY.md).

WeasyPrint's own fetcher opens every URL it is given: ``file://`` paths, any host (cloud metadata
addresses included), redirects, proxies from the environment. A document shows data people typed
(a company name, a remark); if any of it ever reached the HTML unescaped, the default fetcher would
read local files into the PDF or make requests from the worker. ``AssetFetcher`` serves only the
files of the app's own ``static/print/`` folder under ``ASSET_BASE`` (what the print templates link
to), read from disk by a path it builds itself, and refuses everything else without opening it:
no network, no ``file:``, no ``data:`` (the QR code is inline SVG), no redirects.
"""

from __future__ import annotations

import logging
import posixpath
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from weasyprint.urls import URLFetcher, URLFetcherResponse

log = logging.getLogger(__name__)

# The base URL of a print document: relative links resolve under it, and only it is served.
ASSET_BASE = "https://print-assets.portal.invalid/static/print/"
ALLOWED_SUFFIXES = {".css": "text/css", ".svg": "image/svg+xml", ".png": "image/png"}


class RefusedURL(ValueError):
    """A document asked for something other than one of the app's print assets."""


class AssetFetcher(URLFetcher):
    """Serves ``ASSET_BASE<name>`` from ``asset_dir``; raises RefusedURL for every other URL.
    ``requested`` and ``refused`` list what it was asked (tests and logs read them)."""

    def __init__(self, asset_dir: Path, **kwargs: Any) -> None:
        super().__init__(allowed_protocols=(), allow_redirects=False, timeout=1, **kwargs)
        self.asset_dir = asset_dir.resolve()
        self.requested: list[str] = []
        self.refused: list[str] = []

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
        self.requested.append(url)
        try:
            path = self._asset_path(url)
        except RefusedURL:
            self.refused.append(url)
            log.warning("print asset refused: %.200s", url)
            raise
        return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": ALLOWED_SUFFIXES[path.suffix]})

    def open(self, url: Any, data: Any = None, timeout: Any = None) -> Any:
        """urllib's entry point, reachable through the base class: nothing is opened that way."""
        raise RefusedURL("print documents open no URLs")

    def _asset_path(self, url: str) -> Path:
        if not isinstance(url, str) or not url.startswith(ASSET_BASE):
            raise RefusedURL(f"not a print asset: {url[:200]!r}")
        parts = urlsplit(url)
        if parts.query or parts.fragment or parts.username or parts.password or parts.port:
            raise RefusedURL(f"not a print asset: {url[:200]!r}")
        name = unquote(url[len(ASSET_BASE):])
        if (not name or "\\" in name or "\x00" in name or name.startswith("/")
                or posixpath.normpath(name) != name or name.split("/")[0] in ("..", ".")):
            raise RefusedURL(f"not a print asset: {url[:200]!r}")
        path = (self.asset_dir / name).resolve()
        if self.asset_dir not in path.parents or path.suffix not in ALLOWED_SUFFIXES or not path.is_file():
            raise RefusedURL(f"not a print asset: {url[:200]!r}")
        return path

