"""Thin RQ entry points: each takes ids or primitives, calls one service, and returns a small JSON
value. They run inside the worker's app context (``worker.py``) and build nothing themselves.
Only public functions defined in modules of this package may run in a worker
(``app.services.platform.queues.resolve_job_function``)."""
