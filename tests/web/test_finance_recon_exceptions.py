"""The actions on a difference on /finance/reconciliation through the test client with CSRF on: each row
offers only the actions that fit its class (UI.md hooks plus ``recon-action`` with ``data-action``), a
refused action shows its error next to its field in zh-CN and en and stores nothing, and an action above
the approval threshold waits for a second finance user, who approves or rejects it on the same row
(the one who asked is refused). A reversal is offered for a paid payment the channel did not take, and
its refusal is worded next to the action."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.domain.enums import ChannelPaymentStatus, StatementSource
from app.domain.timeutil import shanghai_today
from app.extensions import db
from app.models import AuditEntry, Channel, ReconciliationException, Reseller, WalletChange
from app.services.ledgers import wallet
from app.services.platform.actor import Actor
from app.services.reconciliation import runs
from app.services.reconciliation.lines import Line
from app.services.reconciliation.statement_import import import_statement
from app.services.settlement import channel_result as settlement
from tests.support.screen_setup import (
    channel_payment_status,
    count,
    in_app,
    make_order,
    post,
    wire_payment,
)
from tests.support.web import csrf_token

URL = "/finance/reconciliation"


@in_app
def _reconcile(lines: list[Line], day: date) -> dict[str, int]:
    channel_id = db.session.scalar(sa.select(Channel.id).where(Channel.code == "WIRE_ICBC"))
    imported = import_statement(channel_id, "WIRE_ICBC", day, StatementSource.GATEWAY, lines, runs.RECONCILIATION)
    runs.reconcile(channel_id, day, imported.import_id)
    return {e.reference: e.id for e in db.session.scalars(sa.select(ReconciliationException))}


@in_app
def _threshold(amount: str) -> None:
    db.session.scalar(sa.select(Reseller).where(Reseller.code == "R1001")).approval_threshold = Decimal(amount)
    db.session.commit()


@in_app
def _exception(pk: int) -> tuple:
    e = db.session.get(ReconciliationException, pk)
    return e.state, e.pending_action, e.resolution_action, e.channel_payment_id


def _stored() -> tuple:
    return (count(AuditEntry), count(WalletChange),
            count(ReconciliationException, ReconciliationException.state == "OPEN"),
            count(ReconciliationException, ReconciliationException.pending_action.is_not(None)))


@pytest.fixture
def diffs(shop, signed_in):
    """A WIRE payment of 700.00 whose statement line says 650.00 (AMOUNT_MISMATCH, ours PROCESSING) and a
    line naming no payment of ours (MISSING_IN_SYSTEM); R1001's approval threshold then 500.00."""
    cp = wire_payment([(make_order(amount="700.00"), "700.00")])
    ids = _reconcile([Line("payment", "GW-W-1", cp.channel_payment_id, Decimal("650.00"), "SUCCESS", None),
                      Line("payment", "GW-W-2", "CP-TYPO-W", Decimal("88.00"), "SUCCESS", None)], shanghai_today())
    _threshold("500.00")
    client = signed_in("finance@example.com")
    return client, csrf_token(client, URL), cp, ids[cp.channel_payment_id], ids["CP-TYPO-W"]


def _row(body: str, pk: int) -> str:
    found = re.search(rf'<tr data-testid="recon-exception-row"[^>]*data-exception-id="{pk}".*?</tr>', body, re.S)
    return found.group(0)


def _offered(body: str, pk: int) -> list[str]:
    return re.findall(r'data-testid="recon-action" data-action="([A-Z_]+)"', _row(body, pk))


def test_each_row_offers_only_the_actions_that_fit(diffs):
    client, _, _, amount_pk, missing_pk = diffs
    body = client.get(URL + "?lang=en").get_data(as_text=True)
    assert _offered(body, amount_pk) == ["ACCEPT_CHANNEL", "WRITE_OFF"]
    assert _offered(body, missing_pk) == ["LINK_PAYMENT", "WRITE_OFF"]
    assert 'data-testid="recon-link-payment"' in _row(body, missing_pk)
    assert 'data-testid="recon-link-payment"' not in _row(body, amount_pk)
    assert "Accept the channel&#39;s figure" in body and "Write off (nothing moves)" in body
    zh = client.get(URL + "?lang=zh").get_data(as_text=True)
    assert "以渠道为准" in zh and "关联到支付" in zh


REFUSALS = [  # (row, form, the field the error stands next to, zh, en)
    ("missing", {"action": "ACCEPT_CHANNEL"}, "action", "该操作不适用于此差异", "This action does not fit"),
    ("missing", {"action": "BOGUS"}, "action", "请选择所列出的一项操作", "Choose one of the actions offered."),
    ("missing", {"action": "LINK_PAYMENT"}, "payment", "请输入该流水所属支付的单号",
     "Enter the number of the payment the line belongs to."),
    ("missing", {"action": "LINK_PAYMENT", "payment": "CP-NOPE"}, "payment", "没有此单号且与流水一致",
     "No payment of this channel agrees with the line"),
    ("amount", {"action": "ACCEPT_CHANNEL", "note": ""}, "note", "请说明该差异的处理原因",
     "Say why the difference is resolved"),
]


