"""`manage.py decide PROPOSAL_ID VERDICT --user U`: the review gate on the command line.

Exit status (shared/spec/cli.md): 0 recorded, 1 refused (the reason on stderr), 2 bad usage.
"""

from __future__ import annotations

import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from reviews.models import Decision, Proposal
from reviews.services.decisions import DecisionError, DecisionInvalid, proposal_decide


class Command(BaseCommand):
    help = (
        "Record a review decision through the same service the UI uses. A rejection needs "
        "--reason; request_changes needs --comment."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("proposal_id", type=int, help="the proposal's id")
        parser.add_argument("verdict", choices=Decision.Verdict.values)
        parser.add_argument("--user", required=True, help="username of the deciding reviewer")
        parser.add_argument(
            "--reason",
            default="",
            choices=[value for value in Decision.Reason.values if value] + [""],
            help="rejection reason",
        )
        parser.add_argument("--comment", default="", help="comment (required to request changes)")
        parser.add_argument(
            "--override-reason",
            default="",
            help="skill-admins: why a proposal whose validation failed is approved anyway",
        )
        parser.add_argument(
            "--revision", type=int, default=None, help="pin: the revision you reviewed"
        )
        parser.add_argument(
            "--diff-sha256", default=None, help="pin: sha256 of the diff you reviewed"
        )
        parser.add_argument("--json", action="store_true", help="print one JSON document")

    def handle(self, *args, **options) -> None:
        user_model = get_user_model()
        user = user_model.objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(
                f"no user {options['user']!r}: pass the username of a reviewer", returncode=2
            )
        proposal = Proposal.objects.filter(pk=options["proposal_id"]).first()
        if proposal is None:
            raise CommandError(
                f"no proposal {options['proposal_id']}: list them in the UI or the API",
                returncode=2,
            )
        try:
            decision = proposal_decide(
                proposal=proposal,
                actor=user,
                verdict=options["verdict"],
                reason=options["reason"],
                comment=options["comment"],
                override_reason=options["override_reason"],
                expected_diff_sha256=options["diff_sha256"],
                expected_revision=options["revision"],
            )
        except DecisionInvalid as exc:
            raise CommandError(exc.message, returncode=2) from None
        except DecisionError as exc:
            raise CommandError(f"refused: {exc.message}", returncode=1) from None
        proposal.refresh_from_db()
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "proposal": proposal.pk,
                        "status": proposal.status,
                        "decision": {
                            "id": decision.pk,
                            "verdict": decision.verdict,
                            "reason": decision.reason,
                            "revision": decision.revision,
                            "reviewer": user.get_username(),
                            "is_override": decision.is_override,
                            "branch": proposal.branch_name,
                            "commit": proposal.branch_commit,
                        },
                    }
                )
            )
            return
        line = f"proposal {proposal.pk} r{proposal.revision}: {proposal.get_status_display()}"
        if proposal.branch_name:
            line += f"; fix branch {proposal.branch_name} at {proposal.branch_commit[:12]}"
        self.stdout.write(line)
