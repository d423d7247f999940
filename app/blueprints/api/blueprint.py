"""The API's blueprint: every route module registers on ``bp``; errors become the envelope of
docs/API.md §1; the rate limit is checked before every request."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from werkzeug.exceptions import HTTPException
from werkzeug.routing import BaseConverter

from ...domain.errors import DomainError
from ...services.platform.unit_of_work import discard
from .http import ApiError, error_response
from .rate_limit import check_api_rate_limit

bp = Blueprint("api", __name__, url_prefix="/api/v1")


class PaymentIdConverter(BaseConverter):
    """A payment id in ``/integration/payment/<payment_id:...>``: any segment but the names of the
    sibling routes, so that ``PATCH /integration/payment/create`` is a 405 naming POST (not an update
    of an order called "create"), and OPTIONS on those paths lists only the methods they have."""

    RESERVED = ("create", "refund")
    regex = rf"(?!(?:{'|'.join(RESERVED)})$)[^/]+"


@bp.record_once
def _register_converters(state) -> None:
    state.app.url_map.converters["payment_id"] = PaymentIdConverter

_HTTP_CODES = {400: "BAD_REQUEST", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND",
               405: "BAD_REQUEST", 413: "BAD_REQUEST", 415: "BAD_REQUEST", 429: "RATE_LIMITED"}


@bp.errorhandler(ApiError)
@bp.errorhandler(DomainError)
def _domain_error(err):
    discard()
    return error_response(err)


@bp.errorhandler(HTTPException)
def http_error(err: HTTPException):
    discard()
    assert err.code is not None  # Flask hands an exception without a code back unhandled, never here
    code = _HTTP_CODES.get(err.code, "BAD_REQUEST" if err.code < 500 else "INTERNAL_ERROR")
    message = "too many requests; slow down" if err.code == 429 else (err.description or err.name)
    if err.code == 413:
        return jsonify({"code": code, "message": "body too large"}), 400
    return jsonify({"code": code, "message": message}), err.code, protocol_headers(err)


def protocol_headers(err: HTTPException) -> list[tuple[str, str]]:
    """The headers HTTP requires of this error (``Allow`` of a 405, ``WWW-Authenticate`` of a 401,
    ``Retry-After``), kept when the error is answered with a body of our own."""
    return [(k, v) for k, v in err.get_headers() if k.lower() != "content-type"]


@bp.errorhandler(Exception)
def _unexpected(err: Exception):
    discard()
    current_app.logger.exception("unhandled error in API request")
    return jsonify({"code": "INTERNAL_ERROR", "message": "internal error; nothing was changed"}), 500


bp.before_request(check_api_rate_limit)
