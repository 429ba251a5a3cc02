"""Solving in the background: request, claim, run, store, sweep.

The database is the source of truth. A request creates a queued SolveRun (one active run per
finding, by constraint) and enqueues a thin task on commit. A worker claims the run with a
conditional UPDATE, runs the solver on a plain SolveContext and stores the result as a Proposal.
The sweeper re-enqueues what a lost broker message or a killed worker left behind, and the
attempt counter gives up on a run that kills its worker every time.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import time
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import F, Max, Q
from django.utils import timezone

from reviews.models import Finding, Proposal, Repository, SolveRun, Source
from reviews.services.audit import audit_record
from reviews.services.transitions import TransitionError, finding_transition, proposal_transition
from skills.gitio import is_work_tree
from skills.solver.types import (
    Candidate,
    Fleet,
    FunctionRef,
    RootCause,
    SkillSpec,
    SolveContext,
    ToolCallRecord,
)

logger = logging.getLogger(__name__)

BACKENDS = ("offline", "anthropic")
# A run's deadline is the task timeout plus this margin: django-q kills the task at the timeout,
# so a run still "running" after the margin has lost its worker.
DEADLINE_MARGIN_S = 5
TASK_PATH = "reviews.tasks.solve_run_task"
R = SolveRun.Status


class SolveSetupError(Exception):
    """The finding cannot be solved as registered (no repository, path gone, not git)."""


# --- helpers -------------------------------------------------------------------------------------


def bot_user():
    """The inactive account that authors the solver's proposals and status moves."""
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(
        username=settings.WATTSON_BOT_USERNAME,
        defaults={
            "is_active": False,
            "email": settings.WATTSON_BOT_EMAIL,
            "first_name": settings.WATTSON_BOT_NAME,
        },
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def queued_grace_s() -> int:
    return int(getattr(settings, "WATTSON_SOLVE_QUEUED_GRACE_S", 120))


def _actor(user: Any | None) -> Any | None:
    return user if user is not None and getattr(user, "is_authenticated", False) else None


@dataclass(frozen=True)
class BackendChoice:
    """Which backend a run uses, who chose it, and that in words for the page."""

    backend: str
    origin: str  # a SolveRun.BackendOrigin value
    note: str


def resolve_backend(*, finding: Finding, backend: str | None) -> BackendChoice:
    """The backend a new run of `finding` uses, by this precedence (first that names one):

    1. the explicit choice in the request ("Request fix", `manage.py solve --backend`);
    2. the finding's source (`Source.backend`, in the admin);
    3. the top-ranked applicable skill's `preferred_backend` — known only once the worker
       ranks the skills against the code, so a run that gets this far is recorded as
       "setting" and `skill_backend_preference` may change it when the run starts;
    4. settings.WATTSON_SOLVER_BACKEND.

    Whatever wins, "anthropic" without ANTHROPIC_API_KEY runs offline when the run starts
    (WATTSON_ANTHROPIC_FALLBACK), and the run records that (`_backend_available`).
    """
    if backend:
        if backend not in BACKENDS:
            raise ValueError(f"unknown solver backend {backend!r}: use offline or anthropic")
        return BackendChoice(backend, SolveRun.BackendOrigin.REQUEST, "by the fix request")
    source_backend = (
        Source.objects.filter(name=finding.source).values_list("backend", flat=True).first()
    )
    if source_backend in BACKENDS:
        return BackendChoice(
            source_backend,
            SolveRun.BackendOrigin.SOURCE,
            f"by source {finding.source}",
        )
    return BackendChoice(
        settings.WATTSON_SOLVER_BACKEND,
        SolveRun.BackendOrigin.SETTING,
        "by default (WATTSON_SOLVER_BACKEND)",
    )


def skill_backend_preference(context: SolveContext) -> tuple[str, str] | None:
    """(slug, backend) when the top-ranked applicable skill prefers a backend, else None.

    Ranks as the solvers do (trigger match × quality), reading the finding's functions from
    the registered checkout: the backend must be known before a scratch worktree exists.
    """
    from skills.gitio import GitError, commit_info
    from skills.selection import rank_skills
    from skills.solver.offline import locate_function, resolve_function

    if not any(spec.preferred_backend for spec in context.skills):
        return None  # the common case: nothing to rank for
    root = Path(context.repo_path)
    code: dict[str, str] = {}
    for ref in context.functions:
        resolved = resolve_function(root, ref)
        if resolved is None:
            continue
        path, qualname = resolved
        with contextlib.suppress(OSError):
            located = locate_function((root / path).read_text(errors="replace"), qualname)
            if located:
                code[ref.symbol] = located[2]
    root_cause = context.root_cause
    if context.kind == "regression" and root_cause and root_cause.commit:
        with contextlib.suppress(GitError, ValueError):
            code["root_cause_diff"] = commit_info(root, root_cause.commit).diff
    ranked, _not_applicable = rank_skills(context, code)
    if not ranked:
        return None
    top = ranked[0].skill
    if top.preferred_backend in BACKENDS:
        return top.slug, top.preferred_backend
    return None


def _backend_available(backend: str) -> str:
    """ "" when `backend` can run in this process, else why not."""
    if backend != "anthropic":
        return ""
    if not (os.environ.get("ANTHROPIC_API_KEY") or getattr(settings, "ANTHROPIC_API_KEY", "")):
        return "ANTHROPIC_API_KEY is not set"
    try:
        import skills.solver.anthropic_backend  # noqa: F401
    except ImportError as exc:
        return f"the anthropic backend is not installed ({exc})"
    return ""


def finding_repository(finding: Finding) -> Repository | None:
    return finding.repository or finding.service.repository


def _trace_entry(tool: str, summary: str, **arguments: Any) -> dict[str, Any]:
    return {
        "tool": tool,
        "arguments": arguments,
        "summary": summary,
        "duration_ms": 0.0,
        "error": "",
        "at": timezone.now().isoformat(),
    }


# --- request -------------------------------------------------------------------------------------


def solve_request(
    *,
    finding: Finding,
    actor: Any | None,
    backend: str | None = None,
    comment: str = "",
    enqueue: bool = True,
) -> SolveRun:
    """Queue a solve of `finding`, or join the run already active for it.

    Moves the finding to SOLVING, writes audit rows and enqueues the task once the transaction
    commits (so a worker never sees a run that is not there yet). `enqueue=False` is for a
    caller that runs the solve itself (`manage.py solve --wait`).
    """
    choice = resolve_backend(finding=finding, backend=backend)
    chosen = choice.backend
    actor = _actor(actor)
    with transaction.atomic():
        active = SolveRun.objects.filter(finding=finding, status__in=SolveRun.ACTIVE).first()
        if active is not None:
            audit_record(actor=actor, verb="solverun.join", target=active, data={"via": "request"})
            return active
        revision = (finding.proposals.aggregate(top=Max("revision"))["top"] or 0) + 1
        try:
            with transaction.atomic():
                run = SolveRun.objects.create(
                    finding=finding,
                    revision=revision,
                    backend=chosen,
                    backend_origin=choice.origin,
                    backend_note=choice.note[:300],
                    requested_by=actor,
                    reviewer_comment=comment,
                    deadline_at=timezone.now() + timedelta(seconds=queued_grace_s()),
                )
        except IntegrityError:
            # A concurrent request won the one-active-run constraint: join its run.
            return SolveRun.objects.get(finding=finding, status__in=SolveRun.ACTIVE)
        current = Finding.objects.filter(pk=finding.pk).values_list("status", flat=True).get()
        finding.status = current
        if current != Finding.Status.SOLVING:
            finding_transition(
                finding,
                Finding.Status.SOLVING,
                actor=actor,
                reason="fix requested",
                data={"run": run.pk, "backend": chosen},
            )
        audit_record(
            actor=actor,
            verb="solverun.status",
            target=run,
            new_state=R.QUEUED,
            data={
                "finding": finding.pk,
                "backend": chosen,
                "backend_origin": choice.origin,
                "revision": revision,
            },
        )
        run_id = run.pk
        if enqueue:
            transaction.on_commit(lambda: solve_run_enqueue(run_id=run_id))
    return run


def solve_run_enqueue(*, run_id: int) -> None:
    """Hand the run to the workers; a lost message is the sweeper's job, not an error here."""
    from django_q.tasks import async_task

    try:
        async_task(TASK_PATH, run_id, task_name=f"solve-run-{run_id}", group="solve")
    except Exception:
        # The broker being down must not undo the request: the run is queued in the database
        # and the sweeper enqueues it again once its grace period passes.
        logger.exception("could not enqueue solve run %s; the sweeper will retry", run_id)


# --- execute -------------------------------------------------------------------------------------


def _claim(run_id: int) -> int | None:
    """Claim a queued run (or a running one whose worker is gone); the new attempt number."""
    now = timezone.now()
    deadline = now + timedelta(seconds=settings.WATTSON_SOLVE_TIMEOUT_S + DEADLINE_MARGIN_S)
    claimable = Q(status=R.QUEUED) | Q(status=R.RUNNING, deadline_at__lt=now)
    updated = SolveRun.objects.filter(claimable, pk=run_id).update(
        status=R.RUNNING,
        attempts=F("attempts") + 1,
        started_at=now,
        deadline_at=deadline,
        finished_at=None,
    )
    if updated != 1:
        return None
    return SolveRun.objects.values_list("attempts", flat=True).get(pk=run_id)


def solve_run_execute(*, run_id: int) -> SolveRun | None:
    """Run one claimed attempt of a solve to the end; None when the run was not claimable.

    Safe to call twice, concurrently or after a crash: only the claimant of the latest attempt
    may finish the run, and a proposal revision is stored at most once.
    """
    attempt = _claim(run_id)
    if attempt is None:
        logger.info("solve run %s is not claimable (finished or owned by a live worker)", run_id)
        return None
    run = SolveRun.objects.select_related("finding", "finding__service", "requested_by").get(
        pk=run_id
    )
    prior_trace = list(run.trace or [])
    prior_trace.append(
        _trace_entry("attempt", f"attempt {attempt} started (pid {os.getpid()})", attempt=attempt)
    )
    SolveRun.objects.filter(pk=run_id, attempts=attempt).update(trace=prior_trace)
    audit_record(
        actor=None,
        verb="solverun.status",
        target=run,
        old_state=R.QUEUED,
        new_state=R.RUNNING,
        data={"attempt": attempt},
    )
    limit = settings.WATTSON_SOLVE_MAX_ATTEMPTS
    if attempt > limit:
        _finish_failed(
            run,
            attempt,
            prior_trace,
            f"gave up after {limit} attempts; the worker died each time — see trace",
        )
        return _reload(run_id)
    try:
        context = solve_context_build(run=run)
    except SolveSetupError as exc:
        _finish_failed(run, attempt, prior_trace, str(exc))
        return _reload(run_id)
    try:
        context, notes = _settle_backend(run, attempt, context)
        prior_trace = [*prior_trace, *notes]
        progress = _progress_writer(run_id, attempt, prior_trace)
        candidate = _run_backend(context, progress=progress)
    except Exception as exc:  # the solver's own failure is the run's result, not the worker's
        from skills.solver.offline import SolverError

        if isinstance(exc, SolverError):
            message = str(exc)
        else:
            logger.exception("solve run %s crashed", run_id)
            message = f"the solver crashed: {type(exc).__name__}: {exc}"
        # A backend that got partway (the anthropic agent) hands back what it spent and said.
        partial = getattr(exc, "partial", None)
        _finish_failed(run, attempt, prior_trace, message, partial=partial)
        return _reload(run_id)
    _store(run, attempt, prior_trace, candidate)
    return _reload(run_id)


def _reload(run_id: int) -> SolveRun:
    return SolveRun.objects.select_related("finding").get(pk=run_id)


def solve_context_build(*, run: SolveRun) -> SolveContext:
    """The plain context the solver sees; SolveSetupError when the repository is not usable."""
    finding = run.finding
    repository = finding_repository(finding)
    if repository is None:
        raise SolveSetupError(
            f"no repository is registered for service {finding.service.name}: register one "
            "with `manage.py add_repo NAME PATH --service "
            f"{finding.service.name}` and request the fix again"
        )
    if not os.path.isdir(repository.path):
        raise SolveSetupError(
            f"repository {repository.name}: path {repository.path} does not exist (moved or "
            "deleted?); update it with `manage.py add_repo`"
        )
    if not is_work_tree(repository.path):
        raise SolveSetupError(
            f"repository {repository.name}: {repository.path} is not a git work tree"
        )
    service = finding.service
    functions = tuple(
        FunctionRef(
            symbol=str(item.get("symbol", "")),
            file=item.get("file") or None,
            line=item.get("line"),
            cpu_share_pct=item.get("cpu_share_pct"),
        )
        for item in (finding.functions or [])
        if isinstance(item, dict) and item.get("symbol")
    )
    root_cause = None
    if finding.root_cause_commit:
        root_cause = RootCause(
            commit=finding.root_cause_commit,
            title=finding.root_cause_title,
            author=finding.root_cause_author,
            url=finding.root_cause_url,
        )
    previous_diff = ""
    if run.reviewer_comment:
        current = finding.proposals.filter(is_current=True).values_list("diff", flat=True).first()
        previous_diff = current or ""
    return SolveContext(
        finding_id=finding.pk,
        kind=finding.kind,
        title=finding.title,
        metric=finding.metric,
        magnitude_pct=finding.magnitude_pct,
        service=service.name,
        repo_path=repository.path,
        default_branch=repository.default_branch,
        functions=functions,
        fleet=Fleet(
            servers=service.fleet_servers,
            watts_per_server=service.watts_per_server,
            pue=service.pue,
            price_per_kwh=service.price_per_kwh,
        ),
        root_cause=root_cause,
        pattern=finding.pattern,
        evidence=finding.evidence or {},
        test_cmd=repository.test_cmd,
        bench_cmd=repository.bench_cmd,
        skills=skill_specs(),
        reviewer_comment=run.reviewer_comment,
        previous_diff=previous_diff,
        backend=run.backend,
    )


def skill_specs() -> tuple[SkillSpec, ...]:
    """Enabled skills at their current versions, with the review-statistics quality bound.

    The Wilson lower bound ranks a skill only once it has enough decisions: with one or two,
    the bound is low whatever they were (one approval gives 0.21), and would bury a skill
    reviewers liked below untried ones, which get the fixed prior.
    """
    from skills.models import Skill, SkillStats

    bounds = dict(
        SkillStats.objects.filter(version__isnull=True, wilson_lower__isnull=False)
        .annotate(decided=F("approved") + F("rejected"))
        .filter(decided__gte=settings.WATTSON_ATTENTION_MIN_DECISIONS)
        .values_list("skill_id", "wilson_lower")
    )
    specs = []
    for skill in Skill.objects.filter(enabled=True).prefetch_related("versions"):
        versions = sorted(skill.versions.all(), key=lambda v: v.number)
        version = versions[-1] if versions else None
        specs.append(
            SkillSpec(
                slug=skill.slug,
                name=skill.name,
                side=skill.side,
                description=skill.description,
                trigger=skill.trigger or {},
                instructions=skill.instructions,
                mitigation=skill.mitigation,
                codemod=skill.codemod,
                expected_recovery=skill.expected_recovery,
                version_id=version.pk if version else None,
                version_number=version.number if version else None,
                quality_lower_bound=bounds.get(skill.pk),
                needs_attention=skill.needs_attention,
                preferred_backend=skill.preferred_backend,
            )
        )
    return tuple(specs)


def _progress_writer(run_id: int, attempt: int, prior_trace: list[dict]):
    """Writes the trace so far onto the run as the solver works: the page shows it live."""
    steps: list[dict] = []

    def record(step: ToolCallRecord) -> None:
        steps.extend(_records([step]))
        SolveRun.objects.filter(pk=run_id, status=R.RUNNING, attempts=attempt).update(
            trace=[*prior_trace, *steps]
        )

    return record


def _settle_backend(
    run: SolveRun, attempt: int, context: SolveContext
) -> tuple[SolveContext, list[dict]]:
    """The backend this attempt runs with, recorded on the run; trace notes when it changed.

    A run left to the default takes its top-ranked skill's preference here; an "anthropic"
    choice that cannot run here (no key) runs offline, or fails the run when
    WATTSON_ANTHROPIC_FALLBACK=fail. The run then names the backend that actually ran.
    """
    backend, origin, note = run.backend, run.backend_origin, run.backend_note
    summaries: list[str] = []
    if origin == SolveRun.BackendOrigin.SETTING:
        preference = skill_backend_preference(context)
        if preference is not None and preference[1] != backend:
            slug, backend = preference
            origin = SolveRun.BackendOrigin.SKILL
            note = f"by skill {slug}, the top-ranked for this finding"
            summaries.append(f"{backend}: {note}")
    problem = _backend_available(backend)
    if problem:
        if getattr(settings, "WATTSON_ANTHROPIC_FALLBACK", "offline") != "offline":
            from skills.solver.offline import SolverError

            raise SolverError(f"the {backend} backend cannot run: {problem}")
        summaries.append(f"{backend} unavailable ({problem}); ran offline")
        note = f"{backend} {note or 'chosen'}, but {problem}: ran offline"
        backend = "offline"
    if not summaries:
        return context, []
    run.backend, run.backend_origin, run.backend_note = backend, origin, note[:300]
    SolveRun.objects.filter(pk=run.pk, attempts=attempt).update(
        backend=run.backend, backend_origin=origin, backend_note=run.backend_note
    )
    notes = [_trace_entry("backend", summary) for summary in summaries]
    return replace(context, backend=backend), notes


def _run_backend(context: SolveContext, *, progress=None) -> Candidate:
    """The candidate of the backend `_settle_backend` chose (context.backend)."""
    if context.backend == "anthropic":
        from skills.solver.anthropic_backend import solve as anthropic_solve

        return anthropic_solve(context, progress=progress)
    from skills.solver.offline import solve as offline_solve

    return offline_solve(context, progress=progress)


def _records(trace: list[ToolCallRecord | dict]) -> list[dict]:
    out = []
    for record in trace:
        if isinstance(record, dict):
            out.append(record)
        else:
            out.append(
                {
                    "tool": record.tool,
                    "arguments": record.arguments,
                    "summary": record.summary,
                    "duration_ms": round(record.duration_ms, 1),
                    "error": record.error,
                }
            )
    return out


def _finish_failed(
    run: SolveRun,
    attempt: int,
    trace: list[dict],
    message: str,
    *,
    partial: Candidate | None = None,
) -> None:
    extra: dict[str, Any] = {}
    if isinstance(partial, Candidate):
        trace = [*trace, *_records(partial.trace)]
        extra = {
            "usage": partial.usage,
            "transcript": partial.transcript,
            "model_name": partial.model_name,
            "refusals": partial.refusals,
        }
    with transaction.atomic():
        done = SolveRun.objects.filter(pk=run.pk, status=R.RUNNING, attempts=attempt).update(
            status=R.FAILED, finished_at=timezone.now(), error=message, trace=trace, **extra
        )
        if done != 1:
            return
        audit_record(
            actor=None,
            verb="solverun.status",
            target=run,
            old_state=R.RUNNING,
            new_state=R.FAILED,
            data={"error": message[:500], "attempt": attempt},
        )
        _move_finding(run.finding, Finding.Status.FAILED, reason=message[:500])


def _move_finding(finding: Finding, new: str, *, reason: str) -> None:
    finding.refresh_from_db(fields=["status"])
    if finding.status == new:
        return
    try:
        finding_transition(finding, new, actor=bot_user(), reason=reason)
    except TransitionError as exc:
        # Someone closed or re-opened the finding while the solver ran; their move stands.
        logger.info("solve result not applied to finding %s: %s", finding.pk, exc)


def _store(run: SolveRun, attempt: int, trace: list[dict], candidate: Candidate) -> None:
    """Finish the run with the candidate; exactly one current proposal per finding revision."""
    full_trace = [*trace, *_records(candidate.trace)]
    now = timezone.now()
    if candidate.outcome == "no_fix":
        status, finding_status = R.NO_FIX, Finding.Status.NO_FIX
    else:
        status, finding_status = R.SUCCEEDED, Finding.Status.IN_REVIEW
    with transaction.atomic():
        done = SolveRun.objects.filter(pk=run.pk, status=R.RUNNING, attempts=attempt).update(
            status=status,
            finished_at=now,
            trace=full_trace,
            refusals=candidate.refusals,
            usage=candidate.usage,
            transcript=candidate.transcript,
            model_name=candidate.model_name,
            error=candidate.no_fix_reason if status == R.NO_FIX else "",
        )
        if done != 1:
            # A later attempt owns the run now (this worker outlived its deadline).
            logger.info("solve run %s attempt %s lost its claim; result dropped", run.pk, attempt)
            return
        audit_record(
            actor=None,
            verb="solverun.status",
            target=run,
            old_state=R.RUNNING,
            new_state=status,
            data={"attempt": attempt, "skill": candidate.skill_slug},
        )
        if status == R.SUCCEEDED:
            _proposal_store(run, candidate)
        _move_finding(
            run.finding,
            finding_status,
            reason=candidate.no_fix_reason or f"proposal by {candidate.skill_slug}",
        )


def _proposal_store(run: SolveRun, candidate: Candidate) -> Proposal:
    from skills.models import SkillVersion

    finding = run.finding
    existing = Proposal.objects.filter(finding=finding, revision=run.revision).first()
    if existing is not None:
        return existing  # an earlier attempt of this revision already stored it
    bot = bot_user()
    for previous in Proposal.objects.filter(finding=finding, is_current=True):
        Proposal.objects.filter(pk=previous.pk).update(is_current=False)
        if Proposal.Status.SUPERSEDED in _proposal_moves(previous.status):
            proposal_transition(
                previous,
                Proposal.Status.SUPERSEDED,
                actor=bot,
                reason=f"revision {run.revision} proposed",
            )
    validation = candidate.validation
    version_id = candidate.skill_version_id
    if version_id and not SkillVersion.objects.filter(pk=version_id).exists():
        version_id = None
    usage = candidate.usage or {}
    try:
        with transaction.atomic():
            proposal = Proposal.objects.create(
                finding=finding,
                revision=run.revision,
                solve_run=run,
                is_current=True,
                skill_version_id=version_id,
                skill_slug=candidate.skill_slug,
                backend=candidate.backend,
                model_name=candidate.model_name,
                is_analysis=candidate.outcome == "analysis",
                diff=candidate.diff,
                diff_sha256=hashlib.sha256(candidate.diff.encode()).hexdigest()
                if candidate.diff
                else "",
                base_commit=validation.base_commit if validation else "",
                rationale=candidate.rationale,
                risks=candidate.risks,
                expected_recovery=candidate.expected_recovery,
                measured_recovery=validation.measured_recovery if validation else None,
                estimated_watts=candidate.estimated_watts,
                measured_watts=candidate.measured_watts,
                applies=bool(validation and validation.applies),
                apply_log=validation.apply_log if validation else "",
                tests_passed=validation.tests_passed if validation else None,
                test_log=validation.test_log if validation else "",
                bench_before_s=validation.bench_before_s if validation else None,
                bench_after_s=validation.bench_after_s if validation else None,
                bench_parent_s=validation.bench_parent_s if validation else None,
                bench_log=validation.bench_log if validation else "",
                usage=usage,
                cost_usd=usage.get("cost_usd"),
                requested_by=run.requested_by,
            )
    except IntegrityError:
        # proposal_unique_revision / proposal_one_current_per_finding: a concurrent attempt of
        # this run stored it first. Theirs is the one.
        return Proposal.objects.get(finding=finding, revision=run.revision)
    audit_record(
        actor=bot,
        verb="proposal.create",
        target=proposal,
        new_state=proposal.status,
        data={"run": run.pk, "revision": run.revision, "skill": candidate.skill_slug},
    )
    # A new revision dismisses approvals of the earlier ones (GitHub's stale-approval rule).
    from reviews.services.decisions import decisions_dismiss_superseded

    decisions_dismiss_superseded(finding=finding, revision=run.revision, actor=bot)
    return proposal


def _proposal_moves(status: str) -> set[str]:
    from reviews.services.transitions import PROPOSAL_TRANSITIONS

    return PROPOSAL_TRANSITIONS.get(status, set())


# --- sweeper -------------------------------------------------------------------------------------


def sweep_solve_runs() -> dict[str, list[int]]:
    """Re-enqueue runs whose message was lost (queued too long) or whose worker died.

    A running run past its deadline goes back to queued (its attempt already counted), so the
    next worker claims it the ordinary way and the attempt cap still applies.
    """
    now = timezone.now()
    grace = timedelta(seconds=queued_grace_s())
    requeued: list[int] = []
    recovered: list[int] = []
    stale_queued = SolveRun.objects.filter(
        Q(deadline_at__lt=now) | Q(deadline_at__isnull=True), status=R.QUEUED
    )
    for run in stale_queued.only("pk", "deadline_at", "trace"):
        entry = _trace_entry("sweeper", "re-enqueued: queued past its grace period")
        updated = SolveRun.objects.filter(
            pk=run.pk, status=R.QUEUED, deadline_at=run.deadline_at
        ).update(deadline_at=now + grace, trace=[*(run.trace or []), entry])
        if updated == 1:
            requeued.append(run.pk)
    lost = SolveRun.objects.filter(status=R.RUNNING, deadline_at__lt=now)
    for run in lost.only("pk", "deadline_at", "trace", "attempts"):
        entry = _trace_entry(
            "sweeper",
            f"attempt {run.attempts} passed its deadline: the worker is gone; re-enqueued",
            attempt=run.attempts,
        )
        updated = SolveRun.objects.filter(
            pk=run.pk, status=R.RUNNING, deadline_at=run.deadline_at
        ).update(status=R.QUEUED, deadline_at=now + grace, trace=[*(run.trace or []), entry])
        if updated == 1:
            audit_record(
                actor=None,
                verb="solverun.status",
                target=run,
                old_state=R.RUNNING,
                new_state=R.QUEUED,
                data={"reason": "worker lost (past deadline)", "attempt": run.attempts},
            )
            recovered.append(run.pk)
    for run_id in [*requeued, *recovered]:
        solve_run_enqueue(run_id=run_id)
    _remove_orphan_worktrees()
    if requeued or recovered:
        logger.info("sweeper re-enqueued queued %s and lost %s", requeued, recovered)
    return {"requeued": requeued, "recovered": recovered}


def _remove_orphan_worktrees() -> None:
    """Scratch worktrees a killed worker could not remove (git prunes its own metadata later)."""
    work_dir = Path(settings.WATTSON_WORK_DIR)
    if not work_dir.is_dir():
        return
    # Older than any live solve can be: twice the deadline.
    cutoff = time.time() - 2 * (settings.WATTSON_SOLVE_TIMEOUT_S + DEADLINE_MARGIN_S)
    # solve-*: the solver's validation worktrees; fix-*: approvals' fix-branch worktrees.
    for path in (*work_dir.glob("solve-*"), *work_dir.glob("fix-*")):
        with contextlib.suppress(OSError):
            if path.is_dir() and path.stat().st_mtime < cutoff:
                shutil.rmtree(path, ignore_errors=True)


# --- auto-solve on ingest ------------------------------------------------------------------------


def auto_solve_findings(finding_ids: list[int]) -> list[int]:
    """POST_INGEST_HOOKS entry: queue a solve for new findings whose source allows it."""
    if not settings.WATTSON_AUTO_SOLVE:
        return []
    queued = []
    findings = Finding.objects.filter(pk__in=finding_ids, status=Finding.Status.NEW)
    sources = {s.name: s for s in Source.objects.all()}
    for finding in findings.select_related("service", "repository", "service__repository"):
        source = sources.get(finding.source)
        if source is not None and not source.auto_solve:
            continue
        if finding_repository(finding) is None:
            # Nothing to solve against yet; a person can request the fix once one is registered.
            continue
        run = solve_request(finding=finding, actor=None, backend=None)
        queued.append(run.pk)
    return queued
