"""Serving a READY document's PDF from a screen: ``attachment``, ``nosniff``, never cached, a file
name in ASCII and RFC 5987 form. Who may have it is decided before (``documents/download.ready_pdf``
answers None → 404)."""

from __future__ import annotations

import re
from urllib.parse import quote

from flask import Response, abort

from ...services.documents.download import Download

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")


def pdf_response(download: Download | None) -> Response:
    if download is None:
        abort(404)
    response = Response(download.content, mimetype="application/pdf")
    ascii_name = _SAFE_NAME.sub("_", download.file_name) or f"{download.number}.pdf"
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(download.file_name)}")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    return response
