from flask import current_app, jsonify

from .blueprint import bp
from .openapi import build_document

_cached: dict | None = None


@bp.get("/openapi.json")
def openapi_json():
    global _cached
    if _cached is None or current_app.debug:
        _cached = build_document()
    return jsonify(_cached)
