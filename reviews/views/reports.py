"""The savings report page and its CSV export: managers, skill-admins and reviewers (own team)."""

from __future__ import annotations

import csv
import datetime as dt

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_safe

from reviews import charts
from reviews.reports import (
    BREAKDOWNS,
    ReportFilters,
    SavingsReport,
    filter_choices,
    savings_report,
)
from reviews.roles import role_required


class ReportFilterForm(forms.Form):
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    service = forms.CharField(required=False, max_length=200)
    team = forms.CharField(required=False, max_length=200)
    skill = forms.CharField(required=False, max_length=80)
    source = forms.CharField(required=False, max_length=100)
    kind = forms.ChoiceField(
        required=False,
        choices=[("", "Any"), ("regression", "Regression"), ("opportunity", "Opportunity")],
    )
    breakdown = forms.ChoiceField(
        required=False, choices=[(k, k.title()) for k in BREAKDOWNS], initial="service"
    )

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise forms.ValidationError("The start date must be on or before the end date.")
        return data

    def to_filters(self) -> ReportFilters:
        data = self.cleaned_data
        return ReportFilters(
            start=data.get("start"),
            end=data.get("end"),
            service=data.get("service") or "",
            team=data.get("team") or "",
            skill=data.get("skill") or "",
            source=data.get("source") or "",
            kind=data.get("kind") or "",
        )


def date_presets(today: dt.date) -> list[tuple[str, dt.date, dt.date]]:
    """(label, start, end) of the range buttons: the last 4, 13 and 52 weeks, quarter to date."""
    quarter_start = dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    return [
        *((f"Last {weeks} weeks", today - dt.timedelta(weeks=weeks) + dt.timedelta(days=1), today)
          for weeks in (4, 13, 52)),
        ("Quarter to date", quarter_start, today),
    ]  # fmt: skip


def report_from_request(request: HttpRequest) -> tuple[ReportFilterForm, SavingsReport | None]:
    form = ReportFilterForm(request.GET or None)
    if request.GET and not form.is_valid():
        return form, None
    filters = form.to_filters() if request.GET else ReportFilters()
    return form, savings_report(user=request.user, filters=filters)


@require_safe
@role_required("can_see_reports")
def reports(request: HttpRequest) -> HttpResponse:
    form, report = report_from_request(request)
    breakdown = (
        form.cleaned_data.get("breakdown") if form.is_bound and form.is_valid() else ""
    ) or "service"
    chosen = (request.GET.get("start", ""), request.GET.get("end", ""))
    context = {
        "form": form,
        "report": report,
        "breakdown": breakdown,
        "choices": filter_choices(request.user),
        "presets": [
            {
                "label": label,
                "start": start.isoformat(),
                "end": end.isoformat(),
                "active": chosen == (start.isoformat(), end.isoformat()),
            }
            for label, start, end in date_presets(timezone.localdate())
        ],
    }
    if report is not None:
        context["charts"] = {
            "trend": charts.savings_trend(report.weekly),
            "breakdown": charts.stacked_breakdown(
                report.breakdowns[breakdown], dimension=breakdown
            ),
            "skills": charts.skill_acceptance(report.skills),
        }
        context["breakdown_rows"] = report.breakdowns[breakdown]
        context["csv_query"] = request.GET.urlencode()
    return render(request, "reviews/reports.html", context, status=200 if report else 400)


def _measured(value: float | None, count: int = 1):
    return "" if value is None or not count else round(value, 3)


