"""manage.py solve FINDING_ID [--backend B] [--wait] [--json]: see shared/spec/cli.md."""

from __future__ import annotations

import json
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from reviews.models import Finding, SolveRun
from reviews.services.solve_backends import BACKENDS
from reviews.services.solving import SolveRefused, solve_request, solve_run_execute

POLL_S = 0.5


class Command(BaseCommand):
    help = (
        "Queue a solve of a finding for the workers, or with --wait run it in this process to "
        "the end (no worker needed). A finding with a solve already active joins that run."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("finding_id", metavar="FINDING_ID", type=int)
        parser.add_argument("--backend", choices=BACKENDS, help="default: the source's or setting")
        parser.add_argument("--wait", action="store_true", help="run here and wait for the result")
        parser.add_argument("--comment", default="", help="guidance for the solver")
        parser.add_argument(
            "--confirm",
            action="store_true",
            help="solve again a finding whose revision was approved, rejected, shipped or "
            "abandoned (the decision stays on record and in the reports until a newer one "
            "replaces it)",
        )
        parser.add_argument("--json", action="store_true", help="print one JSON document")

    def handle(self, *args, **options) -> None:
        finding = Finding.objects.select_related("service").filter(pk=options["finding_id"]).first()
        if finding is None:
            raise CommandError(
                f"no finding with id {options['finding_id']}: list them in the web UI or ingest "
                "one with `manage.py ingest FILE`",
                returncode=1,
            )
        wait = options["wait"]
        try:
            run = solve_request(
                finding=finding,
                actor=None,
                backend=options["backend"],
                comment=options["comment"],
                enqueue=not wait,
                confirm_redecide=options["confirm"],
            )
        except SolveRefused as exc:
            raise CommandError(exc.message, returncode=1) from None
        if wait:
            run = self._run_to_end(run)
        proposal_id = None
        if run.status == SolveRun.Status.SUCCEEDED:
            proposal_id = (
                finding.proposals.filter(solve_run=run).values_list("pk", flat=True).first()
            )
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "finding": finding.pk,
                        "run": run.pk,
                        "status": run.status,
                        "proposal": proposal_id,
                    }
                )
            )
        else:
            self._describe(finding, run, proposal_id)
        if run.status == SolveRun.Status.FAILED:
            raise CommandError(f"solve run {run.pk} failed: {run.error}", returncode=1)

    def _run_to_end(self, run: SolveRun) -> SolveRun:
        """Run it here; if a worker already owns it (joined run), wait for that worker."""
        solve_run_execute(run_id=run.pk)
        deadline = time.monotonic() + settings.WATTSON_SOLVE_TIMEOUT_S * 2
        run.refresh_from_db()
        while run.is_active and time.monotonic() < deadline:
            time.sleep(POLL_S)
            run.refresh_from_db()
            if run.status == SolveRun.Status.QUEUED:
                # The worker was lost and the run went back to the queue: take it.
                solve_run_execute(run_id=run.pk)
                run.refresh_from_db()
        if run.is_active:
            raise CommandError(
                f"solve run {run.pk} is still {run.status} after waiting; check the workers",
                returncode=1,
            )
        return run

    def _describe(self, finding: Finding, run: SolveRun, proposal_id: int | None) -> None:
        state = f"is {run.status}" if run.is_active else f"ended: {run.get_status_display()}"
        self.stdout.write(f"Finding {finding.pk}: solve run {run.pk} {state}.")
        if proposal_id:
            self.stdout.write(f"Proposal {proposal_id}: `manage.py proposal {proposal_id}`.")
        elif run.status == SolveRun.Status.NO_FIX:
            self.stdout.write(f"No fix: {run.error}")
            for refusal in run.refusals:
                reason = (refusal.get("reason") or "").splitlines()
                self.stdout.write(f"  - {refusal.get('skill')}: {reason[0] if reason else ''}")
        elif run.is_active:
            self.stdout.write("A worker will pick it up (`manage.py qcluster`).")
