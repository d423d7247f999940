"""Mutation testing of the money code (docs/SECURITY.md "How the suites bite"), too slow for CI.

    .venv/bin/pip install -e '.[mutation]'          # cosmic-ray
    nice -n 19 .venv/bin/python bench/mutation.py [--only domain/money.py] [--minutes 15]
        [--redis-url redis://127.0.0.1:6379/10] [--rerun-survivors | --resume] [--keep] [--table]

For each money module below, cosmic-ray (a well-kept mutation tool) makes every mutant of the
operators that can change an amount, a comparison or a branch (arithmetic swaps among + - * /,
comparisons, and/or, not, numbers, True/False, removed decorators, swallowed exceptions), and runs
the module's tests against each, stopping at the first failure. A mutant the tests do not notice
"survived". The work happens in a fresh clone of HEAD under a temporary directory (the working tree
is never touched), on SQLite, with the Redis database given (TEST_REDIS_URL by default). Before the
mutants, the module's tests run once unmutated: a red or missing test would "kill" every mutant.

``--minutes N`` stops a module's run after N minutes; the report says how many mutants ran of how
many (cosmic-ray takes them in random order, so a stopped run is a random sample), and
``--resume`` later runs only the ones it did not reach (by key; of two mutants at one place with
one operator, e.g. a number made 1 and -1, either may be taken). ``--rerun-survivors`` runs only
the mutants that survived the last recorded run of each module (matched by operator, source line
text and column, so lines may move) and records which test kills each now. Prints killed/survived
per module and merges the module's entry into bench/results/mutation.json: every survivor (line,
operator, the diff), and its verdict: killed on re-run by a named test, or equivalent with the
reason written in bench/mutation_equivalents.py.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.mutation_equivalents import equivalence_reason  # noqa: E402

try:
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult
except ImportError:
    sys.exit("cosmic-ray is not installed: .venv/bin/pip install -e '.[mutation]'")

PY = sys.executable

# module -> the tests that guard it, in order of money importance (a run with a time budget may not
# reach the last ones). Fast, direct tests first: -x stops at the first failure, so a killed mutant
# costs one short pytest start; a survivor costs the whole list.
GUARDS = "tests/engine/test_money_guards.py"
CHECKOUT = "tests/engine/test_checkout_internal.py"
UNIT_MONEY = "tests/unit/test_money_and_status.py"
TARGETS: dict[str, list[str]] = {
    "app/domain/money.py": [UNIT_MONEY, GUARDS, "tests/integration/test_api_payment_orders_create.py"],
    "app/services/ledgers/credit_line.py": [
        "tests/engine/test_credit_line.py", GUARDS, CHECKOUT, "tests/integration/test_api_credit.py"],
    "app/services/ledgers/wallet.py": ["tests/engine/test_wallet.py", GUARDS, CHECKOUT, "tests/engine/test_refunds.py"],
    "app/services/settlement/channel_result.py": [
        "tests/engine/test_settlement.py", GUARDS, "tests/engine/test_online_channel.py", CHECKOUT,
        # a race of a callback and a query, timed by sleeps: flaky when the machine is loaded
        "--deselect=tests/engine/test_online_channel.py::test_callback_and_compensation_at_the_same_time_apply_once",
        "tests/engine/test_event_payloads.py"],
    "app/domain/payment_states.py": ["tests/unit/test_payment_states.py"],
    "app/domain/order_status.py": [UNIT_MONEY, "tests/unit/test_status_vocabulary.py",
                                   "tests/engine/test_checkout_rules.py"],
    "app/services/checkout/validation.py": [
        "tests/engine/test_checkout_validation.py", "tests/engine/test_checkout_rules.py", CHECKOUT,
        "tests/web/test_checkout.py"],
    "app/services/refunds/allocation.py": ["tests/unit/test_refund_allocation.py", "tests/engine/test_refunds.py",
                                           "tests/engine/test_refund_wire.py"],
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
    excluded = ", ".join(json.dumps(e) for e in EXCLUDED_OPERATORS)
    # cosmic-ray runs the command without a shell, in the clone (``exec``'s working directory).
    return f"""[cosmic-ray]
module-path = "{module}"
timeout = 300.0
excluded-modules = []
test-command = "{" ".join(test_command(tests, redis_url))}"

