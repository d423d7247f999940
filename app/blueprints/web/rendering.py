"""The HTMX contract of every screen (docs/SCREENS.md "HTMX"), decided in one place.

A screen's URL answers its whole page, or, to an HTMX request, the fragment (a ``_name.html``
partial the page itself includes) that the request swaps. A history restore (the back button on a
cache miss: htmx 2 sends it as an HTMX request with ``HX-History-Restore-Request``) always gets the
whole page. Every screen response varies on ``HX-Request`` (``web_setup``).
"""

from __future__ import annotations

from collections.abc import Collection

from flask import render_template, request

MAX_PAGE = 100_000


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def is_history_restore() -> bool:
    return request.headers.get("HX-History-Restore-Request") == "true"


def wants_fragment() -> bool:
    """An HTMX request that swaps part of the page (not a history restore)."""
    return is_htmx() and not is_history_restore()


def render_screen(page_template: str, fragment_template: str, status: int = 200, /, **context):
    """The page, or its fragment for a request that swaps it."""
    return render_template(fragment_template if wants_fragment() else page_template, **context), status


def page_arg(name: str = "page") -> int:
    """A page number from the query (``page`` or another name), clamped to 1..MAX_PAGE; text that is
    not a number is page 1 (a page past the end shows the empty state)."""
    text = request.args.get(name, "1").strip()
    if not (text.isascii() and text.isdigit()):
        return 1
    return MAX_PAGE if len(text) > 6 else max(1, min(int(text), MAX_PAGE))


def choice_arg(name: str, choices: Collection[str]) -> str | None:
    """A query argument that is one of ``choices``, else None: an unknown value filters nothing."""
    value = request.args.get(name)
    return value if value in choices else None
