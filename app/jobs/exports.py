"""Exports too large to write inside a web request (``app.services.orders.export``,
``app.services.transactions.export``)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from rq import get_current_job

from ..services.orders import export as order_export
from ..services.transactions import export as txn_export

log = logging.getLogger(__name__)


def export_orders(spec: dict) -> dict:
    """Write one reseller's filtered order list as CSV or XLSX; progress goes to ``job.meta``
    (``done`` of ``total`` rows) for the page that polls it."""
    return _run(order_export.run_export, spec, "export")


def export_transactions(spec: dict) -> dict:
    """Write the finance desk's filtered transaction list as CSV or XLSX, with the same progress."""
    return _run(txn_export.run_export, spec, "transaction export")


def _run(run_export: Callable[[str, dict, Callable[[int], None]], dict], spec: dict, what: str) -> dict:
    job = get_current_job()
    assert job is not None  # run by a worker, inside its job

    def progress(done: int) -> None:
        job.meta["done"] = done
        job.save_meta()

    result = run_export(job.id, spec, progress)
    log.info("%s %s: %d rows to %s", what, job.id, result["rows"], result["file"])
    return result
