"""gunicorn's settings for `.ci/prod` (Procfile.prod), from the same environment as Django's.

gthread workers: Wattson's pages are short database reads plus, on a proposal, a CPU-bound diff
render; threads cover the database waits, processes the CPU, and no async stack is needed.
"""

from __future__ import annotations

import os

from prometheus_client import multiprocess

# All interfaces by default: behind a proxy or in a container the port is reached from outside.
bind = f"{os.environ.get('WATTSON_BIND', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"  # noqa: S104
# Sized for the cores this process may run on (2 here: 3 processes x 4 threads). A page costs
# 9-25 ms of Python CPU and a few short PostgreSQL round trips (bench/load.py), and the GIL lets
# one thread per process run Python at a time: one process per core keeps the cores busy, one
# more runs while another waits on the database. gunicorn's 2 x cores + 1 is for sync workers,
# where each process also sits out every wait; here the threads cover the waits (and hold idle
# keep-alive connections), so more processes only add memory, database connections and context
# switches (5 x 4 did no better than 3 x 4 in bench/load.py on 2 cores).
_CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
workers = int(os.environ.get("WATTSON_WEB_WORKERS", str((_CORES or 2) + 1)))
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