def report_csv_rows(report: SavingsReport, breakdown: str) -> list[list]:
    """Exactly what the page shows, as rows: totals, breakdown, weeks, funnel, times, skills.

    The long form: one figure per row. Estimated and measured watts are separate metrics.
    """
    rows: list[list] = [["section", "key", "metric", "value"]]
    # "shipped" is the part of "banked" whose pull request was merged.
    for bucket in ("banked", "shipped", "at_stake", "lost"):
        totals = getattr(report, bucket)
        rows.append(["totals", bucket, "estimated_watts", round(totals.watts, 3)])
        rows.append(["totals", bucket, "dollars_per_year", round(totals.dollars, 2)])
        rows.append(
            [
                "totals",
                bucket,
                "measured_watts",
                "" if totals.measured_watts is None else round(totals.measured_watts, 3),
            ]
        )
        rows.append(["totals", bucket, "proposals", totals.count])
    for row in report.breakdowns[breakdown]:
        for bucket in ("banked", "at_stake", "lost"):
            figures = row[bucket]
            section = f"by_{breakdown}"
            rows.append(
                [section, row["key"], f"{bucket}_estimated_watts", round(figures["watts"], 3)]
            )
            rows.append(
                [
                    section,
                    row["key"],
                    f"{bucket}_measured_watts",
                    _measured(figures["measured_watts"]),
                ]
            )
    for week in report.weekly:
        for bucket in ("banked", "at_stake", "lost"):
            key = week["week"]
            rows.append(["weekly", key, f"{bucket}_estimated_watts", round(week[bucket], 3)])
            measured = _measured(week[f"{bucket}_measured"], week[f"{bucket}_measured_count"])
            rows.append(["weekly", key, f"{bucket}_measured_watts", measured])
    for key, value in report.funnel.items():
        rows.append(["funnel", key, "findings", value])
    for key, value in report.times.items():
        rows.append(["times", key, "seconds", "" if value is None else round(value, 1)])
    for skill in report.skills:
        key = skill.skill if skill.version is None else f"{skill.skill} v{skill.version}"
        rows.append(["skills", key, "approved", skill.approved])
        rows.append(["skills", key, "rejected", skill.rejected])
        rows.append(
            [
                "skills",
                key,
                "acceptance_rate",
                "" if skill.acceptance_rate is None else round(skill.acceptance_rate, 4),
            ]
        )
        rows.append(
            [
                "skills",
                key,
                "wilson_low",
                "" if skill.wilson_low is None else round(skill.wilson_low, 4),
            ]
        )
    for reason in report.rejection_reasons:
        rows.append(["rejection_reasons", reason["reason"], "count", reason["count"]])
    return rows


WIDE_MEASURES = ("estimated_watts", "measured_watts", "dollars_per_year", "proposals")


def report_csv_wide_rows(report: SavingsReport) -> list[list]:
    """The wide form a spreadsheet wants: one row per service and week, a column per measure
    and bucket (estimated and measured watts apart; dollars a year of the estimate)."""
    buckets = ("banked", "at_stake", "lost")
    header = ["week", "service", *(f"{b}_{m}" for b in buckets for m in WIDE_MEASURES)]
    rows: list[list] = [header]
    for week in report.weekly_by_service:
        row = [week["week"], week["service"]]
        for b in buckets:
            row += [
                round(week[b], 3),
                _measured(week[f"{b}_measured"], week[f"{b}_measured_count"]),
                round(week[f"{b}_dollars"], 2),
                week[f"{b}_proposals"],
            ]
        rows.append(row)
    return rows


def _csv_safe(value):
    # Spreadsheet formula injection: service names and reasons come from outside.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


@require_safe
@role_required("can_see_reports")
def reports_csv(request: HttpRequest) -> HttpResponse:
    form, report = report_from_request(request)
    if report is None:
        return HttpResponse(
            "Invalid filters: " + "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()),
            status=400,
            content_type="text/plain",
        )
    breakdown = (form.cleaned_data.get("breakdown") if form.is_bound else "") or "service"
    wide = request.GET.get("format") == "wide"
    name = "wattson-savings-by-service-week.csv" if wide else "wattson-savings.csv"
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    writer = csv.writer(response)
    rows = report_csv_wide_rows(report) if wide else report_csv_rows(report, breakdown)
    for row in rows:
        writer.writerow([_csv_safe(v) for v in row])
    return response


urlpatterns = [
    path("reports/", reports, name="reports"),
    path("reports/savings.csv", reports_csv, name="reports_csv"),
]
