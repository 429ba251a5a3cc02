"""A fake solver for decision-record tests: the candidate is the test's input, not a patch.

`resolve` runs the real request → claim → store path of a solve run, with the candidate a test
chose standing in for the backend's answer, so re-solves take milliseconds.
"""

from __future__ import annotations

from pathlib import Path

from reviews.models import Finding, SolveRun
from reviews.services.solve_runs import solve_run_claim
from reviews.services.solving import solve_request, solve_run_store
from skills.models import Skill
from skills.solver.types import Candidate, Validation
from tests.reviews.gate_helpers import FIXED, ORIGINAL, diff_for, git

# Distinct fixes of total(), each applying to the repository's HEAD.
VARIANTS = (
    FIXED,
    FIXED.replace("return sum(values)", "return sum(values, 0)"),
    FIXED.replace("return sum(values)", "return sum(iter(values))"),
)


def fix_diff(repo: Path, variant: int = 0) -> str:
    return diff_for(repo, "invoice/calc.py", VARIANTS[variant])


def fix(
    repo: Path,
    variant: int = 0,
    *,
    skill: str = "memoize",
    passes: bool = True,
    watts=100.0,
    also: tuple[str, ...] = (),
):
    """A fix by `skill`; `also` are skills composed into the same patch (issue #12 item 5)."""
    version = Skill.objects.get(slug=skill).current_version
    composed = [Skill.objects.get(slug=slug).current_version for slug in also]
    return Candidate(
        outcome="proposal",
        skill_slug=skill,
        skill_version_id=version.pk if version else None,
        diff=fix_diff(repo, variant),
        rationale="Use sum()\n\nFaster.\n",
        estimated_watts=watts + variant,
        validation=Validation(
            applies=True, tests_passed=passes, base_commit=git(repo, "rev-parse", "HEAD")
        ),
        also_skills=[
            {"slug": slug, "version_id": other.pk if other else None}
            for slug, other in zip(also, composed, strict=True)
        ],
    )


def analysis(*, skill: str = "memoize", watts: float = 55.0) -> Candidate:
    version = Skill.objects.get(slug=skill).current_version
    return Candidate(
        outcome="analysis",
        skill_slug=skill,
        skill_version_id=version.pk if version else None,
        rationale="Lock contention in total()\n\nNo code change.\n",
        estimated_watts=watts,
    )


def no_fix(reason: str = "no skill applies") -> Candidate:
    return Candidate(outcome="no_fix", no_fix_reason=reason)


def resolve(
    finding: Finding, candidate: Candidate, *, actor=None, comment: str = "", confirm=False
) -> SolveRun:
    """Request a solve of `finding` (or join the active one) and finish it with `candidate`."""
    run = solve_request(
        finding=finding, actor=actor, comment=comment, enqueue=False, confirm_redecide=confirm
    )
    claimed = solve_run_claim(run_id=run.pk)
    assert claimed is not None
    solve_run_store(claimed, claimed.attempts, [], candidate)
    claimed.refresh_from_db()
    return claimed


__all__ = ["ORIGINAL", "analysis", "fix", "fix_diff", "no_fix", "resolve"]
