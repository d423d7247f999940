"""The documents' housekeeping (no WeasyPrint here: this runs on the default queue)."""

from __future__ import annotations

from ..services.documents import sweep


def sweep_documents() -> dict[str, int]:
    """Re-queue or fail renderings whose job died; re-enqueue queued documents whose job is gone."""
    return sweep.sweep()
