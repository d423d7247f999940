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
from pypdf.generic import ArrayObject, DecodedStreamObject, DictionaryObject, IndirectObject, NameObject

FONT = NameObject("/FPartsMark")
MM = 72 / 25.4
_HELVETICA_EM = 0.5  # a rough average advance of Helvetica's digits and letters, in em


def _stream(writer: PdfWriter, data: str) -> IndirectObject:
    stream = DecodedStreamObject()
    stream.set_data(data.encode("latin-1"))
    return writer._add_object(stream)  # noqa: SLF001 (pypdf has no public name for it)


def _pdf_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _mark(writer: PdfWriter, page: PageObject, font: IndirectObject, number: int, total: int,
          doc_number: str) -> None:
    """Wrap the page's own content in q/Q, then write its marks after it."""
    resources = page[NameObject("/Resources")].get_object()
    assert isinstance(resources, DictionaryObject)  # every page WeasyPrint writes has its resources
    fonts = resources.get(NameObject("/Font"))
    if fonts is None:
        fonts = DictionaryObject()
        resources[NameObject("/Font")] = fonts
    font_dict = fonts.get_object()
    assert isinstance(font_dict, DictionaryObject)
    font_dict[FONT] = font
    width, height = float(page.mediabox.width), float(page.mediabox.height)
    footer = f"Page {number} of {total}"
    size = 7.0
    footer_x = (width - len(footer) * size * _HELVETICA_EM) / 2
    header_x = width - 14 * MM - len(doc_number) * size * _HELVETICA_EM
    text = f"BT /FPartsMark {size} Tf 0.4 g"
    marks = (f"q {text} {footer_x:.1f} {9 * MM:.1f} Td ({_pdf_text(footer)}) Tj ET "
             f"{text} {header_x:.1f} {height - 9 * MM:.1f} Td ({_pdf_text(doc_number)}) Tj ET Q")
    contents = page[NameObject("/Contents")]
    body = contents.get_object()
    own = list(body) if isinstance(body, ArrayObject) else [contents]
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
