"""/approvals: not built yet (placeholder so that navigation resolves)."""

from __future__ import annotations

from flask import Blueprint, abort

from .access import APPROVER, allow

bp = Blueprint("approvals", __name__)


@bp.get("/approvals")
@allow(APPROVER)
def index():
    abort(404)
