"""/finance/disbursements: not built yet (placeholder so that navigation resolves)."""

from __future__ import annotations

from flask import Blueprint, abort

from .access import FINANCE, allow

bp = Blueprint("finance_disbursements", __name__)


@bp.get("/finance/disbursements")
@allow(FINANCE)
def index():
    abort(404)
