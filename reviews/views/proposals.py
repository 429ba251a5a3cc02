"""The proposal page: the change a reviewer decides on, its evidence, and the diff viewer.

Decisions are posted to reviews.views.decisions; this module only reads.
"""

from __future__ import annotations

import nh3
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_safe
from markdown_it import MarkdownIt

from reviews import diffs
from reviews.roles import SESSION_EXPIRED, role_required, user_roles
from reviews.selectors.comments import proposal_threads
from reviews.selectors.evidence import proposal_badges, proposal_model_cost, proposal_savings
from reviews.selectors.proposals import (
    proposal_context_rows,
    proposal_diff,
    proposal_get_for_page,
    proposal_get_for_user,
    proposal_interdiff,
    proposal_interdiff_context_rows,
    proposal_other_revision,
    proposal_revisions,
)
from reviews.selectors.solving import finding_active_run
from reviews.traces import trace_entries, transcript_entries
from skills.sandbox import sandbox_notes

# Raw HTML off: a rationale is written by a model, and a model can be talked into writing <script>.
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
_ALLOWED_TAGS = {
    "a", "p", "br", "hr", "em", "strong", "del", "code", "pre", "blockquote", "ul", "ol", "li",
    "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
_ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}}


def render_markdown(text: str) -> SafeString:
    """Markdown to HTML with raw HTML disabled, then sanitised; only this output is marked safe."""
    if not text.strip():
        return SafeString("")
    cleaned = nh3.clean(
        _MARKDOWN.render(text),
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return mark_safe(cleaned)  # noqa: S308 sanitised by nh3 just above


def _wants_highlight(request: HttpRequest) -> bool:
    return request.GET.get("highlight", "1") != "0"


@role_required("can_read")
@require_safe
def proposal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = proposal_get_for_page(user=request.user, proposal_id=pk)
    if request.GET.get("expired") == "1":
        # Back from the login an expired session's decision led to (reviews.roles).
        messages.warning(request, SESSION_EXPIRED)
    finding = proposal.finding
    run = proposal.solve_run
    revisions = proposal_revisions(proposal=proposal)
    rendered = proposal_diff(
        proposal=proposal,
        context_url=reverse("reviews:proposal_context", args=[proposal.pk]),
        highlight=_wants_highlight(request),
    )
    cost, usage_rows = proposal_model_cost(proposal=proposal)
    context = {
        "proposal": proposal,
        "finding": finding,
        "run": run,
        "active_run": finding_active_run(finding_id=finding.pk),
        "skill_version": proposal.skill_version,
        "rationale_html": render_markdown(proposal.rationale),
        "risks_html": render_markdown(proposal.risks),
        "savings": proposal_savings(proposal=proposal),
        "validation": proposal_badges(proposal=proposal),
        "sandbox": sandbox_notes(proposal.test_log, proposal.bench_log),
        "usage_rows": usage_rows,
        "cost_usd": cost,
        "trace": trace_entries(run.trace if run else []),
        "transcript": transcript_entries(run.transcript if run else []),
        "refusals": run.refusals if run and isinstance(run.refusals, list) else [],
        "revisions": revisions,
        "other_revisions": [r for r in revisions if r.pk != proposal.pk],
        "current_revision": next((r for r in revisions if r.is_current), None),
        "rendered": rendered,
        "threads": proposal_threads(user=request.user, proposal=proposal),
        "can_act": user_roles(request.user).can_act,
        "highlight": _wants_highlight(request),
    }
    return render(request, "reviews/proposal.html", context)


def _range_params(request: HttpRequest) -> tuple[int, int, int] | None:
    try:
        file_index = int(request.GET["file"])
        old_start = int(request.GET["from"])
        old_end = int(request.GET["to"])
    except (KeyError, ValueError):
        return None
    if file_index < 0 or old_start < 1 or old_end < old_start:
        return None
    return file_index, old_start, min(old_end, old_start + diffs.EXPAND_MAX_LINES - 1)


def _rows_response(request: HttpRequest, rows: list[diffs.Row], file_index: int) -> HttpResponse:
    response = render(
        request, "reviews/_diff_rows.html", {"rows_html": diffs.rows_html(rows, file_index)}
    )
    response["Cache-Control"] = "private, max-age=300"
    return response


@role_required("can_read")
@require_safe
def proposal_context(request: HttpRequest, pk: int) -> HttpResponse:
    """Unchanged lines of a file at the base commit, as table rows for the viewer's "expand"."""
    proposal = proposal_get_for_user(user=request.user, proposal_id=pk)
    params = _range_params(request)
    if params is None:
        return HttpResponseBadRequest("file, from and to must be integers, with 1 ≤ from ≤ to.")
    file_index, old_start, old_end = params
    rows = proposal_context_rows(
        proposal=proposal, file_index=file_index, old_start=old_start, old_end=old_end
    )
    return _rows_response(request, rows, file_index)


@role_required("can_read")
@require_safe
def proposal_interdiff_view(request: HttpRequest, pk: int, other_pk: int) -> HttpResponse:
    proposal = proposal_get_for_user(user=request.user, proposal_id=pk)
    other = proposal_other_revision(proposal=proposal, other_id=other_pk)
    result = proposal_interdiff(
        proposal=proposal,
        other=other,
        context_url=reverse("reviews:proposal_interdiff_context", args=[pk, other_pk]),
    )
    context = {
        "proposal": proposal,
        "finding": proposal.finding,
        "other": other,
        "interdiff": result,
        "rendered": result.rendered,
        "revisions": proposal_revisions(proposal=proposal),
    }
    return render(request, "reviews/interdiff.html", context)


@role_required("can_read")
@require_safe
def proposal_interdiff_context(request: HttpRequest, pk: int, other_pk: int) -> HttpResponse:
    proposal = proposal_get_for_user(user=request.user, proposal_id=pk)
    other = proposal_other_revision(proposal=proposal, other_id=other_pk)
    params = _range_params(request)
    if params is None:
        return HttpResponseBadRequest("file, from and to must be integers, with 1 ≤ from ≤ to.")
    file_index, old_start, old_end = params
    rows = proposal_interdiff_context_rows(
        proposal=proposal, other=other, file_index=file_index, old_start=old_start, old_end=old_end
    )
    return _rows_response(request, rows, file_index)


@role_required("can_read")
@require_safe
def proposal_interdiff_pick(request: HttpRequest, pk: int) -> HttpResponse:
    """The revision selector's form target: ?against=<id> → the interdiff page."""
    proposal = proposal_get_for_user(user=request.user, proposal_id=pk)
    try:
        other_id = int(request.GET.get("against", ""))
    except ValueError:
        return HttpResponseBadRequest("Choose a revision to compare with.")
    other = proposal_other_revision(proposal=proposal, other_id=other_id)
    return redirect("reviews:proposal_interdiff", pk=proposal.pk, other_pk=other.pk)


urlpatterns = [
    path("proposals/<int:pk>/", proposal_detail, name="proposal"),
    path("proposals/<int:pk>/context/", proposal_context, name="proposal_context"),
    path("proposals/<int:pk>/interdiff/", proposal_interdiff_pick, name="proposal_interdiff_pick"),
    path(
        "proposals/<int:pk>/interdiff/<int:other_pk>/",
        proposal_interdiff_view,
        name="proposal_interdiff",
    ),
    path(
        "proposals/<int:pk>/interdiff/<int:other_pk>/context/",
        proposal_interdiff_context,
        name="proposal_interdiff_context",
    ),
]
