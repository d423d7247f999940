"""Payee files for batch payout tests (CSV in several encodings, XLSX), built in memory."""

from __future__ import annotations

import csv
import io

from openpyxl import Workbook

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
