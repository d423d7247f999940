"""The API's rate limit (docs/API.md §1): one budget per API key across the whole API, checked before
every API request (``app.rate_limits``)."""

from __future__ import annotations

from flask import current_app

from ...rate_limits import hit
from .auth import api_rate_key
from .http import ApiError


def check_api_rate_limit() -> None:
    if not hit(current_app.config["API_RATE_LIMIT"], "api", api_rate_key()):
        raise ApiError(429, "RATE_LIMITED", "too many requests; slow down")
