"""Health probes for a load balancer or an orchestrator: cheap, unauthenticated.

/healthz: the process answers (no database). /readyz: the database, the broker and a worker
heartbeat are reachable; 503 naming the failing part otherwise. Its report also carries the
audit chain's tail check, which does not fail readiness: a tampered log is for people to look
into, and taking every web process out of rotation over it would let one edited row cause an
outage.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django_q.brokers import get_broker
from django_q.models import OrmQ
from django_q.status import Stat

from reviews.services.audit import audit_verify

logger = logging.getLogger(__name__)

# Rows of the audit chain's tail checked on each readiness probe (a few milliseconds);
# `manage.py verify_audit` walks the whole chain.
AUDIT_TAIL_ROWS = 200
REDIS_TIMEOUT_S = 2.0


@never_cache
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


def check_broker() -> str:
    if settings.WATTSON_BROKER == "redis":
        client = redis.Redis.from_url(
            settings.REDIS_URL,
            socket_connect_timeout=REDIS_TIMEOUT_S,
            socket_timeout=REDIS_TIMEOUT_S,
        )
        try:
            client.ping()
        finally:
            client.close()
        return "redis ok"
    # The ORM broker's queue is a table: reading it proves the queue is there.
    OrmQ.objects.order_by().values_list("id").first()
    return "orm ok"


def check_workers() -> str:
    # Each running qcluster saves its status every few seconds with a short expiry (in Redis, or
    # in the default cache for the ORM broker, which is why that cache is shared).
    clusters = Stat.get_all(broker=get_broker())
    if not clusters:
        raise RuntimeError("no worker cluster has reported a heartbeat")
    return f"{len(clusters)} cluster(s)"


CHECKS: dict[str, Callable[[], str]] = {
    "database": check_database,
    "broker": check_broker,
    "workers": check_workers,
}


def _run(check: Callable[[], str]) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        detail, ok = check(), True
    except Exception as exc:  # any failure is the answer, not an error page
        detail, ok = f"{type(exc).__name__}: {exc}"[:300], False
    return {"ok": ok, "detail": detail, "ms": round((time.perf_counter() - started) * 1000, 1)}


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    report = {name: _run(check) for name, check in CHECKS.items()}
    failing = [name for name, result in report.items() if not result["ok"]]
    body: dict[str, Any] = {"ready": not failing, "failing": failing, "checks": report}
    if report["database"]["ok"]:
        try:
            body["audit"] = audit_verify(last=AUDIT_TAIL_ROWS).as_dict()
        except Exception as exc:
            logger.exception("audit chain check failed")
            body["audit"] = {"ok": False, "error": type(exc).__name__}
    if failing:
        logger.warning("not ready: %s", ", ".join(failing))
    return JsonResponse(body, status=503 if failing else 200)