[cosmic-ray.distributor]
name = "local"

[cosmic-ray.filters.operators-filter]
exclude-operators = [{excluded}]
"""


def test_command(tests: list[str], redis_url: str) -> list[str]:
    # No bytecode cache: a mutant written in the same second as the original, with the same size,
    # would otherwise run from the original's .pyc.
    return ["env", "-u", "TEST_DATABASE_URL", f"TEST_REDIS_URL={redis_url}", "PYTHONDONTWRITEBYTECODE=1", PY,
            "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, check=True, text=True, capture_output=True)


def source_key(lines: list[str], operator: str, start: list[int]) -> tuple[str, str, int]:
    """What identifies a mutant across edits of its module: operator, the source line's text, column."""
    return operator, lines[start[0] - 1].strip(), start[1]


def killing_test(output: str) -> str | None:
    found = re.search(r"^(?:FAILED|ERROR) (\S+)", output or "", re.MULTILINE)
    return found.group(1) if found else None


def execute(cosmic: Path, cfg: Path, session: Path, clone: Path, minutes: float | None) -> bool:
    """``cosmic-ray exec``; False if stopped by the time budget (the module's file is then restored)."""
    proc = subprocess.Popen([str(cosmic), "exec", str(cfg), str(session)], cwd=clone, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        proc.wait(timeout=minutes * 60 if minutes else None)
        return True
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)  # cosmic-ray and the pytest of the mutant in flight
        proc.wait()
        run("git", "checkout", "--", ".", cwd=clone)  # the mutant in flight was written into the file
        return False


def skip_all_but(session: Path, wanted: Counter, lines: list[str]) -> int:
    """Mark every pending mutant whose key is not in ``wanted`` as skipped; returns how many remain.
    Two mutants may share a key (a number made 1 and -1): ``wanted`` counts them."""
    left, wanted = 0, Counter(wanted)
    with use_db(str(session), WorkDB.Mode.open) as work_db:
        for item in list(work_db.pending_work_items):
            m = item.mutations[0]
            key = source_key(lines, m.operator_name, list(m.start_pos))
            if wanted[key] > 0:
                wanted[key] -= 1
                left += 1
            else:
                work_db.set_result(item.job_id, WorkResult(output="not wanted in this run",
                                                           worker_outcome=WorkerOutcome.SKIPPED))
    return left


def outcomes(session: Path, lines: list[str]) -> dict:
    killed, survived, incompetent, not_run, killers, not_run_keys = 0, [], 0, 0, {}, []
    for line in run(str(Path(PY).with_name("cosmic-ray")), "dump", str(session)).stdout.splitlines():
        job, result = json.loads(line)
        mutation = job["mutations"][0]
        key = source_key(lines, mutation["operator_name"], mutation["start_pos"])
        if result is None:
            not_run += 1
            not_run_keys.append(list(key))
        elif result.get("worker_outcome") == "skipped":  # filtered out
            continue
        elif result.get("test_outcome") == "killed":
            killed += 1
            killers[key] = killing_test(result.get("output", ""))
        elif result.get("test_outcome") == "survived":
            survived.append({"line": mutation["start_pos"][0], "column": key[2], "source": key[1],
                             "function": mutation.get("definition_name"), "operator": key[0],
                             "diff": result.get("diff", "")})
        else:
            incompetent += 1
    return {"killed": killed, "survived": survived, "incompetent": incompetent, "not_run": not_run,
            "killers": killers, "not_run_keys": not_run_keys}


