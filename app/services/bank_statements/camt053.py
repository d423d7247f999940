"""ISO 20022 camt.053 (BankToCustomerStatement) read with lxml, namespace-aware and without the XSD
(docs/DOMAIN.md "Bank statement files" says why): any camt.053 version (``…camt.053.001.02`` to
``.13``) is accepted by its namespace, and only the standard's elements the portal needs are read,
each by its path under ``Stmt`` / ``Ntry``:

- account ``Stmt/Acct/Id/(IBAN|Othr/Id)``; entries ``Ntry`` with ``Amt`` (``@Ccy``), ``CdtDbtInd``,
  ``BookgDt``/``ValDt`` (``Dt`` or ``DtTm``), ``AcctSvcrRef`` (else ``NtryRef``);
- per ``NtryDtls/TxDtls`` (one line each when an entry batches several, with the detail's ``Amt``):
  the debtor ``RltdPties/Dbtr/(Pty/)Nm``, its account ``RltdPties/DbtrAcct/Id/(IBAN|Othr/Id)``, the
  memo ``RmtInf/Ustrd`` (joined), the reference ``Refs/AcctSvcrRef`` when the entry has none.

The parser resolves no entities, loads no DTD and reaches no network; a document with a DOCTYPE is
refused outright (entity expansion attacks). lxml gives each element's line; the column is where its
tag starts on that line.
"""

from __future__ import annotations

from datetime import date

from lxml import etree

from .checks import FileChecks
from .lines import BankLine, Direction, Position
from .problems import Problem, StatementRejected
from .values import account_digits, clean, parse_amount, parse_currency, parse_date

NAMESPACE_PREFIX = "urn:iso:std:iso:20022:tech:xsd:camt.053."


def is_camt053(root: etree._Element) -> bool:
    return etree.QName(root).namespace is not None and etree.QName(root).namespace.startswith(NAMESPACE_PREFIX)


def parse_xml(data: bytes) -> etree._Element:
    head = data[:4096]
    if b"<!DOCTYPE" in head or b"<!ENTITY" in data:
        raise StatementRejected(Problem.MALFORMED, None, "an XML document with a DOCTYPE or entities")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        line, column = exc.position if exc.position else (1, 1)
        raise StatementRejected(Problem.MALFORMED, Position(line, column, "XML"), exc.msg) from None


class _Reader:
    def __init__(self, root: etree._Element, lines_text: list[str]):
        self.ns = etree.QName(root).namespace
        self.lines_text = lines_text

    def q(self, path: str) -> str:
        return "/".join(f"{{{self.ns}}}{part}" for part in path.split("/"))

    def find(self, el: etree._Element, path: str) -> etree._Element | None:
        return el.find(self.q(path))

    def text(self, el: etree._Element, *paths: str) -> str | None:
        for path in paths:
            found = el.find(self.q(path))
            if found is not None and (found.text or "").strip():
                return found.text.strip()
        return None

    def where(self, el: etree._Element, name: str) -> Position:
        line = el.sourceline or 1
        local = etree.QName(el).localname
        text = self.lines_text[line - 1] if line - 1 < len(self.lines_text) else ""
        column = max(text.find(f"<{local}"), text.find(f":{local}") - 1 if f":{local}" in text else -1)
        return Position(line, column + 1 if column >= 0 else 1, name)

    def date_of(self, el: etree._Element | None, name: str) -> date | None:
        if el is None:
            return None
        value = self.text(el, "Dt", "DtTm")
        if value is None:
            raise StatementRejected(Problem.MISSING_VALUE, self.where(el, name))
        return parse_date(value[:10] if "T" in value else value, self.where(el, name))


