"""manage.py proposal ID [--json]: show a proposal (shared/spec/cli.md)."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from reviews.models import Proposal


def proposal_document(proposal: Proposal) -> dict:
    return {
        "id": proposal.pk,
        "finding": proposal.finding_id,
        "revision": proposal.revision,
        "status": proposal.status,
        "skill": proposal.skill_slug,
        "diff": proposal.diff,
        "rationale": proposal.rationale,
        "estimated_watts": proposal.estimated_watts,
        "validation": proposal.validation_figures(),
    }


class Command(BaseCommand):
    help = "Show a proposal: its diff, rationale, estimated savings and validation."

    def add_arguments(self, parser) -> None:
        parser.add_argument("proposal_id", metavar="ID", type=int)
        parser.add_argument("--json", action="store_true", help="print one JSON document")

    def handle(self, *args, **options) -> None:
        proposal = Proposal.objects.filter(pk=options["proposal_id"]).first()
        if proposal is None:
            raise CommandError(f"no proposal with id {options['proposal_id']}", returncode=1)
        document = proposal_document(proposal)
        if options["json"]:
            self.stdout.write(json.dumps(document))
            return
        validation = document["validation"]
        tests = {True: "pass", False: "FAIL", None: "not run"}[validation["tests_passed"]]
        lines = [
            f"Proposal {proposal.pk} — finding {proposal.finding_id}, revision "
            f"{proposal.revision}, {proposal.get_status_display()}",
            f"Skill: {proposal.skill_slug or '—'}"
            + (" (analysis, no diff)" if proposal.is_analysis else ""),
            f"Estimated savings: {proposal.estimated_watts:,.0f} W",
            f"Applies: {'yes' if validation['applies'] else 'no'}; tests: {tests}",
        ]
        if validation["bench_before_s"] and validation["bench_after_s"]:
            lines.append(
                f"Benchmark: {validation['bench_before_s']:.4f}s → "
                f"{validation['bench_after_s']:.4f}s"
            )
        lines += ["", proposal.rationale.strip(), "", proposal.diff]
        self.stdout.write("\n".join(lines))
