"""``/``: the reseller dashboard's figures after real checkouts, in both languages, per company; staff
are sent to their desks."""

from __future__ import annotations

import re

import pytest

from tests.support.world import World, build_world


@pytest.fixture
def world(app, portal) -> World:
    return build_world(app, portal)


@pytest.fixture
def op1(signed_in):
    return signed_in("operator@r1001.example")


def stat(body: str, testid: str) -> tuple[str, str]:
    """(amount, count) of one stat card."""
    block = body[body.index(f'data-testid="{testid}"'):]
    block = block[:block.index("</a>") if "</a>" in block[:600] else block.index("</div>\n  </div>")]
    amount = re.search(r'class="value num">([^<]+)<', block).group(1)
    count = re.search(r'(?:支付单：(\d+) 笔|Orders: (\d+))', block)
    return amount, (count.group(1) or count.group(2)) if count else ""


def test_dashboard_figures_after_real_payments(world: World, op1):
    body = op1.get("/?lang=en").get_data(as_text=True)
    # payable: 1000 + 2000 + 5000 + (3000 - 1000) + (800 - 500) + the 1500.00 repayment order; FROZEN and PAID not
    assert stat(body, "dash-payable") == ("¥11,800.00", "6")
    assert stat(body, "dash-overdue") == ("¥1,000.00", "1")  # the frozen one is late too, but cannot be paid
    assert stat(body, "dash-due-soon") == ("¥4,000.00", "2")  # W-SOON (+3 days) and the rest of W-PART (+5 days)
    assert stat(body, "dash-in-flight") == ("¥500.00", "1")
    assert stat(body, "dash-wallet")[0] == "¥499,000.00"
    assert stat(body, "dash-credit")[0] == "¥996,000.00"
    assert "of ¥1,000,000.00, ¥4,000.00 used" in body
    recent = re.findall(r'data-testid="recent-payment" data-merged-payment-id="([^"]+)"', body)
    assert recent == [world.merged["WIRE"], world.merged["CREDIT"], world.merged["WALLET"]]
    assert f'data-credit-record-id="{world.credit_record_id}"' in body and "¥4,000.00" in body


def test_dashboard_in_chinese_links_to_filtered_lists(world: World, op1):
    body = op1.get("/?lang=zh").get_data(as_text=True)
    assert "待付总额" in body and "已逾期" in body and "钱包余额" in body and "可用信用额度" in body
    assert "最近付款" in body and "待还信用记录" in body
    assert 'href="/orders?overdue=1&amp;sort=deadline"' in body
    assert " style=" not in body and "<script>" not in body


def test_each_company_sees_its_own_figures(world: World, signed_in):
    body = signed_in("operator@r1002.example").get("/?lang=en").get_data(as_text=True)
    assert stat(body, "dash-payable") == ("¥999.00", "1")
    assert stat(body, "dash-overdue") == ("¥999.00", "1")
    assert stat(body, "dash-wallet")[0] == "¥1,000.00"
    assert 'data-testid="recent-payment"' not in body
    assert "You have not made any payments yet." in body and "No credit to repay." in body


def test_empty_dashboard_is_written_for_a_person(app, portal, signed_in):
    body = signed_in("approver@r1001.example").get("/?lang=zh").get_data(as_text=True)
    assert stat(body, "dash-payable") == ("¥0.00", "0")
    assert "您还没有付过款" in body and "没有需要归还的信用额度" in body


def test_staff_keep_their_desks(app, portal, signed_in):
    response = signed_in("finance@example.com").get("/")
    assert response.status_code == 302 and response.headers["Location"] == "/finance/vouchers"
    admin = signed_in("admin@example.com").get("/")
    assert admin.status_code == 302 and admin.headers["Location"] == "/admin"
    assert app.test_client().get("/").status_code == 302  # anonymous: to sign in
