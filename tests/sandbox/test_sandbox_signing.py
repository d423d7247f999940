"""The signature algorithm itself (no process needed)."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from sandbox import signing

BODY = b'{"merchantNo":"MCH1001","merchantOrderNo":"ORD1","amount":"1250.00"}'


def test_worked_example_of_protocol_md():
    # The same numbers are printed in sandbox/PROTOCOL.md ("Worked example"); change both together.
    assert signing.sign("demo-secret", BODY, t=1764000000) == (
        "t=1764000000,v1=9064884b8f5136e6dfef842b2de7a1f83257b3a117df622fe71430926ceeeac7")
    expected = hmac.new(b"demo-secret", b"1764000000." + BODY, hashlib.sha256).hexdigest()
    assert signing.compute("demo-secret", BODY, 1764000000) == expected


def test_round_trip_and_tolerance():
    header = signing.sign("s3cret", BODY, t=1_000_000)
    assert signing.verify("s3cret", header, BODY, now=1_000_000)
    assert signing.verify("s3cret", header, BODY, now=1_000_300)
    assert signing.verify("s3cret", header, BODY, now=999_700)
    assert not signing.verify("s3cret", header, BODY, now=1_000_301)
    assert not signing.verify("s3cret", header, BODY, now=999_699)
    assert signing.check("s3cret", header, BODY, now=1_000_301) == "timestamp outside the 300 s tolerance"


def test_rotation_accepts_any_listed_secret():
    header = signing.sign("old", BODY, t=5)
    assert signing.verify(["new", "old"], header, BODY, now=5)
    assert not signing.verify(["new"], header, BODY, now=5)
    assert not signing.verify([], header, BODY, now=5)
    assert not signing.verify(["", None or ""], header, BODY, now=5)


@pytest.mark.parametrize("header", [
    None, "", "v1=abc", "t=5", "t=abc,v1=00", "t=5,t=6,v1=00", "garbage", "t=-5,v1=00", "t=5;v1=00",
])
def test_malformed_headers_are_rejected(header):
    assert not signing.verify("s", header, BODY, now=5)


def test_body_changes_break_the_signature():
    header = signing.sign("s", BODY, t=5)
    assert not signing.verify("s", header, BODY.replace(b"1250.00", b"1250.01"), now=5)
    assert not signing.verify("s", header, BODY + b" ", now=5)
    assert not signing.verify("s", header, b'{"merchantNo": "MCH1001"}', now=5)
    assert signing.verify("s", header, BODY.decode(), now=5)  # str bodies are UTF-8 encoded


def test_several_v1_entries_and_case():
    good = signing.compute("s", BODY, 5)
    assert signing.verify("s", f"t=5,v1={'0' * 64},v1={good.upper()}", BODY, now=5)
    assert signing.verify("s", f"t=5, v0=xyz, v1={good}", BODY, now=5)
