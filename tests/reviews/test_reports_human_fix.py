"""Analyses are a separate "needs a human fix" line in the reports, never at stake (issue #12)."""

from __future__ import annotations

from django.urls import reverse

from reviews.models import Proposal, Service
from reviews.reports import ReportFilters, savings_report
from tests.reviews.test_reports import _finding, _proposal


def test_open_analyses_are_a_needs_a_human_fix_line_not_at_stake(db, manager, client_for):
    service = Service.objects.create(name="locks", team="alpha", fleet_servers=100)
    _proposal(_finding(service, 1), status="pending", watts=2000, skill="memoize")
    analysis = _proposal(_finding(service, 2), status="pending", watts=700, skill="lock-contention")
    Proposal.objects.filter(pk=analysis.pk).update(is_analysis=True, diff="", diff_sha256="")
    acknowledged = _proposal(
        _finding(service, 3), status="acknowledged", watts=50, skill="lock-contention"
    )
    Proposal.objects.filter(pk=acknowledged.pk).update(is_analysis=True, diff="")

    report = savings_report(user=manager, filters=ReportFilters())

    assert report.at_stake.count == 1 and report.at_stake.watts == 2000
    assert report.needs_human_fix.count == 1 and report.needs_human_fix.watts == 700
    page = client_for(manager).get(reverse("reviews:reports")).content.decode()
    assert "Needs a human fix: 1 analysis waiting" in page
