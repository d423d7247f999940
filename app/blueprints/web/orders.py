"""/orders: not built yet (placeholder so that navigation resolves)."""

from __future__ import annotations

from flask import Blueprint, abort

from .access import RESELLER, allow

bp = Blueprint("orders", __name__)


@bp.get("/orders")
@allow(RESELLER)
def index():
    abort(404)
