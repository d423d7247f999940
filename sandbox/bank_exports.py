"""The sandbox bank's statement of one receiving account for one day, in the formats real banks
export (PROTOCOL.md §13): CSV in the ICBC layout (GBK or UTF-8), MT940 and ISO 20022 camt.053.001.08.
Standard library only; each writer takes the day's wires as dicts of the ``bank_wires`` table."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from decimal import Decimal

CSV_HEADER = ("本方账号", "交易日期", "起息日", "借方发生额", "贷方发生额", "币种", "对方户名", "对方账号",
              "用途", "交易流水号")
CAMT_NS = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"
BIC = "ICBKCNBJSHI"


def statement_csv(account_no: str, wires: list[dict], encoding: str) -> bytes:
    """``encoding`` ``gbk``, ``utf-8`` or ``utf-8-sig``; a title line and a totals line as ICBC adds them."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([f"中国工商银行 账户明细 {account_no}"])
    writer.writerow(CSV_HEADER)
    total = Decimal("0.00")
    for w in wires:
        total += Decimal(w["amount"])
        writer.writerow([w["account_no"], w["value_day"], w["value_day"], "", f"{Decimal(w['amount']):,.2f}",
                         "人民币", w["payer_name"], w["payer_account"], w["memo"], w["bank_reference"]])
    writer.writerow(["合计", "", "", "0.00", f"{total:,.2f}", "", "", "", "", ""])
    return out.getvalue().encode(encoding)


def _swift_amount(value: Decimal) -> str:
    return f"{value:.2f}".replace(".", ",")


def statement_mt940(account_no: str, day: str, wires: list[dict]) -> bytes:
    """One statement (``:20:`` … ``:62F:``), balances from zero; ``:86:`` in the keyword form
    ``/CNTP/<account>/<bic>/<name>/<city>/REMI/USTD//<memo>/``, UTF-8, not wrapped."""
    yymmdd = day[2:4] + day[5:7] + day[8:10]
    mmdd = day[5:7] + day[8:10]
    total = sum((Decimal(w["amount"]) for w in wires), Decimal("0.00"))
    lines = [f":20:STMT{day.replace('-', '')}", f":25:{account_no}", ":28C:1/1", f":60F:C{yymmdd}CNY0,00"]
    for w in wires:
        lines.append(f":61:{yymmdd}{mmdd}C{_swift_amount(Decimal(w['amount']))}NTRFNONREF//{w['bank_reference']}")
        lines.append(f":86:/CNTP/{w['payer_account']}/{BIC}/{w['payer_name']}/SHANGHAI/REMI/USTD//{w['memo']}/")
    lines.append(f":62F:C{yymmdd}CNY{_swift_amount(total)}")
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def statement_camt053(account_no: str, day: str, wires: list[dict], created_at: str) -> bytes:
    ET.register_namespace("", CAMT_NS)

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        el = ET.SubElement(parent, f"{{{CAMT_NS}}}{tag}", attrs)
        if text is not None:
            el.text = text
        return el

    doc = ET.Element(f"{{{CAMT_NS}}}Document")
    stmt_root = sub(doc, "BkToCstmrStmt")
    hdr = sub(stmt_root, "GrpHdr")
    sub(hdr, "MsgId", f"SANDBOX-{account_no}-{day}")
    sub(hdr, "CreDtTm", created_at)
    stmt = sub(stmt_root, "Stmt")
    sub(stmt, "Id", f"{account_no}-{day}")
    sub(stmt, "CreDtTm", created_at)
    acct = sub(stmt, "Acct")
    sub(sub(sub(acct, "Id"), "Othr"), "Id", account_no)
    sub(acct, "Ccy", "CNY")
    for w in wires:
        ntry = sub(stmt, "Ntry")
        sub(ntry, "NtryRef", w["bank_reference"])
        sub(ntry, "Amt", f"{Decimal(w['amount']):.2f}", Ccy="CNY")
        sub(ntry, "CdtDbtInd", "CRDT")
        sub(sub(ntry, "Sts"), "Cd", "BOOK")
        sub(sub(ntry, "BookgDt"), "Dt", w["value_day"])
        sub(sub(ntry, "ValDt"), "Dt", w["value_day"])
        sub(ntry, "AcctSvcrRef", w["bank_reference"])
        tx = sub(sub(ntry, "NtryDtls"), "TxDtls")
        sub(sub(tx, "Refs"), "AcctSvcrRef", w["bank_reference"])
        parties = sub(tx, "RltdPties")
        sub(sub(sub(parties, "Dbtr"), "Pty"), "Nm", w["payer_name"])
        sub(sub(sub(sub(parties, "DbtrAcct"), "Id"), "Othr"), "Id", w["payer_account"])
        sub(sub(tx, "RmtInf"), "Ustrd", w["memo"])
    ET.indent(doc)
    return ET.tostring(doc, encoding="utf-8", xml_declaration=True)
