"""gunicorn's settings for `.ci/prod` (Procfile.prod), from the same environment as Django's.

gthread workers: Wattson's pages are short database reads plus, on a proposal, a CPU-bound diff
render; threads cover the database waits, processes the CPU, and no async stack is needed.
"""

from __future__ import annotations

import os

from prometheus_client import multiprocess

# All interfaces by default: behind a proxy or in a container the port is reached from outside.
bind = f"{os.environ.get('WATTSON_BIND', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"  # noqa: S104
workers = int(os.environ.get("WATTSON_WEB_WORKERS", "3"))
worker_class = "gthread"
threads = int(os.environ.get("WATTSON_WEB_THREADS", "4"))
# A request past this is killed and logged; the slowest page (a huge diff's first render)
# takes a few seconds.
timeout = 60
graceful_timeout = 20
keepalive = 5
accesslog = "-"
# X-Forwarded-* headers are trusted from the proxy in front (set the address it connects from).
forwarded_allow_ips = os.environ.get("WATTSON_FORWARDED_ALLOW_IPS", "127.0.0.1")
# gunicorn 27's control socket lives at one path per user: two servers on a machine would
# fight over it, and nothing here uses it.
control_socket_disable = True


def child_exit(server, worker) -> None:
    # prometheus-client's multi-process mode keeps each worker's values in files; a dead
    # worker's live gauges must stop counting (its counters stay, as Prometheus expects).
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)