def camt053_lines(root: etree._Element, text: str, checks: FileChecks) -> list[BankLine]:
    r = _Reader(root, text.splitlines())
    statements = root.findall(r.q("BkToCstmrStmt/Stmt"))
    if not statements:
        raise StatementRejected(Problem.MISSING_COLUMN, r.where(root, "Document"), "BkToCstmrStmt/Stmt")
    lines: list[BankLine] = []
    for stmt in statements:
        acct = r.find(stmt, "Acct")
        if acct is None:
            raise StatementRejected(Problem.MISSING_COLUMN, r.where(stmt, "Stmt"), "Stmt/Acct")
        acct_id = r.text(acct, "Id/IBAN", "Id/Othr/Id")
        account = checks.account(acct_id, r.where(acct, "Stmt/Acct/Id"))
        for entry in stmt.findall(r.q("Ntry")):
            lines.extend(_entry_lines(r, entry, account, checks))
    return lines


def _entry_lines(r: _Reader, entry: etree._Element, account: str, checks: FileChecks) -> list[BankLine]:
    amt_el = r.find(entry, "Amt")
    if amt_el is None:
        raise StatementRejected(Problem.MISSING_COLUMN, r.where(entry, "Ntry"), "Ntry/Amt")
    mark = r.text(entry, "CdtDbtInd")
    if mark not in ("CRDT", "DBIT"):
        where = r.where(r.find(entry, "CdtDbtInd") if r.find(entry, "CdtDbtInd") is not None else entry,
                        "Ntry/CdtDbtInd")
        raise StatementRejected(Problem.MALFORMED, where, f"CdtDbtInd \"{mark or ''}\" is neither CRDT nor DBIT")
    booking = r.date_of(r.find(entry, "BookgDt"), "Ntry/BookgDt")
    value = r.date_of(r.find(entry, "ValDt"), "Ntry/ValDt")
    if booking is None and value is None:
        raise StatementRejected(Problem.MISSING_COLUMN, r.where(entry, "Ntry"), "Ntry/BookgDt")
    booking = booking or value
    value = value or booking
    assert booking is not None and value is not None
    entry_ref = r.text(entry, "AcctSvcrRef", "NtryRef")
    details = entry.findall(r.q("NtryDtls/TxDtls"))
    batched = len(details) > 1
    out: list[BankLine] = []
    for tx in details or [None]:
        tx_amt = r.find(tx, "Amt") if tx is not None and batched else None
        source = tx_amt if tx_amt is not None else amt_el
        where_amt = r.where(source, "Ntry/NtryDtls/TxDtls/Amt" if tx_amt is not None else "Ntry/Amt")
        amount = parse_amount(clean(source.text), where_amt)
        if amount is None:
            raise StatementRejected(Problem.MISSING_VALUE, where_amt)
        if amount <= 0:
            problem = Problem.NOT_A_CREDIT if mark == "CRDT" else Problem.BAD_AMOUNT
            raise StatementRejected(problem, where_amt, clean(source.text))
        currency = parse_currency(source.get("Ccy"), where_amt)
        reference = (r.text(tx, "Refs/AcctSvcrRef") if tx is not None and batched else None) or entry_ref
        if reference is None and tx is not None:
            reference = r.text(tx, "Refs/AcctSvcrRef", "Refs/EndToEndId")
        ref_el = tx if tx is not None and batched else entry
        reference = checks.unique(reference or "", account, r.where(ref_el, "Ntry/AcctSvcrRef"))
        payer_name = payer_account = None
        memo = ""
        if tx is not None:
            payer_name = r.text(tx, "RltdPties/Dbtr/Pty/Nm", "RltdPties/Dbtr/Nm")
            payer_account = account_digits(r.text(tx, "RltdPties/DbtrAcct/Id/IBAN", "RltdPties/DbtrAcct/Id/Othr/Id"))
            memo = "".join((u.text or "") for u in tx.findall(r.q("RmtInf/Ustrd"))).strip()
        credit = mark == "CRDT"
        out.append(BankLine(
            position=r.where(tx if tx is not None and batched else entry, "Ntry"), value_date=value,
            booking_date=booking, amount=amount if credit else -amount,
            direction=Direction.CREDIT if credit else Direction.DEBIT, currency=currency,
            payer_name=payer_name, payer_account=payer_account or None, memo=memo, bank_reference=reference,
            our_account=account))
    return out
