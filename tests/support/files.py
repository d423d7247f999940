"""Files the tests upload: a small but real PDF (the voucher check parses PDFs with pypdf)."""

from __future__ import annotations

import io

from pypdf import PdfReader, PdfWriter

_HEADER = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"


def minimal_pdf(text: str = "E2E wire voucher", size: int | None = None) -> bytes:
    """A small but real PDF (one page, one line of text, a correct xref table); ``size`` pads it to
    exactly that many bytes with a comment line after the header."""
    if size is None:
        return _pdf(_HEADER, text)
    padding = size - len(_pdf(_HEADER, text)) - 2  # the comment's "%" and "\n"
    assert padding >= 0, f"a PDF of {text!r} needs more than {size} bytes"
    pdf = _pdf(_HEADER + b"%" + b"0" * padding + b"\n", text)
    padding -= len(pdf) - size  # the startxref offset has grown by some digits
    pdf = _pdf(_HEADER + b"%" + b"0" * padding + b"\n", text)
    assert len(pdf) == size
    return pdf


def _pdf(head: bytes, text: str) -> bytes:
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(head)
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def encrypted_pdf(password: str = "secret") -> bytes:
    """The minimal PDF, protected by a password (AES-128)."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(minimal_pdf())))
    writer.encrypt(password, algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
