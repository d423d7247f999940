"""The authorization matrix: every screen route, as anonymous, each role, and a user of another
reseller — redirect to sign-in, 403, 404 or through — plus CSRF-less POSTs refused with 400.

A new route must be added to ROUTES of tests/support/routes.py (``test_every_screen_route_is_in_the_matrix``
fails otherwise), and must carry ``access.allow`` (``test_every_screen_view_declares_who_may_open_it``)."""

from __future__ import annotations

import re

import pytest

from tests.support.routes import OP2, PEOPLE, ROLE, ROUTES, Route, token_page
from tests.support.web import csrf_token

REFUSED = {400, 401, 403, 404, 405}


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
def test_matrix(app, signed_in, route_objects, route):
    path = route.path.format_map(route_objects)
    for who in PEOPLE:
        client = _client(app, signed_in, who)
        want = expected(route, who)
        if route.method == "GET":
            response = client.get(path)
        else:
            token = csrf_token(client, token_page(who))
            data = {k: v.format_map(route_objects) for k, v in route.data.items()}
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
def test_post_without_csrf_token_is_400_for_everyone(app, signed_in, route_objects, route):
    path = route.path.format_map(route_objects)
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
