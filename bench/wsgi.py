"""One WSGI application for the benchmark: the real portal (``app.create_app()``) at ``/`` and the
baselines of ``bench/baseline_app.py`` under ``/baseline``, so that every target is served by the
same HTTP server (same workers, same worker class, same process; bench/servers.py starts them):

    gunicorn -w 3 -k sync -b 127.0.0.1:8000 bench.wsgi:app
    granian --interface wsgi --workers 3 --port 8000 bench.wsgi:app

Both applications read DATABASE_URL (the benchmark's PostgreSQL database).
"""

from __future__ import annotations

from werkzeug.middleware.dispatcher import DispatcherMiddleware

from app import create_app
from bench.baseline_app import create_baseline_app

portal = create_app()
baseline = create_baseline_app()
app = DispatcherMiddleware(portal, {"/baseline": baseline})
