"""The proposal lifecycle: which solver result becomes a revision, and what it replaces.

Decisions are facts:
- a revision a person approved, rejected or acknowledged keeps its status when a newer revision
  arrives (it only stops being current), and an approval or rejection stays counted in the
  reports (Proposal.in_reports) until a newer approval or rejection replaces it;
- a working fix (a validated diff in review, with changes requested, or approved) is replaced
  only by another validated fix: an analysis or a failing change is not stored;
- a result with the same diff as an earlier revision makes no revision at all.
When a run ends without a revision, the revision that stands is handed back (`revision_reinstate`)
and the run says why ("could not revise: …"). Every status move goes through proposal_transition.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import IntegrityError, transaction

from reviews.models import Finding, Proposal, ProposalSkill, SolveRun
from reviews.selectors.repositories import finding_repository
from reviews.services.audit import audit_record
from reviews.services.bot import bot_user
from reviews.services.comments import comments_carry_over
from reviews.services.transitions import TransitionError, proposal_transition
from skills.gitio import GitError, rev_parse
from skills.hashing import diff_sha256
from skills.models import SkillVersion
from skills.solver.types import Candidate

log = logging.getLogger(__name__)

P = Proposal.Status
# A person's verdict on these stands: a newer revision never changes their status.
DECIDED = (P.APPROVED, P.REJECTED, P.ACKNOWLEDGED, P.SHIPPED, P.ABANDONED)
# Decided statuses the reports keep counting while a later revision waits.
COUNTED_DECIDED = (P.APPROVED, P.REJECTED, P.SHIPPED, P.ABANDONED)
# Statuses whose validated diff is a working fix a newer result must not throw away.
_WORKING = (P.PENDING, P.CHANGES_REQUESTED, P.APPROVED, P.SHIPPED)
# What the finding is while the revision that stands is in each status.
_FINDING_STATUS = {
    P.PENDING: Finding.Status.IN_REVIEW,
    P.CHANGES_REQUESTED: Finding.Status.IN_REVIEW,
    P.APPROVED: Finding.Status.FIXED,
    P.REJECTED: Finding.Status.REJECTED,
    P.ACKNOWLEDGED: Finding.Status.CLOSED,
    P.SHIPPED: Finding.Status.FIXED,
    # Its pull request was closed unmerged (reviews.services.code_hosts).
    P.ABANDONED: Finding.Status.CLOSED,
}
_STANDS = {
    P.PENDING: "stays in review",
    P.CHANGES_REQUESTED: "stays in review",
    P.APPROVED: "and its approval stand",
    P.REJECTED: "and its rejection stand",
    P.ACKNOWLEDGED: "and its acknowledgement stand",
    P.SHIPPED: "and its merged pull request stand",
    P.ABANDONED: "and its closed pull request stand",
}


def _is_validated_fix(candidate: Candidate) -> bool:
    validation = candidate.validation
    return bool(
        candidate.outcome == "proposal" and candidate.diff and validation and validation.passed
    )


def revision_refusal(*, finding: Finding, revision: int, candidate: Candidate) -> str:
    """Why the solver's result must not become revision `revision` of `finding`; "" if it may."""
    if candidate.outcome == "no_fix":
        return candidate.no_fix_reason or "the solver found no fix"
    if Proposal.objects.filter(finding=finding, revision=revision).exists():
        return ""  # an earlier attempt of this run stored it: storing is idempotent
    if candidate.diff:
        same = (
            Proposal.objects.filter(
                finding=finding, revision__lt=revision, diff_sha256=diff_sha256(candidate.diff)
            )
            .order_by("-revision")
            .first()
        )
        if same is not None:
            return (
                f"the solver proposed the same change as revision {same.revision} "
                f"({same.get_status_display().lower()}), so no new revision was made"
            )
    working = Proposal.objects.filter(finding=finding, is_current=True, status__in=_WORKING)
    working = working.exclude(diff="").first()
    if working is not None and working.validation_passed and not _is_validated_fix(candidate):
        what = (
            "an analysis without a code change"
            if candidate.outcome == "analysis"
            else "a change that did not pass validation"
        )
        note = f" ({candidate.no_fix_reason})" if candidate.no_fix_reason else ""
        return (
            f"the solver's best result (skill {candidate.skill_slug or 'none'}) is {what}"
            f"{note}, and it does not replace revision {working.revision}, a working fix"
        )
    return ""


