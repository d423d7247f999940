"""One page of a list, as every list screen and every API list answers it (docs/API.md §1)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Page:
    items: list
    page: int
    page_size: int
    total: int

