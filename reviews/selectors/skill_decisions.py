"""What reviewers decided about each skill, read for the skills app (which never reads `reviews`).

The statistics rebuild (`manage.py rebuild_skill_stats`) and the skill admin's latest
rejections read decisions here and hand skills plain data.
"""

from __future__ import annotations

from typing import Any

from reviews.models import Decision, ProposalSkill
from skills.services import REJECT, DecisionRecord, approved_watts


def decision_records() -> list[DecisionRecord]:
    """Every decision on a proposal made by a skill, oldest first, as the rebuild reads them.

    A composed proposal's decision carries the versions of the other skills in its patch, so
    the rebuild credits each of them as the decision did (skills.services.credited_versions).
    """
    rows = (
        Decision.objects.filter(proposal__skill_version__isnull=False)
        .order_by("created_at", "id")
        .values(
            "verdict",
            "reason",
            "created_at",
            "proposal_id",
            "proposal__skill_version_id",
            "proposal__created_at",
            "proposal__estimated_watts",
            "proposal__measured_watts",
        )
    )
    composed: dict[int, list[int]] = {}
    for proposal_id, version_id in ProposalSkill.objects.filter(
        skill_version__isnull=False
    ).values_list("proposal_id", "skill_version_id"):
        composed.setdefault(proposal_id, []).append(version_id)
    return [
        DecisionRecord(
            also_version_ids=tuple(composed.get(row["proposal_id"], ())),
            skill_version_id=row["proposal__skill_version_id"],
            verdict=row["verdict"],
            reason=row["reason"],
            watts=approved_watts(
                estimated_watts=row["proposal__estimated_watts"],
                measured_watts=row["proposal__measured_watts"],
            ),
            decision_seconds=(row["created_at"] - row["proposal__created_at"]).total_seconds(),
        )
        for row in rows
    ]


def latest_rejections(skill_slug: str, limit: int = 10) -> list[dict[str, Any]]:
    """The skill's most recent rejections with their reasons and comments (for the admin)."""
    rows = (
        Decision.objects.filter(verdict=REJECT, proposal__skill_version__skill__slug=skill_slug)
        .select_related("reviewer", "proposal", "proposal__skill_version")
        .order_by("-created_at", "-id")[: max(0, int(limit))]
    )
    return [
        {
            "decision_id": row.pk,
            "proposal_id": row.proposal_id,
            "finding_id": row.proposal.finding_id,
            "revision": row.revision,
            "version": row.proposal.skill_version.number if row.proposal.skill_version else None,
            "reason": row.reason,
            "reason_label": row.get_reason_display(),
            "comment": row.comment,
            "reviewer": row.reviewer.get_username(),
            "created_at": row.created_at,
        }
        for row in rows
    ]
