"""Security headers (docs/SECURITY.md): the Talisman instance and the portal's Content Security
Policy, with no inline script or style. A leaf module: the app setup binds it, views that need
their own policy (a voucher file) decorate with it."""

from __future__ import annotations

from flask import Response, request
from flask_talisman import Talisman


class _PortalTalisman(Talisman):
    """Pages get the security headers Talisman computes per view (three hooks, every response).
    API answers have no per-view options, so theirs are computed once and reused: the same headers,
    without the per-request work (a few percent of a create call)."""

    def __init__(self):
        super().__init__()
        self._api_headers: dict[bool, list[tuple[str, str]]] = {}

    def _make_nonce(self):
        if not request.path.startswith("/api/"):  # a CSP nonce is for pages' scripts
            super()._make_nonce()

    def _set_response_headers(self, response):
        if not request.path.startswith("/api/"):
            return super()._set_response_headers(response)
        headers = self._api_headers.get(request.is_secure)
        if headers is None:
            scratch = Response()
            super()._set_response_headers(scratch)
            headers = [(k, v) for k, v in scratch.headers.items() if k not in ("Content-Type", "Content-Length")]
            self._api_headers[request.is_secure] = headers
        for name, value in headers:
            response.headers[name] = value
        return response


talisman = _PortalTalisman()

CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
