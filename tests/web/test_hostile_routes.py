"""Hostile input over every screen route of the authorization table (tests/support/routes.py), as
every kind of caller: hostile path segments (NUL, lone surrogates, huge and negative integers,
unicode, ``..``, very long), hostile query values and repeated parameters, hostile form values.
Property: never a 5xx, every answer one of the documented ones, and a caller the table refuses
stays refused whatever the input.

Deterministic by default (derandomized) with a bounded budget:

    HOSTILE_EXAMPLES   examples (default 100)
    HOSTILE_SEED       "random" for a new exploration each run (default: derandomized)
    HOSTILE_REPORT     a file to write the tally of answers to (requests, 5xx, statuses) as JSON

A long exploration: ``HOSTILE_EXAMPLES=1000 HOSTILE_SEED=random pytest tests/web/test_hostile_routes.py``
(docs/SECURITY.md, "Hostile input").
"""

from __future__ import annotations

import os
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.routes import PEOPLE, ROLE, ROUTES, Route, token_page
from tests.support.tally import Tally
from tests.support.web import csrf_token, sign_in

EXAMPLES = int(os.environ.get("HOSTILE_EXAMPLES", "100"))
RANDOM = os.environ.get("HOSTILE_SEED", "") == "random"

# What a screen may answer (docs/SCREENS.md): a page, a redirect (sign-in, after an action), an HTMX
# answer without a body, or a refusal. Never a 5xx.
# 308 is the router's answer to an empty segment ("//"): the same path with the slashes merged.
ANSWERS = {200, 204, 302, 303, 308, 400, 403, 404, 405, 409, 413, 422, 429}
REFUSALS = {308, 400, 403, 404, 405}

# Text as it reaches the portal: lone surrogates cannot be UTF-8, so they travel as the bytes a
# careless client would send for them (CESU-8), which the server must decode as best it can.
HOSTILE_TEXT = [
    "\x00", "a\x00b", "\ud800", "x\udfff", "9" * 30, "2147483648", "9223372036854775808", "-1", "-0", "0",
    "1e99", "NaN", "Infinity", "0x10", "１２３", "支付", "ＰＡＹ", "..", "../..", ".", "%", "%zz", "%00",
    "a" * 5000, "<script>alert(1)</script>", "' OR 1=1 --", "{{7*7}}", " ", "\t\n", "\u202e", "😀",
    "null", "true", "[]", "{}", "/", "\\", "?", "#", "&", "=", "0001-01-01", "9999-12-31", "10000-01-01",
    "2026-02-30", "-5.00", "1,000,000.005",
]
hostile_text = st.one_of(st.sampled_from(HOSTILE_TEXT), st.sampled_from(HOSTILE_TEXT), st.text(max_size=40),
                         st.integers(min_value=-10**30, max_value=10**30).map(str))
# The names the screens read (their filters and forms), so that hostile values reach the code.
FIELDS = ["page", "rpage", "pageSize", "ids", "status", "type", "reference", "lang", "next", "sort", "channel",
          "orderId", "paymentId", "refundOrderId", "paymentStatus", "paymentType", "createdFrom", "createdTo",
          "created_from", "created_to", "deadlineFrom", "deadlineTo", "minAmount", "maxAmount", "overdue",
          "amount", "receivedAmount", "shortfall", "bankSerialNo", "bankSerial", "memo", "reason", "outcome", "back",
          "format",
          "channel_payment_id", "payment_id", "voucher", "rows", "confirm", "email", "password",
          "current_password", "new_password", "name", "scopes", "url", "event_types", "description", "enabled",
          "since", "until", "name_en", "min_amount", "max_amount", "daily_limit_per_reseller", "available_to_all",
          "resellers", "maintenance_start", "maintenance_end", "overlap_hours", "role", "reseller", "locale",
          "approval_threshold", "credit_limit", "credit_term_days", "account_no", "account_name", "bank_code"]
names = st.one_of(st.sampled_from(FIELDS), hostile_text)
query = st.lists(st.tuples(names, hostile_text), max_size=5)


TALLY = Tally("HOSTILE_REPORT")


@pytest.fixture(scope="module", autouse=True)
def _report():
    yield
    TALLY.write()


def _send(client, method: str, path: str, **kwargs):
    """The answer (closed), counted; an exception of the app (a 500 in production) is counted too."""
    try:
        response = client.open(path, method=method, **kwargs)
    except Exception:
        TALLY.count("exception")
        raise
    response.close()  # a streamed answer (an export) keeps its request context until closed
    TALLY.count(response.status_code)
    return response


def _enc(text: str) -> str:
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


