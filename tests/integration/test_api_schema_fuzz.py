"""The JSON API against its own OpenAPI document (schemathesis, in process over WSGI).

Every operation of the generated document is called with data generated from it, valid (positive)
and invalid (negative), authenticated with a key that holds every scope. Each answer must be no
5xx, must be one of the documented statuses with the documented content type and body schema, and
invalid data must be refused (4xx).

Deterministic by default (derandomized, a bounded budget) so the test command stays fast:

    FUZZ_EXAMPLES   examples per operation of the fuzzing phase (default 15)
    FUZZ_SEED       an integer seed, or "random" for a new exploration each run (default: derandomized)
    FUZZ_REPORT     a file to write the tally of answers to (requests, 5xx, statuses) as JSON

A long exploration: ``FUZZ_EXAMPLES=200 FUZZ_SEED=random pytest tests/integration/test_api_schema_fuzz.py``
(docs/SECURITY.md, "No 5xx from any input"). The document fuzzed is the one the app serves
(``test_the_fuzzed_document_is_the_served_one``).
"""

from __future__ import annotations

import os
import secrets

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from app.blueprints import api as _api_routes  # noqa: F401  (the routes register their contract on import)
from app.blueprints.api import channel_callbacks as _payment_callbacks  # noqa: F401
from app.blueprints.api import payout_callbacks as _payout_callbacks  # noqa: F401
from app.blueprints.api.openapi import build_document
from app.services.accounts import api_clients
from tests.support.database import TEST_ACTOR
from tests.support.factories import ALL_SCOPES, add_channel
from tests.support.tally import Tally

CHANNEL = "ONLINE_UNIONPAY"  # the payment channel of the callbacks, and the payout gateway
# The key of the test's client with every scope. Given to schemathesis as the scheme's credentials (not
# as a fixed header), so that its negative cases can leave it out or break it and expect a 401.
KEY = f"rpp_fuzz_{secrets.token_urlsafe(24)}"
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))
SEED = os.environ.get("FUZZ_SEED", "")


def _config() -> schemathesis.Config:
    generation: dict = {"mode": "all", "max-examples": EXAMPLES, "database": "none"}
    config: dict = {
        "generation": generation,
        # No stateful phase: the document declares no links between operations.
        "phases": {"examples": {"enabled": True}, "coverage": {"enabled": True}, "fuzzing": {"enabled": True},
                   "stateful": {"enabled": False}},
        # Every check schemathesis has for single calls; schema-valid data may still be refused by a
        # rule the schema cannot state (an unknown reseller, minAmount above maxAmount: 422), but never
        # as malformed (400) or unauthorised.
        "checks": {"positive_data_acceptance": {"expected-statuses": ["2XX", "404", "409", "422"]}},
        # The callbacks' channel is one that exists, so that their signature check is what answers.
        "parameters": {"path.channelCode": CHANNEL},
        "auth": {"openapi": {"apiKey": {"bearer": KEY}}},
        # A valid callback carries the gateway's HMAC of its body, which no schema can describe: every
        # generated one is refused (400), so only the other checks apply to them.
        "operations": [{"include-tag": "callbacks", "checks": {"positive_data_acceptance": {"enabled": False}}}],
    }
    if not SEED:
        generation["deterministic"] = True
    elif SEED != "random":
        config["seed"] = int(SEED)
    return schemathesis.Config.from_dict(config)


schema = schemathesis.openapi.from_dict(build_document(), config=_config())
TALLY = Tally("FUZZ_REPORT")


@pytest.fixture(scope="module", autouse=True)
def _report():
    yield
    TALLY.write()


@pytest.fixture
def fuzz_world(app, make_reseller) -> None:
    """A reseller, the API client of KEY with every scope, and the ONLINE channel of the callbacks."""
    make_reseller("R1001", credit_limit="100000.00", wallet="1000.00")
    with app.app_context():
        api_clients.create_client(TEST_ACTOR, "fuzz", api_clients.parse_scopes(ALL_SCOPES), key=KEY)
        add_channel(CHANNEL, "ONLINE", config={"base_url": "http://127.0.0.1:9", "merchant_no": "MCH1001"},
                    secrets={"api_secret": "fuzz-api-secret", "callback_secret": "fuzz-callback-secret"})


@schema.parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_api_conforms_to_its_openapi_document(case, app, fuzz_world):
    case.operation.app = case.operation.schema.app = app  # calls and the checks' probes: in process (WSGI)
    response = case.call()
    TALLY.count(response.status_code)
    case.validate_response(response)


def test_the_fuzzed_document_is_the_served_one(client):
    assert client.get("/api/v1/openapi.json").get_json() == build_document()
