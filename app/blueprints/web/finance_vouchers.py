"""/finance/vouchers: not built yet (placeholder so that navigation resolves)."""

from __future__ import annotations

from flask import Blueprint, abort

from .access import FINANCE, allow

bp = Blueprint("finance_vouchers", __name__)


@bp.get("/finance/vouchers")
@allow(FINANCE)
def index():
    abort(404)
