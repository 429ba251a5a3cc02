"""Reads for the review queue and the finding page; each one authorises first."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.db.models import (
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    TextField,
    prefetch_related_objects,
)
from django.db.models.functions import Cast
from django.http import Http404

from reviews.models import AuditEvent, Finding, Proposal, Repository, Service, SolveRun, Source
from reviews.roles import user_roles
from reviews.selectors.repositories import finding_repository, repository_read_path
from skills import gitio

S = Finding.Status
# "Open" is what still needs someone: not yet decided and not closed.
OPEN_STATUSES = (S.NEW, S.SOLVING, S.IN_REVIEW, S.NO_FIX, S.FAILED)
# sort key (as it appears in the URL) → (label, ORDER BY). Every ordering ends on a unique
# column so pages never overlap or skip rows.
QUEUE_SORTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "newest": ("Newest first", ("-created_at", "-id")),
    "oldest": ("Oldest first", ("created_at", "id")),
    "watts": ("Most watts", ("-estimated_watts", "-id")),
    "magnitude": ("Largest magnitude", ("-magnitude_pct", "-id")),
    # status_rank is Finding.STATUS_ORDER, computed by the database (see the model).
    "status": ("Status (needs review first)", ("status_rank", "-created_at", "-id")),
}
DEFAULT_SORT = "newest"

# The queue page never shows the big JSON columns; leaving them out keeps a 100-row page light
# (the API shows them, so only the page's rows defer them).
_QUEUE_DEFERRED = ("evidence", "functions", "payload_sha256")


@dataclass(frozen=True)
class QueueFilters:
    """Validated queue filters; empty values mean "any"."""

    kind: str = ""
    status: str = ""  # a Finding.Status value or "open"
    service_id: int | None = None
    service_name: str = ""  # the API names services; the page picks them by id
    source: str = ""
    assigned_to_me: bool = False
    sort: str = DEFAULT_SORT
    # Words found in the title, a function, the service's name or the root-cause commit.
    search: str = ""

    @property
    def is_filtered(self) -> bool:
        return bool(
            self.search
            or self.kind
            or self.status
            or self.service_id
            or self.service_name
            or self.source
            or self.assigned_to_me
        )


def findings_readable(*, user) -> QuerySet[Finding]:
    """Every finding `user` may read, with service, assignee and repository; 403 for outsiders.

    A Wattson role reads them all. A detector's ingest account reads back only the findings of
    the sources it is bound to (reviews.services.sources), never the rest of the fleet's.
    """
    roles = user_roles(user)
    queryset = Finding.objects.select_related("service", "assignee", "repository")
    if roles.can_read:
        return queryset
    if roles.ingest:
        return queryset.filter(source__in=Source.objects.filter(accounts=user).values("name"))
    raise PermissionDenied("Your account has no Wattson role that allows reading findings.")


def findings_queue(*, user, filters: QueueFilters) -> QuerySet[Finding]:
    """Findings for the review queue and the API list, filtered and sorted, newest first unless
    asked otherwise; raises PermissionDenied for outsiders."""
    queryset = findings_readable(user=user)
    if filters.kind:
        queryset = queryset.filter(kind=filters.kind)
    if filters.status == "open":
        queryset = queryset.filter(status__in=OPEN_STATUSES)
    elif filters.status:
        queryset = queryset.filter(status=filters.status)
    if filters.service_id:
        queryset = queryset.filter(service_id=filters.service_id)
    if filters.service_name:
        queryset = queryset.filter(service__name=filters.service_name)
    if filters.source:
        queryset = queryset.filter(source=filters.source)
    if filters.assigned_to_me:
        queryset = queryset.filter(assignee=user)
    if filters.search:
        queryset = _search(queryset, filters.search)
    _label, ordering = QUEUE_SORTS.get(filters.sort, QUEUE_SORTS[DEFAULT_SORT])
    return queryset.order_by(*ordering)


def _search(queryset: QuerySet[Finding], text: str) -> QuerySet[Finding]:
    """Findings matching every word of `text`, case-insensitively, in the title, a function
    (the JSON list's text), the service's name or the root-cause commit (a prefix of a sha
    matches). Works the same on SQLite and PostgreSQL; still the queue's one query for ids."""
    # The service as a subquery, not a join: the ids query stays on the findings table.
    queryset = queryset.alias(functions_text=Cast("functions", TextField()))
    for word in text.split()[:8]:
        services = Service.objects.filter(name__icontains=word).values("pk")
        queryset = queryset.filter(
            Q(title__icontains=word)
            | Q(functions_text__icontains=word)
            | Q(service_id__in=services)
            | Q(root_cause_commit__istartswith=word)
        )
    return queryset


# Past this many matches the queue says "10,000+": counting every row of a broad filter over a
# big table costs more than the number is worth, and nobody pages that far (they filter).
QUEUE_COUNT_CAP = 10_000


class QueuePaginator(Paginator):
    """Pages over a queryset of ids and counts at most QUEUE_COUNT_CAP of them."""

    @cached_property
    def matches(self) -> int:
        # Ordering is dropped: the count needs no sort, only the filters.
        return self.object_list.order_by()[: QUEUE_COUNT_CAP + 1].count()

    @cached_property
    def count(self) -> int:
        return min(self.matches, QUEUE_COUNT_CAP)

    @property
    def is_capped(self) -> bool:
        return self.matches > QUEUE_COUNT_CAP


def findings_queue_page(*, queryset: QuerySet[Finding], number, per_page: int) -> Page:
    """One page of the queue in three queries whatever its size: capped count, ids, rows.

    The sorted, filtered query selects ids only, so it runs on the covering index without
    joins (a join lets SQLite's planner pick a plan that sorts the whole table); the page's
    rows are then fetched by primary key with their service, assignee and repository.
    """
    paginator = QueuePaginator(queryset.values_list("pk", flat=True), per_page)
    page = paginator.get_page(number)
    ids = list(page.object_list)
    # Which backend made each finding's current proposal: a subquery inside the rows query
    # (one index probe per row on proposal_one_current_per_finding), not a query per row.
    current_backend = Proposal.objects.filter(finding=OuterRef("pk"), is_current=True).values(
        "backend"
    )[:1]
    rows = {
        finding.pk: finding
        for finding in queryset.order_by()
        .defer(*_QUEUE_DEFERRED)
        .filter(pk__in=ids)
        .annotate(current_backend=Subquery(current_backend))
    }
    page.object_list = [rows[pk] for pk in ids if pk in rows]
    return page


def finding_sources() -> list[str]:
    """Detector names for the source filter: ingest registers each one as a Source row.

    (A DISTINCT over the findings table would cost a scan of 100k rows on PostgreSQL.)
    """
    return list(Source.objects.order_by("name").values_list("name", flat=True)[:200])


def finding_services() -> list[tuple[int, str]]:
    """(id, name) of every service, for the queue's service filter."""
    return list(Service.objects.order_by("name").values_list("id", "name"))


def findings_exist(*, user) -> bool:
    """Whether there is any finding `user` may read: the queue's "nothing yet" vs "no match"."""
    return findings_readable(user=user).exists()


def finding_get_for_user(*, user, finding_id: int) -> Finding:
    """One finding with its service, repository and assignee; 403 for outsiders, 404 if absent
    (or not among the findings an ingest account may read)."""
    finding = (
        findings_readable(user=user)
        .select_related("service__repository")
        .filter(pk=finding_id)
        .first()
    )
    if finding is None:
        raise Http404("No such finding.")
    return finding


@dataclass(frozen=True)
class FindingActivity:
    proposals: list[Proposal]
    solve_runs: list[SolveRun]
    audit_events: list[AuditEvent]


def finding_activity(*, finding: Finding) -> FindingActivity:
    """Proposals, solve runs and audit events of a finding the caller already may read."""
    # Prefetched onto the finding, so the solve panel's finding.solve_runs.first and
    # finding.proposals.all read these lists instead of querying again.
    prefetch_related_objects(
        [finding],
        Prefetch(
            "proposals",
            Proposal.objects.select_related("skill_version", "skill_version__skill").order_by(
                "-revision"
            ),
        ),
        Prefetch(
            "solve_runs",
            SolveRun.objects.select_related("requested_by").order_by("-queued_at", "-id"),
        ),
    )
    proposals = list(finding.proposals.all())
    solve_runs = list(finding.solve_runs.all())
    # The finding's history includes what happened to its proposals and runs.
    targets = Q(target_type="finding", target_id=str(finding.pk))
    if proposals:
        targets |= Q(target_type="proposal", target_id__in=[str(p.pk) for p in proposals])
    if solve_runs:
        targets |= Q(target_type="solverun", target_id__in=[str(r.pk) for r in solve_runs])
    audit_events = list(
        AuditEvent.objects.filter(targets)
        .select_related("actor")
        .order_by("-created_at", "-id")[:200]
    )
    return FindingActivity(proposals, solve_runs, audit_events)


_SHA_RE = re.compile(r"^[0-9a-fA-F]{7,64}$")


@dataclass(frozen=True)
class DiffLine:
    kind: str  # file, meta, hunk, add, del, ctx, note
    text: str


@dataclass(frozen=True)
class RootCause:
    """The root-cause commit as read from git, or why it could not be read."""

    commit: str
    repository: Repository | None
    info: gitio.CommitInfo | None = None
    problem: str = ""
    diff_lines: list[DiffLine] = field(default_factory=list)


_META_PREFIXES = ("diff --git", "index ", "new file", "deleted file", "similarity", "rename")


def _classify(line: str) -> str:
    if line.startswith(("+++ ", "--- ")):
        return "file"
    if line.startswith(_META_PREFIXES):
        return "meta"
    if line.startswith("@@"):
        return "hunk"
    if line.startswith("+"):
        return "add"
    if line.startswith("-"):
        return "del"
    if line.startswith("\\") or line == "[diff truncated]":
        return "note"
    return "ctx"


def finding_root_cause(*, finding: Finding) -> RootCause | None:
    """Read the root-cause commit from the registered repository; None when there is none."""
    commit = finding.root_cause_commit.strip()
    if not commit:
        return None
    repository = finding_repository(finding)
    if not _SHA_RE.match(commit):
        # Never hand git something that could be read as an option.
        return RootCause(commit, repository, problem="This is not a commit id git can look up.")
    if repository is None:
        return RootCause(
            commit,
            None,
            problem="No repository is registered for this finding or its service, so the "
            "commit cannot be shown. Register one with `manage.py add_repo`.",
        )
    path, problem = repository_read_path(repository, commits=(commit,))
    if problem:
        return RootCause(commit, repository, problem=problem)
    if not gitio.is_work_tree(path):
        return RootCause(
            commit,
            repository,
            problem=f"The repository path {path} is not a git work tree on this server.",
        )
    try:
        info = gitio.commit_info(path, commit)
    except (gitio.GitError, ValueError):
        return RootCause(
            commit,
            repository,
            problem=f"Commit {commit[:12]} is not in {repository.name} (it may not have been "
            "fetched yet).",
        )
    lines = [DiffLine(_classify(line), line) for line in info.diff.splitlines()]
    return RootCause(commit, repository, info=info, diff_lines=lines)
