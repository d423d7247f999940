"""The long profile of the Hypothesis stateful money test (docs/SECURITY.md "How the suites bite").

    .venv/bin/python bench/stateful_long.py [--examples 5000] [--steps 50] [--postgres] [--seed N]

CI runs tests/engine/test_engine_stateful.py at 200 examples x 50 steps on SQLite (10,000 steps; 50 x 50
on PostgreSQL). This runs the
same state machine — checkouts over every channel kind, callbacks (duplicate, late, forged), expiry,
vouchers, cancels, refunds of every strategy, payouts, retries, every money invariant of
docs/DOMAIN.md §3 after every step — with more examples and/or longer sequences, too slow for CI,
on SQLite or on the PostgreSQL of TEST_DATABASE_URL. It prints the outcome, the time and the rule
statistics the test collects, and writes bench/results/stateful_long.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEST = "tests/engine/test_engine_stateful.py::test_engine_state_machine"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=5000)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--postgres", action="store_true", help="on TEST_DATABASE_URL (default: SQLite)")
    parser.add_argument("--seed", type=int, default=None, help="Hypothesis seed (default: random)")
    args = parser.parse_args()
    env = dict(os.environ, STATEFUL_EXAMPLES=str(args.examples), STATEFUL_STEPS=str(args.steps),
               STATEFUL_STATS="1")
    if args.postgres:
        env.setdefault("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    else:
        env.pop("TEST_DATABASE_URL", None)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-s", TEST]
    if args.seed is not None:
        command.append(f"--hypothesis-seed={args.seed}")
    started = time.monotonic()
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.monotonic() - started
    output = result.stdout + result.stderr
    stats = {m.group(2): int(m.group(1)) for m in re.finditer(r"^\s*(\d+)  (\S.*)$", output, re.M)}
    summary = re.findall(r"^\d+ (?:passed|failed).*$", output, re.M)
    record = {
        "database": "postgresql" if args.postgres else "sqlite", "examples": args.examples, "steps": args.steps,
        "step_budget": args.examples * args.steps, "seconds": round(seconds, 1), "passed": result.returncode == 0,
        "summary": summary[-1] if summary else None, "seed": args.seed,
        # steps the machine took (every example, shrinking included): its invariant checks less one per set-up
        "steps_run": stats.get("invariant checks (one after set-up, one after each step)", 0)
        - stats.get("examples run", 0),
        "stats": stats,
    }
    if result.returncode != 0:
        record["failure"] = output[-6000:]
    print(json.dumps(record, ensure_ascii=False, indent=2))
    out = ROOT / "bench" / "results" / "stateful_long.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(record, ensure_ascii=False, indent=2) + "\n")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
