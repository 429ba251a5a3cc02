"""manage.py verify_audit [--last N] [--json]: walk the audit log's hash chain."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from reviews.services.audit import audit_verify


class Command(BaseCommand):
    help = (
        "Check the audit log's hash chain and name every edited, inserted or deleted row "
        "(exit status 1 when there is one)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--last", type=int, default=None, metavar="N", help="check only the newest N rows"
        )
        parser.add_argument("--json", action="store_true", help="print one JSON document")

    def handle(self, *args, **options) -> None:
        if options["last"] is not None and options["last"] < 1:
            raise CommandError("--last must be at least 1", returncode=2)
        report = audit_verify(last=options["last"])
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict()))
        else:
            for problem in report.problems:
                where = f"#{problem.chain_seq}" if problem.chain_seq else "unsealed"
                self.stdout.write(f"audit event id {problem.event_id} ({where}): {problem.problem}")
            verdict = "intact" if report.ok else f"{len(report.problems)} problem(s)"
            self.stdout.write(f"{report.checked} row(s) checked: {verdict}")
        if not report.ok:
            raise SystemExit(1)
