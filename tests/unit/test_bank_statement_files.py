"""Bank statement files read into bank lines, and every kind of bad file refused with its line and
column (app/services/bank_statements/; issue 13 "Done means": bad files). Reading stores nothing, so
these tests need no database: the refusal is the whole effect."""

from __future__ import annotations

import io
import zipfile
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import Workbook

from app.services.bank_statements import tabular
from app.services.bank_statements.lines import Direction, StatementFormat
from app.services.bank_statements.problems import Problem, StatementRejected
from app.services.bank_statements.reading import read_statement, read_upload
from sandbox.bank_exports import statement_camt053, statement_csv, statement_mt940

OURS = "6222020200112233445"
DAY = "2025-11-25"
WIRES = [
    {"account_no": OURS, "value_day": DAY, "amount": "1250.00", "payer_name": "上海某某贸易有限公司",
     "payer_account": "6217000011112222", "memo": "货款 ＷＡＢＣ　２３ＤＥＦＧ", "bank_reference": "BK25112500000001"},
    {"account_no": OURS, "value_day": DAY, "amount": "88.50", "payer_name": "Acme Trading",
     "payer_account": "6217000099990000", "memo": "invoice 7", "bank_reference": "BK25112500000002"},
]


def xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def xlsx_of(wires=WIRES, header=None, **cell_overrides) -> bytes:
    header = header or ["本方账号", "交易日期", "起息日", "借方发生额", "贷方发生额", "币种", "对方户名", "对方账号",
                        "用途", "交易流水号"]
    rows = [["中国工商银行 账户明细"], header]
    for w in wires:
        row = {"本方账号": w["account_no"], "交易日期": w["value_day"], "起息日": w["value_day"], "借方发生额": None,
               "贷方发生额": float(w["amount"]), "币种": "人民币", "对方户名": w["payer_name"],
               "对方账号": w["payer_account"], "用途": w["memo"], "交易流水号": w["bank_reference"]}
        rows.append([row.get(h) for h in header])
    for (r, c), value in cell_overrides.get("cells", {}).items():
        rows[r][c] = value
    return xlsx(rows)


def files() -> dict[str, bytes]:
    return {
        "csv-gbk": statement_csv(OURS, WIRES, "gbk"),
        "csv-utf8": statement_csv(OURS, WIRES, "utf-8"),
        "csv-utf8-bom": statement_csv(OURS, WIRES, "utf-8-sig"),
        "xlsx": xlsx_of(),
        "mt940": statement_mt940(OURS, DAY, WIRES),
        "camt053": statement_camt053(OURS, DAY, WIRES, "2025-11-26T08:00:00+08:00"),
    }


def refused(data: bytes, **kw) -> StatementRejected:
    with pytest.raises(StatementRejected) as info:
        read_statement(data, [OURS], **kw)
    return info.value


@pytest.mark.parametrize(("name", "fmt", "encoding"), [
    ("csv-gbk", StatementFormat.CSV, "GBK"), ("csv-utf8", StatementFormat.CSV, "UTF-8"),
    ("csv-utf8-bom", StatementFormat.CSV, "UTF-8-SIG"), ("xlsx", StatementFormat.XLSX, None),
    ("mt940", StatementFormat.MT940, "UTF-8"), ("camt053", StatementFormat.CAMT053, "UTF-8"),
])
def test_every_format_gives_the_same_lines(name, fmt, encoding):
    parsed = read_statement(files()[name], [OURS])
    assert (parsed.format, parsed.encoding) == (fmt, encoding)
    got = [(line.value_date, line.booking_date, line.amount, line.direction, line.currency, line.payer_name,
            line.payer_account, line.memo, line.bank_reference, line.our_account) for line in parsed.lines]
    assert got == [(date(2025, 11, 25), date(2025, 11, 25), Decimal(w["amount"]), Direction.CREDIT, "CNY",
                    w["payer_name"], w["payer_account"], w["memo"], w["bank_reference"], OURS) for w in WIRES]
    assert parsed.credits == parsed.lines
    assert all(isinstance(line.amount, Decimal) for line in parsed.lines)


