"""The ``int`` URL converter of every route (docs/SECURITY.md "No 5xx from any input"): an id in a
path is 1 to 2,147,483,647, the range of the smallest id column, so a larger number is a 404
before a view runs instead of an overflow inside the query (PostgreSQL ``integer``, SQLite's
64-bit integer). NUL in a path segment is refused by the screens (``web_setup``) and by the API's
lookups."""

from __future__ import annotations

from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def install(url_map) -> None:
    """Before any route is added."""
    url_map.converters["int"] = IdConverter
