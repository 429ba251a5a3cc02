"""The reviews app's start-up: system checks, schedules and the hooks between services.

The functions below import models and services inside their bodies on purpose: this module is
loaded while Django populates its app registry, before any model may be imported.
"""

from django.apps import AppConfig
from django.core import checks
from django.db.models.signals import post_migrate

SWEEP_SCHEDULE_NAME = "wattson: sweep solve runs"
SWEEP_FUNC = "reviews.tasks.sweep_solve_runs"
DETECT_SCHEDULE_NAME = "wattson: detect regressions"
DETECT_FUNC = "reviews.tasks.detect_regressions"
PULL_REQUEST_SCHEDULE_NAME = "wattson: pull requests"
PULL_REQUEST_FUNC = "reviews.tasks.sweep_pull_requests"
BISECT_SWEEP_SCHEDULE_NAME = "wattson: sweep bisects"
BISECT_SWEEP_FUNC = "reviews.inlet_tasks.sweep_bisects_task"


class ReviewsConfig(AppConfig):
    name = "reviews"
    verbose_name = "Reviews"

    def ready(self) -> None:
        checks.register(check_queue_timing, checks.Tags.compatibility)
        post_migrate.connect(register_sweep_schedule, sender=self)
        post_migrate.connect(register_survey_schedule, sender=self)
        _register_auto_solve()
        _register_pull_requests()


def check_queue_timing(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """django-q2 re-delivers a task still running when retry <= timeout: solves would double."""
    from django_q.conf import Conf

    timeout, retry = Conf.TIMEOUT, Conf.RETRY
    if timeout is not None and retry is not None and retry <= timeout:
        return [
            checks.Error(
                f"Q_CLUSTER retry ({retry}s) must be greater than timeout ({timeout}s)",
                hint="Set WATTSON_SOLVE_RETRY_S above WATTSON_SOLVE_TIMEOUT_S.",
                id="reviews.E001",
            )
        ]
    return []


def register_sweep_schedule(**kwargs) -> None:
    """The sweepers run every minute on whichever cluster runs the scheduler."""
    from django_q.models import Schedule

    for name, func in (
        (SWEEP_SCHEDULE_NAME, SWEEP_FUNC),
        # Pull requests: retries due, and the poll that catches a lost webhook.
        (PULL_REQUEST_SCHEDULE_NAME, PULL_REQUEST_FUNC),
        # Bisects a lost message or a dead worker left waiting (and their auto-solve with them).
        (BISECT_SWEEP_SCHEDULE_NAME, BISECT_SWEEP_FUNC),
    ):
        Schedule.objects.update_or_create(
            name=name,
            defaults={
                "func": func,
                "schedule_type": Schedule.MINUTES,
                "minutes": 1,
                "repeats": -1,
            },
        )
    # Change-point detection over every stored series files what the histories and profiles
    # sent since the last run show.
    Schedule.objects.update_or_create(
        name=DETECT_SCHEDULE_NAME,
        defaults={"func": DETECT_FUNC, "schedule_type": Schedule.HOURLY, "repeats": -1},
    )


def _register_auto_solve() -> None:
    from reviews.services import ingest
    from reviews.services.bisect import bisect_queue
    from reviews.services.solving import auto_solve_findings

    hooks = getattr(ingest, "POST_INGEST_HOOKS", None)
    # Bisect first: auto-solve waits for a finding whose bisect is queued.
    if hooks is not None and bisect_queue not in hooks:
        hooks.append(bisect_queue)
    if hooks is not None and auto_solve_findings not in hooks:
        hooks.append(auto_solve_findings)


def register_survey_schedule(**kwargs) -> None:
    """The survey of every registered repository runs daily (issue #14 item 4)."""
    from django_q.models import Schedule

    from reviews.services.survey import SCHEDULE_FUNC, SCHEDULE_NAME

    Schedule.objects.update_or_create(
        name=SCHEDULE_NAME,
        defaults={"func": SCHEDULE_FUNC, "schedule_type": Schedule.DAILY, "repeats": -1},
    )


def _register_pull_requests() -> None:
    """A pushed fix branch of a repository on a code host becomes a pull / merge request."""
    from reviews.services import fix_delivery
    from reviews.services.code_hosts.delivery import pull_request_after_push

    if pull_request_after_push not in fix_delivery.POST_PUSH_HOOKS:
        fix_delivery.POST_PUSH_HOOKS.append(pull_request_after_push)
