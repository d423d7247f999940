"""Who may open a screen: every portal view is wrapped by ``allow`` (a test walks the URL map and
refuses a view without it). Anonymous → the sign-in page; a signed-in user without the role → 403;
another company's object is the view's business and answers 404 (``tenant_or_404``)."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps
from typing import TypeVar

from flask import abort, g, request
from flask_login import current_user

from ...domain.enums import Role
from ...domain.errors import NotFound
from ...extensions import login_manager
from ...services.platform.actor import Actor

RESELLER = frozenset({Role.RESELLER_OPERATOR.value, Role.RESELLER_APPROVER.value})
APPROVER = frozenset({Role.RESELLER_APPROVER.value})
FINANCE = frozenset({Role.FINANCE.value})
ADMIN = frozenset({Role.ADMIN.value})
ANY_USER = RESELLER | FINANCE | ADMIN
_CODE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
T = TypeVar("T")


def allow(roles: frozenset[str] | None):
    """``allow(None)``: public (sign-in page). ``allow(ROLES)``: signed in with one of them."""

    def decorate(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if roles is not None:
                if not current_user.is_authenticated:
                    return login_manager.unauthorized()
                if current_user.role not in roles:
                    abort(403)
            return view(*args, **kwargs)

        wrapped.allowed_roles = roles  # type: ignore[attr-defined]  # a function attribute, read by the route audit
        return wrapped

    return decorate


def reseller_id() -> int:
    """The signed-in reseller user's company (views wrapped with ``allow(RESELLER)`` only)."""
    rid = current_user.reseller_id
    if rid is None:  # a staff user inside a reseller view: a wiring mistake, never show data
        abort(403)
    return rid


def web_actor() -> Actor:
    return Actor(type="user", id=str(current_user.id), ip=request.remote_addr, request_id=g.get("request_id"))


def tenant_or_404(obj, rid: int | None = None):
    """The object if it belongs to the signed-in reseller, else 404 (never 403: no existence leak)."""
    if obj is None or obj.reseller_id != (rid if rid is not None else reseller_id()):
        abort(404)
    return obj


def code_or_404(get: Callable[[str], T], code: str) -> T:
    """What ``get`` finds by a code from the URL, else 404; a code that is not 1 to 32 letters, digits,
    ``_`` or ``-`` is not looked up."""
    if not _CODE.match(code):
        abort(404)
    try:
        return get(code)
    except NotFound:
        abort(404)
