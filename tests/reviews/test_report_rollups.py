"""Trigger-kept rollups agree with a rebuild and with reports computed from the base tables."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.core.management import call_command
from django.db.models import Sum

from reviews import rollups
from reviews.models import (
    Decision,
    DecisionWeek,
    Finding,
    FunnelWeek,
    Proposal,
    SavingsWeek,
    Service,
)
from reviews.reports import BUCKETS, ReportFilters, savings_report

T0 = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)  # a Monday


def _snapshot() -> dict:
    def rows(model, sums):
        keys = [f.name for f in model._meta.fields if f.name not in ("id", *sums)]
        return {
            tuple(r[k] for k in keys): tuple(round(r[s], 6) for s in sums)
            for r in model.objects.values(*keys, *sums)
            if any(r[s] for s in sums)
        }

    return {
        "savings": rows(SavingsWeek, ["proposals", "watts", "measured_watts", "measured_count"]),
        "decisions": rows(DecisionWeek, ["decisions"]),
        "funnel": rows(
            FunnelWeek, ["ingested", "no_fix", "failed", "proposed", "approved", "applied"]
        ),
    }


def _random_history(reviewer, seed: int = 7) -> None:
    """Findings, proposals and decisions written and rewritten the ways the product does."""
    rng = random.Random(seed)
    services = [
        Service.objects.create(name=f"svc-{i}", team=f"team-{i % 2}", price_per_kwh=0.1 + i / 10)
        for i in range(3)
    ]
    for n in range(40):
        created = T0 + dt.timedelta(hours=rng.randint(0, 24 * 40))
        finding = Finding.objects.create(
            kind=rng.choice(["regression", "opportunity"]),
            source=rng.choice(["detector", "survey"]),
            external_id=f"x{n}",
            payload_sha256="0" * 64,
            service=rng.choice(services),
            title="t",
            metric="cpu",
            magnitude_pct=1,
            functions=[],
        )
        Finding.objects.filter(pk=finding.pk).update(created_at=created)
        finding.refresh_from_db()
        if rng.random() < 0.15:
            Finding.objects.filter(pk=finding.pk).update(status=rng.choice(["no_fix", "failed"]))
            continue
        proposal = Proposal.objects.create(
            finding=finding,
            revision=1,
            skill_slug=rng.choice(["memoize", "precompile-regex", "string-join"]),
            estimated_watts=rng.uniform(1, 5000),
            measured_watts=rng.choice([None, rng.uniform(1, 5000)]),
            diff_sha256="a" * 64,
        )
        proposed = created + dt.timedelta(minutes=rng.randint(1, 600))
        Proposal.objects.filter(pk=proposal.pk).update(created_at=proposed)
        proposal.refresh_from_db()
        roll = rng.random()
        if roll < 0.3:
            continue  # still in review
        verdict = "approve" if roll < 0.7 else "reject" if roll < 0.85 else "request_changes"
        decision = Decision.objects.create(
            proposal=proposal,
            revision=1,
            diff_sha256=proposal.diff_sha256,
            reviewer=reviewer,
            verdict=verdict,
            reason="unsafe" if verdict == "reject" else "",
        )
        decided = proposed + dt.timedelta(hours=rng.randint(1, 200))
        Decision.objects.filter(pk=decision.pk).update(created_at=decided)
        status = {"approve": "approved", "reject": "rejected"}.get(verdict, "changes_requested")
        Proposal.objects.filter(pk=proposal.pk).update(
            status=status,
            decided_at=decided,
            branch_commit="c" * 40 if verdict == "approve" and rng.random() < 0.5 else "",
        )
        if verdict == "request_changes":
            # A new revision supersedes the first; a dismissed decision stops counting.
            Proposal.objects.filter(pk=proposal.pk).update(is_current=False, status="superseded")
            Proposal.objects.create(
                finding=finding,
                revision=2,
                skill_slug=proposal.skill_slug,
                estimated_watts=rng.uniform(1, 5000),
            )
            if rng.random() < 0.5:
                Decision.objects.filter(pk=decision.pk).update(dismissed=True)
    # Deletes are followed too.
    Proposal.objects.filter(pk=Proposal.objects.order_by("pk").values("pk")[:1]).delete()


@pytest.mark.django_db
def test_trigger_rollups_equal_a_rebuild(reviewer):
    _random_history(reviewer)
    by_triggers = _snapshot()
    assert by_triggers["savings"] and by_triggers["decisions"] and by_triggers["funnel"]
    rollups.rebuild()
    assert _snapshot() == by_triggers


def _assert_reports_equal_a_rebuild(django_user_model) -> None:
    """New history written after the rollups were emptied reads as a rebuild does."""
    _random_history(django_user_model.objects.create_user("ravi"), seed=8)
    by_triggers = _snapshot()
    assert all(
        value >= 0 for table in by_triggers.values() for sums in table.values() for value in sums
    )
    rollups.rebuild()
    assert _snapshot() == by_triggers
    admin = django_user_model.objects.create_superuser("root")
    report = savings_report(user=admin, filters=ReportFilters())
    for bucket, watts in _reference(ReportFilters()).items():
        assert getattr(report, bucket).watts == pytest.approx(watts, rel=1e-9)


@pytest.mark.django_db(transaction=True)
def test_a_flush_leaves_no_rollups_behind(reviewer, django_user_model):
    """A transactional test's flush deletes the rollup tables before the rows they count.

    The next test's reports then started from negative rows ("0 W" where 1.5 kW was banked).
    """
    _random_history(reviewer)
    call_command("flush", interactive=False, verbosity=0)
    assert _snapshot() == {"savings": {}, "decisions": {}, "funnel": {}}
    _assert_reports_equal_a_rebuild(django_user_model)


@pytest.mark.django_db
def test_rollups_emptied_before_their_rows_stay_empty(reviewer, django_user_model):
    """The same in production: a TRUNCATE or a delete order that empties the rollups first."""
    _random_history(reviewer)
    for model in (SavingsWeek, DecisionWeek, FunnelWeek):
        model.objects.all().delete()
    Finding.objects.all().delete()  # cascades to proposals and decisions
    Service.objects.all().delete()
    assert _snapshot() == {"savings": {}, "decisions": {}, "funnel": {}}
    _assert_reports_equal_a_rebuild(django_user_model)


def _reference(filters: ReportFilters) -> dict:
    """Savings straight from the proposals table: the definition the rollups must match."""
    qs = Proposal.objects.filter(is_current=True)
    if filters.start:
        qs = qs.filter(activity_at__gte=dt.datetime.combine(filters.start, dt.time.min, dt.UTC))
    if filters.end:
        end = dt.datetime.combine(filters.end + dt.timedelta(days=1), dt.time.min, dt.UTC)
        qs = qs.filter(activity_at__lt=end)
    if filters.team:
        qs = qs.filter(finding__service__team=filters.team)
    return {
        bucket: qs.filter(status__in=statuses).aggregate(w=Sum("estimated_watts"))["w"] or 0.0
        for bucket, statuses in BUCKETS.items()
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    "filters",
    [
        ReportFilters(),
        ReportFilters(start=dt.date(2026, 3, 4), end=dt.date(2026, 3, 25)),  # splits weeks
        ReportFilters(start=dt.date(2026, 3, 9), end=dt.date(2026, 3, 22)),  # whole weeks
        ReportFilters(start=dt.date(2026, 3, 10), end=dt.date(2026, 3, 12)),  # inside a week
        ReportFilters(start=dt.date(2026, 3, 18)),
        ReportFilters(end=dt.date(2026, 3, 18), team="team-1"),
    ],
    ids=["all", "split", "whole-weeks", "in-week", "open-end", "open-start-team"],
)
def test_report_from_rollups_equals_the_base_tables(reviewer, manager, filters):
    _random_history(reviewer)
    report = savings_report(user=manager, filters=filters)
    expected = _reference(filters)
    for bucket in BUCKETS:
        assert getattr(report, bucket).watts == pytest.approx(expected[bucket], rel=1e-9)
    assert sum(w["banked"] for w in report.weekly) == pytest.approx(expected["banked"])
    by_skill = sum(row["lost"]["watts"] for row in report.breakdowns["skill"])
    assert by_skill == pytest.approx(expected["lost"])


@pytest.mark.django_db
def test_funnel_and_skill_counts_match_the_base_tables(reviewer, manager):
    _random_history(reviewer)
    report = savings_report(
        user=manager, filters=ReportFilters(start=dt.date(2026, 3, 4), end=dt.date(2026, 3, 30))
    )
    start = dt.datetime(2026, 3, 4, tzinfo=dt.UTC)
    end = dt.datetime(2026, 3, 31, tzinfo=dt.UTC)
    findings = Finding.objects.filter(created_at__gte=start, created_at__lt=end)
    assert report.funnel["ingested"] == findings.count()
    assert report.funnel["no_fix"] == findings.filter(status="no_fix").count()
    assert (
        report.funnel["approved"]
        == Proposal.objects.filter(finding__in=findings, is_current=True, status="approved").count()
    )
    decisions = Decision.objects.filter(created_at__gte=start, created_at__lt=end, dismissed=False)
    approved = sum(s.approved for s in report.skills if s.version is None)
    assert approved == decisions.filter(verdict="approve").count()
