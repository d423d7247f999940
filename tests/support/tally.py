"""A tally of the answers a fuzzing pass got (status -> count), written as JSON when the pass's
report variable names a file: the figures of a long exploration (docs/SECURITY.md)."""

from __future__ import annotations

import json
import os
from collections import Counter


class Tally:
    def __init__(self, report_env: str):
        self.report_env = report_env
        self.statuses: Counter[str] = Counter()

    def count(self, status: int | str) -> None:
        self.statuses[str(status)] += 1

    def summary(self) -> dict:
        server_errors = sum(n for s, n in self.statuses.items() if not s.isdigit() or int(s) >= 500)
        return {"requests": sum(self.statuses.values()), "server_errors": server_errors,
                "statuses": dict(sorted(self.statuses.items()))}

    def write(self) -> None:
        path = os.environ.get(self.report_env)
        if path:
            with open(path, "w") as f:
                json.dump(self.summary(), f, indent=1)
