"""The reference code of a WIRE channel payment as it comes back in a bank memo (docs/DOMAIN.md
"Wire reference codes in bank memos").

A reseller types the code into the remark field of their bank's transfer form, often on a phone with
a Chinese input method: full-width letters and digits (全角 ``ＷＡＢＣ``), spaces or hyphens in the middle,
lower case. ``normalise_reference`` folds all of that (Unicode NFKC, upper case, separators removed),
and ``references_in_memo`` finds which of the codes we are waiting for appear in a memo. Pure Python.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

# Separators people put inside a code: spaces of every kind, hyphens and dashes, underscores, dots,
# slashes and the Chinese middle dot. After NFKC a full-width hyphen (－) is already "-".
_SEPARATORS = re.compile(r"[\s\-‐‑‒–—―−_.·・/\\]+")
# What a code is made of (numbers.wire_reference: "W" + 9 of an unambiguous alphabet); used to find
# candidates in a memo when the codes to look for are not known.
REFERENCE_PATTERN = re.compile(r"W[A-HJ-NP-Z2-9]{9}")


def normalise_reference(text: str) -> str:
    """``" ｗ-abc ２３ defg "`` → ``"WABC23DEFG"``: NFKC (全角 → 半角), upper case, no separators."""
    folded = unicodedata.normalize("NFKC", text or "").upper()
    return _SEPARATORS.sub("", folded)


def references_in_memo(memo: str, known: Iterable[str]) -> list[str]:
    """The codes of ``known`` (as stored, e.g. ``WABCD23456``) that appear in ``memo`` once both are
    normalised, in the order of ``known``, each once. Matching against the codes we wait for (rather
    than guessing code-shaped runs) keeps a code that is split by a space from being missed and a
    word that happens to look like a code from being taken."""
    haystack = normalise_reference(memo)
    found: list[str] = []
    seen: set[str] = set()
    for code in known:
        needle = normalise_reference(code)
        if needle and needle not in seen and needle in haystack:
            seen.add(needle)
            found.append(code)
    return found


def candidate_references(memo: str) -> list[str]:
    """Every code-shaped run in the normalised memo (overlapping runs included), for a lookup when
    the codes to look for are not at hand: ``references_in_memo`` with the codes that exist."""
    haystack = normalise_reference(memo)
    out: list[str] = []
    for start in range(len(haystack)):
        m = REFERENCE_PATTERN.match(haystack, start)
        if m and m.group(0) not in out:
            out.append(m.group(0))
    return out
