"""Which solver backend a run uses, and running it.

The choice is made in two steps: when the run is requested (`resolve_backend`: the request, the
finding's source, or the setting) and when its attempt starts (`settle_backend`: the top-ranked
skill's preference, and the offline fallback when the Anthropic backend cannot run here).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, replace
from pathlib import Path

from django.conf import settings

from reviews.models import Finding, SolveRun, Source
from reviews.services.solve_runs import trace_entry
from skills.gitio import GitError, commit_info
from skills.selection import rank_skills
from skills.solver import offline
from skills.solver.offline import SolverError, locate_function, resolve_function
from skills.solver.types import Candidate, SolveContext

BACKENDS = ("offline", "anthropic")


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
    (WATTSON_ANTHROPIC_FALLBACK), and the run records that (`backend_available`).
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


def backend_available(backend: str) -> str:
    """ "" when `backend` can run in this process, else why not."""
    if backend != "anthropic":
        return ""
    if not (os.environ.get("ANTHROPIC_API_KEY") or getattr(settings, "ANTHROPIC_API_KEY", "")):
        return "ANTHROPIC_API_KEY is not set"
    try:
        # Imported here on purpose: the anthropic SDK is an optional, heavy dependency, and an
        # offline-only installation must still load this module.
        import skills.solver.anthropic_backend  # noqa: F401
    except ImportError as exc:
        return f"the anthropic backend is not installed ({exc})"
    return ""


def settle_backend(
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
    problem = backend_available(backend)
    if problem:
        if getattr(settings, "WATTSON_ANTHROPIC_FALLBACK", "offline") != "offline":
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
    notes = [trace_entry("backend", summary) for summary in summaries]
    return replace(context, backend=backend), notes


def run_backend(context: SolveContext, *, progress=None) -> Candidate:
    """The candidate of the backend `settle_backend` chose (context.backend)."""
    if context.backend == "anthropic":
        # The optional anthropic SDK loads only when a run uses it (see backend_available).
        from skills.solver.anthropic_backend import solve as anthropic_solve

        return anthropic_solve(context, progress=progress)
    candidate = offline.solve(context, progress=progress)
    if context.reviewer_comment and candidate.outcome != "proposal":
        candidate.no_fix_reason = offline_comment_note(context, candidate)
    return candidate


def offline_comment_note(context: SolveContext, candidate: Candidate) -> str:
    """Why the offline solver could not honour a reviewer's comment, and what can."""
    tried = [r["skill"] for r in candidate.refusals if r.get("skill")]
    others = [s.slug for s in context.skills if s.codemod and s.slug not in tried]
    options = "request the fix with the Anthropic backend, which reads the comment"
    if others:
        options += f", or enable another skill ({', '.join(others[:5])})"
    else:
        options += ", or enable another skill in the admin"
    found = candidate.no_fix_reason or (
        f"its only other result is an analysis by {candidate.skill_slug}"
        if candidate.outcome == "analysis"
        else "it found nothing else"
    )
    return (
        "the offline solver cannot act on a free-text comment: it can only re-run its skills, "
        f"and none gave a different change that passes validation ({found}). Options: {options}"
    )
