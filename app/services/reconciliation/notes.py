"""The note finance writes with every decision on a difference or a receipt: required (why), at most
``NOTE_LENGTH`` characters, kept with the decision and in the audit log."""

from __future__ import annotations

from ...domain.errors import ValidationFailed

NOTE_LENGTH = 500


def require_note(note: str | None, field: str = "note") -> str:
    text = (note or "").strip()
    if not text:
        raise ValidationFailed("a note saying why is required", field=field)
    if len(text) > NOTE_LENGTH:
        raise ValidationFailed(f"a note has at most {NOTE_LENGTH} characters", field=field)
    return text
