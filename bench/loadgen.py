"""A Python load generator, used by ``bench/create_order.py`` when ``wrk`` is not installed.

It does what ``bench/wrk_create.lua`` does — closed loop, N keep-alive connections, a unique
requestId/orderId per request, every answer checked against the expected status — with
``http.client`` in a few processes of a few threads each, and prints the same ``WRK_RESULT``
JSON line (latencies in microseconds). It costs more CPU per request than wrk, so on a small
machine it lowers the figures of every target; compare only figures taken with the same driver.

    python -m bench.loadgen --url http://127.0.0.1:8000 --path /api/v1/integration/payment/create \
        --token KEY --prefix run1 --expected 201 --connections 8 --duration 15

With ``--requests-file`` it sends prepared requests instead (the format of bench/wrk_requests.lua,
written by bench/online_payments.write_requests_file): connection i of n sends lines i, i+n, ...
each exactly once, and the run ends when every line is answered (``--duration`` is then only a
limit); ``--cycle`` starts over at the end until ``--duration`` has passed, as wrk does. The
reported duration is from the start to the last answer.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import multiprocessing as mp
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

# METHOD, path, body, headers
Request = tuple[str, str, bytes | None, dict[str, str]]


def body_for(prefix: str, tid: str, counter: int) -> bytes:
    rid = f"{prefix}-{tid}-{counter}"
    return (
        '{"requestId":"req-' + rid + '","orderId":"SO-' + rid + '","resellerId":"R1001",'
        '"paymentType":"ADVANCE_PAYMENT","paymentAmount":"1250000.00",'
        '"paymentDeadline":"2026-12-01T18:00:00+08:00","businessDesc":"30% advance","priority":1,'
        '"relatedBusinessId":null,"relatedBusinessType":null,"businessExpireDate":null,'
        '"tags":{"line":"boilers"},"creditRecordId":null}'
    ).encode()


def _create_requests(path: str, token: str, prefix: str, tid: str) -> Iterator[Request]:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    for counter in itertools.count(1):
        yield "POST", path, body_for(prefix, tid, counter), headers


def read_requests(path: str) -> list[Request]:
    out = []
    with open(path) as f:
        for line in f:
            fields = line.rstrip("\n").split("\t")
            headers = dict(zip(fields[3::2], fields[4::2], strict=False))
            out.append((fields[0], fields[1], fields[2].encode() or None, headers))
    return out


def _send(host: str, port: int, timeout: float, requests: Iterator[Request], expected: int, deadline: float,
          out: dict) -> None:
    """One keep-alive connection sending ``requests`` in turn until they run out or ``deadline``."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    lat, ok, bad, errors, counter = [], 0, 0, 0, 0
    first_bad = None
    while time.perf_counter() < deadline:
        request = next(requests, None)
        if request is None:
            break
        method, path, body, headers = request
        counter += 1
        t0 = time.perf_counter()
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            closing = resp.will_close
        except (OSError, http.client.HTTPException):
            errors += 1
            conn.close()
            conn = http.client.HTTPConnection(host, port, timeout=timeout)
            continue
        lat.append(int((time.perf_counter() - t0) * 1e6))
        if resp.status == expected:
            ok += 1
        else:
            bad += 1
            if first_bad is None:
                first_bad = (resp.status, data[:300].decode("utf-8", "replace"))
        if closing:  # e.g. gunicorn's sync worker closes after every answer
            conn.close()
            conn = http.client.HTTPConnection(host, port, timeout=timeout)
    conn.close()
    out.update(lat=lat, ok=ok, bad=bad, errors=errors, first_bad=first_bad, sent=counter,
               finished=time.perf_counter())


def _process(args, pidx: int, threads: int, first_conn: int, start_at: float, queue) -> None:
    u = urlsplit(args.url)
    reqs = read_requests(args.requests_file) if args.requests_file else None
    while time.time() < start_at:
        time.sleep(0.001)
    started = time.perf_counter()
    deadline = started + args.duration
    outs: list[dict] = [{} for _ in range(threads)]
    if reqs is not None:
        timeout = 10.0
        sources = [(itertools.cycle if args.cycle else iter)(reqs[first_conn + i::args.connections])
                   for i in range(threads)]
    else:
        timeout = 5.0
        sources = [_create_requests(args.path, args.token, args.prefix, f"{pidx}.{i}") for i in range(threads)]
    ts = [threading.Thread(target=_send, args=(u.hostname, u.port or 80, timeout, sources[i], args.expected,
                                               deadline, outs[i])) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    for o in outs:
        o["elapsed"] = o.pop("finished", time.perf_counter()) - started
    queue.put(outs)


def _percentile(sorted_values: list[int], p: float) -> int:
    if not sorted_values:
        return 0
    k = min(len(sorted_values) - 1, max(0, int(round(p / 100.0 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--path")
    ap.add_argument("--token", default="")
    ap.add_argument("--prefix")
    ap.add_argument("--requests-file", help="send these prepared requests (see the module's docstring)")
    ap.add_argument("--cycle", action="store_true", help="with --requests-file: start over until --duration")
    ap.add_argument("--expected", type=int, default=201)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--duration", type=float, default=15)
    ap.add_argument("--processes", type=int, default=2)
    args = ap.parse_args(argv)
    if not args.requests_file and not (args.path and args.prefix):
        ap.error("--path and --prefix, or --requests-file")

    procs_n = max(1, min(args.processes, args.connections))
    per = [args.connections // procs_n + (1 if i < args.connections % procs_n else 0) for i in range(procs_n)]
    queue = mp.Queue()
    start_at = time.time() + 0.5
    procs = [mp.Process(target=_process, args=(args, i, per[i], sum(per[:i]), start_at, queue))
             for i in range(procs_n)]
    for p in procs:
        p.start()
    outs = []
    for _ in procs:
        outs.extend(queue.get())
    for p in procs:
        p.join()
    lat = sorted(v for o in outs for v in o["lat"])
    first_bad = next((o["first_bad"] for o in outs if o["first_bad"]), None)
    result = {
        "requests": len(lat),
        "duration_us": int((max(o["elapsed"] for o in outs) if args.requests_file and not args.cycle
                            else args.duration) * 1e6), "sent": sum(o["sent"] for o in outs),
        "ok": sum(o["ok"] for o in outs), "bad": sum(o["bad"] for o in outs),
        "socket_errors": {"connect": 0, "read": sum(o["errors"] for o in outs), "write": 0, "status": 0,
                          "timeout": 0},
        "p50_us": _percentile(lat, 50), "p90_us": _percentile(lat, 90), "p99_us": _percentile(lat, 99),
        "max_us": lat[-1] if lat else 0, "mean_us": (sum(lat) / len(lat)) if lat else 0.0,
        "first_bad_status": str(first_bad[0]) if first_bad else "",
        "first_bad_body": first_bad[1] if first_bad else "",
    }
    print("WRK_RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
