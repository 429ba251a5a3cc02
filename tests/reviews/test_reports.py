"""Savings reports on hand-made data with known answers; page, CSV and API must agree."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from reviews.models import Decision, Finding, Proposal, Service, SolveRun
from reviews.reports import ReportFilters, savings_report
from skills.models import Skill
from skills.services import wilson_bounds

T0 = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)  # a Monday
HOUR = dt.timedelta(hours=1)


def _finding(service: Service, n: int, *, kind="regression", source="detector", status="in_review"):
    finding = Finding.objects.create(
        kind=kind,
        source=source,
        external_id=f"f-{n}",
        payload_sha256="0" * 64,
        service=service,
        title=f"finding {n}",
        metric="cpu",
        magnitude_pct=1.0,
        functions=[{"symbol": "pkg.mod.fn"}],
        status=status,
    )
    Finding.objects.filter(pk=finding.pk).update(created_at=T0 - 2 * HOUR)
    finding.refresh_from_db()
    return finding


def _proposal(
    finding,
    *,
    status,
    watts,
    skill,
    revision=1,
    is_current=True,
    measured=None,
    created=T0,
    decided=None,
    branch_commit="",
):
    proposal = Proposal.objects.create(
        finding=finding,
        revision=revision,
        status=status,
        is_current=is_current,
        skill_slug=skill,
        diff="--- a/x\n+++ b/x\n",
        diff_sha256="a" * 64,
        estimated_watts=watts,
        measured_watts=measured,
        applies=True,
        tests_passed=True,
        branch_commit=branch_commit,
        decided_at=decided,
    )
    # Back-date it as if the solver had answered at `created`.
    Proposal.objects.filter(pk=proposal.pk).update(
        created_at=created,
        finding_created_at=finding.created_at,
        seconds_to_propose=(created - finding.created_at).total_seconds(),
    )
    proposal.refresh_from_db()
    return proposal


def _decide(proposal, reviewer, verdict, after: dt.timedelta, reason=""):
    decision = Decision.objects.create(
        proposal=proposal,
        revision=proposal.revision,
        diff_sha256=proposal.diff_sha256,
        reviewer=reviewer,
        verdict=verdict,
        reason=reason,
    )
    # Back-date the decision as if it had been made `after` the proposal.
    Decision.objects.filter(pk=decision.pk).update(
        created_at=proposal.created_at + after, decision_seconds=after.total_seconds()
    )
    return decision


@pytest.fixture
def data(db, reviewer):
    alpha = Service.objects.create(
        name="checkout", team="alpha", fleet_servers=100, price_per_kwh=0.10
    )
    beta = Service.objects.create(name="search", team="beta", fleet_servers=100, price_per_kwh=0.20)
    f1, f2, f3, f4, f5 = (
        _finding(alpha, 1),
        _finding(beta, 2, kind="opportunity", source="survey"),
        _finding(alpha, 3),
        _finding(beta, 4),
        _finding(alpha, 5, status="no_fix"),
    )
    p1 = _proposal(
        f1,
        status="approved",
        watts=1000,
        skill="memoize",
        measured=800,
        decided=T0 + HOUR,
        branch_commit="b" * 40,
    )
    p2 = _proposal(f2, status="approved", watts=500, skill="memoize", decided=T0 + 8 * 24 * HOUR)
    _proposal(f3, status="pending", watts=2000, skill="precompile-regex")
    p4 = _proposal(f4, status="rejected", watts=300, skill="memoize", decided=T0 + 3 * HOUR)
    # A superseded revision never counts towards savings.
    p5 = _proposal(f5, status="superseded", watts=9999, skill="precompile-regex", is_current=False)
    _decide(p1, reviewer, "approve", 1 * HOUR)
    _decide(p2, reviewer, "approve", 2 * HOUR)
    _decide(p4, reviewer, "reject", 3 * HOUR, reason="unsafe")
    _decide(p5, reviewer, "request_changes", 10 * HOUR)
    SolveRun.objects.create(finding=f5, status="no_fix", error="no skill applied: pattern absent")
    return {"alpha": alpha, "beta": beta}


def test_totals_banked_at_stake_lost(data, manager):
    report = savings_report(user=manager, filters=ReportFilters())
    assert report.banked.watts == pytest.approx(1500)
    # dollars a year = watts × 8.76 × price per kWh, per service
    assert report.banked.dollars == pytest.approx(1000 * 8.76 * 0.10 + 500 * 8.76 * 0.20)
    assert report.banked.measured_watts == pytest.approx(800)
    assert report.banked.count == 2
    assert report.at_stake.watts == pytest.approx(2000)
    assert report.at_stake.dollars == pytest.approx(2000 * 8.76 * 0.10)
    assert report.lost.watts == pytest.approx(300)
    assert report.lost.dollars == pytest.approx(300 * 8.76 * 0.20)


def test_breakdowns_and_weeks(data, manager):
    report = savings_report(user=manager, filters=ReportFilters())
    by_team = {row["key"]: row for row in report.breakdowns["team"]}
    assert by_team["alpha"]["banked"]["watts"] == pytest.approx(1000)
    assert by_team["alpha"]["at_stake"]["watts"] == pytest.approx(2000)
    assert by_team["beta"]["lost"]["watts"] == pytest.approx(300)
    by_kind = {row["key"]: row for row in report.breakdowns["kind"]}
    assert by_kind["opportunity"]["banked"]["watts"] == pytest.approx(500)
    by_skill = {row["key"]: row for row in report.breakdowns["skill"]}
    assert by_skill["memoize"]["banked"]["watts"] == pytest.approx(1500)
    weeks = {w["week"]: w for w in report.weekly}
    # p1 decided in the week of Jan 5, p2 the week after.
    assert weeks["2026-01-05"]["banked"] == pytest.approx(1000)
    assert weeks["2026-01-12"]["banked"] == pytest.approx(500)


def test_funnel_times_and_skill_quality(data, manager):
    report = savings_report(user=manager, filters=ReportFilters())
    assert report.funnel == {
        "ingested": 5,
        "proposed": 5,
        "approved": 2,
        "applied": 1,
        "no_fix": 1,
        "failed": 0,
    }
    assert report.no_fix_reasons[0]["reason"] == "no skill applied: pattern absent"
    # Decisions took 1, 2, 3 and 10 hours: median 2.5 h, p90 interpolates 3 h → 10 h at 0.7.
    assert report.times["proposal_to_decision_p50_s"] == pytest.approx(2.5 * 3600)
    assert report.times["proposal_to_decision_p90_s"] == pytest.approx(7.9 * 3600)
    assert report.times["finding_to_proposal_p50_s"] == pytest.approx(2 * 3600)
    memoize = next(s for s in report.skills if s.skill == "memoize" and s.version is None)
    assert (memoize.approved, memoize.rejected) == (2, 1)
    assert memoize.acceptance_rate == pytest.approx(2 / 3)
    assert memoize.wilson_low == pytest.approx(0.2077, abs=1e-3)
    assert memoize.wilson_high == pytest.approx(0.9385, abs=1e-3)
    assert report.rejection_reasons == [{"reason": "unsafe", "label": "Unsafe", "count": 1}]


def test_wilson_interval_known_values():
    # The report's interval is the skill statistics' one (skills.services.wilson_bounds).
    assert wilson_bounds(0, 0) is None
    low, high = wilson_bounds(10, 10)
    assert low == pytest.approx(0.7225, abs=1e-3) and high == pytest.approx(1.0)
    low, high = wilson_bounds(5, 10)
    assert low == pytest.approx(0.2366, abs=1e-3) and high == pytest.approx(0.7634, abs=1e-3)


def test_filters_narrow_the_report(data, manager):
    report = savings_report(user=manager, filters=ReportFilters(service="search"))
    assert report.banked.watts == pytest.approx(500)
    assert report.at_stake.watts == 0
    dated = savings_report(
        user=manager, filters=ReportFilters(start=dt.date(2026, 1, 12), end=dt.date(2026, 1, 31))
    )
    assert dated.banked.watts == pytest.approx(500)


def test_needs_attention_is_listed(data, manager):
    Skill.objects.update_or_create(
        slug="memoize", defaults={"name": "Memoize", "needs_attention": True}
    )
    Skill.objects.exclude(slug="memoize").update(needs_attention=False)
    report = savings_report(user=manager, filters=ReportFilters())
    assert report.needs_attention == ["memoize"]


def test_page_csv_and_api_agree(data, manager, client_for):
    client = client_for(manager)
    page = client.get("/reports/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "1.5 kW" in html  # banked headline
    assert "<svg" in html and "Savings per week" in html and "Power (" in html
    assert "Skill acceptance" in html

    rows = list(csv.reader(io.StringIO(client.get("/reports/savings.csv").content.decode())))
    csv_totals = {(r[1], r[2]): r[3] for r in rows if r[0] == "totals"}
    api = client.get("/api/v1/reports/savings/").json()
    for bucket in ("banked", "at_stake", "lost"):
        assert float(csv_totals[(bucket, "estimated_watts")]) == pytest.approx(api[bucket]["watts"])
        assert float(csv_totals[(bucket, "dollars_per_year")]) == pytest.approx(
            api[bucket]["dollars"], abs=0.01
        )
    assert api["banked"]["watts"] == pytest.approx(1500)
    assert api["funnel"]["approved"] == 2
    csv_funnel = {r[1]: int(r[3]) for r in rows if r[0] == "funnel"}
    assert csv_funnel == api["funnel"]


def test_bad_filters_are_a_400_not_a_500(data, manager, client_for):
    client = client_for(manager)
    assert client.get("/reports/?start=not-a-date").status_code == 400
    assert client.get("/reports/?start=2026-02-01&end=2026-01-01").status_code == 400
    response = client.get("/api/v1/reports/savings/?kind=bogus")
    assert response.status_code == 400
    assert "kind" in response.json()["errors"]


def test_roles(data, client, reviewer, outsider, skill_admin, client_for):
    assert client.get("/reports/").status_code == 302
    assert client.get("/api/v1/reports/savings/").status_code in (401, 403)
    assert client_for(outsider).get("/reports/").status_code == 403
    assert client.get("/api/v1/reports/savings/").status_code == 403
    assert client_for(skill_admin).get("/reports/").status_code == 200


def test_reviewers_see_their_own_team_only(data, reviewer, client_for):
    reviewer.groups.add(Group.objects.create(name="team:beta"))
    api = client_for(reviewer).get("/api/v1/reports/savings/").json()
    assert api["restricted_to_teams"] == ["beta"]
    assert api["banked"]["watts"] == pytest.approx(500)  # search only
    assert api["at_stake"]["watts"] == 0
    assert api["lost"]["watts"] == pytest.approx(300)


def test_csv_cells_cannot_inject_formulas(db, manager, client_for):
    service = Service.objects.create(name="=HYPERLINK(1)", team="t")
    finding = _finding(service, 99)
    _proposal(finding, status="approved", watts=10, skill="memoize", decided=timezone.now())
    body = client_for(manager).get("/reports/savings.csv").content.decode()
    assert "'=HYPERLINK(1)" in body


def test_an_empty_program_says_so_in_each_chart(db, manager, client_for):
    html = client_for(manager).get("/reports/").content.decode()
    assert "No decided or pending proposals in this range yet." in html
    assert "Nothing to break down yet." in html
    assert "No approvals or rejections yet." in html


def test_csv_wide_form_has_one_row_per_service_and_week(data, manager, client_for):
    response = client_for(manager).get("/reports/savings.csv?format=wide")
    assert response["Content-Disposition"].endswith('"wattson-savings-by-service-week.csv"')
    header, *rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert header[:6] == [
        "week",
        "service",
        "banked_estimated_watts",
        "banked_measured_watts",
        "banked_dollars_per_year",
        "banked_proposals",
    ]
    table = {(r[0], r[1]): dict(zip(header, r, strict=True)) for r in rows}
    assert list(table) == [
        ("2026-01-05", "checkout"),
        ("2026-01-05", "search"),
        ("2026-01-12", "search"),
    ]
    checkout = table[("2026-01-05", "checkout")]
    assert float(checkout["banked_estimated_watts"]) == 1000
    assert float(checkout["banked_measured_watts"]) == 800  # measured, apart from the estimate
    assert float(checkout["banked_dollars_per_year"]) == pytest.approx(876.0)
    assert float(checkout["at_stake_estimated_watts"]) == 2000
    assert checkout["at_stake_measured_watts"] == ""  # nothing measured: empty, not zero
    assert float(table[("2026-01-05", "search")]["lost_estimated_watts"]) == 300
    assert table[("2026-01-12", "search")]["banked_proposals"] == "1"
    # Filters apply to the wide form too.
    narrowed = client_for(manager).get("/reports/savings.csv?format=wide&service=search")
    assert "checkout" not in narrowed.content.decode()


def test_the_long_csv_and_the_api_label_estimated_and_measured_apart(data, manager, client_for):
    client = client_for(manager)
    rows = list(csv.reader(io.StringIO(client.get("/reports/savings.csv").content.decode())))
    totals = {(r[1], r[2]): r[3] for r in rows if r[0] == "totals"}
    assert float(totals[("banked", "estimated_watts")]) == 1500
    assert float(totals[("banked", "measured_watts")]) == 800
    weekly = {(r[1], r[2]): r[3] for r in rows if r[0] == "weekly"}
    assert float(weekly[("2026-01-05", "banked_measured_watts")]) == 800
    assert weekly[("2026-01-12", "banked_measured_watts")] == ""
    api = client.get("/api/v1/reports/savings/").json()
    assert "expected recovery" in api["formulas"]["watts"]
    assert "recovery validation measured" in api["formulas"]["measured_watts"]
    page = client.get("/reports/").content.decode()
    assert "Banked (est.)" in page and "Banked (measured)" in page
    assert "the skill&#x27;s expected recovery" in page  # the formula, on the page


def test_date_presets_set_the_range(db, manager, client_for, monkeypatch):
    monkeypatch.setattr(timezone, "localdate", lambda *a, **k: dt.date(2026, 5, 20))
    client = client_for(manager)
    page = client.get("/reports/?breakdown=skill").content.decode()
    assert "?breakdown=skill&amp;start=2026-04-23&amp;end=2026-05-20" in page  # last 4 weeks
    assert "start=2026-02-19&amp;end=2026-05-20" in page  # last 13 weeks
    assert "start=2025-05-22&amp;end=2026-05-20" in page  # last 52 weeks
    assert "start=2026-04-01&amp;end=2026-05-20" in page  # quarter to date
    chosen = client.get("/reports/?start=2026-04-01&end=2026-05-20").content.decode()
    assert 'is-active" href="?start=2026-04-01&amp;end=2026-05-20" aria-current="true">Quarter' in (
        chosen
    )
