"""JSON text as the portal writes it everywhere (database JSON columns, the one-statement create):
a Decimal as its exact fixed-point text, dates in ISO 8601, non-ASCII kept, no spaces. A leaf
module: the app factory and the services both import it."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal


def _json_default(value):
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def json_dumps(value) -> str:
    return json.dumps(value, default=_json_default, ensure_ascii=False, separators=(",", ":"))
