"""Payee files for batch payout tests (CSV in several encodings, XLSX), built in memory."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import sqlalchemy as sa
from openpyxl import Workbook

from app.extensions import db
from app.models import Merchant, User
from app.services.payouts import batches
from app.services.payouts import merchants as payout_merchants
from app.services.platform.actor import Actor
from tests.support.screen_setup import in_app

HEADER_EN = ["bankAccountName", "bankAccountNo", "bankCode", "amount", "purpose"]
HEADER_ZH = ["收款人", "收款账号", "银行代码", "金额", "用途"]


def payees(n: int, amount: str = "100.00") -> list[list[str]]:
    """n distinct good rows (accounts 6222020200000001.., ICBC)."""
    return [[f"供应商{i:03d}", f"62220202{i:08d}", "ICBC", amount, f"货款 {i}"] for i in range(1, n + 1)]


def csv_bytes(rows: list[list[str]], header: list[str] | None = None, encoding: str = "utf-8",
              bom: bool = False) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(header or HEADER_EN)
    writer.writerows(rows)
    data = text.getvalue().encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def xlsx_bytes(rows: list[list[object]], header: list[str] | None = None) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(header or HEADER_ZH)
    for r in rows:
        sheet.append(r)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def pending_batch(email: str = "finance2@example.com", rows: int = 3) -> str:
    """A batch of ``rows`` payees for M1001 (created if missing), uploaded and submitted by ``email``:
    PENDING, for another finance user to decide."""
    return in_app(_pending_batch)(email, rows)


def _pending_batch(email: str, rows: int) -> str:
    if db.session.scalar(sa.select(Merchant).where(Merchant.merchant_id == "M1001")) is None:
        payout_merchants.upsert_merchant(Actor("system", "test"), "M1001", "付款账户", Decimal("50000.00"),
                                         Decimal("10000000.00"))
    uid = db.session.scalar(sa.select(User.id).where(User.email == email))
    preview = batches.upload(Actor("user", str(uid)), uid, "M1001", "payees.csv", csv_bytes(payees(rows)))
    batches.submit(Actor("user", str(uid)), uid, preview.batch_no)
    return preview.batch_no
