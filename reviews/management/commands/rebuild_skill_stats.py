"""Recompute every skill's review statistics from the recorded decisions.

It lives in `reviews` because it reads decisions; skills only accumulates them.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from reviews.selectors.skill_decisions import decision_records
from skills.models import SkillStats
from skills.services import skill_stats_rebuild_all


class Command(BaseCommand):
    help = (
        "Recompute SkillStats (per skill and per version) from every decision; the result "
        "matches what the decisions recorded incrementally."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--json", action="store_true", help="print one JSON document")

    def handle(self, *args, **options) -> None:
        decisions, rows = skill_stats_rebuild_all(decision_records)
        if options["json"]:
            stats = SkillStats.objects.select_related("skill", "version").order_by(
                "skill__slug", "version__number"
            )
            payload = {
                "decisions": decisions,
                "rows": rows,
                "skills": [
                    {
                        "skill": row.skill.slug,
                        "version": row.version.number if row.version else None,
                        "approved": row.approved,
                        "rejected": row.rejected,
                        "changes_requested": row.changes_requested,
                        "acceptance_rate": row.acceptance_rate,
                        "wilson_lower": row.wilson_lower,
                        "banked_watts": row.banked_watts,
                        "median_decision_seconds": row.median_decision_seconds,
                    }
                    for row in stats
                ],
            }
            self.stdout.write(json.dumps(payload))
        else:
            self.stdout.write(f"Rebuilt {rows} skill statistics rows from {decisions} decisions.")
