"""The sandbox bank's receiving side (sandbox/PROTOCOL.md §13), the whole way: wires "received" at
the real sandbox process, the day's statement exported in every format, read back by the portal's
parsers (app/services/bank_statements/) into the same lines."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.domain.wire_reference import references_in_memo
from app.services.bank_statements.lines import Direction, StatementFormat
from app.services.bank_statements.problems import Problem, StatementRejected
from app.services.bank_statements.reading import read_statement
from sandbox.testing import http_request

OURS = "6222020200112233445"
DAY = "2025-11-25"


@pytest.fixture
def received(sandbox):
    wires = [
        sandbox.receive_wire(OURS, "上海某某贸易有限公司", "6217000011112222", "1250.00",
                             "货款 ＷＡＢＣ　２３ＤＥ－ＦＧ", value_date=DAY),
        sandbox.receive_wire(OURS, "Acme Trading", "6217000099990000", "0.01", "", value_date=DAY),
        sandbox.receive_wire(OURS, "北京某某", "6217000011113333", "99999.99", "w abc23defg 余款", value_date=DAY),
    ]
    sandbox.receive_wire("6222020200999999999", "Other", "6217000011114444", "5.00", "x", value_date=DAY)
    sandbox.receive_wire(OURS, "Next day", "6217000011115555", "7.00", "y", value_date="2025-11-26")
    return wires


@pytest.mark.parametrize(("fmt", "encoding", "expected_format", "expected_encoding"), [
    ("csv", "gbk", StatementFormat.CSV, "GBK"),
    ("csv", "utf-8", StatementFormat.CSV, "UTF-8"),
    ("csv", "utf-8-sig", StatementFormat.CSV, "UTF-8-SIG"),
    ("mt940", "", StatementFormat.MT940, "UTF-8"),
    ("camt053", "", StatementFormat.CAMT053, "UTF-8"),
])
def test_received_wires_come_back_from_every_export(sandbox, received, fmt, encoding, expected_format,
                                                    expected_encoding):
    data = sandbox.bank_statement(OURS, DAY, fmt, encoding or "gbk")
    parsed = read_statement(data, [OURS])
    assert (parsed.format, parsed.encoding) == (expected_format, expected_encoding)
    assert [(ln.bank_reference, ln.amount, ln.direction, ln.payer_name, ln.payer_account, ln.memo, ln.our_account,
             ln.value_date.isoformat(), ln.currency) for ln in parsed.lines] == [
        (w["bankReference"], Decimal(w["amount"]), Direction.CREDIT, w["payerName"], w["payerAccount"], w["memo"],
         OURS, DAY, "CNY") for w in received]
    assert references_in_memo(parsed.lines[0].memo, ["WABC23DEFG"]) == ["WABC23DEFG"]
    assert references_in_memo(parsed.lines[2].memo, ["WABC23DEFG"]) == ["WABC23DEFG"]


def test_a_day_without_wires_is_an_empty_statement_not_an_error(sandbox):
    for fmt in ("csv", "mt940", "camt053"):
        parsed = read_statement(sandbox.bank_statement(OURS, "2025-01-01", fmt), [OURS])
        assert parsed.lines == ()


def test_the_statement_of_another_account_is_refused_by_the_parser(sandbox, received):
    data = sandbox.bank_statement("6222020200999999999", DAY, "csv")
    with pytest.raises(StatementRejected) as info:
        read_statement(data, [OURS])
    assert info.value.problem is Problem.OTHER_ACCOUNT


def test_receive_wire_checks_its_input_and_stores_nothing_when_refused(sandbox):
    bad = [
        {"accountNo": OURS, "payerName": "A", "payerAccount": "6217000011112222", "amount": "-1.00"},
        {"accountNo": OURS, "payerName": "A", "payerAccount": "6217000011112222", "amount": 1.5},
        {"accountNo": OURS, "payerName": "A", "payerAccount": "6217000011112222", "amount": "1.001"},
        {"accountNo": "12ab", "payerName": "A", "payerAccount": "6217000011112222", "amount": "1.00"},
        {"accountNo": OURS, "payerName": "", "payerAccount": "6217000011112222", "amount": "1.00"},
        {"accountNo": OURS, "payerName": "A\nB", "payerAccount": "6217000011112222", "amount": "1.00"},
        {"accountNo": OURS, "payerName": "A", "payerAccount": "6217000011112222", "amount": "1.00",
         "valueDate": "2025-02-30"},
        {"accountNo": OURS, "payerName": "A", "payerAccount": "6217000011112222", "amount": "1.00", "memo": "x" * 141},
    ]
    for body in bad:
        r = sandbox.admin("POST", "/_sandbox/bank/wires", body)
        assert r.status == 400 and r.json()["code"] == "INVALID_REQUEST", body
    r = sandbox.admin("GET", f"/_sandbox/bank/wires?accountNo={OURS}&date=2025-02-28")
    assert r.json()["wires"] == []
    r = sandbox.admin("GET", f"/_sandbox/bank/statements/{OURS}/{DAY}?format=pdf")
    assert r.status == 400
    r = sandbox.admin("GET", f"/_sandbox/bank/statements/{OURS}/{DAY}?format=csv&encoding=big5")
    assert r.status == 400


def test_reset_forgets_the_wires(sandbox, received):
    sandbox.reset()
    r = http_request("GET", f"{sandbox.base_url}/_sandbox/bank/wires?accountNo={OURS}&date={DAY}")
    assert r.json()["wires"] == []