def revision_standing(finding: Finding) -> Proposal | None:
    """The current revision a run without a result hands the finding back to, if any."""
    return (
        Proposal.objects.filter(finding=finding, is_current=True, status__in=list(_FINDING_STATUS))
        .order_by("-revision")
        .first()
    )


def could_not_revise(standing: Proposal, reason: str) -> str:
    """The run's message when it ends without a revision while `standing` stands."""
    return f"could not revise: {reason}. Revision {standing.revision} {_STANDS[standing.status]}."


def revision_reinstate(standing: Proposal, *, reason: str) -> str:
    """Put `standing` back in review if changes were requested; the finding status it implies."""
    if standing.status == P.CHANGES_REQUESTED:
        try:
            proposal_transition(
                standing,
                P.PENDING,
                actor=bot_user(),
                reason=reason[:500],
                expected=P.CHANGES_REQUESTED,
            )
        except TransitionError:
            standing.refresh_from_db(fields=["status"])
    return _FINDING_STATUS.get(standing.status, Finding.Status.IN_REVIEW)


def proposal_store_revision(*, run: SolveRun, candidate: Candidate) -> Proposal:
    """Store the run's candidate as the finding's current proposal, revision `run.revision`.

    Callers check `revision_refusal` first. Idempotent: a revision is stored once, whichever
    attempt of the run gets here first.
    """
    finding = run.finding
    existing = Proposal.objects.filter(finding=finding, revision=run.revision).first()
    if existing is not None:
        return existing  # an earlier attempt of this revision already stored it
    bot = bot_user()
    for previous in Proposal.objects.filter(finding=finding, is_current=True):
        proposal_replace(previous, revision=run.revision, actor=bot)
    fields = _proposal_fields(run, candidate)
    if Proposal.objects.filter(finding=finding, in_reports=True).exists():
        # An earlier approval or rejection stays counted until a person decides this one.
        fields["in_reports"] = False
    try:
        with transaction.atomic():
            proposal = Proposal.objects.create(**fields)
            _record_composed_skills(proposal, candidate)
    except IntegrityError:
        # proposal_unique_revision / proposal_one_current_per_finding: a concurrent attempt of
        # this run stored it first. Theirs is the one.
        return Proposal.objects.get(finding=finding, revision=run.revision)
    audit_record(
        actor=bot,
        verb="proposal.create",
        target=proposal,
        new_state=proposal.status,
        data={
            "run": run.pk,
            "revision": run.revision,
            "skill": candidate.skill_slug,
            "composed_skills": [other.get("slug") for other in candidate.also_skills],
        },
    )
    comments_carry_over(new=proposal, actor=bot)
    return proposal


def _record_composed_skills(proposal: Proposal, candidate: Candidate) -> None:
    """A row per other skill composed into the patch, with the version it ran at (a version
    since deleted is kept as its slug only), so a decision counts for each of them."""
    known = set(
        SkillVersion.objects.filter(
            pk__in=[other.get("version_id") for other in candidate.also_skills]
        ).values_list("pk", flat=True)
    )
    ProposalSkill.objects.bulk_create(
        ProposalSkill(
            proposal=proposal,
            position=position,
            skill_slug=str(other.get("slug") or "")[:80],
            skill_version_id=other.get("version_id") if other.get("version_id") in known else None,
        )
        for position, other in enumerate(candidate.also_skills, start=1)
    )


def _base_commit(run: SolveRun, candidate: Candidate) -> str:
    """The commit the revision was made on: validation's, else (an analysis) the branch head."""
    if candidate.validation and candidate.validation.base_commit:
        return candidate.validation.base_commit
    repository = finding_repository(run.finding)
    if repository is None:
        return ""
    try:
        return rev_parse(repository.path, repository.default_branch)
    except (GitError, OSError, ValueError) as exc:
        log.info("no base commit for run %s: %s", run.pk, exc)
        return ""


