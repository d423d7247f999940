"""The event-type catalogue (app/domain/event_types.py) against the code, both ways:

- every event the code writes to the outbox names a catalogue member (``outbox.emit`` and
  ``outbox.event_row`` take an ``EventType``; no call passes text), and the outbox refuses any
  other type at run time (tests/integration/test_api_webhook_endpoints.py);
- every catalogue member is emitted somewhere in app/services/, or is RESERVED (in the contract, not built
  yet) and then emitted nowhere; every member is named in docs/API.md, and every reserved one is
  said to be reserved there.
"""

from __future__ import annotations

import ast
from pathlib import Path

from app.domain.event_types import DESCRIPTIONS, RESERVED, EventType, catalogue

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app"
EMITTERS = {"emit", "event_row"}


def _members_named(node: ast.AST) -> set[str]:
    return {n.attr for n in ast.walk(node)
            if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "EventType"}


def _outbox_calls() -> list[tuple[str, ast.Call]]:
    calls = []
    for path in sorted(APP.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in EMITTERS
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "outbox"):
                calls.append((f"{path.relative_to(ROOT)}:{node.lineno}", node))
    return calls


def _named_in_services() -> dict[str, set[str]]:
    """EventType members named in app/services/ (where every emitter is), by module. A type is
    named there to be emitted (directly, or as the value of a variable an emit call takes); the
    subscriptions that name types (the demo seed's) are elsewhere."""
    found: dict[str, set[str]] = {}
    for path in sorted((APP / "services").rglob("*.py")):
        names = _members_named(ast.parse(path.read_text(), str(path)))
        if names:
            found[str(path.relative_to(ROOT))] = names
    return found


def test_every_outbox_call_names_its_type_from_the_catalogue():
    calls = _outbox_calls()
    assert len(calls) >= 15, "the scan found too few emitters: has outbox been renamed?"
    for where, call in calls:
        first = call.args[0] if call.args else next(k.value for k in call.keywords if k.arg == "event_type")
        assert not any(isinstance(n, ast.Constant) and isinstance(n.value, str) for n in ast.walk(first)), (
            f"{where}: an event type given as text; use EventType")
        named = _members_named(first)
        if not named:  # a variable: the function it comes from must produce EventType members
            assert isinstance(first, ast.Name), f"{where}: cannot tell which event type this is"
        assert named <= set(EventType.__members__), (where, named - set(EventType.__members__))


def test_every_catalogue_type_is_emitted_somewhere_or_reserved():
    named = set().union(*_named_in_services().values())
    emitted = {EventType[n] for n in named if n in EventType.__members__}
    assert set(EventType) - RESERVED <= emitted, f"never emitted: {sorted(set(EventType) - RESERVED - emitted)}"
    assert not (RESERVED & emitted), f"emitted, so not reserved: {sorted(RESERVED & emitted)}"


def test_every_type_is_described_and_documented():
    assert set(DESCRIPTIONS) == set(EventType)
    assert [t for t, _ in catalogue()] == [t.value for t in EventType]
    api_doc = (ROOT / "docs" / "API.md").read_text()
    missing = [t.value for t in EventType if f"`{t.value}`" not in api_doc]
    assert not missing, f"not in docs/API.md: {missing}"
    section = api_doc[api_doc.index("## 10."):api_doc.index("## 11.")]
    assert "reserved" in section.lower() and all(f"`{t.value}`" in section for t in RESERVED)
