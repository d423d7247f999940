"""Rendering PDF documents (``app.services.documents.rendering``), on the ``documents`` queue.

Only this job module imports WeasyPrint (through the rendering service): the web process enqueues
the job by its import path (``services/documents/dispatch.py``) and never loads it."""

from __future__ import annotations

from typing import Any

from ..services.documents import rendering


def render_document(document_id: int) -> dict[str, Any]:
    """Render and store one document (a duplicate or stale job finds nothing to do)."""
    return rendering.render(document_id)
