"""A file the browser saves: ``attachment`` answers bytes or a stream of chunks (a stored export read
from the database chunk by chunk) with the download's name, never rendered or cached."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from urllib.parse import quote

from flask import Response, stream_with_context


def attachment(body: bytes | str | Iterator[bytes], mimetype: str, filename: str) -> Response:
    if isinstance(body, bytes | str):
        response = Response(body, mimetype=mimetype)
    else:
        response = Response(stream_with_context(body), mimetype=mimetype)
    # As Flask's send_file: an ASCII name for old clients, the real one (a Chinese name) as filename*.
    simple = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode("ascii")
    simple = "".join(c for c in simple if c.isprintable() and c not in '"\\') or "download"
    disposition = f'attachment; filename="{simple}"'
    if simple != filename:
        disposition += "; filename*=UTF-8''" + quote(filename, safe="!#$&+^`|~")
    response.headers["Content-Disposition"] = disposition
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response
