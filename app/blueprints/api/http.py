"""Request parsing and response envelopes of the JSON API (docs/API.md §1)."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from enum import StrEnum
from typing import TypeVar, get_args

from flask import current_app, jsonify, request
from pydantic import BaseModel, ValidationError

from ...domain.errors import DomainError

M = TypeVar("M", bound=BaseModel)


class ApiError(Exception):
    def __init__(self, http_status: int, code: str, message: str, errors: list[dict] | None = None):
        super().__init__(message)
        self.http_status, self.code, self.message, self.errors = http_status, code, message, errors


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BAD_REQUEST", message)


def _reject_constant(name):
    raise ValueError(f"{name} is not valid JSON")


def _no_duplicate_keys(pairs):
    obj = {}
    for k, v in pairs:
        if k in obj:
            raise ValueError(f"duplicate key {k!r}")
        obj[k] = v
    return obj


def _drop_nulls(value, model: type[BaseModel] | None = None):
    """``null`` means absent (docs/API.md §1) — for a field the model knows. A null under a name it
    does not know stays, so that validation refuses it as an unknown field like any other value."""
    if not isinstance(value, dict):
        return value
    if model is None:
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    fields = model.model_fields
    return {k: v if k not in fields else _drop_nulls(v, _model_in(fields[k].annotation))
            for k, v in value.items() if v is not None or k not in fields}


def _model_in(annotation) -> type[BaseModel] | None:
    """The pydantic model a field holds (``BankAccountIn | None`` -> BankAccountIn), if any."""
    for candidate in (annotation, *get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _unstorable(text: str) -> str | None:
    """Why the database cannot hold ``text`` (PostgreSQL text refuses NUL; a lone UTF-16 surrogate,
    which JSON's ``\\ud800`` escape can produce, is not Unicode text at all), else None."""
    if "\x00" in text:
        return "must not contain NUL characters"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode text"
    return None


def _unstorable_fields(value, path: str = "") -> list[tuple[str, str]]:
    """(field, message) of every key or string in ``value`` the database cannot hold."""
    if isinstance(value, str):
        reason = _unstorable(value)
        return [(path or "body", reason)] if reason else []
    if isinstance(value, dict):
        found = []
        for k, v in value.items():
            name = f"{path}.{k}" if path else k
            reason = _unstorable(k)
            found += [(_printable(name), reason)] if reason else _unstorable_fields(v, name)
        return found
    if isinstance(value, list):
        return [f for i, v in enumerate(value) for f in _unstorable_fields(v, f"{path}.{i}")]
    return []


def _printable(name: str) -> str:
    """A field name fit for an error message: NUL and lone surrogates as ``\\uXXXX``."""
    return "".join(c if c.isprintable() and not 0xD800 <= ord(c) <= 0xDFFF else f"\\u{ord(c):04x}" for c in name)


def _reject_unstorable(found: list[tuple[str, str]]) -> None:
    if found:
        raise ApiError(422, "VALIDATION_ERROR", f"invalid fields: {', '.join(f for f, _ in found)}",
                       [{"field": f, "message": m} for f, m in found])


def _reject_nul(fields: list[str]) -> None:
    _reject_unstorable([(f, "must not contain NUL characters") for f in fields])


# Request bodies of this API are a few levels deep; anything deeper is refused before it is parsed,
# so no parser or validator recurses through thousands of levels.
MAX_JSON_DEPTH = 32
_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')
# Only a \u escape can carry NUL or a surrogate into the parsed strings.
_RISKY_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")


def _nesting_depth_exceeds(text: str, limit: int) -> bool:
    depth = 0
    for token in _JSON_TOKENS.finditer(text):
        char = token.group()
        if char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False


def json_body() -> dict:
    """The request body as a dict; numbers are read as Decimal from their literal text."""
    mimetype = request.mimetype
    if mimetype != "application/json":
        raise bad_request("Content-Type must be application/json")
    limit = current_app.config["API_MAX_BODY_BYTES"]
    if request.content_length is not None and request.content_length > limit:
        raise bad_request(f"body too large (at most {limit} bytes)")
    raw = request.get_data(cache=True)
    if len(raw) > limit:
        raise bad_request(f"body too large (at most {limit} bytes)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise bad_request(f"body is not valid UTF-8 JSON: {exc}") from None
    if _nesting_depth_exceeds(text, MAX_JSON_DEPTH):
        raise bad_request(f"body is nested too deeply (at most {MAX_JSON_DEPTH} levels of objects and arrays)")
    try:
        data = json.loads(text, parse_float=Decimal, parse_constant=_reject_constant,
                          object_pairs_hook=_no_duplicate_keys)
    except ValueError as exc:
        raise bad_request(f"body is not valid UTF-8 JSON: {exc}") from None
    if not isinstance(data, dict):
        raise bad_request("body must be a JSON object")
    if _RISKY_ESCAPE.search(raw):
        _reject_unstorable(_unstorable_fields(data))
    return data


def _error_list(exc: ValidationError) -> list[dict]:
    errors = []
    for e in exc.errors(include_url=False):
        ctx = e.get("ctx") or {}
        if e["type"] == "field_rule":
            field, message = ctx["field"], ctx["message"]
        else:
            field = ".".join(str(p) for p in e["loc"]) or "body"
            if e["type"] == "extra_forbidden":
                message = "unknown field"
            elif e["type"] == "missing":
                message = "is required"
            else:
                message = e["msg"].removeprefix("Value error, ")
        errors.append({"field": field, "message": message})
    return errors


def validate(model: type[M], data: dict) -> M:
    try:
        return model.model_validate(_drop_nulls(data, model))
    except ValidationError as exc:
        errors = _error_list(exc)
        names = ", ".join(sorted({e["field"] for e in errors}))
        raise ApiError(422, "VALIDATION_ERROR", f"invalid fields: {names}", errors) from None


def query_args(model: type[M]) -> M:
    """Query parameters validated by a model; numbers are converted here, money stays text."""
    data: dict[str, object] = {}
    fields = model.model_fields
    _reject_nul([k.replace("\x00", "\\u0000") for k, v in request.args.items(multi=True) if "\x00" in k + v])
    repeated = sorted(k for k, values in request.args.lists() if len(values) > 1)
    if repeated:
        raise ApiError(422, "VALIDATION_ERROR", f"invalid fields: {', '.join(repeated)}",
                       [{"field": k, "message": "given more than once"} for k in repeated])
    for key, value in request.args.items():
        if value == "" and key in fields:  # empty is "not given" (allowEmptyValue); an unknown name is refused
            continue
        if key in fields and key in ("page", "pageSize"):
            try:
                data[key] = int(value)
            except ValueError:
                data[key] = value
        else:
            data[key] = value
    return validate(model, data)


def ok(data, status: int = 200, message: str = "ok"):
    return jsonify({"code": "OK", "message": message, "data": data}), status


def error_response(err: ApiError | DomainError):
    body: dict[str, object] = {"code": err.code, "message": err.message}
    if err.errors:
        body["errors"] = err.errors
    status = err.http_status
    if status == 401:  # RFC 7235 §3.1: a 401 names the scheme it wants
        return jsonify(body), status, {"WWW-Authenticate": 'Bearer realm="api"'}
    return jsonify(body), status


def page_data(items: list, page: int, page_size: int, total: int) -> dict:
    return {"items": items, "page": page, "pageSize": page_size, "total": total}


def comma_list(value: str | None, allowed: type[StrEnum], field: str) -> list[str] | None:
    """A comma (or space) separated list of enum values; an unknown one is a 422 naming ``field``."""
    if not value:
        return None
    items = [v.strip() for v in value.replace(" ", ",").split(",") if v.strip()]
    bad = [v for v in items if v not in allowed.__members__]
    if bad:
        raise ApiError(422, "VALIDATION_ERROR", f"invalid fields: {field}",
                       [{"field": field, "message": f"unknown value(s): {', '.join(bad)}"}])
    return items
