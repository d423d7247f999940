"""The OpenAPI 3.1 document, generated from the pydantic models the routes validate with.

Routes declare their contract with ``@operation(...)``; ``build_document`` turns the declarations
into an ``openapi_pydantic.OpenAPI`` object whose component schemas pydantic generates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from openapi_pydantic import (
    Components,
    Info,
    MediaType,
    OpenAPI,
    Operation,
    Parameter,
    PathItem,
    Reference,
    RequestBody,
    Response,
    SecurityScheme,
    Server,
)
from openapi_pydantic.util import PydanticSchema, construct_open_api_with_schema_class
from pydantic import BaseModel, create_model

from .schemas import ErrorOut

_ERRORS = {
    "400": "BAD_REQUEST: not JSON, wrong content type, body too large",
    "401": "UNAUTHORIZED: no or bad API key",
    "403": "FORBIDDEN: the key lacks the scope",
    "404": "NOT_FOUND",
    "409": "STATE_CONFLICT, DUPLICATE_PAYMENT_ORDER or REQUEST_IN_PROGRESS",
    "422": "VALIDATION_ERROR, IDEMPOTENCY_KEY_REUSED or CREDIT_RECORD_MISMATCH",
    "429": "RATE_LIMITED",
}


@dataclass
class OperationSpec:
    method: str
    path: str
    summary: str
    scopes: tuple[str, ...]
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    extra_statuses: tuple[int, ...] = ()
    path_params: list[str] = field(default_factory=list)
    tag: str = "payments"
    auth: bool = True
    path_schemas: dict[str, dict] = field(default_factory=dict)
    extra_errors: dict[str, str] = field(default_factory=dict)


_REGISTRY: list[OperationSpec] = []


def operation(method: str, path: str, summary: str, *, scopes: tuple[str, ...] = (), body=None, query=None,
              response=None, status: int = 200, extra_statuses: tuple[int, ...] = (), tag: str = "payments",
              auth: bool = True, path_schemas: dict[str, dict] | None = None,
              extra_errors: dict[str, str] | None = None):
    """Record a route's contract. ``path`` is the OpenAPI path, e.g. /payment/{paymentId}/status;
    ``path_schemas`` the schema of a path parameter the route checks (else any string)."""

    def decorator(view):
        _REGISTRY.append(OperationSpec(method.lower(), path, summary, scopes, body, query, response, status,
                                       extra_statuses, re.findall(r"{(\w+)}", path), tag, auth, path_schemas or {},
                                       extra_errors or {}))
        return view

    return decorator


def _envelope(model: type[BaseModel]) -> type[BaseModel]:
    return create_model(f"{model.__name__}Envelope", code=(str, ...), message=(str, ...), data=(model, ...))


def _schema(model) -> PydanticSchema:
    return PydanticSchema(schema_class=model)


def _query_schema(prop: dict) -> dict:
    """A query parameter's schema: its value is text, and empty or absent means "not given" (the
    parameter is described with allowEmptyValue), so the null that pydantic adds is left out."""
    alternatives = [a for a in prop.get("anyOf", ()) if a.get("type") != "null"]
    if len(alternatives) == 1:
        rest = {k: v for k, v in prop.items() if k not in ("anyOf", "default")}
        return {**alternatives[0], **rest}
    return {k: v for k, v in prop.items() if k != "default"}


# The signed callbacks (docs/API.md §8) answer plain text: "success", or why the call was refused.
_CALLBACK_ANSWERS = {
    "200": "success (also for a duplicate or a late callback: nothing changes)",
    "400": "rejected: a missing, stale or wrong signature, or a body that does not match our records",
    "404": "unknown channel",
}


def _callback_operation(spec: OperationSpec, params: list[Parameter | Reference]) -> Operation:
    text = {"text/plain": MediaType.model_validate({"schema": {"type": "string"}})}
    params = [*params, Parameter.model_validate({
        "name": "X-Gateway-Signature", "in": "header", "required": True,
        "description": "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, \"<t>.<raw body>\")>",
        "schema": {"type": "string"}})]
    return Operation(
        summary=spec.summary, tags=[spec.tag], parameters=params, security=[],
        requestBody=RequestBody(required=True, content={"application/json": MediaType.model_validate(
            {"schema": {"type": "object", "description": "the gateway's event (sandbox/PROTOCOL.md)"}})}),
        responses={code: Response(description=what, content=text) for code, what in _CALLBACK_ANSWERS.items()})


def build_document(server_prefix: str = "/api/v1") -> dict:
    paths: dict[str, PathItem] = {}
    for spec in _REGISTRY:
        # By the wire names: openapi-pydantic sets populate_by_name where the pydantic mypy plugin cannot
        # see it, and "in" cannot be a keyword argument.
        params: list[Parameter | Reference] = [
            Parameter.model_validate({"name": p, "in": "path", "required": True,
                                      "schema": spec.path_schemas.get(p, {"type": "string"})})
            for p in spec.path_params
        ]
        if spec.query is not None:
            properties = spec.query.model_json_schema()["properties"]
            for name, f in spec.query.model_fields.items():
                params.append(Parameter.model_validate({
                    "name": name, "in": "query", "required": False, "allowEmptyValue": True,
                    "schema": _query_schema(properties[name]), "description": f.description}))
        if not spec.auth:
            setattr(paths.setdefault(spec.path, PathItem()), spec.method, _callback_operation(spec, params))
            continue
        responses: dict[str, Response | Reference] = {}
        ok = Response(description="success")
        if spec.response is not None:
            ok = Response(description="success",
                          content={"application/json": MediaType(schema=_schema(_envelope(spec.response)))})
        responses[str(spec.status)] = ok
        for extra in spec.extra_statuses:
            responses[str(extra)] = ok
        for code, text in sorted({**_ERRORS, **spec.extra_errors}.items()):
            responses[code] = Response(description=text,
                                       content={"application/json": MediaType(schema=_schema(ErrorOut))})
        op = Operation(summary=spec.summary, tags=[spec.tag], parameters=params or None, responses=responses,
                       security=[{"apiKey": []}] if spec.auth else [],
                       description=f"Scopes: {', '.join(spec.scopes)}" if spec.scopes else None)
        if spec.body is not None:
            op.requestBody = RequestBody(required=True, content={
                "application/json": MediaType(schema=_schema(spec.body))})
        item = paths.setdefault(spec.path, PathItem())
        setattr(item, spec.method, op)
    doc = OpenAPI(
        openapi="3.1.0",
        info=Info(title="Reseller Payment Portal API", version="1.0.0",
                  description="Payment orders, refunds, credit, resellers, finance, disbursements and "
                              "webhook endpoints."),
        servers=[Server(url=server_prefix)],
        paths=paths,
        components=Components(securitySchemes={"apiKey": SecurityScheme(
            type="http", scheme="bearer", bearerFormat="API key",
            description="Authorization: Bearer <key>: the scheme in any case, one or more spaces, the key (RFC "
                        "6750 b64token). A missing or malformed header, or an unknown key, is a 401 with "
                        "WWW-Authenticate.")}),
    )
    doc = construct_open_api_with_schema_class(doc)
    return doc.model_dump(mode="json", by_alias=True, exclude_none=True)
