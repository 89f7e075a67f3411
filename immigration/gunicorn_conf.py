"""gunicorn settings that belong to the application: `gunicorn -c python:immigration.gunicorn_conf`.

Prometheus multiprocess mode (queueing/metrics.py): when a worker process exits, its live gauges
are dropped; its counters stay in PROMETHEUS_MULTIPROC_DIR and keep being summed by scrapes.
The access log line carries the request id the app echoes in `X-Request-ID`, and the path
without its query string (`%(U)s`: a query string could hold a search term).
"""

from __future__ import annotations

import os
from typing import Any

access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(M)sms rid=%({x-request-id}o)s'


def child_exit(server: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
