"""manage.py sweep [--json]: re-enqueue solve runs a lost message or a killed worker left behind.

The cluster's scheduler runs the same sweep every minute; this is for operators and tests.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from reviews.services.solving import sweep_solve_runs


class Command(BaseCommand):
    help = "Re-enqueue solve runs queued too long or running past their deadline."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--json", action="store_true", help="print one JSON document")

    def handle(self, *args, **options) -> None:
        result = sweep_solve_runs()
        if options["json"]:
            self.stdout.write(json.dumps(result))
            return
        self.stdout.write(
            f"Re-enqueued {len(result['requeued'])} queued and {len(result['recovered'])} "
            "lost run(s)."
        )
