"""Printing a long document in parts (``DocumentType.parts``): WeasyPrint lays out a whole document
in memory, and its time and memory grow with the number of table rows, so a statement of 20,000
lines in one run would take minutes and gigabytes. Each part here is its own run of a bounded number
of rows; the parts' pages are joined with pypdf, then the page number ("Page i of n") and the
document number are written on every page as a small content stream in Helvetica (a PDF base font:
nothing embedded, no second layout), so the numbering runs over the whole document. Worker only
(WeasyPrint comes in through the caller's ``print_html``). The part templates link ``parts.css``,
which leaves the page margins empty for these marks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from io import BytesIO
from itertools import chain

from pypdf import PageObject, PdfReader, PdfWriter
from pypdf.generic import ArrayObject, DecodedStreamObject, DictionaryObject, NameObject

FONT = NameObject("/FPartsMark")
MM = 72 / 25.4
_HELVETICA_EM = 0.5  # a rough average advance of Helvetica's digits and letters, in em


def _stream(writer: PdfWriter, data: str):  # noqa: ANN202 (pypdf's IndirectObject)
    stream = DecodedStreamObject()
    stream.set_data(data.encode("latin-1"))
    return writer._add_object(stream)  # noqa: SLF001 (pypdf has no public name for it)


def _pdf_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _mark(writer: PdfWriter, page: PageObject, font, number: int, total: int, doc_number: str) -> None:
    """Wrap the page's own content in q/Q, then write its marks after it."""
    resources = page[NameObject("/Resources")].get_object()
    fonts = resources.get(NameObject("/Font"))
    if fonts is None:
        fonts = DictionaryObject()
        resources[NameObject("/Font")] = fonts
    fonts.get_object()[FONT] = font
    width, height = float(page.mediabox.width), float(page.mediabox.height)
    footer = f"Page {number} of {total}"
    size = 7.0
    footer_x = (width - len(footer) * size * _HELVETICA_EM) / 2
    header_x = width - 14 * MM - len(doc_number) * size * _HELVETICA_EM
    marks = (f"q BT /FPartsMark {size} Tf 0.4 g {footer_x:.1f} {9 * MM:.1f} Td ({_pdf_text(footer)}) Tj ET "
             f"BT /FPartsMark {size} Tf 0.4 g {header_x:.1f} {height - 9 * MM:.1f} Td ({_pdf_text(doc_number)}) Tj ET Q")
    contents = page.get(NameObject("/Contents"))
    own = list(contents.get_object()) if isinstance(contents.get_object(), ArrayObject) else [contents]
    page[NameObject("/Contents")] = ArrayObject([_stream(writer, "q\n"), *own, _stream(writer, "\nQ\n"),
                                                 _stream(writer, marks)])


def print_in_parts(first_html: str, later_htmls: Iterable[str], print_html: Callable[[str], bytes],
                   number: str) -> bytes:
    """One PDF from the parts' HTML, printed one at a time (only one part's layout is ever in
    memory), joined in order, numbered over the whole."""
    writer = PdfWriter()
    for html in chain([first_html], later_htmls):
        writer.append(PdfReader(BytesIO(print_html(html))))
    font = writer._add_object(DictionaryObject({  # noqa: SLF001
        NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
        NameObject("/BaseFont"): NameObject("/Helvetica"), NameObject("/Encoding"): NameObject("/WinAnsiEncoding")}))
    ascii_number = number.encode("ascii", "replace").decode()
    total = len(writer.pages)
    for i, page in enumerate(writer.pages, 1):
        _mark(writer, page, font, i, total, ascii_number)
    writer.compress_identical_objects()
    out = BytesIO()
    writer.write(out)
    return out.getvalue()
