"""The authorization matrix: every screen route, as anonymous, each role, and a user of another
reseller — redirect to sign-in, 403, 404 or through — plus CSRF-less POSTs refused with 400.

A new route must be added to ROUTES (``test_every_screen_route_is_in_the_matrix`` fails otherwise),
and must carry ``access.allow`` (``test_every_screen_view_declares_who_may_open_it``)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest

from tests.support.documents import failed_receipt, rendered_receipt
from tests.support.screen_setup import APP, add_channel, add_wire_channel, in_app, make_order, pay, upload, wire_payment
from tests.support.statement_world import stored_statement
from tests.support.web import csrf_token

OP1, AP1, OP2, FIN, ADMIN = ("operator@r1001.example", "approver@r1001.example", "operator@r1002.example",
                             "finance@example.com", "admin@example.com")
ROLE = {OP1: "reseller_operator", AP1: "reseller_approver", OP2: "reseller_operator", FIN: "finance",
        ADMIN: "admin"}
RESELLER = {"reseller_operator", "reseller_approver"}
APPROVER = {"reseller_approver"}
FINANCE = {"finance"}
EVERYONE = RESELLER | FINANCE | {"admin"}


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # with {placeholders} filled from the objects of R1001
    roles: frozenset
    tenant: bool = False  # an object of R1001: R1002's users get 404
    ok: dict = field(default_factory=dict)  # user (or "*") -> expected status when not the default (GET 200)
    data: dict = field(default_factory=dict)  # form fields of a POST, {placeholders} filled too
    public: bool = False  # no sign-in needed: everyone, anonymous included, gets ``ok`` (default 200)


def R(method, path, roles, tenant=False, ok=None, data=None, public=False):
    return Route(method, path, frozenset(roles), tenant, ok or {}, data or {}, public)


ROUTES = [
    R("GET", "/", EVERYONE, ok={FIN: 302}),
    R("POST", "/logout", EVERYONE, ok={"*": 302}),
    R("GET", "/account/password", EVERYONE),
    R("POST", "/account/password", EVERYONE, ok={"*": 422}),  # no passwords given
    R("GET", "/orders", RESELLER),
    R("POST", "/orders/export", RESELLER, data={"format": "csv"}),
    R("GET", "/orders/exports/{job}", RESELLER, ok={OP1: 404, AP1: 404, OP2: 404}),  # nobody's job
    R("GET", "/orders/exports/{job}/download", RESELLER, ok={OP1: 404, AP1: 404, OP2: 404}),
    R("GET", "/orders/{payment_id}", RESELLER, tenant=True),
    R("GET", "/checkout?ids={payment_id}", RESELLER),
    R("POST", "/checkout/validate", RESELLER),
    R("POST", "/checkout", RESELLER),
    R("GET", "/payments", RESELLER),
    R("GET", "/payments/{merged}", RESELLER, tenant=True),
    R("POST", "/payments/{merged}/refresh", RESELLER, tenant=True),
    R("POST", "/payments/{merged}/cancel", RESELLER, tenant=True),
    R("POST", "/payments/{merged}/vouchers", RESELLER, tenant=True, data={"channel_payment_id": "{cp}"}),
    R("GET", "/payments/{merged}/vouchers/{voucher}", RESELLER, tenant=True),
    R("GET", "/approvals", APPROVER),
    R("POST", "/approvals/{merged}/approve", APPROVER, tenant=True),
    R("POST", "/approvals/{merged}/reject", APPROVER, tenant=True),
    R("GET", "/wallet", RESELLER),
    R("GET", "/credit", RESELLER),
    R("GET", "/statements", RESELLER),
    R("POST", "/statements", RESELLER, ok={"*": 302}, data={"month": "2026-03"}),
    R("GET", "/statements/documents", RESELLER),
    R("GET", "/documents/{statement}/pdf", RESELLER | FINANCE, tenant=True),  # a READY statement of R1001
    R("GET", "/finance/vouchers", FINANCE),
    R("POST", "/finance/vouchers/{voucher}/confirm", FINANCE),
    R("POST", "/finance/vouchers/{voucher}/reject", FINANCE),
    R("GET", "/vouchers/{voucher}/file", FINANCE | RESELLER, tenant=True),
    R("GET", "/vouchers/{voucher}/pdf", FINANCE | RESELLER, tenant=True),
    R("GET", "/finance/refunds", FINANCE),
    R("POST", "/finance/refunds/parts/{nothing}/retry", FINANCE, ok={FIN: 404}),  # no such part
    R("GET", "/finance/disbursements", FINANCE),
    R("POST", "/finance/disbursements/{nothing}/settle", FINANCE, ok={FIN: 404}),  # no such payout
    R("GET", "/finance/reports", FINANCE),
    R("POST", "/finance/reports/pdf", FINANCE, ok={FIN: 302}, data={"day": "2026-03-12"}),
    R("GET", "/finance/reports/documents", FINANCE),
    # documents: a READY receipt of R1001 (paid by wallet) and a FAILED one; finance sees every company's
    R("GET", "/payments/{paid}/receipt", RESELLER, tenant=True, ok={"*": 303}),  # the part alone is for HTMX
    R("POST", "/payments/{paid}/receipt", RESELLER, tenant=True),
    R("GET", "/documents/{document}/pdf", RESELLER | FINANCE, tenant=True),
    R("GET", "/documents/{nothing}/pdf", RESELLER | FINANCE, ok={"*": 404}),
    R("POST", "/documents/{failed_document}/retry", RESELLER | FINANCE, tenant=True),
    R("GET", "/finance/documents", FINANCE),
    R("GET", "/verify/{code}", EVERYONE, public=True),
    R("GET", "/verify/{nothing}", EVERYONE, public=True, ok={"*": 404}),
]
PEOPLE = ("anonymous", OP1, AP1, OP2, FIN, ADMIN)
REFUSED = {400, 401, 403, 404, 405}


@pytest.fixture
def objects(app, portal, tmp_path, monkeypatch):
    """A payment order of R1001, a wire payment of it with an uploaded voucher; a wallet payment of
    R1001 with its READY receipt, and another receipt that FAILED."""
    monkeypatch.setitem(app.config, "VOUCHER_DIR", str(tmp_path / "vouchers"))
    monkeypatch.setitem(APP, "app", app)
    add_wire_channel()
    add_channel("WALLET", "WALLET")
    payment_id = make_order("R1001", "1000.00")
    cp = wire_payment([(payment_id, "400.00")])
    paid = pay([(make_order("R1001", "300.00"), "300.00")], "WALLET")
    failed = pay([(make_order("R1001", "200.00"), "200.00")], "WALLET")
    document, code = rendered_receipt(paid.merged_payment_id)
    return {"payment_id": payment_id, "merged": cp.merged_payment_id, "voucher": upload(cp),
            "cp": cp.channel_payment_id, "paid": paid.merged_payment_id, "document": document, "code": code,
            "failed_document": failed_receipt(failed.merged_payment_id), "statement": in_app(stored_statement)(),
            "job": "0" * 32, "nothing": "X0000000000"}


def _client(app, signed_in, who):
    return app.test_client() if who == "anonymous" else signed_in(who)


def expected(route: Route, who: str):
    if route.public:
        return route.ok.get(who, route.ok.get("*", 200))
    if who == "anonymous":
        return "login"
    if ROLE[who] not in route.roles:
        return 403
    if route.tenant and who == OP2:
        return 404
    return route.ok.get(who, route.ok.get("*", 200 if route.method == "GET" else "through"))


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_matrix(app, signed_in, objects, route):
    path = route.path.format(**objects)
    for who in PEOPLE:
        client = _client(app, signed_in, who)
        want = expected(route, who)
        if route.method == "GET":
            response = client.get(path)
        else:
            token = csrf_token(client, "/login" if who == "anonymous" else "/wallet" if ROLE[who] in RESELLER
                               else "/finance/vouchers" if ROLE[who] == "finance" else "/")
            data = {k: v.format(**objects) for k, v in route.data.items()}
            response = client.post(path, data={**data, "csrf_token": token})
        response.close()  # a streamed answer (an export) keeps its request context until closed
        got = response.status_code
        where = f"{route.method} {path} as {who}: {got} {response.headers.get('Location', '')}"
        if want == "login":
            assert got == 302 and response.headers["Location"].startswith("/login?next="), where
        elif want == "through":  # authorised: whatever the action answers, it is not a refusal
            assert got not in REFUSED and not response.headers.get("Location", "").startswith("/login"), where
        else:
            assert got == want, where


@pytest.mark.parametrize("route", [r for r in ROUTES if r.method == "POST"], ids=lambda r: r.path)
def test_post_without_csrf_token_is_400_for_everyone(app, signed_in, objects, route):
    path = route.path.format(**objects)
    for who in PEOPLE:
        client = _client(app, signed_in, who)
        assert client.post(path, data={}).status_code == 400, (path, who)
        assert client.post(path, data={}, headers={"HX-Request": "true"}).status_code == 400, (path, who)


def _screen_rules(app):
    for rule in app.url_map.iter_rules():
        module = app.view_functions[rule.endpoint].__module__
        if module.startswith("app.blueprints.web."):
            yield rule


def test_every_screen_route_is_in_the_matrix(app):
    listed = {(r.method, r.path.split("?")[0]) for r in ROUTES}
    missing = []
    for rule in _screen_rules(app):
        if rule.endpoint == "auth.login":
            continue
        shape = re.sub(r"<(?:\w+:)?\w+>", "{}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            if not any(m == method and re.sub(r"\{\w+\}", "{}", p) == shape for m, p in listed):
                missing.append(f"{method} {rule.rule}")
    assert not missing, f"add these to ROUTES: {missing}"


def test_every_screen_view_declares_who_may_open_it(app):
    undeclared = [rule.rule for rule in _screen_rules(app)
                  if not hasattr(app.view_functions[rule.endpoint], "allowed_roles")]
    assert not undeclared, undeclared
