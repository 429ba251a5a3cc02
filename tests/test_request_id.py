"""Request ids: echoed to the client, on every log line, and carried into the solve task."""

from __future__ import annotations

import json
import logging
import logging.config

import pytest

from console.logs import RequestIdFilter, logging_config, request_id_bound
from reviews import tasks
from reviews.services import solving


@pytest.fixture
def log_records(caplog):
    caplog.handler.addFilter(RequestIdFilter())
    caplog.set_level(logging.INFO)
    return caplog


@pytest.mark.django_db
def test_a_plain_client_request_id_is_echoed(client):
    response = client.get("/healthz", headers={"X-Request-ID": "lb-1234.abc"})
    assert response["X-Request-ID"] == "lb-1234.abc"


@pytest.mark.django_db
def test_a_missing_or_unsafe_request_id_is_replaced_by_a_new_one(client):
    first = client.get("/healthz")["X-Request-ID"]
    second = client.get("/healthz", headers={"X-Request-ID": "a\tb<script>"})["X-Request-ID"]
    assert len(first) == 32 and len(second) == 32 and first != second


@pytest.mark.django_db
def test_log_lines_written_while_answering_carry_the_id(client, log_records, settings):
    settings.WATTSON_BROKER = "redis"
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # readyz logs a warning: broker down
    client.get("/readyz", headers={"X-Request-ID": "req-42"})
    (record,) = [r for r in log_records.records if r.getMessage().startswith("not ready")]
    assert record.request_id == "req-42"


def test_the_enqueued_solve_takes_the_request_id_along(monkeypatch):
    sent = {}
    monkeypatch.setattr(solving, "async_task", lambda *args, **kwargs: sent.update(kwargs))
    with request_id_bound("req-7"):
        solving.solve_run_enqueue(run_id=5)
    assert sent["request_id"] == "req-7"


@pytest.mark.django_db
def test_the_solve_task_logs_under_the_request_id_it_was_given(log_records):
    tasks.solve_run_task(999_999, request_id="req-9")
    (record,) = [r for r in log_records.records if "999999" in r.getMessage()]
    assert record.request_id == "req-9"
    tasks.solve_run_task(999_998)
    (record,) = [r for r in log_records.records if "999998" in r.getMessage()]
    assert record.request_id == "run-999998"


def test_production_logs_are_one_json_object_per_line_with_the_request_id(capsys):
    config = logging_config(json_logs=True, level="INFO")
    handler_config = config["handlers"]["console"]
    formatter = logging.config.DictConfigurator(config).configure_formatter(
        config["formatters"]["default"]
    )
    handler = logging.StreamHandler()
    handler.setFormatter(formatter)
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("wattson.test.json")
    logger.addHandler(handler)
    try:
        with request_id_bound("req-json"):
            logger.warning("solve %s done", 3)
    finally:
        logger.removeHandler(handler)
    line = capsys.readouterr().err.strip()
    document = json.loads(line)
    assert document["message"] == "solve 3 done"
    assert document["request_id"] == "req-json" and document["level"] == "WARNING"
    assert handler_config["filters"] == ["request_id"]


@pytest.mark.django_db
def test_djangos_own_error_log_line_carries_the_id(client, log_records):
    client.get("/no-such-page/", headers={"X-Request-ID": "req-404"})
    (record,) = [r for r in log_records.records if r.getMessage().startswith("Not Found")]
    assert record.request_id == "req-404"
