"""Our receiving accounts come from the WIRE channels' configuration (app/services/bank_statements/
accounts.py), and a statement is checked against exactly those."""

from __future__ import annotations

import pytest

from app.services.bank_statements.accounts import wire_receiving_accounts
from app.services.bank_statements.problems import Problem, StatementRejected
from app.services.bank_statements.reading import read_statement
from sandbox.bank_exports import statement_csv
from tests.support import factories

WIRE = {"account_no": "6222020200112233445", "value_day": "2025-11-25", "amount": "10.00", "payer_name": "A",
        "payer_account": "6217000011112222", "memo": "m", "bank_reference": "BK1"}


def test_accounts_of_every_wire_channel_and_no_other(app):
    with app.app_context():
        factories.add_channel("WIRE_ICBC", "WIRE", config={"account_no": "6222 0202 0011 2233 445"})
        factories.add_channel("WIRE_CCB", "WIRE", enabled=False, config={"account_no": "4367-4200-1234-5678"})
        factories.add_channel("WIRE_BROKEN", "WIRE", config={})
        factories.add_channel("ONLINE_X", "ONLINE", config={"account_no": "9999999999"})
        accounts = wire_receiving_accounts()
    assert accounts == ["4367420012345678", "6222020200112233445"]
    assert len(read_statement(statement_csv(WIRE["account_no"], [WIRE], "gbk"), accounts).lines) == 1
    online = WIRE | {"account_no": "9999999999"}
    with pytest.raises(StatementRejected) as info:
        read_statement(statement_csv(online["account_no"], [online], "gbk"), accounts)
    assert info.value.problem is Problem.OTHER_ACCOUNT


def test_without_wire_channels_every_statement_is_for_another_account(app):
    with app.app_context():
        assert wire_receiving_accounts() == []
    with pytest.raises(StatementRejected) as info:
        read_statement(statement_csv(WIRE["account_no"], [WIRE], "gbk"), [])
    assert info.value.problem is Problem.OTHER_ACCOUNT


def test_a_refusal_speaks_the_users_language(app):
    data = statement_csv(WIRE["account_no"], [WIRE | {"amount": "1.00"}], "gbk").replace(b",1.00,", b",1.005,", 1)
    english = 'Line 3, column 5 (贷方发生额): "1.005" is not an amount with at most two decimals.'
    for lang, expected in (("zh", "第 3 行，第 5 列（贷方发生额）：“1.005”不是最多两位小数的金额。"), ("en", english)):
        with app.test_request_context(f"/?lang={lang}"):
            with pytest.raises(StatementRejected) as info:
                read_statement(data, [WIRE["account_no"]])
            assert info.value.message == expected
            assert info.value.errors == [{"field": "file", "message": expected}]