def merge_report(out: Path, module: str, entry: dict) -> None:
    """Write one module's entry into the report, keeping the others (two runs may share the file)."""
    with open(out.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        report = json.loads(out.read_text()) if out.exists() else {}
        report["excluded_operators"] = EXCLUDED_OPERATORS
        modules = report.setdefault("modules", {})
        earlier = modules.get(module)
        if earlier and earlier.get("commit") != entry.get("commit") and "rerun" not in entry:
            # A full run after new tests: keep the earlier runs' figures (what the older suite let through).
            entry["earlier_runs"] = earlier.pop("earlier_runs", []) + [
                {k: earlier[k] for k in ("commit", "mutants", "ran", "killed", "survived", "tests") if k in earlier}]
        modules[module] = entry
        report["modules"] = {m: report["modules"][m] for m in TARGETS if m in report["modules"]}
        out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")


def verdicts(module: str, entry: dict) -> None:
    """Each survivor's verdict: killed on re-run (by which test), or equivalent (why), or changed (its
    line is no longer in the module: the code was rewritten since, run the module again), or open."""
    rerun = entry.get("rerun", {})
    current = {line.strip() for line in (ROOT / module).read_text().splitlines()}
    for s in entry["survivors"]:
        s.pop("killed_by", None)
        s.pop("reason", None)
        key = f"{s['operator']}|{s['source']}|{s['column']}"
        reason = equivalence_reason(module, s["operator"], s["source"], s["column"])
        # Two mutants of one operator at one place (a number made 1 and -1) share a key: "tested" only
        # when no mutant of that key survived the re-run.
        if reason:  # first: a key can be shared by two mutants (one line text twice in a module)
            s["verdict"], s["reason"] = "equivalent", reason
        elif key in rerun.get("killed_by", {}) and key not in rerun.get("survived", []):
            s["verdict"] = "tested"
            s["killed_by"] = rerun["killed_by"][key]
        elif s["source"] not in current:
            s["verdict"] = "changed"
        else:
            s["verdict"] = "open"
    entry["tested"] = sum(s["verdict"] == "tested" for s in entry["survivors"])
    entry["equivalent"] = sum(s["verdict"] == "equivalent" for s in entry["survivors"])
    entry["open"] = sum(s["verdict"] == "open" for s in entry["survivors"])
    entry["changed"] = sum(s["verdict"] == "changed" for s in entry["survivors"])


def run_module(module: str, tests: list[str], args: argparse.Namespace, work: Path, clone: Path,
               previous: dict | None) -> dict:
    cosmic = Path(PY).with_name("cosmic-ray")
    started = time.perf_counter()
    head = run("git", "rev-parse", "--short", "HEAD", cwd=clone).stdout.strip()
    missing = [t for t in tests if not t.startswith("-") and not (clone / t).exists()]
    if missing:
        raise SystemExit(f"{module}: guarding tests missing at HEAD: {missing}")
    baseline = subprocess.run(test_command(tests, args.redis_url), cwd=clone, capture_output=True, text=True)
    if baseline.returncode != 0:
        raise SystemExit(f"{module}: the guarding tests fail unmutated:\n{baseline.stdout[-3000:]}")
    lines = (clone / module).read_text().splitlines()
    session = work / (module.replace("/", "_") + ".sqlite")
    cfg = work / (module.replace("/", "_") + ".toml")
    cfg.write_text(config(clone / module, tests, args.redis_url))
    run(str(cosmic), "init", str(cfg), str(session), cwd=clone)
    run(str(cosmic.with_name("cr-filter-operators")), str(session), str(cfg), cwd=clone)
    if previous is not None:  # cosmic-ray runs the jobs in random order: the keys say which ones
        keys = previous["not_run_keys"] if args.resume else [
            [s["operator"], s["source"], s["column"]] for s in previous["survivors"]]
        skip_all_but(session, Counter(tuple(k) for k in keys), lines)
    finished = execute(cosmic, cfg, session, clone, args.minutes)
    got = outcomes(session, lines)
    seconds = round(time.perf_counter() - started, 1)
    ran = got["killed"] + len(got["survived"]) + got["incompetent"]
    if previous is not None and args.resume:
        entry = previous
        for name in ("ran", "killed", "incompetent"):
            entry[name] += ran if name == "ran" else got[name]
        entry["survivors"] += got["survived"]
        entry["survived"] = len(entry["survivors"])
        entry["not_run"], entry["not_run_keys"], entry["finished"] = got["not_run"], got["not_run_keys"], finished
        entry["seconds"] = round(entry["seconds"] + seconds, 1)
        entry.setdefault("resumed_at", []).append(head)
        print(f"{module} resumed: {ran} more mutants ran, {got['killed']} killed, {len(got['survived'])} survived;"
              f" {entry['ran']} of {entry['mutants']} ran in all, {got['not_run']} not run", flush=True)
    elif previous is not None:
        entry = previous
        entry["rerun"] = {"commit": head, "mutants": ran + got["not_run"], "ran": ran, "killed": got["killed"],
                          "survived": [f"{s['operator']}|{s['source']}|{s['column']}" for s in got["survived"]],
                          "killed_by": {"|".join(map(str, k)): v for k, v in got["killers"].items()},
                          "seconds": seconds, "finished": finished}
        print(f"{module} re-run of {ran + got['not_run']} survivors: {got['killed']} killed, "
              f"{len(got['survived'])} still survive, {got['not_run']} not run ({seconds:.0f} s)", flush=True)
    else:
        entry = {"commit": head, "mutants": ran + got["not_run"], "ran": ran, "killed": got["killed"],
                 "survived": len(got["survived"]), "incompetent": got["incompetent"], "not_run": got["not_run"],
                 "finished": finished, "minutes_budget": args.minutes, "seconds": seconds, "tests": tests,
                 "survivors": got["survived"], "not_run_keys": got["not_run_keys"]}
        print(f"{module}: {ran} of {ran + got['not_run']} mutants ran, {got['killed']} killed, "
              f"{len(got['survived'])} survived ({got['incompetent']} incompetent) in {seconds:.0f} s"
              + ("" if finished else f" (stopped after {args.minutes} min)"), flush=True)
    verdicts(module, entry)
    for s in entry["survivors"]:
        print(f"    {s['verdict']:10s} line {s['line']:4d} col {s['column']:3d} {s['operator']}: {s['source']}"
              f"  {s.get('killed_by') or s.get('reason') or ''}", flush=True)
    return entry


def table(report: dict) -> str:
    """The report as the Markdown table of bench/README.md: the first run of each module (the suite
    before its survivors got tests), then the last full run and what became of its survivors."""
    rows = ["| module | mutants | first run: ran → killed / survived | last run: ran → killed / survived "
            "| survivors → tested / equivalent / changed / open | not run | commit |",
            "|---|---:|---|---|---|---:|---|"]
    for module in TARGETS:
        e = report["modules"].get(module)
        if e is None:
            rows.append(f"| `{module}` | | | | | not run | |")
            continue
        first = (e.get("earlier_runs") or [e])[0]
        rows.append(f"| `{module}` | {e['mutants']} | {first['ran']} → {first['killed']} / {first['survived']} "
                    f"({first['commit']}) | {e['ran']} → {e['killed']} / {e['survived']} | {e['tested']} / "
                    f"{e['equivalent']} / {e['changed']} / {e['open']} | {e['not_run']} | {e['commit']} |")
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", help="a module of TARGETS (path under app/); repeatable")
    parser.add_argument("--redis-url", default=os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/11"))
    parser.add_argument("--minutes", type=float, help="stop each module's run after this many minutes")
    parser.add_argument("--rerun-survivors", action="store_true",
                        help="run only the mutants that survived the recorded run of each module")
    parser.add_argument("--resume", action="store_true",
                        help="run only the mutants the recorded run of each module did not reach (its budget)")
    parser.add_argument("--keep", action="store_true", help="keep the clone and the sessions")
    parser.add_argument("--table", action="store_true", help="print the recorded report as a Markdown table")
    args = parser.parse_args()
    out = ROOT / "bench" / "results" / "mutation.json"
    if args.table:  # verdicts read again (equivalences written since the run), written back
        for module, entry in json.loads(out.read_text())["modules"].items():
            verdicts(module, entry)
            merge_report(out, module, entry)
        print(table(json.loads(out.read_text())))
        return 0
    targets = {m: t for m, t in TARGETS.items() if not args.only or any(m.endswith(o) for o in args.only)}
    out.parent.mkdir(parents=True, exist_ok=True)
    recorded = json.loads(out.read_text())["modules"] if out.exists() else {}
    work = Path(tempfile.mkdtemp(prefix="mutation-"))
    clone = work / "repo"
    run("git", "clone", "-q", str(ROOT), str(clone))
    try:
        for module, tests in targets.items():
            previous = None
            if args.rerun_survivors or args.resume:
                previous = recorded.get(module)
                if not previous or not previous["not_run" if args.resume else "survivors"]:
                    print(f"{module}: nothing recorded to {'resume' if args.resume else 're-run'}", flush=True)
                    continue
            merge_report(out, module, run_module(module, tests, args, work, clone, previous))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"kept {work}")
    print(f"wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
