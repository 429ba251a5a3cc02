"""The review queue and the finding page."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_safe

from reviews.models import Finding, SolveRun
from reviews.roles import role_required, user_roles
from reviews.selectors.detection import finding_detection_evidence
from reviews.selectors.findings import (
    DEFAULT_SORT,
    QUEUE_SORTS,
    QueueFilters,
    finding_activity,
    finding_get_for_user,
    finding_root_cause,
    finding_services,
    finding_sources,
    findings_exist,
    findings_queue,
    findings_queue_page,
)
from reviews.traces import trace_entries, transcript_entries

PAGE_SIZES = (25, 50, 100)


class QueueFilterForm(forms.Form):
    """Validates the queue's query string; an invalid field is ignored, never a 500."""

    kind = forms.ChoiceField(choices=[("", "Any kind"), *Finding.Kind.choices], required=False)
    status = forms.ChoiceField(
        choices=[("", "Any status"), ("open", "Open"), *Finding.Status.choices], required=False
    )
    # Bounded so a huge number is a form error, not an integer overflow in the database.
    service = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    source = forms.CharField(required=False, max_length=100)
    q = forms.CharField(required=False, max_length=200)
    mine = forms.BooleanField(required=False)
    sort = forms.ChoiceField(
        choices=[(key, label) for key, (label, _) in QUEUE_SORTS.items()], required=False
    )
    per_page = forms.TypedChoiceField(
        choices=[(str(size), str(size)) for size in PAGE_SIZES], coerce=int, required=False
    )

    def filters(self) -> QueueFilters:
        self.is_valid()
        data = self.cleaned_data
        return QueueFilters(
            kind=data.get("kind") or "",
            status=data.get("status") or "",
            service_id=data.get("service") or None,
            source=(data.get("source") or "").strip(),
            assigned_to_me=bool(data.get("mine")),
            sort=data.get("sort") or DEFAULT_SORT,
            search=" ".join((data.get("q") or "").split()),
        )


@role_required("can_read")
@require_safe
def queue(request: HttpRequest) -> HttpResponse:
    form = QueueFilterForm(request.GET)
    filters = form.filters()
    per_page = form.cleaned_data.get("per_page") or PAGE_SIZES[0]
    findings = findings_queue(user=request.user, filters=filters)
    page = findings_queue_page(queryset=findings, number=request.GET.get("page"), per_page=per_page)
    # Tell "nothing here yet" (onboarding) apart from "nothing matches" (clear the filters).
    has_any = page.paginator.count > 0 or (
        filters.is_filtered and findings_exist(user=request.user)
    )
    return render(
        request,
        "reviews/queue.html",
        {
            "page": page,
            "filters": filters,
            "ignored": sorted(form.errors),
            "per_page": per_page,
            "page_sizes": PAGE_SIZES,
            "sorts": [(key, label) for key, (label, _) in QUEUE_SORTS.items()],
            "kinds": Finding.Kind.choices,
            "statuses": [("open", "Open"), *Finding.Status.choices],
            "services": finding_services(),
            "sources": finding_sources(),
            "has_any_findings": has_any,
        },
    )


@role_required("can_read")
@require_safe
def finding(request: HttpRequest, finding_id: int) -> HttpResponse:
    finding = finding_get_for_user(user=request.user, finding_id=finding_id)
    activity = finding_activity(finding=finding)
    active_run = next((run for run in activity.solve_runs if run.is_active), None)
    # A run that failed or found no fix made no proposal page: its record is shown here, so an
    # engineer can see why.
    investigated = [
        run
        for run in activity.solve_runs
        if run.status in (SolveRun.Status.FAILED, SolveRun.Status.NO_FIX)
    ]
    for run in investigated:
        run.trace_entries = trace_entries(run.trace)
        run.transcript_entries = transcript_entries(run.transcript)
    return render(
        request,
        "reviews/finding.html",
        {
            "finding": finding,
            "proposals": activity.proposals,
            "solve_runs": activity.solve_runs,
            "investigated_runs": investigated,
            "active_run": active_run,
            "audit_events": activity.audit_events,
            "root_cause": finding_root_cause(finding=finding),
            "detection": finding_detection_evidence(finding=finding),
            "can_act": user_roles(request.user).can_act,
        },
    )


urlpatterns = [
    path("", queue, name="queue"),
    path("findings/<int:finding_id>/", finding, name="finding"),
]