def _proposal_fields(run: SolveRun, candidate: Candidate) -> dict[str, Any]:
    validation = candidate.validation
    version_id = candidate.skill_version_id
    if version_id and not SkillVersion.objects.filter(pk=version_id).exists():
        version_id = None
    usage = candidate.usage or {}
    return {
        "finding": run.finding,
        "revision": run.revision,
        "solve_run": run,
        "is_current": True,
        "skill_version_id": version_id,
        "skill_slug": candidate.skill_slug,
        "backend": candidate.backend,
        "model_name": candidate.model_name,
        "is_analysis": candidate.outcome == "analysis",
        "diff": candidate.diff,
        "diff_sha256": diff_sha256(candidate.diff) if candidate.diff else "",
        "base_commit": _base_commit(run, candidate),
        "rationale": candidate.rationale,
        "risks": candidate.risks,
        "expected_recovery": candidate.expected_recovery,
        "measured_recovery": validation.measured_recovery if validation else None,
        "estimated_watts": candidate.estimated_watts,
        "measured_watts": candidate.measured_watts,
        "applies": bool(validation and validation.applies),
        "apply_log": validation.apply_log if validation else "",
        "tests_passed": validation.tests_passed if validation else None,
        "test_log": validation.test_log if validation else "",
        "bench_before_s": validation.bench_before_s if validation else None,
        "bench_after_s": validation.bench_after_s if validation else None,
        "bench_parent_s": validation.bench_parent_s if validation else None,
        "bench_log": validation.bench_log if validation else "",
        "bench_judgement": (validation.bench_judgement or None) if validation else None,
        "usage": usage,
        "cost_usd": usage.get("cost_usd"),
        "requested_by": run.requested_by,
    }


def proposal_replace(proposal: Proposal, *, revision: int, actor: Any | None) -> None:
    """Revision `revision` becomes current instead of `proposal`.

    A revision still waiting is superseded (its status says why). A decided one keeps its
    status, and an approval or rejection stays counted in the reports (in_reports) until a
    newer approval or rejection replaces it (`proposal_count_decision`).
    """
    for last_try in (False, True):
        proposal.refresh_from_db(fields=["status", "is_current", "in_reports"])
        if not proposal.is_current:
            return  # a concurrent attempt replaced it already
        if proposal.status in DECIDED:
            _keep_decided(proposal, revision=revision, actor=actor)
            return
        try:
            proposal_transition(
                proposal,
                P.SUPERSEDED,
                actor=actor,
                reason=f"revision {revision} proposed",
                guard={"is_current": True},
                extra_fields={"is_current": False},
            )
            return
        except TransitionError:
            # A reviewer decided it after we read it: go round again from the status they left.
            if last_try:
                raise


def _keep_decided(proposal: Proposal, *, revision: int, actor: Any | None) -> None:
    counted = proposal.status in COUNTED_DECIDED and proposal.in_reports is not False
    fields: dict[str, Any] = {"is_current": False}
    if counted:
        fields["in_reports"] = True
    if Proposal.objects.filter(pk=proposal.pk, is_current=True).update(**fields) != 1:
        return
    for name, value in fields.items():
        setattr(proposal, name, value)
    audit_record(
        actor=actor,
        verb="proposal.replaced",
        target=proposal,
        old_state=proposal.status,
        new_state=proposal.status,
        data={"new_revision": revision, "still_counted": counted},
    )


def proposal_count_decision(proposal: Proposal) -> None:
    """A person approved or rejected `proposal`: the reports count it for its finding now."""
    others = Proposal.objects.filter(finding_id=proposal.finding_id).exclude(pk=proposal.pk)
    others.exclude(in_reports=False).update(in_reports=False)
    Proposal.objects.filter(pk=proposal.pk).update(in_reports=True)
    proposal.in_reports = True
