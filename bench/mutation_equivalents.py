"""Surviving mutants of bench/mutation.py that no test can kill, each with the reason it is equivalent
(the program behaves the same with it). Keyed by module, operator, the source line's text and the
column, as the report prints them; a verdict is read from here only for a mutant that survived."""

from __future__ import annotations

# (module, operator, source line text, column) -> why the mutant cannot change behaviour
EQUIVALENT: dict[tuple[str, str, str, int], str] = {
}


def equivalence_reason(module: str, operator: str, source: str, column: int) -> str | None:
    return EQUIVALENT.get((module, operator, source, column))
