"""What ``/metrics`` reads at scrape time (app/metrics.py): the state of the queues (Redis) and the
unresolved alerts (the database)."""

from __future__ import annotations

from prometheus_client import Metric
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from ..alerts.kinds import KNOWN_KINDS
from ..alerts.queries import open_by_kind
from ..platform.queue_stats import queue_ages
from ..platform.unit_of_work import end_read


class StateCollector(Collector):
    """Queue depth and oldest waiting job per queue (Redis), unresolved alerts per kind (the
    database), read at scrape time inside the app context of the ``/metrics`` request. A part
    that cannot be read is left out (``portal_state_scrape_errors`` says which)."""

    def collect(self) -> list[Metric]:
        depth = GaugeMetricFamily("portal_queue_depth", "Jobs waiting on a queue", labels=["queue"])
        age = GaugeMetricFamily("portal_queue_oldest_job_age_seconds",
                                "Age of the oldest job waiting on a queue (0 when none waits)", labels=["queue"])
        alerts = GaugeMetricFamily("portal_alerts_open", "Unresolved alerts (open or acknowledged), by kind",
                                   labels=["kind"])
        errors = GaugeMetricFamily("portal_state_scrape_errors", "1 when a part of the state could not be read",
                                   labels=["part"])
        try:
            for name, (n, oldest) in queue_ages().items():
                depth.add_metric([name], n)
                age.add_metric([name], oldest)
            errors.add_metric(["queues"], 0)
        except Exception:  # Redis down: the scrape still answers
            errors.add_metric(["queues"], 1)
        try:
            try:
                counts = dict.fromkeys(KNOWN_KINDS, 0) | open_by_kind()
            finally:
                end_read()
            for kind, n in sorted(counts.items()):
                alerts.add_metric([kind], n)
            errors.add_metric(["alerts"], 0)
        except Exception:
            errors.add_metric(["alerts"], 1)
        return [depth, age, alerts, errors]
