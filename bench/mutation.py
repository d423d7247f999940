"""Mutation testing of the money code (docs/SECURITY.md "How the suites bite"), too slow for CI.

    .venv/bin/pip install -e '.[mutation]'          # cosmic-ray
    .venv/bin/python bench/mutation.py [--only domain/money.py] [--keep]

For each money module below, cosmic-ray (a well-kept mutation tool) makes every mutant of the
operators that can change an amount, a comparison or a branch (arithmetic swaps among + - * /,
comparisons, and/or, not, numbers, True/False, removed decorators, swallowed exceptions), and runs
the module's tests against each, stopping at the first failure. A mutant the tests do not notice
"survived". The work happens in a fresh clone of HEAD under a temporary directory (the working tree
is never touched), on SQLite, with a Redis database of its own. Prints killed/survived per module
and writes bench/results/mutation.json with every survivor (line, operator, the diff), to be given a
test or a written reason it is equivalent.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable

# module -> the tests that guard it (fast ones first: -x stops at the first failure)
GUARDS = "tests/engine/test_money_guards.py"
CHECKOUT = "tests/engine/test_checkout_internal.py"
TARGETS: dict[str, list[str]] = {
    "app/domain/money.py": ["tests/unit", GUARDS, "tests/integration/test_api_payment_orders_create.py"],
    "app/services/ledgers/credit_line.py": [GUARDS, CHECKOUT, "tests/integration/test_api_credit.py"],
    "app/services/ledgers/wallet.py": [GUARDS, CHECKOUT, "tests/engine/test_refunds.py"],
    "app/services/checkout/validation.py": [
        "tests/engine/test_checkout_rules.py", CHECKOUT, "tests/web/test_checkout.py"],
    "app/services/settlement/channel_result.py": [GUARDS, "tests/engine/test_online_channel.py", CHECKOUT],
    "app/services/refunds/allocation.py": ["tests/engine/test_refunds.py", "tests/engine/test_refund_wire.py"],
}

# Operators that cannot matter here or only make noise: `|` is a type union under
# `from __future__ import annotations`; shifts, powers, bit and modulo operators replacing an
# arithmetic operator are killed by the same tests as the + - * / swaps.
EXCLUDED_OPERATORS = [
    r"core/ReplaceBinaryOperator_BitOr_.*",
    r"core/ReplaceBinaryOperator_.*_(Pow|LShift|RShift|BitXor|BitAnd|BitOr|Mod|FloorDiv)",
    r"core/ReplaceComparisonOperator_.*_(Is|IsNot)",
]


def config(module: Path, tests: list[str], redis_url: str) -> str:
    # No bytecode cache: a mutant written in the same second as the original, with the same size,
    # would otherwise run from the original's .pyc.
    test_command = (f"env -u TEST_DATABASE_URL TEST_REDIS_URL={redis_url} PYTHONDONTWRITEBYTECODE=1 {PY} -m pytest "
                    f"-x -q -p no:cacheprovider " + " ".join(tests))
    excluded = ", ".join(json.dumps(e) for e in EXCLUDED_OPERATORS)
    # cosmic-ray runs the command without a shell, in the clone (``exec``'s working directory).
    return f"""[cosmic-ray]
module-path = "{module}"
timeout = 300.0
excluded-modules = []
test-command = "{test_command}"

[cosmic-ray.distributor]
name = "local"

[cosmic-ray.filters.operators-filter]
exclude-operators = [{excluded}]
"""


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, check=True, text=True, capture_output=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", help="a module of TARGETS (path under app/); repeatable")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/11")
    parser.add_argument("--keep", action="store_true", help="keep the clone and the sessions")
    args = parser.parse_args()
    cosmic = Path(PY).with_name("cosmic-ray")
    if not cosmic.exists():
        print("cosmic-ray is not installed: .venv/bin/pip install -e '.[mutation]'", file=sys.stderr)
        return 2
    targets = {m: t for m, t in TARGETS.items() if not args.only or any(m.endswith(o) for o in args.only)}
    work = Path(tempfile.mkdtemp(prefix="mutation-"))
    clone = work / "repo"
    run("git", "clone", "-q", str(ROOT), str(clone))
    head = run("git", "rev-parse", "--short", "HEAD", cwd=clone).stdout.strip()
    report: dict = {"commit": head, "modules": {}, "excluded_operators": EXCLUDED_OPERATORS}
    total_started = time.perf_counter()
    out = ROOT / "bench" / "results" / "mutation.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    for module, tests in targets.items():
        started = time.perf_counter()
        session = work / (module.replace("/", "_") + ".sqlite")
        cfg = work / (module.replace("/", "_") + ".toml")
        cfg.write_text(config(clone / module, tests, args.redis_url))
        run(str(cosmic), "init", str(cfg), str(session), cwd=clone)
        run(str(cosmic.with_name("cr-filter-operators")), str(session), str(cfg), cwd=clone)
        run(str(cosmic), "exec", str(cfg), str(session), cwd=clone)
        dump = run(str(cosmic), "dump", str(session)).stdout.splitlines()
        killed, survived, incompetent = 0, [], 0
        for line in dump:
            job, result = json.loads(line)
            if result is None or result.get("worker_outcome") == "skipped":  # filtered out, or not run
                continue
            outcome = result.get("test_outcome")
            mutation = job["mutations"][0]
            if outcome == "killed":
                killed += 1
            elif outcome == "survived":
                survived.append({"line": mutation["start_pos"][0], "function": mutation.get("definition_name"),
                                 "operator": mutation["operator_name"], "diff": result.get("diff", "")})
            else:
                incompetent += 1
        seconds = time.perf_counter() - started
        report["modules"][module] = {"mutants": killed + len(survived) + incompetent, "killed": killed,
                                     "survived": len(survived), "incompetent": incompetent,
                                     "seconds": round(seconds, 1), "tests": tests, "survivors": survived}
        print(f"{module}: {killed + len(survived)} mutants, {killed} killed, {len(survived)} survived"
              f" ({incompetent} incompetent) in {seconds:.0f} s", flush=True)
        for s in survived:
            print(f"    survived  line {s['line']:4d}  {s['function']}  {s['operator']}", flush=True)
        report["seconds"] = round(time.perf_counter() - total_started, 1)
        out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")  # after each module
    print(f"wrote {out.relative_to(ROOT)} (commit {head}, {report['seconds']:.0f} s)")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"kept {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
