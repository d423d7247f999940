"""PDF documents (docs/DOMAIN.md §8, docs/ARCHITECTURE.md §12): one pipeline for every kind.

A document is requested (by a person, the schedule or an event) in the caller's transaction
(``requests.request``; the same type, subject and data give the same row), dispatched to the
``documents`` queue after commit (``dispatch``), rendered by the worker from an HTML template with
WeasyPrint (``rendering``, ``fetcher``: only the worker imports them), stored with its size and
SHA-256 in the transaction that makes it READY (``storage``), and offered for download to its owner
company and to finance (``download``). A failed rendering keeps a reason a person can read and can
be retried (``failures``); a rendering whose worker died is found by ``sweep``.

Kinds are entries of ``registry``: another area adds one with ``registry.register(DocumentType(...))``
(from ``services/connections.py``) without changing this package. ``receipts`` registers the
payment receipt (回单); ``verification`` gives receipts their public verification code and QR.
"""