def test_ccb_and_generic_profiles_are_recognised_from_the_header():
    ccb = ("账号,交易时间,起息日期,借方发生额（支取）,贷方发生额（收入）,币种,对方户名,对方账号,摘要,"
           "账户明细编号-交易流水号\r\n"
           f"{OURS},20251125 10:03:12,20251125,0.00,\"2,000.00\",CNY,甲公司,6217000011112222,W ABC,CCB-1\r\n"
           f"{OURS},20251125 11:00:00,20251125,15.00,0.00,CNY,,,手续费,CCB-2\r\n")
    parsed = read_statement(ccb.encode("gb18030"), [OURS])
    assert parsed.profile == "CCB" and parsed.encoding == "GBK"
    assert [(ln.amount, ln.direction) for ln in parsed.lines] == [(Decimal("2000.00"), Direction.CREDIT),
                                                                   (Decimal("-15.00"), Direction.DEBIT)]
    generic = ("account;booking_date;amount;direction;memo;reference\n"
               f"{OURS};2025-11-25;10.00;C;x;R1\n{OURS};2025/11/26;3;D;fee;R2\n")
    parsed = read_statement(generic.encode(), [OURS])
    assert parsed.profile == "GENERIC"
    assert [(ln.amount, ln.value_date) for ln in parsed.lines] == [(Decimal("10.00"), date(2025, 11, 25)),
                                                                    (Decimal("-3.00"), date(2025, 11, 26))]


def test_gb18030_only_characters_are_read_and_said():
    data = statement_csv(OURS, [WIRES[0] | {"payer_name": "𠀀字号公司"}], "gb18030")
    parsed = read_statement(data, [OURS])
    assert parsed.encoding == "GB18030" and parsed.lines[0].payer_name == "𠀀字号公司"


# -- bad files: each refused with its problem, line and column ---------------------------------------------

@pytest.mark.parametrize("data", [b"", b"   \r\n\r\n", xlsx([]), xlsx([[None, None], []])])
def test_empty_file(data):
    assert refused(data).problem is Problem.EMPTY_FILE


def test_too_large_is_refused_before_parsing():
    error = refused(b"x" * 2048, max_bytes=1024)
    assert error.problem is Problem.TOO_LARGE and error.position is None


def test_an_xlsx_that_unpacks_to_too_much_is_refused_before_reading(monkeypatch):
    monkeypatch.setattr(tabular, "MAX_UNPACKED_BYTES", 4 * 1024 * 1024)  # 400 MB in production: too slow here
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/worksheets/sheet1.xml", b"<" + b" " * (5 * 1024 * 1024) + b"/>")
    assert len(out.getvalue()) < 20_000
    error = refused(out.getvalue())
    assert error.problem is Problem.TOO_LARGE and "unpacked" in error.message


def test_a_damaged_xlsx_is_refused():
    assert refused(b"PK\x03\x04" + b"\x00" * 100).problem is Problem.MALFORMED
    assert refused(xlsx_of()[:2000]).problem is Problem.MALFORMED


class EndlessUpload(io.RawIOBase):
    """A 100 MB upload that is never held in memory: counts what was read."""

    size = 100 * 1024 * 1024

    def __init__(self):
        self.given = 0

    def readable(self):
        return True

    def read(self, n=-1):
        n = self.size - self.given if n is None or n < 0 else min(n, self.size - self.given)
        self.given += n
        return b"0" * n


def test_a_100_mb_upload_is_refused_after_reading_one_byte_past_the_limit():
    stream = EndlessUpload()
    with pytest.raises(StatementRejected) as info:
        read_upload(stream)
    assert info.value.problem is Problem.TOO_LARGE and "20 MB" in info.value.message
    assert stream.given == 20 * 1024 * 1024 + 1


@pytest.mark.parametrize(("data", "line", "column"), [
    ("本方账号,交易日期\r\n".encode("utf-16"), 1, 1),                  # UTF-16
    (b"account,booking_date\r\nab\xff\xfe,x\r\n", 2, 3),               # bytes that fit no candidate
    (b"account,amount\r\n\x00\x01", 2, 1),                              # binary
    ("户名\r\n".encode() + b"\xef\xbb", 2, 1),                  # UTF-8, damaged: never re-read as GBK
])
def test_wrong_encoding(data, line, column):
    error = refused(data)
    assert error.problem is Problem.ENCODING
    assert (error.position.line, error.position.column) == (line, column)


