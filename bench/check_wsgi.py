"""The WSGI application of bench/server_checks.py: the real portal (``app.create_app()``) at ``/`` and,
under ``/check``, what the checks need a worker to do on purpose:

* ``/check/pid?s=N``        the answering worker's pid, after N seconds (default 0): which worker served it
* ``/check/sleep?s=N``      answer after N seconds (graceful shutdown, timeouts)
* ``/check/crash``          the worker process dies in the middle of the request (SIGKILL)
* ``/check/size`` (POST)    read the whole body, answer its length (what reaches the application)
"""

from __future__ import annotations

import os
import signal
import time
from urllib.parse import parse_qs

from werkzeug.middleware.dispatcher import DispatcherMiddleware

from app import create_app


def checks(environ, start_response):
    path = environ.get("PATH_INFO", "")
    query = parse_qs(environ.get("QUERY_STRING", ""))
    if path == "/pid":
        time.sleep(float(query.get("s", ["0"])[0]))
        body = str(os.getpid()).encode()
    elif path == "/sleep":
        time.sleep(float(query.get("s", ["1"])[0]))
        body = b"slept"
    elif path == "/crash":
        os.kill(os.getpid(), signal.SIGKILL)  # as the kernel's OOM killer or a segfault would end it
    elif path == "/size":
        body = str(len(environ["wsgi.input"].read())).encode()
    else:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"no such check"]
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


portal = create_app()
app = DispatcherMiddleware(portal, {"/check": checks})