def _hostile_path(route: Route, objects: dict, segment: str | None, placeholder: int) -> str:
    names = [n for n in objects if "{" + n + "}" in route.path]
    values = {n: objects[n] for n in names}
    if segment is not None and names:
        values[names[placeholder % len(names)]] = _enc(segment)
    path = route.path.format_map(values)
    if segment is not None and not names:
        path = path.split("?")[0].rstrip("/") + "/" + _enc(segment)
    return path


@pytest.fixture
def callers(app, portal, route_objects):
    """A test client per person of the table, signed in once (sign-in hashes a password)."""
    clients = {"anonymous": app.test_client()}
    for who in PEOPLE[1:]:
        clients[who] = app.test_client()
        assert sign_in(clients[who], who).status_code == 302
    tokens = {who: csrf_token(client, token_page(who)) for who, client in clients.items()}
    return clients, tokens


@st.composite
def hostile_requests(draw):
    """A route, a caller (mostly one the table lets in, so that the input reaches the screen's code),
    one hostile value put into several of the fields the screens read, and more hostile odds and ends."""
    route = draw(st.sampled_from(ROUTES))
    allowed = [p for p in PEOPLE[1:] if ROLE[p] in route.roles]
    who = draw(st.sampled_from(allowed)) if allowed and draw(st.integers(0, 3)) else draw(st.sampled_from(PEOPLE))
    value = draw(hostile_text)
    segment = draw(st.none() | st.just(value) | hostile_text)
    fields = draw(st.lists(st.sampled_from(FIELDS), unique=True, max_size=6))
    params = [(f, value) for f in fields] + draw(query)
    form = {f: value for f in draw(st.lists(st.sampled_from(FIELDS), unique=True, max_size=6))}
    form.update(draw(st.dictionaries(names, hostile_text, max_size=3)))
    return route, who, segment, draw(st.integers(0, 3)), params, form, draw(st.booleans())


@settings(max_examples=EXAMPLES, derandomize=not RANDOM, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(request=hostile_requests())
def test_hostile_input_on_every_screen_route(callers, route_objects, request):
    route, who, segment, placeholder, params, form, htmx = request
    clients, tokens = callers
    if route.path == "/logout" and who != "anonymous":
        return  # would end the session the other examples use; logout takes no input
    path = _hostile_path(route, route_objects, segment, placeholder)
    qs = "&".join(f"{_enc(k)}={_enc(v)}" for k, v in params)
    if qs:
        path = f"{path}{'&' if '?' in path else '?'}{qs}"
    headers = {"HX-Request": "true"} if htmx else {}
    client = clients[who]
    if route.method == "GET":
        response = _send(client, "GET", path, headers=headers)
    else:
        data = {k: v.format_map(route_objects) for k, v in route.data.items()}
        data.update({k.encode("utf-8", "surrogatepass").decode("utf-8", "replace"):
                     v.encode("utf-8", "surrogatepass").decode("utf-8", "replace") for k, v in form.items()})
        data["csrf_token"] = tokens[who]
        response = _send(client, "POST", path, data=data, headers=headers)
    status = response.status_code
    where = f"{route.method} {path[:300]} as {who}: {status}"
    assert status in ANSWERS, where
    if who == "anonymous":
        location = response.headers.get("Location", "")
        assert status in REFUSALS or (status == 302 and location.startswith("/login")) \
            or (status == 204 and response.headers.get("HX-Redirect", "").startswith("/login")), where
    elif ROLE[who] not in route.roles:
        assert status in REFUSALS, where


# The values that have broken screens before (issue 11): the sweep below puts each of them into
# every field and every path segment of every route, as a caller the route lets in.
SWEEP = ["a\x00b", "\ud800", "9" * 30, "-1", "0001-01-01", "9999-12-31", "１２３"]


def _allowed_caller(route: Route) -> str:
    return next(p for p in PEOPLE[1:] if ROLE[p] in route.roles)


@pytest.mark.parametrize("value", SWEEP, ids=ascii)
def test_every_field_and_segment_of_every_route_takes_a_hostile_value(callers, route_objects, value):
    clients, tokens = callers
    for route in ROUTES:
        if route.path == "/logout":
            continue
        who = _allowed_caller(route)
        all_fields = "&".join(f"{f}={_enc(value)}" for f in FIELDS)
        segments = sum(1 for n in route_objects if "{" + n + "}" in route.path) or 1
        paths = [_hostile_path(route, route_objects, value, i) for i in range(segments)]
        paths.append(route.path.format_map(route_objects))
        for path in paths:
            path = f"{path}{'&' if '?' in path else '?'}{all_fields}"
            if route.method == "GET":
                response = _send(clients[who], "GET", path)
            else:
                form = {f: value.encode("utf-8", "surrogatepass").decode("utf-8", "replace") for f in FIELDS}
                response = _send(clients[who], "POST", path, data={**form, "csrf_token": tokens[who]})
            assert response.status_code in ANSWERS, f"{route.method} {path[:200]} as {who}: {response.status_code}"
