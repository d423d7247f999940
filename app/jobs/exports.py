"""Exports too large to write inside a web request (``app.services.orders.export``)."""

from __future__ import annotations

import logging

from rq import get_current_job

from ..services.orders import export as order_export

log = logging.getLogger(__name__)


def export_orders(spec: dict) -> dict:
    """Write one reseller's filtered order list as CSV or XLSX; progress goes to ``job.meta``
    (``done`` of ``total`` rows) for the page that polls it."""
    job = get_current_job()
    assert job is not None  # run by a worker, inside its job

    def progress(done: int) -> None:
        job.meta["done"] = done
        job.save_meta()

    result = order_export.run_export(job.id, spec, progress)
    log.info("export %s: %d rows to %s", job.id, result["rows"], result["file"])
    return result