def test_big5_is_not_taken_for_gbk_silently():
    # "銀行" in Big5 happens to be valid GBK bytes of other characters: it decodes, and the file then
    # fails on its headers, never with made-up lines. The encoding is said in the result or the error.
    error = refused("銀行,帳號\r\n".encode("big5"))
    assert error.problem is Problem.MISSING_COLUMN


def test_unknown_formats():
    assert refused(b"%PDF-1.7 ...").problem is Problem.UNKNOWN_FORMAT
    assert refused(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest").problem is Problem.UNKNOWN_FORMAT
    assert refused(b"<?xml version='1.0'?><Document xmlns='urn:x'/>").problem is Problem.UNKNOWN_FORMAT


def test_xml_with_entities_is_refused():
    data = b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa">]><d>&a;</d>'
    assert refused(data).problem is Problem.MALFORMED


def csv_text(name="csv-utf8") -> str:
    return files()[name].decode("utf-8")


def mt_text() -> str:
    return files()["mt940"].decode()


def camt_text() -> str:
    return files()["camt053"].decode()


def line_of(text: str, needle: str, nth: int = 1) -> int:
    lines = [i for i, ln in enumerate(text.splitlines(), start=1) if needle in ln]
    return lines[nth - 1]


def test_missing_column_csv_and_xlsx():
    text = csv_text().replace(",贷方发生额,", ",收入,")
    error = refused(text.encode())
    assert error.problem is Problem.MISSING_COLUMN and error.detail == "贷方发生额"
    assert (error.position.line, error.position.column) == (2, 11)
    header = ["本方账号", "交易日期", "借方发生额", "贷方发生额", "对方户名", "用途"]  # no 交易流水号
    error = refused(xlsx_of(header=header))
    assert error.problem is Problem.MISSING_COLUMN and error.detail == "交易流水号" and error.position.line == 2


def test_missing_parts_mt940_and_camt():
    error = refused(mt_text().replace(f":25:{OURS}\r\n", "").encode())
    assert error.problem is Problem.MISSING_COLUMN and error.detail.startswith(":25:")
    text = camt_text()
    start, end = text.index("<Acct>"), text.index("</Acct>") + len("</Acct>")
    error = refused((text[:start] + text[end:]).encode())
    assert error.problem is Problem.MISSING_COLUMN and error.detail == "Stmt/Acct"


def test_unparsable_amount_each_format():
    error = refused(csv_text().replace('"1,250.00"', "12O0.00").encode())
    assert (error.problem, error.position.line, error.position.column, error.position.name) == (
        Problem.BAD_AMOUNT, 3, 5, "贷方发生额")
    assert "Line 3, column 5 (贷方发生额)" in error.message and "12O0.00" in error.message
    error = refused(csv_text().replace('"1,250.00"', "1250.005").encode())
    assert error.problem is Problem.BAD_AMOUNT
    error = refused(xlsx_of(cells={(3, 4): "八十八"}))
    assert (error.problem, error.position.line, error.position.name) == (Problem.BAD_AMOUNT, 4, "E 贷方发生额")
    error = refused(mt_text().replace("C1250,00NTRF", "C12X0,00NTRF").encode())
    assert (error.problem, error.position.line, error.position.column) == (
        Problem.BAD_AMOUNT, line_of(mt_text(), ":61:"), 16)
    error = refused(camt_text().replace(">88.50<", ">88,50<").encode())
    assert (error.problem, error.position.line) == (Problem.BAD_AMOUNT, line_of(camt_text(), ">88.50<"))
    assert error.position.column == camt_text().splitlines()[error.position.line - 1].index("<Amt") + 1


def test_unparsable_date_each_format():
    error = refused(csv_text().replace(f"{OURS},{DAY}", f"{OURS},2025-02-30", 1).encode())
    assert (error.problem, error.position.line, error.position.column) == (Problem.BAD_DATE, 3, 2)
    error = refused(xlsx_of(cells={(2, 1): "yesterday"}))
    assert (error.problem, error.position.line, error.position.name) == (Problem.BAD_DATE, 3, "B 交易日期")
    error = refused(mt_text().replace(":61:2511251125C1250", ":61:2502301125C1250").encode())
    assert (error.problem, error.position.line, error.position.column) == (Problem.BAD_DATE, 5, 5)
    error = refused(camt_text().replace(f"<Dt>{DAY}</Dt>", "<Dt>2025-13-01</Dt>", 1).encode())
    assert error.problem is Problem.BAD_DATE and error.position.line == line_of(camt_text(), "<BookgDt>")


def test_negative_amount_where_a_credit_is_expected():
    error = refused(csv_text().replace('"1,250.00"', "-1250.00").encode())
    assert (error.problem, error.position.line, error.position.column) == (Problem.NOT_A_CREDIT, 3, 5)
    error = refused(xlsx_of(cells={(2, 4): -1250.0}))
    assert (error.problem, error.position.line) == (Problem.NOT_A_CREDIT, 3)
    generic = f"account,booking_date,amount,direction,reference\n{OURS},2025-11-25,-10.00,C,R1\n"
    error = refused(generic.encode())
    assert (error.problem, error.position.line, error.position.column) == (Problem.NOT_A_CREDIT, 2, 3)
    error = refused(camt_text().replace(">1250.00<", ">-1250.00<").encode())
    assert (error.problem, error.position.line) == (Problem.NOT_A_CREDIT, line_of(camt_text(), ">1250.00<"))
    # MT940 cannot write a negative amount (15d is unsigned, the sign is the C/D mark): a minus there
    # is an unparsable amount.
    error = refused(mt_text().replace("C1250,00NTRF", "C-1250,00NTRF").encode())
    assert error.problem is Problem.BAD_AMOUNT


def test_a_file_for_another_account_each_format():
    other = "6222020200999999999"
    for name in ("csv-gbk", "mt940", "camt053"):
        data = files()[name].replace(OURS.encode(), other.encode())
        error = refused(data)
        assert error.problem is Problem.OTHER_ACCOUNT and error.detail == other, name
    error = refused(files()["csv-utf8"].replace(OURS.encode(), other.encode()))
    assert (error.position.line, error.position.column) == (3, 1)
    error = refused(files()["mt940"].replace(OURS.encode(), other.encode()))
    assert (error.position.line, error.position.column) == (2, 5)
    error = refused(xlsx_of(wires=[WIRES[0] | {"account_no": other}]))
    assert (error.problem, error.position.line, error.position.name) == (Problem.OTHER_ACCOUNT, 3, "A 本方账号")
    # the same account written with spaces is ours
    spaced = files()["csv-utf8"].replace(f"{OURS},".encode(), b"6222 0202 0011 2233 445,")
    assert len(read_statement(spaced, [OURS]).lines) == 2


def test_a_duplicate_line_inside_one_file_each_format():
    dup = [WIRES[0], WIRES[1], WIRES[0] | {"memo": "again"}]
    error = refused(statement_csv(OURS, dup, "gbk"))
    assert (error.problem, error.position.line, error.position.column, error.first) == (
        Problem.DUPLICATE_LINE, 5, 10, 3)
    assert "first on line 3" in error.message
    error = refused(xlsx_of(wires=dup))
    assert (error.problem, error.position.line, error.position.name) == (Problem.DUPLICATE_LINE, 5, "J 交易流水号")
    text = statement_mt940(OURS, DAY, dup).decode()
    error = refused(text.encode())
    assert (error.problem, error.position.line, error.first) == (Problem.DUPLICATE_LINE, 9, 5)
    error = refused(statement_camt053(OURS, DAY, dup, "2025-11-26T08:00:00+08:00"))
    assert error.problem is Problem.DUPLICATE_LINE and error.first < error.position.line


def test_a_refusal_outside_a_request_is_english():
    error = StatementRejected(Problem.BAD_DATE, None, "x")
    assert error.describe() == 'File: "x" is not a date.'
