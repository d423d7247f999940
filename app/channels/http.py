"""One HTTP client per process for the calls to the gateways (the online channel, the payout bank).

``httpx.post`` builds a client, a connection pool and a TLS context for every call (about 25 ms
before the first byte, measured); a shared client reuses them. Keyed by process id: an RQ work
horse is a fork, and a pool's sockets must not be shared across a fork.
"""

from __future__ import annotations

import os
import threading

import httpx

_lock = threading.Lock()
_client: httpx.Client | None = None
_owner_pid: int | None = None


def gateway_client() -> httpx.Client:
    global _client, _owner_pid
    pid = os.getpid()
    if _client is None or _owner_pid != pid:
        with _lock:
            if _client is None or _owner_pid != pid:
                _client = httpx.Client(follow_redirects=False)
                _owner_pid = pid
    return _client
