"""Printing a long document in parts (``DocumentType.parts``): WeasyPrint lays out a whole document
in memory, and its time and memory grow faster than the number of table rows, so a statement of
20,000 lines in one run would take minutes and gigabytes. Each part here is its own run of a bounded
number of rows; the parts' pages are joined with pypdf, then the page numbers ("第 i 页 / 共 n 页") and
the document number are stamped on every page from one more, nearly empty, WeasyPrint run of n
pages, so the numbering runs over the whole document. Worker only (imports WeasyPrint through the
caller's ``print_html``). The part templates link ``parts.css``, which leaves the page margins empty
for the stamp.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from io import BytesIO
from itertools import chain

from markupsafe import escape
from pypdf import PdfReader, PdfWriter

# The page box of print.css: the stamp's footer and header sit where every part left them empty.
_STAMP = """<!doctype html><html><head><meta charset="utf-8"><style>
@page {{ size: A4; margin: 16mm 14mm 18mm 14mm;
  @top-right {{ content: "{number}"; font-size: 7.5pt; color: #666; }}
  @bottom-center {{ content: "第 " counter(page) " 页 / 共 " counter(pages) " 页 · Page " counter(page)
    " of " counter(pages); font-size: 7.5pt; color: #666; }} }}
html {{ font-family: "Noto Sans CJK SC", "Noto Sans SC", "DejaVu Sans", sans-serif; }}
div {{ break-after: page; height: 1px; }}
div:last-child {{ break-after: auto; }}
</style></head><body>{pages}</body></html>"""


def stamp_html(pages: int, number: str) -> str:
    """``pages`` empty pages carrying the footer and header of print.css."""
    safe = str(escape(number)).replace('"', "").replace("\\", "")
    return _STAMP.format(number=safe, pages="<div></div>" * pages)


def print_in_parts(first_html: str, later_htmls: Iterable[str], print_html: Callable[[str], bytes],
                   number: str) -> bytes:
    """One PDF from the parts' HTML, printed one at a time (only one part's layout is ever in
    memory), joined in order, numbered over the whole."""
    writer = PdfWriter()
    for html in chain([first_html], later_htmls):
        writer.append(PdfReader(BytesIO(print_html(html))))
    total = len(writer.pages)
    stamp = PdfReader(BytesIO(print_html(stamp_html(total, number))))
    if len(stamp.pages) != total:
        raise RuntimeError(f"the page-number stamp has {len(stamp.pages)} pages for {total}")
    for page, overlay in zip(writer.pages, stamp.pages, strict=True):
        page.merge_page(overlay)
    writer.compress_identical_objects()
    out = BytesIO()
    writer.write(out)
    return out.getvalue()