def test_a_refused_action_shows_its_error_next_to_the_field_and_stores_nothing(diffs):
    client, token, cp, amount_pk, missing_pk = diffs
    before = _stored()
    for which, data, field, zh, en in REFUSALS:
        pk = missing_pk if which == "missing" else amount_pk
        for lang, text in (("zh", zh), ("en", en)):
            response = post(client, f"{URL}/exceptions/{pk}/resolve", {"note": "checked with the bank", **data},
                            token, lang=lang)
            assert response.status_code == 422, (data, lang)
            body = response.get_data(as_text=True)
            error = re.search(rf'<p class="field-error" id="{field}-{pk}-error" role="alert">([^<]*)</p>', body)
            assert error and text in error.group(1), (data, lang)
    assert _stored() == before and channel_payment_status(cp.id) == "PROCESSING"


def test_above_the_threshold_a_second_finance_user_approves_on_the_row(diffs, signed_in):
    client, token, cp, amount_pk, _ = diffs
    done = post(client, f"{URL}/exceptions/{amount_pk}/resolve", {"action": "ACCEPT_CHANNEL",
                                                                  "note": "650 arrived"}, token)
    assert done.status_code == 302 and _exception(amount_pk)[:2] == ("OPEN", "ACCEPT_CHANNEL")
    body = client.get(URL + "?lang=en").get_data(as_text=True)
    row = _row(body, amount_pk)
    assert 'data-testid="recon-waiting" data-action="ACCEPT_CHANNEL"' in row and 'data-testid="recon-approve"' in row
    assert 'data-testid="recon-action"' not in row
    refused = post(client, f"{URL}/exceptions/{amount_pk}/approve", {}, token, lang="en")
    assert refused.status_code == 403 and "a second finance user must approve" in refused.get_data(as_text=True)
    second = signed_in("finance2@example.com")
    token2 = csrf_token(second, URL)
    no_reason = post(second, f"{URL}/exceptions/{amount_pk}/reject", {"reason": " "}, token2, lang="zh")
    assert no_reason.status_code == 422 and "请填写驳回该申请的原因" in no_reason.get_data(as_text=True)
    assert channel_payment_status(cp.id) == "PROCESSING"
    approved = post(second, f"{URL}/exceptions/{amount_pk}/approve", {}, token2)
    assert approved.status_code == 302 and channel_payment_status(cp.id) == "SUCCESS"
    assert _exception(amount_pk)[:3] == ("RESOLVED", None, "ACCEPT_CHANNEL")
    again = post(second, f"{URL}/exceptions/{amount_pk}/approve", {}, token2)
    assert again.status_code == 409
    page = second.get(URL + "?state=all&lang=en").get_data(as_text=True)
    assert 'data-testid="recon-resolution" data-action="ACCEPT_CHANNEL"' in _row(page, amount_pk)


@in_app
def _paid(cp_pk: int, received: str | None = None) -> None:
    settlement.settle(cp_pk, settlement.Outcome(status=ChannelPaymentStatus.SUCCESS, received_amount=Decimal(
        received) if received else None), Actor(type="user", id="finance@example.com"))


@in_app
def _exception_of(cp_pk: int) -> int:
    return db.session.scalar(sa.select(ReconciliationException.id).where(
        ReconciliationException.channel_payment_id == cp_pk))


@in_app
def _spend_wallet(code: str) -> None:
    r = db.session.scalar(sa.select(Reseller).where(Reseller.code == code))
    if r.wallet_balance > 0:
        wallet.post(r.id, -r.wallet_balance, "ADJUST", reference=None, actor="tests")
    db.session.commit()


def test_a_reversal_is_offered_for_what_the_channel_did_not_take_and_its_refusal_is_worded(shop, signed_in):
    gone = wire_payment([(make_order(amount="300.00"), "300.00")])
    over = wire_payment([(make_order(amount="200.00"), "200.00")])
    _paid(gone.id)
    _paid(over.id, "260.00")  # 60.00 excess credited to the wallet
    _reconcile([Line("payment", "GW-W-3", over.channel_payment_id, Decimal("230.00"), "SUCCESS", None)],
               shanghai_today())
    gone_pk, over_pk = _exception_of(gone.id), _exception_of(over.id)
    client = signed_in("finance@example.com")
    body = client.get(URL + "?lang=en").get_data(as_text=True)
    assert _offered(body, gone_pk) == _offered(body, over_pk) == ["REVERSE", "WRITE_OFF"]
    assert "Reverse what the channel did not take" in body
    assert "冲正渠道未收到的款项" in client.get(URL + "?lang=zh").get_data(as_text=True)
    token = csrf_token(client, URL)
    _spend_wallet("R1001")
    before = _stored()
    for lang, text in (("zh", "钱包余额将低于 0"), ("en", "the wallet would go below 0")):
        response = post(client, f"{URL}/exceptions/{over_pk}/resolve", {"action": "REVERSE", "note": "bank: 230"},
                        token, lang=lang)
        assert response.status_code == 409
        error = re.search(rf'<p class="field-error" id="action-{over_pk}-error" role="alert">([^<]*)</p>',
                          response.get_data(as_text=True))
        assert error and text in error.group(1), lang
    assert _stored() == before
    done = post(client, f"{URL}/exceptions/{gone_pk}/resolve", {"action": "REVERSE", "note": "not at the bank"}, token)
    assert done.status_code == 302 and _exception(gone_pk)[:3] == ("RESOLVED", None, "REVERSE")
    page = client.get(URL + "?state=all&lang=en").get_data(as_text=True)
    assert 'data-testid="recon-resolution" data-action="REVERSE"' in _row(page, gone_pk)
