"""API-key authentication and scope checks (docs/API.md §1)."""

from __future__ import annotations

import re
from functools import wraps

from flask import g, request

from ...domain.errors import Forbidden
from ...services.accounts import api_clients
from ...services.platform.actor import Actor
from .http import ApiError


def current_actor() -> Actor:
    return g.api_actor


# RFC 7235 §2.1: credentials = auth-scheme [ 1*SP ( token68 / #auth-param ) ], the scheme case-insensitive;
# RFC 6750 §2.1: Bearer's is a b64token. The blanks (SP, HTAB) around a field value are not part of it
# (RFC 9110 §5.5); any other character, another blank as the separator, or more after the token is a
# malformed header: 401.
_BEARER = re.compile(r"[Bb][Ee][Aa][Rr][Ee][Rr] +([A-Za-z0-9\-._~+/]+=*)")


def bearer_token(header: str) -> str:
    """The key of an ``Authorization: Bearer <key>`` header (ApiError 401 if it is missing or malformed)."""
    value = header.strip(" \t")
    if not value:
        raise ApiError(401, "UNAUTHORIZED", "missing API key: send Authorization: Bearer <key>")
    match = _BEARER.fullmatch(value)
    if match is None:
        raise ApiError(401, "UNAUTHORIZED", "malformed Authorization header: send Authorization: Bearer <key>")
    return match.group(1)


def require_scopes(*any_of: str):
    """The key must exist and hold at least one of ``any_of``."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            client = api_clients.authenticate(bearer_token(request.headers.get("Authorization", "")))
            if client is None:
                raise ApiError(401, "UNAUTHORIZED", "invalid API key")
            if any_of and not (client.scopes & set(any_of)):
                raise ApiError(403, "FORBIDDEN", f"this API key lacks the scope: {' or '.join(any_of)}")
            g.api_actor = Actor(type="api_client", id=client.name, ip=request.remote_addr,
                                request_id=g.get("request_id"), client_id=client.id, scopes=client.scopes)
            if any("\x00" in str(v) for v in kwargs.values()):  # no id holds one (nor can PostgreSQL)
                raise ApiError(404, "NOT_FOUND", "no such object")
            return view(*args, **kwargs)

        wrapper.required_scopes = any_of  # type: ignore[attr-defined]  # a function attribute, read by the route audit
        return wrapper

    return decorator


def require_scope_for(scope: str, what: str) -> None:
    if scope not in current_actor().scopes:
        raise Forbidden(f"{what} needs the '{scope}' scope")


def api_rate_key() -> str:
    """Rate-limit bucket: the API key's hash (so one client cannot starve another), else the address."""
    header = request.headers.get("Authorization", "")
    if header:
        return "key:" + api_clients.hash_key(header)[:32]
    return "ip:" + (request.remote_addr or "?")
